//! Delta updates: a patch is one zstd frame compressed with the installed build as its
//! reference prefix (`zstd --patch-from`), so the download is only what changed. The client
//! decodes it with `ruzstd` (pure Rust) under hard caps: the frame header is checked first
//! (no dictionary id, a bounded window, a declared size equal to the expected one), and
//! decoding stops one byte past the expected size (ruzstd >= 0.9 also bounds what one block
//! may produce, to the 128 KiB the format allows). A decoded patch is trusted no more than
//! a download: the caller checks its SHA-256 against the signed manifest.
//!
//! Why zstd patch-from, decoded by ruzstd (measured on x86_64 Linux; patches made at zstd
//! level 19; apply times best of 30; client bytes: what a decoder adds to a stripped
//! opt-level "s", fat-LTO binary that reads two files and writes the result):
//!
//! | | Forth engine 1.0.0 → 1.1.0 (one line) | example 1.0.0 → 1.0.1 |
//! |---|---:|---:|
//! | full file / after zstd -19 | 696,272 / 244,948 | 425,312 / 160,122 |
//! | zstd patch-from | 3,281 | 30,458 |
//! | apply with ruzstd 0.9 / libzstd | 1.6 ms / 0.05 ms | 0.6 ms / 0.15 ms |
//! | bidiff, then zstd -19 | 5,426 | 28,436 |
//! | apply with bipatch (+ libzstd) | 0.29 ms | 0.28 ms |
//!
//! Client bytes: ruzstd +50,968, libzstd +98,184, bipatch +4,976 plus a decompressor for
//! its output. zstd patch-from makes the smaller patch for a small change (the case updates
//! are for), needs one decoder for both the patch and its compression, and ruzstd costs half
//! the bytes of libzstd in the shipped binary and needs no C compiler; apply times are a few
//! milliseconds either way. Patches are made on the release side only, with libzstd
//! (feature `patches`).

use std::fmt;

/// The zstd frame magic number, little-endian.
const FRAME_MAGIC: u32 = 0xFD2F_B528;

/// The dictionary id under which the base is handed to the decoder.
const BASE_DICT_ID: u32 = 1;

/// A zstd dictionary header without content: magic, id 1, entropy tables (any valid ones: a
/// patch-from frame starts without tables, so a well-formed patch never uses them) and the
/// initial repeat offsets 1, 4, 8 of a raw-content prefix. The base follows it as the
/// dictionary's content; ruzstd has no other way to take a raw prefix.
const DICT_HEADER: [u8; 144] = [
    55, 164, 48, 236, 1, 0, 0, 0, 41, 16, 208, 146, 164, 3, 255, 104, 85, 85, 213, 184, 10, 172,
    118, 172, 205, 77, 38, 133, 144, 182, 155, 219, 242, 19, 185, 157, 156, 7, 5, 98, 135, 125, 49,
    91, 173, 135, 163, 106, 240, 8, 99, 0, 0, 20, 28, 6, 8, 8, 202, 48, 158, 0, 0, 36, 64, 131,
    129, 1, 2, 200, 5, 65, 130, 1, 193, 129, 192, 0, 193, 128, 193, 128, 1, 193, 4, 193, 66, 130,
    128, 129, 64, 1, 65, 193, 129, 64, 193, 197, 1, 129, 66, 195, 196, 134, 10, 36, 179, 75, 146,
    164, 3, 244, 24, 68, 28, 132, 48, 44, 133, 16, 146, 16, 72, 68, 198, 68, 68, 68, 146, 36, 73,
    7, 1, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0,
];

/// Why a patch could not be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchError(pub String);

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PatchError {}

fn fail<T>(problem: impl Into<String>) -> Result<T, PatchError> {
    Err(PatchError(problem.into()))
}

/// The window a patch may ask for: enough to reach back over the whole base and result
/// (what `--patch-from` sets), at least 1 MiB.
fn max_window(base_len: usize, result_size: u64) -> u64 {
    let reach = (base_len as u64).max(result_size).max(1 << 20);
    reach.next_power_of_two().saturating_mul(2)
}

/// Decodes `patch` against `base` into exactly `result_size` bytes, never holding more than
/// `result_size + 1` decoded bytes: a patch that expands further is refused mid-way.
pub fn apply(base: &[u8], patch: &[u8], result_size: u64) -> Result<Vec<u8>, PatchError> {
    let window = max_window(base.len(), result_size);
    check_header(patch, window, result_size)?;
    let mut dictionary = Vec::with_capacity(DICT_HEADER.len() + base.len());
    dictionary.extend_from_slice(&DICT_HEADER);
    dictionary.extend_from_slice(base);
    let dictionary = ruzstd::decoding::Dictionary::decode_dict(&dictionary)
        .map_err(|error| PatchError(format!("cannot use the installed file as a base: {error}")))?;
    let mut decoder = ruzstd::decoding::FrameDecoder::new();
    decoder.set_max_window_size(window);
    let broken = |error: &dyn fmt::Display| PatchError(format!("corrupt patch: {error}"));
    decoder.add_dict(dictionary).map_err(|e| broken(&e))?;
    let mut source = patch;
    decoder.init(&mut source).map_err(|e| broken(&e))?;
    decoder.force_dict(BASE_DICT_ID).map_err(|e| broken(&e))?;
    let mut out = Vec::with_capacity(result_size.min(1 << 24) as usize);
    while !decoder.is_finished() {
        let room = (result_size + 1 - out.len() as u64).min(1 << 20) as usize;
        decoder
            .decode_blocks(
                &mut source,
                ruzstd::decoding::BlockDecodingStrategy::UptoBytes(room),
            )
            .map_err(|e| broken(&e))?;
        decoder
            .collect_to_writer(&mut out)
            .map_err(|e| broken(&e))?;
        if out.len() as u64 > result_size {
            return fail(format!(
                "the patch expands past {result_size} bytes, the size the manifest states: stopped"
            ));
        }
    }
    decoder
        .collect_to_writer(&mut out)
        .map_err(|e| broken(&e))?;
    if out.len() as u64 != result_size {
        return fail(format!(
            "the patch gives {} bytes, expected {result_size}",
            out.len()
        ));
    }
    if !source.is_empty() {
        return fail(format!(
            "{} bytes after the patch's frame, expected none",
            source.len()
        ));
    }
    Ok(out)
}

/// Refuses a frame header that is not one zstd frame with no dictionary id, a window of at
/// most `max_window` bytes and, when it states one, a content size of `result_size`.
fn check_header(patch: &[u8], max_window: u64, result_size: u64) -> Result<(), PatchError> {
    let Some((magic, rest)) = patch.split_first_chunk::<4>() else {
        return fail(format!("{} bytes, too short for a patch", patch.len()));
    };
    if u32::from_le_bytes(*magic) != FRAME_MAGIC {
        return fail("not a zstd frame (bad magic number)");
    }
    let Some((&descriptor, rest)) = rest.split_first() else {
        return fail("the patch ends in its frame header");
    };
    let single_segment = descriptor & 0x20 != 0;
    let dict_id_bytes = [0, 1, 2, 4][usize::from(descriptor & 3)];
    let size_bytes = match descriptor >> 6 {
        0 => usize::from(single_segment),
        flag => 1 << flag,
    };
    if dict_id_bytes != 0 {
        return fail("the patch names a dictionary, expected a patch against the installed file");
    }
    let (window_descriptor, rest) = match single_segment {
        true => (None, rest),
        false => match rest.split_first() {
            Some((&byte, rest)) => (Some(byte), rest),
            None => return fail("the patch ends in its frame header"),
        },
    };
    let Some(size_field) = rest.get(..size_bytes) else {
        return fail("the patch ends in its frame header");
    };
    let mut declared = [0u8; 8];
    declared[..size_bytes].copy_from_slice(size_field);
    let declared = u64::from_le_bytes(declared) + if size_bytes == 2 { 256 } else { 0 };
    if size_bytes > 0 && declared != result_size {
        return fail(format!(
            "the patch declares {declared} bytes, expected {result_size}"
        ));
    }
    let window = match window_descriptor {
        None => declared,
        Some(byte) => {
            let base = 1u64 << (10 + (byte >> 3));
            base + (base / 8) * u64::from(byte & 7)
        }
    };
    if window > max_window {
        return fail(format!(
            "the patch asks for a {window}-byte window, expected at most {max_window}"
        ));
    }
    Ok(())
}

/// Makes the patch that turns `base` into `new`: zstd level 19 with `base` as the reference
/// prefix, a window that reaches over both, long-distance matching, the content size in the
/// header and no checksum (the manifest carries the result's SHA-256).
#[cfg(feature = "patches")]
pub fn make(base: &[u8], new: &[u8]) -> Vec<u8> {
    use std::io::Write;
    use zstd::zstd_safe::CParameter;
    let reach = base.len().max(new.len()).max(1 << 20) as u64;
    let window_log = reach.next_power_of_two().trailing_zeros();
    let mut out = Vec::new();
    let mut encoder = zstd::stream::Encoder::with_ref_prefix(&mut out, 19, base)
        .expect("zstd takes level 19 and a reference prefix");
    for parameter in [
        CParameter::WindowLog(window_log),
        CParameter::EnableLongDistanceMatching(true),
        CParameter::ContentSizeFlag(true),
        CParameter::ChecksumFlag(false),
    ] {
        encoder
            .set_parameter(parameter)
            .expect("zstd accepts these parameters");
    }
    encoder
        .set_pledged_src_size(Some(new.len() as u64))
        .expect("zstd takes a pledged size before any input");
    encoder.write_all(new).expect("writing into a Vec");
    encoder.finish().expect("writing into a Vec");
    out
}

#[cfg(all(test, feature = "patches"))]
mod tests {
    use super::*;

    fn base() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| (i * 7 % 251).to_le_bytes())
            .collect()
    }

    fn changed(base: &[u8]) -> Vec<u8> {
        let mut new = base.to_vec();
        new[400_000..400_010].copy_from_slice(b"one  line!");
        new.extend_from_slice(b"and a tail");
        new
    }

    #[test]
    fn a_patch_rebuilds_the_new_file_from_the_base_and_is_small() {
        let (base, new) = (base(), changed(&base()));
        let patch = make(&base, &new);
        assert!(patch.len() < 200, "{} bytes", patch.len());
        assert_eq!(apply(&base, &patch, new.len() as u64).unwrap(), new);
    }

    #[test]
    fn a_patch_against_another_base_or_size_is_refused_or_wrong() {
        let (base, new) = (base(), changed(&base()));
        let patch = make(&base, &new);
        let error = apply(&base, &patch, new.len() as u64 - 1).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "the patch declares {} bytes, expected {}",
                new.len(),
                new.len() - 1
            )
        );
        let mut other = base.clone();
        other[1000..1010].fill(0);
        let from_other = apply(&other, &patch, new.len() as u64);
        assert_ne!(from_other.ok(), Some(new));
    }

    #[test]
    fn a_frame_without_a_stated_size_stops_one_byte_past_the_cap() {
        let big = vec![b'x'; 5_000_000];
        let mut patch = Vec::new();
        let mut encoder = zstd::stream::Encoder::new(&mut patch, 3).unwrap();
        encoder
            .set_parameter(zstd::zstd_safe::CParameter::ContentSizeFlag(false))
            .unwrap();
        std::io::Write::write_all(&mut encoder, &big).unwrap();
        encoder.finish().unwrap();
        let error = apply(b"base", &patch, 1000).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the patch expands past 1000 bytes, the size the manifest states: stopped"
        );
    }

    #[test]
    fn headers_asking_for_a_dictionary_or_a_huge_window_are_refused() {
        let error = apply(b"base", &[0x28, 0xb5, 0x2f, 0xfd, 0x01, 0, 7], 10).unwrap_err();
        assert!(error.to_string().contains("names a dictionary"), "{error}");
        let error = apply(b"base", &[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8], 10).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the patch asks for a 2199023255552-byte window, expected at most 2097152"
        );
        let error = apply(b"base", b"PK\x03\x04", 10).unwrap_err();
        assert_eq!(error.to_string(), "not a zstd frame (bad magic number)");
    }
}

//! Delta updates: a patch is a bsdiff-style diff of the installed build against the new one
//! (`bidiff`'s format: add the old bytes plus a difference, copy new bytes, seek), compressed
//! as one zstd frame, so the download is only what changed. The client decodes it with
//! `ruzstd` and `bipatch` (pure Rust) under hard caps: the frame header is checked first (no
//! dictionary id, a declared size of at most [`RAW_PER_BYTE`] times the result's plus
//! 64 KiB, a window no larger than that), the diff is read no further than that size, and
//! the result stops one byte past the expected size. Each byte of diff read yields at most
//! one byte of result, so the work is bounded by the caps. A decoded patch is trusted no more
//! than a download: the caller checks its SHA-256 against the signed manifest.
//!
//! Why bsdiff, then zstd (measured on x86_64 Linux; zstd level 19 for both; apply times best
//! of 30; client bytes: what a decoder adds to a stripped opt-level "s", fat-LTO binary that
//! reads two files and writes the result):
//!
//! | | engine, one code line | example, one code line | engine 1.0.0 → 1.1.0 (version) | example 1.0.0 → 1.0.1 |
//! |---|---:|---:|---:|---:|
//! | full file, after zstd -19 | 244,922 | 155,195 | 244,948 | 160,122 |
//! | bidiff, then zstd -19 | **9,338** | **5,505** | 5,426 | **28,436** |
//! | zstd `--patch-from` | 10,823 | 10,355 | **3,281** | 30,458 |
//! | apply, bipatch + libzstd | 0.33 ms | 0.18 ms | 0.29 ms | 0.28 ms |
//! | apply, zstd patch-from with libzstd / ruzstd | 0.12 ms | 0.09 ms | 0.05 / 1.6 ms | 0.15 / 0.6 ms |
//!
//! Client bytes: ruzstd +50,968, bipatch +4,976, libzstd's decoder +98,184. A code change
//! moves addresses all over a binary; bsdiff's byte-wise differences absorb that, so the
//! diff wins on the change updates are for (a one-line change: 9.3 KB and 5.5 KB, against
//! 10.8 KB and 10.4 KB), and costs 5 KB more client code than patch-from; ruzstd costs half
//! the bytes of libzstd and needs no C compiler. Apply times are milliseconds either way.
//! Patches are made on the release side only (feature `patches`: bidiff and libzstd).

use std::fmt;
use std::io::Read;

/// The zstd frame magic number, little-endian.
const FRAME_MAGIC: u32 = 0xFD2F_B528;

/// The most bytes of diff a patch may hold per byte of result (plus 64 KiB): a diff is about
/// as long as its result, plus a few bytes of control per run.
pub const RAW_PER_BYTE: u64 = 4;

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

/// The longest diff a patch to `result_size` bytes may hold.
fn max_diff(result_size: u64) -> u64 {
    result_size
        .saturating_mul(RAW_PER_BYTE)
        .saturating_add(64 << 10)
}

/// Decodes `patch` against `base` into exactly `result_size` bytes, never holding more than
/// `result_size + 1` of them: a patch that expands further is refused mid-way.
pub fn apply(base: &[u8], patch: &[u8], result_size: u64) -> Result<Vec<u8>, PatchError> {
    let diff_size = check_header(patch, max_diff(result_size))?;
    let window = window_limit(diff_size);
    let broken = |error: &dyn fmt::Display| PatchError(format!("corrupt patch: {error}"));
    let mut source = patch;
    let frame = ruzstd::decoding::StreamingDecoder::new_with_max_window_size(&mut source, window)
        .map_err(|e| broken(&e))?;
    let diff = frame.take(diff_size);
    let reader =
        bipatch::Reader::new(diff, std::io::Cursor::new(base)).map_err(|error| match error {
            bipatch::DecodeError::IO(error) => broken(&error),
            other => broken(&other),
        })?;
    let mut out = Vec::with_capacity(result_size.min(1 << 24) as usize);
    reader
        .take(result_size.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| broken(&e))?;
    if out.len() as u64 > result_size {
        return fail(format!(
            "the patch expands past {result_size} bytes, the size the manifest states: stopped"
        ));
    }
    if out.len() as u64 != result_size {
        return fail(format!(
            "the patch gives {} bytes, expected {result_size}",
            out.len()
        ));
    }
    Ok(out)
}

/// The largest window a frame of `diff_size` bytes may ask for: its size to the next power
/// of two, at least 1 KiB.
fn window_limit(diff_size: u64) -> u64 {
    let power = diff_size.checked_next_power_of_two();
    power.unwrap_or(1 << 63).max(1 << 10)
}

/// Refuses a frame header that is not one zstd frame with no dictionary id, a declared
/// content size of at most `max_diff` and a window no larger; returns the declared size.
fn check_header(patch: &[u8], max_diff: u64) -> Result<u64, PatchError> {
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
    let size_bytes = match descriptor >> 6 {
        0 => usize::from(single_segment),
        flag => 1 << flag,
    };
    if descriptor & 3 != 0 {
        return fail("the patch's frame names a dictionary, expected none");
    }
    if size_bytes == 0 {
        return fail("the patch's frame declares no size, expected one");
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
    if declared > max_diff {
        return fail(format!(
            "the patch's diff is {declared} bytes, expected at most {max_diff}"
        ));
    }
    if let Some(byte) = window_descriptor {
        let base = 1u64 << (10 + (byte >> 3));
        let window = base + (base / 8) * u64::from(byte & 7);
        let limit = window_limit(declared);
        if window > limit {
            return fail(format!(
                "the patch asks for a {window}-byte window, expected at most {limit}"
            ));
        }
    }
    Ok(declared)
}

/// Makes the patch that turns `base` into `new`: bidiff's diff, compressed by zstd at level
/// 19 with its size in the frame header and no checksum (the manifest carries the result's
/// SHA-256).
#[cfg(feature = "patches")]
pub fn make(base: &[u8], new: &[u8]) -> Vec<u8> {
    let mut diff = Vec::new();
    bidiff::simple_diff(base, new, &mut diff).expect("diffing into a Vec");
    zstd::bulk::compress(&diff, 19).expect("zstd compresses into a Vec")
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
        assert!(patch.len() < 300, "{} bytes", patch.len());
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
                "the patch expands past {} bytes, the size the manifest states: stopped",
                new.len() - 1
            )
        );
        let mut other = base.clone();
        other[1000..1010].fill(0);
        let from_other = apply(&other, &patch, new.len() as u64);
        assert_ne!(from_other.ok(), Some(new));
    }

    #[test]
    fn a_diff_longer_than_the_cap_is_refused_before_decoding() {
        let diff = vec![0u8; 5_000_000];
        let patch = zstd::bulk::compress(&diff, 3).unwrap();
        assert!(patch.len() < 1000);
        let error = apply(b"base", &patch, 1000).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the patch's diff is 5000000 bytes, expected at most 69536"
        );
    }

    #[test]
    fn an_endless_run_of_empty_diff_steps_ends_at_the_declared_size() {
        // Magic, version, then zero-length add, copy and seek steps: no output, ever.
        let mut diff = vec![0xdf, 0xb1, 0, 0, 0, 0x10, 0, 0];
        diff.resize(8 + 3 * 20_000, 0);
        let patch = zstd::bulk::compress(&diff, 3).unwrap();
        let error = apply(b"base", &patch, 10).unwrap_err();
        assert_eq!(error.to_string(), "the patch gives 0 bytes, expected 10");
    }

    #[test]
    fn a_result_size_near_the_top_of_u64_is_refused_not_an_overflow() {
        // One segment, declaring a diff of 2^63 + 1 bytes, then nothing.
        let mut patch = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
        patch.extend_from_slice(&((1u64 << 63) + 1).to_le_bytes());
        let error = apply(b"base", &patch, u64::MAX).unwrap_err();
        assert!(error.to_string().starts_with("corrupt patch: "), "{error}");
        let mut patch = vec![0x28, 0xb5, 0x2f, 0xfd, 0xc0, 0xff];
        patch.extend_from_slice(&u64::MAX.to_le_bytes());
        let error = apply(b"base", &patch, u64::MAX).unwrap_err();
        assert!(error.to_string().starts_with("corrupt patch: "), "{error}");
    }

    #[test]
    fn headers_without_a_size_or_with_a_dictionary_or_a_huge_window_are_refused() {
        let error = apply(b"base", &[0x28, 0xb5, 0x2f, 0xfd, 0x01, 0, 7], 10).unwrap_err();
        assert!(error.to_string().contains("names a dictionary"), "{error}");
        let error = apply(b"base", &[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00], 10).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the patch's frame declares no size, expected one"
        );
        let error = apply(
            b"base",
            &[0x28, 0xb5, 0x2f, 0xfd, 0x80, 0xf8, 9, 0, 0, 0],
            10,
        );
        assert_eq!(
            error.unwrap_err().to_string(),
            "the patch asks for a 2199023255552-byte window, expected at most 1024"
        );
        let error = apply(b"base", b"PK\x03\x04", 10).unwrap_err();
        assert_eq!(error.to_string(), "not a zstd frame (bad magic number)");
    }
}

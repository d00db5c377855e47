//! The state image: a versioned byte encoding of the whole engine state (dictionary,
//! compiled code, data space, stacks, BASE/STATE, ...), used to move a running session to
//! another build of the engine.
//!
//! Layout (all integers little-endian):
//! `"FFIMAGE\0"`, image version (u32), the data space size (u64; it is part of the image
//! because system addresses depend on it, so it replaces the caller's
//! `Limits::data_space_bytes`), then the sections below, then an FNV-1a 64-bit
//! checksum of everything before it.
//! 1. data space: HERE (u64), the bytes below HERE (u64 count + bytes), the system area
//!    (u64 count + bytes);
//! 2. code: the IR encoding of the whole code space (u64 length + [`crate::ir::encode`]);
//! 3. words: u64 count, then per word: name (u64 length + bytes), xt (u32), flags (u8:
//!    1 immediate, 2 compile-only), kind tag (u8) and its operands (a MARKER's include
//!    the search order, as a count and the lists, and the compilation list);
//! 4. latest word (i64, -1 for none), pictured-output pointer (u64), transient buffer
//!    index (u64);
//! 5. data stack and return stack: u64 count + cells each;
//! 6. word lists: their count (u64), each word's list (u64 count + cells), the search
//!    order (u64 count + cells, first searched first), the compilation list (u64);
//! 7. the substitutions of REPLACES: u64 count, then name and text (u64 length + bytes
//!    each).
//! 8. the heap of ALLOCATE and the block buffers, see `allocate::save_heap`.
//! 9. the float stack (u64 count + the floats' IEEE bits) and the float output precision
//!    (u64);
//! 10. the definition being compiled, see [`open_definition`] (from image version 3 on;
//!     version 2 images, which have no such section, are read too);
//! 11. an [IF] being skipped across the host's texts (from image version 4 on): a u8, 0 for
//!     none, else 1, how many nested [IF]s the skip is inside (u64) and whether an [ELSE]
//!     ends it (u8, 0 or 1).

mod open_definition;

use crate::dictionary::{FORTH_WORDLIST, Kind, MAX_WORDLISTS, Snapshot, Word};
use crate::engine::Forth;
use crate::error::ImageError;
use crate::input_source::Skip;
use crate::ir::{self, DecodeError, Reader};
use crate::limits::Limits;
use crate::memory::SYSTEM_BYTES;

const MAGIC: &[u8; 8] = b"FFIMAGE\0";
/// Version of the image layout; images of other versions are refused, but for versions 2
/// and 3 (the same layout without the definition being compiled, and without an [IF]
/// being skipped).
pub const IMAGE_VERSION: u32 = 4;
/// The oldest image version this engine reads.
const OLDEST_IMAGE_VERSION: u32 = 2;
/// Largest data space an image may ask for beyond the caller's own limit.
const MAX_IMAGE_DATA_SPACE: usize = 1 << 28;

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[inline(never)]
fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend(value.to_le_bytes());
}

#[inline(never)]
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u64(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[inline(never)]
fn put_cells(out: &mut Vec<u8>, cells: &[i64]) {
    put_u64(out, cells.len() as u64);
    cells.iter().for_each(|cell| out.extend(cell.to_le_bytes()));
}

fn put_kind(out: &mut Vec<u8>, kind: &Kind) {
    let (tag, operands): (u8, Vec<i64>) = match kind {
        Kind::Primitive { len } => (0, vec![*len as i64]),
        Kind::Colon => (1, vec![]),
        Kind::Created { body } => (2, vec![*body]),
        Kind::Variable { body } => (3, vec![*body]),
        Kind::Constant { value } => (4, vec![*value]),
        Kind::Value { body } => (5, vec![*body]),
        Kind::Defer { body } => (6, vec![*body]),
        Kind::TwoValue { body } => (8, vec![*body]),
        Kind::Marker(s) => (
            7,
            [
                s.words as i64,
                s.code as i64,
                s.here as i64,
                s.latest.map_or(-1, |l| l as i64),
                s.order.len() as i64,
            ]
            .into_iter()
            .chain(s.order.iter().map(|&list| list as i64))
            .chain([s.current as i64])
            .collect(),
        ),
    };
    out.push(tag);
    operands
        .iter()
        .for_each(|operand| out.extend(operand.to_le_bytes()));
}

fn read_kind(reader: &mut Reader) -> Result<Kind, DecodeError> {
    Ok(match reader.u8()? {
        0 => Kind::Primitive {
            len: reader.u64()? as u32,
        },
        1 => Kind::Colon,
        2 => Kind::Created {
            body: reader.i64()?,
        },
        3 => Kind::Variable {
            body: reader.i64()?,
        },
        4 => Kind::Constant {
            value: reader.i64()?,
        },
        5 => Kind::Value {
            body: reader.i64()?,
        },
        6 => Kind::Defer {
            body: reader.i64()?,
        },
        7 => {
            let words = reader.u64()? as usize;
            let code = reader.u64()? as usize;
            let here = reader.u64()? as usize;
            let latest = usize::try_from(reader.i64()?).ok();
            let order_len = reader.count(8)?;
            let order = (0..order_len)
                .map(|_| Ok(reader.u64()? as usize))
                .collect::<Result<_, DecodeError>>()?;
            let current = reader.u64()? as usize;
            Kind::Marker(Snapshot {
                words,
                code,
                here,
                latest,
                order,
                current,
            })
        }
        8 => Kind::TwoValue {
            body: reader.i64()?,
        },
        tag => return Err(DecodeError(format!("unknown word kind {tag}"))),
    })
}

fn put_skip(out: &mut Vec<u8>, skip: Option<Skip>) {
    match skip {
        None => out.push(0),
        Some(skip) => {
            out.push(1);
            put_u64(out, skip.depth as u64);
            out.push(u8::from(skip.stop_at_else));
        }
    }
}

fn read_skip(reader: &mut Reader) -> Result<Option<Skip>, DecodeError> {
    let flag = |value: u8| match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(DecodeError(format!("skip flag {other}, expected 0 or 1"))),
    };
    if !flag(reader.u8()?)? {
        return Ok(None);
    }
    let depth = usize::try_from(reader.u64()?)
        .map_err(|_| DecodeError("skip depth out of range".to_owned()))?;
    let stop_at_else = flag(reader.u8()?)?;
    Ok(Some(Skip {
        depth,
        stop_at_else,
    }))
}

fn read_cells(reader: &mut Reader) -> Result<Vec<i64>, DecodeError> {
    let count = reader.count(8)?;
    (0..count).map(|_| reader.i64()).collect()
}

impl Forth {
    /// Versioned byte image of the whole state (dictionary, compiled code, data space,
    /// stacks, BASE/STATE, ...).
    pub fn save_image(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(IMAGE_VERSION.to_le_bytes());
        put_u64(&mut out, self.limits.data_space_bytes as u64);
        put_u64(&mut out, self.here as u64);
        put_bytes(&mut out, &self.mem[..self.here]);
        put_bytes(&mut out, &self.mem[self.system_base()..self.system_end()]);
        put_bytes(&mut out, &ir::encode(&self.code));
        put_u64(&mut out, self.dict.words.len() as u64);
        for word in &self.dict.words {
            put_bytes(&mut out, &word.name);
            out.extend(word.xt.to_le_bytes());
            out.push(word.immediate as u8 | (word.compile_only as u8) << 1);
            put_kind(&mut out, &word.kind);
        }
        out.extend(self.latest.map_or(-1, |l| l as i64).to_le_bytes());
        put_u64(
            &mut out,
            self.hold.saturating_sub(self.system_base()) as u64,
        );
        put_u64(&mut out, self.next_transient as u64);
        put_cells(&mut out, self.data_stack());
        put_cells(&mut out, &self.machine.rs[..self.machine.rdepth]);
        self.put_word_lists(&mut out);
        self.save_heap(&mut out);
        let float_bits: Vec<i64> = self
            .floats
            .items()
            .iter()
            .map(|r| r.to_bits() as i64)
            .collect();
        put_cells(&mut out, &float_bits);
        put_u64(&mut out, self.floats.precision() as u64);
        open_definition::put(&mut out, self.definition.as_ref());
        put_skip(&mut out, self.pending_skip);
        let checksum = fnv1a(&out);
        put_u64(&mut out, checksum);
        out
    }

    /// Rebuilds an engine from an image; a wrong magic/version/truncated/corrupt image is
    /// an ImageError (never a panic).
    pub fn load_image(bytes: &[u8], limits: Limits) -> Result<Forth, ImageError> {
        let refuse = |message: String| ImageError { message };
        if bytes.len() < MAGIC.len() + 12 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(refuse("not an engine image (bad magic)".to_owned()));
        }
        let (body, checksum) = bytes.split_at(bytes.len() - 8);
        let mut reader = Reader::new(&body[MAGIC.len()..]);
        let version = reader.u32().map_err(|e| refuse(e.0))?;
        if !(OLDEST_IMAGE_VERSION..=IMAGE_VERSION).contains(&version) {
            return Err(refuse(format!(
                "image version {version}, this engine reads versions \
                 {OLDEST_IMAGE_VERSION} to {IMAGE_VERSION}"
            )));
        }
        if fnv1a(body).to_le_bytes() != checksum {
            return Err(refuse("checksum mismatch (corrupt image)".to_owned()));
        }
        let data_space_bytes = reader.u64().map_err(|e| refuse(e.0))?;
        if data_space_bytes > limits.data_space_bytes.max(MAX_IMAGE_DATA_SPACE) as u64 {
            return Err(refuse(format!(
                "data space of {data_space_bytes} bytes is larger than allowed"
            )));
        }
        let limits = Limits {
            data_space_bytes: data_space_bytes as usize,
            ..limits
        };
        limits.check().map_err(refuse)?;
        // The image brings its own code and words: the built-in ones are not installed.
        let mut forth = Forth::without_words(limits);
        forth
            .read_state(&mut reader, version)
            .map_err(|e| refuse(e.0))?;
        Ok(forth)
    }

    fn read_state(&mut self, reader: &mut Reader, version: u32) -> Result<(), DecodeError> {
        let refuse = |message: &str| Err(DecodeError(message.to_owned()));
        let here = reader.u64()? as usize;
        let data = reader.blob()?;
        if here != data.len() || here > self.limits.data_space_bytes {
            return refuse("the image's data space does not fit this engine's limits");
        }
        self.here = here;
        self.mem[..here].copy_from_slice(data);
        let system = reader.blob()?;
        if system.len() != SYSTEM_BYTES {
            return refuse("system area of another size");
        }
        let base = self.system_base();
        self.mem[base..base + SYSTEM_BYTES].copy_from_slice(system);
        let code = reader.blob()?;
        self.code = ir::decode(code)?;
        self.read_words(reader)?;
        self.latest = usize::try_from(reader.i64()?)
            .ok()
            .filter(|&l| l < self.dict.words.len());
        self.hold = base + (reader.u64()? as usize).min(SYSTEM_BYTES);
        self.next_transient = reader.u64()? as usize;
        self.read_stacks(reader)?;
        self.read_word_lists(reader)?;
        self.read_heap(reader)?;
        self.read_floats(reader)?;
        if version >= 3 {
            self.definition = open_definition::read(reader)?;
        }
        if version >= 4 {
            self.pending_skip = read_skip(reader)?;
        }
        if !reader.is_empty() {
            return refuse("trailing bytes");
        }
        Ok(())
    }

    fn read_words(&mut self, reader: &mut Reader) -> Result<(), DecodeError> {
        let count = reader.count(14)?;
        let mut words = Vec::with_capacity(count);
        for _ in 0..count {
            let name = reader.blob()?.into();
            let xt = reader.u32()?;
            let flags = reader.u8()?;
            let kind = read_kind(reader)?;
            // The instructions the word's kind needs at its execution token: a primitive's
            // own, a colon definition's Exit at least (`: foo ;` is only that), two for the
            // others (their literal and Exit, where DOES> patches the second).
            let span = match kind {
                Kind::Primitive { len } => len as usize,
                Kind::Colon => 1,
                _ => 2,
            };
            if xt as usize + span > self.code.len() {
                return Err(DecodeError(
                    "a word's code lies outside the code space".to_owned(),
                ));
            }
            words.push(Word {
                name,
                xt,
                kind,
                immediate: flags & 1 != 0,
                compile_only: flags & 2 != 0,
            });
        }
        let lists = vec![FORTH_WORDLIST; words.len()];
        self.dict.replace(words, &lists, 1);
        Ok(())
    }

    fn put_word_lists(&self, out: &mut Vec<u8>) {
        let as_cells = |lists: &mut dyn Iterator<Item = usize>| -> Vec<i64> {
            lists.map(|list| list as i64).collect()
        };
        put_u64(out, self.dict.wordlist_count() as u64);
        put_cells(out, &as_cells(&mut self.dict.word_lists()));
        put_cells(out, &as_cells(&mut self.dict.order().iter().copied()));
        put_u64(out, self.dict.current() as u64);
        put_u64(out, self.substitutions.len() as u64);
        for (name, text) in self.substitutions.iter() {
            put_bytes(out, name);
            put_bytes(out, text);
        }
    }

    fn read_word_lists(&mut self, reader: &mut Reader) -> Result<(), DecodeError> {
        let refuse = |message: &str| Err(DecodeError(message.to_owned()));
        let count = reader.u64()?;
        if count == 0 || count > MAX_WORDLISTS as u64 {
            return refuse("word list count out of range");
        }
        let count = count as usize;
        let as_lists = |cells: Vec<i64>| -> Option<Vec<usize>> {
            cells
                .into_iter()
                .map(|cell| usize::try_from(cell).ok().filter(|&list| list < count))
                .collect()
        };
        let word_lists = as_lists(read_cells(reader)?);
        let order = as_lists(read_cells(reader)?);
        let current = usize::try_from(reader.u64()?).ok().filter(|&l| l < count);
        let (Some(word_lists), Some(order), Some(current)) = (word_lists, order, current) else {
            return refuse("a word list that does not exist");
        };
        if word_lists.len() != self.dict.words.len() {
            return refuse("word list entries do not match the words");
        }
        let words = self.dict.words.clone();
        self.dict.replace(words, &word_lists, count);
        let placed = self
            .dict
            .set_order(order)
            .zip(self.dict.set_current(current));
        if placed.is_none() {
            return refuse("search order too long");
        }
        let substitutions = reader.count(16)?;
        for _ in 0..substitutions {
            let name = reader.blob()?;
            let text = reader.blob()?.to_vec();
            self.substitutions.set(name, text);
        }
        Ok(())
    }

    fn read_floats(&mut self, reader: &mut Reader) -> Result<(), DecodeError> {
        let items = read_cells(reader)?;
        let items = items.into_iter().map(|bits| f64::from_bits(bits as u64));
        let precision = reader.u64()?;
        let precision = usize::try_from(precision).unwrap_or(usize::MAX);
        self.floats
            .restore(items.collect(), precision)
            .map_err(DecodeError)
    }

    fn read_stacks(&mut self, reader: &mut Reader) -> Result<(), DecodeError> {
        let data = read_cells(reader)?;
        let returns = read_cells(reader)?;
        if data.len() >= self.machine.ds.len() || returns.len() > self.machine.rs.len() {
            return Err(DecodeError(
                "the image's stacks do not fit this engine's limits".to_owned(),
            ));
        }
        self.machine.depth = data.len();
        self.machine.ds[1..=data.len()].copy_from_slice(&data);
        self.machine.rdepth = returns.len();
        self.machine.rs[..returns.len()].copy_from_slice(&returns);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::ir::{Op, Sys, every_instruction};
    use crate::{Forth, Limits};

    #[test]
    fn an_image_keeps_every_kind_of_instruction() {
        let mut forth = Forth::new(Limits::default());
        forth.code.extend(every_instruction());
        forth
            .code
            .extend(Sys::ALL.iter().map(|&word| Op::Sys(word)));
        let loaded = Forth::load_image(&forth.save_image(), Limits::default()).unwrap();
        assert_eq!(loaded.code, forth.code);
    }
}

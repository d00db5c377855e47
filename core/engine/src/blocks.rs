//! The Block word set: 1024-byte blocks of a block file, read into block buffers in the
//! session's data space, written back when updated.
//!
//! The block file is [`BLOCK_FILE`], resolved through the session's file access policy
//! (inside the sandbox directory with `FileAccess::Within`, in the current directory with
//! `FileAccess::Full`; with `FileAccess::Off` every block word that reads or writes throws
//! -37). Block *n* (1 to [`MAX_BLOCK`]) is the bytes `(n-1)*1024 .. n*1024` of the file; a
//! block beyond the end of the file reads as blanks, and writing it extends the file.
//! The [`BUFFER_COUNT`] buffers are taken from the heap (see `allocate`) when first needed,
//! so they lie in data space and FREE refuses them. LOAD interprets a block as one
//! 1024-character line (`\` skips to the end of its 64-character line); BLK holds the
//! block being interpreted (0 for other sources), SCR the block LIST showed last.

use crate::block_buffers::{BLOCK_BYTES, BUFFER_COUNT, BlockBuffer, MAX_BLOCK};
use crate::console::{Console, write_output};
use crate::engine::Forth;
use crate::error::{Fallible, Throw, code, fail};
use crate::input_source::SourceKind;
use crate::ir::Sys;
use crate::memory::{BLK_OFFSET, SCR_OFFSET};
use crate::sandbox;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};

/// The block file's name.
pub const BLOCK_FILE: &str = "blocks.fb";
/// Characters in a line of a block (for `\` and LIST).
const LINE_BYTES: usize = 64;

const INVALID_BLOCK: i64 = -35;
const BLOCK_READ: i64 = -33;
const BLOCK_WRITE: i64 = -34;

/// The host words of this word set.
pub const BLOCK_WORDS: &[Sys] = &[
    Sys::Block,
    Sys::Buffer,
    Sys::Update,
    Sys::SaveBuffers,
    Sys::Flush,
    Sys::EmptyBuffers,
    Sys::Load,
    Sys::List,
    Sys::Thru,
];

impl Forth {
    /// Executes one word of the Block word set.
    pub(crate) fn block_word(&mut self, word: Sys, console: &mut dyn Console) -> Fallible<()> {
        self.charge_bytes(BLOCK_BYTES)?;
        match word {
            Sys::Block => {
                let block = self.pop()?;
                let address = self.assign_buffer(block, true)?;
                self.push(address as i64)
            }
            Sys::Buffer => {
                let block = self.pop()?;
                let address = self.assign_buffer(block, false)?;
                self.push(address as i64)
            }
            Sys::Update => {
                if let Some(current) = self.blocks.current {
                    self.blocks.buffers[current].updated = true;
                }
                Ok(())
            }
            Sys::SaveBuffers => self.save_buffers(),
            Sys::Flush => {
                self.save_buffers()?;
                self.empty_buffers();
                Ok(())
            }
            Sys::EmptyBuffers => {
                self.empty_buffers();
                Ok(())
            }
            Sys::Load => {
                let block = self.pop()?;
                self.load_block(block, console)
            }
            Sys::Thru => {
                let last = self.pop()?;
                let first = self.pop()?;
                (first..=last).try_for_each(|block| self.load_block(block, console))
            }
            _ => self.list_block(console),
        }
    }

    /// The buffer holding `block`, assigning (and, for BLOCK, reading) one if needed.
    fn assign_buffer(&mut self, block: i64, read: bool) -> Fallible<usize> {
        if !(1..=MAX_BLOCK).contains(&block) {
            return fail(INVALID_BLOCK);
        }
        if let Some(index) = self.blocks.holding(block) {
            self.blocks.current = Some(index);
            return Ok(self.blocks.buffers[index].address);
        }
        let index = self.free_buffer()?;
        let address = self.blocks.buffers[index].address;
        if read {
            let bytes = self.read_block(block)?;
            self.mem[address..address + BLOCK_BYTES].copy_from_slice(&bytes);
        }
        self.blocks.buffers[index] = BlockBuffer {
            address,
            block: Some(block),
            updated: false,
        };
        self.blocks.current = Some(index);
        Ok(address)
    }

    /// A buffer to reuse: a new one while there are fewer than [`BUFFER_COUNT`], else the
    /// next in turn, written back first when updated.
    fn free_buffer(&mut self) -> Fallible<usize> {
        if let Some(index) = self.blocks.buffers.iter().position(|b| b.block.is_none()) {
            return Ok(index);
        }
        if self.blocks.buffers.len() < BUFFER_COUNT {
            let address = self
                .allocate_zeroed(BLOCK_BYTES as i64)?
                .ok_or_else(|| Throw::new(code::DICTIONARY_OVERFLOW))?;
            self.blocks.buffers.push(BlockBuffer {
                address,
                block: None,
                updated: false,
            });
            return Ok(self.blocks.buffers.len() - 1);
        }
        let index = self.blocks.next_victim % BUFFER_COUNT;
        self.blocks.next_victim = (index + 1) % BUFFER_COUNT;
        self.write_back(index)?;
        self.blocks.buffers[index].block = None;
        Ok(index)
    }

    fn write_back(&mut self, index: usize) -> Fallible<()> {
        let buffer = self.blocks.buffers[index];
        let Some(block) = buffer.block.filter(|_| buffer.updated) else {
            return Ok(());
        };
        let bytes = self.mem[buffer.address..buffer.address + BLOCK_BYTES].to_vec();
        self.write_block(block, &bytes)?;
        self.blocks.buffers[index].updated = false;
        Ok(())
    }

    /// SAVE-BUFFERS, and BYE before it leaves: writes every updated block buffer back.
    pub(crate) fn save_buffers(&mut self) -> Fallible<()> {
        (0..self.blocks.buffers.len()).try_for_each(|index| self.write_back(index))
    }

    fn empty_buffers(&mut self) {
        for buffer in &mut self.blocks.buffers {
            buffer.block = None;
            buffer.updated = false;
        }
        self.blocks.current = None;
    }

    fn block_file(&self) -> Fallible<std::path::PathBuf> {
        self.policy_path(BLOCK_FILE)
            .map_err(|refusal| Throw::with_message(code::FILE_IO, refusal.0))
    }

    fn read_block(&self, block: i64) -> Fallible<Vec<u8>> {
        let path = self.block_file()?;
        let mut bytes = vec![b' '; BLOCK_BYTES];
        let file = match sandbox::open(&path, OpenOptions::new().read(true), self.bounded()) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(bytes),
            Err(error) => return Err(block_error(BLOCK_READ, &path, &error)),
        };
        let offset = (block as u64 - 1) * BLOCK_BYTES as u64;
        let mut read = Vec::with_capacity(BLOCK_BYTES);
        (&file)
            .seek(SeekFrom::Start(offset))
            .and_then(|_| (&file).take(BLOCK_BYTES as u64).read_to_end(&mut read))
            .map_err(|error| block_error(BLOCK_READ, &path, &error))?;
        bytes[..read.len()].copy_from_slice(&read);
        Ok(bytes)
    }

    /// Writes the block; blocks between the end of the file and it are written as blanks.
    fn write_block(&mut self, block: i64, bytes: &[u8]) -> Fallible<()> {
        let path = self.block_file()?;
        let offset = (block as u64 - 1) * BLOCK_BYTES as u64;
        let failed = |error: std::io::Error| block_error(BLOCK_WRITE, &path, &error);
        let mut writing = OpenOptions::new();
        writing.write(true).create(true).truncate(false);
        let mut file = sandbox::open(&path, &writing, self.bounded()).map_err(failed)?;
        let end = file.seek(SeekFrom::End(0)).map_err(failed)?;
        let gap = offset.saturating_sub(end) as usize;
        self.charge_bytes(gap)?;
        let blanks = vec![b' '; gap];
        file.write_all(&blanks)
            .and_then(|()| file.seek(SeekFrom::Start(offset)))
            .and_then(|_| file.write_all(bytes))
            .map_err(failed)
    }

    /// LOAD: interprets the block as one line of source.
    fn load_block(&mut self, block: i64, console: &mut dyn Console) -> Fallible<()> {
        let address = self.assign_buffer(block, true)?;
        let text = self.mem[address..address + BLOCK_BYTES].to_vec();
        let name = format!("block {block}");
        self.interpret_text(text.into(), name.into(), SourceKind::Block(block), console)
    }

    /// REFILL while a block is interpreted: the next block becomes the input.
    pub(crate) fn refill_block(&mut self) -> Fallible<bool> {
        let Some(SourceKind::Block(block)) = self.sources.last().map(|s| s.kind.clone()) else {
            return Ok(false);
        };
        if block >= MAX_BLOCK {
            return Ok(false);
        }
        self.switch_block(block + 1)?;
        Ok(true)
    }

    /// Makes `block` the input source in place of the block being interpreted, >IN 0.
    fn switch_block(&mut self, block: i64) -> Fallible<()> {
        let address = self.assign_buffer(block, true)?;
        let text = self.mem[address..address + BLOCK_BYTES].to_vec();
        if let Some(source) = self.sources.last_mut() {
            source.kind = SourceKind::Block(block);
            source.text = text.into();
            source.next_line = 0;
            source.line = 0;
        }
        self.sync_blk();
        self.refill_line();
        Ok(())
    }

    /// SAVE-INPUT while a block is interpreted: ( -- block 0 >IN 3 ).
    pub(crate) fn save_block_input(&mut self) -> Fallible<()> {
        let block = self.system_cell(BLK_OFFSET);
        [block, 0, self.to_in() as i64, 3]
            .into_iter()
            .try_for_each(|cell| self.push(cell))
    }

    /// RESTORE-INPUT while a block is interpreted: back to the saved block and >IN.
    pub(crate) fn restore_block_input(&mut self) -> Fallible<()> {
        let count = self.pop()?;
        if count != 3 {
            (0..count.max(0)).try_for_each(|_| self.pop().map(drop))?;
            return self.push(-1);
        }
        let to_in = self.pop_usize()?;
        self.pop()?;
        let block = self.pop()?;
        if block != self.system_cell(BLK_OFFSET) {
            self.switch_block(block)?;
        }
        self.set_to_in(to_in);
        self.push(0)
    }

    /// Whether the input source is a block.
    pub(crate) fn in_block(&self) -> bool {
        matches!(
            self.sources.last().map(|s| &s.kind),
            Some(SourceKind::Block(_))
        )
    }

    /// `\` in a block: skips to the end of the 64-character line.
    pub(crate) fn skip_block_line(&mut self) -> Fallible<()> {
        let next_line = (self.to_in() / LINE_BYTES + 1) * LINE_BYTES;
        self.set_to_in(next_line.min(BLOCK_BYTES));
        Ok(())
    }

    /// Sets BLK to the block being interpreted, 0 when the input source is not a block.
    pub(crate) fn sync_blk(&mut self) {
        let block = match self.sources.last().map(|s| &s.kind) {
            Some(SourceKind::Block(block)) => *block,
            _ => 0,
        };
        self.set_system_cell(BLK_OFFSET, block);
    }

    /// LIST ( u -- ): shows the block as 16 numbered lines and stores u in SCR.
    fn list_block(&mut self, console: &mut dyn Console) -> Fallible<()> {
        let block = self.pop()?;
        let address = self.assign_buffer(block, true)?;
        self.set_system_cell(SCR_OFFSET, block);
        let mut text = format!("Screen {block}\n").into_bytes();
        let lines = self.mem[address..address + BLOCK_BYTES].chunks(LINE_BYTES);
        for (number, line) in lines.enumerate() {
            text.extend(format!("{number:2} ").bytes());
            text.extend(
                line.iter()
                    .map(|&b| if b.is_ascii_graphic() { b } else { b' ' }),
            );
            text.push(b'\n');
        }
        write_output(console, &text)
    }
}

fn block_error(throw_code: i64, path: &std::path::Path, error: &std::io::Error) -> Throw {
    Throw::with_message(throw_code, format!("{}: {error}", path.display()))
}

//! The Memory-allocation word set (`ALLOCATE`, `FREE`, `RESIZE`): a heap at the top of
//! the session's own data space, growing down towards HERE.
//!
//! Allocated regions are ordinary data space (the program reaches them with `@`, `!`,
//! `MOVE` ... through the same bounds checks), so no allocation reaches memory outside the
//! session. The heap's bookkeeping (which regions are in use) lives outside data space,
//! where the program cannot corrupt it: freeing an address twice, or one that ALLOCATE did
//! not return, is an ior, never a corrupt heap. The heap and HERE share one budget:
//! `UNUSED` is the room between them and ALLOT stops at the heap's floor (-8). The state
//! image carries the heap (its regions and their bytes).
//!
//! iors: 0 on success, [`IOR_NO_MEMORY`] when no room is left (or the size is negative or
//! absurd), [`IOR_NOT_ALLOCATED`] for an address ALLOCATE did not return or that was freed.

use crate::block_buffers::{BLOCK_BYTES, BUFFER_COUNT, BlockBuffer, Blocks, MAX_BLOCK};
use crate::engine::Forth;
use crate::error::Fallible;
use crate::heap::Heap;
use crate::ir::{DecodeError, Reader};
use crate::machine::BYTES_PER_STEP;
use crate::memory::{self, CELL};

/// ior: not enough memory (ENOMEM as an OS error ior, -512 - 12).
pub const IOR_NO_MEMORY: i64 = -524;
/// ior: the address is not that of an allocated region (EINVAL, -512 - 22).
pub const IOR_NOT_ALLOCATED: i64 = -534;

impl Forth {
    /// The image section of the heap: region count, then start and size of each (u64s),
    /// the bytes from the heap's floor to the end of data space (u64 count + bytes), then
    /// the block buffers: count, then address (u64), block (i64, 0 for none) and updated
    /// (u8) of each, the current buffer (i64, -1 for none) and the next to reuse (u64).
    pub(crate) fn save_heap(&self, out: &mut Vec<u8>) {
        let regions: Vec<_> = self.heap.regions().collect();
        out.extend((regions.len() as u64).to_le_bytes());
        for (start, size) in regions {
            out.extend((start as u64).to_le_bytes());
            out.extend((size as u64).to_le_bytes());
        }
        let top = self.heap_top();
        let floor = self.heap.floor(top).min(top);
        out.extend(((top - floor) as u64).to_le_bytes());
        out.extend_from_slice(&self.mem[floor..top]);
        out.extend((self.blocks.buffers.len() as u64).to_le_bytes());
        for buffer in &self.blocks.buffers {
            out.extend((buffer.address as u64).to_le_bytes());
            out.extend(buffer.block.unwrap_or(0).to_le_bytes());
            out.push(buffer.updated as u8);
        }
        let current = self.blocks.current.map_or(-1, |c| c as i64);
        out.extend(current.to_le_bytes());
        out.extend((self.blocks.next_victim as u64).to_le_bytes());
    }

    /// Reads what [`Forth::save_heap`] wrote, refusing regions or buffers that do not fit.
    pub(crate) fn read_heap(&mut self, reader: &mut Reader) -> Result<(), DecodeError> {
        let refuse = |what: &str| DecodeError(format!("the image's {what} do not fit"));
        let count = reader.count(16)?;
        let regions = (0..count)
            .map(|_| Ok((reader.u64()? as usize, reader.u64()? as usize)))
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let top = self.heap_top();
        self.heap =
            Heap::from_regions(&regions, self.here, top).ok_or_else(|| refuse("heap regions"))?;
        let bytes = reader.blob()?;
        let floor = self.heap.floor(top).min(top);
        if bytes.len() != top - floor {
            return Err(refuse("heap bytes"));
        }
        self.mem[floor..top].copy_from_slice(bytes);
        self.blocks = self.read_blocks(reader)?;
        Ok(())
    }

    fn read_blocks(&self, reader: &mut Reader) -> Result<Blocks, DecodeError> {
        let refuse = || DecodeError("the image's block buffers do not fit".to_owned());
        let count = reader.count(17)?;
        if count > BUFFER_COUNT {
            return Err(refuse());
        }
        let mut buffers = Vec::with_capacity(count);
        for _ in 0..count {
            let address = reader.u64()? as usize;
            let block = reader.i64()?;
            let updated = reader.u8()? != 0;
            let sized = self.heap.size_at(address) == Some(BLOCK_BYTES);
            if !sized || !(0..=MAX_BLOCK).contains(&block) {
                return Err(refuse());
            }
            let block = (block != 0).then_some(block);
            buffers.push(BlockBuffer {
                address,
                block,
                updated,
            });
        }
        let current = usize::try_from(reader.i64()?).ok();
        if current.is_some_and(|c| c >= count) {
            return Err(refuse());
        }
        let next_victim = reader.u64()? as usize % BUFFER_COUNT;
        Ok(Blocks {
            buffers,
            current,
            next_victim,
        })
    }

    /// The end of the program's data space, where the heap starts growing down.
    fn heap_top(&self) -> usize {
        self.limits.data_space_bytes & !(CELL - 1)
    }

    /// The highest address HERE may reach: the heap's floor.
    pub(crate) fn data_space_end(&self) -> usize {
        self.heap.floor(self.limits.data_space_bytes)
    }

    /// ALLOCATE ( u -- a-addr ior ).
    pub(crate) fn allocate_word(&mut self) -> Fallible<()> {
        let size = self.pop()?;
        match self.allocate_zeroed(size)? {
            Some(address) => self.push_address_ior(address as i64, 0),
            None => self.push_address_ior(0, IOR_NO_MEMORY),
        }
    }

    /// FREE ( a-addr -- ior ).
    pub(crate) fn free_word(&mut self) -> Fallible<()> {
        let address = self.pop()?;
        let freed = usize::try_from(address)
            .ok()
            .filter(|_| !self.blocks.owns(address))
            .and_then(|a| self.heap.free(a));
        self.push(if freed.is_some() {
            0
        } else {
            IOR_NOT_ALLOCATED
        })
    }

    /// RESIZE ( a-addr1 u -- a-addr2 ior ): on failure a-addr1 is returned and still valid.
    pub(crate) fn resize_word(&mut self) -> Fallible<()> {
        let size = self.pop()?;
        let address = self.pop()?;
        let old = usize::try_from(address)
            .ok()
            .filter(|_| !self.blocks.owns(address))
            .and_then(|a| Some((a, self.heap.size_at(a)?)));
        let Some((old_start, old_size)) = old else {
            return self.push_address_ior(address, IOR_NOT_ALLOCATED);
        };
        let Some(new_start) = self.allocate_zeroed(size)? else {
            return self.push_address_ior(address, IOR_NO_MEMORY);
        };
        let kept = old_size.min(size as usize);
        self.charge_bytes(kept)?;
        self.mem.copy_within(old_start..old_start + kept, new_start);
        self.heap.free(old_start);
        self.push_address_ior(new_start as i64, 0)
    }

    /// A new zeroed region, or `None` when the size is negative or does not fit.
    pub(crate) fn allocate_zeroed(&mut self, size: i64) -> Fallible<Option<usize>> {
        let Ok(size) = usize::try_from(size) else {
            return Ok(None);
        };
        let (here, top) = (self.here, self.heap_top());
        let Some(start) = self.heap.allocate(size, here, top) else {
            return Ok(None);
        };
        if let Err(throw) = self.charge_bytes(size) {
            self.heap.free(start);
            return Err(throw);
        }
        self.mem[start..start + memory::aligned(size.max(1))].fill(0);
        Ok(Some(start))
    }

    fn push_address_ior(&mut self, address: i64, ior: i64) -> Fallible<()> {
        self.push(address)?;
        self.push(ior)
    }

    /// Charges the step budget for work on `bytes` bytes (one step per 256).
    #[inline(never)]
    pub(crate) fn charge_bytes(&mut self, bytes: usize) -> Fallible<()> {
        self.charge_steps(1 + bytes / BYTES_PER_STEP)
    }
}

//! Data space: one bounded byte array holding the program's data space, then the system
//! area (STATE, BASE, >IN, PAD, the pictured numeric output buffer, the WORD buffer and the
//! transient string buffers), then the buffers of the active input sources. Addresses are
//! byte offsets into it; every access is bounds checked.

/// Offsets inside the system area.
pub const STATE_OFFSET: usize = 0;
pub const BASE_OFFSET: usize = 8;
pub const TO_IN_OFFSET: usize = 16;
/// BLK and SCR of the Block word set.
pub const BLK_OFFSET: usize = 40;
pub const SCR_OFFSET: usize = 48;
pub const PAD_OFFSET: usize = 64;
pub const PAD_BYTES: usize = 1024;
pub const HOLD_OFFSET: usize = PAD_OFFSET + PAD_BYTES;
pub const HOLD_BYTES: usize = 512;
pub const WORD_OFFSET: usize = HOLD_OFFSET + HOLD_BYTES;
pub const WORD_BYTES: usize = 264;
pub const TRANSIENT_OFFSET: usize = WORD_OFFSET + WORD_BYTES;
pub const TRANSIENT_BYTES: usize = 2048;
pub const TRANSIENT_COUNT: usize = 2;
pub const SYSTEM_BYTES: usize = TRANSIENT_OFFSET + TRANSIENT_BYTES * TRANSIENT_COUNT;

pub const CELL: usize = 8;

/// Rounds up to a cell boundary.
pub fn aligned(address: usize) -> usize {
    address.saturating_add(CELL - 1) & !(CELL - 1)
}

/// The byte range [address, address+len) if it lies inside `memory`.
pub fn range(memory: &[u8], address: i64, len: i64) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(address).ok()?;
    let len = usize::try_from(len).ok()?;
    let end = start.checked_add(len)?;
    (end <= memory.len()).then_some(start..end)
}

pub fn cell(memory: &[u8], address: i64) -> Option<i64> {
    let bytes = memory
        .get(usize::try_from(address).ok()?..)?
        .first_chunk::<CELL>()?;
    Some(i64::from_le_bytes(*bytes))
}

pub fn set_cell(memory: &mut [u8], address: i64, value: i64) -> Option<()> {
    let bytes = memory
        .get_mut(usize::try_from(address).ok()?..)?
        .first_chunk_mut::<CELL>()?;
    *bytes = value.to_le_bytes();
    Some(())
}

pub fn byte(memory: &[u8], address: i64) -> Option<u8> {
    memory.get(usize::try_from(address).ok()?).copied()
}

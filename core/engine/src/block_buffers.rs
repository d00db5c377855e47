//! The block buffers of a session (`Blocks`): where each lies in data space, the block it
//! holds and whether it changed; and the sizes of blocks and of the block file. The
//! words that use them are in `blocks`.

/// Bytes in a block.
pub const BLOCK_BYTES: usize = 1024;
/// The highest block number (a 64 MiB block file).
pub const MAX_BLOCK: i64 = 65536;
/// Block buffers of a session.
pub const BUFFER_COUNT: usize = 8;

/// One block buffer: its address in data space, the block it holds, whether it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockBuffer {
    pub address: usize,
    pub block: Option<i64>,
    pub updated: bool,
}

/// The block buffers, and which was used last (UPDATE marks it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blocks {
    pub buffers: Vec<BlockBuffer>,
    pub current: Option<usize>,
    pub next_victim: usize,
}

impl Blocks {
    /// Whether `address` is that of a block buffer (FREE and RESIZE refuse them).
    pub fn owns(&self, address: i64) -> bool {
        self.buffers.iter().any(|b| b.address as i64 == address)
    }

    pub(crate) fn holding(&self, block: i64) -> Option<usize> {
        self.buffers.iter().position(|b| b.block == Some(block))
    }
}

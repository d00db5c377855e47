//! The executor's state between runs of its loop (`Machine`): the stacks, its registers,
//! the step budget and the catch frames; and the code addresses with fixed roles.

use crate::limits::Limits;

/// Code addresses with fixed roles.
pub const HALT_ADDRESS: usize = 0;
pub const CATCH_OK_ADDRESS: usize = 1;
/// The first address a word's code can start at: those below have the fixed roles above,
/// so no execution token is one of them.
pub const FIRST_WORD_ADDRESS: usize = 2;

/// Whether `xt` may be executed: an address in the code at or above [`FIRST_WORD_ADDRESS`].
#[inline]
pub(crate) fn is_xt(xt: i64, code_len: usize) -> bool {
    (FIRST_WORD_ADDRESS as i64..code_len as i64).contains(&xt)
}

/// Bytes of data space per step of the budget that copying or clearing costs.
pub(crate) const BYTES_PER_STEP: usize = 256;

/// Where CATCH resumes when the caught word throws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CatchFrame {
    pub depth: usize,
    pub rdepth: usize,
    pub ip: usize,
    pub sources: usize,
    pub level: u32,
}

/// The executor's state between runs of its loop: the stacks, its registers, the step
/// budget and the catch frames. The code and the data space it runs on are the engine's.
#[derive(Clone)]
pub(crate) struct Machine {
    /// Data stack: items at `ds[1..=depth]` (slot 0 is scratch for the executor).
    pub(crate) ds: Vec<i64>,
    pub(crate) depth: usize,
    pub(crate) rs: Vec<i64>,
    pub(crate) rdepth: usize,
    pub(crate) ip: usize,
    /// The return stack depth where the current run of the loop started.
    pub(crate) rbase: usize,
    /// How many runs of the loop are nested (EXECUTE from a host word starts another).
    pub(crate) run_level: u32,
    pub(crate) steps_left: u64,
    pub(crate) catch_frames: Vec<CatchFrame>,
}

impl Machine {
    /// Empty stacks of the sizes in `limits`, at rest on the `Halt` instruction.
    pub(crate) fn new(limits: &Limits) -> Machine {
        Machine {
            ds: vec![0; limits.data_stack_cells + 1],
            depth: 0,
            rs: vec![0; limits.return_stack_cells],
            rdepth: 0,
            ip: HALT_ADDRESS,
            rbase: 0,
            run_level: 0,
            steps_left: u64::MAX,
            catch_frames: Vec::new(),
        }
    }
}

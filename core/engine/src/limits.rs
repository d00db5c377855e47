//! The resource bounds of one engine (`Limits`): stack and data space sizes, the step
//! budget, the source size limit and the file access policy, and the check that refuses
//! sizes an engine cannot be built with.

use crate::sandbox::FileAccess;

/// Resource bounds of one engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub data_stack_cells: usize,
    pub return_stack_cells: usize,
    pub data_space_bytes: usize,
    /// Stop an evaluation after this many steps (lines read, interpreted tokens, calls,
    /// branches and loop iterations, plus one per character for SPACES and .R padding and
    /// one per 256 bytes that copying, filling, writing or scanning words touch);
    /// `None` = no bound.
    pub max_steps: Option<u64>,
    /// The largest source text accepted, from a file, INCLUDED or one line of standard
    /// input, in bytes.
    pub max_source_bytes: usize,
    /// Which files the session may open, create, delete, rename, include or use as its
    /// block file.
    pub file_access: FileAccess,
    /// The most files open at once (OPEN-FILE and CREATE-FILE give an ior beyond).
    pub max_open_files: usize,
    /// Depth of the floating-point stack, in floats.
    pub float_stack_cells: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            data_stack_cells: 1024,
            return_stack_cells: 1024,
            data_space_bytes: 1 << 20,
            max_steps: None,
            max_source_bytes: 64 << 20,
            file_access: FileAccess::default(),
            max_open_files: 64,
            float_stack_cells: 1024,
        }
    }
}

impl Limits {
    /// The largest data space, in bytes (1 GiB).
    pub const MAX_DATA_SPACE_BYTES: usize = 1 << 30;
    /// The fewest cells of the data and of the return stack.
    pub const MIN_STACK_CELLS: usize = 1;
    /// The most cells of the data and of the return stack (8 MiB each).
    pub const MAX_STACK_CELLS: usize = 1 << 20;
    /// The largest `max_source_bytes` (1 GiB).
    pub const MAX_SOURCE_BYTES: usize = 1 << 30;

    /// Refuses sizes an engine cannot be built with (too large to allocate, or so large
    /// that adding the system area would wrap): the error names the size and its bounds.
    pub fn check(&self) -> Result<(), String> {
        let (stack_min, stack_max) = (Limits::MIN_STACK_CELLS, Limits::MAX_STACK_CELLS);
        within(
            "data space",
            "bytes",
            self.data_space_bytes,
            0,
            Limits::MAX_DATA_SPACE_BYTES,
        )?;
        within(
            "data stack",
            "cells",
            self.data_stack_cells,
            stack_min,
            stack_max,
        )?;
        within(
            "return stack",
            "cells",
            self.return_stack_cells,
            stack_min,
            stack_max,
        )?;
        within(
            "float stack",
            "floats",
            self.float_stack_cells,
            stack_min,
            stack_max,
        )?;
        within(
            "source text limit",
            "bytes",
            self.max_source_bytes,
            1,
            Limits::MAX_SOURCE_BYTES,
        )
    }
}

fn within(what: &str, unit: &str, value: usize, min: usize, max: usize) -> Result<(), String> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(format!(
        "{what} of {value} {unit} is out of range: expected {min} to {max} {unit}"
    ))
}

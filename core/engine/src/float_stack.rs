//! The floating-point stack and the output precision (`FloatState`). The Floating-point
//! words that use them are in `float`.

/// Digits shown by `F.`, `FE.` and `FS.` until `SET-PRECISION` changes it.
const DEFAULT_PRECISION: usize = 15;
/// The most digits `SET-PRECISION` accepts.
pub const MAX_PRECISION: usize = 255;

/// The float stack and the number of significant digits the output words show.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatState {
    pub(crate) stack: Vec<f64>,
    pub(crate) capacity: usize,
    pub(crate) precision: usize,
}

impl FloatState {
    pub fn new(capacity: usize) -> FloatState {
        FloatState {
            stack: Vec::new(),
            capacity,
            precision: DEFAULT_PRECISION,
        }
    }

    /// The items, bottom first.
    pub fn items(&self) -> &[f64] {
        &self.stack
    }

    pub fn precision(&self) -> usize {
        self.precision
    }

    pub fn clear(&mut self) {
        self.stack.clear();
    }

    /// Replaces stack and precision (a state image being loaded); refuses what does not
    /// fit this engine's bounds.
    pub fn restore(&mut self, items: Vec<f64>, precision: usize) -> Result<(), String> {
        if items.len() > self.capacity {
            return Err("the image's float stack does not fit this engine's limits".to_owned());
        }
        if !(1..=MAX_PRECISION).contains(&precision) {
            return Err(format!("float precision {precision} is out of range"));
        }
        self.stack = items;
        self.precision = precision;
        Ok(())
    }
}

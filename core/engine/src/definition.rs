//! The definition being compiled (`Definition`): its IR, its control-flow stack and the
//! scope of its locals. The compiler (`compiler`) and the Locals words (`locals`) build it.

use crate::error::SourceLocation;
use crate::ir::Op;

/// An entry of the control-flow stack.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// A forward branch (IF, AHEAD, WHILE) waiting for its target.
    Orig(usize),
    /// A backward branch target (BEGIN).
    Dest(usize),
    /// A DO loop: where its body starts and the branches (LEAVE, ?DO) to its end.
    Do { body: usize, exits: Vec<usize> },
    /// A CASE and its ENDOF branches to ENDCASE.
    Case { exits: Vec<usize> },
    /// An OF waiting for its ENDOF.
    Of(usize),
}

/// A definition being compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// `None` for :NONAME.
    pub name: Option<Vec<u8>>,
    /// The execution token it will have (its code goes at the end of the code space).
    pub xt: u32,
    /// Where its name (or `:NONAME`) is in a file or the terminal, when an optimizer stage
    /// is set; `None` in `EVALUATE`d text.
    pub position: Option<SourceLocation>,
    pub ir: Vec<Op>,
    pub control: Vec<Control>,
    pub locals: Scope,
}

/// The locals of the definition being compiled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// Each local's name (upper case) and the return stack height just after it was pushed.
    pub(crate) names: Vec<(Vec<u8>, usize)>,
    /// Return stack cells this definition has pushed at the current point of its code.
    pub(crate) height: usize,
}

impl Scope {
    /// Follows the return stack cells that an instruction pushes or pops.
    pub fn track(&mut self, op: Op) {
        let change = match op {
            // An EXIT follows UNLOOP: the code after it in the text is still in the loop.
            Op::Unloop => 0,
            other => other.effect().map_or(0, |effect| effect.rdelta),
        };
        self.height = self.height.saturating_add_signed(change);
    }

    /// The offset below the return stack top of the newest local with this name.
    pub(crate) fn offset(&self, name: &[u8]) -> Option<i64> {
        if self.names.is_empty() {
            return None;
        }
        let name = name.to_ascii_uppercase();
        let (_, at) = self.names.iter().rev().find(|(local, _)| *local == name)?;
        Some(self.height.checked_sub(*at)? as i64)
    }
}

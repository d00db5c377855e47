//! Host words: words whose behaviour the embedding program provides through its
//! [`Console`], such as native code compiled ahead of time. They take and leave any number
//! of cells on the data stack and are called like any other word.

use crate::console::{Console, HostWordError};
use crate::dictionary::{Kind, Word};
use crate::engine::Forth;
use crate::error::{ForthError, Throw, code};
use crate::ir::Op;

impl Forth {
    /// Defines `name` as host word `id`: executing it calls
    /// [`Console::call_host_word`] with `id` and the data stack. A later definition of the
    /// same name shadows an earlier one, as in Forth. Returns whether it defined the word:
    /// when a word of the dictionary is host word `id` already (perhaps shadowed), nothing
    /// changes, so that linking a program again defines only what a MARKER forgot.
    pub fn define_host_word(&mut self, name: &str, id: u32) -> Result<bool, ForthError> {
        if name.is_empty() || name.bytes().any(crate::parser::is_blank) {
            let message = format!("host word name {name:?} is empty or contains a blank");
            return Err(Throw::with_message(code::INVALID_NAME_ARGUMENT, message).into_error());
        }
        if self
            .dict
            .words
            .iter()
            .any(|word| self.host_word(word) == Some(id))
        {
            return Ok(false);
        }
        if self.definition.is_some() {
            return Err(Throw::new(code::COMPILER_NESTING).into_error());
        }
        let ops = [Op::CallHost(i64::from(id)), Op::Exit];
        self.room_for_word(Some(name.as_bytes()), ops.len())
            .map_err(Throw::into_error)?;
        let xt = self.code.len() as u32;
        self.code.extend_from_slice(&ops);
        self.dict.add(Word {
            name: name.as_bytes().into(),
            xt,
            kind: Kind::Primitive { len: 1 },
            immediate: false,
            compile_only: false,
        });
        Ok(true)
    }

    /// The id of `word` when it is a host word: a primitive whose one instruction calls the
    /// host (a colon definition may start with that instruction too).
    pub(crate) fn host_word(&self, word: &Word) -> Option<u32> {
        match (&word.kind, self.code.get(word.xt as usize)) {
            (Kind::Primitive { len: 1 }, Some(&Op::CallHost(id))) => u32::try_from(id).ok(),
            _ => None,
        }
    }

    /// The throw of a host word that could not run or failed; an error without a message
    /// has its code's. The text of an ABORT" is shown, as ABORT" itself shows it, unless a
    /// CATCH is running.
    pub(crate) fn host_word_failed(
        &self,
        error: HostWordError,
        console: &mut dyn Console,
    ) -> Throw {
        let shown = error.code == code::ABORT_QUOTE && !error.message.is_empty();
        if shown && self.machine.catch_frames.is_empty() {
            // An output error loses only the message: the abort stops the word either way.
            let _ = console.write(error.message.as_bytes());
        }
        match error.message.is_empty() {
            true => Throw::new(error.code),
            false => Throw::with_message(error.code, error.message),
        }
    }
}

/// [`Op::CallHost`] ( i*x -- j*x ) inside the executor's loop: runs host word `id` through
/// the console in `host`, in place on the data stack `ds` (items at `ds[1..=depth]`), whose
/// depth `run_inner` holds in `sp` and top in `tos`. The word gets every cell of `ds` above
/// slot 0; what it leaves stays, also when it fails. Out of line, and everything by
/// address, so that the loop keeps its registers for its own state.
#[inline(never)]
pub(crate) fn call_host(
    id: i64,
    host: &mut &mut dyn Console,
    ds: &mut [i64],
    sp: &mut usize,
    tos: &mut i64,
) -> Result<(), Box<HostWordError>> {
    let refused = |code| {
        Box::new(HostWordError {
            code,
            message: String::new(),
        })
    };
    // The console by its slot: without the barrier the compiler passes the console itself,
    // which then takes two of the loop's registers.
    let console = std::hint::black_box(host);
    let id = u32::try_from(id).map_err(|_| refused(code::INVALID_XT))?;
    // The top is held apart from the stack in `tos`: the word sees it in its cell.
    if let Some(top) = ds.get_mut(*sp) {
        *top = *tos;
    }
    let depth = *sp;
    let cells = ds.get_mut(1..).unwrap_or_default();
    let room = cells.len();
    let mut left = depth;
    let result = console.call_host_word(id, cells, &mut left);
    let overflow = left > room;
    *sp = if overflow { depth } else { left };
    *tos = ds.get(*sp).copied().unwrap_or(0);
    if overflow {
        return Err(refused(code::STACK_OVERFLOW));
    }
    result.map_err(Box::new)
}

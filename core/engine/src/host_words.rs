//! Host words: words whose behaviour the embedding program provides through its
//! [`Console`], such as native code compiled ahead of time. They take and leave any number
//! of cells on the data stack and are called like any other word.

use crate::console::Console;
use crate::dictionary::{Kind, Word};
use crate::engine::Forth;
use crate::error::{Fallible, ForthError, Throw, code, fail};
use crate::ir::{Op, Sys};

impl Forth {
    /// Defines `name` as host word `id`: executing it calls
    /// [`Console::call_host_word`] with `id` and the data stack. A later definition of the
    /// same name shadows an earlier one, as in Forth.
    pub fn define_host_word(&mut self, name: &str, id: u32) -> Result<(), ForthError> {
        if name.is_empty() || name.bytes().any(crate::parser::is_blank) {
            let message = format!("host word name {name:?} is empty or contains a blank");
            return Err(Throw::with_message(code::INVALID_NAME_ARGUMENT, message).into_error());
        }
        if self.definition.is_some() {
            return Err(Throw::new(code::COMPILER_NESTING).into_error());
        }
        let ops = [Op::Lit(i64::from(id)), Op::Sys(Sys::CallHost), Op::Exit];
        self.room_for_word(Some(name.as_bytes()), ops.len())
            .map_err(Throw::into_error)?;
        let xt = self.code.len() as u32;
        self.code.extend_from_slice(&ops);
        self.dict.add(Word {
            name: name.as_bytes().into(),
            xt,
            kind: Kind::Primitive { len: 2 },
            immediate: false,
            compile_only: false,
        });
        Ok(())
    }

    /// CALL-HOST ( i*x id -- j*x ): runs host word `id` on the data stack in place.
    pub(crate) fn call_host(&mut self, console: &mut dyn Console) -> Fallible<()> {
        let id = u32::try_from(self.pop()?).map_err(|_| Throw::new(code::INVALID_XT))?;
        let cells = &mut self.machine.ds[1..];
        let room = cells.len();
        let mut depth = self.machine.depth;
        let result = console.call_host_word(id, cells, &mut depth);
        if depth > room {
            return fail(code::STACK_OVERFLOW);
        }
        self.machine.depth = depth;
        result.map_err(|error| {
            // As ABORT" itself: its text is shown unless a CATCH is running.
            if error.code == code::ABORT_QUOTE && self.machine.catch_frames.is_empty() {
                // An output error loses only the message: the abort stops the word either way.
                let _ = console.write(error.message.as_bytes());
            }
            Throw::with_message(error.code, error.message)
        })
    }
}

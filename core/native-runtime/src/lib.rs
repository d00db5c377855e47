//! What Forth compiled ahead of time (`fastforth-aot`) runs on: the program's data space
//! with checked access, the explicit data stack of words whose stack effect is not static,
//! console output, number output, and the arithmetic that can fail. Every failure is a
//! [`Throw`] with the interpreter's throw code, so compiled code is as safe as interpreted
//! code and fails the same way.
//!
//! A generated plugin calls [`run`] from its `run_word` export, [`call`] from its
//! `call_word` export, [`new_session`] from its `new_session` export and [`words`] from its
//! `words` export; a program compiled to an executable calls [`main`] from its own `main`;
//! everything else is called from the generated word functions. It keeps no state: a
//! session's data space is the host's, lent to each call.

mod arith;
mod executable;
mod output;
mod pictured;
mod worker;

pub use arith::*;
pub use executable::main;

use fastforth_abi::{ByteSink, ConsoleCallbacks, DataSpace, DataStack, EvalOutcome, FfiStr};
use std::sync::Arc;

/// An exception on its way out of the run: the Forth throw code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throw(pub i64);

impl Throw {
    /// Unwinds to the start of the run (or to a compiled CATCH) with this exception. Word
    /// functions return plain values, so the path without a throw carries no error checks.
    pub fn raise(self) -> ! {
        self.raise_in(None)
    }

    /// [`Throw::raise`] from the compiled word `word`, which the error message names.
    #[cold]
    #[inline(never)]
    pub fn raise_in(self, word: Option<&'static str>) -> ! {
        std::panic::resume_unwind(Box::new(Raised { thrown: self, word }))
    }
}

/// What unwinds out of a word: the exception, and the compiled word that raised it.
#[derive(Clone, Copy, Debug)]
struct Raised {
    thrown: Throw,
    word: Option<&'static str>,
}

/// Result of the runtime's operations that can throw; generated code unwraps it with
/// [`OrThrow::or_throw_in`].
pub type Res<T> = Result<T, Throw>;

/// The value, or the exception raised.
pub trait OrThrow<T> {
    fn or_throw(self) -> T;
    /// [`OrThrow::or_throw`] in the compiled word `word`.
    fn or_throw_in(self, word: &'static str) -> T;
}

impl<T> OrThrow<T> for Res<T> {
    #[inline(always)]
    fn or_throw(self) -> T {
        match self {
            Ok(value) => value,
            Err(thrown) => thrown.raise(),
        }
    }

    #[inline(always)]
    fn or_throw_in(self, word: &'static str) -> T {
        match self {
            Ok(value) => value,
            Err(thrown) => thrown.raise_in(Some(word)),
        }
    }
}

/// Runs `word`, catching the exception it raises; any other panic goes on unwinding.
fn catching(word: impl FnOnce()) -> Result<(), Raised> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(word)) {
        Ok(()) => Ok(()),
        Err(payload) => match payload.downcast::<Raised>() {
            Ok(raised) => Err(*raised),
            Err(other) => std::panic::resume_unwind(other),
        },
    }
}

/// Throw codes the runtime raises, and their messages: the ABI's table, which the host shares.
pub use fastforth_abi::throw as code;

/// The program's state as it was compiled.
#[derive(Debug)]
pub struct Image {
    /// Size of the data space (program data, then the system area).
    pub memory_bytes: usize,
    /// The program's data, from address 0.
    pub data: &'static [u8],
    /// Where the system area starts, and its initial bytes.
    pub system_base: usize,
    pub system: &'static [u8],
    /// The address of BASE.
    pub base_address: i64,
    /// The pictured numeric output buffer.
    pub hold_area: std::ops::Range<usize>,
    /// Depth of the explicit data stack.
    pub stack_cells: usize,
}

/// A compiled word as a run starts it: inputs from and outputs to the explicit data stack;
/// a throw unwinds with a [`Throw`].
pub type Entry = fn(&mut Vm<'_>);

/// Output is passed to the host in chunks of about this size.
const FLUSH_BYTES: usize = 8192;

/// The state of one run: data space, explicit data stack, pending output.
pub struct Vm<'c> {
    /// The data space, worked on where it is (the live session's, on a call).
    mem: &'c mut [u8],
    /// The data stack's cells, worked on where they are (the caller's, on a call): the
    /// bottom `depth` are in use, and there is no room beyond the slice.
    stack: &'c mut [i64],
    depth: usize,
    base_address: i64,
    hold_area: std::ops::Range<usize>,
    /// Where the pictured numeric output starts (0 before the first `<#`).
    hold: usize,
    out: Vec<u8>,
    /// Where full chunks of output go.
    output: Output<'c>,
    /// The message of the exception that ended the run, when not its code's: the text of
    /// an ABORT", or the output error.
    thrown_message: Option<String>,
    /// How many CATCHes are running.
    catching: usize,
    /// Whether an uncaught ABORT" shows its text: a run's does; a call's caller shows it
    /// unless a CATCH of its own is running.
    shows_abort_text: bool,
    /// The lowest stack address a compiled word may start at: below it, the next frames
    /// could reach the guard page, so entering a word throws -5 instead.
    stack_floor: usize,
}

impl<'c> Vm<'c> {
    /// A run of `image` from `start`, sending its output to `output`, on a stack with
    /// `stack_room` bytes left below this call.
    #[inline]
    fn new(image: &Image, start: Start<'c>, output: Output<'c>, stack_room: usize) -> Vm<'c> {
        let stack_floor = stack_address()
            .saturating_sub(stack_room)
            .saturating_add(STACK_MARGIN_BYTES);
        let room = start.cells.len().min(image.stack_cells);
        Vm {
            mem: start.mem,
            stack: &mut start.cells[..room],
            depth: start.depth.min(room),
            base_address: image.base_address,
            hold_area: image.hold_area.clone(),
            hold: 0,
            out: Vec::new(),
            output,
            thrown_message: None,
            catching: 0,
            shows_abort_text: true,
            stack_floor,
        }
    }

    /// Entry of a compiled word at return stack depth `depth`, when [`is_deep`] says it
    /// must look: throws -5 in `word` when the return stack has no room for it (`cells`),
    /// or when the stack left could not take the frames of the next few calls. Depth alone
    /// does not bound stack use: a frame can be large (the `execute` dispatcher of a debug
    /// build with many words takes tens of kilobytes). Each compiled word calls it from a
    /// cold function of its own that passes its name and `cells`, so that the word's hot
    /// path keeps no register for them.
    #[cold]
    #[inline(never)]
    pub fn enter_deep(&self, depth: usize, cells: usize, word: &'static str) {
        if depth > cells {
            Throw(code::RETURN_STACK_OVERFLOW).raise_in(Some(word))
        }
        self.check_stack(word);
    }

    /// Throws -5 in `word` when less than [`STACK_MARGIN_BYTES`] of the run's stack is
    /// left. The generated `execute` dispatcher, whose frame is the largest, calls it on
    /// every execution.
    #[inline(never)]
    pub fn check_stack(&self, word: &'static str) {
        if stack_address() < self.stack_floor {
            Throw(code::RETURN_STACK_OVERFLOW).raise_in(Some(word))
        }
    }

    /// Pushes on the explicit data stack (-3 when full).
    #[inline]
    pub fn push(&mut self, x: i64) -> Res<()> {
        let Some(cell) = self.stack.get_mut(self.depth) else {
            return Err(Throw(code::STACK_OVERFLOW));
        };
        *cell = x;
        self.depth += 1;
        Ok(())
    }

    /// Pops from the explicit data stack (-4 when empty).
    #[inline]
    pub fn pop(&mut self) -> Res<i64> {
        let below = self
            .depth
            .checked_sub(1)
            .ok_or(Throw(code::STACK_UNDERFLOW))?;
        let x = *self.stack.get(below).ok_or(Throw(code::STACK_UNDERFLOW))?;
        self.depth = below;
        Ok(x)
    }

    /// The cells in use, bottom first.
    fn cells(&self) -> &[i64] {
        &self.stack[..self.depth]
    }

    /// DEPTH.
    pub fn depth(&mut self) -> Res<()> {
        self.push(self.depth as i64)
    }

    /// ?DUP.
    pub fn question_dup(&mut self) -> Res<()> {
        let x = self.pop()?;
        self.push(x)?;
        if x != 0 { self.push(x) } else { Ok(()) }
    }

    /// PICK: ( xu ... x0 u -- xu ... x0 xu ).
    pub fn pick(&mut self) -> Res<()> {
        let u = self.pop()? as u64;
        let len = self.depth as u64;
        if u >= len {
            return Err(Throw(code::STACK_UNDERFLOW));
        }
        self.push(self.cells()[(len - 1 - u) as usize])
    }

    /// ROLL: ( xu xu-1 ... x0 u -- xu-1 ... x0 xu ).
    pub fn roll(&mut self) -> Res<()> {
        let u = self.pop()? as u64;
        let len = self.depth as u64;
        if u >= len {
            return Err(Throw(code::STACK_UNDERFLOW));
        }
        self.stack[(len - 1 - u) as usize..self.depth].rotate_left(1);
        Ok(())
    }

    /// Where the `N` bytes at `address` start, when they all lie in data space. One
    /// comparison, written so that LLVM also drops the slice's own bounds checks.
    #[inline(always)]
    fn span<const N: usize>(&self, address: i64) -> Res<usize> {
        let at = address as u64 as usize;
        let len = self.mem.len();
        if len < N || at > len - N {
            return Err(Throw(code::INVALID_ADDRESS));
        }
        Ok(at)
    }

    /// The cell at an address (-9 outside data space).
    #[inline]
    pub fn fetch(&self, address: i64) -> Res<i64> {
        let at = self.span::<8>(address)?;
        Ok(cell_of(&self.mem[at..at + 8]))
    }

    /// Stores a cell.
    #[inline]
    pub fn store(&mut self, address: i64, x: i64) -> Res<()> {
        let at = self.span::<8>(address)?;
        self.mem[at..at + 8].copy_from_slice(&x.to_le_bytes());
        Ok(())
    }

    /// The byte at an address.
    #[inline]
    pub fn cfetch(&self, address: i64) -> Res<i64> {
        match self.mem.get(address as u64 as usize) {
            Some(&byte) => Ok(byte as i64),
            None => Err(Throw(code::INVALID_ADDRESS)),
        }
    }

    /// Stores the low byte of `x`.
    #[inline]
    pub fn cstore(&mut self, address: i64, x: i64) -> Res<()> {
        match self.mem.get_mut(address as u64 as usize) {
            Some(byte) => {
                *byte = x as u8;
                Ok(())
            }
            None => Err(Throw(code::INVALID_ADDRESS)),
        }
    }

    /// A whole loop of `x I C! DUP +LOOP` from `index` to `limit`, stepping by `step`
    /// (siev's inner loop): the loop's parameters are dropped when it ends, so its index is
    /// not handed back. When every index provably lies in data space (a positive step and
    /// `0 <= index < limit <= size`), the stores run without a check each; otherwise one at
    /// a time, checked, so that the first one outside throws -9 after those before it.
    #[inline]
    pub fn cstore_plus_loop(&mut self, limit: i64, index: i64, step: i64, x: i64) -> Res<()> {
        let size = self.mem.len() as u64;
        if step > 0 && 0 <= index && index < limit && limit as u64 <= size {
            // Below `limit`, an index is in the slice (its check folds into the loop's test),
            // and adding a step below 2^63 to it cannot wrap.
            let bytes = &mut self.mem[..limit as usize];
            let mut at = index as usize;
            while at < bytes.len() {
                bytes[at] = x as u8;
                at += step as usize;
            }
            return Ok(());
        }
        let mut index = index;
        loop {
            self.cstore(index, x)?;
            if !plus_loop(limit, &mut index, step) {
                return Ok(());
            }
        }
    }

    /// +!
    #[inline]
    pub fn plus_store(&mut self, address: i64, n: i64) -> Res<()> {
        let value = self.fetch(address)?.wrapping_add(n);
        self.store(address, value)
    }

    /// 2@: ( -- x1 x2 ) with x2 at the address and x1 in the next cell.
    #[inline]
    pub fn fetch2(&self, address: i64) -> Res<(i64, i64)> {
        let at = self.span::<16>(address)?;
        Ok((
            cell_of(&self.mem[at + 8..at + 16]),
            cell_of(&self.mem[at..at + 8]),
        ))
    }

    /// 2!: stores x2 at the address and x1 in the next cell; when both do not fit, the
    /// first store happens before the throw, as in the interpreter.
    #[inline]
    pub fn store2(&mut self, address: i64, x1: i64, x2: i64) -> Res<()> {
        match self.span::<16>(address) {
            Ok(at) => {
                self.mem[at..at + 8].copy_from_slice(&x2.to_le_bytes());
                self.mem[at + 8..at + 16].copy_from_slice(&x1.to_le_bytes());
                Ok(())
            }
            Err(_) => {
                self.store(address, x2)?;
                self.store((address as u64).wrapping_add(8) as i64, x1)
            }
        }
    }

    /// COUNT: ( c-addr -- c-addr+1 u ).
    pub fn count(&self, address: i64) -> Res<(i64, i64)> {
        Ok((address.wrapping_add(1), self.cfetch(address)?))
    }

    /// FILL: ( c-addr u char -- ); nothing when u <= 0.
    pub fn fill(&mut self, address: i64, len: i64, char: i64) -> Res<()> {
        match self.range(address, len) {
            Some(range) => {
                self.mem[range].fill(char as u8);
                Ok(())
            }
            None if len <= 0 => Ok(()),
            None => Err(Throw(code::INVALID_ADDRESS)),
        }
    }

    /// MOVE: ( addr1 addr2 u -- ) as if through a temporary buffer.
    pub fn move_bytes(&mut self, from: i64, to: i64, len: i64) -> Res<()> {
        if len <= 0 {
            return Ok(());
        }
        match (self.range(from, len), self.range(to, len)) {
            (Some(from), Some(to)) => {
                self.mem.copy_within(from, to.start);
                Ok(())
            }
            _ => Err(Throw(code::INVALID_ADDRESS)),
        }
    }

    /// The byte range [address, address+len) if it lies in data space.
    #[inline]
    fn range(&self, address: i64, len: i64) -> Option<std::ops::Range<usize>> {
        let start = usize::try_from(address).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        (end <= self.mem.len()).then_some(start..end)
    }

    /// DECIMAL and HEX.
    pub fn set_base(&mut self, base: i64) -> Res<()> {
        self.store(self.base_address, base)
    }

    /// CATCH of a word whose execution token is already popped: ( i*x -- j*x 0 ) when it
    /// returns, ( i*x -- k*x n ) when it throws n, with the stack cut back or filled up to
    /// its depth before the word (the cells' values are then unspecified, as the standard
    /// allows).
    ///
    /// Output is passed on before and after the word, so that an output error (-37) is
    /// raised by the CATCH around the word that wrote, not by a later write.
    pub fn catch(&mut self, word: impl FnOnce(&mut Vm<'c>)) {
        self.flush_pending();
        let depth = self.depth;
        self.catching += 1;
        let result = catching(|| {
            word(self);
            self.flush_pending();
        });
        self.catching -= 1;
        let code = match result {
            Ok(()) => 0,
            Err(Raised { thrown, .. }) => {
                let code = thrown.0;
                if self.depth < depth {
                    self.stack[self.depth..depth].fill(0);
                }
                self.depth = depth;
                self.thrown_message = None;
                code
            }
        };
        self.push(code).or_throw();
    }

    /// ABORT": ( flag c-addr u -- ) displays the message (unless a CATCH is running) and
    /// throws -2 when flag is true.
    pub fn abort_quote(&mut self, flag: i64, address: i64, len: i64) -> Res<()> {
        let range = self
            .range(address, len)
            .ok_or(Throw(code::INVALID_ADDRESS))?;
        if flag == 0 {
            return Ok(());
        }
        let message = self.mem[range].to_vec();
        if self.catching == 0 && self.shows_abort_text {
            self.write(&message);
        }
        self.thrown_message = Some(String::from_utf8_lossy(&message).into_owned());
        Err(Throw(code::ABORT_QUOTE))
    }

    /// [`Vm::flush`] when there is output.
    fn flush_pending(&mut self) {
        if !self.out.is_empty() {
            self.flush();
        }
    }

    /// Passes pending output on to the host; the host could not write it: throws -37.
    #[inline(never)]
    fn flush(&mut self) {
        if let Err(error) = self.send_output() {
            self.output_failed(&error).raise()
        }
    }

    /// Hands pending output to the host.
    fn send_output(&mut self) -> std::io::Result<()> {
        let chunk = std::mem::take(&mut self.out);
        match &self.output {
            Output::Pipe(pipe) => pipe.send(chunk),
            Output::Console(console) => console.write(&chunk),
        }
    }

    /// The exception for an output error, whose message names it, as the interpreter's.
    #[cold]
    fn output_failed(&mut self, error: &std::io::Error) -> Throw {
        self.thrown_message = Some(output_error(error));
        Throw(code::FILE_IO)
    }

    /// How the run ended once its pending output is passed on: a run that ended well but
    /// whose last output could not be written throws -37. Inlined, a run that wrote nothing
    /// pays one comparison.
    #[inline]
    fn ended(&mut self, result: Result<(), Raised>) -> Result<(), Raised> {
        if self.out.is_empty() {
            return result;
        }
        match (self.send_output(), result) {
            (Err(error), Ok(())) => Err(Raised {
                thrown: self.output_failed(&error),
                word: None,
            }),
            (_, result) => result,
        }
    }

    /// Ends the run: pending output passed on, what it leaves behind collected.
    fn finish(&mut self, result: Result<(), Raised>) -> Finished {
        let result = self.ended(result);
        Finished {
            result,
            depth: self.depth,
            thrown_message: self.thrown_message.take(),
        }
    }
}

/// Where a run's output goes.
enum Output<'c> {
    /// To the thread that called, which passes each chunk to the host's console.
    Pipe(Arc<worker::Pipe<Run>>),
    /// Straight to the host's console: the run is on the thread that called.
    Console(&'c ConsoleCallbacks<'c>),
}

/// Copies `bytes` into `mem` at `at`, as far as they fit.
fn copy_into(mem: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(target) = mem.get_mut(at..) {
        let len = bytes.len().min(target.len());
        target[..len].copy_from_slice(&bytes[..len]);
    }
}

/// The cell in eight bytes.
#[inline]
fn cell_of(bytes: &[u8]) -> i64 {
    let mut cell = [0; 8];
    cell.copy_from_slice(bytes);
    i64::from_le_bytes(cell)
}

/// Whether a compiled word entered at return stack depth `depth`, with a return stack of
/// `cells`, must call [`Vm::enter_deep`]: from depth [`STACK_CHECK_DEPTH`] on (or the
/// return stack's size, when smaller). Shallower entries pay this one comparison, as a
/// depth check alone would.
#[inline(always)]
pub fn is_deep(depth: usize, cells: usize) -> bool {
    depth >= cells.min(STACK_CHECK_DEPTH)
}

/// Checks that the return stack has room for `depth` cells (throws -5 in `word` otherwise).
#[inline(always)]
pub fn rroom(depth: usize, cells: usize, word: &'static str) {
    if depth > cells {
        Throw(code::RETURN_STACK_OVERFLOW).raise_in(Some(word))
    }
}

/// THROW: ( n -- ) throws n unless it is 0.
#[inline]
pub fn throw(n: i64) -> Res<()> {
    if n != 0 { Err(Throw(n)) } else { Ok(()) }
}

/// ABORT.
pub fn abort() -> Res<()> {
    Err(Throw(code::ABORT))
}

/// Stack a word runs on: room for the deepest nesting the return stack allows (each level
/// is one Rust frame). A call whose caller guarantees less runs on a thread of its own.
const RUN_STACK_BYTES: usize = fastforth_abi::NATIVE_CALL_STACK_BYTES;

/// Stack kept free below the point where entering a word throws -5: room for the frames
/// between two word entries (a word and the `execute` dispatcher), for the runtime's own
/// calls, and for unwinding the throw.
const STACK_MARGIN_BYTES: usize = 4 << 20;

/// Return stack depth from which a word's entry looks at the stack. The frames below it
/// fit: `execute`'s frame is checked on every execution, and this many word frames (whose
/// locals `fastforth-aot` bounds) are far below the run's stack less the margin.
const STACK_CHECK_DEPTH: usize = 64;

/// An address in the current stack frame (stacks grow down on every supported target):
/// inlined, it is one address computation in the caller's frame.
#[inline(always)]
fn stack_address() -> usize {
    let marker = 0u8;
    (&raw const marker) as usize
}

/// How a run starts: the data space, and the data stack's cells with the bottom `depth` in
/// use.
struct Start<'s> {
    mem: &'s mut [u8],
    cells: &'s mut [i64],
    depth: usize,
}

/// What a run leaves behind; the data space and the data stack's cells stay where the run
/// found them.
struct Finished {
    result: Result<(), Raised>,
    depth: usize,
    thrown_message: Option<String>,
}

/// The message of -37 when a run's output could not be written, for `reason`.
#[cold]
fn output_error(reason: &dyn std::fmt::Display) -> String {
    let text = code::message(code::FILE_IO);
    format!("{text}: cannot write the output: {reason}")
}

impl Finished {
    /// A run that never started, for `reason`: it throws -21 and leaves nothing.
    #[cold]
    fn not_started(depth: usize, reason: &str) -> Finished {
        Finished {
            result: Err(Raised {
                thrown: Throw(code::UNSUPPORTED_OPERATION),
                word: None,
            }),
            depth,
            thrown_message: Some(format!("cannot start the thread of the run: {reason}")),
        }
    }

    /// The run's output after it ended could not be written, for `reason`: a run that ended
    /// well throws -37.
    #[cold]
    fn lost_output(&mut self, reason: &str) {
        if self.result.is_ok() {
            self.result = Err(Raised {
                thrown: Throw(code::FILE_IO),
                word: None,
            });
            self.thrown_message = Some(output_error(&reason));
        }
    }

    /// 0, or the throw code with the error's message sent to `error` (see
    /// [`Raised::thrown_code`]).
    fn thrown_code(&self, called: Option<&str>, error: ByteSink<'_>) -> i64 {
        match self.result {
            Ok(()) => 0,
            Err(raised) => raised.thrown_code(self.thrown_message.as_deref(), called, error),
        }
    }
}

impl Raised {
    /// The throw code, with the error's message sent to `error`: the text of the ABORT"
    /// that threw (alone in a call: its caller shows it as it is), else the run's message or
    /// the code's, naming the compiled word that raised it unless that is `called`.
    #[cold]
    #[inline(never)]
    fn thrown_code(
        self,
        thrown_message: Option<&str>,
        called: Option<&str>,
        error: ByteSink<'_>,
    ) -> i64 {
        let Throw(thrown) = self.thrown;
        // An abort in a call goes back as its ABORT" text alone, which the caller shows as it
        // is: a -2 THROW without ABORT" has none.
        let abort_in_call = thrown == code::ABORT_QUOTE && called.is_some();
        let message = match thrown_message {
            Some(text) => text,
            None if abort_in_call => "",
            None => code::message(thrown),
        };
        let place = match self.word {
            _ if abort_in_call => String::new(),
            Some(word) if Some(word) != called => format!(" in {word}"),
            _ => String::new(),
        };
        error.send(format!("{message}{place}").as_bytes());
        thrown
    }
}

/// Runs the newest compiled word called `name` (ASCII case ignored) from the program's
/// compiled state with an empty stack: its output goes to `console`, the stack it leaves to
/// `stack`. The word runs on the calling thread when the caller guarantees `stack_room`
/// bytes of stack of at least [`RUN_STACK_BYTES`], else on a thread of its own with a large
/// stack; the console is only called from the calling thread. An error's message starts
/// with its code and names the compiled word that raised it.
///
/// # Safety
/// `name` must be readable for the duration of the call.
pub unsafe fn run(
    image: &'static Image,
    words: &[(&str, Entry)],
    name: FfiStr,
    stack_room: usize,
    console: ConsoleCallbacks<'_>,
    stack: ByteSink<'_>,
    error: ByteSink<'_>,
) -> EvalOutcome {
    // SAFETY: guaranteed by the caller.
    let name = String::from_utf8_lossy(unsafe { name.as_bytes() });
    let found = words
        .iter()
        .rev()
        .find(|(word, _)| word.eq_ignore_ascii_case(&name));
    let Some(&(_, entry)) = found else {
        let code = code::UNDEFINED_WORD;
        let shown: String = name.chars().take(64).flat_map(char::escape_debug).collect();
        let cut = if name.chars().nth(64).is_some() {
            "..."
        } else {
            ""
        };
        let message = format!("{code} undefined word: {shown}{cut} is not a compiled word");
        error.send(message.as_bytes());
        return failed(code);
    };
    let mem = fresh_memory(image);
    let setup = Setup {
        room: image.stack_cells,
        shows_abort_text: true,
    };
    let (finished, _, cells) = if stack_room < RUN_STACK_BYTES {
        run_on_own_thread(image, entry, mem, Vec::new(), setup, &console)
            .unwrap_or_else(|not_started| (not_started, Vec::new(), Vec::new()))
    } else {
        let output = Output::Console(&console);
        run_here(image, entry, mem, Vec::new(), setup, output, stack_room)
    };
    stack.send(&fastforth_abi::cells_to_bytes(&cells));
    let mut message = Vec::new();
    match finished.thrown_code(None, ByteSink::for_vec(&mut message)) {
        0 => EvalOutcome {
            flow: EvalOutcome::CONTINUE,
            error_code: 0,
        },
        thrown => {
            error.send(format!("{thrown} ").as_bytes());
            error.send(&message);
            failed(thrown)
        }
    }
}

/// Sends the data space of a new session (the program's state as it was compiled) to
/// `memory`.
pub fn new_session(image: &Image, memory: ByteSink<'_>) {
    memory.send(&fresh_memory(image));
}

/// Calls compiled word number `word` (its place in `words`) in the session whose data space
/// is `memory` (made by [`new_session`], as the previous call left it), on the caller's
/// data stack in place: like [`run`], except that the word may use at most
/// `image.stack_cells` of the lent cells, and that the word runs on the calling thread when
/// the caller guarantees `stack_room` bytes of stack of at least [`RUN_STACK_BYTES`].
/// Returns 0, or the throw code with the error's message (without the code) sent to
/// `error`. On the calling thread, a call that throws nothing allocates nothing and takes no
/// lock.
///
/// # Safety
/// `memory` and `stack` must be lent as [`DataSpace::bytes`] and
/// [`DataStack::cells_and_depth`] require.
#[allow(clippy::too_many_arguments)] // the `call_word` entry's, and the program's two parts
#[inline]
pub unsafe fn call(
    image: &'static Image,
    words: &[(&str, Entry)],
    word: u32,
    memory: &mut DataSpace<'_>,
    stack: &mut DataStack<'_>,
    stack_room: usize,
    console: &ConsoleCallbacks<'_>,
    error: &ByteSink<'_>,
) -> i64 {
    let error = *error;
    let Some(&(called, entry)) = words.get(word as usize) else {
        let message = format!("undefined word: no compiled word has number {word}");
        error.send(message.as_bytes());
        return code::UNDEFINED_WORD;
    };
    // SAFETY: guaranteed by the caller.
    let (mem, (cells, depth)) = unsafe { (memory.bytes(), stack.cells_and_depth()) };
    if mem.len() != image.memory_bytes {
        let message = format!(
            "a data space of {} bytes was lent; the program's has {}",
            mem.len(),
            image.memory_bytes
        );
        error.send(message.as_bytes());
        return code::UNSUPPORTED_OPERATION;
    }
    let room = cells.len().min(image.stack_cells);
    if *depth > room {
        let message = format!("stack overflow: {depth} cells in, room for {room}");
        error.send(message.as_bytes());
        return code::STACK_OVERFLOW;
    }
    if stack_room < RUN_STACK_BYTES {
        let input = cells[..*depth].to_vec();
        let setup = Setup {
            room,
            shows_abort_text: false,
        };
        let run = run_on_own_thread(image, entry, mem.to_vec(), input, setup, console);
        let (finished, owned, output) = match run {
            Ok(run) => run,
            Err(not_started) => return not_started.thrown_code(Some(called), error),
        };
        mem.copy_from_slice(&owned);
        cells[..output.len()].copy_from_slice(&output);
        *depth = finished.depth;
        return finished.thrown_code(Some(called), error);
    }
    let start = Start {
        mem,
        cells,
        depth: *depth,
    };
    let mut vm = Vm::new(image, start, Output::Console(console), stack_room);
    vm.shows_abort_text = false;
    let result = catching(|| entry(&mut vm));
    let result = vm.ended(result);
    *depth = vm.depth;
    // The run's other leftovers are only read when it threw: loading them costs a call.
    match result {
        Ok(()) => 0,
        Err(raised) => raised.thrown_code(vm.thrown_message.as_deref(), Some(called), error),
    }
}

/// The data space as the program was compiled.
fn fresh_memory(image: &Image) -> Vec<u8> {
    let mut mem = vec![0; image.memory_bytes];
    copy_into(&mut mem, 0, image.data);
    copy_into(&mut mem, image.system_base, image.system);
    mem
}

/// How a run on owned data is set up: the cells of its explicit data stack, and whether an
/// uncaught ABORT" shows its text (see [`Vm`]).
#[derive(Clone, Copy)]
struct Setup {
    room: usize,
    shows_abort_text: bool,
}

/// What a run hands back: what it left, the data space, and the stack it left, bottom
/// first.
type Run = (Finished, Vec<u8>, Vec<i64>);

/// Runs `entry` on a new thread from data space `mem` with `input` on a data stack of
/// `room` cells, passing its output to `console` as it comes: a run that ended well but
/// whose output `console` could not write throws -37. A panic of the run continues on this
/// thread. The error is how a run that could not start ended (nothing ran).
fn run_on_own_thread(
    image: &'static Image,
    entry: Entry,
    mem: Vec<u8>,
    input: Vec<i64>,
    setup: Setup,
    console: &ConsoleCallbacks<'_>,
) -> Result<Run, Finished> {
    let depth = input.len();
    let pipe = Arc::new(worker::Pipe::new());
    let sender = pipe.clone();
    let body = move || {
        let output = Output::Pipe(sender);
        run_here(image, entry, mem, input, setup, output, RUN_STACK_BYTES)
    };
    let stack_bytes = RUN_STACK_BYTES + THREAD_EXTRA_BYTES;
    match worker::run(stack_bytes, pipe, body, |chunk| console.write(chunk)) {
        Ok(((mut finished, mem, cells), refused)) => {
            if let Some(reason) = refused {
                finished.lost_output(&reason);
            }
            Ok((finished, mem, cells))
        }
        Err(reason) => Err(Finished::not_started(depth, &reason)),
    }
}

/// Runs `entry` on this thread, which has `stack_room` bytes of stack left, from data space
/// `mem` with `input` on a data stack of `room` cells, its output going to `output`.
fn run_here(
    image: &'static Image,
    entry: Entry,
    mut mem: Vec<u8>,
    mut cells: Vec<i64>,
    setup: Setup,
    output: Output<'_>,
    stack_room: usize,
) -> Run {
    let depth = cells.len();
    cells.resize(setup.room.max(depth), 0);
    let start = Start {
        mem: &mut mem,
        cells: &mut cells,
        depth,
    };
    let mut vm = Vm::new(image, start, output, stack_room);
    vm.shows_abort_text = setup.shows_abort_text;
    let result = catching(|| entry(&mut vm));
    let finished = vm.finish(result);
    drop(vm);
    cells.truncate(finished.depth);
    (finished, mem, cells)
}

/// Stack a run's thread gets beyond [`RUN_STACK_BYTES`]: the C library keeps the thread's
/// static thread-local storage at the top of its stack.
const THREAD_EXTRA_BYTES: usize = 1 << 20;

fn failed(error_code: i64) -> EvalOutcome {
    EvalOutcome {
        flow: EvalOutcome::ERROR,
        error_code,
    }
}

/// Sends the names of the compiled words, oldest first, one per line.
pub fn words(words: &[(&str, Entry)], names: ByteSink<'_>) {
    let list: Vec<&str> = words.iter().map(|(name, _)| *name).collect();
    names.send(list.join("\n").as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::c_void;

    static IMAGE: Image = Image {
        memory_bytes: 64,
        data: &[],
        system_base: 32,
        system: &[],
        base_address: 32,
        hold_area: 40..64,
        stack_cells: 16,
    };

    /// ( -- n ): counts its calls in the cell at 0.
    fn bump(vm: &mut Vm) {
        let n = vm.fetch(0).or_throw() + 1;
        vm.store(0, n).or_throw();
        vm.push(n).or_throw();
    }

    /// Half an update, then a panic (a bug in compiled code, not a Forth exception).
    fn half(vm: &mut Vm) {
        vm.store(0, 100).or_throw();
        panic!("a bug in the middle of a word");
    }

    static WORDS: &[(&str, Entry)] = &[("bump", bump), ("half", half)];
    const BUMP: u32 = 0;
    const HALF: u32 = 1;

    unsafe extern "C" fn write(_: *mut c_void, _: *const u8, _: usize) -> i32 {
        0
    }

    /// Calls word number `word` in the session `memory` on a thread of its own with an
    /// empty stack: (error code, stack, error text).
    fn call_word(word: u32, memory: &mut [u8]) -> (i64, Vec<i64>, String) {
        let mut cells = [0; 4];
        let mut stack = DataStack::new(&mut cells, 0);
        let mut error = Vec::new();
        // SAFETY: the callbacks ignore their context; the data space, stack and sink
        // outlive the call.
        let code = unsafe {
            let console = ConsoleCallbacks::from_raw(
                std::ptr::null_mut(),
                write,
                executable::no_input_line,
                executable::no_key,
                executable::no_key_available,
                executable::no_host_word,
            );
            call(
                &IMAGE,
                WORDS,
                word,
                &mut DataSpace::new(memory),
                &mut stack,
                0,
                &console,
                &ByteSink::for_vec(&mut error),
            )
        };
        let depth = stack.depth();
        let error = String::from_utf8_lossy(&error).into_owned();
        (code, cells[..depth].to_vec(), error)
    }

    fn session() -> Vec<u8> {
        let mut memory = Vec::new();
        new_session(&IMAGE, ByteSink::for_vec(&mut memory));
        memory
    }

    #[test]
    fn each_session_keeps_its_own_data_space_from_call_to_call() {
        let (mut one, mut two) = (session(), session());
        assert_eq!(one.len(), IMAGE.memory_bytes);
        assert_eq!(call_word(BUMP, &mut one).1, [1]);
        assert_eq!(call_word(BUMP, &mut one).1, [2]);
        assert_eq!(call_word(BUMP, &mut two).1, [1], "a session of its own");
        assert_eq!(call_word(BUMP, &mut one).1, [3]);
    }

    #[test]
    fn a_panic_reaches_the_caller_and_a_wrong_data_space_is_refused() {
        let mut memory = session();
        let panicked = std::panic::catch_unwind(|| call_word(HALF, &mut session()));
        assert!(panicked.is_err(), "the panic reaches the export's guard");
        let (code, stack, error) = call_word(BUMP, &mut memory[..8]);
        assert_eq!((code, stack), (code::UNSUPPORTED_OPERATION, Vec::new()));
        assert_eq!(
            error,
            "a data space of 8 bytes was lent; the program's has 64"
        );
        assert_eq!(call_word(BUMP, &mut memory).1, [1], "nothing was run");
        let (code, _, error) = call_word(7, &mut memory);
        assert_eq!(code, code::UNDEFINED_WORD);
        assert_eq!(error, "undefined word: no compiled word has number 7");
    }
}

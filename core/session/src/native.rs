//! The native Forth plugin kind: a Forth program compiled ahead of time to a plugin whose
//! words run as machine code. A run starts from the program's compiled state; a call
//! continues a [`NativeSession`], whose data space the host keeps, on the caller's stack, in
//! place.

use crate::forth::{Evaluation, ForthConsole, HostWordError, console_callbacks};
use fastforth_abi::NATIVE_CALL_STACK_BYTES;
use fastforth_abi::throw::{ABORT_QUOTE, UNSUPPORTED_OPERATION};
use fastforth_abi::{
    ByteSink, DataSpace, DataStack, EvalOutcome, FfiStr, NativeForthApi, NativeForthFunctions,
    PluginKind, Status, cells_from_bytes,
};
use fastforth_host::{Kind, Plugin, PluginError};
use std::cell::Cell;
use std::ffi::c_void;
use std::sync::{Arc, Mutex};

/// The native Forth plugin kind ("forth-native").
pub struct ForthNative;

impl Kind for ForthNative {
    const KIND: PluginKind = PluginKind::FORTH_NATIVE;
    type Table = NativeForthFunctions;
    type Api = NativeForthApi;

    unsafe fn resolve(table: *const c_void) -> Result<NativeForthApi, &'static str> {
        // SAFETY: the caller guarantees `table` points to a live `NativeForthFunctions`.
        unsafe { &*table.cast::<NativeForthFunctions>() }.check()
    }
}

/// What a run of a native word did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeRun {
    /// How it ended ([`Evaluation::Error`] with the throw code on an error).
    pub evaluation: Evaluation,
    /// The data stack it left, bottom first.
    pub stack: Vec<i64>,
}

/// The calls a native Forth plugin answers, on its loaded [`Plugin`].
pub trait NativePlugin {
    /// The names of the compiled words, oldest first.
    fn words(&self) -> Result<Vec<String>, PluginError>;

    /// Runs the compiled word `name` from the program's compiled state with an empty stack.
    fn run_word(
        &self,
        name: &str,
        console: &mut dyn ForthConsole,
    ) -> Result<NativeRun, PluginError>;

    /// The most cells the compiled program's data stack holds: a [`Self::call_word`] on a
    /// stack with fewer cells has less room.
    fn data_stack_cells(&self) -> Result<usize, PluginError>;

    /// The data space of a new session: the program's state as it was compiled.
    fn new_session(&self) -> Result<Vec<u8>, PluginError>;

    /// Calls compiled word number `word` (its place in [`Self::words`]) in the session whose
    /// data space is `memory` (made by [`Self::new_session`] of this build) on `stack` in
    /// place. On a thread started by [`on_native_stack`] the word runs on the calling thread
    /// and the call allocates nothing unless the word throws; elsewhere the plugin starts a
    /// thread with a large stack for the call (tens of microseconds). Returns 0, or the
    /// word's throw code with its message sent to `message`; `Err` with the call's status
    /// when the plugin failed (a panic: `memory` may be half-updated), which
    /// [`Plugin::call_error`] explains.
    fn call_word(
        &self,
        word: u32,
        memory: &mut [u8],
        stack: &mut DataStack<'_>,
        console: &mut dyn ForthConsole,
        message: &mut Vec<u8>,
    ) -> Result<i64, Status>;
}

impl NativePlugin for Plugin<ForthNative> {
    fn words(&self) -> Result<Vec<String>, PluginError> {
        let mut names = Vec::new();
        // SAFETY: a checked entry of a loaded plugin; the sink is borrowed for the call.
        let returned = unsafe { (self.api().words)(ByteSink::for_vec(&mut names)) };
        match returned.into_result() {
            Ok(()) => Ok(String::from_utf8_lossy(&names)
                .lines()
                .map(str::to_owned)
                .collect()),
            Err(status) => Err(self.call_error("words", status)),
        }
    }

    fn run_word(
        &self,
        name: &str,
        console: &mut dyn ForthConsole,
    ) -> Result<NativeRun, PluginError> {
        let mut console: &mut dyn ForthConsole = console;
        let (mut stack, mut error) = (Vec::new(), Vec::new());
        // SAFETY: a checked entry; `name`, the callbacks and the sinks are borrowed for the
        // call, and `stack_room` never claims more stack than this thread has.
        let returned = unsafe {
            (self.api().run_word)(
                FfiStr::new(name),
                stack_room(),
                console_callbacks(&mut console),
                ByteSink::for_vec(&mut stack),
                ByteSink::for_vec(&mut error),
            )
        };
        let outcome = returned
            .into_result()
            .map_err(|status| self.call_error("run_word", status))?;
        let evaluation = match outcome.flow {
            EvalOutcome::BYE => Evaluation::Bye,
            EvalOutcome::ERROR => Evaluation::Error {
                code: outcome.error_code,
                message: String::from_utf8_lossy(&error).into_owned(),
            },
            _ => Evaluation::Continue,
        };
        let stack = cells_from_bytes(&stack);
        Ok(NativeRun { evaluation, stack })
    }

    fn data_stack_cells(&self) -> Result<usize, PluginError> {
        // SAFETY: a checked entry of a loaded plugin, taking nothing.
        let returned = unsafe { (self.api().data_stack_cells)() };
        returned
            .into_result()
            .map_err(|status| self.call_error("data_stack_cells", status))
    }

    fn new_session(&self) -> Result<Vec<u8>, PluginError> {
        let mut memory = Vec::new();
        // SAFETY: a checked entry of a loaded plugin; the sink is borrowed for the call.
        let returned = unsafe { (self.api().new_session)(ByteSink::for_vec(&mut memory)) };
        returned
            .into_result()
            .map_err(|status| self.call_error("new_session", status))?;
        Ok(memory)
    }

    #[inline]
    fn call_word(
        &self,
        word: u32,
        memory: &mut [u8],
        stack: &mut DataStack<'_>,
        console: &mut dyn ForthConsole,
        message: &mut Vec<u8>,
    ) -> Result<i64, Status> {
        let mut console: &mut dyn ForthConsole = console;
        // SAFETY: a checked entry; the data space, stack, callbacks and sink are borrowed
        // for the call, and `stack_room` never claims more stack than this thread has.
        let returned = unsafe {
            (self.api().call_word)(
                word,
                &mut DataSpace::new(memory),
                stack,
                stack_room(),
                &console_callbacks(&mut console),
                &ByteSink::for_vec(message),
            )
        };
        returned.into_result()
    }
}

/// A session of a native plugin's program: the build it runs on and its data space, which
/// the host keeps and lends to each call, so a call takes no lock in the plugin. Each
/// session is separate; a new build needs a new session.
pub struct NativeSession {
    build: Arc<Plugin<ForthNative>>,
    /// The data space, or why the session cannot run: it could not start, or a call failed
    /// and may have left the data space half-updated.
    memory: Result<Vec<u8>, String>,
}

impl NativeSession {
    /// A new session of `build`, from the program's compiled state.
    #[cold]
    #[inline(never)]
    pub fn new(build: Arc<Plugin<ForthNative>>) -> NativeSession {
        let memory = build.new_session().map_err(|error| error.to_string());
        NativeSession { build, memory }
    }

    /// The build the session runs on.
    pub fn build(&self) -> &Arc<Plugin<ForthNative>> {
        &self.build
    }

    /// Calls compiled word number `word` of the build in this session (see
    /// [`NativePlugin::call_word`]) on `cells` in place, the bottom `depth` of them in use;
    /// `depth` is the depth the word left, also when it throws. A session that could not
    /// start, or one of whose calls failed, is dead: every call fails with -21 and says why.
    #[inline]
    pub fn call(
        &mut self,
        word: u32,
        cells: &mut [i64],
        depth: &mut usize,
        console: &mut dyn ForthConsole,
    ) -> Result<(), HostWordError> {
        let memory = match &mut self.memory {
            Ok(memory) => memory,
            Err(_) => return Err(self.dead()),
        };
        let room = cells.len();
        let mut stack = DataStack::new(cells, *depth);
        let mut message = Vec::new();
        let outcome = self
            .build
            .call_word(word, memory, &mut stack, console, &mut message);
        let left = stack.depth();
        if outcome == Ok(0) && left <= room {
            *depth = left;
            return Ok(());
        }
        Err(self.failed(outcome, (left, room), depth, &message))
    }

    /// The error of a call that threw (`Ok` with the code, `message` its text), that left
    /// a depth `left` past the `room` of its stack, or whose plugin failed, which kills the
    /// session; `depth` becomes what the word left when that fits. Messages name the native
    /// code, but for the text of an ABORT", which the caller shows as it is when nothing
    /// catches it.
    #[cold]
    #[inline(never)]
    fn failed(
        &mut self,
        outcome: Result<i64, Status>,
        (left, room): (usize, usize),
        depth: &mut usize,
        message: &[u8],
    ) -> HostWordError {
        let name = self.build.name();
        if left > room {
            let message =
                format!("native code of {name} left a depth of {left} on a stack of {room} cells");
            return HostWordError {
                code: UNSUPPORTED_OPERATION,
                message,
            };
        }
        *depth = left;
        let text = String::from_utf8_lossy(message);
        match outcome {
            Ok(ABORT_QUOTE) => HostWordError {
                code: ABORT_QUOTE,
                message: text.into_owned(),
            },
            Ok(code) => HostWordError {
                code,
                message: format!("{text} (native code of {name})"),
            },
            Err(status) => {
                let failure = self.build.call_error("call_word", status);
                self.memory = Err(format!("{failure}; the session is dead"));
                HostWordError {
                    code: UNSUPPORTED_OPERATION,
                    message: format!("{failure} (native code of {name})"),
                }
            }
        }
    }

    /// The error of every call of a dead session, which says why it died.
    #[cold]
    #[inline(never)]
    fn dead(&self) -> HostWordError {
        let why = self.memory.as_ref().err().map_or("", String::as_str);
        HostWordError {
            code: UNSUPPORTED_OPERATION,
            message: format!(
                "no session of the native code: {why} (native code of {})",
                self.build.name()
            ),
        }
    }
}

/// Stack, in bytes, beyond what native calls need: the interpreter's own frames and a margin
/// for the frames between the caller and the plugin.
const HEADROOM_BYTES: usize = 16 << 20;

/// Margin kept above the thread's lowest stack address.
const GUARD_BYTES: usize = 1 << 20;

thread_local! {
    /// On a thread started by [`on_native_stack`], the lowest stack address native code may
    /// use; 0 elsewhere.
    static STACK_FLOOR: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f` on a new thread whose stack is large enough for native words to run in place
/// (see [`fastforth_abi::NATIVE_CALL_STACK_BYTES`]); returns what `f` returns. The stack is
/// reserved, not committed: untouched pages cost no memory. Where no such thread can start
/// (address space limited), `f` runs on this thread, and native words on threads of their
/// own as they would elsewhere.
pub fn on_native_stack<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let size = NATIVE_CALL_STACK_BYTES + HEADROOM_BYTES;
    let slot = Mutex::new(Some(f));
    let taken = || slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    std::thread::scope(|scope| {
        let started = std::thread::Builder::new()
            .name("forth".to_owned())
            .stack_size(size)
            .spawn_scoped(scope, || {
                STACK_FLOOR.set(stack_address() - size + GUARD_BYTES);
                taken().map(|f| f())
            });
        let returned = match started {
            Ok(worker) => worker
                .join()
                .unwrap_or_else(|payload| std::panic::resume_unwind(payload)),
            Err(_) => None,
        };
        // The closure is still in its slot only when the thread never ran it.
        returned.or_else(|| taken().map(|f| f()))
    })
    .unwrap_or_else(|| unreachable!("the closure runs on one thread or the other"))
}

/// The stack this thread has left below the caller's frame, as far as it is known.
fn stack_room() -> usize {
    match STACK_FLOOR.get() {
        0 => 0,
        floor => stack_address().saturating_sub(floor),
    }
}

/// An address in the current stack frame (stacks grow down on every supported target).
#[inline(never)]
fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

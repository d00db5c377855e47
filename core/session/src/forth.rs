//! The Forth engine plugin kind: engine instances made by a plugin, and a session whose
//! engine can be swapped for another build while the user's state (definitions, variables,
//! stacks, data space) carries over as the engine's versioned state image; and the program
//! a probe runs through a new engine build's exports.

use fastforth_abi::{
    ByteSink, ConsoleCallbacks, DataStack, EngineHandle, EvalOutcome, FfiBytes, FfiStr, ForthApi,
    ForthFunctions, ForthLimits, PluginKind, Returned, Status, catch_panic_or, cells_from_bytes,
    throw,
};
use fastforth_host::{HotSwap, Kind, Loader, Plugin, PluginError, SwapReport};
use std::ffi::c_void;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The Forth engine plugin kind.
pub struct Forth;

/// `save_image` and `data_stack`: send bytes about an engine to a sink.
type CollectFn = unsafe extern "C" fn(EngineHandle, ByteSink<'_>) -> Returned<()>;

impl Kind for Forth {
    const KIND: PluginKind = PluginKind::FORTH;
    type Table = ForthFunctions;
    type Api = ForthApi;

    unsafe fn resolve(table: *const c_void) -> Result<ForthApi, &'static str> {
        // SAFETY: the caller guarantees `table` points to a live `ForthFunctions`.
        unsafe { &*table.cast::<ForthFunctions>() }.check()
    }

    /// The probe's program (see [`exercise_engine`]).
    fn exercise(plugin: Arc<Plugin<Forth>>) -> Result<(), String> {
        exercise_engine(plugin)
    }
}

/// Where a plugin engine's output goes and its input comes from, and who runs its host
/// words.
pub trait ForthConsole {
    /// Program output; an error (a closed pipe, a full disk) makes the engine throw -37.
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// The bytes of one input line, as received, without its line end; `None` at end of
    /// input.
    fn read_line(&mut self) -> Option<Vec<u8>>;
    /// One key; `None` at end of input.
    fn read_key(&mut self) -> Option<u8>;
    /// Whether [`ForthConsole::read_key`] would answer without waiting (KEY?, EKEY?). The
    /// default, for consoles that cannot tell without waiting, is false.
    fn key_available(&mut self) -> bool {
        false
    }
    /// Runs host word `id` (see [`ForthInstance::define_host_word`]) on the data stack in
    /// place: `cells` is its storage, bottom first, the bottom `*depth` in use. The word
    /// sets `*depth` to the depth it leaves, also when it fails. The default knows no host
    /// word.
    fn call_host_word(
        &mut self,
        id: u32,
        cells: &mut [i64],
        depth: &mut usize,
    ) -> Result<(), HostWordError> {
        let _ = (cells, depth);
        Err(HostWordError {
            code: throw::UNSUPPORTED_OPERATION,
            message: format!("host word {id} is not provided by this console"),
        })
    }
}

/// A console that keeps what the engine writes and has no input: for checks of an engine
/// (the probe's, the load check's, tests).
#[derive(Debug, Default)]
pub struct CollectingConsole(pub Vec<u8>);

impl ForthConsole for CollectingConsole {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
    fn read_line(&mut self) -> Option<Vec<u8>> {
        None
    }
    fn read_key(&mut self) -> Option<u8> {
        None
    }
}

/// Why a host word failed: the throw code and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostWordError {
    pub code: i64,
    pub message: String,
}

/// How an evaluation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evaluation {
    /// The source was interpreted to its end.
    Continue,
    /// `BYE` was executed.
    Bye,
    /// A Forth error: its throw code and message (with source position).
    Error { code: i64, message: String },
}

/// One engine instance, owned by the plugin that made it and destroyed through it.
pub struct ForthInstance {
    plugin: Arc<Plugin<Forth>>,
    handle: EngineHandle,
    /// The function that panicked, once one has: the engine may be half-updated, so the
    /// instance refuses every later call.
    dead: Option<&'static str>,
}

// SAFETY: an engine instance is used by one thread at a time (every method takes `&mut self`
// or is called under the session's mutex); the plugin keeps no thread affinity for it.
unsafe impl Send for ForthInstance {}

impl ForthInstance {
    /// A new engine in `plugin`, rebuilt from `image` when it is non-empty.
    pub fn create(
        plugin: Arc<Plugin<Forth>>,
        limits: ForthLimits,
        image: &[u8],
    ) -> Result<ForthInstance, PluginError> {
        let mut error = Vec::new();
        // SAFETY: a checked entry of a loaded plugin; `image` and `error` are borrowed for
        // the call.
        let returned = unsafe {
            (plugin.api().create)(limits, FfiBytes::new(image), ByteSink::for_vec(&mut error))
        };
        let handle = returned
            .into_result()
            .map_err(|status| plugin.call_error("create", status))?;
        if handle.is_null() {
            let message = String::from_utf8_lossy(&error).into_owned();
            return Err(plugin.failure("create", message));
        }
        Ok(ForthInstance {
            plugin,
            handle,
            dead: None,
        })
    }

    pub fn plugin(&self) -> &Arc<Plugin<Forth>> {
        &self.plugin
    }

    /// Interprets `source` (named `source_name` in error positions).
    pub fn evaluate(
        &mut self,
        source: impl AsRef<[u8]>,
        source_name: &str,
        console: &mut dyn ForthConsole,
    ) -> Result<Evaluation, PluginError> {
        self.alive("evaluate")?;
        let mut console: &mut dyn ForthConsole = console;
        let callbacks = console_callbacks(&mut console);
        let mut error = Vec::new();
        // SAFETY: a checked entry called with our live handle; the strings, callbacks and
        // sink are borrowed for the call.
        let returned = unsafe {
            (self.plugin.api().evaluate)(
                self.handle,
                FfiBytes::new(source.as_ref()),
                FfiStr::new(source_name),
                callbacks,
                ByteSink::for_vec(&mut error),
            )
        };
        let outcome = returned
            .into_result()
            .map_err(|status| self.failed("evaluate", status))?;
        Ok(match outcome.flow {
            EvalOutcome::BYE => Evaluation::Bye,
            EvalOutcome::ERROR => Evaluation::Error {
                code: outcome.error_code,
                message: String::from_utf8_lossy(&error).into_owned(),
            },
            _ => Evaluation::Continue,
        })
    }

    /// The engine's state image.
    pub fn save_image(&mut self) -> Result<Vec<u8>, PluginError> {
        self.collect("save_image", self.plugin.api().save_image)
    }

    /// The data stack, bottom first.
    pub fn data_stack(&mut self) -> Result<Vec<i64>, PluginError> {
        let bytes = self.collect("data_stack", self.plugin.api().data_stack)?;
        Ok(cells_from_bytes(&bytes))
    }

    /// Defines `name` as host word `id`: executing it calls the console's
    /// [`ForthConsole::call_host_word`]. Returns whether it defined the word: nothing
    /// changes when a word of the dictionary is host word `id` already.
    pub fn define_host_word(&mut self, name: &str, id: u32) -> Result<bool, PluginError> {
        self.alive("define_host_word")?;
        let mut error = Vec::new();
        // SAFETY: a checked entry called with our live handle; `name` and the sink are
        // borrowed for the call.
        let returned = unsafe {
            (self.plugin.api().define_host_word)(
                self.handle,
                FfiStr::new(name),
                id,
                ByteSink::for_vec(&mut error),
            )
        };
        match returned.into_result() {
            Ok(1) => Ok(true),
            Ok(2) => Ok(false),
            Ok(_) => {
                let message = String::from_utf8_lossy(&error).into_owned();
                Err(self.plugin.failure("define_host_word", message))
            }
            Err(status) => Err(self.failed("define_host_word", status)),
        }
    }

    /// Ends a program's source `source_name`: an error (-39) when the program left a
    /// definition open, else [`Evaluation::Continue`].
    pub fn end_of_program(&mut self, source_name: &str) -> Result<Evaluation, PluginError> {
        self.alive("end_of_program")?;
        let mut error = Vec::new();
        // SAFETY: a checked entry called with our live handle; the name and the sink are
        // borrowed for the call.
        let returned = unsafe {
            (self.plugin.api().end_of_program)(
                self.handle,
                FfiStr::new(source_name),
                ByteSink::for_vec(&mut error),
            )
        };
        match returned.into_result() {
            Ok(0) => Ok(Evaluation::Continue),
            Ok(code) => Ok(Evaluation::Error {
                code,
                message: String::from_utf8_lossy(&error).into_owned(),
            }),
            Err(status) => Err(self.failed("end_of_program", status)),
        }
    }

    /// Empties the stacks and leaves compilation state, keeping the dictionary.
    pub fn reset_after_error(&mut self) -> Result<(), PluginError> {
        self.alive("reset_after_error")?;
        // SAFETY: a checked entry called with our live handle.
        let returned = unsafe { (self.plugin.api().reset_after_error)(self.handle) };
        returned
            .into_result()
            .map_err(|status| self.failed("reset_after_error", status))
    }

    fn collect(&mut self, function: &'static str, call: CollectFn) -> Result<Vec<u8>, PluginError> {
        self.alive(function)?;
        let mut bytes = Vec::new();
        // SAFETY: `call` is a checked entry of this plugin, called with our live handle; the
        // sink is borrowed for the call.
        let returned = unsafe { call(self.handle, ByteSink::for_vec(&mut bytes)) };
        match returned.into_result() {
            Ok(()) => Ok(bytes),
            Err(status) => Err(self.failed(function, status)),
        }
    }

    /// Refuses a call into an instance that a panic may have left half-updated.
    fn alive(&self, function: &'static str) -> Result<(), PluginError> {
        match self.dead {
            None => Ok(()),
            Some(panicked) => Err(self.plugin.failure(
                function,
                format!("instance is dead after a panic in `{panicked}`; create a new one"),
            )),
        }
    }

    /// The error of a call that returned `status`; a panic kills the instance.
    fn failed(&mut self, function: &'static str, status: Status) -> PluginError {
        if status == Status::PANICKED {
            self.dead = Some(function);
        }
        self.plugin.call_error(function, status)
    }
}

impl Drop for ForthInstance {
    fn drop(&mut self) {
        // SAFETY: a checked entry called once with our live handle, which is not used again.
        unsafe { (self.plugin.api().destroy)(self.handle) };
    }
}

/// The callbacks through which a plugin reaches `console`; valid while `console` is
/// borrowed, which must outlast the plugin call they are passed to.
pub(crate) fn console_callbacks<'a>(
    console: &'a mut &mut dyn ForthConsole,
) -> ConsoleCallbacks<'a> {
    // SAFETY: each callback recovers the console from this context, which stays valid
    // (exclusively borrowed) for `'a`.
    unsafe {
        ConsoleCallbacks::from_raw(
            (console as *mut &mut dyn ForthConsole).cast(),
            console_write,
            console_read_line,
            console_read_key,
            console_key_available,
            console_call_host_word,
        )
    }
}

/// Recovers the console from a callback context.
///
/// # Safety
/// `context` must come from [`console_callbacks`] for a console that outlives the plugin
/// call that invokes the callback.
unsafe fn console_from<'a>(context: *mut c_void) -> &'a mut dyn ForthConsole {
    // SAFETY: guaranteed by the caller.
    unsafe { *context.cast::<&mut dyn ForthConsole>() }
}

/// # Safety
/// `context` must come from [`console_callbacks`], still borrowed; `bytes` readable for `len`.
unsafe extern "C" fn console_write(context: *mut c_void, bytes: *const u8, len: usize) -> i32 {
    catch_panic_or(-1, || {
        // SAFETY: guaranteed by the caller (see above).
        let (console, bytes) = unsafe {
            (
                console_from(context),
                FfiBytes { ptr: bytes, len }.as_bytes(),
            )
        };
        match console.write(bytes) {
            Ok(()) => 0,
            Err(error) => error
                .raw_os_error()
                .filter(|&errno| errno > 0)
                .unwrap_or(-1),
        }
    })
}

/// # Safety
/// `context` must come from [`console_callbacks`], still borrowed.
unsafe extern "C" fn console_read_line(context: *mut c_void, line: ByteSink<'_>) -> i32 {
    catch_panic_or(0, || {
        // SAFETY: guaranteed by the caller.
        let console = unsafe { console_from(context) };
        match console.read_line() {
            Some(text) => {
                line.send(&text);
                1
            }
            None => 0,
        }
    })
}

/// # Safety
/// `context` must come from [`console_callbacks`], still borrowed.
unsafe extern "C" fn console_read_key(context: *mut c_void) -> i32 {
    catch_panic_or(-1, || {
        // SAFETY: guaranteed by the caller.
        let console = unsafe { console_from(context) };
        console.read_key().map_or(-1, i32::from)
    })
}

/// # Safety
/// `context` must come from [`console_callbacks`], still borrowed.
unsafe extern "C" fn console_key_available(context: *mut c_void) -> i32 {
    catch_panic_or(0, || {
        // SAFETY: guaranteed by the caller.
        let console = unsafe { console_from(context) };
        i32::from(console.key_available())
    })
}

/// # Safety
/// `context` must come from [`console_callbacks`], still borrowed; `stack` lent as
/// [`DataStack::cells_and_depth`] requires.
unsafe extern "C" fn console_call_host_word(
    context: *mut c_void,
    id: u32,
    stack: &mut DataStack<'_>,
    error: ByteSink<'_>,
) -> i64 {
    catch_panic_or(throw::UNSUPPORTED_OPERATION, || {
        // SAFETY: guaranteed by the caller.
        let (console, (cells, depth)) = unsafe { (console_from(context), stack.cells_and_depth()) };
        match console.call_host_word(id, cells, depth) {
            Ok(()) => 0,
            Err(failure) => {
                error.send(failure.message.as_bytes());
                failure.code
            }
        }
    })
}

/// A Forth session whose engine plugin can be swapped between evaluations: the new engine
/// is loaded and validated while the old one serves, then rebuilt from the old engine's
/// state image. If the new engine refuses the image, the old engine keeps serving.
pub struct ForthSession {
    engines: HotSwap<Forth>,
    instance: Mutex<ForthInstance>,
    limits: ForthLimits,
}

impl ForthSession {
    /// Loads the engine plugin at `path` and starts a fresh engine in it.
    pub fn start(
        loader: Arc<Loader>,
        path: &Path,
        limits: ForthLimits,
    ) -> Result<ForthSession, PluginError> {
        ForthSession::resume(loader, path, limits, &[])
    }

    /// Loads the engine plugin at `path` and rebuilds in it the engine whose state image is
    /// `image` (from another session, or from the built-in engine, which writes the same
    /// format); an empty image starts a fresh engine.
    pub fn resume(
        loader: Arc<Loader>,
        path: &Path,
        limits: ForthLimits,
        image: &[u8],
    ) -> Result<ForthSession, PluginError> {
        let engines = HotSwap::<Forth>::load(loader, path)?;
        let instance = ForthInstance::create(engines.current().clone(), limits, image)?;
        Ok(ForthSession {
            engines,
            instance: Mutex::new(instance),
            limits,
        })
    }

    /// The serving engine plugin's version.
    pub fn engine_version(&self) -> String {
        self.lock().plugin().version().to_owned()
    }

    /// Runs `f` with the engine instance (one evaluation at a time).
    pub fn with_instance<R>(&self, f: impl FnOnce(&mut ForthInstance) -> R) -> R {
        f(&mut self.lock())
    }

    /// Swaps in the engine plugin at `path`, carrying the session's state across. Waits for
    /// a running evaluation to finish; on any error the previous engine keeps serving.
    pub fn swap_engine(&self, path: &Path) -> Result<SwapReport, PluginError> {
        let mut instance = self.lock();
        let report = self.engines.swap(path)?;
        self.migrate(&mut instance)?;
        Ok(report)
    }

    /// Swaps in `engine`, already loaded and validated (e.g. a verified update), carrying
    /// the session's state across; on any error the previous engine keeps serving.
    pub fn swap_engine_to(&self, engine: Arc<Plugin<Forth>>) -> Result<SwapReport, PluginError> {
        let mut instance = self.lock();
        let report = self.engines.swap_to(engine);
        self.migrate(&mut instance)?;
        Ok(report)
    }

    /// Goes back to the engine that served before the last swap, carrying the session's
    /// state back (the engine it leaves becomes the one to go back to); on any error the
    /// current engine keeps serving.
    pub fn rollback_engine(&self) -> Result<SwapReport, PluginError> {
        let previous = self.engines.last_known_good().ok_or_else(|| {
            let plugin = self.engines.current().name().to_owned();
            PluginError::NoRollbackTarget { plugin }
        })?;
        self.swap_engine_to(previous)
    }

    /// Rebuilds `instance` in the engine now current from its state image; if that fails,
    /// the engine before the swap serves again with `instance` untouched.
    fn migrate(&self, instance: &mut ForthInstance) -> Result<(), PluginError> {
        let migrated = instance.save_image().and_then(|image| {
            ForthInstance::create(self.engines.current().clone(), self.limits, &image)
        });
        match migrated {
            Ok(next) => {
                *instance = next;
                Ok(())
            }
            Err(error) => {
                self.engines.rollback()?;
                Err(error)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ForthInstance> {
        self.instance.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Standard words whose output every correct engine prints as [`PRINTS`]: definitions
/// calling definitions, arithmetic, loops, conditionals, strings, FILL, variables, DOES>,
/// CATCH and THROW (of a word's own and of an error), EVALUATE, BASE, pictured output and
/// floats.
const PROGRAM: &str = ": sq dup * ; 7 sq . 1 2 + . : sum 0 10 0 do i + loop ; sum . \
    : down begin 1- dup 0= until ; 5 down . : sign 0< if -1 else 1 then ; -4 sign . \
    s\" text\" type space variable v 12 v ! v @ . : k create , does> @ ; 42 k answer \
    answer . : t 7 throw ; ' t catch . hex ff decimal . 12 0 <# #s #> type space \
    1e 2e f+ f. 3 4 max . : u sq 1+ ; 3 u . s\" 2 3 *\" evaluate . 7 3 /mod . . \
    pad 3 char x fill pad 3 type space : z 1 0 / ; ' z catch .";
const PRINTS: &str = "49 3 45 0 -1 text 12 42 7 255 12 3. 4 10 6 2 1 xxx -10 ";

/// More words, whose output is the engine's own to format: this program must only end
/// well.
const MORE: &str = ": rr 1 2 2>r 2r> + ; rr drop : w begin dup while 1- repeat ; 1000 w drop \
    s\" x\" s\" y\" compare drop -5 abs drop char A emit 1 2 3 .s 2drop drop words \
    see rr : dd 1 0 ['] / catch ; dd 2drop drop";

/// Errors the host receives, each with its throw code, on a stack with cells or without.
const ERRORS: [(&str, i64); 3] = [
    ("no-such-word", -13),
    ("1 2 no-such-word", -13),
    ("1 0 /", -10),
];

/// Run on an instance made from the image of the first, after an error: the words
/// defined before it are there.
const AFTER_IMAGE: &str = "6 sq . answer .";
const AFTER_PRINTS: &str = "36 42 ";

/// What a probe process runs on an engine plugin before a host uses it: a program through
/// the exported functions the host calls (a new instance, evaluation with a console,
/// errors and the reset after each, the state image, an instance made from it, the end of
/// the program). A build broken where its self-test does not reach then crashes or fails
/// in the probe, not in the host. `Err` says what went wrong.
fn exercise_engine(plugin: Arc<Plugin<Forth>>) -> Result<(), String> {
    let limits = ForthLimits {
        data_stack_cells: 1024,
        return_stack_cells: 1024,
        data_space_bytes: 1 << 20,
        max_steps: 1_000_000,
    };
    let text = |error: PluginError| error.to_string();
    let mut first = ForthInstance::create(plugin.clone(), limits, &[]).map_err(text)?;
    expect_output(&mut first, PROGRAM, PRINTS)?;
    let more = first
        .evaluate(MORE, "probe", &mut CollectingConsole::default())
        .map_err(text)?;
    if more != Evaluation::Continue {
        return Err(format!("`{MORE}` ended with {more:?}"));
    }
    for (source, code) in ERRORS {
        let failed = first
            .evaluate(source, "probe", &mut CollectingConsole::default())
            .map_err(text)?;
        if !matches!(failed, Evaluation::Error { code: thrown, .. } if thrown == code) {
            return Err(format!("`{source}` gave {failed:?}, not error {code}"));
        }
        first.reset_after_error().map_err(text)?;
    }
    let image = first.save_image().map_err(text)?;
    let mut second = ForthInstance::create(plugin, limits, &image).map_err(text)?;
    expect_output(&mut second, AFTER_IMAGE, AFTER_PRINTS)?;
    let ended = second.end_of_program("probe").map_err(text)?;
    if ended != Evaluation::Continue {
        return Err(format!("the end of the program gave {ended:?}"));
    }
    match second.data_stack().map_err(text)? {
        left if left.is_empty() => Ok(()),
        left => Err(format!("the data stack holds {left:?}, expected nothing")),
    }
}

/// Evaluates `source` on `instance` and checks that it printed `expected`.
fn expect_output(instance: &mut ForthInstance, source: &str, expected: &str) -> Result<(), String> {
    let mut console = CollectingConsole::default();
    let evaluation = instance
        .evaluate(source, "probe", &mut console)
        .map_err(|error| error.to_string())?;
    let printed = String::from_utf8_lossy(&console.0);
    match evaluation {
        Evaluation::Continue if printed == expected => Ok(()),
        Evaluation::Continue => Err(format!("`{source}` printed {printed:?}, not {expected:?}")),
        other => Err(format!("`{source}` ended with {other:?}")),
    }
}

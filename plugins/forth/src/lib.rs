//! The Forth engine as a plugin of kind "forth". Engine instances live in this plugin's
//! memory behind opaque handles; their whole state travels to another build of the engine
//! as the engine's versioned state image, so the host can swap engines mid-session. Every
//! instance has the word `ENGINE-VERSION ( -- )`, which prints the version of the engine
//! plugin running it (so a program, or a test, sees which build serves).

use fastforth_abi::{
    ByteSink, ConsoleCallbacks, DataStack, EngineHandle, EvalOutcome, FfiBytes, FfiStr,
    ForthLimits, cells_to_bytes,
};
use fastforth_engine::{Console, Flow, Forth, HostWordError, Limits, code};

/// This build's semantic version.
pub const VERSION: &str = if cfg!(feature = "v2") {
    "1.1.0"
} else {
    "1.0.0"
};

/// The host word id of `ENGINE-VERSION`, answered by this plugin itself (the host numbers
/// its own host words from 0).
const ENGINE_VERSION_WORD: u32 = u32::MAX;
const ENGINE_VERSION_NAME: &str = "ENGINE-VERSION";

fn limits(limits: ForthLimits) -> Limits {
    let size = |value: u64| usize::try_from(value).unwrap_or(usize::MAX);
    Limits {
        data_stack_cells: size(limits.data_stack_cells),
        return_stack_cells: size(limits.return_stack_cells),
        data_space_bytes: size(limits.data_space_bytes),
        max_steps: (limits.max_steps != 0).then_some(limits.max_steps),
        ..Limits::default()
    }
}

/// # Safety
/// `image` must be readable for the duration of the call.
unsafe fn create(limits_in: ForthLimits, image: FfiBytes, error: ByteSink<'_>) -> EngineHandle {
    // SAFETY: guaranteed by the caller.
    let image = unsafe { image.as_bytes() };
    let created = if image.is_empty() {
        Forth::try_new(limits(limits_in)).and_then(|mut forth| {
            forth
                .define_host_word(ENGINE_VERSION_NAME, ENGINE_VERSION_WORD)
                .map_err(|refused| refused.to_string())?;
            Ok(forth)
        })
    } else {
        Forth::load_image(image, limits(limits_in))
            .map(with_engine_version)
            .map_err(|refused| refused.to_string())
    };
    match created {
        Ok(forth) => EngineHandle(Box::into_raw(Box::new(forth)).cast()),
        Err(refused) => {
            error.send(refused.as_bytes());
            EngineHandle::NULL
        }
    }
}

/// `forth`, rebuilt from an image, with `ENGINE-VERSION`. An image from an engine plugin
/// brings the word along (it is answered by id, so by whichever engine serves); one from
/// the built-in engine gets it here, unless it was saved in the middle of a definition,
/// where no word can be defined: then the session goes on without it.
fn with_engine_version(mut forth: Forth) -> Forth {
    let defined = forth
        .primitive_words()
        .iter()
        .any(|(name, ..)| name.eq_ignore_ascii_case(ENGINE_VERSION_NAME));
    if !defined {
        let _ = forth.define_host_word(ENGINE_VERSION_NAME, ENGINE_VERSION_WORD);
    }
    forth
}

/// The engine behind a handle.
///
/// # Safety
/// `engine` must come from this plugin's `create`, not yet destroyed, and not in use by
/// another call (the host serialises calls on one instance).
unsafe fn engine<'a>(engine: EngineHandle) -> &'a mut Forth {
    // SAFETY: guaranteed by the caller.
    unsafe { &mut *engine.0.cast::<Forth>() }
}

/// # Safety
/// `handle` must be live and not in use by another call (see [`engine`]); the strings
/// readable for the duration of the call.
unsafe fn evaluate(
    handle: EngineHandle,
    source: FfiBytes,
    source_name: FfiStr,
    console: ConsoleCallbacks<'_>,
    error: ByteSink<'_>,
) -> EvalOutcome {
    // SAFETY: guaranteed by the caller.
    let (forth, source, name) =
        unsafe { (engine(handle), source.as_bytes(), source_name.as_bytes()) };
    let name = String::from_utf8_lossy(name);
    let mut console = HostConsole(console);
    #[cfg(feature = "fault-abort-in-evaluate")]
    std::process::abort();
    #[cfg(feature = "fault-panic")]
    if let Some(rest) = source.strip_prefix(b"fault-panic") {
        drop(forth.evaluate_bytes(rest, &name, &mut console));
        panic!("fault-panic: evaluate panicked after interpreting its source");
    }
    match forth.evaluate_bytes(source, &name, &mut console) {
        Ok(Flow::Continue) => outcome(EvalOutcome::CONTINUE, 0),
        Ok(Flow::Bye) => outcome(EvalOutcome::BYE, 0),
        Err(failure) => {
            error.send(failure.to_string().as_bytes());
            outcome(EvalOutcome::ERROR, failure.code)
        }
    }
}

fn outcome(flow: u32, error_code: i64) -> EvalOutcome {
    EvalOutcome { flow, error_code }
}

/// # Safety
/// As for [`engine`].
unsafe fn save_image(handle: EngineHandle, image: ByteSink<'_>) {
    // SAFETY: guaranteed by the caller.
    image.send(&unsafe { engine(handle) }.save_image());
}

/// # Safety
/// As for [`engine`].
unsafe fn data_stack(handle: EngineHandle, cells: ByteSink<'_>) {
    // SAFETY: guaranteed by the caller.
    let stack = unsafe { engine(handle) }.data_stack();
    let bytes = cells_to_bytes(stack);
    cells.send(&bytes);
}

/// # Safety
/// As for [`engine`].
unsafe fn reset_after_error(handle: EngineHandle) {
    // SAFETY: guaranteed by the caller.
    unsafe { engine(handle) }.reset_after_error();
}

/// # Safety
/// As for [`engine`], and `name` readable for the duration of the call.
unsafe fn define_host_word(
    handle: EngineHandle,
    name: FfiStr,
    id: u32,
    error: ByteSink<'_>,
) -> u32 {
    // SAFETY: guaranteed by the caller.
    let (forth, name) = unsafe { (engine(handle), name.as_bytes()) };
    match forth.define_host_word(&String::from_utf8_lossy(name), id) {
        Ok(true) => 1,
        Ok(false) => 2,
        Err(refused) => {
            error.send(refused.to_string().as_bytes());
            0
        }
    }
}

/// # Safety
/// As for [`engine`], and `source_name` readable for the duration of the call.
unsafe fn end_of_program(handle: EngineHandle, source_name: FfiStr, error: ByteSink<'_>) -> i64 {
    // SAFETY: guaranteed by the caller.
    let (forth, name) = unsafe { (engine(handle), source_name.as_bytes()) };
    match forth.end_of_program(&String::from_utf8_lossy(name)) {
        Ok(()) => 0,
        Err(failure) => {
            error.send(failure.to_string().as_bytes());
            failure.code
        }
    }
}

/// # Safety
/// `handle` must be null or come from `create`, and not be used after this call.
unsafe fn destroy(handle: EngineHandle) {
    if !handle.is_null() {
        // SAFETY: the handle came from `Box::into_raw` in `create` (guaranteed by the
        // caller), which is destroyed exactly once.
        drop(unsafe { Box::from_raw(handle.0.cast::<Forth>()) });
    }
}

/// The host's console, seen through the engine's [`Console`] trait.
struct HostConsole<'a>(ConsoleCallbacks<'a>);

impl Console for HostConsole<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.write(bytes)
    }

    fn read_line(&mut self) -> Option<Vec<u8>> {
        let mut line = Vec::new();
        let got = self.0.read_line(ByteSink::for_vec(&mut line));
        got.then_some(line)
    }

    fn read_key(&mut self) -> Option<u8> {
        self.0.read_key()
    }

    fn key_available(&mut self) -> bool {
        self.0.key_available()
    }

    fn call_host_word(
        &mut self,
        id: u32,
        cells: &mut [i64],
        depth: &mut usize,
    ) -> Result<(), HostWordError> {
        if id == ENGINE_VERSION_WORD {
            return self
                .0
                .write(VERSION.as_bytes())
                .map_err(|error| HostWordError {
                    code: code::FILE_IO,
                    message: format!("cannot write the output: {error}"),
                });
        }
        let mut stack = DataStack::new(cells, *depth);
        let mut message = Vec::new();
        let code = self
            .0
            .call_host_word(id, &mut stack, ByteSink::for_vec(&mut message));
        *depth = stack.depth();
        if code != 0 {
            let message = String::from_utf8_lossy(&message).into_owned();
            return Err(HostWordError { code, message });
        }
        Ok(())
    }
}

fn self_test() -> Result<(), String> {
    let mut console = fastforth_engine::BufferConsole::new();
    let mut forth = Forth::new(Limits::default());
    let result = forth.evaluate(": sq dup * ; 7 sq .", "self-test", &mut console);
    let printed = String::from_utf8_lossy(&console.output).into_owned();
    match result {
        Ok(_) if printed.trim() == "49" => Ok(()),
        Ok(_) => Err(format!("expected `7 sq .` to print 49, found {printed:?}")),
        Err(error) => Err(format!("self-test program failed: {error}")),
    }
}

fastforth_abi::export_plugin! {
    kind: FORTH,
    name: "forth",
    version: VERSION,
    functions: ForthFunctions {
        create: fn(limits: ForthLimits, image: FfiBytes, error: ByteSink) -> EngineHandle = create,
        evaluate: fn(
            engine: EngineHandle,
            source: FfiBytes,
            source_name: FfiStr,
            console: ConsoleCallbacks,
            error: ByteSink,
        ) -> EvalOutcome = evaluate,
        save_image: fn(engine: EngineHandle, image: ByteSink) -> () = save_image,
        data_stack: fn(engine: EngineHandle, cells: ByteSink) -> () = data_stack,
        reset_after_error: fn(engine: EngineHandle) -> () = reset_after_error,
        destroy: fn(engine: EngineHandle) -> () = destroy,
        define_host_word: fn(
            engine: EngineHandle,
            name: FfiStr,
            id: u32,
            error: ByteSink,
        ) -> u32 = define_host_word,
        end_of_program: fn(
            engine: EngineHandle,
            source_name: FfiStr,
            error: ByteSink,
        ) -> i64 = end_of_program,
    },
    self_test: self_test,
}

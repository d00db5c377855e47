//! `fastforth run` and `fastforth repl`: Forth on the engine linked into this binary, or on
//! an engine plugin (`--engine FILE`) that can be swapped mid-session. Either can link
//! native plugins (`--link FILE`): their compiled words become the session's own words, and
//! linking a new build of the same program swaps it in.

use anyhow::Context;
use fastforth_engine::{Console, Flow, Forth, HostWordError, Limits};
use fastforth_host::{
    Evaluation, ForthConsole, ForthLimits, ForthSession, Linked, Loader, NativeWords,
};
use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Resource options shared by `run` and `repl`.
#[derive(clap::Args, Clone, Debug)]
pub struct EngineOptions {
    /// Run on this engine plugin file instead of the built-in engine.
    #[arg(long, value_name = "PLUGIN_FILE")]
    pub engine: Option<std::path::PathBuf>,
    /// Make the words of this native plugin (from `fastforth compile`) words of the
    /// session (no step budget: native code cannot be stopped; repeatable).
    #[arg(
        long = "link",
        value_name = "PLUGIN_FILE",
        conflicts_with = "max_steps"
    )]
    pub links: Vec<std::path::PathBuf>,
    /// Stop any evaluation after this many executed instructions (for untrusted code).
    #[arg(long, value_name = "N")]
    pub max_steps: Option<u64>,
    /// Size of the data space in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().data_space_bytes)]
    pub data_space: usize,
    /// Depth of the data stack in cells.
    #[arg(long, value_name = "CELLS", default_value_t = Limits::default().data_stack_cells)]
    pub stack_cells: usize,
    /// Depth of the return stack in cells.
    #[arg(long, value_name = "CELLS", default_value_t = Limits::default().return_stack_cells)]
    pub return_stack_cells: usize,
}

impl EngineOptions {
    fn limits(&self) -> Limits {
        Limits {
            data_stack_cells: self.stack_cells,
            return_stack_cells: self.return_stack_cells,
            data_space_bytes: self.data_space,
            max_steps: self.max_steps,
            ..Limits::default()
        }
    }
}

/// How one evaluation ended, whichever engine ran it.
pub enum Outcome {
    Continue,
    Bye,
    Error(String),
}

/// The interpreter of a session (the built-in engine or an engine plugin) and the native
/// words linked into it.
pub struct Engine {
    interpreter: Interpreter,
    natives: NativeWords,
    /// The largest source file that `include` runs, in bytes.
    max_source_bytes: usize,
}

/// The built-in engine, or an engine plugin session.
enum Interpreter {
    BuiltIn(Box<Forth>),
    Plugin(ForthSession),
}

impl Engine {
    pub fn start(options: &EngineOptions) -> anyhow::Result<Engine> {
        let limits = options.limits();
        let loader = Arc::new(Loader::new(fastforth_host::default_cache_dir()));
        let interpreter = match &options.engine {
            None => Interpreter::BuiltIn(Box::new(Forth::new(limits.clone()))),
            Some(path) => Interpreter::Plugin(ForthSession::start(
                loader.clone(),
                path,
                abi_limits(&limits),
            )?),
        };
        let mut engine = Engine {
            interpreter,
            natives: NativeWords::new(loader),
            max_source_bytes: limits.max_source_bytes,
        };
        for path in &options.links {
            engine.link(path)?;
        }
        Ok(engine)
    }

    /// Links the native plugin at `path` into the session, or swaps it in when a build of
    /// the same program is linked already; its new words become words of the session.
    pub fn link(&mut self, path: &Path) -> anyhow::Result<Linked> {
        let linked = self.natives.link(path)?;
        for (word, id) in &linked.new_words {
            let defined = match &mut self.interpreter {
                Interpreter::BuiltIn(forth) => forth
                    .define_host_word(word, *id)
                    .map_err(anyhow::Error::from),
                Interpreter::Plugin(session) => session
                    .with_instance(|engine| engine.define_host_word(word, *id))
                    .map_err(anyhow::Error::from),
            };
            defined.with_context(|| format!("{}: cannot define {word}", path.display()))?;
        }
        Ok(linked)
    }

    /// The linked native plugins: name and serving version.
    pub fn linked(&self) -> Vec<(String, String)> {
        self.natives.plugins()
    }

    pub fn evaluate(
        &mut self,
        source: &str,
        name: &str,
        terminal: &mut Terminal,
    ) -> anyhow::Result<Outcome> {
        let mut console = WithNatives {
            terminal,
            natives: &self.natives,
        };
        match &mut self.interpreter {
            Interpreter::BuiltIn(forth) => Ok(outcome(forth.evaluate(source, name, &mut console))),
            Interpreter::Plugin(session) => {
                let evaluation =
                    session.with_instance(|engine| engine.evaluate(source, name, &mut console))?;
                Ok(match evaluation {
                    Evaluation::Continue => Outcome::Continue,
                    Evaluation::Bye => Outcome::Bye,
                    Evaluation::Error { message, .. } => Outcome::Error(message),
                })
            }
        }
    }

    /// Runs a source file. The built-in engine includes it itself, as INCLUDED does (same
    /// size limit, source as bytes); an engine plugin gets its text, read under the same
    /// limit (bytes that are not UTF-8 become U+FFFD on the way: the ABI passes text).
    pub fn include(&mut self, path: &Path, terminal: &mut Terminal) -> anyhow::Result<Outcome> {
        if let Interpreter::BuiltIn(forth) = &mut self.interpreter {
            let mut console = WithNatives {
                terminal,
                natives: &self.natives,
            };
            return Ok(outcome(forth.include_file(path, &mut console)));
        }
        let text = read_source(path, self.max_source_bytes)?;
        let name = path.display().to_string();
        self.evaluate(&String::from_utf8_lossy(&text), &name, terminal)
    }

    pub fn reset_after_error(&mut self) -> anyhow::Result<()> {
        match &mut self.interpreter {
            Interpreter::BuiltIn(forth) => forth.reset_after_error(),
            Interpreter::Plugin(session) => {
                session.with_instance(|engine| engine.reset_after_error())?
            }
        }
        Ok(())
    }

    /// The built-in engine's interrupt flag (setting it throws -28 into the running word);
    /// `None` for an engine plugin, which the ABI gives no way to interrupt.
    pub fn interrupt_handle(&self) -> Option<Arc<AtomicBool>> {
        match &self.interpreter {
            Interpreter::BuiltIn(forth) => Some(forth.interrupt_handle()),
            Interpreter::Plugin(_) => None,
        }
    }

    /// "built-in" or the plugin engine's version.
    pub fn describe(&self) -> String {
        match &self.interpreter {
            Interpreter::BuiltIn(_) => "built-in engine".to_owned(),
            Interpreter::Plugin(session) => {
                format!("engine plugin {}", session.engine_version())
            }
        }
    }

    /// Swaps the plugin engine, keeping the session's state (linked words included).
    pub fn swap(&mut self, path: &Path) -> anyhow::Result<String> {
        match &mut self.interpreter {
            Interpreter::BuiltIn(_) => anyhow::bail!(
                "the built-in engine cannot be swapped; start with --engine PLUGIN_FILE"
            ),
            Interpreter::Plugin(session) => {
                let report = session.swap_engine(path)?;
                Ok(format!(
                    "engine {} -> {}",
                    report.from_version, report.to_version
                ))
            }
        }
    }
}

fn outcome(result: Result<Flow, fastforth_engine::ForthError>) -> Outcome {
    match result {
        Ok(Flow::Continue) => Outcome::Continue,
        Ok(Flow::Bye) => Outcome::Bye,
        Err(error) => Outcome::Error(error.to_string()),
    }
}

/// The bytes of a source file, refused when larger than `max_bytes`.
fn read_source(path: &Path, max_bytes: usize) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut text = Vec::new();
    std::io::Read::take(file, (max_bytes as u64).saturating_add(1))
        .read_to_end(&mut text)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    anyhow::ensure!(
        text.len() <= max_bytes,
        "{} is larger than the source size limit of {max_bytes} bytes",
        path.display()
    );
    Ok(text)
}

fn abi_limits(limits: &Limits) -> ForthLimits {
    ForthLimits {
        data_stack_cells: limits.data_stack_cells as u64,
        return_stack_cells: limits.return_stack_cells as u64,
        data_space_bytes: limits.data_space_bytes as u64,
        max_steps: limits.max_steps.unwrap_or(0),
    }
}

/// Standard output for program output, standard input for `ACCEPT`/`KEY`.
#[derive(Default)]
pub struct Terminal {
    pending_keys: std::collections::VecDeque<u8>,
}

impl Terminal {
    fn write_out(&mut self, bytes: &[u8]) {
        let mut out = std::io::stdout().lock();
        // Output errors (a closed pipe) end the program's output, not the interpreter.
        let _ = out.write_all(bytes).and_then(|()| out.flush());
    }

    fn next_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\n', '\r']).to_owned()),
        }
    }

    fn next_key(&mut self) -> Option<u8> {
        if self.pending_keys.is_empty() {
            let line = self.next_line()?;
            self.pending_keys.extend(line.bytes().chain([b'\n']));
        }
        self.pending_keys.pop_front()
    }
}

impl ForthConsole for Terminal {
    fn write(&mut self, bytes: &[u8]) {
        self.write_out(bytes);
    }
    fn read_line(&mut self) -> Option<String> {
        self.next_line()
    }
    fn read_key(&mut self) -> Option<u8> {
        self.next_key()
    }
}

/// The terminal, and the native words the session calls through it (for either engine).
struct WithNatives<'a> {
    terminal: &'a mut Terminal,
    natives: &'a NativeWords,
}

impl Console for WithNatives<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.terminal.write_out(bytes);
    }
    fn read_line(&mut self) -> Option<String> {
        self.terminal.next_line()
    }
    fn read_key(&mut self) -> Option<u8> {
        self.terminal.next_key()
    }
    fn call_host_word(&mut self, id: u32, stack: &mut Vec<i64>) -> Result<(), HostWordError> {
        self.natives
            .call(id, stack, self.terminal)
            .map_err(|error| HostWordError {
                code: error.code,
                message: error.message,
            })
    }
}

impl ForthConsole for WithNatives<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.terminal.write_out(bytes);
    }
    fn read_line(&mut self) -> Option<String> {
        self.terminal.next_line()
    }
    fn read_key(&mut self) -> Option<u8> {
        self.terminal.next_key()
    }
    fn call_host_word(
        &mut self,
        id: u32,
        stack: &mut Vec<i64>,
    ) -> Result<(), fastforth_host::HostWordError> {
        self.natives.call(id, stack, self.terminal)
    }
}

/// Runs `files` in order, links `native` (its compiled words replace the files'
/// definitions of the same names), then runs `code`; returns the process exit code.
pub fn run(
    files: &[std::path::PathBuf],
    code: Option<&str>,
    native: Option<&Path>,
    options: &EngineOptions,
) -> anyhow::Result<i32> {
    let mut engine = Engine::start(options)?;
    let mut console = Terminal::default();
    for file in files {
        if let Some(exit_code) = finished(engine.include(file, &mut console)?) {
            return Ok(exit_code);
        }
    }
    if let Some(plugin) = native {
        engine.link(plugin)?;
    }
    if let Some(code) = code
        && let Some(exit_code) = finished(engine.evaluate(code, "-e", &mut console)?)
    {
        return Ok(exit_code);
    }
    Ok(0)
}

/// The exit code when the program ends here: after BYE or an error (which is reported).
fn finished(outcome: Outcome) -> Option<i32> {
    match outcome {
        Outcome::Continue => None,
        Outcome::Bye => Some(0),
        Outcome::Error(message) => {
            eprintln!("{message}");
            Some(1)
        }
    }
}

/// Reads the whole program from standard input and runs it.
pub fn run_stdin(options: &EngineOptions) -> anyhow::Result<i32> {
    let mut program = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut program)
        .context("cannot read the program from standard input")?;
    let mut engine = Engine::start(options)?;
    let outcome = engine.evaluate(&program, "<stdin>", &mut Terminal::default())?;
    Ok(finished(outcome).unwrap_or(0))
}

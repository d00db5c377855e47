//! `fastforth run` and `fastforth repl`: Forth on the engine plugin that `fastforth update`
//! installed, else on the engine linked into this binary (`--builtin` forces it), or on an
//! engine plugin named with `--engine FILE`; a plugin engine can be swapped mid-session. An
//! installed engine that cannot be used is named with the reason on standard error, and the
//! built-in engine runs instead, so a broken install never locks a user out. Either can link
//! native plugins (`--link FILE`): their compiled words become the session's own words, and
//! linking a new build of the same program swaps it in. The built-in engine can run with
//! parser, compiler and optimizer stage plugins (`--stage KIND=FILE`), swappable
//! mid-session too.

use crate::input;
use crate::output::errln;
use anyhow::Context;
use fastforth_engine::compiler_stage::CompilerStage;
use fastforth_engine::parser_stage::ParserStage;
use fastforth_engine::stage::OptimizerStage;
use fastforth_engine::{Console, Flow, Forth, HostWordError, Limits, code};
use fastforth_host::{Loader, Plugin};
use fastforth_session::stage::{DEFAULT_BUDGET, StageKind};
use fastforth_session::{
    CompilerPlugin, Evaluation, ForthConsole, ForthLimits, ForthNative, ForthSession, Linked,
    NativeWords, OptimizerPlugin, ParserPlugin, StagePlugin,
};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Resource options of `run` and `repl`, accepted before or after the command (their flags
/// and help are in args.rs).
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// `--engine`: an engine plugin file instead of the installed or built-in engine.
    pub engine: Option<std::path::PathBuf>,
    /// `--builtin`: the engine built into this binary, even when one is installed.
    pub builtin: bool,
    /// `--plugin-dir`: where plugins are installed, if not the default directory.
    #[cfg(feature = "update")]
    pub plugin_dir: Option<std::path::PathBuf>,
    /// `--link`: native plugins whose words become words of the session.
    pub links: Vec<std::path::PathBuf>,
    /// `--stage parser=FILE`: the parser stage plugin in place of the built-in one.
    pub parser_stage: Option<std::path::PathBuf>,
    /// `--stage compiler=FILE`: the compiler stage plugin in place of the built-in one.
    pub compiler_stage: Option<std::path::PathBuf>,
    /// `--stage optimizer=FILE`: the optimizer stage plugin in place of the built-in one.
    pub optimizer_stage: Option<std::path::PathBuf>,
    /// `--stage backend=FILE`: the native backend plugin `compile` builds with.
    pub backend_stage: Option<std::path::PathBuf>,
    pub max_steps: Option<u64>,
    pub data_space: usize,
    pub stack_cells: usize,
    pub return_stack_cells: usize,
    pub max_source_bytes: usize,
    /// `--files`: which files Forth code may use (off, within a directory, all).
    pub file_access: fastforth_engine::FileAccess,
    /// The flags given on the command line, in order (for refusing those that cannot apply).
    pub given: Vec<&'static str>,
}

/// The stages of the pipeline, in order; each can be a plugin.
pub const STAGES: [&str; 4] = ["parser", "compiler", "optimizer", "backend"];

/// A stage of the pipeline that can be a plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginStage {
    /// Splits each line `run` and `repl` interpret into tokens and reads their numbers.
    Parser,
    /// Says what to compile for the tokens `run` and `repl` meet while compiling.
    Compiler,
    /// Optimizes each new definition of `run` and `repl`.
    Optimizer,
    /// Builds the program `compile` loaded into native code.
    Backend,
}

/// Parses `--stage KIND=FILE` (`given`: whether a stage was given before).
pub fn stage_plugin(
    text: &str,
    given: impl Fn(PluginStage) -> bool,
) -> Result<(PluginStage, std::path::PathBuf), String> {
    let (kind, file) = text
        .split_once('=')
        .ok_or_else(|| "expected KIND=PLUGIN_FILE".to_owned())?;
    let stage = plugin_stage(kind)?;
    if given(stage) {
        Err(format!("the {kind} stage is given twice"))
    } else if file.is_empty() {
        Err("expected a plugin file after '='".to_owned())
    } else {
        Ok((stage, file.into()))
    }
}

/// Which plugin stage `kind` names, or why it is none.
pub fn plugin_stage(kind: &str) -> Result<PluginStage, String> {
    match kind {
        "parser" => Ok(PluginStage::Parser),
        "compiler" => Ok(PluginStage::Compiler),
        "optimizer" => Ok(PluginStage::Optimizer),
        "backend" => Ok(PluginStage::Backend),
        other => Err(format!(
            "unknown stage {other:?} (expected one of {})",
            STAGES.join(", ")
        )),
    }
}

/// Parses `--files`: `off`, `all` or an existing directory.
pub fn file_access(text: &str) -> Result<fastforth_engine::FileAccess, String> {
    use fastforth_engine::FileAccess;
    match text {
        "off" => Ok(FileAccess::Off),
        "all" => Ok(FileAccess::Full),
        dir if Path::new(dir).is_dir() => Ok(FileAccess::Within(dir.into())),
        dir => Err(format!(
            "{dir} is not a directory (expected off, all or a directory)"
        )),
    }
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        let limits = Limits::default();
        EngineOptions {
            engine: None,
            builtin: false,
            #[cfg(feature = "update")]
            plugin_dir: None,
            links: Vec::new(),
            parser_stage: None,
            compiler_stage: None,
            optimizer_stage: None,
            backend_stage: None,
            max_steps: limits.max_steps,
            data_space: limits.data_space_bytes,
            stack_cells: limits.data_stack_cells,
            return_stack_cells: limits.return_stack_cells,
            max_source_bytes: limits.max_source_bytes,
            file_access: fastforth_engine::FileAccess::Full,
            given: Vec::new(),
        }
    }
}

impl EngineOptions {
    /// The stage plugins `run` and `repl` run with, by kind (`None`: built in).
    pub fn session_stages(&self) -> [(&'static str, &Option<std::path::PathBuf>); 3] {
        [
            ("parser", &self.parser_stage),
            ("compiler", &self.compiler_stage),
            ("optimizer", &self.optimizer_stage),
        ]
    }

    /// The `--plugin-dir` given, if any.
    #[cfg(feature = "update")]
    pub fn plugin_dir(&self) -> Option<&Path> {
        self.plugin_dir.as_deref()
    }

    /// The limits `compile` loads a program under: the step budget, file access and source
    /// cap given; the default sizes, which the compiled code is built for.
    pub fn compile_limits(&self) -> Limits {
        Limits {
            max_steps: self.max_steps,
            max_source_bytes: self.max_source_bytes,
            file_access: self.file_access.clone(),
            ..Limits::default()
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            data_stack_cells: self.stack_cells,
            return_stack_cells: self.return_stack_cells,
            data_space_bytes: self.data_space,
            max_steps: self.max_steps,
            max_source_bytes: self.max_source_bytes,
            file_access: self.file_access.clone(),
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
    /// Whether the plugin engine is the installed one (rather than `--engine FILE`).
    installed: bool,
    /// Whether the engine was chosen on the command line (`--engine`, `--builtin`): an
    /// engine installed during the session does not replace it.
    #[cfg(feature = "update")]
    chosen: bool,
    /// Loads plugins (its cache is the per-user one): made when first needed, so that the
    /// built-in engine also runs where there is no per-user directory.
    loader: Option<Arc<Loader>>,
    #[cfg(feature = "update")]
    limits: ForthLimits,
    /// The linked native plugins, once one is linked.
    natives: Option<NativeWords>,
    /// The parser, compiler and optimizer stage plugins, where they replace the built-in
    /// ones.
    parser_stage: Option<Arc<ParserPlugin>>,
    compiler_stage: Option<Arc<CompilerPlugin>>,
    optimizer_stage: Option<Arc<OptimizerPlugin>>,
    /// The largest source file that `include` runs, in bytes.
    max_source_bytes: usize,
    /// Whether a step budget bounds the session: reading a source file must not wait.
    bounded: bool,
}

/// The built-in engine, or an engine plugin session.
enum Interpreter {
    BuiltIn(Box<Forth>),
    Plugin(Arc<ForthSession>),
}

/// `linked`, or an error naming the words of the plugin at `path` the session could not
/// define.
fn all_defined(path: &Path, linked: Linked) -> anyhow::Result<Linked> {
    match linked.undefined.first() {
        None => Ok(linked),
        Some((word, why)) => Err(anyhow::anyhow!(
            "{}: cannot define {word}: {why}",
            path.display()
        )),
    }
}

impl Engine {
    pub fn start(options: &EngineOptions) -> anyhow::Result<Engine> {
        let limits = options.limits();
        // Checked here too for the plugin engine, before the limits cross the ABI.
        limits
            .check()
            .map_err(|refused| anyhow::anyhow!("invalid engine limits: {refused}"))?;
        let installed = match &options.engine {
            Some(_) => None,
            None if options.builtin => None,
            // The plugin ABI does not carry the file access policy or stages: the built-in
            // engine enforces and runs them.
            None if limits.file_access != fastforth_engine::FileAccess::Full => None,
            None if options
                .session_stages()
                .iter()
                .any(|(_, path)| path.is_some()) =>
            {
                None
            }
            None => installed_engine(options, &limits),
        };
        let interpreter = match (&options.engine, &installed) {
            (Some(path), _) => Interpreter::Plugin(Arc::new(ForthSession::start(
                plugin_loader()?,
                path,
                abi_limits(&limits),
            )?)),
            (None, Some(session)) => Interpreter::Plugin(session.clone()),
            (None, None) => Interpreter::BuiltIn(Box::new(
                Forth::try_new(limits.clone()).map_err(anyhow::Error::msg)?,
            )),
        };
        let mut engine = Engine {
            interpreter,
            installed: installed.is_some(),
            #[cfg(feature = "update")]
            chosen: options.engine.is_some() || options.builtin,
            loader: None,
            #[cfg(feature = "update")]
            limits: abi_limits(&limits),
            natives: None,
            parser_stage: None,
            compiler_stage: None,
            optimizer_stage: None,
            max_source_bytes: limits.max_source_bytes,
            bounded: limits.max_steps.is_some(),
        };
        for (kind, path) in options.session_stages() {
            if let Some(path) = path {
                engine
                    .swap_stage(kind, path)
                    .with_context(|| format!("cannot use the {kind} stage"))?;
            }
        }
        let mut programs: Vec<(String, &Path)> = Vec::new();
        for path in &options.links {
            let linked = all_defined(path, engine.link(path)?)?;
            if let Some((_, first)) = programs.iter().find(|(name, _)| *name == linked.plugin) {
                anyhow::bail!(
                    "{}: program `{}` is linked already, from {}: give one build of it",
                    path.display(),
                    linked.plugin,
                    first.display()
                );
            }
            programs.push((linked.plugin, path));
        }
        Ok(engine)
    }

    /// Links the native plugin at `path` into the session, or swaps it in when a build of
    /// the same program is linked already; its new words become words of the session (those
    /// the session cannot define now, in the middle of a definition or with a full
    /// dictionary, are in [`Linked::undefined`]: the next link offers them again).
    pub fn link(&mut self, path: &Path) -> anyhow::Result<Linked> {
        let plugin = self.load_native(path)?;
        self.link_loaded(plugin)
    }

    /// Loads, validates and self-tests the native plugin at `path` without linking it.
    pub fn load_native(&mut self, path: &Path) -> anyhow::Result<Arc<Plugin<ForthNative>>> {
        Ok(self.loader()?.load::<ForthNative>(path)?)
    }

    /// [`Engine::link`] of the plugin [`Engine::load_native`] loaded from `path`.
    pub fn link_loaded(&mut self, plugin: Arc<Plugin<ForthNative>>) -> anyhow::Result<Linked> {
        let natives = match self.natives.take() {
            Some(natives) => natives,
            None => NativeWords::new(self.loader()?),
        };
        let interpreter = &mut self.interpreter;
        let mut define = |word: &str, id: u32| {
            let defined = match interpreter {
                Interpreter::BuiltIn(forth) => forth
                    .define_host_word(word, id)
                    .map_err(anyhow::Error::from),
                Interpreter::Plugin(session) => session
                    .with_instance(|engine| engine.define_host_word(word, id))
                    .map_err(anyhow::Error::from),
            };
            defined.map_err(|error| format!("{error:#}"))
        };
        Ok(self
            .natives
            .insert(natives)
            .link_loaded(plugin, &mut define)?)
    }

    /// Each stage of the pipeline and what serves it.
    pub fn stages(&self) -> Vec<(&'static str, String)> {
        let backend = "built-in threaded code (`fastforth compile` builds native code with the \
                       backend stage plugin)";
        STAGES
            .into_iter()
            .zip([
                serving_stage(self.parser_stage.as_deref()),
                serving_stage(self.compiler_stage.as_deref()),
                serving_stage(self.optimizer_stage.as_deref()),
                backend.to_owned(),
            ])
            .collect()
    }

    /// Puts the stage plugin at `path` (`builtin`: the built-in stage) in place of the
    /// `kind` stage for the lines read and definitions compiled from now on; a refused
    /// plugin leaves the serving stage in place. Says what changed.
    pub fn swap_stage(&mut self, kind: &str, path: &Path) -> anyhow::Result<String> {
        let stage = plugin_stage(kind).map_err(anyhow::Error::msg)?;
        if stage == PluginStage::Backend {
            anyhow::bail!(
                "the backend stage plugin builds native code for `fastforth compile`; \
                 a session runs threaded code"
            );
        }
        if !matches!(self.interpreter, Interpreter::BuiltIn(_)) {
            anyhow::bail!("stage plugins run on the built-in engine, not on an engine plugin");
        }
        let loader = self.loader()?;
        let Interpreter::BuiltIn(forth) = &mut self.interpreter else {
            unreachable!("checked above");
        };
        match stage {
            PluginStage::Parser => {
                let (report, serving) = swapped(&self.parser_stage, &loader, path)?;
                forth.set_parser_stage(serving.clone().map(|stage| stage as Arc<dyn ParserStage>));
                self.parser_stage = serving;
                Ok(report)
            }
            PluginStage::Compiler => {
                let (report, serving) = swapped(&self.compiler_stage, &loader, path)?;
                let stage = serving.clone().map(|stage| stage as Arc<dyn CompilerStage>);
                forth.set_compiler_stage(stage);
                self.compiler_stage = serving;
                Ok(report)
            }
            PluginStage::Optimizer | PluginStage::Backend => {
                let (report, serving) = swapped(&self.optimizer_stage, &loader, path)?;
                let stage = serving
                    .clone()
                    .map(|stage| stage as Arc<dyn OptimizerStage>);
                forth.set_optimizer_stage(stage);
                self.optimizer_stage = serving;
                Ok(report)
            }
        }
    }

    /// The linked native plugins: name and serving version.
    pub fn linked(&self) -> Vec<(String, String)> {
        self.natives
            .as_ref()
            .map_or_else(Vec::new, NativeWords::plugins)
    }

    /// The session's plugin loader, made on first use.
    fn loader(&mut self) -> anyhow::Result<Arc<Loader>> {
        if let Some(loader) = &self.loader {
            return Ok(loader.clone());
        }
        Ok(self.loader.insert(plugin_loader()?).clone())
    }

    /// Evaluates source bytes, as they are, on either engine.
    pub fn evaluate(
        &mut self,
        source: &[u8],
        name: &str,
        terminal: &mut Terminal,
    ) -> anyhow::Result<Outcome> {
        let mut console = WithNatives {
            terminal,
            natives: self.natives.as_ref(),
        };
        let outcome = match &mut self.interpreter {
            Interpreter::BuiltIn(forth) => {
                let result = forth.evaluate_bytes(source, name, &mut console);
                report_stage_faults(forth);
                outcome(result)
            }
            Interpreter::Plugin(session) => {
                let evaluation =
                    session.with_instance(|engine| engine.evaluate(source, name, &mut console))?;
                evaluated(evaluation)
            }
        };
        Ok(outcome)
    }

    /// Runs a source file. The built-in engine includes it itself, as INCLUDED does (same
    /// size limit, source as bytes); an engine plugin gets its bytes, read under the same
    /// limit.
    pub fn include(&mut self, path: &Path, terminal: &mut Terminal) -> anyhow::Result<Outcome> {
        if let Interpreter::BuiltIn(forth) = &mut self.interpreter {
            let mut console = WithNatives {
                terminal,
                natives: self.natives.as_ref(),
            };
            let result = forth.include_file(path, &mut console);
            report_stage_faults(forth);
            return Ok(outcome(result));
        }
        let text = input::read_source_file(path, self.max_source_bytes, self.bounded)?;
        let name = path.display().to_string();
        match self.evaluate(&text, &name, terminal)? {
            // As the built-in engine refuses a program file that ends inside a definition.
            Outcome::Continue => self.end_of_program(&name),
            ended => Ok(ended),
        }
    }

    /// The end of the program's source `source_name`: an error when it left a definition
    /// open.
    pub fn end_of_program(&self, source_name: &str) -> anyhow::Result<Outcome> {
        Ok(match &self.interpreter {
            Interpreter::BuiltIn(forth) => match forth.end_of_program(source_name) {
                Ok(()) => Outcome::Continue,
                Err(error) => Outcome::Error(error.to_string()),
            },
            Interpreter::Plugin(session) => {
                evaluated(session.with_instance(|engine| engine.end_of_program(source_name))?)
            }
        })
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

    /// "built-in engine" (and its optimizer stage plugin, if any), "engine plugin VERSION"
    /// or "installed engine plugin VERSION".
    pub fn describe(&self) -> String {
        match &self.interpreter {
            Interpreter::BuiltIn(_)
                if self.parser_stage.is_some()
                    || self.compiler_stage.is_some()
                    || self.optimizer_stage.is_some() =>
            {
                let plugins = [
                    ("parser", describe_stage(self.parser_stage.as_deref())),
                    ("compiler", describe_stage(self.compiler_stage.as_deref())),
                    ("optimizer", describe_stage(self.optimizer_stage.as_deref())),
                ];
                let plugins: Vec<String> = plugins
                    .into_iter()
                    .filter(|(_, serving)| serving != "built-in")
                    .map(|(kind, serving)| format!("{kind} stage plugin {serving}"))
                    .collect();
                format!("built-in engine with {}", plugins.join(" and "))
            }
            Interpreter::BuiltIn(_) => "built-in engine".to_owned(),
            Interpreter::Plugin(session) if self.installed => {
                format!("installed engine plugin {}", session.engine_version())
            }
            Interpreter::Plugin(session) => {
                format!("engine plugin {}", session.engine_version())
            }
        }
    }

    /// Moves a session on the built-in engine, chosen by default, onto the engine plugin at
    /// `path` (just installed), with its definitions, stacks and data, as `#engine` moves
    /// them between plugins. `false` when the session's engine stays (chosen on the
    /// command line, or a plugin already); on an error the built-in engine serves on.
    #[cfg(feature = "update")]
    pub fn adopt_installed(&mut self, path: &Path) -> anyhow::Result<bool> {
        let Interpreter::BuiltIn(forth) = &self.interpreter else {
            return Ok(false);
        };
        if self.chosen {
            return Ok(false);
        }
        let image = forth.save_image();
        let loader = self.loader()?;
        let session = ForthSession::resume(loader, path, self.limits, &image)?;
        self.interpreter = Interpreter::Plugin(Arc::new(session));
        self.installed = true;
        Ok(true)
    }

    /// The session, when it runs the installed engine plugin (which an update replaces).
    #[cfg(feature = "update")]
    pub fn installed_session(&self) -> Option<Arc<ForthSession>> {
        match &self.interpreter {
            Interpreter::Plugin(session) if self.installed => Some(session.clone()),
            _ => None,
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

/// What names the built-in stage where a stage plugin's file would go (`#stage KIND
/// builtin`, `--stage KIND=builtin`).
pub const BUILTIN_STAGE: &str = "builtin";

/// The stage plugin at `path` in place of `serving` (the same plugin swapped, a new one, or
/// none for [`BUILTIN_STAGE`]), and a line saying what changed.
fn swapped<K: StageKind>(
    serving: &Option<Arc<StagePlugin<K>>>,
    loader: &Arc<Loader>,
    path: &Path,
) -> anyhow::Result<(String, Option<Arc<StagePlugin<K>>>)> {
    let before = describe_stage(serving.as_deref());
    let after = if path == Path::new(BUILTIN_STAGE) {
        None
    } else if let Some(stage) = serving {
        stage.swap(path)?;
        Some(stage.clone())
    } else {
        let loaded = StagePlugin::<K>::load(loader.clone(), path, DEFAULT_BUDGET)?;
        Some(Arc::new(loaded))
    };
    let report = format!(
        "{}: {before} -> {}",
        K::STAGE,
        describe_stage(after.as_deref())
    );
    Ok((report, after))
}

/// What serves a stage, for `#stage`: the plugin (name, version, IR version, file, and
/// whether it is out of service) or "built-in".
fn serving_stage<K: StageKind>(stage: Option<&StagePlugin<K>>) -> String {
    let Some(stage) = stage else {
        return "built-in".to_owned();
    };
    let plugin = stage.current();
    let info = plugin.info();
    let status = match stage.out_of_service() {
        Some(timeout) => format!("; out of service: {timeout}"),
        None => String::new(),
    };
    format!(
        "plugin \"{}\" {} (IR version {}) from {}{status}",
        info.name,
        info.version,
        info.ir_version,
        info.source.display()
    )
}

/// "built-in", or the stage plugin's name and version.
fn describe_stage<K: StageKind>(stage: Option<&StagePlugin<K>>) -> String {
    match stage {
        Some(stage) => {
            let plugin = stage.current();
            format!("{} {}", plugin.name(), plugin.version())
        }
        None => "built-in".to_owned(),
    }
}

/// A session on the engine plugin `fastforth update` installed, if there is one that loads
/// and passes its self-test; otherwise `None` (the built-in engine runs), with a one-line
/// warning naming the file and the reason when one is installed but cannot be used.
#[cfg(feature = "update")]
fn installed_engine(options: &EngineOptions, limits: &Limits) -> Option<Arc<ForthSession>> {
    use crate::installed::{self, Managed};
    let started = installed::installed(Managed::Engine, options.plugin_dir()).and_then(|found| {
        let Some(engine) = found else { return Ok(None) };
        let session = ForthSession::start(plugin_loader()?, &engine.path, abi_limits(limits))
            .with_context(|| installed::describe(Managed::Engine, &engine.version, &engine.path))?;
        Ok(Some(Arc::new(session)))
    });
    started.unwrap_or_else(|error| {
        let reason = crate::output::error_line(&error);
        errln!(
            "warning: {reason}; running the built-in engine instead (`fastforth update \
             --rollback` returns to the previous version or sets an unreadable state file \
             aside, --builtin skips this warning)"
        );
        None
    })
}

#[cfg(not(feature = "update"))]
fn installed_engine(_: &EngineOptions, _: &Limits) -> Option<Arc<ForthSession>> {
    None
}

/// [`crate::loader`], shared by the session's plugins.
fn plugin_loader() -> anyhow::Result<Arc<Loader>> {
    Ok(Arc::new(crate::loader()?))
}

/// Says on standard error which definitions the optimizer stage's answers failed for.
fn report_stage_faults(forth: &mut Forth) {
    for fault in forth.take_stage_faults() {
        errln!("warning: {fault}");
    }
}

/// What an engine plugin's evaluation means for the program.
fn evaluated(evaluation: Evaluation) -> Outcome {
    match evaluation {
        Evaluation::Continue => Outcome::Continue,
        Evaluation::Bye => Outcome::Bye,
        Evaluation::Error { message, .. } => Outcome::Error(message),
    }
}

fn outcome(result: Result<Flow, fastforth_engine::ForthError>) -> Outcome {
    match result {
        Ok(Flow::Continue) => Outcome::Continue,
        Ok(Flow::Bye) => Outcome::Bye,
        Err(error) => Outcome::Error(error.to_string()),
    }
}

fn abi_limits(limits: &Limits) -> ForthLimits {
    ForthLimits {
        data_stack_cells: limits.data_stack_cells as u64,
        return_stack_cells: limits.return_stack_cells as u64,
        data_space_bytes: limits.data_space_bytes as u64,
        max_steps: limits.max_steps.unwrap_or(0),
    }
}

/// Standard output for program output, standard input for `ACCEPT`, `KEY` and `REFILL`.
pub struct Terminal {
    pending_keys: std::collections::VecDeque<u8>,
    /// The longest input line read at once: a longer line is read in pieces of this size.
    max_line_bytes: usize,
    /// The lines of standard input read to their end, by the program or by `run` for the
    /// program's own lines: what numbers the next one.
    lines_read: usize,
}

impl Default for Terminal {
    fn default() -> Terminal {
        Terminal::new(Limits::default().max_source_bytes)
    }
}

impl Terminal {
    pub fn new(max_line_bytes: usize) -> Terminal {
        Terminal {
            pending_keys: Default::default(),
            max_line_bytes,
            lines_read: 0,
        }
    }

    /// The next line of standard input, or the next piece of one over the cap, counted.
    fn read_line(&mut self) -> std::io::Result<Option<input::Line>> {
        let line = input::read_line_capped(&mut *input::stdin(), self.max_line_bytes)?;
        if line.as_ref().is_some_and(|line| line.complete) {
            self.lines_read += 1;
        }
        Ok(line)
    }

    /// The next line of standard input as it was sent, bytes that are not UTF-8 included.
    fn next_bytes(&mut self) -> Option<Vec<u8>> {
        Some(self.read_line().ok()??.text)
    }

    fn next_key(&mut self) -> Option<u8> {
        if self.pending_keys.is_empty() {
            let line = self.next_bytes()?;
            self.pending_keys.extend(line.into_iter().chain([b'\n']));
        }
        self.pending_keys.pop_front()
    }

    /// KEY?: a key of the current line is left, or standard input can be read at once.
    fn key_ready(&self) -> bool {
        !self.pending_keys.is_empty() || input::key_ready()
    }
}

impl ForthConsole for Terminal {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        crate::output::write_stdout(bytes)
    }
    fn read_line(&mut self) -> Option<Vec<u8>> {
        self.next_bytes()
    }
    fn read_key(&mut self) -> Option<u8> {
        self.next_key()
    }
    fn key_available(&mut self) -> bool {
        self.key_ready()
    }
}

/// The terminal, and the native words the session calls through it (for either engine).
struct WithNatives<'a> {
    terminal: &'a mut Terminal,
    natives: Option<&'a NativeWords>,
}

impl WithNatives<'_> {
    /// Runs linked native word `id` (an engine only calls the ids that links gave it).
    fn call_native(
        &mut self,
        id: u32,
        cells: &mut [i64],
        depth: &mut usize,
    ) -> Result<(), fastforth_session::HostWordError> {
        match self.natives {
            Some(natives) => natives.call_in_place(id, cells, depth, self.terminal),
            None => Err(fastforth_session::HostWordError {
                code: code::UNSUPPORTED_OPERATION,
                message: format!("host word {id}: no native plugin is linked"),
            }),
        }
    }
}

impl Console for WithNatives<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        crate::output::write_stdout(bytes)
    }
    fn read_line(&mut self) -> Option<Vec<u8>> {
        self.terminal.next_bytes()
    }
    fn read_key(&mut self) -> Option<u8> {
        self.terminal.next_key()
    }
    fn key_available(&mut self) -> bool {
        self.terminal.key_ready()
    }
    fn call_host_word(
        &mut self,
        id: u32,
        cells: &mut [i64],
        depth: &mut usize,
    ) -> Result<(), HostWordError> {
        self.call_native(id, cells, depth)
            .map_err(|error| HostWordError {
                code: error.code,
                message: error.message,
            })
    }
}

impl ForthConsole for WithNatives<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        crate::output::write_stdout(bytes)
    }
    fn read_line(&mut self) -> Option<Vec<u8>> {
        self.terminal.next_bytes()
    }
    fn read_key(&mut self) -> Option<u8> {
        self.terminal.next_key()
    }
    fn key_available(&mut self) -> bool {
        self.terminal.key_ready()
    }
    fn call_host_word(
        &mut self,
        id: u32,
        cells: &mut [i64],
        depth: &mut usize,
    ) -> Result<(), fastforth_session::HostWordError> {
        self.call_native(id, cells, depth)
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
    // The plugin is checked before any file runs; its words replace theirs after.
    let native = match native {
        Some(path) => Some((path, engine.load_native(path)?)),
        None => None,
    };
    let mut console = Terminal::new(options.max_source_bytes);
    for file in files {
        if let Some(exit_code) = finished(engine.include(file, &mut console)?) {
            return Ok(exit_code);
        }
    }
    if let Some((path, plugin)) = native {
        all_defined(path, engine.link_loaded(plugin)?)?;
    }
    if let Some(code) = code {
        if let Some(exit_code) = finished(engine.evaluate(code.as_bytes(), "-e", &mut console)?) {
            return Ok(exit_code);
        }
        if let Some(exit_code) = finished(engine.end_of_program("-e")?) {
            return Ok(exit_code);
        }
    }
    Ok(0)
}

/// The exit code when the program ends here: after BYE or an error (which is reported).
fn finished(outcome: Outcome) -> Option<i32> {
    match outcome {
        Outcome::Continue => None,
        Outcome::Bye => Some(0),
        Outcome::Error(message) => {
            crate::output::report_forth_error(&message);
            Some(1)
        }
    }
}

/// Runs the program on standard input a line at a time as the lines arrive, each
/// evaluated as the REPL evaluates a line (definitions and skipping for `[IF]` may span
/// lines; a `(` comment ends at the end of its line), and stops at the first error; `ACCEPT`,
/// `KEY` and `REFILL` read the lines that follow, and the program goes on after them. A line longer than `--max-source-bytes` is an error.
pub fn run_stdin(options: &EngineOptions) -> anyhow::Result<i32> {
    let mut engine = Engine::start(options)?;
    let cap = options.max_source_bytes;
    let mut terminal = Terminal::new(cap);
    loop {
        // ACCEPT, KEY and REFILL may have read lines since the previous one.
        let number = terminal.lines_read + 1;
        let line = terminal
            .read_line()
            .with_context(|| format!("cannot read line {number} of standard input"))?;
        let Some(mut line) = line else { break };
        if number == 1 {
            fastforth_engine::strip_byte_order_mark(&mut line.text);
        }
        let name = format!("<stdin line {number}>");
        if !line.complete {
            errln!("{}", input::over_cap(&name, cap));
            return Ok(1);
        }
        if let Some(exit_code) = finished(engine.evaluate(&line.text, &name, &mut terminal)?) {
            return Ok(exit_code);
        }
    }
    Ok(finished(engine.end_of_program("standard input")?).unwrap_or(0))
}

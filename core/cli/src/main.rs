//! The `fastforth` command line: run Forth (built-in engine or an engine plugin), the REPL,
//! and inspecting and calling plugins.

// First: the modules below use its macros.
mod output;

mod args;
mod forth_cmd;
mod history;
mod input;
#[cfg(feature = "update")]
mod installed;
mod native_cmd;
mod repl;
#[cfg(feature = "update")]
mod update_cmd;

use anyhow::Context;
use args::{Cli, Command, PluginCommand, Stop};
use fastforth::PROBE_SUBCOMMAND;
use fastforth_host::inspect;
use fastforth_host::{Example, Kind, Loader, PluginError, PluginInfo, ProbeCommand};
use fastforth_session::{AnyKind, ForKind, ForthNative, NativePlugin};
use output::{errln, outln};
use std::io::IsTerminal;
use std::path::Path;

fn main() {
    let exit_code = run().unwrap_or_else(|error| {
        // One line, its causes after colons, and never a backtrace (even when
        // RUST_BACKTRACE is set): a user's mistake is not a crash.
        errln!("Error: {error:#}");
        1
    });
    std::process::exit(exit_code)
}

/// Parses the command line and runs it; the process exit code.
fn run() -> anyhow::Result<i32> {
    let cli = match args::parse(std::env::args_os().skip(1)).and_then(refuse_misused_options) {
        Ok(cli) => cli,
        Err(Stop::Help(page)) => {
            outln!("{}", page.trim_end())?;
            return Ok(0);
        }
        Err(mistake) => {
            errln!("{}", mistake.text().trim_end());
            return Ok(Stop::MISTAKE_EXIT_CODE);
        }
    };
    if let Ok(exe) = std::env::current_exe() {
        fastforth_host::probe::set_default(ProbeCommand::new(exe, &[PROBE_SUBCOMMAND]));
    }
    // Native words linked into a session run in place on this thread's large stack.
    fastforth_session::on_native_stack(|| execute(cli))
}

/// `cli`, unless it gives options that conflict or cannot apply to its command.
fn refuse_misused_options(cli: Cli) -> Result<Cli, Stop> {
    match conflicting_options(&cli).or_else(|| misplaced_engine_option(&cli)) {
        Some(message) => Err(Stop::mistake(message)),
        None => Ok(cli),
    }
}

/// Which options given together cannot work together, if any (wherever each was given:
/// before the command or after it).
fn conflicting_options(cli: &Cli) -> Option<String> {
    let options = &cli.options;
    let native = matches!(
        &cli.command,
        Some(Command::Run {
            native: Some(_),
            ..
        })
    );
    let pairs = [
        (
            !options.links.is_empty(),
            "--link",
            options.max_steps.is_some(),
            "--max-steps",
        ),
        (native, "--native", options.engine.is_some(), "--engine"),
        (
            options.file_access != fastforth_engine::FileAccess::Full,
            "--files",
            options.engine.is_some(),
            "--engine",
        ),
        (
            native,
            "--native",
            options.max_steps.is_some(),
            "--max-steps",
        ),
        (
            options
                .session_stages()
                .iter()
                .any(|(_, path)| path.is_some()),
            "--stage",
            options.engine.is_some(),
            "--engine",
        ),
    ];
    let builtin = (
        options.builtin,
        "--builtin",
        options.engine.is_some(),
        "--engine",
    );
    let (_, first, _, second) = pairs
        .into_iter()
        .chain([builtin])
        .find(|(a, _, b, _)| *a && *b)?;
    Some(format!("{first} cannot be used with {second}"))
}

/// Why an engine option given on the command line cannot apply to the command, if it
/// cannot: they are global so that they may come before `run`/`repl`, and are then never
/// dropped silently.
fn misplaced_engine_option(cli: &Cli) -> Option<String> {
    let compiling = matches!(cli.command, Some(Command::Compile { .. }));
    if let Some((kind, _)) = cli
        .options
        .session_stages()
        .into_iter()
        .find(|(_, path)| path.is_some())
        && compiling
    {
        return Some(format!(
            "--stage {kind}=FILE applies to `run` and `repl`, not to `compile`"
        ));
    }
    if !compiling && cli.options.backend_stage.is_some() {
        return Some("--stage backend=FILE applies to `compile` only".to_owned());
    }
    #[cfg(feature = "update")]
    let installing = matches!(
        cli.command,
        Some(Command::Update(_) | Command::Plugin(PluginCommand::List) | Command::Compile { .. })
    );
    #[cfg(not(feature = "update"))]
    let installing = false;
    let command = match &cli.command {
        None | Some(Command::Repl) => return None,
        Some(Command::Run { native: None, .. }) => return None,
        Some(Command::Run { files, .. }) if !files.is_empty() => return None,
        Some(Command::Run { .. }) => "`run --native` without FILES (the plugin runs alone)",
        Some(Command::Compile { .. }) => "`compile`",
        Some(Command::Plugin(_)) => "`plugin`",
        #[cfg(feature = "update")]
        Some(Command::Update(_)) => "`update`",
        Some(Command::Probe { .. }) => "the probe",
    };
    let given = &cli.options.given;
    if !installing && given.contains(&"--plugin-dir") {
        return Some(format!(
            "--plugin-dir applies to `run`, `repl`, `compile`, `update` and `plugin list`, not to \
             {command}"
        ));
    }
    let loading = args::LOADING_FLAGS;
    let flag = given
        .iter()
        .find(|flag| **flag != "--plugin-dir" && !(compiling && loading.contains(flag)))?;
    let applies = if loading.contains(flag) {
        "`run`, `repl` and `compile`"
    } else {
        "`run` and `repl`"
    };
    Some(format!("{flag} applies to {applies}, not to {command}"))
}

/// Runs the command; returns the process exit code.
fn execute(cli: Cli) -> anyhow::Result<i32> {
    let options = &cli.options;
    if cli.version {
        let engine = forth_cmd::Engine::start(options)?;
        outln!("fastforth {}", env!("CARGO_PKG_VERSION"))?;
        outln!("engine: {}", engine.describe())?;
        return Ok(0);
    }
    // Only `update` creates the plugin directory; every other command needs it to exist.
    #[cfg(feature = "update")]
    let installing = matches!(cli.command, Some(Command::Update(_)));
    #[cfg(feature = "update")]
    if let Some(dir) = options
        .plugin_dir()
        .filter(|dir| !installing && !dir.is_dir())
    {
        let problem = match dir.exists() {
            true => "not a directory",
            false => "no such directory (`fastforth update` creates it)",
        };
        anyhow::bail!("--plugin-dir {}: {problem}", dir.display());
    }
    Ok(match cli.command {
        None if std::io::stdin().is_terminal() => repl::repl(options)?,
        None => forth_cmd::run_stdin(options)?,
        Some(Command::Run {
            files,
            code,
            native: Some(plugin),
        }) => {
            let code = code.as_deref().unwrap_or("main");
            if files.is_empty() {
                native_cmd::run(&plugin, code)?
            } else {
                forth_cmd::run(&files, Some(code), Some(&plugin), options)?
            }
        }
        Some(Command::Run { files, code, .. }) if files.is_empty() && code.is_none() => {
            forth_cmd::run_stdin(options)?
        }
        Some(Command::Run { files, code, .. }) => {
            forth_cmd::run(&files, code.as_deref(), None, options)?
        }
        Some(Command::Compile {
            file,
            output,
            release,
            debug,
            exe,
        }) => {
            let bounded = options.max_steps.is_some();
            let source = input::read_source_file(&file, options.max_source_bytes, bounded)?;
            native_cmd::compile(
                options,
                &file,
                &source,
                output.as_deref(),
                release || !debug,
                exe.as_deref(),
            )?
        }
        Some(Command::Repl) => repl::repl(options)?,
        Some(Command::Plugin(PluginCommand::Info { file })) => plugin_info(&file).map(|()| 0)?,
        Some(Command::Plugin(PluginCommand::Call {
            file,
            function,
            args,
        })) => plugin_call(&file, &function, &args).map(|()| 0)?,
        #[cfg(feature = "update")]
        Some(Command::Plugin(PluginCommand::List)) => update_cmd::list(options).map(|()| 0)?,
        #[cfg(feature = "update")]
        Some(Command::Update(args)) => {
            update_cmd::update(args, options.plugin_dir()).map(|()| 0)?
        }
        Some(Command::Probe { file }) => probe(&file),
    })
}

/// The probe's verdict on `file` as its exit code (see `fastforth_host::probe`).
fn probe(file: &Path) -> i32 {
    match fastforth_session::open_any_kind(file) {
        Ok(()) => 0,
        Err(error) => {
            errln!("error: {error}");
            fastforth_host::probe::REFUSED_EXIT_CODE
        }
    }
}

/// A loader whose shadow copies go to the per-user plugin cache (every command's).
fn loader() -> anyhow::Result<Loader> {
    Ok(Loader::new(fastforth_host::default_cache_dir()?))
}

fn plugin_info(file: &Path) -> anyhow::Result<()> {
    /// A plugin's descriptor, loaded as the kind `K`.
    struct Info<'a>(&'a Loader, &'a Path);
    impl ForKind for Info<'_> {
        type Output = Result<PluginInfo, PluginError>;
        fn run<K: Kind>(self) -> Self::Output {
            Ok(self.0.load::<K>(self.1)?.info().clone())
        }
    }
    let loader = loader()?;
    let mut declared = AnyKind::Example;
    let info = AnyKind::try_each(|kind| {
        declared = kind;
        kind.with(Info(&loader, file))
    })?;
    let words = match declared {
        AnyKind::ForthNative => Some(loader.load::<ForthNative>(file)?.words()?),
        _ => None,
    };
    outln!("file:      {}", file.display())?;
    outln!("kind:      {}", info.kind)?;
    outln!("name:      {}", info.name)?;
    outln!("version:   {}", info.version)?;
    outln!("abi:       {}", info.abi_version)?;
    if info.ir_version != 0 {
        outln!("ir:        {}", info.ir_version)?;
    }
    outln!("sha256:    {}", info.sha256)?;
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    // Names the file chose: shown with their control characters escaped.
    let exports = inspect::exported_symbols(&bytes).join(" ");
    outln!("exports:   {}", fastforth_host::printable(&exports))?;
    if let Some(words) = words {
        outln!("words:     {}", fastforth_host::printable(&words.join(" ")))?;
    }
    outln!("self-test: passed")?;
    Ok(())
}

/// The largest N `plugin call FILE fibonacci N` takes: the example plugin's Fibonacci is
/// recursive, so its time doubles with each N past that (about a second at 40).
const MAX_FIBONACCI_N: i32 = 40;

fn plugin_call(file: &Path, function: &str, args: &[String]) -> anyhow::Result<()> {
    let plugin = loader()?.load::<Example>(file)?;
    let Some((count, arity)) = arity(function) else {
        anyhow::bail!(
            "plugin `{}` has no function `{function}`; expected add_numbers, fibonacci or version",
            plugin.name()
        );
    };
    if args.len() != count {
        anyhow::bail!(
            "`{function}` takes {arity}, found {} argument(s)",
            args.len()
        );
    }
    let answer = match (function, parse_ints(function, args)?.as_slice()) {
        ("add_numbers", &[a, b]) if a.checked_add(b).is_none() => anyhow::bail!(
            "`add_numbers` takes A and B whose sum fits in 32 bits, found {a} and {b}: the \
             example plugin's sum would wrap"
        ),
        ("add_numbers", &[a, b]) => plugin.add_numbers(a, b)?.to_string(),
        ("fibonacci", &[n]) if !(0..=MAX_FIBONACCI_N).contains(&n) => anyhow::bail!(
            "`fibonacci` takes N from 0 to {MAX_FIBONACCI_N}, found {n}: the example plugin's \
             recursive Fibonacci takes twice as long for each N more"
        ),
        ("fibonacci", &[n]) => plugin.fibonacci(n)?.to_string(),
        // `version`, the one function left: its count of arguments was checked.
        _ => plugin.version().to_owned(),
    };
    outln!("{answer}")?;
    Ok(())
}

/// How many arguments a function of the example plugin takes, and that in words; `None`
/// for no such function.
fn arity(function: &str) -> Option<(usize, &'static str)> {
    match function {
        "add_numbers" => Some((2, "2 arguments (A B)")),
        "fibonacci" => Some((1, "1 argument (N)")),
        "version" => Some((0, "no arguments")),
        _ => None,
    }
}

fn parse_ints(function: &str, args: &[String]) -> anyhow::Result<Vec<i32>> {
    args.iter()
        .enumerate()
        .map(|(i, arg)| {
            arg.parse::<i32>().with_context(|| {
                format!(
                    "argument {} of `{function}`: expected a 32-bit integer, found {arg:?}",
                    i + 1
                )
            })
        })
        .collect()
}

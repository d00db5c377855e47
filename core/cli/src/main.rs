//! The `fastforth` command line: run Forth (built-in engine or an engine plugin), the REPL,
//! and inspecting and calling plugins.

// First: the modules below use its macros.
mod output;

mod forth_cmd;
mod input;
#[cfg(feature = "update")]
mod installed;
mod native_cmd;
mod repl;
#[cfg(feature = "update")]
mod update_cmd;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use fastforth::PROBE_SUBCOMMAND;
use fastforth_host::inspect;
use fastforth_host::{Example, Forth, ForthNative, Loader, Plugin, PluginError, ProbeCommand};
use output::{errln, outln};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "fastforth",
    version,
    disable_version_flag = true,
    about = "A fast, standard Forth whose parts are hot-swappable native plugins"
)]
struct Cli {
    /// Print the version, and the engine that `run` and `repl` start on with these options
    #[arg(short = 'V', long)]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: forth_cmd::EngineOptions,
}

/// With no command: the REPL on a terminal, else the program on standard input, evaluated a
/// line at a time as it arrives.
#[derive(Subcommand)]
enum Command {
    /// Run Forth source files in order, then `-e` code; exit non-zero after an error.
    Run {
        /// Forth source files.
        files: Vec<PathBuf>,
        /// Forth code to run after the files (with --native: default `main`; without files,
        /// the one word of the plugin to run).
        #[arg(short = 'e', long = "evaluate", value_name = "CODE")]
        code: Option<String>,
        /// Run this native plugin (made by `fastforth compile`). With FILES, the files are
        /// interpreted first, then the plugin's compiled words replace their definitions for
        /// the code that follows, so words the backend could not compile run interpreted.
        /// Cannot be used with --engine or --max-steps.
        #[arg(long, value_name = "PLUGIN_FILE")]
        native: Option<PathBuf>,
    },
    /// Compile a Forth program ahead of time to a native plugin (kind "forth-native").
    Compile {
        /// The Forth program.
        file: PathBuf,
        /// The plugin file to write (default: the program's name with the library extension).
        #[arg(short = 'o', long = "output", value_name = "OUT")]
        output: Option<PathBuf>,
        /// Optimised build, the default (cargo's release profile).
        #[arg(long, conflicts_with = "debug")]
        release: bool,
        /// Unoptimised build: compiles faster, runs about ten times slower.
        #[arg(long)]
        debug: bool,
    },
    /// Interactive session with line editing and history.
    Repl,
    /// Inspect and call plugin files.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Update the installed plugins (the Forth engine that `run` and `repl` start on, and
    /// the example plugin) from a signed release channel, or roll them back.
    #[cfg(feature = "update")]
    Update(update_cmd::UpdateArgs),
    /// Open, validate and self-test a plugin file in this process (run by the loader in a
    /// child process before a new build is opened in the parent).
    #[command(name = PROBE_SUBCOMMAND, hide = true)]
    Probe { file: PathBuf },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Validate a plugin file and show its kind, name, version, ABI and exported functions.
    Info {
        /// The plugin library file (.so, .dll or .dylib).
        file: PathBuf,
    },
    /// Load a plugin file and call one of its functions.
    Call {
        /// The plugin library file (.so, .dll or .dylib).
        file: PathBuf,
        /// `add_numbers A B`, `fibonacci N` or `version` (example plugins).
        function: String,
        /// The function's integer arguments.
        #[arg(allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// List the installed plugins (version, manifest, last-known-good version) and say
    /// which engine `run` and `repl` start on.
    #[cfg(feature = "update")]
    List,
}

fn main() -> anyhow::Result<()> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    if let Some(message) =
        conflicting_options(&cli).or_else(|| misplaced_engine_option(&cli, &matches))
    {
        Cli::command()
            .error(clap::error::ErrorKind::ArgumentConflict, message)
            .exit();
    }
    if let Ok(exe) = std::env::current_exe() {
        fastforth_host::probe::set_default(ProbeCommand::new(exe, &[PROBE_SUBCOMMAND]));
    }
    // Native words linked into a session run in place on this thread's large stack.
    let exit_code = fastforth_host::on_native_stack(|| execute(cli))?;
    std::process::exit(exit_code)
}

/// Which options given together cannot work together, if any (checked here rather than by
/// clap, which misses conflicts between an option given before the command and one after).
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
fn misplaced_engine_option(cli: &Cli, matches: &clap::ArgMatches) -> Option<String> {
    #[cfg(feature = "update")]
    let installing = matches!(
        cli.command,
        Some(Command::Update(_) | Command::Plugin(PluginCommand::List))
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
    if !installing && cfg!(feature = "update") && given_anywhere(matches, "plugin_dir") {
        return Some(format!(
            "--plugin-dir applies to `run`, `repl`, `update` and `plugin list`, not to {command}"
        ));
    }
    let (_, flag) = forth_cmd::EngineOptions::FLAGS
        .iter()
        .find(|(id, _)| given_anywhere(matches, id))?;
    Some(format!(
        "{flag} applies to `run` and `repl`, not to {command}"
    ))
}

/// Whether the argument `id` was given on the command line, at this level or below.
fn given_anywhere(matches: &clap::ArgMatches, id: &str) -> bool {
    matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
        || matches
            .subcommand()
            .is_some_and(|(_, sub)| given_anywhere(sub, id))
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
        Some(Command::Run { files, code, .. }) => {
            forth_cmd::run(&files, code.as_deref(), None, options)?
        }
        Some(Command::Compile {
            file,
            output,
            release,
            debug,
        }) => native_cmd::compile(&file, output.as_deref(), release || !debug)?,
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
    match fastforth_host::open_any_kind(file) {
        Ok(()) => 0,
        Err(error) => {
            errln!("error: {error}");
            fastforth_host::probe::REFUSED_EXIT_CODE
        }
    }
}

fn loader() -> anyhow::Result<Loader> {
    Ok(Loader::new(fastforth_host::default_cache_dir()?))
}

fn plugin_info(file: &Path) -> anyhow::Result<()> {
    let loader = loader()?;
    let mut words = None;
    let info = match loader.load::<Example>(file) {
        Err(PluginError::WrongKind { found, .. }) if found == "forth" => {
            loader.load::<Forth>(file)?.info().clone()
        }
        Err(PluginError::WrongKind { found, .. }) if found == "forth-native" => {
            let plugin = loader.load::<ForthNative>(file)?;
            words = Some(plugin.words()?);
            plugin.info().clone()
        }
        loaded => loaded?.info().clone(),
    };
    outln!("file:      {}", file.display())?;
    outln!("kind:      {}", info.kind)?;
    outln!("name:      {}", info.name)?;
    outln!("version:   {}", info.version)?;
    outln!("abi:       {}", info.abi_version)?;
    outln!("sha256:    {}", info.sha256)?;
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    outln!("exports:   {}", inspect::exported_symbols(&bytes).join(" "))?;
    if let Some(words) = words {
        outln!("words:     {}", words.join(" "))?;
    }
    outln!("self-test: passed")?;
    Ok(())
}

fn plugin_call(file: &Path, function: &str, args: &[String]) -> anyhow::Result<()> {
    let plugin = loader()?.load::<Example>(file)?;
    let answer = call_example(&plugin, function, &parse_ints(function, args)?)?;
    outln!("{answer}")?;
    Ok(())
}

fn call_example(
    plugin: &Arc<Plugin<Example>>,
    function: &str,
    args: &[i32],
) -> anyhow::Result<String> {
    Ok(match (function, args) {
        ("add_numbers", [a, b]) => plugin.add_numbers(*a, *b)?.to_string(),
        ("fibonacci", [n]) => plugin.fibonacci(*n)?.to_string(),
        ("version", []) => plugin.version().to_owned(),
        ("add_numbers" | "fibonacci" | "version", _) => anyhow::bail!(
            "`{function}` takes {}, found {} argument(s)",
            arity(function),
            args.len()
        ),
        _ => anyhow::bail!(
            "plugin `{}` has no function `{function}`; expected add_numbers, fibonacci or version",
            plugin.name()
        ),
    })
}

fn arity(function: &str) -> &'static str {
    match function {
        "add_numbers" => "2 arguments (A B)",
        "fibonacci" => "1 argument (N)",
        _ => "no arguments",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}

//! The `fastforth` command line: run Forth (built-in engine or an engine plugin), the REPL,
//! and inspecting and calling plugins.

mod forth_cmd;
mod native_cmd;
mod repl;
#[cfg(feature = "update")]
mod update_cmd;

use anyhow::Context;
use clap::{Parser, Subcommand};
use fastforth::PROBE_SUBCOMMAND;
use fastforth_host::inspect;
use fastforth_host::{Example, Forth, ForthNative, Loader, Plugin, PluginError, ProbeCommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "fastforth",
    version,
    about = "A fast, standard Forth whose parts are hot-swappable native plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: forth_cmd::EngineOptions,
}

/// With no command: the REPL on a terminal, else the program read from standard input.
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
        #[arg(long, value_name = "PLUGIN_FILE", conflicts_with_all = ["engine", "max_steps"])]
        native: Option<PathBuf>,
        #[command(flatten)]
        options: forth_cmd::EngineOptions,
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
    Repl {
        #[command(flatten)]
        options: forth_cmd::EngineOptions,
    },
    /// Inspect and call plugin files.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Update the installed plugins from a signed release channel, or roll them back.
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
    /// List the installed plugins: version, manifest, last-known-good version.
    #[cfg(feature = "update")]
    List(update_cmd::InstallDir),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Ok(exe) = std::env::current_exe() {
        fastforth_host::probe::set_default(ProbeCommand::new(exe, &[PROBE_SUBCOMMAND]));
    }
    // Native words linked into a session run in place on this thread's large stack.
    let exit_code = fastforth_host::on_native_stack(|| execute(cli))?;
    std::process::exit(exit_code)
}

/// Runs the command; returns the process exit code.
fn execute(cli: Cli) -> anyhow::Result<i32> {
    Ok(match cli.command {
        None if std::io::stdin().is_terminal() => repl::repl(&cli.options)?,
        None => forth_cmd::run_stdin(&cli.options)?,
        Some(Command::Run {
            files,
            code,
            native: Some(plugin),
            options,
        }) => {
            let code = code.as_deref().unwrap_or("main");
            if files.is_empty() {
                native_cmd::run(&plugin, code)?
            } else {
                forth_cmd::run(&files, Some(code), Some(&plugin), &options)?
            }
        }
        Some(Command::Run {
            files,
            code,
            options,
            ..
        }) => forth_cmd::run(&files, code.as_deref(), None, &options)?,
        Some(Command::Compile {
            file,
            output,
            release,
            debug,
        }) => native_cmd::compile(&file, output.as_deref(), release || !debug)?,
        Some(Command::Repl { options }) => repl::repl(&options)?,
        Some(Command::Plugin(PluginCommand::Info { file })) => plugin_info(&file).map(|()| 0)?,
        Some(Command::Plugin(PluginCommand::Call {
            file,
            function,
            args,
        })) => plugin_call(&file, &function, &args).map(|()| 0)?,
        #[cfg(feature = "update")]
        Some(Command::Plugin(PluginCommand::List(dir))) => update_cmd::list(&dir).map(|()| 0)?,
        #[cfg(feature = "update")]
        Some(Command::Update(args)) => update_cmd::update(args).map(|()| 0)?,
        Some(Command::Probe { file }) => probe(&file),
    })
}

/// The probe's verdict on `file` as its exit code (see `fastforth_host::probe`).
fn probe(file: &Path) -> i32 {
    match fastforth_host::open_any_kind(file) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: {error}");
            fastforth_host::probe::REFUSED_EXIT_CODE
        }
    }
}

fn loader() -> Loader {
    Loader::new(fastforth_host::default_cache_dir())
}

fn plugin_info(file: &Path) -> anyhow::Result<()> {
    let loader = loader();
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
    println!("file:      {}", file.display());
    println!("kind:      {}", info.kind);
    println!("name:      {}", info.name);
    println!("version:   {}", info.version);
    println!("abi:       {}", info.abi_version);
    println!("sha256:    {}", info.sha256);
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    println!("exports:   {}", inspect::exported_symbols(&bytes).join(" "));
    if let Some(words) = words {
        println!("words:     {}", words.join(" "));
    }
    println!("self-test: passed");
    Ok(())
}

fn plugin_call(file: &Path, function: &str, args: &[String]) -> anyhow::Result<()> {
    let plugin = loader().load::<Example>(file)?;
    let answer = call_example(&plugin, function, &parse_ints(function, args)?)?;
    println!("{answer}");
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

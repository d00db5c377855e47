//! The `fastforth` command line: inspect and call plugins.

use anyhow::Context;
use clap::{Parser, Subcommand};
use fastforth_host::{Example, Loader, Plugin, inspect};
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
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect and call plugin files.
    #[command(subcommand)]
    Plugin(PluginCommand),
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
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Plugin(PluginCommand::Info { file }) => plugin_info(&file),
        Command::Plugin(PluginCommand::Call {
            file,
            function,
            args,
        }) => plugin_call(&file, &function, &args),
    }
}

fn loader() -> Loader {
    Loader::new(fastforth_host::default_cache_dir())
}

fn plugin_info(file: &Path) -> anyhow::Result<()> {
    let plugin = loader().load::<Example>(file)?;
    let info = plugin.info();
    println!("file:      {}", file.display());
    println!("kind:      {}", info.kind);
    println!("name:      {}", info.name);
    println!("version:   {}", info.version);
    println!("abi:       {}", info.abi_version);
    println!("sha256:    {}", info.sha256);
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    println!("exports:   {}", inspect::exported_symbols(&bytes).join(" "));
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

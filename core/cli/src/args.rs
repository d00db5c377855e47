//! The `fastforth` command line: its commands and options, read with lexopt, and the
//! `--help` page of each command. It knows what the flags mean, not what the commands do.
//! Hand-written pages and a small parser: with clap (derive, no color) the stripped dist
//! build of `fastforth` was 225 KB larger (2,340,096 against 2,114,688 bytes).

use crate::forth_cmd::{EngineOptions, PluginStage};
#[cfg(feature = "update")]
use crate::update_cmd::UpdateArgs;
use fastforth::PROBE_SUBCOMMAND;
use fastforth_engine::{Limits, MAX_NAME_BYTES, ShownName};
use lexopt::Parser;
use std::ffi::OsString;
use std::path::PathBuf;

/// The parsed command line.
pub struct Cli {
    /// `-V`: print the version and the engine that `run` and `repl` would start on.
    pub version: bool,
    pub command: Option<Command>,
    /// The engine options, wherever they were given.
    pub options: EngineOptions,
}

/// With no command: the REPL on a terminal, else the program on standard input.
pub enum Command {
    Run {
        files: Vec<PathBuf>,
        code: Option<String>,
        native: Option<PathBuf>,
    },
    Compile {
        file: PathBuf,
        output: Option<PathBuf>,
        release: bool,
        debug: bool,
        /// The word an executable runs; a plugin without it.
        exe: Option<String>,
    },
    Repl,
    Plugin(PluginCommand),
    #[cfg(feature = "update")]
    Update(UpdateArgs),
    Probe {
        file: PathBuf,
    },
}

pub enum PluginCommand {
    Info {
        file: PathBuf,
    },
    Call {
        file: PathBuf,
        function: String,
        args: Vec<String>,
    },
    #[cfg(feature = "update")]
    List,
}

/// Why reading the command line stopped before it made a [`Cli`].
#[derive(Debug)]
pub enum Stop {
    /// `--help` or `help`: this page goes to standard output, and the exit code is 0.
    Help(String),
    /// A mistake: the message and the usage line go to standard error (exit code 2).
    Mistake { message: String, usage: String },
}

impl Stop {
    /// The exit code of a command line that stopped here.
    pub const MISTAKE_EXIT_CODE: i32 = 2;

    /// A mistake in the command line as a whole (with `fastforth`'s usage line).
    pub fn mistake(message: String) -> Stop {
        TOP.mistake(message)
    }

    /// The text to print: the help page, or the mistake with the usage line.
    pub fn text(&self) -> String {
        match self {
            Stop::Help(page) => page.clone(),
            Stop::Mistake { message, usage } => format!(
                "error: {message}\n\nUsage: {usage}\n\nFor more information, try '--help'.\n"
            ),
        }
    }
}

/// An option: its flags, the name of its value (if it takes one) and what it does.
struct Flag {
    short: Option<char>,
    long: &'static str,
    value: Option<&'static str>,
    about: &'static str,
    /// The default value shown in the help, for the engine's sizes.
    default: Option<fn(&Limits) -> usize>,
}

impl Flag {
    const fn new(long: &'static str, value: Option<&'static str>, about: &'static str) -> Flag {
        Flag {
            short: None,
            long,
            value,
            about,
            default: None,
        }
    }

    const fn short(self, short: char) -> Flag {
        Flag {
            short: Some(short),
            ..self
        }
    }

    const fn default(self, default: fn(&Limits) -> usize) -> Flag {
        Flag {
            default: Some(default),
            ..self
        }
    }

    /// `--max-steps <N>`, as errors name it.
    fn syntax(&self) -> String {
        match self.value {
            Some(value) => format!("{} <{value}>", self.long),
            None => self.long.to_owned(),
        }
    }

    fn matches(&self, token: &Token) -> bool {
        let Token::Flag(flag) = token else {
            return false;
        };
        *flag == self.long || self.short.is_some_and(|c| *flag == format!("-{c}"))
    }
}

/// The engine options: accepted before or after any command, so that they may come before
/// `run` or `repl` (main.rs refuses them where they cannot apply).
const ENGINE_FLAGS: &[Flag] = &[
    Flag::new(
        "--engine",
        Some("PLUGIN_FILE"),
        "Run on this engine plugin file instead of the installed or built-in engine",
    ),
    Flag::new(
        "--builtin",
        None,
        "Run on the engine built into this binary even when `fastforth update` installed an engine plugin",
    ),
    #[cfg(feature = "update")]
    Flag::new(
        "--plugin-dir",
        Some("DIR"),
        "Where `fastforth update` installs plugins, `run`/`repl` find the installed engine and `compile` the installed backend stage; owner-only [default: $XDG_DATA_HOME/fastforth or ~/.local/share/fastforth]",
    ),
    Flag::new(
        "--link",
        Some("PLUGIN_FILE"),
        "Make the words of this native plugin (from `fastforth compile`) words of the session (no step budget: native code cannot be stopped, so not with --max-steps; its words keep the data space and return stack depth they were compiled with, and at most the data stack depth, whatever --data-space, --stack-cells and --return-stack-cells say; repeatable, one build per program)",
    ),
    Flag::new(
        "--stage",
        Some("KIND=PLUGIN_FILE"),
        "Run the pipeline with this stage plugin (repeatable, one per kind): `parser=FILE` splits each line the text interpreter reads into tokens and reads their numbers in place of the built-in parser; `compiler=FILE` says what to compile for the tokens met while compiling in place of the built-in compiler; `optimizer=FILE` optimizes each new definition in place of the built-in optimizer (`KIND=builtin`: the built-in one); `backend=FILE` is the native backend `compile` builds with (default: the one `fastforth update` installed, else the one beside this binary). Runs on the built-in engine (not with --engine)",
    ),
    Flag::new(
        "--max-steps",
        Some("N"),
        "Stop any evaluation after this many executed instructions (for untrusted code; at least 1). Under it Forth code cannot open FIFOs, sockets or devices, which could block past it; KEY, EKEY and ACCEPT still wait for standard input, which is the caller's to give or close",
    ),
    Flag::new(
        "--data-space",
        Some("BYTES"),
        "Size of the data space in bytes (at most 1 GiB)",
    )
    .default(|limits| limits.data_space_bytes),
    Flag::new(
        "--stack-cells",
        Some("CELLS"),
        "Depth of the data stack in cells (1 to 1048576)",
    )
    .default(|limits| limits.data_stack_cells),
    Flag::new(
        "--return-stack-cells",
        Some("CELLS"),
        "Depth of the return stack in cells (1 to 1048576)",
    )
    .default(|limits| limits.return_stack_cells),
    Flag::new(
        "--files",
        Some("off|DIR|all"),
        "Which files Forth code may open, create, delete, include or use as its block file: `off`, `all`, or a directory that confines it (absolute names, `..`, symbolic links leading out, and FIFOs, sockets or devices, which would block or never end, are refused). Runs on the built-in engine (not with --engine) [default: all]",
    ),
    Flag::new(
        "--max-source-bytes",
        Some("BYTES"),
        "The largest source text accepted, from a file, INCLUDED or one line of standard input, in bytes (at most 1 GiB)",
    )
    .default(|limits| limits.max_source_bytes),
];

const HELP: Flag = Flag::new("--help", None, "Print help").short('h');
const VERSION: Flag = Flag::new(
    "--version",
    None,
    "Print the version, and the engine that `run` and `repl` start on with these options",
)
.short('V');
const EVALUATE: Flag = Flag::new(
    "--evaluate",
    Some("CODE"),
    "Forth code to run after the files (with --native: default `main`; without files, the one word of the plugin to run)",
)
.short('e');
const NATIVE: Flag = Flag::new(
    "--native",
    Some("PLUGIN_FILE"),
    "Run this native plugin (made by `fastforth compile`). With FILES, the plugin is loaded and checked first, the files are interpreted, then the plugin's compiled words replace their definitions for the code that follows, so words the backend could not compile run interpreted (on the interpreter's data space: the compiled words keep their own copy of the program's variables, and the data space and stack depths they were compiled with). Cannot be used with --engine or --max-steps",
);
const OUTPUT: Flag = Flag::new(
    "--output",
    Some("OUT"),
    "The file to write (default: the program's name, with the library extension for a plugin); a plugin gets the Rust runtime beside it and is written only once it loads, and a failed build leaves the file as it was",
)
.short('o');
const RELEASE: Flag = Flag::new(
    "--release",
    None,
    "Optimised build, the default (cargo's release profile)",
);
const EXE: Flag = Flag::new(
    "--exe",
    Some("WORD"),
    "Build an executable that runs this compiled word (e.g. `main`) instead of a plugin: it needs neither fastforth nor the Rust runtime, and starts as a C program does",
);
const DEBUG: Flag = Flag::new(
    "--debug",
    None,
    "Unoptimised build: compiles faster, runs about ten times slower",
);
#[cfg(feature = "update")]
const CHANNEL: Flag = Flag::new(
    "--channel",
    Some("URL"),
    "The channel URL (http://, file://, or https:// in builds with TLS); remembered for the next update",
);
#[cfg(feature = "update")]
const CHECK: Flag = Flag::new(
    "--check",
    None,
    "Only say what an update would install; download and change nothing",
);
#[cfg(feature = "update")]
const ROLLBACK: Flag = Flag::new(
    "--rollback",
    None,
    "Go back to the last-known-good version of every plugin that has one",
);

/// A command's help page; the engine options and `--help` follow its own options.
struct Page {
    /// The words that name it (`plugin call`), empty for `fastforth` itself.
    path: &'static str,
    about: &'static str,
    /// What follows `fastforth PATH [OPTIONS]` in the usage line.
    usage: &'static str,
    arguments: &'static [(&'static str, &'static str)],
    commands: &'static [&'static Page],
    options: &'static [&'static Flag],
    /// The engine flags (global, so that they may come before the command) it takes.
    engine_flags: EngineFlags,
}

/// Which engine flags a command takes; `main` refuses the others.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EngineFlags {
    /// All of them: `run`, `repl` and `fastforth` alone.
    All,
    /// [`LOADING_FLAGS`]: `compile`, which loads its program as `run` does.
    Loading,
    /// `--plugin-dir` alone: `update` and `plugin list`.
    #[cfg(feature = "update")]
    PluginDir,
    None,
}

/// The engine flags `compile` takes: it loads its program under the same cap, step budget
/// and file access as `run`, builds with the backend stage and finds the installed one.
pub const LOADING_FLAGS: [&str; 5] = [
    "--max-source-bytes",
    "--max-steps",
    "--files",
    "--stage",
    "--plugin-dir",
];

impl EngineFlags {
    fn takes(self, flag: &str) -> bool {
        match self {
            EngineFlags::All => true,
            EngineFlags::Loading => LOADING_FLAGS.contains(&flag),
            #[cfg(feature = "update")]
            EngineFlags::PluginDir => flag == "--plugin-dir",
            EngineFlags::None => false,
        }
    }
}

const TOP: Page = Page {
    path: "",
    about: "A fast, standard Forth whose parts are hot-swappable native plugins",
    usage: "[COMMAND]",
    arguments: &[],
    commands: &[
        &RUN,
        &COMPILE,
        &REPL,
        &PLUGIN,
        #[cfg(feature = "update")]
        &UPDATE,
    ],
    options: &[&VERSION],
    engine_flags: EngineFlags::All,
};

const RUN: Page = Page {
    path: "run",
    about: "Run Forth source files in order, then `-e` code (neither: the program on standard input); exit non-zero after an error",
    usage: "[FILES]...",
    arguments: &[(
        "[FILES]...",
        "Forth source files (`-` alone: the program on standard input, as with no FILES and no -e)",
    )],
    commands: &[],
    options: &[&EVALUATE, &NATIVE],
    engine_flags: EngineFlags::All,
};

const COMPILE: Page = Page {
    path: "compile",
    about: "Compile a Forth program ahead of time to a native plugin (kind \"forth-native\"), or with --exe to an executable, with the backend stage plugin: `--stage backend=FILE`, else the one `fastforth update` installed, else the one beside this binary",
    usage: "<FILE>",
    arguments: &[("<FILE>", "The Forth program")],
    commands: &[],
    options: &[&OUTPUT, &EXE, &RELEASE, &DEBUG],
    engine_flags: EngineFlags::Loading,
};

const REPL: Page = Page {
    path: "repl",
    about: "Interactive session with line editing and history",
    usage: "",
    arguments: &[],
    commands: &[],
    options: &[],
    engine_flags: EngineFlags::All,
};

const PLUGIN: Page = Page {
    path: "plugin",
    about: "Inspect and call plugin files",
    usage: "<COMMAND>",
    arguments: &[],
    commands: &[
        &PLUGIN_INFO,
        &PLUGIN_CALL,
        #[cfg(feature = "update")]
        &PLUGIN_LIST,
    ],
    options: &[],
    engine_flags: EngineFlags::None,
};

const PLUGIN_FILE: (&str, &str) = ("<FILE>", "The plugin library file (.so, .dll or .dylib)");

const PLUGIN_INFO: Page = Page {
    path: "plugin info",
    about: "Validate a plugin file and show its kind, name, version, ABI and exported functions",
    usage: "<FILE>",
    arguments: &[PLUGIN_FILE],
    commands: &[],
    options: &[],
    engine_flags: EngineFlags::None,
};

const PLUGIN_CALL: Page = Page {
    path: "plugin call",
    about: "Load a plugin file and call one of its functions",
    usage: "<FILE> <FUNCTION> [ARGS]...",
    arguments: &[
        PLUGIN_FILE,
        (
            "<FUNCTION>",
            "`add_numbers A B` (their sum within 32 bits), `fibonacci N` (N from 0 to 40) or `version` (example plugins)",
        ),
        ("[ARGS]...", "The function's integer arguments"),
    ],
    commands: &[],
    options: &[],
    engine_flags: EngineFlags::None,
};

#[cfg(feature = "update")]
const PLUGIN_LIST: Page = Page {
    path: "plugin list",
    about: "List the installed plugins (version, manifest, last-known-good version) and say which engine `run` and `repl` start on",
    usage: "",
    arguments: &[],
    commands: &[],
    options: &[],
    engine_flags: EngineFlags::PluginDir,
};

#[cfg(feature = "update")]
const UPDATE: Page = Page {
    path: "update",
    about: "Update the installed plugins (the Forth engine that `run` and `repl` start on, and the example plugin) from a signed release channel, or roll them back",
    usage: "",
    arguments: &[],
    commands: &[],
    options: &[&CHANNEL, &CHECK, &ROLLBACK],
    engine_flags: EngineFlags::PluginDir,
};

/// The probe has no page of its own: it is run by the loader, not by people.
const PROBE: Page = Page {
    path: PROBE_SUBCOMMAND,
    about: "",
    usage: "<FILE>",
    arguments: &[],
    commands: &[],
    options: &[],
    engine_flags: EngineFlags::None,
};

/// The `help` command listed on the pages of commands that have commands.
const HELP_COMMAND: (&str, &str) = (
    "help",
    "Print this message or the help of the given subcommand(s)",
);

impl Page {
    fn name(&self) -> String {
        match self.path {
            "" => "fastforth".to_owned(),
            path => format!("fastforth {path}"),
        }
    }

    /// The word that names it on its parent's page (`call` for `plugin call`).
    fn word(&self) -> &'static str {
        self.path.rsplit(' ').next().unwrap_or(self.path)
    }

    fn usage(&self) -> String {
        format!("{} [OPTIONS] {}", self.name(), self.usage)
            .trim_end()
            .to_owned()
    }

    fn mistake(&self, message: String) -> Stop {
        Stop::Mistake {
            message,
            usage: self.usage(),
        }
    }

    /// The help page: what it does, usage, arguments, commands, options.
    fn render(&self) -> String {
        let mut page = format!("{}\n\nUsage: {}\n", self.about, self.usage());
        if !self.arguments.is_empty() {
            page += &table(
                "Arguments",
                self.arguments.iter().map(|&(n, a)| (n.into(), a.into())),
            );
        }
        if !self.commands.is_empty() {
            let commands = self.commands.iter().map(|c| (c.word(), c.about));
            let commands = commands.chain([HELP_COMMAND]);
            page += &table("Commands", commands.map(|(n, a)| (n.into(), a.into())));
        }
        let limits = Limits::default();
        let engine_flags = ENGINE_FLAGS
            .iter()
            .filter(|flag| self.engine_flags.takes(flag.long));
        let flags = self
            .options
            .iter()
            .copied()
            .chain(engine_flags)
            .chain([&HELP]);
        page += &table("Options", flags.map(|flag| option_row(flag, &limits)));
        page
    }
}

/// `-V, --version` or `    --engine <PLUGIN_FILE>`, and what it does with its default.
fn option_row(flag: &Flag, limits: &Limits) -> (String, String) {
    let short = flag.short.map_or("    ".to_owned(), |c| format!("-{c}, "));
    let about = match flag.default {
        Some(default) => format!("{} [default: {}]", flag.about, default(limits)),
        None => flag.about.to_owned(),
    };
    (format!("{short}{}", flag.syntax()), about)
}

/// A section of a help page: a heading, then one aligned line per row.
fn table(heading: &str, rows: impl Iterator<Item = (String, String)>) -> String {
    let rows: Vec<(String, String)> = rows.collect();
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut section = format!("\n{heading}:\n");
    for (name, about) in rows {
        section += &format!("  {name:<width$}  {about}\n");
    }
    section
}

/// One argument: an option as `-x` or `--name`, or a value.
#[derive(Debug)]
enum Token {
    Flag(String),
    Value(OsString),
}

/// Reads `fastforth`'s arguments (without the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, Stop> {
    let mut parser = Parser::from_args(args);
    let (mut version, mut command) = (false, None);
    let mut options = EngineOptions::default();
    read(&mut parser, &mut options, &TOP, |token, parser, options| {
        if VERSION.matches(token) {
            version = true;
        } else if let Token::Value(name) = token {
            command = Some(read_command(name, parser, options)?);
        } else {
            return Ok(false);
        }
        Ok(true)
    })?;
    Ok(Cli {
        version,
        command,
        options,
    })
}

/// The command named `name`, with the rest of the command line.
fn read_command(
    name: &OsString,
    parser: &mut Parser,
    options: &mut EngineOptions,
) -> Result<Command, Stop> {
    Ok(match name.to_str().unwrap_or_default() {
        "run" => read_run(parser, options)?,
        "compile" => read_compile(parser, options)?,
        "repl" => {
            read(parser, options, &REPL, |_, _, _| Ok(false))?;
            Command::Repl
        }
        "plugin" => Command::Plugin(read_plugin(parser, options)?),
        #[cfg(feature = "update")]
        "update" => Command::Update(read_update(parser, options)?),
        PROBE_SUBCOMMAND => Command::Probe {
            file: read_files(parser, options, &PROBE, &["<FILE>"])?.remove(0),
        },
        "help" => return Err(help_of(&TOP, parser)),
        _ => return Err(unrecognized(&TOP, name)),
    })
}

fn unrecognized(page: &Page, name: &OsString) -> Stop {
    page.mistake(format!(
        "unrecognized subcommand '{}'",
        name.to_string_lossy()
    ))
}

/// Reads the rest of the command line for the command of `page`: `--help`, engine
/// options, and what `own` takes (`Ok(false)`: not one of the command's); anything else is
/// a mistake.
fn read(
    parser: &mut Parser,
    options: &mut EngineOptions,
    page: &Page,
    mut own: impl FnMut(&Token, &mut Parser, &mut EngineOptions) -> Result<bool, Stop>,
) -> Result<(), Stop> {
    while let Some(token) = next(parser, page)? {
        if HELP.matches(&token) {
            return Err(Stop::Help(page.render()));
        }
        if options.take(&token, parser, page)? || own(&token, parser, options)? {
            continue;
        }
        let found = match &token {
            Token::Flag(flag) => flag.clone(),
            Token::Value(value) => value.to_string_lossy().into_owned(),
        };
        return Err(page.mistake(format!("unexpected argument '{found}' found")));
    }
    Ok(())
}

fn next(parser: &mut Parser, page: &Page) -> Result<Option<Token>, Stop> {
    let arg = parser
        .next()
        .map_err(|error| page.mistake(error.to_string()))?;
    Ok(arg.map(|arg| match arg {
        lexopt::Arg::Short(c) => Token::Flag(format!("-{c}")),
        lexopt::Arg::Long(name) => Token::Flag(format!("--{name}")),
        lexopt::Arg::Value(value) => Token::Value(value),
    }))
}

fn read_run(parser: &mut Parser, options: &mut EngineOptions) -> Result<Command, Stop> {
    let (mut files, mut code, mut native) = (Vec::new(), None, None);
    read(parser, options, &RUN, |token, parser, _| {
        if EVALUATE.matches(token) {
            let value = text(value_of(parser, &EVALUATE, &RUN)?, &EVALUATE, &RUN)?;
            set_once(&mut code, value, &EVALUATE, &RUN)?;
        } else if NATIVE.matches(token) {
            let value = path_of(parser, &NATIVE, &RUN)?;
            set_once(&mut native, value, &NATIVE, &RUN)?;
        } else if let Token::Value(file) = token {
            files.push(file_operand(file, &RUN)?);
        } else {
            return Ok(false);
        }
        Ok(true)
    })?;
    // `-` is the program on standard input, which is what `run` alone reads.
    if files.iter().any(|file| file.as_os_str() == "-") {
        if files.len() > 1 || code.is_some() || native.is_some() {
            return Err(RUN.mistake(
                "`-` (the program on standard input) must be the only FILE, without -e or --native"
                    .to_owned(),
            ));
        }
        files.clear();
    }
    Ok(Command::Run {
        files,
        code,
        native,
    })
}

fn read_compile(parser: &mut Parser, options: &mut EngineOptions) -> Result<Command, Stop> {
    let (mut file, mut output, mut release, mut debug) = (None, None, None, None);
    let mut exe = None;
    read(parser, options, &COMPILE, |token, parser, _| {
        if OUTPUT.matches(token) {
            let value = path_of(parser, &OUTPUT, &COMPILE)?;
            set_once(&mut output, value, &OUTPUT, &COMPILE)?;
        } else if EXE.matches(token) {
            let word = word_name(value_of(parser, &EXE, &COMPILE)?)?;
            set_once(&mut exe, word, &EXE, &COMPILE)?;
        } else if RELEASE.matches(token) {
            set_once(&mut release, (), &RELEASE, &COMPILE)?;
        } else if DEBUG.matches(token) {
            set_once(&mut debug, (), &DEBUG, &COMPILE)?;
        } else if let (Token::Value(value), None) = (token, &file) {
            if value == "-" {
                // The program's name names the plugin it becomes: standard input has none.
                let message = "compile reads its program from a file, not `-` (standard input)";
                return Err(COMPILE.mistake(message.to_owned()));
            }
            file = Some(file_operand(value, &COMPILE)?);
        } else {
            return Ok(false);
        }
        Ok(true)
    })?;
    let flags = [(release.is_some(), &RELEASE), (debug.is_some(), &DEBUG)];
    refuse_together(&flags, &COMPILE)?;
    Ok(Command::Compile {
        file: required(file, &["<FILE>"], &COMPILE)?,
        output,
        release: release.is_some(),
        debug: debug.is_some(),
        exe,
    })
}

/// The value of `--exe`, if it can name a word: 1 to [`MAX_NAME_BYTES`] bytes of UTF-8 with
/// no space or control character. A value that cannot is shown as an error shows a name.
fn word_name(value: OsString) -> Result<String, Stop> {
    let word = value
        .into_string()
        .map_err(|value| value.to_string_lossy().into_owned());
    match word {
        Ok(word)
            if (1..=MAX_NAME_BYTES).contains(&word.len())
                && !word.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(word)
        }
        Ok(value) | Err(value) => {
            let shown = ShownName(&value);
            Err(COMPILE.mistake(format!(
                "invalid value \"{shown}\" for '--exe <WORD>': expected a word name \
                 (1 to {MAX_NAME_BYTES} bytes, no spaces or control characters)"
            )))
        }
    }
}

fn read_plugin(parser: &mut Parser, options: &mut EngineOptions) -> Result<PluginCommand, Stop> {
    let mut command = None;
    read(parser, options, &PLUGIN, |token, parser, options| {
        let Token::Value(name) = token else {
            return Ok(false);
        };
        command = Some(match name.to_str().unwrap_or_default() {
            "info" => PluginCommand::Info {
                file: read_files(parser, options, &PLUGIN_INFO, &["<FILE>"])?.remove(0),
            },
            "call" => read_call(parser, options)?,
            #[cfg(feature = "update")]
            "list" => {
                read(parser, options, &PLUGIN_LIST, |_, _, _| Ok(false))?;
                PluginCommand::List
            }
            "help" => return Err(help_of(&PLUGIN, parser)),
            _ => return Err(unrecognized(&PLUGIN, name)),
        });
        Ok(true)
    })?;
    command.ok_or_else(|| {
        let words: Vec<&str> = PLUGIN.commands.iter().map(|c| c.word()).collect();
        PLUGIN.mistake(format!(
            "'fastforth plugin' requires a subcommand but one was not provided\n  [subcommands: {}, help]",
            words.join(", ")
        ))
    })
}

/// `plugin call FILE FUNCTION ARGS...`: the arguments may be negative numbers.
fn read_call(parser: &mut Parser, options: &mut EngineOptions) -> Result<PluginCommand, Stop> {
    let mut values: Vec<OsString> = Vec::new();
    read(parser, options, &PLUGIN_CALL, |token, parser, _| {
        match token {
            Token::Value(value) => values.push(value.clone()),
            Token::Flag(flag) if values.len() >= 2 && is_negative_number(flag) => {
                let mut value = OsString::from(flag);
                value.extend(parser.optional_value());
                values.push(value);
            }
            Token::Flag(_) => return Ok(false),
        }
        Ok(true)
    })?;
    let mut values = values.into_iter();
    let (file, function) = match (values.next(), values.next()) {
        (Some(file), Some(function)) => (file, function),
        (file, _) => {
            let missing = if file.is_some() {
                &["<FUNCTION>"][..]
            } else {
                &["<FILE>", "<FUNCTION>"]
            };
            return Err(missing_arguments(missing, &PLUGIN_CALL));
        }
    };
    let function = text(function, &Flag::new("<FUNCTION>", None, ""), &PLUGIN_CALL)?;
    let args = values
        .map(|arg| text(arg, &Flag::new("[ARGS]...", None, ""), &PLUGIN_CALL))
        .collect::<Result<_, _>>()?;
    Ok(PluginCommand::Call {
        file: file.into(),
        function,
        args,
    })
}

/// `-5`, which lexopt reads as the flag `-5` (with any more digits as its value).
fn is_negative_number(flag: &str) -> bool {
    flag.len() == 2 && flag.as_bytes()[1].is_ascii_digit()
}

#[cfg(feature = "update")]
fn read_update(parser: &mut Parser, options: &mut EngineOptions) -> Result<UpdateArgs, Stop> {
    let (mut channel, mut check, mut rollback) = (None, None, None);
    read(parser, options, &UPDATE, |token, parser, _| {
        if CHANNEL.matches(token) {
            let value = text(value_of(parser, &CHANNEL, &UPDATE)?, &CHANNEL, &UPDATE)?;
            set_once(&mut channel, value, &CHANNEL, &UPDATE)?;
        } else if CHECK.matches(token) {
            set_once(&mut check, (), &CHECK, &UPDATE)?;
        } else if ROLLBACK.matches(token) {
            set_once(&mut rollback, (), &ROLLBACK, &UPDATE)?;
        } else {
            return Ok(false);
        }
        Ok(true)
    })?;
    refuse_together(
        &[(check.is_some(), &CHECK), (rollback.is_some(), &ROLLBACK)],
        &UPDATE,
    )?;
    refuse_together(
        &[
            (rollback.is_some(), &ROLLBACK),
            (channel.is_some(), &CHANNEL),
        ],
        &UPDATE,
    )?;
    Ok(UpdateArgs {
        channel,
        check: check.is_some(),
        rollback: rollback.is_some(),
    })
}

/// A command whose arguments are exactly the files `names`.
fn read_files(
    parser: &mut Parser,
    options: &mut EngineOptions,
    page: &Page,
    names: &[&str],
) -> Result<Vec<PathBuf>, Stop> {
    let mut files = Vec::new();
    read(parser, options, page, |token, _, _| match token {
        Token::Value(file) if files.len() < names.len() => {
            files.push(PathBuf::from(file));
            Ok(true)
        }
        _ => Ok(false),
    })?;
    if files.len() < names.len() {
        return Err(missing_arguments(&names[files.len()..], page));
    }
    Ok(files)
}

/// `help [COMMAND]...` under `page`: the page of the command named.
fn help_of(page: &'static Page, parser: &mut Parser) -> Stop {
    let mut page = page;
    loop {
        let name = match next(parser, page) {
            Ok(Some(Token::Value(name))) => name,
            Ok(Some(Token::Flag(flag))) => {
                return page.mistake(format!("unexpected argument '{flag}' found"));
            }
            Ok(None) => return Stop::Help(page.render()),
            Err(stop) => return stop,
        };
        match page
            .commands
            .iter()
            .find(|c| name.to_str() == Some(c.word()))
        {
            Some(command) => page = command,
            None => return unrecognized(page, &name),
        }
    }
}

/// The value of `flag`, from the same argument (`--flag=value`) or the next.
fn value_of(parser: &mut Parser, flag: &Flag, page: &Page) -> Result<OsString, Stop> {
    parser.value().map_err(|_| {
        page.mistake(format!(
            "a value is required for '{}' but none was supplied",
            flag.syntax()
        ))
    })
}

/// A FILE operand: an empty one names nothing.
fn file_operand(value: &OsString, page: &Page) -> Result<PathBuf, Stop> {
    if value.is_empty() {
        return Err(page.mistake("invalid FILE '': an empty path".to_owned()));
    }
    Ok(PathBuf::from(value))
}

/// A flag's value that names a file or directory: an empty one names nothing.
fn path_of(parser: &mut Parser, flag: &Flag, page: &Page) -> Result<PathBuf, Stop> {
    let value = value_of(parser, flag, page)?;
    if value.is_empty() {
        let message = format!("invalid value '' for '{}': an empty path", flag.syntax());
        return Err(page.mistake(message));
    }
    Ok(value.into())
}

fn text(value: OsString, flag: &Flag, page: &Page) -> Result<String, Stop> {
    value.into_string().map_err(|value| {
        page.mistake(format!(
            "invalid value '{}' for '{}': not UTF-8",
            value.to_string_lossy(),
            flag.syntax()
        ))
    })
}

fn set_once<T>(slot: &mut Option<T>, value: T, flag: &Flag, page: &Page) -> Result<(), Stop> {
    if slot.is_some() {
        return Err(given_twice(flag, page));
    }
    *slot = Some(value);
    Ok(())
}

fn given_twice(flag: &Flag, page: &Page) -> Stop {
    page.mistake(format!(
        "the argument '{}' cannot be used multiple times",
        flag.syntax()
    ))
}

/// Refuses two options given together (each `(given, flag)`).
fn refuse_together(pair: &[(bool, &Flag); 2], page: &Page) -> Result<(), Stop> {
    let [(true, first), (true, second)] = pair else {
        return Ok(());
    };
    Err(page.mistake(format!(
        "the argument '{}' cannot be used with '{}'",
        first.syntax(),
        second.syntax()
    )))
}

fn required<T>(value: Option<T>, names: &[&str], page: &Page) -> Result<T, Stop> {
    value.ok_or_else(|| missing_arguments(names, page))
}

fn missing_arguments(names: &[&str], page: &Page) -> Stop {
    let mut message = "the following required arguments were not provided:".to_owned();
    for name in names {
        message += &format!("\n  {name}");
    }
    page.mistake(message)
}

impl EngineOptions {
    /// Takes `token` with its value if it is an engine option; `Ok(false)` if it is none.
    fn take(&mut self, token: &Token, parser: &mut Parser, page: &Page) -> Result<bool, Stop> {
        let Some(flag) = ENGINE_FLAGS.iter().find(|flag| flag.matches(token)) else {
            return Ok(false);
        };
        if !matches!(flag.long, "--link" | "--stage") && self.given.contains(&flag.long) {
            return Err(given_twice(flag, page));
        }
        self.given.push(flag.long);
        let number = |parser: &mut Parser, min: usize, max: usize| {
            number_of(parser, flag, page, min as u64, Some(max as u64)).map(|n| n as usize)
        };
        match flag.long {
            "--engine" => self.engine = Some(path_of(parser, flag, page)?),
            "--builtin" => self.builtin = true,
            #[cfg(feature = "update")]
            "--plugin-dir" => self.plugin_dir = Some(path_of(parser, flag, page)?),
            "--link" => self.links.push(path_of(parser, flag, page)?),
            "--stage" => {
                let given = (
                    self.parser_stage.is_some(),
                    self.compiler_stage.is_some(),
                    self.optimizer_stage.is_some(),
                    self.backend_stage.is_some(),
                );
                let given = |stage| match stage {
                    PluginStage::Parser => given.0,
                    PluginStage::Compiler => given.1,
                    PluginStage::Optimizer => given.2,
                    PluginStage::Backend => given.3,
                };
                let (stage, file) = parsed_value(parser, flag, page, |text| {
                    crate::forth_cmd::stage_plugin(text, given)
                })?;
                let slot = match stage {
                    PluginStage::Parser => &mut self.parser_stage,
                    PluginStage::Compiler => &mut self.compiler_stage,
                    PluginStage::Optimizer => &mut self.optimizer_stage,
                    PluginStage::Backend => &mut self.backend_stage,
                };
                *slot = Some(file);
            }
            "--max-steps" => self.max_steps = Some(number_of(parser, flag, page, 1, None)?),
            "--data-space" => self.data_space = number(parser, 0, Limits::MAX_DATA_SPACE_BYTES)?,
            "--stack-cells" => {
                self.stack_cells = number(parser, Limits::MIN_STACK_CELLS, Limits::MAX_STACK_CELLS)?
            }
            "--return-stack-cells" => {
                self.return_stack_cells =
                    number(parser, Limits::MIN_STACK_CELLS, Limits::MAX_STACK_CELLS)?
            }
            "--files" => {
                self.file_access = parsed_value(parser, flag, page, crate::forth_cmd::file_access)?
            }
            // --max-source-bytes, the last of ENGINE_FLAGS
            _ => self.max_source_bytes = number(parser, 1, Limits::MAX_SOURCE_BYTES)?,
        }
        Ok(true)
    }
}

/// The value given to `flag`, read by `parse`, which says why it refuses one.
fn parsed_value<T>(
    parser: &mut Parser,
    flag: &Flag,
    page: &Page,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, Stop> {
    let value = value_of(parser, flag, page)?;
    let value = value.to_string_lossy();
    parse(&value).map_err(|why| {
        page.mistake(format!(
            "invalid value '{value}' for '{}': {why}",
            flag.syntax()
        ))
    })
}

/// The number given to `flag`, within `min..=max` (`min..` without a `max`).
fn number_of(
    parser: &mut Parser,
    flag: &Flag,
    page: &Page,
    min: u64,
    max: Option<u64>,
) -> Result<u64, Stop> {
    let value = value_of(parser, flag, page)?;
    let value = value.to_string_lossy();
    let invalid = |why: String| {
        page.mistake(format!(
            "invalid value '{value}' for '{}': {why}",
            flag.syntax()
        ))
    };
    let number: u64 = value.parse().map_err(|error| invalid(format!("{error}")))?;
    let range = match max {
        Some(max) => format!("{min}..={max}"),
        None => format!("{min}.."),
    };
    if number < min || max.is_some_and(|max| number > max) {
        return Err(invalid(format!("{number} is not in {range}")));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &str) -> Result<Cli, Stop> {
        parse(words.split_whitespace().map(OsString::from))
    }

    fn mistake(words: &str) -> String {
        match parse_words(words) {
            Err(Stop::Mistake { message, .. }) => message,
            Err(Stop::Help(_)) => panic!("{words}: a help page, not a mistake"),
            Ok(_) => panic!("{words}: accepted"),
        }
    }

    fn help(words: &str) -> String {
        match parse_words(words) {
            Err(Stop::Help(page)) => page,
            _ => panic!("{words}: no help page"),
        }
    }

    #[test]
    fn engine_options_are_read_before_and_after_the_command() {
        for words in [
            "--max-steps 7 --link a.so run x.fs -e bye",
            "run --max-steps=7 x.fs --link a.so -e bye",
        ] {
            let cli = parse_words(words).unwrap();
            assert_eq!(cli.options.max_steps, Some(7), "{words}");
            assert_eq!(cli.options.links, [PathBuf::from("a.so")], "{words}");
            let Some(Command::Run { files, code, .. }) = cli.command else {
                panic!("{words}: not run");
            };
            assert_eq!(files, [PathBuf::from("x.fs")]);
            assert_eq!(code.as_deref(), Some("bye"));
        }
    }

    #[test]
    fn plugin_call_takes_negative_numbers_as_arguments() {
        let cli = parse_words("plugin call p.so add_numbers -5 -53").unwrap();
        let Some(Command::Plugin(PluginCommand::Call { function, args, .. })) = cli.command else {
            panic!("not plugin call");
        };
        assert_eq!(function, "add_numbers");
        assert_eq!(args, ["-5", "-53"]);
    }

    #[test]
    fn each_command_has_its_help_page_both_ways() {
        assert_eq!(help("plugin call --help"), help("help plugin call"));
        assert_eq!(help("-h"), help("help"));
        let run = help("run -h");
        assert!(run.starts_with("Run Forth source files"), "{run}");
        assert!(run.contains("  -e, --evaluate <CODE>  "), "{run}");
        assert!(run.contains("--data-space <BYTES>"), "{run}");
        assert!(run.contains("[default: 1048576]"), "{run}");
    }

    #[test]
    fn a_help_page_lists_only_the_engine_flags_its_command_takes() {
        let compile = help("compile --help");
        assert!(compile.contains("--max-steps <N>"), "{compile}");
        assert!(compile.contains("--plugin-dir <DIR>"), "{compile}");
        assert!(!compile.contains("--engine <PLUGIN_FILE>"), "{compile}");
        assert!(!compile.contains("--stack-cells"), "{compile}");
        let update = help("update --help");
        assert!(update.contains("--plugin-dir <DIR>"), "{update}");
        assert!(!update.contains("--max-steps"), "{update}");
        let info = help("plugin info --help");
        assert!(
            !info.contains("--plugin-dir") && !info.contains("--max-steps"),
            "{info}"
        );
        let run = help("run --help");
        assert!(
            run.contains("--engine") && run.contains("--stack-cells"),
            "{run}"
        );
    }

    #[test]
    fn the_probe_is_no_command_on_the_help_page() {
        assert!(!help("--help").contains(PROBE_SUBCOMMAND));
        let cli = parse_words(&format!("{PROBE_SUBCOMMAND} p.so")).unwrap();
        assert!(matches!(cli.command, Some(Command::Probe { file }) if file.as_os_str() == "p.so"));
    }

    #[test]
    fn a_lone_dash_is_the_program_on_standard_input() {
        let cli = parse_words("run -").unwrap();
        assert!(
            matches!(cli.command, Some(Command::Run { files, code: None, .. }) if files.is_empty())
        );
    }

    #[test]
    fn mistakes_name_the_argument() {
        let cases = [
            ("--bogus", "unexpected argument '--bogus' found"),
            ("run -V", "unexpected argument '-V' found"),
            (
                "run - x.fs",
                "`-` (the program on standard input) must be the only FILE, without -e or --native",
            ),
            (
                "compile -",
                "compile reads its program from a file, not `-` (standard input)",
            ),
            (
                "run - -e bye",
                "`-` (the program on standard input) must be the only FILE, without -e or --native",
            ),
            ("nonsense", "unrecognized subcommand 'nonsense'"),
            ("help nonsense", "unrecognized subcommand 'nonsense'"),
            (
                "--stack-cells 0 run",
                "invalid value '0' for '--stack-cells <CELLS>': 0 is not in 1..=1048576",
            ),
            (
                "run --max-steps x",
                "invalid value 'x' for '--max-steps <N>': invalid digit found in string",
            ),
            (
                "run -e",
                "a value is required for '--evaluate <CODE>' but none was supplied",
            ),
            (
                "--engine a.so run --engine b.so",
                "the argument '--engine <PLUGIN_FILE>' cannot be used multiple times",
            ),
            (
                "compile --debug --release x.fs",
                "the argument '--release' cannot be used with '--debug'",
            ),
            (
                "compile",
                "the following required arguments were not provided:\n  <FILE>",
            ),
            (
                "plugin call p.so",
                "the following required arguments were not provided:\n  <FUNCTION>",
            ),
            (
                "plugin",
                "'fastforth plugin' requires a subcommand but one was not provided",
            ),
        ];
        for (words, expected) in cases {
            let found = mistake(words);
            assert!(found.starts_with(expected), "{words}: {found}");
        }
    }

    #[test]
    fn an_exe_word_must_be_a_word_name_shown_escaped_and_cut() {
        let refused = |word: &str| {
            let args = ["compile", "--exe", word, "x.fs"].map(OsString::from);
            match parse(args) {
                Err(Stop::Mistake { message, .. }) => message,
                _ => panic!("{word:?}: accepted"),
            }
        };
        let expected = "for '--exe <WORD>': expected a word name (1 to 255 bytes, no spaces or control characters)";
        for (word, shown) in [
            ("", String::new()),
            ("a b", "a b".to_owned()),
            ("a\x1bb\nc", "a\\u{1b}b\\nc".to_owned()),
            (&"x".repeat(256), format!("{}...", "x".repeat(64))),
        ] {
            assert_eq!(
                refused(word),
                format!("invalid value \"{shown}\" {expected}")
            );
        }
        let cli = parse_words(&format!("compile --exe {} x.fs", "X".repeat(255))).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Compile { exe: Some(word), .. }) if word.len() == 255)
        );
    }

    #[cfg(feature = "update")]
    #[test]
    fn update_refuses_flags_that_contradict_each_other() {
        assert_eq!(
            mistake("update --check --rollback"),
            "the argument '--check' cannot be used with '--rollback'"
        );
        assert_eq!(
            mistake("update --channel file:///x --rollback"),
            "the argument '--rollback' cannot be used with '--channel <URL>'"
        );
        let cli = parse_words("update --channel file:///x --check").unwrap();
        let Some(Command::Update(args)) = cli.command else {
            panic!("not update");
        };
        assert_eq!(args.channel.as_deref(), Some("file:///x"));
        assert!(args.check && !args.rollback);
    }

    #[test]
    fn a_mistake_prints_the_usage_of_its_command() {
        let text = parse_words("plugin info").err().unwrap().text();
        assert!(
            text.ends_with(
                "\n\nUsage: fastforth plugin info [OPTIONS] <FILE>\n\nFor more information, try '--help'.\n"
            ),
            "{text}"
        );
    }
}

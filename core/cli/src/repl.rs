//! `fastforth repl`: an interactive session with line editing and history. Each line is
//! evaluated and answered with ` ok`; an error is reported and resets the stacks but keeps
//! the dictionary. `#engine` shows the engine, `#engine FILE` swaps the engine plugin;
//! `#link` lists the linked native plugins, `#link FILE` links one or swaps in a new build;
//! `#update [URL]` updates the installed plugins and swaps the new engine into the session;
//! `#stage` lists the pipeline's stages, `#stage parser FILE` or `#stage optimizer FILE`
//! puts a stage plugin in place for the lines and definitions that follow (`#stage KIND
//! builtin` goes back). A command is the line's whole first word. Under `--max-steps` or
//! `--files` the commands that load a plugin file are refused: the input is untrusted, and
//! native code is bounded by neither.
//! Ctrl-C while a line runs on the built-in engine throws -28 into the running word and
//! keeps the session; history is saved after every line (a history file that cannot be
//! read without waiting, or is over 4 MiB, is skipped with a warning). A line over
//! `--max-source-bytes` is refused (and not kept) and the session goes on; piped lines are
//! bytes, UTF-8 or not.

use crate::forth_cmd::{BUILTIN_STAGE, Engine, EngineOptions, Outcome, Terminal};
use crate::history::History;
use crate::input;
use crate::output::{errln, error_line, outln};
use anyhow::Context;
use fastforth_host::printable;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const ENGINE_COMMAND: &str = "#engine";
const LINK_COMMAND: &str = "#link";
const STAGE_COMMAND: &str = "#stage";
#[cfg(feature = "update")]
const UPDATE_COMMAND: &str = "#update";

pub fn repl(options: &EngineOptions) -> anyhow::Result<i32> {
    let mut engine = Engine::start(options)?;
    let interrupt = engine.interrupt_handle();
    if let Some(flag) = &interrupt {
        interrupt_on_ctrl_c(flag)?;
    }
    let cap = options.max_source_bytes;
    let mut console = Terminal::new(cap);
    let mut lines = Lines::new()?;
    outln!(
        "FastForth {} ({}). BYE leaves; {ENGINE_COMMAND} FILE swaps the engine plugin; \
         {LINK_COMMAND} FILE links or swaps a native plugin; {STAGE_COMMAND} lists the \
         pipeline's stages; #update installs updates.",
        env!("CARGO_PKG_VERSION"),
        engine.describe()
    )?;
    let mut line_number = 0;
    loop {
        let Some(source) = lines.next(cap)? else {
            break;
        };
        line_number += 1;
        let Ok(source) = source else {
            errln!(
                "{}",
                input::over_cap(format!("<repl line {line_number}>"), cap)
            );
            continue;
        };
        let line = String::from_utf8_lossy(&source);
        if let Some(command) = Command::parse(&line) {
            match untrusted_input(options) {
                Some(flag) if command.loads_native_code() => errln!(
                    "{}: refused under {flag}: it bounds Forth code, not the native code this would load",
                    printable(line.trim())
                ),
                _ => command.run(&mut engine, options)?,
            }
            continue;
        }
        let name = format!("<repl line {line_number}>");
        let clear = || {
            interrupt
                .iter()
                .for_each(|flag| flag.store(false, Ordering::Relaxed))
        };
        clear();
        let outcome = engine.evaluate(&source, &name, &mut console)?;
        clear();
        match outcome {
            Outcome::Continue => outln!(" ok")?,
            Outcome::Bye => break,
            Outcome::Error(message) => {
                outln!()?;
                crate::output::report_forth_error(&message);
                engine.reset_after_error()?;
            }
        }
    }
    Ok(0)
}

/// Where the REPL's lines come from: the line editor on a terminal, plain lines of bytes
/// (UTF-8 or not) when a script is piped in; either way each line goes to the history file.
struct Lines {
    editor: DefaultEditor,
    history: Option<History>,
    terminal: bool,
}

/// A line, or a line over the source size cap (refused whole).
type Line = Result<Vec<u8>, TooLong>;

/// A line longer than `--max-source-bytes`.
struct TooLong;

impl Lines {
    fn new() -> anyhow::Result<Lines> {
        let mut editor = DefaultEditor::new()?;
        let history = History::open().map(|(history, entries)| {
            for entry in entries {
                let _ = editor.add_history_entry(entry);
            }
            history
        });
        let terminal = std::io::stdin().is_terminal();
        Ok(Lines {
            editor,
            history,
            terminal,
        })
    }

    /// The next line of at most `cap` bytes; `None` at the end of input.
    fn next(&mut self, cap: usize) -> anyhow::Result<Option<Line>> {
        let line = match self.terminal {
            true => self.edited_line()?.map(|line| line.into_bytes()),
            false => match piped_line(cap).context("cannot read standard input")? {
                Some(Ok(line)) => Some(line),
                other => return Ok(other),
            },
        };
        let Some(line) = line else { return Ok(None) };
        if line.len() > cap {
            return Ok(Some(Err(TooLong)));
        }
        let entry = String::from_utf8_lossy(&line);
        let _ = self.editor.add_history_entry(entry.as_ref());
        if let Some(history) = &self.history {
            history.append(&entry);
        }
        Ok(Some(Ok(line)))
    }

    /// The next line from the line editor; Ctrl-C at the prompt starts the line again.
    fn edited_line(&mut self) -> anyhow::Result<Option<String>> {
        loop {
            match self.editor.readline("") {
                Ok(line) => return Ok(Some(line)),
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => return Ok(None),
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// The next line of standard input, as [`Lines::next`] reads it when no terminal is there;
/// of a line over the cap, the rest is read and dropped.
fn piped_line(cap: usize) -> std::io::Result<Option<Line>> {
    let mut stdin = input::stdin();
    let Some(line) = input::read_line_capped(&mut *stdin, cap)? else {
        return Ok(None);
    };
    if !line.complete {
        input::skip_line(&mut *stdin)?;
        return Ok(Some(Err(TooLong)));
    }
    Ok(Some(Ok(line.text)))
}

/// The flag under which the session's input counts as untrusted (a step budget, confined
/// file access), if one was given: such input may not load native code.
fn untrusted_input(options: &EngineOptions) -> Option<&'static str> {
    if options.max_steps.is_some() {
        return Some("--max-steps");
    }
    (options.file_access != fastforth_engine::FileAccess::Full).then_some("--files")
}

/// A REPL command: a line whose first word is one of the `#` commands (exactly).
enum Command<'a> {
    /// `#engine [FILE]`
    Engine(&'a str),
    /// `#link [FILE]`
    Link(&'a str),
    /// `#stage [KIND FILE|builtin]`
    Stage(&'a str),
    /// `#update [URL]`
    #[cfg(feature = "update")]
    Update(&'a str),
}

impl<'a> Command<'a> {
    /// The command on `line`, if its first word names one; the rest is its argument.
    fn parse(line: &'a str) -> Option<Command<'a>> {
        let line = line.trim();
        let (name, argument) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let argument = argument.trim();
        match name {
            ENGINE_COMMAND => Some(Command::Engine(argument)),
            LINK_COMMAND => Some(Command::Link(argument)),
            STAGE_COMMAND => Some(Command::Stage(argument)),
            #[cfg(feature = "update")]
            UPDATE_COMMAND => Some(Command::Update(argument)),
            _ => None,
        }
    }

    /// Whether the command loads a plugin file: `#engine FILE`, `#link FILE`, `#stage KIND
    /// FILE` (anything but exactly `builtin`) or `#update`.
    fn loads_native_code(&self) -> bool {
        match self {
            Command::Engine(file) | Command::Link(file) => !file.is_empty(),
            Command::Stage(argument) => {
                stage_target(argument).is_some_and(|(_, file)| file != BUILTIN_STAGE)
            }
            #[cfg(feature = "update")]
            Command::Update(_) => true,
        }
    }

    #[cfg_attr(not(feature = "update"), expect(unused_variables))]
    fn run(self, engine: &mut Engine, options: &EngineOptions) -> anyhow::Result<()> {
        match self {
            Command::Engine(file) => engine_command(engine, file),
            Command::Link(file) => link_command(engine, file),
            Command::Stage(argument) => stage_command(engine, argument),
            #[cfg(feature = "update")]
            Command::Update(channel) => {
                update_command(engine, options, channel);
                Ok(())
            }
        }
    }
}

/// The kind and the file (or `builtin`) of `#stage KIND FILE`, if both are there.
fn stage_target(argument: &str) -> Option<(&str, &str)> {
    let (kind, file) = argument.split_once(char::is_whitespace)?;
    Some((kind, file.trim()))
}

/// Ctrl-C (SIGINT) sets the engine's interrupt flag; at the prompt the line editor reads it
/// as a key instead. A second Ctrl-C before the engine took the first (a word waiting in
/// KEY or ACCEPT) ends the REPL with status 130, as without this handler.
fn interrupt_on_ctrl_c(flag: &Arc<AtomicBool>) -> anyhow::Result<()> {
    use signal_hook::{consts::SIGINT, flag as signal_flag};
    // The order matters: the second registration arms the first for the next signal.
    signal_flag::register_conditional_shutdown(SIGINT, 130, flag.clone())?;
    signal_flag::register(SIGINT, flag.clone())?;
    Ok(())
}

fn engine_command(engine: &mut Engine, argument: &str) -> anyhow::Result<()> {
    if argument.is_empty() {
        return outln!("{}", engine.describe());
    }
    match engine.swap(std::path::Path::new(argument)) {
        Ok(report) => outln!("{report}; definitions, stacks and data kept")?,
        Err(error) => errln!(
            "swap refused, {} keeps serving: {}",
            engine.describe(),
            error_line(&error)
        ),
    }
    Ok(())
}

/// `#stage` lists the stages; `#stage KIND FILE` swaps one (`builtin` for the built-in
/// one). Definitions compiled before keep their code: they are not recompiled.
fn stage_command(engine: &mut Engine, argument: &str) -> anyhow::Result<()> {
    if argument.is_empty() {
        for (kind, serving) in engine.stages() {
            outln!("{kind:<10} {serving}")?;
        }
        return Ok(());
    }
    let Some((kind, file)) = stage_target(argument) else {
        errln!("usage: {STAGE_COMMAND} [KIND FILE|builtin]");
        return Ok(());
    };
    match engine.swap_stage(kind, std::path::Path::new(file)) {
        // Only the stages that make code leave earlier definitions as they were compiled.
        Ok(report) if kind == "parser" => outln!("{report}")?,
        Ok(report) => outln!("{report}; definitions compiled before keep their code")?,
        Err(error) => errln!(
            "stage refused, the serving stages stay: {}",
            error_line(&error)
        ),
    }
    Ok(())
}

fn link_command(engine: &mut Engine, argument: &str) -> anyhow::Result<()> {
    if argument.is_empty() {
        for (name, version) in engine.linked() {
            outln!("{name} {version}")?;
        }
        return Ok(());
    }
    match engine.link(std::path::Path::new(argument)) {
        Ok(linked) => {
            let mut new = word_list(linked.new_words.iter().map(|(word, _)| word));
            if new.is_empty() {
                new = "none".to_owned();
            }
            match linked.swapped {
                Some(report) => outln!(
                    "{} {} -> {}; new words: {}",
                    linked.plugin,
                    report.from_version,
                    report.to_version,
                    new
                ),
                None => outln!(
                    "{} {} linked: {}",
                    linked.plugin,
                    linked.version,
                    word_list(linked.words.iter())
                ),
            }?;
            for (word, why) in &linked.undefined {
                let (argument, word, why) = (printable(argument), printable(word), printable(why));
                errln!("{argument}: {word} is not defined ({why}); link it again to define it");
            }
        }
        Err(error) => errln!(
            "link refused, the linked words keep serving: {}",
            error_line(&error)
        ),
    }
    Ok(())
}

/// The names of `words` (a native plugin's, so not to be trusted) for a terminal, separated
/// by spaces.
fn word_list<'a>(words: impl Iterator<Item = &'a String>) -> String {
    let words: Vec<&str> = words.map(String::as_str).collect();
    printable(&words.join(" ")).into_owned()
}

/// `#update [URL]`: a refused update is reported and the session keeps its engine.
#[cfg(feature = "update")]
fn update_command(engine: &mut Engine, options: &EngineOptions, channel: &str) {
    let channel = (!channel.is_empty()).then(|| channel.to_owned());
    if let Err(error) = crate::update_cmd::update_session(engine, options.plugin_dir(), channel) {
        errln!(
            "update refused, {} keeps serving: {}",
            engine.describe(),
            error_line(&error)
        );
    }
}

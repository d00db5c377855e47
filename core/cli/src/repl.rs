//! `fastforth repl`: an interactive session with line editing and history. Each line is
//! evaluated and answered with ` ok`; an error is reported and resets the stacks but keeps
//! the dictionary. `#engine` shows the engine, `#engine FILE` swaps the engine plugin.

use crate::forth_cmd::{Engine, EngineOptions, Outcome, Terminal};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

const ENGINE_COMMAND: &str = "#engine";

pub fn repl(options: &EngineOptions) -> anyhow::Result<i32> {
    let mut engine = Engine::start(options)?;
    let mut console = Terminal::default();
    let mut editor = DefaultEditor::new()?;
    let history = history_file();
    if let Some(history) = &history {
        let _ = editor.load_history(history);
    }
    println!(
        "FastForth {} ({}). BYE leaves; {ENGINE_COMMAND} FILE swaps the engine plugin.",
        env!("CARGO_PKG_VERSION"),
        engine.describe()
    );
    let mut line_number = 0;
    loop {
        let line = match editor.readline("") {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error.into()),
        };
        line_number += 1;
        let _ = editor.add_history_entry(line.as_str());
        if let Some(argument) = line.trim().strip_prefix(ENGINE_COMMAND) {
            engine_command(&mut engine, argument.trim());
            continue;
        }
        let name = format!("<repl line {line_number}>");
        match engine.evaluate(&line, &name, &mut console)? {
            Outcome::Continue => println!(" ok"),
            Outcome::Bye => break,
            Outcome::Error(message) => {
                println!();
                eprintln!("{message}");
                engine.reset_after_error()?;
            }
        }
    }
    if let Some(history) = &history {
        let _ = editor.save_history(history);
    }
    Ok(0)
}

fn engine_command(engine: &mut Engine, argument: &str) {
    if argument.is_empty() {
        println!("{}", engine.describe());
        return;
    }
    match engine.swap(std::path::Path::new(argument)) {
        Ok(report) => println!("{report}; definitions, stacks and data kept"),
        Err(error) => eprintln!(
            "swap refused, {} keeps serving: {error:#}",
            engine.describe()
        ),
    }
}

fn history_file() -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME")?;
    Some(std::path::Path::new(&home).join(".fastforth_history"))
}

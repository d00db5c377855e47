//! Compiling through the compiler stage: the runs of tokens the text interpreter meets while
//! it compiles, asked about with what the dictionary says of each, and the answers taken a
//! token at a time (`compiler_stage` holds the seam).

use crate::compiler_stage::{
    Action, CompiledRun, CompilerStage, Facts, MAX_RUN_TOKENS, Run, RunPlace,
};
use crate::engine::Forth;
use crate::input_source::SourceKind;
use crate::parser::{self, Number};
use std::sync::Arc;

impl Forth {
    /// Sets the compiler stage that says what to compile for the tokens met while compiling
    /// from now on (`None`: the built-in compiler). Definitions compiled already keep their
    /// code.
    pub fn set_compiler_stage(&mut self, stage: Option<Arc<dyn CompilerStage>>) {
        self.compiler_stage = stage;
        self.compiled_run = None;
    }

    /// The compiler stage's action for the token `name` at address `start` of the input
    /// buffer (`number`: its value as the parser stage read it), asking about the run it
    /// starts when the answer held does not serve it; `None` when no definition is being
    /// compiled or the token is the engine's.
    pub(crate) fn staged_action(
        &mut self,
        name: &[u8],
        start: usize,
        number: Option<Option<Number>>,
    ) -> Option<Action> {
        let place = self.run_place()?;
        let held = self.compiled_run.as_mut();
        if let Some(action) = held.and_then(|run| run.take(place, start, name)) {
            return Some(action);
        }
        let first = self.token_facts(name, number);
        if first == Facts::Engine {
            return None;
        }
        let (run, starts) = self.run_from(name.to_vec(), start, first);
        let actions = self.ask_compiler_stage(&run);
        let compiled = self
            .compiled_run
            .insert(CompiledRun::new(place, run, &starts, actions));
        compiled.take(place, start, name)
    }

    fn run_place(&self) -> Option<RunPlace> {
        let (buffer, len) = self.input_buffer();
        Some(RunPlace {
            sources: self.sources.len(),
            line: self.sources.last().map_or(0, |source| source.line),
            buffer,
            len,
            xt: self.definition.as_ref()?.xt,
        })
    }

    /// What the dictionary says of a token while compiling (`number`: its value as the
    /// parser stage read it, else the built-in parser reads it).
    fn token_facts(&self, name: &[u8], number: Option<Option<Number>>) -> Facts {
        let definition = self.definition.as_ref();
        if definition.is_some_and(|definition| definition.locals.offset(name).is_some()) {
            return Facts::Engine;
        }
        match self.dict.find(name) {
            Some(index) if self.dict.words[index].immediate => Facts::Engine,
            Some(index) => Facts::Word {
                xt: self.dict.words[index].xt,
                ops: self.builtin_form(index),
            },
            None => Facts::NotFound(number.unwrap_or_else(|| {
                parser::parse_number(name, u64::try_from(self.base()).unwrap_or(0))
            })),
        }
    }

    /// The run that starts with the token `name` at `start`: it and the tokens after it on
    /// the line, up to the first one that is the engine's, at most [`MAX_RUN_TOKENS`]; and
    /// where each starts. The tokens after it are the parser stage's, with their numbers,
    /// when one is set.
    fn run_from(&self, name: Vec<u8>, start: usize, facts: Facts) -> (Run, Vec<usize>) {
        let (buffer, _) = self.input_buffer();
        let (mut tokens, mut starts) = (vec![(name, facts)], vec![start]);
        for (token_start, len, number) in self.tokens_after() {
            let text = &self.mem[buffer + token_start..buffer + token_start + len];
            let facts = self.token_facts(text, number);
            if tokens.len() == MAX_RUN_TOKENS || facts == Facts::Engine {
                break;
            }
            tokens.push((text.to_vec(), facts));
            starts.push(buffer + token_start);
        }
        let source = self.sources.last();
        let run = Run {
            definition: self
                .definition
                .as_ref()
                .and_then(|d| d.name.clone())
                .unwrap_or_default(),
            source: source
                .filter(|source| source.kind != SourceKind::Evaluate)
                .map_or_else(Vec::new, |source| source.name.as_bytes().to_vec()),
            line: source.map_or(0, |source| source.line),
            tokens,
        };
        (run, starts)
    }

    /// The tokens after `>IN` on the line, as the text interpreter will take them: from the
    /// parser stage's answer when one is set (with their numbers), else as the built-in
    /// parser splits them. Each: its offset in the line, its length, its number if read.
    fn tokens_after(&self) -> Vec<(usize, usize, Option<Option<Number>>)> {
        let (buffer, len) = self.input_buffer();
        if self.parser_stage.is_some() {
            let at = self.input_position();
            let staged = self.staged_line.iter().flat_map(|line| line.upcoming(at));
            return staged
                .take(MAX_RUN_TOKENS)
                .map(|token| (token.start as usize, token.len as usize, Some(token.number)))
                .collect();
        }
        let line = &self.mem[buffer..buffer + len];
        let mut tokens = Vec::new();
        let mut at = self.to_in();
        while tokens.len() < MAX_RUN_TOKENS {
            let (token, next) = parser::parse_word(line, at, b' ');
            if token.len == 0 {
                break;
            }
            tokens.push((token.start, token.len, None));
            at = next;
        }
        tokens
    }

    /// The compiler stage's checked actions for `run`; the built-in compiler's where the
    /// stage gave no usable answer, with why kept. Tokens after an answered prefix are the
    /// engine's.
    fn ask_compiler_stage(&mut self, run: &Run) -> Vec<Action> {
        let Some(stage) = self.compiler_stage.clone() else {
            return run.builtin_actions();
        };
        let answer = stage.compile(&run.encode()).and_then(|answer| {
            run.check_answer(&answer)
                .map_err(|error| format!("answer refused: {error}"))
        });
        match answer {
            Ok(mut actions) => {
                actions.resize(run.tokens.len(), Action::Engine);
                actions
            }
            Err(reason) => {
                self.push_stage_fault(format!(
                    "the compiler stage gave no usable answer for `{}` in {}: {reason}; the \
                     built-in compiler compiled it",
                    run.text(),
                    run.place()
                ));
                run.builtin_actions()
            }
        }
    }
}

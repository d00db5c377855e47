//! Mixed mode: the words of native Forth plugins, numbered so that an interpreter session
//! can define them as its own words (host words) and call them with its data stack. Each
//! plugin is hot-swappable: linking a new build of a plugin already linked swaps it in,
//! and the session's words call the new code from their next call on.

use crate::forth::{Evaluation, ForthConsole, HostWordError};
use crate::native::ForthNative;
use crate::{HotSwap, Loader, PluginError, SwapReport};
use fastforth_abi::throw;
use std::path::Path;
use std::sync::Arc;

/// The native plugins linked into one session and the words they provide.
pub struct NativeWords {
    loader: Arc<Loader>,
    plugins: Vec<HotSwap<ForthNative>>,
    /// Indexed by host word id: which plugin, and the word's name in it.
    words: Vec<(usize, String)>,
}

/// What linking a plugin did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    pub plugin: String,
    pub version: String,
    /// Set when the plugin was already linked and this build replaced it.
    pub swapped: Option<SwapReport>,
    /// The words that are new to the session, with their host word ids, oldest first.
    pub new_words: Vec<(String, u32)>,
    /// Every word the plugin compiled, oldest first.
    pub words: Vec<String>,
}

impl NativeWords {
    pub fn new(loader: Arc<Loader>) -> NativeWords {
        NativeWords {
            loader,
            plugins: Vec::new(),
            words: Vec::new(),
        }
    }

    /// Loads and validates the native plugin at `path`. When a plugin of the same name is
    /// already linked, the new build is swapped in (on any error the old one keeps
    /// serving); otherwise it is added.
    pub fn link(&mut self, path: &Path) -> Result<Linked, PluginError> {
        let candidate = self.loader.load::<ForthNative>(path)?;
        let words = candidate.words()?;
        let name = candidate.name().to_owned();
        let existing = self
            .plugins
            .iter()
            .position(|plugin| plugin.current().name() == name);
        // The build whose words were read is the one that serves: the file is not read again.
        let version = candidate.version().to_owned();
        let (index, swapped) = match existing {
            Some(index) => (index, Some(self.plugins[index].swap_to(candidate))),
            None => {
                let loader = self.loader.clone();
                self.plugins.push(HotSwap::serving(loader, candidate));
                (self.plugins.len() - 1, None)
            }
        };
        let mut new_words = Vec::new();
        for word in &words {
            let known = self
                .words
                .iter()
                .any(|(plugin, name)| *plugin == index && name.eq_ignore_ascii_case(word));
            if !known {
                new_words.push((word.clone(), self.words.len() as u32));
                self.words.push((index, word.clone()));
            }
        }
        Ok(Linked {
            plugin: name,
            version,
            swapped,
            new_words,
            words,
        })
    }

    /// The linked plugins: name and serving version.
    pub fn plugins(&self) -> Vec<(String, String)> {
        self.plugins
            .iter()
            .map(|plugin| {
                let current = plugin.current();
                (current.name().to_owned(), current.version().to_owned())
            })
            .collect()
    }

    /// Calls host word `id` on `stack` (bottom first) in its plugin's serving version,
    /// which stays loaded for the call even if a swap happens meanwhile.
    pub fn call(
        &self,
        id: u32,
        stack: &mut Vec<i64>,
        console: &mut dyn ForthConsole,
    ) -> Result<(), HostWordError> {
        let Some((index, word)) = self.words.get(id as usize) else {
            return Err(HostWordError {
                code: throw::UNDEFINED_WORD,
                message: format!("no native word has id {id}"),
            });
        };
        let plugin = self.plugins[*index].current().clone();
        let run = plugin
            .call_word(word, stack, console)
            .map_err(|error| HostWordError {
                code: throw::UNSUPPORTED_OPERATION,
                message: format!("native word {word}: {error}"),
            })?;
        match run.evaluation {
            Evaluation::Continue | Evaluation::Bye => {
                *stack = run.stack;
                Ok(())
            }
            Evaluation::Error { code, message } => {
                // The engine adds the code and the name of the word it called.
                let message = message
                    .strip_prefix(&format!("{code} "))
                    .unwrap_or(&message);
                let message = message
                    .strip_suffix(&format!(" in {word}"))
                    .unwrap_or(message);
                Err(HostWordError {
                    code,
                    message: format!("{message} (native code of {})", plugin.name()),
                })
            }
        }
    }
}

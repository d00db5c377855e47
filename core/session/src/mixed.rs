//! Mixed mode: the words of native Forth plugins, numbered so that an interpreter session
//! can define them as its own words (host words) and call them with its data stack. Each
//! plugin is hot-swappable: linking a new build of a plugin already linked swaps it in,
//! and the session's words call the new code from their next call on.
//!
//! Each word is resolved to its number in its plugin when the plugin is linked or swapped
//! in, so a call passes a number, not a name, and runs on the caller's cells in place. Each
//! plugin's calls share one [`NativeSession`] (its data space), which starts afresh when the
//! plugin is linked again or another build serves.

use crate::forth::{ForthConsole, HostWordError};
use crate::native::{ForthNative, NativePlugin, NativeSession};
use fastforth_abi::throw;
use fastforth_host::{HotSwap, Loader, Plugin, PluginCache, PluginError, SwapReport};
use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

/// The native plugins linked into one session and the words they provide.
pub struct NativeWords {
    loader: Arc<Loader>,
    plugins: Vec<LinkedPlugin>,
    /// Indexed by host word id.
    words: Vec<LinkedWord>,
}

/// A linked plugin: its hot-swap handle, and what its calls use.
struct LinkedPlugin {
    handle: HotSwap<ForthNative>,
    serving: RefCell<Serving>,
}

/// This thread's cache of a plugin's serving build, and the session of its calls (`None`
/// before the first call after a link).
struct Serving {
    cache: PluginCache<ForthNative>,
    session: Option<NativeSession>,
}

impl Serving {
    /// The session of the serving build: the one of the previous call, or a new one when
    /// there was none or another build serves now.
    #[inline]
    fn session(&mut self) -> &mut NativeSession {
        let build = self.cache.get();
        let current = self.session.as_ref();
        if !current.is_some_and(|session| Arc::ptr_eq(session.build(), build)) {
            self.session = None;
        }
        self.session
            .get_or_insert_with(|| NativeSession::new(build.clone()))
    }
}

/// A host word: which plugin, the word's name, and its number in the serving build (`None`
/// when that build does not compile it).
struct LinkedWord {
    plugin: usize,
    name: String,
    number: Option<u32>,
}

/// Defines a linked word in the session (its name and host word id) and says whether it
/// did (the session has host word `id` already, unless a MARKER forgot it), or says why
/// it cannot.
pub type Define<'a> = &'a mut dyn FnMut(&str, u32) -> Result<bool, String>;

/// What linking a plugin did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    pub plugin: String,
    pub version: String,
    /// Set when the plugin was already linked and this build replaced it.
    pub swapped: Option<SwapReport>,
    /// The words this link defined in the session (new ones, those an earlier link could
    /// not define, and those a MARKER forgot), with their host word ids, oldest first.
    pub new_words: Vec<(String, u32)>,
    /// The words the session could not define, with why: the next link of the program
    /// offers them again.
    pub undefined: Vec<(String, String)>,
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
    /// serving); otherwise it is added. Each word its build compiles is passed to `define`
    /// with its host word id, which defines those the session does not have; a word
    /// `define` refuses is reported in [`Linked::undefined`] and offered again at the next
    /// link.
    pub fn link(&mut self, path: &Path, define: Define<'_>) -> Result<Linked, PluginError> {
        let candidate = self.loader.load::<ForthNative>(path)?;
        self.link_loaded(candidate, define)
    }

    /// [`NativeWords::link`] of a plugin loaded already (by this session's loader or
    /// another).
    pub fn link_loaded(
        &mut self,
        candidate: Arc<Plugin<ForthNative>>,
        define: Define<'_>,
    ) -> Result<Linked, PluginError> {
        let words = candidate.words()?;
        let name = candidate.name().to_owned();
        let existing = self
            .plugins
            .iter()
            .position(|plugin| plugin.handle.current().name() == name);
        // The build whose words were read is the one that serves: the file is not read again.
        let version = candidate.version().to_owned();
        let (index, swapped) = match existing {
            Some(index) => {
                let plugin = &mut self.plugins[index];
                plugin.serving.get_mut().session = None;
                (index, Some(plugin.handle.swap_to(candidate)))
            }
            None => {
                let handle = HotSwap::serving(self.loader.clone(), candidate);
                let serving = RefCell::new(Serving {
                    cache: handle.cache(),
                    session: None,
                });
                self.plugins.push(LinkedPlugin { handle, serving });
                (self.plugins.len() - 1, None)
            }
        };
        let (mut new_words, mut undefined) = (Vec::new(), Vec::new());
        for (word, id) in self.resolve(index, &words) {
            match define(&word, id) {
                Ok(true) => new_words.push((word, id)),
                Ok(false) => {}
                Err(why) => undefined.push((word, why)),
            }
        }
        Ok(Linked {
            plugin: name,
            version,
            swapped,
            new_words,
            undefined,
            words,
        })
    }

    /// Numbers the words of plugin `index` after the serving build's list `words`, adding
    /// those new to the session; returns those the build compiles, with their host word ids.
    fn resolve(&mut self, index: usize, words: &[String]) -> Vec<(String, u32)> {
        let number_of = |name: &str| {
            let newest = words
                .iter()
                .rposition(|word| word.eq_ignore_ascii_case(name));
            newest.map(|number| number as u32)
        };
        for word in self.words.iter_mut().filter(|word| word.plugin == index) {
            word.number = number_of(&word.name);
        }
        for name in words {
            let known = self
                .words
                .iter()
                .any(|word| word.plugin == index && word.name.eq_ignore_ascii_case(name));
            if !known {
                self.words.push(LinkedWord {
                    plugin: index,
                    name: name.clone(),
                    number: number_of(name),
                });
            }
        }
        let compiled = self.words.iter().enumerate();
        compiled
            .filter(|(_, word)| word.plugin == index && word.number.is_some())
            .map(|(id, word)| (word.name.clone(), id as u32))
            .collect()
    }

    /// The linked plugins: name and serving version.
    pub fn plugins(&self) -> Vec<(String, String)> {
        self.plugins
            .iter()
            .map(|plugin| {
                let current = plugin.handle.current();
                (current.name().to_owned(), current.version().to_owned())
            })
            .collect()
    }

    /// Calls host word `id` on `cells` in place, the bottom `depth` of them in use, in its
    /// plugin's serving build, which stays loaded for the call even if a swap happens
    /// meanwhile. On the thread of [`crate::on_native_stack`], a call that throws nothing
    /// allocates nothing. `depth` is the depth the word left, also when it throws.
    #[inline]
    pub fn call_in_place(
        &self,
        id: u32,
        cells: &mut [i64],
        depth: &mut usize,
        console: &mut dyn ForthConsole,
    ) -> Result<(), HostWordError> {
        let Some(word) = self.words.get(id as usize) else {
            return Err(no_word(id));
        };
        let mut serving = self.plugins[word.plugin].serving.borrow_mut();
        let session = serving.session();
        match word.number {
            Some(number) => session.call(number, cells, depth, console),
            None => Err(not_compiled(word, session)),
        }
    }
}

#[cold]
fn no_word(id: u32) -> HostWordError {
    HostWordError {
        code: throw::UNDEFINED_WORD,
        message: format!("no native word has id {id}"),
    }
}

#[cold]
fn not_compiled(word: &LinkedWord, session: &NativeSession) -> HostWordError {
    HostWordError {
        code: throw::UNDEFINED_WORD,
        message: format!(
            "undefined word: {} is not a compiled word (native code of {})",
            word.name,
            session.build().name()
        ),
    }
}

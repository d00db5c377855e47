//! The running plugins an update swaps: one [`Slot`] per plugin name, each over a host
//! [`HotSwap`] of its kind. A slot may start empty (nothing installed yet); the first update
//! fills it. It knows nothing of manifests, downloads or state files.

use crate::UpdateError;
use fastforth_host::{HotSwap, Kind, Loader, Plugin};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// A plugin the host runs and an update may replace.
pub trait Slot: Send + Sync {
    /// Loads, validates and self-tests `path`, checks that the bytes loaded have SHA-256
    /// `sha256` (the verified ones) and that it is `name` at `version`, then makes that very
    /// load the serving version. Returns the version it replaced, `None` if empty. On any
    /// error the serving version is unchanged.
    fn swap_in(
        &self,
        path: &Path,
        name: &str,
        version: &str,
        sha256: &str,
    ) -> Result<Option<String>, UpdateError>;

    /// Undoes the last `swap_in`: the previous version serves again, or the slot is empty
    /// again if it was.
    fn undo(&self, plugin: &str) -> Result<(), UpdateError>;

    /// The serving version, if any.
    fn serving(&self) -> Option<String>;
}

/// A slot over a [`HotSwap`] of kind `K`.
pub struct HotSlot<K: Kind> {
    loader: Arc<Loader>,
    hot: Mutex<Option<Arc<HotSwap<K>>>>,
}

impl<K: Kind> HotSlot<K> {
    /// A slot serving `hot`.
    pub fn new(loader: Arc<Loader>, hot: Arc<HotSwap<K>>) -> HotSlot<K> {
        HotSlot {
            loader,
            hot: Mutex::new(Some(hot)),
        }
    }

    /// A slot with nothing installed yet.
    pub fn empty(loader: Arc<Loader>) -> HotSlot<K> {
        HotSlot {
            loader,
            hot: Mutex::new(None),
        }
    }

    /// The hot-swap handle, once something is installed.
    pub fn hot_swap(&self) -> Option<Arc<HotSwap<K>>> {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Option<Arc<HotSwap<K>>>> {
        self.hot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<K: Kind> Slot for HotSlot<K> {
    fn swap_in(
        &self,
        path: &Path,
        name: &str,
        version: &str,
        sha256: &str,
    ) -> Result<Option<String>, UpdateError> {
        // Loaded (and self-tested) once here; the swap below serves this very load.
        let candidate = load_verified::<K>(&self.loader, path, name, version, sha256)?;
        let mut hot = self.lock();
        match &*hot {
            Some(serving) => Ok(Some(serving.swap_to(candidate).from_version)),
            None => {
                *hot = Some(Arc::new(HotSwap::serving(self.loader.clone(), candidate)));
                Ok(None)
            }
        }
    }

    fn undo(&self, plugin: &str) -> Result<(), UpdateError> {
        let mut hot = self.lock();
        let Some(serving) = hot.as_ref() else {
            return Ok(());
        };
        if serving.last_known_good().is_none() {
            *hot = None;
            return Ok(());
        }
        serving
            .rollback()
            .map(|_| ())
            .map_err(|source| UpdateError::Plugin {
                plugin: plugin.to_owned(),
                error: Box::new(source),
            })
    }

    fn serving(&self) -> Option<String> {
        self.lock()
            .as_ref()
            .map(|hot| hot.current().version().to_owned())
    }
}

/// Loads, validates and self-tests `path` as a plugin of kind `K`, then checks that the bytes
/// loaded have SHA-256 `sha256` (the verified ones) and that it is `name` at `version`: what
/// a [`Slot::swap_in`] serves, for slots other than [`HotSlot`].
pub fn load_verified<K: Kind>(
    loader: &Loader,
    path: &Path,
    name: &str,
    version: &str,
    sha256: &str,
) -> Result<Arc<Plugin<K>>, UpdateError> {
    let candidate = loader
        .load::<K>(path)
        .map_err(|source| UpdateError::Plugin {
            plugin: name.to_owned(),
            error: Box::new(source),
        })?;
    if candidate.info().sha256 != sha256 {
        return Err(UpdateError::ChangedAfterCheck {
            plugin: name.to_owned(),
            path: path.into(),
            expected: sha256.to_owned(),
            found: candidate.info().sha256.clone(),
        });
    }
    if candidate.name() != name || candidate.version() != version {
        return Err(UpdateError::WrongPlugin {
            plugin: name.to_owned(),
            expected_version: version.to_owned(),
            found_name: candidate.name().to_owned(),
            found_version: candidate.version().to_owned(),
        });
    }
    Ok(candidate)
}

/// The slots of a host, by plugin name.
#[derive(Default)]
pub struct Slots {
    slots: BTreeMap<String, Arc<dyn Slot>>,
}

impl Slots {
    pub fn new() -> Slots {
        Slots::default()
    }

    /// Adds (or replaces) the slot of plugin `name`.
    pub fn insert(&mut self, name: &str, slot: Arc<dyn Slot>) {
        self.slots.insert(name.to_owned(), slot);
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Slot>> {
        self.slots.get(name)
    }

    /// The managed plugin names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.slots.keys().cloned().collect()
    }
}

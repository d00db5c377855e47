//! A registry of named plugins of different kinds, each with its own hot-swap handle and
//! swapped independently of the others.

use crate::kinds::Kind;
use crate::{HotSwap, Loader, PluginError};
use std::any::Any;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

type Slot = Arc<dyn Any + Send + Sync>;

/// Named hot-swap handles sharing one [`Loader`].
pub struct Registry {
    loader: Arc<Loader>,
    slots: Mutex<BTreeMap<String, (&'static str, Slot)>>,
}

impl Registry {
    pub fn new(loader: Arc<Loader>) -> Registry {
        Registry {
            loader,
            slots: Mutex::new(BTreeMap::new()),
        }
    }

    /// Loads the plugin at `path` as `name`, replacing any plugin registered under that name.
    pub fn load<K: Kind>(&self, name: &str, path: &Path) -> Result<Arc<HotSwap<K>>, PluginError> {
        let slot = Arc::new(HotSwap::<K>::load(self.loader.clone(), path)?);
        let kind = K::KIND.name().unwrap_or("unknown");
        let replaced = self.lock().insert(name.to_owned(), (kind, slot.clone()));
        // Dropped after the lock is released: retiring the replaced plugin runs its
        // `shutdown` and closes its library.
        drop(replaced);
        Ok(slot)
    }

    /// The handle registered as `name`, if it is of kind `K`.
    pub fn get<K: Kind>(&self, name: &str) -> Result<Arc<HotSwap<K>>, PluginError> {
        let not_registered = || PluginError::NotRegistered {
            name: name.to_owned(),
            kind: K::KIND.name().unwrap_or("unknown"),
        };
        let slot = self.lock().get(name).map(|(_, slot)| slot.clone());
        slot.ok_or_else(not_registered)?
            .downcast::<HotSwap<K>>()
            .map_err(|_| not_registered())
    }

    /// Registered names with their kinds, sorted by name.
    pub fn names(&self) -> Vec<(String, &'static str)> {
        self.lock()
            .iter()
            .map(|(name, (kind, _))| (name.clone(), *kind))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (&'static str, Slot)>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

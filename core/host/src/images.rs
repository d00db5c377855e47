//! The plugin images open in this process, shared by every [`crate::Loader`]: one live
//! plugin per shadow file, and no new `dlopen` of a file while its previous image is still
//! being shut down and closed.
//!
//! `dlopen` of a path that is still open returns the image already there, with its statics
//! as they are. Were a load to open a file whose last plugin is between its `shutdown` and
//! its `dlclose` (its `Weak` no longer upgrades), or that another loader has open, the new
//! plugin would serve an image whose `shutdown` has run, or will run while it serves.

use std::any::Any;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};

/// A loaded plugin, of any kind.
pub(crate) type AnyPlugin = Arc<dyn Any + Send + Sync>;

/// The live plugin of each open shadow file (by canonical path).
pub(crate) type OpenImages = MutexGuard<'static, BTreeMap<PathBuf, Weak<dyn Any + Send + Sync>>>;

static OPEN: Mutex<BTreeMap<PathBuf, Weak<dyn Any + Send + Sync>>> = Mutex::new(BTreeMap::new());

/// Signalled each time an image is closed.
static CLOSED: Condvar = Condvar::new();

/// Locks the table. Dropping a plugin takes this lock, so no plugin may be dropped while
/// it is held.
pub(crate) fn lock() -> OpenImages {
    OPEN.lock().unwrap_or_else(|e| e.into_inner())
}

/// The live plugin open from `key`, if any; while the last plugin of `key` is being shut
/// down and closed, waits until it is closed.
pub(crate) fn live(mut open: OpenImages, key: &Path) -> (OpenImages, Option<AnyPlugin>) {
    loop {
        match open.get(key).map(Weak::upgrade) {
            None => return (open, None),
            Some(Some(plugin)) => return (open, Some(plugin)),
            Some(None) => open = CLOSED.wait(open).unwrap_or_else(|e| e.into_inner()),
        }
    }
}

/// Records `plugin` as the live plugin of `key`.
pub(crate) fn insert(open: &mut OpenImages, key: PathBuf, plugin: &AnyPlugin) {
    open.insert(key, Arc::downgrade(plugin));
}

/// An open library, registered under `key` once its plugin is: closing it removes the entry
/// and wakes the loads waiting for it.
pub(crate) struct OpenImage {
    library: Option<libloading::Library>,
    key: PathBuf,
}

impl OpenImage {
    pub(crate) fn new(library: libloading::Library, key: PathBuf) -> OpenImage {
        OpenImage {
            library: Some(library),
            key,
        }
    }
}

impl Drop for OpenImage {
    fn drop(&mut self) {
        drop(self.library.take());
        let mut open = lock();
        // Loads wait while the entry's plugin is gone, so the entry is still this image's.
        if open
            .get(&self.key)
            .is_some_and(|weak| weak.strong_count() == 0)
        {
            open.remove(&self.key);
        }
        drop(open);
        CLOSED.notify_all();
    }
}

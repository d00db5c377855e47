//! The hot-swap handle for one plugin: calls go through a guard that keeps the serving
//! version mapped for the call's duration; `swap` loads and validates a new version while
//! the old one keeps serving, then switches atomically; `rollback` restores the
//! last-known-good version.
//!
//! Costs: [`HotSwap::current`] is one `ArcSwap::load` (a few nanoseconds, lock-free, never
//! waits for a swap). [`PluginCache::get`] is cheaper still: one `Acquire` load of a
//! process-wide swap count and a compare with the count it last saw, when nothing changed;
//! it keeps the version it last saw alive until called again. `swap` and
//! `rollback` serialise on a mutex that calls never touch; a swap waits for nothing but the
//! load of the new file. A retired version's `shutdown` runs on whichever thread drops its
//! last reference, after its last in-flight call returned, and never under this handle's
//! lock.

use crate::kinds::Kind;
use crate::{Loader, Plugin, PluginError};
use arc_swap::{ArcSwap, Guard};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// How many times any handle of this process changed its serving version. Bumped after the
/// new version is stored, so a [`PluginCache`] that reads a count it has not seen finds the
/// new version (or a later one) in its handle. One count for every handle keeps the cache's
/// check a load from a fixed address; the price is that a swap of one plugin makes the caches
/// of the others reload once (an `ArcSwap::load_full`).
static SWAPS: AtomicU64 = AtomicU64::new(0);

/// A swappable plugin of kind `K`.
pub struct HotSwap<K: Kind> {
    loader: Arc<Loader>,
    /// Shared with every [`PluginCache`] of this handle.
    current: Arc<ArcSwap<Plugin<K>>>,
    /// The last-known-good version; holding this lock serialises swaps and rollbacks.
    previous: Mutex<Option<Arc<Plugin<K>>>>,
}

/// What a successful swap or rollback changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwapReport {
    pub from_version: String,
    pub to_version: String,
}

impl<K: Kind> std::fmt::Debug for HotSwap<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotSwap")
            .field("current", &self.current.load().info())
            .finish()
    }
}

impl<K: Kind> HotSwap<K> {
    /// Loads the first version from `path`.
    pub fn load(loader: Arc<Loader>, path: &Path) -> Result<HotSwap<K>, PluginError> {
        let first = loader.load::<K>(path)?;
        Ok(HotSwap::serving(loader, first))
    }

    /// A handle whose first version is `first`, already loaded by `loader`.
    pub fn serving(loader: Arc<Loader>, first: Arc<Plugin<K>>) -> HotSwap<K> {
        HotSwap {
            loader,
            current: Arc::new(ArcSwap::new(first)),
            previous: Mutex::new(None),
        }
    }

    /// The serving version; it stays loaded while the guard lives. Do not hold the guard
    /// across a blocking call: it delays the retirement of a swapped-out version.
    pub fn current(&self) -> Guard<Arc<Plugin<K>>> {
        self.current.load()
    }

    /// A per-thread cache of the serving version, for hot loops.
    pub fn cache(&self) -> PluginCache<K> {
        let seen = SWAPS.load(Ordering::Acquire);
        PluginCache {
            seen,
            held: self.current.load_full(),
            current: self.current.clone(),
        }
    }

    /// The version `rollback` would restore.
    pub fn last_known_good(&self) -> Option<Arc<Plugin<K>>> {
        self.lock_previous().clone()
    }

    /// Loads, validates and self-tests the plugin at `path`, then makes it the serving
    /// version; the old one becomes last-known-good. On any error nothing changes.
    pub fn swap(&self, path: &Path) -> Result<SwapReport, PluginError> {
        let mut previous = self.lock_previous();
        let next = self.loader.load::<K>(path)?;
        let (report, retired) = self.install(&mut previous, next);
        retire_unlocked(previous, retired);
        Ok(report)
    }

    /// Makes `next`, already loaded and validated, the serving version; the old one becomes
    /// last-known-good.
    pub fn swap_to(&self, next: Arc<Plugin<K>>) -> SwapReport {
        let mut previous = self.lock_previous();
        let (report, retired) = self.install(&mut previous, next);
        retire_unlocked(previous, retired);
        report
    }

    /// Serves `next`; returns the report and the last-known-good version it replaces.
    fn install(
        &self,
        previous: &mut MutexGuard<'_, Option<Arc<Plugin<K>>>>,
        next: Arc<Plugin<K>>,
    ) -> (SwapReport, Option<Arc<Plugin<K>>>) {
        let old = self.serve(next);
        let report = self.report_from(&old);
        (report, previous.replace(old))
    }

    /// Restores the last-known-good version; the version it replaces is retired.
    pub fn rollback(&self) -> Result<SwapReport, PluginError> {
        let mut previous = self.lock_previous();
        let Some(good) = previous.take() else {
            return Err(PluginError::NoRollbackTarget {
                plugin: self.current.load().name().to_owned(),
            });
        };
        let bad = self.serve(good);
        let report = self.report_from(&bad);
        retire_unlocked(previous, Some(bad));
        Ok(report)
    }

    /// Stores `next` as the serving version, then tells every [`PluginCache`]; returns the
    /// version it replaces.
    fn serve(&self, next: Arc<Plugin<K>>) -> Arc<Plugin<K>> {
        let old = self.current.swap(next);
        SWAPS.fetch_add(1, Ordering::Release);
        old
    }

    fn report_from(&self, old: &Plugin<K>) -> SwapReport {
        SwapReport {
            from_version: old.version().to_owned(),
            to_version: self.current.load().version().to_owned(),
        }
    }

    fn lock_previous(&self) -> MutexGuard<'_, Option<Arc<Plugin<K>>>> {
        self.previous.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Unlocks, then drops `retired`: if it was the last reference, the plugin's `shutdown` and
/// the closing of its library run with no lock of this handle held, so they neither stall
/// other swaps nor can deadlock with them.
fn retire_unlocked<T, K: Kind>(lock: MutexGuard<'_, T>, retired: Option<Arc<Plugin<K>>>) {
    drop(lock);
    drop(retired);
}

/// A thread's cached view of a [`HotSwap`]: after a swap, the next `get` picks up the new
/// version and releases the old one. It shares the handle's serving slot, so it may be kept
/// beside the handle (or outlive it, keeping the version it last saw).
///
/// The version it holds stays loaded while the cache holds it, so the `&Plugin` that `get`
/// returns is valid for the whole call made through it, whatever swaps meanwhile.
pub struct PluginCache<K: Kind> {
    /// The value of [`SWAPS`] read before `held` was loaded.
    seen: u64,
    held: Arc<Plugin<K>>,
    current: Arc<ArcSwap<Plugin<K>>>,
}

impl<K: Kind> PluginCache<K> {
    /// The serving version, reloaded if any swap happened since the last call.
    #[inline]
    pub fn get(&mut self) -> &Arc<Plugin<K>> {
        let swaps = SWAPS.load(Ordering::Acquire);
        if swaps != self.seen {
            self.reload(swaps);
        }
        &self.held
    }

    /// Loads the serving version after the swap count was read as `swaps`: every swap counted
    /// in it stored its version before counting, so this load sees that version or a later
    /// one, and a swap not counted yet makes the next `get` reload again.
    #[cold]
    #[inline(never)]
    fn reload(&mut self, swaps: u64) {
        self.held = self.current.load_full();
        self.seen = swaps;
    }
}

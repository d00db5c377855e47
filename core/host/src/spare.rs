//! Temporary files made ahead of time for a loader's shadow copies. Creating a file is the
//! slowest step of a swap on some file systems (about 130 µs on an ext4 volume mounted with
//! `discard`, against about 10 µs to write a 17 KB plugin into it), so a loader that is
//! swapping keeps one file ready: a swap takes it, writes and renames it, and once the
//! load is done a worker thread makes the next one while the new build serves. A loader that has written fewer
//! than [`WRITES_BEFORE_SPARES`] copies (a one-shot command) starts no worker. A spare is an
//! ordinary temporary file of the cache (see [`crate::shadow`]): dropping the loader removes
//! it, and one left by a killed process is removed as stale.

use crate::shadow;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use tempfile::NamedTempFile;

/// How many shadow copies a loader writes before it keeps a spare for the next one.
pub const WRITES_BEFORE_SPARES: u32 = 2;

/// One spare temporary file in a cache directory, remade by a worker thread after each use.
pub struct SpareFiles {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    cache_dir: PathBuf,
    slot: Mutex<Slot>,
    wake: Condvar,
}

#[derive(Default)]
struct Slot {
    spare: Option<NamedTempFile>,
    writes: u32,
    wanted: bool,
    closing: bool,
}

impl SpareFiles {
    /// Spares for shadow copies in `cache_dir`; nothing is made before they are needed.
    pub fn new(cache_dir: PathBuf) -> SpareFiles {
        SpareFiles {
            shared: Arc::new(Shared {
                cache_dir,
                slot: Mutex::default(),
                wake: Condvar::new(),
            }),
            worker: Mutex::default(),
        }
    }

    /// The spare for one shadow copy, if one is ready (`None`: the caller makes its own).
    pub fn take(&self) -> Option<NamedTempFile> {
        let mut slot = self.shared.lock();
        slot.writes = slot.writes.saturating_add(1);
        slot.wanted |= slot.writes >= WRITES_BEFORE_SPARES;
        slot.spare.take()
    }

    /// Has the next spare made if one was taken or is due, on the worker thread. Called
    /// when the load that took it is done, so that making a file in the cache directory
    /// does not contend with the load's own renames and removals there.
    pub fn make_next(&self) {
        if self.shared.lock().wanted {
            self.start_worker();
            self.shared.wake.notify_one();
        }
    }

    fn start_worker(&self) {
        let mut worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        if worker.is_none() {
            let shared = self.shared.clone();
            // Without a worker (no thread to be had) every copy makes its own file.
            *worker = std::thread::Builder::new()
                .name("shadow-spares".to_owned())
                .spawn(move || shared.make_spares())
                .ok();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The worker: makes a spare whenever one is wanted, until the owner closes.
    fn make_spares(&self) {
        loop {
            let mut slot = self
                .wake
                .wait_while(self.lock(), |slot| !slot.wanted && !slot.closing)
                .unwrap_or_else(PoisonError::into_inner);
            if slot.closing {
                return;
            }
            slot.wanted = false;
            drop(slot);
            // A spare that cannot be made is no error: the next copy makes its own file.
            let spare = shadow::temp_file(&self.cache_dir).ok();
            let mut slot = self.lock();
            if slot.closing {
                return;
            }
            slot.spare = spare;
        }
    }
}

impl Drop for SpareFiles {
    /// Stops the worker; the spare is removed with the last reference to it.
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_all();
        let worker = self
            .worker
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(worker) = worker.take() {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn files_in(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    /// Takes spares until the worker has one ready (it runs on its own thread).
    fn take_ready(spares: &SpareFiles) -> NamedTempFile {
        let start = Instant::now();
        loop {
            spares.make_next();
            if let Some(spare) = spares.take() {
                return spare;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "no spare made");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_one_shot_loader_makes_no_spare() {
        let cache = tempfile::tempdir().unwrap();
        let spares = SpareFiles::new(cache.path().to_path_buf());
        assert!(spares.take().is_none());
        spares.make_next();
        assert!(spares.worker.lock().unwrap().is_none());
        assert_eq!(files_in(cache.path()), 0);
    }

    #[test]
    fn a_swapping_loader_gets_spares_in_its_cache_and_leaves_none_behind() {
        let cache = tempfile::tempdir().unwrap();
        let spares = SpareFiles::new(cache.path().to_path_buf());
        assert!(spares.take().is_none());
        for round in 0..3 {
            let spare = take_ready(&spares);
            assert_eq!(spare.path().parent(), Some(cache.path()), "round {round}");
            let name = spare
                .path()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            assert!(name.starts_with(&format!(".tmp-shadow-{}-", std::process::id())));
            spare
                .persist(cache.path().join(format!("copy-{round}")))
                .unwrap();
        }
        drop(spares);
        let left: Vec<_> = std::fs::read_dir(cache.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.starts_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "spares left behind: {left:?}");
        assert_eq!(files_in(cache.path()), 3);
    }
}

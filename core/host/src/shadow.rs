//! Content-addressed shadow copies: every distinct plugin build gets its own file name (and
//! so its own inode) in a cache directory the host owns, because `dlopen` of a path whose
//! image is still resident returns the old image. Files are written to a temporary name
//! and renamed into place; a file that may be mapped is never rewritten. They are not
//! fsynced: the cache needs no durability, because an existing copy is compared byte for
//! byte with the plugin before it is reused, so a copy torn by a crash is replaced, never
//! loaded.
//!
//! The cache stays bounded:
//! - a build the loader refused is removed at once ([`remove`]);
//! - after a load that wrote a new copy, one pass over the directory ([`tidy`]) removes the
//!   temporary files that killed loads left behind (each is named after the process writing
//!   it, and removed once that process is gone or, where that cannot be asked, after an
//!   hour) and evicts older copies of the same stem beyond the newest [`KEEP_PER_STEM`] (by
//!   modification time, refreshed whenever a copy is reused), never one that is live in this
//!   loader. A load that reuses a copy adds nothing, so it reads no directory: listing a
//!   cache of a few hundred files costs a one-shot command a tenth of a millisecond. What
//!   killed processes left stays until the next load that writes: each leaves at most its
//!   spare (empty) and the copy it was writing, and a load of that build writes it again.
//!   A writer is asked after by its process id, which assumes the processes sharing a cache
//!   see each other's ids: a loader in another PID namespace may remove a live writer's
//!   spare, and that writer then makes a new file ([`place`]). A copy
//!   another process has mapped stays valid on Unix once unlinked; Windows refuses to delete
//!   it, and it is left. One that another process placed but had not opened yet is placed
//!   again by its loader ([`crate::PluginError::CopyEvicted`]).

use crate::PluginError;
pub use fastforth_toolchain::holds;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tempfile::NamedTempFile;

/// How many copies of one stem (one plugin file name) the cache keeps: the serving
/// version, the last-known-good one and two more to swap back and forth between.
pub const KEEP_PER_STEM: usize = 4;

/// The prefix of temporary files, followed by the writing process's id and a `-`.
const TEMP_PREFIX: &str = ".tmp-shadow-";

/// How old a temporary file of an unknown or unaskable writer must be to be removed.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The shadow file name for `bytes` that came from `source`: `<stem>-<hash prefix>.<ext>`.
pub fn shadow_file_name(source: &Path, sha256: &str) -> String {
    let stem = source
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin");
    let hash = &sha256[..24];
    match source.extension().and_then(|e| e.to_str()) {
        Some(ext) => format!("{stem}-{hash}.{ext}"),
        None => format!("{stem}-{hash}"),
    }
}

/// A shadow copy in place: its path, and whether this placing wrote it (else it was reused).
#[derive(Debug)]
pub struct Placed {
    pub path: PathBuf,
    pub written: bool,
}

/// Makes sure a shadow copy of `bytes` exists in `cache_dir`; a new copy is written into the
/// temporary file `take_spare` hands over when it has one ready (see [`crate::spare`]), else
/// into a new one.
pub fn place(
    cache_dir: &Path,
    source: &Path,
    bytes: &[u8],
    sha256: &str,
    take_spare: &dyn Fn() -> Option<NamedTempFile>,
) -> Result<Placed, PluginError> {
    let cache_error = |error| PluginError::Cache {
        path: cache_dir.into(),
        error,
    };
    std::fs::create_dir_all(cache_dir).map_err(cache_error)?;
    let path = cache_dir.join(shadow_file_name(source, sha256));
    if holds(&path, bytes) {
        touch(&path);
        return Ok(Placed {
            path,
            written: false,
        });
    }
    // A loader that cannot tell whether a temporary file's writer lives (another PID
    // namespace sharing the cache) may have removed the spare: then a new file is made.
    write_by_rename(cache_dir, &path, bytes, take_spare())
        .or_else(|error| match error.kind() {
            std::io::ErrorKind::NotFound => write_by_rename(cache_dir, &path, bytes, None),
            _ => Err(error),
        })
        .map_err(cache_error)?;
    Ok(Placed {
        path,
        written: true,
    })
}

/// Writes `bytes` to `path` in `cache_dir` through a temporary file (`spare`, or a new one)
/// renamed into place, so a file that may be mapped is replaced (a new inode), never
/// rewritten.
pub(crate) fn write_by_rename(
    cache_dir: &Path,
    path: &Path,
    bytes: &[u8],
    spare: Option<NamedTempFile>,
) -> std::io::Result<()> {
    let mut temp = match spare {
        Some(spare) => spare,
        None => temp_file(cache_dir)?,
    };
    temp.write_all(bytes)?;
    temp.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// A new empty temporary file in `cache_dir`, named after this process (see the module
/// documentation).
pub(crate) fn temp_file(cache_dir: &Path) -> std::io::Result<NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .tempfile_in(cache_dir)
}

/// Marks a reused copy as recently used, so eviction keeps it.
fn touch(shadow: &Path) {
    if let Ok(file) = std::fs::File::open(shadow) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Removes the shadow copy of a refused build (best effort: a copy that cannot be removed
/// is harmless and is evicted later).
pub fn remove(shadow: &Path) {
    let _ = std::fs::remove_file(shadow);
}

/// Whether the directory entry `entry`, called `name`, is a temporary one its writer left:
/// named `<prefix><pid>-...` after a process that is gone, or, where that cannot be told
/// (another name, or no way to ask), older than an hour.
pub fn is_abandoned(name: &str, prefix: &str, entry: &std::fs::DirEntry) -> bool {
    let writer = name
        .strip_prefix(prefix)
        .and_then(|rest| rest.split('-').next())
        .and_then(|pid| pid.parse::<u32>().ok());
    match writer.map(process_is_alive) {
        Some(Some(alive)) => !alive,
        _ => age(entry).is_some_and(|age| age > STALE_AFTER),
    }
}

fn age(entry: &std::fs::DirEntry) -> Option<Duration> {
    let modified = entry.metadata().ok()?.modified().ok()?;
    SystemTime::now().duration_since(modified).ok()
}

/// Whether process `pid` exists (`None`: cannot tell on this platform).
#[cfg(unix)]
fn process_is_alive(pid: u32) -> Option<bool> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
    let result = unsafe { libc::kill(pid, 0) };
    Some(result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

#[cfg(not(unix))]
fn process_is_alive(_pid: u32) -> Option<bool> {
    None
}

/// In one pass over `shadow`'s directory: removes the temporary files whose writer is gone,
/// and evicts copies of `shadow`'s stem beyond the newest [`KEEP_PER_STEM`], keeping
/// `shadow` itself and every copy for which `is_live` says so (see the module
/// documentation).
pub fn tidy(shadow: &Path, is_live: &dyn Fn(&Path) -> bool) {
    let (Some(dir), Some(name)) = (shadow.parent(), shadow.file_name().and_then(|n| n.to_str()))
    else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut copies: Vec<(SystemTime, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(other) = file_name.to_str() else {
            continue;
        };
        if other.starts_with(".tmp") && is_abandoned(other, TEMP_PREFIX, &entry) {
            let _ = std::fs::remove_file(entry.path());
        } else if same_stem(name, other) {
            let modified = entry.metadata().and_then(|m| m.modified());
            copies.push((modified.unwrap_or(SystemTime::UNIX_EPOCH), entry.path()));
        }
    }
    copies.sort_by_key(|copy| std::cmp::Reverse(copy.0));
    for (_, old) in copies.into_iter().skip(KEEP_PER_STEM) {
        if old != shadow && !is_live(&old) {
            let _ = std::fs::remove_file(old);
        }
    }
}

/// Whether two shadow file names (`<stem>-<24 hex>[.<ext>]`) have the same stem and extension.
fn same_stem(a: &str, b: &str) -> bool {
    match (split_shadow_name(a), split_shadow_name(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `(stem, extension)` of a shadow file name, `None` for any other name.
fn split_shadow_name(name: &str) -> Option<(&str, &str)> {
    let with_extension = name
        .rsplit_once('.')
        .and_then(|(base, extension)| Some((split(base)?, extension)));
    with_extension.or_else(|| Some((split(name)?, "")))
}

/// The stem of `<stem>-<24 hex>`.
fn split(base: &str) -> Option<&str> {
    let (stem, hash) = base.rsplit_once('-')?;
    let is_hash = hash.len() == 24 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    (is_hash && !stem.is_empty()).then_some(stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_same_name_different_bytes_different_name() {
        let dir = tempfile::tempdir().unwrap();
        let source = Path::new("/x/libdemo.so");
        let a = place(dir.path(), source, b"one", &sha256_hex(b"one"), &|| None).unwrap();
        let again = place(dir.path(), source, b"one", &sha256_hex(b"one"), &|| None).unwrap();
        let b = place(dir.path(), source, b"two", &sha256_hex(b"two"), &|| None).unwrap();
        assert_eq!((a.written, again.written, b.written), (true, false, true));
        assert_eq!(a.path, again.path);
        assert_ne!(a.path, b.path);
        let name = a.path.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("libdemo-"), "{name}");
        assert!(a.path.extension().is_some_and(|e| e == "so"));
        assert_eq!(std::fs::read(&b.path).unwrap(), b"two");
    }

    #[test]
    fn a_spare_another_loader_removed_is_replaced_by_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let spare = std::cell::RefCell::new(Some(temp_file(dir.path()).unwrap()));
        if let Some(spare) = &*spare.borrow() {
            std::fs::remove_file(spare.path()).unwrap();
        }
        let source = Path::new("/x/libdemo.so");
        let sha256 = sha256_hex(b"bytes");
        let placed = place(dir.path(), source, b"bytes", &sha256, &|| spare.take()).unwrap();
        assert!(placed.written);
        assert_eq!(std::fs::read(&placed.path).unwrap(), b"bytes");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}

//! What is installed, kept in the state directory: `state.json` (installed versions, the
//! manifest they came from, the previous version of each for rollback), `pending.json`
//! (written before a swap, removed when the update is confirmed) and `update.lock` (held by
//! whoever changes either). Files are replaced by write-temp, fsync, rename, fsync of the
//! directory, never rewritten in place. Both files are checked when read: each must be a
//! regular file of at most 1 MiB (a named pipe is refused, not waited on), plugin and file
//! names must be plain, hashes 64 hex digits, versions MAJOR.MINOR.PATCH, so that a planted
//! file cannot point the updater outside the plugin directory. It knows nothing of
//! manifests or of loading.
//!
//! ```json
//! {
//!   "schema": 1,
//!   "channel": "http://127.0.0.1:8000/stable",
//!   "manifest_version": 7,
//!   "plugins": {
//!     "example": {
//!       "installed": { "version": "1.0.1", "file": "libfastforth_example_plugin-….so",
//!                      "sha256": "…", "manifest_version": 7 },
//!       "previous":  { "version": "1.0.0", "file": "…", "sha256": "…", "manifest_version": 6 }
//!     }
//!   }
//! }
//! ```

use crate::UpdateError;
use crate::manifest::{is_plain_file_name, is_plugin_name, is_sha256_hex, is_version};
use crate::time::parse_rfc3339;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

pub const STATE_FILE: &str = "state.json";
pub const PENDING_FILE: &str = "pending.json";
pub const LOCK_FILE: &str = "update.lock";
const SCHEMA: u32 = 1;

/// Everything the updater remembers between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub schema: u32,
    /// The channel of the last update, used when none is given.
    pub channel: Option<String>,
    /// The newest manifest accepted (0 before the first update).
    pub manifest_version: u64,
    pub plugins: BTreeMap<String, PluginState>,
    /// The last release rolled back at start because the process died before confirming
    /// it, and how many times in a row; it is retried until [`MAX_ATTEMPTS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandoned: Option<Abandoned>,
    /// The `issued` time of the newest manifest accepted: no manifest issued before it is
    /// accepted, and expiry is judged by it when the clock is behind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_issued: Option<String>,
    /// The clock when the newest manifest was accepted: a clock behind it was set back,
    /// and expiry is judged by this time instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_seen: Option<String>,
}

/// How often one release may die unconfirmed before it is no longer retried.
pub const MAX_ATTEMPTS: u32 = 3;

/// A release whose update the process died in, before confirming it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Abandoned {
    pub manifest_version: u64,
    pub times: u32,
}

/// One plugin's installed version and its last-known-good predecessor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginState {
    pub installed: Installed,
    pub previous: Option<Installed>,
}

/// One installed build: its file in the plugin directory and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Installed {
    pub version: String,
    /// A file name in the plugin directory (content-addressed).
    pub file: String,
    pub sha256: String,
    pub manifest_version: u64,
}

/// The marker of an update that swapped but is not yet confirmed: the state to go back to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    /// The manifest being installed; after a rollback it is retried, up to
    /// [`MAX_ATTEMPTS`] times in all.
    pub manifest_version: u64,
    pub before: State,
}

impl State {
    /// The state in `dir`, or an empty one when there is none yet.
    pub fn load(dir: &Path) -> Result<State, UpdateError> {
        let path = dir.join(STATE_FILE);
        match read_json::<State>(&path)? {
            Some(state) => {
                state
                    .validate()
                    .map_err(|problem| UpdateError::State { path, problem })?;
                Ok(state)
            }
            None => Ok(State {
                schema: SCHEMA,
                ..State::default()
            }),
        }
    }

    /// When the newest manifest accepted was issued.
    pub fn newest_issued_at(&self) -> Option<SystemTime> {
        self.newest_issued.as_deref().and_then(parse_rfc3339)
    }

    /// The latest time this state has seen: a manifest's `issued` or the clock of an update.
    pub fn latest_time_seen(&self) -> Option<SystemTime> {
        let clock = self.clock_seen.as_deref().and_then(parse_rfc3339);
        self.newest_issued_at().max(clock)
    }

    /// Checks what a planted or damaged file could get wrong; says what and where.
    fn validate(&self) -> Result<(), String> {
        if self.schema != SCHEMA {
            return Err(format!("schema is {}, expected {SCHEMA}", self.schema));
        }
        for (field, time) in [
            ("newest_issued", &self.newest_issued),
            ("clock_seen", &self.clock_seen),
        ] {
            if let Some(time) = time
                && parse_rfc3339(time).is_none()
            {
                return Err(format!(
                    "`{field}` is {time:?}, expected RFC 3339 UTC like \"2026-12-25T06:17:14Z\""
                ));
            }
        }
        for (name, plugin) in &self.plugins {
            if !is_plugin_name(name) {
                return Err(format!(
                    "plugin name {name:?} is not lower-case letters, digits, `-` and `_`"
                ));
            }
            plugin.installed.validate(name, "installed")?;
            if let Some(previous) = &plugin.previous {
                previous.validate(name, "previous")?;
            }
        }
        Ok(())
    }

    /// Replaces the state in `dir` atomically.
    pub fn save(&self, dir: &Path) -> Result<(), UpdateError> {
        write_json(dir, STATE_FILE, self)
    }
}

impl Installed {
    fn validate(&self, plugin: &str, which: &str) -> Result<(), String> {
        let at = format!("plugin `{plugin}`: `{which}`");
        if !is_plain_file_name(&self.file) {
            return Err(format!(
                "{at}.file is {:?}, expected a plain file name in the plugin directory",
                self.file
            ));
        }
        if !is_sha256_hex(&self.sha256) {
            return Err(format!(
                "{at}.sha256 is {:?}, expected 64 lower-case hex digits",
                self.sha256
            ));
        }
        if !is_version(&self.version) {
            return Err(format!(
                "{at}.version is {:?}, expected MAJOR.MINOR.PATCH",
                self.version
            ));
        }
        Ok(())
    }
}

impl Pending {
    /// The marker in `dir`, if an update awaits confirmation.
    pub fn load(dir: &Path) -> Result<Option<Pending>, UpdateError> {
        let path = dir.join(PENDING_FILE);
        let pending: Option<Pending> = read_json(&path)?;
        if let Some(pending) = &pending {
            pending
                .before
                .validate()
                .map_err(|problem| UpdateError::State { path, problem })?;
        }
        Ok(pending)
    }

    pub fn save(&self, dir: &Path) -> Result<(), UpdateError> {
        write_json(dir, PENDING_FILE, self)
    }

    /// Removes the marker in `dir` (confirming the update), durably.
    pub fn clear(dir: &Path) -> Result<(), UpdateError> {
        let path = dir.join(PENDING_FILE);
        match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(dir),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(UpdateError::Write {
                path,
                error: source,
            }),
        }
    }
}

/// A state file that could not be read, moved aside.
#[derive(Debug)]
pub struct SetAside {
    /// Why it could not be read.
    pub problem: UpdateError,
    /// Where it is now.
    pub moved_to: PathBuf,
}

/// Moves `pending.json` and `state.json` in `dir` aside to `<name>.unreadable` (or
/// `<name>.unreadable.<n>` when that is taken, up to [`MAX_SET_ASIDE`]) when they cannot be
/// read as the updater's files (damaged, planted, not a regular file, unreadable by this
/// user), so that a rollback can go on: without `pending.json` the state stands as
/// it is; without `state.json` nothing counts as installed, so the built-in engine runs and
/// the next update accepts any release the trusted keys signed. Call with the update lock
/// held.
pub fn set_aside_unreadable(dir: &Path) -> Result<Vec<SetAside>, UpdateError> {
    let mut set_aside = Vec::new();
    for name in [PENDING_FILE, STATE_FILE] {
        let loaded = match name {
            PENDING_FILE => Pending::load(dir).map(drop),
            _ => State::load(dir).map(drop),
        };
        let Err(problem @ (UpdateError::State { .. } | UpdateError::Read { .. })) = loaded else {
            continue;
        };
        let path = dir.join(name);
        let moved_to = (0..MAX_SET_ASIDE)
            .map(|n| match n {
                0 => dir.join(format!("{name}.unreadable")),
                n => dir.join(format!("{name}.unreadable.{n}")),
            })
            .find(|free| std::fs::symlink_metadata(free).is_err())
            .ok_or_else(|| UpdateError::State {
                path: path.clone(),
                problem: format!("unreadable, and {MAX_SET_ASIDE} copies are set aside already"),
            })?;
        std::fs::rename(&path, &moved_to).map_err(|source| UpdateError::Write {
            path: moved_to.clone(),
            error: source,
        })?;
        sync_dir(dir)?;
        set_aside.push(SetAside { problem, moved_to });
    }
    Ok(set_aside)
}

/// The most unreadable copies of one state file kept aside.
pub const MAX_SET_ASIDE: usize = 100;

/// The largest state or pending file read: a few hundred bytes per plugin.
const MAX_STATE_BYTES: u64 = 1 << 20;

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, UpdateError> {
    let Some(bytes) = read_stored(path, MAX_STATE_BYTES)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|error| UpdateError::State {
            path: path.into(),
            problem: format!("unreadable: {error}"),
        })
}

/// The bytes of the file the updater keeps at `path`, `None` if there is none: refused
/// unless it is a regular file of at most `max_bytes` (a named pipe is never waited on, a
/// huge file never read).
pub(crate) fn read_stored(path: &Path, max_bytes: u64) -> Result<Option<Vec<u8>>, UpdateError> {
    let read_error = |source| UpdateError::Read {
        path: path.into(),
        error: source,
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(read_error(source)),
    };
    let refuse = |problem: String| UpdateError::State {
        path: path.into(),
        problem,
    };
    if !metadata.is_file() {
        return Err(not_a_regular_file(path, &metadata));
    }
    if metadata.len() > max_bytes {
        return Err(refuse(format!(
            "is {} bytes, expected at most {max_bytes}",
            metadata.len()
        )));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(max_bytes).read_to_end(&mut bytes))
        .map_err(read_error)?;
    Ok(Some(bytes))
}

/// The refusal of a file the updater keeps at `path` that is no regular file.
fn not_a_regular_file(path: &Path, metadata: &std::fs::Metadata) -> UpdateError {
    UpdateError::State {
        path: path.into(),
        problem: format!(
            "is {}, expected a regular file",
            describe_file_type(&metadata.file_type())
        ),
    }
}

/// "a directory", "a named pipe (FIFO)", ...: what a path that is no regular file is.
fn describe_file_type(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        return "a directory";
    }
    "something other than a file"
}

fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<(), UpdateError> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("state always serialises");
    bytes.push(b'\n');
    write_atomically(dir, name, &bytes).map(|_| ())
}

/// Removes the temporary files `write_atomically` left in `dir` when a process died
/// mid-write (call with the update lock held). Returns how many it removed.
pub(crate) fn sweep_incoming(dir: &Path) -> usize {
    let leftovers = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with(INCOMING_PREFIX)
        });
    leftovers
        .filter(|entry| std::fs::remove_file(entry.path()).is_ok())
        .count()
}

const INCOMING_PREFIX: &str = ".incoming-";

/// Writes `bytes` to `dir/name` through a temporary file in `dir`: write, fsync, rename,
/// fsync the directory. A reader sees the old file or the new one, never a mix.
pub(crate) fn write_atomically(
    dir: &Path,
    name: &str,
    bytes: &[u8],
) -> Result<PathBuf, UpdateError> {
    write_all_atomically(dir, &[(name, bytes)])?;
    Ok(dir.join(name))
}

/// Writes several files of `dir` like [`write_atomically`], every one staged and synced
/// before the first is renamed into place, then renamed in order: the files change within
/// a few system calls of each other, and a failure before the renames changes none.
pub(crate) fn write_all_atomically(dir: &Path, files: &[(&str, &[u8])]) -> Result<(), UpdateError> {
    let mut staged = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        let write_error = |source| UpdateError::Write {
            path: path.clone(),
            error: source,
        };
        std::fs::create_dir_all(dir).map_err(write_error)?;
        let mut temp = tempfile::Builder::new()
            .prefix(INCOMING_PREFIX)
            .tempfile_in(dir)
            .map_err(write_error)?;
        temp.write_all(bytes).map_err(write_error)?;
        temp.as_file().sync_all().map_err(write_error)?;
        staged.push((temp, path));
    }
    for (temp, path) in staged {
        temp.persist(&path).map_err(|error| UpdateError::Write {
            path: path.clone(),
            error: error.error,
        })?;
    }
    sync_dir(dir)
}

/// Makes a rename or removal in `dir` durable (a no-op where directories cannot be synced).
fn sync_dir(dir: &Path) -> Result<(), UpdateError> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| UpdateError::Write {
            path: dir.into(),
            error: source,
        })?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The exclusive lock of a state directory, released when dropped (or when the process
/// dies: it is an OS file lock, never a stale file).
#[derive(Debug)]
pub struct UpdateLock {
    _file: std::fs::File,
}

impl UpdateLock {
    /// Takes the lock of `dir`, waiting up to `timeout` for another holder to finish.
    pub fn acquire(dir: &Path, timeout: Duration) -> Result<UpdateLock, UpdateError> {
        let path = dir.join(LOCK_FILE);
        let write_error = |source| UpdateError::Write {
            path: path.clone(),
            error: source,
        };
        std::fs::create_dir_all(dir).map_err(write_error)?;
        // Opening a named pipe for writing would wait for a reader: only a regular file is
        // opened (or created).
        if let Ok(metadata) = std::fs::symlink_metadata(&path)
            && !metadata.is_file()
        {
            return Err(not_a_regular_file(&path, &metadata));
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(write_error)?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(UpdateLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(UpdateError::Locked {
                        path,
                        waited_ms: started.elapsed().as_millis(),
                    });
                }
                Err(std::fs::TryLockError::Error(source)) => return Err(write_error(source)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_state_is_empty_and_a_saved_one_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::load(dir.path()).unwrap();
        assert_eq!(state.manifest_version, 0);
        state.manifest_version = 3;
        state.channel = Some("file:///c".to_owned());
        state.save(dir.path()).unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), state);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers, [STATE_FILE]);
    }

    #[test]
    fn a_second_lock_waits_then_gives_up_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let held = UpdateLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let error = UpdateLock::acquire(dir.path(), Duration::from_millis(60)).unwrap_err();
        assert!(
            matches!(
                error,
                UpdateError::Locked {
                    waited_ms: 60..,
                    ..
                }
            ),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("update.lock is held by another update")
        );
        drop(held);
        UpdateLock::acquire(dir.path(), Duration::ZERO).unwrap();
    }
}

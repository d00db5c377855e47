//! Which files a session may touch: none, those inside one directory, or any. Every word
//! that names a file (the File-access words, INCLUDED/INCLUDE/REQUIRED, the block file)
//! asks [`FileAccess::resolve`] first.

use std::fs::{File, Metadata, OpenOptions};
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

/// The file access policy of a session, beside the step budget (for untrusted code).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FileAccess {
    /// No file can be opened, created, deleted, renamed or included.
    Off,
    /// Only files inside this directory: names are relative to it, and a name that is
    /// absolute, has a `..` component, passes through a symbolic link leading out of the
    /// directory, or names something that is neither a file nor a directory (a FIFO,
    /// which would block its opener, a socket or a device) is refused.
    Within(PathBuf),
    /// Any file the process may reach; relative names start at the current directory.
    #[default]
    Full,
}

/// Why a file name was refused; the message names the file and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl FileAccess {
    /// The path to use for the file named `name`, or why the policy refuses it.
    pub fn resolve(&self, name: &str) -> Result<PathBuf, Refusal> {
        match self {
            FileAccess::Off => Err(Refusal(format!("{name}: file access is off"))),
            FileAccess::Full => Ok(PathBuf::from(name)),
            FileAccess::Within(dir) => resolve_within(dir, name),
        }
    }
}

fn resolve_within(dir: &Path, name: &str) -> Result<PathBuf, Refusal> {
    let refuse = |rule: &str| Refusal(format!("{name}: {rule} {}", dir.display()));
    let relative = Path::new(name);
    let plain = relative
        .components()
        .all(|part| matches!(part, Component::Normal(_) | Component::CurDir));
    if name.is_empty() || !plain {
        return Err(refuse("is not a plain relative name inside"));
    }
    let root = dir
        .canonicalize()
        .map_err(|error| refuse(&format!("cannot be checked ({error}) inside")))?;
    let mut prefix = root.clone();
    for part in relative.components() {
        prefix.push(part);
        match std::fs::symlink_metadata(&prefix) {
            Err(error) if error.kind() == ErrorKind::NotFound => break,
            Err(_) => return Err(refuse("cannot be checked inside")),
            Ok(_) => {
                let inside = prefix
                    .canonicalize()
                    .is_ok_and(|real| real.starts_with(&root));
                if !inside {
                    return Err(refuse("leads outside"));
                }
            }
        }
    }
    let path = root.join(relative);
    match is_special(&path) {
        true => Err(refuse("is neither a file nor a directory inside")),
        false => Ok(path),
    }
}

/// Whether `path` names something that is neither a file nor a directory: a FIFO, which
/// blocks its opener until a writer comes, a socket or a device.
pub fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|found| special(&found))
}

fn special(found: &Metadata) -> bool {
    !found.is_file() && !found.is_dir()
}

/// Why a file is refused under a step budget.
pub const BLOCKS_PAST_BUDGET: &str =
    "is neither a file nor a directory, which could block past the step budget";

/// Opens `path` with `options`. Under a step budget (`bounded`) nothing about the open may
/// wait: it does not wait for a FIFO's other end, a read that would wait fails instead
/// (a file that says it is regular and blocks, such as `/proc/kmsg`), and what the name
/// leads to once open must be a file or a directory, since a FIFO may have taken the
/// place of the file that [`is_special`] checked.
pub fn open(path: &Path, options: &OpenOptions, bounded: bool) -> std::io::Result<File> {
    let mut options = options.clone();
    if bounded {
        without_waiting(&mut options);
    }
    let file = options.open(path)?;
    if bounded && special(&file.metadata()?) {
        return Err(std::io::Error::other(BLOCKS_PAST_BUDGET));
    }
    Ok(file)
}

/// Opens with `O_NONBLOCK`: its value on Linux for every architecture built for.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn without_waiting(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    options.custom_flags(0o4000);
}

/// Opens with `O_NONBLOCK`: its value on macOS and the BSDs.
#[cfg(any(target_vendor = "apple", target_os = "freebsd", target_os = "openbsd"))]
fn without_waiting(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    options.custom_flags(0x4);
}

/// Elsewhere (Windows) opening a file does not wait, and the check after opening stands.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "openbsd"
)))]
fn without_waiting(_: &mut OpenOptions) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_climb_out_are_refused_before_touching_the_disk() {
        let policy = FileAccess::Within(PathBuf::from("/nonexistent-sandbox"));
        for name in ["../x", "/etc/passwd", "a/../../x", ""] {
            let refusal = policy.resolve(name).unwrap_err();
            assert!(
                refusal.0.contains("plain relative name"),
                "{name}: {refusal:?}"
            );
        }
    }

    #[test]
    fn off_refuses_every_name() {
        let refusal = FileAccess::Off.resolve("x.fs").unwrap_err();
        assert_eq!(refusal.0, "x.fs: file access is off");
    }

    /// What the name checks cannot see: a FIFO opened as if it had passed them (swapped in
    /// after the check) is refused without waiting for its other end, for reading and for
    /// writing; a plain file opens.
    #[cfg(unix)]
    #[test]
    fn a_bounded_open_never_waits_for_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        let refused = open(&fifo, OpenOptions::new().read(true), true).unwrap_err();
        assert_eq!(refused.to_string(), BLOCKS_PAST_BUDGET);
        let no_reader = open(&fifo, OpenOptions::new().write(true), true).unwrap_err();
        assert_eq!(no_reader.raw_os_error(), Some(6), "ENXIO: {no_reader}");
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "x").unwrap();
        assert!(open(&plain, OpenOptions::new().read(true), true).is_ok());
    }
}

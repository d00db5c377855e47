//! Per-user directories that hold code the host loads (the plugin cache, installed plugins):
//! created owner-only, and refused when another user owns them or can write to them, since
//! whoever controls such a directory controls what the host runs.

use std::io;
use std::path::{Path, PathBuf};

/// `$<var>` as a directory, else `$HOME/<under_home>`; an error naming both (and `what` the
/// directory is for) when neither is set, never a shared fallback such as the system
/// temporary directory.
pub fn per_user_dir(what: &str, var: &str, under_home: &str) -> io::Result<PathBuf> {
    let set = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    set(var)
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|home| Path::new(&home).join(under_home)))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no per-user directory for {what}: set ${var} or $HOME"),
            )
        })
}

/// Creates `dir` if missing (its last component with mode 0700), then checks that it is a
/// directory of this user that neither group nor others can write to.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Err(error) if error.kind() != io::ErrorKind::AlreadyExists => return Err(error),
        _ => {}
    }
    check_private_dir(dir)
}

/// Checks that `dir` (which must exist) is a directory of this user that neither group nor
/// others can write to; it creates and changes nothing.
#[cfg(unix)]
pub fn check_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let refuse = |problem: String| {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{}: {problem}", dir.display()),
        )
    };
    let metadata = std::fs::symlink_metadata(dir)?;
    if metadata.is_symlink() {
        let target = std::fs::read_link(dir)?;
        return Err(refuse(format!(
            "a symbolic link (to {}), expected the directory itself: a link can lead elsewhere \
             after it was checked",
            target.display()
        )));
    }
    if !metadata.is_dir() {
        return Err(refuse("not a directory".to_owned()));
    }
    // SAFETY: geteuid has no preconditions, touches no memory and cannot fail.
    let me = unsafe { libc::geteuid() };
    if metadata.uid() != me {
        return Err(refuse(format!(
            "owned by uid {}, expected this user (uid {me}): refusing a directory another user controls",
            metadata.uid()
        )));
    }
    if metadata.mode() & 0o022 != 0 {
        return Err(refuse(format!(
            "mode {:o} lets group or others write to it, expected at most 0755 (0700 when created here)",
            metadata.mode() & 0o777
        )));
    }
    Ok(())
}

/// Checks that `dir` is a directory (elsewhere than Unix, ownership is not checked).
#[cfg(not(unix))]
pub fn check_private_dir(dir: &Path) -> io::Result<()> {
    match std::fs::metadata(dir)?.is_dir() {
        true => Ok(()),
        false => Err(io::Error::other(format!(
            "{}: not a directory",
            dir.display()
        ))),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_directory_is_owner_only() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("a/plugins");
        ensure_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
        ensure_private_dir(&dir).unwrap();
    }

    #[test]
    fn a_directory_others_can_write_to_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("shared");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = ensure_private_dir(&dir).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: mode 777 lets group or others write to it, expected at most 0755 (0700 when created here)",
                dir.display()
            )
        );
    }

    #[test]
    fn a_directory_of_another_user_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("theirs");
        std::fs::create_dir(&dir).unwrap();
        // Only root can give a directory away; elsewhere a symlink stands in for a planted
        // directory (it is not a directory of this user either).
        if std::os::unix::fs::chown(&dir, Some(65_534), Some(65_534)).is_ok() {
            let error = ensure_private_dir(&dir).unwrap_err();
            assert!(
                error.to_string().ends_with(
                    "owned by uid 65534, expected this user (uid 0): refusing a directory another user controls"
                ),
                "{error}"
            );
        }
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let error = ensure_private_dir(&link).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: a symbolic link (to {}), expected the directory itself: a link can lead \
                 elsewhere after it was checked",
                link.display(),
                dir.display()
            )
        );
        let file = base.path().join("file");
        std::fs::write(&file, "").unwrap();
        let error = ensure_private_dir(&file).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{}: not a directory", file.display())
        );
    }
}

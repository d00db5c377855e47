//! A full disk and a read-only plugin directory: the plugin directory is a small tmpfs
//! (mounting needs root; elsewhere the full-disk case is skipped and the read-only case uses
//! permissions instead). Either way the update fails naming the file it could not write, and
//! nothing installed or stored changes.
#![cfg(target_os = "linux")]

mod common;

use common::*;
use fastforth_update::UpdateError;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of `bytes` mounted at `dir`, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, bytes: u64) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let size = format!("size={bytes}");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &size, "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then(|| Tmpfs(dir.into()))
    }

    fn remount_read_only(&self) {
        let status = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success(), "remount read-only failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A scratch directory and the mount point inside it (the directory outlives the mount).
fn scratch_mount_point() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    (dir, plugins)
}

#[test]
fn a_full_plugin_directory_fails_the_write_and_changes_nothing() {
    let (_scratch, plugins) = scratch_mount_point();
    let v1_size = std::fs::metadata(example_v1()).unwrap().len();
    // Room for 1.0.0 and a little more, not for 1.0.1 beside it.
    let Some(_tmpfs) = Tmpfs::mount(&plugins, v1_size + 4 * 1024) else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let world = World::installed_v1_in(Some(plugins));
    world.publish(&[artifact("1.0.1", &example_v2())]);
    let before = world.snapshot();

    let error = world.update().unwrap_err();

    world.assert_unchanged(&before);
    let UpdateError::Write {
        path,
        error: source,
    } = &error
    else {
        panic!("expected a write error, found {error}");
    };
    assert!(path.starts_with(&world.plugin_dir), "{error}");
    assert_eq!(source.kind(), ErrorKind::StorageFull, "{error}");
}

#[test]
fn a_read_only_plugin_directory_fails_the_write_and_changes_nothing() {
    let (_scratch, plugins) = scratch_mount_point();
    let tmpfs = Tmpfs::mount(&plugins, 16 << 20);
    let world = World::installed_v1_in(Some(plugins.clone()));
    world.publish(&[artifact("1.0.1", &example_v2())]);
    match &tmpfs {
        Some(tmpfs) => tmpfs.remount_read_only(),
        None => make_read_only(&plugins),
    }
    let before = world.snapshot();

    let error = world.update().unwrap_err();

    world.assert_unchanged(&before);
    let UpdateError::Write {
        path,
        error: source,
    } = &error
    else {
        panic!("expected a write error, found {error}");
    };
    assert!(path.starts_with(&world.plugin_dir), "{error}");
    let expected = match tmpfs {
        Some(_) => ErrorKind::ReadOnlyFilesystem,
        None => ErrorKind::PermissionDenied,
    };
    assert_eq!(source.kind(), expected, "{error}");
}

fn make_read_only(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
}

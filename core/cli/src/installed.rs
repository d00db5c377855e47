//! The plugins `fastforth update` installs and `fastforth` runs: the one list of them, the
//! installation directory, and the installed plugins `fastforth` runs: the engine that `run`
//! and `repl` start on and the backend stage that `compile` builds with.
//! What is installed is read from the update state and each file is checked against the
//! SHA-256 recorded when its signed release was verified; nothing else is trusted.

use anyhow::Context;
use fastforth_host::{Example, Loader};
use fastforth_session::{Backend, Forth};
use fastforth_update::{HotSlot, Root, Slot, State, TrustedKeys, Updater, UpdaterConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A plugin kind that this build of `fastforth` runs, and so installs and updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Managed {
    /// The Forth engine (plugin `forth`), which `run` and `repl` start on.
    Engine,
    /// The native backend stage (plugin `backend`), which `compile` builds with.
    Backend,
    /// The example plugin (`plugin call`).
    Example,
}

impl Managed {
    /// Every managed plugin.
    pub const ALL: [Managed; 3] = [Managed::Engine, Managed::Backend, Managed::Example];

    /// Its name in release manifests and in the update state.
    pub fn name(self) -> &'static str {
        match self {
            Managed::Engine => "forth",
            Managed::Backend => "backend",
            Managed::Example => "example",
        }
    }

    /// What it is to the user, in messages: "engine" in "installed engine plugin forth 1.1.0".
    pub fn role(self) -> &'static str {
        match self {
            Managed::Engine => "engine",
            Managed::Backend => "backend stage",
            Managed::Example => "example",
        }
    }

    /// The names of every managed plugin.
    pub fn names() -> Vec<String> {
        Managed::ALL.iter().map(|m| m.name().to_owned()).collect()
    }

    /// A slot of this kind with nothing loaded yet.
    pub fn empty_slot(self, loader: Arc<Loader>) -> Arc<dyn Slot> {
        match self {
            Managed::Engine => Arc::new(HotSlot::<Forth>::empty(loader)),
            Managed::Backend => Arc::new(HotSlot::<Backend>::empty(loader)),
            Managed::Example => Arc::new(HotSlot::<Example>::empty(loader)),
        }
    }
}

/// The installation directory: `explicit`, else `$XDG_DATA_HOME/fastforth` or
/// `~/.local/share/fastforth`.
pub fn plugin_dir(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    match explicit {
        Some(dir) => Ok(dir.to_path_buf()),
        None => {
            Ok(
                fastforth_host::per_user_dir("installed plugins", "XDG_DATA_HOME", ".local/share")
                    .map_err(|error| anyhow::anyhow!("{error}, or give --plugin-dir DIR"))?
                    .join("fastforth"),
            )
        }
    }
}

/// The installation directory, created owner-only if missing and refused if another user
/// owns it or can write to it.
pub fn private_plugin_dir(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = plugin_dir(explicit)?;
    fastforth_host::ensure_private_dir(&dir)
        .with_context(|| format!("the plugin directory {}", dir.display()))?;
    Ok(dir)
}

/// An updater over `dir` (plugins and state side by side) trusting the pinned keys.
pub fn updater(dir: &Path, channel: Option<String>) -> anyhow::Result<Updater> {
    let keys = TrustedKeys::pinned().context("the pinned release keys do not parse")?;
    let mut config = UpdaterConfig::new(keys, dir, dir);
    config.root = Root::pinned().context("the pinned root metadata does not parse")?;
    config.channel = channel;
    Ok(Updater::new(config))
}

/// An installed plugin, checked and ready to load.
pub struct InstalledPlugin {
    pub path: PathBuf,
    pub version: String,
}

/// The `managed` plugin installed in `explicit` (or the default directory), if any: the one
/// of the last confirmed update (an update interrupted before its confirmation does not
/// count), once its file's SHA-256 is the one recorded. `None` when nothing is installed;
/// an error when something is installed but cannot be trusted, saying why.
pub fn installed(
    managed: Managed,
    explicit: Option<&Path>,
) -> anyhow::Result<Option<InstalledPlugin>> {
    let dir = match plugin_dir(explicit) {
        Ok(dir) if dir.is_dir() => dir,
        // No per-user directory, or nothing installed there yet.
        _ => return Ok(None),
    };
    fastforth_host::ensure_private_dir(&dir)
        .with_context(|| format!("the plugin directory {}", dir.display()))?;
    let updater = updater(&dir, None)?;
    let state = confirmed_state(&updater)?;
    let Some(plugin) = state.plugins.get(managed.name()) else {
        return Ok(None);
    };
    let installed = &plugin.installed;
    let path = updater.verified_path(installed).with_context(|| {
        describe(
            managed,
            &installed.version,
            &updater.installed_path(installed),
        )
    })?;
    Ok(Some(InstalledPlugin {
        path,
        version: installed.version.clone(),
    }))
}

/// The state of the last confirmed update: the one before an update awaiting confirmation.
fn confirmed_state(updater: &Updater) -> anyhow::Result<State> {
    Ok(match updater.pending()? {
        Some(pending) => pending.before,
        None => updater.state()?,
    })
}

/// "installed engine plugin forth 1.1.0 (FILE)".
pub fn describe(managed: Managed, version: &str, path: &Path) -> String {
    format!(
        "installed {} plugin {} {version} ({})",
        managed.role(),
        managed.name(),
        path.display()
    )
}

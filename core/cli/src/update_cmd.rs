//! `fastforth update` and `fastforth plugin list`: signed self-update of the installed
//! plugins from a channel, rollback to the last-known-good versions, and what is installed.
//! Trust comes from the release keys pinned into `fastforth-update` at build time; the
//! checks, downloads and swaps are all that crate's. This module only wires them to flags,
//! a progress bar and the installation directory.

use crate::output::{errln, outln};
use anyhow::Context;
use fastforth_host::{Example, Loader};
use fastforth_update::{
    Change, HotSlot, Outcome, Progress, Recovery, Root, Slot, Slots, State, TrustedKeys, Updater,
    UpdaterConfig, printable,
};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The plugins this build of `fastforth` runs, and so updates.
const MANAGED: &[&str] = &["example"];

#[derive(clap::Args)]
pub struct UpdateArgs {
    /// The channel URL (http://, file://, or https:// in builds with TLS); remembered for
    /// the next update
    #[arg(long, value_name = "URL")]
    channel: Option<String>,
    /// Only say what an update would install; download and change nothing
    #[arg(long, conflicts_with = "rollback")]
    check: bool,
    /// Go back to the last-known-good version of every plugin that has one
    #[arg(long, conflicts_with = "channel")]
    rollback: bool,
    #[command(flatten)]
    dir: InstallDir,
}

#[derive(clap::Args)]
pub struct InstallDir {
    /// Where plugins and update state are installed, owner-only [default:
    /// $XDG_DATA_HOME/fastforth or ~/.local/share/fastforth]
    #[arg(long, value_name = "DIR")]
    plugin_dir: Option<PathBuf>,
}

impl InstallDir {
    /// The installation directory, created owner-only if missing and refused if another
    /// user owns it or can write to it.
    fn path(&self) -> anyhow::Result<PathBuf> {
        let dir = match &self.plugin_dir {
            Some(dir) => dir.clone(),
            None => {
                fastforth_host::per_user_dir("installed plugins", "XDG_DATA_HOME", ".local/share")
                    .map_err(|error| anyhow::anyhow!("{error}, or give --plugin-dir DIR"))?
                    .join("fastforth")
            }
        };
        fastforth_host::ensure_private_dir(&dir)
            .with_context(|| format!("the plugin directory {}", dir.display()))?;
        Ok(dir)
    }
}

/// An updater over `dir` (plugins and state side by side) trusting the pinned keys.
fn updater(dir: &Path, channel: Option<String>) -> anyhow::Result<Updater> {
    let keys = TrustedKeys::pinned().context("the pinned release keys do not parse")?;
    let mut config = UpdaterConfig::new(keys, dir, dir);
    config.root = Root::pinned().context("the pinned root metadata does not parse")?;
    config.channel = channel;
    Ok(Updater::new(config))
}

/// `fastforth update`; every message it prints has control characters escaped.
pub fn update(args: UpdateArgs) -> anyhow::Result<()> {
    run_update(args).map_err(printable_error)
}

fn run_update(args: UpdateArgs) -> anyhow::Result<()> {
    let dir = args.dir.path()?;
    let updater = updater(&dir, args.channel)?;
    report_recovery(updater.recover()?);
    let managed: Vec<String> = MANAGED.iter().map(|name| (*name).to_owned()).collect();
    if args.check {
        return match updater.check(&managed)? {
            Outcome::Available {
                from_manifest,
                to_manifest,
                changes,
                downloads,
            } => {
                outln!("update available: manifest {from_manifest} -> {to_manifest}")?;
                print_changes(&changes)?;
                for download in downloads {
                    let kind = if download.patch { "patch" } else { "full file" };
                    let name = printable(&download.plugin);
                    outln!("  would download {name}: {} bytes ({kind})", download.bytes)?;
                }
                Ok(())
            }
            outcome => report(&outcome),
        };
    }
    let slots = load_installed(&updater)?;
    if args.rollback {
        let changes = updater.rollback(&slots)?;
        outln!("rolled back:")?;
        print_changes(&changes)?;
        return Ok(());
    }
    let bar = ProgressBar::on_terminal();
    let outcome = updater.update(&slots, &bar)?;
    report(&outcome)
}

/// `fastforth plugin list`; every message it prints has control characters escaped.
pub fn list(dir: &InstallDir) -> anyhow::Result<()> {
    run_list(dir).map_err(printable_error)
}

/// `error` with the same chain of messages, each with its control characters escaped.
fn printable_error(error: anyhow::Error) -> anyhow::Error {
    let mut messages: Vec<String> = error
        .chain()
        .map(|cause| printable(&cause.to_string()).into_owned())
        .collect();
    let mut clean = anyhow::anyhow!(messages.pop().unwrap_or_default());
    while let Some(outer) = messages.pop() {
        clean = clean.context(outer);
    }
    clean
}

fn run_list(dir: &InstallDir) -> anyhow::Result<()> {
    let dir = dir.path()?;
    let updater = updater(&dir, None)?;
    let state = updater.state()?;
    outln!("plugin directory: {}", dir.display())?;
    if state.plugins.is_empty() {
        outln!("nothing installed")?;
        return Ok(());
    }
    print_state(&state)?;
    if let Some(pending) = updater.pending()? {
        outln!(
            "pending: manifest {} awaits confirmation; the next start rolls it back",
            pending.manifest_version
        )?;
    }
    Ok(())
}

fn print_state(state: &State) -> anyhow::Result<()> {
    let channel = printable(state.channel.as_deref().unwrap_or("none"));
    outln!(
        "channel:          {channel} (manifest {})",
        state.manifest_version
    )?;
    outln!(
        "{:<10} {:<9} {:<9} {:<16} file",
        "plugin",
        "version",
        "manifest",
        "last-known-good"
    )?;
    for (name, plugin) in &state.plugins {
        let good = plugin.previous.as_ref().map_or_else(
            || "-".to_owned(),
            |p| format!("{} (m{})", printable(&p.version), p.manifest_version),
        );
        outln!(
            "{:<10} {:<9} {:<9} {good:<16} {}",
            printable(name),
            printable(&plugin.installed.version),
            plugin.installed.manifest_version,
            printable(&plugin.installed.file)
        )?;
    }
    Ok(())
}

/// One slot per managed plugin, serving what the state says is installed: the file is
/// hashed before it is loaded, and the bytes loaded must be the ones recorded.
fn load_installed(updater: &Updater) -> anyhow::Result<Slots> {
    // Installed files passed their signature check: no probe.
    let loader = Arc::new(Loader::new(fastforth_host::default_cache_dir()?).with_probe(None));
    let state = updater.state()?;
    let mut slots = Slots::new();
    for name in MANAGED {
        let slot = HotSlot::<Example>::empty(loader.clone());
        if let Some(plugin) = state.plugins.get(*name) {
            let installed = &plugin.installed;
            let path = updater.verified_path(installed)?;
            slot.swap_in(&path, name, &installed.version, &installed.sha256)
                .with_context(|| {
                    format!(
                        "installed plugin `{name}` {} does not load",
                        installed.version
                    )
                })?;
        }
        slots.insert(name, Arc::new(slot));
    }
    Ok(slots)
}

fn report(outcome: &Outcome) -> anyhow::Result<()> {
    match outcome {
        Outcome::UpToDate { manifest_version } => {
            outln!("up to date (manifest {manifest_version})")?;
        }
        Outcome::Available { .. } => unreachable!("only a check reports an available update"),
        Outcome::Updated {
            from_manifest,
            to_manifest,
            changes,
            ..
        } => {
            outln!("updated: manifest {from_manifest} -> {to_manifest}")?;
            print_changes(changes)?;
        }
    }
    Ok(())
}

fn report_recovery(recovery: Recovery) {
    if let Recovery::RolledBack {
        manifest_version,
        changes,
    } = recovery
    {
        errln!("the update to manifest {manifest_version} was never confirmed; rolled back:");
        for change in changes {
            errln!("  {}", describe(&change));
        }
    }
}

fn print_changes(changes: &[Change]) -> anyhow::Result<()> {
    if changes.is_empty() {
        outln!("  no plugin changes")?;
    }
    for change in changes {
        outln!("  {}", describe(change))?;
    }
    Ok(())
}

fn describe(change: &Change) -> String {
    let (plugin, to) = (printable(&change.plugin), printable(&change.to));
    match &change.from {
        Some(from) => format!("{plugin} {} -> {to}", printable(from)),
        None => format!("{plugin} {to} (new)"),
    }
}

/// A one-line download bar on standard error, drawn only when it is a terminal.
struct ProgressBar {
    enabled: bool,
    total: std::cell::Cell<u64>,
    label: std::cell::RefCell<String>,
}

impl ProgressBar {
    fn on_terminal() -> ProgressBar {
        ProgressBar {
            enabled: std::io::stderr().is_terminal(),
            total: Default::default(),
            label: Default::default(),
        }
    }
}

impl Progress for ProgressBar {
    fn started(&self, plugin: &str, total: u64) {
        self.total.set(total.max(1));
        *self.label.borrow_mut() = plugin.to_owned();
        self.advanced(0);
    }

    fn advanced(&self, done: u64) {
        if !self.enabled {
            return;
        }
        const WIDTH: u64 = 30;
        let total = self.total.get();
        let filled = (done.min(total) * WIDTH / total) as usize;
        let bar = format!(
            "{}{}",
            "#".repeat(filled),
            " ".repeat(WIDTH as usize - filled)
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{} [{bar}] {:>3}% {} / {} KiB",
            self.label.borrow(),
            done.min(total) * 100 / total,
            done / 1024,
            total / 1024
        );
        let _ = err.flush();
    }

    fn finished(&self) {
        if self.enabled {
            errln!("");
        }
    }

    fn fell_back(&self, plugin: &str, reason: &str) {
        let (plugin, reason) = (printable(plugin), printable(reason));
        errln!("{plugin}: patch not used ({reason}); downloading the full file");
    }
}

//! `fastforth update` and `fastforth plugin list`: signed self-update of the installed
//! plugins from a channel, rollback to the last-known-good versions, and what is installed.
//! Trust comes from the release keys pinned into `fastforth-update` at build time; the
//! checks, downloads and swaps are all that crate's. This module only wires them to flags,
//! a progress bar and the installation directory.

use anyhow::Context;
use fastforth_host::{Example, HotSwap, Loader};
use fastforth_update::{
    Change, HotSlot, Outcome, Progress, Recovery, Slot, Slots, State, TrustedKeys, Updater,
    UpdaterConfig,
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
    /// Where plugins and update state are installed [default: $XDG_DATA_HOME/fastforth or
    /// ~/.local/share/fastforth]
    #[arg(long, value_name = "DIR")]
    plugin_dir: Option<PathBuf>,
}

impl InstallDir {
    fn path(&self) -> PathBuf {
        self.plugin_dir.clone().unwrap_or_else(default_install_dir)
    }
}

/// `$XDG_DATA_HOME/fastforth`, else `~/.local/share/fastforth`, else under the temp dir.
fn default_install_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("fastforth")
}

/// An updater over `dir` (plugins and state side by side) trusting the pinned keys.
fn updater(dir: &Path, channel: Option<String>) -> anyhow::Result<Updater> {
    let keys = TrustedKeys::pinned().context("the pinned release keys do not parse")?;
    let mut config = UpdaterConfig::new(keys, dir, dir);
    config.channel = channel;
    Ok(Updater::new(config))
}

pub fn update(args: UpdateArgs) -> anyhow::Result<()> {
    let dir = args.dir.path();
    let updater = updater(&dir, args.channel)?;
    report_recovery(updater.recover()?);
    let managed: Vec<String> = MANAGED.iter().map(|name| (*name).to_owned()).collect();
    if args.check {
        return match updater.check(&managed)? {
            Outcome::Available {
                from_manifest,
                to_manifest,
                changes,
            } => {
                println!("update available: manifest {from_manifest} -> {to_manifest}");
                print_changes(&changes);
                Ok(())
            }
            outcome => report(&outcome),
        };
    }
    let slots = load_installed(&updater)?;
    if args.rollback {
        let changes = updater.rollback(&slots)?;
        println!("rolled back:");
        print_changes(&changes);
        return Ok(());
    }
    let bar = ProgressBar::on_terminal();
    let outcome = updater.update(&slots, &bar)?;
    report(&outcome)
}

pub fn list(dir: &InstallDir) -> anyhow::Result<()> {
    let dir = dir.path();
    let updater = updater(&dir, None)?;
    let state = updater.state()?;
    println!("plugin directory: {}", dir.display());
    if state.plugins.is_empty() {
        println!("nothing installed");
        return Ok(());
    }
    print_state(&state);
    if let Some(pending) = updater.pending()? {
        println!(
            "pending: manifest {} awaits confirmation; the next start rolls it back",
            pending.manifest_version
        );
    }
    Ok(())
}

fn print_state(state: &State) {
    let channel = state.channel.as_deref().unwrap_or("none");
    println!(
        "channel:          {channel} (manifest {})",
        state.manifest_version
    );
    println!(
        "{:<10} {:<9} {:<9} {:<16} file",
        "plugin", "version", "manifest", "last-known-good"
    );
    for (name, plugin) in &state.plugins {
        let good = plugin.previous.as_ref().map_or_else(
            || "-".to_owned(),
            |p| format!("{} (m{})", p.version, p.manifest_version),
        );
        println!(
            "{name:<10} {:<9} {:<9} {good:<16} {}",
            plugin.installed.version, plugin.installed.manifest_version, plugin.installed.file
        );
    }
}

/// One slot per managed plugin, serving what the state says is installed.
fn load_installed(updater: &Updater) -> anyhow::Result<Slots> {
    // Installed files passed their signature check: no probe.
    let loader = Arc::new(Loader::new(fastforth_host::default_cache_dir()).with_probe(None));
    let state = updater.state()?;
    let mut slots = Slots::new();
    for name in MANAGED {
        let slot: Arc<dyn Slot> = match state.plugins.get(*name) {
            None => Arc::new(HotSlot::<Example>::empty(loader.clone())),
            Some(plugin) => {
                let path = updater.installed_path(&plugin.installed);
                let hot = HotSwap::<Example>::load(loader.clone(), &path).with_context(|| {
                    format!(
                        "installed plugin `{name}` {} does not load",
                        plugin.installed.version
                    )
                })?;
                Arc::new(HotSlot::new(loader.clone(), Arc::new(hot)))
            }
        };
        slots.insert(name, slot);
    }
    Ok(slots)
}

fn report(outcome: &Outcome) -> anyhow::Result<()> {
    match outcome {
        Outcome::UpToDate { manifest_version } => {
            println!("up to date (manifest {manifest_version})");
        }
        Outcome::Available { .. } => unreachable!("only a check reports an available update"),
        Outcome::Updated {
            from_manifest,
            to_manifest,
            changes,
            ..
        } => {
            println!("updated: manifest {from_manifest} -> {to_manifest}");
            print_changes(changes);
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
        eprintln!("the update to manifest {manifest_version} was never confirmed; rolled back:");
        for change in changes {
            eprintln!("  {}", describe(&change));
        }
    }
}

fn print_changes(changes: &[Change]) {
    if changes.is_empty() {
        println!("  no plugin changes");
    }
    for change in changes {
        println!("  {}", describe(change));
    }
}

fn describe(change: &Change) -> String {
    match &change.from {
        Some(from) => format!("{} {from} -> {}", change.plugin, change.to),
        None => format!("{} {} (new)", change.plugin, change.to),
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
            eprintln!();
        }
    }
}

//! `fastforth update`, `#update` in the REPL and `fastforth plugin list`: signed self-update
//! of the installed plugins from a channel, rollback to the last-known-good versions, and
//! what is installed. Trust comes from the release keys pinned into `fastforth-update` at
//! build time; the checks, downloads and swaps are all that crate's. This module only wires
//! them to flags, a progress bar, the installation directory and a REPL's engine session.

use crate::forth_cmd::{Engine, EngineOptions};
use crate::installed::{self, Managed};
use crate::output::{errln, outln};
use anyhow::Context;
use fastforth_host::{Loader, PluginError, printable};
use fastforth_session::{Forth, ForthSession};
use fastforth_update::{
    Change, Outcome, Progress, Recovery, Slot, Slots, State, UpdateError, Updater,
};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

/// The flags of `fastforth update` (their help is in args.rs).
pub struct UpdateArgs {
    /// `--channel URL`, remembered for the next update.
    pub channel: Option<String>,
    /// `--check`: only say what an update would install.
    pub check: bool,
    /// `--rollback`: back to the last-known-good versions.
    pub rollback: bool,
}

/// `fastforth update` in the plugin directory `plugin_dir` (or the default one); every
/// message it prints has control characters escaped.
pub fn update(args: UpdateArgs, plugin_dir: Option<&Path>) -> anyhow::Result<()> {
    run_update(args, plugin_dir).map_err(printable_error)
}

fn run_update(args: UpdateArgs, plugin_dir: Option<&Path>) -> anyhow::Result<()> {
    if args.check {
        return check(args.channel, plugin_dir);
    }
    let dir = installed::private_plugin_dir(plugin_dir)?;
    let updater = installed::updater(&dir, args.channel)?;
    let set_aside = args.rollback && set_aside_unreadable(&updater)?;
    report_recovery(updater.recover()?);
    let slots = slots(None)?;
    if args.rollback {
        return rollback(&updater, &slots, set_aside);
    }
    let bar = ProgressBar::on_terminal();
    let outcome = updater.update(&slots, &bar)?;
    report(&outcome)
}

/// Before `update --rollback`: sets aside the state files that cannot be read, and says so;
/// returns whether there were any.
fn set_aside_unreadable(updater: &Updater) -> anyhow::Result<bool> {
    let set_aside = updater.set_aside_unreadable()?;
    for file in &set_aside {
        let moved_to = file.moved_to.display().to_string();
        let problem = file.problem.to_string();
        outln!(
            "unreadable, moved to {}: {}",
            printable(&moved_to),
            printable(&problem)
        )?;
    }
    Ok(!set_aside.is_empty())
}

/// `update --rollback`; once state files were set aside (`set_aside`), that nothing is
/// installed is said as such, not as an error.
fn rollback(updater: &Updater, slots: &Slots, set_aside: bool) -> anyhow::Result<()> {
    match updater.rollback(slots) {
        Err(UpdateError::NothingInstalled { .. }) if set_aside => outln!(
            "nothing is installed now: `fastforth run` uses the built-in engine, and \
             `fastforth update` installs the channel's release again"
        ),
        rolled_back => {
            let changes = rolled_back?;
            outln!("rolled back:")?;
            print_changes(&changes)
        }
    }
}

/// `#update` in the REPL: updates the plugin directory as `fastforth update` does, and when
/// the session runs the installed engine, the new engine takes over the session (its
/// definitions, stacks and data carried across) as part of the update: a release that
/// fails to verify, load, self-test or take the session's state is refused whole, and the
/// session keeps serving. Every message it prints has control characters escaped.
pub fn update_session(
    engine: &mut Engine,
    plugin_dir: Option<&Path>,
    channel: Option<String>,
) -> anyhow::Result<()> {
    run_update_session(engine, plugin_dir, channel).map_err(printable_error)
}

fn run_update_session(
    engine: &mut Engine,
    plugin_dir: Option<&Path>,
    channel: Option<String>,
) -> anyhow::Result<()> {
    let dir = installed::private_plugin_dir(plugin_dir)?;
    let updater = installed::updater(&dir, channel)?;
    report_recovery(updater.recover()?);
    let session = match engine.installed_session() {
        Some(session) => {
            let slot = SessionSlot {
                session,
                loader: signed_loader()?,
            };
            slot.follow_installed(&updater)?;
            Some(Arc::new(slot) as Arc<dyn Slot>)
        }
        None => None,
    };
    let slots = slots(session)?;
    let outcome = updater.update(&slots, &ProgressBar::on_terminal())?;
    report(&outcome)?;
    if engine.installed_session().is_none() && changed_engine(&outcome) {
        adopt_installed(engine, &dir)?;
    }
    Ok(())
}

/// After an update installed an engine that the session does not run: the session moves
/// onto it if it runs the built-in engine by default, else says that it keeps its engine.
fn adopt_installed(engine: &mut Engine, dir: &Path) -> anyhow::Result<()> {
    let before = engine.describe();
    let adopted = installed::installed(Managed::Engine, Some(dir)).and_then(|found| match found {
        Some(installed) => engine.adopt_installed(&installed.path),
        None => Ok(false),
    });
    match adopted {
        Ok(true) => outln!(
            "{before} -> {}; definitions, stacks and data kept",
            engine.describe()
        ),
        Ok(false) => outln!(
            "this session keeps the {before} (chosen on the command line); the next `fastforth` \
             starts on the installed engine"
        ),
        Err(error) => {
            errln!(
                "the installed engine cannot take over this session, the {before} keeps \
                 serving: {}",
                crate::output::error_line(&error)
            );
            Ok(())
        }
    }
}

fn changed_engine(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Updated { changes, .. }
        if changes.iter().any(|change| change.plugin == Managed::Engine.name()))
}

/// The REPL's engine session as the updater's slot for the engine: an update swaps the
/// session's engine, carrying its state across, or leaves the session as it was.
struct SessionSlot {
    session: Arc<ForthSession>,
    loader: Arc<Loader>,
}

impl SessionSlot {
    /// Swaps in the engine installed now if the session runs another one (another
    /// `fastforth update` ran since the session started).
    fn follow_installed(&self, updater: &Updater) -> anyhow::Result<()> {
        let state = updater.state()?;
        let Some(engine) = state.plugins.get(Managed::Engine.name()) else {
            return Ok(());
        };
        let installed = &engine.installed;
        let serving = self
            .session
            .with_instance(|instance| instance.plugin().info().sha256.clone());
        if serving == installed.sha256 {
            return Ok(());
        }
        let path = updater.verified_path(installed)?;
        let from = self.swap_in(
            &path,
            Managed::Engine.name(),
            &installed.version,
            &installed.sha256,
        )?;
        outln!(
            "engine {} -> {} (installed since this session started)",
            from.unwrap_or_default(),
            installed.version
        )
    }
}

impl Slot for SessionSlot {
    fn swap_in(
        &self,
        path: &Path,
        name: &str,
        version: &str,
        sha256: &str,
    ) -> Result<Option<String>, UpdateError> {
        let next =
            fastforth_update::load_verified::<Forth>(&self.loader, path, name, version, sha256)?;
        let report = self
            .session
            .swap_engine_to(next)
            .map_err(|source| plugin_error(name, source))?;
        Ok(Some(report.from_version))
    }

    fn undo(&self, plugin: &str) -> Result<(), UpdateError> {
        self.session
            .rollback_engine()
            .map(|_| ())
            .map_err(|source| plugin_error(plugin, source))
    }

    fn serving(&self) -> Option<String> {
        Some(self.session.engine_version())
    }
}

/// `update --check`: says what an update would download; reads what is installed but
/// creates, locks and changes nothing (not even the installation directory).
fn check(channel: Option<String>, plugin_dir: Option<&Path>) -> anyhow::Result<()> {
    let dir = installed::plugin_dir(plugin_dir)?;
    // Whatever is there, a symbolic link included, is checked as `update` checks it.
    if std::fs::symlink_metadata(&dir).is_ok() {
        fastforth_host::check_private_dir(&dir)
            .with_context(|| format!("the plugin directory {}", dir.display()))?;
    }
    let updater = installed::updater(&dir, channel)?;
    match updater.check(&Managed::names())? {
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
    }
}

fn plugin_error(plugin: &str, source: PluginError) -> UpdateError {
    UpdateError::Plugin {
        plugin: plugin.to_owned(),
        error: Box::new(source),
    }
}

/// A loader for installed files, which passed their signature check: no probe.
fn signed_loader() -> anyhow::Result<Arc<Loader>> {
    Ok(Arc::new(
        Loader::new(fastforth_host::default_cache_dir()?).with_probe(None),
    ))
}

/// `fastforth plugin list`, saying which engine `run` starts on; every message it prints
/// has control characters escaped.
pub fn list(options: &EngineOptions) -> anyhow::Result<()> {
    run_list(options).map_err(printable_error)
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

fn run_list(options: &EngineOptions) -> anyhow::Result<()> {
    let dir = installed::private_plugin_dir(options.plugin_dir())?;
    let updater = installed::updater(&dir, None)?;
    let state = updater.state()?;
    let engine = Engine::start(options)?.describe();
    outln!("plugin directory: {}", dir.display())?;
    outln!("engine:           {}", printable(&engine))?;
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

/// One slot per managed plugin, for the updater to swap what it installs (or rolls back
/// to) into: each is loaded, validated and self-tested there before the state changes.
/// `engine`, when given, is a running session on the installed engine; every other slot
/// starts empty, since this process serves nothing else, so an installed file that no
/// longer loads never stands in the way of the update or rollback that replaces it.
fn slots(engine: Option<Arc<dyn Slot>>) -> anyhow::Result<Slots> {
    let loader = signed_loader()?;
    let mut slots = Slots::new();
    for managed in Managed::ALL {
        let slot = match (managed, &engine) {
            (Managed::Engine, Some(engine)) => engine.clone(),
            _ => managed.empty_slot(loader.clone()),
        };
        slots.insert(managed.name(), slot);
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
    if change.repaired {
        return format!("{plugin} {to} (repaired: its installed file was missing or changed)");
    }
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

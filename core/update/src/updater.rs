//! The client side of a signed update, in the one order that keeps it fail-closed:
//!
//! ```text
//! fix the start time ─► fetch manifest.json and manifest.json.sig (byte caps) ─► verify_strict
//! ─► schema known ─► not expired at the start time ─► manifest_version newer than stored
//! (equal: up to date; bounded jump) ─► ABI version is the host's ─► this host's exact triple
//! ─► download at most `size` bytes into SHA-256 (or: a patch from the installed file, its
//! own size and hash checked, decoded to at most `size` bytes; any failure: the full file)
//! ─► size and hash match ─► temp file in the
//! plugin directory, fsync, rename to a content-addressed name ─► structural checks ─►
//! pending marker ─► load, validate, self-test, swap ─► state saved (write-temp-fsync-rename)
//! ─► confirmed: marker removed
//! ```
//!
//! Every step before the swap changes nothing installed; a failing swap undoes the swaps
//! before it; an update that swapped but was never confirmed (the process died) is rolled
//! back by [`Updater::recover`] at the next start. One update at a time per state directory
//! (an OS file lock). It knows plugins only through [`Slots`].

use crate::fetch::{self, Fetcher, Limits, Progress};
use crate::keys::{MAX_SIGNATURE_BYTES, TrustedKeys};
use crate::manifest::{MANIFEST, PATCHED_MANIFEST};
use crate::manifest::{Manifest, Patch, TargetBuild};
use crate::root::Root;
use crate::state::{
    Abandoned, Installed, MAX_ATTEMPTS, Pending, PluginState, SetAside, State, UpdateLock,
    read_stored, sweep_incoming, write_all_atomically, write_atomically,
};
use crate::time::format_rfc3339;
use crate::{Slots, UpdateError};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Where accepted roots are kept, in the state directory.
const ROOTS_DIR: &str = "roots";
/// The most root versions one update walks.
const MAX_ROOT_STEPS: usize = 64;
/// The largest root file, and the largest root signature file.
const MAX_ROOT_BYTES: u64 = 64 * 1024;
const MAX_ROOT_SIGNATURE_BYTES: u64 = 16 * 1024;
/// How far after this host's clock a manifest's `issued` time may be: clocks differ.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(3600);

/// The target triple this library was built for: the manifest entry an update picks.
pub const HOST_TARGET: &str = env!("FASTFORTH_UPDATE_TARGET");

/// When an update counts as done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirm {
    /// Right after the new state is saved (a one-shot command).
    Immediately,
    /// When the host calls [`Updater::confirm`], e.g. after the new version served for a
    /// while; until then a restart rolls the update back.
    Manually,
}

/// Where an updater reads from and writes to, whom it trusts, and its limits.
#[derive(Clone, Debug)]
pub struct UpdaterConfig {
    /// The channel URL (`http://`, `https://`, `file://`); `None` uses the stored one.
    pub channel: Option<String>,
    /// The keys manifests must be signed with, when there is no `root`.
    pub trusted_keys: TrustedKeys,
    /// The root metadata shipped with the host: when set, the release keys come from the
    /// newest root reachable from it (`root/<N>.json` in the channel, each signed by the
    /// root before it), and `trusted_keys` is not used.
    pub root: Option<Root>,
    /// Where plugin files are installed, under content-addressed names.
    pub plugin_dir: PathBuf,
    /// Where `state.json`, `pending.json` and `update.lock` live.
    pub state_dir: PathBuf,
    /// The target triple whose builds to install.
    pub target: String,
    /// The plugin ABI version this host speaks.
    pub abi_version: u32,
    pub max_manifest_bytes: u64,
    /// The largest artifact a manifest may declare.
    pub max_artifact_bytes: u64,
    /// The largest step of `manifest_version` accepted over an installed one.
    pub max_version_jump: u64,
    /// The longest wait for a connection to the channel's server.
    pub connect_timeout: Duration,
    /// The longest wait for a response head, and for any one read of a body.
    pub read_timeout: Duration,
    /// The slowest average a download may arrive at: a body of N bytes may take
    /// `read_timeout + N / min_bytes_per_second`.
    pub min_bytes_per_second: u64,
    /// The longest one request may take, however fast it is going.
    pub timeout: Duration,
    /// How long to wait for another update to release the lock.
    pub lock_timeout: Duration,
    pub confirm: Confirm,
}

impl UpdaterConfig {
    /// This host's target and ABI, and default limits: manifest 1 MiB, artifact 256 MiB,
    /// version jump 1,000, 10 s to connect, 15 s per read, at least 16 KiB/s, 5 min per
    /// request, 30 s for the lock, confirm immediately.
    pub fn new(trusted_keys: TrustedKeys, plugin_dir: &Path, state_dir: &Path) -> UpdaterConfig {
        UpdaterConfig {
            channel: None,
            trusted_keys,
            root: None,
            plugin_dir: plugin_dir.into(),
            state_dir: state_dir.into(),
            target: HOST_TARGET.to_owned(),
            abi_version: fastforth_abi::ABI_VERSION,
            max_manifest_bytes: 1 << 20,
            max_artifact_bytes: 256 << 20,
            max_version_jump: 1000,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(15),
            min_bytes_per_second: 16 * 1024,
            timeout: Duration::from_secs(300),
            lock_timeout: Duration::from_secs(30),
            confirm: Confirm::Immediately,
        }
    }
}

/// One plugin whose version changes (or would), or whose installed file is put back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub plugin: String,
    /// `None` for a first install.
    pub from: Option<String>,
    pub to: String,
    /// The version stays: its installed file was missing or changed, and is fetched again.
    pub repaired: bool,
}

/// What an update would download for one plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    pub plugin: String,
    pub bytes: u64,
    /// A patch from the installed file, or the full file.
    pub patch: bool,
}

/// What an update or a check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The channel's manifest is the installed one.
    UpToDate { manifest_version: u64 },
    /// A check found a newer manifest (nothing was downloaded).
    Available {
        from_manifest: u64,
        to_manifest: u64,
        changes: Vec<Change>,
        /// What an update would download, per changed plugin.
        downloads: Vec<Download>,
    },
    /// An update installed a newer manifest.
    Updated {
        from_manifest: u64,
        to_manifest: u64,
        changes: Vec<Change>,
        /// False while a [`Confirm::Manually`] update awaits [`Updater::confirm`].
        confirmed: bool,
    },
}

/// What [`Updater::recover`] did at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// No update was awaiting confirmation.
    Clean,
    /// An unconfirmed update was rolled back; the next update retries it.
    RolledBack {
        manifest_version: u64,
        changes: Vec<Change>,
    },
}

/// Updates the plugins of one plugin directory from one channel.
pub struct Updater {
    config: UpdaterConfig,
    fetcher: Fetcher,
}

/// One managed plugin of a manifest, with its build for this host.
struct Step<'m> {
    plugin: &'m str,
    version: &'m str,
    build: &'m TargetBuild,
    /// Whether this build is fetched and swapped in.
    changed: bool,
    /// Whether it is the build installed already, whose file is missing or changed.
    repair: bool,
    /// What is installed now and intact, a possible base for a patch.
    installed: Option<Installed>,
}

impl Updater {
    pub fn new(config: UpdaterConfig) -> Updater {
        let fetcher = Fetcher::new(Limits {
            connect: config.connect_timeout,
            read: config.read_timeout,
            min_bytes_per_second: config.min_bytes_per_second,
            total: config.timeout,
        });
        Updater { config, fetcher }
    }

    pub fn config(&self) -> &UpdaterConfig {
        &self.config
    }

    /// The stored state (empty before the first update).
    pub fn state(&self) -> Result<State, UpdateError> {
        State::load(&self.config.state_dir)
    }

    /// The update awaiting confirmation, if any.
    pub fn pending(&self) -> Result<Option<Pending>, UpdateError> {
        Pending::load(&self.config.state_dir)
    }

    /// Where an installed plugin's file is.
    pub fn installed_path(&self, installed: &Installed) -> PathBuf {
        self.config.plugin_dir.join(&installed.file)
    }

    /// Where an installed plugin's file is, once it is a regular file no larger than an
    /// update may install whose SHA-256 is the one recorded in the state: what is loaded at start or by a rollback is what was
    /// verified when it was installed.
    pub fn verified_path(&self, installed: &Installed) -> Result<PathBuf, UpdateError> {
        self.read_verified(installed).map(|(path, _)| path)
    }

    /// The path and bytes of an installed plugin's file, checked as by
    /// [`Updater::verified_path`].
    fn read_verified(&self, installed: &Installed) -> Result<(PathBuf, Vec<u8>), UpdateError> {
        let path = self.installed_path(installed);
        let read_error = |source| UpdateError::Read {
            path: path.clone(),
            error: source,
        };
        let metadata = std::fs::symlink_metadata(&path).map_err(read_error)?;
        if !metadata.is_file() {
            return Err(UpdateError::InstalledChanged {
                path,
                problem: "is not a regular file".to_owned(),
            });
        }
        let limit = self.config.max_artifact_bytes;
        if metadata.len() > limit {
            return Err(UpdateError::InstalledChanged {
                path,
                problem: format!("size is {} bytes, expected at most {limit}", metadata.len()),
            });
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .and_then(|file| file.take(limit).read_to_end(&mut bytes))
            .map_err(read_error)?;
        let found = crate::shadow_sha256(&bytes);
        if found != installed.sha256 {
            return Err(UpdateError::InstalledChanged {
                path,
                problem: format!("sha256 is {found}, expected {}", installed.sha256),
            });
        }
        Ok((path, bytes))
    }

    /// Fetches and verifies the channel's manifest and says what an update would change,
    /// downloading nothing and changing nothing.
    pub fn check(&self, managed: &[String]) -> Result<Outcome, UpdateError> {
        let started = SystemTime::now();
        let state = self.state()?;
        let channel = self.channel(&state)?;
        let keys = self.release_keys(&channel, false)?;
        let manifest = self.fetch_manifest(&channel, &keys)?;
        let Some(manifest) = self.to_install(manifest, &state, managed, started)? else {
            return Ok(Outcome::UpToDate {
                manifest_version: state.manifest_version,
            });
        };
        let steps = self.plan(&manifest, &state, managed)?;
        let downloads = steps
            .iter()
            .filter(|step| step.changed)
            .map(|step| self.download_of(step))
            .collect();
        Ok(Outcome::Available {
            from_manifest: state.manifest_version,
            to_manifest: manifest.manifest_version,
            changes: changes_of(&steps, &state),
            downloads,
        })
    }

    /// Installs the channel's manifest into `slots` if it is newer than the stored one.
    pub fn update(&self, slots: &Slots, progress: &dyn Progress) -> Result<Outcome, UpdateError> {
        let started = SystemTime::now();
        let channel = self.channel(&self.state()?)?;
        // Fetched before the lock is taken: a slow server never holds up another updater.
        let keys = self.release_keys(&channel, true)?;
        let manifest = self.fetch_manifest(&channel, &keys)?;
        let _lock = UpdateLock::acquire(&self.config.state_dir, self.config.lock_timeout)?;
        self.refuse_pending()?;
        let state = self.state()?;
        let managed = slots.names();
        let Some(manifest) = self.to_install(manifest, &state, &managed, started)? else {
            return Ok(Outcome::UpToDate {
                manifest_version: state.manifest_version,
            });
        };
        let steps = self.plan(&manifest, &state, &managed)?;
        let mut staged = Staged::default();
        for step in steps.iter().filter(|step| step.changed) {
            self.fetch_and_place(&channel, step, progress, &mut staged)?;
        }
        let next = next_state(&state, &manifest, &channel, &steps, started);
        let changes = changes_of(&steps, &state);
        let swapped = steps.iter().any(|step| step.changed);
        if swapped {
            Pending {
                manifest_version: manifest.manifest_version,
                before: state.clone(),
            }
            .save(&self.config.state_dir)?;
            self.swap_all(slots, &steps, &next)?;
        }
        if let Err(error) = next.save(&self.config.state_dir) {
            undo_all(slots, &steps);
            let _ = Pending::clear(&self.config.state_dir);
            return Err(error);
        }
        staged.keep();
        let confirmed = !swapped || self.config.confirm == Confirm::Immediately;
        if swapped && confirmed {
            Pending::clear(&self.config.state_dir)?;
            self.remove_unreferenced(&state, &next);
        }
        Ok(Outcome::Updated {
            from_manifest: state.manifest_version,
            to_manifest: manifest.manifest_version,
            changes,
            confirmed,
        })
    }

    /// Confirms the update awaiting confirmation: it will not be rolled back at restart.
    pub fn confirm(&self) -> Result<(), UpdateError> {
        let _lock = UpdateLock::acquire(&self.config.state_dir, self.config.lock_timeout)?;
        let Some(pending) = self.pending()? else {
            return Ok(());
        };
        Pending::clear(&self.config.state_dir)?;
        self.remove_unreferenced(&pending.before, &self.state()?);
        Ok(())
    }

    /// At start, before any plugin is loaded: removes temporary files a dead process left,
    /// and rolls back an update that swapped but was never confirmed (the process died),
    /// restoring the state from before it. That release is retried by the next update, up
    /// to [`MAX_ATTEMPTS`] times.
    pub fn recover(&self) -> Result<Recovery, UpdateError> {
        let _lock = UpdateLock::acquire(&self.config.state_dir, self.config.lock_timeout)?;
        sweep_incoming(&self.config.plugin_dir);
        sweep_incoming(&self.config.state_dir);
        let Some(pending) = self.pending()? else {
            return Ok(Recovery::Clean);
        };
        let abandoned = self.state()?;
        let mut restored = pending.before.clone();
        let times = match &restored.abandoned {
            Some(last) if last.manifest_version == pending.manifest_version => last.times + 1,
            _ => 1,
        };
        restored.abandoned = Some(Abandoned {
            manifest_version: pending.manifest_version,
            times,
        });
        restored.save(&self.config.state_dir)?;
        Pending::clear(&self.config.state_dir)?;
        self.remove_unreferenced(&abandoned, &restored);
        let changes = abandoned
            .plugins
            .iter()
            .filter(|(name, now)| restored.plugins.get(*name) != Some(*now))
            .map(|(name, now)| Change {
                plugin: name.clone(),
                from: Some(now.installed.version.clone()),
                to: restored.plugins.get(name).map_or_else(
                    || "nothing".to_owned(),
                    |before| before.installed.version.clone(),
                ),
                repaired: false,
            })
            .collect();
        Ok(Recovery::RolledBack {
            manifest_version: pending.manifest_version,
            changes,
        })
    }

    /// Moves an unreadable `state.json` or `pending.json` aside (see
    /// [`crate::state::set_aside_unreadable`]), under the update lock.
    pub fn set_aside_unreadable(&self) -> Result<Vec<SetAside>, UpdateError> {
        let _lock = UpdateLock::acquire(&self.config.state_dir, self.config.lock_timeout)?;
        crate::state::set_aside_unreadable(&self.config.state_dir)
    }

    /// Puts every plugin that has a previous version back to it (each one loaded, validated
    /// and self-tested first). The stored `manifest_version` stays: only a newer release
    /// installs again.
    pub fn rollback(&self, slots: &Slots) -> Result<Vec<Change>, UpdateError> {
        let _lock = UpdateLock::acquire(&self.config.state_dir, self.config.lock_timeout)?;
        self.refuse_pending()?;
        let state = self.state()?;
        if state.plugins.is_empty() {
            return Err(UpdateError::NothingInstalled {
                path: self.config.state_dir.clone(),
            });
        }
        let targets: Vec<(&String, &Installed, &Installed)> = state
            .plugins
            .iter()
            .filter_map(|(name, p)| p.previous.as_ref().map(|prev| (name, &p.installed, prev)))
            .collect();
        if targets.is_empty() {
            return Err(UpdateError::NoPrevious {
                plugin: state
                    .plugins
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("`, `"),
            });
        }
        let mut next = state.clone();
        let mut done = Vec::new();
        for (name, _, previous) in &targets {
            let path = match self.verified_path(previous) {
                Ok(path) => path,
                Err(error) => {
                    undo_names(slots, &done);
                    return Err(error);
                }
            };
            let swapped = slots
                .get(name)
                .map(|slot| slot.swap_in(&path, name, &previous.version, &previous.sha256));
            if let Some(Err(error)) = swapped {
                undo_names(slots, &done);
                return Err(error);
            }
            done.push(name.as_str());
            next.plugins.insert(
                (*name).clone(),
                PluginState {
                    installed: (*previous).clone(),
                    previous: None,
                },
            );
        }
        if let Err(error) = next.save(&self.config.state_dir) {
            undo_names(slots, &done);
            return Err(error);
        }
        self.remove_unreferenced(&state, &next);
        Ok(targets
            .iter()
            .map(|(name, installed, previous)| Change {
                plugin: (*name).clone(),
                from: Some(installed.version.clone()),
                to: previous.version.clone(),
                repaired: false,
            })
            .collect())
    }

    fn refuse_pending(&self) -> Result<(), UpdateError> {
        match self.pending()? {
            Some(_) => Err(UpdateError::Pending {
                path: self.config.state_dir.join(crate::state::PENDING_FILE),
            }),
            None => Ok(()),
        }
    }

    fn channel(&self, state: &State) -> Result<String, UpdateError> {
        let channel = self
            .config
            .channel
            .clone()
            .or_else(|| state.channel.clone())
            .ok_or_else(|| UpdateError::NoChannel {
                state: self.config.state_dir.join(crate::state::STATE_FILE),
            })?;
        fetch::check_channel(&channel)?;
        Ok(channel)
    }

    /// The channel's manifest, once its signature verified and it names this channel. A
    /// pair that does not verify is fetched once more: a release renames the manifest and
    /// its signature one after the other, so a reader between the two sees a torn pair.
    fn fetch_manifest(&self, channel: &str, keys: &TrustedKeys) -> Result<Manifest, UpdateError> {
        let bytes = match self.fetch_verified(channel, MANIFEST, keys) {
            Err(UpdateError::BadSignature { .. }) => {
                self.fetch_verified(channel, MANIFEST, keys)?
            }
            other => other?,
        };
        let manifest = self.with_patches(channel, keys, Manifest::parse(&bytes)?);
        let expected_channel = fetch::channel_name(channel)?;
        if manifest.channel != expected_channel {
            return Err(UpdateError::WrongChannel {
                url: channel.to_owned(),
                expected: expected_channel.to_owned(),
                found: manifest.channel.clone(),
            });
        }
        Ok(manifest)
    }

    /// `manifest`, with the patches of the channel's schema-3 manifest if that one verifies
    /// and says exactly what `manifest` says besides. Anything else (none, torn, another
    /// release) leaves `manifest` as it is: an update then downloads full files.
    fn with_patches(&self, channel: &str, keys: &TrustedKeys, manifest: Manifest) -> Manifest {
        let patched = self
            .fetch_verified(channel, PATCHED_MANIFEST, keys)
            .and_then(|bytes| Manifest::parse(&bytes));
        match patched {
            Ok(patched) if patched.without_patches() == manifest.without_patches() => patched,
            _ => manifest,
        }
    }

    /// The bytes of the channel's manifest file `name`, once its signature verifies.
    fn fetch_verified(
        &self,
        channel: &str,
        name: &str,
        keys: &TrustedKeys,
    ) -> Result<Vec<u8>, UpdateError> {
        let manifest_url = fetch::join(channel, name);
        let bytes = self
            .fetcher
            .fetch_capped(&manifest_url, self.config.max_manifest_bytes)?;
        let signature = self.fetcher.fetch_capped(
            &fetch::join(channel, &format!("{name}.sig")),
            MAX_SIGNATURE_BYTES,
        )?;
        keys.verify(&bytes, &signature)?;
        Ok(bytes)
    }

    /// The keys release manifests must be signed with: those of the newest root the
    /// channel offers (stored under `roots/` in the state directory when `keep` is set), or
    /// the configured keys when the host ships no root.
    fn release_keys(&self, channel: &str, keep: bool) -> Result<TrustedKeys, UpdateError> {
        let Some(pinned) = &self.config.root else {
            return Ok(self.config.trusted_keys.clone());
        };
        let mut root = self.stored_root(pinned)?;
        for _ in 0..MAX_ROOT_STEPS {
            let name = format!("root/{}.json", root.root_version + 1);
            let url = fetch::join(channel, &name);
            let Some(bytes) = self.fetcher.fetch_if_present(&url, MAX_ROOT_BYTES)? else {
                break;
            };
            let signatures = self
                .fetcher
                .fetch_capped(&format!("{url}.sig"), MAX_ROOT_SIGNATURE_BYTES)?;
            root = root.verify_next(&bytes, &signatures)?;
            if keep {
                self.keep_root(root.root_version, &bytes, &signatures)?;
            }
        }
        Ok(root.release_trust())
    }

    /// The newest root stored in the state directory, verified link by link from `pinned`
    /// (a stored root is never trusted for being there).
    fn stored_root(&self, pinned: &Root) -> Result<Root, UpdateError> {
        let dir = self.config.state_dir.join(ROOTS_DIR);
        let mut root = pinned.clone();
        loop {
            let path = dir.join(format!("{}.json", root.root_version + 1));
            let bytes = read_stored(&path, MAX_ROOT_BYTES)?;
            let signatures =
                read_stored(&path.with_extension("json.sig"), MAX_ROOT_SIGNATURE_BYTES)?;
            let (Some(bytes), Some(signatures)) = (bytes, signatures) else {
                return Ok(root);
            };
            root = root.verify_next(&bytes, &signatures)?;
        }
    }

    fn keep_root(&self, version: u64, bytes: &[u8], signatures: &[u8]) -> Result<(), UpdateError> {
        let dir = self.config.state_dir.join(ROOTS_DIR);
        let name = format!("{version}.json");
        write_all_atomically(
            &dir,
            &[
                (name.as_str(), bytes),
                (format!("{name}.sig").as_str(), signatures),
            ],
        )
    }

    /// Refuses `manifest` if it expired, judged by the later of the clock at `started` and
    /// the latest time the state has seen (so a clock set back does not revive it).
    fn check_expiry(
        &self,
        manifest: &Manifest,
        state: &State,
        started: SystemTime,
    ) -> Result<(), UpdateError> {
        let seen = state.latest_time_seen();
        let now = seen.map_or(started, |seen| seen.max(started));
        if manifest.expires_at()? <= now {
            return Err(match seen {
                Some(seen) if seen > started => UpdateError::ClockBehind {
                    expires: manifest.expires.clone(),
                    seen: format_rfc3339(seen),
                    now: format_rfc3339(started),
                },
                _ => UpdateError::Expired {
                    expires: manifest.expires.clone(),
                    now: format_rfc3339(started),
                },
            });
        }
        Ok(())
    }

    /// Refuses a newer `manifest` issued before the newest one already accepted, or later
    /// than [`MAX_CLOCK_SKEW`] after the clock at `started`: an `issued` time in the future,
    /// once accepted, would judge every later manifest by that time, and refuse as expired
    /// (a clock set back) those that expire before it.
    fn check_issued(
        &self,
        manifest: &Manifest,
        state: &State,
        started: SystemTime,
    ) -> Result<(), UpdateError> {
        if manifest.issued_at()? > started + MAX_CLOCK_SKEW {
            return Err(UpdateError::IssuedInTheFuture {
                issued: manifest.issued.clone(),
                now: format_rfc3339(started),
            });
        }
        match state.newest_issued_at() {
            Some(seen) if manifest.issued_at()? < seen => Err(UpdateError::IssuedBeforeSeen {
                issued: manifest.issued.clone(),
                seen: format_rfc3339(seen),
            }),
            _ => Ok(()),
        }
    }

    /// `manifest` if it is unexpired, newer than the stored one (by version and by
    /// `issued`) and for this host's ABI; `None` if it is the stored one.
    fn newer(
        &self,
        manifest: Manifest,
        state: &State,
        started: SystemTime,
    ) -> Result<Option<Manifest>, UpdateError> {
        self.check_expiry(&manifest, state, started)?;
        let (stored, found) = (state.manifest_version, manifest.manifest_version);
        if let Some(abandoned) = &state.abandoned
            && abandoned.manifest_version == found
            && abandoned.times >= MAX_ATTEMPTS
        {
            return Err(UpdateError::Abandoned {
                manifest_version: found,
                times: abandoned.times,
            });
        }
        if found < stored {
            return Err(UpdateError::OlderManifest { stored, found });
        }
        if found == stored {
            return Ok(None);
        }
        if stored > 0 && found - stored > self.config.max_version_jump {
            return Err(UpdateError::VersionJump {
                stored,
                found,
                max_jump: self.config.max_version_jump,
            });
        }
        self.check_issued(&manifest, state, started)?;
        if manifest.abi_version != self.config.abi_version {
            return Err(UpdateError::AbiMismatch {
                expected: self.config.abi_version,
                found: manifest.abi_version,
            });
        }
        Ok(Some(manifest))
    }

    /// The manifest to install: `manifest` if it is newer than the stored one, or if it is
    /// the stored one and a managed plugin's installed file is missing or changed (which
    /// the update then fetches again); `None` when there is nothing to do.
    fn to_install(
        &self,
        manifest: Manifest,
        state: &State,
        managed: &[String],
        started: SystemTime,
    ) -> Result<Option<Manifest>, UpdateError> {
        if let Some(newer) = self.newer(manifest.clone(), state, started)? {
            return Ok(Some(newer));
        }
        let repairs = self
            .plan(&manifest, state, managed)
            .is_ok_and(|steps| steps.iter().any(|step| step.repair));
        Ok(repairs.then_some(manifest))
    }

    /// The manifest's managed plugins with their build for this host's triple.
    fn plan<'m>(
        &self,
        manifest: &'m Manifest,
        state: &State,
        managed: &[String],
    ) -> Result<Vec<Step<'m>>, UpdateError> {
        let mut steps = Vec::new();
        for (name, release) in &manifest.plugins {
            if !managed.contains(name) {
                continue;
            }
            let build = release.targets.get(&self.config.target).ok_or_else(|| {
                UpdateError::NoBuildForTarget {
                    plugin: name.clone(),
                    expected: self.config.target.clone(),
                    found: release.targets.keys().cloned().collect(),
                }
            })?;
            // A version claim that differs from what is installed is checked by loading
            // the file, even when its bytes are the installed ones.
            let installed = state.plugins.get(name).map(|p| &p.installed);
            let same =
                installed.is_some_and(|i| i.sha256 == build.sha256 && i.version == release.version);
            let intact = installed.filter(|i| self.read_verified(i).is_ok());
            steps.push(Step {
                plugin: name,
                version: &release.version,
                build,
                changed: !same || intact.is_none(),
                repair: same && intact.is_none(),
                installed: intact.cloned(),
            });
        }
        if steps.is_empty() {
            return Err(UpdateError::NothingManaged {
                managed: managed.to_vec(),
                found: manifest.plugins.keys().cloned().collect(),
            });
        }
        Ok(steps)
    }

    /// Downloads one build, checks size and hash, installs it under its content-addressed
    /// name and runs the structural checks on it.
    fn fetch_and_place(
        &self,
        channel: &str,
        step: &Step,
        progress: &dyn Progress,
        staged: &mut Staged,
    ) -> Result<(), UpdateError> {
        let build = step.build;
        if build.size > self.config.max_artifact_bytes {
            return Err(UpdateError::DeclaredTooLarge {
                plugin: step.plugin.to_owned(),
                what: "build",
                limit: self.config.max_artifact_bytes,
                found: build.size,
            });
        }
        let bytes = match self.patch_for(step) {
            Some((patch, base)) => self
                .fetch_by_patch(channel, step, patch, base, progress)
                .or_else(|error| {
                    progress.fell_back(step.plugin, &error.to_string());
                    self.fetch_full(channel, step, progress)
                })?,
            None => self.fetch_full(channel, step, progress)?,
        };
        let name = installed_file_name(build);
        let path = self.config.plugin_dir.join(&name);
        if !fastforth_host::shadow::holds(&path, &bytes) {
            write_atomically(&self.config.plugin_dir, &name, &bytes)?;
            staged.created.push(path.clone());
        }
        fastforth_host::inspect::check_bytes(&path, &bytes).map_err(|source| UpdateError::Plugin {
            plugin: step.plugin.to_owned(),
            error: Box::new(source),
        })
    }

    /// The bytes of `step`'s build, downloaded whole: exactly `size` bytes with its SHA-256.
    fn fetch_full(
        &self,
        channel: &str,
        step: &Step,
        progress: &dyn Progress,
    ) -> Result<Vec<u8>, UpdateError> {
        let build = step.build;
        let url = fetch::join(channel, &build.url);
        progress.started(step.plugin, build.size);
        let downloaded = self.fetcher.download(&url, build.size, progress);
        progress.finished();
        let downloaded = downloaded?;
        if downloaded.sha256 != build.sha256 {
            return Err(UpdateError::HashMismatch {
                url,
                expected: build.sha256.clone(),
                found: downloaded.sha256,
            });
        }
        Ok(downloaded.bytes)
    }

    /// The patch listed for `step`'s build whose base is the installed file, if any.
    fn patch_for<'s>(&self, step: &'s Step) -> Option<(&'s Patch, &'s Installed)> {
        let installed = step.installed.as_ref()?;
        let patch = step
            .build
            .patches
            .iter()
            .find(|patch| patch.from_sha256 == installed.sha256)?;
        Some((patch, installed))
    }

    /// What an update would download for `step`: its patch if the installed file is still
    /// the patch's base, else the full file.
    fn download_of(&self, step: &Step) -> Download {
        let patch = self
            .patch_for(step)
            .filter(|(_, base)| self.read_verified(base).is_ok());
        Download {
            plugin: step.plugin.to_owned(),
            bytes: patch.map_or(step.build.size, |(patch, _)| patch.size),
            patch: patch.is_some(),
        }
    }

    /// The bytes of `step`'s build, made from the installed file `base` and `patch`: the
    /// base is read and hashed again, the patch downloaded to exactly its signed size and
    /// hash, decoded to at most the build's size, and the result must have its SHA-256.
    fn fetch_by_patch(
        &self,
        channel: &str,
        step: &Step,
        patch: &Patch,
        base: &Installed,
        progress: &dyn Progress,
    ) -> Result<Vec<u8>, UpdateError> {
        let build = step.build;
        let (base_path, base_bytes) = self.read_verified(base)?;
        if patch.size > self.config.max_artifact_bytes {
            return Err(UpdateError::DeclaredTooLarge {
                plugin: step.plugin.to_owned(),
                what: "patch",
                limit: self.config.max_artifact_bytes,
                found: patch.size,
            });
        }
        let url = fetch::join(channel, &patch.url);
        progress.started(step.plugin, patch.size);
        let downloaded = self.fetcher.download(&url, patch.size, progress);
        progress.finished();
        let downloaded = downloaded?;
        if downloaded.sha256 != patch.sha256 {
            return Err(UpdateError::HashMismatch {
                url,
                expected: patch.sha256.clone(),
                found: downloaded.sha256,
            });
        }
        let applied_url = format!("{url} applied to {}", base_path.display());
        let result =
            crate::patch::apply(&base_bytes, &downloaded.bytes, build.size).map_err(|error| {
                UpdateError::Patch {
                    url: applied_url.clone(),
                    problem: error.to_string(),
                }
            })?;
        let found = crate::shadow_sha256(&result);
        if found != build.sha256 {
            return Err(UpdateError::HashMismatch {
                url: applied_url,
                expected: build.sha256.clone(),
                found,
            });
        }
        Ok(result)
    }

    /// Swaps every changed plugin in; on the first failure undoes the ones before it and
    /// removes the pending marker.
    fn swap_all(&self, slots: &Slots, steps: &[Step], next: &State) -> Result<(), UpdateError> {
        let mut done = Vec::new();
        for step in steps.iter().filter(|step| step.changed) {
            let installed = &next.plugins[step.plugin].installed;
            let slot = slots
                .get(step.plugin)
                .expect("plan keeps managed plugins only");
            let swapped = slot.swap_in(
                &self.installed_path(installed),
                step.plugin,
                step.version,
                &installed.sha256,
            );
            if let Err(error) = swapped {
                undo_names(slots, &done);
                // Should this fail, the marker stays and the next start restores the state
                // from before this update, which is what is on disk anyway.
                let _ = Pending::clear(&self.config.state_dir);
                return Err(error);
            }
            done.push(step.plugin);
        }
        Ok(())
    }

    /// Removes plugin files `before` referenced and `after` does not (best effort: a file
    /// still mapped elsewhere is harmless to unlink on Unix and stays on Windows).
    fn remove_unreferenced(&self, before: &State, after: &State) {
        let referenced = |state: &State, file: &str| {
            state.plugins.values().any(|p| {
                p.installed.file == file
                    || p.previous.as_ref().is_some_and(|prev| prev.file == file)
            })
        };
        for plugin in before.plugins.values() {
            for old in std::iter::once(&plugin.installed).chain(&plugin.previous) {
                if !referenced(after, &old.file) {
                    let _ = std::fs::remove_file(self.installed_path(old));
                }
            }
        }
    }
}

/// The file name a build is installed (and published) under: `<stem>-<sha256 prefix>.<ext>`,
/// the host's content-addressed naming, so two builds never share a name.
pub fn installed_file_name(build: &TargetBuild) -> String {
    fastforth_host::shadow::shadow_file_name(Path::new(&build.file), &build.sha256)
}

fn next_state(
    state: &State,
    manifest: &Manifest,
    channel: &str,
    steps: &[Step],
    started: SystemTime,
) -> State {
    let mut next = state.clone();
    next.manifest_version = manifest.manifest_version;
    next.abandoned = None;
    next.newest_issued = Some(manifest.issued.clone());
    let clock = state
        .latest_time_seen()
        .map_or(started, |seen| seen.max(started));
    next.clock_seen = Some(format_rfc3339(clock));
    next.channel = Some(channel.to_owned());
    // A repaired plugin keeps its entry: the same build, the same one to go back to.
    for step in steps.iter().filter(|step| step.changed && !step.repair) {
        let installed = Installed {
            version: step.version.to_owned(),
            file: installed_file_name(step.build),
            sha256: step.build.sha256.clone(),
            manifest_version: manifest.manifest_version,
        };
        let previous = state.plugins.get(step.plugin).map(|p| p.installed.clone());
        next.plugins.insert(
            step.plugin.to_owned(),
            PluginState {
                installed,
                previous,
            },
        );
    }
    next
}

fn changes_of(steps: &[Step], state: &State) -> Vec<Change> {
    steps
        .iter()
        .filter(|step| step.changed)
        .map(|step| Change {
            plugin: step.plugin.to_owned(),
            from: state
                .plugins
                .get(step.plugin)
                .map(|p| p.installed.version.clone()),
            to: step.version.to_owned(),
            repaired: step.repair,
        })
        .collect()
}

fn undo_all(slots: &Slots, steps: &[Step]) {
    let changed: Vec<&str> = steps
        .iter()
        .filter(|step| step.changed)
        .map(|step| step.plugin)
        .collect();
    undo_names(slots, &changed);
}

/// Undoes the swaps of `names`, last first. An undo that fails leaves that slot on the
/// new version, which passed every check; the state on disk still names the old one.
fn undo_names(slots: &Slots, names: &[&str]) {
    for name in names.iter().rev() {
        if let Some(slot) = slots.get(name) {
            let _ = slot.undo(name);
        }
    }
}

/// Files an update placed in the plugin directory: removed again unless the update is kept.
#[derive(Default)]
struct Staged {
    created: Vec<PathBuf>,
}

impl Staged {
    fn keep(&mut self) {
        self.created.clear();
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for path in &self.created {
            let _ = std::fs::remove_file(path);
        }
    }
}

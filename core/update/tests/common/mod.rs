//! Shared support of the update tests: plugin builds (each built once per test process), a
//! channel served over HTTP on 127.0.0.1, and a host with one example-plugin slot whose
//! installed plugin and stored state can be snapshotted and compared.
#![allow(dead_code)]

pub mod server;

use fastforth_host::{Example, HotSwap, Loader};
use fastforth_update::{
    Confirm, HOST_TARGET, HotSlot, Manifest, NoProgress, Outcome, Release, ReleaseArtifact,
    SigningKey, Slots, TrustedKeys, UpdateError, Updater, UpdaterConfig,
};
use server::Server;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Builds `package` with `features` (release) once per test process.
pub fn built(package: &str, features: &[&str]) -> PathBuf {
    fastforth_plugin_build::built_once(package, features)
}

pub fn example_v1() -> PathBuf {
    built("fastforth-example-plugin", &[])
}

pub fn example_v2() -> PathBuf {
    built("fastforth-example-plugin", &["v2"])
}

/// The fixture plugin with one fault, named by its cargo feature.
pub fn fixture(fault: &str) -> PathBuf {
    built("fastforth-fixture-plugin", &[fault])
}

/// The key the tests' channel is signed with.
pub fn release_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// A key nobody trusts.
pub fn stranger_key() -> SigningKey {
    SigningKey::from_bytes(&[8; 32])
}

/// One artifact of the example plugin for this host's triple.
pub fn artifact(version: &str, path: &Path) -> ReleaseArtifact {
    ReleaseArtifact {
        plugin: "example".to_owned(),
        version: version.to_owned(),
        triple: HOST_TARGET.to_owned(),
        path: path.into(),
    }
}

/// A channel (`stable`), its HTTP server, and a host's plugin and state directories.
pub struct World {
    pub dir: tempfile::TempDir,
    /// The directory of the `stable` channel, in the served `channels` directory.
    pub channel: PathBuf,
    pub plugin_dir: PathBuf,
    pub state_dir: PathBuf,
    pub server: Server,
    pub loader: Arc<Loader>,
    pub slot: Arc<HotSlot<Example>>,
}

/// What must not change when an update is refused.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub state: Vec<u8>,
    pub plugin_files: BTreeMap<String, Vec<u8>>,
    pub serving: Option<String>,
    pub pending: bool,
}

impl World {
    /// Nothing installed; an empty channel.
    pub fn new() -> World {
        World::with_plugin_dir(None)
    }

    /// Like [`World::new`] with the plugins installed in `plugin_dir`.
    pub fn with_plugin_dir(plugin_dir: Option<PathBuf>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let channels = dir.path().join("channels");
        let channel = channels.join("stable");
        std::fs::create_dir_all(&channel).unwrap();
        let loader = Arc::new(Loader::new(dir.path().join("cache")));
        World {
            channel: channel.clone(),
            plugin_dir: plugin_dir.unwrap_or_else(|| dir.path().join("plugins")),
            state_dir: dir.path().join("state"),
            server: Server::start(&channels),
            slot: Arc::new(HotSlot::empty(loader.clone())),
            loader,
            dir,
        }
    }

    /// Version 1.0.0 published as manifest 1 and installed.
    pub fn installed_v1() -> World {
        World::installed_v1_in(None)
    }

    pub fn installed_v1_in(plugin_dir: Option<PathBuf>) -> World {
        let world = World::with_plugin_dir(plugin_dir);
        world.publish(&[artifact("1.0.0", &example_v1())]);
        let outcome = world.update().unwrap();
        assert!(
            matches!(outcome, Outcome::Updated { to_manifest: 1, .. }),
            "{outcome:?}"
        );
        assert_eq!(world.serving().as_deref(), Some("1.0.0"));
        world
    }

    pub fn config(&self) -> UpdaterConfig {
        let mut config = UpdaterConfig::new(
            TrustedKeys::new([release_key().verifying_key()]),
            &self.plugin_dir,
            &self.state_dir,
        );
        config.channel = Some(self.channel_url());
        config.timeout = Duration::from_secs(20);
        config.lock_timeout = Duration::from_secs(20);
        config
    }

    /// The URL of the `stable` channel.
    pub fn channel_url(&self) -> String {
        format!("{}/stable", self.server.url())
    }

    /// The directory of another channel served next to `stable`.
    pub fn other_channel(&self, name: &str) -> PathBuf {
        let path = self.channel.with_file_name(name);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    pub fn updater(&self) -> Updater {
        Updater::new(self.config())
    }

    pub fn slots(&self) -> Slots {
        let mut slots = Slots::new();
        slots.insert("example", self.slot.clone());
        slots
    }

    pub fn update(&self) -> Result<Outcome, UpdateError> {
        self.updater().update(&self.slots(), &NoProgress)
    }

    pub fn update_with(&self, config: UpdaterConfig) -> Result<Outcome, UpdateError> {
        Updater::new(config).update(&self.slots(), &NoProgress)
    }

    /// Publishes `artifacts` as the channel's next manifest, signed with the release key.
    pub fn publish(&self, artifacts: &[ReleaseArtifact]) -> Manifest {
        self.release(&release_key(), |release| release, artifacts)
    }

    /// Publishes with a release adjusted by `adjust`, signed with `key`.
    pub fn release(
        &self,
        key: &SigningKey,
        adjust: impl FnOnce(Release) -> Release,
        artifacts: &[ReleaseArtifact],
    ) -> Manifest {
        let release = Release::new(&self.channel, key).state_file(&self.publisher_state());
        adjust(release).publish(artifacts).unwrap()
    }

    /// The publisher's private state file (outside the served directories).
    pub fn publisher_state(&self) -> PathBuf {
        self.dir.path().join("publisher.json")
    }

    /// The hot-swap handle of the example plugin.
    pub fn hot(&self) -> Arc<HotSwap<Example>> {
        self.slot.hot_swap().expect("something is installed")
    }

    pub fn serving(&self) -> Option<String> {
        self.slot
            .hot_swap()
            .map(|hot| hot.current().version().to_owned())
    }

    /// The channel file of the (only) example build in the current manifest.
    pub fn artifact_url(&self) -> String {
        let manifest = std::fs::read(self.channel.join("manifest.json")).unwrap();
        let manifest = Manifest::parse(&manifest).unwrap();
        manifest.plugins["example"].targets[HOST_TARGET].url.clone()
    }

    /// The signed SHA-256 of the (only) example build in the current manifest.
    pub fn artifact_sha256(&self) -> String {
        let manifest = std::fs::read(self.channel.join("manifest.json")).unwrap();
        let manifest = Manifest::parse(&manifest).unwrap();
        manifest.plugins["example"].targets[HOST_TARGET]
            .sha256
            .clone()
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut plugin_files = BTreeMap::new();
        for entry in std::fs::read_dir(&self.plugin_dir)
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            plugin_files.insert(name, std::fs::read(entry.path()).unwrap());
        }
        Snapshot {
            state: std::fs::read(self.state_dir.join("state.json")).unwrap_or_default(),
            plugin_files,
            serving: self.serving(),
            pending: self.state_dir.join("pending.json").exists(),
        }
    }

    /// Asserts that the installed plugin, the plugin directory and the stored state are as
    /// in `before`, and that the serving plugin still answers.
    pub fn assert_unchanged(&self, before: &Snapshot) {
        let after = self.snapshot();
        assert_eq!(after.serving, before.serving, "serving version changed");
        assert_eq!(after.pending, before.pending, "pending marker changed");
        assert!(after.state == before.state, "state.json changed");
        assert_eq!(
            after.plugin_files.keys().collect::<Vec<_>>(),
            before.plugin_files.keys().collect::<Vec<_>>(),
            "plugin directory changed"
        );
        assert!(
            after.plugin_files == before.plugin_files,
            "a plugin file changed"
        );
        if before.serving.is_some() {
            assert_eq!(self.hot().current().fibonacci(10).unwrap(), 89);
        }
    }

    /// A config that confirms nothing by itself.
    pub fn manual_config(&self) -> UpdaterConfig {
        let mut config = self.config();
        config.confirm = Confirm::Manually;
        config
    }
}

/// Flips one bit of the byte at `offset` in `path`.
/// Replaces the hex digit at `offset` with another hex digit, so that the text stays a
/// well-formed hex string (flipping a bit of `a` or `f` would leave the hex alphabet).
pub fn change_hex_digit(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    assert!(
        bytes[offset].is_ascii_hexdigit(),
        "no hex digit at {offset}"
    );
    bytes[offset] = if bytes[offset] == b'0' { b'1' } else { b'0' };
    std::fs::write(path, bytes).unwrap();
}

pub fn flip_byte(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

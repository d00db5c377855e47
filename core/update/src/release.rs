//! The release side: writes a static channel directory that any file server can serve —
//! the plugin files under content-addressed names, `manifest.json` and its detached
//! signature `manifest.json.sig`. Each release into a directory takes the next
//! `manifest_version`. It knows nothing of how artifacts were built.

use crate::keys::sign;
use crate::manifest::{Manifest, PluginRelease, SCHEMA, TargetBuild};
use crate::state::write_atomically;
use crate::time::format_rfc3339;
use crate::updater::installed_file_name;
use crate::{UpdateError, shadow_sha256};
use ed25519_dalek::SigningKey;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// One built plugin file to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseArtifact {
    /// The plugin's name (its descriptor name, e.g. `example`).
    pub plugin: String,
    pub version: String,
    pub triple: String,
    pub path: PathBuf,
}

/// A release into one channel directory, signed with one key.
pub struct Release<'k> {
    channel_dir: PathBuf,
    key: &'k SigningKey,
    channel_name: Option<String>,
    issued: SystemTime,
    expires: SystemTime,
    abi_version: u32,
    manifest_version: Option<u64>,
}

impl<'k> Release<'k> {
    /// A release issued now and valid for 30 days, for this build's plugin ABI, into the
    /// channel named like the last component of `channel_dir`.
    pub fn new(channel_dir: &Path, key: &'k SigningKey) -> Release<'k> {
        let now = SystemTime::now();
        Release {
            channel_dir: channel_dir.into(),
            key,
            channel_name: None,
            issued: now,
            expires: now + Duration::from_secs(30 * 86_400),
            abi_version: fastforth_abi::ABI_VERSION,
            manifest_version: None,
        }
    }

    /// When the manifest stops being valid.
    pub fn expires(mut self, expires: SystemTime) -> Release<'k> {
        self.expires = expires;
        self
    }

    /// Names the channel `name` in the manifest instead of after the directory.
    pub fn channel_name(mut self, name: &str) -> Release<'k> {
        self.channel_name = Some(name.to_owned());
        self
    }

    /// When the manifest says it was released.
    pub fn issued(mut self, issued: SystemTime) -> Release<'k> {
        self.issued = issued;
        self
    }

    pub fn abi_version(mut self, abi_version: u32) -> Release<'k> {
        self.abi_version = abi_version;
        self
    }

    /// Publishes under exactly this `manifest_version` instead of the next one.
    pub fn manifest_version(mut self, manifest_version: u64) -> Release<'k> {
        self.manifest_version = Some(manifest_version);
        self
    }

    /// Copies the artifacts into the channel and writes the signed manifest (signature
    /// first, then the manifest, each atomically). Returns the manifest.
    pub fn publish(&self, artifacts: &[ReleaseArtifact]) -> Result<Manifest, UpdateError> {
        let manifest_version = match self.manifest_version {
            Some(version) => version,
            None => self.current_manifest_version()? + 1,
        };
        let mut plugins: BTreeMap<String, PluginRelease> = BTreeMap::new();
        for artifact in artifacts {
            let build = self.place(artifact)?;
            let release = plugins
                .entry(artifact.plugin.clone())
                .or_insert_with(|| PluginRelease {
                    version: artifact.version.clone(),
                    targets: BTreeMap::new(),
                });
            if release.version != artifact.version {
                return Err(manifest_problem(format!(
                    "plugin `{}` is {} for one target and {} for another: one release ships one version",
                    artifact.plugin, release.version, artifact.version
                )));
            }
            if release
                .targets
                .insert(artifact.triple.clone(), build)
                .is_some()
            {
                return Err(manifest_problem(format!(
                    "plugin `{}` has two builds for {}",
                    artifact.plugin, artifact.triple
                )));
            }
        }
        let manifest = Manifest {
            schema: SCHEMA,
            channel: self.channel()?,
            manifest_version,
            issued: format_rfc3339(self.issued),
            expires: format_rfc3339(self.expires),
            abi_version: self.abi_version,
            plugins,
        };
        let bytes = manifest.to_bytes();
        Manifest::parse(&bytes)?;
        write_atomically(
            &self.channel_dir,
            "manifest.json.sig",
            sign(&bytes, self.key).as_bytes(),
        )?;
        write_atomically(&self.channel_dir, "manifest.json", &bytes)?;
        Ok(manifest)
    }

    /// The channel's name: the one given, else the directory's last component.
    fn channel(&self) -> Result<String, UpdateError> {
        if let Some(name) = &self.channel_name {
            return Ok(name.clone());
        }
        self.channel_dir
            .file_name()
            .and_then(|name| name.to_str())
            .map(str::to_owned)
            .ok_or_else(|| {
                manifest_problem(format!(
                    "{}: expected a channel directory with a name, like `.../stable`",
                    self.channel_dir.display()
                ))
            })
    }

    /// The `manifest_version` already in the channel directory (0 when empty).
    fn current_manifest_version(&self) -> Result<u64, UpdateError> {
        let path = self.channel_dir.join("manifest.json");
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Manifest::parse(&bytes)?.manifest_version),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(source) => Err(UpdateError::Read { path, source }),
        }
    }

    /// Copies one artifact to its content-addressed name in the channel.
    fn place(&self, artifact: &ReleaseArtifact) -> Result<TargetBuild, UpdateError> {
        let bytes = std::fs::read(&artifact.path).map_err(|source| UpdateError::Read {
            path: artifact.path.clone(),
            source,
        })?;
        let file = artifact
            .path
            .file_name()
            .and_then(|name| name.to_str())
            .filter(|name| crate::manifest::is_plain_file_name(name))
            .ok_or_else(|| {
                manifest_problem(format!(
                    "{}: expected a plain file name",
                    artifact.path.display()
                ))
            })?;
        let mut build = TargetBuild {
            file: file.to_owned(),
            url: String::new(),
            size: bytes.len() as u64,
            sha256: shadow_sha256(&bytes),
        };
        build.url = installed_file_name(&build);
        if !std::fs::read(self.channel_dir.join(&build.url)).is_ok_and(|old| old == bytes) {
            write_atomically(&self.channel_dir, &build.url, &bytes)?;
        }
        Ok(build)
    }
}

fn manifest_problem(problem: String) -> UpdateError {
    UpdateError::Manifest { problem }
}

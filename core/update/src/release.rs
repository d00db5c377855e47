//! The release side: writes a static channel directory that any file server can serve —
//! the plugin files under content-addressed names, `manifest.json` and its detached
//! signature `manifest.json.sig`, both staged and then renamed together. Each release into a
//! channel takes the next `manifest_version`, counted in the publisher's own state file
//! (kept with the key, never read back from the served, unsigned `manifest.json`), which also
//! keeps `issued` from going back. It knows nothing of how artifacts were built.
//!
//! With [`Release::patches`], each artifact also gets a delta patch from each of the last
//! few builds released into the channel for its plugin and triple. Those builds are kept in
//! the publisher's own directory next to its state file (`<state>.bases/<channel>/`), never read back
//! from the served channel; a kept base whose SHA-256 changed is skipped.

use crate::keys::sign;
use crate::manifest::MAX_VALIDITY;
use crate::manifest::{
    MANIFEST, Manifest, PATCHED_MANIFEST, Patch, PluginRelease, SCHEMA, TargetBuild,
};
use crate::state::{write_all_atomically, write_atomically};
use crate::time::format_rfc3339;
use crate::updater::installed_file_name;
use crate::{UpdateError, shadow_sha256};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
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

/// Makes the patch that turns a base (first) into a new build (second), e.g.
/// [`crate::patch::make`] (feature `patches`).
pub type PatchMaker = fn(&[u8], &[u8]) -> Vec<u8>;

/// A release into one channel directory, signed with one key or more (for a root whose
/// release threshold is more than one).
pub struct Release<'k> {
    channel_dir: PathBuf,
    key: &'k SigningKey,
    cosigners: Vec<&'k SigningKey>,
    channel_name: Option<String>,
    issued: SystemTime,
    expires: SystemTime,
    abi_version: u32,
    manifest_version: Option<u64>,
    state_file: Option<PathBuf>,
    patches: Option<(usize, PatchMaker)>,
}

/// What a publisher remembers per channel, in its private state file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublisherState {
    channels: BTreeMap<String, Published>,
    /// The last builds released, newest last, per `channel/plugin/triple`: the bases of
    /// the next release's patches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    builds: BTreeMap<String, Vec<PastBuild>>,
}

/// One build released earlier, kept under `file` in the bases directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PastBuild {
    version: String,
    sha256: String,
    file: String,
}

/// The last release into one channel.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Published {
    manifest_version: u64,
    issued: String,
}

impl<'k> Release<'k> {
    /// A release issued now and valid for 30 days, for this build's plugin ABI, into the
    /// channel named like the last component of `channel_dir`.
    pub fn new(channel_dir: &Path, key: &'k SigningKey) -> Release<'k> {
        let now = SystemTime::now();
        Release {
            channel_dir: channel_dir.into(),
            key,
            cosigners: Vec::new(),
            channel_name: None,
            issued: now,
            expires: now + Duration::from_secs(30 * 86_400),
            abi_version: fastforth_abi::ABI_VERSION,
            manifest_version: None,
            state_file: None,
            patches: None,
        }
    }

    /// Also publishes, for each artifact, a patch from each of the last `bases` builds of
    /// its plugin and triple released into this channel (they are kept next to the state
    /// file, so this needs [`Release::state_file`]), made by `make`.
    pub fn patches(mut self, bases: usize, make: PatchMaker) -> Release<'k> {
        self.patches = Some((bases, make));
        self
    }

    /// Counts `manifest_version` in `path`, the publisher's private state (one entry per
    /// channel, created at the first release); each release takes the next number.
    pub fn state_file(mut self, path: &Path) -> Release<'k> {
        self.state_file = Some(path.into());
        self
    }

    /// When the manifest stops being valid: at most 90 days after it is issued.
    pub fn expires(mut self, expires: SystemTime) -> Release<'k> {
        self.expires = expires;
        self
    }

    /// Also signs the manifest with `key` (one more line in `manifest.json.sig`).
    pub fn cosign(mut self, key: &'k SigningKey) -> Release<'k> {
        self.cosigners.push(key);
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

    /// Copies the artifacts into the channel and writes the signed manifest and its
    /// signature (both staged, then renamed one right after the other), after recording the
    /// release in the state file. Returns the manifest.
    pub fn publish(&self, artifacts: &[ReleaseArtifact]) -> Result<Manifest, UpdateError> {
        let channel = self.channel()?;
        let mut state = self.read_state()?;
        let last = state.channels.get(&channel);
        let manifest_version = self.next_version(&channel, last)?;
        if let Some(last) = last {
            let issued = format_rfc3339(self.issued);
            if issued < last.issued {
                return Err(manifest_problem(format!(
                    "issued {issued}, before the last release into `{channel}` ({}): is the clock behind?",
                    last.issued
                )));
            }
        }
        self.check_validity()?;
        let plugins = self.place_all(artifacts, &channel, &mut state)?;
        let manifest = Manifest {
            schema: SCHEMA,
            channel: channel.clone(),
            manifest_version,
            issued: format_rfc3339(self.issued),
            expires: format_rfc3339(self.expires),
            abi_version: self.abi_version,
            plugins,
        };
        let bytes = manifest.to_bytes();
        Manifest::parse(&bytes)?;
        let old_bytes = manifest.without_patches().to_bytes();
        state.channels.insert(
            channel,
            Published {
                manifest_version,
                issued: manifest.issued.clone(),
            },
        );
        self.write_state(&state)?;
        let (signature, old_signature) = (self.signature(&bytes), self.signature(&old_bytes));
        write_all_atomically(
            &self.channel_dir,
            &[
                (PATCHED_MANIFEST, &bytes),
                (&format!("{PATCHED_MANIFEST}.sig"), signature.as_bytes()),
                (MANIFEST, &old_bytes),
                ("manifest.json.sig", old_signature.as_bytes()),
            ],
        )?;
        Ok(manifest)
    }

    /// One signature line per signing key over `bytes`.
    fn signature(&self, bytes: &[u8]) -> String {
        std::iter::once(self.key)
            .chain(self.cosigners.iter().copied())
            .map(|key| sign(bytes, key))
            .collect()
    }

    /// The explicit version if one was given (above the last one recorded), else the one
    /// after the last recorded.
    fn next_version(&self, channel: &str, last: Option<&Published>) -> Result<u64, UpdateError> {
        let recorded = last.map_or(0, |last| last.manifest_version);
        match (self.manifest_version, &self.state_file) {
            (Some(version), _) if version > recorded => Ok(version),
            (Some(version), _) => Err(manifest_problem(format!(
                "manifest_version {version} for `{channel}`, expected more than the last one published, {recorded}"
            ))),
            (None, Some(_)) => Ok(recorded + 1),
            (None, None) => Err(manifest_problem(
                "no manifest_version: give the publisher's state file, which counts them, or a version"
                    .to_owned(),
            )),
        }
    }

    fn check_validity(&self) -> Result<(), UpdateError> {
        let window = self.expires.duration_since(self.issued).unwrap_or_default();
        if window > MAX_VALIDITY {
            return Err(manifest_problem(format!(
                "expires {} days after it is issued, expected at most {} days",
                window.as_secs().div_ceil(86_400),
                MAX_VALIDITY.as_secs() / 86_400
            )));
        }
        Ok(())
    }

    /// Places every artifact and groups them by plugin.
    fn place_all(
        &self,
        artifacts: &[ReleaseArtifact],
        channel: &str,
        state: &mut PublisherState,
    ) -> Result<BTreeMap<String, PluginRelease>, UpdateError> {
        let mut plugins: BTreeMap<String, PluginRelease> = BTreeMap::new();
        for artifact in artifacts {
            let (mut build, bytes) = self.place(artifact)?;
            if let (Some((bases, make)), Some(dir)) = (self.patches, self.bases_dir()) {
                let dir = dir.join(channel);
                let key = format!("{channel}/{}/{}", artifact.plugin, artifact.triple);
                let history = state.builds.entry(key).or_default();
                build.patches = self.place_patches(&dir, history, &build, &bytes, make)?;
                remember(&dir, history, bases, &artifact.version, &build, &bytes)?;
            }
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
        Ok(plugins)
    }

    fn read_state(&self) -> Result<PublisherState, UpdateError> {
        let Some(path) = &self.state_file else {
            return Ok(PublisherState::default());
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| UpdateError::State {
                path: path.clone(),
                problem: format!("unreadable: {error}"),
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Ok(PublisherState::default())
            }
            Err(source) => Err(UpdateError::Read {
                path: path.clone(),
                error: source,
            }),
        }
    }

    fn write_state(&self, state: &PublisherState) -> Result<(), UpdateError> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        let (dir, name) = match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
            (Some(dir), Some(name)) => (dir, name),
            _ => {
                return Err(manifest_problem(format!(
                    "{}: expected a state file path with a file name",
                    path.display()
                )));
            }
        };
        let mut bytes = serde_json::to_vec_pretty(state).expect("publisher state serialises");
        bytes.push(b'\n');
        write_atomically(dir, name, &bytes).map(|_| ())
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

    /// Where the bases of patches are kept: `<state file>.bases/<channel>/`.
    fn bases_dir(&self) -> Option<PathBuf> {
        self.state_file
            .as_ref()
            .map(|state| state.with_extension("bases"))
    }

    /// Makes and places a patch to `build` from each kept base that still has its SHA-256.
    fn place_patches(
        &self,
        dir: &Path,
        history: &[PastBuild],
        build: &TargetBuild,
        bytes: &[u8],
        make: PatchMaker,
    ) -> Result<Vec<Patch>, UpdateError> {
        let mut patches = Vec::new();
        for past in history
            .iter()
            .rev()
            .filter(|past| past.sha256 != build.sha256)
        {
            let Ok(base) = std::fs::read(dir.join(&past.file)) else {
                continue;
            };
            if shadow_sha256(&base) != past.sha256 {
                continue;
            }
            let patch = make(&base, bytes);
            let url = patch_file_name(build, &past.sha256);
            write_atomically(&self.channel_dir, &url, &patch)?;
            patches.push(Patch {
                from_sha256: past.sha256.clone(),
                url,
                size: patch.len() as u64,
                sha256: shadow_sha256(&patch),
            });
        }
        Ok(patches)
    }

    /// Copies one artifact to its content-addressed name in the channel; returns its entry
    /// and its bytes.
    fn place(&self, artifact: &ReleaseArtifact) -> Result<(TargetBuild, Vec<u8>), UpdateError> {
        let bytes = std::fs::read(&artifact.path).map_err(|source| UpdateError::Read {
            path: artifact.path.clone(),
            error: source,
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
            patches: Vec::new(),
        };
        build.url = installed_file_name(&build);
        if !std::fs::read(self.channel_dir.join(&build.url)).is_ok_and(|old| old == bytes) {
            write_atomically(&self.channel_dir, &build.url, &bytes)?;
        }
        Ok((build, bytes))
    }
}

/// The name of the patch from the build with SHA-256 `from` to `build`:
/// `<build's published name without extension>.from-<24 hex digits of from>.zst`.
fn patch_file_name(build: &TargetBuild, from: &str) -> String {
    let published = installed_file_name(build);
    let stem = published
        .rsplit_once('.')
        .map_or(published.as_str(), |(stem, _)| stem);
    format!("{stem}.from-{}.zst", &from[..24])
}

/// Keeps `build` as a base for later patches: its bytes in `dir`, its entry last in
/// `history`, which keeps the newest `bases` (their kept files are removed).
fn remember(
    dir: &Path,
    history: &mut Vec<PastBuild>,
    bases: usize,
    version: &str,
    build: &TargetBuild,
    bytes: &[u8],
) -> Result<(), UpdateError> {
    let file = installed_file_name(build);
    write_atomically(dir, &file, bytes)?;
    history.retain(|past| past.sha256 != build.sha256);
    history.push(PastBuild {
        version: version.to_owned(),
        sha256: build.sha256.clone(),
        file,
    });
    let dropped = history.len().saturating_sub(bases);
    for past in history.drain(..dropped) {
        let _ = std::fs::remove_file(dir.join(past.file));
    }
    Ok(())
}

fn manifest_problem(problem: String) -> UpdateError {
    UpdateError::Manifest { problem }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[3; 32])
    }

    #[test]
    fn versions_are_counted_in_the_state_file_and_never_go_back() {
        let dir = tempfile::tempdir().unwrap();
        let (channel, state) = (dir.path().join("stable"), dir.path().join("state.json"));
        let key = key();
        let release = || Release::new(&channel, &key).state_file(&state);
        assert_eq!(release().publish(&[]).unwrap().manifest_version, 1);
        assert_eq!(release().publish(&[]).unwrap().manifest_version, 2);
        let error = release().manifest_version(2).publish(&[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "manifest: manifest_version 2 for `stable`, expected more than the last one published, 2"
        );
        let error = release()
            .issued(SystemTime::now() - Duration::from_secs(3600))
            .publish(&[])
            .unwrap_err();
        assert!(
            error.to_string().ends_with("is the clock behind?"),
            "{error}"
        );
        let error = Release::new(&channel, &key).publish(&[]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("manifest: no manifest_version"),
            "{error}"
        );
    }

    #[test]
    fn an_expiry_more_than_90_days_out_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = key();
        let error = Release::new(&dir.path().join("stable"), &key)
            .manifest_version(1)
            .expires(SystemTime::now() + Duration::from_secs(91 * 86_400))
            .publish(&[])
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "manifest: expires 91 days after it is issued, expected at most 90 days"
        );
        assert!(!dir.path().join("stable/manifest.json").exists());
    }
}

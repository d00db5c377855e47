//! `cargo xtask release --key FILE --channel DIR`: publishes the artifacts `build-all`
//! indexed under `target/plugins/` into a static channel directory — the plugin files under
//! content-addressed names, `manifest.json` with the next `manifest_version`, and its
//! detached signature `manifest.json.sig`. The version is counted in the publisher's state
//! file next to the key, never read from the channel. It re-hashes every artifact against the
//! index, so a stale index never ships. Each artifact also gets a delta patch (a bsdiff-style
//! diff, zstd-compressed) from each of the last [`PATCH_BASES`] builds of its plugin and triple released
//! into the channel, kept next to the state file; the signed `manifest.3.json` lists them and
//! `manifest.json` stays schema 2 for older hosts. The formats belong to `fastforth-update`.

use crate::flags;
use crate::index::{self, Artifact};
use anyhow::Context;
use fastforth_update::keys;
use fastforth_update::{Manifest, Release as SignedRelease, ReleaseArtifact, SigningKey};
use std::path::Path;
use std::time::{Duration, SystemTime};
use xshell::Shell;

/// How many earlier builds of each artifact get a patch to the new one: the hosts a few
/// releases behind still download only what changed.
pub const PATCH_BASES: usize = 3;

impl flags::Release {
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let max_days = fastforth_update::manifest::MAX_VALIDITY.as_secs() / 86_400;
        anyhow::ensure!(
            (1..=max_days).contains(&self.expires),
            "--expires is {} days, expected 1 to {max_days}",
            self.expires
        );
        let state = self
            .state
            .clone()
            .unwrap_or_else(|| self.key.with_extension("state.json"));
        let index_path = self
            .index
            .clone()
            .unwrap_or_else(|| index::plugins_dir(&crate::project_root()).join(index::FILE_NAME));
        let key = read_secret_key(&self.key)?;
        let cosigners = self
            .cosign
            .iter()
            .map(|path| read_secret_key(path))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let artifacts = self.select(&index_path)?;
        let expires = SystemTime::now() + Duration::from_secs(self.expires * 86_400);
        let manifest = publish(
            &self.channel,
            (&key, &cosigners),
            &state,
            &artifacts,
            expires,
        )?;
        print_summary(&self.channel, &manifest, &key);
        Ok(())
    }

    /// The indexed artifacts to publish, each checked against its recorded size and hash.
    fn select(&self, index_path: &Path) -> anyhow::Result<Vec<ReleaseArtifact>> {
        let index = index::read(index_path)?;
        let base = index_path.parent().unwrap_or(Path::new("."));
        let wanted = |artifact: &Artifact| {
            (self.plugins.is_empty() || self.plugins.contains(&artifact.plugin))
                && (self.targets.is_empty() || self.targets.contains(&artifact.triple))
        };
        let chosen: Vec<&Artifact> = index.artifacts.iter().filter(|a| wanted(a)).collect();
        anyhow::ensure!(
            !chosen.is_empty(),
            "{} lists no artifact to release{}: run `cargo xtask build-all` first",
            index_path.display(),
            if self.plugins.is_empty() && self.targets.is_empty() {
                ""
            } else {
                " for the given --plugin/--target"
            }
        );
        chosen
            .into_iter()
            .map(|artifact| checked(base, artifact))
            .collect()
    }
}

/// `artifact` as a release input, once its file still has the indexed size and hash.
fn checked(base: &Path, artifact: &Artifact) -> anyhow::Result<ReleaseArtifact> {
    anyhow::ensure!(
        artifact.profile == "release",
        "{}: built with profile {}, expected release: run `cargo xtask build-all`",
        artifact.file,
        artifact.profile
    );
    let path = base.join(&artifact.file);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "cannot read {} (listed in the index): run `cargo xtask build-all`",
            path.display()
        )
    })?;
    let sha256 = index::sha256_hex(&bytes);
    anyhow::ensure!(
        bytes.len() as u64 == artifact.size && sha256 == artifact.sha256,
        "{}: {} bytes with sha256 {sha256}, expected {} bytes with sha256 {} as indexed: run `cargo xtask build-all` again",
        path.display(),
        bytes.len(),
        artifact.size,
        artifact.sha256
    );
    Ok(ReleaseArtifact {
        plugin: artifact.plugin.clone(),
        version: artifact.version.clone(),
        triple: artifact.triple.clone(),
        path,
    })
}

fn read_secret_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key {}", path.display()))?;
    Ok(keys::parse_secret_key(&path.display().to_string(), &text)?)
}

/// Publishes `artifacts` into `channel` with the next manifest version counted in `state`,
/// signed by `key` and each of the cosigners.
pub fn publish(
    channel: &Path,
    (key, cosigners): (&SigningKey, &[SigningKey]),
    state: &Path,
    artifacts: &[ReleaseArtifact],
    expires: SystemTime,
) -> anyhow::Result<Manifest> {
    let release = cosigners
        .iter()
        .fold(SignedRelease::new(channel, key), |release, cosigner| {
            release.cosign(cosigner)
        });
    release
        .state_file(state)
        .patches(PATCH_BASES, fastforth_update::patch::make)
        .expires(expires)
        .publish(artifacts)
        .with_context(|| format!("cannot publish into {}", channel.display()))
}

fn print_summary(channel: &Path, manifest: &Manifest, key: &fastforth_update::SigningKey) {
    println!(
        "published manifest_version {} into {} (expires {}, signed by key {})",
        manifest.manifest_version,
        channel.display(),
        manifest.expires,
        keys::key_id(&key.verifying_key())
    );
    for (name, release) in &manifest.plugins {
        let triples: Vec<&str> = release.targets.keys().map(String::as_str).collect();
        println!("  {name} {}: {}", release.version, triples.join(", "));
        for (triple, build) in &release.targets {
            for patch in &build.patches {
                println!(
                    "    {triple}: patch from {} ({} bytes, full file {} bytes)",
                    &patch.from_sha256[..16],
                    patch.size,
                    build.size
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastforth_update::TrustedKeys;
    use std::path::PathBuf;

    /// A build-all output directory with one fake artifact for each of two triples.
    fn fake_build_all(dir: &Path) -> PathBuf {
        fake_build_all_of(dir, "1.0.0", "")
    }

    /// Like [`fake_build_all`], at `version`, each file ending in `tail`.
    fn fake_build_all_of(dir: &Path, version: &str, tail: &str) -> PathBuf {
        let mut artifacts = Vec::new();
        for triple in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
            let bytes = format!("not really a library for {triple}{tail}").into_bytes();
            std::fs::create_dir_all(dir.join(triple)).unwrap();
            let file = format!("{triple}/libfastforth_example_plugin.so");
            std::fs::write(dir.join(&file), &bytes).unwrap();
            artifacts.push(Artifact {
                plugin: "example".to_owned(),
                package: "fastforth-example-plugin".to_owned(),
                version: version.to_owned(),
                triple: triple.to_owned(),
                profile: "release".to_owned(),
                file,
                size: bytes.len() as u64,
                sha256: index::sha256_hex(&bytes),
            });
        }
        let path = dir.join(index::FILE_NAME);
        let index = index::Index {
            schema: index::SCHEMA,
            artifacts,
            ..index::Index::default()
        };
        index::write(&path, &index).unwrap();
        path
    }

    /// A fresh scratch directory for one test, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(test: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("xtask-{test}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn release_of(index: &Path, channel: &Path, key: &Path) -> flags::Release {
        flags::Release {
            key: key.into(),
            cosign: Vec::new(),
            channel: channel.into(),
            expires: 30,
            state: None,
            index: Some(index.into()),
            plugins: Vec::new(),
            targets: Vec::new(),
        }
    }

    #[test]
    fn release_signs_the_indexed_artifacts_with_a_strictly_increasing_version() {
        let dir = Scratch::new("release-signs");
        let index = fake_build_all(&dir.path().join("plugins"));
        let signer = SigningKey::from_bytes(&[9; 32]);
        let key_file = dir.path().join("release.key");
        std::fs::write(&key_file, keys::secret_key_file(&signer)).unwrap();
        let channel = dir.path().join("channel");
        let sh = Shell::new().unwrap();

        release_of(&index, &channel, &key_file).run(&sh).unwrap();
        release_of(&index, &channel, &key_file).run(&sh).unwrap();

        let manifest = std::fs::read(channel.join("manifest.json")).unwrap();
        let signature = std::fs::read(channel.join("manifest.json.sig")).unwrap();
        TrustedKeys::new([signer.verifying_key()])
            .verify(&manifest, &signature)
            .unwrap();
        let manifest = Manifest::parse(&manifest).unwrap();
        assert_eq!(manifest.manifest_version, 2);
        let example = &manifest.plugins["example"];
        assert_eq!(example.targets.len(), 2);
        let build = &example.targets["x86_64-unknown-linux-gnu"];
        assert_eq!(
            std::fs::read(channel.join(&build.url)).unwrap(),
            b"not really a library for x86_64-unknown-linux-gnu"
        );
    }

    #[test]
    fn release_counts_versions_in_its_own_state_not_in_the_served_manifest() {
        let dir = Scratch::new("release-counter");
        let index = fake_build_all(&dir.path().join("plugins"));
        let key_file = dir.path().join("release.key");
        std::fs::write(
            &key_file,
            keys::secret_key_file(&SigningKey::from_bytes(&[9; 32])),
        )
        .unwrap();
        let channel = dir.path().join("stable");
        let sh = Shell::new().unwrap();
        release_of(&index, &channel, &key_file).run(&sh).unwrap();
        // Whoever can write the served directory plants a manifest with a huge version.
        std::fs::write(
            channel.join("manifest.json"),
            r#"{"schema": 2, "manifest_version": 900}"#,
        )
        .unwrap();

        release_of(&index, &channel, &key_file).run(&sh).unwrap();

        let manifest = Manifest::parse(&std::fs::read(channel.join("manifest.json")).unwrap());
        assert_eq!(manifest.unwrap().manifest_version, 2);
        let state = std::fs::read_to_string(dir.path().join("release.state.json")).unwrap();
        assert!(state.contains("\"manifest_version\": 2"), "{state}");
    }

    #[test]
    fn release_writes_patches_from_the_last_three_builds_listed_in_the_schema_3_manifest() {
        let dir = Scratch::new("release-patches");
        let key_file = dir.path().join("release.key");
        let signer = SigningKey::from_bytes(&[9; 32]);
        std::fs::write(&key_file, keys::secret_key_file(&signer)).unwrap();
        let channel = dir.path().join("stable");
        let sh = Shell::new().unwrap();
        let mut builds = Vec::new();
        for release in 0..5 {
            let plugins = dir.path().join(format!("plugins-{release}"));
            let tail = " and more".repeat(release);
            let index = fake_build_all_of(&plugins, &format!("1.0.{release}"), &tail);
            release_of(&index, &channel, &key_file).run(&sh).unwrap();
            builds.push(
                std::fs::read(
                    plugins.join("x86_64-unknown-linux-gnu/libfastforth_example_plugin.so"),
                )
                .unwrap(),
            );
        }

        let bytes =
            std::fs::read(channel.join(fastforth_update::manifest::PATCHED_MANIFEST)).unwrap();
        let signature = std::fs::read(channel.join("manifest.3.json.sig")).unwrap();
        TrustedKeys::new([signer.verifying_key()])
            .verify(&bytes, &signature)
            .unwrap();
        let manifest = Manifest::parse(&bytes).unwrap();
        let build = &manifest.plugins["example"].targets["x86_64-unknown-linux-gnu"];
        let newest = &builds[4];
        assert_eq!(build.patches.len(), PATCH_BASES);
        for (patch, base) in build.patches.iter().zip(builds[1..4].iter().rev()) {
            assert_eq!(patch.from_sha256, index::sha256_hex(base));
            let patch_bytes = std::fs::read(channel.join(&patch.url)).unwrap();
            assert_eq!(patch.sha256, index::sha256_hex(&patch_bytes));
            let applied = fastforth_update::patch::apply(base, &patch_bytes, build.size).unwrap();
            assert!(&applied == newest);
        }
        let old = Manifest::parse(&std::fs::read(channel.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(old, manifest.without_patches());
        let kept = std::fs::read_dir(dir.path().join("release.state.bases/stable")).unwrap();
        assert_eq!(kept.count(), 2 * PATCH_BASES, "three bases per triple");
    }

    #[test]
    fn release_caps_the_expiry_at_90_days() {
        let dir = Scratch::new("release-expiry");
        let index = fake_build_all(&dir.path().join("plugins"));
        let key_file = dir.path().join("release.key");
        let channel = dir.path().join("stable");
        let mut release = release_of(&index, &channel, &key_file);
        release.expires = 91;
        let error = release.run(&Shell::new().unwrap()).unwrap_err();
        assert_eq!(error.to_string(), "--expires is 91 days, expected 1 to 90");
        assert!(!channel.join("manifest.json").exists());
    }

    #[test]
    fn release_refuses_an_artifact_that_changed_since_it_was_indexed() {
        let dir = Scratch::new("release-stale");
        let plugins = dir.path().join("plugins");
        let index = fake_build_all(&plugins);
        std::fs::write(
            plugins.join("x86_64-unknown-linux-gnu/libfastforth_example_plugin.so"),
            b"rebuilt",
        )
        .unwrap();
        let key_file = dir.path().join("release.key");
        std::fs::write(
            &key_file,
            keys::secret_key_file(&SigningKey::from_bytes(&[9; 32])),
        )
        .unwrap();
        let channel = dir.path().join("channel");
        let error = release_of(&index, &channel, &key_file)
            .run(&Shell::new().unwrap())
            .unwrap_err()
            .to_string();
        assert!(error.contains("7 bytes with sha256"), "{error}");
        assert!(
            error.ends_with("as indexed: run `cargo xtask build-all` again"),
            "{error}"
        );
        assert!(!channel.join("manifest.json").exists());
    }
}

//! `cargo xtask root new` and `cargo xtask root sign`: make the root metadata a channel
//! serves as `root/<N>.json`, then have each offline root key holder add a signature line to
//! `root/<N>.json.sig`. Root N+1 needs a threshold of root N's root keys and of its own. It
//! knows the formats only through `fastforth-update`.

use crate::flags::{self, RootAction};
use anyhow::Context;
use fastforth_update::keys;
use fastforth_update::{Root, VerifyingKey};
use std::path::{Path, PathBuf};
use xshell::Shell;

impl flags::Root {
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        match self.action {
            RootAction::New {
                channel,
                version,
                root_keys,
                root_threshold,
                release_keys,
                release_threshold,
            } => {
                let root = Root::new(
                    version,
                    (&public_keys(&root_keys)?, root_threshold),
                    (&public_keys(&release_keys)?, release_threshold),
                );
                let path = new_root(&channel, &root)?;
                println!(
                    "wrote {} (unsigned): sign it with `cargo xtask root sign`",
                    path.display()
                );
            }
            RootAction::Sign {
                channel,
                version,
                key,
            } => {
                let (path, id) = sign_root(&channel, version, &key)?;
                println!("signed {} with key {id}", path.display());
            }
        }
        Ok(())
    }
}

fn public_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<VerifyingKey>> {
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(keys::parse_public_key(&path.display().to_string(), &text)?)
        })
        .collect()
}

fn root_path(channel: &Path, version: u64) -> PathBuf {
    channel.join("root").join(format!("{version}.json"))
}

/// Writes `root` into `channel`, refusing to overwrite a root of that version.
pub fn new_root(channel: &Path, root: &Root) -> anyhow::Result<PathBuf> {
    let bytes = root.to_bytes();
    Root::parse("the new root", &bytes)?;
    let path = root_path(channel, root.root_version);
    anyhow::ensure!(
        !path.exists(),
        "{} already exists: a root version is written once",
        path.display()
    );
    std::fs::create_dir_all(path.parent().expect("a root path has a directory"))?;
    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Adds a signature over root `version` made with the secret key in `key_file`; returns
/// the signature file and the key id.
pub fn sign_root(
    channel: &Path,
    version: u64,
    key_file: &Path,
) -> anyhow::Result<(PathBuf, String)> {
    let path = root_path(channel, version);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Root::parse(&path.display().to_string(), &bytes)?;
    let text = std::fs::read_to_string(key_file)
        .with_context(|| format!("cannot read {}", key_file.display()))?;
    let key = keys::parse_secret_key(&key_file.display().to_string(), &text)?;
    let id = keys::key_id(&key.verifying_key());
    let signature_path = path.with_extension("json.sig");
    let mut signatures = std::fs::read_to_string(&signature_path).unwrap_or_default();
    anyhow::ensure!(
        !signatures.contains(&format!(" {id} ")),
        "{} already has a signature by key {id}",
        signature_path.display()
    );
    signatures.push_str(&keys::sign(&bytes, &key));
    let temp = signature_path.with_extension("sig.tmp");
    std::fs::write(&temp, &signatures)
        .and_then(|()| std::fs::rename(&temp, &signature_path))
        .with_context(|| format!("cannot write {}", signature_path.display()))?;
    Ok((signature_path, id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastforth_update::SigningKey;

    #[test]
    fn a_root_made_and_signed_by_two_holders_verifies_as_the_next_root() {
        let dir = std::env::temp_dir().join(format!("xtask-root-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let holders = [
            SigningKey::from_bytes(&[1; 32]),
            SigningKey::from_bytes(&[2; 32]),
        ];
        let roots: Vec<VerifyingKey> = holders.iter().map(|k| k.verifying_key()).collect();
        let release = [SigningKey::from_bytes(&[3; 32]).verifying_key()];
        let first = Root::new(1, (&roots, 2), (&release, 1));
        let next = Root::new(
            2,
            (&roots, 2),
            (&[SigningKey::from_bytes(&[4; 32]).verifying_key()], 1),
        );
        new_root(&dir, &next).unwrap();
        for (index, holder) in holders.iter().enumerate() {
            let key_file = dir.join(format!("root{index}.key"));
            std::fs::write(&key_file, keys::secret_key_file(holder)).unwrap();
            sign_root(&dir, 2, &key_file).unwrap();
        }
        let bytes = std::fs::read(dir.join("root/2.json")).unwrap();
        let signatures = std::fs::read(dir.join("root/2.json.sig")).unwrap();
        assert_eq!(first.verify_next(&bytes, &signatures).unwrap(), next);
        let error = sign_root(&dir, 2, &dir.join("root0.key"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("already has a signature by key"), "{error}");
        let error = new_root(&dir, &next).unwrap_err().to_string();
        assert!(
            error.ends_with("already exists: a root version is written once"),
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! `cargo xtask keygen --out DIR`: makes the Ed25519 key pair that signs release manifests.
//! The secret key file is created owner-only and nothing existing is ever overwritten. It
//! knows the key file formats only through `fastforth-update`.

use crate::flags;
use anyhow::Context;
use fastforth_update::keys;
use std::io::Write;
use std::path::{Path, PathBuf};
use xshell::Shell;

impl flags::Keygen {
    pub fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let (secret, public) = write_key_pair(&self.out, &self.name)?;
        let key = keys::parse_public_key("new key", &std::fs::read_to_string(&public)?)?;
        println!("key id:     {}", keys::key_id(&key));
        println!(
            "secret key: {} (keep it secret, never commit it)",
            secret.display()
        );
        println!("public key: {}", public.display());
        println!(
            "to trust it, copy {} to core/update/keys/ and commit it, or list it in a root \
             (`cargo xtask root new`)",
            public.display()
        );
        Ok(())
    }
}

/// Writes a new key pair as `dir/name.key` and `dir/name.pub`; refuses if either exists.
pub fn write_key_pair(dir: &Path, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let secret_path = dir.join(format!("{name}.key"));
    let public_path = dir.join(format!("{name}.pub"));
    for path in [&secret_path, &public_path] {
        anyhow::ensure!(
            !path.exists(),
            "{} already exists: refusing to overwrite a key (choose another --out or --name)",
            path.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key = keys::generate()?;
    create_new(&secret_path, keys::secret_key_file(&key).as_bytes(), 0o600)?;
    create_new(
        &public_path,
        keys::public_key_file(&key.verifying_key()).as_bytes(),
        0o644,
    )?;
    Ok((secret_path, public_path))
}

/// Creates `path` (failing if it exists) with `mode` from the start, so the secret is never
/// readable by others, not even for a moment.
fn create_new(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_writes_an_owner_only_secret_and_refuses_to_overwrite() {
        let dir = std::env::temp_dir().join(format!("xtask-keygen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (secret, public) = write_key_pair(&dir, "release").unwrap();
        let signer = keys::parse_secret_key("s", &std::fs::read_to_string(&secret).unwrap());
        let verifier = keys::parse_public_key("p", &std::fs::read_to_string(&public).unwrap());
        assert_eq!(signer.unwrap().verifying_key(), verifier.unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let before = std::fs::read(&secret).unwrap();
        let error = write_key_pair(&dir, "release").unwrap_err().to_string();
        assert!(error.ends_with("release.key already exists: refusing to overwrite a key (choose another --out or --name)"), "{error}");
        assert_eq!(std::fs::read(&secret).unwrap(), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

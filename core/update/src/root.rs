//! Root metadata, after TUF's root role: which keys may sign release manifests, and which
//! (offline) root keys may change that, each with a threshold. Roots are versioned; root
//! N+1 is trusted only when a threshold of root N's root keys signed it and a threshold of
//! its own root keys did too, so keys can be rotated and revoked without shipping a new
//! binary, and a stolen release key cannot make itself a root key.
//!
//! ```json
//! { "schema": 1, "root_version": 2,
//!   "root_keys": ["<32-byte public key in hex>", …], "root_threshold": 2,
//!   "release_keys": ["<32-byte public key in hex>"], "release_threshold": 1 }
//! ```
//!
//! A channel serves `root/<N>.json` and its signatures `root/<N>.json.sig` (one
//! `ed25519 <key id> <signature>` line per signer). Root and release keys must differ.

use crate::UpdateError;
use crate::keys::{TrustedKeys, unhex};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

/// The root schema this host understands.
pub const ROOT_SCHEMA: u32 = 1;

/// One version of the root metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Root {
    pub schema: u32,
    pub root_version: u64,
    pub root_keys: Vec<String>,
    pub root_threshold: usize,
    pub release_keys: Vec<String>,
    pub release_threshold: usize,
}

impl Root {
    /// A root of version `root_version` over these keys.
    pub fn new(
        root_version: u64,
        (root_keys, root_threshold): (&[VerifyingKey], usize),
        (release_keys, release_threshold): (&[VerifyingKey], usize),
    ) -> Root {
        let hexes =
            |keys: &[VerifyingKey]| keys.iter().map(|k| hex::encode(k.as_bytes())).collect();
        Root {
            schema: ROOT_SCHEMA,
            root_version,
            root_keys: hexes(root_keys),
            root_threshold,
            release_keys: hexes(release_keys),
            release_threshold,
        }
    }

    /// The root pinned when this crate was built (`core/update/keys/root.json`), if any.
    pub fn pinned() -> Result<Option<Root>, UpdateError> {
        crate::keys::pinned::PINNED_ROOT
            .map(|text| Root::parse("pinned root.json", text.as_bytes()))
            .transpose()
    }

    /// Parses and checks root bytes; `what` names them in errors.
    pub fn parse(what: &str, bytes: &[u8]) -> Result<Root, UpdateError> {
        let root: Root = serde_json::from_slice(bytes).map_err(|error| UpdateError::Root {
            what: what.to_owned(),
            problem: error.to_string(),
        })?;
        root.validate().map_err(|problem| UpdateError::Root {
            what: what.to_owned(),
            problem,
        })?;
        Ok(root)
    }

    /// The root as the bytes its keys sign.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a root always serialises");
        bytes.push(b'\n');
        bytes
    }

    /// The keys that may sign the next root, with their threshold.
    pub fn root_trust(&self) -> TrustedKeys {
        trust(&self.root_keys, self.root_threshold)
    }

    /// The keys that may sign release manifests, with their threshold.
    pub fn release_trust(&self) -> TrustedKeys {
        trust(&self.release_keys, self.release_threshold)
    }

    /// Root `self.root_version + 1` from its bytes and signature file: signed by a threshold
    /// of this root's root keys and of its own, and exactly one version newer.
    pub fn verify_next(&self, bytes: &[u8], signatures: &[u8]) -> Result<Root, UpdateError> {
        let expected = self.root_version + 1;
        let what = format!("root/{expected}.json");
        self.root_trust().verify_file(&what, bytes, signatures)?;
        let next = Root::parse(&what, bytes)?;
        if next.root_version != expected {
            return Err(UpdateError::Root {
                what,
                problem: format!(
                    "root_version is {}, expected {expected}: refusing to go back to an older root",
                    next.root_version
                ),
            });
        }
        next.root_trust().verify_file(
            &format!("{what} (by its own root keys)"),
            bytes,
            signatures,
        )?;
        Ok(next)
    }

    fn validate(&self) -> Result<(), String> {
        if self.schema != ROOT_SCHEMA {
            return Err(format!("schema is {}, expected {ROOT_SCHEMA}", self.schema));
        }
        for (role, keys, threshold) in [
            ("root", &self.root_keys, self.root_threshold),
            ("release", &self.release_keys, self.release_threshold),
        ] {
            if threshold == 0 || threshold > keys.len() {
                return Err(format!(
                    "{role}_threshold is {threshold}, expected 1 to {} (the number of {role}_keys)",
                    keys.len()
                ));
            }
            for (index, key) in keys.iter().enumerate() {
                parse_key(key).ok_or_else(|| {
                    format!("{role}_keys[{index}] is not a 64-hex-digit ed25519 public key")
                })?;
                if keys[..index].contains(key) {
                    return Err(format!("{role}_keys[{index}] is listed twice"));
                }
            }
        }
        if let Some(shared) = self
            .release_keys
            .iter()
            .find(|k| self.root_keys.contains(k))
        {
            return Err(format!(
                "release key {} is also a root key: the root keys must be separate (offline)",
                truncate(shared)
            ));
        }
        Ok(())
    }
}

fn trust(keys: &[String], threshold: usize) -> TrustedKeys {
    TrustedKeys::new(keys.iter().filter_map(|key| parse_key(key))).with_threshold(threshold)
}

fn parse_key(text: &str) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(&unhex::<32>(text)?).ok()
}

fn truncate(text: &str) -> &str {
    text.get(..16).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::sign;
    use ed25519_dalek::SigningKey;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn root(version: u64, roots: &[u8], threshold: usize, release: u8) -> Root {
        let roots: Vec<VerifyingKey> = roots.iter().map(|s| key(*s).verifying_key()).collect();
        Root::new(
            version,
            (&roots, threshold),
            (&[key(release).verifying_key()], 1),
        )
    }

    fn signed_by(root: &Root, signers: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let bytes = root.to_bytes();
        let signatures: String = signers.iter().map(|s| sign(&bytes, &key(*s))).collect();
        (bytes, signatures.into_bytes())
    }

    #[test]
    fn a_root_round_trips_and_refuses_shared_or_too_few_keys() {
        let first = root(1, &[1, 2], 2, 9);
        assert_eq!(Root::parse("r", &first.to_bytes()).unwrap(), first);
        let error = Root::parse("r", &root(1, &[1], 2, 9).to_bytes()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "r: root_threshold is 2, expected 1 to 1 (the number of root_keys)"
        );
        let error = Root::parse("r", &root(1, &[1], 1, 1).to_bytes()).unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("is also a root key: the root keys must be separate (offline)"),
            "{error}"
        );
    }

    #[test]
    fn the_next_root_needs_the_old_threshold_and_its_own() {
        let first = root(1, &[1, 2], 2, 9);
        let next = root(2, &[3, 4], 1, 8);
        let (bytes, both) = signed_by(&next, &[1, 2]);
        let error = first.verify_next(&bytes, &both).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "root/2.json (by its own root keys): 0 valid signature(s) from trusted keys, expected at least 1"
            ),
            "{error}"
        );
        let (bytes, all) = signed_by(&next, &[1, 2, 3]);
        assert_eq!(first.verify_next(&bytes, &all).unwrap(), next);
        let (bytes, one) = signed_by(&next, &[1, 3]);
        let error = first.verify_next(&bytes, &one).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "root/2.json: 1 valid signature(s) from trusted keys, expected at least 2"
            ),
            "{error}"
        );
    }
}

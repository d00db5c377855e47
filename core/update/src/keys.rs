//! Ed25519 keys and detached signatures in small text files, and the trusted key set a host
//! verifies manifests against. It knows nothing of what is signed.
//!
//! Formats (one line each, lower-case hex, `#` lines are comments):
//!
//! ```text
//! release.pub         ed25519 <32-byte public key>
//! release.key         ed25519-secret <32-byte seed>             (owner-only permissions)
//! manifest.json.sig   ed25519 <8-byte key id> <64-byte signature>
//! ```
//!
//! A key id is the first 8 bytes of the SHA-256 of the public key. The signature names the
//! key that made it, so a host can trust several keys while one is being rotated out.

use crate::UpdateError;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

pub(crate) mod pinned {
    include!(concat!(env!("OUT_DIR"), "/pinned_keys.rs"));
}

/// The most bytes a signature file may have; a longer one is refused unread.
pub const MAX_SIGNATURE_BYTES: u64 = 1024;

const PUBLIC_TAG: &str = "ed25519";
const SECRET_TAG: &str = "ed25519-secret";
const SIGNATURE_TAG: &str = "ed25519";

/// The id of `key`: the first 8 bytes of SHA-256 of its 32 bytes, in hex.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// The most signature lines a signature file may hold.
const MAX_SIGNATURES: usize = 16;

/// The public keys a host accepts signatures from, and how many of them must sign.
#[derive(Clone, Debug)]
pub struct TrustedKeys {
    keys: Vec<(String, VerifyingKey)>,
    threshold: usize,
}

impl Default for TrustedKeys {
    fn default() -> TrustedKeys {
        TrustedKeys {
            keys: Vec::new(),
            threshold: 1,
        }
    }
}

impl TrustedKeys {
    /// The keys of `core/update/keys/*.pub`, pinned when this crate was built.
    pub fn pinned() -> Result<TrustedKeys, UpdateError> {
        let mut trusted = TrustedKeys::default();
        for (file, text) in pinned::PINNED_KEYS {
            trusted.add(parse_public_key(&format!("pinned key {file}"), text)?);
        }
        Ok(trusted)
    }

    /// A set of exactly these keys.
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> TrustedKeys {
        let mut trusted = TrustedKeys::default();
        for key in keys {
            trusted.add(key);
        }
        trusted
    }

    /// The same keys, of which `threshold` distinct ones must sign.
    pub fn with_threshold(mut self, threshold: usize) -> TrustedKeys {
        self.threshold = threshold.max(1);
        self
    }

    pub fn add(&mut self, key: VerifyingKey) {
        let id = key_id(&key);
        if !self.keys.iter().any(|(known, _)| *known == id) {
            self.keys.push((id, key));
        }
    }

    /// The ids of the trusted keys.
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|(id, _)| id.clone()).collect()
    }

    /// Checks `signature_file` (the text of `manifest.json.sig`) over exactly `message`
    /// with `verify_strict`, which also refuses malleable and small-order signatures. With a
    /// threshold of one the error is the first signature's (an unknown key, an altered file).
    pub fn verify(&self, message: &[u8], signature_file: &[u8]) -> Result<(), UpdateError> {
        let what = "manifest.json.sig";
        match self.count_valid(what, message, signature_file)? {
            (valid, _) if valid >= self.threshold => Ok(()),
            (_, Some(error)) if self.threshold == 1 => Err(error),
            (valid, _) => Err(self.threshold_not_met(what, valid)),
        }
    }

    /// Checks that at least the threshold of distinct trusted keys signed exactly `message`
    /// in `signature_file` (one `ed25519 <key id> <signature>` line per signature); `what`
    /// names the file in errors.
    pub fn verify_file(
        &self,
        what: &str,
        message: &[u8],
        signature_file: &[u8],
    ) -> Result<(), UpdateError> {
        match self.count_valid(what, message, signature_file)? {
            (valid, _) if valid >= self.threshold => Ok(()),
            (valid, _) => Err(self.threshold_not_met(what, valid)),
        }
    }

    /// How many distinct trusted keys signed `message`, and the first signature's error.
    fn count_valid(
        &self,
        what: &str,
        message: &[u8],
        signature_file: &[u8],
    ) -> Result<(usize, Option<UpdateError>), UpdateError> {
        let mut valid: Vec<String> = Vec::new();
        let mut first_error = None;
        for (id, signature) in parse_signatures(what, signature_file)? {
            let Some((_, key)) = self.keys.iter().find(|(known, _)| *known == id) else {
                first_error.get_or_insert(UpdateError::UntrustedKey {
                    found: id,
                    trusted: self.ids(),
                });
                continue;
            };
            match key.verify_strict(message, &signature) {
                Ok(()) if !valid.contains(&id) => valid.push(id),
                Ok(()) => {}
                Err(_) => {
                    first_error.get_or_insert(UpdateError::BadSignature { key_id: id });
                }
            }
        }
        Ok((valid.len(), first_error))
    }

    fn threshold_not_met(&self, what: &str, valid: usize) -> UpdateError {
        UpdateError::ThresholdNotMet {
            what: what.to_owned(),
            valid,
            threshold: self.threshold,
            trusted: self.ids(),
        }
    }
}

/// The text of a signature file for `message` made with `key`.
pub fn sign(message: &[u8], key: &SigningKey) -> String {
    let signature = key.sign(message);
    format!(
        "{SIGNATURE_TAG} {} {}\n",
        key_id(&key.verifying_key()),
        hex::encode(signature.to_bytes())
    )
}

/// The text of a public key file for `key`.
pub fn public_key_file(key: &VerifyingKey) -> String {
    format!(
        "# fastforth release key {}\n{PUBLIC_TAG} {}\n",
        key_id(key),
        hex::encode(key.as_bytes())
    )
}

/// The text of a secret key file for `key`.
pub fn secret_key_file(key: &SigningKey) -> String {
    format!(
        "# fastforth release signing key {} (keep secret)\n{SECRET_TAG} {}\n",
        key_id(&key.verifying_key()),
        hex::encode(key.as_bytes())
    )
}

/// Parses a public key file; `what` names it in errors.
pub fn parse_public_key(what: &str, text: &str) -> Result<VerifyingKey, UpdateError> {
    let bytes: [u8; 32] = tagged_hex(what, text, PUBLIC_TAG)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| UpdateError::KeyFormat {
        what: what.to_owned(),
        problem: "not a valid ed25519 public key".to_owned(),
    })
}

/// Parses a secret key file; `what` names it in errors.
pub fn parse_secret_key(what: &str, text: &str) -> Result<SigningKey, UpdateError> {
    let seed: [u8; 32] = tagged_hex(what, text, SECRET_TAG)?;
    Ok(SigningKey::from_bytes(&seed))
}

/// A new signing key from the operating system's random source.
#[cfg(feature = "keygen")]
pub fn generate() -> Result<SigningKey, UpdateError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|error| UpdateError::KeyFormat {
        what: "new key".to_owned(),
        problem: format!("no random bytes from the operating system: {error}"),
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The one non-comment line of `text`, which must be `<tag> <N bytes in hex>`.
fn tagged_hex<const N: usize>(what: &str, text: &str, tag: &str) -> Result<[u8; N], UpdateError> {
    let problem = |problem: String| UpdateError::KeyFormat {
        what: what.to_owned(),
        problem,
    };
    let lines = content_lines(text);
    let [line] = lines.as_slice() else {
        return Err(problem(format!(
            "expected one `{tag} <hex>` line, found {} lines",
            lines.len()
        )));
    };
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    match fields.as_slice() {
        [found_tag, value] if *found_tag == tag => unhex::<N>(value).ok_or_else(|| {
            problem(format!(
                "expected {} hex digits after `{tag}`, found {value:?}",
                N * 2
            ))
        }),
        _ => Err(problem(format!(
            "expected `{tag} <hex>`, found {:?}",
            truncate(line)
        ))),
    }
}

/// Parses a signature file: one or more `ed25519 <key id> <signature>` lines.
fn parse_signatures(what: &str, bytes: &[u8]) -> Result<Vec<(String, Signature)>, UpdateError> {
    let problem = |problem: String| UpdateError::KeyFormat {
        what: what.to_owned(),
        problem,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| problem("not UTF-8 text".to_owned()))?;
    let lines = content_lines(text);
    if lines.is_empty() || lines.len() > MAX_SIGNATURES {
        return Err(problem(format!(
            "expected 1 to {MAX_SIGNATURES} signature lines, found {}",
            lines.len()
        )));
    }
    lines
        .into_iter()
        .map(|line| parse_signature_line(line).map_err(problem))
        .collect()
}

/// One `ed25519 <key id> <signature>` line.
fn parse_signature_line(line: &str) -> Result<(String, Signature), String> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let [SIGNATURE_TAG, id, signature] = fields.as_slice() else {
        return Err(format!(
            "expected `{SIGNATURE_TAG} <key id> <signature>`, found {:?}",
            truncate(line)
        ));
    };
    let id_bytes =
        unhex::<8>(id).ok_or_else(|| format!("expected a 16-hex-digit key id, found {id:?}"))?;
    let signature = unhex::<64>(signature).ok_or_else(|| {
        format!(
            "expected a 128-hex-digit signature, found {:?}",
            truncate(signature)
        )
    })?;
    Ok((hex::encode(id_bytes), Signature::from_bytes(&signature)))
}

fn content_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Exactly `N` bytes from `2N` hex digits (either case).
pub(crate) fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn hex_digits_are_exactly_two_a_byte_and_nothing_else() {
        assert_eq!(unhex::<2>("0aFF"), Some([0x0a, 0xff]));
        assert_eq!(hex::encode([0x0a, 0xff]), "0aff");
        // `u8::from_str_radix` takes a sign: "+f" once passed for the byte 0x0f.
        for bad in ["+f0a", "0a", "0aff00", "0g00", "é0"] {
            assert_eq!(unhex::<2>(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_signature_verifies_with_its_key_and_names_it() {
        let signer = key(1);
        let text = sign(b"hello", &signer);
        let trusted = TrustedKeys::new([signer.verifying_key()]);
        trusted.verify(b"hello", text.as_bytes()).unwrap();
        assert!(text.starts_with(&format!("ed25519 {} ", key_id(&signer.verifying_key()))));
    }

    #[test]
    fn another_message_or_an_unknown_key_is_refused() {
        let signer = key(1);
        let trusted = TrustedKeys::new([signer.verifying_key()]);
        let text = sign(b"hello", &signer);
        let error = trusted.verify(b"hellO", text.as_bytes()).unwrap_err();
        assert!(matches!(error, UpdateError::BadSignature { .. }), "{error}");
        let stranger = sign(b"hello", &key(2));
        let error = trusted.verify(b"hello", stranger.as_bytes()).unwrap_err();
        assert!(
            error.to_string().starts_with("manifest signed with key "),
            "{error}"
        );
    }

    #[test]
    fn key_files_round_trip() {
        let signer = key(3);
        let public = parse_public_key("x", &public_key_file(&signer.verifying_key())).unwrap();
        assert_eq!(public, signer.verifying_key());
        let secret = parse_secret_key("x", &secret_key_file(&signer)).unwrap();
        assert_eq!(secret.to_bytes(), signer.to_bytes());
    }

    #[test]
    fn a_secret_key_is_not_read_as_a_public_one() {
        let error = parse_public_key("release.pub", &secret_key_file(&key(3))).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("release.pub: expected `ed25519 <hex>`, found \"ed25519-secret"),
            "{error}"
        );
    }

    #[test]
    fn malformed_signature_files_say_what_was_expected() {
        let trusted = TrustedKeys::new([key(1).verifying_key()]);
        let error = trusted.verify(b"m", b"ed25519 abc def\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "manifest.json.sig: expected a 16-hex-digit key id, found \"abc\""
        );
        let error = trusted.verify(b"m", b"").unwrap_err();
        assert_eq!(
            error.to_string(),
            "manifest.json.sig: expected 1 to 16 signature lines, found 0"
        );
    }

    #[test]
    fn a_threshold_counts_distinct_valid_signatures() {
        let (one, two) = (key(1), key(2));
        let trusted =
            TrustedKeys::new([one.verifying_key(), two.verifying_key()]).with_threshold(2);
        let both = format!("{}{}", sign(b"m", &one), sign(b"m", &two));
        trusted.verify_file("r", b"m", both.as_bytes()).unwrap();
        let twice = format!("{}{}", sign(b"m", &one), sign(b"m", &one));
        let error = trusted
            .verify_file("r", b"m", twice.as_bytes())
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("r: 1 valid signature(s) from trusted keys, expected at least 2"),
            "{error}"
        );
    }

    #[test]
    fn the_pinned_keys_parse() {
        let pinned = TrustedKeys::pinned().unwrap();
        assert!(!pinned.ids().is_empty(), "core/update/keys/ has no *.pub");
    }
}

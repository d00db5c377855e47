//! The release manifest: what a channel offers, per plugin and per target triple. Parsed only
//! from bytes whose signature has already been verified; it knows nothing of signatures or
//! of how the bytes were fetched.
//!
//! ```json
//! {
//!   "schema": 3,
//!   "channel": "stable",
//!   "manifest_version": 7,
//!   "issued": "2026-11-25T06:17:14Z",
//!   "expires": "2026-12-25T06:17:14Z",
//!   "abi_version": 1,
//!   "plugins": {
//!     "example": {
//!       "version": "1.0.1",
//!       "targets": {
//!         "x86_64-unknown-linux-gnu": {
//!           "file": "libfastforth_example_plugin.so",
//!           "url": "libfastforth_example_plugin-0123456789abcdef01234567.so",
//!           "size": 318904,
//!           "sha256": "…64 lower-case hex digits…",
//!           "patches": [
//!             {
//!               "from_sha256": "…the base's SHA-256…",
//!               "url": "libfastforth_example_plugin-0123456789abcdef01234567.from-fedcba9876543210fedcba98.zst",
//!               "size": 30458,
//!               "sha256": "…the patch file's SHA-256…"
//!             }
//!           ]
//!         }
//!       }
//!     }
//!   }
//! }
//! ```
//!
//! `channel` is the name of the channel the manifest was released into (the last path
//! segment of the channel's URL), so that a manifest signed for one channel cannot be served
//! as another's; `manifest_version` increases strictly with every release into a channel;
//! `issued` and `expires` are RFC 3339 UTC; `url` is a file name relative to the channel, or an absolute URL; `file` is
//! the library's own file name. Unknown fields are refused: a new `schema` number is how the
//! format changes.
//!
//! Schema 3 added `patches`: each turns the build with SHA-256 `from_sha256` into this build
//! (whose `size` and `sha256` the result must have), see [`crate::patch`]. A channel serves
//! it as `manifest.3.json`, next to a schema-2 `manifest.json` without patches for hosts
//! that predate them.

use crate::UpdateError;
use crate::time::parse_rfc3339;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// The signed manifest's file name in a channel (schema 2, what every host reads).
pub const MANIFEST: &str = "manifest.json";

/// The manifest a host that knows patches reads first; [`MANIFEST`] stays schema 2.
pub const PATCHED_MANIFEST: &str = "manifest.3.json";

/// The manifest schema this host writes: schema 2 with delta patches.
pub const SCHEMA: u32 = 3;

/// The schema before patches, still read (and published for the hosts that only read it).
pub const SCHEMA_WITHOUT_PATCHES: u32 = 2;

/// The most patches one build may list.
pub const MAX_PATCHES: usize = 16;

/// The longest a manifest may be valid: `expires` at most this long after `issued`, so a
/// signed manifest cannot be replayed for longer.
pub const MAX_VALIDITY: Duration = Duration::from_secs(90 * 86_400);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: u32,
    pub channel: String,
    pub manifest_version: u64,
    pub issued: String,
    pub expires: String,
    pub abi_version: u32,
    pub plugins: BTreeMap<String, PluginRelease>,
}

/// One plugin at one version, built for several targets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginRelease {
    pub version: String,
    pub targets: BTreeMap<String, TargetBuild>,
}

/// One build of a plugin for one target triple.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetBuild {
    pub file: String,
    pub url: String,
    pub size: u64,
    pub sha256: String,
    /// Patches from earlier builds to this one (schema 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
}

/// A delta patch that turns the build with SHA-256 `from_sha256` into the build it is
/// listed under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub from_sha256: String,
    /// A file name relative to the channel, or an absolute URL.
    pub url: String,
    /// The patch file's own size and SHA-256.
    pub size: u64,
    pub sha256: String,
}

#[derive(Deserialize)]
struct SchemaProbe {
    schema: serde_json::Value,
}

impl Manifest {
    /// Parses verified manifest bytes: the schema number first, then the whole document,
    /// then the values (names, versions, hashes, the expiry date).
    pub fn parse(bytes: &[u8]) -> Result<Manifest, UpdateError> {
        let probe: SchemaProbe =
            serde_json::from_slice(bytes).map_err(|error| UpdateError::Manifest {
                problem: format!("expected a JSON object with a `schema` field: {error}"),
            })?;
        if probe.schema != SCHEMA && probe.schema != SCHEMA_WITHOUT_PATCHES {
            return Err(UpdateError::UnknownSchema {
                expected: format!("{SCHEMA_WITHOUT_PATCHES} or {SCHEMA}"),
                found: probe.schema.to_string(),
            });
        }
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|error| UpdateError::Manifest {
                problem: error.to_string(),
            })?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The manifest as the bytes a release signs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        bytes.push(b'\n');
        bytes
    }

    /// This manifest in schema 2, without patches: what a host that predates them reads.
    pub fn without_patches(&self) -> Manifest {
        let mut old = self.clone();
        old.schema = SCHEMA_WITHOUT_PATCHES;
        for build in old
            .plugins
            .values_mut()
            .flat_map(|r| r.targets.values_mut())
        {
            build.patches.clear();
        }
        old
    }

    /// When the manifest stops being valid.
    pub fn expires_at(&self) -> Result<SystemTime, UpdateError> {
        instant("expires", &self.expires)
    }

    /// When the manifest was released.
    pub fn issued_at(&self) -> Result<SystemTime, UpdateError> {
        instant("issued", &self.issued)
    }

    fn validate(&self) -> Result<(), UpdateError> {
        check(is_plain_file_name(&self.channel), || {
            format!(
                "`channel` is {:?}, expected a plain name like \"stable\"",
                self.channel
            )
        })?;
        let (issued, expires) = (self.issued_at()?, self.expires_at()?);
        check(issued < expires, || {
            format!(
                "`issued` is {}, expected it before `expires` {}",
                self.issued, self.expires
            )
        })?;
        check(
            expires.duration_since(issued).unwrap_or_default() <= MAX_VALIDITY,
            || {
                format!(
                    "`expires` {} is more than {} days after `issued` {}",
                    self.expires,
                    MAX_VALIDITY.as_secs() / 86_400,
                    self.issued
                )
            },
        )?;
        let patches = self
            .plugins
            .values()
            .flat_map(|r| r.targets.values())
            .any(|build| !build.patches.is_empty());
        check(self.schema == SCHEMA || !patches, || {
            format!(
                "schema {} lists patches, expected them in schema {SCHEMA} only",
                self.schema
            )
        })?;
        for (name, release) in &self.plugins {
            check(is_plugin_name(name), || {
                format!("plugin name {name:?} is not lower-case letters, digits, `-` and `_`")
            })?;
            check(is_version(&release.version), || {
                format!(
                    "plugin `{name}` version {:?} is not MAJOR.MINOR.PATCH in printable ASCII",
                    release.version
                )
            })?;
            for (triple, build) in &release.targets {
                build.validate(name, triple)?;
            }
        }
        Ok(())
    }
}

impl TargetBuild {
    fn validate(&self, plugin: &str, triple: &str) -> Result<(), UpdateError> {
        let at = format!("plugin `{plugin}` for {triple}");
        check(is_plain_file_name(&self.file), || {
            format!(
                "{at}: `file` is {:?}, expected a plain file name",
                self.file
            )
        })?;
        check(
            self.url.contains("://") || is_plain_file_name(&self.url),
            || {
                format!(
                    "{at}: `url` is {:?}, expected a file name in the channel or an absolute URL",
                    self.url
                )
            },
        )?;
        check(is_sha256_hex(&self.sha256), || {
            format!(
                "{at}: `sha256` is {:?}, expected 64 lower-case hex digits",
                self.sha256
            )
        })?;
        check(self.size > 0, || format!("{at}: `size` is 0"))?;
        check(self.patches.len() <= MAX_PATCHES, || {
            format!(
                "{at}: {} patches, expected at most {MAX_PATCHES}",
                self.patches.len()
            )
        })?;
        self.patches
            .iter()
            .try_for_each(|patch| patch.validate(&at))
    }
}

impl Patch {
    fn validate(&self, at: &str) -> Result<(), UpdateError> {
        let at = format!("{at}: patch {:?}", self.url);
        check(
            self.url.contains("://") || is_plain_file_name(&self.url),
            || format!("{at}: expected a file name in the channel or an absolute URL"),
        )?;
        for (field, hash) in [("from_sha256", &self.from_sha256), ("sha256", &self.sha256)] {
            check(is_sha256_hex(hash), || {
                format!("{at}: `{field}` is {hash:?}, expected 64 lower-case hex digits")
            })?;
        }
        check(self.size > 0, || format!("{at}: `size` is 0"))
    }
}

/// The RFC 3339 instant in field `field`.
fn instant(field: &str, text: &str) -> Result<SystemTime, UpdateError> {
    parse_rfc3339(text).ok_or_else(|| UpdateError::Manifest {
        problem: format!(
            "`{field}` is {text:?}, expected RFC 3339 UTC like \"2026-12-25T06:17:14Z\""
        ),
    })
}

fn check(ok: bool, problem: impl FnOnce() -> String) -> Result<(), UpdateError> {
    if ok {
        Ok(())
    } else {
        Err(UpdateError::Manifest { problem: problem() })
    }
}

/// MAJOR.MINOR.PATCH with an optional `-pre` or `+build` of printable ASCII: a version is
/// printed, so it may not carry terminal escapes.
pub(crate) fn is_version(version: &str) -> bool {
    fastforth_host::is_semver(version) && version.bytes().all(|b| b.is_ascii_graphic())
}

/// 64 lower-case hex digits, the form of a SHA-256 in manifests and state files.
pub(crate) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub(crate) fn is_plugin_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A name with no directory part, nothing hidden, nothing a URL or a shell would read twice.
pub(crate) fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let build = TargetBuild {
            file: "libx.so".to_owned(),
            url: "libx-00.so".to_owned(),
            size: 3,
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_owned(),
            patches: vec![Patch {
                from_sha256: "ab".repeat(32),
                url: "libx-00.from-ab.zst".to_owned(),
                size: 2,
                sha256: "cd".repeat(32),
            }],
        };
        Manifest {
            schema: SCHEMA,
            channel: "stable".to_owned(),
            manifest_version: 4,
            issued: "2029-12-01T00:00:00Z".to_owned(),
            expires: "2030-01-01T00:00:00Z".to_owned(),
            abi_version: 1,
            plugins: BTreeMap::from([(
                "example".to_owned(),
                PluginRelease {
                    version: "1.0.1".to_owned(),
                    targets: BTreeMap::from([("x86_64-unknown-linux-gnu".to_owned(), build)]),
                },
            )]),
        }
    }

    fn with_text(edit: impl FnOnce(String) -> String) -> Result<Manifest, UpdateError> {
        let text = String::from_utf8(sample().to_bytes()).unwrap();
        Manifest::parse(edit(text).as_bytes())
    }

    #[test]
    fn a_manifest_round_trips_through_its_bytes() {
        assert_eq!(Manifest::parse(&sample().to_bytes()).unwrap(), sample());
    }

    #[test]
    fn an_unknown_schema_is_refused_before_the_rest_is_read() {
        let error = with_text(|t| t.replace("\"schema\": 3", "\"schema\": 1")).unwrap_err();
        assert_eq!(error.to_string(), "manifest schema is 1, expected 2 or 3");
        let error = Manifest::parse(b"[1, 2]").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("manifest: expected a JSON object with a `schema` field"),
            "{error}"
        );
    }

    #[test]
    fn schema_2_is_read_without_patches_and_refused_with_them() {
        let old = sample().without_patches();
        let text = String::from_utf8(old.to_bytes()).unwrap();
        assert!(
            text.contains("\"schema\": 2") && !text.contains("patches"),
            "{text}"
        );
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap(), old);
        let error = with_text(|t| t.replace("\"schema\": 3", "\"schema\": 2")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "manifest: schema 2 lists patches, expected them in schema 3 only"
        );
        let error = with_text(|t| t.replace(&"ab".repeat(32), "AB")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "manifest: plugin `example` for x86_64-unknown-linux-gnu: patch \"libx-00.from-ab.zst\": `from_sha256` is \"AB\", expected 64 lower-case hex digits"
        );
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        let error = with_text(|t| t.replace("\"size\"", "\"extra\": 1, \"size\"")).unwrap_err();
        assert!(
            error.to_string().contains("unknown field `extra`"),
            "{error}"
        );
        let error = with_text(|t| t.replace("libx-00.so", "../libx.so")).unwrap_err();
        assert!(
            error.to_string().contains(
                "`url` is \"../libx.so\", expected a file name in the channel or an absolute URL"
            ),
            "{error}"
        );
        let error = with_text(|t| t.replace("\"stable\"", "\"../beta\"")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`channel` is \"../beta\", expected a plain name"),
            "{error}"
        );
        let error = with_text(|t| t.replace("2029-12-01", "2030-02-01")).unwrap_err();
        assert!(
            error.to_string().contains("expected it before `expires`"),
            "{error}"
        );
        let error = with_text(|t| t.replace("2030-01-01", "2030-03-02")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`expires` 2030-03-02T00:00:00Z is more than 90 days after `issued`"),
            "{error}"
        );
        let error = with_text(|t| t.replace("\"1.0.1\"", "\"1.0.1-\\u001b[2J\"")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("version \"1.0.1-\\u{1b}[2J\" is not MAJOR.MINOR.PATCH"),
            "{error}"
        );
        let error = with_text(|t| t.replace("2030-01-01T00:00:00Z", "tomorrow")).unwrap_err();
        assert!(
            error.to_string().contains("`expires` is \"tomorrow\""),
            "{error}"
        );
    }
}

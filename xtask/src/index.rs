//! The artifact index `cargo xtask build-all` writes and `verify-symbols` and `release` read.
//! It knows the file format and nothing of how artifacts are built.
//!
//! `target/plugins/<triple>/index.json` lists that triple's artifacts, and
//! `target/plugins/index.json` lists every triple's, in the same shape:
//!
//! ```json
//! {
//!   "schema": 1,
//!   "artifacts": [
//!     {
//!       "plugin": "example",
//!       "package": "fastforth-example-plugin",
//!       "version": "1.0.0",
//!       "triple": "x86_64-unknown-linux-gnu",
//!       "profile": "release",
//!       "file": "x86_64-unknown-linux-gnu/libfastforth_example_plugin.so",
//!       "size": 318904,
//!       "sha256": "9f2c…64 lower-case hex digits"
//!     }
//!   ],
//!   "runtimes": [
//!     {
//!       "triple": "x86_64-unknown-linux-gnu",
//!       "file": "x86_64-unknown-linux-gnu/libstd-d1237ef7159db0a2.so",
//!       "rustc": "rustc 1.95.0 (59807616e 2026-04-14)",
//!       "size": 1195840,
//!       "sha256": "…"
//!     }
//!   ]
//! }
//! ```
//!
//! `file` is relative to `target/plugins/`; `size` is in bytes; artifacts are sorted by
//! triple, then plugin. `runtimes` lists the shared Rust runtime the triple's plugins need
//! (none for a triple whose plugins keep a static std); an index without it reads as having
//! none. A new `schema` number means an incompatible change.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub const SCHEMA: u32 = 1;
pub const FILE_NAME: &str = "index.json";

#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Index {
    pub schema: u32,
    pub artifacts: Vec<Artifact>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtimes: Vec<Runtime>,
}

/// The shared Rust runtime (`libstd-<hash>.so`, `.dylib`) a triple's plugins link.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Runtime {
    pub triple: String,
    pub file: String,
    /// The `rustc --version` line of the toolchain it comes from.
    pub rustc: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Artifact {
    pub plugin: String,
    pub package: String,
    pub version: String,
    pub triple: String,
    pub profile: String,
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

/// `target/plugins/` under the workspace root.
pub fn plugins_dir(root: &Path) -> PathBuf {
    root.join("target").join("plugins")
}

/// Holds `target/plugins/.lock` exclusively until dropped, so that concurrent build-all runs
/// copy artifacts and rewrite the indexes one at a time.
pub fn lock(plugins_dir: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(plugins_dir)
        .with_context(|| format!("cannot create {}", plugins_dir.display()))?;
    let path = plugins_dir.join(".lock");
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(file)
}

/// The index at `path`; an empty one when the file does not exist.
pub fn read(path: &Path) -> anyhow::Result<Index> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let index: Index = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a build-all index", path.display()))?;
    anyhow::ensure!(
        index.schema == SCHEMA,
        "{} has index schema {}, expected {SCHEMA}",
        path.display(),
        index.schema
    );
    Ok(index)
}

/// Writes `index` to `path` through a temporary file and a rename.
pub fn write(path: &Path, index: &Index) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(index).context("cannot serialise the index")?;
    let temp = path.with_extension("json.tmp");
    std::fs::write(&temp, json + "\n")
        .with_context(|| format!("cannot write {}", temp.display()))?;
    std::fs::rename(&temp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Replaces the entries of `triple`'s index for the plugins in `fresh`, keeps the others
/// whose file still exists, sets the triple's runtime, and rewrites the index of every
/// triple under `plugins_dir`.
pub fn record(
    plugins_dir: &Path,
    triple: &str,
    fresh: Vec<Artifact>,
    runtime: Option<Runtime>,
) -> anyhow::Result<()> {
    let path = plugins_dir.join(triple).join(FILE_NAME);
    let mut index = read(&path)?;
    index.schema = SCHEMA;
    index.artifacts.retain(|old| {
        !fresh.iter().any(|new| new.plugin == old.plugin) && plugins_dir.join(&old.file).is_file()
    });
    index.artifacts.extend(fresh);
    index.runtimes = runtime.into_iter().collect();
    index.artifacts.sort_by(|a, b| a.plugin.cmp(&b.plugin));
    write(&path, &index)?;
    write_combined(plugins_dir)
}

fn write_combined(plugins_dir: &Path) -> anyhow::Result<()> {
    let mut combined = Index {
        schema: SCHEMA,
        ..Index::default()
    };
    let entries = std::fs::read_dir(plugins_dir)
        .with_context(|| format!("cannot list {}", plugins_dir.display()))?;
    for entry in entries.flatten() {
        let per_triple = entry.path().join(FILE_NAME);
        if per_triple.is_file() {
            let index = read(&per_triple)?;
            combined.artifacts.extend(index.artifacts);
            combined.runtimes.extend(index.runtimes);
        }
    }
    combined
        .artifacts
        .sort_by(|a, b| (&a.triple, &a.plugin).cmp(&(&b.triple, &b.plugin)));
    combined.runtimes.sort_by(|a, b| a.triple.cmp(&b.triple));
    write(&plugins_dir.join(FILE_NAME), &combined)
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(plugin: &str, triple: &str) -> Artifact {
        Artifact {
            plugin: plugin.to_owned(),
            package: format!("fastforth-{plugin}-plugin"),
            version: "1.0.0".to_owned(),
            triple: triple.to_owned(),
            profile: "release".to_owned(),
            file: format!("{triple}/lib{plugin}.so"),
            size: 3,
            sha256: sha256_hex(b"abc"),
        }
    }

    fn runtime(triple: &str) -> Runtime {
        Runtime {
            triple: triple.to_owned(),
            file: format!("{triple}/libstd-0123456789abcdef.so"),
            rustc: "rustc 1.95.0".to_owned(),
            size: 3,
            sha256: sha256_hex(b"abc"),
        }
    }

    #[test]
    fn sha256_is_lower_case_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn recording_a_triple_updates_it_and_the_combined_index() {
        let dir = std::env::temp_dir().join(format!("xtask-index-{}", std::process::id()));
        for triple in ["a-b-c", "d-e-f"] {
            std::fs::create_dir_all(dir.join(triple)).unwrap();
            for plugin in ["one", "two"] {
                std::fs::write(dir.join(format!("{triple}/lib{plugin}.so")), b"abc").unwrap();
            }
        }
        record(
            &dir,
            "a-b-c",
            vec![artifact("one", "a-b-c"), artifact("two", "a-b-c")],
            Some(runtime("a-b-c")),
        )
        .unwrap();
        record(&dir, "d-e-f", vec![artifact("two", "d-e-f")], None).unwrap();
        let mut newer = artifact("one", "a-b-c");
        newer.version = "1.0.1".to_owned();
        record(&dir, "a-b-c", vec![newer.clone()], Some(runtime("a-b-c"))).unwrap();

        let a = read(&dir.join("a-b-c/index.json")).unwrap();
        assert_eq!(a.artifacts, [newer.clone(), artifact("two", "a-b-c")]);
        assert_eq!(a.runtimes, [runtime("a-b-c")]);
        let all = read(&dir.join("index.json")).unwrap();
        assert_eq!(
            all.artifacts,
            [newer, artifact("two", "a-b-c"), artifact("two", "d-e-f")]
        );
        assert_eq!(all.runtimes, [runtime("a-b-c")], "d-e-f has none");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn concurrent_writers_holding_the_lock_lose_no_entry() {
        let dir = std::env::temp_dir().join(format!("xtask-index-lock-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a-b-c")).unwrap();
        let writers: Vec<_> = (0..8)
            .map(|n| {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let plugin = format!("p{n}");
                    std::fs::write(dir.join(format!("a-b-c/lib{plugin}.so")), b"abc").unwrap();
                    for _ in 0..20 {
                        let _one_writer = lock(&dir).unwrap();
                        record(&dir, "a-b-c", vec![artifact(&plugin, "a-b-c")], None).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(read(&dir.join("index.json")).unwrap().artifacts.len(), 8);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_index_reads_as_empty_and_a_foreign_schema_is_refused() {
        let dir = std::env::temp_dir().join(format!("xtask-index-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(read(&dir.join("none.json")).unwrap(), Index::default());
        let before_runtimes = dir.join("old.json");
        std::fs::write(&before_runtimes, r#"{"schema": 1, "artifacts": []}"#).unwrap();
        assert!(read(&before_runtimes).unwrap().runtimes.is_empty());
        let path = dir.join("index.json");
        std::fs::write(&path, r#"{"schema": 7, "artifacts": []}"#).unwrap();
        let error = read(&path).unwrap_err().to_string();
        assert!(error.ends_with("has index schema 7, expected 1"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Content-addressed shadow copies: every distinct plugin build gets its own file name (and
//! so its own inode) in a cache directory the host owns, because `dlopen` of a path whose
//! image is still resident returns the old image. Files are written to a temporary name
//! and renamed into place; a file that may be mapped is never rewritten. They are not
//! fsynced: the cache needs no durability, because an existing copy is compared byte for
//! byte with the plugin before it is reused, so a copy torn by a crash is replaced, never
//! loaded.

use crate::PluginError;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The shadow file name for `bytes` that came from `source`: `<stem>-<hash prefix>.<ext>`.
pub fn shadow_file_name(source: &Path, sha256: &str) -> String {
    let stem = source
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin");
    let hash = &sha256[..24];
    match source.extension().and_then(|e| e.to_str()) {
        Some(ext) => format!("{stem}-{hash}.{ext}"),
        None => format!("{stem}-{hash}"),
    }
}

/// Makes sure a shadow copy of `bytes` exists in `cache_dir` and returns its path.
pub fn place(
    cache_dir: &Path,
    source: &Path,
    bytes: &[u8],
    sha256: &str,
) -> Result<PathBuf, PluginError> {
    let cache_error = |source| PluginError::Cache {
        path: cache_dir.into(),
        source,
    };
    std::fs::create_dir_all(cache_dir).map_err(cache_error)?;
    let shadow = cache_dir.join(shadow_file_name(source, sha256));
    if std::fs::read(&shadow).is_ok_and(|existing| existing == bytes) {
        return Ok(shadow);
    }
    let mut temp = tempfile::NamedTempFile::new_in(cache_dir).map_err(cache_error)?;
    temp.write_all(bytes).map_err(cache_error)?;
    temp.persist(&shadow)
        .map_err(|error| cache_error(error.error))?;
    Ok(shadow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_same_name_different_bytes_different_name() {
        let dir = tempfile::tempdir().unwrap();
        let source = Path::new("/x/libdemo.so");
        let a = place(dir.path(), source, b"one", &sha256_hex(b"one")).unwrap();
        let again = place(dir.path(), source, b"one", &sha256_hex(b"one")).unwrap();
        let b = place(dir.path(), source, b"two", &sha256_hex(b"two")).unwrap();
        assert_eq!(a, again);
        assert_ne!(a, b);
        assert!(
            a.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("libdemo-")
        );
        assert!(a.extension().is_some_and(|e| e == "so"));
        assert_eq!(std::fs::read(&b).unwrap(), b"two");
    }
}

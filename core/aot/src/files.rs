//! The compiler's files: written whole or not at all, and named by a hash of what they hold.

use crate::AotError;
use std::path::Path;

/// Writes through a temporary file and a rename, so a concurrent reader sees the whole
/// file or none.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), AotError> {
    let io = |error| AotError::Io {
        path: path.to_owned(),
        error,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, bytes).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}

/// Copies `from` (its permissions too, so an executable stays one) through a temporary
/// file and a rename, as [`write_atomically`] writes.
pub(crate) fn copy_atomically(from: &Path, to: &Path) -> Result<(), AotError> {
    let temporary = to.with_extension(format!("tmp{}", std::process::id()));
    std::fs::copy(from, &temporary)
        .map_err(|error| AotError::Io {
            path: from.to_owned(),
            error,
        })
        .and_then(|_| {
            std::fs::rename(&temporary, to).map_err(|error| AotError::Io {
                path: to.to_owned(),
                error,
            })
        })
}

/// FNV-1a over the pieces, each closed by its length.
pub(crate) fn fnv1a<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |byte: u8| {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    };
    for piece in pieces {
        piece.iter().copied().for_each(&mut eat);
        (piece.len() as u64)
            .to_le_bytes()
            .into_iter()
            .for_each(&mut eat);
    }
    hash
}

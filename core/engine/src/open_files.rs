//! The open files of a session and the files it has included (`Files`), and the iors of
//! file access (-512 - errno). The File-access words that use them are in `files`.

use std::fs::File;
use std::path::PathBuf;

/// The ior of an operating-system error number.
pub(crate) const fn os_ior(errno: i64) -> i64 {
    -512 - errno
}
/// Whether a code is a file ior (-512 - errno), which a file word may throw (INCLUDE-FILE,
/// INCLUDED) as well as return.
pub fn is_file_ior(code: i64) -> bool {
    (os_ior(4095)..=os_ior(0)).contains(&code)
}

/// ior: the policy refuses the name (EACCES).
pub const IOR_REFUSED: i64 = os_ior(13);
/// ior: the fileid is not that of an open file (EBADF).
pub const IOR_BAD_FILEID: i64 = os_ior(9);
/// ior: the session has `Limits::max_open_files` files open (EMFILE).
pub const IOR_TOO_MANY_FILES: i64 = os_ior(24);
/// ior: an invalid access method or file position (EINVAL).
pub const IOR_INVALID: i64 = os_ior(22);
/// ior: an error without an OS error number (EIO).
pub(crate) const IOR_IO: i64 = os_ior(5);

/// The open files of a session and the files it has included.
#[derive(Debug, Default)]
pub struct Files {
    open: Vec<Option<File>>,
    /// The canonical paths of the files INCLUDED so far (REQUIRED includes each once).
    included: Vec<PathBuf>,
}

/// A copy keeps the record of included files but opens no files.
impl Clone for Files {
    fn clone(&self) -> Files {
        Files {
            open: Vec::new(),
            included: self.included.clone(),
        }
    }
}

impl Files {
    /// Notes that a file was included (REQUIRED will not include it again).
    pub(crate) fn note_included(&mut self, path: &std::path::Path) {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if !self.included.contains(&path) {
            self.included.push(path);
        }
    }

    pub(crate) fn was_included(&self, path: &std::path::Path) -> bool {
        path.canonicalize()
            .is_ok_and(|path| self.included.contains(&path))
    }

    pub(crate) fn get(&mut self, fileid: i64) -> Result<&mut File, i64> {
        let slot = usize::try_from(fileid.wrapping_sub(1)).map_err(|_| IOR_BAD_FILEID)?;
        match self.open.get_mut(slot) {
            Some(Some(file)) => Ok(file),
            _ => Err(IOR_BAD_FILEID),
        }
    }

    pub(crate) fn insert(&mut self, file: File, limit: usize) -> Result<i64, i64> {
        let slot = match self.open.iter().position(Option::is_none) {
            Some(slot) => slot,
            None if self.open.len() < limit => {
                self.open.push(None);
                self.open.len() - 1
            }
            None => return Err(IOR_TOO_MANY_FILES),
        };
        self.open[slot] = Some(file);
        Ok(slot as i64 + 1)
    }

    pub(crate) fn close(&mut self, fileid: i64) -> i64 {
        self.get(fileid).map(|_| ()).map_or_else(
            |ior| ior,
            |()| {
                self.open[(fileid - 1) as usize] = None;
                0
            },
        )
    }
}

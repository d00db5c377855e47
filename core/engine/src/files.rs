//! The File-access word set: real files opened through the session's `FileAccess`
//! policy, a bounded table of open files (`open_files`), and REQUIRED's record of included
//! files.
//!
//! A fileid is the file's slot in the table plus one. File access methods: `R/O` 0,
//! `W/O` 1, `R/W` 2, `BIN` adds 4 (files are always binary). iors: 0 on success,
//! -512 - errno for an error of the operating system (as gforth does: -514 is "no such
//! file", -525 "permission denied"), [`IOR_REFUSED`] when the policy refuses the name,
//! [`IOR_BAD_FILEID`] for a fileid that is not open, [`IOR_TOO_MANY_FILES`] when the table
//! is full, [`IOR_INVALID`] for a bad access method or position. Open files are not
//! carried by the state image: after an engine swap the old fileids are not open, and
//! every file is closed when its session ends.
//!
//! [`IOR_BAD_FILEID`]: crate::open_files::IOR_BAD_FILEID
//! [`IOR_TOO_MANY_FILES`]: crate::open_files::IOR_TOO_MANY_FILES

use crate::console::Console;
use crate::engine::Forth;
use crate::error::{Fallible, Throw, code};
use crate::ir::Sys;
use crate::open_files::{IOR_INVALID, IOR_IO, IOR_REFUSED, os_ior};
use crate::sandbox::{self, BLOCKS_PAST_BUDGET, Refusal, is_special};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

const BIN: i64 = 4;
const WRITE_ONLY: i64 = 1;
const READ_WRITE: i64 = 2;

/// The ior of an I/O error.
fn ior_of(error: &std::io::Error) -> i64 {
    match (error.raw_os_error(), error.kind()) {
        (Some(errno), _) => os_ior(errno as i64),
        (None, ErrorKind::NotFound) => os_ior(2),
        (None, ErrorKind::PermissionDenied) => IOR_REFUSED,
        _ => IOR_IO,
    }
}

/// An I/O outcome as `Ok(0)` or `Err(ior)`.
fn ior(result: std::io::Result<()>) -> Result<i64, i64> {
    result.map(|()| 0).map_err(|error| ior_of(&error))
}

/// The words of this word set that run on the host side.
pub const FILE_WORDS: &[Sys] = &[
    Sys::CloseFile,
    Sys::CreateFile,
    Sys::DeleteFile,
    Sys::FilePosition,
    Sys::FileSize,
    Sys::FileStatus,
    Sys::FlushFile,
    Sys::IncludeFile,
    Sys::OpenFile,
    Sys::ReadFile,
    Sys::ReadLine,
    Sys::RenameFile,
    Sys::RepositionFile,
    Sys::Require,
    Sys::Required,
    Sys::ResizeFile,
    Sys::WriteFile,
    Sys::WriteLine,
];

impl Forth {
    /// Executes one File-access word.
    pub(crate) fn file_word(&mut self, word: Sys, console: &mut dyn Console) -> Fallible<()> {
        self.charge_steps(1)?;
        match word {
            Sys::OpenFile => self.open_file(false),
            Sys::CreateFile => self.open_file(true),
            Sys::CloseFile => {
                let fileid = self.pop()?;
                let ior = self.files.close(fileid);
                self.push(ior)
            }
            Sys::DeleteFile => {
                let path = self.pop_file_name()?;
                self.push_ior(path.and_then(|path| ior(std::fs::remove_file(path))))
            }
            Sys::RenameFile => {
                let to = self.pop_file_name()?;
                let from = self.pop_file_name()?;
                let renamed = from.and_then(|from| Ok((from, to?)));
                self.push_ior(renamed.and_then(|(from, to)| ior(std::fs::rename(from, to))))
            }
            Sys::FileStatus => {
                let path = self.pop_file_name()?;
                let status = path.and_then(|path| file_mode(&path));
                self.push(status.unwrap_or(0))?;
                self.push(status.err().unwrap_or(0))
            }
            Sys::FilePosition => self.file_query(|file| file.stream_position()),
            Sys::FileSize => self.file_query(|file| file.metadata().map(|m| m.len())),
            Sys::RepositionFile => {
                self.file_update(|file, at| file.seek(SeekFrom::Start(at)).map(drop))
            }
            Sys::ResizeFile => self.file_update(|file, size| file.set_len(size)),
            Sys::FlushFile => {
                let fileid = self.pop()?;
                let flushed = self.files.get(fileid).and_then(|file| ior(file.flush()));
                self.push_ior(flushed)
            }
            Sys::ReadFile => self.read_file(),
            Sys::ReadLine => self.read_line(),
            Sys::WriteFile => self.write_file(false),
            Sys::WriteLine => self.write_file(true),
            Sys::IncludeFile => self.include_file_word(console),
            Sys::Required => {
                let name = self.pop_bytes()?;
                self.require(&name, console)
            }
            Sys::Require => {
                let name = self.parse_name()?;
                self.require(&name, console)
            }
            _ => Err(Throw::new(code::UNSUPPORTED_OPERATION)),
        }
    }

    /// Pops ( c-addr u ) and resolves the name through the policy: the path, or the ior.
    fn pop_file_name(&mut self) -> Fallible<Result<PathBuf, i64>> {
        let name = self.pop_bytes()?;
        let name = String::from_utf8_lossy(&name);
        Ok(self.policy_path(&name).map_err(|_| IOR_REFUSED))
    }

    /// The path of the file named `name` under the file policy, or why it is refused. Under
    /// a step budget a FIFO, socket or device is refused whatever the policy: opening or
    /// reading one can block, and no budget stops a blocked call.
    pub(crate) fn policy_path(&self, name: &str) -> Result<PathBuf, Refusal> {
        let path = self.limits.file_access.resolve(name)?;
        if self.bounded() && is_special(&path) {
            return Err(Refusal(format!("{name}: {BLOCKS_PAST_BUDGET}")));
        }
        Ok(path)
    }

    /// Whether a step budget bounds the session: then opening a file must not wait (see
    /// [`sandbox::open`]).
    pub(crate) fn bounded(&self) -> bool {
        self.limits.max_steps.is_some()
    }

    /// The path of a file to include, or a -37 error naming the refused file.
    pub(crate) fn permitted_source(&self, name: &[u8]) -> Fallible<PathBuf> {
        let name = String::from_utf8_lossy(name);
        self.policy_path(&name)
            .map_err(|refusal| Throw::with_message(code::FILE_IO, refusal.0).in_word(&name))
    }

    fn push_ior(&mut self, result: Result<i64, i64>) -> Fallible<()> {
        self.push(result.unwrap_or_else(|ior| ior))
    }

    /// OPEN-FILE and CREATE-FILE ( c-addr u fam -- fileid ior ).
    fn open_file(&mut self, create: bool) -> Fallible<()> {
        let fam = self.pop()?;
        let path = self.pop_file_name()?;
        let limit = self.limits.max_open_files;
        let opened = path.and_then(|path| {
            let options = options(fam, create)?;
            let file = sandbox::open(&path, &options, self.bounded()).map_err(|e| ior_of(&e))?;
            self.files.insert(file, limit)
        });
        self.push(*opened.as_ref().unwrap_or(&0))?;
        self.push(opened.err().unwrap_or(0))
    }

    /// FILE-POSITION and FILE-SIZE ( fileid -- ud ior ).
    fn file_query(&mut self, query: fn(&mut File) -> std::io::Result<u64>) -> Fallible<()> {
        let fileid = self.pop()?;
        let answer = self
            .files
            .get(fileid)
            .and_then(|file| query(file).map_err(|e| ior_of(&e)));
        self.push(*answer.as_ref().unwrap_or(&0) as i64)?;
        self.push(0)?;
        self.push(answer.err().unwrap_or(0))
    }

    /// REPOSITION-FILE and RESIZE-FILE ( ud fileid -- ior ): `update` with the position or
    /// size. The bytes between the file's end and a place past it are charged to the step
    /// budget as if written (the resize, or a later write, makes them), so that the budget
    /// bounds the space a file takes.
    fn file_update(&mut self, update: fn(&mut File, u64) -> std::io::Result<()>) -> Fallible<()> {
        let (fileid, high, low) = (self.pop()?, self.pop()?, self.pop()?);
        let place = match (high, low) {
            (0, 0..) => low as u64,
            _ => return self.push_ior(Err(IOR_INVALID)),
        };
        let end = match self.files.get(fileid) {
            Ok(file) => file.metadata().map_or(0, |found| found.len()),
            Err(ior) => return self.push_ior(Err(ior)),
        };
        self.charge_bytes(usize::try_from(place.saturating_sub(end)).unwrap_or(usize::MAX))?;
        let done = self
            .files
            .get(fileid)
            .and_then(|file| ior(update(file, place)));
        self.push_ior(done)
    }

    /// READ-FILE ( c-addr u1 fileid -- u2 ior ).
    fn read_file(&mut self) -> Fallible<()> {
        let fileid = self.pop()?;
        let range = self.pop_range()?;
        self.charge_bytes(range.len())?;
        let read = match self.files.get(fileid) {
            Ok(file) => read_up_to(file, &mut self.mem[range]).map_err(|e| ior_of(&e)),
            Err(ior) => Err(ior),
        };
        self.push(*read.as_ref().unwrap_or(&0) as i64)?;
        self.push(read.err().unwrap_or(0))
    }

    /// READ-LINE ( c-addr u1 fileid -- u2 flag ior ): reads up to u1 characters of the
    /// line; a line ends at LF, CR LF or CR, and the terminator is consumed but not stored.
    fn read_line(&mut self) -> Fallible<()> {
        let fileid = self.pop()?;
        let range = self.pop_range()?;
        self.charge_bytes(range.len())?;
        let line = match self.files.get(fileid) {
            Ok(file) => next_line(file, range.len()).map_err(|e| ior_of(&e)),
            Err(ior) => Err(ior),
        };
        match line {
            Ok(Some(text)) => {
                let len = text.len();
                self.mem[range.start..range.start + len].copy_from_slice(&text);
                self.push(len as i64)?;
                self.push(-1)?;
                self.push(0)
            }
            Ok(None) => {
                self.push(0)?;
                self.push(0)?;
                self.push(0)
            }
            Err(ior) => {
                self.push(0)?;
                self.push(0)?;
                self.push(ior)
            }
        }
    }

    /// WRITE-FILE and WRITE-LINE ( c-addr u fileid -- ior ).
    fn write_file(&mut self, line: bool) -> Fallible<()> {
        let fileid = self.pop()?;
        let range = self.pop_range()?;
        self.charge_bytes(range.len())?;
        let newline: &[u8] = if line { b"\n" } else { b"" };
        let text = &self.mem[range];
        let written = self
            .files
            .get(fileid)
            .and_then(|file| ior(file.write_all(text).and_then(|()| file.write_all(newline))));
        self.push_ior(written)
    }

    /// INCLUDE-FILE ( i*x fileid -- j*x ): interprets the rest of the open file.
    fn include_file_word(&mut self, console: &mut dyn Console) -> Fallible<()> {
        let fileid = self.pop()?;
        let cap = self.limits.max_source_bytes;
        let mut text = Vec::new();
        let read = match self.files.get(fileid) {
            Ok(file) => (&*file)
                .take(cap as u64 + 1)
                .read_to_end(&mut text)
                .map_err(|e| ior_of(&e)),
            Err(ior) => Err(ior),
        };
        match read {
            Ok(len) if len <= cap => {
                self.charge_bytes(len)?;
                let name = format!("(fileid {fileid})");
                self.interpret_file_text(text, name, fileid, console)
            }
            Ok(_) => Err(Throw::with_message(
                code::FILE_IO,
                format!("fileid {fileid} is larger than the source size limit of {cap} bytes"),
            )),
            Err(ior) => Err(Throw::new(ior)),
        }
    }

    /// REQUIRED: INCLUDED unless the file was included before.
    fn require(&mut self, name: &[u8], console: &mut dyn Console) -> Fallible<()> {
        let path = self.permitted_source(name)?;
        if self.files.was_included(&self.resolve_path(&path)) {
            return Ok(());
        }
        self.include_path(&path, console)
    }
}

/// What OPEN-FILE/CREATE-FILE open a file with, for an access method.
fn options(fam: i64, create: bool) -> Result<OpenOptions, i64> {
    let mut options = OpenOptions::new();
    match fam & !BIN {
        0 => options.read(true),
        WRITE_ONLY => options.write(true),
        READ_WRITE => options.read(true).write(true),
        _ => return Err(IOR_INVALID),
    };
    if create {
        options.write(true).create(true).truncate(true);
    }
    Ok(options)
}

/// FILE-STATUS's x: the file's permission bits (Unix) or 0.
fn file_mode(path: &std::path::Path) -> Result<i64, i64> {
    let metadata = std::fs::metadata(path).map_err(|e| ior_of(&e))?;
    Ok(permission_bits(&metadata))
}

#[cfg(unix)]
fn permission_bits(metadata: &std::fs::Metadata) -> i64 {
    use std::os::unix::fs::PermissionsExt;
    i64::from(metadata.permissions().mode())
}

#[cfg(not(unix))]
fn permission_bits(metadata: &std::fs::Metadata) -> i64 {
    if metadata.permissions().readonly() {
        0o444
    } else {
        0o666
    }
}

/// Reads until `buffer` is full or the file ends.
fn read_up_to(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// The next line of at most `max` bytes (`None` at the end of the file), leaving the file
/// positioned after it (and after its terminator when that was reached).
fn next_line(file: &mut File, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    let start = file.stream_position()?;
    let mut bytes = vec![0; max.saturating_add(2)];
    let filled = read_up_to(file, &mut bytes)?;
    bytes.truncate(filled);
    if filled == 0 {
        return Ok(None);
    }
    let end = bytes[..filled.min(max)]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r');
    let (len, consumed) = match end {
        Some(at) if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') => (at, at + 2),
        Some(at) => (at, at + 1),
        None => (filled.min(max), filled.min(max)),
    };
    file.seek(SeekFrom::Start(start + consumed as u64))?;
    bytes.truncate(len);
    Ok(Some(bytes))
}

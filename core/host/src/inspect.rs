//! Structural checks on a plugin file before anything is loaded: loading runs code
//! (`.init_array`, `DllMain`), so a file must prove it is a shared library for this
//! machine that exports the descriptor symbol while it is still just bytes. Only a regular
//! file under a size cap is read at all, and an ELF file's loader-facing structure is
//! checked in depth (`elf`); PE and Mach-O files get `object`'s parse checks only.

use crate::PluginError;
use fastforth_abi::DESCRIPTOR_SYMBOL;
use object::{Architecture, BinaryFormat, Endianness, FileKind, Object, ObjectKind};
use std::path::Path;

/// The largest plugin file the host reads unless told otherwise ([`crate::Loader::with_max_file_bytes`]):
/// 256 MiB, about a hundred times the size of the engine plugin.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 << 20;

/// Reads `path` and checks that its bytes are a shared library for this host's format and
/// architecture that exports [`DESCRIPTOR_SYMBOL`]. Returns the bytes that were checked, so
/// the caller loads exactly what was verified. Files above [`DEFAULT_MAX_FILE_BYTES`] are
/// refused before anything is read.
pub fn read_and_check(path: &Path) -> Result<Vec<u8>, PluginError> {
    read_and_check_capped(path, DEFAULT_MAX_FILE_BYTES)
}

/// [`read_and_check`] with a size cap of `max_bytes`.
pub fn read_and_check_capped(path: &Path, max_bytes: u64) -> Result<Vec<u8>, PluginError> {
    let bytes = read_plugin_file(path, max_bytes)?;
    check_bytes(path, &bytes)?;
    Ok(bytes)
}

/// Reads a regular file of at most `max_bytes`. The file is opened without blocking (a FIFO
/// would otherwise wait for a writer forever) and its type and size are taken from the
/// opened file, so what is checked is what is read.
pub(crate) fn read_plugin_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, PluginError> {
    let file = open_nonblocking(path).map_err(|source| io_error(path, source))?;
    let metadata = file.metadata().map_err(|source| io_error(path, source))?;
    if !metadata.is_file() {
        return Err(PluginError::NotARegularFile {
            path: path.into(),
            found: describe_file_type(&metadata.file_type()),
        });
    }
    if metadata.len() > max_bytes {
        return Err(PluginError::TooLarge {
            path: path.into(),
            size: metadata.len(),
            max: max_bytes,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // One byte more than the cap tells a file that grew since `metadata` from one that did not.
    std::io::Read::read_to_end(&mut std::io::Read::take(&file, max_bytes + 1), &mut bytes)
        .map_err(|source| io_error(path, source))?;
    if bytes.len() as u64 > max_bytes {
        return Err(PluginError::TooLarge {
            path: path.into(),
            size: bytes.len() as u64,
            max: max_bytes,
        });
    }
    if bytes.is_empty() {
        return Err(PluginError::Empty { path: path.into() });
    }
    Ok(bytes)
}

/// Opens `path` for reading without waiting: a FIFO put where a regular file was checked
/// opens at once (and is then refused by its type) instead of blocking until a writer comes.
#[cfg(unix)]
pub fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Opens `path` for reading (a named pipe on Windows does not wait for the other end).
#[cfg(not(unix))]
pub fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// "a directory", "a FIFO (named pipe)", ...: what a path that is no regular file is.
fn describe_file_type(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "neither a file nor a directory"
    }
}

fn io_error(path: &Path, source: std::io::Error) -> PluginError {
    match source.kind() {
        std::io::ErrorKind::NotFound => PluginError::NotFound { path: path.into() },
        _ => PluginError::Io {
            path: path.into(),
            error: source,
        },
    }
}

/// The checks of [`read_and_check`] on bytes already in memory.
pub fn check_bytes(path: &Path, bytes: &[u8]) -> Result<(), PluginError> {
    let kind = FileKind::parse(bytes).map_err(|_| PluginError::NotALibrary {
        path: path.into(),
        found: describe_unknown(bytes),
    })?;
    let file = object::File::parse(bytes).map_err(|error| PluginError::Malformed {
        path: path.into(),
        format: format!("{kind:?}"),
        detail: error.to_string(),
    })?;
    let found = Target::of(&file);
    let expected = Target::host();
    if found != expected {
        return Err(PluginError::WrongArchitecture {
            path: path.into(),
            expected: expected.to_string(),
            found: found.to_string(),
        });
    }
    if file.kind() != ObjectKind::Dynamic {
        return Err(PluginError::NotALibrary {
            path: path.into(),
            found: describe_object(file.format(), file.kind()),
        });
    }
    crate::elf::check(bytes).map_err(|detail| PluginError::Malformed {
        path: path.into(),
        format: format!("{kind:?}"),
        detail,
    })?;
    if !exports_descriptor(&file) {
        return Err(PluginError::MissingDescriptor {
            path: path.into(),
            symbol: DESCRIPTOR_SYMBOL,
        });
    }
    Ok(())
}

fn exports_descriptor(file: &object::File) -> bool {
    export_names(file)
        .iter()
        .any(|name| name == DESCRIPTOR_SYMBOL)
}

/// The names the library in `bytes` exports (empty if it does not parse).
pub fn exported_symbols(bytes: &[u8]) -> Vec<String> {
    object::File::parse(bytes)
        .map(|file| export_names(&file))
        .unwrap_or_default()
}

/// The names a library exports, sorted, with Mach-O's one leading `_` removed.
fn export_names(file: &object::File) -> Vec<String> {
    let exports = file.exports().unwrap_or_default();
    let mut names: Vec<String> = exports
        .iter()
        .map(|export| {
            let name = export.name();
            let name = match file.format() {
                BinaryFormat::MachO => name.strip_prefix(b"_").unwrap_or(name),
                _ => name,
            };
            String::from_utf8_lossy(name).into_owned()
        })
        .collect();
    names.sort();
    names
}

/// A short, human description of bytes that are no known binary format (also used by
/// `cargo xtask verify-symbols`).
pub fn describe_unknown(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(256)];
    let text = std::str::from_utf8(head).is_ok_and(|text| {
        text.chars()
            .all(|c| !c.is_control() || c.is_ascii_whitespace())
    });
    if text {
        "a text file".to_owned()
    } else {
        let shown: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        format!("unknown bytes {}", shown.join(" "))
    }
}

/// What an object file that is not a shared library is, as "an ELF executable".
fn describe_object(format: BinaryFormat, kind: ObjectKind) -> String {
    let format = match format {
        BinaryFormat::Elf => "an ELF",
        BinaryFormat::MachO => "a Mach-O",
        BinaryFormat::Pe => "a PE",
        BinaryFormat::Coff => "a COFF",
        _ => "an object",
    };
    let kind = match kind {
        ObjectKind::Executable => "executable",
        ObjectKind::Relocatable => "relocatable object file",
        ObjectKind::Core => "core dump",
        _ => "file of unknown kind",
    };
    format!("{format} {kind}")
}

/// Binary format, architecture, bitness and byte order: what must match this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Target {
    format: BinaryFormat,
    architecture: Architecture,
    is_64: bool,
    endianness: Endianness,
}

impl Target {
    fn of(file: &object::File) -> Target {
        Target {
            format: file.format(),
            architecture: file.architecture(),
            is_64: file.is_64(),
            endianness: file.endianness(),
        }
    }

    fn host() -> Target {
        let format = match std::env::consts::OS {
            "windows" => BinaryFormat::Pe,
            "macos" | "ios" => BinaryFormat::MachO,
            _ => BinaryFormat::Elf,
        };
        let architecture = match std::env::consts::ARCH {
            "x86_64" => Architecture::X86_64,
            "x86" => Architecture::I386,
            "aarch64" => Architecture::Aarch64,
            "arm" => Architecture::Arm,
            "riscv64" => Architecture::Riscv64,
            "powerpc64" => Architecture::PowerPc64,
            "s390x" => Architecture::S390x,
            _ => Architecture::Unknown,
        };
        Target {
            format,
            architecture,
            is_64: cfg!(target_pointer_width = "64"),
            endianness: if cfg!(target_endian = "little") {
                Endianness::Little
            } else {
                Endianness::Big
            },
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bits = if self.is_64 { 64 } else { 32 };
        let order = match self.endianness {
            Endianness::Little => "little-endian",
            Endianness::Big => "big-endian",
        };
        write!(
            f,
            "{:?} ({:?} {bits}-bit {order})",
            self.architecture, self.format
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_fifo_opens_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("plugin.so");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        // A blocking open would wait here for ever: nobody writes to the FIFO.
        let file = open_nonblocking(&fifo).unwrap();
        let file_type = file.metadata().unwrap().file_type();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&file_type));
    }

    #[test]
    fn text_is_described_as_text() {
        assert_eq!(describe_unknown(b"hello\nworld\n"), "a text file");
        assert_eq!(
            describe_unknown(&[0, 1, 2, 3, 4]),
            "unknown bytes 00 01 02 03"
        );
    }

    #[test]
    fn host_target_reads_like_a_person_would_say_it() {
        if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
            assert_eq!(
                Target::host().to_string(),
                "X86_64 (Elf 64-bit little-endian)"
            );
        }
    }
}

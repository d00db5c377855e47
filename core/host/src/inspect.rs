//! Structural checks on a plugin file before anything is loaded: loading runs code
//! (`.init_array`, `DllMain`), so a file must prove it is a shared library for this
//! machine that exports the descriptor symbol while it is still just bytes.

use crate::PluginError;
use fastforth_abi::DESCRIPTOR_SYMBOL;
use object::{Architecture, BinaryFormat, Endianness, FileKind, Object, ObjectKind};
use std::path::Path;

/// Reads `path` and checks that its bytes are a shared library for this host's format and
/// architecture that exports [`DESCRIPTOR_SYMBOL`]. Returns the bytes that were checked, so
/// the caller loads exactly what was verified.
pub fn read_and_check(path: &Path) -> Result<Vec<u8>, PluginError> {
    let bytes = read_plugin_file(path)?;
    check_bytes(path, &bytes)?;
    Ok(bytes)
}

fn read_plugin_file(path: &Path) -> Result<Vec<u8>, PluginError> {
    let metadata = std::fs::metadata(path).map_err(|source| io_error(path, source))?;
    if metadata.is_dir() {
        return Err(PluginError::NotAFile { path: path.into() });
    }
    let bytes = std::fs::read(path).map_err(|source| io_error(path, source))?;
    if bytes.is_empty() {
        return Err(PluginError::Empty { path: path.into() });
    }
    Ok(bytes)
}

fn io_error(path: &Path, source: std::io::Error) -> PluginError {
    match source.kind() {
        std::io::ErrorKind::NotFound => PluginError::NotFound { path: path.into() },
        _ => PluginError::Io {
            path: path.into(),
            source,
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
            found: format!("a {:?} {:?} file", file.format(), file.kind()).to_lowercase(),
        });
    }
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

/// A short, human description of bytes that are no known binary format.
fn describe_unknown(bytes: &[u8]) -> String {
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

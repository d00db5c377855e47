//! One artifact read twice, by `object` (exports, their kinds, imports, forwarders) and by
//! `goblin` (exports again, needed libraries, SONAME / install name / DLL name, glibc symbol
//! versions), into one format-neutral [`Binary`]. Mach-O names lose their one leading `_`;
//! PE exports are named, never numbered. It knows nothing of expectations or targets.

use fastforth_host::inspect::describe_unknown;
use object::{
    Architecture, BinaryFormat, Endianness, FileKind, Object, ObjectKind, ObjectSection,
    ObjectSymbol, SectionKind,
};
use std::collections::BTreeSet;
use std::path::Path;

/// Why an artifact could not be read at all (`verify-symbols` exits 2).
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

/// A function or a data object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SymbolKind {
    Function,
    Data,
}

/// An exported symbol, as `object` sees it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Export {
    pub name: String,
    pub kind: SymbolKind,
    /// The symbol's size where the format records one (ELF).
    pub size: Option<u64>,
}

/// An undefined symbol the artifact needs, with its glibc-style version if it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionedImport {
    pub name: String,
    pub version: String,
}

/// What `verify-symbols` checks, read from the bytes of one artifact.
#[derive(Debug)]
pub struct Binary {
    pub format: BinaryFormat,
    pub architecture: Architecture,
    pub is_64: bool,
    pub little_endian: bool,
    pub is_shared_library: bool,
    /// Exports by `object`, sorted by name.
    pub exports: Vec<Export>,
    /// Export names by `goblin`.
    pub goblin_exports: BTreeSet<String>,
    /// PE exports forwarded to another DLL (`name -> dll.target`).
    pub forwarders: Vec<String>,
    /// Number of imported symbols (`object`).
    pub import_count: usize,
    /// Imported libraries as `object` names them (PE and Mach-O; ELF imports name none).
    pub object_libraries: BTreeSet<String>,
    /// Needed libraries by `goblin` (ELF `DT_NEEDED`, PE imports, Mach-O load commands).
    pub needed: Vec<String>,
    /// ELF `DT_SONAME`, Mach-O `LC_ID_DYLIB` install name, PE export-directory DLL name.
    pub own_name: Option<String>,
    /// Undefined ELF symbols with a version requirement (e.g. `memcpy@GLIBC_2.14`).
    pub versioned_imports: Vec<VersionedImport>,
}

impl Binary {
    /// Reads `bytes` (the contents of `path`, named in errors).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Binary, ParseError> {
        let fail = |detail: String| ParseError(format!("{}: {detail}", path.display()));
        if bytes.is_empty() {
            return Err(fail(
                "empty file, expected an ELF, PE or Mach-O library".to_owned(),
            ));
        }
        let kind = FileKind::parse(bytes).map_err(|_| {
            fail(format!(
                "not a binary: expected an ELF, PE or Mach-O library, found {}",
                describe_unknown(bytes)
            ))
        })?;
        let file = object::File::parse(bytes).map_err(|error| {
            fail(format!(
                "cannot parse as {kind:?}: {error}{}",
                truncation_hint(bytes)
            ))
        })?;
        check_extent(&file, bytes.len()).map_err(&fail)?;
        let exports = exports_of(&file).map_err(&fail)?;
        let forwarders = forwarders_of(&file).map_err(&fail)?;
        let imports = file
            .imports()
            .map_err(|error| fail(format!("cannot read imports: {error}")))?;
        let object_libraries = imports
            .iter()
            .filter(|import| !import.library().is_empty())
            .map(|import| String::from_utf8_lossy(import.library()).into_owned())
            .collect();
        let mut binary = Binary {
            format: file.format(),
            architecture: file.architecture(),
            is_64: file.is_64(),
            little_endian: file.endianness() == Endianness::Little,
            is_shared_library: file.kind() == ObjectKind::Dynamic,
            exports,
            goblin_exports: BTreeSet::new(),
            forwarders,
            import_count: imports.len(),
            object_libraries,
            needed: Vec::new(),
            own_name: None,
            versioned_imports: Vec::new(),
        };
        read_with_goblin(bytes, &mut binary)
            .map_err(|error| fail(format!("goblin cannot parse it: {error}")))?;
        Ok(binary)
    }

    /// The exports named `name`.
    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|export| export.name == name)
    }
}

/// Mach-O prefixes C names with one `_`; every other format uses them as written.
pub fn normalize_name(format: BinaryFormat, raw: &[u8]) -> String {
    let name = match format {
        BinaryFormat::MachO => raw.strip_prefix(b"_").unwrap_or(raw),
        _ => raw,
    };
    String::from_utf8_lossy(name).into_owned()
}

fn exports_of(file: &object::File) -> Result<Vec<Export>, String> {
    let listed = file
        .exports()
        .map_err(|error| format!("cannot read exports: {error}"))?;
    let mut exports: Vec<Export> = listed
        .iter()
        .map(|export| {
            let raw = export.name();
            let (kind, size) = kind_and_size(file, raw, export.address());
            Export {
                name: normalize_name(file.format(), raw),
                kind,
                size,
            }
        })
        .collect();
    exports.sort();
    exports.dedup();
    Ok(exports)
}

/// ELF symbols carry their own kind and size; elsewhere the kind is that of the section
/// the address falls in.
fn kind_and_size(file: &object::File, raw: &[u8], address: u64) -> (SymbolKind, Option<u64>) {
    if file.format() == BinaryFormat::Elf {
        let symbol = file
            .dynamic_symbols()
            .find(|symbol| symbol.is_definition() && symbol.name_bytes().ok() == Some(raw));
        if let Some(symbol) = symbol {
            let kind = match symbol.kind() {
                object::SymbolKind::Text => SymbolKind::Function,
                _ => SymbolKind::Data,
            };
            return (kind, Some(symbol.size()));
        }
    }
    let section_kind = file
        .sections()
        .find(|section| {
            address >= section.address() && address < section.address() + section.size()
        })
        .map(|section| section.kind());
    let kind = match section_kind {
        Some(SectionKind::Text) | None => SymbolKind::Function,
        Some(_) => SymbolKind::Data,
    };
    (kind, None)
}

fn forwarders_of(file: &object::File) -> Result<Vec<String>, String> {
    let table = match file {
        object::File::Pe64(pe) => pe.export_table(),
        object::File::Pe32(pe) => pe.export_table(),
        _ => return Ok(Vec::new()),
    }
    .map_err(|error| format!("cannot read the export table: {error}"))?;
    let Some(table) = table else {
        return Ok(Vec::new());
    };
    let exports = table
        .exports()
        .map_err(|error| format!("cannot read the export table: {error}"))?;
    Ok(exports
        .iter()
        .filter_map(|export| {
            let name = export.name.map_or_else(
                || format!("#{}", export.ordinal),
                |n| String::from_utf8_lossy(n).into_owned(),
            );
            match export.target {
                object::read::pe::ExportTarget::Address(_) => None,
                object::read::pe::ExportTarget::ForwardByName(dll, target) => Some(format!(
                    "{name} -> {}.{}",
                    String::from_utf8_lossy(dll),
                    String::from_utf8_lossy(target)
                )),
                object::read::pe::ExportTarget::ForwardByOrdinal(dll, ordinal) => Some(format!(
                    "{name} -> {}.#{ordinal}",
                    String::from_utf8_lossy(dll)
                )),
            }
        })
        .collect())
}

fn read_with_goblin(bytes: &[u8], binary: &mut Binary) -> Result<(), String> {
    match goblin::Object::parse(bytes).map_err(|e| e.to_string())? {
        goblin::Object::Elf(elf) => {
            binary.goblin_exports = elf
                .dynsyms
                .iter()
                .filter(|sym| {
                    sym.st_shndx != 0
                        && matches!(
                            sym.st_bind(),
                            goblin::elf::sym::STB_GLOBAL | goblin::elf::sym::STB_WEAK
                        )
                        && sym.st_visibility() != goblin::elf::sym::STV_HIDDEN
                        && sym.st_visibility() != goblin::elf::sym::STV_INTERNAL
                })
                .filter_map(|sym| elf.dynstrtab.get_at(sym.st_name))
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect();
            binary.needed = elf.libraries.iter().map(|l| (*l).to_owned()).collect();
            binary.own_name = elf.soname.map(str::to_owned);
            binary.versioned_imports = elf_versioned_imports(&elf);
        }
        goblin::Object::PE(pe) => {
            binary.goblin_exports = pe
                .exports
                .iter()
                .filter(|export| export.reexport.is_none())
                .filter_map(|export| export.name.map(str::to_owned))
                .collect();
            binary.needed = pe.libraries.iter().map(|l| (*l).to_owned()).collect();
            binary.own_name = pe.name.map(str::to_owned);
        }
        goblin::Object::Mach(goblin::mach::Mach::Binary(macho)) => {
            let exports = macho.exports().map_err(|e| e.to_string())?;
            binary.goblin_exports = exports
                .iter()
                .filter(|export| {
                    matches!(
                        export.info,
                        goblin::mach::exports::ExportInfo::Regular { .. }
                    )
                })
                .map(|export| normalize_name(BinaryFormat::MachO, export.name.as_bytes()))
                .collect();
            // goblin lists the library's own LC_ID_DYLIB among its libraries.
            binary.needed = macho
                .libs
                .iter()
                .filter(|lib| **lib != "self" && Some(**lib) != macho.name)
                .map(|lib| (*lib).to_owned())
                .collect();
            binary.own_name = macho.name.map(str::to_owned);
        }
        goblin::Object::Mach(goblin::mach::Mach::Fat(_)) => {
            return Err("universal (fat) Mach-O: verify each architecture's slice".to_owned());
        }
        other => return Err(format!("unexpected object kind {other:?}")),
    }
    Ok(())
}

/// Undefined dynamic symbols whose version requirement comes from `.gnu.version_r`.
fn elf_versioned_imports(elf: &goblin::elf::Elf) -> Vec<VersionedImport> {
    let (Some(versym), Some(verneed)) = (&elf.versym, &elf.verneed) else {
        return Vec::new();
    };
    let mut names = std::collections::HashMap::new();
    for needed in verneed.iter() {
        for version in needed.iter() {
            if let Some(name) = elf.dynstrtab.get_at(version.vna_name) {
                names.insert(version.vna_other, name);
            }
        }
    }
    elf.dynsyms
        .iter()
        .enumerate()
        .filter(|(_, sym)| sym.st_shndx == 0 && sym.st_name != 0)
        .filter_map(|(index, sym)| {
            let version = names.get(&versym.get_at(index)?.version())?;
            Some(VersionedImport {
                name: elf.dynstrtab.get_at(sym.st_name)?.to_owned(),
                version: (*version).to_owned(),
            })
        })
        .collect()
}

/// Every section's file bytes must lie inside the file: a cut-off artifact names the
/// section and the offset where its data would end.
fn check_extent(file: &object::File, len: usize) -> Result<(), String> {
    for section in file.sections() {
        if let Some((offset, size)) = section.file_range() {
            let end = offset.saturating_add(size);
            if end > len as u64 {
                return Err(format!(
                    "truncated: section {} spans file offsets {offset:#x}..{end:#x} but the file ends at {len:#x}",
                    section.name().unwrap_or("?")
                ));
            }
        }
    }
    Ok(())
}

/// For an ELF file whose headers do not fit, where the section header table should be.
fn truncation_hint(bytes: &[u8]) -> String {
    use object::read::elf::FileHeader;
    let len = bytes.len() as u64;
    let header_table_end = match FileKind::parse(bytes) {
        Ok(FileKind::Elf64) => object::elf::FileHeader64::<Endianness>::parse(bytes)
            .ok()
            .and_then(|h| {
                h.endian().ok().map(|e| {
                    (
                        h.e_shoff(e),
                        u64::from(h.e_shnum(e)) * u64::from(h.e_shentsize(e)),
                    )
                })
            }),
        Ok(FileKind::Elf32) => object::elf::FileHeader32::<Endianness>::parse(bytes)
            .ok()
            .and_then(|h| {
                h.endian().ok().map(|e| {
                    (
                        u64::from(h.e_shoff(e)),
                        u64::from(h.e_shnum(e)) * u64::from(h.e_shentsize(e)),
                    )
                })
            }),
        _ => None,
    };
    match header_table_end {
        Some((offset, size)) if offset + size > len => format!(
            " (truncated: the section header table spans file offsets {offset:#x}..{:#x} but the file ends at {len:#x})",
            offset + size
        ),
        _ => format!(" (file is {len} bytes)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mach_o_names_lose_exactly_one_underscore() {
        assert_eq!(
            normalize_name(BinaryFormat::MachO, b"_add_numbers"),
            "add_numbers"
        );
        assert_eq!(
            normalize_name(BinaryFormat::MachO, b"__private"),
            "_private"
        );
        assert_eq!(
            normalize_name(BinaryFormat::Elf, b"_add_numbers"),
            "_add_numbers"
        );
        assert_eq!(
            normalize_name(BinaryFormat::Pe, b"add_numbers"),
            "add_numbers"
        );
    }

    #[test]
    fn empty_text_and_unknown_bytes_are_refused_with_what_they_are() {
        let path = Path::new("p.so");
        assert_eq!(
            Binary::parse(path, b"").unwrap_err(),
            ParseError("p.so: empty file, expected an ELF, PE or Mach-O library".to_owned())
        );
        assert_eq!(
            Binary::parse(path, b"hello world\n").unwrap_err(),
            ParseError(
                "p.so: not a binary: expected an ELF, PE or Mach-O library, found a text file"
                    .to_owned()
            )
        );
        assert_eq!(
            Binary::parse(path, &[0xde, 0xad, 0xbe, 0xef, 0]).unwrap_err(),
            ParseError("p.so: not a binary: expected an ELF, PE or Mach-O library, found unknown bytes de ad be ef".to_owned())
        );
    }
}

//! The checks `verify-symbols` runs on one parsed artifact, each giving one result line.
//! They compare a [`Binary`] with its triple's row of the target table and with the
//! expected exports; they read no files.

use super::binary::{Binary, SymbolKind};
use super::expectations::{self, Expected};
use crate::targets::{GlibcVersion, Target};
use fastforth_host::runtime::is_runtime_name;
use object::BinaryFormat;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;

/// The descriptor symbol every plugin exports.
pub const DESCRIPTOR_SYMBOL: &str = fastforth_abi::DESCRIPTOR_SYMBOL;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One result line.
#[derive(Debug, Serialize)]
pub struct Check {
    pub status: Status,
    pub check: &'static str,
    pub artifact: String,
    pub triple: Option<String>,
    pub plugin: Option<String>,
    pub detail: String,
}

impl Check {
    /// A result about a triple as a whole (e.g. nothing built for it).
    pub fn about_triple(
        status: Status,
        check: &'static str,
        triple: &str,
        detail: String,
    ) -> Check {
        Check {
            status,
            check,
            artifact: format!("target/plugins/{triple}"),
            triple: Some(triple.to_owned()),
            plugin: None,
            detail,
        }
    }
}

/// What an artifact is checked against besides its triple's table entry.
pub struct Wanted<'a> {
    /// Its expected exports (`None`: there is no expectation file).
    pub exports: Option<&'a [Expected]>,
    /// Where the expectation files are (named in messages).
    pub expectations_dir: &'a Path,
    /// The Rust runtime build-all ships for the triple (`None`: a static std).
    pub runtime: Option<&'a str>,
}

/// Everything checked about one artifact, in a fixed order.
pub fn run(
    binary: &Binary,
    target: &Target,
    plugin: &str,
    shown: &str,
    path: &Path,
    wanted: &Wanted,
) -> Vec<Check> {
    let result = |(status, check, detail): (Status, &'static str, String)| Check {
        status,
        check,
        artifact: shown.to_owned(),
        triple: Some(target.triple.to_owned()),
        plugin: Some(plugin.to_owned()),
        detail,
    };
    let mut results = vec![result(format(binary, target)), result(descriptor(binary))];
    match wanted.exports {
        Some(expected) => {
            results.push(result(missing_exports(binary, expected)));
            results.push(result(unexpected_exports(binary, expected)));
            results.push(result(export_kinds(binary, expected)));
        }
        None => results.push(result((
            Status::Fail,
            "expectations",
            format!(
                "no expectation file {}: run `cargo xtask verify-symbols --bless` and commit it",
                expectations::base_path(wanted.expectations_dir, plugin).display()
            ),
        ))),
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    results.extend(
        [
            forwarders(binary),
            parsers_agree(binary),
            glibc_floor(binary, target),
            needed_libraries(binary, target, wanted.runtime),
            own_name(binary, &file_name),
        ]
        .map(result),
    );
    results
}

type Outcome = (Status, &'static str, String);

/// `format` and `architecture` are the target table's or `object`'s, which share names.
fn describe(
    format: impl std::fmt::Debug,
    architecture: impl std::fmt::Debug,
    is_64: bool,
    little: bool,
) -> String {
    format!(
        "{format:?} {architecture:?} {}-bit {}-endian",
        if is_64 { 64 } else { 32 },
        if little { "little" } else { "big" }
    )
}

fn format(binary: &Binary, target: &Target) -> Outcome {
    let expected = describe(
        target.format,
        target.architecture,
        target.is_64,
        target.little_endian,
    );
    let found = describe(
        binary.format,
        binary.architecture,
        binary.is_64,
        binary.little_endian,
    );
    if expected != found {
        (
            Status::Fail,
            "format",
            format!(
                "built for {found}, expected {expected} for {}",
                target.triple
            ),
        )
    } else if !binary.is_shared_library {
        (
            Status::Fail,
            "format",
            format!("{found} but not a shared library"),
        )
    } else {
        (Status::Pass, "format", format!("{found} shared library"))
    }
}

fn descriptor(binary: &Binary) -> Outcome {
    match binary.export(DESCRIPTOR_SYMBOL) {
        Some(export) if export.kind == SymbolKind::Function => (
            Status::Pass,
            "descriptor",
            format!("`{DESCRIPTOR_SYMBOL}` exported as a function"),
        ),
        Some(_) => (
            Status::Fail,
            "descriptor",
            format!("`{DESCRIPTOR_SYMBOL}` is exported as data, expected a function"),
        ),
        None => (
            Status::Fail,
            "descriptor",
            format!("`{DESCRIPTOR_SYMBOL}` is not exported: not a FastForth plugin"),
        ),
    }
}

fn missing_exports(binary: &Binary, expected: &[Expected]) -> Outcome {
    let missing: Vec<String> = expected
        .iter()
        .filter(|e| binary.export(&e.name).is_none())
        .map(|e| format!("`{}`", e.name))
        .collect();
    if missing.is_empty() {
        (
            Status::Pass,
            "expected-exports",
            format!("all {} expected exports present", expected.len()),
        )
    } else {
        (
            Status::Fail,
            "expected-exports",
            format!("missing expected export(s) {}", missing.join(", ")),
        )
    }
}

/// Why a name should not be exported.
pub fn classify_unexpected(name: &str) -> &'static str {
    let legacy_mangled = name.starts_with("_ZN") && name.ends_with('E');
    let v0_mangled =
        name.starts_with("_R") && name[2..].starts_with(|c: char| c.is_ascii_uppercase());
    if legacy_mangled || v0_mangled {
        "a mangled Rust symbol"
    } else {
        "not in the expectation file (a #[no_mangle] item leaking from a dependency?)"
    }
}

fn unexpected_exports(binary: &Binary, expected: &[Expected]) -> Outcome {
    let extra: Vec<String> = binary
        .exports
        .iter()
        .filter(|export| !expected.iter().any(|e| e.name == export.name))
        .map(|export| format!("`{}` ({})", export.name, classify_unexpected(&export.name)))
        .collect();
    if extra.is_empty() {
        (
            Status::Pass,
            "unexpected-exports",
            format!("{} export(s), none unexpected", binary.exports.len()),
        )
    } else {
        (
            Status::Fail,
            "unexpected-exports",
            format!("unexpected export(s) {}", extra.join(", ")),
        )
    }
}

fn kind_name(kind: SymbolKind) -> &'static str {
    match kind {
        SymbolKind::Function => "a function",
        SymbolKind::Data => "data",
    }
}

fn export_kinds(binary: &Binary, expected: &[Expected]) -> Outcome {
    let mut problems = Vec::new();
    for entry in expected {
        let Some(export) = binary.export(&entry.name) else {
            continue;
        };
        if export.kind != entry.kind {
            problems.push(format!(
                "`{}` is {}, expected {}",
                entry.name,
                kind_name(export.kind),
                kind_name(entry.kind)
            ));
        } else if let (Some(want), Some(found)) = (entry.size, export.size)
            && want != found
        {
            problems.push(format!(
                "`{}` is {found:#x} bytes, expected {want:#x}",
                entry.name
            ));
        }
    }
    if problems.is_empty() {
        (
            Status::Pass,
            "export-kinds",
            "every expected export has its expected kind".to_owned(),
        )
    } else {
        (Status::Fail, "export-kinds", problems.join("; "))
    }
}

fn forwarders(binary: &Binary) -> Outcome {
    if binary.format != BinaryFormat::Pe {
        return (
            Status::Skip,
            "forwarders",
            format!("{:?} has no export forwarders", binary.format),
        );
    }
    if binary.forwarders.is_empty() {
        (
            Status::Pass,
            "forwarders",
            "no export is forwarded to another DLL".to_owned(),
        )
    } else {
        (
            Status::Fail,
            "forwarders",
            format!("forwarded export(s) {}", binary.forwarders.join(", ")),
        )
    }
}

fn parsers_agree(binary: &Binary) -> Outcome {
    let by_object: BTreeSet<&str> = binary.exports.iter().map(|e| e.name.as_str()).collect();
    let by_goblin: BTreeSet<&str> = binary.goblin_exports.iter().map(String::as_str).collect();
    let only_object: Vec<&str> = by_object.difference(&by_goblin).copied().collect();
    let only_goblin: Vec<&str> = by_goblin.difference(&by_object).copied().collect();
    let needed: BTreeSet<String> = binary.needed.iter().map(|l| l.to_lowercase()).collect();
    let unlisted: Vec<&String> = binary
        .object_libraries
        .iter()
        .filter(|library| !needed.contains(&library.to_lowercase()))
        .collect();
    if only_object.is_empty() && only_goblin.is_empty() && unlisted.is_empty() {
        return (
            Status::Pass,
            "parsers-agree",
            format!(
                "object and goblin agree on {} export(s) and the imported libraries",
                by_object.len()
            ),
        );
    }
    let mut problems = Vec::new();
    if !only_object.is_empty() {
        problems.push(format!(
            "exports only object sees: {}",
            only_object.join(", ")
        ));
    }
    if !only_goblin.is_empty() {
        problems.push(format!(
            "exports only goblin sees: {}",
            only_goblin.join(", ")
        ));
    }
    if !unlisted.is_empty() {
        let names: Vec<&str> = unlisted.iter().map(|s| s.as_str()).collect();
        problems.push(format!(
            "libraries object imports from that goblin does not list: {}",
            names.join(", ")
        ));
    }
    (Status::Fail, "parsers-agree", problems.join("; "))
}

fn glibc_floor(binary: &Binary, target: &Target) -> Outcome {
    let Some(floor) = target.glibc_floor else {
        return (
            Status::Skip,
            "glibc-floor",
            format!("{} does not use glibc", target.triple),
        );
    };
    let mut versions: Vec<(GlibcVersion, &str)> = binary
        .versioned_imports
        .iter()
        .filter_map(|import| Some((GlibcVersion::parse(&import.version)?, import.name.as_str())))
        .collect();
    versions.sort();
    let above: Vec<String> = versions
        .iter()
        .filter(|(version, _)| *version > floor)
        .map(|(version, name)| format!("`{name}` needs {version}"))
        .collect();
    if !above.is_empty() {
        return (
            Status::Fail,
            "glibc-floor",
            format!(
                "{}, above the floor {floor} ({})",
                above.join(", "),
                target.glibc_floor_reason
            ),
        );
    }
    let newest = versions.last().map_or_else(
        || "no versioned glibc symbol".to_owned(),
        |(v, name)| format!("newest {v} (`{name}`)"),
    );
    (
        Status::Pass,
        "glibc-floor",
        format!("{newest}, floor {floor}"),
    )
}

/// Every needed library is in the triple's allowlist or is the Rust runtime `runtime` that
/// build-all ships for the triple; a plugin needing any other Rust runtime fails, naming both.
fn needed_libraries(binary: &Binary, target: &Target, runtime: Option<&str>) -> Outcome {
    // Mach-O names it `@rpath/libstd-<hash>.dylib`.
    let file_name = |library: &str| library.rsplit('/').next().unwrap_or_default().to_owned();
    let foreign = binary
        .needed
        .iter()
        .map(|library| file_name(library))
        .find(|library| is_runtime_name(library) && Some(library.as_str()) != runtime);
    if let Some(foreign) = foreign {
        let shipped = runtime.map_or("no Rust runtime".to_owned(), |name| format!("`{name}`"));
        return (
            Status::Fail,
            "needed-libraries",
            format!(
                "needs the Rust runtime `{foreign}`, but build-all ships {shipped} for {}",
                target.triple
            ),
        );
    }
    let allowed = |library: &str| {
        Some(file_name(library).as_str()) == runtime
            || target
                .allowed_libraries
                .iter()
                .any(|a| a.eq_ignore_ascii_case(library) || is_dynamic_loader(library))
    };
    let outside: Vec<&str> = binary
        .needed
        .iter()
        .map(String::as_str)
        .filter(|library| !allowed(library))
        .collect();
    if outside.is_empty() {
        (
            Status::Pass,
            "needed-libraries",
            format!(
                "{} ({} imported symbols)",
                binary.needed.join(", "),
                binary.import_count
            ),
        )
    } else {
        (
            Status::Fail,
            "needed-libraries",
            format!(
                "needs {} outside the allowlist of {} ({})",
                outside.join(", "),
                target.triple,
                target.allowed_libraries.join(", ")
            ),
        )
    }
}

/// The ELF program interpreter under one of its per-architecture names.
fn is_dynamic_loader(library: &str) -> bool {
    library.starts_with("ld-linux") && library.contains(".so.")
}

fn own_name(binary: &Binary, file_name: &str) -> Outcome {
    let found = binary.own_name.as_deref();
    match binary.format {
        BinaryFormat::Elf => match found {
            None => (
                Status::Pass,
                "own-name",
                "no SONAME: loaded by path".to_owned(),
            ),
            Some(soname) => (
                Status::Fail,
                "own-name",
                format!("SONAME `{soname}`, expected none (plugins are loaded by path)"),
            ),
        },
        BinaryFormat::MachO => {
            let expected = format!("@rpath/{file_name}");
            if found == Some(expected.as_str()) {
                (
                    Status::Pass,
                    "own-name",
                    format!("install name `{expected}`"),
                )
            } else {
                (
                    Status::Fail,
                    "own-name",
                    format!("install name {found:?}, expected `{expected}`"),
                )
            }
        }
        _ => {
            if found.is_some_and(|name| name.eq_ignore_ascii_case(file_name)) {
                (Status::Pass, "own-name", format!("DLL name `{file_name}`"))
            } else {
                (
                    Status::Fail,
                    "own-name",
                    format!("DLL name {found:?}, expected `{file_name}`"),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mangled_rust_names_are_told_apart_from_leaked_c_names() {
        assert_eq!(
            classify_unexpected("_ZN4core3fmt5write17h0123456789abcdefE"),
            "a mangled Rust symbol"
        );
        assert_eq!(
            classify_unexpected("_RNvCs1234_5crate3foo"),
            "a mangled Rust symbol"
        );
        assert!(classify_unexpected("leaked_helper").starts_with("not in the expectation file"));
        assert!(classify_unexpected("_R").starts_with("not in the expectation file"));
    }

    #[test]
    fn elf_loaders_are_always_allowed() {
        assert!(is_dynamic_loader("ld-linux-x86-64.so.2"));
        assert!(is_dynamic_loader("ld-linux-aarch64.so.1"));
        assert!(!is_dynamic_loader("libssl.so.3"));
    }
}

//! The committed expectation files: what each plugin must export, one symbol per line in a
//! glibc-abilist-like form, and per-triple overlays where a platform really differs.
//! It knows the file format, not binaries.
//!
//! `xtask/expectations/<plugin>.symbols`, sorted by name:
//!
//! ```text
//! # comment
//! add_numbers F          a function
//! SOME_DATA D 0x8        a data object of 8 bytes (the size is checked where the format
//!                        records one: ELF)
//! ```
//!
//! `xtask/expectations/<plugin>.<triple>.symbols` changes the list for one triple:
//! `+ name F` adds (or redefines) an export, `- name` removes one.

use super::binary::{Export, SymbolKind};
use std::path::{Path, PathBuf};

/// One expected export.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expected {
    pub name: String,
    pub kind: SymbolKind,
    pub size: Option<u64>,
}

impl Expected {
    fn line(&self) -> String {
        match (self.kind, self.size) {
            (SymbolKind::Function, _) => format!("{} F", self.name),
            (SymbolKind::Data, Some(size)) => format!("{} D {size:#x}", self.name),
            (SymbolKind::Data, None) => format!("{} D", self.name),
        }
    }
}

impl From<&Export> for Expected {
    fn from(export: &Export) -> Expected {
        Expected {
            name: export.name.clone(),
            kind: export.kind,
            size: match export.kind {
                SymbolKind::Data => export.size,
                SymbolKind::Function => None,
            },
        }
    }
}

/// The base file of `plugin`.
pub fn base_path(dir: &Path, plugin: &str) -> PathBuf {
    dir.join(format!("{plugin}.symbols"))
}

/// The overlay of `plugin` for `triple`.
pub fn overlay_path(dir: &Path, plugin: &str, triple: &str) -> PathBuf {
    dir.join(format!("{plugin}.{triple}.symbols"))
}

/// The expected exports of `plugin` on `triple`, sorted; `None` if it has no base file.
pub fn load(dir: &Path, plugin: &str, triple: &str) -> Result<Option<Vec<Expected>>, String> {
    let base = base_path(dir, plugin);
    let Some(text) = read_if_present(&base)? else {
        return Ok(None);
    };
    let mut expected = parse_base(&base, &text)?;
    let overlay = overlay_path(dir, plugin, triple);
    if let Some(text) = read_if_present(&overlay)? {
        apply_overlay(&overlay, &text, &mut expected)?;
    }
    expected.sort();
    Ok(Some(expected))
}

fn read_if_present(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    }
}

/// Lines that are not blank or comments, with their 1-based numbers.
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

pub fn parse_base(path: &Path, text: &str) -> Result<Vec<Expected>, String> {
    let mut expected = Vec::new();
    for (number, line) in content_lines(text) {
        let entry = parse_entry(line)
            .map_err(|problem| format!("{}:{number}: {problem}", path.display()))?;
        if expected.iter().any(|e: &Expected| e.name == entry.name) {
            return Err(format!(
                "{}:{number}: `{}` is listed twice",
                path.display(),
                entry.name
            ));
        }
        expected.push(entry);
    }
    Ok(expected)
}

fn apply_overlay(path: &Path, text: &str, expected: &mut Vec<Expected>) -> Result<(), String> {
    for (number, line) in content_lines(text) {
        let at = |problem: String| format!("{}:{number}: {problem}", path.display());
        if let Some(entry) = line.strip_prefix('+') {
            let entry = parse_entry(entry.trim()).map_err(at)?;
            expected.retain(|e| e.name != entry.name);
            expected.push(entry);
        } else if let Some(name) = line.strip_prefix('-') {
            let name = name.trim();
            let before = expected.len();
            expected.retain(|e| e.name != name);
            if expected.len() == before {
                return Err(at(format!(
                    "removes `{name}`, which the base file does not list"
                )));
            }
        } else {
            return Err(at(format!(
                "expected `+ name F|D [0xSIZE]` or `- name`, found `{line}`"
            )));
        }
    }
    Ok(())
}

/// `name F`, `name D` or `name D 0xSIZE`.
fn parse_entry(line: &str) -> Result<Expected, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let bad = || format!("expected `name F`, `name D` or `name D 0xSIZE`, found `{line}`");
    match fields.as_slice() {
        [name, "F"] => Ok(Expected {
            name: (*name).to_owned(),
            kind: SymbolKind::Function,
            size: None,
        }),
        [name, "D"] => Ok(Expected {
            name: (*name).to_owned(),
            kind: SymbolKind::Data,
            size: None,
        }),
        [name, "D", size] => {
            let digits = size.strip_prefix("0x").ok_or_else(bad)?;
            let size = u64::from_str_radix(digits, 16).map_err(|_| bad())?;
            Ok(Expected {
                name: (*name).to_owned(),
                kind: SymbolKind::Data,
                size: Some(size),
            })
        }
        _ => Err(bad()),
    }
}

/// The text of a base file listing `exports`.
pub fn format_base(plugin: &str, exports: &[Expected]) -> String {
    let mut lines = vec![
        format!(
            "# Exports of the `{plugin}` plugin: `name F` (function) or `name D 0xSIZE` (data)."
        ),
        "# Checked by `cargo xtask verify-symbols`; `--bless` rewrites this file.".to_owned(),
    ];
    let mut sorted = exports.to_vec();
    sorted.sort();
    lines.extend(sorted.iter().map(Expected::line));
    lines.join("\n") + "\n"
}

/// The overlay turning `base` into `actual`, or `None` when they are equal.
pub fn format_overlay(triple: &str, base: &[Expected], actual: &[Expected]) -> Option<String> {
    let mut lines = Vec::new();
    for entry in base {
        if !actual.iter().any(|a| a.name == entry.name) {
            lines.push(format!("- {}", entry.name));
        }
    }
    for entry in actual {
        if !base.contains(entry) {
            lines.push(format!("+ {}", entry.line()));
        }
    }
    if lines.is_empty() {
        return None;
    }
    let header = format!(
        "# How {triple} differs from the base file (`+ name K` adds or redefines, `- name` removes).\n"
    );
    Some(header + &lines.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(name: &str) -> Expected {
        Expected {
            name: name.to_owned(),
            kind: SymbolKind::Function,
            size: None,
        }
    }

    #[test]
    fn base_files_read_functions_and_sized_data() {
        let text = "# comment\n\nadd_numbers F\nTABLE D 0x10\nANY D\n";
        let parsed = parse_base(Path::new("x.symbols"), text).unwrap();
        assert_eq!(parsed[0], function("add_numbers"));
        assert_eq!(
            parsed[1],
            Expected {
                name: "TABLE".to_owned(),
                kind: SymbolKind::Data,
                size: Some(16)
            }
        );
        assert_eq!(parsed[2].size, None);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let error = parse_base(Path::new("x.symbols"), "a F\nb X\n").unwrap_err();
        assert_eq!(
            error,
            "x.symbols:2: expected `name F`, `name D` or `name D 0xSIZE`, found `b X`"
        );
        let twice = parse_base(Path::new("x.symbols"), "a F\na F\n").unwrap_err();
        assert_eq!(twice, "x.symbols:2: `a` is listed twice");
    }

    #[test]
    fn overlays_add_redefine_and_remove() {
        let mut expected = vec![function("a"), function("b")];
        apply_overlay(Path::new("o"), "+ c F\n- a\n+ b D 0x4\n", &mut expected).unwrap();
        expected.sort();
        assert_eq!(expected[0].name, "b");
        assert_eq!(expected[0].kind, SymbolKind::Data);
        assert_eq!(expected[1], function("c"));
        let error = apply_overlay(Path::new("o"), "- zz\n", &mut expected).unwrap_err();
        assert_eq!(
            error,
            "o:1: removes `zz`, which the base file does not list"
        );
    }

    #[test]
    fn a_blessed_overlay_reproduces_the_triple_s_list() {
        let base = vec![function("a"), function("b")];
        let actual = vec![
            function("b"),
            Expected {
                name: "c".to_owned(),
                kind: SymbolKind::Data,
                size: Some(8),
            },
        ];
        let overlay = format_overlay("t", &base, &actual).unwrap();
        assert!(overlay.ends_with("- a\n+ c D 0x8\n"), "{overlay}");
        let mut rebuilt = base.clone();
        apply_overlay(Path::new("o"), &overlay, &mut rebuilt).unwrap();
        rebuilt.sort();
        assert_eq!(rebuilt, actual);
        assert_eq!(format_overlay("t", &base, &base), None);
    }

    #[test]
    fn base_files_round_trip() {
        let exports = vec![function("z"), function("a")];
        let text = format_base("p", &exports);
        let mut parsed = parse_base(Path::new("p"), &text).unwrap();
        parsed.sort();
        assert_eq!(parsed, [function("a"), function("z")]);
    }
}

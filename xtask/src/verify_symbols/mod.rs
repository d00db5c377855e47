//! `cargo xtask verify-symbols`: checks every artifact `build-all` indexed (or the files
//! named) against its triple and the committed expectation files: format and architecture,
//! the descriptor and every expected export present, nothing unexpected exported (mangled
//! Rust names, `#[no_mangle]` leaking from a dependency, forwarders), kinds, glibc symbol
//! versions under the triple's floor, needed libraries in the allowlist (plus the one Rust
//! runtime `build-all` ships for the triple, no other), SONAME / install name / DLL name,
//! and that `object` and `goblin` agree. It builds nothing.
//!
//! Text output is one line per check, `PASS|FAIL|SKIP <check> <artifact> <detail>`, then a
//! summary. `--format json` prints one document instead:
//!
//! ```json
//! {
//!   "schema": 1,
//!   "results": [
//!     { "status": "PASS", "check": "format", "artifact": "target/plugins/…/libx.so",
//!       "triple": "x86_64-unknown-linux-gnu", "plugin": "example", "detail": "…" }
//!   ],
//!   "errors": ["path: truncated: …"],
//!   "summary": { "artifacts": 8, "passed": 80, "failed": 0, "skipped": 4, "errors": 0 },
//!   "exit_code": 0
//! }
//! ```
//!
//! `status` is `PASS`, `FAIL` or `SKIP`; `triple` and `plugin` are `null` for a result
//! about no single artifact. Exit status: 0 all good, 1 a check failed, 2 usage, I/O or
//! parse error (which wins over 1).

mod binary;
mod checks;
mod expectations;

use crate::flags::{self, OutputFormat};
use crate::index;
use crate::plugins::{self, Plugin};
use crate::targets::{self, TARGETS, Target};
use binary::Binary;
use checks::{Check, Status};
use expectations::Expected;
use serde::Serialize;
use std::path::{Path, PathBuf};
use xshell::Shell;

/// One file to check, and what it should be.
struct Artifact {
    path: PathBuf,
    target: &'static Target,
    plugin: String,
}

/// An artifact that parsed, with its exports in expectation form.
struct Parsed {
    artifact: Artifact,
    binary: Binary,
}

#[derive(Serialize)]
struct Report {
    schema: u32,
    results: Vec<Check>,
    errors: Vec<String>,
    summary: Summary,
    exit_code: i32,
}

#[derive(Serialize)]
struct Summary {
    artifacts: usize,
    passed: usize,
    failed: usize,
    skipped: usize,
    errors: usize,
}

impl flags::VerifySymbols {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let report = self.check(sh);
        match self.format {
            OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            OutputFormat::Text => print_text(&report),
        }
        if report.exit_code != 0 {
            std::process::exit(report.exit_code);
        }
        Ok(())
    }

    fn check(&self, sh: &Shell) -> Report {
        let root = crate::project_root();
        let mut results = Vec::new();
        let mut errors = Vec::new();
        let artifacts = match self.artifacts(sh, &root, &mut results) {
            Ok(artifacts) => artifacts,
            Err(error) => {
                errors.push(error);
                Vec::new()
            }
        };
        let count = artifacts.len();
        let mut parsed = Vec::new();
        for artifact in artifacts {
            match read_and_parse(&artifact.path) {
                Ok(binary) => parsed.push(Parsed { artifact, binary }),
                Err(error) => errors.push(error),
            }
        }
        let dir = self
            .expectations
            .clone()
            .unwrap_or_else(|| root.join("xtask/expectations"));
        if self.bless
            && let Err(error) = bless(&dir, &parsed)
        {
            errors.push(error);
        }
        let sysroot = crate::toolchain::rustc_sysroot(sh);
        for item in &parsed {
            let runtime = sysroot.as_ref().ok().and_then(|sysroot| {
                crate::build_all::shipped_runtime(item.artifact.target, sysroot)
            });
            let shown = shown_path(&item.artifact.path, &root);
            let expected =
                expectations::load(&dir, &item.artifact.plugin, item.artifact.target.triple);
            match expected {
                Ok(expected) => results.extend(checks::run(
                    &item.binary,
                    item.artifact.target,
                    &item.artifact.plugin,
                    &shown,
                    &item.artifact.path,
                    &checks::Wanted {
                        exports: expected.as_deref(),
                        expectations_dir: &dir,
                        runtime: runtime.as_deref(),
                    },
                )),
                Err(error) => errors.push(error),
            }
        }
        let failed = results.iter().filter(|r| r.status == Status::Fail).count();
        let exit_code = if !errors.is_empty() {
            2
        } else if failed > 0 {
            1
        } else {
            0
        };
        Report {
            schema: 1,
            summary: Summary {
                artifacts: count,
                passed: results.iter().filter(|r| r.status == Status::Pass).count(),
                failed,
                skipped: results.iter().filter(|r| r.status == Status::Skip).count(),
                errors: errors.len(),
            },
            results,
            errors,
            exit_code,
        }
    }

    /// The files named on the command line, or every artifact of build-all's index for the
    /// selected triples (a triple with none gives a SKIP result).
    fn artifacts(
        &self,
        sh: &Shell,
        root: &Path,
        results: &mut Vec<Check>,
    ) -> Result<Vec<Artifact>, String> {
        let host = crate::toolchain::host_triple(sh).map_err(|e| format!("{e:#}"))?;
        let selected = if self.targets.is_empty() {
            targets::default_set(&host)
        } else {
            targets::resolve(&self.targets, &host).map_err(|e| format!("{e:#}"))?
        };
        if !self.files.is_empty() {
            let known = plugins::discover(sh, root).map_err(|e| format!("{e:#}"))?;
            return self
                .files
                .iter()
                .map(|path| named_artifact(path, &selected, !self.targets.is_empty(), &known))
                .collect();
        }
        let plugins_dir = index::plugins_dir(root);
        let mut artifacts = Vec::new();
        for target in selected {
            let index_path = plugins_dir.join(target.triple).join(index::FILE_NAME);
            let index = index::read(&index_path).map_err(|e| format!("{e:#}"))?;
            if index.artifacts.is_empty() {
                results.push(Check::about_triple(
                    Status::Skip,
                    "built",
                    target.triple,
                    format!(
                        "nothing built: run `cargo xtask build-all --target {}`",
                        target.triple
                    ),
                ));
            }
            artifacts.extend(index.artifacts.into_iter().map(|entry| Artifact {
                path: plugins_dir.join(&entry.file),
                target,
                plugin: entry.plugin,
            }));
        }
        Ok(artifacts)
    }
}

/// A file given on the command line: its triple from `--target` (exactly one) or its
/// folder's name, its plugin from its file name.
fn named_artifact(
    path: &Path,
    selected: &[&'static Target],
    target_given: bool,
    known: &[Plugin],
) -> Result<Artifact, String> {
    let folder = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .and_then(targets::find);
    let target = match (target_given, selected) {
        (true, [only]) => *only,
        (true, _) => {
            return Err(format!(
                "{}: pass exactly one --target with files, or none and put each file in a folder named after its triple",
                path.display()
            ));
        }
        (false, _) => folder.ok_or_else(|| {
            format!(
                "{}: cannot tell its triple: pass --target TRIPLE or put it in a folder named after its triple",
                path.display()
            )
        })?,
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let plugin = known
        .iter()
        .find(|plugin| plugin.file_name(target.triple) == file_name)
        .ok_or_else(|| {
            let names: Vec<String> = known.iter().map(|p| p.file_name(target.triple)).collect();
            format!(
                "{}: cannot tell which plugin it is: expected one of {} for {}",
                path.display(),
                names.join(", "),
                target.triple
            )
        })?;
    Ok(Artifact {
        path: path.to_path_buf(),
        target,
        plugin: plugin.name.clone(),
    })
}

fn read_and_parse(path: &Path) -> Result<Binary, String> {
    let bytes =
        std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    Binary::parse(path, &bytes).map_err(|error| error.0)
}

/// `path` relative to the workspace root when it is inside it.
fn shown_path(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Rewrites each plugin's base file from the first triple checked (in the table's order)
/// and an overlay for every other checked triple that differs from it. A base file is
/// kept when the run does not include the first triple and the base exists.
fn bless(dir: &Path, parsed: &[Parsed]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut plugins: Vec<&str> = parsed.iter().map(|p| p.artifact.plugin.as_str()).collect();
    plugins.sort();
    plugins.dedup();
    for plugin in plugins {
        let mut per_triple: Vec<(&Target, Vec<Expected>)> = parsed
            .iter()
            .filter(|p| p.artifact.plugin == plugin)
            .map(|p| {
                let exports = p.binary.exports.iter().map(Expected::from).collect();
                (p.artifact.target, exports)
            })
            .collect();
        per_triple
            .sort_by_key(|(target, _)| TARGETS.iter().position(|t| t.triple == target.triple));
        let base_path = expectations::base_path(dir, plugin);
        let includes_first = per_triple
            .first()
            .is_some_and(|(target, _)| target.triple == TARGETS[0].triple);
        let base = match expectations::load(dir, plugin, TARGETS[0].triple)? {
            Some(existing) if !includes_first => existing,
            _ => {
                let base = per_triple[0].1.clone();
                write(&base_path, &expectations::format_base(plugin, &base))?;
                base
            }
        };
        for (target, actual) in &per_triple {
            let overlay = expectations::overlay_path(dir, plugin, target.triple);
            match expectations::format_overlay(target.triple, &base, actual) {
                Some(text) => write(&overlay, &text)?,
                None if overlay.exists() => std::fs::remove_file(&overlay)
                    .map_err(|e| format!("cannot remove {}: {e}", overlay.display()))?,
                None => {}
            }
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn print_text(report: &Report) {
    for result in &report.results {
        println!(
            "{} {} {} {}",
            result.status.as_str(),
            result.check,
            result.artifact,
            result.detail
        );
    }
    for error in &report.errors {
        eprintln!("error: {error}");
    }
    let summary = &report.summary;
    println!(
        "verify-symbols: {} artifact(s), {} passed, {} failed, {} skipped, {} error(s)",
        summary.artifacts, summary.passed, summary.failed, summary.skipped, summary.errors
    );
    if summary.failed > 0 {
        println!(
            "if the change is intended, run `cargo xtask verify-symbols --bless` and commit the expectation files"
        );
    }
}

//! `build-all --load-check`: runs the per-triple loader (`xtask/load-check`, built by
//! build-all next to the plugins) on a triple's artifacts, natively, under qemu-user or
//! under Wine, and reads its PASS/SKIP/FAIL lines. It knows how to run a program for a
//! triple here; it builds nothing (that is `build_all.rs`).

use crate::process;
use crate::progress::Progress;
use crate::setup;
use crate::targets::{self, Runner, Target};
use crate::toolchain::find_program;
use std::path::{Path, PathBuf};
use std::time::Duration;
use xshell::{Shell, cmd};

/// The package of the per-triple loader.
pub const PACKAGE: &str = "fastforth-load-check";
/// How long one triple's load check may take (qemu and a first Wine start are slow).
const TIMEOUT: Duration = Duration::from_secs(300);

/// What the load check of one triple came to.
pub enum LoadStatus {
    NotRequested,
    NotRun(&'static str),
    Ran {
        passed: usize,
        skipped: usize,
        failed: usize,
    },
    Failed,
}

impl LoadStatus {
    /// The table entry for this status.
    pub fn summary(&self) -> String {
        match self {
            LoadStatus::NotRequested => "-".to_owned(),
            LoadStatus::NotRun(why) => (*why).to_owned(),
            LoadStatus::Failed => "FAILED".to_owned(),
            LoadStatus::Ran {
                passed,
                skipped,
                failed,
            } => ran_summary(*passed, *skipped, *failed),
        }
    }

    pub fn failed(&self) -> bool {
        matches!(
            self,
            LoadStatus::Failed | LoadStatus::Ran { failed: 1.., .. }
        )
    }
}

/// Why a triple's load check does not run: the short table entry and the line to print.
pub struct NotRun {
    pub why: &'static str,
    pub line: Option<String>,
}

/// The loader's executable for `triple` in cargo's `profile_dir` under `build_dir`.
pub fn loader_path(build_dir: &Path, triple: &str, profile_dir: &str) -> PathBuf {
    let exe = if triple.contains("windows") {
        ".exe"
    } else {
        ""
    };
    build_dir
        .join(triple)
        .join(profile_dir)
        .join(format!("{PACKAGE}{exe}"))
}

/// How to run the loader for `target` on a machine whose triple is `host`, or why not.
pub fn runner(sh: &Shell, target: &Target, host: &str, root: &Path) -> Result<Runner, NotRun> {
    let runner = targets::runner_on(target, host).map_err(|why| NotRun {
        why: "not here",
        line: Some(why),
    })?;
    let missing = |what: String| NotRun {
        why: "skipped",
        line: Some(what),
    };
    match runner {
        Runner::Native if target.triple != host && !Path::new("/lib/ld-linux.so.2").exists() => {
            Err(missing(
                "32-bit glibc is not installed: run `apt-get install libc6-i386 lib32gcc-s1` (or `cargo xtask setup`)"
                    .to_owned(),
            ))
        }
        Runner::Native => Ok(Runner::Native),
        Runner::Qemu { program, sysroot } => {
            if find_program(program).is_none() {
                Err(missing(format!(
                    "`{program}` is not installed: run `apt-get install qemu-user` (or `cargo xtask setup`)"
                )))
            } else if !Path::new(sysroot).is_dir() {
                Err(missing(format!(
                    "{sysroot} is missing: install the cross C library (`cargo xtask setup`)"
                )))
            } else {
                Ok(Runner::Qemu { program, sysroot })
            }
        }
        Runner::Wine => match setup::ensure_wine_prefix(sh, root) {
            Ok(()) => Ok(Runner::Wine),
            Err(error) => Err(missing(format!("{error:#}"))),
        },
        Runner::Never { why } => Err(NotRun {
            why: "not here",
            line: Some((*why).to_owned()),
        }),
    }
}

/// One triple's load check: its artifacts, the loader built for it and how to run it.
pub struct LoadCheck<'a> {
    pub triple: &'a str,
    pub runner: Runner,
    pub loader: PathBuf,
    pub files: &'a [PathBuf],
}

impl LoadCheck<'_> {
    /// Runs the loader on every artifact and prints its verdict lines.
    pub fn run(&self, sh: &Shell, root: &Path, progress: &Progress) -> LoadStatus {
        let triple = self.triple;
        let output = match self.output(sh, root) {
            Ok(output) => output,
            Err(error) => {
                progress.line(&format!("load check {triple}: FAILED: {error:#}"));
                return LoadStatus::Failed;
            }
        };
        let (mut passed, mut skipped, mut failed) = (0, 0, 0);
        for line in output.lines() {
            match line.split(' ').next() {
                Some("PASS") => passed += 1,
                Some("SKIP") => skipped += 1,
                Some("FAIL") => failed += 1,
                _ => continue,
            }
            progress.line(&format!("load check {triple}: {line}"));
        }
        if passed + skipped + failed != self.files.len() {
            progress.line(&format!(
                "load check {triple}: FAILED: the loader reported on {} of {} files:\n{output}",
                passed + skipped + failed,
                self.files.len()
            ));
            return LoadStatus::Failed;
        }
        LoadStatus::Ran {
            passed,
            skipped,
            failed,
        }
    }

    /// The loader's standard output; exit 0 (all pass) and 1 (a verdict failed) are its
    /// answers, anything else (a crash, a refused start) is an error.
    fn output(&self, sh: &Shell, root: &Path) -> anyhow::Result<String> {
        let loader = &self.loader;
        let files: Vec<String> = self
            .files
            .iter()
            .map(|file| match self.runner {
                Runner::Wine => wine_path(file),
                _ => file.display().to_string(),
            })
            .collect();
        let command = match self.runner {
            Runner::Qemu { program, sysroot } => {
                let library_path = format!("LD_LIBRARY_PATH={sysroot}/lib");
                cmd!(
                    sh,
                    "{program} -L {sysroot} -E {library_path} {loader} {files...}"
                )
            }
            Runner::Wine => cmd!(sh, "wine {loader} {files...}")
                .env("WINEPREFIX", setup::wine_prefix(root))
                .env("WINEDEBUG", "-all"),
            Runner::Native | Runner::Never { .. } => cmd!(sh, "{loader} {files...}"),
        };
        let output = process::output_within(command, TIMEOUT)?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        match output.status.code() {
            Some(0 | 1) => Ok(stdout),
            _ => anyhow::bail!(
                "the loader exited with {}:\n{stdout}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }
}

/// A Unix path as Wine's `Z:` drive shows it.
fn wine_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

fn ran_summary(passed: usize, skipped: usize, failed: usize) -> String {
    let mut parts = vec![format!("{passed} passed")];
    if skipped > 0 {
        parts.push(format!("{skipped} skipped"));
    }
    if failed > 0 {
        parts.push(format!("{failed} FAILED"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wine_sees_unix_paths_on_drive_z() {
        assert_eq!(
            wine_path(Path::new("/work/target/plugins/a.dll")),
            "Z:\\work\\target\\plugins\\a.dll"
        );
    }

    #[test]
    fn load_summaries_mention_only_what_happened() {
        assert_eq!(ran_summary(2, 0, 0), "2 passed");
        assert_eq!(ran_summary(1, 1, 0), "1 passed, 1 skipped");
        assert_eq!(ran_summary(0, 0, 2), "0 passed, 2 FAILED");
    }
}

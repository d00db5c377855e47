//! `cargo xtask setup`: installs what cross-building and load-checking need (rustup
//! targets, the Debian cross tools, qemu-user and Wine, the Wine `bcryptprimitives.dll`
//! stand-in), what `bench` compares against (gforth), and checks the committed Mach-O
//! `.tbd` stubs. It prints one line per item and exits non-zero unless everything is in
//! place; `--allow-refused-downloads` tolerates downloads that were refused (CI on a
//! machine without network beyond the registries), `--check` only reports. It knows the
//! target table, not plugins.

use crate::flags;
use crate::targets::{Linker, Runner, TARGETS};
use crate::toolchain::{find_ld64_lld, find_program};
use anyhow::Context;
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

/// Debian packages needed beyond each triple's linker.
pub const EXTRA_PACKAGES: &[(&str, &str)] = &[
    (
        "qemu-user",
        "runs the aarch64, armv7 and riscv64 load checks",
    ),
    ("wine64", "runs the Windows load check"),
    ("lld", "links Mach-O (ld64.lld)"),
    ("libc6-i386", "runs the i686 load check"),
    ("lib32gcc-s1", "runs the i686 load check"),
    ("gforth", "the reference Forth of `cargo xtask bench`"),
];

/// The programs the Wine stub needs, with the packages they come from.
const WINE_PROGRAMS: [(&str, &str); 2] = [
    ("wine", "wine64"),
    ("x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64"),
];

/// One thing setup looked at, and where it stands.
#[derive(Debug, PartialEq)]
enum Step {
    Ready(String),
    Installed(String),
    /// Not there, and `--check` installs nothing.
    Missing(String),
    /// Its download (a rustup target, a Debian package, or one it needs) was refused.
    Refused(String),
    /// Could not be put in place for another reason.
    Failed(String),
}

impl Step {
    fn line(&self) -> String {
        let (label, what) = match self {
            Step::Ready(what) => ("ok", what),
            Step::Installed(what) => ("installed", what),
            Step::Missing(what) => ("missing", what),
            Step::Refused(what) => ("refused", what),
            Step::Failed(what) => ("failed", what),
        };
        format!("{label:<9} {what}")
    }
}

impl flags::Setup {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = crate::project_root();
        let mut steps = self.rustup_targets(sh);
        steps.extend(self.debian_packages(sh));
        steps.push(self.wine(sh, &root));
        steps.push(self.mach_o_stubs(&root));
        for step in &steps {
            println!("{}", step.line());
        }
        let verdict = verdict(&steps, self.allow_refused_downloads);
        println!("\n{}", verdict.as_deref().unwrap_or(SKIPPED));
        verdict.map(drop)
    }

    fn rustup_targets(&self, sh: &Shell) -> Vec<Step> {
        let installed = cmd!(sh, "rustup target list --installed")
            .quiet()
            .ignore_stderr()
            .read()
            .unwrap_or_default();
        TARGETS
            .iter()
            .filter(|target| !target.native_only)
            .map(|target| {
                let triple = target.triple;
                let what = format!("rustup target {triple}");
                if installed.lines().any(|line| line.trim() == triple) {
                    Step::Ready(what)
                } else if self.check {
                    Step::Missing(format!("{what}: run `rustup target add {triple}`"))
                } else if cmd!(sh, "rustup target add {triple}")
                    .quiet()
                    .ignore_stderr()
                    .ignore_stdout()
                    .run()
                    .is_ok()
                {
                    Step::Installed(what)
                } else {
                    Step::Refused(format!(
                        "{what}: `rustup target add {triple}` was refused; build-all skips that triple"
                    ))
                }
            })
            .collect()
    }

    fn debian_packages(&self, sh: &Shell) -> Vec<Step> {
        let packages = debian_packages();
        if find_program("dpkg").is_none() {
            return packages
                .into_iter()
                .map(|(package, why)| {
                    Step::Failed(format!(
                        "{package} ({why}): not a Debian system, install its equivalent by hand"
                    ))
                })
                .collect();
        }
        let is_installed = |package: &str| {
            cmd!(sh, "dpkg -s {package}")
                .quiet()
                .ignore_stdout()
                .ignore_stderr()
                .run()
                .is_ok()
        };
        let missing: Vec<&str> = packages
            .iter()
            .map(|(package, _)| *package)
            .filter(|package| !is_installed(package))
            .collect();
        if !self.check && !missing.is_empty() {
            let (runner, runner_args) = as_root(sh);
            let to_install = missing.clone();
            let update_args = runner_args.clone();
            // Failures show on stderr; each package is then checked and reported one by one.
            let _ = cmd!(sh, "{runner} {update_args...} apt-get update -qq")
                .quiet()
                .run();
            let _ = cmd!(
                sh,
                "{runner} {runner_args...} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {to_install...}"
            )
            .quiet()
            .ignore_stdout()
            .run();
        }
        packages
            .into_iter()
            .map(|(package, why)| {
                let what = format!("apt package {package} ({why})");
                if !missing.contains(&package) {
                    Step::Ready(what)
                } else if self.check {
                    Step::Missing(format!("{what}: run `apt-get install {package}`"))
                } else if is_installed(package) {
                    Step::Installed(what)
                } else {
                    Step::Refused(format!("{what}: `apt-get install {package}` failed"))
                }
            })
            .collect()
    }

    fn wine(&self, sh: &Shell, root: &Path) -> Step {
        let what = format!(
            "Wine prefix {} with the bcryptprimitives.dll stand-in",
            wine_prefix(root).display()
        );
        let uses_wine = TARGETS.iter().any(|t| matches!(t.runner, Runner::Wine));
        if !uses_wine || wine_stub_installed(root) {
            return Step::Ready(what);
        }
        if self.check {
            return Step::Missing(format!("{what}: run `cargo xtask setup`"));
        }
        let absent = WINE_PROGRAMS
            .iter()
            .find(|(program, _)| find_program(program).is_none());
        if let Some((program, package)) = absent {
            return Step::Refused(format!(
                "{what}: needs {program}, and package {package} could not be installed"
            ));
        }
        match ensure_wine_prefix(sh, root) {
            Ok(()) => Step::Installed(what),
            Err(error) => Step::Failed(format!("{what}: {error:#}")),
        }
    }

    fn mach_o_stubs(&self, root: &Path) -> Step {
        let sdk = mach_o_sdk(root);
        let what = format!("Mach-O .tbd stubs in {}", sdk.display());
        let missing: Vec<&str> = ["libSystem.tbd", "libc.tbd", "libm.tbd"]
            .into_iter()
            .filter(|stub| !sdk.join("usr/lib").join(stub).is_file())
            .collect();
        if !missing.is_empty() {
            return Step::Failed(format!(
                "{what}: {} missing from the checkout (restore them with git)",
                missing.join(", ")
            ));
        }
        match find_ld64_lld() {
            Some(linker) => Step::Ready(format!("{what}, linker {}", linker.display())),
            None if self.check => Step::Missing(format!(
                "{what}: ld64.lld not found: run `apt-get install lld`"
            )),
            None => Step::Refused(format!(
                "{what}: ld64.lld not found, and package lld could not be installed"
            )),
        }
    }
}

/// The last line of the report when the verdict is an error (the error says the rest).
const SKIPPED: &str =
    "build-all skips the triples (or load checks) that need what is not installed";

/// The report's last line, or the error that makes setup exit non-zero: anything missing
/// or failed, and a refused download unless `allow_refused`.
fn verdict(steps: &[Step], allow_refused: bool) -> anyhow::Result<&'static str> {
    let count = |kind: fn(&Step) -> bool| steps.iter().filter(|s| kind(s)).count();
    let missing = count(|s| matches!(s, Step::Missing(_)));
    let refused = count(|s| matches!(s, Step::Refused(_)));
    let failed = count(|s| matches!(s, Step::Failed(_)));
    if missing + refused + failed == 0 {
        return Ok("everything build-all and its load check use is installed");
    }
    if missing + failed == 0 && allow_refused {
        return Ok(
            "refused downloads tolerated (--allow-refused-downloads): build-all skips the triples (or load checks) that need them",
        );
    }
    anyhow::bail!(
        "setup is incomplete: {missing} missing, {refused} refused download(s), {failed} failed (the lines above say which){}",
        if refused > 0 && !allow_refused {
            "; `--allow-refused-downloads` tolerates refused downloads"
        } else {
            ""
        }
    )
}

/// Every Debian package setup installs, with what it is for: each triple's linker, then
/// [`EXTRA_PACKAGES`].
fn debian_packages() -> Vec<(&'static str, String)> {
    let linkers = TARGETS.iter().filter_map(|target| match target.linker {
        Linker::Gcc { package, .. } => Some((package, format!("links {}", target.triple))),
        _ => None,
    });
    let extras = EXTRA_PACKAGES
        .iter()
        .map(|(package, why)| (*package, (*why).to_owned()));
    linkers.chain(extras).collect()
}

/// What runs a command as root: `env` when already root, else `sudo -n` (which fails
/// rather than asks for a password, so the step is reported missing instead of hanging).
fn as_root(sh: &Shell) -> (&'static str, Vec<&'static str>) {
    let uid = cmd!(sh, "id -u").quiet().read().unwrap_or_default();
    if uid.trim() == "0" {
        ("env", Vec::new())
    } else {
        ("sudo", vec!["-n"])
    }
}

/// The committed stand-in SDK Mach-O links against: `.tbd` stubs of libSystem.
pub fn mach_o_sdk(root: &Path) -> PathBuf {
    root.join("xtask/cross/macos-sdk")
}

/// The Wine prefix the Windows load check runs in (kept apart from the user's own).
pub fn wine_prefix(root: &Path) -> PathBuf {
    root.join("target/wine")
}

fn wine_stub_path(root: &Path) -> PathBuf {
    wine_prefix(root).join("drive_c/windows/system32/bcryptprimitives.dll")
}

fn wine_stub_installed(root: &Path) -> bool {
    std::fs::read(wine_stub_path(root))
        .is_ok_and(|bytes| bytes.windows(11).any(|w| w == b"ProcessPrng"))
}

/// Makes the Wine prefix under `target/` and installs the `bcryptprimitives.dll`
/// stand-in into its `system32` (Wine 8 lacks `ProcessPrng`, which Rust's std imports).
pub fn ensure_wine_prefix(sh: &Shell, root: &Path) -> anyhow::Result<()> {
    if wine_stub_installed(root) {
        return Ok(());
    }
    anyhow::ensure!(
        find_program("wine").is_some(),
        "wine is not installed: run `apt-get install wine64` (or `cargo xtask setup`)"
    );
    anyhow::ensure!(
        find_program("x86_64-w64-mingw32-gcc").is_some(),
        "x86_64-w64-mingw32-gcc is not installed (it builds the Wine stub): run `apt-get install gcc-mingw-w64-x86-64`"
    );
    let prefix = wine_prefix(root);
    let system32 = prefix.join("drive_c/windows/system32");
    if !system32.is_dir() {
        cmd!(sh, "wineboot -i")
            .env("WINEPREFIX", &prefix)
            .env("WINEDEBUG", "-all")
            .quiet()
            .ignore_stderr()
            .ignore_stdout()
            .run()
            .with_context(|| format!("cannot create the Wine prefix {}", prefix.display()))?;
    }
    anyhow::ensure!(
        system32.is_dir(),
        "wineboot did not create {}",
        system32.display()
    );
    let source = root.join("xtask/cross/wine");
    let (c_file, def_file) = (
        source.join("bcryptprimitives.c"),
        source.join("bcryptprimitives.def"),
    );
    let stub = wine_stub_path(root);
    let temp = system32.join(format!("bcryptprimitives.dll.{}.tmp", std::process::id()));
    cmd!(
        sh,
        "x86_64-w64-mingw32-gcc -shared -O2 -s -o {temp} {c_file} {def_file} -ladvapi32"
    )
    .quiet()
    .run()
    .context("cannot build the bcryptprimitives.dll stub with mingw")?;
    std::fs::rename(&temp, &stub).with_context(|| format!("cannot install {}", stub.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(kinds: &[fn(String) -> Step]) -> Vec<Step> {
        kinds.iter().map(|kind| kind("item".to_owned())).collect()
    }

    #[test]
    fn setup_succeeds_only_when_everything_is_in_place() {
        let done = steps(&[Step::Ready, Step::Installed]);
        assert!(verdict(&done, false).unwrap().starts_with("everything"));
        let refused = steps(&[Step::Ready, Step::Refused]);
        let error = verdict(&refused, false).unwrap_err().to_string();
        assert_eq!(
            error,
            "setup is incomplete: 0 missing, 1 refused download(s), 0 failed (the lines above say which); `--allow-refused-downloads` tolerates refused downloads"
        );
        assert!(
            verdict(&refused, true)
                .unwrap()
                .starts_with("refused downloads tolerated")
        );
    }

    #[test]
    fn tolerating_refused_downloads_tolerates_nothing_else() {
        for kinds in [
            [Step::Refused, Step::Failed],
            [Step::Refused, Step::Missing],
        ] {
            let error = verdict(&steps(&kinds), true).unwrap_err().to_string();
            assert!(error.starts_with("setup is incomplete: "), "{error}");
            assert!(!error.contains("--allow-refused-downloads"), "{error}");
        }
    }

    #[test]
    fn report_lines_start_with_a_padded_status() {
        assert_eq!(Step::Refused("x".into()).line(), "refused   x");
        assert_eq!(Step::Installed("x".into()).line(), "installed x");
    }

    /// `.ci/run` installs through `cargo xtask setup` and its commands repeat none of the
    /// triples and packages that this module and `targets.rs` hold (comments may name them).
    #[test]
    fn ci_installs_through_setup_and_repeats_none_of_its_lists() {
        let ci =
            std::fs::read_to_string(crate::project_root().join(".ci/run")).expect("read .ci/run");
        let setup = ci
            .find("\ncargo xtask setup --allow-refused-downloads\n")
            .expect(".ci/run should run `cargo xtask setup --allow-refused-downloads`");
        let first_build = ci.find("\ncargo ").expect(".ci/run runs cargo");
        assert_eq!(
            setup, first_build,
            "setup should come before any other cargo step"
        );
        let commands: Vec<&str> = ci
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .collect();
        let commands = commands.join("\n");
        let words: Vec<&str> = commands
            .split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
            .collect();
        let packages = debian_packages();
        let named = TARGETS
            .iter()
            .map(|target| target.triple)
            .chain(packages.iter().map(|(package, _)| *package));
        for name in named {
            assert!(
                !words.contains(&name),
                ".ci/run repeats {name}: setup installs it"
            );
        }
        assert!(
            !commands.contains("apt-get"),
            ".ci/run should leave apt-get to setup"
        );
        assert!(
            !commands.contains("rustup target"),
            ".ci/run should leave rustup targets to setup"
        );
    }
}

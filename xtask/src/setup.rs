//! `cargo xtask setup`: installs what cross-building and load-checking need (rustup
//! targets, the Debian cross tools, qemu-user and Wine, the Wine `bcryptprimitives.dll`
//! stand-in) and checks the committed Mach-O `.tbd` stubs. A refused download is reported
//! and the rest goes on; `--check` only reports. It knows the target table, not plugins.

use crate::build_all::{find_ld64_lld, find_program};
use crate::targets::{Linker, Runner, TARGETS};
use anyhow::Context;
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

/// Debian packages needed beyond each triple's linker.
const EXTRA_PACKAGES: &[(&str, &str)] = &[
    (
        "qemu-user",
        "runs the aarch64, armv7 and riscv64 load checks",
    ),
    ("wine64", "runs the Windows load check"),
    ("lld", "links Mach-O (ld64.lld)"),
    ("libc6-i386", "runs the i686 load check"),
    ("lib32gcc-s1", "runs the i686 load check"),
];

/// Install the cross-building and load-check tools (rustup targets, Debian packages, Wine).
#[derive(clap::Args)]
pub struct Setup {
    /// Only report what is missing; install nothing
    #[arg(long)]
    check: bool,
}

/// One thing setup looked at.
enum Step {
    Ready(String),
    Installed(String),
    Missing(String),
}

impl Setup {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = crate::project_root();
        let mut steps = self.rustup_targets(sh);
        steps.extend(self.debian_packages(sh));
        steps.push(self.wine(sh, &root));
        steps.push(mach_o_stubs(&root));
        let mut missing = 0;
        for step in &steps {
            match step {
                Step::Ready(what) => println!("ok        {what}"),
                Step::Installed(what) => println!("installed {what}"),
                Step::Missing(what) => {
                    missing += 1;
                    println!("missing   {what}");
                }
            }
        }
        if missing == 0 {
            println!("\neverything build-all and its load check use is installed");
        } else {
            println!(
                "\n{missing} item(s) missing: build-all skips the triples (or load checks) that need them"
            );
        }
        Ok(())
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
                    Step::Missing(format!(
                        "{what}: `rustup target add {triple}` was refused; that triple will be skipped"
                    ))
                }
            })
            .collect()
    }

    fn debian_packages(&self, sh: &Shell) -> Vec<Step> {
        let mut packages: Vec<(&str, String)> = TARGETS
            .iter()
            .filter_map(|target| match target.linker {
                Linker::Gcc { package, .. } => Some((package, format!("links {}", target.triple))),
                _ => None,
            })
            .collect();
        packages.extend(
            EXTRA_PACKAGES
                .iter()
                .map(|(package, why)| (*package, (*why).to_owned())),
        );
        if find_program("dpkg").is_none() {
            return packages
                .into_iter()
                .map(|(package, why)| {
                    Step::Missing(format!(
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
            let _ = cmd!(sh, "{runner} {update_args...} apt-get update -qq")
                .quiet()
                .run();
            let _ = cmd!(
                sh,
                "{runner} {runner_args...} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {to_install...}"
            )
            .quiet()
            .run();
        }
        packages
            .into_iter()
            .map(|(package, why)| {
                let what = format!("apt package {package} ({why})");
                if !missing.contains(&package) {
                    Step::Ready(what)
                } else if !self.check && is_installed(package) {
                    Step::Installed(what)
                } else {
                    Step::Missing(format!("{what}: run `apt-get install {package}`"))
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
        match ensure_wine_prefix(sh, root) {
            Ok(()) => Step::Installed(what),
            Err(error) => Step::Missing(format!("{what}: {error:#}")),
        }
    }
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

fn mach_o_stubs(root: &Path) -> Step {
    let sdk = mach_o_sdk(root);
    let what = format!("Mach-O .tbd stubs in {}", sdk.display());
    let missing: Vec<&str> = ["libSystem.tbd", "libc.tbd", "libm.tbd"]
        .into_iter()
        .filter(|stub| !sdk.join("usr/lib").join(stub).is_file())
        .collect();
    if !missing.is_empty() {
        return Step::Missing(format!(
            "{what}: {} missing from the checkout (restore them with git)",
            missing.join(", ")
        ));
    }
    match find_ld64_lld() {
        Some(linker) => Step::Ready(format!("{what}, linker {}", linker.display())),
        None => Step::Missing(format!(
            "{what}: ld64.lld not found: run `apt-get install lld`"
        )),
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

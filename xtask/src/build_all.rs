//! `cargo xtask build-all`: builds every shipped plugin for every triple of the committed
//! list (`targets.rs`), collects the artifacts and their index under
//! `target/plugins/<triple>/`, and with `--load-check` loads each one through the host's own
//! checks on every triple that can run here. A triple whose Rust std, linker or runner is
//! missing is skipped with one line saying what to install; a real build failure fails.
//! The load check itself is `load_check.rs`; symbol checks are `verify-symbols`.

use crate::flags::{self, Profile};
use crate::index::{self, Artifact};
use crate::load_check::{self, LoadCheck, LoadStatus, NotRun};
use crate::plugins::{self, Plugin};
use crate::progress::Progress;
use crate::setup;
use crate::targets::{self, BinaryFormat, Linker, Target};
use crate::toolchain::{self, find_ld64_lld, find_program};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use xshell::{Cmd, Shell, cmd};

impl Profile {
    fn name(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Dev => "dev",
        }
    }

    /// The directory cargo puts this profile's output in.
    fn dir(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Dev => "debug",
        }
    }
}

/// What happened to one triple.
struct Row {
    triple: &'static str,
    build: BuildStatus,
    load: LoadStatus,
    elapsed: Duration,
}

enum BuildStatus {
    Built(usize),
    Skipped,
    Failed,
}

impl flags::BuildAll {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = crate::project_root();
        let host = toolchain::host_triple(sh)?;
        let wanted = targets::resolve(&self.targets, &host)?;
        let plugins = plugins::select(plugins::discover(sh, &root)?, &self.plugins)?;
        anyhow::ensure!(
            !plugins.is_empty(),
            "the workspace has no plugin under plugins/"
        );
        let sysroot = toolchain::rustc_sysroot(sh)?;
        let progress = Progress::new();
        let mut rows = Vec::new();
        for (position, target) in wanted.iter().enumerate() {
            let context = Shared {
                sh,
                root: &root,
                host: &host,
                sysroot: &sysroot,
                plugins: &plugins,
                progress: &progress,
                label: format!("[{}/{}] {}", position + 1, wanted.len(), target.triple),
            };
            rows.push(self.build_triple(target, &context));
        }
        progress.clear();
        print_table(&rows);
        let failed_builds = rows
            .iter()
            .filter(|r| matches!(r.build, BuildStatus::Failed))
            .count();
        let failed_loads = rows.iter().filter(|r| r.load.failed()).count();
        println!(
            "artifacts and index: {}",
            index::plugins_dir(&root).join(index::FILE_NAME).display()
        );
        anyhow::ensure!(
            failed_builds == 0 && failed_loads == 0,
            "build-all failed: {failed_builds} triple(s) did not build, {failed_loads} failed the load check"
        );
        Ok(())
    }

    fn build_triple(&self, target: &'static Target, cx: &Shared) -> Row {
        let started = Instant::now();
        let mut row = Row {
            triple: target.triple,
            build: BuildStatus::Skipped,
            load: LoadStatus::NotRequested,
            elapsed: Duration::ZERO,
        };
        if let Err(missing) = build_prerequisites(target, cx.host, cx.sysroot) {
            cx.progress
                .line(&format!("skip {}: {missing}", target.triple));
            return row;
        }
        let runner = self
            .load_check
            .then(|| load_check::runner(cx.sh, target, cx.host, cx.root));
        let with_loader = matches!(runner, Some(Ok(_)));
        let built = self
            .cargo_build(target, cx, with_loader)
            .and_then(|()| collect(target, self.profile, cx));
        let files = match built {
            Ok(files) => files,
            Err(error) => {
                cx.progress
                    .line(&format!("FAILED {}: {error:#}", target.triple));
                row.build = BuildStatus::Failed;
                row.elapsed = started.elapsed();
                return row;
            }
        };
        row.build = BuildStatus::Built(files.len());
        row.load = match runner {
            None => LoadStatus::NotRequested,
            Some(Err(NotRun { why, line })) => {
                if let Some(line) = line {
                    cx.progress
                        .line(&format!("load check {}: {line}", target.triple));
                }
                LoadStatus::NotRun(why)
            }
            Some(Ok(runner)) => {
                cx.progress.status(&format!("{}: load check", cx.label));
                let check = LoadCheck {
                    triple: target.triple,
                    runner,
                    loader: load_check::loader_path(
                        &build_dir(cx.root),
                        target.triple,
                        self.profile.dir(),
                    ),
                    files: &files,
                };
                check.run(cx.sh, cx.root, cx.progress)
            }
        };
        row.elapsed = started.elapsed();
        row
    }

    /// Builds the plugins (and the loader) for `target`, one `cargo rustc` per plugin: each
    /// links the shared Rust runtime where the triple has one (see [`shares_runtime`]), and a
    /// Mach-O plugin gets the install name `@rpath/<file>` instead of the build path.
    fn cargo_build(&self, target: &Target, cx: &Shared, with_loader: bool) -> anyhow::Result<()> {
        let cross_mach_o = target.format == BinaryFormat::MachO && !cx.host.contains("apple");
        for plugin in cx.plugins {
            let mut link_args = runtime_link_args(target, cross_mach_o);
            if target.format == BinaryFormat::MachO {
                let install_name = format!("@rpath/{}", plugin.file_name(target.triple));
                link_args.extend(mach_o_link_arg(
                    cross_mach_o,
                    &["-install_name", &install_name],
                ));
            }
            let package = &plugin.package;
            // rustc links no shared std into an LTO build.
            let no_lto = format!("profile.{}.lto=false", self.profile.name());
            let command = self
                .cargo(target, cx, "rustc")?
                .args(["--config", &no_lto, "--lib", "--package", package, "--"])
                .args(link_args);
            run_streaming(command, &cx.label, cx.progress)?;
        }
        if with_loader {
            let command = self
                .cargo(target, cx, "build")?
                .args(["--package", load_check::PACKAGE]);
            run_streaming(command, &cx.label, cx.progress)?;
        }
        Ok(())
    }

    /// `cargo <subcommand>` for `target` with this run's profile, target directory and
    /// linker environment.
    fn cargo<'a>(
        &self,
        target: &Target,
        cx: &Shared<'a>,
        subcommand: &str,
    ) -> anyhow::Result<Cmd<'a>> {
        let (cargo, profile, triple) = (toolchain::cargo(), self.profile.name(), target.triple);
        let target_dir = build_dir(cx.root);
        let mut command = cmd!(
            cx.sh,
            "{cargo} {subcommand} --color never --profile {profile} --target {triple} --target-dir {target_dir}"
        );
        if self.profile == Profile::Release {
            command = command.env(
                "CARGO_PROFILE_RELEASE_STRIP",
                strip_setting(target, cx.host),
            );
        }
        if matches!(target.linker, Linker::Ld64Lld) && !cx.host.contains("apple") {
            command = command.envs(mach_o_link_env(target.triple, cx.root)?);
        }
        Ok(command)
    }
}

/// What every triple's build shares.
struct Shared<'a> {
    sh: &'a Shell,
    root: &'a Path,
    host: &'a str,
    sysroot: &'a Path,
    plugins: &'a [Plugin],
    progress: &'a Progress,
    label: String,
}

/// Cargo's own target directory for build-all (artifacts are then copied out of it).
fn build_dir(root: &Path) -> PathBuf {
    root.join("target").join("build-all")
}

/// `Ok` when `target`'s std and linker are installed, else what to install.
pub fn build_prerequisites(target: &Target, host: &str, sysroot: &Path) -> Result<(), String> {
    let std_dir = sysroot.join("lib/rustlib").join(target.triple).join("lib");
    if !std_dir.is_dir() {
        return Err(format!(
            "Rust std is not installed: run `rustup target add {}` (or `cargo xtask setup`)",
            target.triple
        ));
    }
    if target.triple == host {
        return Ok(());
    }
    match target.linker {
        Linker::Default => Ok(()),
        Linker::Gcc { program, package } if find_program(program).is_none() => Err(format!(
            "linker `{program}` is not installed: run `apt-get install {package}` (or `cargo xtask setup`)"
        )),
        Linker::Gcc { .. } => Ok(()),
        Linker::Ld64Lld if host.contains("apple") => Ok(()),
        Linker::Ld64Lld if find_ld64_lld().is_none() => Err(
            "linker `ld64.lld` is not installed: run `apt-get install lld` (or `cargo xtask setup`)"
                .to_owned(),
        ),
        Linker::Ld64Lld => Ok(()),
    }
}

/// Whether `target`'s plugins link the toolchain's shared Rust runtime, shipped next to them.
/// Windows does not: its `std-<hash>.dll` needs MinGW's `libgcc_s_seh-1.dll` too, and the
/// Windows loader looks for a DLL's imports next to the executable, not next to the DLL; so
/// those plugins keep a static std (see ARCHITECTURE.md for the sizes).
pub fn shares_runtime(target: &Target) -> bool {
    target.format != BinaryFormat::Pe
}

/// The `rustc` arguments that link the shared runtime and let the loader find it in the
/// plugin's own directory (`$ORIGIN`, `@loader_path`); none where the triple keeps a static std.
pub fn runtime_link_args(target: &Target, cross_mach_o: bool) -> Vec<String> {
    if !shares_runtime(target) {
        return Vec::new();
    }
    let mut args = vec!["-C".to_owned(), "prefer-dynamic".to_owned()];
    match target.format {
        BinaryFormat::MachO => {
            args.extend(mach_o_link_arg(cross_mach_o, &["-rpath", "@loader_path"]))
        }
        _ => args.extend(["-C".to_owned(), "link-arg=-Wl,-rpath,$ORIGIN".to_owned()]),
    }
    args
}

/// Linker arguments for Mach-O: given straight to `ld64.lld` when cross-linking, through
/// the C compiler (`-Wl,`) on a Mac.
fn mach_o_link_arg(cross: bool, words: &[&str]) -> Vec<String> {
    if cross {
        words
            .iter()
            .flat_map(|word| ["-C".to_owned(), format!("link-arg={word}")])
            .collect()
    } else {
        vec!["-C".to_owned(), format!("link-arg=-Wl,{}", words.join(","))]
    }
}

/// Release artifacts are stripped of their symbol tables (the dynamic exports stay).
/// Rust strips Mach-O with the host's `strip`, which on Linux cannot read Mach-O, so those
/// are linked with `-dead_strip` only.
fn strip_setting(target: &Target, host: &str) -> &'static str {
    if target.format == BinaryFormat::MachO && !host.contains("apple") {
        "none"
    } else {
        "symbols"
    }
}

/// The environment that links Mach-O on Linux: `ld64.lld` and the committed `.tbd` stubs.
fn mach_o_link_env(triple: &str, root: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let linker = find_ld64_lld().context("ld64.lld is not installed")?;
    let sdk = setup::mach_o_sdk(root);
    let key = triple.to_uppercase().replace('-', "_");
    let flags = format!(
        "-C linker-flavor=ld64.lld -C link-arg=-syslibroot -C link-arg={}",
        sdk.display()
    );
    Ok(vec![
        (
            format!("CARGO_TARGET_{key}_LINKER"),
            linker.display().to_string(),
        ),
        (format!("CARGO_TARGET_{key}_RUSTFLAGS"), flags),
        ("SDKROOT".to_owned(), sdk.display().to_string()),
    ])
}

/// Runs cargo, showing the crate it is compiling in the status line, and returns its last
/// lines of output as the error when it fails.
fn run_streaming(command: Cmd<'_>, label: &str, progress: &Progress) -> anyhow::Result<()> {
    use std::io::BufRead;
    let started = Instant::now();
    progress.status(&format!("{label}: starting cargo"));
    let mut child = std::process::Command::from(command)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run cargo")?;
    let stderr = child.stderr.take().context("cargo's stderr is not piped")?;
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.context("cannot read cargo's output")?;
        let step = line.trim_start();
        if step.starts_with("Compiling") || step.starts_with("Finished") {
            progress.status(&format!(
                "{label}: {step} ({}s)",
                started.elapsed().as_secs()
            ));
        }
        lines.push(line);
    }
    let status = child.wait().context("cannot wait for cargo")?;
    if status.success() {
        return Ok(());
    }
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    anyhow::bail!("cargo build failed ({status}):\n{tail}")
}

/// Copies each plugin's library, and the runtime they share, out of cargo's directory and
/// records them in the index.
fn collect(target: &Target, profile: Profile, cx: &Shared) -> anyhow::Result<Vec<PathBuf>> {
    let triple = target.triple;
    let _one_writer = index::lock(&index::plugins_dir(cx.root))?;
    let out_dir = index::plugins_dir(cx.root).join(triple);
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    // The runtime first: a toolchain without one leaves the triple's folder as it was.
    let runtime = if shares_runtime(target) {
        Some(ship_runtime(target, profile, &out_dir, cx)?)
    } else {
        None
    };
    let built_dir = build_dir(cx.root).join(triple).join(profile.dir());
    let mut artifacts = Vec::new();
    let mut files = Vec::new();
    for plugin in cx.plugins {
        let file_name = plugin.file_name(triple);
        let built = built_dir.join(&file_name);
        anyhow::ensure!(
            built.is_file(),
            "cargo built {} but {} is missing",
            plugin.package,
            built.display()
        );
        let destination = out_dir.join(&file_name);
        let temp = out_dir.join(format!(".{file_name}.tmp"));
        strip_or_copy(target, profile, &built, &temp, cx)?;
        std::fs::rename(&temp, &destination)
            .with_context(|| format!("cannot write {}", destination.display()))?;
        let bytes = std::fs::read(&destination)
            .with_context(|| format!("cannot read {}", destination.display()))?;
        artifacts.push(Artifact {
            plugin: plugin.name.clone(),
            package: plugin.package.clone(),
            version: plugin.version.clone(),
            triple: triple.to_owned(),
            profile: profile.name().to_owned(),
            file: format!("{triple}/{file_name}"),
            size: bytes.len() as u64,
            sha256: index::sha256_hex(&bytes),
        });
        files.push(destination);
    }
    index::record(&index::plugins_dir(cx.root), triple, artifacts, runtime)?;
    Ok(files)
}

/// Writes `source` to `destination` with `llvm-strip --strip-all` for a release ELF (cargo's
/// `strip = "symbols"` leaves a cdylib's `.symtab`: 30 KB of the Forth engine plugin), else
/// copies it (stripping Mach-O would void its code signature).
fn strip_or_copy(
    target: &Target,
    profile: Profile,
    source: &Path,
    destination: &Path,
    cx: &Shared,
) -> anyhow::Result<()> {
    let strip = profile == Profile::Release && target.format == BinaryFormat::Elf;
    match find_program("llvm-strip").filter(|_| strip) {
        Some(llvm_strip) => cmd!(cx.sh, "{llvm_strip} --strip-all -o {destination} {source}")
            .quiet()
            .run()
            .with_context(|| format!("cannot strip {}", source.display())),
        None => {
            if strip {
                cx.progress.line(&format!(
                    "{}: {} shipped unstripped: `llvm-strip` is not installed (apt-get install llvm)",
                    target.triple,
                    source.display()
                ));
            }
            std::fs::copy(source, destination)
                .map(drop)
                .with_context(|| format!("cannot copy {}", source.display()))
        }
    }
}

/// Copies the toolchain's shared runtime for `target` next to its plugins in `out_dir`,
/// stripped for release (not Mach-O: stripping would void its code signature), and
/// returns its index entry.
fn ship_runtime(
    target: &Target,
    profile: Profile,
    out_dir: &Path,
    cx: &Shared,
) -> anyhow::Result<index::Runtime> {
    let lib_dir = cx
        .sysroot
        .join("lib/rustlib")
        .join(target.triple)
        .join("lib");
    let source = runtime_in(&lib_dir)?;
    let file_name = source
        .file_name()
        .context("a runtime path names a file")?
        .to_string_lossy()
        .into_owned();
    let destination = out_dir.join(&file_name);
    let temp = out_dir.join(format!(".{file_name}.tmp"));
    strip_or_copy(target, profile, &source, &temp, cx)?;
    std::fs::rename(&temp, &destination)
        .with_context(|| format!("cannot write {}", destination.display()))?;
    let bytes = std::fs::read(&destination)
        .with_context(|| format!("cannot read {}", destination.display()))?;
    let rustc = toolchain::rustc();
    Ok(index::Runtime {
        triple: target.triple.to_owned(),
        file: format!("{}/{file_name}", target.triple),
        rustc: cmd!(cx.sh, "{rustc} --version").quiet().read()?,
        size: bytes.len() as u64,
        sha256: index::sha256_hex(&bytes),
    })
}

/// The file name of the runtime build-all ships for `target` (none where its plugins keep
/// a static std, or where the toolchain in `sysroot` has none for it).
#[cfg(feature = "verify-symbols")]
pub fn shipped_runtime(target: &Target, sysroot: &Path) -> Option<String> {
    let lib_dir = sysroot.join("lib/rustlib").join(target.triple).join("lib");
    let found = runtime_in(&lib_dir)
        .ok()
        .filter(|_| shares_runtime(target))?;
    Some(found.file_name()?.to_string_lossy().into_owned())
}

/// The shared Rust standard library in a target's sysroot library directory.
fn runtime_in(lib_dir: &Path) -> anyhow::Result<PathBuf> {
    fastforth_toolchain::runtime_in(lib_dir).map_err(anyhow::Error::msg)
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<32} {:<10} {:<30} {:>7}",
        "triple", "build", "load check", "time"
    );
    for row in rows {
        let build = match row.build {
            BuildStatus::Built(count) => format!("built {count}"),
            BuildStatus::Skipped => "skipped".to_owned(),
            BuildStatus::Failed => "FAILED".to_owned(),
        };
        let load = row.load.summary();
        let time = if row.elapsed.is_zero() {
            "-".to_owned()
        } else {
            format!("{:.1}s", row.elapsed.as_secs_f64())
        };
        println!("{:<32} {build:<10} {load:<30} {time:>7}", row.triple);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_std_says_which_rustup_target_to_add() {
        let target = targets::find("riscv64gc-unknown-linux-gnu").unwrap();
        let empty = std::env::temp_dir().join("xtask-no-sysroot");
        assert_eq!(
            build_prerequisites(target, "x86_64-unknown-linux-gnu", &empty),
            Err("Rust std is not installed: run `rustup target add riscv64gc-unknown-linux-gnu` (or `cargo xtask setup`)".to_owned())
        );
    }

    #[test]
    fn a_missing_linker_says_which_package_to_install() {
        let sysroot = std::env::temp_dir().join(format!("xtask-sysroot-{}", std::process::id()));
        std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-fakeos/lib")).unwrap();
        let target = Target {
            triple: "x86_64-unknown-fakeos",
            linker: Linker::Gcc {
                program: "no-such-gcc-for-fakeos",
                package: "gcc-fakeos",
            },
            ..*targets::find("x86_64-unknown-linux-gnu").unwrap()
        };
        let result = build_prerequisites(&target, "x86_64-unknown-linux-gnu", &sysroot);
        std::fs::remove_dir_all(&sysroot).unwrap();
        assert_eq!(
            result,
            Err("linker `no-such-gcc-for-fakeos` is not installed: run `apt-get install gcc-fakeos` (or `cargo xtask setup`)".to_owned())
        );
    }
}

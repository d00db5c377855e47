//! `cargo xtask build-all`: builds every shipped plugin for every triple of the committed
//! list (`targets.rs`), collects the artifacts and their index under
//! `target/plugins/<triple>/`, and with `--load-check` loads each one through the host's own
//! checks on every triple that can run here. A triple whose Rust std, linker or runner is
//! missing is skipped with one line saying what to install; a real build failure fails.
//! It knows nothing of symbol checks (that is `verify-symbols`).

use crate::index::{self, Artifact};
use crate::plugins::{self, Plugin};
use crate::progress::Progress;
use crate::setup;
use crate::targets::{self, Linker, Runner, Target};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use xshell::Shell;

/// The package of the per-triple loader `--load-check` runs.
const LOAD_CHECK_PACKAGE: &str = "fastforth-load-check";
/// How long one triple's load check may take (qemu and a first Wine start are slow).
const LOAD_CHECK_TIMEOUT: Duration = Duration::from_secs(300);

/// Build every plugin for every supported triple into `target/plugins/<triple>/`.
#[derive(clap::Args)]
pub struct BuildAll {
    /// Build for this triple (repeatable; default: every triple in xtask/src/targets.rs)
    #[arg(long = "target", value_name = "TRIPLE")]
    targets: Vec<String>,
    /// Build this plugin, by its directory name under plugins/ (repeatable; default: all)
    #[arg(long = "plugin", value_name = "NAME")]
    plugins: Vec<String>,
    /// Cargo profile to build with (release artifacts are stripped)
    #[arg(long, value_enum, default_value_t = Profile::Release)]
    profile: Profile,
    /// Also load every artifact through the host's checks and call it, on each triple
    /// that runs here (natively, under qemu-user or under Wine)
    #[arg(long)]
    load_check: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    Release,
    Dev,
}

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

enum LoadStatus {
    NotRequested,
    NotRun(&'static str),
    Ran {
        passed: usize,
        skipped: usize,
        failed: usize,
    },
    Failed,
}

impl BuildAll {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = crate::project_root();
        let host = targets::host_triple()?;
        let wanted = targets::resolve(&self.targets, &host)?;
        let plugins = plugins::select(plugins::discover(sh, &root)?, &self.plugins)?;
        anyhow::ensure!(
            !plugins.is_empty(),
            "the workspace has no plugin under plugins/"
        );
        let sysroot = rustc_sysroot()?;
        let progress = Progress::new();
        let mut rows = Vec::new();
        for (position, target) in wanted.iter().enumerate() {
            let context = Shared {
                root: &root,
                host: &host,
                sysroot: &sysroot,
                plugins: &plugins,
                progress: &progress,
                label: format!("[{}/{}] {}", position + 1, wanted.len(), target.triple),
            };
            rows.push(self.build_triple(sh, target, &context));
        }
        progress.clear();
        print_table(&rows);
        let failed_builds = rows
            .iter()
            .filter(|r| matches!(r.build, BuildStatus::Failed))
            .count();
        let failed_loads = rows
            .iter()
            .filter(|r| {
                matches!(
                    r.load,
                    LoadStatus::Failed | LoadStatus::Ran { failed: 1.., .. }
                )
            })
            .count();
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

    fn build_triple(&self, sh: &Shell, target: &'static Target, cx: &Shared) -> Row {
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
        let runner = self.load_check.then(|| load_runner(sh, target, cx));
        let with_loader = matches!(runner, Some(Ok(_)));
        match self.cargo_build(target, cx, with_loader) {
            Ok(()) => {}
            Err(error) => {
                cx.progress
                    .line(&format!("FAILED {}: {error:#}", target.triple));
                row.build = BuildStatus::Failed;
                row.elapsed = started.elapsed();
                return row;
            }
        }
        let collected = collect(target.triple, self.profile, cx);
        let files = match collected {
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
                let loader = self.loader_path(target.triple, cx.root);
                run_load_check(&runner, &loader, &files, target.triple, cx)
            }
        };
        row.elapsed = started.elapsed();
        row
    }

    /// Builds the plugins (and the loader) for `target`. Mach-O plugins are linked one at
    /// a time, each with the install name `@rpath/<file>` instead of the build path.
    fn cargo_build(&self, target: &Target, cx: &Shared, with_loader: bool) -> anyhow::Result<()> {
        if target.format != object::BinaryFormat::MachO {
            let mut command = self.cargo(target, cx, "build")?;
            for plugin in cx.plugins {
                command.args(["--package", &plugin.package]);
            }
            if with_loader {
                command.args(["--package", LOAD_CHECK_PACKAGE]);
            }
            return run_streaming(command, &cx.label, cx.progress);
        }
        let cross = !cx.host.contains("apple");
        for plugin in cx.plugins {
            let install_name = format!("@rpath/{}", plugin.file_name(target.triple));
            let mut command = self.cargo(target, cx, "rustc")?;
            command.args(["--lib", "--package", &plugin.package, "--"]);
            if cross {
                command.args(["-C", "link-arg=-install_name", "-C"]);
                command.arg(format!("link-arg={install_name}"));
            } else {
                command.args(["-C"]);
                command.arg(format!("link-arg=-Wl,-install_name,{install_name}"));
            }
            run_streaming(command, &cx.label, cx.progress)?;
        }
        if with_loader {
            let mut command = self.cargo(target, cx, "build")?;
            command.args(["--package", LOAD_CHECK_PACKAGE]);
            run_streaming(command, &cx.label, cx.progress)?;
        }
        Ok(())
    }

    /// `cargo <subcommand>` for `target` with this run's profile, target directory and
    /// linker environment.
    fn cargo(&self, target: &Target, cx: &Shared, subcommand: &str) -> anyhow::Result<Command> {
        let mut command = Command::new(crate::cargo());
        command
            .current_dir(cx.root)
            .args([
                subcommand,
                "--color",
                "never",
                "--profile",
                self.profile.name(),
            ])
            .args(["--target", target.triple])
            .arg("--target-dir")
            .arg(build_dir(cx.root));
        if self.profile == Profile::Release {
            command.env(
                "CARGO_PROFILE_RELEASE_STRIP",
                strip_setting(target, cx.host),
            );
        }
        if matches!(target.linker, Linker::Ld64Lld) && !cx.host.contains("apple") {
            for (key, value) in mach_o_link_env(target.triple, cx.root)? {
                command.env(key, value);
            }
        }
        Ok(command)
    }

    fn loader_path(&self, triple: &str, root: &Path) -> PathBuf {
        let exe = if triple.contains("windows") {
            ".exe"
        } else {
            ""
        };
        build_dir(root)
            .join(triple)
            .join(self.profile.dir())
            .join(format!("{LOAD_CHECK_PACKAGE}{exe}"))
    }
}

/// What every triple's build shares.
struct Shared<'a> {
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

fn rustc_sysroot() -> anyhow::Result<PathBuf> {
    let output = Command::new(crate::targets::rustc())
        .args(["--print", "sysroot"])
        .output()
        .context("cannot run `rustc --print sysroot`")?;
    anyhow::ensure!(output.status.success(), "`rustc --print sysroot` failed");
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
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

/// Release artifacts are stripped of their symbol tables (the dynamic exports stay).
/// Rust strips Mach-O with the host's `strip`, which on Linux cannot read Mach-O, so those
/// are linked with `-dead_strip` only.
fn strip_setting(target: &Target, host: &str) -> &'static str {
    if target.format == object::BinaryFormat::MachO && !host.contains("apple") {
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

/// `program` on `PATH`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `ld64.lld`, or a versioned `ld64.lld-N` as Debian installs it.
pub fn find_ld64_lld() -> Option<PathBuf> {
    if let Some(found) = find_program("ld64.lld") {
        return Some(found);
    }
    let path = std::env::var_os("PATH")?;
    let mut versioned: Vec<PathBuf> = std::env::split_paths(&path)
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("ld64.lld-"))
                .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit()))
        })
        .collect();
    versioned.sort();
    versioned.pop()
}

/// Runs cargo, showing the crate it is compiling in the status line, and returns its last
/// lines of output as the error when it fails.
fn run_streaming(mut command: Command, label: &str, progress: &Progress) -> anyhow::Result<()> {
    use std::io::BufRead;
    let started = Instant::now();
    progress.status(&format!("{label}: starting cargo"));
    let mut child = command
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

/// Copies each plugin's library out of cargo's directory and records it in the index.
fn collect(triple: &str, profile: Profile, cx: &Shared) -> anyhow::Result<Vec<PathBuf>> {
    let _one_writer = index::lock(&index::plugins_dir(cx.root))?;
    let out_dir = index::plugins_dir(cx.root).join(triple);
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let built_dir = build_dir(cx.root).join(triple).join(profile.dir());
    let mut artifacts = Vec::new();
    let mut files = Vec::new();
    for plugin in cx.plugins {
        let file_name = plugin.file_name(triple);
        let built = built_dir.join(&file_name);
        let bytes = std::fs::read(&built).with_context(|| {
            format!(
                "cargo built {} but {} is missing",
                plugin.package,
                built.display()
            )
        })?;
        let destination = out_dir.join(&file_name);
        let temp = out_dir.join(format!(".{file_name}.tmp"));
        std::fs::write(&temp, &bytes)
            .with_context(|| format!("cannot write {}", temp.display()))?;
        std::fs::rename(&temp, &destination)
            .with_context(|| format!("cannot write {}", destination.display()))?;
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
    index::record(&index::plugins_dir(cx.root), triple, artifacts)?;
    Ok(files)
}

/// Why a triple's load check does not run: the short table entry and the line to print.
struct NotRun {
    why: &'static str,
    line: Option<String>,
}

/// How to run the loader for `target` here, or why it cannot run.
fn load_runner(sh: &Shell, target: &Target, cx: &Shared) -> Result<Runner, NotRun> {
    let runner = targets::runner_on(target, cx.host).map_err(|why| NotRun {
        why: "not here",
        line: Some(why),
    })?;
    let missing = |what: String| NotRun {
        why: "skipped",
        line: Some(what),
    };
    match runner {
        Runner::Native if target.triple != cx.host && !Path::new("/lib/ld-linux.so.2").exists() => {
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
        Runner::Wine => match setup::ensure_wine_prefix(sh, cx.root) {
            Ok(()) => Ok(Runner::Wine),
            Err(error) => Err(missing(format!("{error:#}"))),
        },
        Runner::Never { why } => Err(NotRun {
            why: "not here",
            line: Some((*why).to_owned()),
        }),
    }
}

/// Runs the loader on every artifact and prints its verdict lines.
fn run_load_check(
    runner: &Runner,
    loader: &Path,
    files: &[PathBuf],
    triple: &str,
    cx: &Shared,
) -> LoadStatus {
    cx.progress.status(&format!("{}: load check", cx.label));
    let mut command = match runner {
        Runner::Qemu { program, sysroot } => {
            let mut command = Command::new(program);
            command
                .args(["-L", sysroot, "-E"])
                .arg(format!("LD_LIBRARY_PATH={sysroot}/lib"))
                .arg(loader);
            command
        }
        Runner::Wine => {
            let mut command = Command::new("wine");
            command
                .env("WINEPREFIX", setup::wine_prefix(cx.root))
                .env("WINEDEBUG", "-all")
                .arg(loader);
            command
        }
        Runner::Native | Runner::Never { .. } => Command::new(loader),
    };
    for file in files {
        match runner {
            Runner::Wine => command.arg(wine_path(file)),
            _ => command.arg(file),
        };
    }
    let output = match output_within(command, LOAD_CHECK_TIMEOUT) {
        Ok(output) => output,
        Err(error) => {
            cx.progress
                .line(&format!("load check {triple}: FAILED: {error:#}"));
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
        cx.progress.line(&format!("load check {triple}: {line}"));
    }
    if passed + skipped + failed != files.len() {
        cx.progress.line(&format!(
            "load check {triple}: FAILED: the loader reported on {} of {} files:\n{output}",
            passed + skipped + failed,
            files.len()
        ));
        return LoadStatus::Failed;
    }
    LoadStatus::Ran {
        passed,
        skipped,
        failed,
    }
}

/// A Unix path as Wine's `Z:` drive shows it.
fn wine_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

/// Runs `command` and returns its stdout, killing it after `limit`.
fn output_within(mut command: Command, limit: Duration) -> anyhow::Result<String> {
    use std::io::Read;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {command:?}"))?;
    let mut stdout = child.stdout.take().context("stdout is not piped")?;
    let mut stderr = child.stderr.take().context("stderr is not piped")?;
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().context("cannot wait for the loader")? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("the loader did not finish within {}s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    match status.code() {
        Some(0 | 1) => Ok(stdout),
        _ => anyhow::bail!("the loader exited with {status}:\n{stdout}{stderr}"),
    }
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
        let load = match &row.load {
            LoadStatus::NotRequested => "-".to_owned(),
            LoadStatus::NotRun(why) => (*why).to_owned(),
            LoadStatus::Failed => "FAILED".to_owned(),
            LoadStatus::Ran {
                passed,
                skipped,
                failed,
            } => load_summary(*passed, *skipped, *failed),
        };
        let time = if row.elapsed.is_zero() {
            "-".to_owned()
        } else {
            format!("{:.1}s", row.elapsed.as_secs_f64())
        };
        println!("{:<32} {build:<10} {load:<30} {time:>7}", row.triple);
    }
}

fn load_summary(passed: usize, skipped: usize, failed: usize) -> String {
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

    #[test]
    fn wine_sees_unix_paths_on_drive_z() {
        assert_eq!(
            wine_path(Path::new("/work/target/plugins/a.dll")),
            "Z:\\work\\target\\plugins\\a.dll"
        );
    }

    #[test]
    fn load_summaries_mention_only_what_happened() {
        assert_eq!(load_summary(2, 0, 0), "2 passed");
        assert_eq!(load_summary(1, 1, 0), "1 passed, 1 skipped");
        assert_eq!(load_summary(0, 0, 2), "0 passed, 2 FAILED");
    }
}

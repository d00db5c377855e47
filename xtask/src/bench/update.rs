//! The cost of shipping a one-line change to the example plugin, two ways, from the same
//! edited source: rebuild the plugin (release) and swap it into a running host, versus
//! rebuild and relink the statically linked equivalent (`benches/monolith`) and restart it.
//! Both run in a scratch copy of the crates involved under `target/bench/update/`, so the
//! edit never touches the working tree, each with its own warm target directory.

use super::results::{Download, Spread, UpdateCost};
use crate::dist::strip_to;
use anyhow::Context;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::Instant;
use xshell::{Cmd, Shell, cmd};

/// The crates the scratch workspace needs, copied from the working tree (the host's tests
/// need `plugin-build`, so cargo wants its manifest too).
const CRATES: [&str; 7] = [
    "core/abi",
    "core/engine",
    "core/host",
    "core/plugin-build",
    "core/toolchain",
    "plugins/example",
    "benches/monolith",
];
const PLUGIN_SOURCE: &str = "plugins/example/src/lib.rs";
/// The line the change edits: the plugin's version, so the new build is visibly new.
const VERSION_LINE: &str = "c\"1.0.0\"";
const MONOLITH: &str = "fastforth-monolith";

pub fn measure(sh: &Shell, root: &Path, repetitions: usize) -> anyhow::Result<UpdateCost> {
    let dir = root.join("target/bench/update");
    let workspace = dir.join("workspace");
    make_workspace(root, &workspace)?;
    let scratch = Scratch {
        workspace: workspace.clone(),
        plugin_target: dir.join("plugin-target"),
        monolith_target: dir.join("monolith-target"),
    };
    println!("    warming up both builds (not timed)");
    let cargo = crate::toolchain::cargo();
    cmd!(
        sh,
        "{cargo} build --quiet --release -p fastforth-benches --bin update-host"
    )
    .run()
    .context("cannot build the update host")?;
    scratch.build_plugin(sh)?;
    scratch.build_monolith(sh)?;
    let (update_host, artifact) = (
        target_dir(root).join("release/update-host"),
        scratch.plugin_artifact(),
    );
    let host_cache = dir.join("host-cache");
    let mut host = Process::start(cmd!(sh, "{update_host} {artifact} {host_cache}"), "ready ")?;
    let monolith_binary = scratch.monolith_binary();
    let mut monolith = Process::start(cmd!(sh, "{monolith_binary}"), "ready ")?;
    let (mut plugin_seconds, mut monolith_seconds) = (Vec::new(), Vec::new());
    let mut current = VERSION_LINE.to_owned();
    let mut patch_bytes = None;
    for repetition in 1..=repetitions {
        let previous = read(&scratch.plugin_artifact())?;
        let version = format!("1.0.{}", 100 + repetition);
        let next = format!("c\"{version}\"");
        replace_in_file(&workspace.join(PLUGIN_SOURCE), &current, &next)?;
        current = next;

        let start = Instant::now();
        scratch.build_plugin(sh)?;
        host.request(
            &scratch.plugin_artifact().to_string_lossy(),
            &format!("swapped {version}"),
        )?;
        plugin_seconds.push(start.elapsed().as_secs_f64());
        let built = read(&scratch.plugin_artifact())?;
        patch_bytes = Some(fastforth_update::patch::make(&previous, &built).len() as u64);

        let start = Instant::now();
        scratch.build_monolith(sh)?;
        monolith.stop()?;
        monolith = Process::start(cmd!(sh, "{monolith_binary}"), &format!("ready {version}"))?;
        monolith_seconds.push(start.elapsed().as_secs_f64());
        println!(
            "    repetition {repetition}/{repetitions}: plugin {:.2} s, monolith {:.2} s",
            plugin_seconds[repetition - 1],
            monolith_seconds[repetition - 1]
        );
    }
    host.stop()?;
    monolith.stop()?;
    Ok(UpdateCost {
        repetitions,
        plugin_seconds: Spread::of(&plugin_seconds),
        monolith_seconds: Spread::of(&monolith_seconds),
        plugin_bytes: download(sh, &scratch.plugin_artifact(), &dir)?,
        monolith_bytes: download(sh, &scratch.monolith_binary(), &dir)?,
        plugin_patch_bytes: patch_bytes,
    })
}

fn read(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

struct Scratch {
    workspace: PathBuf,
    plugin_target: PathBuf,
    monolith_target: PathBuf,
}

impl Scratch {
    /// The plugin as build-all ships it: linked against the shared runtime.
    fn build_plugin(&self, sh: &Shell) -> anyhow::Result<()> {
        let cargo = crate::toolchain::cargo();
        let (manifest, target) = (self.workspace.join("Cargo.toml"), &self.plugin_target);
        let flags = fastforth_toolchain::shared_runtime_flags(None);
        cmd!(
            sh,
            "{cargo} rustc --quiet --release --lib --manifest-path {manifest}
                -p fastforth-example-plugin --target-dir {target} -- {flags...}"
        )
        .run()
        .context("cannot build the example plugin in the scratch workspace")
    }

    fn build_monolith(&self, sh: &Shell) -> anyhow::Result<()> {
        let cargo = crate::toolchain::cargo();
        let (manifest, target) = (self.workspace.join("Cargo.toml"), &self.monolith_target);
        cmd!(
            sh,
            "{cargo} build --quiet --release --manifest-path {manifest} -p {MONOLITH} --target-dir {target}"
        )
        .run()
        .with_context(|| format!("cannot build {MONOLITH} in {}", self.workspace.display()))
    }

    fn plugin_artifact(&self) -> PathBuf {
        let file = format!(
            "{}fastforth_example_plugin{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        );
        self.plugin_target.join("release").join(file)
    }

    fn monolith_binary(&self) -> PathBuf {
        self.monolith_target
            .join("release")
            .join(format!("{MONOLITH}{}", std::env::consts::EXE_SUFFIX))
    }
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Copies [`CRATES`] and `Cargo.lock` into `workspace`, with a root manifest that is the
/// project's own (same profiles and dependency versions) listing only those crates.
fn make_workspace(root: &Path, workspace: &Path) -> anyhow::Result<()> {
    for krate in CRATES {
        let to = workspace.join(krate);
        if to.exists() {
            std::fs::remove_dir_all(&to)
                .with_context(|| format!("cannot empty {}", to.display()))?;
        }
        copy_dir(&root.join(krate), &to)?;
    }
    std::fs::copy(root.join("Cargo.lock"), workspace.join("Cargo.lock"))
        .context("cannot copy Cargo.lock")?;
    let manifest =
        std::fs::read_to_string(root.join("Cargo.toml")).context("cannot read Cargo.toml")?;
    let manifest = with_members(&manifest, &CRATES)?;
    std::fs::write(workspace.join("Cargo.toml"), manifest)
        .context("cannot write the scratch manifest")
}

/// `manifest` with its `members = [...]` list replaced by `members`.
pub fn with_members(manifest: &str, members: &[&str]) -> anyhow::Result<String> {
    let start = manifest
        .find("members = [")
        .context("the root manifest has no members list")?;
    let end = start
        + manifest[start..]
            .find(']')
            .context("the root manifest's members list is not closed")?;
    let list: Vec<String> = members.iter().map(|m| format!("    \"{m}\",\n")).collect();
    Ok(format!(
        "{}members = [\n{}{}",
        &manifest[..start],
        list.concat(),
        &manifest[end..]
    ))
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let entries =
        std::fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", from.display()))?;
        let (path, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_name() == "target" {
            continue;
        }
        if path.is_dir() {
            copy_dir(&path, &target)?;
        } else {
            std::fs::copy(&path, &target).with_context(|| {
                format!("cannot copy {} to {}", path.display(), target.display())
            })?;
        }
    }
    Ok(())
}

fn replace_in_file(path: &Path, from: &str, to: &str) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    anyhow::ensure!(
        text.matches(from).count() == 1,
        "expected exactly one {from} in {} to edit",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The sizes a user downloads for `file`: as built, stripped, and stripped + gzip -9.
fn download(sh: &Shell, file: &Path, scratch: &Path) -> anyhow::Result<Download> {
    let raw = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    let stripped_copy = scratch.join("stripped");
    let stripped = strip_to(sh, file, "", &stripped_copy).unwrap_or(raw);
    let compressed_input = if stripped_copy.is_file() {
        stripped_copy.as_path()
    } else {
        file
    };
    let gzip = cmd!(sh, "gzip -9 -c {compressed_input}")
        .quiet()
        .ignore_status()
        .output()
        .context("cannot run gzip")?;
    anyhow::ensure!(
        gzip.status.success(),
        "gzip -9 failed on {}",
        compressed_input.display()
    );
    let _ = std::fs::remove_file(&stripped_copy);
    Ok(Download {
        raw,
        stripped,
        gzip: gzip.stdout.len() as u64,
    })
}

/// A child process that answers one line per request.
struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Process {
    /// Starts `command` and waits for its first line, which must start with `ready`.
    fn start(command: Cmd<'_>, ready: &str) -> anyhow::Result<Process> {
        let mut command = std::process::Command::from(command);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {command:?}"))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().context("child has no stdout")?);
        let mut process = Process {
            child,
            stdin,
            stdout,
        };
        process.expect(ready)?;
        Ok(process)
    }

    fn request(&mut self, line: &str, answer: &str) -> anyhow::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .context("process input already closed")?;
        writeln!(stdin, "{line}").context("cannot write to the running host")?;
        stdin.flush().context("cannot write to the running host")?;
        self.expect(answer)
    }

    fn expect(&mut self, prefix: &str) -> anyhow::Result<()> {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .context("cannot read from the process")?;
        anyhow::ensure!(
            line.starts_with(prefix),
            "expected a line starting with {prefix:?}, found {:?}",
            line.trim_end()
        );
        Ok(())
    }

    /// Closes the input (the process's signal to exit) and waits for it.
    fn stop(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let status = self.child.wait().context("cannot wait for the process")?;
        anyhow::ensure!(status.success(), "process exited with {status}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scratch_manifest_keeps_everything_but_the_members() {
        let manifest = "[workspace]\nresolver = \"3\"\nmembers = [\n    \"a\",\n    \"b\",\n]\n\n[profile.release]\nlto = \"thin\"\n";
        let scratch = with_members(manifest, &["core/abi", "x"]).unwrap();
        assert_eq!(
            scratch,
            "[workspace]\nresolver = \"3\"\nmembers = [\n    \"core/abi\",\n    \"x\",\n]\n\n[profile.release]\nlto = \"thin\"\n"
        );
    }
}

//! Probing a new plugin build in a child process before the host opens it. A corrupt library
//! can crash inside `dlopen` (its relocations and initialisers run there) or in its first
//! call, where no check on the file can reach; a child process that crashes costs nothing.
//!
//! The child is a command the application names ([`ProbeCommand`]: for the CLI, its own
//! executable with a hidden subcommand), given the shadow copy's path as its last argument.
//! It opens, validates and self-tests the file with [`crate::open_any_kind`] and
//! exits with 0 when the build loaded, [`REFUSED_EXIT_CODE`] when it was refused with an
//! error (printed as the last line of its standard error, `error: FILE: problem`), anything
//! else when it crashed. The parent never opens a build its probe did not load: it reports
//! the probe's error under the plugin's own path, since a corrupt build need not fail the
//! same way twice and may crash the second time. A build that passed leaves a marker named by its SHA-256 in the cache, so only
//! new builds pay for a probe. Loaders without a probe command (library users, tests, and
//! loaders of signed update artifacts) open files directly.

use crate::PluginError;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The exit code of a probe that refused the file with an error (without crashing).
pub const REFUSED_EXIT_CODE: i32 = 3;

/// How many probe markers the cache keeps (each an empty file); the oldest go first.
const KEEP_MARKERS: usize = 256;

/// A command that probes a plugin file given as its last argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// How long a probe may take before it counts as hung (and is killed).
    pub timeout: Duration,
}

impl ProbeCommand {
    /// `program args… FILE`, with a 10-second limit: a probe loads the file and runs its
    /// self-test, which takes milliseconds; a plugin whose loading never returns costs the
    /// caller at most that long.
    pub fn new(program: impl Into<PathBuf>, args: &[&str]) -> ProbeCommand {
        ProbeCommand {
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
            timeout: Duration::from_secs(10),
        }
    }
}

static DEFAULT: OnceLock<ProbeCommand> = OnceLock::new();

/// Sets the probe command every [`Loader`](crate::Loader) made afterwards in this process
/// uses unless told otherwise. Only the first call has an effect; returns whether it did.
pub fn set_default(command: ProbeCommand) -> bool {
    DEFAULT.set(command).is_ok()
}

pub(crate) fn default_command() -> Option<ProbeCommand> {
    DEFAULT.get().cloned()
}

/// Probes `shadow` (a copy of `source` whose SHA-256 is `sha256`) unless a marker says this
/// build passed before. `Ok` means the parent may open it.
pub(crate) fn probe(
    command: &ProbeCommand,
    cache_dir: &Path,
    source: &Path,
    shadow: &Path,
    sha256: &str,
) -> Result<(), PluginError> {
    let markers = cache_dir.join("probed");
    let marker = markers.join(sha256);
    if marker.is_file() {
        return Ok(());
    }
    match run(command, shadow).map_err(|detail| PluginError::ProbeFailed {
        path: source.into(),
        detail,
    })? {
        Verdict::Loaded => {
            record(&markers, &marker);
            Ok(())
        }
        Verdict::Refused(stderr) => Err(PluginError::ProbeRefused {
            path: source.into(),
            problem: refusal(&stderr, shadow),
        }),
    }
}

/// What a probe that did not crash found.
enum Verdict {
    Loaded,
    /// Refused with an error: the probe's standard error.
    Refused(String),
}

/// The problem a refusing probe printed (`error: SHADOW: problem`) without the shadow
/// copy's name, which means nothing to the user.
fn refusal(stderr: &str, shadow: &Path) -> String {
    let line = last_line(stderr).unwrap_or("no reason given");
    let line = line.strip_prefix("error: ").unwrap_or(line);
    let named = format!("{}: ", shadow.display());
    line.strip_prefix(named.as_str()).unwrap_or(line).to_owned()
}

/// Runs the probe on `file`; `Err` describes a crash, a hang or a probe that did not run.
fn run(command: &ProbeCommand, file: &Path) -> Result<Verdict, String> {
    let mut child = Command::new(&command.program)
        .args(&command.args)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run {}: {error}", command.program.display()))?;
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    });
    // On a timeout the reader is left behind: a grandchild may still hold the pipe open.
    let status = wait(&mut child, command.timeout)?;
    let stderr = reader.join().unwrap_or_default();
    match status.code() {
        Some(0) => Ok(Verdict::Loaded),
        Some(REFUSED_EXIT_CODE) => Ok(Verdict::Refused(stderr)),
        _ => Err(format!(
            "{}{}",
            describe(status),
            telling_line(&stderr)
                .map(|l| format!(": {l}"))
                .unwrap_or_default()
        )),
    }
}

/// Waits for `child`, killing it after `timeout`.
fn wait(child: &mut Child, timeout: Duration) -> Result<ExitStatus, String> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(100);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("it did not finish within {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(pause),
            Err(error) => return Err(format!("cannot wait for it: {error}")),
        }
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

/// "it was killed by signal 11 (SIGSEGV)", "it exited with status 101".
fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("it was killed by signal {signal}{}", signal_name(signal));
        }
    }
    match status.code() {
        Some(code) => format!("it exited with status {code}"),
        None => "it ended without a status".to_owned(),
    }
}

#[cfg(unix)]
fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGBUS => " (SIGBUS)",
        libc::SIGILL => " (SIGILL)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGFPE => " (SIGFPE)",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGTRAP => " (SIGTRAP)",
        _ => "",
    }
}

/// The last line of a crashed probe's error output that says what happened: the runtime's
/// advice that follows a panic or an abort (`note: run with RUST_BACKTRACE=1 ...`) and a
/// backtrace's frames say nothing about the file.
fn telling_line(text: &str) -> Option<&str> {
    let telling = |line: &&str| {
        !line.is_empty()
            && !line.starts_with("note: ")
            && !line.starts_with("stack backtrace:")
            && !line.starts_with("at ")
            && line
                .split_once(": ")
                .is_none_or(|(frame, _)| frame.parse::<u32>().is_err())
    };
    text.lines()
        .rev()
        .map(str::trim)
        .find(telling)
        .or_else(|| last_line(text))
}

fn last_line(text: &str) -> Option<&str> {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
}

/// Leaves the marker of a build that passed, and drops the oldest beyond [`KEEP_MARKERS`].
/// Best effort: without a marker the next load probes again.
fn record(markers: &Path, marker: &Path) {
    if std::fs::create_dir_all(markers).is_err() || std::fs::File::create(marker).is_err() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(markers) else {
        return;
    };
    let mut all: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .collect();
    if all.len() > KEEP_MARKERS {
        all.sort_by_key(|entry| std::cmp::Reverse(entry.0));
        for (_, old) in all.into_iter().skip(KEEP_MARKERS) {
            let _ = std::fs::remove_file(old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn shell(script: &str) -> ProbeCommand {
        let mut command = ProbeCommand::new("/bin/sh", &["-c", script, "probe"]);
        command.timeout = Duration::from_secs(5);
        command
    }

    #[cfg(unix)]
    #[test]
    fn a_probe_killed_by_a_signal_is_a_refusal_naming_it() {
        let error = run(&shell("echo loading >&2; kill -SEGV $$"), Path::new("x.so"))
            .err()
            .unwrap();
        assert_eq!(error, "it was killed by signal 11 (SIGSEGV): loading");
    }

    #[cfg(unix)]
    #[test]
    fn an_aborted_probe_is_named_by_its_cause_not_the_runtimes_advice() {
        let script = "echo 'memory allocation of 16 bytes failed' >&2; \
                      echo 'note: run with `RUST_BACKTRACE=1` for a backtrace' >&2; kill -ABRT $$";
        let error = run(&shell(script), Path::new("x.so")).err().unwrap();
        assert_eq!(
            error,
            "it was killed by signal 6 (SIGABRT): memory allocation of 16 bytes failed"
        );
    }

    #[cfg(unix)]
    #[test]
    fn exit_codes_say_loaded_refused_or_failed() {
        let file = Path::new("x.so");
        assert!(matches!(run(&shell("exit 0"), file), Ok(Verdict::Loaded)));
        assert!(matches!(
            run(&shell("exit 3"), file),
            Ok(Verdict::Refused(_))
        ));
        assert_eq!(
            run(&shell("exit 127"), file).err().unwrap(),
            "it exited with status 127"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_hung_probe_is_killed_after_its_timeout() {
        let mut command = shell("sleep 30");
        command.timeout = Duration::from_millis(200);
        let start = Instant::now();
        let error = run(&command, Path::new("x.so")).err().unwrap();
        assert_eq!(error, "it did not finish within 0 s");
        assert!(start.elapsed() < Duration::from_secs(20));
    }

    #[cfg(unix)]
    #[test]
    fn a_passed_build_is_not_probed_again() {
        let cache = tempfile::tempdir().unwrap();
        let counter = cache.path().join("runs");
        let script = format!("echo run >> {}", counter.display());
        let (source, shadow) = (Path::new("a.so"), Path::new("b.so"));
        for _ in 0..3 {
            probe(&shell(&script), cache.path(), source, shadow, "ab12").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&counter).unwrap(), "run\n");
        assert!(cache.path().join("probed/ab12").is_file());
    }

    #[cfg(unix)]
    #[test]
    fn a_refused_build_is_reported_with_the_probes_error_under_the_plugins_path() {
        let cache = tempfile::tempdir().unwrap();
        let script = "echo 'error: /cache/s.so: self-test failed: 2 + 2 gave 5' >&2; exit 3";
        let (source, shadow) = (Path::new("p.so"), Path::new("/cache/s.so"));
        let error = probe(&shell(script), cache.path(), source, shadow, "cd34").unwrap_err();
        assert_eq!(error.to_string(), "p.so: self-test failed: 2 + 2 gave 5");
        assert!(!cache.path().join("probed/cd34").exists());
        let silent = probe(&shell("exit 3"), cache.path(), source, shadow, "cd34").unwrap_err();
        assert_eq!(silent.to_string(), "p.so: no reason given");
    }

    #[test]
    fn a_missing_probe_program_is_an_error_naming_it() {
        let cache = tempfile::tempdir().unwrap();
        let command = ProbeCommand::new("/no/such/probe", &[]);
        let error = probe(
            &command,
            cache.path(),
            Path::new("p.so"),
            Path::new("s.so"),
            "00",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("p.so: the probe process refused it: cannot run /no/such/probe"),
            "{error}"
        );
    }
}

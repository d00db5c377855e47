//! Running a process that may hang: the one helper that gives a command built with
//! `xshell::cmd!` a time limit (xshell has none). It knows nothing of what it runs.

use anyhow::Context;
use std::io::Read;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `command`, collecting both output streams, and kills it after `limit`. The exit
/// status is the caller's to judge.
pub fn output_within(command: xshell::Cmd<'_>, limit: Duration) -> anyhow::Result<Output> {
    let mut command = std::process::Command::from(command);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {command:?}"))?;
    let stdout = drain(child.stdout.take().context("stdout is not piped")?);
    let stderr = drain(child.stderr.take().context("stderr is not piped")?);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().context("cannot wait for the process")? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("{command:?} did not finish within {}s", limit.as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Reads `stream` to its end on a thread of its own, so a full pipe never blocks the child.
fn drain(mut stream: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        bytes
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xshell::{Shell, cmd};

    #[test]
    fn a_process_that_finishes_gives_its_output_and_status() {
        let sh = Shell::new().unwrap();
        let output = output_within(
            cmd!(sh, "sh -c 'echo out; echo err >&2; exit 3'"),
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(output.stdout, b"out\n");
        assert_eq!(output.stderr, b"err\n");
        assert_eq!(output.status.code(), Some(3));
    }

    #[test]
    fn a_process_past_its_limit_is_killed_and_named() {
        let sh = Shell::new().unwrap();
        let error = output_within(cmd!(sh, "sleep 30"), Duration::from_millis(200))
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"sleep\" \"30\""), "{error}");
        assert!(error.ends_with("did not finish within 0.2s"), "{error}");
    }
}

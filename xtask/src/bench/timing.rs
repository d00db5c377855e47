//! Commands timed whole process, wall time from start to exit, each run in turn so that a
//! change in the machine's load reaches all of them alike.

use super::results::Spread;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One command: a binary and its arguments.
#[derive(Clone)]
pub struct Timed {
    binary: PathBuf,
    args: Vec<String>,
}

impl Timed {
    pub fn new(binary: &Path, args: &[&str]) -> Timed {
        Timed {
            binary: binary.to_owned(),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        }
    }

    /// Wall time of one run, which must succeed, in milliseconds.
    fn time_ms(&self) -> anyhow::Result<f64> {
        let started = Instant::now();
        let output = Command::new(&self.binary)
            .args(&self.args)
            .output()
            .with_context(|| format!("cannot run {}", self.binary.display()))?;
        let elapsed = started.elapsed().as_secs_f64() * 1e3;
        anyhow::ensure!(
            output.status.success(),
            "{} {} failed: {}",
            self.binary.display(),
            self.args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(elapsed)
    }
}

/// `runs` runs of each command, alternating; the spread of each, in order.
pub fn alternately(commands: &[Timed], runs: usize) -> anyhow::Result<Vec<Spread>> {
    let mut samples = vec![Vec::with_capacity(runs); commands.len()];
    for _ in 0..runs {
        for (command, samples) in commands.iter().zip(&mut samples) {
            samples.push(command.time_ms()?);
        }
    }
    Ok(samples.iter().map(|samples| Spread::of(samples)).collect())
}

//! `cargo xtask soak`: runs the soak probe (`benches/src/bin/soak.rs`: swaps under calling
//! threads, a broken build every tenth swap) and judges its report against the bounds a
//! long-running host must keep. Runs of 100,000 swaps or more are kept in
//! `results/soak/latest.json` (beside, not among, the bench runs).

use crate::flags;
use anyhow::{Context, bail};
use serde::Deserialize;
use xshell::{Shell, cmd};

/// Growth of resident memory allowed between the end of the warm-up and the end.
const MAX_RSS_GROWTH_BYTES: u64 = 10 << 20;
/// Plugin images mapped at the end: the serving version, the last-known-good one and at most
/// one retired version still held by a calling thread.
const MAX_MAPPED_IMAGES: usize = 3;
/// Open file descriptors allowed beyond those at the start.
const MAX_FD_GROWTH: usize = 4;
/// The shadow cache holds the three rotated builds and the refused one after the warm-up;
/// it may not grow past this many times that size.
const MAX_CACHE_GROWTH_FACTOR: u64 = 2;

#[derive(Deserialize)]
struct Report {
    swaps: u64,
    refused: u64,
    retired: u64,
    seconds: f64,
    calls: u64,
    wrong: u64,
    failed: u64,
    start: Resources,
    end: Resources,
}

#[derive(Deserialize)]
struct Resources {
    rss_bytes: u64,
    open_fds: usize,
    mapped_images: usize,
    cache_bytes: u64,
}

impl flags::Soak {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let cargo = crate::toolchain::cargo();
        let path = sh.current_dir().join("target/soak/report.json");
        std::fs::create_dir_all(path.parent().expect("a parent directory"))?;
        let (swaps, threads) = (self.swaps.to_string(), self.threads.to_string());
        println!("== soak: {swaps} swaps under {threads} calling threads");
        cmd!(
            sh,
            "{cargo} run --quiet --release -p fastforth-benches --bin soak --
             --swaps {swaps} --threads {threads} --report {path}"
        )
        .ignore_stdout()
        .run()
        .context("the soak probe failed")?;
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let report: Report = serde_json::from_str(&text).context("cannot parse the soak report")?;
        print_report(&report);
        if self.swaps >= flags::RECORDED_SWAPS {
            let kept = sh.current_dir().join("results/soak/latest.json");
            std::fs::write(&kept, &text)
                .with_context(|| format!("cannot write {}", kept.display()))?;
            println!("recorded in {}", kept.display());
        }
        check_bounds(&report)
    }
}

fn print_report(report: &Report) {
    let mib = |bytes: u64| bytes as f64 / f64::from(1 << 20);
    println!(
        "swaps {} (refused {}, retired {}) in {:.1} s; calls {}, wrong {}, failed {}",
        report.swaps,
        report.refused,
        report.retired,
        report.seconds,
        report.calls,
        report.wrong,
        report.failed
    );
    println!("| | start | end |\n|---|---|---|");
    let (start, end) = (&report.start, &report.end);
    println!(
        "| RSS (MiB) | {:.1} | {:.1} |",
        mib(start.rss_bytes),
        mib(end.rss_bytes)
    );
    println!(
        "| open descriptors | {} | {} |",
        start.open_fds, end.open_fds
    );
    println!(
        "| mapped plugin images | {} | {} |",
        start.mapped_images, end.mapped_images
    );
    println!(
        "| shadow cache (MiB) | {:.2} | {:.2} |",
        mib(start.cache_bytes),
        mib(end.cache_bytes)
    );
}

fn check_bounds(report: &Report) -> anyhow::Result<()> {
    let (start, end) = (&report.start, &report.end);
    let mut broken = Vec::new();
    if report.wrong > 0 || report.failed > 0 {
        broken.push(format!(
            "{} wrong and {} failed calls (expected 0)",
            report.wrong, report.failed
        ));
    }
    if report.refused != report.swaps / 10 {
        broken.push(format!(
            "{} broken builds refused, expected {}",
            report.refused,
            report.swaps / 10
        ));
    }
    if report.swaps >= 10 && report.retired == 0 {
        broken.push("no version was ever retired".to_owned());
    }
    let growth = end.rss_bytes.saturating_sub(start.rss_bytes);
    if growth >= MAX_RSS_GROWTH_BYTES {
        broken.push(format!(
            "RSS grew by {growth} bytes (bound {MAX_RSS_GROWTH_BYTES})"
        ));
    }
    if end.mapped_images > MAX_MAPPED_IMAGES {
        broken.push(format!(
            "{} plugin images mapped at the end (bound {MAX_MAPPED_IMAGES})",
            end.mapped_images
        ));
    }
    if end.open_fds > start.open_fds + MAX_FD_GROWTH {
        broken.push(format!(
            "open descriptors went from {} to {}",
            start.open_fds, end.open_fds
        ));
    }
    if end.cache_bytes > start.cache_bytes.max(1) * MAX_CACHE_GROWTH_FACTOR {
        broken.push(format!(
            "the shadow cache grew from {} to {} bytes",
            start.cache_bytes, end.cache_bytes
        ));
    }
    if broken.is_empty() {
        println!("soak bounds kept");
        return Ok(());
    }
    bail!("soak bounds broken:\n- {}", broken.join("\n- "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(adjust: impl FnOnce(&mut Report)) -> Report {
        let resources = || Resources {
            rss_bytes: 4 << 20,
            open_fds: 6,
            mapped_images: 2,
            cache_bytes: 1 << 20,
        };
        let mut report = Report {
            swaps: 1000,
            refused: 100,
            retired: 400,
            seconds: 10.0,
            calls: 1_000_000,
            wrong: 0,
            failed: 0,
            start: resources(),
            end: resources(),
        };
        adjust(&mut report);
        report
    }

    #[test]
    fn a_clean_run_keeps_the_bounds() {
        check_bounds(&report(|_| {})).unwrap();
    }

    /// Breaks one bound of a clean report.
    type Breach = fn(&mut Report);

    #[test]
    fn each_broken_bound_is_named() {
        let cases: [(Breach, &str); 6] = [
            (|r| r.failed = 1, "failed calls"),
            (|r| r.refused = 99, "broken builds refused"),
            (|r| r.end.rss_bytes += 10 << 20, "RSS grew"),
            (|r| r.end.mapped_images = 4, "plugin images mapped"),
            (|r| r.end.open_fds = 11, "open descriptors"),
            (|r| r.end.cache_bytes = 3 << 20, "shadow cache grew"),
        ];
        for (adjust, expected) in cases {
            let error = check_bounds(&report(adjust)).unwrap_err().to_string();
            assert!(error.contains(expected), "{expected:?} not in {error:?}");
        }
    }
}

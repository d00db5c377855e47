//! `cargo xtask sanitize`: runs the host's swap, retirement and under-load tests under
//! AddressSanitizer and ThreadSanitizer (nightly `-Zsanitizer`, with `-Zbuild-std` so std is
//! instrumented too). The plugins those tests load are built without a sanitizer by the
//! tests themselves; the host side, where swapping and retirement happen, is instrumented.

use crate::flags;
use anyhow::Context;
use xshell::{Shell, cmd};

/// The host tests that exercise concurrent calls, swaps and retirement.
const TESTS: [&str; 3] = ["swap", "retirement", "under_load"];

/// The one triple the sanitizers run on here.
const TRIPLE: &str = "x86_64-unknown-linux-gnu";

impl flags::Sanitize {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        require_nightly_with_source(sh)?;
        let sanitizers = if self.sanitizers.is_empty() {
            vec!["address".to_owned(), "thread".to_owned()]
        } else {
            self.sanitizers
        };
        for sanitizer in &sanitizers {
            run_under(sh, sanitizer)?;
        }
        println!("\nsanitizers clean: {}", sanitizers.join(", "));
        Ok(())
    }
}

fn run_under(sh: &Shell, sanitizer: &str) -> anyhow::Result<()> {
    println!(
        "\n== host tests under the {sanitizer} sanitizer: {}",
        TESTS.join(", ")
    );
    let rustflags = format!("target.{TRIPLE}.rustflags=[\"-Zsanitizer={sanitizer}\"]");
    // Unoptimised instrumented code makes a thousand swaps take minutes (SHA-256 alone).
    let optimise = "profile.dev.opt-level=1";
    let target_dir = sh.current_dir().join("target/sanitize").join(sanitizer);
    let tests = TESTS.iter().flat_map(|test| ["--test", test]);
    let suppressions = sh.current_dir().join("xtask/sanitize/tsan.supp");
    let _options = [
        sh.push_env("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0"),
        sh.push_env(
            "TSAN_OPTIONS",
            format!("halt_on_error=1:suppressions={}", suppressions.display()),
        ),
    ];
    cmd!(
        sh,
        "rustup run nightly cargo test -Zbuild-std --target {TRIPLE} --target-dir {target_dir}
         --config {rustflags} --config {optimise} -p fastforth-host {tests...}"
    )
    .run()
    .with_context(|| format!("the host tests fail under the {sanitizer} sanitizer"))
}

fn require_nightly_with_source(sh: &Shell) -> anyhow::Result<()> {
    let components = cmd!(sh, "rustup component list --installed --toolchain nightly")
        .quiet()
        .read()
        .context("the nightly toolchain is needed: `rustup toolchain install nightly`")?;
    anyhow::ensure!(
        components.lines().any(|line| line.starts_with("rust-src")),
        "nightly's std source is needed for -Zbuild-std: `rustup component add rust-src --toolchain nightly`"
    );
    Ok(())
}

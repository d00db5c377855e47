//! The `cargo xtask` alias builds xtask without default features; a command whose
//! dependencies sit behind a feature reruns xtask with it and keeps its exit code.

mod common;

use common::root;
use std::process::Command;

#[test]
fn a_command_behind_a_feature_reruns_with_it_and_keeps_its_exit_code() {
    let junk = common::scratch("relaunch").join("junk.so");
    std::fs::write(&junk, b"not a library").unwrap();
    let output = Command::new(env!("CARGO"))
        .args([
            "run",
            "--quiet",
            "--package",
            "xtask",
            "--no-default-features",
            "--",
        ])
        .args(["verify-symbols", "--target", "x86_64-unknown-linux-gnu"])
        .arg(&junk)
        .current_dir(root())
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stdout.ends_with(
            "verify-symbols: 0 artifact(s), 0 passed, 0 failed, 0 skipped, 1 error(s)\n"
        ),
        "{stdout}{stderr}"
    );
    assert!(
        stderr.contains("junk.so: cannot tell which plugin it is"),
        "{stderr}"
    );
}

//! The one error type of the updater: every way an update, a check, a recovery or a
//! rollback can fail, each message naming the file or URL and what was expected against what
//! was found. Every error is raised before anything installed changes, or after it was put
//! back.

use fastforth_host::PluginError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("no update channel: expected `--channel URL` or a channel stored in {}", state.display())]
    NoChannel { state: PathBuf },

    #[error("channel {url}: {problem}")]
    BadChannel { url: String, problem: String },

    #[error("cannot fetch {url}: {message}")]
    Fetch { url: String, message: String },

    #[error("cannot fetch {url}: not found")]
    Missing { url: String },

    #[error("{url}: more than {limit} bytes, expected at most {limit}: download stopped")]
    TooLarge { url: String, limit: u64 },

    #[error("{url}: got {found} bytes, expected {expected}: the download ended early")]
    Truncated {
        url: String,
        expected: u64,
        found: u64,
    },

    #[error("{url}: sha256 is {found}, expected {expected}")]
    HashMismatch {
        url: String,
        expected: String,
        found: String,
    },

    #[error("{url}: {problem}")]
    Patch { url: String, problem: String },

    #[error("{what}: {problem}")]
    KeyFormat { what: String, problem: String },

    #[error("manifest signed with key {found}, expected one of the trusted keys {}", trusted.join(", "))]
    UntrustedKey { found: String, trusted: Vec<String> },

    #[error(
        "manifest signature does not verify with trusted key {key_id}: the manifest or its signature was altered"
    )]
    BadSignature { key_id: String },

    #[error("{what}: {valid} valid signature(s) from trusted keys, expected at least {threshold} of [{}]", trusted.join(", "))]
    ThresholdNotMet {
        what: String,
        valid: usize,
        threshold: usize,
        trusted: Vec<String>,
    },

    #[error("{what}: {problem}")]
    Root { what: String, problem: String },

    #[error("manifest schema is {found}, expected {expected}")]
    UnknownSchema { expected: String, found: String },

    #[error("manifest: {problem}")]
    Manifest { problem: String },

    #[error(
        "manifest is for channel `{found}`, expected `{expected}` (the channel {url}): refusing a manifest from another channel"
    )]
    WrongChannel {
        url: String,
        expected: String,
        found: String,
    },

    #[error("manifest expired at {expires}, the update started at {now}")]
    Expired { expires: String, now: String },

    #[error(
        "manifest expired at {expires}: this host already saw {seen}, so its clock ({now}) was set back"
    )]
    ClockBehind {
        expires: String,
        seen: String,
        now: String,
    },

    #[error(
        "manifest issued at {issued}, before {seen}, when an installed manifest was issued: refusing to go back"
    )]
    IssuedBeforeSeen { issued: String, seen: String },

    #[error(
        "manifest issued at {issued}, after this host's clock ({now}): the publisher's clock or this host's is wrong"
    )]
    IssuedInTheFuture { issued: String, now: String },

    #[error(
        "manifest_version is {found}, expected more than the installed {stored}: refusing to go back to an older release"
    )]
    OlderManifest { stored: u64, found: u64 },

    #[error(
        "manifest_version jumps from {stored} to {found}, expected a jump of at most {max_jump}"
    )]
    VersionJump {
        stored: u64,
        found: u64,
        max_jump: u64,
    },

    #[error("manifest is for plugin ABI version {found}, expected {expected}")]
    AbiMismatch { expected: u32, found: u32 },

    #[error("manifest names no plugin this host manages: expected one of [{}], found [{}]", managed.join(", "), found.join(", "))]
    NothingManaged {
        managed: Vec<String>,
        found: Vec<String>,
    },

    #[error("plugin `{plugin}` has no build for {expected}, found builds for [{}]", found.join(", "))]
    NoBuildForTarget {
        plugin: String,
        expected: String,
        found: Vec<String>,
    },

    /// `what` is `build` or `patch`.
    #[error(
        "the manifest declares a {what} of {found} bytes for plugin `{plugin}`, expected at most {limit}"
    )]
    DeclaredTooLarge {
        plugin: String,
        what: &'static str,
        limit: u64,
        found: u64,
    },

    /// The OS error is part of the message, not a source, so that it is printed once.
    #[error("cannot write {}: {error}", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("cannot read {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },

    /// The check's error is part of the message, not a source, so that it is printed once.
    #[error("plugin `{plugin}` failed its checks: {error}")]
    Plugin {
        plugin: String,
        error: Box<PluginError>,
    },

    #[error(
        "plugin `{plugin}`: the manifest promises `{plugin}` {expected_version}, the file is `{found_name}` {found_version}"
    )]
    WrongPlugin {
        plugin: String,
        expected_version: String,
        found_name: String,
        found_version: String,
    },

    #[error(
        "plugin `{plugin}`: the bytes loaded from {} have sha256 {found}, expected {expected}: the file changed after it was checked",
        path.display()
    )]
    ChangedAfterCheck {
        plugin: String,
        path: PathBuf,
        expected: String,
        found: String,
    },

    #[error("{}: {problem}", path.display())]
    State { path: PathBuf, problem: String },

    #[error(
        "{}: {problem} as recorded when it was installed: refusing to load a changed plugin file",
        path.display()
    )]
    InstalledChanged { path: PathBuf, problem: String },

    #[error("{} is held by another update; waited {waited_ms} ms", path.display())]
    Locked { path: PathBuf, waited_ms: u128 },

    #[error(
        "an update awaits confirmation ({}): confirm it or restart to roll it back",
        path.display()
    )]
    Pending { path: PathBuf },

    #[error(
        "manifest_version {manifest_version} was rolled back {times} times because the process died before confirming it: waiting for a newer release"
    )]
    Abandoned { manifest_version: u64, times: u32 },

    #[error("plugin `{plugin}` has no previous version to roll back to")]
    NoPrevious { plugin: String },

    #[error("nothing is installed in {}", path.display())]
    NothingInstalled { path: PathBuf },
}

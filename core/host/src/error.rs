//! The one error type of the host: every way loading, validating, calling, swapping or
//! rolling back a plugin can fail, each message naming the file, the symbol or field, and
//! what was expected against what was found.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("{}: no such file", path.display())]
    NotFound { path: PathBuf },

    #[error("{}: not a regular file: found {found}, expected a plugin library file", path.display())]
    NotARegularFile { path: PathBuf, found: &'static str },

    #[error(
        "{}: {size} bytes, larger than the {max}-byte cap on plugin files",
        path.display()
    )]
    TooLarge { path: PathBuf, size: u64, max: u64 },

    /// The OS error is part of the message, not a `source`, so it is printed once.
    #[error("{}: cannot read: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("{}: empty file, expected a shared library", path.display())]
    Empty { path: PathBuf },

    #[error("{}: not a shared library: expected ELF, PE or Mach-O, found {found}", path.display())]
    NotALibrary { path: PathBuf, found: String },

    #[error("{}: malformed {format} file: {detail}", path.display())]
    Malformed {
        path: PathBuf,
        format: String,
        detail: String,
    },

    #[error("{}: built for {found}, expected {expected}", path.display())]
    WrongArchitecture {
        path: PathBuf,
        expected: String,
        found: String,
    },

    #[error("{}: does not export `{symbol}`, so it is not a FastForth plugin", path.display())]
    MissingDescriptor { path: PathBuf, symbol: &'static str },

    #[error(
        "{}: needs the Rust runtime `{needed}` ({needed_rustc}), but this fastforth runs plugins on `{expected}` ({expected_rustc}): rebuild the plugin with this fastforth's toolchain",
        path.display()
    )]
    ForeignRuntime {
        path: PathBuf,
        needed: String,
        needed_rustc: String,
        expected: String,
        expected_rustc: String,
    },

    #[error(
        "{}: needs the Rust runtime `{runtime}`, which is neither next to it in {} nor next to this program nor in the plugin cache",
        path.display(),
        dir.display()
    )]
    RuntimeMissing {
        path: PathBuf,
        runtime: String,
        dir: PathBuf,
    },

    #[error("{}: the dynamic loader refused it: {message}", path.display())]
    Open { path: PathBuf, message: String },

    /// Another process's loader evicted the copy between its placing and its opening (it
    /// keeps the newest copies of a file name); [`crate::Loader::load`] places it again.
    #[error(
        "{}: its copy {} was removed by another process before it was opened",
        path.display(),
        shadow.display()
    )]
    CopyEvicted { path: PathBuf, shadow: PathBuf },

    #[error("{}: `{symbol}` returned a null descriptor", path.display())]
    NullDescriptor { path: PathBuf, symbol: &'static str },

    #[error("{}: descriptor magic is {found:?}, expected {expected:?}", path.display())]
    BadMagic {
        path: PathBuf,
        expected: String,
        found: String,
    },

    #[error("{}: plugin ABI version is {found}, expected {expected}", path.display())]
    AbiVersion {
        path: PathBuf,
        expected: u32,
        found: u32,
    },

    #[error(
        "{}: layout hash is {found:#018x}, expected {expected:#018x}: built against a different fastforth-abi",
        path.display()
    )]
    LayoutHash {
        path: PathBuf,
        expected: u64,
        found: u64,
    },

    #[error(
        "{}: the stage speaks IR version {found}, this host's engine speaks {expected}; rebuild the stage against this engine",
        path.display()
    )]
    IrVersion {
        path: PathBuf,
        expected: u32,
        found: u32,
    },

    #[error("{}: plugin kind is {found}, expected {expected}", path.display())]
    WrongKind {
        path: PathBuf,
        expected: String,
        found: String,
    },

    #[error("{}: descriptor field `{field}` is invalid: {problem}", path.display())]
    BadField {
        path: PathBuf,
        field: &'static str,
        problem: String,
    },

    #[error("{}: descriptor field `{field}` points outside the plugin: {problem}", path.display())]
    OutsideImage {
        path: PathBuf,
        field: &'static str,
        problem: String,
    },

    #[error("{}: the probe process refused it: {detail}", path.display())]
    ProbeFailed { path: PathBuf, detail: String },

    /// The probe process opened the build and refused it with this problem; the host did
    /// not open it.
    #[error("{}: {problem}", path.display())]
    ProbeRefused { path: PathBuf, problem: String },

    #[error("{}: function table entry `{function}` is null", path.display())]
    MissingFunction {
        path: PathBuf,
        function: &'static str,
    },

    #[error("{}: self-test failed: {message}", path.display())]
    SelfTestFailed { path: PathBuf, message: String },

    #[error("{}: self-test panicked: {message}", path.display())]
    SelfTestPanicked { path: PathBuf, message: String },

    #[error("plugin `{plugin}` {version} panicked in `{function}`")]
    Panicked {
        plugin: String,
        version: String,
        function: &'static str,
    },

    #[error("plugin `{plugin}` {version}: `{function}` failed: {message}")]
    CallFailed {
        plugin: String,
        version: String,
        function: &'static str,
        message: String,
    },

    #[error("plugin `{plugin}` has no previous version to roll back to")]
    NoRollbackTarget { plugin: String },

    #[error("no plugin named `{name}` of kind {kind} is registered")]
    NotRegistered { name: String, kind: &'static str },

    #[error("plugin cache directory {}: {error}", path.display())]
    Cache {
        path: PathBuf,
        error: std::io::Error,
    },
}

//! Every command's flags, in one place (after rust-analyzer's `xtask/src/flags.rs`): one
//! struct per subcommand, whose module implements `run(self, sh)` on it. It declares what a
//! user can type; it knows nothing of what the commands do.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "FastForth workspace automation")]
pub struct Xtask {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    Bench(Bench),
    BuildAll(BuildAll),
    Demo(Demo),
    Dist(Dist),
    Fuzz(Fuzz),
    Keygen(Keygen),
    Release(Release),
    Root(Root),
    Sanitize(Sanitize),
    Setup(Setup),
    Soak(Soak),
    VerifySymbols(VerifySymbols),
}

/// Run the benchmarks and write `results/` (JSON, latest.md, latest.svg).
#[derive(clap::Args)]
pub struct Bench {
    /// Short warm-up and measurement, fewer sizes and repetitions (about 3 minutes); results
    /// go to target/bench/quick/ and are not meant to be committed.
    #[arg(long)]
    pub quick: bool,
    /// Only run the criterion benchmarks whose id matches this regular expression (the
    /// other measurements are skipped unless the pattern is empty).
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// Print each benchmark's change against an earlier results file from the same host,
    /// flagging the changes whose 95 % intervals do not overlap.
    #[arg(long, value_name = "FILE")]
    pub compare: Option<PathBuf>,
}

/// Build every plugin for every supported triple into `target/plugins/<triple>/`, with the
/// shared Rust runtime they link (static std on Windows).
#[derive(clap::Args)]
pub struct BuildAll {
    /// Build for this triple (repeatable; default: every triple in xtask/src/targets.rs)
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
    /// Build this plugin, by its directory name under plugins/ (repeatable; default: all)
    #[arg(long = "plugin", value_name = "NAME")]
    pub plugins: Vec<String>,
    /// Cargo profile to build with (release artifacts are stripped)
    #[arg(long, value_enum, default_value_t = Profile::Release)]
    pub profile: Profile,
    /// Also load every artifact through the host's checks and call it, on each triple
    /// that runs here (natively, under qemu-user or under Wine)
    #[arg(long)]
    pub load_check: bool,
}

/// The cargo profile `build-all` builds with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    Release,
    Dev,
}

/// Build the plugins, then run `plugin_test`, `hotswap_demo`, `engine_swap_demo`, a Forth
/// program, the same program compiled ahead of time to a native plugin, and interpreted
/// code calling the compiled word (mixed mode).
#[derive(clap::Args)]
pub struct Demo {}

/// Lay out dist/<triple>/ as installed: fastforth (dist profile), the shared Rust runtime,
/// the first-party plugins and their index.json
#[derive(clap::Args)]
pub struct Dist {
    /// Build for this triple (default: this machine's)
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,
}

/// Run every fuzz target (or those named) for a bounded time or number of executions; exit
/// non-zero on any finding.
#[derive(clap::Args)]
pub struct Fuzz {
    /// Seconds per target [default: 60].
    #[arg(long, conflicts_with = "runs")]
    pub seconds: Option<u64>,
    /// Executions per target instead of a time bound (libFuzzer's -runs), e.g. 10000000.
    #[arg(long)]
    pub runs: Option<u64>,
    /// Only this target (repeatable); default: every target `cargo fuzz list` names.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
}

/// Make a signing key pair: DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub; a release
/// key (online) or, with --name root-1 and so on, an offline root key for `cargo xtask root`
#[derive(clap::Args)]
pub struct Keygen {
    /// Directory to write the key pair to (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// File name stem of the pair
    #[arg(long, default_value = "release")]
    pub name: String,
}

/// Sign and publish build-all's artifacts into a static channel directory, with delta
/// patches from the last 3 builds of each released into that channel
#[derive(clap::Args)]
pub struct Release {
    /// The secret key file made by `cargo xtask keygen`
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Another release key to sign with too (repeatable), for a root whose release threshold
    /// is more than one
    #[arg(long = "cosign", value_name = "FILE")]
    pub cosign: Vec<PathBuf>,
    /// The channel directory to publish into (created if missing)
    #[arg(long, value_name = "DIR")]
    pub channel: PathBuf,
    /// Days until the manifest expires (clients refuse it afterwards; at most 90)
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub expires: u64,
    /// The publisher's state file, which counts each channel's manifest_version (default:
    /// the key file with the extension .state.json)
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// The build-all index to publish (default: target/plugins/index.json)
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// Publish only this plugin (repeatable; default: every indexed plugin)
    #[arg(long = "plugin", value_name = "NAME")]
    pub plugins: Vec<String>,
    /// Publish only this triple (repeatable; default: every indexed triple)
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
}

/// Make and sign root metadata: which keys sign releases, and which root keys may change that
#[derive(clap::Args)]
pub struct Root {
    #[command(subcommand)]
    pub action: RootAction,
}

#[derive(Subcommand)]
pub enum RootAction {
    /// Write DIR/root/<VERSION>.json, not yet signed
    New {
        /// The channel directory
        #[arg(long, value_name = "DIR")]
        channel: PathBuf,
        /// The root version (the first is 1; each next one is one more)
        #[arg(long, value_name = "N")]
        version: u64,
        /// A root public key file (repeatable); keep these keys offline
        #[arg(long = "root-key", value_name = "FILE", required = true)]
        root_keys: Vec<PathBuf>,
        /// How many root keys must sign the next root
        #[arg(long, value_name = "N", default_value_t = 1)]
        root_threshold: usize,
        /// A release public key file (repeatable): the keys that sign manifests
        #[arg(long = "release-key", value_name = "FILE", required = true)]
        release_keys: Vec<PathBuf>,
        /// How many release keys must sign a manifest
        #[arg(long, value_name = "N", default_value_t = 1)]
        release_threshold: usize,
    },
    /// Add a signature with KEY to DIR/root/<VERSION>.json.sig
    Sign {
        /// The channel directory
        #[arg(long, value_name = "DIR")]
        channel: PathBuf,
        /// The root version to sign
        #[arg(long, value_name = "N")]
        version: u64,
        /// A root secret key file (of root VERSION-1 or of root VERSION)
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
}

/// Run the host's concurrency tests under sanitizers; exit non-zero on any report.
#[derive(clap::Args)]
pub struct Sanitize {
    /// Only this sanitizer (`address` or `thread`, repeatable); default: both.
    #[arg(long = "sanitizer", value_name = "NAME", value_parser = ["address", "thread"])]
    pub sanitizers: Vec<String>,
}

/// Install the cross-building and load-check tools (rustup targets, Debian packages, Wine);
/// exit non-zero when anything is still missing.
#[derive(clap::Args)]
pub struct Setup {
    /// Only report what is missing; install nothing
    #[arg(long)]
    pub check: bool,
    /// Exit 0 even when a download (a rustup target, a Debian package) was refused; the
    /// report still lists it, and build-all skips what needs it
    #[arg(long)]
    pub allow_refused_downloads: bool,
}

/// Soak runs this long (the default) are recorded in `results/soak/`.
pub const RECORDED_SWAPS: u64 = 100_000;

/// Swap under load for a long time and check calls, memory, descriptors and mappings.
#[derive(clap::Args)]
pub struct Soak {
    /// Number of swaps.
    #[arg(long, default_value_t = RECORDED_SWAPS)]
    pub swaps: u64,
    /// Calling threads.
    #[arg(long, default_value_t = 4)]
    pub threads: usize,
}

/// Check the exports, imports and format of every built plugin against the committed
/// expectation files.
#[derive(clap::Args)]
pub struct VerifySymbols {
    /// Artifacts to check instead of those in build-all's index; each one's triple comes
    /// from `--target` or from the name of the folder it is in
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Check only this triple (repeatable)
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
    /// Rewrite the expectation files from the artifacts, then check
    #[arg(long)]
    pub bless: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Directory of the expectation files [default: xtask/expectations]
    #[arg(long, value_name = "DIR")]
    pub expectations: Option<PathBuf>,
}

/// How `verify-symbols` prints its results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

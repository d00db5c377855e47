//! Signed self-update of FastForth plugins: a channel publishes `manifest.json` and a
//! detached Ed25519 signature over its exact bytes; a host verifies the signature with keys
//! pinned at build time before it parses anything, refuses old, expired, foreign and
//! oversized releases, downloads at most the declared bytes into SHA-256, and only then lets
//! `fastforth-host` load, validate, self-test and hot-swap the new build. State is saved
//! atomically, a pending marker makes a crash between swap and confirmation roll back at the
//! next start, and a file lock keeps two updaters apart.
//!
//! It knows the host's loading path and the ABI version, but nothing of Forth, of the
//! command line, or of how plugins are built. The release side ([`release`]) shares the
//! manifest and signature formats so the two cannot drift.

mod error;
mod fetch;
#[cfg(feature = "http")]
mod http;
pub mod keys;
pub mod manifest;
pub mod patch;
pub mod release;
pub mod root;
mod slots;
pub mod state;
pub mod time;
#[cfg(feature = "tls")]
mod tls;
mod transfer;
mod updater;

pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use error::UpdateError;
pub use fetch::{NoProgress, Progress};
pub use keys::TrustedKeys;
pub use manifest::Manifest;
pub use release::{Release, ReleaseArtifact};
pub use root::Root;
pub use slots::{HotSlot, Slot, Slots, load_verified};
pub use state::{Abandoned, Installed, Pending, PluginState, SetAside, State};
pub use updater::{
    Change, Confirm, Download, HOST_TARGET, Outcome, Recovery, Updater, UpdaterConfig,
    installed_file_name,
};

/// Lower-case hex SHA-256 of `bytes` (the form manifests carry).
fn shadow_sha256(bytes: &[u8]) -> String {
    fastforth_host::shadow::sha256_hex(bytes)
}

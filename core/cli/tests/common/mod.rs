//! What the CLI tests that compile natively share: the native backend stage plugin.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The native backend stage plugin, built once per test process (against the shared
/// runtime, as shipped; cargo's development build beside the binary need not exist).
pub fn backend_plugin() -> PathBuf {
    fastforth_plugin_build::built_once("fastforth-backend-plugin", &[])
}

/// `backend=FILE` for `--stage`: [`backend_plugin`].
pub fn backend_stage() -> &'static str {
    static STAGE: OnceLock<String> = OnceLock::new();
    STAGE.get_or_init(|| format!("backend={}", backend_plugin().display()))
}

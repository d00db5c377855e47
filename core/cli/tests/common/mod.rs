//! What the CLI tests that compile natively share: the native backend stage plugin.

use std::sync::OnceLock;

/// `backend=FILE` for `--stage`: the native backend stage plugin, built once per test
/// process (`fastforth compile` finds none beside a binary that cargo built).
pub fn backend_stage() -> &'static str {
    static STAGE: OnceLock<String> = OnceLock::new();
    STAGE.get_or_init(|| {
        let plugin = fastforth_plugin_build::built_once("fastforth-backend-plugin", &[]);
        format!("backend={}", plugin.display())
    })
}

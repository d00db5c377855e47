//! What the `fastforth` binary shares with the demos (core/demos): the probe command.

/// The hidden `fastforth` subcommand that probes a plugin file (see `fastforth_host::probe`).
pub const PROBE_SUBCOMMAND: &str = "__probe";

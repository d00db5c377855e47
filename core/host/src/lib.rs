//! The FastForth plugin host: loads, validates, hot-swaps and retires native plugins.
//!
//! Loading follows one path, failing closed at every step with a [`PluginError`] that names
//! the file and what was expected against what was found:
//!
//! ```text
//! regular file, size cap  ─►  read + structural check (format, architecture, descriptor
//! export; ELF: segments, dynamic section, relocations and symbol tables within the file)
//! ─►  the Rust runtime it needs is this host's, copied into the cache and kept open
//! ─►  content-addressed shadow copy (temp file, made ahead while swapping; rename)  ─►  probe in a child process
//! (new builds only, when configured)  ─►  dlopen RTLD_NOW|RTLD_LOCAL  ─►  descriptor:
//! in the library's image, magic, ABI version, layout hash, kind, name, version, every
//! pointer in the library's data or code, no null function  ─►  self-test
//! ─►  ArcSwap::store  ─►  previous kept as last-known-good  ─►  retired (shutdown, close)
//!     when its last in-flight call returns
//! ```
//!
//! It knows the ABI (`fastforth-abi`) and the example kind, but nothing of Forth (the Forth
//! kinds and sessions are `fastforth-session`'s) or of where plugin files come from.

mod elf;
mod error;
pub mod hotswap;
mod image;
mod images;
pub mod inspect;
pub mod kinds;
mod library;
mod plugin;
mod printable;
mod private_dir;
pub mod probe;
mod registry;
pub mod runtime;
pub mod shadow;
pub mod spare;

pub use error::PluginError;
pub use hotswap::{HotSwap, PluginCache, SwapReport};
pub use kinds::{Example, Kind};
pub use plugin::{Loader, Plugin, PluginInfo, Retirement, is_semver, open_as};
pub use printable::printable;
pub use private_dir::{check_private_dir, ensure_private_dir, per_user_dir};
pub use probe::ProbeCommand;
pub use registry::Registry;

/// The default directory for shadow copies: `$XDG_CACHE_HOME/fastforth/plugins`, else
/// `~/.cache/fastforth/plugins`, created owner-only and refused if another user controls it.
/// With neither variable set there is no per-user location, and that is an error.
pub fn default_cache_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = per_user_dir("the plugin cache", "XDG_CACHE_HOME", ".cache")?
        .join("fastforth")
        .join("plugins");
    ensure_private_dir(&dir)?;
    Ok(dir)
}

//! Forth over the plugin host: the Forth engine plugin kind and sessions whose engine can be
//! swapped with their state kept (`forth`), the kind of Forth programs compiled ahead of time
//! to native code (`native`), and mixed mode, where a session calls the words of native
//! plugins as its own (`mixed`), and the four stages of the Forth pipeline as plugins
//! (parser, compiler and optimizer in `stage`, the native backend in `backend`). The host (`fastforth-host`) loads, validates and swaps
//! plugins of any kind and knows nothing of Forth.

pub mod backend;
pub mod forth;
pub mod mixed;
pub mod native;
pub mod stage;

pub use backend::Backend;
pub use fastforth_abi::{DataStack, ForthLimits};
pub use forth::{Evaluation, Forth, ForthConsole, ForthInstance, ForthSession, HostWordError};
pub use mixed::{Define, Linked, NativeWords};
pub use native::{CallError, ForthNative, NativePlugin, NativeRun, NativeSession, on_native_stack};
pub use stage::{
    Compiler, CompilerPlugin, Optimizer, OptimizerPlugin, Parser, ParserPlugin, StagePlugin,
};

use fastforth_host::{Example, Kind, PluginError, open_as};
use std::path::Path;

/// Checks, opens, validates and self-tests the plugin at `path` in this process as
/// whichever kind it is (example, Forth engine, native Forth, or a parser, compiler,
/// optimizer or backend stage), then retires it: what a probe process does (see `fastforth_host::probe`).
pub fn open_any_kind(path: &Path) -> Result<(), PluginError> {
    let is = |found: &str, kind: fastforth_abi::PluginKind| kind.name() == Some(found);
    match open_as::<Example>(path) {
        Err(PluginError::WrongKind { found, .. }) if is(&found, Forth::KIND) => {
            open_as::<Forth>(path)
        }
        Err(PluginError::WrongKind { found, .. }) if is(&found, ForthNative::KIND) => {
            open_as::<ForthNative>(path)
        }
        Err(PluginError::WrongKind { found, .. }) if is(&found, Optimizer::KIND) => {
            open_as::<Optimizer>(path)
        }
        Err(PluginError::WrongKind { found, .. }) if is(&found, Backend::KIND) => {
            open_as::<Backend>(path)
        }
        Err(PluginError::WrongKind { found, .. }) if is(&found, Parser::KIND) => {
            open_as::<Parser>(path)
        }
        Err(PluginError::WrongKind { found, .. }) if is(&found, Compiler::KIND) => {
            open_as::<Compiler>(path)
        }
        opened => opened,
    }
}

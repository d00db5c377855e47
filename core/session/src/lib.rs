//! Forth over the plugin host: the Forth engine plugin kind and sessions whose engine can be
//! swapped with their state kept (`forth`), the kind of Forth programs compiled ahead of time
//! to native code (`native`), and mixed mode, where a session calls the words of native
//! plugins as its own (`mixed`), and the four stages of the Forth pipeline as plugins
//! (parser, compiler and optimizer in `stage`, the native backend in `backend`). The host (`fastforth-host`) loads, validates and swaps
//! plugins of any kind and knows nothing of Forth.

pub mod backend;
pub mod forth;
pub mod kinds;
pub mod mixed;
pub mod native;
pub mod stage;

pub use backend::Backend;
pub use fastforth_abi::{DataStack, ForthLimits};
pub use forth::{
    CollectingConsole, Evaluation, Forth, ForthConsole, ForthInstance, ForthSession, HostWordError,
};
pub use kinds::{AnyKind, ForKind};
pub use mixed::{Define, Linked, NativeWords};
pub use native::{ForthNative, NativePlugin, NativeRun, NativeSession, on_native_stack};
pub use stage::{
    Compiler, CompilerPlugin, Optimizer, OptimizerPlugin, Parser, ParserPlugin, StagePlugin,
};

use fastforth_host::{Kind, PluginError, open_as};
use std::path::Path;

/// Checks, opens, validates and self-tests the plugin at `path` in this process as
/// whichever kind it is (example, Forth engine, native Forth, or a parser, compiler,
/// optimizer or backend stage), then retires it: what a probe process does (see `fastforth_host::probe`).
pub fn open_any_kind(path: &Path) -> Result<(), PluginError> {
    struct Open<'a>(&'a Path);
    impl ForKind for Open<'_> {
        type Output = Result<(), PluginError>;
        fn run<K: Kind>(self) -> Self::Output {
            open_as::<K>(self.0)
        }
    }
    AnyKind::try_each(|kind| kind.with(Open(path)))
}

//! Every plugin kind FastForth knows, as one enum, for the code that handles a plugin file of
//! whichever kind it declares (the probe, `fastforth plugin info`, the load check): adding a
//! kind is a compile error wherever one is not handled.

use crate::{Backend, Compiler, Forth, ForthNative, Optimizer, Parser};
use fastforth_abi::PluginKind;
use fastforth_host::{Example, Kind, PluginError};

/// A plugin kind, by the type that loads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyKind {
    Example,
    Forth,
    ForthNative,
    Optimizer,
    Backend,
    Parser,
    Compiler,
}

/// Something to do with a plugin once its kind is known: run with the kind's type.
pub trait ForKind {
    type Output;
    fn run<K: Kind>(self) -> Self::Output;
}

impl AnyKind {
    pub const ALL: [AnyKind; 7] = [
        AnyKind::Example,
        AnyKind::Forth,
        AnyKind::ForthNative,
        AnyKind::Optimizer,
        AnyKind::Backend,
        AnyKind::Parser,
        AnyKind::Compiler,
    ];

    /// Runs `action` with this kind's type.
    pub fn with<A: ForKind>(self, action: A) -> A::Output {
        match self {
            AnyKind::Example => action.run::<Example>(),
            AnyKind::Forth => action.run::<Forth>(),
            AnyKind::ForthNative => action.run::<ForthNative>(),
            AnyKind::Optimizer => action.run::<Optimizer>(),
            AnyKind::Backend => action.run::<Backend>(),
            AnyKind::Parser => action.run::<Parser>(),
            AnyKind::Compiler => action.run::<Compiler>(),
        }
    }

    /// The kind as the ABI names it.
    pub fn plugin_kind(self) -> PluginKind {
        struct Of;
        impl ForKind for Of {
            type Output = PluginKind;
            fn run<K: Kind>(self) -> PluginKind {
                K::KIND
            }
        }
        self.with(Of)
    }

    /// The kind a plugin declared when it was loaded as another one (the error of a load
    /// as [`Example`], the usual first try), if it is one of these.
    pub fn declared_in(error: &PluginError) -> Option<AnyKind> {
        let PluginError::WrongKind { found, .. } = error else {
            return None;
        };
        AnyKind::ALL
            .into_iter()
            .find(|kind| kind.plugin_kind().name() == Some(found.as_str()))
    }

    /// Calls `load` as [`Example`] first, then, when the file declares another kind, as
    /// that kind: `load(kind)` answers for the kind given.
    pub fn try_each<T>(
        mut load: impl FnMut(AnyKind) -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        match load(AnyKind::Example) {
            Err(error) => match AnyKind::declared_in(&error) {
                Some(kind) if kind != AnyKind::Example => load(kind),
                _ => Err(error),
            },
            loaded => loaded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_own_abi_kind_and_is_found_by_its_name() {
        for kind in AnyKind::ALL {
            let error = PluginError::WrongKind {
                path: "p.so".into(),
                expected: "example".to_owned(),
                found: kind.plugin_kind().name().expect("a named kind").to_owned(),
            };
            assert_eq!(AnyKind::declared_in(&error), Some(kind));
        }
        let unknown = PluginError::WrongKind {
            path: "p.so".into(),
            expected: "example".to_owned(),
            found: "kind 99".to_owned(),
        };
        assert_eq!(AnyKind::declared_in(&unknown), None);
    }
}

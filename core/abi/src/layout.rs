//! The layout hash: a compile-time fingerprint of every boundary type's size, alignment
//! and field offsets, and of every function signature, so a host and a plugin built from
//! different definitions refuse each other instead of misreading memory or calling a
//! function with the wrong arguments.

use crate::*;
use std::mem::{align_of, offset_of, size_of};

/// Size, alignment, then each field's offset, for one type.
macro_rules! facts {
    ($ty:ty { $($field:ident),* }) => {
        [size_of::<$ty>(), align_of::<$ty>(), $(offset_of!($ty, $field)),*]
    };
}

const FACTS: &[&[usize]] = &[
    &facts!(Status {}),
    &facts!(Returned<i32> { status, value }),
    &facts!(Returned<i64> { status, value }),
    &facts!(PluginKind {}),
    &facts!(FfiStr { ptr, len }),
    &facts!(FfiBytes { ptr, len }),
    &facts!(DataStack {
        cells,
        capacity,
        depth
    }),
    &facts!(DataSpace { bytes, len }),
    &facts!(ByteSink { context, write }),
    &facts!(PluginDescriptor {
        magic,
        abi_version,
        kind,
        layout_hash,
        name,
        version,
        functions,
        self_test,
        shutdown,
        rustc_version,
        runtime,
        ir_version
    }),
    &facts!(ExampleFunctions {
        add_numbers,
        fibonacci
    }),
    &facts!(EngineHandle {}),
    &facts!(ForthLimits {
        data_stack_cells,
        return_stack_cells,
        data_space_bytes,
        max_steps
    }),
    &facts!(ConsoleCallbacks {
        context,
        write,
        read_line,
        read_key,
        key_available,
        call_host_word
    }),
    &facts!(EvalOutcome { flow, error_code }),
    &facts!(ForthFunctions {
        create,
        evaluate,
        save_image,
        data_stack,
        reset_after_error,
        destroy,
        define_host_word,
        end_of_program
    }),
    &facts!(NativeForthFunctions {
        words,
        run_word,
        data_stack_cells,
        call_word,
        new_session
    }),
    &facts!(OptimizerFunctions { optimize }),
    &facts!(BackendFunctions { build }),
    &facts!(ParserFunctions { tokens }),
    &facts!(CompilerFunctions { compile }),
];

// The leading fields sit at the same offsets on every target and in every ABI version, so
// any host can read them before it trusts the rest.
const _: () = {
    assert!(offset_of!(PluginDescriptor, magic) == 0);
    assert!(offset_of!(PluginDescriptor, abi_version) == 8);
    assert!(offset_of!(PluginDescriptor, kind) == 12);
    assert!(offset_of!(PluginDescriptor, layout_hash) == 16);
};

/// The signatures of every function pointer type that crosses the boundary.
const SIGNATURES: &[&[&str]] = &[
    crate::signatures::CALLBACK_SIGNATURES,
    ExampleFunctions::SIGNATURES,
    ForthFunctions::SIGNATURES,
    NativeForthFunctions::SIGNATURES,
    OptimizerFunctions::SIGNATURES,
    BackendFunctions::SIGNATURES,
    ParserFunctions::SIGNATURES,
    CompilerFunctions::SIGNATURES,
];

/// The layout hash of this crate's definitions.
pub const LAYOUT_HASH: u64 = layout_hash(FACTS, SIGNATURES);

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const END_OF_ITEM: u64 = u64::MAX;

/// FNV-1a over `facts`, each number as 8 little-endian bytes, then over `signatures`, each
/// as its UTF-8 bytes; every type and every signature is closed by a marker.
const fn layout_hash(facts: &[&[usize]], signatures: &[&[&str]]) -> u64 {
    let mut hash = FNV_OFFSET;
    let mut t = 0;
    while t < facts.len() {
        let mut f = 0;
        while f < facts[t].len() {
            hash = fnv_bytes(hash, &(facts[t][f] as u64).to_le_bytes());
            f += 1;
        }
        hash = fnv_bytes(hash, &END_OF_ITEM.to_le_bytes());
        t += 1;
    }
    let mut list = 0;
    while list < signatures.len() {
        let mut s = 0;
        while s < signatures[list].len() {
            hash = fnv_bytes(hash, signatures[list][s].as_bytes());
            hash = fnv_bytes(hash, &END_OF_ITEM.to_le_bytes());
            s += 1;
        }
        list += 1;
    }
    hash
}

const fn fnv_bytes(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut b = 0;
    while b < bytes.len() {
        hash ^= bytes[b] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        b += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_hash_covers_every_boundary_type() {
        assert_eq!(FACTS.len(), 21);
        assert_eq!(SIGNATURES.len(), 8);
        assert_ne!(LAYOUT_HASH, 0);
    }

    #[test]
    fn descriptor_layout_is_the_documented_c_layout_on_64_bit() {
        if size_of::<usize>() == 8 {
            assert_eq!(size_of::<PluginDescriptor>(), 120);
        }
    }

    #[test]
    fn signatures_name_each_entry_and_its_types() {
        assert_eq!(
            ExampleFunctions::SIGNATURES,
            [
                "add_numbers(i32, i32, ) -> Returned<i32>",
                "fibonacci(i32, ) -> Returned<i64>"
            ]
        );
        assert!(crate::signatures::CALLBACK_SIGNATURES.contains(&"ShutdownFn() -> Status"));
    }

    /// Issue 19 S8: `call_word` gained `stack_room: usize` with no change of the hash. A
    /// table whose `call_word` lacks a parameter (here the data space it gained in ABI
    /// version 8) has the same sizes and offsets, so only the signatures can tell the two
    /// apart.
    #[test]
    fn an_added_parameter_changes_the_layout_hash() {
        let before: &[&[&str]] = &[
            crate::signatures::CALLBACK_SIGNATURES,
            ExampleFunctions::SIGNATURES,
            ForthFunctions::SIGNATURES,
            changed::NativeWithoutDataSpace::SIGNATURES,
        ];
        assert_eq!(
            facts!(changed::NativeWithoutDataSpace {
                words,
                run_word,
                data_stack_cells,
                call_word,
                new_session
            }),
            facts!(NativeForthFunctions {
                words,
                run_word,
                data_stack_cells,
                call_word,
                new_session
            }),
        );
        assert_ne!(layout_hash(FACTS, before), LAYOUT_HASH);
        assert_eq!(layout_hash(FACTS, SIGNATURES), LAYOUT_HASH);
    }

    #[test]
    fn a_changed_parameter_type_changes_the_layout_hash() {
        let wide: &[&[&str]] = &[
            crate::signatures::CALLBACK_SIGNATURES,
            changed::WideExample::SIGNATURES,
            ForthFunctions::SIGNATURES,
            NativeForthFunctions::SIGNATURES,
        ];
        assert_eq!(
            facts!(changed::WideExample {
                add_numbers,
                fibonacci
            }),
            facts!(ExampleFunctions {
                add_numbers,
                fibonacci
            }),
        );
        assert_ne!(layout_hash(FACTS, wide), LAYOUT_HASH);
    }

    /// Tables as they were, or might have become, declared by the same macro.
    #[allow(dead_code)]
    mod changed {
        use crate::*;

        function_table! {
            /// `NativeForthFunctions` without `call_word`'s `memory`.
            pub struct NativeWithoutDataSpace, checked as NativeWithoutDataSpaceApi {
                words: fn(names: ByteSink<'_>) -> Returned<()>,
                run_word: fn(
                    name: FfiStr,
                    stack_room: usize,
                    console: ConsoleCallbacks<'_>,
                    stack: ByteSink<'_>,
                    error: ByteSink<'_>,
                ) -> Returned<EvalOutcome>,
                data_stack_cells: fn() -> Returned<usize>,
                call_word: fn(
                    word: u32,
                    stack: &mut DataStack<'_>,
                    stack_room: usize,
                    console: &ConsoleCallbacks<'_>,
                    error: &ByteSink<'_>,
                ) -> Returned<i64>,
                new_session: fn(memory: ByteSink<'_>) -> Returned<()>,
            }
        }

        function_table! {
            /// `ExampleFunctions` with `fibonacci(i64)` instead of `fibonacci(i32)`.
            pub struct WideExample, checked as WideExampleApi {
                add_numbers: fn(a: i32, b: i32) -> Returned<i32>,
                fibonacci: fn(n: i64) -> Returned<i64>,
            }
        }
    }
}

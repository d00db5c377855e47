//! The layout hash: a compile-time fingerprint of every boundary type's size, alignment
//! and field offsets, so a host and a plugin built from different definitions refuse each
//! other instead of misreading memory.

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
    &facts!(PluginKind {}),
    &facts!(FfiStr { ptr, len }),
    &facts!(FfiBytes { ptr, len }),
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
        shutdown
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
        define_host_word
    }),
    &facts!(NativeForthFunctions {
        words,
        run_word,
        call_word
    }),
];

/// FNV-1a over [`FACTS`], each number as 8 little-endian bytes, each type closed by a marker.
pub const LAYOUT_HASH: u64 = {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut t = 0;
    while t < FACTS.len() {
        let mut f = 0;
        while f <= FACTS[t].len() {
            let value = if f < FACTS[t].len() {
                FACTS[t][f] as u64
            } else {
                u64::MAX
            };
            let bytes = value.to_le_bytes();
            let mut b = 0;
            while b < 8 {
                hash ^= bytes[b] as u64;
                hash = hash.wrapping_mul(0x0100_0000_01b3);
                b += 1;
            }
            f += 1;
        }
        t += 1;
    }
    hash
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_hash_covers_every_boundary_type() {
        assert_eq!(FACTS.len(), 13);
        assert_ne!(LAYOUT_HASH, 0);
    }

    #[test]
    fn descriptor_layout_is_the_documented_c_layout_on_64_bit() {
        if size_of::<usize>() == 8 {
            assert_eq!(offset_of!(PluginDescriptor, abi_version), 8);
            assert_eq!(offset_of!(PluginDescriptor, layout_hash), 16);
            assert_eq!(size_of::<PluginDescriptor>(), 80);
        }
    }
}

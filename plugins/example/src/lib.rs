//! The example plugin: `add_numbers`, `fibonacci` and `version`, exported both through the
//! FastForth descriptor and as plain C symbols. Built with the `v2` feature it is version
//! 1.0.1, whose `add_numbers` also prints what it adds.

use fastforth_abi::catch_panic_or;
use std::ffi::{CStr, c_char};

const VERSION_C: &CStr = if cfg!(feature = "v2") {
    c"1.0.1"
} else {
    c"1.0.0"
};

/// This build's semantic version.
pub const VERSION: &str = match VERSION_C.to_str() {
    Ok(version) => version,
    Err(_) => panic!("version is ASCII"),
};

/// `a + b`, wrapping on overflow.
pub fn add(a: i32, b: i32) -> i32 {
    if cfg!(feature = "v2") {
        println!("NEW VERSION: Adding {a} + {b}");
    }
    sum(a, b)
}

fn sum(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}

/// Recursive Fibonacci: `fib(0) = fib(1) = 1`, `fib(n) = fib(n-1) + fib(n-2)`, wrapping.
pub fn fib(n: i32) -> i64 {
    if n <= 1 {
        1
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}

fn self_test() -> Result<(), String> {
    match (fib(10), sum(2, 2)) {
        (89, 4) => Ok(()),
        (f, a) => Err(format!(
            "expected fib(10) = 89 and 2 + 2 = 4, found {f} and {a}"
        )),
    }
}

fastforth_abi::export_plugin! {
    kind: EXAMPLE,
    name: "example",
    version: VERSION,
    functions: ExampleFunctions {
        add_numbers: fn(a: i32, b: i32) -> i32 = add,
        fibonacci: fn(n: i32) -> i64 = fib,
    },
    self_test: self_test,
}

/// Plain C export of [`add`]; returns `i32::MIN` if it panicked.
#[unsafe(no_mangle)]
pub extern "C" fn add_numbers(a: i32, b: i32) -> i32 {
    catch_panic_or(i32::MIN, || add(a, b))
}

/// Plain C export of [`fib`]; returns `i64::MIN` if it panicked.
#[unsafe(no_mangle)]
pub extern "C" fn fibonacci(n: i32) -> i64 {
    catch_panic_or(i64::MIN, || fib(n))
}

/// Plain C export of [`VERSION`]: a NUL-terminated static string, valid while the plugin
/// stays loaded (callers copy it).
#[unsafe(no_mangle)]
pub extern "C" fn version() -> *const c_char {
    VERSION_C.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fibonacci_starts_at_one_one() {
        assert_eq!([0, 1, 2, 3, 10, 20].map(fib), [1, 1, 2, 3, 89, 10946]);
    }

    #[test]
    fn add_wraps_instead_of_panicking() {
        assert_eq!(add(5, 3), 8);
        assert_eq!(add(i32::MAX, 1), i32::MIN);
    }

    #[test]
    fn self_test_passes() {
        assert_eq!(self_test(), Ok(()));
    }
}

//! Deliberately broken plugins for the host's tests: an example-kind plugin whose
//! descriptor, function table, imports, self-test or exports are wrong in exactly the way
//! one cargo feature names, and (feature `native`) a native Forth plugin one of whose words
//! panics. Never shipped.

#[cfg(feature = "native")]
mod native;

use fastforth_abi::{
    ABI_VERSION, ByteSink, ExampleFunctions, FfiStr, LAYOUT_HASH, PluginDescriptor, PluginKind,
    Returned, Status, call_guarded, run_self_test, run_shutdown,
};
use std::sync::atomic::{AtomicBool, Ordering};

const KIND: PluginKind = if cfg!(feature = "wrong-kind") {
    PluginKind::FORTH
} else {
    PluginKind::EXAMPLE
};

const VERSION: &str = if cfg!(feature = "bad-version") {
    "one.two"
} else {
    "0.0.1"
};

fn add(a: i32, b: i32) -> i32 {
    if cfg!(feature = "export-panics") {
        panic!("fixture: add_numbers always panics");
    }
    if cfg!(feature = "payload-drop-panics") {
        std::panic::panic_any(PanicsOnDrop);
    }
    if SHUT_DOWN.load(Ordering::SeqCst) {
        panic!("fixture: add_numbers used after its shutdown ran");
    }
    if cfg!(feature = "blocking") && a == -1 {
        std::thread::sleep(std::time::Duration::from_millis(b as u64));
    }
    a.wrapping_add(b).wrapping_add(missing_import())
}

/// A panic payload whose `Drop` panics as well.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("fixture: the panic payload's drop panics");
    }
}

#[cfg(feature = "unresolved-import")]
fn missing_import() -> i32 {
    unsafe extern "C" {
        fn fastforth_fixture_symbol_that_does_not_exist() -> i32;
    }
    // SAFETY: never reached: the loader refuses the library because this symbol is missing.
    unsafe { fastforth_fixture_symbol_that_does_not_exist() }
}

#[cfg(not(feature = "unresolved-import"))]
fn missing_import() -> i32 {
    0
}

fn fib(n: i32) -> i64 {
    if n <= 1 { 1 } else { fib(n - 1) + fib(n - 2) }
}

fn self_test() -> Result<(), String> {
    if cfg!(feature = "self-test-panics") {
        panic!("fixture: self-test panics");
    }
    if cfg!(feature = "self-test-crashes") {
        // SAFETY: not safe at all: this fault is the point of the feature.
        unsafe { std::ptr::null_mut::<u8>().write_volatile(1) };
    }
    while cfg!(feature = "self-test-hangs") {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    if cfg!(feature = "self-test-fails-then-crashes") {
        let marker = std::env::var_os("FIXTURE_MARKER").ok_or("fixture: no FIXTURE_MARKER")?;
        if std::fs::File::create_new(marker).is_err() {
            // SAFETY: not safe at all: this fault is the point of the feature.
            unsafe { std::ptr::null_mut::<u8>().write_volatile(1) };
        }
        return Err("fixture: failed once".to_owned());
    }
    if cfg!(feature = "self-test-fails") {
        return Err("fixture: 2 + 2 gave 5".to_owned());
    }
    Ok(())
}

/// Set by `shutdown` with the `shutdown-checked` feature.
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);

/// The file `slow-shutdown` logs to: one per process, in the temp directory.
fn shutdown_log() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "fastforth-fixture-shutdown-{}.log",
        std::process::id()
    ))
}

fn shutdown() {
    if cfg!(feature = "shutdown-checked") {
        SHUT_DOWN.store(true, Ordering::SeqCst);
    }
    if cfg!(feature = "slow-shutdown") {
        let log = |line: &str| {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(shutdown_log())
                .expect("fixture: the shutdown log opens");
            writeln!(file, "{line}").expect("fixture: the shutdown log is written");
        };
        log("start");
        std::thread::sleep(std::time::Duration::from_secs(1));
        log("end");
    }
}

unsafe extern "C" fn shutdown_export() -> Status {
    run_shutdown(shutdown)
}

unsafe extern "C" fn add_numbers_export(a: i32, b: i32) -> Returned<i32> {
    call_guarded(|| add(a, b))
}

unsafe extern "C" fn fibonacci_export(n: i32) -> Returned<i64> {
    call_guarded(|| fib(n))
}

unsafe extern "C" fn self_test_export(message: ByteSink<'_>) -> Status {
    run_self_test(message, self_test)
}

static TABLE: ExampleFunctions = ExampleFunctions {
    add_numbers: Some(add_numbers_export),
    fibonacci: if cfg!(feature = "null-function") {
        None
    } else {
        Some(fibonacci_export)
    },
};

static DESCRIPTOR: PluginDescriptor = PluginDescriptor {
    abi_version: if cfg!(feature = "wrong-abi") {
        ABI_VERSION + 1
    } else {
        ABI_VERSION
    },
    layout_hash: if cfg!(feature = "wrong-layout") {
        LAYOUT_HASH ^ 1
    } else {
        LAYOUT_HASH
    },
    name: if cfg!(feature = "wild-name") {
        FfiStr {
            ptr: 0x1000 as *const u8,
            len: 7,
        }
    } else {
        FfiStr::new("fixture")
    },
    ..PluginDescriptor::new(
        KIND,
        "fixture",
        VERSION,
        (&raw const TABLE).cast(),
        Some(self_test_export),
        if cfg!(any(feature = "slow-shutdown", feature = "shutdown-checked")) {
            Some(shutdown_export)
        } else {
            None
        },
        0,
    )
};

/// The descriptor; not exported at all with the `no-descriptor` feature, nor with `native`,
/// whose module exports its own.
#[cfg_attr(
    not(any(feature = "no-descriptor", feature = "native")),
    unsafe(no_mangle)
)]
pub extern "C" fn fastforth_plugin_v1() -> *const PluginDescriptor {
    if cfg!(feature = "wild-shutdown") {
        return wild_shutdown();
    }
    &raw const DESCRIPTOR
}

/// The descriptor with `shutdown` pointing at the function table (data, not code), in the
/// library's own (writable) data.
fn wild_shutdown() -> *const PluginDescriptor {
    static mut WILD: std::mem::MaybeUninit<PluginDescriptor> = std::mem::MaybeUninit::uninit();
    // SAFETY: not safe to call at all: this fault is the point of the feature. The host
    // asks for the descriptor from one thread at a time.
    unsafe {
        let data = std::mem::transmute::<*const ExampleFunctions, extern "C" fn() -> Status>(
            &raw const TABLE,
        );
        let wild = (&raw mut WILD).cast::<PluginDescriptor>();
        wild.write(PluginDescriptor {
            shutdown: Some(data),
            ..DESCRIPTOR
        });
        wild
    }
}

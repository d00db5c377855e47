//! Panic containment for exported functions: a panic that unwinds out of `extern "C"`
//! aborts the process, so every export runs its body through one of these.

use crate::{ByteSink, Status};
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `body`; on success writes its result to `out` and returns [`Status::OK`], on a
/// panic returns [`Status::PANICKED`] and leaves `out` untouched.
///
/// # Safety
/// `out` must be null or valid for one write of `T`.
pub unsafe fn call_guarded<T>(out: *mut T, body: impl FnOnce() -> T) -> Status {
    // Plugins keep no state that a caught panic could leave half-updated (the host owns
    // long-lived state), so asserting unwind safety here is sound in practice.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => {
            if !out.is_null() {
                // SAFETY: the caller guarantees a non-null `out` is valid for one write.
                unsafe { out.write(value) };
            }
            Status::OK
        }
        Err(_) => Status::PANICKED,
    }
}

/// Runs `body`, returning `on_panic` if it panics. For plain C exports whose signature has
/// no room for a status code.
pub fn catch_panic_or<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// Runs a plugin's self-test: [`Status::OK`], or [`Status::FAILED`] / [`Status::PANICKED`]
/// with the reason sent to `message`.
pub fn run_self_test(message: ByteSink, test: fn() -> Result<(), String>) -> Status {
    match catch_unwind(test) {
        Ok(Ok(())) => Status::OK,
        Ok(Err(reason)) => {
            message.send(reason.as_bytes());
            Status::FAILED
        }
        Err(payload) => {
            message.send(panic_text(payload.as_ref()).as_bytes());
            Status::PANICKED
        }
    }
}

/// Runs a plugin's shutdown hook, containing a panic.
pub fn run_shutdown(shutdown: fn()) -> Status {
    match catch_unwind(shutdown) {
        Ok(()) => Status::OK,
        Err(_) => Status::PANICKED,
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "panic with a non-string payload"
    }
}

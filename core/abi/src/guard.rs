//! Panic containment for exported functions: a panic that unwinds out of `extern "C"`
//! aborts the process, so every export runs its body through one of these. A caught
//! panic's payload is dropped under `catch_unwind` too, since its `Drop` may panic again.

use crate::{ByteSink, Returned, Status};
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `body`: its result with [`Status::OK`], or [`Status::PANICKED`] if it panics.
pub fn call_guarded<T>(body: impl FnOnce() -> T) -> Returned<T> {
    // Plugins keep no state that a caught panic could leave half-updated (the host owns
    // long-lived state), so asserting unwind safety here is sound in practice.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => Returned::ok(value),
        Err(payload) => {
            drop_payload(payload);
            Returned::failed(Status::PANICKED)
        }
    }
}

/// Runs `body`, returning `on_panic` if it panics. For plain C exports whose signature has
/// no room for a status code.
pub fn catch_panic_or<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        drop_payload(payload);
        on_panic
    })
}

/// Drops a caught panic's payload without letting a panic in its `Drop` escape: such a
/// second payload is leaked (its `Drop` could panic again).
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(second);
    }
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
            drop_payload(payload);
            Status::PANICKED
        }
    }
}

/// Runs a plugin's shutdown hook, containing a panic.
pub fn run_shutdown(shutdown: fn()) -> Status {
    match catch_unwind(shutdown) {
        Ok(()) => Status::OK,
        Err(payload) => {
            drop_payload(payload);
            Status::PANICKED
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic payload whose `Drop` panics too.
    struct PanicsOnDrop;

    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("the payload's drop panics");
        }
    }

    #[test]
    fn a_payload_whose_drop_panics_is_contained() {
        let returned = call_guarded(|| -> i32 { std::panic::panic_any(PanicsOnDrop) });
        assert_eq!(returned.into_result(), Err(Status::PANICKED));
        let value = catch_panic_or(-1, || -> i32 { std::panic::panic_any(PanicsOnDrop) });
        assert_eq!(value, -1);
    }
}

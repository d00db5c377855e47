//! The thread a run gets when its caller cannot guarantee the stack it needs, and the pipe
//! that carries the run's output back to the calling thread.
//!
//! Nothing here leaves state on the calling thread, which belongs to the host: std's thread
//! spawning, scopes and channels register thread-local destructors on the thread that uses
//! them (spawn hooks, the current-thread handle, the channel's waiting context), and glibc
//! keeps a library with a registered destructor mapped until that thread exits, so a
//! retired plugin would never be unmapped. The thread is started with `pthread_create`,
//! and the pipe is a mutex and a condition variable.

use std::any::Any;
use std::io;
use std::sync::{Condvar, Mutex, MutexGuard};

/// What a thread body returned, or the payload of its panic.
pub type Ended<T> = Result<T, Box<dyn Any + Send>>;

/// Output chunks on their way from a run's thread to the calling thread, then the run's end.
pub struct Pipe<T> {
    state: Mutex<Piped<T>>,
    changed: Condvar,
}

struct Piped<T> {
    chunks: Vec<Vec<u8>>,
    ended: Option<Ended<T>>,
    /// Why the calling thread could not write a chunk: later chunks are refused.
    refused: Option<String>,
}

impl<T> Pipe<T> {
    pub fn new() -> Pipe<T> {
        Pipe {
            state: Mutex::new(Piped {
                chunks: Vec::new(),
                ended: None,
                refused: None,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Piped<T>> {
        // Nothing panics while holding the lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a chunk of output; an error once the calling thread could not write one.
    pub fn send(&self, chunk: Vec<u8>) -> io::Result<()> {
        let mut state = self.lock();
        if let Some(reason) = &state.refused {
            return Err(io::Error::other(reason.clone()));
        }
        state.chunks.push(chunk);
        drop(state);
        self.changed.notify_one();
        Ok(())
    }

    /// Ends the run with what its body returned.
    fn end(&self, ended: Ended<T>) {
        self.lock().ended = Some(ended);
        self.changed.notify_one();
    }

    /// Passes each chunk to `write` as it comes, until the run ends; returns how it ended,
    /// and why a write failed, if one did. After a failed write, the chunks still in the pipe
    /// are dropped and later sends fail.
    fn relay(&self, mut write: impl FnMut(&[u8]) -> io::Result<()>) -> (Ended<T>, Option<String>) {
        let mut refused = false;
        loop {
            let (chunks, ended) = {
                let mut state = self.lock();
                while state.chunks.is_empty() && state.ended.is_none() {
                    state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                (std::mem::take(&mut state.chunks), state.ended.take())
            };
            // The end is sent after the last chunk, so every chunk is in hand here.
            if !refused && let Err(error) = chunks.iter().try_for_each(|chunk| write(chunk)) {
                self.lock().refused = Some(error.to_string());
                refused = true;
            }
            if let Some(ended) = ended {
                return (ended, self.lock().refused.take());
            }
        }
    }
}

/// What a run on a thread of its own returned, with why its output could not all be
/// written, if so.
pub type Relayed<T> = (T, Option<String>);

/// Runs `body` on a new thread with `stack_bytes` of stack, passing the chunks it sends
/// through `pipe` to `write` on this thread; returns what `body` returned (or continues its
/// panic here), or why no thread could start (then `body` did not run).
pub fn run<T: Send + 'static>(
    stack_bytes: usize,
    pipe: std::sync::Arc<Pipe<T>>,
    body: impl FnOnce() -> T + Send + 'static,
    write: impl FnMut(&[u8]) -> io::Result<()>,
) -> Result<Relayed<T>, String> {
    let sender = pipe.clone();
    let thread = os::spawn(
        stack_bytes,
        Box::new(move || {
            let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
            sender.end(ended);
        }),
    )?;
    let (ended, refused) = pipe.relay(write);
    thread.join();
    match ended {
        Ok(returned) => Ok((returned, refused)),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// A body that never unwinds: it catches its own panics.
type Body = Box<dyn FnOnce() + Send>;

#[cfg(unix)]
mod os {
    use super::Body;
    use std::ffi::c_void;

    /// A started thread, joined by [`Thread::join`].
    pub struct Thread(libc::pthread_t);

    /// Starts `body` on a thread with `stack_bytes` of stack.
    pub fn spawn(stack_bytes: usize, body: Body) -> Result<Thread, String> {
        let body = Box::into_raw(Box::new(body));
        // SAFETY: `attr` is initialised before use and destroyed after; `start` takes the
        // box back exactly once, and on failure nothing started, so it is freed here.
        unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            let mut thread: libc::pthread_t = std::mem::zeroed();
            let mut error = libc::pthread_attr_init(&mut attr);
            if error == 0 {
                error = libc::pthread_attr_setstacksize(&mut attr, stack_bytes);
                if error == 0 {
                    error = libc::pthread_create(&mut thread, &attr, start, body.cast());
                }
                libc::pthread_attr_destroy(&mut attr);
            }
            if error != 0 {
                drop(Box::from_raw(body));
                let reason = std::io::Error::from_raw_os_error(error);
                return Err(format!("{stack_bytes} bytes of stack: {reason}"));
            }
            Ok(Thread(thread))
        }
    }

    extern "C" fn start(body: *mut c_void) -> *mut c_void {
        // SAFETY: `spawn` passes a leaked `Box<Body>`, taken back here once.
        let body = unsafe { Box::from_raw(body.cast::<Body>()) };
        body();
        std::ptr::null_mut()
    }

    impl Thread {
        /// Waits for the thread to end.
        pub fn join(self) {
            // SAFETY: a thread started by `spawn`, joined once (this consumes it).
            unsafe { libc::pthread_join(self.0, std::ptr::null_mut()) };
        }
    }
}

#[cfg(not(unix))]
mod os {
    use super::Body;

    pub struct Thread(std::thread::JoinHandle<()>);

    pub fn spawn(stack_bytes: usize, body: Body) -> Result<Thread, String> {
        std::thread::Builder::new()
            .stack_size(stack_bytes)
            .spawn(body)
            .map(Thread)
            .map_err(|e| format!("{stack_bytes} bytes of stack: {e}"))
    }

    impl Thread {
        pub fn join(self) {
            // The body catches its own panics.
            drop(self.0.join());
        }
    }
}

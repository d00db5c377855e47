//! What the fetcher and a transport client (`http.rs`, `tls.rs`) hand each other: the time
//! limits of one request, which of them it ran into, and what it answered.

#[cfg(feature = "http")]
use std::io::Read;
use std::time::Duration;

/// How long a fetch may wait, so that a server that stalls or drips costs seconds, not the
/// whole `total`.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) struct Limits {
    /// The longest wait for a connection.
    pub connect: Duration,
    /// The longest wait for the response head, and for any one read.
    pub read: Duration,
    /// The slowest average a body may arrive at: a body of N bytes gets `read + N / rate`.
    pub min_bytes_per_second: u64,
    /// The longest one request may take, whatever its size.
    pub total: Duration,
}

/// Which of the [`Limits`] a request ran into.
#[cfg(feature = "http")]
#[derive(Clone, Copy, Debug)]
pub(crate) enum Timeout {
    Connect,
    /// One read waited the whole read limit.
    Read,
    /// The response head took longer than the read limit.
    Head,
    /// The body arrived slower than the minimum rate.
    Body,
    Total,
}

#[cfg(feature = "http")]
impl Limits {
    /// The longest a body of up to `bytes` may take to arrive.
    pub fn body_deadline(&self, bytes: u64) -> Duration {
        self.read + Duration::from_secs(bytes / self.min_bytes_per_second.max(1))
    }

    /// What hitting `timeout` means, naming the limit and its value.
    pub fn describe(&self, timeout: Timeout) -> String {
        match timeout {
            Timeout::Connect => {
                format!("no connection within {:?} (connect timeout)", self.connect)
            }
            Timeout::Read => format!("nothing received for {:?} (read timeout)", self.read),
            Timeout::Head => format!(
                "no complete response head within {:?} (read timeout)",
                self.read
            ),
            Timeout::Body => format!(
                "the body arrived slower than {} bytes/s (after a {:?} grace)",
                self.min_bytes_per_second, self.read
            ),
            Timeout::Total => format!("not done within {:?} (total timeout)", self.total),
        }
    }
}

/// What one request answered (redirects are followed by the [`Fetcher`], not the client).
#[cfg(feature = "http")]
pub(crate) enum Answer {
    /// 200: the body, read within the limits.
    Body(Box<dyn Read>),
    /// 3xx: the status (`302 Found`) and the `Location` header, if there was one.
    Redirect {
        status: String,
        location: Option<String>,
    },
    /// 404.
    Missing,
}

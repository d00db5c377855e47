//! `https://` requests with ureq and rustls (the `tls` feature): one request per call, no
//! redirect followed (the fetcher checks each), and timeouts named like the plain-http
//! client's. Plain `http://` never comes here.

use crate::transfer::{Answer, Limits, Timeout};
use std::io::Read;
use std::time::Duration;

/// A ureq agent configured with the fetch limits.
pub(crate) struct Client {
    agent: ureq::Agent,
    limits: Limits,
}

impl Client {
    pub fn new(limits: Limits) -> Client {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(limits.total))
            .timeout_connect(Some(limits.connect))
            .timeout_recv_response(Some(limits.read))
            .timeout_per_read(Some(limits.read))
            .max_redirects(0)
            .user_agent(concat!("fastforth-update/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Client { agent, limits }
    }

    /// `GET url`, whose body may take `body_time`.
    pub fn get(&self, url: &str, body_time: Duration) -> Result<Answer, String> {
        let response = self
            .agent
            .get(url)
            .config()
            .timeout_recv_body(Some(body_time))
            .build()
            .call();
        let response = match response {
            Ok(response) => response,
            Err(ureq::Error::StatusCode(404)) => return Ok(Answer::Missing),
            Err(error) => return Err(describe(self.limits, &error)),
        };
        if !response.status().is_redirection() {
            return Ok(Answer::Body(Box::new(TimeoutText {
                inner: response.into_body().into_reader(),
                limits: self.limits,
            })));
        }
        let location = response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(Answer::Redirect {
            status: response.status().to_string(),
            location,
        })
    }
}

/// What went wrong with a request, naming the limit that a timeout hit.
fn describe(limits: Limits, error: &ureq::Error) -> String {
    let timeout = match error {
        ureq::Error::Timeout(ureq::Timeout::Connect) => Timeout::Connect,
        ureq::Error::Timeout(ureq::Timeout::PerRead) => Timeout::Read,
        ureq::Error::Timeout(ureq::Timeout::RecvResponse) => Timeout::Head,
        ureq::Error::Timeout(ureq::Timeout::RecvBody) => Timeout::Body,
        ureq::Error::Timeout(ureq::Timeout::Global) => Timeout::Total,
        other => return other.to_string(),
    };
    limits.describe(timeout)
}

/// A body reader whose errors name the limit a timeout hit.
struct TimeoutText<R> {
    inner: R,
    limits: Limits,
}

impl<R: Read> Read for TimeoutText<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).map_err(|error| {
            match error
                .get_ref()
                .and_then(|e| e.downcast_ref::<ureq::Error>())
            {
                Some(inner) => std::io::Error::new(error.kind(), describe(self.limits, inner)),
                None => error,
            }
        })
    }
}

//! Reading a channel: `file://` from the file system, `http://` (and `https://` with the
//! `tls` feature) with ureq's blocking client. Every read has a hard byte cap and stops one
//! byte past it, so a server that streams endlessly costs at most the cap. It knows nothing
//! of what the bytes mean: trust comes from the signature, never from the transport.

use crate::UpdateError;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::time::Duration;

/// Told about a download's progress (the CLI draws a bar on a terminal).
pub trait Progress {
    /// A download of `total` bytes for `plugin` begins.
    fn started(&self, _plugin: &str, _total: u64) {}
    /// `done` of the total bytes have arrived.
    fn advanced(&self, _done: u64) {}
    /// The download ended, whether or not it succeeded.
    fn finished(&self) {}
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}

/// The bytes of a download and their SHA-256 (hex).
pub(crate) struct Downloaded {
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// Fetches from one channel.
pub(crate) struct Fetcher {
    #[cfg(feature = "http")]
    agent: ureq::Agent,
}

impl Fetcher {
    /// A fetcher whose every request must finish within `timeout`.
    pub fn new(timeout: Duration) -> Fetcher {
        #[cfg(not(feature = "http"))]
        let _ = timeout;
        Fetcher {
            #[cfg(feature = "http")]
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .user_agent(concat!("fastforth-update/", env!("CARGO_PKG_VERSION")))
                .build()
                .new_agent(),
        }
    }

    /// All of `url`, refused once it passes `cap` bytes.
    pub fn fetch_capped(&self, url: &str, cap: u64) -> Result<Vec<u8>, UpdateError> {
        let mut reader = self.open(url)?;
        read_capped(&mut *reader, url, cap, &mut |_| {})
    }

    /// Exactly `size` bytes of `url`, hashed as they stream in: more is refused at the
    /// `size + 1`th byte, fewer is a truncated download.
    pub fn download(
        &self,
        url: &str,
        size: u64,
        progress: &dyn Progress,
    ) -> Result<Downloaded, UpdateError> {
        let mut reader = self.open(url)?;
        let mut hasher = Sha256::new();
        let mut done = 0;
        let bytes = read_capped(&mut *reader, url, size, &mut |chunk| {
            hasher.update(chunk);
            done += chunk.len() as u64;
            progress.advanced(done);
        })?;
        if (bytes.len() as u64) < size {
            return Err(UpdateError::Truncated {
                url: url.to_owned(),
                expected: size,
                found: bytes.len() as u64,
            });
        }
        Ok(Downloaded {
            bytes,
            sha256: crate::keys::hex(&hasher.finalize()),
        })
    }

    fn open(&self, url: &str) -> Result<Box<dyn Read + '_>, UpdateError> {
        let scheme = check_url(url)?;
        if scheme == Scheme::File {
            let path = &url["file://".len()..];
            let file = std::fs::File::open(path).map_err(|error| UpdateError::Fetch {
                url: url.to_owned(),
                message: error.to_string(),
            })?;
            return Ok(Box::new(file));
        }
        self.open_http(url)
    }

    #[cfg(feature = "http")]
    fn open_http(&self, url: &str) -> Result<Box<dyn Read + '_>, UpdateError> {
        let response = self
            .agent
            .get(url)
            .call()
            .map_err(|error| UpdateError::Fetch {
                url: url.to_owned(),
                message: error.to_string(),
            })?;
        Ok(Box::new(response.into_body().into_reader()))
    }

    #[cfg(not(feature = "http"))]
    fn open_http(&self, url: &str) -> Result<Box<dyn Read + '_>, UpdateError> {
        Err(UpdateError::BadChannel {
            url: url.to_owned(),
            problem: "this build reads only file:// channels (the `http` feature is off)"
                .to_owned(),
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    File,
    Http,
}

/// Which kind of channel `url` is; refuses what this build cannot read.
fn check_url(url: &str) -> Result<Scheme, UpdateError> {
    let bad = |problem: &str| UpdateError::BadChannel {
        url: url.to_owned(),
        problem: problem.to_owned(),
    };
    if let Some(path) = url.strip_prefix("file://") {
        return match path.starts_with('/') {
            true => Ok(Scheme::File),
            false => Err(bad("expected file:///absolute/path")),
        };
    }
    if url.starts_with("http://") {
        return Ok(Scheme::Http);
    }
    if url.starts_with("https://") {
        return match cfg!(feature = "tls") {
            true => Ok(Scheme::Http),
            false => Err(bad(
                "https:// needs a build with the `tls` feature; this one reads http:// and file://",
            )),
        };
    }
    Err(bad("expected an http://, https:// or file:// URL"))
}

/// Checks that `channel` is a URL this build can read and that it names a channel.
pub(crate) fn check_channel(channel: &str) -> Result<(), UpdateError> {
    check_url(channel)?;
    channel_name(channel).map(|_| ())
}

/// The name of the channel at `channel`: the last segment of its path (`stable` for
/// `http://host/fastforth/stable/`), which a manifest of that channel must carry.
pub(crate) fn channel_name(channel: &str) -> Result<&str, UpdateError> {
    let after_scheme = channel.split_once("://").map_or(channel, |(_, rest)| rest);
    let path = match channel.starts_with("file://") {
        true => after_scheme,
        false => after_scheme.find('/').map_or("", |at| &after_scheme[at..]),
    };
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|name| crate::manifest::is_plain_file_name(name))
        .ok_or_else(|| UpdateError::BadChannel {
            url: channel.to_owned(),
            problem:
                "expected a URL whose last path segment names the channel, like http://host/stable"
                    .to_owned(),
        })
}

/// `name` inside `channel`, or `name` itself when it is an absolute URL.
pub(crate) fn join(channel: &str, name: &str) -> String {
    if name.contains("://") {
        name.to_owned()
    } else {
        format!("{}/{name}", channel.trim_end_matches('/'))
    }
}

/// Reads until the end or until `cap + 1` bytes arrived (then refuses), handing each chunk
/// to `on_chunk`. Never asks the reader for more than `cap + 1` bytes in all.
fn read_capped(
    reader: &mut dyn Read,
    url: &str,
    cap: u64,
    on_chunk: &mut dyn FnMut(&[u8]),
) -> Result<Vec<u8>, UpdateError> {
    let mut bytes = Vec::with_capacity(cap.min(1 << 20) as usize);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let room = (cap + 1 - bytes.len() as u64).min(buffer.len() as u64) as usize;
        let read = match reader.read(&mut buffer[..room]) {
            Ok(0) => return Ok(bytes),
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(UpdateError::Fetch {
                    url: url.to_owned(),
                    message: format!("after {} bytes: {error}", bytes.len()),
                });
            }
        };
        if bytes.len() as u64 + read as u64 > cap {
            return Err(UpdateError::TooLarge {
                url: url.to_owned(),
                limit: cap,
            });
        }
        bytes.extend_from_slice(&buffer[..read]);
        on_chunk(&buffer[..read]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that never ends and counts what it handed out.
    struct Endless(u64);

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(b'x');
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
    }

    #[test]
    fn an_endless_reader_is_cut_one_byte_past_the_cap() {
        let mut endless = Endless(0);
        let error = read_capped(&mut endless, "u", 100_000, &mut |_| {}).unwrap_err();
        assert_eq!(
            error.to_string(),
            "u: more than 100000 bytes, expected at most 100000: download stopped"
        );
        assert_eq!(endless.0, 100_001);
    }

    #[test]
    fn channel_urls_this_build_cannot_read_are_refused() {
        assert!(check_channel("file:///srv/channel").is_ok());
        let error = check_channel("http://127.0.0.1:8000/").unwrap_err();
        assert_eq!(
            error.to_string(),
            "channel http://127.0.0.1:8000/: expected a URL whose last path segment names the channel, like http://host/stable"
        );
        assert!(check_channel("http://127.0.0.1:8000/c").is_ok());
        let error = check_channel("file://relative").unwrap_err();
        assert_eq!(
            error.to_string(),
            "channel file://relative: expected file:///absolute/path"
        );
        assert!(check_channel("ftp://x").is_err());
        assert_eq!(check_channel("https://x").is_ok(), cfg!(feature = "tls"));
    }

    #[test]
    fn a_channel_is_named_by_the_last_segment_of_its_path() {
        assert_eq!(channel_name("http://h:80/ff/stable/").unwrap(), "stable");
        assert_eq!(channel_name("file:///srv/beta").unwrap(), "beta");
        assert!(channel_name("http://stable").is_err());
        assert!(channel_name("file:///").is_err());
    }

    #[test]
    fn names_join_the_channel_and_absolute_urls_stand_alone() {
        assert_eq!(join("http://h/c/", "m.json"), "http://h/c/m.json");
        assert_eq!(join("file:///c", "http://o/x.so"), "http://o/x.so");
    }
}

//! Reading a channel: `file://` from the file system, `http://` with the crate's own
//! HTTP/1.1 client (`http.rs`), and `https://` with ureq and rustls (the `tls` feature).
//! Every read has a hard byte cap and stops one byte past it, so a server that streams
//! endlessly costs at most the cap. It knows nothing of what the bytes mean: trust comes from
//! the signature, never from the transport.

use crate::UpdateError;
#[cfg(feature = "http")]
use crate::transfer::Answer;
pub(crate) use crate::transfer::Limits;
use sha2::{Digest, Sha256};
use std::io::Read;
#[cfg(feature = "http")]
use std::time::Duration;

/// Told about a download's progress (the CLI draws a bar on a terminal).
pub trait Progress {
    /// A download of `total` bytes for `plugin` begins.
    fn started(&self, _plugin: &str, _total: u64) {}
    /// `done` of the total bytes have arrived.
    fn advanced(&self, _done: u64) {}
    /// The download ended, whether or not it succeeded.
    fn finished(&self) {}
    /// The patch for `plugin` could not be used (`reason`): the full file is downloaded
    /// instead.
    fn fell_back(&self, _plugin: &str, _reason: &str) {}
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}

/// The bytes of a download and their SHA-256 (hex).
pub(crate) struct Downloaded {
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// The most redirects one request follows (each within the origin of the URL asked for).
#[cfg(feature = "http")]
const MAX_REDIRECTS: usize = 5;

/// Fetches from one channel.
pub(crate) struct Fetcher {
    #[cfg(feature = "http")]
    limits: Limits,
    #[cfg(feature = "tls")]
    tls: crate::tls::Client,
}

impl Fetcher {
    /// A fetcher within `limits`.
    pub fn new(limits: Limits) -> Fetcher {
        #[cfg(not(feature = "http"))]
        let _ = limits;
        Fetcher {
            #[cfg(feature = "http")]
            limits,
            #[cfg(feature = "tls")]
            tls: crate::tls::Client::new(limits),
        }
    }

    /// All of `url`, refused once it passes `cap` bytes.
    pub fn fetch_capped(&self, url: &str, cap: u64) -> Result<Vec<u8>, UpdateError> {
        let mut reader = self.open(url, cap)?;
        read_capped(&mut *reader, url, cap, &mut |_| {})
    }

    /// All of `url` like [`Fetcher::fetch_capped`], or `None` when it does not exist (a
    /// missing file, HTTP 404).
    pub fn fetch_if_present(&self, url: &str, cap: u64) -> Result<Option<Vec<u8>>, UpdateError> {
        match self.fetch_capped(url, cap) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(UpdateError::Missing { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Exactly `size` bytes of `url`, hashed as they stream in: more is refused at the
    /// `size + 1`th byte, fewer is a truncated download.
    pub fn download(
        &self,
        url: &str,
        size: u64,
        progress: &dyn Progress,
    ) -> Result<Downloaded, UpdateError> {
        let mut reader = self.open(url, size)?;
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
            sha256: hex::encode(hasher.finalize()),
        })
    }

    /// A reader of `url`, whose body is expected to be at most `bytes` long.
    fn open(&self, url: &str, bytes: u64) -> Result<Box<dyn Read>, UpdateError> {
        let scheme = check_url(url)?;
        if scheme == Scheme::File {
            return open_regular_file(url);
        }
        self.open_http(url, bytes)
    }

    /// The body of `url`, following at most [`MAX_REDIRECTS`] redirects, each only within
    /// the origin of `url`.
    #[cfg(feature = "http")]
    fn open_http(&self, url: &str, bytes: u64) -> Result<Box<dyn Read>, UpdateError> {
        let fetch_error = |message: String| UpdateError::Fetch {
            url: url.to_owned(),
            message,
        };
        let allowed = origin(url).ok_or_else(|| fetch_error("no host in the URL".to_owned()))?;
        let body_time = self.limits.body_deadline(bytes);
        let mut current = url.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let (status, location) = match self.get(&current, body_time).map_err(fetch_error)? {
                Answer::Body(reader) => return Ok(reader),
                Answer::Missing => return Err(UpdateError::Missing { url: current }),
                Answer::Redirect { status, location } => (status, location),
            };
            let location = location
                .ok_or_else(|| fetch_error(format!("{status} without a Location header")))?;
            let next = resolve(&current, &location);
            if origin(&next).as_deref() != Some(allowed.as_str()) {
                return Err(fetch_error(format!(
                    "redirected to {next}, outside the origin {allowed}: refused"
                )));
            }
            current = next;
        }
        Err(fetch_error(format!(
            "more than {MAX_REDIRECTS} redirects: refused"
        )))
    }

    /// One request for `url`, whose body may take `body_time` once the head has arrived.
    #[cfg(feature = "http")]
    fn get(&self, url: &str, body_time: Duration) -> Result<Answer, String> {
        #[cfg(feature = "tls")]
        if url.starts_with("https://") {
            return self.tls.get(url, body_time);
        }
        crate::http::get(url, self.limits, body_time)
    }

    #[cfg(not(feature = "http"))]
    fn open_http(&self, url: &str, _bytes: u64) -> Result<Box<dyn Read>, UpdateError> {
        Err(UpdateError::BadChannel {
            url: url.to_owned(),
            problem: "this build reads only file:// channels (the `http` feature is off)"
                .to_owned(),
        })
    }
}

/// Opens the file of a `file://` URL if it is a regular file: a FIFO or a device would
/// block or never end.
fn open_regular_file(url: &str) -> Result<Box<dyn Read>, UpdateError> {
    let path = file_path(url);
    let path = path.as_path();
    let fetch_error = |message: String| UpdateError::Fetch {
        url: url.to_owned(),
        message,
    };
    let not_regular = || fetch_error("not a regular file: refused".to_owned());
    let metadata = std::fs::metadata(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => UpdateError::Missing {
            url: url.to_owned(),
        },
        _ => fetch_error(error.to_string()),
    })?;
    if !metadata.is_file() {
        return Err(not_regular());
    }
    // Without waiting: a FIFO swapped in since the check above is refused below.
    let file = fastforth_host::inspect::open_nonblocking(path)
        .map_err(|error| fetch_error(error.to_string()))?;
    match file.metadata() {
        Ok(metadata) if metadata.is_file() => Ok(Box::new(file)),
        Ok(_) => Err(not_regular()),
        Err(error) => Err(fetch_error(error.to_string())),
    }
}

/// The path a `file://` URL names, its `%XX` escapes decoded (`%20` for a space).
fn file_path(url: &str) -> std::path::PathBuf {
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&url["file://".len()..]).collect();
    #[cfg(unix)]
    let path = <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(bytes);
    #[cfg(not(unix))]
    let path = String::from_utf8_lossy(&bytes).into_owned();
    path.into()
}

/// `scheme://host[:port]` of `url`, lower-cased; `None` without a host.
#[cfg(any(feature = "http", test))]
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}").to_ascii_lowercase())
}

/// The URL a `Location` header points to, from the URL that answered with it.
#[cfg(any(feature = "http", test))]
fn resolve(from: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    let scheme = from.split_once("://").map_or("http", |(scheme, _)| scheme);
    if let Some(rest) = location.strip_prefix("//") {
        return format!("{scheme}://{rest}");
    }
    let origin = origin(from).unwrap_or_default();
    if location.starts_with('/') {
        return format!("{origin}{location}");
    }
    let directory = from
        .rsplit_once('/')
        .map_or(from, |(directory, _)| directory);
    match directory.len() > origin.len() {
        true => format!("{directory}/{location}"),
        false => format!("{origin}/{location}"),
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
    fn redirects_resolve_and_origins_compare_scheme_host_and_port() {
        assert_eq!(
            resolve("http://h:1/c/m.json", "n.json"),
            "http://h:1/c/n.json"
        );
        assert_eq!(resolve("http://h:1/c/m.json", "/x/n"), "http://h:1/x/n");
        assert_eq!(resolve("https://h/c/m", "//e/n"), "https://e/n");
        assert_eq!(resolve("http://h/c/m", "http://e/n"), "http://e/n");
        assert_eq!(origin("http://H:1/c"), Some("http://h:1".to_owned()));
        assert_ne!(origin("https://h/c"), origin("http://h/c"));
        assert_ne!(origin("http://h:1/c"), origin("http://h:2/c"));
        assert_eq!(origin("http://u@h/c"), Some("http://h".to_owned()));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_instead_of_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("manifest.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let url = format!("file://{}", fifo.display());
        let error = open_regular_file(&url).err().unwrap();
        assert_eq!(
            error.to_string(),
            format!("cannot fetch {url}: not a regular file: refused")
        );
    }

    #[test]
    fn a_file_url_names_its_path_with_escapes_decoded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("my channel")).unwrap();
        std::fs::write(dir.path().join("my channel/m%.json"), b"{}").unwrap();
        let url = format!("file://{}/my%20channel/m%25.json", dir.path().display());
        let mut read = String::new();
        open_regular_file(&url)
            .unwrap_or_else(|error| panic!("{error}"))
            .read_to_string(&mut read)
            .unwrap();
        assert_eq!(read, "{}");
        let literal = format!("file://{}/my channel/m%25.json", dir.path().display());
        assert!(open_regular_file(&literal).is_ok());
    }

    #[test]
    fn names_join_the_channel_and_absolute_urls_stand_alone() {
        assert_eq!(join("http://h/c/", "m.json"), "http://h/c/m.json");
        assert_eq!(join("file:///c", "http://o/x.so"), "http://o/x.so");
    }
}

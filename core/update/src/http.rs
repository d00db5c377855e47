//! A small HTTP/1.1 client over `std::net` for `http://` channels: one `GET` per connection
//! (`Connection: close`), a bounded response head, `Content-Length`, chunked and
//! read-to-close bodies, and every wait bounded by [`Limits`]. It answers one request; the
//! redirect policy and the byte caps belong to the fetcher, the meaning of the bytes to the
//! signature.

use crate::transfer::{Answer, Limits, Timeout};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The largest response head read (status line and headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The longest chunk-size or trailer line of a chunked body.
const MAX_CHUNK_LINE_BYTES: usize = 4 * 1024;

/// `GET url` (an `http://` URL), whose body is expected within `body_time` once the head
/// has arrived. Errors are messages for [`crate::UpdateError::Fetch`].
pub(crate) fn get(url: &str, limits: Limits, body_time: Duration) -> Result<Answer, String> {
    let target = Target::parse(url)?;
    let total = Instant::now() + limits.total;
    let stream = connect(&target, limits, total)?;
    let mut connection = Connection {
        stream,
        buffer: Vec::new(),
        start: 0,
        limits,
        total,
        phase: Phase::Head(Instant::now() + limits.read),
    };
    connection.send_request(&target)?;
    let head = connection.read_head()?;
    let response = parse_head(&head)?;
    match response.status {
        200 => {
            connection.phase = Phase::Body(Instant::now() + body_time);
            let framing = response.framing()?;
            Ok(Answer::Body(Box::new(Body {
                connection,
                framing,
            })))
        }
        404 => Ok(Answer::Missing),
        300..=399 => Ok(Answer::Redirect {
            location: response.header("location").map(str::to_owned),
            status: response.status_line,
        }),
        _ => Err(format!(
            "the server answered {}: refused",
            response.status_line
        )),
    }
}

/// Where a request goes: the address to connect to, the `Host` header and the path.
struct Target<'u> {
    authority: &'u str,
    host: &'u str,
    port: u16,
    /// The request target: the path and query, `/` when the URL has no path.
    path: String,
}

impl<'u> Target<'u> {
    fn parse(url: &'u str) -> Result<Target<'u>, String> {
        let rest = url.strip_prefix("http://").ok_or("not an http:// URL")?;
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err("credentials in the URL are not supported".to_owned());
        }
        let (host, port) = split_port(authority)?;
        if host.is_empty() {
            return Err("no host in the URL".to_owned());
        }
        let path = match path.starts_with('?') {
            true => format!("/{path}"),
            false => path.to_owned(),
        };
        Ok(Target {
            authority,
            host,
            port,
            path,
        })
    }
}

/// `host` and port of `host[:port]` or `[v6]:port`; port 80 when none is given.
fn split_port(authority: &str) -> Result<(&str, u16), String> {
    let (host, port) = match authority.rfind(':') {
        Some(at) if !authority[at..].contains(']') => (&authority[..at], &authority[at + 1..]),
        _ => (authority, ""),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match port {
        "" => Ok((host, 80)),
        port => port
            .parse()
            .map(|port| (host, port))
            .map_err(|_| format!("bad port {port:?} in the URL")),
    }
}

/// A connection to one of `target`'s addresses within the connect limit.
fn connect(target: &Target, limits: Limits, total: Instant) -> Result<TcpStream, String> {
    let addresses: Vec<SocketAddr> = (target.host, target.port)
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve {}: {error}", target.host))?
        .collect();
    let deadline = (Instant::now() + limits.connect).min(total);
    let mut last = format!("no address for {}", target.host);
    for address in addresses {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&address, left) {
            Ok(stream) => return Ok(stream),
            Err(error) if is_timeout(&error) => last = limits.describe(Timeout::Connect),
            Err(error) => last = format!("cannot connect to {address}: {error}"),
        }
    }
    match Instant::now() >= deadline {
        true => Err(limits.describe(Timeout::Connect)),
        false => Err(last),
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// What a read is waiting for, with the instant it must be done by.
#[derive(Clone, Copy)]
enum Phase {
    Head(Instant),
    Body(Instant),
}

/// A connection and the bytes read from it but not yet consumed.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    start: usize,
    limits: Limits,
    total: Instant,
    phase: Phase,
}

impl Connection {
    fn send_request(&mut self, target: &Target) -> Result<(), String> {
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: fastforth-update/{}\r\n\
             Accept-Encoding: identity\r\nConnection: close\r\n\r\n",
            target.path,
            target.authority,
            env!("CARGO_PKG_VERSION")
        );
        let sent = self
            .stream
            .set_write_timeout(Some(self.limits.read))
            .and_then(|()| self.stream.write_all(request.as_bytes()));
        sent.map_err(|error| match is_timeout(&error) {
            true => self.limits.describe(Timeout::Read),
            false => format!("cannot send the request: {error}"),
        })
    }

    /// The response head up to its blank line; the bytes after it stay buffered.
    fn read_head(&mut self) -> Result<Vec<u8>, String> {
        loop {
            let unread = &self.buffer[self.start..];
            if let Some(at) = unread.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = unread[..at].to_vec();
                self.start += at + 4;
                return Ok(head);
            }
            if unread.len() >= MAX_HEAD_BYTES {
                return Err(format!(
                    "a response head longer than {MAX_HEAD_BYTES} bytes: refused"
                ));
            }
            if self.fill().map_err(|error| error.to_string())? == 0 {
                return Err("the connection closed before the response head ended".to_owned());
            }
        }
    }

    /// Reads more bytes into the buffer within the current phase's limits; 0 at the end.
    fn fill(&mut self) -> io::Result<usize> {
        if self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
        let timeout = self.next_timeout()?;
        self.stream.set_read_timeout(Some(timeout))?;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(read) => {
                    self.buffer.extend_from_slice(&chunk[..read]);
                    return Ok(read);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) if is_timeout(&error) => return Err(self.timed_out()),
                Err(error) => return Err(error),
            }
        }
    }

    /// How long the next read may wait: the read limit, cut to what the phase and the
    /// request have left; an error once either is used up.
    fn next_timeout(&self) -> io::Result<Duration> {
        let left = self.deadline().saturating_duration_since(Instant::now());
        match left.is_zero() {
            true => Err(self.timed_out()),
            false => Ok(left.min(self.limits.read)),
        }
    }

    fn deadline(&self) -> Instant {
        match self.phase {
            Phase::Head(until) | Phase::Body(until) => until.min(self.total),
        }
    }

    /// The error of a read that waited too long, naming the limit it reached.
    fn timed_out(&self) -> io::Error {
        let now = Instant::now();
        let limit = match self.phase {
            _ if now >= self.total => Timeout::Total,
            Phase::Head(until) if now >= until => Timeout::Head,
            Phase::Body(until) if now >= until => Timeout::Body,
            _ => Timeout::Read,
        };
        io::Error::new(io::ErrorKind::TimedOut, self.limits.describe(limit))
    }

    /// Up to `buf.len()` buffered or newly read bytes; 0 at the end of the connection.
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.start == self.buffer.len() && self.fill()? == 0 {
            return Ok(0);
        }
        let unread = &self.buffer[self.start..];
        let count = unread.len().min(buf.len());
        buf[..count].copy_from_slice(&unread[..count]);
        self.start += count;
        Ok(count)
    }

    /// One CRLF-terminated line of a chunked body, without its CRLF.
    fn read_line(&mut self) -> io::Result<String> {
        loop {
            let unread = &self.buffer[self.start..];
            if let Some(at) = unread.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&unread[..at]).into_owned();
                self.start += at + 2;
                return Ok(line);
            }
            if unread.len() > MAX_CHUNK_LINE_BYTES {
                return Err(invalid(format!(
                    "a chunk line longer than {MAX_CHUNK_LINE_BYTES} bytes"
                )));
            }
            if self.fill()? == 0 {
                return Err(closed_early("inside a chunk line"));
            }
        }
    }
}

/// The status and headers of a response.
struct Head {
    status: u16,
    /// `302 Found`: the code and the reason as the server sent them.
    status_line: String,
    headers: Vec<(String, String)>,
}

impl Head {
    /// The value of the header `name` (lower-case); `None` when absent.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// How the body is delimited: chunked, `Content-Length`, or the connection's end.
    fn framing(&self) -> Result<Framing, String> {
        if let Some(encoding) = self.header("content-encoding")
            && !encoding.eq_ignore_ascii_case("identity")
        {
            return Err(format!("Content-Encoding {encoding:?} is not supported"));
        }
        if let Some(coding) = self.header("transfer-encoding") {
            return match coding.eq_ignore_ascii_case("chunked") {
                true => Ok(Framing::Chunked {
                    left: 0,
                    done: false,
                }),
                false => Err(format!("Transfer-Encoding {coding:?} is not supported")),
            };
        }
        let mut lengths = self
            .headers
            .iter()
            .filter(|(key, _)| key == "content-length")
            .map(|(_, value)| value.parse::<u64>());
        match (lengths.next(), lengths.all(|other| other.is_ok())) {
            (None, _) => Ok(Framing::UntilClose),
            (Some(Ok(length)), true) if self.lengths_agree(length) => Ok(Framing::Length {
                expected: length,
                left: length,
            }),
            _ => Err("an invalid or conflicting Content-Length: refused".to_owned()),
        }
    }

    fn lengths_agree(&self, length: u64) -> bool {
        self.headers
            .iter()
            .filter(|(key, _)| key == "content-length")
            .all(|(_, value)| value.parse() == Ok(length))
    }
}

/// Parses `HTTP/1.x NNN reason` and `Name: value` lines (names lower-cased).
fn parse_head(head: &[u8]) -> Result<Head, String> {
    let text = std::str::from_utf8(head).map_err(|_| "a response head that is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let malformed = || format!("a malformed status line {status_line:?}");
    let rest = ["HTTP/1.1 ", "HTTP/1.0 "]
        .iter()
        .find_map(|version| status_line.strip_prefix(version))
        .ok_or_else(malformed)?;
    let code = rest
        .get(..3)
        .filter(|code| code.bytes().all(|b| b.is_ascii_digit()));
    let status = code
        .and_then(|code| code.parse().ok())
        .ok_or_else(malformed)?;
    if !matches!(rest.as_bytes().get(3), None | Some(b' ')) {
        return Err(malformed());
    }
    let headers = lines
        .map(|line| {
            let (name, value) = line
                .split_once(':')
                .filter(|(name, _)| is_token(name))
                .ok_or_else(|| format!("a malformed header line {line:?}"))?;
            Ok((name.to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect::<Result<_, String>>()?;
    Ok(Head {
        status,
        status_line: rest.trim_end().to_owned(),
        headers,
    })
}

/// Whether `name` is a header name (an RFC 9110 token).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// How a body ends.
enum Framing {
    Length {
        expected: u64,
        left: u64,
    },
    /// Within a chunk of which `left` bytes remain; `done` after the last chunk.
    Chunked {
        left: u64,
        done: bool,
    },
    UntilClose,
}

/// A response body: reads end where its framing says, and a connection that closes
/// earlier is an error, never a short body.
struct Body {
    connection: Connection,
    framing: Framing,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match self.framing {
            Framing::UntilClose => self.connection.read_some(buf),
            Framing::Length { expected, left } => self.read_length(buf, expected, left),
            Framing::Chunked { left, done } => self.read_chunked(buf, left, done),
        }
    }
}

impl Body {
    fn read_length(&mut self, buf: &mut [u8], expected: u64, left: u64) -> io::Result<usize> {
        if left == 0 {
            return Ok(0);
        }
        let room = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let read = self.connection.read_some(&mut buf[..room])?;
        if read == 0 {
            let got = expected - left;
            return Err(closed_early(&format!("after {got} of {expected} bytes")));
        }
        self.framing = Framing::Length {
            expected,
            left: left - read as u64,
        };
        Ok(read)
    }

    fn read_chunked(&mut self, buf: &mut [u8], left: u64, done: bool) -> io::Result<usize> {
        if done {
            return Ok(0);
        }
        let left = match left {
            0 => self.next_chunk()?,
            left => left,
        };
        if left == 0 {
            self.read_trailers()?;
            self.framing = Framing::Chunked {
                left: 0,
                done: true,
            };
            return Ok(0);
        }
        let room = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let read = self.connection.read_some(&mut buf[..room])?;
        if read == 0 {
            return Err(closed_early("inside a chunk"));
        }
        let left = left - read as u64;
        if left == 0 {
            self.end_chunk()?;
        }
        self.framing = Framing::Chunked { left, done: false };
        Ok(read)
    }

    /// The size of the next chunk, from its size line (`1a2b;extension`).
    fn next_chunk(&mut self) -> io::Result<u64> {
        let line = self.connection.read_line()?;
        let digits = line.split(';').next().unwrap_or_default().trim();
        let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit());
        valid
            .then(|| u64::from_str_radix(digits, 16).ok())
            .flatten()
            .ok_or_else(|| invalid(format!("a malformed chunk size {line:?}")))
    }

    /// The CRLF that ends a chunk's data.
    fn end_chunk(&mut self) -> io::Result<()> {
        match self.connection.read_line()?.is_empty() {
            true => Ok(()),
            false => Err(invalid("a chunk longer than its size".to_owned())),
        }
    }

    /// The trailer lines after the last chunk, up to the blank line, ignored.
    fn read_trailers(&mut self) -> io::Result<()> {
        for _ in 0..MAX_HEAD_BYTES / 2 {
            if self.connection.read_line()?.is_empty() {
                return Ok(());
            }
        }
        Err(invalid("too many trailer lines".to_owned()))
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

fn closed_early(place: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the connection closed {place}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn limits() -> Limits {
        Limits {
            connect: Duration::from_secs(5),
            read: Duration::from_secs(5),
            min_bytes_per_second: 1,
            total: Duration::from_secs(20),
        }
    }

    /// Serves `response` once to the first connection on 127.0.0.1, after reading the
    /// request head; returns the URL of `/c/f`.
    fn serve_once(response: Vec<u8>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = stream.write_all(&response);
        });
        format!("http://127.0.0.1:{port}/c/f")
    }

    /// The body of `GET` for a server answering `response`, or the error's message.
    fn body_of(response: &[u8]) -> Result<Vec<u8>, String> {
        let url = serve_once(response.to_vec());
        match get(&url, limits(), Duration::from_secs(10))? {
            Answer::Body(mut reader) => {
                let mut body = Vec::new();
                reader
                    .read_to_end(&mut body)
                    .map_err(|error| error.to_string())?;
                Ok(body)
            }
            Answer::Missing => Err("missing".to_owned()),
            Answer::Redirect { status, location } => Err(format!("{status} {location:?}")),
        }
    }

    #[test]
    fn a_body_is_read_to_its_content_length_and_no_further() {
        let body = body_of(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA");
        assert_eq!(body.unwrap(), b"hello");
    }

    #[test]
    fn a_body_without_a_length_is_read_to_the_end_of_the_connection() {
        let body = body_of(b"HTTP/1.0 200 OK\r\n\r\nall of it");
        assert_eq!(body.unwrap(), b"all of it");
    }

    #[test]
    fn a_chunked_body_is_joined_and_its_trailers_skipped() {
        let response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
            5;name=x\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: t\r\n\r\nafter";
        assert_eq!(body_of(response).unwrap(), b"hello world");
    }

    #[test]
    fn a_connection_that_closes_before_the_content_length_is_an_error() {
        let error = body_of(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf").unwrap_err();
        assert_eq!(error, "the connection closed after 4 of 10 bytes");
    }

    #[test]
    fn malformed_status_lines_are_refused() {
        for (line, shown) in [
            ("HTTP/1.1 2OO OK", r#""HTTP/1.1 2OO OK""#),
            ("ICY 200 OK", r#""ICY 200 OK""#),
            ("HTTP/1.1 2000 OK", r#""HTTP/1.1 2000 OK""#),
            ("HTTP/1.1\x1b[2J 200", r#""HTTP/1.1\u{1b}[2J 200""#),
        ] {
            let error = body_of(format!("{line}\r\n\r\n").as_bytes()).unwrap_err();
            assert_eq!(error, format!("a malformed status line {shown}"));
        }
    }

    #[test]
    fn a_header_line_without_a_name_is_refused() {
        let error = body_of(b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n").unwrap_err();
        assert_eq!(error, "a malformed header line \"no colon here\"");
    }

    #[test]
    fn an_oversized_response_head_is_refused() {
        let mut response = b"HTTP/1.1 200 OK\r\n".to_vec();
        response.extend(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(2000));
        let error = body_of(&response).unwrap_err();
        assert_eq!(error, "a response head longer than 65536 bytes: refused");
    }

    #[test]
    fn a_head_cut_short_by_the_server_is_an_error() {
        let error = body_of(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap_err();
        assert_eq!(
            error,
            "the connection closed before the response head ended"
        );
    }

    #[test]
    fn malformed_chunks_are_refused() {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (body, message) in [
            ("zz\r\nhello\r\n0\r\n\r\n", "a malformed chunk size \"zz\""),
            ("\r\n", "a malformed chunk size \"\""),
            (
                "fffffffffffffffffff\r\n",
                "a malformed chunk size \"fffffffffffffffffff\"",
            ),
            ("3\r\nhello\r\n0\r\n\r\n", "a chunk longer than its size"),
            ("5\r\nhel", "the connection closed inside a chunk"),
            (
                "5\r\nhello\r\n",
                "the connection closed inside a chunk line",
            ),
        ] {
            let error = body_of(format!("{head}{body}").as_bytes()).unwrap_err();
            assert_eq!(error, message, "{body:?}");
        }
    }

    #[test]
    fn an_endless_chunk_size_line_is_refused() {
        let mut response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        response.extend(vec![b'0'; 10_000]);
        let error = body_of(&response).unwrap_err();
        assert_eq!(error, "a chunk line longer than 4096 bytes");
    }

    #[test]
    fn unsupported_or_conflicting_framing_is_refused() {
        for (headers, message) in [
            (
                "Transfer-Encoding: gzip, chunked",
                "Transfer-Encoding \"gzip, chunked\" is not supported",
            ),
            (
                "Content-Encoding: gzip",
                "Content-Encoding \"gzip\" is not supported",
            ),
            (
                "Content-Length: 3\r\nContent-Length: 4",
                "an invalid or conflicting Content-Length: refused",
            ),
            (
                "Content-Length: -1",
                "an invalid or conflicting Content-Length: refused",
            ),
        ] {
            let response = format!("HTTP/1.1 200 OK\r\n{headers}\r\n\r\nabcd");
            assert_eq!(body_of(response.as_bytes()).unwrap_err(), message);
        }
    }

    #[test]
    fn statuses_become_missing_redirects_or_errors() {
        assert_eq!(
            body_of(b"HTTP/1.1 404 Not Found\r\n\r\n").unwrap_err(),
            "missing"
        );
        assert_eq!(
            body_of(b"HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n").unwrap_err(),
            "302 Found Some(\"/x\")"
        );
        assert_eq!(
            body_of(b"HTTP/1.1 500 Internal Server Error\r\n\r\n").unwrap_err(),
            "the server answered 500 Internal Server Error: refused"
        );
    }

    #[test]
    fn urls_name_host_port_and_path() {
        let target = Target::parse("http://h:81/c/m.json?x#frag").unwrap();
        assert_eq!(
            (
                target.authority,
                target.host,
                target.port,
                target.path.as_str()
            ),
            ("h:81", "h", 81, "/c/m.json?x")
        );
        let target = Target::parse("http://[::1]/").unwrap();
        assert_eq!((target.host, target.port), ("::1", 80));
        let target = Target::parse("http://h?q").unwrap();
        assert_eq!(target.path, "/?q");
        assert!(Target::parse("http://u:p@h/").is_err());
        assert!(Target::parse("http://h:x/").is_err());
        assert!(Target::parse("http:///c").is_err());
    }
}

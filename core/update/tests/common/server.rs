//! A static file server on 127.0.0.1 (port 0) for the update tests, that can be told to
//! misbehave per file: stream endlessly, die mid-download, or serve other bytes.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the server answers for one file.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Sends bytes forever (no length, until the client hangs up).
    Endless,
    /// Announces the whole file, sends this many bytes of it, then closes the connection.
    DieAfter(usize),
    /// Serves these bytes instead of the file.
    Bytes(Vec<u8>),
    /// Serves these bytes once, then the file again.
    Once(Vec<u8>),
}

struct Shared {
    root: PathBuf,
    overrides: Mutex<HashMap<String, Behaviour>>,
    stop: AtomicBool,
    /// Body bytes written by `Endless` answers, in all.
    endless_sent: AtomicU64,
    /// Each file asked for, with the body bytes written for it (all but `Endless` answers).
    served: Mutex<Vec<(String, u64)>>,
}

/// Serves `root` over HTTP/1.1 until dropped.
pub struct Server {
    address: std::net::SocketAddr,
    shared: Arc<Shared>,
}

impl Server {
    pub fn start(root: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            root: root.into(),
            overrides: Mutex::default(),
            stop: AtomicBool::new(false),
            endless_sent: AtomicU64::new(0),
            served: Mutex::default(),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = accepting.clone();
                std::thread::spawn(move || answer(stream, &shared));
            }
        });
        Server { address, shared }
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Answers requests for a file called `name` (in any channel) with `behaviour` from now on.
    pub fn misbehave(&self, name: &str, behaviour: Behaviour) {
        self.shared
            .overrides
            .lock()
            .unwrap()
            .insert(name.to_owned(), behaviour);
    }

    /// Serves `name` from disk again.
    pub fn behave(&self, name: &str) {
        self.shared.overrides.lock().unwrap().remove(name);
    }

    /// Each file asked for since the last call (by file name), with the body bytes written.
    pub fn take_served(&self) -> Vec<(String, u64)> {
        std::mem::take(&mut *self.shared.served.lock().unwrap())
    }

    /// Body bytes sent by endless answers so far.
    pub fn endless_sent(&self) -> u64 {
        self.shared.endless_sent.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.address);
    }
}

fn answer(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(path) = read_request_path(&mut stream) else {
        return;
    };
    let name = path.trim_start_matches('/').to_owned();
    let file_name = name.rsplit('/').next().unwrap_or_default();
    let behaviour = {
        let mut overrides = shared.overrides.lock().unwrap();
        match overrides.get(file_name) {
            Some(Behaviour::Once(_)) => overrides.remove(file_name),
            other => other.cloned(),
        }
    };
    let log = |bytes: usize| {
        let entry = (file_name.to_owned(), bytes as u64);
        shared.served.lock().unwrap().push(entry);
    };
    match behaviour {
        Some(Behaviour::Endless) => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let chunk = vec![0x5a; 16 * 1024];
            while !shared.stop.load(Ordering::SeqCst) && stream.write_all(&chunk).is_ok() {
                shared
                    .endless_sent
                    .fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
        }
        Some(Behaviour::DieAfter(sent)) => {
            let body = std::fs::read(shared.root.join(&name)).unwrap_or_default();
            let _ = write_head(&mut stream, body.len());
            let _ = stream.write_all(&body[..sent.min(body.len())]);
            let _ = stream.flush();
            log(sent.min(body.len()));
        }
        Some(Behaviour::Bytes(body) | Behaviour::Once(body)) => {
            let _ = write_head(&mut stream, body.len()).and_then(|()| stream.write_all(&body));
            log(body.len());
        }
        None => match safe_file(&shared.root, &name).and_then(|p| std::fs::read(p).ok()) {
            Some(body) => {
                let _ = write_head(&mut stream, body.len()).and_then(|()| stream.write_all(&body));
                log(body.len());
            }
            None => {
                log(0);
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        },
    }
}

fn write_head(stream: &mut TcpStream, length: usize) -> std::io::Result<()> {
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes())
}

/// The path of `GET <path> HTTP/1.1`, once the whole request head has arrived.
fn read_request_path(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8(head).ok()?;
    let mut parts = text.lines().next()?.split_whitespace();
    (parts.next()? == "GET").then_some(())?;
    parts.next().map(str::to_owned)
}

/// `root/name` when every component of `name` is a plain file name.
fn safe_file(root: &Path, name: &str) -> Option<PathBuf> {
    let plain = |part: &str| !part.is_empty() && !part.starts_with('.');
    name.split('/').all(plain).then(|| root.join(name))
}

//! Servers that stall, drip or redirect, and a `file://` FIFO: each gives a clear error after
//! a short, configurable wait (here 1 s) instead of the 300 s a request may take in all, and
//! none of them holds the update lock while it stalls. Servers listen on 127.0.0.1 only.

mod common;

use common::*;
use fastforth_update::state::UpdateLock;
use fastforth_update::{Outcome, UpdateError, UpdaterConfig};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Far longer than any limit under test and far shorter than the 300 s total: a run that
/// reaches it would have waited for the total timeout.
const BOUND: Duration = Duration::from_secs(60);

/// Answers every connection on 127.0.0.1 with `answer(stream, request path)` on its own
/// thread; returns the port and a count of the connections accepted.
fn serve(answer: impl Fn(TcpStream, String) + Send + Sync + 'static) -> (u16, Arc<AtomicU64>) {
    let answer = Arc::new(answer);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicU64::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let path = request_path(&mut stream);
            let answer = answer.clone();
            std::thread::spawn(move || answer(stream, path));
        }
    });
    (port, accepted)
}

fn request_path(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    head.split_whitespace().nth(1).unwrap_or("/").to_owned()
}

/// Keeps the connection open and sends nothing.
fn stall(stream: TcpStream, _path: String) {
    std::thread::sleep(Duration::from_secs(400));
    drop(stream);
}

/// Sends `bytes` one at a time, 5 a second.
fn drip(mut stream: TcpStream, bytes: &[u8]) {
    for byte in bytes {
        if stream.write_all(&[*byte]).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn drip_head(stream: TcpStream, _path: String) {
    drip(
        stream,
        &[
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n".repeat(40),
            b"\r\n".to_vec(),
        ]
        .concat(),
    );
}

fn drip_body(mut stream: TcpStream, _path: String) {
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
    drip(stream, &[b'{'; 100_000]);
}

/// A config for `world` reading the `stable` channel on `port`, with 1 s limits and the
/// default 300 s in all.
fn config_on(world: &World, port: u16) -> UpdaterConfig {
    let mut config = world.config();
    config.channel = Some(format!("http://127.0.0.1:{port}/stable"));
    config.connect_timeout = Duration::from_secs(1);
    config.read_timeout = Duration::from_secs(1);
    config.min_bytes_per_second = 64 * 1024;
    config.max_manifest_bytes = 64 * 1024;
    config.timeout = Duration::from_secs(300);
    config
}

/// The error of an update with `config`, or a failure if it took longer than [`BOUND`].
fn bounded_update(world: &World, config: UpdaterConfig) -> UpdateError {
    let (done, result) = mpsc::channel();
    let slots = world.slots();
    std::thread::spawn(move || {
        let outcome = fastforth_update::Updater::new(config).update(&slots, &NoProgressSend);
        let _ = done.send(outcome);
    });
    match result.recv_timeout(BOUND) {
        Ok(outcome) => outcome.unwrap_err(),
        Err(_) => panic!("the update was still waiting after {BOUND:?}"),
    }
}

struct NoProgressSend;
impl fastforth_update::Progress for NoProgressSend {}

#[test]
fn a_server_that_never_answers_is_given_up_after_the_read_timeout() {
    let world = World::installed_v1();
    let (port, _) = serve(stall);
    let before = world.snapshot();
    let error = bounded_update(&world, config_on(&world, port));
    // Both the per-read and the response-head limit are 1 s here; either may fire first.
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot fetch http://127.0.0.1:{port}/stable/manifest.json: "
        )) && message.ends_with(" 1s (read timeout)"),
        "{message}"
    );
    world.assert_unchanged(&before);
}

#[test]
fn a_server_that_drips_its_response_head_is_given_up() {
    let world = World::installed_v1();
    let (port, _) = serve(drip_head);
    let error = bounded_update(&world, config_on(&world, port));
    assert!(
        error
            .to_string()
            .ends_with("no complete response head within 1s (read timeout)"),
        "{error}"
    );
}

#[test]
fn a_server_that_drips_its_body_is_given_up() {
    let world = World::installed_v1();
    let (port, _) = serve(drip_body);
    let error = bounded_update(&world, config_on(&world, port));
    assert!(
        error
            .to_string()
            .ends_with("the body arrived slower than 65536 bytes/s (after a 1s grace)"),
        "{error}"
    );
}

#[test]
fn a_stalled_manifest_fetch_does_not_hold_the_update_lock() {
    let world = World::installed_v1();
    let (port, accepted) = serve(stall);
    let mut config = config_on(&world, port);
    config.read_timeout = Duration::from_secs(5);
    let slots = world.slots();
    let stalled = std::thread::spawn(move || {
        fastforth_update::Updater::new(config).update(&slots, &NoProgressSend)
    });
    while accepted.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    let lock = UpdateLock::acquire(&world.state_dir, Duration::ZERO);
    assert!(lock.is_ok(), "{:?}", lock.err());
    drop(lock);
    assert!(stalled.join().unwrap().is_err());
}

/// Redirects `/stable/NAME` to `/moved/NAME` on the same server, which serves NAME from
/// `root`, and `/elsewhere/NAME` to `localhost`, another origin.
fn redirecting(root: std::path::PathBuf) -> impl Fn(TcpStream, String) + Send + Sync + 'static {
    move |mut stream, path| {
        let (head, body) = if let Some(name) = path.strip_prefix("/stable/") {
            (format!("302 Found\r\nLocation: /moved/{name}"), Vec::new())
        } else if let Some(name) = path.strip_prefix("/elsewhere/") {
            let location = format!("http://localhost:9/moved/{name}");
            (format!("302 Found\r\nLocation: {location}"), Vec::new())
        } else {
            let name = path.trim_start_matches("/moved/");
            let body = std::fs::read(root.join(name)).unwrap_or_default();
            ("200 OK".to_owned(), body)
        };
        let head = format!(
            "HTTP/1.1 {head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(&[head.into_bytes(), body].concat());
    }
}

#[test]
fn a_redirect_within_the_origin_is_followed() {
    let world = World::installed_v1();
    world.publish(&[artifact("1.0.1", &example_v2())]);
    let (port, _) = serve(redirecting(world.channel.clone()));
    let mut config = world.config();
    config.channel = Some(format!("http://127.0.0.1:{port}/stable"));
    let outcome = world.update_with(config).unwrap();
    assert!(
        matches!(outcome, Outcome::Updated { to_manifest: 2, .. }),
        "{outcome:?}"
    );
}

#[test]
fn a_redirect_to_another_origin_is_refused() {
    let world = World::installed_v1();
    world.publish(&[artifact("1.0.1", &example_v2())]);
    let (port, _) = serve(redirecting(world.channel.clone()));
    let mut config = config_on(&world, port);
    config.channel = Some(format!("http://127.0.0.1:{port}/elsewhere"));
    let before = world.snapshot();
    let error = bounded_update(&world, config);
    assert_eq!(
        error.to_string(),
        format!(
            "cannot fetch http://127.0.0.1:{port}/elsewhere/manifest.json: redirected to http://localhost:9/moved/manifest.json, outside the origin http://127.0.0.1:{port}: refused"
        )
    );
    world.assert_unchanged(&before);
}

#[cfg(unix)]
#[test]
fn a_fifo_in_a_file_channel_is_refused_not_waited_on() {
    let world = World::installed_v1();
    let channel = world.other_channel("fifo");
    let fifo = channel.join("manifest.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut config = world.config();
    config.channel = Some(format!("file://{}", channel.display()));
    let error = bounded_update(&world, config);
    assert_eq!(
        error.to_string(),
        format!(
            "cannot fetch file://{}: not a regular file: refused",
            fifo.display()
        )
    );
}

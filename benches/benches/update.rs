//! `update/loopback`: one complete signed update of the example plugin from 1.0.0 to 1.0.1
//! over HTTP on 127.0.0.1 (fetch `manifest.json` and its signature, verify, download, hash,
//! write, check, load, self-test, swap, save the state). The channel is served by a small
//! static file server on a thread of the bench; every iteration starts from a fresh host
//! with 1.0.0 installed, made and torn down outside the timed part.

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use fastforth_benches::{example_plugin, example_plugin_v2};
use fastforth_host::{Example, Loader};
use fastforth_update::{
    HOST_TARGET, HotSlot, NoProgress, Outcome, Release, ReleaseArtifact, SigningKey, Slot, Slots,
    TrustedKeys, Updater, UpdaterConfig,
};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Serves the files below `root` over HTTP/1.1 on 127.0.0.1, one connection at a time, for
/// the rest of the process; returns the base URL.
fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let url = format!("http://{}", listener.local_addr().expect("bound address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // A failed answer only fails that request, which the update then reports.
            let _ = answer(stream, &root);
        }
    });
    url
}

fn answer(mut stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let path = request_path(&stream)?;
    let file = path
        .split('/')
        .filter(|part| !part.is_empty())
        .try_fold(root.to_path_buf(), |dir, part| {
            (part != "..").then(|| dir.join(part))
        });
    match file.and_then(|file| std::fs::read(file).ok()) {
        Some(body) => {
            // One write, so that Nagle's algorithm never holds back the body's first segment.
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(&[head.as_bytes(), &body].concat())
        }
        None => stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    }
}

/// The path of the request line, once the whole request head has been read.
fn request_path(stream: &TcpStream) -> std::io::Result<String> {
    let mut reader = BufReader::new(stream);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    Ok(request.split_whitespace().nth(1).unwrap_or("/").to_owned())
}

/// Publishes `plugin` as `version` into `channel` under `manifest_version`.
fn publish(
    channel: &Path,
    key: &SigningKey,
    manifest_version: u64,
    version: &str,
    plugin: PathBuf,
) {
    let artifact = ReleaseArtifact {
        plugin: "example".to_owned(),
        version: version.to_owned(),
        triple: HOST_TARGET.to_owned(),
        path: plugin,
    };
    Release::new(channel, key)
        .manifest_version(manifest_version)
        .publish(&[artifact])
        .expect("release published");
}

/// A host with an example-plugin slot and its own plugin, cache and state directories.
struct Host {
    dir: tempfile::TempDir,
    slot: Arc<HotSlot<Example>>,
}

impl Host {
    fn new() -> Host {
        let dir = tempfile::tempdir().expect("host directory");
        let loader = Arc::new(Loader::new(dir.path().join("cache")));
        Host {
            dir,
            slot: Arc::new(HotSlot::empty(loader)),
        }
    }

    /// Updates from `channel` and checks that it installed `version` as manifest `to`.
    fn update(&self, keys: &TrustedKeys, channel: &str, to: u64, version: &str) {
        let mut config = UpdaterConfig::new(
            keys.clone(),
            &self.dir.path().join("plugins"),
            &self.dir.path().join("state"),
        );
        config.channel = Some(channel.to_owned());
        let mut slots = Slots::new();
        slots.insert("example", self.slot.clone());
        let outcome = Updater::new(config)
            .update(&slots, &NoProgress)
            .expect("update succeeds");
        assert!(
            matches!(outcome, Outcome::Updated { to_manifest, confirmed: true, .. } if to_manifest == to),
            "{outcome:?}"
        );
        assert_eq!(self.slot.serving().as_deref(), Some(version));
    }
}

fn benches(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[7; 32]);
    let keys = TrustedKeys::new([key.verifying_key()]);
    let channels = tempfile::tempdir().expect("channel directory");
    let v1 = example_plugin().expect("example plugin 1.0.0 builds");
    let v2 = example_plugin_v2().expect("example plugin 1.0.1 builds");
    publish(&channels.path().join("1"), &key, 1, "1.0.0", v1);
    publish(&channels.path().join("2"), &key, 2, "1.0.1", v2);
    let url = serve(channels.path().to_path_buf());
    let (first, second) = (format!("{url}/1"), format!("{url}/2"));
    // Each update takes milliseconds, plus as long again for its untimed setup: 20 samples
    // of equal size keep a run to seconds.
    let mut group = c.benchmark_group("update");
    group.sample_size(20).sampling_mode(SamplingMode::Flat);
    group.bench_function("loopback", |b| {
        b.iter_batched_ref(
            || {
                let host = Host::new();
                host.update(&keys, &first, 1, "1.0.0");
                host
            },
            |host| host.update(&keys, &second, 2, "1.0.1"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(update, benches);
criterion_main!(update);

//! Root metadata (TUF's root role): the release key is rotated and revoked through signed
//! roots served by the channel, each needing the threshold of the root before it and its
//! own; a root that goes back, or one planted in the state directory, is refused.

mod common;

use common::*;
use fastforth_update::keys::sign;
use fastforth_update::{Outcome, Root, SigningKey, UpdateError, UpdaterConfig, VerifyingKey};

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// Offline root keys.
const R1: u8 = 21;
const R2: u8 = 22;
/// Online release keys besides the tests' release key (seed 7).
const K2: u8 = 31;
const K3: u8 = 32;

fn public(seeds: &[u8]) -> Vec<VerifyingKey> {
    seeds
        .iter()
        .map(|seed| key(*seed).verifying_key())
        .collect()
}

/// Root `version`: root keys `roots` with `threshold`, one release key.
fn root(version: u64, roots: &[u8], threshold: usize, release: &SigningKey) -> Root {
    Root::new(
        version,
        (&public(roots), threshold),
        (&[release.verifying_key()], 1),
    )
}

/// Serves `root` in the channel as `root/<version>.json`, signed by `signers`.
fn serve_root(world: &World, root: &Root, signers: &[u8]) {
    serve_root_as(world, root.root_version, root, signers);
}

fn serve_root_as(world: &World, version: u64, root: &Root, signers: &[u8]) {
    let dir = world.channel.join("root");
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = root.to_bytes();
    let signatures: String = signers.iter().map(|s| sign(&bytes, &key(*s))).collect();
    std::fs::write(dir.join(format!("{version}.json")), &bytes).unwrap();
    std::fs::write(dir.join(format!("{version}.json.sig")), signatures).unwrap();
}

/// A host that ships root 1 (root key R1, the tests' release key), with 1.0.0 installed.
fn world_with_root(pinned: Root) -> (World, UpdaterConfig) {
    let world = World::new();
    let mut config = world.config();
    config.root = Some(pinned);
    config.trusted_keys = fastforth_update::TrustedKeys::new([key(99).verifying_key()]);
    world.publish(&[artifact("1.0.0", &example_v1())]);
    let outcome = world.update_with(config.clone()).unwrap();
    assert!(matches!(outcome, Outcome::Updated { .. }), "{outcome:?}");
    (world, config)
}

#[test]
fn a_new_root_rotates_the_release_key_and_revokes_the_old_one() {
    let (world, config) = world_with_root(root(1, &[R1], 1, &release_key()));
    serve_root(&world, &root(2, &[R1], 1, &key(K2)), &[R1]);
    world.release(&key(K2), |r| r, &[artifact("1.0.1", &example_v2())]);

    let outcome = world.update_with(config.clone()).unwrap();

    assert!(
        matches!(outcome, Outcome::Updated { to_manifest: 2, .. }),
        "{outcome:?}"
    );
    assert!(world.state_dir.join("roots/2.json").is_file());
    // The old release key, stolen: its newer manifest is refused.
    world.release(&release_key(), |r| r, &[artifact("1.0.1", &example_v2())]);
    let before = world.snapshot();
    let error = world.update_with(config).unwrap_err();
    assert!(matches!(error, UpdateError::UntrustedKey { .. }), "{error}");
    world.assert_unchanged(&before);
}

#[test]
fn a_root_without_the_old_roots_threshold_is_refused() {
    let (world, config) = world_with_root(root(1, &[R1, R2], 2, &release_key()));
    serve_root(&world, &root(2, &[R1, R2], 2, &key(K2)), &[R1]);
    world.release(&key(K2), |r| r, &[artifact("1.0.1", &example_v2())]);
    let before = world.snapshot();

    let error = world.update_with(config).unwrap_err();

    assert!(
        error.to_string().starts_with(
            "root/2.json: 1 valid signature(s) from trusted keys, expected at least 2 of ["
        ),
        "{error}"
    );
    world.assert_unchanged(&before);
    assert!(!world.state_dir.join("roots").exists());
}

#[test]
fn a_root_that_goes_back_is_refused() {
    let pinned = root(1, &[R1], 1, &release_key());
    let (world, config) = world_with_root(pinned.clone());
    // The old root 1, re-signed and served as root 2.
    serve_root_as(&world, 2, &pinned, &[R1]);
    world.publish(&[artifact("1.0.1", &example_v2())]);
    let error = world.update_with(config).unwrap_err();
    assert_eq!(
        error.to_string(),
        "root/2.json: root_version is 1, expected 2: refusing to go back to an older root"
    );
}

#[test]
fn a_channel_that_drops_its_newest_root_cannot_bring_an_old_key_back() {
    let (world, config) = world_with_root(root(1, &[R1], 1, &release_key()));
    serve_root(&world, &root(2, &[R1], 1, &key(K2)), &[R1]);
    serve_root(&world, &root(3, &[R1], 1, &key(K3)), &[R1]);
    world.release(&key(K3), |r| r, &[artifact("1.0.1", &example_v2())]);
    world.update_with(config.clone()).unwrap();
    std::fs::remove_file(world.channel.join("root/3.json")).unwrap();
    world.release(&key(K2), |r| r, &[artifact("1.0.1", &example_v2())]);

    let error = world.update_with(config).unwrap_err();

    let k2 = fastforth_update::keys::key_id(&key(K2).verifying_key());
    assert!(
        error
            .to_string()
            .starts_with(&format!("manifest signed with key {k2}, expected one of")),
        "{error}"
    );
}

#[test]
fn a_root_planted_in_the_state_directory_is_not_trusted() {
    let (world, config) = world_with_root(root(1, &[R1], 1, &release_key()));
    let evil = root(2, &[R2], 1, &key(K2));
    let roots = world.state_dir.join("roots");
    std::fs::create_dir_all(&roots).unwrap();
    std::fs::write(roots.join("2.json"), evil.to_bytes()).unwrap();
    std::fs::write(roots.join("2.json.sig"), sign(&evil.to_bytes(), &key(R2))).unwrap();
    world.release(&key(K2), |r| r, &[artifact("1.0.1", &example_v2())]);

    let error = world.update_with(config).unwrap_err();

    assert!(
        error
            .to_string()
            .starts_with("root/2.json: 0 valid signature(s) from trusted keys"),
        "{error}"
    );
    assert_eq!(world.serving().as_deref(), Some("1.0.0"));
}

#[test]
fn a_release_threshold_of_two_needs_two_release_signatures() {
    let (world, config) = world_with_root(root(1, &[R1], 1, &release_key()));
    let two = Root::new(2, (&public(&[R1]), 1), (&public(&[K2, K3]), 2));
    serve_root(&world, &two, &[R1]);
    world.release(&key(K2), |r| r, &[artifact("1.0.1", &example_v2())]);
    let before = world.snapshot();
    let error = world.update_with(config.clone()).unwrap_err();
    assert!(
        error.to_string().starts_with(
            "manifest.json.sig: 1 valid signature(s) from trusted keys, expected at least 2 of ["
        ),
        "{error}"
    );
    world.assert_unchanged(&before);
    let (k2, k3) = (key(K2), key(K3));
    fastforth_update::Release::new(&world.channel, &k2)
        .state_file(&world.publisher_state())
        .cosign(&k3)
        .publish(&[artifact("1.0.1", &example_v2())])
        .unwrap();
    let outcome = world.update_with(config).unwrap();
    assert!(matches!(outcome, Outcome::Updated { .. }), "{outcome:?}");
}

/// A named pipe where the next stored root would be: refused by name, not waited on (an
/// update that hangs holds the update lock for good).
#[cfg(unix)]
#[test]
fn a_stored_root_that_is_a_named_pipe_is_refused_not_waited_on() {
    let (world, config) = world_with_root(root(1, &[R1], 1, &release_key()));
    let roots = world.state_dir.join("roots");
    std::fs::create_dir_all(&roots).unwrap();
    let pipe = roots.join("2.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::write(roots.join("2.json.sig"), b"").unwrap();
    world.publish(&[artifact("1.0.1", &example_v2())]);

    let (sender, receiver) = std::sync::mpsc::channel();
    let updater = fastforth_update::Updater::new(config);
    let managed = ["example".to_owned()];
    std::thread::spawn(move || sender.send(updater.check(&managed).map(drop)));
    let checked = receiver.recv_timeout(std::time::Duration::from_secs(20));

    let error = checked.expect("the check hung").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: is a named pipe (FIFO), expected a regular file",
            pipe.display()
        )
    );
    assert_eq!(world.serving().as_deref(), Some("1.0.0"));
}

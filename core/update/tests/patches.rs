//! Delta updates over HTTP on 127.0.0.1: an update after a small change downloads only the
//! patch, and every attack and fault on the patch path (a patch for another base, a corrupt
//! patch, one that expands past the stated size, one whose result has the wrong hash, a
//! server dying mid-patch, an installed file changed on disk) falls back to the full file,
//! says so, and changes nothing installed when the full file is bad too.

mod common;

use common::server::Behaviour;
use common::*;
use fastforth_update::manifest::PATCHED_MANIFEST;
use fastforth_update::manifest::Patch;
use fastforth_update::patch;
use fastforth_update::release::PatchMaker;
use fastforth_update::{Download, HOST_TARGET, Manifest, Outcome, Progress, UpdateError};
use std::sync::Mutex;

/// Records what the updater says about patches it could not use.
#[derive(Default)]
struct FallBacks(Mutex<Vec<String>>);

impl Progress for FallBacks {
    fn fell_back(&self, plugin: &str, reason: &str) {
        self.0.lock().unwrap().push(format!("{plugin}: {reason}"));
    }
}

impl FallBacks {
    fn taken(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Publishes `version` of the example plugin from `path`, with patches made by `make` from
/// the last three builds published.
fn publish_patched(world: &World, version: &str, path: &std::path::Path, make: PatchMaker) {
    let key = release_key();
    world.release(
        &key,
        |release| release.patches(3, make),
        &[artifact(version, path)],
    );
}

/// 1.0.0 published (with patches on) and installed.
fn installed_v1() -> World {
    let world = World::new();
    publish_patched(&world, "1.0.0", &example_v1(), patch::make);
    assert!(matches!(world.update().unwrap(), Outcome::Updated { .. }));
    world.server.take_served();
    world
}

/// The patch the channel's schema-3 manifest lists for the example build.
fn listed_patch(world: &World) -> Patch {
    let bytes = std::fs::read(world.channel.join(PATCHED_MANIFEST)).unwrap();
    let manifest = Manifest::parse(&bytes).unwrap();
    let patches = &manifest.plugins["example"].targets[HOST_TARGET].patches;
    assert_eq!(patches.len(), 1, "{patches:?}");
    patches[0].clone()
}

/// Bytes the server sent for files other than manifests.
fn payload_bytes(world: &World) -> Vec<(String, u64)> {
    world
        .server
        .take_served()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("manifest"))
        .collect()
}

fn v2_size() -> u64 {
    std::fs::metadata(example_v2()).unwrap().len()
}

#[test]
fn an_update_after_a_small_change_downloads_only_the_patch() {
    let world = installed_v1();
    publish_patched(&world, "1.0.1", &example_v2(), patch::make);
    let listed = listed_patch(&world);
    assert!(
        listed.size * 4 < v2_size(),
        "patch {} bytes, full {}",
        listed.size,
        v2_size()
    );

    let check = world.updater().check(&["example".to_owned()]).unwrap();
    let Outcome::Available { downloads, .. } = check else {
        panic!("{check:?}")
    };
    let expected = Download {
        plugin: "example".to_owned(),
        bytes: listed.size,
        patch: true,
    };
    assert_eq!(downloads, [expected]);
    assert_eq!(payload_bytes(&world), Vec::<(String, u64)>::new());

    let fell_back = FallBacks::default();
    let outcome = world.updater().update(&world.slots(), &fell_back).unwrap();
    assert!(
        matches!(outcome, Outcome::Updated { to_manifest: 2, .. }),
        "{outcome:?}"
    );
    assert_eq!(fell_back.taken(), Vec::<String>::new());
    assert_eq!(payload_bytes(&world), [(listed.url.clone(), listed.size)]);
    assert_eq!(world.serving().as_deref(), Some("1.0.1"));
    let state = world.updater().state().unwrap();
    let installed = &state.plugins["example"].installed;
    let file = std::fs::read(world.plugin_dir.join(&installed.file)).unwrap();
    assert!(file == std::fs::read(example_v2()).unwrap());
}

#[test]
fn the_schema_2_manifest_stays_for_older_hosts_and_a_torn_schema_3_one_means_full_files() {
    let world = installed_v1();
    publish_patched(&world, "1.0.1", &example_v2(), patch::make);
    let old = std::fs::read_to_string(world.channel.join("manifest.json")).unwrap();
    assert!(
        old.contains("\"schema\": 2") && !old.contains("patches"),
        "{old}"
    );
    // The schema-3 manifest no longer verifies: the update takes the full file.
    flip_byte(&world.channel.join(PATCHED_MANIFEST), 40);
    let check = world.updater().check(&["example".to_owned()]).unwrap();
    let Outcome::Available { downloads, .. } = check else {
        panic!("{check:?}")
    };
    assert_eq!(downloads[0].bytes, v2_size());
    assert!(!downloads[0].patch);
    world.update().unwrap();
    assert_eq!(
        payload_bytes(&world),
        [(world.artifact_url(), v2_size())],
        "the full file only"
    );
    assert_eq!(world.serving().as_deref(), Some("1.0.1"));
}

/// Runs an update to 1.0.1 whose patch is made by `make` and served with `fault` twice:
/// with the full file served, the update falls back to it and reports a reason containing
/// `reason`; with the full file cut short too, it is refused and nothing installed changes.
fn assert_falls_back(make: PatchMaker, fault: Option<Behaviour>, reason: &str) {
    for full_is_bad in [false, true] {
        let world = installed_v1();
        publish_patched(&world, "1.0.1", &example_v2(), make);
        if let Some(fault) = &fault {
            world
                .server
                .misbehave(&listed_patch(&world).url, fault.clone());
        }
        if full_is_bad {
            world
                .server
                .misbehave(&world.artifact_url(), Behaviour::DieAfter(1000));
        }
        let before = world.snapshot();
        let fell_back = FallBacks::default();
        let outcome = world.updater().update(&world.slots(), &fell_back);
        let notes = fell_back.taken();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("example: ") && notes[0].contains(reason),
            "{notes:?} does not say {reason:?}"
        );
        if full_is_bad {
            let error = outcome.unwrap_err();
            assert!(
                matches!(
                    error,
                    UpdateError::Truncated { .. } | UpdateError::Fetch { .. }
                ),
                "{error:?}"
            );
            world.assert_unchanged(&before);
        } else {
            assert!(
                matches!(outcome, Ok(Outcome::Updated { .. })),
                "{outcome:?}"
            );
            assert_eq!(world.serving().as_deref(), Some("1.0.1"));
            let served = payload_bytes(&world);
            assert_eq!(served.last(), Some(&(world.artifact_url(), v2_size())));
        }
    }
}

#[test]
fn a_signed_patch_made_for_another_base_falls_back_to_the_full_file() {
    assert_falls_back(
        |base, new| {
            let mut another = base.to_vec();
            another.rotate_left(4096);
            patch::make(&another, new)
        },
        None,
        "sha256 is",
    );
}

#[test]
fn a_patch_corrupted_on_the_server_falls_back_to_the_full_file() {
    let world = installed_v1();
    publish_patched(&world, "1.0.1", &example_v2(), patch::make);
    let mut corrupt = std::fs::read(world.channel.join(listed_patch(&world).url)).unwrap();
    corrupt[20] ^= 0x40;
    drop(world);
    // Served bytes differ from the signed hash: refused before decoding.
    assert_falls_back(patch::make, Some(Behaviour::Bytes(corrupt)), "sha256 is");
}

#[test]
fn a_signed_patch_that_does_not_decode_falls_back_to_the_full_file() {
    assert_falls_back(
        |_, _| zstd::bulk::compress(b"a zstd frame, but of no diff", 3).unwrap(),
        None,
        "corrupt patch: wrong magic",
    );
}

#[test]
fn a_patch_that_expands_past_the_stated_size_is_stopped() {
    assert_falls_back(
        |base, new| patch::make(base, &[new, &[0u8; 65_536][..]].concat()),
        None,
        &format!("the patch expands past {} bytes", v2_size()),
    );
}

#[test]
fn a_patch_whose_result_has_the_wrong_hash_falls_back_to_the_full_file() {
    assert_falls_back(
        |base, new| {
            let mut wrong = new.to_vec();
            wrong[1000] ^= 1;
            patch::make(base, &wrong)
        },
        None,
        "sha256 is",
    );
}

#[test]
fn a_server_dying_mid_patch_falls_back_to_the_full_file() {
    assert_falls_back(patch::make, Some(Behaviour::DieAfter(10)), "after 10 bytes");
}

#[test]
fn an_installed_file_changed_on_disk_is_no_base_for_a_patch() {
    let world = installed_v1();
    publish_patched(&world, "1.0.1", &example_v2(), patch::make);
    let state = world.updater().state().unwrap();
    let installed = world
        .plugin_dir
        .join(&state.plugins["example"].installed.file);
    flip_byte(&installed, 100);
    let check = world.updater().check(&["example".to_owned()]).unwrap();
    let Outcome::Available { downloads, .. } = check else {
        panic!("{check:?}")
    };
    assert!(!downloads[0].patch && downloads[0].bytes == v2_size());
    let fell_back = FallBacks::default();
    world.updater().update(&world.slots(), &fell_back).unwrap();
    // The damaged file is known before any download: no patch is tried for it.
    let notes = fell_back.taken();
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(
        payload_bytes(&world),
        [(world.artifact_url(), v2_size())],
        "the full file only"
    );
    assert_eq!(world.serving().as_deref(), Some("1.0.1"));
}

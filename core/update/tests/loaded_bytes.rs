//! The verified bytes are the loaded bytes: a file replaced between the updater's hash check
//! and the load (an attacker racing it, here a slot that rewrites the file first) is refused,
//! and the slot serves the very plugin it loaded and checked.

mod common;

use common::*;
use fastforth_host::Example;
use fastforth_update::{HotSlot, NoProgress, Slot, Slots, UpdateError};
use std::path::Path;
use std::sync::Arc;

/// Rewrites the file with `bytes` right before the real slot loads it.
struct Racing {
    inner: Arc<HotSlot<Example>>,
    bytes: Vec<u8>,
}

impl Slot for Racing {
    fn swap_in(
        &self,
        path: &Path,
        name: &str,
        version: &str,
        sha256: &str,
    ) -> Result<Option<String>, UpdateError> {
        std::fs::write(path, &self.bytes).unwrap();
        self.inner.swap_in(path, name, version, sha256)
    }

    fn undo(&self, plugin: &str) -> Result<(), UpdateError> {
        self.inner.undo(plugin)
    }

    fn serving(&self) -> Option<String> {
        self.inner.serving()
    }
}

#[test]
fn a_file_replaced_after_its_hash_was_checked_is_not_served() {
    let world = World::installed_v1();
    world.publish(&[artifact("1.0.1", &example_v2())]);
    // Loadable, the same plugin and version, but not the bytes the manifest signed.
    let mut raced = std::fs::read(example_v2()).unwrap();
    raced.extend_from_slice(b"raced");
    let mut slots = Slots::new();
    let racing = Racing {
        inner: world.slot.clone(),
        bytes: raced.clone(),
    };
    slots.insert("example", Arc::new(racing));
    let before = world.snapshot();

    let error = world.updater().update(&slots, &NoProgress).unwrap_err();

    let expected = world.artifact_sha256();
    assert!(
        matches!(&error, UpdateError::ChangedAfterCheck { expected: e, found, .. }
            if *e == expected && *found == fastforth_host::shadow::sha256_hex(&raced)),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .ends_with("the file changed after it was checked"),
        "{error}"
    );
    world.assert_unchanged(&before);
}

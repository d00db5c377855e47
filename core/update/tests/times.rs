//! Time and the publisher: a torn manifest/signature pair (a reader between the publisher's
//! two renames) is fetched again; a clock set back does not revive an expired manifest; a
//! manifest issued before the installed one, or in the future, is refused.

mod common;

use common::server::Behaviour;
use common::*;
use fastforth_update::{Outcome, Release, State, UpdateError, time::format_rfc3339};
use std::time::{Duration, SystemTime};

const DAY: Duration = Duration::from_secs(86_400);

#[test]
fn a_torn_manifest_pair_is_fetched_again() {
    let world = World::installed_v1();
    let old_signature = std::fs::read(world.channel.join("manifest.json.sig")).unwrap();
    world.publish(&[artifact("1.0.1", &example_v2())]);
    world
        .server
        .misbehave("manifest.json.sig", Behaviour::Once(old_signature));
    let outcome = world.update().unwrap();
    assert!(
        matches!(outcome, Outcome::Updated { to_manifest: 2, .. }),
        "{outcome:?}"
    );
}

#[test]
fn a_clock_set_back_does_not_revive_an_expired_manifest() {
    let world = World::installed_v1();
    let now = SystemTime::now();
    // The last update ran 20 days from now: the clock has since been set back 20 days.
    let mut state = State::load(&world.state_dir).unwrap();
    state.clock_seen = Some(format_rfc3339(now + 20 * DAY));
    state.save(&world.state_dir).unwrap();
    world.release(
        &release_key(),
        |r| r.expires(now + 10 * DAY),
        &[artifact("1.0.1", &example_v2())],
    );
    let before = world.snapshot();

    let error = world.update().unwrap_err();

    assert!(matches!(error, UpdateError::ClockBehind { .. }), "{error}");
    assert!(
        error.to_string().starts_with("manifest expired at ")
            && error.to_string().ends_with("was set back"),
        "{error}"
    );
    world.assert_unchanged(&before);
}

#[test]
fn a_manifest_issued_before_the_installed_one_is_refused() {
    let world = World::installed_v1();
    let installed = State::load(&world.state_dir)
        .unwrap()
        .newest_issued
        .unwrap();
    // Signed a day before the installed manifest and held back, with a higher version.
    Release::new(&world.channel, &release_key())
        .manifest_version(2)
        .issued(SystemTime::now() - DAY)
        .publish(&[artifact("1.0.1", &example_v2())])
        .unwrap();
    let before = world.snapshot();

    let error = world.update().unwrap_err();

    assert!(
        matches!(&error, UpdateError::IssuedBeforeSeen { seen, .. } if *seen == installed),
        "{error}"
    );
    world.assert_unchanged(&before);
}

#[test]
fn a_manifest_issued_in_the_future_is_refused_and_later_ones_still_install() {
    let world = World::installed_v1();
    let now = SystemTime::now();
    // A publisher's clock a day ahead: accepting it would judge every later manifest by it.
    Release::new(&world.channel, &release_key())
        .manifest_version(2)
        .issued(now + DAY)
        .expires(now + 30 * DAY)
        .publish(&[artifact("1.0.1", &example_v2())])
        .unwrap();
    let before = world.snapshot();

    let error = world.update().unwrap_err();

    assert!(
        matches!(error, UpdateError::IssuedInTheFuture { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("after this host's clock"),
        "{error}"
    );
    world.assert_unchanged(&before);
    // The publisher's clock mended, the next release installs, though it expires before
    // the day the refused one said it was issued.
    Release::new(&world.channel, &release_key())
        .manifest_version(3)
        .expires(now + DAY / 2)
        .publish(&[artifact("1.0.1", &example_v2())])
        .unwrap();
    let outcome = world.update().unwrap();
    assert!(
        matches!(outcome, Outcome::Updated { to_manifest: 3, .. }),
        "{outcome:?}"
    );
}

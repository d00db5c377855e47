//! The Forth engine plugin through the host: evaluate, errors, state images, and swapping
//! the engine mid-session with the user's state carried across.

// The host's test support: plugin builds, fresh loaders, file replacement.
#[path = "../../host/tests/common/mod.rs"]
mod common;

use common::*;
use fastforth_host::PluginError;
use fastforth_session::{Evaluation, Forth, ForthConsole, ForthLimits, ForthSession};
use std::path::PathBuf;

fn engine_v1() -> PathBuf {
    built("fastforth-forth-plugin", &[])
}

fn engine_v2() -> PathBuf {
    built("fastforth-forth-plugin", &["v2"])
}

const LIMITS: ForthLimits = ForthLimits {
    data_stack_cells: 256,
    return_stack_cells: 256,
    data_space_bytes: 1 << 20,
    max_steps: 10_000_000,
};

#[derive(Default)]
struct Captured {
    output: Vec<u8>,
    input: Vec<String>,
}

impl ForthConsole for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.output.extend_from_slice(bytes);
        Ok(())
    }
    fn read_line(&mut self) -> Option<Vec<u8>> {
        (!self.input.is_empty()).then(|| self.input.remove(0).into_bytes())
    }
    fn read_key(&mut self) -> Option<u8> {
        None
    }
}

fn eval(session: &ForthSession, source: &str) -> (Evaluation, String) {
    let mut console = Captured::default();
    let result = session
        .with_instance(|engine| engine.evaluate(source, "test.fs", &mut console))
        .unwrap();
    (
        result,
        String::from_utf8_lossy(&console.output).into_owned(),
    )
}

#[test]
fn engine_plugin_evaluates_and_reports_errors_with_positions() {
    let (_dir, loader) = fresh_loader();
    let session = ForthSession::start(loader, &engine_v1(), LIMITS).unwrap();
    assert_eq!(session.engine_version(), "1.0.0");
    let (result, output) = eval(&session, ": sq dup * ; 12 sq .");
    assert_eq!((result, output.trim()), (Evaluation::Continue, "144"));

    let (result, _) = eval(&session, "1 2 +\n  nosuchword");
    let Evaluation::Error { code, message } = result else {
        panic!("expected an error, got {result:?}");
    };
    assert_eq!(code, -13);
    assert!(message.starts_with("test.fs:2:3: -13"), "{message}");
    assert!(message.contains("nosuchword"), "{message}");

    session
        .with_instance(|engine| engine.reset_after_error())
        .unwrap();
    assert_eq!(
        session.with_instance(|e| e.data_stack()).unwrap(),
        Vec::<i64>::new()
    );
    assert_eq!(
        eval(&session, "3 sq .").1.trim(),
        "9",
        "definitions survive an error"
    );
}

#[test]
fn swapping_the_engine_keeps_definitions_variables_stacks_and_data() {
    let (_dir, loader) = fresh_loader();
    let session = ForthSession::start(loader, &engine_v1(), LIMITS).unwrap();
    eval(
        &session,
        ": cube dup dup * * ; variable total 42 total ! create buf 3 cells allot 7 buf 2 cells + ! 1 2 3",
    );

    let report = session.swap_engine(&engine_v2()).unwrap();
    assert_eq!(
        (report.from_version.as_str(), report.to_version.as_str()),
        ("1.0.0", "1.1.0")
    );
    assert_eq!(session.engine_version(), "1.1.0");
    assert_eq!(
        session.with_instance(|e| e.data_stack()).unwrap(),
        vec![1, 2, 3]
    );
    let (_, output) = eval(
        &session,
        "drop drop drop 4 cube . total @ . buf 2 cells + @ .",
    );
    assert_eq!(
        output.split_whitespace().collect::<Vec<_>>(),
        ["64", "42", "7"]
    );
}

#[test]
fn a_broken_engine_is_refused_and_the_session_keeps_its_engine_and_state() {
    let (dir, loader) = fresh_loader();
    let session = ForthSession::start(loader, &engine_v1(), LIMITS).unwrap();
    eval(&session, ": twice 2 * ;");
    let bytes = std::fs::read(engine_v2()).unwrap();
    let truncated = dir.path().join("libfastforth_forth_plugin.so");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(
        session.swap_engine(&truncated),
        Err(PluginError::Malformed { .. })
    ));
    let error = session.swap_engine(&example_v1()).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("plugin kind is example, expected forth"),
        "{error}"
    );
    assert_eq!(session.engine_version(), "1.0.0");
    assert_eq!(eval(&session, "21 twice .").1.trim(), "42");
}

#[test]
fn a_corrupt_state_image_is_refused_by_create() {
    let (_dir, loader) = fresh_loader();
    let plugin = loader.load::<Forth>(&engine_v1()).unwrap();
    let error = fastforth_session::ForthInstance::create(plugin, LIMITS, b"not an image")
        .err()
        .expect("a corrupt image is refused");
    assert!(
        matches!(
            error,
            PluginError::CallFailed {
                function: "create",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn step_budget_stops_an_endless_loop() {
    let (_dir, loader) = fresh_loader();
    let session = ForthSession::start(loader, &engine_v1(), LIMITS).unwrap();
    let (result, _) = eval(&session, ": forever begin again ; forever");
    assert!(matches!(result, Evaluation::Error { .. }), "{result:?}");
    session
        .with_instance(|engine| engine.reset_after_error())
        .unwrap();
    assert_eq!(
        eval(&session, "6 7 * .").1.trim(),
        "42",
        "the engine still works"
    );
}

/// A panic may leave the engine half-updated: the instance refuses every later call and says
/// why, and a new instance of the same plugin works (issue 19 S6).
#[test]
fn an_instance_is_dead_after_a_panic_and_says_so() {
    let (_dir, loader) = fresh_loader();
    let plugin = loader
        .load::<Forth>(&built("fastforth-forth-plugin", &["fault-panic"]))
        .unwrap();
    let mut engine = fastforth_session::ForthInstance::create(plugin.clone(), LIMITS, &[]).unwrap();
    let mut console = Captured::default();
    let panicked = engine
        .evaluate("fault-panic 1 2 3", "test.fs", &mut console)
        .unwrap_err();
    assert!(
        matches!(
            panicked,
            PluginError::Panicked {
                function: "evaluate",
                ..
            }
        ),
        "{panicked}"
    );
    let dead = "instance is dead after a panic in `evaluate`; create a new one";
    let again = engine.evaluate("1", "test.fs", &mut console).unwrap_err();
    assert!(again.to_string().contains(dead), "{again}");
    let stack = engine.data_stack().unwrap_err();
    assert!(stack.to_string().contains(dead), "{stack}");
    assert!(engine.save_image().is_err() && engine.reset_after_error().is_err());
    let mut fresh = fastforth_session::ForthInstance::create(plugin, LIMITS, &[]).unwrap();
    assert_eq!(
        fresh.evaluate("4 5", "test.fs", &mut console).unwrap(),
        Evaluation::Continue
    );
    assert_eq!(fresh.data_stack().unwrap(), vec![4, 5]);
}

#[test]
fn a_loaded_engine_swaps_in_and_rolls_back_with_the_sessions_state() {
    let (_dir, loader) = fresh_loader();
    let session = ForthSession::start(loader.clone(), &engine_v1(), LIMITS).unwrap();
    eval(&session, ": twice 2 * ; variable v 5 v ! 21");
    let v2 = loader.load::<Forth>(&engine_v2()).unwrap();

    let report = session.swap_engine_to(v2).unwrap();
    assert_eq!(
        (report.from_version.as_str(), report.to_version.as_str()),
        ("1.0.0", "1.1.0")
    );
    assert_eq!(eval(&session, "engine-version").1, "1.1.0");

    let report = session.rollback_engine().unwrap();
    assert_eq!(
        (report.from_version.as_str(), report.to_version.as_str()),
        ("1.1.0", "1.0.0")
    );
    let (result, output) = eval(&session, "twice . v @ . engine-version");
    assert_eq!(
        (result, output.as_str()),
        (Evaluation::Continue, "42 5 1.0.0")
    );
}

#[test]
fn rolling_back_an_engine_that_was_never_swapped_is_refused_and_it_keeps_serving() {
    let (_dir, loader) = fresh_loader();
    let session = ForthSession::start(loader, &engine_v1(), LIMITS).unwrap();
    eval(&session, "3");

    let refused = session.rollback_engine().unwrap_err();

    assert!(
        matches!(&refused, PluginError::NoRollbackTarget { plugin } if plugin == "forth"),
        "{refused}"
    );
    assert_eq!(eval(&session, ". engine-version").1, "3 1.0.0");
}

/// The engine plugin, called on this thread, leaves nothing that keeps it mapped once its
/// last instance and reference are gone. (The native kind is covered where native plugins
/// are compiled: `fastforth`'s `tests/native.rs`.)
#[test]
fn a_retired_engine_plugin_is_unmapped() {
    use fastforth_session::ForthInstance;
    struct Quiet;
    impl ForthConsole for Quiet {
        fn write(&mut self, _: &[u8]) -> std::io::Result<()> {
            Ok(())
        }
        fn read_line(&mut self) -> Option<Vec<u8>> {
            None
        }
        fn read_key(&mut self) -> Option<u8> {
            None
        }
    }
    let (_dir, loader) = fresh_loader();
    let plugin = loader
        .load::<Forth>(&built("fastforth-forth-plugin", &[]))
        .unwrap();
    let shadow = plugin.info().shadow.clone();
    let limits = ForthLimits {
        data_stack_cells: 64,
        return_stack_cells: 64,
        data_space_bytes: 1 << 16,
        max_steps: 1_000_000,
    };
    let mut engine = ForthInstance::create(plugin, limits, &[]).unwrap();
    let evaluated = engine.evaluate(": sq dup * ; 7 sq . 1 0 /", "t.fs", &mut Quiet);
    assert!(matches!(evaluated, Ok(Evaluation::Error { code: -10, .. })));
    drop(engine);
    assert_eq!(loader.retirements().len(), 1);
    if let Some(mapped) = mapped_count(&shadow) {
        assert_eq!(mapped, 0, "the retired engine plugin is still mapped");
    }
}

//! The state image: everything survives a save and a load into a fresh engine, and bad
//! images are refused with an `ImageError`.

use fastforth_engine::{BufferConsole, Forth, Limits};

fn session() -> (Forth, BufferConsole) {
    let mut forth = Forth::new(Limits::default());
    let mut console = BufferConsole::new();
    let setup = "VARIABLE counter 5 counter ! \
                 : bump 1 counter +! ; \
                 : k CREATE , DOES> @ 2* ; 21 k twice \
                 10 VALUE limit DEFER action ' bump IS action \
                 CREATE table 1 , 2 , 3 , \
                 HEX 7 8 9";
    forth.evaluate(setup, "setup", &mut console).unwrap();
    (forth, console)
}

#[test]
fn definitions_variables_stacks_and_base_survive() {
    let (forth, _) = session();
    let image = forth.save_image();
    let mut loaded = Forth::load_image(&image, Limits::default()).unwrap();
    assert_eq!(loaded.data_stack(), &[7, 8, 9]);
    let mut console = BufferConsole::new();
    loaded
        .evaluate(
            "DECIMAL action action counter @ twice limit table 2 CELLS + @ 10",
            "after",
            &mut console,
        )
        .unwrap();
    assert_eq!(loaded.data_stack(), &[7, 8, 9, 7, 42, 10, 3, 10]);
    loaded
        .evaluate(
            ": more counter @ 100 + ; more 20 TO limit limit",
            "after",
            &mut console,
        )
        .unwrap();
    assert_eq!(&loaded.data_stack()[8..], &[107, 20]);
}

#[test]
fn an_image_of_a_loaded_engine_is_the_same() {
    let (forth, _) = session();
    let image = forth.save_image();
    let loaded = Forth::load_image(&image, Limits::default()).unwrap();
    assert_eq!(loaded.save_image(), image);
}

#[test]
fn hex_base_is_kept() {
    let (forth, _) = session();
    let mut loaded = Forth::load_image(&forth.save_image(), Limits::default()).unwrap();
    let mut console = BufferConsole::new();
    loaded.evaluate("10 .", "after", &mut console).unwrap();
    assert_eq!(console.output_text(), "10 ");
    loaded
        .evaluate("DECIMAL 10", "after", &mut console)
        .unwrap();
    assert_eq!(loaded.data_stack().last(), Some(&10));
}

#[test]
fn bad_images_are_refused() {
    let (forth, _) = session();
    let image = forth.save_image();
    let refused = |bytes: &[u8]| {
        Forth::load_image(bytes, Limits::default())
            .map(|_| ())
            .unwrap_err()
    };
    assert!(refused(b"").message.contains("magic"));
    assert!(refused(b"not an image at all").message.contains("magic"));
    let mut other_version = image.clone();
    other_version[8] = 99;
    assert!(refused(&other_version).message.contains("version"));
    for cut in [9, 20, image.len() / 2, image.len() - 1] {
        refused(&image[..cut]);
    }
    for at in (12..image.len()).step_by(97) {
        let mut corrupt = image.clone();
        corrupt[at] ^= 0x5A;
        refused(&corrupt);
    }
}

/// Each line of `lines` evaluated on an engine of its own, loaded from the image of the
/// engine after the line before: a definition may span the images.
fn across_images(lines: &[&str]) -> (Forth, BufferConsole) {
    let mut forth = Forth::new(Limits::default());
    let mut console = BufferConsole::new();
    for line in lines {
        forth = Forth::load_image(&forth.save_image(), Limits::default()).unwrap();
        forth.evaluate(line, "line", &mut console).unwrap();
    }
    (forth, console)
}

#[test]
fn a_definition_being_compiled_goes_on_in_the_loaded_engine() {
    let lines = [
        ": classify {: n | acc :} 0 TO acc",
        "n 0 ?DO i 2 MOD IF 1 ELSE",
        "10 THEN acc + TO acc i 5 = IF LEAVE THEN",
        "LOOP BEGIN acc 100 < WHILE acc 3 * 1+ TO acc",
        "REPEAT acc CASE 121 OF 111 ENDOF",
        "DUP ENDCASE ;",
        "0 classify 1 classify 4 classify 9 classify",
        ":NONAME 6 7",
        "* ; EXECUTE",
    ];
    let (spanned, spanned_output) = across_images(&lines);
    let mut whole = Forth::new(Limits::default());
    let mut whole_output = BufferConsole::new();
    whole
        .evaluate(&lines.join(" "), "whole", &mut whole_output)
        .unwrap();
    assert_eq!(spanned.data_stack(), whole.data_stack());
    assert_eq!(spanned.data_stack(), &[111, 283, 202, 100, 42]);
    assert_eq!(spanned_output.output_text(), whole_output.output_text());
}

#[test]
fn a_definition_left_open_in_an_image_still_reports_its_errors() {
    let (mut forth, _) = across_images(&[": unfinished 1 IF 2"]);
    let mut console = BufferConsole::new();
    let error = forth.evaluate("; ", "line", &mut console).unwrap_err();
    assert_eq!(error.code, -22, "{error}");
    forth.reset_after_error();
    let mut loaded = Forth::load_image(&forth.save_image(), Limits::default()).unwrap();
    loaded.evaluate(": f 5 ; f", "line", &mut console).unwrap();
    assert_eq!(loaded.data_stack(), &[5]);
    let (forth, _) = across_images(&[": open 1"]);
    let ended = forth.end_of_program("prog.fs").unwrap_err();
    assert!(
        ended.to_string().contains("inside the definition of open"),
        "{ended}"
    );
}

#[test]
fn images_of_versions_2_and_3_without_the_newer_sections_load() {
    let (forth, _) = session();
    let image = forth.save_image();
    let body = &image[..image.len() - 8];
    assert!(
        body.ends_with(&[0, 0]),
        "no definition open, no [IF] skipped"
    );
    // Version 3 has no skip section; version 2 has no open definition either.
    for (version, newer_sections) in [(3u32, 1), (2, 2)] {
        let mut old = body[..body.len() - newer_sections].to_vec();
        old[8..12].copy_from_slice(&version.to_le_bytes());
        old.extend(fnv1a(&old).to_le_bytes());
        let loaded = Forth::load_image(&old, Limits::default()).unwrap();
        assert_eq!(loaded.save_image(), image, "version {version}");
    }
}

#[test]
fn an_if_being_skipped_goes_on_in_the_loaded_engine() {
    let lines = [
        "0 [IF] 1 [IF] 2",
        "[ELSE] 3 [THEN] 4",
        "[ELSE] 5",
        "[THEN] 6",
    ];
    let (forth, _) = across_images(&lines);
    assert_eq!(forth.data_stack(), &[5, 6]);
    let (forth, _) = across_images(&["TRUE [IF] 7 [ELSE] 8"]);
    let loaded = Forth::load_image(&forth.save_image(), Limits::default()).unwrap();
    let ended = loaded.end_of_program("prog").unwrap_err();
    assert_eq!(ended.code, -39, "{ended}");
    let mut corrupt = forth.save_image();
    let body = corrupt.len() - 8;
    assert_eq!(corrupt[body - 10], 1, "a skip in the image");
    corrupt[body - 1] = 2;
    corrupt.truncate(body);
    corrupt.extend(fnv1a(&corrupt).to_le_bytes());
    let refused = Forth::load_image(&corrupt, Limits::default())
        .err()
        .unwrap();
    assert!(refused.to_string().contains("skip flag 2"), "{refused}");
}

#[test]
fn an_image_that_does_not_fit_is_refused() {
    let mut forth = Forth::new(Limits::default());
    let mut console = BufferConsole::new();
    forth.evaluate("1 2 3 4 5", "t", &mut console).unwrap();
    let small = Limits {
        data_stack_cells: 2,
        ..Limits::default()
    };
    assert!(Forth::load_image(&forth.save_image(), small).is_err());
}

#[test]
fn ir_encoding_round_trips() {
    use fastforth_engine::ir::{self, Op, Sys};
    let ops = vec![
        Op::Lit(-5),
        Op::Call(1234),
        Op::ZBranch(3),
        Op::LitLtBranch(7, 9),
        Op::Dup,
        Op::Sys(Sys::Emit),
        Op::Exit,
    ];
    let bytes = ir::encode(&ops);
    assert_eq!(ir::decode(&bytes).unwrap(), ops);
    assert!(ir::decode(&bytes[..bytes.len() - 1]).is_err());
    let mut other = bytes.clone();
    other[..4].copy_from_slice(&(ir::IR_VERSION + 1).to_le_bytes());
    assert!(ir::decode(&other).is_err());
}

#[test]
fn an_empty_colon_definition_at_the_end_of_the_code_survives() {
    let mut forth = Forth::new(Limits::default());
    let mut console = BufferConsole::new();
    forth
        .evaluate(": noop ; 1 noop", "setup", &mut console)
        .unwrap();
    let mut loaded = Forth::load_image(&forth.save_image(), Limits::default())
        .expect("an image whose last word is `: noop ;` loads");
    loaded
        .evaluate(
            "2 noop ' noop EXECUTE : twice noop noop 3 ; twice",
            "after",
            &mut console,
        )
        .unwrap();
    assert_eq!(loaded.data_stack(), &[1, 2, 3]);
}

/// The image checksum, FNV-1a 64 (as the image fuzzer appends it to its seeds).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Images saved by earlier builds of this engine (the image fuzzer's seeds, which leave
/// out the trailing checksum) still load, and save again to the very same bytes.
#[test]
fn the_saved_seed_images_load_and_save_unchanged() {
    let seeds =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/engine_image");
    let mut checked = 0;
    for entry in std::fs::read_dir(&seeds).unwrap() {
        let path = entry.unwrap().path();
        let mut image = std::fs::read(&path).unwrap();
        image.extend(fnv1a(&image).to_le_bytes());
        let forth = Forth::load_image(&image, Limits::default())
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(forth.save_image(), image, "{}", path.display());
        checked += 1;
    }
    assert!(
        checked >= 5,
        "only {checked} seed images in {}",
        seeds.display()
    );
}

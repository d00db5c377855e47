//! The Floating-point word set and its extension, word by word: special values (signed
//! zeros, infinities, NaN), rounding, conversions from and to text, and the float stack's
//! bounds and its place in the state image.

mod common;

use common::{check_all, error, forth, output, stack};
use fastforth_engine::{BufferConsole, Forth, Limits};

/// Evaluates `source` on a fresh engine; returns the data stack and the float stack.
fn run(source: &str) -> (Vec<i64>, Vec<f64>) {
    let mut forth = forth();
    let mut console = BufferConsole::new();
    if let Err(error) = forth.evaluate(source, "test", &mut console) {
        panic!("{source:?} failed: {error}");
    }
    (forth.data_stack().to_vec(), forth.float_stack().to_vec())
}

/// The float stack after `source`.
fn floats(source: &str) -> Vec<f64> {
    let (data, floats) = run(source);
    assert!(
        data.is_empty(),
        "{source:?} left {data:?} on the data stack"
    );
    floats
}

/// Checks each `(source, expected float stack)` pair bit for bit (so -0 is not +0 and a
/// NaN equals a NaN of the same encoding).
fn check_floats(cases: &[(&str, &[f64])]) {
    for (source, expected) in cases {
        let bits = |values: &[f64]| values.iter().map(|r| r.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&floats(source)),
            bits(expected),
            "float stack after {source:?}: {:?}",
            floats(source)
        );
    }
}

const TRUE: i64 = -1;
const FALSE: i64 = 0;
const INF: f64 = f64::INFINITY;

#[test]
fn literals_need_an_exponent_and_decimal_base() {
    check_floats(&[
        (
            "1E 1e0 1.E 1.5e-3 -2.5E+1 +3E2",
            &[1.0, 1.0, 1.0, 0.0015, -25.0, 300.0],
        ),
        (".5E1 -0E 0E", &[5.0, -0.0, 0.0]),
        ("1E999 -1E999 1E-999", &[INF, -INF, 0.0]),
        (": t 2.5E0 ; t t F+", &[5.0]),
        ("0.1E", &[0.1]),
    ]);
    assert_eq!(error("1.5").code, -13);
    assert_eq!(error("E5").code, -13);
    assert_eq!(error("HEX 1.5E3").code, -13);
    assert_eq!(stack("1E"), Vec::<i64>::new());
}

#[test]
fn stack_words_move_floats() {
    check_floats(&[
        ("1E 2E FDUP", &[1.0, 2.0, 2.0]),
        ("1E 2E FDROP", &[1.0]),
        ("1E 2E FSWAP", &[2.0, 1.0]),
        ("1E 2E FOVER", &[1.0, 2.0, 1.0]),
        ("1E 2E 3E FROT", &[2.0, 3.0, 1.0]),
    ]);
    assert_eq!(run("FDEPTH 1E 2E FDEPTH").0, [0, 2]);
    assert_eq!(run("1 2 1E FDEPTH").0, [1, 2, 1], "the stacks are separate");
}

#[test]
fn float_stack_underflow_and_overflow_are_their_own_throw_codes() {
    for source in [
        "FDROP",
        "FDUP",
        "1E FSWAP",
        "1E FOVER",
        "1E 2E FROT",
        "1E F+",
        "F.",
    ] {
        assert_eq!(error(source).code, -45, "{source}");
    }
    let mut forth = Forth::new(Limits {
        float_stack_cells: 3,
        ..Limits::default()
    });
    let mut console = BufferConsole::new();
    let overflow = forth.evaluate("1E 2E 3E 4E", "test", &mut console);
    assert_eq!(overflow.unwrap_err().code, -44);
    assert_eq!(forth.float_stack(), [1.0, 2.0, 3.0]);
    let caught = forth.evaluate("FDROP : t 9E 9E ; ' t CATCH", "test", &mut console);
    assert!(caught.is_ok());
    assert_eq!(forth.data_stack(), [-44]);
}

#[test]
fn the_float_stack_depth_is_a_checked_limit() {
    let refused = Forth::try_new(Limits {
        float_stack_cells: 0,
        ..Limits::default()
    });
    let message = refused.err().unwrap();
    assert!(message.contains("float stack of 0 floats"), "{message}");
}

#[test]
fn arithmetic_is_ieee() {
    check_floats(&[
        (
            "1E 2E F+ 5E 3E F- 4E 2.5E F* 7E 2E F/",
            &[3.0, 2.0, 10.0, 3.5],
        ),
        ("1E 0E F/ -1E 0E F/ 1E -0E F/", &[INF, -INF, -INF]),
        ("0E FNEGATE 0E F-", &[-0.0]),
        ("0E -1E F*", &[-0.0]),
        ("1E 3E F/", &[1.0 / 3.0]),
        ("2E 10E F** 4E 0.5E F**", &[1024.0, 2.0]),
        ("-3E FABS 3E FNEGATE", &[3.0, -3.0]),
        ("1E 2E FMAX 1E 2E FMIN -1E -2E FMAX", &[2.0, 1.0, -1.0]),
        ("2E FSQRT", &[std::f64::consts::SQRT_2]),
    ]);
    let (_, nan) = run("0E 0E F/ -1E FSQRT");
    assert!(nan.iter().all(|r| r.is_nan()));
}

#[test]
fn rounding_words_round_their_own_way() {
    check_floats(&[
        (
            "2.5E FROUND 3.5E FROUND -2.5E FROUND 2.4E FROUND",
            &[2.0, 4.0, -2.0, 2.0],
        ),
        ("2.7E FLOOR -2.2E FLOOR -0.5E FLOOR", &[2.0, -3.0, -1.0]),
        ("2.7E FTRUNC -2.7E FTRUNC -0.5E FTRUNC", &[2.0, -2.0, -0.0]),
        ("-0.4E FROUND", &[-0.0]),
    ]);
}

#[test]
fn comparisons_treat_zeros_alike_and_nan_as_unordered() {
    check_all(&[
        ("-1E F0< 0E F0< -0E F0<", &[TRUE, FALSE, FALSE]),
        ("0E F0= -0E F0= 1E-300 F0=", &[TRUE, TRUE, FALSE]),
        ("1E 2E F< 2E 1E F< -0E 0E F<", &[TRUE, FALSE, FALSE]),
        ("0E 0E F/ FDUP F0= 1E F<", &[FALSE, FALSE]),
    ]);
}

#[test]
fn proximity_has_three_modes() {
    check_all(&[
        ("1E 1.05E 0.1E F~ 1E 1.2E 0.1E F~", &[TRUE, FALSE]),
        (
            "1E 1E 0E F~ 0E -0E 0E F~ -0E -0E -0E F~",
            &[TRUE, FALSE, TRUE],
        ),
        ("1E 0E F/ FDUP 0E F~", &[TRUE]),
        ("0E 0E F/ FDUP 0E F~ 0E 0E F/ 1E 0E F~", &[TRUE, FALSE]),
        ("100E 101E -0.01E F~ 100E 103E -0.01E F~", &[TRUE, FALSE]),
    ]);
}

#[test]
fn integer_conversions_truncate_and_refuse_what_does_not_fit() {
    check_all(&[
        ("7 S>F F>S -7 S>F F>S", &[7, -7]),
        ("2.9E F>S -2.9E F>S", &[2, -2]),
        ("1. D>F F>D -5. D>F F>D", &[1, 0, -5, -1]),
        ("1E19 F>D", &[-8446744073709551616, 0]),
        ("9223372036854775807. D>F F>D", &[i64::MIN, 0]),
    ]);
    check_floats(&[("-1 -1 D>F 0 1 D>F", &[-1.0, 18446744073709551616.0])]);
    for source in [
        "1E19 F>S",
        "-1E19 F>S",
        "1E39 F>D",
        "0E 0E F/ F>S",
        "1E 0E F/ F>D",
    ] {
        assert_eq!(error(source).code, -11, "{source}");
    }
}

#[test]
fn memory_words_store_eight_and_four_byte_floats() {
    check_floats(&[
        (
            "CREATE x 2 FLOATS ALLOT 1.5E x F! 2.5E x FLOAT+ F! x F@ x FLOAT+ F@",
            &[1.5, 2.5],
        ),
        ("CREATE x 8 ALLOT -3E x DF! x DF@", &[-3.0]),
        ("CREATE x 8 ALLOT 0.1E x SF! x SF@", &[f64::from(0.1f32)]),
        ("CREATE x 8 ALLOT 1E x 1+ F! x 1+ F@", &[1.0]),
        ("FVARIABLE v 4E v F! v F@", &[4.0]),
    ]);
    check_all(&[
        ("3 FLOATS 3 DFLOATS 3 SFLOATS", &[24, 24, 12]),
        ("0 FLOAT+ 0 DFLOAT+ 0 SFLOAT+", &[8, 8, 4]),
        (
            "1 FALIGNED 8 DFALIGNED 5 SFALIGNED 8 SFALIGNED",
            &[8, 8, 8, 8],
        ),
        ("1 ALLOT SFALIGN HERE 3 AND", &[0]),
        (
            "1 ALLOT FALIGN HERE 7 AND 1 ALLOT DFALIGN HERE 7 AND",
            &[0, 0],
        ),
        ("CREATE x 8 ALLOT 0 x ! 1E x SF! x @", &[0x3f80_0000]),
    ]);
    assert_eq!(error("-8 F@").code, -9);
    assert_eq!(error("1E -1 SF!").code, -9);
}

#[test]
fn defining_words_make_float_constants_values_and_fields() {
    check_floats(&[
        ("2.5E FCONSTANT c c c F+", &[5.0]),
        ("2E FCONSTANT c : t c c F* ; t", &[4.0]),
        ("1E FVALUE v v 3E TO v v", &[1.0, 3.0]),
        ("1E FVALUE v : set TO v ; 7E set v", &[7.0]),
        (": t [ 1.25E ] FLITERAL ; t t", &[1.25, 1.25]),
        ("5 VALUE n 6 TO n", &[]),
    ]);
    check_all(&[
        (
            "1 FFIELD: a DFFIELD: b SFFIELD: c 0 a 0 b 0 c",
            &[28, 8, 16, 24],
        ),
        ("0 SFFIELD: a SFFIELD: b 100 b", &[8, 104]),
        ("1E FVALUE v 5 VALUE n 9 TO n n", &[9]),
    ]);
    assert_eq!(error("1E FVALUE v TO v").code, -45);
}

#[test]
fn transcendental_functions_match_the_library() {
    let cases: &[(&str, f64)] = &[
        ("0.5E FSIN", 0.5f64.sin()),
        ("0.5E FCOS", 0.5f64.cos()),
        ("0.5E FTAN", 0.5f64.tan()),
        ("0.5E FASIN", 0.5f64.asin()),
        ("0.5E FACOS", 0.5f64.acos()),
        ("0.5E FATAN", 0.5f64.atan()),
        ("1E -1E FATAN2", 1f64.atan2(-1.0)),
        ("0.5E FSINH", 0.5f64.sinh()),
        ("0.5E FCOSH", 0.5f64.cosh()),
        ("0.5E FTANH", 0.5f64.tanh()),
        ("0.5E FASINH", 0.5f64.asinh()),
        ("1.5E FACOSH", 1.5f64.acosh()),
        ("0.5E FATANH", 0.5f64.atanh()),
        ("1E FEXP", 1f64.exp()),
        ("1E-10 FEXPM1", 1e-10f64.exp_m1()),
        ("2E FLN", 2f64.ln()),
        ("1E-10 FLNP1", 1e-10f64.ln_1p()),
        ("1000E FLOG", 3.0),
        ("3E FALOG", 1000.0),
    ];
    for (source, expected) in cases {
        assert_eq!(floats(source), [*expected], "{source}");
    }
    let (sin, cos) = 0.5f64.sin_cos();
    assert_eq!(floats("0.5E FSINCOS"), [sin, cos]);
    assert!(floats("-1E FLN")[0].is_nan());
    assert_eq!(floats("0E FLN"), [-INF]);
}

#[test]
fn to_float_accepts_the_standard_forms_and_refuses_others() {
    let converts: &[(&str, f64)] = &[
        ("", 0.0),
        ("   ", 0.0),
        ("9", 9.0),
        ("9.", 9.0),
        (".9", 0.9),
        ("-35.0E+02", -3500.0),
        ("1+1", 10.0),
        ("1-1", 0.1),
        ("9e+", 9.0),
        ("9d-", 9.0),
        ("+.35+4", 3500.0),
        ("1D3", 1000.0),
        ("-0", -0.0),
    ];
    for (text, expected) in converts {
        let (data, floats) = run(&format!("S\" {text}\" >FLOAT"));
        assert_eq!(data, [TRUE], "{text:?}");
        assert_eq!(floats[0].to_bits(), expected.to_bits(), "{text:?}");
    }
    for text in [
        ".", "E", ".E", "+", "-", " 9", "9 ", "1E5X", "1.5.", "e5", "1EE5", "inf",
    ] {
        assert_eq!(
            run(&format!("S\" {text}\" >FLOAT")),
            (vec![FALSE], vec![]),
            "{text:?}"
        );
    }
}

#[test]
fn to_float_rounds_correctly() {
    let exact_tie_below = "1.000000000000000111022302462515654042363166809082031250";
    let just_above = "1.000000000000000111022302462515654042363166809082031251";
    assert_eq!(floats(&format!("{exact_tie_below}E0")), [1.0]);
    assert_eq!(floats(&format!("{just_above}E0")), [1.0 + f64::EPSILON]);
    assert_eq!(floats("9007199254740993E0"), [9007199254740992.0]);
}

/// REPRESENT's results: the digits it wrote, n, flag1 (negative) and flag2 (valid).
fn represent(value: &str, digits: usize) -> (String, i64, i64, i64) {
    let mut forth = forth();
    let mut console = BufferConsole::new();
    let source = format!("{value} PAD {digits} REPRESENT PAD {digits} TYPE");
    forth.evaluate(&source, "test", &mut console).unwrap();
    let stack = forth.data_stack();
    (console.output_text(), stack[0], stack[1], stack[2])
}

#[test]
fn represent_rounds_to_nearest_and_reports_sign_and_validity() {
    assert_eq!(represent("1E", 5), ("10000".into(), 1, FALSE, TRUE));
    assert_eq!(represent("-1E", 5), ("10000".into(), 1, TRUE, TRUE));
    assert_eq!(represent("100E 3E F/", 5), ("33333".into(), 2, FALSE, TRUE));
    assert_eq!(
        represent("0.02E 3E F/", 5),
        ("66667".into(), -2, FALSE, TRUE)
    );
    assert_eq!(represent("0.99999E", 3), ("100".into(), 1, FALSE, TRUE));
    assert_eq!(represent("0.125E", 2), ("12".into(), 0, FALSE, TRUE));
    assert_eq!(represent("0.375E", 2), ("38".into(), 0, FALSE, TRUE));
    assert_eq!(represent("0E", 4), ("0000".into(), 1, FALSE, TRUE));
    assert_eq!(represent("-0E", 4), ("0000".into(), 1, TRUE, TRUE));
    assert_eq!(represent("1E 0E F/", 5), ("INF  ".into(), 0, FALSE, FALSE));
    assert_eq!(represent("-1E 0E F/", 2), ("IN".into(), 0, TRUE, FALSE));
    assert!(represent("0E 0E F/", 3).0 == "NAN");
    let long = represent("0.1E", 60).0;
    assert_eq!(
        long,
        "100000000000000005551115123125782702118158340454101562500000"
    );
}

#[test]
fn output_words_follow_precision() {
    let cases: &[(&str, &str)] = &[
        (
            "1E F. 1.5E F. 1E10 F. 1E-5 F. -0E F.",
            "1. 1.5 10000000000. 0.00001 -0. ",
        ),
        (
            "5 SET-PRECISION 1E 3E F/ F. 200E 3E F/ F.",
            "0.33333 66.667 ",
        ),
        (
            "5 SET-PRECISION 0.000234E F. 123456789E F.",
            "0.000234 123460000. ",
        ),
        (
            "5 SET-PRECISION 1E FS. 0.02E FS. -333.E2 FS.",
            "1.0000E0 2.0000E-2 -3.3300E4 ",
        ),
        (
            "5 SET-PRECISION 1E FE. 20E FE. 300E FE. 4000E FE. 1E 3E F/ FE.",
            "1.0000E0 20.000E0 300.00E0 4.0000E3 333.33E-3 ",
        ),
        ("3 SET-PRECISION 999.9E FE. 0E FS.", "1.00E3 0.00E0 "),
        ("1E 0E F/ F. -1E 0E F/ FS. 0E 0E F/ FE.", "+Inf -Inf NaN "),
        ("1E FS.", "1.00000000000000E0 "),
    ];
    for (source, expected) in cases {
        assert_eq!(output(source), *expected, "{source}");
    }
    check_all(&[("PRECISION 7 SET-PRECISION PRECISION", &[15, 7])]);
    assert_eq!(error("0 SET-PRECISION").code, -24);
    assert_eq!(error("256 SET-PRECISION").code, -24);
}

#[test]
fn environment_answers_float_queries() {
    check_all(&[
        ("S\" FLOATING-STACK\" ENVIRONMENT?", &[1024, TRUE]),
        (
            "S\" FLOATING\" ENVIRONMENT? S\" FLOATING-EXT\" ENVIRONMENT?",
            &[TRUE, TRUE, TRUE, TRUE],
        ),
    ]);
    let (data, floats) = run("S\" MAX-FLOAT\" ENVIRONMENT?");
    assert_eq!((data, floats), (vec![TRUE], vec![f64::MAX]));
}

#[test]
fn the_state_image_carries_the_float_stack_and_precision() {
    let mut forth = forth();
    let mut console = BufferConsole::new();
    let source = "1.5E -0E 7 SET-PRECISION 2E FVALUE v";
    forth.evaluate(source, "test", &mut console).unwrap();
    let image = forth.save_image();
    let mut loaded = Forth::load_image(&image, Limits::default()).unwrap();
    assert_eq!(loaded.float_stack()[0], 1.5);
    assert!(loaded.float_stack()[1].is_sign_negative());
    loaded
        .evaluate("PRECISION . v F. 3E TO v v F.", "test", &mut console)
        .unwrap();
    assert_eq!(console.output_text(), "7 2. 3. ");
    let small = Limits {
        float_stack_cells: 1,
        ..Limits::default()
    };
    let refused = Forth::load_image(&image, small).err().unwrap();
    assert!(refused.message.contains("float stack"), "{refused}");
}

#[test]
fn a_copy_of_an_engine_has_its_own_float_stack() {
    let mut forth = forth();
    let mut console = BufferConsole::new();
    forth.evaluate("1E 2E", "test", &mut console).unwrap();
    let mut copy = forth.clone();
    copy.evaluate("F+", "test", &mut console).unwrap();
    assert_eq!(copy.float_stack(), [3.0]);
    assert_eq!(forth.float_stack(), [1.0, 2.0]);
}

#[test]
fn an_error_empties_the_float_stack_when_the_host_resets() {
    let mut forth = forth();
    let mut console = BufferConsole::new();
    let failed = forth.evaluate("1E 2E undefined-word", "test", &mut console);
    assert_eq!(failed.unwrap_err().code, -13);
    forth.reset_after_error();
    assert!(forth.float_stack().is_empty());
}

#[test]
fn long_conversions_charge_steps() {
    let mut forth = Forth::new(Limits {
        max_steps: Some(1000),
        ..Limits::default()
    });
    let mut console = BufferConsole::new();
    let long = forth.evaluate("1E HERE 900000 REPRESENT", "test", &mut console);
    assert_eq!(long.unwrap_err().code, -256);
    let long = forth.evaluate("HERE 900000 >FLOAT", "test", &mut console);
    assert_eq!(long.unwrap_err().code, -256);
}

/// FNV-1a 64, the image checksum.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn the_float_section_ends_the_image_and_a_cut_one_is_refused() {
    let mut forth = forth();
    let mut console = BufferConsole::new();
    forth.evaluate("1.5E 2E", "test", &mut console).unwrap();
    let image = forth.save_image();
    // The float section ends the image: two floats' bits, their count and PRECISION.
    let mut cut = image[..image.len() - 8 - 16].to_vec();
    let checksum = fnv1a(&cut);
    cut.extend(checksum.to_le_bytes());
    let refused = Forth::load_image(&cut, Limits::default()).err().unwrap();
    assert!(
        refused.message.contains("count larger than the data"),
        "{refused}"
    );
    let mut loaded = Forth::load_image(&image, Limits::default()).unwrap();
    loaded.evaluate("F+ F.", "test", &mut console).unwrap();
    assert_eq!(console.output_text(), "3.5 ");
}

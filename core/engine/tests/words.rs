//! Each word against the standard's definition, with normal and edge cases.

mod common;

use common::{check_all, error, output, stack};

const MIN: i64 = i64::MIN;
const MAX: i64 = i64::MAX;

#[test]
fn stack_words() {
    check_all(&[
        ("1 2 DUP", &[1, 2, 2]),
        ("1 2 DROP", &[1]),
        ("1 2 SWAP", &[2, 1]),
        ("1 2 OVER", &[1, 2, 1]),
        ("1 2 3 ROT", &[2, 3, 1]),
        ("1 2 NIP", &[2]),
        ("1 2 TUCK", &[2, 1, 2]),
        ("0 ?DUP 5 ?DUP", &[0, 5, 5]),
        ("10 20 30 2 PICK", &[10, 20, 30, 10]),
        ("10 20 30 0 PICK", &[10, 20, 30, 30]),
        ("10 20 30 40 3 ROLL", &[20, 30, 40, 10]),
        ("10 20 30 0 ROLL", &[10, 20, 30]),
        ("1 2 2DUP", &[1, 2, 1, 2]),
        ("1 2 3 2DROP", &[1]),
        ("1 2 3 4 2SWAP", &[3, 4, 1, 2]),
        ("1 2 3 4 2OVER", &[1, 2, 3, 4, 1, 2]),
        ("DEPTH 7 DEPTH", &[0, 7, 2]),
    ]);
}

#[test]
fn return_stack_words() {
    check_all(&[
        (": t >R 1 R> ; 5 t", &[1, 5]),
        (": t >R R@ R> ; 5 t", &[5, 5]),
        (": t 2>R 9 2R> ; 1 2 t", &[9, 1, 2]),
        (": t 2>R 2R@ 2R> ; 1 2 t", &[1, 2, 1, 2]),
    ]);
}

#[test]
fn arithmetic_wraps_and_divides_symmetrically() {
    check_all(&[
        ("1 2 + 5 3 - 4 5 *", &[3, 2, 20]),
        (&format!("{MAX} 1 +"), &[MIN]),
        (&format!("{MIN} 1 -"), &[MAX]),
        (&format!("{MIN} NEGATE {MIN} ABS"), &[MIN, MIN]),
        ("7 2 / -7 2 / 7 -2 / -7 -2 /", &[3, -3, -3, 3]),
        ("7 2 MOD -7 2 MOD 7 -2 MOD -7 -2 MOD", &[1, -1, 1, -1]),
        ("-7 2 /MOD", &[-1, -3]),
        (&format!("{MIN} -1 ' / CATCH"), &[MIN, -1, -11]),
        (&format!("{MIN} -1 MOD"), &[0]),
        ("5 1+ 5 1- 3 2* -3 2/", &[6, 4, 6, -2]),
        ("3 7 MIN 3 7 MAX -3 7 MIN", &[3, 7, -3]),
        (
            "1 3 LSHIFT 16 2 RSHIFT -1 60 RSHIFT 1 64 LSHIFT",
            &[8, 4, 15, 0],
        ),
        ("6 3 AND 6 3 OR 6 3 XOR 0 INVERT", &[2, 7, 5, -1]),
        (&format!("{MAX} 2 {MAX} */"), &[2]),
        ("10 3 7 */MOD", &[2, 4]),
        ("-10 3 7 */", &[-4]),
    ]);
}

#[test]
fn comparisons() {
    check_all(&[
        ("1 1 = 1 2 = 1 2 <>", &[-1, 0, -1]),
        ("-1 0 < 0 -1 < -1 0 > 1 0 >", &[-1, 0, 0, -1]),
        ("-1 0 U< 0 -1 U< -1 0 U>", &[0, -1, -1]),
        ("0 0= 5 0= 5 0<> -5 0< 5 0>", &[-1, 0, -1, -1, -1]),
        (&format!("{MIN} 0< {MAX} 0>"), &[-1, -1]),
        ("5 0 10 WITHIN 10 0 10 WITHIN -1 0 10 WITHIN", &[-1, 0, 0]),
        (&format!("0 {MIN} 1 WITHIN {MAX} 1 {MIN} WITHIN"), &[-1, -1]),
        ("TRUE FALSE", &[-1, 0]),
    ]);
}

#[test]
fn double_cell_arithmetic() {
    check_all(&[
        ("-5 S>D 5 S>D", &[-5, -1, 5, 0]),
        (&format!("{MAX} 2 M*"), &[-2, 0]),
        ("-3 4 M*", &[-12, -1]),
        ("-1 2 UM*", &[-2, 1]),
        ("7 0 2 UM/MOD", &[1, 3]),
        ("-1 1 -1 UM/MOD", &[1, 2]),
        ("7 S>D 2 FM/MOD -7 S>D 2 FM/MOD", &[1, 3, 1, -4]),
        ("7 S>D 2 SM/REM -7 S>D 2 SM/REM", &[1, 3, -1, -3]),
        ("7 S>D -2 FM/MOD", &[-1, -4]),
        ("123.", &[123, 0]),
        ("-1.", &[-1, -1]),
    ]);
    assert_eq!(error("1 1 1 UM/MOD").code, -11);
    assert_eq!(error("1 0 0 SM/REM").code, -10);
    assert_eq!(error(&format!("0 {MIN} -1 FM/MOD")).code, -11);
}

#[test]
fn memory_words() {
    check_all(&[
        ("VARIABLE v 42 v ! v @", &[42]),
        ("VARIABLE v 40 v ! 2 v +! v @", &[42]),
        ("CREATE b 2 CELLS ALLOT 1 2 b 2! b 2@ b @", &[1, 2, 2]),
        ("CREATE c 1 C, 2 C, c C@ c CHAR+ C@", &[1, 2]),
        ("CREATE c 300 c C! c C@", &[44]),
        ("HERE 5 ALLOT HERE SWAP -", &[5]),
        (
            "HERE 1 ALLOT ALIGN HERE SWAP - 8 MOD 1 CELLS 1 CHARS",
            &[0, 8, 1],
        ),
        ("3 ALIGNED 8 ALIGNED 1 CELL+", &[8, 8, 9]),
        (
            "CREATE s 3 C, 65 C, 66 C, 67 C, s COUNT NIP s COUNT DROP C@",
            &[3, 65],
        ),
        (
            "CREATE f 4 ALLOT f 4 7 FILL f 3 + C@ f 0 9 FILL f C@",
            &[7, 7],
        ),
        (
            "CREATE m 1 C, 2 C, 3 C, 0 C, m m 1+ 3 MOVE m 1+ C@ m 3 + C@",
            &[1, 3],
        ),
        (
            "CREATE m 1 C, 2 C, 3 C, 0 C, m 1+ m 3 MOVE m C@ m 2 + C@",
            &[2, 0],
        ),
        (
            "CREATE e 4 ALLOT e 4 9 FILL e 2 ERASE e C@ e 2 + C@",
            &[0, 9],
        ),
        ("UNUSED HERE + 1048576 =", &[-1]),
        ("PAD PAD =", &[-1]),
        ("8 BUFFER: buf buf 8 MOD 7 buf ! buf @", &[0, 7]),
    ]);
}

#[test]
fn defining_words() {
    check_all(&[
        ("5 CONSTANT five five", &[5]),
        ("7 VALUE v v 9 TO v v", &[7, 9]),
        ("7 VALUE v : set TO v ; 3 set v", &[3]),
        (": k CREATE , DOES> @ 1+ ; 10 k ten ten", &[11]),
        (": w CREATE DOES> 1 + DOES> 2 + ; w x x x HERE -", &[1, 2]),
        ("CREATE x 0 , ' x >BODY x =", &[-1]),
        ("DEFER d ' DUP IS d 4 d", &[4, 4]),
        ("DEFER d ' + ' d DEFER! 1 2 d ' d DEFER@ ' + =", &[3, -1]),
        (
            "DEFER d : set IS d ; ' * set 3 4 d ACTION-OF d ' * =",
            &[12, -1],
        ),
        (":NONAME 40 2 + ; EXECUTE", &[42]),
        (": x 1 ; : x x 2 ; x", &[1, 2]),
        (
            "MARKER m : gone 1 ; m S\" gone\" ' EVALUATE CATCH NIP NIP",
            &[-13],
        ),
        (": i? 9 ; IMMEDIATE : u i? LITERAL ; u", &[9]),
    ]);
}

#[test]
fn control_structures() {
    check_all(&[
        (": t IF 1 ELSE 2 THEN ; 0 t -1 t", &[2, 1]),
        (": t IF 1 ELSE 2 ELSE 3 THEN ; 0 t", &[2]),
        (": t BEGIN DUP 3 < WHILE 1+ REPEAT ; 0 t", &[3]),
        (": t BEGIN 1+ DUP 5 = UNTIL ; 0 t", &[5]),
        (": t BEGIN 1+ DUP 7 = IF EXIT THEN AGAIN ; 0 t", &[7]),
        (": t 0 5 0 DO I + LOOP ; t", &[10]),
        (": t 0 0 10 DO I + -3 +LOOP ; t", &[22]),
        (": t 0 SWAP 0 ?DO 1+ LOOP ; 0 t 4 t", &[0, 4]),
        (": t 3 0 DO 2 0 DO J I + LOOP LOOP ; t", &[0, 1, 1, 2, 2, 3]),
        (": t 100 0 DO I 4 = IF I LEAVE THEN LOOP ; t", &[4]),
        (": t 10 0 DO I 2 = IF I UNLOOP EXIT THEN LOOP 99 ; t", &[2]),
        (
            ": t CASE 1 OF 10 ENDOF 2 OF 20 ENDOF 99 SWAP ENDCASE ; 1 t 2 t 3 t",
            &[10, 20, 99],
        ),
        (": t DUP 0> IF DUP 1- RECURSE + THEN ; 4 t", &[10]),
        (
            ": t BEGIN DUP 2 > WHILE DUP 5 < WHILE 1+ REPEAT 100 ELSE 200 THEN ; 3 t 1 t",
            &[5, 100, 1, 200],
        ),
        (": t 0 4 1 DO 3 1 DO I J * + LOOP LOOP ; t", &[18]),
    ]);
}

#[test]
fn plus_loop_boundaries() {
    check_all(&[
        (": t -1 0 DO I -1 +LOOP ; t", &[0, -1]),
        (
            &format!(": t 0 0 {MIN} DO 1+ {} +LOOP ; t", 1i64 << 62),
            &[2],
        ),
        (
            &format!(": t {MAX} {} DO I LOOP ; t", MAX - 2),
            &[MAX - 2, MAX - 1],
        ),
    ]);
}

#[test]
fn parsing_and_source_words() {
    check_all(&[
        ("CHAR A CHAR bcd", &[65, 98]),
        (": t [CHAR] Z ; t", &[90]),
        ("BL WORD hello COUNT NIP", &[5]),
        ("CHAR ) PARSE abc) NIP", &[3]),
        ("PARSE-NAME   word NIP", &[4]),
        ("S\" 1 2 +\" EVALUATE", &[3]),
        ("SOURCE NIP", &[10]),
        ("S\" SOURCE-ID\" EVALUATE SOURCE-ID", &[-1, 0]),
        ("1 ( comment ) 2 \\ rest 3", &[1, 2]),
        ("5 >IN @ DROP", &[5]),
        ("S\\\" a\\tb\\x41\\n\" NIP", &[5]),
        (": t C\" abc\" COUNT NIP ; t", &[3]),
        ("0 0 S\" 12x\" >NUMBER 2DROP", &[12, 0]),
        ("HEX 0 0 S\" ff\" >NUMBER 2DROP DROP DECIMAL", &[255]),
        ("S\" 9 SAVE-INPUT\" EVALUATE DROP DROP DROP DROP", &[9]),
    ]);
}

#[test]
fn in_manipulation_rescans_the_line() {
    check_all(&[(
        "VARIABLE n 3 n ! : again? -1 n +! n @ IF 0 >IN ! THEN ;\n7 again?",
        &[7, 7, 7],
    )]);
}

#[test]
fn number_base_and_prefixes() {
    check_all(&[
        ("HEX ff DECIMAL", &[255]),
        ("2 BASE ! 101 DECIMAL", &[5]),
        ("36 BASE ! z DECIMAL", &[35]),
        ("$10 #10 %10 'a'", &[16, 10, 2, 97]),
        ("$-10 #-10", &[-16, -10]),
        ("hex 10 decimal BASE @", &[16, 10]),
    ]);
    assert_eq!(error("12z").code, -13);
}

#[test]
fn number_output() {
    assert_eq!(
        output("1 . -1 . 0 U. -1 U."),
        "1 -1 0 18446744073709551615 "
    );
    assert_eq!(output(&format!("{MIN} .")), "-9223372036854775808 ");
    assert_eq!(output("255 HEX . DECIMAL 5 2 BASE ! . DECIMAL"), "FF 101 ");
    assert_eq!(output("42 5 .R -42 5 .R 7 3 U.R"), "   42  -42  7");
    assert_eq!(output("1 2 3 .S"), "<3> 1 2 3 ");
    assert_eq!(output(": t <# 0 0 #S #> TYPE ; t"), "0");
    assert_eq!(output("-123 DUP ABS 0 <# #S ROT SIGN #> TYPE"), "-123");
    assert_eq!(
        output("12 0 <# # # # CHAR x HOLD S\" ab\" HOLDS #> TYPE"),
        "abx012"
    );
}

#[test]
fn text_output() {
    assert_eq!(output("65 EMIT SPACE 3 SPACES CR"), "A    \n");
    assert_eq!(output(": t .\" hi there\" ; t"), "hi there");
    assert_eq!(output(".( now) S\" typed\" TYPE"), "nowtyped");
    assert_eq!(output("-5 SPACES 0 SPACES"), "");
}

#[test]
fn compile_time_words() {
    check_all(&[
        (": t [ 3 4 + ] LITERAL ; t", &[7]),
        (": t ['] DUP ; 5 t EXECUTE", &[5, 5]),
        (
            ": my-if POSTPONE IF ; IMMEDIATE : t my-if 1 ELSE 2 THEN ; 0 t",
            &[2],
        ),
        (": add POSTPONE + ; IMMEDIATE : t 1 2 add ; t", &[3]),
        (": c, ['] DUP COMPILE, ; IMMEDIATE : t 3 c, ; t", &[3, 3]),
        (": t [COMPILE] ( ; IMMEDIATE : u 1 t 2 ) 3 ; u", &[1, 3]),
        (": t STATE @ ; IMMEDIATE : u t LITERAL ; u 0= t", &[0, 0]),
        (": t ] ; : u [ t 5 ; STATE @ 0<>", &[0]),
    ]);
    let found = stack("CREATE n 3 C, CHAR D C, CHAR U C, CHAR P C, n FIND NIP");
    assert_eq!(found, vec![-1]);
    let immediate = stack("CREATE n 2 C, CHAR I C, CHAR F C, n FIND NIP");
    assert_eq!(immediate, vec![1]);
}

#[test]
fn catch_and_throw() {
    check_all(&[
        (": t 5 THROW ; ' t CATCH", &[5]),
        (": t 1 2 0 THROW ; ' t CATCH", &[1, 2, 0]),
        (
            "9 : t DROP 1 2 3 7 THROW ; 4 ' t CATCH NIP DEPTH",
            &[9, 7, 2],
        ),
        (": t 0 0 / ; ' t CATCH", &[-10]),
        (": t DROP DROP ; ' t CATCH", &[-4]),
        (": t -1 ABORT\" oops\" ; ' t CATCH", &[-2]),
        (": t ABORT ; ' t CATCH", &[-1]),
        (": t S\" undefined-word\" EVALUATE ; ' t CATCH", &[-13]),
        (": in 3 THROW ; : out ['] in CATCH 10 + ; out", &[13]),
    ]);
}

#[test]
fn environment_queries() {
    check_all(&[
        ("S\" MAX-N\" ENVIRONMENT?", &[MAX, -1]),
        ("S\" ADDRESS-UNIT-BITS\" ENVIRONMENT?", &[8, -1]),
        ("S\" FLOORED\" ENVIRONMENT?", &[0, -1]),
        ("S\" no-such-query\" ENVIRONMENT?", &[0]),
    ]);
}

#[test]
fn names_are_case_insensitive() {
    check_all(&[(": Sq dup * ; 3 SQ 4 sq", &[9, 16])]);
}

#[test]
fn accept_and_key_read_the_console() {
    use fastforth_engine::BufferConsole;
    let mut forth = common::forth();
    let mut console = BufferConsole::with_input("hello world\nxy");
    forth
        .evaluate(
            "CREATE b 80 ALLOT b 80 ACCEPT b 5 TYPE KEY KEY KEY",
            "t",
            &mut console,
        )
        .unwrap();
    assert_eq!(
        forth.data_stack(),
        &[11, b'x' as i64, b'y' as i64, b'\n' as i64]
    );
    assert_eq!(console.output_text(), "hello");
    assert_eq!(
        forth.evaluate("KEY", "t", &mut console).unwrap_err().code,
        -39
    );
}

#[test]
fn refill_reads_the_next_line_of_the_text() {
    check_all(&[("REFILL 1\n2", &[-1, 2]), ("S\" REFILL\" EVALUATE", &[0])]);
}

/// At the end of the host's text, REFILL of the user input device reads the console's next
/// line in place of the rest of the current one; SAVE-INPUT positions from before it are
/// then gone (RESTORE-INPUT fails); with no line left it is false.
#[test]
fn refill_of_the_user_input_device_reads_the_consoles_next_line() {
    let mut forth = common::forth();
    let lines = "1 2 3 .\nDROP RESTORE-INPUT . 5 .";
    let mut console = fastforth_engine::BufferConsole::with_input(lines);
    let program = "SOURCE-ID . REFILL . 99 .";
    forth.evaluate(program, "test", &mut console).unwrap();
    assert_eq!(console.output_text(), "0 3 ");
    assert_eq!(forth.data_stack(), [-1, 1, 2]);
    forth
        .evaluate("SAVE-INPUT REFILL", "test", &mut console)
        .unwrap();
    assert_eq!(console.output_text(), "0 3 -1 5 ");
    forth.evaluate("REFILL", "test", &mut console).unwrap();
    assert_eq!(forth.data_stack(), [-1, 1, 2, 0]);
    // An empty line is a line.
    let mut console = fastforth_engine::BufferConsole::with_input("\nnext");
    let program = ": r REFILL . SOURCE NIP . ; r";
    forth.evaluate(program, "test", &mut console).unwrap();
    assert_eq!(console.output_text(), "-1 0 ");
}

#[test]
fn bye_stops_the_evaluation() {
    use fastforth_engine::{BufferConsole, Flow};
    let mut forth = common::forth();
    let mut console = BufferConsole::new();
    let flow = forth.evaluate("1 BYE 2", "t", &mut console).unwrap();
    assert_eq!(flow, Flow::Bye);
    assert_eq!(forth.data_stack(), &[1]);
}

#[test]
fn every_throw_code_is_caught_and_bye_and_quit_are_not_throw_codes() {
    // The codes BYE and QUIT once travelled under: plain exceptions now.
    for code in [i64::MIN, i64::MIN + 1, i64::MAX, -9_223_372_036_854_775_807] {
        let source = format!(": x {code} THROW ; ' x CATCH");
        assert_eq!(stack(&source), vec![code], "{source}");
        let uncaught = error(&format!("{code} THROW"));
        assert_eq!(uncaught.code, code);
        assert_eq!(uncaught.message, "uncaught exception");
    }
    use fastforth_engine::{BufferConsole, Flow};
    let mut forth = common::forth();
    let mut console = BufferConsole::new();
    // BYE inside CATCH still ends the session; QUIT inside CATCH still ends the line.
    let flow = forth.evaluate(": b 7 BYE ; ' b CATCH 8", "t", &mut console);
    assert_eq!(flow.unwrap(), Flow::Bye);
    assert_eq!(forth.data_stack(), &[7]);
    let flow = forth.evaluate(": q 9 QUIT ; ' q CATCH 10", "t", &mut console);
    assert_eq!(flow.unwrap(), Flow::Continue);
    assert_eq!(forth.data_stack(), &[7, 9]);
    forth
        .evaluate("DROP DROP 1 2 +", "t", &mut console)
        .unwrap();
    assert_eq!(forth.data_stack(), &[3]);
}

//! The Double-number word set, word by word, in the standard test suite's manner.

mod common;

use common::{check_all, error, output};

const MAX: i64 = i64::MAX;
const MIN: i64 = i64::MIN;

#[test]
fn double_numbers_are_read_by_the_interpreter_and_the_compiler() {
    check_all(&[
        ("1.", &[1, 0]),
        ("-5.", &[-5, -1]),
        (": t 12. ; t", &[12, 0]),
        ("HEX FF. DECIMAL", &[255, 0]),
    ]);
}

#[test]
fn two_constant_two_variable_two_value_and_two_literal() {
    check_all(&[
        ("1 2 2CONSTANT c c", &[1, 2]),
        ("1 2 2CONSTANT c : t c ; t", &[1, 2]),
        ("2VARIABLE v v 2@", &[0, 0]),
        ("2VARIABLE v 3 4 v 2! v 2@", &[3, 4]),
        ("5 6 2VALUE dv dv", &[5, 6]),
        ("5 6 2VALUE dv 7 8 TO dv dv", &[7, 8]),
        ("5 6 2VALUE dv : t TO dv ; 9 10 t dv", &[9, 10]),
        (": t [ 1 2 ] 2LITERAL ; t", &[1, 2]),
    ]);
    assert_eq!(error("1 2LITERAL").code, -14);
    assert_eq!(error("1 2CONSTANT c").code, -4);
}

#[test]
fn addition_and_subtraction_carry_between_cells() {
    check_all(&[
        ("1. 2. D+", &[3, 0]),
        ("-1 0 1. D+", &[0, 1]),
        ("0 1 1. D-", &[-1, 0]),
        ("1. 2. D-", &[-1, -1]),
        (&format!("-1 {MAX} 1. D+"), &[0, MIN]),
        ("5. 3 M+ -5. -3 M+", &[8, 0, -8, -1]),
        ("-1 0 1 M+", &[0, 1]),
    ]);
}

#[test]
fn negation_absolute_value_and_shifts() {
    check_all(&[
        ("1. DNEGATE", &[-1, -1]),
        ("0. DNEGATE", &[0, 0]),
        ("-7. DABS 7. DABS", &[7, 0, 7, 0]),
        (&format!("0 {MIN} DABS"), &[0, MIN]),
        ("-1 0 D2*", &[-2, 1]),
        ("0 1 D2/", &[MIN, 0]),
        ("-2. D2/", &[-1, -1]),
        ("-1. D2/", &[-1, -1]),
    ]);
}

#[test]
fn comparisons() {
    check_all(&[
        ("0. D0= 1. D0= 0 1 D0=", &[-1, 0, 0]),
        ("-1. D0< 1. D0< 0 -1 D0<", &[-1, 0, -1]),
        ("1. 2. D< 2. 1. D< -1. 1. D<", &[-1, 0, -1]),
        ("1. 1. D= 1. 2. D= 0 1 0 1 D=", &[-1, 0, -1]),
        ("-1. 1. DU< 1. -1. DU<", &[0, -1]),
        ("1. 2. DMAX -1. -2. DMIN", &[2, 0, -2, -1]),
        ("5. D>S -5. D>S", &[5, -5]),
    ]);
}

#[test]
fn m_star_slash_scales_with_a_triple_cell_intermediate() {
    check_all(&[
        ("10. 3 4 M*/", &[7, 0]),
        ("-10. 3 4 M*/", &[-7, -1]),
        ("10. -3 4 M*/", &[-7, -1]),
        (&format!("-1 {MAX} {MAX} {MAX} M*/"), &[-1, MAX]),
        (&format!("{MAX}. {MAX} 1 M*/ 2DROP 1"), &[1]),
    ]);
    assert_eq!(error("1. 1 0 M*/").code, -10);
    assert_eq!(error(&format!("-1 {MAX} 2 1 M*/")).code, -11);
    assert_eq!(error("1. 1 -1 M*/").code, -11);
}

#[test]
fn two_rot_rotates_pairs() {
    check_all(&[("1 2 3 4 5 6 2ROT", &[3, 4, 5, 6, 1, 2])]);
    assert_eq!(error("1 2 3 4 5 2ROT").code, -4);
}

#[test]
fn d_dot_and_d_dot_r_print_in_the_base() {
    assert_eq!(output("-123. D. 0. D."), "-123 0 ");
    assert_eq!(output("1. 5 D.R -1. 5 D.R"), "    1   -1");
    assert_eq!(output("12345. 2 D.R"), "12345");
    assert_eq!(output("HEX 0 1 D. DECIMAL"), "10000000000000000 ");
    assert_eq!(
        output(&format!("0 {MIN} D.")),
        "-170141183460469231731687303715884105728 "
    );
}

//! Whole programs: the benchmark workloads in benches/forth with known results (full size
//! in release builds, smaller sizes checked against a Rust model in debug builds) and a
//! few textbook programs.

mod common;

use common::output;
use fastforth_engine::BufferConsole;
use std::path::PathBuf;

fn workload(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../benches/forth")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn run(source: &str, code: &str) -> String {
    let mut forth = common::forth();
    let mut console = BufferConsole::new();
    forth.evaluate(source, "workload", &mut console).unwrap();
    forth.evaluate(code, "test", &mut console).unwrap();
    console.output_text()
}

const FULL_SIZE: bool = !cfg!(debug_assertions);

fn next_random(seed: &mut i64) -> i64 {
    *seed = (*seed * 1309 + 13849) & 65535;
    *seed
}

#[test]
fn sieve_counts_1899_primes() {
    let code = if FULL_SIZE {
        "main"
    } else {
        "count-primes . cr"
    };
    assert_eq!(run(&workload("sieve.fs"), code), "1899 \n");
}

#[test]
fn fib_of_30() {
    let code = if FULL_SIZE { "main" } else { "25 fib . cr" };
    let expected = if FULL_SIZE { "832040 \n" } else { "75025 \n" };
    assert_eq!(run(&workload("fib.fs"), code), expected);
}

fn bubble_model(elements: usize) -> String {
    let mut seed = 74755;
    let mut list: Vec<i64> = (0..elements).map(|_| next_random(&mut seed)).collect();
    list.sort();
    let checksum = list
        .iter()
        .fold(0i64, |sum, &x| sum.wrapping_mul(31).wrapping_add(x));
    format!("{} {} {} \n", list[0], list[elements - 1], checksum)
}

#[test]
fn bubble_sort_sorts() {
    let elements = if FULL_SIZE { 6000 } else { 400 };
    let source = workload("bubble.fs").replace(
        "6000 constant elements",
        &format!("{elements} constant elements"),
    );
    assert_eq!(run(&source, "main"), bubble_model(elements));
}

fn matrix_model(n: usize) -> String {
    let mut seed = 74755;
    let mut fill = || {
        (0..n * n)
            .map(|_| next_random(&mut seed) % 120 - 60)
            .collect::<Vec<i64>>()
    };
    let (a, b) = (fill(), fill());
    let mut checksum = 0i64;
    for row in 0..n {
        for col in 0..n {
            let dot: i64 = (0..n).map(|k| a[row * n + k] * b[k * n + col]).sum();
            checksum = checksum.wrapping_mul(7).wrapping_add(dot);
        }
    }
    format!("{checksum} \n")
}

#[test]
fn matrix_multiply_checksum() {
    let n = if FULL_SIZE { 200 } else { 30 };
    let source = workload("matrix.fs").replace("200 constant n", &format!("{n} constant n"));
    assert_eq!(run(&source, "main"), matrix_model(n));
}

#[test]
fn workloads_load_from_files() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../benches/forth/fib.fs");
    let mut forth = common::forth();
    let mut console = BufferConsole::new();
    forth.include_file(&path, &mut console).unwrap();
    forth.evaluate("20 fib", "t", &mut console).unwrap();
    assert_eq!(forth.data_stack(), &[6765]);
}

#[test]
fn textbook_programs() {
    let gcd = ": gcd BEGIN ?DUP WHILE TUCK MOD REPEAT ; 1071 462 gcd .";
    assert_eq!(output(gcd), "21 ");
    let factorial = ": fact DUP 1 > IF DUP 1- RECURSE * ELSE DROP 1 THEN ; 20 fact .";
    assert_eq!(output(factorial), "2432902008176640000 ");
    let fizzbuzz = ": fb 16 1 DO I 15 MOD 0= IF .\" FizzBuzz \" ELSE I 3 MOD 0= IF .\" Fizz \" \
                    ELSE I 5 MOD 0= IF .\" Buzz \" ELSE I . THEN THEN THEN LOOP ; fb";
    assert_eq!(
        output(fizzbuzz),
        "1 2 Fizz 4 Buzz Fizz 7 8 Fizz Buzz 11 Fizz 13 14 FizzBuzz "
    );
    let hanoi = "VARIABLE moves : hanoi ( n from to via -- ) 3 PICK 0= IF 2DROP 2DROP EXIT THEN \
                 3 PICK 1- 3 PICK 2 PICK 4 PICK RECURSE 1 moves +! \
                 3 PICK 1- 2 PICK 4 PICK 4 PICK RECURSE 2DROP 2DROP ; \
                 0 moves ! 10 1 3 2 hanoi moves @ .";
    assert_eq!(output(hanoi), "1023 ");
    let strings =
        ": rev ( addr u -- ) BEGIN DUP WHILE 1- 2DUP + C@ EMIT REPEAT 2DROP ; S\" olleh\" rev";
    assert_eq!(output(strings), "hello");
    let counter = ": counter CREATE 0 , DOES> 1 OVER +! @ ; counter c c DROP c DROP c .";
    assert_eq!(output(counter), "3 ");
}

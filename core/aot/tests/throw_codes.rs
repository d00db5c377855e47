//! The engine's throw codes and messages against the ABI's, which compiled plugins and the
//! host use: a code thrown by a compiled word must read as the interpreter reports it.

use fastforth_abi::throw;
use fastforth_engine::{MESSAGES, code, message_for};

#[test]
fn the_engine_and_the_abi_have_the_same_messages_code_by_code() {
    assert_eq!(MESSAGES, throw::MESSAGES);
    for probe in (-300..=1).chain([i64::MIN, i64::MAX]) {
        assert_eq!(message_for(probe), throw::message(probe), "code {probe}");
    }
}

#[test]
fn the_engine_and_the_abi_name_the_same_codes() {
    let named = [
        (code::ABORT, throw::ABORT),
        (code::ABORT_QUOTE, throw::ABORT_QUOTE),
        (code::STACK_OVERFLOW, throw::STACK_OVERFLOW),
        (code::STACK_UNDERFLOW, throw::STACK_UNDERFLOW),
        (code::RETURN_STACK_OVERFLOW, throw::RETURN_STACK_OVERFLOW),
        (code::RETURN_STACK_UNDERFLOW, throw::RETURN_STACK_UNDERFLOW),
        (code::DICTIONARY_OVERFLOW, throw::DICTIONARY_OVERFLOW),
        (code::INVALID_ADDRESS, throw::INVALID_ADDRESS),
        (code::DIVISION_BY_ZERO, throw::DIVISION_BY_ZERO),
        (code::RESULT_OUT_OF_RANGE, throw::RESULT_OUT_OF_RANGE),
        (code::UNDEFINED_WORD, throw::UNDEFINED_WORD),
        (code::COMPILE_ONLY, throw::COMPILE_ONLY),
        (code::ZERO_LENGTH_NAME, throw::ZERO_LENGTH_NAME),
        (code::PICTURED_OVERFLOW, throw::PICTURED_OVERFLOW),
        (code::PARSED_STRING_OVERFLOW, throw::PARSED_STRING_OVERFLOW),
        (code::UNSUPPORTED_OPERATION, throw::UNSUPPORTED_OPERATION),
        (code::CONTROL_MISMATCH, throw::CONTROL_MISMATCH),
        (
            code::INVALID_NUMERIC_ARGUMENT,
            throw::INVALID_NUMERIC_ARGUMENT,
        ),
        (code::RETURN_STACK_IMBALANCE, throw::RETURN_STACK_IMBALANCE),
        (code::USER_INTERRUPT, throw::USER_INTERRUPT),
        (code::COMPILER_NESTING, throw::COMPILER_NESTING),
        (code::INVALID_NAME_ARGUMENT, throw::INVALID_NAME_ARGUMENT),
        (code::FILE_IO, throw::FILE_IO),
        (code::FILE_NOT_FOUND, throw::FILE_NOT_FOUND),
        (code::UNEXPECTED_EOF, throw::UNEXPECTED_EOF),
        (code::STEP_BUDGET_EXHAUSTED, throw::STEP_BUDGET_EXHAUSTED),
        (code::INVALID_XT, throw::INVALID_XT),
        (code::NESTING_TOO_DEEP, throw::NESTING_TOO_DEEP),
    ];
    for (engine, abi) in named {
        assert_eq!(engine, abi);
        assert_ne!(
            message_for(engine),
            throw::UNCAUGHT,
            "code {engine} has no message"
        );
    }
}

//! FastForth's Forth engine: a Forth-2012 system with every word set (CORE, CORE EXT and all
//! the optional ones) and 64-bit cells, written in safe Rust without dependencies.
//!
//! # Pipeline
//!
//! source text → [`parser`] (blank-delimited tokens with file, line and column; numbers) →
//! [`compiler`] (one definition's IR, control structures) → [`optimizer`] (IR → IR:
//! inlining, constant folding, superinstructions) → executor ([`vm`]: a `match` loop over
//! the code space with the top of stack in a local and an explicit return stack). The
//! outer interpreter ([`interpreter`]) drives the stages; words that parse, compile or do
//! I/O run on the host side ([`system`]).
//!
//! # The IR
//!
//! [`ir::Op`] is a small `Copy` enum (16 bytes). A definition's IR uses local branch
//! targets; once optimized it is relocated to the end of the code space and executed as
//! is, so threaded code and IR are the same instructions. [`ir::encode`]/[`ir::decode`]
//! give it a versioned byte form ([`ir::IR_VERSION`]), which the state image reuses.
//!
//! # State image
//!
//! [`Forth::save_image`]/[`Forth::load_image`] write and read the whole engine state in
//! a versioned format ([`image::IMAGE_VERSION`], layout in [`image`]) with a checksum; a
//! new build of the engine loads what an old one saved. The image carries the data space
//! size (system addresses depend on it); the caller's limits give the stack sizes and the
//! step budget.
//!
//! # Memory and limits
//!
//! Data space is one bounded byte array; addresses are byte offsets and every access is
//! checked (-9). Above the program's data space lie the system area (STATE, BASE, >IN, PAD,
//! the pictured numeric output and WORD buffers, two transient S" buffers) and the current
//! input lines. Stacks have the sizes in [`Limits`]. The executor never recurses on the
//! host stack for Forth calls (deep recursion is -5); EVALUATE/INCLUDED nest at most 64
//! deep (-258). [`Limits::max_steps`] bounds an evaluation: every line read, interpreted
//! token, call, branch, loop iteration and host word is a step, and so is each space of
//! SPACES and `.R` padding (compiling costs time linear in the source, so the budget bounds
//! compile time too);
//! running out throws -256 "step budget exhausted", which CATCH does not catch (a program's own
//! `-256 THROW` is caught like any other code). A source
//! file (INCLUDED, INCLUDE, [`Forth::include_file`]) larger than
//! [`Limits::max_source_bytes`] is refused with -37 after reading one byte more than that.
//! Setting the flag from [`Forth::interrupt_handle`] (another thread, a signal handler)
//! throws -28 "user interrupt" into the running word; CATCH catches it. BYE and QUIT are not
//! throw codes: no THROW can fake them and no CATCH stops them.
//! [`Limits::check`] bounds the sizes themselves (data space at most 1 GiB, stacks at most
//! 2^20 cells): [`Forth::try_new`] refuses others with an error naming them. The dictionary
//! holds at most 2^18 words and 2^22 instructions of code, one definition at most 2^20
//! (-8 beyond), names at most 255 bytes (-19), the control-flow stack 2^20 entries (-52),
//! so no program exhausts the host's memory by compiling.
//!
//! # Decisions on points the standard leaves open
//!
//! - `/`, `MOD`, `/MOD`, `*/`, `*/MOD` are symmetric (truncating) like `SM/REM`;
//!   `FM/MOD` is floored. A quotient that does not fit in its cell is -11 (`MIN-INT -1 /`
//!   as much as a double-cell division); a zero divisor is -10.
//! - Arithmetic wraps. `LSHIFT`/`RSHIFT` by 64 or more give 0.
//! - The control-flow stack is separate from the data stack.
//! - Name lookup ignores ASCII case. Numbers accept `#` `$` `%` prefixes, `'c'`, a leading
//!   `-`, and a trailing `.` for double cells. A literal that does not fit its cell (as an
//!   unsigned number, or down to the smallest signed one when negative) or double cell is
//!   no number (-13), never wrapped.
//! - Host text passed to [`Forth::evaluate`] is the user input device (SOURCE-ID 0): it is
//!   interpreted line by line and REFILL moves to its next line; past its last line, REFILL
//!   reads the console's next line ([`Console::read_line`]) in place of the rest of the
//!   current one, as from a terminal. `ACCEPT` reads the
//!   console's next line; `KEY` at the end of input throws -39.
//! - `(` comments continue across lines of a file or host text.
//! - BYE writes the updated block buffers back first (SAVE-BUFFERS); an error writing them
//!   is BYE's. A program that ends without BYE leaves them unwritten, as the standard
//!   allows: FLUSH or SAVE-BUFFERS writes them.
//! - EXECUTE, CATCH or a deferred word running the token of a built-in that works on its
//!   caller's return stack frame (`>R`, `R>`, `R@`, `2>R`, `2R>`, `2R@`, `I`, `J`, `UNLOOP`,
//!   `N>R`, `NR>`) is -14 naming it: a definition inlines these, and run by token they
//!   would take the token's own return address for the frame (the standard leaves ticking
//!   them ambiguous). `COMPILE,` of such a token compiles the word. Execution tokens start
//!   at address 2: 0 and 1 are the executor's own, and EXECUTE of them is -257. CATCH of a
//!   token that cannot run catches its error, as of any other throw of the word.
//! - Skipping for `[IF]` and `[ELSE]` continues across lines of a file or host text, and
//!   into the host's next text, which refills the user input device; an EVALUATE string or
//!   a block that ends inside it ends the skip. A program that ends inside it is -39
//!   ([`Forth::end_of_program`]), as is a file.
//! - Interpreted `S"`/`S\"` use two alternating 2048-byte buffers; compiled strings live in
//!   data space. `."` also works while interpreting.
//! - `ABORT"` displays its message only when no CATCH is active; the message is also the
//!   text of the -2 error the host receives.
//! - THROW restores the input source that was current at CATCH (nested EVALUATE and
//!   INCLUDED sources end); text parsed from that same source since CATCH stays parsed.
//! - An uninitialised DEFER throws -257 (invalid execution token) when executed.
//! - Error codes beyond the standard's table: -256 step budget exhausted, -257 invalid
//!   execution token, -258 input sources nested too deeply.
//! - Defining a word while a colon definition is being compiled is -29.
//! - A whole program file ([`Forth::include_file`]) that ends inside a definition it began
//!   is -39, as is the end of a program with one open ([`Forth::end_of_program`]);
//!   `INCLUDED` text within a line may leave one open for the rest of the line.
//! - Under a step budget, file names that lead to a FIFO, a socket or a device are refused
//!   whatever the file policy: opening or reading one can block, and no budget stops that.
//!   Files are opened without waiting and checked again once open; a read that would wait
//!   fails with its ior.
//! - Output the console cannot write (a closed pipe, a full disk) is -37 "file I/O
//!   exception" in the word that wrote, so an output loop stops; CATCH can catch it.
//!
//! - Floating point (FLOATING and FLOATING EXT, all words): IEEE 754 doubles on a separate
//!   float stack of [`Limits::float_stack_cells`] (-44 overflow, -45 underflow); float
//!   arithmetic never throws (division by zero is an infinity), `F>D`/`F>S` of what does not
//!   fit is -11. Float literals (`1E`, `-1.5e-3`) need decimal BASE; `>FLOAT` also takes
//!   `D` exponents, sign-only exponents (`1+5`) and blank strings (zero). `F.`, `FE.`, `FS.`
//!   show PRECISION (1 to 255, default 15) significant digits; `F.` drops trailing zeros.
//!   `REPRESENT` rounds correctly (ties to even) and writes `INF`/`NAN` (flag2 false) for
//!   the special values. The state image carries the float stack and PRECISION. THROW
//!   leaves the float stack as it is (the standard restores only the data stack's depth).
//!
//! Every CORE and CORE EXT word of Forth-2012 is implemented (the obsolescent words the
//! 2012 standard dropped, such as `TIB`, `#TIB`, `EXPECT`, `SPAN`, `CONVERT` and `QUERY`,
//! are not), plus `.S`, `WORDS`, `INCLUDED`, `INCLUDE`, `CATCH`, `THROW` and `BYE`.
//!
//! The Programming-tools (`tools`), Double-number (`double`), String (`strings`), Facility
//! (`facility`) and Search-order (`search`) word sets are complete with their extensions,
//! except `FORGET` (obsolescent) and the assembler and editor words `CODE`, `;CODE`,
//! `ASSEMBLER` and `EDITOR` (there is no assembler). Word lists have ids 1 (FORTH-WORDLIST)
//! and up; a name token is a word's dictionary position plus one. `M*/` truncates like `/`.
//! The terminal words write ANSI sequences, `EKEY` returns bytes, `MS` charges 1,000 steps per
//! millisecond and `TIME&DATE` is UTC. SEARCH, COMPARE, CMOVE, DUMP and the text skipped by
//! `[IF]`/`[ELSE]` charge steps in proportion to the bytes they look at.
//! Memory-allocation, File-access, Block and Locals, each with its EXT words, are
//! implemented too (none of their words is obsolescent): ALLOCATE's heap sits at the top of
//! data space below the system area and is carried by the state image (`allocate`);
//! files go through [`Limits::file_access`] ([`FileAccess`]: off, within a directory, or
//! full) with at most [`Limits::max_open_files`] open, iors -512-errno, and are not carried
//! by the image (`files`); the block file is `blocks.fb` under the same policy (`blocks`);
//! locals live on the return stack, at most 64 per definition (`locals`).
//!
//! A [`Forth`] is `Clone`: a copy of a fresh engine is a fresh engine, made without
//! building the built-in words again (word names are shared, not copied).

// No unsafe code: the fuzz targets that test only the engine run without a sanitizer.
#![forbid(unsafe_code)]

mod allocate;
mod block_buffers;
mod blocks;
mod compiler;
pub mod compiler_stage;
mod console;
mod definition;
mod dictionary;
mod double;
mod engine;
mod error;
mod facility;
mod files;
mod float;
mod float_stack;
mod float_text;
mod format;
mod heap;
mod host_words;
pub mod image;
mod input_source;
mod interpreter;
pub mod ir;
mod limits;
mod locals;
mod machine;
mod memory;
mod open_files;
pub mod optimizer;
mod parser;
pub mod parser_stage;
pub mod program;
mod sandbox;
mod search;
pub mod stage;
mod staged_compiling;
mod strings;
mod substitutions;
mod system;
mod tools;
mod vm;

pub use console::{BufferConsole, Console, HostWordError, StdConsole};
pub use dictionary::{MAX_NAME_BYTES, op_name};
pub use engine::{Flow, Forth, MAX_STAGE_FAULTS};
pub use error::{ForthError, ImageError, MESSAGES, ShownName, SourceLocation, code, message_for};
pub use interpreter::strip_byte_order_mark;
pub use limits::Limits;
pub use machine::FIRST_WORD_ADDRESS;
pub use open_files::is_file_ior;
pub use sandbox::{BLOCKS_PAST_BUDGET, FileAccess, is_special, open as open_file};

//! The intermediate representation: the instruction set shared by the compiler, the
//! optimizer and the executor, and its versioned byte encoding.
//!
//! A definition is compiled to a `Vec<Op>`. Inside one definition's IR, branch targets
//! (`Branch`, `ZBranch`, `QDo`, `Loop`, `PlusLoop`, `Does`, `Of` and the fused branches) are
//! indexes into that definition's own instruction vector; `Call` targets are absolute
//! addresses in the executor's code space (an execution token is such an address). When a
//! finished definition is appended to the code space, its branch targets are relocated by
//! the definition's start address, so the executor runs the very same instructions.
//!
//! The stack effects below use the standard notation; "TOS" is the top of the data stack.

use std::fmt;

/// Version of the byte encoding written by [`encode`]; [`decode`] refuses other versions.
/// New instructions get new tags without changing the encoding of the others, so a
/// reader of the same version refuses only the instructions it does not know. Version 2
/// widened a system word's index from one byte to two; version 3 calls a host word with one
/// instruction, [`Op::CallHost`], in place of a literal and a system word.
pub const IR_VERSION: u32 = 3;

/// What an instruction does to the stacks on its way to the next instruction (a branch
/// that is not taken, a loop that ends): the data
/// cells it pops (all of them read) and pushes, the return stack cells it reads and the
/// change of the return stack's depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effect {
    pub ins: usize,
    pub outs: usize,
    pub rreads: usize,
    pub rdelta: isize,
}

/// The Rust type of an operand kind: a `Literal` cell, a local branch `Target`, an absolute
/// code `Address`, or a `System` word.
macro_rules! operand_type {
    (Literal) => {
        i64
    };
    (Target) => {
        u32
    };
    (Address) => {
        u32
    };
    (System) => {
        Sys
    };
}

/// One operand as a value and the number of its little-endian bytes that encode it (a
/// system word as its u16 index).
macro_rules! operand_bytes {
    (Literal, $value:ident) => {
        ($value as u64, 8)
    };
    (Target, $value:ident) => {
        (u64::from($value), 4)
    };
    (Address, $value:ident) => {
        (u64::from($value), 4)
    };
    (System, $value:ident) => {
        (u64::from($value.index()), 2)
    };
}

/// An instruction's tag and its operands, each as [`operand_bytes`] gives it (widths of 0
/// where there is no operand).
macro_rules! encoding {
    ($tag:literal;) => {
        ($tag, [(0, 0), (0, 0)])
    };
    ($tag:literal; $kind:ident $field:ident) => {
        ($tag, [operand_bytes!($kind, $field), (0, 0)])
    };
    ($tag:literal; $kind1:ident $field1:ident, $kind2:ident $field2:ident) => {
        (
            $tag,
            [
                operand_bytes!($kind1, $field1),
                operand_bytes!($kind2, $field2),
            ],
        )
    };
}

/// An operand kind as [`Reader::operand`] reads it: 1 a cell, 2 a u32, 3 a system word.
macro_rules! operand_code {
    (Literal) => {
        1
    };
    (Target) => {
        2
    };
    (Address) => {
        2
    };
    (System) => {
        3
    };
}

/// The operand kinds of an instruction, two bits each, the first operand lowest.
macro_rules! operand_codes {
    () => {
        0
    };
    ($kind:ident) => {
        operand_code!($kind)
    };
    ($kind1:ident, $kind2:ident) => {
        operand_code!($kind1) | operand_code!($kind2) << 2
    };
}

/// One operand of the Rust type its kind has, from the value [`Reader::operand`] read.
macro_rules! from_operand {
    (Literal, $value:expr) => {
        $value as i64
    };
    (Target, $value:expr) => {
        $value as u32
    };
    (Address, $value:expr) => {
        $value as u32
    };
    (System, $value:expr) => {
        Sys::from_index($value)
    };
}

/// An instruction built from the values read, in order.
macro_rules! from_operands {
    ($op:path, $first:ident, $second:ident;) => {
        $op
    };
    ($op:path, $first:ident, $second:ident; $kind:ident) => {
        $op(from_operand!($kind, $first))
    };
    ($op:path, $first:ident, $second:ident; $kind1:ident, $kind2:ident) => {
        $op(
            from_operand!($kind1, $first),
            from_operand!($kind2, $second),
        )
    };
}

/// The operand when it is a branch target.
macro_rules! target_of {
    (Target, $value:ident) => {
        Some($value)
    };
    ($kind:ident, $value:ident) => {
        None
    };
}

/// The operand, or the new target when it is a branch target.
macro_rules! retarget {
    (Target, $value:ident, $new:ident) => {
        $new
    };
    ($kind:ident, $value:ident, $new:ident) => {
        $value
    };
}

/// An operand of each kind, for the tests that go through every instruction.
#[cfg(test)]
macro_rules! sample_operand {
    (Literal) => {
        i64::MIN + 0x0123_4567
    };
    (Target) => {
        0xDEAD_BEEF
    };
    (Address) => {
        0x0BAD_F00D
    };
    (System) => {
        Sys::AbortIf
    };
}

macro_rules! word_of {
    (_) => {
        None
    };
    ($word:literal) => {
        Some($word)
    };
}

macro_rules! effect_of {
    ([$ins:literal -> $outs:literal]) => {
        Some(Effect {
            ins: $ins,
            outs: $outs,
            rreads: 0,
            rdelta: 0,
        })
    };
    ([$ins:literal -> $outs:literal; $rreads:literal, $rdelta:literal]) => {
        Some(Effect {
            ins: $ins,
            outs: $outs,
            rreads: $rreads,
            rdelta: $rdelta,
        })
    };
    (leaves) => {
        None
    };
    (varies) => {
        None
    };
}

macro_rules! inlinable_of {
    (inline) => {
        true
    };
    (local) => {
        false
    };
}

macro_rules! split_of {
    () => {
        None
    };
    ($first:expr, $last:expr) => {
        Some(($first, $last))
    };
}

/// Defines [`Op`] and everything derived from its table: one row per instruction,
///
/// `Name(operand: Kind, ...) = tag, word, effect, place[, split(first, last)];`
///
/// - operands, each a `Literal` (i64), a local branch `Target` (u32), an absolute code
///   `Address` (u32) or a `System` word; they are encoded in this order after the tag;
/// - `tag`, the byte that starts the instruction's encoding (unique; checked at compile
///   time);
/// - `word`, the Forth word that throws from the instruction name and SEE shows (`_`: none);
/// - `effect`, on the way to the next instruction: `[ins -> outs]` or
///   `[ins -> outs; rreads, rdelta]` (see [`Effect`]), `leaves` for an instruction that
///   never goes on to the next one, `varies` for one whose effect depends on the data;
/// - `place`, `inline` when the instruction may be copied into another definition, `local`
///   when it branches, touches the return stack or is a host word;
/// - `split`, for a fused instruction that ends in a return or a loop's end, its two parts.
macro_rules! instruction_set {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident $(($($field:ident: $kind:ident),+))? = $tag:literal, $word:tt, $effect:tt,
            $place:ident $(, split($first:expr, $last:expr))?;
    )*) => {
        /// One instruction.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Op {
            $($(#[doc = $doc])* $name $(($(operand_type!($kind)),+))?,)*
        }

        /// Every tag, in table order.
        const TAGS: &[u8] = &[$($tag),*];

        impl Op {
            /// The branch target of a control-flow instruction (local or absolute as the
            /// context says), `None` for everything else. `Call` targets are not branch
            /// targets.
            #[allow(unused_variables)]
            pub fn target(self) -> Option<u32> {
                match self {
                    $(Op::$name $(($($field),+))? => None $($(.or(target_of!($kind, $field)))+)?,)*
                }
            }

            /// The same instruction with its branch target replaced.
            #[allow(unused_variables)]
            pub fn with_target(self, new: u32) -> Op {
                match self {
                    $(Op::$name $(($($field),+))? =>
                        Op::$name $(($(retarget!($kind, $field, new)),+))?,)*
                }
            }

            /// A fused instruction that ends in a return or a loop's end, as its two parts
            /// (`Add` and `Exit` for `AddExit`); `None` for every other instruction.
            #[allow(unused_variables)]
            pub fn split(self) -> Option<(Op, Op)> {
                match self {
                    $(Op::$name $(($($field),+))? => split_of!($($first, $last)?),)*
                }
            }

            /// The Forth word that a throw from this instruction names, and SEE shows
            /// (fused instructions are named after their main operation); `None` for
            /// system words, whose names are in the dictionary, and internal instructions.
            pub const fn word(self) -> Option<&'static str> {
                match self {
                    $(Op::$name { .. } => word_of!($word),)*
                }
            }

            /// The instruction's effect on the stacks on its way to the next instruction;
            /// `None` when it never goes there, or its effect depends on the data.
            pub const fn effect(self) -> Option<Effect> {
                match self {
                    $(Op::$name { .. } => effect_of!($effect),)*
                }
            }

            /// Whether the instruction is one that a built-in word consists of and that
            /// works on its caller's return stack frame (>R, R>, I, UNLOOP, N>R...): run by
            /// execution token instead of inlined, it would work on the token's own frame.
            pub const fn works_on_callers_frame(self) -> bool {
                matches!(
                    self,
                    Op::ToR
                        | Op::RFrom
                        | Op::RFetch
                        | Op::TwoToR
                        | Op::TwoRFrom
                        | Op::TwoRFetch
                        | Op::I
                        | Op::J
                        | Op::Unloop
                        | Op::Sys(Sys::NToR | Sys::NRFrom)
                )
            }

            /// Whether the instruction may be copied into another definition: no branches,
            /// nothing that reads or changes the return stack, and no host words.
            pub const fn inlinable(self) -> bool {
                match self {
                    $(Op::$name { .. } => inlinable_of!($place),)*
                }
            }
        }

        /// Appends one instruction's encoding: its tag byte, then its operands in
        /// little-endian order (a system word as its index in `Sys::ALL`, a u16).
        /// The arms only pick the tag and the operands, so they stay small; one loop
        /// writes them all.
        pub fn encode_op(op: Op, out: &mut Vec<u8>) {
            let (tag, operands): (u8, [(u64, usize); 2]) = match op {
                $(Op::$name $(($($field),+))? => encoding!($tag; $($($kind $field),+)?),)*
            };
            let mut bytes = [0u8; 1 + 8 + 8];
            bytes[0] = tag;
            let mut len = 1;
            for (value, width) in operands {
                bytes[len..len + 8].copy_from_slice(&value.to_le_bytes());
                len += width;
            }
            out.extend_from_slice(&bytes[..len]);
        }

        impl Reader<'_> {
            /// Decodes one instruction.
            ///
            /// The tag gives its operand kinds, one loop reads them, and the arms only
            /// assemble the instruction, so they stay small.
            pub fn op(&mut self) -> Result<Op, DecodeError> {
                let [tag] = self.array()?;
                let mut kinds: u8 = match tag {
                    $($tag => operand_codes!($($($kind),+)?),)*
                    tag => return Err(DecodeError(format!("unknown instruction tag {tag}"))),
                };
                let mut values = [0u64; 2];
                for value in &mut values {
                    if kinds == 0 {
                        break;
                    }
                    *value = self.operand(kinds & 3)?;
                    kinds >>= 2;
                }
                #[allow(unused_variables)]
                let [first, second] = values;
                Ok(match tag {
                    $($tag => from_operands!(Op::$name, first, second; $($($kind),+)?),)*
                    _ => Op::Halt,
                })
            }
        }

        /// One instruction of each kind, its operands filled in.
        #[cfg(test)]
        pub(crate) fn every_instruction() -> Vec<Op> {
            vec![$(Op::$name $(($(sample_operand!($kind)),+))?,)*]
        }
    };
}

instruction_set! {
    /// Stops the executor; address 0 of the code space holds it and every top-level
    /// execution returns to it.
    Halt = 0x00, _, leaves, local;
    /// Where CATCH returns when the caught word finishes normally: drops the catch frame
    /// and pushes 0. Address 1 of the code space holds it.
    CatchOk = 0x01, _, leaves, local;
    /// ( -- x ) pushes the literal.
    Lit(n: Literal) = 0xA0, _, [0 -> 1], inline;
    /// Calls the code at the absolute address: pushes the return address on the return
    /// stack.
    Call(xt: Address) = 0xA1, "EXECUTE", varies, inline;
    /// Returns to the address on top of the return stack.
    Exit = 0x02, "EXIT", leaves, local;
    /// Jumps to the target.
    Branch(t: Target) = 0xA2, _, leaves, local;
    /// ( x -- ) jumps to the target when x is zero.
    ZBranch(t: Target) = 0xA3, _, [1 -> 0], local;
    /// ( i*x xt -- j*x ) calls the execution token.
    Execute = 0x03, "EXECUTE", varies, inline;
    /// ( -- ) calls the execution token stored in the cell at the address (DEFER).
    ExecuteAt(n: Literal) = 0xA4, "EXECUTE", varies, inline;
    /// ( limit index -- ) ( R: -- limit index ) starts a counted loop.
    Do = 0x04, "DO", [2 -> 0; 0, 2], local;
    /// ( limit index -- ) like `Do`, but jumps to the target (after the loop) when
    /// limit = index.
    QDo(t: Target) = 0xA5, "DO", [2 -> 0; 0, 2], local;
    /// ( R: limit index -- limit index' | ) adds one to the index; jumps back to the
    /// target unless the index reached the limit, in which case the loop parameters go.
    Loop(t: Target) = 0xA6, "LOOP", [0 -> 0; 2, -2], local;
    /// ( n -- ) adds n to the index; jumps back to the target unless the index crossed the
    /// boundary between limit-1 and limit.
    PlusLoop(t: Target) = 0xA7, "+LOOP", [1 -> 0; 2, -2], local;
    /// `Lit(n) PlusLoop(target)` fused.
    LitPlusLoop(n: Literal, t: Target) = 0xA8, "+LOOP", [0 -> 0; 2, -2], local;
    /// ( R: limit index -- ) discards the loop parameters.
    Unloop = 0x05, "UNLOOP", [0 -> 0; 2, -2], local;
    /// ( -- index ) the innermost loop index.
    I = 0x06, "I", [0 -> 1; 1, 0], local;
    /// ( -- index ) the next outer loop index.
    J = 0x07, "J", [0 -> 1; 3, 0], local;
    /// Sets the behaviour of the latest CREATEd word to "push the data field address,
    /// then run the code at the target" (the code after DOES>), then returns.
    Does(t: Target) = 0xA9, _, leaves, local;
    /// ( x1 x2 -- | x1 ) CASE's OF: when x1 = x2 drops both, otherwise drops x2 and jumps.
    Of(t: Target) = 0xAA, _, [2 -> 0], local;
    /// ( x -- ) ( R: -- x )
    ToR = 0x08, ">R", [1 -> 0; 0, 1], local;
    /// ( -- x ) ( R: x -- )
    RFrom = 0x09, "R>", [0 -> 1; 1, -1], local;
    /// ( -- x ) ( R: x -- x )
    RFetch = 0x0A, "R@", [0 -> 1; 1, 0], local;
    /// ( x1 x2 -- ) ( R: -- x1 x2 )
    TwoToR = 0x0B, "2>R", [2 -> 0; 0, 2], local;
    /// ( -- x1 x2 ) ( R: x1 x2 -- )
    TwoRFrom = 0x0C, "2R>", [0 -> 2; 2, -2], local;
    /// ( -- x1 x2 ) ( R: x1 x2 -- x1 x2 )
    TwoRFetch = 0x0D, "2R@", [0 -> 2; 2, 0], local;
    /// ( x -- x x )
    Dup = 0x0E, "DUP", [1 -> 2], inline;
    /// ( x -- )
    Drop = 0x0F, "DROP", [1 -> 0], inline;
    /// ( x1 x2 -- x2 x1 )
    Swap = 0x10, "SWAP", [2 -> 2], inline;
    /// ( x1 x2 -- x1 x2 x1 )
    Over = 0x11, "OVER", [2 -> 3], inline;
    /// ( x1 x2 x3 -- x2 x3 x1 )
    Rot = 0x12, "ROT", [3 -> 3], inline;
    /// ( x1 x2 -- x2 )
    Nip = 0x13, "NIP", [2 -> 1], inline;
    /// ( x1 x2 -- x2 x1 x2 )
    Tuck = 0x14, "TUCK", [2 -> 3], inline;
    /// ( x -- 0 | x x )
    QDup = 0x15, "?DUP", varies, inline;
    /// ( xu ... x0 u -- xu ... x0 xu )
    Pick = 0x16, "PICK", varies, inline;
    /// ( xu xu-1 ... x0 u -- xu-1 ... x0 xu )
    Roll = 0x17, "ROLL", varies, inline;
    /// ( x1 x2 -- x1 x2 x1 x2 )
    TwoDup = 0x18, "2DUP", [2 -> 4], inline;
    /// ( x1 x2 -- )
    TwoDrop = 0x19, "2DROP", [2 -> 0], inline;
    /// ( x1 x2 x3 x4 -- x3 x4 x1 x2 )
    TwoSwap = 0x1A, "2SWAP", [4 -> 4], inline;
    /// ( x1 x2 x3 x4 -- x1 x2 x3 x4 x1 x2 )
    TwoOver = 0x1B, "2OVER", [4 -> 6], inline;
    /// ( -- n ) the number of cells on the data stack before n was pushed.
    Depth = 0x1C, "DEPTH", [0 -> 1], inline;
    /// ( n1 n2 -- n3 ) wrapping sum.
    Add = 0x1D, "+", [2 -> 1], inline;
    /// ( n1 n2 -- n3 ) wrapping difference.
    Sub = 0x1E, "-", [2 -> 1], inline;
    /// ( n1 n2 -- n3 ) wrapping product.
    Mul = 0x1F, "*", [2 -> 1], inline;
    /// ( n1 n2 -- n3 ) symmetric (truncating) quotient; -10 on a zero divisor.
    Div = 0x20, "/", [2 -> 1], inline;
    /// ( n1 n2 -- n3 ) remainder of the symmetric division (sign of the dividend).
    Mod = 0x21, "MOD", [2 -> 1], inline;
    /// ( n1 n2 -- rem quot ) symmetric division.
    DivMod = 0x22, "/MOD", [2 -> 2], inline;
    /// ( n1 n2 n3 -- n4 ) n1*n2/n3 with a double-cell intermediate, symmetric.
    StarSlash = 0x23, "*/", [3 -> 1], inline;
    /// ( n1 n2 n3 -- rem quot ) n1*n2/n3 with a double-cell intermediate, symmetric.
    StarSlashMod = 0x24, "*/MOD", [3 -> 2], inline;
    /// ( n -- -n ) wrapping.
    Negate = 0x25, "NEGATE", [1 -> 1], inline;
    /// ( n -- u ) wrapping (ABS of the most negative number is itself).
    Abs = 0x26, "ABS", [1 -> 1], inline;
    /// ( n1 n2 -- n3 )
    Min = 0x27, "MIN", [2 -> 1], inline;
    /// ( n1 n2 -- n3 )
    Max = 0x28, "MAX", [2 -> 1], inline;
    /// ( n -- n+1 )
    OnePlus = 0x29, "1+", [1 -> 1], inline;
    /// ( n -- n-1 )
    OneMinus = 0x2A, "1-", [1 -> 1], inline;
    /// ( x -- x<<1 )
    TwoStar = 0x2B, "2*", [1 -> 1], inline;
    /// ( x -- x>>1 ) arithmetic shift.
    TwoSlash = 0x2C, "2/", [1 -> 1], inline;
    /// ( x u -- x<<u ) zero when u >= 64.
    LShift = 0x2D, "LSHIFT", [2 -> 1], inline;
    /// ( x u -- x>>u ) logical; zero when u >= 64.
    RShift = 0x2E, "RSHIFT", [2 -> 1], inline;
    /// ( x1 x2 -- x3 )
    And = 0x2F, "AND", [2 -> 1], inline;
    /// ( x1 x2 -- x3 )
    Or = 0x30, "OR", [2 -> 1], inline;
    /// ( x1 x2 -- x3 )
    Xor = 0x31, "XOR", [2 -> 1], inline;
    /// ( x -- ~x )
    Invert = 0x32, "INVERT", [1 -> 1], inline;
    /// ( x1 x2 -- flag ) the comparisons push -1 for true and 0 for false.
    Eq = 0x33, "=", [2 -> 1], inline;
    /// ( x1 x2 -- flag )
    Ne = 0x34, "<>", [2 -> 1], inline;
    /// ( n1 n2 -- flag ) signed.
    Lt = 0x35, "<", [2 -> 1], inline;
    /// ( n1 n2 -- flag ) signed.
    Gt = 0x36, ">", [2 -> 1], inline;
    /// ( u1 u2 -- flag ) unsigned.
    ULt = 0x37, "U<", [2 -> 1], inline;
    /// ( u1 u2 -- flag ) unsigned.
    UGt = 0x38, "U>", [2 -> 1], inline;
    /// ( x -- flag )
    ZeroEq = 0x39, "0=", [1 -> 1], inline;
    /// ( x -- flag )
    ZeroNe = 0x3A, "0<>", [1 -> 1], inline;
    /// ( n -- flag )
    ZeroLt = 0x3B, "0<", [1 -> 1], inline;
    /// ( n -- flag )
    ZeroGt = 0x3C, "0>", [1 -> 1], inline;
    /// ( x lo hi -- flag ) lo <= x < hi in modular arithmetic.
    Within = 0x3D, "WITHIN", [3 -> 1], inline;
    /// ( n -- d )
    SToD = 0x3E, "S>D", [1 -> 2], inline;
    /// ( n1 n2 -- d ) signed double product.
    MStar = 0x3F, "M*", [2 -> 2], inline;
    /// ( u1 u2 -- ud ) unsigned double product.
    UMStar = 0x40, "UM*", [2 -> 2], inline;
    /// ( ud u -- urem uquot ) -10 on zero, -11 when the quotient does not fit.
    UMSlashMod = 0x41, "UM/MOD", [3 -> 2], inline;
    /// ( d n -- rem quot ) floored division.
    FMSlashMod = 0x42, "FM/MOD", [3 -> 2], inline;
    /// ( d n -- rem quot ) symmetric division.
    SMSlashRem = 0x43, "SM/REM", [3 -> 2], inline;
    /// ( addr -- x ) every memory access is bounds checked (-9).
    Fetch = 0x44, "@", [1 -> 1], inline;
    /// ( x addr -- )
    Store = 0x45, "!", [2 -> 0], inline;
    /// ( addr -- char )
    CFetch = 0x46, "C@", [1 -> 1], inline;
    /// ( char addr -- )
    CStore = 0x47, "C!", [2 -> 0], inline;
    /// ( n addr -- )
    PlusStore = 0x48, "+!", [2 -> 0], inline;
    /// ( addr -- x1 x2 ) x2 at addr, x1 in the next cell.
    TwoFetch = 0x49, "2@", [1 -> 2], inline;
    /// ( x1 x2 addr -- )
    TwoStore = 0x4A, "2!", [3 -> 0], inline;
    /// ( addr -- addr+8 )
    CellPlus = 0x4B, "CELL+", [1 -> 1], inline;
    /// ( n -- n*8 )
    Cells = 0x4C, "CELLS", [1 -> 1], inline;
    /// ( addr -- aligned-addr )
    Aligned = 0x4D, "ALIGNED", [1 -> 1], inline;
    /// ( c-addr -- c-addr+1 u )
    Count = 0x4E, "COUNT", [1 -> 2], inline;
    /// ( c-addr u char -- )
    Fill = 0x4F, "FILL", [3 -> 0], inline;
    /// ( addr1 addr2 u -- ) copies u bytes as if through a temporary buffer.
    Move = 0x50, "MOVE", [3 -> 0], inline;
    /// `Lit(n) Add` fused: ( x -- x+n ).
    LitAdd(n: Literal) = 0xAB, "+", [1 -> 1], inline;
    /// `Lit(n) Mul` fused.
    LitMul(n: Literal) = 0xAC, "*", [1 -> 1], inline;
    /// `Lit(n) And` fused.
    LitAnd(n: Literal) = 0xAD, "AND", [1 -> 1], inline;
    /// `Lit(n) Eq` fused.
    LitEq(n: Literal) = 0xAE, _, [1 -> 1], inline;
    /// `Lit(n) Lt` fused.
    LitLt(n: Literal) = 0xAF, _, [1 -> 1], inline;
    /// `Lit(n) Gt` fused.
    LitGt(n: Literal) = 0xB0, _, [1 -> 1], inline;
    /// `Lit(addr) Fetch` fused: ( -- x ), VARIABLE and VALUE reads.
    LitFetch(n: Literal) = 0xB1, "@", [0 -> 1], inline;
    /// `Lit(addr) Store` fused: ( x -- ).
    LitStore(n: Literal) = 0xB2, "!", [1 -> 0], inline;
    /// `Lit(addr) PlusStore` fused: ( n -- ).
    LitPlusStore(n: Literal) = 0xB3, "+!", [1 -> 0], inline;
    /// `Over Add` fused: ( x1 x2 -- x1 x1+x2 ).
    OverAdd = 0x51, "+", [2 -> 2], inline;
    /// `I Add` fused: ( x -- x+index ).
    IAdd = 0x52, "+", [1 -> 1; 1, 0], local;
    /// `Over Fetch` fused: ( addr x -- addr x y ).
    OverFetch = 0x53, "@", [2 -> 3], inline;
    /// `Over Lit(n) Add` fused: ( x1 x2 -- x1 x2 x1+n ).
    OverLitAdd(n: Literal) = 0xBC, "+", [2 -> 3], inline;
    /// `Swap Lit(n) Add Swap` fused: ( x1 x2 -- x1+n x2 ).
    UnderLitAdd(n: Literal) = 0xBD, "+", [2 -> 2], inline;
    /// `RFrom Add` fused: ( n -- n+r ) ( R: r -- ).
    RFromAdd = 0x54, "+", [1 -> 1; 1, -1], local;
    /// `RFrom Add ToR` fused: ( n -- ) ( R: r -- r+n ).
    AddToR = 0x55, "+", [1 -> 0; 1, 0], local;
    /// `I Fetch` fused: ( -- x ) the cell at the loop index.
    IFetch = 0x56, "@", [0 -> 1; 1, 0], local;
    /// `I Store` fused: ( x -- ) stores at the loop index.
    IStore = 0x57, "!", [1 -> 0; 1, 0], local;
    /// `I TwoFetch` fused.
    ITwoFetch = 0x58, "2@", [0 -> 2; 1, 0], local;
    /// `I TwoStore` fused.
    ITwoStore = 0x59, "2!", [2 -> 0; 1, 0], local;
    /// The bottom test of a rotated `BEGIN ... WHILE ... REPEAT`: ( x -- x ) jumps to the
    /// target while x < n.
    DupLitLtAgain(n: Literal, t: Target) = 0xBE, _, [1 -> 1], local;
    /// `Eq ZBranch` fused: ( x1 x2 -- ) jumps unless x1 = x2.
    EqBranch(t: Target) = 0xB4, _, [2 -> 0], local;
    /// `Ne ZBranch` fused.
    NeBranch(t: Target) = 0xB5, _, [2 -> 0], local;
    /// `Lt ZBranch` fused.
    LtBranch(t: Target) = 0xB6, _, [2 -> 0], local;
    /// `Gt ZBranch` fused.
    GtBranch(t: Target) = 0xB7, _, [2 -> 0], local;
    /// `ZeroEq ZBranch` fused: ( x -- ) jumps when x is non-zero.
    NzBranch(t: Target) = 0xB8, _, [1 -> 0], local;
    /// `Lit(n) Lt ZBranch` fused: ( x -- ) jumps unless x < n.
    LitLtBranch(n: Literal, t: Target) = 0xB9, _, [1 -> 0], local;
    /// `Dup Lit(n) Lt ZBranch` fused: ( x -- x ) jumps unless x < n.
    DupLitLtBranch(n: Literal, t: Target) = 0xBA, _, [1 -> 1], local;
    /// `Lit(n) Eq ZBranch` fused: ( x -- ) jumps unless x = n.
    LitEqBranch(n: Literal, t: Target) = 0xBB, _, [1 -> 0], local;
    /// `Dup Lit(n) Lt ZBranch(past) Exit` fused, the `DUP n < IF EXIT THEN` of recursive
    /// words: ( x -- x ) returns when x < n.
    DupLitLtExit(n: Literal) = 0xBF, _, [1 -> 1], local;
    /// `Dup LitAdd(n)` fused: ( x -- x x+n ).
    DupLitAdd(n: Literal) = 0xC0, "DUP", [1 -> 2], inline;
    /// `Swap LitAdd(n)` fused: ( x1 x2 -- x2 x1+n ).
    SwapLitAdd(n: Literal) = 0xC1, "SWAP", [2 -> 2], inline;
    /// `Lit(n) Over CStore` fused: ( addr -- addr ) stores the byte n at addr.
    LitOverCStore(n: Literal) = 0xC2, _, [1 -> 1], inline;
    /// `I CFetch` fused: ( -- char ) the byte at the loop index.
    ICFetch = 0x5A, _, [0 -> 1; 1, 0], local;
    /// `Lit(n) I CStore` fused: ( -- ) stores the byte n at the loop index.
    LitICStore(n: Literal) = 0xC3, "C!", [0 -> 0; 1, 0], local;
    /// `Dup PlusLoop` fused: ( n -- n ) adds n to the index; jumps back to the target
    /// unless the index crossed the boundary between limit-1 and limit.
    DupPlusLoop(t: Target) = 0xC4, "+LOOP", [1 -> 1; 2, -2], local;
    /// `ITwoFetch GtBranch` fused: ( -- ) jumps unless the cell after the loop index is
    /// greater than the cell at it.
    ITwoFetchGtBranch(t: Target) = 0xC5, "2@", [0 -> 0; 1, 0], local;
    /// `ITwoFetch LtBranch` fused: ( -- ) jumps unless the cell after the loop index is
    /// less than the cell at it.
    ITwoFetchLtBranch(t: Target) = 0xCA, "2@", [0 -> 0; 1, 0], local;
    /// `ITwoFetch Swap ITwoStore` fused: ( -- ) exchanges the cell at the loop index and
    /// the cell after it.
    ISwapCells = 0x5B, "2!", [0 -> 0; 1, 0], local;
    /// `OverFetch OverFetch Mul` fused: ( a1 a2 -- a1 a2 x1*x2 ), x1 at a1 and x2 at a2.
    FetchBothMul = 0x5C, "*", [2 -> 3], inline;
    /// `Drop Lit(n)` fused: ( x -- n ).
    DropLit(n: Literal) = 0xC6, "DROP", [1 -> 1], inline;
    /// `Add Exit` fused, the `+ ;` ending many definitions: ( n1 n2 -- n3 ), then returns.
    AddExit = 0x5D, "+", leaves, local, split(Op::Add, Op::Exit);
    /// `DropLit(n) Exit` fused, a base case returning a constant: ( x -- n ), then returns.
    DropLitExit(n: Literal) = 0xC7, "DROP", leaves, local, split(Op::DropLit(n), Op::Exit);
    /// `ICFetch ZBranch` fused, `I C@ IF`: ( -- ) jumps when the byte at the loop index is 0.
    ICFetchZBranch(t: Target) = 0xC8, "C@", [0 -> 0; 1, 0], local;
    /// `LitICStore(n) DupPlusLoop` fused, `n I C! DUP +LOOP`: ( step -- step ) stores the
    /// byte n at the loop index, then adds the step to the index and loops as `+LOOP` does.
    LitICStoreDupPlusLoop(n: Literal, t: Target) = 0xC9, "C!", [1 -> 1; 2, -2], local;
    /// `LitAdd(n) Loop` fused, `n + LOOP`: ( x -- x+n ), then `LOOP`.
    LitAddLoop(n: Literal, t: Target) = 0xCB, "+", [1 -> 1; 2, -2], local, split(Op::LitAdd(n), Op::Loop(t));
    /// `ToR FetchBothMul AddToR` fused, the step of an inner product
    /// `>R OVER @ OVER @ * R> + >R`: ( a1 a2 acc -- a1 a2 ) ( R: -- acc+x1*x2 ), x1 at a1
    /// and x2 at a2.
    MulAccumulateToR = 0x5E, "*", [3 -> 2; 0, 1], local;
    /// ( i*x -- j*x ) runs host word `id`, which the embedding program provides (see
    /// `Forth::define_host_word`).
    CallHost(id: Literal) = 0xCC, _, varies, local;
    /// A word implemented by the host side of the engine (parsing, compiling, I/O, ...).
    Sys(word: System) = 0xF0, _, varies, local;
}

/// An instruction is two cells: an operand cell and a tag, so that the code space stays
/// dense.
const _: () = assert!(size_of::<Op>() == 16);

/// No two instructions share a tag, so each decodes as itself.
const _: () = {
    let mut i = 0;
    while i < TAGS.len() {
        let mut j = i + 1;
        while j < TAGS.len() {
            assert!(TAGS[i] != TAGS[j], "two instructions share a tag");
            j += 1;
        }
        i += 1;
    }
};

macro_rules! system_words {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Words executed by the host side of the engine rather than the executor's loop:
        /// they parse, compile, do I/O or reach the whole engine state.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Sys { $($(#[$doc])* $name,)* }

        impl Sys {
            /// All of them, in encoding order.
            pub const ALL: &'static [Sys] = &[$(Sys::$name,)*];
        }
    };
}

system_words! {
    Emit, Type, Cr, Space, Spaces, Dot, UDot, DotR, UDotR, DotS,
    Key, Accept, Refill, Source, SourceId, SaveInput, RestoreInput,
    Word, Parse, ParseName, Char, BracketChar, Tick, BracketTick, Paren, Backslash, DotParen,
    SQuote, SBackslashQuote, CQuote, DotQuote, AbortQuote,
    /// ( flag c-addr u -- ) the run-time part of ABORT".
    AbortIf,
    Evaluate, Find, Included, Include, Catch, Throw, Abort, Quit, Bye, ToNumber, Environment,
    LessNumber, NumberSign, NumberSignS, NumberGreater, Hold, Holds, Sign,
    Colon, Semicolon, NoName, Create, DoesCompile, Variable, Constant, Value, To, Defer, Is,
    ActionOf, DeferFetch, DeferStore, BufferColon, Marker,
    /// ( word-index -- ) the run-time part of a MARKER word.
    RunMarker,
    Immediate, Literal, Postpone, CompileComma, BracketCompile, LeftBracket, RightBracket,
    Recurse, If, Else, Then, Begin, While, Repeat, Until, Again, Do, QDo, Loop, PlusLoop, Leave,
    Case, Of, Endof, Endcase, Exit,
    Here, Allot, Comma, CComma, Align, Unused, Pad, Decimal, Hex, ToBody, Words,
    // Programming-tools (tools.rs)
    Question, Dump, See, BracketIf, BracketElse, BracketThen, BracketDefined, BracketUndefined,
    Ahead, CsPick, CsRoll, NToR, NRFrom, Synonym, TraverseWordlist, NameToString,
    NameToInterpret, NameToCompile,
    // String (strings.rs)
    DashTrailing, CMove, CMoveUp, Compare, Search, SLiteral, Replaces, Substitute, Unescape,
    // Double-number (double.rs)
    TwoConstant, TwoLiteral, TwoVariable, TwoValue, DPlus, DMinus, DDot, DDotR, DTwoStar,
    DTwoSlash, DLess, DEqual, DULess, DAbs, DMax, DMin, DNegate, MStarSlash, MPlus, TwoRot,
    // Facility (facility.rs)
    AtXy, KeyQuestion, Page, PlusField, BeginStructure, EndStructure, FieldColon, CFieldColon,
    Ekey, EkeyToChar, EkeyToFkey, Ms, TimeAndDate,
    // Search-order (search.rs)
    GetCurrent, GetOrder, SearchWordlist, SetCurrent, SetOrder, Wordlist, Also, ForthOrder,
    Only, Order, Previous, Definitions,
    Allocate, Free, Resize,
    CloseFile, CreateFile, DeleteFile, FilePosition, FileSize, FileStatus, FlushFile,
    IncludeFile, OpenFile, ReadFile, ReadLine, RenameFile, RepositionFile, Require, Required,
    ResizeFile, WriteFile, WriteLine,
    /// ( offset -- x ) the run-time part of a local's name: the return stack cell at offset.
    LocalFetch,
    /// ( x offset -- ) the run-time part of TO local.
    LocalStore,
    /// ( count -- ) drops a definition's locals frame from the return stack.
    LocalsDrop,
    ParenLocal, BraceColon,
    Block, Buffer, Update, SaveBuffers, Flush, EmptyBuffers, Load, List, Thru,
    /// ( x -- ) ( F: -- r ) the run-time part of a float literal: the cell's bits as a float.
    /// The float words (`float.rs`) run from here to `SFFetch`, in one block.
    FloatFromBits,
    ToFloat, DToF, FStore, FStar, FPlus, FMinus, FSlash, FZeroLess, FZeroEquals, FLess, FToD,
    FFetch, FConstant, FDepth, FDrop, FDup, FLiteral, Floor, FMax, FMin, FNegate, FOver, FRot,
    FRound, FSwap, FValue, Represent, SFAlign, FField, SFField, FStarStar, FDot, FToS, FAbs,
    FAcos, FAcosh, FAlog, FAsin, FAsinh, FAtan, FAtan2, FAtanh, FCos, FCosh, FEDot, FExp, FExpm1,
    FLn, FLnp1, FLog, FSDot, FSin, FSinCos, FSinh, FSqrt, FTan, FTanh, FTrunc, FProximate,
    Precision, SetPrecision, SToF, SFStore, SFFetch,
}

/// A system word's index fits its two encoding bytes.
const _: () = assert!(Sys::ALL.len() <= u16::MAX as usize);

impl Sys {
    /// The word's index in [`Sys::ALL`], which encodes it.
    pub const fn index(self) -> u16 {
        self as u16
    }

    /// The word of an index that [`Reader::operand`] checked (`Abort` for any other).
    fn from_index(index: u64) -> Sys {
        usize::try_from(index)
            .ok()
            .and_then(|index| Sys::ALL.get(index))
            .copied()
            .unwrap_or(Sys::Abort)
    }
}

/// Encodes a sequence of instructions: the version, the count, then each instruction.
pub fn encode(ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ops.len() * 4 + 12);
    out.extend(IR_VERSION.to_le_bytes());
    out.extend((ops.len() as u64).to_le_bytes());
    for &op in ops {
        encode_op(op, &mut out);
    }
    out
}

/// Writes a byte string as a u64 length and the bytes ([`Reader::blob`]).
pub fn write_blob(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend((bytes.len() as u64).to_le_bytes());
    out.extend(bytes);
}

/// Why bytes could not be decoded as IR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// The error of a read past the end.
#[cold]
#[inline(never)]
fn truncated() -> DecodeError {
    DecodeError("truncated".to_owned())
}

/// A cursor over bytes that refuses to read past the end.
pub struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, position: 0 }
    }

    #[inline(never)]
    pub fn take(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        let rest = self.bytes.get(self.position..).unwrap_or_default();
        let taken = rest.get(..count).ok_or_else(truncated)?;
        self.position += count;
        Ok(taken)
    }

    /// The next `N` bytes, inline, with the error out of line: what [`Reader::op`] reads
    /// an instruction with, where a call per read cost more than the read. The other reads
    /// stay out of line, which keeps the image decoder small.
    #[inline(always)]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let rest = self.bytes.get(self.position..).unwrap_or_default();
        let taken = rest.first_chunk::<N>().ok_or_else(truncated)?;
        self.position += N;
        Ok(*taken)
    }

    #[inline(never)]
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        self.array::<1>().map(|[byte]| byte)
    }

    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        self.array().map(u16::from_le_bytes)
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        self.array().map(u32::from_le_bytes)
    }

    #[inline(never)]
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        self.array().map(u64::from_le_bytes)
    }

    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(self.u64()? as i64)
    }

    /// A length that must not exceed the bytes left (each counted item takes at least
    /// `min_item_bytes`), so corrupt counts cannot cause huge allocations.
    #[inline(never)]
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize, DecodeError> {
        let count = self.u64()?;
        let left = (self.bytes.len() - self.position) as u64;
        if count.saturating_mul(min_item_bytes.max(1) as u64) > left {
            return Err(DecodeError("count larger than the data".to_owned()));
        }
        Ok(count as usize)
    }

    /// A byte string written as a u64 length and the bytes ([`write_blob`]).
    pub fn blob(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.count(1)?;
        self.take(len)
    }

    /// The IR version a stage's encoding starts with; another one is refused.
    pub fn ir_version(&mut self) -> Result<(), DecodeError> {
        match self.u32()? {
            IR_VERSION => Ok(()),
            version => Err(DecodeError(format!(
                "IR version {version}, expected {IR_VERSION}"
            ))),
        }
    }

    /// Refuses bytes left after what was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DecodeError("trailing bytes".to_owned()))
        }
    }

    pub fn is_empty(&self) -> bool {
        self.position == self.bytes.len()
    }

    /// One operand of the kind [`operand_code`] gives (1 a cell, 2 a u32, else a system
    /// word's index, checked), widened to a u64.
    fn operand(&mut self, kind: u8) -> Result<u64, DecodeError> {
        match kind {
            1 => self.array().map(u64::from_le_bytes),
            2 => self
                .array()
                .map(|bytes| u64::from(u32::from_le_bytes(bytes))),
            _ => {
                let index = u16::from_le_bytes(self.array()?);
                if usize::from(index) < Sys::ALL.len() {
                    Ok(u64::from(index))
                } else {
                    Err(DecodeError(format!("unknown system word {index}")))
                }
            }
        }
    }
}

/// Decodes what [`encode`] wrote; refuses another version, unknown tags and truncation.
pub fn decode(bytes: &[u8]) -> Result<Vec<Op>, DecodeError> {
    let mut reader = Reader::new(bytes);
    let version = reader.u32()?;
    if version != IR_VERSION {
        return Err(DecodeError(format!(
            "IR version {version}, expected {IR_VERSION}"
        )));
    }
    let count = reader.count(1)?;
    let ops = (0..count)
        .map(|_| reader.op())
        .collect::<Result<Vec<_>, _>>()?;
    if !reader.is_empty() {
        return Err(DecodeError("trailing bytes after the IR".to_owned()));
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instruction_round_trips() {
        let ops = every_instruction();
        assert_eq!(decode(&encode(&ops)).unwrap(), ops);
    }

    #[test]
    fn every_system_word_round_trips() {
        let ops: Vec<Op> = Sys::ALL.iter().map(|&word| Op::Sys(word)).collect();
        assert_eq!(decode(&encode(&ops)).unwrap(), ops);
    }

    #[test]
    fn each_instruction_encodes_to_its_own_bytes() {
        let mut seen = std::collections::HashSet::new();
        for op in every_instruction() {
            let mut bytes = Vec::new();
            encode_op(op, &mut bytes);
            assert!(seen.insert(bytes), "{op:?} encodes as another instruction");
        }
    }

    #[test]
    fn a_system_word_is_encoded_by_its_index() {
        for (index, &word) in Sys::ALL.iter().enumerate() {
            let mut bytes = Vec::new();
            encode_op(Op::Sys(word), &mut bytes);
            assert_eq!(bytes[1..], (index as u16).to_le_bytes());
        }
    }

    #[test]
    fn unknown_tags_and_system_words_are_refused() {
        let mut bytes = encode(&[Op::Halt]);
        *bytes.last_mut().unwrap() = 0x9F;
        assert_eq!(decode(&bytes).unwrap_err().0, "unknown instruction tag 159");
        let mut bytes = encode(&[Op::Sys(Sys::Emit)]);
        let last = bytes.len();
        bytes[last - 2..].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(decode(&bytes).unwrap_err().0, "unknown system word 65535");
    }

    #[test]
    fn retargeting_changes_only_the_branch_target() {
        for op in every_instruction() {
            let moved = op.with_target(3);
            assert_eq!(moved.target(), op.target().map(|_| 3), "{op:?}");
            assert_eq!(moved.with_target(0xDEAD_BEEF), op, "{op:?}");
        }
    }

    #[test]
    fn a_fused_instruction_splits_into_parts_with_its_operands() {
        assert_eq!(Op::AddExit.split(), Some((Op::Add, Op::Exit)));
        assert_eq!(Op::DropLitExit(4).split(), Some((Op::DropLit(4), Op::Exit)));
        assert_eq!(
            Op::LitAddLoop(2, 9).split(),
            Some((Op::LitAdd(2), Op::Loop(9)))
        );
        assert_eq!(Op::Add.split(), None);
    }
}

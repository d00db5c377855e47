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
/// widened a system word's index from one byte to two.
pub const IR_VERSION: u32 = 2;

/// One instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Stops the executor; address 0 of the code space holds it and every top-level
    /// execution returns to it.
    Halt,
    /// Where CATCH returns when the caught word finishes normally: drops the catch frame
    /// and pushes 0. Address 1 of the code space holds it.
    CatchOk,
    /// ( -- x ) pushes the literal.
    Lit(i64),
    /// Calls the code at the absolute address: pushes the return address on the return
    /// stack.
    Call(u32),
    /// Returns to the address on top of the return stack.
    Exit,
    /// Jumps to the target.
    Branch(u32),
    /// ( x -- ) jumps to the target when x is zero.
    ZBranch(u32),
    /// ( i*x xt -- j*x ) calls the execution token.
    Execute,
    /// ( -- ) calls the execution token stored in the cell at the address (DEFER).
    ExecuteAt(i64),
    /// ( limit index -- ) ( R: -- limit index ) starts a counted loop.
    Do,
    /// ( limit index -- ) like `Do`, but jumps to the target (after the loop) when
    /// limit = index.
    QDo(u32),
    /// ( R: limit index -- limit index' | ) adds one to the index; jumps back to the
    /// target unless the index reached the limit, in which case the loop parameters go.
    Loop(u32),
    /// ( n -- ) adds n to the index; jumps back to the target unless the index crossed the
    /// boundary between limit-1 and limit.
    PlusLoop(u32),
    /// `Lit(n) PlusLoop(target)` fused.
    LitPlusLoop(i64, u32),
    /// ( R: limit index -- ) discards the loop parameters.
    Unloop,
    /// ( -- index ) the innermost loop index.
    I,
    /// ( -- index ) the next outer loop index.
    J,
    /// Sets the behaviour of the latest CREATEd word to "push the data field address,
    /// then run the code at the target" (the code after DOES>), then returns.
    Does(u32),
    /// ( x1 x2 -- | x1 ) CASE's OF: when x1 = x2 drops both, otherwise drops x2 and jumps.
    Of(u32),
    /// ( x -- ) ( R: -- x )
    ToR,
    /// ( -- x ) ( R: x -- )
    RFrom,
    /// ( -- x ) ( R: x -- x )
    RFetch,
    /// ( x1 x2 -- ) ( R: -- x1 x2 )
    TwoToR,
    /// ( -- x1 x2 ) ( R: x1 x2 -- )
    TwoRFrom,
    /// ( -- x1 x2 ) ( R: x1 x2 -- x1 x2 )
    TwoRFetch,
    /// ( x -- x x )
    Dup,
    /// ( x -- )
    Drop,
    /// ( x1 x2 -- x2 x1 )
    Swap,
    /// ( x1 x2 -- x1 x2 x1 )
    Over,
    /// ( x1 x2 x3 -- x2 x3 x1 )
    Rot,
    /// ( x1 x2 -- x2 )
    Nip,
    /// ( x1 x2 -- x2 x1 x2 )
    Tuck,
    /// ( x -- 0 | x x )
    QDup,
    /// ( xu ... x0 u -- xu ... x0 xu )
    Pick,
    /// ( xu xu-1 ... x0 u -- xu-1 ... x0 xu )
    Roll,
    /// ( x1 x2 -- x1 x2 x1 x2 )
    TwoDup,
    /// ( x1 x2 -- )
    TwoDrop,
    /// ( x1 x2 x3 x4 -- x3 x4 x1 x2 )
    TwoSwap,
    /// ( x1 x2 x3 x4 -- x1 x2 x3 x4 x1 x2 )
    TwoOver,
    /// ( -- n ) the number of cells on the data stack before n was pushed.
    Depth,
    /// ( n1 n2 -- n3 ) wrapping sum.
    Add,
    /// ( n1 n2 -- n3 ) wrapping difference.
    Sub,
    /// ( n1 n2 -- n3 ) wrapping product.
    Mul,
    /// ( n1 n2 -- n3 ) symmetric (truncating) quotient; -10 on a zero divisor.
    Div,
    /// ( n1 n2 -- n3 ) remainder of the symmetric division (sign of the dividend).
    Mod,
    /// ( n1 n2 -- rem quot ) symmetric division.
    DivMod,
    /// ( n1 n2 n3 -- n4 ) n1*n2/n3 with a double-cell intermediate, symmetric.
    StarSlash,
    /// ( n1 n2 n3 -- rem quot ) n1*n2/n3 with a double-cell intermediate, symmetric.
    StarSlashMod,
    /// ( n -- -n ) wrapping.
    Negate,
    /// ( n -- u ) wrapping (ABS of the most negative number is itself).
    Abs,
    /// ( n1 n2 -- n3 )
    Min,
    /// ( n1 n2 -- n3 )
    Max,
    /// ( n -- n+1 )
    OnePlus,
    /// ( n -- n-1 )
    OneMinus,
    /// ( x -- x<<1 )
    TwoStar,
    /// ( x -- x>>1 ) arithmetic shift.
    TwoSlash,
    /// ( x u -- x<<u ) zero when u >= 64.
    LShift,
    /// ( x u -- x>>u ) logical; zero when u >= 64.
    RShift,
    /// ( x1 x2 -- x3 )
    And,
    /// ( x1 x2 -- x3 )
    Or,
    /// ( x1 x2 -- x3 )
    Xor,
    /// ( x -- ~x )
    Invert,
    /// ( x1 x2 -- flag ) the comparisons push -1 for true and 0 for false.
    Eq,
    /// ( x1 x2 -- flag )
    Ne,
    /// ( n1 n2 -- flag ) signed.
    Lt,
    /// ( n1 n2 -- flag ) signed.
    Gt,
    /// ( u1 u2 -- flag ) unsigned.
    ULt,
    /// ( u1 u2 -- flag ) unsigned.
    UGt,
    /// ( x -- flag )
    ZeroEq,
    /// ( x -- flag )
    ZeroNe,
    /// ( n -- flag )
    ZeroLt,
    /// ( n -- flag )
    ZeroGt,
    /// ( x lo hi -- flag ) lo <= x < hi in modular arithmetic.
    Within,
    /// ( n -- d )
    SToD,
    /// ( n1 n2 -- d ) signed double product.
    MStar,
    /// ( u1 u2 -- ud ) unsigned double product.
    UMStar,
    /// ( ud u -- urem uquot ) -10 on zero, -11 when the quotient does not fit.
    UMSlashMod,
    /// ( d n -- rem quot ) floored division.
    FMSlashMod,
    /// ( d n -- rem quot ) symmetric division.
    SMSlashRem,
    /// ( addr -- x ) every memory access is bounds checked (-9).
    Fetch,
    /// ( x addr -- )
    Store,
    /// ( addr -- char )
    CFetch,
    /// ( char addr -- )
    CStore,
    /// ( n addr -- )
    PlusStore,
    /// ( addr -- x1 x2 ) x2 at addr, x1 in the next cell.
    TwoFetch,
    /// ( x1 x2 addr -- )
    TwoStore,
    /// ( addr -- addr+8 )
    CellPlus,
    /// ( n -- n*8 )
    Cells,
    /// ( addr -- aligned-addr )
    Aligned,
    /// ( c-addr -- c-addr+1 u )
    Count,
    /// ( c-addr u char -- )
    Fill,
    /// ( addr1 addr2 u -- ) copies u bytes as if through a temporary buffer.
    Move,
    /// `Lit(n) Add` fused: ( x -- x+n ).
    LitAdd(i64),
    /// `Lit(n) Mul` fused.
    LitMul(i64),
    /// `Lit(n) And` fused.
    LitAnd(i64),
    /// `Lit(n) Eq` fused.
    LitEq(i64),
    /// `Lit(n) Lt` fused.
    LitLt(i64),
    /// `Lit(n) Gt` fused.
    LitGt(i64),
    /// `Lit(addr) Fetch` fused: ( -- x ), VARIABLE and VALUE reads.
    LitFetch(i64),
    /// `Lit(addr) Store` fused: ( x -- ).
    LitStore(i64),
    /// `Lit(addr) PlusStore` fused: ( n -- ).
    LitPlusStore(i64),
    /// `Over Over`, `Over Add`... : ( x1 x2 -- x1 x1+x2 )... see each.
    /// `Over Add` fused: ( x1 x2 -- x1 x1+x2 ).
    OverAdd,
    /// `I Add` fused: ( x -- x+index ).
    IAdd,
    /// `Over Fetch` fused: ( addr x -- addr x y ).
    OverFetch,
    /// `Over Lit(n) Add` fused: ( x1 x2 -- x1 x2 x1+n ).
    OverLitAdd(i64),
    /// `Swap Lit(n) Add Swap` fused: ( x1 x2 -- x1+n x2 ).
    UnderLitAdd(i64),
    /// `RFrom Add` fused: ( n -- n+r ) ( R: r -- ).
    RFromAdd,
    /// `RFrom Add ToR` fused: ( n -- ) ( R: r -- r+n ).
    AddToR,
    /// `I Fetch` fused: ( -- x ) the cell at the loop index.
    IFetch,
    /// `I Store` fused: ( x -- ) stores at the loop index.
    IStore,
    /// `I TwoFetch` fused.
    ITwoFetch,
    /// `I TwoStore` fused.
    ITwoStore,
    /// The bottom test of a rotated `BEGIN ... WHILE ... REPEAT`: ( x -- x ) jumps to the
    /// target while x < n.
    DupLitLtAgain(i64, u32),
    /// `Eq ZBranch` fused: ( x1 x2 -- ) jumps unless x1 = x2.
    EqBranch(u32),
    /// `Ne ZBranch` fused.
    NeBranch(u32),
    /// `Lt ZBranch` fused.
    LtBranch(u32),
    /// `Gt ZBranch` fused.
    GtBranch(u32),
    /// `ZeroEq ZBranch` fused: ( x -- ) jumps when x is non-zero.
    NzBranch(u32),
    /// `Lit(n) Lt ZBranch` fused: ( x -- ) jumps unless x < n.
    LitLtBranch(i64, u32),
    /// `Dup Lit(n) Lt ZBranch` fused: ( x -- x ) jumps unless x < n.
    DupLitLtBranch(i64, u32),
    /// `Lit(n) Eq ZBranch` fused: ( x -- ) jumps unless x = n.
    LitEqBranch(i64, u32),
    /// `Dup Lit(n) Lt ZBranch(past) Exit` fused, the `DUP n < IF EXIT THEN` of recursive
    /// words: ( x -- x ) returns when x < n.
    DupLitLtExit(i64),
    /// `Dup LitAdd(n)` fused: ( x -- x x+n ).
    DupLitAdd(i64),
    /// `Swap LitAdd(n)` fused: ( x1 x2 -- x2 x1+n ).
    SwapLitAdd(i64),
    /// `Lit(n) Over CStore` fused: ( addr -- addr ) stores the byte n at addr.
    LitOverCStore(i64),
    /// `I CFetch` fused: ( -- char ) the byte at the loop index.
    ICFetch,
    /// `Lit(n) I CStore` fused: ( -- ) stores the byte n at the loop index.
    LitICStore(i64),
    /// `Dup PlusLoop` fused: ( n -- n ) adds n to the index; jumps back to the target
    /// unless the index crossed the boundary between limit-1 and limit.
    DupPlusLoop(u32),
    /// `ITwoFetch GtBranch` fused: ( -- ) jumps unless the cell after the loop index is
    /// greater than the cell at it.
    ITwoFetchGtBranch(u32),
    /// `ITwoFetch LtBranch` fused: ( -- ) jumps unless the cell after the loop index is
    /// less than the cell at it.
    ITwoFetchLtBranch(u32),
    /// `ITwoFetch Swap ITwoStore` fused: ( -- ) exchanges the cell at the loop index and
    /// the cell after it.
    ISwapCells,
    /// `OverFetch OverFetch Mul` fused: ( a1 a2 -- a1 a2 x1*x2 ), x1 at a1 and x2 at a2.
    FetchBothMul,
    /// `Drop Lit(n)` fused: ( x -- n ).
    DropLit(i64),
    /// `Add Exit` fused, the `+ ;` ending many definitions: ( n1 n2 -- n3 ), then returns.
    AddExit,
    /// `DropLit(n) Exit` fused, a base case returning a constant: ( x -- n ), then returns.
    DropLitExit(i64),
    /// `ICFetch ZBranch` fused, `I C@ IF`: ( -- ) jumps when the byte at the loop index is 0.
    ICFetchZBranch(u32),
    /// `LitICStore(n) DupPlusLoop` fused, `n I C! DUP +LOOP`: ( step -- step ) stores the
    /// byte n at the loop index, then adds the step to the index and loops as `+LOOP` does.
    LitICStoreDupPlusLoop(i64, u32),
    /// `LitAdd(n) Loop` fused, `n + LOOP`: ( x -- x+n ), then `LOOP`.
    LitAddLoop(i64, u32),
    /// `ToR FetchBothMul AddToR` fused, the step of an inner product
    /// `>R OVER @ OVER @ * R> + >R`: ( a1 a2 acc -- a1 a2 ) ( R: -- acc+x1*x2 ), x1 at a1
    /// and x2 at a2.
    MulAccumulateToR,
    /// A word implemented by the host side of the engine (parsing, compiling, I/O, ...).
    Sys(Sys),
}

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
    /// ( i*x id -- j*x ) the run-time part of a host word.
    CallHost,
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

impl Op {
    /// The branch target of a control-flow instruction (local or absolute as the context
    /// says), `None` for everything else. `Call` targets are not branch targets.
    pub fn target(self) -> Option<u32> {
        match self {
            Op::Branch(t)
            | Op::ZBranch(t)
            | Op::QDo(t)
            | Op::Loop(t)
            | Op::PlusLoop(t)
            | Op::LitPlusLoop(_, t)
            | Op::Does(t)
            | Op::Of(t)
            | Op::EqBranch(t)
            | Op::NeBranch(t)
            | Op::LtBranch(t)
            | Op::GtBranch(t)
            | Op::NzBranch(t)
            | Op::LitLtBranch(_, t)
            | Op::DupLitLtBranch(_, t)
            | Op::LitEqBranch(_, t)
            | Op::DupLitLtAgain(_, t)
            | Op::DupPlusLoop(t)
            | Op::ITwoFetchGtBranch(t)
            | Op::ITwoFetchLtBranch(t)
            | Op::LitAddLoop(_, t)
            | Op::ICFetchZBranch(t)
            | Op::LitICStoreDupPlusLoop(_, t) => Some(t),
            _ => None,
        }
    }

    /// A fused instruction that ends in a return or a loop's end, as its two parts (`Add`
    /// and `Exit` for `AddExit`); `None` for every other instruction.
    pub fn split(self) -> Option<(Op, Op)> {
        match self {
            Op::AddExit => Some((Op::Add, Op::Exit)),
            Op::DropLitExit(n) => Some((Op::DropLit(n), Op::Exit)),
            Op::LitAddLoop(n, t) => Some((Op::LitAdd(n), Op::Loop(t))),
            _ => None,
        }
    }

    /// The same instruction with its branch target replaced.
    pub fn with_target(self, new: u32) -> Op {
        match self {
            Op::Branch(_) => Op::Branch(new),
            Op::ZBranch(_) => Op::ZBranch(new),
            Op::QDo(_) => Op::QDo(new),
            Op::Loop(_) => Op::Loop(new),
            Op::PlusLoop(_) => Op::PlusLoop(new),
            Op::LitPlusLoop(n, _) => Op::LitPlusLoop(n, new),
            Op::Does(_) => Op::Does(new),
            Op::Of(_) => Op::Of(new),
            Op::EqBranch(_) => Op::EqBranch(new),
            Op::NeBranch(_) => Op::NeBranch(new),
            Op::LtBranch(_) => Op::LtBranch(new),
            Op::GtBranch(_) => Op::GtBranch(new),
            Op::NzBranch(_) => Op::NzBranch(new),
            Op::LitLtBranch(n, _) => Op::LitLtBranch(n, new),
            Op::DupLitLtBranch(n, _) => Op::DupLitLtBranch(n, new),
            Op::LitEqBranch(n, _) => Op::LitEqBranch(n, new),
            Op::DupLitLtAgain(n, _) => Op::DupLitLtAgain(n, new),
            Op::DupPlusLoop(_) => Op::DupPlusLoop(new),
            Op::ITwoFetchGtBranch(_) => Op::ITwoFetchGtBranch(new),
            Op::ITwoFetchLtBranch(_) => Op::ITwoFetchLtBranch(new),
            Op::LitAddLoop(n, _) => Op::LitAddLoop(n, new),
            Op::ICFetchZBranch(_) => Op::ICFetchZBranch(new),
            Op::LitICStoreDupPlusLoop(n, _) => Op::LitICStoreDupPlusLoop(n, new),
            other => other,
        }
    }
}

/// Instructions without operands, in encoding order (the tag is the index).
const PLAIN: &[Op] = &[
    Op::Halt,
    Op::CatchOk,
    Op::Exit,
    Op::Execute,
    Op::Do,
    Op::Unloop,
    Op::I,
    Op::J,
    Op::ToR,
    Op::RFrom,
    Op::RFetch,
    Op::TwoToR,
    Op::TwoRFrom,
    Op::TwoRFetch,
    Op::Dup,
    Op::Drop,
    Op::Swap,
    Op::Over,
    Op::Rot,
    Op::Nip,
    Op::Tuck,
    Op::QDup,
    Op::Pick,
    Op::Roll,
    Op::TwoDup,
    Op::TwoDrop,
    Op::TwoSwap,
    Op::TwoOver,
    Op::Depth,
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::Mod,
    Op::DivMod,
    Op::StarSlash,
    Op::StarSlashMod,
    Op::Negate,
    Op::Abs,
    Op::Min,
    Op::Max,
    Op::OnePlus,
    Op::OneMinus,
    Op::TwoStar,
    Op::TwoSlash,
    Op::LShift,
    Op::RShift,
    Op::And,
    Op::Or,
    Op::Xor,
    Op::Invert,
    Op::Eq,
    Op::Ne,
    Op::Lt,
    Op::Gt,
    Op::ULt,
    Op::UGt,
    Op::ZeroEq,
    Op::ZeroNe,
    Op::ZeroLt,
    Op::ZeroGt,
    Op::Within,
    Op::SToD,
    Op::MStar,
    Op::UMStar,
    Op::UMSlashMod,
    Op::FMSlashMod,
    Op::SMSlashRem,
    Op::Fetch,
    Op::Store,
    Op::CFetch,
    Op::CStore,
    Op::PlusStore,
    Op::TwoFetch,
    Op::TwoStore,
    Op::CellPlus,
    Op::Cells,
    Op::Aligned,
    Op::Count,
    Op::Fill,
    Op::Move,
    Op::OverAdd,
    Op::IAdd,
    Op::OverFetch,
    Op::RFromAdd,
    Op::AddToR,
    Op::IFetch,
    Op::IStore,
    Op::ITwoFetch,
    Op::ITwoStore,
    Op::ICFetch,
    Op::ISwapCells,
    Op::FetchBothMul,
    Op::AddExit,
    Op::MulAccumulateToR,
];

const TAG_SYS: u8 = 0xF0;
const TAG_WITH_OPERANDS: u8 = 0xA0;

/// Instructions with operands: tag offset from `TAG_WITH_OPERANDS`, then the operands.
fn operand_tag(op: Op) -> Option<(u8, Option<i64>, Option<u32>)> {
    let tagged = match op {
        Op::Lit(n) => (0, Some(n), None),
        Op::Call(t) => (1, None, Some(t)),
        Op::Branch(t) => (2, None, Some(t)),
        Op::ZBranch(t) => (3, None, Some(t)),
        Op::ExecuteAt(n) => (4, Some(n), None),
        Op::QDo(t) => (5, None, Some(t)),
        Op::Loop(t) => (6, None, Some(t)),
        Op::PlusLoop(t) => (7, None, Some(t)),
        Op::LitPlusLoop(n, t) => (8, Some(n), Some(t)),
        Op::Does(t) => (9, None, Some(t)),
        Op::Of(t) => (10, None, Some(t)),
        Op::LitAdd(n) => (11, Some(n), None),
        Op::LitMul(n) => (12, Some(n), None),
        Op::LitAnd(n) => (13, Some(n), None),
        Op::LitEq(n) => (14, Some(n), None),
        Op::LitLt(n) => (15, Some(n), None),
        Op::LitGt(n) => (16, Some(n), None),
        Op::LitFetch(n) => (17, Some(n), None),
        Op::LitStore(n) => (18, Some(n), None),
        Op::LitPlusStore(n) => (19, Some(n), None),
        Op::EqBranch(t) => (20, None, Some(t)),
        Op::NeBranch(t) => (21, None, Some(t)),
        Op::LtBranch(t) => (22, None, Some(t)),
        Op::GtBranch(t) => (23, None, Some(t)),
        Op::NzBranch(t) => (24, None, Some(t)),
        Op::LitLtBranch(n, t) => (25, Some(n), Some(t)),
        Op::DupLitLtBranch(n, t) => (26, Some(n), Some(t)),
        Op::LitEqBranch(n, t) => (27, Some(n), Some(t)),
        Op::OverLitAdd(n) => (28, Some(n), None),
        Op::UnderLitAdd(n) => (29, Some(n), None),
        Op::DupLitLtAgain(n, t) => (30, Some(n), Some(t)),
        Op::DupLitLtExit(n) => (31, Some(n), None),
        Op::DupLitAdd(n) => (32, Some(n), None),
        Op::SwapLitAdd(n) => (33, Some(n), None),
        Op::LitOverCStore(n) => (34, Some(n), None),
        Op::LitICStore(n) => (35, Some(n), None),
        Op::DupPlusLoop(t) => (36, None, Some(t)),
        Op::ITwoFetchGtBranch(t) => (37, None, Some(t)),
        Op::DropLit(n) => (38, Some(n), None),
        Op::DropLitExit(n) => (39, Some(n), None),
        Op::ICFetchZBranch(t) => (40, None, Some(t)),
        Op::LitICStoreDupPlusLoop(n, t) => (41, Some(n), Some(t)),
        Op::ITwoFetchLtBranch(t) => (42, None, Some(t)),
        Op::LitAddLoop(n, t) => (43, Some(n), Some(t)),
        _ => return None,
    };
    Some(tagged)
}

fn from_operand_tag(tag: u8, n: i64, t: u32) -> Option<Op> {
    let op = match tag {
        0 => Op::Lit(n),
        1 => Op::Call(t),
        2 => Op::Branch(t),
        3 => Op::ZBranch(t),
        4 => Op::ExecuteAt(n),
        5 => Op::QDo(t),
        6 => Op::Loop(t),
        7 => Op::PlusLoop(t),
        8 => Op::LitPlusLoop(n, t),
        9 => Op::Does(t),
        10 => Op::Of(t),
        11 => Op::LitAdd(n),
        12 => Op::LitMul(n),
        13 => Op::LitAnd(n),
        14 => Op::LitEq(n),
        15 => Op::LitLt(n),
        16 => Op::LitGt(n),
        17 => Op::LitFetch(n),
        18 => Op::LitStore(n),
        19 => Op::LitPlusStore(n),
        20 => Op::EqBranch(t),
        21 => Op::NeBranch(t),
        22 => Op::LtBranch(t),
        23 => Op::GtBranch(t),
        24 => Op::NzBranch(t),
        25 => Op::LitLtBranch(n, t),
        26 => Op::DupLitLtBranch(n, t),
        27 => Op::LitEqBranch(n, t),
        28 => Op::OverLitAdd(n),
        29 => Op::UnderLitAdd(n),
        30 => Op::DupLitLtAgain(n, t),
        31 => Op::DupLitLtExit(n),
        32 => Op::DupLitAdd(n),
        33 => Op::SwapLitAdd(n),
        34 => Op::LitOverCStore(n),
        35 => Op::LitICStore(n),
        36 => Op::DupPlusLoop(t),
        37 => Op::ITwoFetchGtBranch(t),
        38 => Op::DropLit(n),
        39 => Op::DropLitExit(n),
        40 => Op::ICFetchZBranch(t),
        41 => Op::LitICStoreDupPlusLoop(n, t),
        42 => Op::ITwoFetchLtBranch(t),
        43 => Op::LitAddLoop(n, t),
        _ => return None,
    };
    Some(op)
}

/// How many operands of each kind an operand tag carries.
fn operand_shape(tag: u8) -> (bool, bool) {
    match from_operand_tag(tag, 0, 0).and_then(operand_tag) {
        Some((_, n, t)) => (n.is_some(), t.is_some()),
        None => (false, false),
    }
}

/// Appends one instruction's encoding: a tag byte, then an i64 and/or a u32 operand in
/// little-endian order when the instruction has them; a system word is `TAG_SYS` and its
/// index in `Sys::ALL` as a little-endian u16.
pub fn encode_op(op: Op, out: &mut Vec<u8>) {
    if let Op::Sys(word) = op {
        let index = Sys::ALL.iter().position(|&w| w == word).unwrap_or(0);
        out.push(TAG_SYS);
        out.extend((index as u16).to_le_bytes());
    } else if let Some((tag, n, t)) = operand_tag(op) {
        out.push(TAG_WITH_OPERANDS + tag);
        if let Some(n) = n {
            out.extend(n.to_le_bytes());
        }
        if let Some(t) = t {
            out.extend(t.to_le_bytes());
        }
    } else {
        let index = PLAIN.iter().position(|&p| p == op).unwrap_or(0);
        out.push(index as u8);
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

/// Why bytes could not be decoded as IR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// A cursor over bytes that refuses to read past the end.
pub struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, position: 0 }
    }

    pub fn take(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .position
            .checked_add(count)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| DecodeError("truncated".to_owned()))?;
        let taken = &self.bytes[self.position..end];
        self.position = end;
        Ok(taken)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        let bytes = self.take(2)?;
        Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let bytes = self.take(8)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(array))
    }

    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(self.u64()? as i64)
    }

    /// A length that must not exceed the bytes left (each counted item takes at least
    /// `min_item_bytes`), so corrupt counts cannot cause huge allocations.
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize, DecodeError> {
        let count = self.u64()?;
        let left = (self.bytes.len() - self.position) as u64;
        if count.saturating_mul(min_item_bytes.max(1) as u64) > left {
            return Err(DecodeError("count larger than the data".to_owned()));
        }
        Ok(count as usize)
    }

    /// A byte string written as a u64 length and the bytes.
    pub fn blob(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.count(1)?;
        self.take(len)
    }

    pub fn is_empty(&self) -> bool {
        self.position == self.bytes.len()
    }

    /// Decodes one instruction.
    pub fn op(&mut self) -> Result<Op, DecodeError> {
        let tag = self.u8()?;
        if tag == TAG_SYS {
            let index = self.u16()?;
            let word = Sys::ALL.get(usize::from(index)).copied();
            return word
                .map(Op::Sys)
                .ok_or_else(|| DecodeError(format!("unknown system word {index}")));
        }
        if tag >= TAG_WITH_OPERANDS {
            let (has_n, has_t) = operand_shape(tag - TAG_WITH_OPERANDS);
            let n = if has_n { self.i64()? } else { 0 };
            let t = if has_t { self.u32()? } else { 0 };
            return from_operand_tag(tag - TAG_WITH_OPERANDS, n, t)
                .ok_or_else(|| DecodeError(format!("unknown instruction tag {tag}")));
        }
        PLAIN
            .get(tag as usize)
            .copied()
            .ok_or_else(|| DecodeError(format!("unknown instruction tag {tag}")))
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
    fn fused_instructions_round_trip() {
        let ops = vec![
            Op::OverFetch,
            Op::RFromAdd,
            Op::AddToR,
            Op::IFetch,
            Op::IStore,
            Op::ITwoFetch,
            Op::ITwoStore,
            Op::ICFetch,
            Op::DupLitLtExit(2),
            Op::DupLitAdd(-1),
            Op::SwapLitAdd(-2),
            Op::LitOverCStore(7),
            Op::OverLitAdd(8),
            Op::UnderLitAdd(8),
            Op::DupLitLtAgain(5, 3),
            Op::LitICStore(0),
            Op::DupPlusLoop(4),
            Op::ITwoFetchGtBranch(9),
            Op::ITwoFetchLtBranch(9),
            Op::LitAddLoop(2, 3),
            Op::ISwapCells,
            Op::FetchBothMul,
            Op::DropLit(1),
            Op::AddExit,
            Op::DropLitExit(1),
            Op::ICFetchZBranch(6),
            Op::LitICStoreDupPlusLoop(0, 7),
            Op::MulAccumulateToR,
        ];
        assert_eq!(decode(&encode(&ops)).unwrap(), ops);
    }
}

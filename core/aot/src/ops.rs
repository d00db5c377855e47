//! What each instruction does, as stack effects for the analysis and as Rust code for the
//! emitter. Code templates name their inputs `$0`, `$1`, ... (deepest first); return stack
//! cells are the locals `r0`, `r1`, ... and `rp` is the return stack depth at entry.

use fastforth_engine::ir::{Op, Sys};

pub use fastforth_engine::ir::Effect;

/// How the backend compiles an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// A fixed effect and the code: an expression giving the outputs (a tuple when more
    /// than one) or, without outputs, a statement (possibly empty).
    Fixed(Effect, String),
    /// Depends on the depth of the data stack, or calls what an execution token names:
    /// only on the explicit stack, with these statements.
    Stackful(String),
    /// Calls the colon definition with this execution token.
    Call(u32),
    /// Not supported by the backend, or not compiled one by one: the instructions that
    /// end a block (branches, returns, loop ends) are compiled from [`branch`] and the
    /// control flow graph.
    Unsupported,
}

const fn data(ins: usize, outs: usize) -> Effect {
    Effect {
        ins,
        outs,
        rreads: 0,
        rdelta: 0,
    }
}

/// A literal as Rust source.
pub fn lit(n: i64) -> String {
    if n == i64::MIN {
        "i64::MIN".to_owned()
    } else {
        format!("{n}i64")
    }
}

/// The instruction with this code and the effect the instruction table gives it.
fn fixed(op: Op, code: impl Into<String>) -> Class {
    match op.effect() {
        Some(effect) => Class::Fixed(effect, code.into()),
        None => Class::Unsupported,
    }
}

/// The class of `op` when the return stack holds `k` cells of this definition. Code that
/// reads more return stack cells than the definition pushed is refused by the analysis
/// before any of it is emitted, so the names made here always name pushed cells.
pub fn classify(op: Op, k: usize) -> Class {
    let r = |back: usize| format!("r{}", k.wrapping_sub(back));
    let room = |cells: usize| format!("rt::rroom(rp + {}, RS, W)", k + cells);
    let code = |code: &str| fixed(op, code);
    match op {
        Op::Call(xt) => Class::Call(xt),
        Op::Pick => Class::Stackful("vm.pick().or_throw_in(W);".to_owned()),
        Op::Roll => Class::Stackful("vm.roll().or_throw_in(W);".to_owned()),
        Op::Depth => Class::Stackful("vm.depth().or_throw_in(W);".to_owned()),
        Op::QDup => Class::Stackful("vm.question_dup().or_throw_in(W);".to_owned()),
        Op::Execute => Class::Stackful(format!(
            "let xt = vm.pop().or_throw_in(W); execute(vm, rp + {}, xt, W);",
            k + 1
        )),
        Op::ExecuteAt(address) => Class::Stackful(format!(
            "let xt = vm.fetch({}).or_throw_in(W); execute(vm, rp + {}, xt, W);",
            lit(address),
            k + 1
        )),
        Op::Sys(Sys::Catch) => Class::Stackful(format!(
            "let xt = vm.pop().or_throw_in(W); vm.catch(|vm| execute(vm, rp + {}, xt, W));",
            k + 1
        )),
        Op::Sys(word) => system(word),
        // The embedding program's words are not part of the program.
        Op::CallHost(_) => Class::Unsupported,
        // Stack
        Op::Dup => code("($0, $0)"),
        Op::Drop => code(""),
        Op::Swap => code("($1, $0)"),
        Op::Over => code("($0, $1, $0)"),
        Op::Rot => code("($1, $2, $0)"),
        Op::Nip => code("$1"),
        Op::Tuck => code("($1, $0, $1)"),
        Op::TwoDup => code("($0, $1, $0, $1)"),
        Op::TwoDrop => code(""),
        Op::TwoSwap => code("($2, $3, $0, $1)"),
        Op::TwoOver => code("($0, $1, $2, $3, $0, $1)"),
        // Arithmetic
        Op::Add => code("$0.wrapping_add($1)"),
        Op::Sub => code("$0.wrapping_sub($1)"),
        Op::Mul => code("$0.wrapping_mul($1)"),
        Op::Div => code("rt::div($0, $1).or_throw_in(W)"),
        Op::Mod => code("rt::rem($0, $1).or_throw_in(W)"),
        Op::DivMod => code("rt::div_mod($0, $1).or_throw_in(W)"),
        Op::StarSlash => code("rt::star_slash($0, $1, $2).or_throw_in(W)"),
        Op::StarSlashMod => code("rt::star_slash_mod($0, $1, $2).or_throw_in(W)"),
        Op::Negate => code("$0.wrapping_neg()"),
        Op::Abs => code("$0.wrapping_abs()"),
        Op::Min => code("$0.min($1)"),
        Op::Max => code("$0.max($1)"),
        Op::OnePlus => code("$0.wrapping_add(1)"),
        Op::OneMinus => code("$0.wrapping_sub(1)"),
        Op::TwoStar => code("$0.wrapping_shl(1)"),
        Op::TwoSlash => code("($0 >> 1)"),
        Op::LShift => code("rt::lshift($0, $1)"),
        Op::RShift => code("rt::rshift($0, $1)"),
        Op::And => code("($0 & $1)"),
        Op::Or => code("($0 | $1)"),
        Op::Xor => code("($0 ^ $1)"),
        Op::Invert => code("!$0"),
        Op::Eq => code("rt::flag($0 == $1)"),
        Op::Ne => code("rt::flag($0 != $1)"),
        Op::Lt => code("rt::flag($0 < $1)"),
        Op::Gt => code("rt::flag($0 > $1)"),
        Op::ULt => code("rt::flag(($0 as u64) < ($1 as u64))"),
        Op::UGt => code("rt::flag(($0 as u64) > ($1 as u64))"),
        Op::ZeroEq => code("rt::flag($0 == 0)"),
        Op::ZeroNe => code("rt::flag($0 != 0)"),
        Op::ZeroLt => code("rt::flag($0 < 0)"),
        Op::ZeroGt => code("rt::flag($0 > 0)"),
        Op::Within => code("rt::within($0, $1, $2)"),
        Op::SToD => code("($0, rt::flag($0 < 0))"),
        Op::MStar => code("rt::m_star($0, $1)"),
        Op::UMStar => code("rt::um_star($0, $1)"),
        Op::UMSlashMod => code("rt::um_slash_mod($0, $1, $2).or_throw_in(W)"),
        Op::FMSlashMod => code("rt::fm_slash_mod($0, $1, $2).or_throw_in(W)"),
        Op::SMSlashRem => code("rt::sm_slash_rem($0, $1, $2).or_throw_in(W)"),
        Op::CellPlus => code("$0.wrapping_add(8)"),
        Op::Cells => code("$0.wrapping_mul(8)"),
        Op::Aligned => code("($0.wrapping_add(7) & !7)"),
        // Memory
        Op::Fetch => code("vm.fetch($0).or_throw_in(W)"),
        Op::Store => code("vm.store($1, $0).or_throw_in(W)"),
        Op::CFetch => code("vm.cfetch($0).or_throw_in(W)"),
        Op::CStore => code("vm.cstore($1, $0).or_throw_in(W)"),
        Op::PlusStore => code("vm.plus_store($1, $0).or_throw_in(W)"),
        Op::TwoFetch => code("vm.fetch2($0).or_throw_in(W)"),
        Op::TwoStore => code("vm.store2($2, $0, $1).or_throw_in(W)"),
        Op::Count => code("vm.count($0).or_throw_in(W)"),
        Op::Fill => code("vm.fill($0, $1, $2).or_throw_in(W)"),
        Op::Move => code("vm.move_bytes($0, $1, $2).or_throw_in(W)"),
        Op::OverAdd => code("($0, $1.wrapping_add($0))"),
        Op::OverFetch => code("($0, $1, vm.fetch($0).or_throw_in(W))"),
        Op::FetchBothMul => {
            code("($0, $1, vm.fetch($0).or_throw_in(W).wrapping_mul(vm.fetch($1).or_throw_in(W)))")
        }
        // With a literal operand
        Op::Lit(n) => fixed(op, lit(n)),
        Op::LitAdd(n) => fixed(op, format!("$0.wrapping_add({})", lit(n))),
        Op::LitMul(n) => fixed(op, format!("$0.wrapping_mul({})", lit(n))),
        Op::LitAnd(n) => fixed(op, format!("($0 & {})", lit(n))),
        Op::LitEq(n) => fixed(op, format!("rt::flag($0 == {})", lit(n))),
        Op::LitLt(n) => fixed(op, format!("rt::flag($0 < {})", lit(n))),
        Op::LitGt(n) => fixed(op, format!("rt::flag($0 > {})", lit(n))),
        Op::LitFetch(a) => fixed(op, format!("vm.fetch({}).or_throw_in(W)", lit(a))),
        Op::LitStore(a) => fixed(op, format!("vm.store({}, $0).or_throw_in(W)", lit(a))),
        Op::LitPlusStore(a) => fixed(op, format!("vm.plus_store({}, $0).or_throw_in(W)", lit(a))),
        Op::OverLitAdd(n) => fixed(op, format!("($0, $1, $0.wrapping_add({}))", lit(n))),
        Op::UnderLitAdd(n) => fixed(op, format!("($0.wrapping_add({}), $1)", lit(n))),
        Op::DupLitAdd(n) => fixed(op, format!("($0, $0.wrapping_add({}))", lit(n))),
        Op::SwapLitAdd(n) => fixed(op, format!("($1, $0.wrapping_add({}))", lit(n))),
        Op::LitOverCStore(n) => fixed(
            op,
            format!("{{ vm.cstore($0, {}).or_throw_in(W); $0 }}", lit(n)),
        ),
        Op::DropLit(n) => fixed(op, lit(n)),
        // The return stack
        Op::I | Op::RFrom | Op::RFetch => fixed(op, r(1)),
        Op::J => fixed(op, r(3)),
        Op::ToR => fixed(op, format!("{}; r{k} = $0", room(1))),
        Op::TwoToR | Op::Do => fixed(op, format!("{}; (r{k}, r{}) = ($0, $1)", room(2), k + 1)),
        Op::TwoRFrom | Op::TwoRFetch => fixed(op, format!("({}, {})", r(2), r(1))),
        Op::Unloop => fixed(op, ""),
        Op::IAdd | Op::RFromAdd => fixed(op, format!("$0.wrapping_add({})", r(1))),
        Op::IFetch => fixed(op, format!("vm.fetch({}).or_throw_in(W)", r(1))),
        Op::IStore => fixed(op, format!("vm.store({}, $0).or_throw_in(W)", r(1))),
        Op::ITwoFetch => fixed(op, format!("vm.fetch2({}).or_throw_in(W)", r(1))),
        Op::ITwoStore => fixed(op, format!("vm.store2({}, $0, $1).or_throw_in(W)", r(1))),
        Op::ICFetch => fixed(op, format!("vm.cfetch({}).or_throw_in(W)", r(1))),
        Op::LitICStore(n) => fixed(
            op,
            format!("vm.cstore({}, {}).or_throw_in(W)", r(1), lit(n)),
        ),
        Op::ISwapCells => fixed(
            op,
            format!(
                "{{ let (x1, x2) = vm.fetch2({0}).or_throw_in(W); vm.store2({0}, x2, x1).or_throw_in(W) }}",
                r(1)
            ),
        ),
        Op::MulAccumulateToR => fixed(
            op,
            format!(
                "{{ {}; r{k} = $2; r{k} = r{k}.wrapping_add(vm.fetch($0).or_throw_in(W).wrapping_mul(vm.fetch($1).or_throw_in(W))); ($0, $1) }}",
                room(1)
            ),
        ),
        Op::AddToR => fixed(op, format!("{} = {}.wrapping_add($0)", r(1), r(1))),
        // The end of a block: a branch, a return or a loop's end.
        Op::Halt
        | Op::CatchOk
        | Op::Exit
        | Op::Branch(_)
        | Op::ZBranch(_)
        | Op::QDo(_)
        | Op::Loop(_)
        | Op::PlusLoop(_)
        | Op::LitPlusLoop(..)
        | Op::Does(_)
        | Op::Of(_)
        | Op::DupLitLtAgain(..)
        | Op::EqBranch(_)
        | Op::NeBranch(_)
        | Op::LtBranch(_)
        | Op::GtBranch(_)
        | Op::NzBranch(_)
        | Op::LitLtBranch(..)
        | Op::DupLitLtBranch(..)
        | Op::LitEqBranch(..)
        | Op::DupLitLtExit(_)
        | Op::DupPlusLoop(_)
        | Op::ITwoFetchGtBranch(_)
        | Op::ITwoFetchLtBranch(_)
        | Op::AddExit
        | Op::DropLitExit(_)
        | Op::ICFetchZBranch(_)
        | Op::LitICStoreDupPlusLoop(..)
        | Op::LitAddLoop(..) => Class::Unsupported,
    }
}

/// Host words the runtime implements.
fn system(word: Sys) -> Class {
    let (effect, code) = match word {
        Sys::Emit => (data(1, 0), "vm.emit($0)"),
        Sys::Type => (data(2, 0), "vm.type_text($0, $1).or_throw_in(W)"),
        Sys::Cr => (data(0, 0), "vm.write(b\"\\n\")"),
        Sys::Space => (data(0, 0), "vm.write(b\" \")"),
        Sys::Spaces => (data(1, 0), "vm.spaces($0)"),
        Sys::Dot => (data(1, 0), "vm.dot($0, true).or_throw_in(W)"),
        Sys::UDot => (data(1, 0), "vm.dot($0, false).or_throw_in(W)"),
        Sys::DotR => (data(2, 0), "vm.dot_r($0, $1, true).or_throw_in(W)"),
        Sys::UDotR => (data(2, 0), "vm.dot_r($0, $1, false).or_throw_in(W)"),
        Sys::AbortIf => (data(3, 0), "vm.abort_quote($0, $1, $2).or_throw_in(W)"),
        Sys::Throw => (data(1, 0), "rt::throw($0).or_throw_in(W)"),
        Sys::LessNumber => (data(0, 0), "vm.begin_pictured()"),
        Sys::NumberSign => (data(2, 2), "vm.pictured_digit($0, $1).or_throw_in(W)"),
        Sys::NumberSignS => (data(2, 2), "vm.pictured_digits($0, $1).or_throw_in(W)"),
        Sys::NumberGreater => (data(2, 2), "vm.end_pictured().or_throw_in(W)"),
        Sys::Hold => (data(1, 0), "vm.hold_char($0).or_throw_in(W)"),
        Sys::Holds => (data(2, 0), "vm.holds($0, $1).or_throw_in(W)"),
        Sys::Sign => (data(1, 0), "vm.sign($0).or_throw_in(W)"),
        Sys::Abort => (data(0, 0), "rt::abort().or_throw_in(W)"),
        Sys::Decimal => (data(0, 0), "vm.set_base(10).or_throw_in(W)"),
        Sys::Hex => (data(0, 0), "vm.set_base(16).or_throw_in(W)"),
        _ => return Class::Unsupported,
    };
    Class::Fixed(effect, code.to_owned())
}

/// A statement running every iteration of a loop whose only instruction is `op` (a block
/// branching back to itself), with `k` cells of this definition on the return stack, when
/// the runtime runs such loops whole; the loop's fall-through edge follows it.
pub fn whole_loop(op: Op, k: usize) -> Option<String> {
    let r = |back: usize| format!("r{}", k.wrapping_sub(back));
    match op {
        Op::LitICStoreDupPlusLoop(n, _) => Some(format!(
            "vm.cstore_plus_loop({}, {}, $0, {}).or_throw_in(W);",
            r(2),
            r(1),
            lit(n)
        )),
        _ => None,
    }
}

/// The effect and code of a block-ending branch instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchCode {
    /// Data cells read (`$0`...), and how many of them each edge pops.
    pub ins: usize,
    pub taken_pops: usize,
    pub fall_pops: usize,
    /// Return stack cells read, and each edge's change of its depth.
    pub rreads: usize,
    pub taken_rdelta: isize,
    pub fall_rdelta: isize,
    /// Runs before the test.
    pub before: String,
    /// The condition under which the taken edge is followed.
    pub condition: String,
    /// Runs first on the fall-through edge.
    pub fall_prefix: String,
}

/// The branch instructions, with `k` cells of this definition on the return stack; with
/// `qdup`, a `?DUP` just before the branch is part of it.
pub fn branch(op: Op, qdup: bool, k: usize) -> Option<BranchCode> {
    let r = |back: usize| format!("r{}", k.wrapping_sub(back));
    let test = |ins: usize, pops: usize, condition: String| BranchCode {
        ins,
        taken_pops: pops,
        fall_pops: pops,
        rreads: 0,
        taken_rdelta: 0,
        fall_rdelta: 0,
        before: String::new(),
        condition,
        fall_prefix: String::new(),
    };
    let code = match op {
        Op::ZBranch(_) if qdup => BranchCode {
            fall_pops: 0,
            ..test(1, 1, "$0 == 0".to_owned())
        },
        Op::NzBranch(_) if qdup => BranchCode {
            taken_pops: 0,
            ..test(1, 1, "$0 != 0".to_owned())
        },
        _ if qdup => return None,
        Op::ZBranch(_) => test(1, 1, "$0 == 0".to_owned()),
        Op::NzBranch(_) => test(1, 1, "$0 != 0".to_owned()),
        Op::EqBranch(_) => test(2, 2, "$0 != $1".to_owned()),
        Op::NeBranch(_) => test(2, 2, "$0 == $1".to_owned()),
        Op::LtBranch(_) => test(2, 2, "$0 >= $1".to_owned()),
        Op::GtBranch(_) => test(2, 2, "$0 <= $1".to_owned()),
        Op::LitLtBranch(n, _) => test(1, 1, format!("$0 >= {}", lit(n))),
        Op::LitEqBranch(n, _) => test(1, 1, format!("$0 != {}", lit(n))),
        Op::DupLitLtBranch(n, _) => test(1, 0, format!("$0 >= {}", lit(n))),
        Op::DupLitLtAgain(n, _) | Op::DupLitLtExit(n) => test(1, 0, format!("$0 < {}", lit(n))),
        Op::Of(_) => BranchCode {
            taken_pops: 1,
            ..test(2, 2, "$0 != $1".to_owned())
        },
        Op::QDo(_) => BranchCode {
            fall_rdelta: 2,
            fall_prefix: format!(
                "rt::rroom(rp + {}, RS, W); (r{k}, r{}) = ($0, $1);",
                k + 2,
                k + 1
            ),
            ..test(2, 2, "$0 == $1".to_owned())
        },
        Op::Loop(_) => BranchCode {
            rreads: 2,
            fall_rdelta: -2,
            before: format!("{} = {}.wrapping_add(1);", r(1), r(1)),
            ..test(0, 0, format!("{} != {}", r(1), r(2)))
        },
        Op::PlusLoop(_) => BranchCode {
            rreads: 2,
            fall_rdelta: -2,
            ..test(1, 1, format!("rt::plus_loop({}, &mut {}, $0)", r(2), r(1)))
        },
        Op::DupPlusLoop(_) => BranchCode {
            rreads: 2,
            fall_rdelta: -2,
            ..test(1, 0, format!("rt::plus_loop({}, &mut {}, $0)", r(2), r(1)))
        },
        Op::ITwoFetchGtBranch(_) => BranchCode {
            rreads: 1,
            before: format!("let (x1, x2) = vm.fetch2({}).or_throw_in(W);", r(1)),
            ..test(0, 0, "x1 <= x2".to_owned())
        },
        Op::ITwoFetchLtBranch(_) => BranchCode {
            rreads: 1,
            before: format!("let (x1, x2) = vm.fetch2({}).or_throw_in(W);", r(1)),
            ..test(0, 0, "x1 >= x2".to_owned())
        },
        Op::LitICStoreDupPlusLoop(n, _) => BranchCode {
            rreads: 2,
            fall_rdelta: -2,
            before: format!("vm.cstore({}, {}).or_throw_in(W);", r(1), lit(n)),
            ..test(1, 0, format!("rt::plus_loop({}, &mut {}, $0)", r(2), r(1)))
        },
        Op::ICFetchZBranch(_) => BranchCode {
            rreads: 1,
            before: format!("let byte = vm.cfetch({}).or_throw_in(W);", r(1)),
            ..test(0, 0, "byte == 0".to_owned())
        },
        Op::LitPlusLoop(n, _) => BranchCode {
            rreads: 2,
            fall_rdelta: -2,
            ..test(
                0,
                0,
                format!("rt::plus_loop({}, &mut {}, {})", r(2), r(1), lit(n)),
            )
        },
        _ => return None,
    };
    Some(code)
}

//! What each instruction does, as stack effects for the analysis and as Rust code for the
//! emitter. Code templates name their inputs `$0`, `$1`, ... (deepest first); return stack
//! cells are the locals `r0`, `r1`, ... and `rp` is the return stack depth at entry.

use fastforth_engine::ir::{Op, Sys};

/// The fixed effect of an instruction on both stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effect {
    /// Data stack cells popped (all of them read) and pushed.
    pub ins: usize,
    pub outs: usize,
    /// Return stack cells read, and the change of its depth.
    pub rreads: usize,
    pub rdelta: isize,
}

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
    /// Not supported by the backend.
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

const fn rs(ins: usize, outs: usize, rreads: usize, rdelta: isize) -> Effect {
    Effect {
        ins,
        outs,
        rreads,
        rdelta,
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

/// The class of `op` when the return stack holds `k` cells of this definition.
pub fn classify(op: Op, k: usize) -> Class {
    if let Some((effect, code)) = stack_op(op)
        .or_else(|| arithmetic(op))
        .or_else(|| memory(op))
        .or_else(|| literal_op(op))
        .or_else(|| return_stack(op, k))
        .or_else(|| system(op))
    {
        return Class::Fixed(effect, code.to_owned());
    }
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
        Op::Sys(Sys::Catch) => Class::Stackful(format!(
            "let xt = vm.pop().or_throw_in(W); check_xt(xt, W); vm.catch(|vm| execute(vm, rp + {}, xt, W));",
            k + 1
        )),
        Op::ExecuteAt(address) => Class::Stackful(format!(
            "let xt = vm.fetch({}).or_throw_in(W); execute(vm, rp + {}, xt, W);",
            lit(address),
            k + 1
        )),
        _ => Class::Unsupported,
    }
}

fn stack_op(op: Op) -> Option<(Effect, String)> {
    let (effect, code) = match op {
        Op::Dup => (data(1, 2), "($0, $0)"),
        Op::Drop => (data(1, 0), ""),
        Op::Swap => (data(2, 2), "($1, $0)"),
        Op::Over => (data(2, 3), "($0, $1, $0)"),
        Op::Rot => (data(3, 3), "($1, $2, $0)"),
        Op::Nip => (data(2, 1), "$1"),
        Op::Tuck => (data(2, 3), "($1, $0, $1)"),
        Op::TwoDup => (data(2, 4), "($0, $1, $0, $1)"),
        Op::TwoDrop => (data(2, 0), ""),
        Op::TwoSwap => (data(4, 4), "($2, $3, $0, $1)"),
        Op::TwoOver => (data(4, 6), "($0, $1, $2, $3, $0, $1)"),
        _ => return None,
    };
    Some((effect, code.to_owned()))
}

fn arithmetic(op: Op) -> Option<(Effect, String)> {
    let binary = |code: &str| Some((data(2, 1), code.to_owned()));
    let unary = |code: &str| Some((data(1, 1), code.to_owned()));
    match op {
        Op::Add => binary("$0.wrapping_add($1)"),
        Op::Sub => binary("$0.wrapping_sub($1)"),
        Op::Mul => binary("$0.wrapping_mul($1)"),
        Op::Div => binary("rt::div($0, $1).or_throw_in(W)"),
        Op::Mod => binary("rt::rem($0, $1).or_throw_in(W)"),
        Op::DivMod => Some((data(2, 2), "rt::div_mod($0, $1).or_throw_in(W)".to_owned())),
        Op::StarSlash => Some((
            data(3, 1),
            "rt::star_slash($0, $1, $2).or_throw_in(W)".to_owned(),
        )),
        Op::StarSlashMod => Some((
            data(3, 2),
            "rt::star_slash_mod($0, $1, $2).or_throw_in(W)".to_owned(),
        )),
        Op::Negate => unary("$0.wrapping_neg()"),
        Op::Abs => unary("$0.wrapping_abs()"),
        Op::Min => binary("$0.min($1)"),
        Op::Max => binary("$0.max($1)"),
        Op::OnePlus => unary("$0.wrapping_add(1)"),
        Op::OneMinus => unary("$0.wrapping_sub(1)"),
        Op::TwoStar => unary("$0.wrapping_shl(1)"),
        Op::TwoSlash => unary("($0 >> 1)"),
        Op::LShift => binary("rt::lshift($0, $1)"),
        Op::RShift => binary("rt::rshift($0, $1)"),
        Op::And => binary("($0 & $1)"),
        Op::Or => binary("($0 | $1)"),
        Op::Xor => binary("($0 ^ $1)"),
        Op::Invert => unary("!$0"),
        Op::Eq => binary("rt::flag($0 == $1)"),
        Op::Ne => binary("rt::flag($0 != $1)"),
        Op::Lt => binary("rt::flag($0 < $1)"),
        Op::Gt => binary("rt::flag($0 > $1)"),
        Op::ULt => binary("rt::flag(($0 as u64) < ($1 as u64))"),
        Op::UGt => binary("rt::flag(($0 as u64) > ($1 as u64))"),
        Op::ZeroEq => unary("rt::flag($0 == 0)"),
        Op::ZeroNe => unary("rt::flag($0 != 0)"),
        Op::ZeroLt => unary("rt::flag($0 < 0)"),
        Op::ZeroGt => unary("rt::flag($0 > 0)"),
        Op::Within => Some((data(3, 1), "rt::within($0, $1, $2)".to_owned())),
        Op::SToD => Some((data(1, 2), "($0, rt::flag($0 < 0))".to_owned())),
        Op::MStar => Some((data(2, 2), "rt::m_star($0, $1)".to_owned())),
        Op::UMStar => Some((data(2, 2), "rt::um_star($0, $1)".to_owned())),
        Op::UMSlashMod => Some((
            data(3, 2),
            "rt::um_slash_mod($0, $1, $2).or_throw_in(W)".to_owned(),
        )),
        Op::FMSlashMod => Some((
            data(3, 2),
            "rt::fm_slash_mod($0, $1, $2).or_throw_in(W)".to_owned(),
        )),
        Op::SMSlashRem => Some((
            data(3, 2),
            "rt::sm_slash_rem($0, $1, $2).or_throw_in(W)".to_owned(),
        )),
        Op::CellPlus => unary("$0.wrapping_add(8)"),
        Op::Cells => unary("$0.wrapping_mul(8)"),
        Op::Aligned => unary("($0.wrapping_add(7) & !7)"),
        _ => None,
    }
}

fn memory(op: Op) -> Option<(Effect, String)> {
    let (effect, code) = match op {
        Op::Fetch => (data(1, 1), "vm.fetch($0).or_throw_in(W)"),
        Op::Store => (data(2, 0), "vm.store($1, $0).or_throw_in(W)"),
        Op::CFetch => (data(1, 1), "vm.cfetch($0).or_throw_in(W)"),
        Op::CStore => (data(2, 0), "vm.cstore($1, $0).or_throw_in(W)"),
        Op::PlusStore => (data(2, 0), "vm.plus_store($1, $0).or_throw_in(W)"),
        Op::TwoFetch => (data(1, 2), "vm.fetch2($0).or_throw_in(W)"),
        Op::TwoStore => (data(3, 0), "vm.store2($2, $0, $1).or_throw_in(W)"),
        Op::Count => (data(1, 2), "vm.count($0).or_throw_in(W)"),
        Op::Fill => (data(3, 0), "vm.fill($0, $1, $2).or_throw_in(W)"),
        Op::Move => (data(3, 0), "vm.move_bytes($0, $1, $2).or_throw_in(W)"),
        Op::OverAdd => (data(2, 2), "($0, $1.wrapping_add($0))"),
        Op::OverFetch => (data(2, 3), "($0, $1, vm.fetch($0).or_throw_in(W))"),
        Op::FetchBothMul => (
            data(2, 3),
            "($0, $1, vm.fetch($0).or_throw_in(W).wrapping_mul(vm.fetch($1).or_throw_in(W)))",
        ),
        _ => return None,
    };
    Some((effect, code.to_owned()))
}

/// Instructions with a literal operand.
fn literal_op(op: Op) -> Option<(Effect, String)> {
    let (effect, code) = match op {
        Op::Lit(n) => (data(0, 1), lit(n)),
        Op::LitAdd(n) => (data(1, 1), format!("$0.wrapping_add({})", lit(n))),
        Op::LitMul(n) => (data(1, 1), format!("$0.wrapping_mul({})", lit(n))),
        Op::LitAnd(n) => (data(1, 1), format!("($0 & {})", lit(n))),
        Op::LitEq(n) => (data(1, 1), format!("rt::flag($0 == {})", lit(n))),
        Op::LitLt(n) => (data(1, 1), format!("rt::flag($0 < {})", lit(n))),
        Op::LitGt(n) => (data(1, 1), format!("rt::flag($0 > {})", lit(n))),
        Op::LitFetch(a) => (data(0, 1), format!("vm.fetch({}).or_throw_in(W)", lit(a))),
        Op::LitStore(a) => (
            data(1, 0),
            format!("vm.store({}, $0).or_throw_in(W)", lit(a)),
        ),
        Op::LitPlusStore(a) => (
            data(1, 0),
            format!("vm.plus_store({}, $0).or_throw_in(W)", lit(a)),
        ),
        Op::OverLitAdd(n) => (data(2, 3), format!("($0, $1, $0.wrapping_add({}))", lit(n))),
        Op::UnderLitAdd(n) => (data(2, 2), format!("($0.wrapping_add({}), $1)", lit(n))),
        Op::DupLitAdd(n) => (data(1, 2), format!("($0, $0.wrapping_add({}))", lit(n))),
        Op::SwapLitAdd(n) => (data(2, 2), format!("($1, $0.wrapping_add({}))", lit(n))),
        Op::LitOverCStore(n) => (
            data(1, 1),
            format!("{{ vm.cstore($0, {}).or_throw_in(W); $0 }}", lit(n)),
        ),
        Op::DropLit(n) => (data(1, 1), lit(n)),
        _ => return None,
    };
    Some((effect, code))
}

/// Return stack instructions with `k` cells of this definition on the return stack. Code
/// that reads more cells than the definition pushed is refused by the analysis before any
/// of it is emitted, so the names made here always name pushed cells.
fn return_stack(op: Op, k: usize) -> Option<(Effect, String)> {
    let r = |back: usize| format!("r{}", k.wrapping_sub(back));
    let room = |cells: usize| format!("rt::rroom(rp + {}, RS, W)", k + cells);
    let (effect, code) = match op {
        Op::I => (rs(0, 1, 1, 0), r(1)),
        Op::J => (rs(0, 1, 3, 0), r(3)),
        Op::ToR => (rs(1, 0, 0, 1), format!("{}; r{k} = $0", room(1))),
        Op::RFrom => (rs(0, 1, 1, -1), r(1)),
        Op::RFetch => (rs(0, 1, 1, 0), r(1)),
        Op::TwoToR => (
            rs(2, 0, 0, 2),
            format!("{}; (r{k}, r{}) = ($0, $1)", room(2), k + 1),
        ),
        Op::TwoRFrom => (rs(0, 2, 2, -2), format!("({}, {})", r(2), r(1))),
        Op::TwoRFetch => (rs(0, 2, 2, 0), format!("({}, {})", r(2), r(1))),
        Op::Do => (
            rs(2, 0, 0, 2),
            format!("{}; (r{k}, r{}) = ($0, $1)", room(2), k + 1),
        ),
        Op::Unloop => (rs(0, 0, 2, -2), String::new()),
        Op::IAdd => (rs(1, 1, 1, 0), format!("$0.wrapping_add({})", r(1))),
        Op::IFetch => (rs(0, 1, 1, 0), format!("vm.fetch({}).or_throw_in(W)", r(1))),
        Op::IStore => (
            rs(1, 0, 1, 0),
            format!("vm.store({}, $0).or_throw_in(W)", r(1)),
        ),
        Op::ITwoFetch => (
            rs(0, 2, 1, 0),
            format!("vm.fetch2({}).or_throw_in(W)", r(1)),
        ),
        Op::ITwoStore => (
            rs(2, 0, 1, 0),
            format!("vm.store2({}, $0, $1).or_throw_in(W)", r(1)),
        ),
        Op::ICFetch => (
            rs(0, 1, 1, 0),
            format!("vm.cfetch({}).or_throw_in(W)", r(1)),
        ),
        Op::LitICStore(n) => (
            rs(0, 0, 1, 0),
            format!("vm.cstore({}, {}).or_throw_in(W)", r(1), lit(n)),
        ),
        Op::ISwapCells => (
            rs(0, 0, 1, 0),
            format!(
                "{{ let (x1, x2) = vm.fetch2({0}).or_throw_in(W); vm.store2({0}, x2, x1).or_throw_in(W) }}",
                r(1)
            ),
        ),
        Op::MulAccumulateToR => (
            rs(3, 2, 0, 1),
            format!(
                "{{ {}; r{k} = $2; r{k} = r{k}.wrapping_add(vm.fetch($0).or_throw_in(W).wrapping_mul(vm.fetch($1).or_throw_in(W))); ($0, $1) }}",
                room(1)
            ),
        ),
        Op::RFromAdd => (rs(1, 1, 1, -1), format!("$0.wrapping_add({})", r(1))),
        Op::AddToR => (
            rs(1, 0, 1, 0),
            format!("{} = {}.wrapping_add($0)", r(1), r(1)),
        ),
        _ => return None,
    };
    Some((effect, code))
}

/// Host words the runtime implements.
fn system(op: Op) -> Option<(Effect, String)> {
    let Op::Sys(word) = op else { return None };
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
        _ => return None,
    };
    Some((effect, code.to_owned()))
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

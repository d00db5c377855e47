//! The optimizer: IR → IR passes over one definition. It inlines short straight-line
//! colon definitions, folds constant expressions, and fuses common sequences into
//! superinstructions (literal + operation, compare + branch, `OVER +`, `I +`, ...).
//! Sequences are only rewritten when no branch lands inside them.

use crate::ir::Op;

/// Longest colon definition (in instructions, without its `Exit`) that is inlined.
pub const INLINE_LIMIT: usize = 8;

/// The most instructions any rewrite rule looks at.
const WINDOW: usize = 4;

/// How many times the folding and fusing passes run at most.
const MAX_ROUNDS: usize = 4;

/// Optimizes a definition. `inline_body` gives the body of a callee that may be inlined.
pub fn optimize(ir: Vec<Op>, inline_body: &dyn Fn(u32) -> Option<Vec<Op>>) -> Vec<Op> {
    let mut ir = rewrite(ir, &|_, window: &[Op]| match window[0] {
        Op::Call(xt) => inline_body(xt).map(|body| (1, body)),
        _ => None,
    });
    for _ in 0..MAX_ROUNDS {
        let before = ir.len();
        let changed_ir = rewrite(ir.clone(), &|_, window: &[Op]| fuse(window));
        let unchanged = changed_ir == ir;
        ir = changed_ir;
        if unchanged && ir.len() == before {
            break;
        }
    }
    rotate_loops(&mut ir);
    return_early(&mut ir);
    rewrite(ir, &fuse_exits)
}

/// A `Branch` to an `Exit` (the end of `IF ... ELSE ... THEN ;`) becomes that `Exit`.
fn return_early(ir: &mut [Op]) {
    for at in 0..ir.len() {
        if let Op::Branch(target) = ir[at]
            && ir.get(target as usize) == Some(&Op::Exit)
        {
            ir[at] = Op::Exit;
        }
    }
}

/// Fuses a conditional branch over an `Exit` (`... IF EXIT THEN`) into a conditional exit,
/// and the last operation of a definition (`+ ;`, `DROP n ;`) into its `Exit`.
fn fuse_exits(at: usize, window: &[Op]) -> Replacement {
    match window {
        [Op::DupLitLtBranch(n, past), Op::Exit, ..] if *past as usize == at + 2 => {
            Some((2, vec![Op::DupLitLtExit(*n)]))
        }
        [Op::Add, Op::Exit, ..] => Some((2, vec![Op::AddExit])),
        [Op::DropLit(n), Op::Exit, ..] => Some((2, vec![Op::DropLitExit(*n)])),
        _ => None,
    }
}

/// Rotates `BEGIN test WHILE body REPEAT` loops: the `Branch` back to the test becomes a
/// copy of the test that jumps back into the body, saving one jump per iteration.
fn rotate_loops(ir: &mut [Op]) {
    for at in 0..ir.len() {
        let Op::Branch(test) = ir[at] else { continue };
        let after = at as u32 + 1;
        let rotated = match ir.get(test as usize) {
            Some(&Op::ZBranch(exit)) if exit == after => Op::NzBranch(test + 1),
            Some(&Op::NzBranch(exit)) if exit == after => Op::ZBranch(test + 1),
            Some(&Op::DupLitLtBranch(n, exit)) if exit == after => Op::DupLitLtAgain(n, test + 1),
            _ => continue,
        };
        ir[at] = rotated;
    }
}

/// A rewrite rule's answer: how many instructions it replaces, and with what.
pub type Replacement = Option<(usize, Vec<Op>)>;

/// A rewrite rule: looks at up to [`WINDOW`] instructions from one position (its first
/// argument) on, none of them but the first a branch target.
pub type Rule<'a> = dyn Fn(usize, &[Op]) -> Replacement + 'a;

/// Rewrites windows of instructions that no branch lands inside, then fixes the targets.
/// `rule` returns how many instructions it replaces and with what. Linear in the length of
/// `ir`.
pub fn rewrite(ir: Vec<Op>, rule: &Rule<'_>) -> Vec<Op> {
    let mut is_target = vec![false; ir.len() + 1];
    for op in &ir {
        if let Some(flag) = op.target().and_then(|t| is_target.get_mut(t as usize)) {
            *flag = true;
        }
    }
    let mut new_index = vec![0u32; ir.len() + 1];
    let mut out = Vec::with_capacity(ir.len());
    let mut at = 0;
    while at < ir.len() {
        new_index[at] = out.len() as u32;
        let window_end = (at + WINDOW).min(ir.len());
        let free_run = 1 + is_target[at + 1..window_end]
            .iter()
            .take_while(|&&t| !t)
            .count();
        match rule(at, &ir[at..at + free_run]) {
            Some((used, replacement)) if used >= 1 && used <= free_run => {
                out.extend(replacement);
                at += used;
            }
            _ => {
                out.push(ir[at]);
                at += 1;
            }
        }
    }
    new_index[ir.len()] = out.len() as u32;
    out.into_iter()
        .map(|op| match op.target() {
            Some(target) => {
                op.with_target(new_index.get(target as usize).copied().unwrap_or(target))
            }
            None => op,
        })
        .collect()
}

/// The folding and fusing rules, longest pattern first.
fn fuse(window: &[Op]) -> Option<(usize, Vec<Op>)> {
    use Op::*;
    let replace = |used: usize, op: Op| Some((used, vec![op]));
    match window {
        [Dup, Lit(n), Lt, ZBranch(t), ..] => replace(4, DupLitLtBranch(*n, *t)),
        [Swap, LitAdd(n), Swap, ..] => replace(3, UnderLitAdd(*n)),
        [RFrom, Add, ToR, ..] => replace(3, AddToR),
        [Lit(n), Lt, ZBranch(t), ..] => replace(3, LitLtBranch(*n, *t)),
        [Lit(n), Eq, ZBranch(t), ..] => replace(3, LitEqBranch(*n, *t)),
        [Lit(n), Over, CStore, ..] => replace(3, LitOverCStore(*n)),
        [Lit(n), I, CStore, ..] => replace(3, LitICStore(*n)),
        [ITwoFetch, Swap, ITwoStore, ..] => replace(3, ISwapCells),
        [OverFetch, OverFetch, Mul, ..] => replace(3, FetchBothMul),
        [ToR, FetchBothMul, AddToR, ..] => replace(3, MulAccumulateToR),
        [Lit(0), Add | Sub | Or | Xor, ..] => Some((2, Vec::new())),
        [Lit(0), IAdd, ..] => replace(2, I),
        [Lit(a), Lit(b), op, ..] => {
            fold_binary(*a, *b, *op).and_then(|value| replace(3, Lit(value)))
        }
        [Lit(a), op, ..] => fold_unary(*a, *op)
            .map(|value| (2, vec![Lit(value)]))
            .or_else(|| fuse_literal(*a, *op)),
        [LitAdd(a), LitAdd(b), ..] => replace(2, LitAdd(a.wrapping_add(*b))),
        [LitAdd(0), ..] => Some((1, Vec::new())),
        [Dup, LitAdd(n), ..] => replace(2, DupLitAdd(*n)),
        [Swap, LitAdd(n), ..] => replace(2, SwapLitAdd(*n)),
        [I, CFetch, ..] => replace(2, ICFetch),
        [Dup, PlusLoop(t), ..] => replace(2, DupPlusLoop(*t)),
        [LitICStore(n), DupPlusLoop(t), ..] => replace(2, LitICStoreDupPlusLoop(*n, *t)),
        [ICFetch, ZBranch(t), ..] => replace(2, ICFetchZBranch(*t)),
        [LitAdd(n), Loop(t), ..] => replace(2, LitAddLoop(*n, *t)),
        [ITwoFetch, GtBranch(t), ..] => replace(2, ITwoFetchGtBranch(*t)),
        [ITwoFetch, LtBranch(t), ..] => replace(2, ITwoFetchLtBranch(*t)),
        [Drop, Lit(n), ..] => replace(2, DropLit(*n)),
        [Dup, LitLtBranch(n, t), ..] => replace(2, DupLitLtBranch(*n, *t)),
        [LitLt(n), ZBranch(t), ..] => replace(2, LitLtBranch(*n, *t)),
        [LitEq(n), ZBranch(t), ..] => replace(2, LitEqBranch(*n, *t)),
        [Eq, ZBranch(t), ..] => replace(2, EqBranch(*t)),
        [Ne, ZBranch(t), ..] => replace(2, NeBranch(*t)),
        [Lt, ZBranch(t), ..] => replace(2, LtBranch(*t)),
        [Gt, ZBranch(t), ..] => replace(2, GtBranch(*t)),
        [ZeroEq, ZBranch(t), ..] => replace(2, NzBranch(*t)),
        [ZeroNe, ZBranch(t), ..] => replace(2, ZBranch(*t)),
        [Over, Over, ..] => replace(2, TwoDup),
        [Over, Add, ..] => replace(2, OverAdd),
        [I, Add, ..] => replace(2, IAdd),
        [I, Fetch, ..] => replace(2, IFetch),
        [I, Store, ..] => replace(2, IStore),
        [I, TwoFetch, ..] => replace(2, ITwoFetch),
        [I, TwoStore, ..] => replace(2, ITwoStore),
        [Over, Fetch, ..] => replace(2, OverFetch),
        [Over, LitAdd(n), ..] => replace(2, OverLitAdd(*n)),
        [RFrom, Add, ..] => replace(2, RFromAdd),
        [Swap, Drop, ..] => replace(2, Nip),
        [OnePlus, ..] => replace(1, LitAdd(1)),
        [OneMinus, ..] => replace(1, LitAdd(-1)),
        [CellPlus, ..] => replace(1, LitAdd(8)),
        _ => None,
    }
}

/// `Lit(a)` followed by an operation that takes it as its right operand.
fn fuse_literal(a: i64, op: Op) -> Option<(usize, Vec<Op>)> {
    let fused = match op {
        Op::Add => Op::LitAdd(a),
        Op::Sub => Op::LitAdd(a.wrapping_neg()),
        Op::Mul => Op::LitMul(a),
        Op::And => Op::LitAnd(a),
        Op::Eq => Op::LitEq(a),
        Op::Lt => Op::LitLt(a),
        Op::Gt => Op::LitGt(a),
        Op::Fetch => Op::LitFetch(a),
        Op::Store => Op::LitStore(a),
        Op::PlusStore => Op::LitPlusStore(a),
        Op::PlusLoop(t) => Op::LitPlusLoop(a, t),
        _ => return None,
    };
    Some((2, vec![fused]))
}

fn flag(b: bool) -> i64 {
    if b { -1 } else { 0 }
}

/// The value of `a op` for pure one-operand operations (including fused literals).
fn fold_unary(a: i64, op: Op) -> Option<i64> {
    Some(match op {
        Op::Negate => a.wrapping_neg(),
        Op::Invert => !a,
        Op::Abs => a.wrapping_abs(),
        Op::OnePlus => a.wrapping_add(1),
        Op::OneMinus => a.wrapping_sub(1),
        Op::TwoStar => a.wrapping_shl(1),
        Op::TwoSlash => a >> 1,
        Op::Cells => a.wrapping_mul(8),
        Op::CellPlus => a.wrapping_add(8),
        Op::ZeroEq => flag(a == 0),
        Op::ZeroNe => flag(a != 0),
        Op::ZeroLt => flag(a < 0),
        Op::ZeroGt => flag(a > 0),
        Op::LitAdd(b) => a.wrapping_add(b),
        Op::LitMul(b) => a.wrapping_mul(b),
        Op::LitAnd(b) => a & b,
        Op::LitEq(b) => flag(a == b),
        Op::LitLt(b) => flag(a < b),
        Op::LitGt(b) => flag(a > b),
        _ => return None,
    })
}

/// The value of `a b op` for pure two-operand operations that cannot fail.
fn fold_binary(a: i64, b: i64, op: Op) -> Option<i64> {
    Some(match op {
        Op::Add => a.wrapping_add(b),
        Op::Sub => a.wrapping_sub(b),
        Op::Mul => a.wrapping_mul(b),
        Op::Div => a.checked_div(b)?,
        Op::Mod if b != 0 => a.wrapping_rem(b),
        Op::And => a & b,
        Op::Or => a | b,
        Op::Xor => a ^ b,
        Op::LShift => {
            if (b as u64) < 64 {
                a << b
            } else {
                0
            }
        }
        Op::RShift => {
            if (b as u64) < 64 {
                ((a as u64) >> b) as i64
            } else {
                0
            }
        }
        Op::Eq => flag(a == b),
        Op::Ne => flag(a != b),
        Op::Lt => flag(a < b),
        Op::Gt => flag(a > b),
        Op::ULt => flag((a as u64) < (b as u64)),
        Op::UGt => flag((a as u64) > (b as u64)),
        Op::Min => a.min(b),
        Op::Max => a.max(b),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_inlining(_: u32) -> Option<Vec<Op>> {
        None
    }

    #[test]
    fn folds_constants() {
        let ir = vec![
            Op::Lit(2),
            Op::Lit(3),
            Op::Add,
            Op::Lit(4),
            Op::Mul,
            Op::Exit,
        ];
        assert_eq!(optimize(ir, &no_inlining), vec![Op::Lit(20), Op::Exit]);
    }

    #[test]
    fn keeps_branch_targets() {
        // 0: Dup 1: ZBranch(4) 2: Lit 1 3: Add 4: Exit
        let ir = vec![Op::Dup, Op::ZBranch(4), Op::Lit(1), Op::Add, Op::Exit];
        assert_eq!(
            optimize(ir, &no_inlining),
            vec![Op::Dup, Op::ZBranch(3), Op::LitAdd(1), Op::Exit]
        );
    }

    #[test]
    fn does_not_fuse_across_a_target() {
        // The Add at 2 is a branch target, so Lit(1) Add must stay apart (the Add may
        // still fuse with what follows it).
        let ir = vec![Op::Lit(1), Op::Branch(2), Op::Add, Op::Exit];
        let out = optimize(ir, &no_inlining);
        assert_eq!(out, vec![Op::Lit(1), Op::Branch(2), Op::AddExit]);
    }

    #[test]
    fn rewriting_looks_at_a_bounded_window() {
        // 10,000 nested IFs: every branch lands on the final Exit, so no target breaks the
        // run of instructions; the rules must still see a few of them at a time.
        let depth = 10_000;
        let end = 2 * depth as u32;
        let mut ir: Vec<Op> = (0..depth)
            .flat_map(|_| [Op::Lit(1), Op::ZBranch(end)])
            .collect();
        ir.push(Op::Exit);
        let looked_at = std::cell::Cell::new(0);
        let out = rewrite(ir.clone(), &|_, window: &[Op]| {
            looked_at.set(looked_at.get() + window.len());
            None
        });
        assert_eq!(out, ir);
        assert!(looked_at.get() <= WINDOW * ir.len(), "{}", looked_at.get());
    }

    #[test]
    fn a_branch_to_exit_returns_at_once() {
        // `DUP 2 < IF DROP 1 ELSE 1- THEN ;`
        let ir = vec![
            Op::Dup,
            Op::Lit(2),
            Op::Lt,
            Op::ZBranch(7),
            Op::Drop,
            Op::Lit(1),
            Op::Branch(8),
            Op::OneMinus,
            Op::Exit,
        ];
        assert_eq!(
            optimize(ir, &no_inlining),
            vec![
                Op::DupLitLtBranch(2, 2),
                Op::DropLitExit(1),
                Op::LitAdd(-1),
                Op::Exit
            ]
        );
    }

    #[test]
    fn the_classic_inner_loops_fuse() {
        // siev's `0 I C! DUP +LOOP`, bubble's `I 2@ > IF I 2@ SWAP I 2! THEN`, matrix's
        // `OVER @ OVER @ *`.
        let siev = vec![Op::Lit(0), Op::I, Op::CStore, Op::Dup, Op::PlusLoop(0)];
        assert_eq!(
            optimize(siev, &no_inlining),
            vec![Op::LitICStoreDupPlusLoop(0, 0)]
        );
        // siev's outer loop, `I C@ IF ... THEN 2 + LOOP`.
        let siev_outer = vec![
            Op::I,
            Op::CFetch,
            Op::ZBranch(4),
            Op::Dup,
            Op::Lit(2),
            Op::Add,
            Op::Loop(0),
            Op::Exit,
        ];
        assert_eq!(
            optimize(siev_outer, &no_inlining),
            vec![
                Op::ICFetchZBranch(2),
                Op::Dup,
                Op::LitAddLoop(2, 0),
                Op::Exit
            ]
        );
        let bubble = vec![
            Op::I,
            Op::TwoFetch,
            Op::Gt,
            Op::ZBranch(9),
            Op::I,
            Op::TwoFetch,
            Op::Swap,
            Op::I,
            Op::TwoStore,
            Op::Exit,
        ];
        // benches/forth/bubble.fs sorts the other way, with `I 2@ < IF`.
        let other_way = bubble
            .iter()
            .map(|&op| if op == Op::Gt { Op::Lt } else { op })
            .collect();
        assert_eq!(
            optimize(bubble, &no_inlining),
            vec![Op::ITwoFetchGtBranch(2), Op::ISwapCells, Op::Exit]
        );
        assert_eq!(
            optimize(other_way, &no_inlining),
            vec![Op::ITwoFetchLtBranch(2), Op::ISwapCells, Op::Exit]
        );
        let matrix = vec![Op::Over, Op::Fetch, Op::Over, Op::Fetch, Op::Mul, Op::Exit];
        assert_eq!(
            optimize(matrix, &no_inlining),
            vec![Op::FetchBothMul, Op::Exit]
        );
        // matrix's `>R OVER @ OVER @ * R> + >R`.
        let inner_product = vec![
            Op::ToR,
            Op::Over,
            Op::Fetch,
            Op::Over,
            Op::Fetch,
            Op::Mul,
            Op::RFrom,
            Op::Add,
            Op::ToR,
            Op::Exit,
        ];
        assert_eq!(
            optimize(inner_product, &no_inlining),
            vec![Op::MulAccumulateToR, Op::Exit]
        );
    }

    #[test]
    fn a_last_addition_returns_at_once() {
        // `: f + ;` and `IF + THEN ;`, where the EXIT is a branch target and stays apart.
        let last = vec![Op::Add, Op::Exit];
        assert_eq!(optimize(last, &no_inlining), vec![Op::AddExit]);
        let target = vec![Op::ZBranch(2), Op::Add, Op::Exit];
        assert_eq!(
            optimize(target, &no_inlining),
            vec![Op::ZBranch(2), Op::Add, Op::Exit]
        );
    }

    #[test]
    fn inlines_short_words() {
        let body = |xt: u32| (xt == 7).then(|| vec![Op::Dup, Op::Mul]);
        let out = optimize(vec![Op::Call(7), Op::Exit], &body);
        assert_eq!(out, vec![Op::Dup, Op::Mul, Op::Exit]);
    }
}

//! The optimizer stage's seam: one definition as bytes (a [`Unit`]), the trait through which
//! an optimizer built elsewhere (a stage plugin) optimizes it, and the checks its answer
//! passes before the executor runs it.
//!
//! A unit is, little-endian: the IR version (u32); the definition's name (u64 length, bytes;
//! empty for `:NONAME`); where it is in the source (a u8 flag, then the file name as a u64
//! length and bytes, the line and the column as u32, when the flag is 1; 0 in `EVALUATE`d
//! text); its data stack effect (a u8 flag, then `ins` and `outs` as u32 when
//! the flag is 1, when the compiler could compute it); its instructions (u64 count, then each
//! as [`crate::ir::encode_op`] writes it, branch targets local to the definition); and the
//! bodies of the short colon definitions it calls that may be inlined (u64 count, then each
//! callee's execution token as a u32 and its instructions as above, without the `EXIT`). An
//! answer is a unit with the same name, position and effect, its own instructions, and no
//! callees.

use crate::error::SourceLocation;
use crate::ir::{DecodeError, IR_VERSION, Op, Reader, encode_op};

/// The most bytes one encoded instruction takes: a tag, a cell and a branch target.
const MAX_OP_BYTES: usize = 1 + 8 + 4;

/// The most instructions a unit's definition, or one callee, may hold.
const MAX_UNIT_OPS: usize = crate::dictionary::MAX_DEFINITION_OPS;

/// An optimizer in another build: takes a unit's bytes, answers the optimized unit's bytes
/// or why it could not. The engine checks the answer ([`Unit::check_answer`]) and compiles a
/// definition whose answer fails with its own optimizer, reporting why
/// ([`crate::Forth::take_stage_faults`]).
pub trait OptimizerStage: Send + Sync {
    fn optimize(&self, unit: &[u8]) -> Result<Vec<u8>, String>;
}

/// A definition's data stack effect: the cells it takes and the cells it leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackEffect {
    pub ins: u32,
    pub outs: u32,
}

impl StackEffect {
    /// Whether code with the effect `actual` may stand for code with this one: the same
    /// change of depth, and no more cells taken.
    pub fn admits(self, actual: StackEffect) -> bool {
        let change = |effect: StackEffect| i64::from(effect.outs) - i64::from(effect.ins);
        actual.ins <= self.ins && change(actual) == change(self)
    }
}

/// One definition on its way through the optimizer stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub name: Vec<u8>,
    pub position: Option<SourceLocation>,
    pub effect: Option<StackEffect>,
    pub ops: Vec<Op>,
    /// Execution token and body of each callee that may be inlined.
    pub callees: Vec<(u32, Vec<Op>)>,
}

impl Unit {
    /// The unit of a definition: its effect computed, its inlinable callees gathered by
    /// `inline_body`.
    pub fn new(
        name: Vec<u8>,
        position: Option<SourceLocation>,
        ops: Vec<Op>,
        inline_body: &dyn Fn(u32) -> Option<Vec<Op>>,
    ) -> Unit {
        let mut calls: Vec<u32> = ops.iter().filter_map(|&op| called(op)).collect();
        calls.sort_unstable();
        calls.dedup();
        let callees: Vec<(u32, Vec<Op>)> = calls
            .into_iter()
            .filter_map(|xt| Some((xt, inline_body(xt)?)))
            .collect();
        let effect = stack_effect(&ops, &callee_effects(&callees));
        Unit {
            name,
            position,
            effect,
            ops,
            callees,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let ops = self.ops.len()
            + self
                .callees
                .iter()
                .map(|(_, body)| body.len())
                .sum::<usize>();
        let mut out = Vec::with_capacity(ops * MAX_OP_BYTES + self.name.len() + 64);
        out.extend(IR_VERSION.to_le_bytes());
        out.extend((self.name.len() as u64).to_le_bytes());
        out.extend(&self.name);
        match &self.position {
            Some(at) => {
                out.push(1);
                out.extend((at.file.len() as u64).to_le_bytes());
                out.extend(at.file.as_bytes());
                out.extend(at.line.to_le_bytes());
                out.extend(at.column.to_le_bytes());
            }
            None => out.push(0),
        }
        match self.effect {
            Some(effect) => {
                out.push(1);
                out.extend(effect.ins.to_le_bytes());
                out.extend(effect.outs.to_le_bytes());
            }
            None => out.push(0),
        }
        encode_ops(&self.ops, &mut out);
        out.extend((self.callees.len() as u64).to_le_bytes());
        for (xt, body) in &self.callees {
            out.extend(xt.to_le_bytes());
            encode_ops(body, &mut out);
        }
        out
    }

    /// Reads a unit and checks that the executor could run it: the IR version, known
    /// instructions, no truncation or trailing bytes, branch targets inside the definition,
    /// no internal instruction (`Halt`, `CatchOk`), a last instruction that does not run
    /// off the end, callees without branches, and a stated stack effect that the
    /// instructions have whenever it can be computed (they may take fewer cells, with the
    /// same change of depth: an optimizer removes `1+ 1-`).
    pub fn decode(bytes: &[u8]) -> Result<Unit, DecodeError> {
        let unit = Unit::read(bytes)?;
        let computed = stack_effect(&unit.ops, &callee_effects(&unit.callees));
        if let (Some(stated), Some(computed)) = (unit.effect, computed)
            && !stated.admits(computed)
        {
            return Err(refused(format!(
                "stack effect mismatch: stated ( {} -- {} ), the instructions have ( {} -- {} )",
                stated.ins, stated.outs, computed.ins, computed.outs
            )));
        }
        Ok(unit)
    }

    /// Reads a unit with every check of [`Unit::decode`] but the stack effect's: what a
    /// stage reads the engine's units with (the engine computed the effect; it checks the
    /// stage's answer whole).
    pub fn read(bytes: &[u8]) -> Result<Unit, DecodeError> {
        let mut reader = Reader::new(bytes);
        let version = reader.u32()?;
        if version != IR_VERSION {
            return Err(refused(format!(
                "IR version {version}, expected {IR_VERSION}"
            )));
        }
        let name = reader.blob()?.to_vec();
        let position = match reader.u8()? {
            0 => None,
            1 => Some(SourceLocation {
                file: String::from_utf8_lossy(reader.blob()?).into_owned(),
                line: reader.u32()?,
                column: reader.u32()?,
            }),
            flag => return Err(refused(format!("position flag {flag}, expected 0 or 1"))),
        };
        let effect = match reader.u8()? {
            0 => None,
            1 => Some(StackEffect {
                ins: reader.u32()?,
                outs: reader.u32()?,
            }),
            flag => {
                return Err(refused(format!(
                    "stack effect flag {flag}, expected 0 or 1"
                )));
            }
        };
        let ops = read_ops(&mut reader)?;
        check_definition(&ops)?;
        let count = reader.count(4 + 8)?;
        let mut callees = Vec::with_capacity(count);
        for _ in 0..count {
            let xt = reader.u32()?;
            let body = read_ops(&mut reader)?;
            if let Some(op) = body.iter().find(|op| !op.inlinable()) {
                return Err(refused(format!("callee {xt}: {op:?} cannot be inlined")));
            }
            callees.push((xt, body));
        }
        if !reader.is_empty() {
            return Err(refused("trailing bytes after the unit".to_owned()));
        }
        Ok(Unit {
            name,
            position,
            effect,
            ops,
            callees,
        })
    }

    /// Checks an optimizer's answer to this unit: the same definition (name, position and
    /// stack effect), no callees, and no calls or system words that neither the definition nor
    /// its callees had (an optimizer rearranges code; it does not invent it).
    pub fn check_answer(&self, answer: &Unit) -> Result<(), String> {
        if answer.name != self.name {
            return Err(format!(
                "answered for {:?}, asked for {:?}",
                String::from_utf8_lossy(&answer.name),
                String::from_utf8_lossy(&self.name)
            ));
        }
        if answer.position != self.position {
            return Err(format!(
                "position {:?} changed to {:?}",
                self.position, answer.position
            ));
        }
        if answer.effect != self.effect {
            return Err(format!(
                "stack effect {:?} changed to {:?}",
                self.effect, answer.effect
            ));
        }
        if !answer.callees.is_empty() {
            return Err("the answer has callees".to_owned());
        }
        let known: Vec<Op> = self
            .ops
            .iter()
            .chain(self.callees.iter().flat_map(|(_, body)| body))
            .copied()
            .filter(|&op| invented(op))
            .collect();
        match answer
            .ops
            .iter()
            .find(|&&op| invented(op) && !known.contains(&op))
        {
            Some(op) => Err(format!(
                "{op:?} is in neither the definition nor its callees"
            )),
            None => Ok(()),
        }
    }
}

/// The optimizer built into this engine, over a unit's bytes: what a stage plugin that
/// optimizes as the engine does answers. `extra` is one more rewrite rule (see
/// [`crate::optimizer::rewrite`]), run after the built-in passes.
pub fn optimize_unit(
    bytes: &[u8],
    extra: Option<&crate::optimizer::Rule<'_>>,
) -> Result<Vec<u8>, String> {
    let unit = Unit::read(bytes).map_err(|error| error.0)?;
    let inline_body = |xt: u32| {
        unit.callees
            .iter()
            .find(|(callee, _)| *callee == xt)
            .map(|(_, body)| body.clone())
    };
    let mut ops = crate::optimizer::optimize(unit.ops, &inline_body);
    if let Some(rule) = extra {
        ops = crate::optimizer::rewrite(ops, rule);
    }
    let answer = Unit {
        name: unit.name,
        position: unit.position,
        effect: unit.effect,
        ops,
        callees: Vec::new(),
    };
    Ok(answer.encode())
}

/// A definition that shows whether a stage answers as the built-in optimizer does:
/// `: T 2 3 + SWAP DROP ;` ( x -- 5 ), which that compiles to `5 NIP` (the optimizer
/// plugin's self-test and the load check ask it). Its effect is stated, not computed, so
/// that a stage plugin's self-test needs none of the engine's stack-effect analysis.
pub fn probe() -> Unit {
    let ops = vec![
        Op::Lit(2),
        Op::Lit(3),
        Op::Add,
        Op::Swap,
        Op::Drop,
        Op::Exit,
    ];
    probe_unit(ops)
}

/// The built-in optimizer's answer to [`probe`]: `5 NIP`.
pub fn probe_answer() -> Unit {
    probe_unit(vec![Op::Lit(5), Op::Nip, Op::Exit])
}

fn probe_unit(ops: Vec<Op>) -> Unit {
    Unit {
        name: b"T".to_vec(),
        position: None,
        effect: Some(StackEffect { ins: 1, outs: 1 }),
        ops,
        callees: Vec::new(),
    }
}

/// Checks a stage's answer to [`probe`]: one the engine accepts, with the built-in
/// optimizer's code, which it returns.
pub fn check_probe_answer(answer: &[u8]) -> Result<Vec<Op>, String> {
    let answer = Unit::decode(answer).map_err(|refused| refused.0)?;
    probe().check_answer(&answer)?;
    let expected = probe_answer().ops;
    if answer.ops == expected {
        Ok(answer.ops)
    } else {
        Err(format!(
            "optimized `: T 2 3 + SWAP DROP ;` to {:?}, expected {expected:?}",
            answer.ops
        ))
    }
}

/// Instructions that refer to something outside the definition: a called word, a system
/// word or a host word. An optimizer's answer may only keep those it was given.
fn invented(op: Op) -> bool {
    matches!(op, Op::Call(_) | Op::Sys(_) | Op::CallHost(_))
}

fn called(op: Op) -> Option<u32> {
    match op {
        Op::Call(xt) => Some(xt),
        _ => None,
    }
}

fn refused(reason: String) -> DecodeError {
    DecodeError(reason)
}

pub(crate) fn encode_ops(ops: &[Op], out: &mut Vec<u8>) {
    out.extend((ops.len() as u64).to_le_bytes());
    for &op in ops {
        encode_op(op, out);
    }
}

pub(crate) fn read_ops(reader: &mut Reader<'_>) -> Result<Vec<Op>, DecodeError> {
    let count = reader.count(1)?;
    if count > MAX_UNIT_OPS {
        return Err(refused(format!(
            "{count} instructions, more than a definition may hold ({MAX_UNIT_OPS})"
        )));
    }
    let mut ops = Vec::with_capacity(count);
    for _ in 0..count {
        ops.push(reader.op()?);
    }
    Ok(ops)
}

/// What the executor needs of a definition's code: branch targets inside it, no internal
/// instruction, and an end it cannot run past.
fn check_definition(ops: &[Op]) -> Result<(), DecodeError> {
    for (at, &op) in ops.iter().enumerate() {
        if matches!(op, Op::Halt | Op::CatchOk) {
            return Err(refused(format!(
                "{op:?} at {at} is internal to the executor"
            )));
        }
        if let Some(target) = op.target()
            && target as usize >= ops.len()
        {
            return Err(refused(format!(
                "branch out of range: {op:?} at {at}, the definition has {} instructions",
                ops.len()
            )));
        }
    }
    match ops.last() {
        Some(Op::Exit | Op::AddExit | Op::DropLitExit(_) | Op::Branch(_)) => Ok(()),
        Some(last) => Err(refused(format!("the code runs off its end after {last:?}"))),
        None => Err(refused("no instructions".to_owned())),
    }
}

/// The stack effect of each callee that has one, by execution token.
type CalleeEffects = [(u32, StackEffect)];

fn callee_effects(callees: &[(u32, Vec<Op>)]) -> Vec<(u32, StackEffect)> {
    callees
        .iter()
        .filter_map(|(xt, body)| {
            let mut with_exit = body.clone();
            with_exit.push(Op::Exit);
            Some((*xt, stack_effect(&with_exit, &[])?))
        })
        .collect()
}

/// Where control goes from an instruction, with the data stack depth change on each way.
struct Flow {
    /// The next instruction, when control may go there.
    next: Option<isize>,
    /// A branch target and the depth change when it is taken.
    branch: Option<(usize, isize)>,
    /// The depth change when the instruction returns from the definition.
    exit: Option<isize>,
    /// The cells the instruction needs on the stack.
    needs: usize,
}

/// How one instruction moves control and the data stack; `None` when that depends on the
/// data or on code elsewhere (`EXECUTE`, system words, `DOES>`, a call to an unknown word).
fn flow(op: Op, callees: &CalleeEffects) -> Option<Flow> {
    let plain = |effect: crate::ir::Effect| {
        let change = effect.outs as isize - effect.ins as isize;
        Flow {
            next: Some(change),
            branch: op.target().map(|t| (t as usize, change)),
            exit: None,
            needs: effect.ins,
        }
    };
    let leave = |needs: usize, change: isize| Flow {
        next: None,
        branch: None,
        exit: Some(change),
        needs,
    };
    Some(match op {
        Op::Exit => leave(0, 0),
        Op::AddExit => leave(2, -1),
        Op::DropLitExit(_) => leave(1, 0),
        Op::DupLitLtExit(_) => Flow {
            exit: Some(0),
            ..plain(op.effect()?)
        },
        Op::Branch(t) => Flow {
            next: None,
            branch: Some((t as usize, 0)),
            exit: None,
            needs: 0,
        },
        Op::Of(t) => Flow {
            branch: Some((t as usize, -1)),
            ..plain(op.effect()?)
        },
        Op::Call(xt) => {
            let (_, effect) = callees.iter().find(|(callee, _)| *callee == xt)?;
            plain(crate::ir::Effect {
                ins: effect.ins as usize,
                outs: effect.outs as usize,
                rreads: 0,
                rdelta: 0,
            })
        }
        _ => plain(op.effect()?),
    })
}

/// A definition's data stack effect, when every path through it agrees on one.
pub fn stack_effect(ops: &[Op], callees: &CalleeEffects) -> Option<StackEffect> {
    // The depth on reaching each instruction, doubled and with its low bit set; 0 before
    // it is reached. A zeroed vector: a fill with another pattern is a `memset_pattern16`
    // call on macOS, which the cross builds do not link.
    let mut reached = vec![0i64; ops.len()];
    let mut lowest = 0isize;
    let mut exit_depth = None;
    let mut pending = Vec::with_capacity(8);
    pending.push((0usize, 0isize));
    while let Some((at, here)) = pending.pop() {
        let mark = (here as i64) << 1 | 1;
        let seen = reached.get_mut(at)?;
        match *seen {
            0 => *seen = mark,
            seen if seen == mark => continue,
            _ => return None,
        }
        let flow = flow(ops[at], callees)?;
        lowest = lowest.min(here - flow.needs as isize);
        if let Some(change) = flow.exit {
            let leaving = here + change;
            if *exit_depth.get_or_insert(leaving) != leaving {
                return None;
            }
        }
        if let Some(change) = flow.next {
            pending.push((at + 1, here + change));
        }
        if let Some((target, change)) = flow.branch {
            pending.push((target, here + change));
        }
    }
    let leaving = exit_depth?;
    Some(StackEffect {
        ins: u32::try_from(-lowest).ok()?,
        outs: u32::try_from(leaving - lowest).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Sys;

    #[test]
    fn the_probe_states_its_computed_effect_and_optimizes_to_its_answer() {
        let probe = probe();
        let computed = Unit::new(probe.name.clone(), None, probe.ops.clone(), &|_| None);
        assert_eq!(probe, computed);
        let answer = optimize_unit(&probe.encode(), None).unwrap();
        assert_eq!(answer, probe_answer().encode());
        assert_eq!(check_probe_answer(&answer).unwrap(), probe_answer().ops);
    }

    fn unit(ops: Vec<Op>) -> Unit {
        Unit::new(b"W".to_vec(), None, ops, &|_| None)
    }

    #[test]
    fn a_unit_round_trips_with_its_position_callees_and_effect() {
        let square = vec![Op::Dup, Op::Mul];
        let ops = vec![Op::Call(7), Op::Lit(1), Op::Add, Op::Exit];
        let position = Some(SourceLocation {
            file: "sq.fs".to_owned(),
            line: 3,
            column: 3,
        });
        let unit = Unit::new(b"SQ1+".to_vec(), position, ops, &|xt| {
            (xt == 7).then(|| square.clone())
        });
        assert_eq!(unit.effect, Some(StackEffect { ins: 1, outs: 1 }));
        assert_eq!(unit.callees, vec![(7, square)]);
        assert_eq!(Unit::decode(&unit.encode()).unwrap(), unit);
    }

    #[test]
    fn effects_follow_branches_and_loops() {
        // : W ( n -- n' ) DUP 0 < IF NEGATE THEN 10 0 DO 1 + LOOP ;
        let ops = vec![
            Op::Dup,
            Op::Lit(0),
            Op::Lt,
            Op::ZBranch(5),
            Op::Negate,
            Op::Lit(10),
            Op::Lit(0),
            Op::Do,
            Op::LitAdd(1),
            Op::Loop(8),
            Op::Exit,
        ];
        assert_eq!(unit(ops).effect, Some(StackEffect { ins: 1, outs: 1 }));
        // Paths that disagree (IF DROP THEN) have no static effect.
        let ops = vec![Op::ZBranch(2), Op::Drop, Op::Exit];
        assert_eq!(unit(ops).effect, None);
        assert_eq!(unit(vec![Op::Sys(Sys::Emit), Op::Exit]).effect, None);
    }

    #[test]
    fn decoding_refuses_what_the_executor_cannot_run() {
        let decode = |ops: Vec<Op>| {
            let unit = Unit {
                name: Vec::new(),
                position: None,
                effect: None,
                ops,
                callees: Vec::new(),
            };
            Unit::decode(&unit.encode()).map(|_| ()).unwrap_err().0
        };
        assert_eq!(
            decode(vec![Op::Branch(5), Op::Exit]),
            "branch out of range: Branch(5) at 0, the definition has 2 instructions"
        );
        assert_eq!(decode(vec![Op::Dup]), "the code runs off its end after Dup");
        assert_eq!(
            decode(vec![Op::Halt, Op::Exit]),
            "Halt at 0 is internal to the executor"
        );
        assert_eq!(decode(Vec::new()), "no instructions");
    }

    #[test]
    fn decoding_refuses_versions_truncation_and_a_wrong_effect() {
        let bytes = unit(vec![Op::Dup, Op::Exit]).encode();
        let mut other_version = bytes.clone();
        other_version[0] = 9;
        assert_eq!(
            Unit::decode(&other_version).unwrap_err().0,
            "IR version 9, expected 3"
        );
        assert_eq!(
            Unit::decode(&bytes[..bytes.len() - 3]).unwrap_err().0,
            "truncated"
        );
        let mut lying = unit(vec![Op::Dup, Op::Exit]);
        lying.effect = Some(StackEffect { ins: 1, outs: 1 });
        assert_eq!(
            Unit::decode(&lying.encode()).unwrap_err().0,
            "stack effect mismatch: stated ( 1 -- 1 ), the instructions have ( 1 -- 2 )"
        );
        lying.effect = Some(StackEffect { ins: 0, outs: 1 });
        lying.ops = vec![Op::Drop, Op::Lit(1), Op::Lit(2), Op::Exit];
        assert_eq!(
            Unit::decode(&lying.encode()).unwrap_err().0,
            "stack effect mismatch: stated ( 0 -- 1 ), the instructions have ( 1 -- 2 )"
        );
        // Code that takes fewer cells with the same change of depth stands for it.
        let mut fewer = unit(vec![Op::Exit]);
        fewer.effect = Some(StackEffect { ins: 1, outs: 1 });
        assert!(Unit::decode(&fewer.encode()).is_ok());
    }

    #[test]
    fn an_answer_may_not_invent_calls_or_change_the_definition() {
        let asked = unit(vec![Op::Call(3), Op::Exit]);
        let answer = |ops| Unit {
            ops,
            callees: Vec::new(),
            ..asked.clone()
        };
        assert_eq!(
            asked.check_answer(&answer(vec![Op::Call(3), Op::Exit])),
            Ok(())
        );
        assert_eq!(
            asked.check_answer(&answer(vec![Op::Call(4), Op::Exit])),
            Err("Call(4) is in neither the definition nor its callees".to_owned())
        );
        let renamed = Unit {
            name: b"V".to_vec(),
            ..answer(vec![Op::Exit])
        };
        assert_eq!(
            asked.check_answer(&renamed),
            Err("answered for \"V\", asked for \"W\"".to_owned())
        );
    }

    #[test]
    fn the_built_in_optimizer_over_bytes_answers_as_it_optimizes() {
        let square = vec![Op::Dup, Op::Mul];
        let ops = vec![Op::Call(7), Op::Lit(1), Op::Add, Op::Exit];
        let asked = Unit::new(b"SQ1+".to_vec(), None, ops.clone(), &|_| {
            Some(square.clone())
        });
        let answer = Unit::decode(&optimize_unit(&asked.encode(), None).unwrap()).unwrap();
        asked.check_answer(&answer).unwrap();
        let direct = crate::optimizer::optimize(ops, &|_| Some(square.clone()));
        assert_eq!(answer.ops, direct);
    }
}

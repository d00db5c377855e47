//! Stack analysis of one definition: the depth of both stacks at the start of every block.
//! When the data stack depth is the same on every path into each block and at every exit,
//! the definition has a static stack effect and its cells become Rust locals; otherwise it
//! runs on the explicit data stack. The return stack must be static either way (its cells
//! are always locals): a definition that reads return stack cells it did not push, returns
//! with cells of its own still there, or reaches a block with different return stack
//! depths is refused.

use crate::cfg::{Cfg, Exit, Term};
use crate::ops::{self, Class};
use fastforth_engine::ir::Op;
use std::collections::HashMap;

/// A static stack effect: cells taken from the caller and cells given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    pub inputs: usize,
    pub outputs: usize,
}

/// Where a definition's data stack cells live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// In locals, with this effect.
    Static(Signature),
    /// On the explicit data stack.
    Dynamic,
}

/// The result of the analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub mode: Mode,
    /// Data stack cells (counting the inputs) at the start of each block; static mode only.
    pub depth: Vec<usize>,
    /// Return stack cells of this definition at the start of each block.
    pub rdepth: Vec<usize>,
    /// How many data and return stack locals the function needs.
    pub slots: usize,
    pub rslots: usize,
}

/// Why the static analysis gave up.
enum Problem {
    /// Not static: use the explicit data stack.
    NotStatic,
    /// Not compilable at all.
    Refused(String),
}

/// What one pass found.
struct Pass {
    entry: Vec<Option<(i64, usize)>>,
    exit: Option<i64>,
    lowest: i64,
    highest: i64,
    rhighest: usize,
    /// A call to the definition itself was met without an assumed effect.
    recursion_unknown: bool,
}

/// One analysis of a definition.
struct Analysis<'a> {
    cfg: &'a Cfg,
    own_xt: u32,
    callees: &'a HashMap<u32, Mode>,
    /// Track the data stack (static mode), with this effect assumed for recursive calls.
    data: bool,
    assumed: Option<Signature>,
}

/// Analyses a definition. `callees` gives the mode of every compiled definition it may
/// call; a call to anything else is refused with the name `names` gives it.
pub fn analyze(
    cfg: &Cfg,
    own_xt: u32,
    callees: &HashMap<u32, Mode>,
    names: &dyn Fn(u32) -> String,
) -> Result<Shape, String> {
    let shape = find_shape(cfg, own_xt, callees, names)?;
    if shape.slots + shape.rslots > MAX_LOCALS {
        return Err(format!(
            "needs more than {MAX_LOCALS} stack cells of its own"
        ));
    }
    Ok(shape)
}

/// Most stack cells one definition may keep in locals, which bounds the size of a Rust
/// frame; the runtime's thread has room for the deepest nesting of such frames.
const MAX_LOCALS: usize = 1024;

fn find_shape(
    cfg: &Cfg,
    own_xt: u32,
    callees: &HashMap<u32, Mode>,
    names: &dyn Fn(u32) -> String,
) -> Result<Shape, String> {
    let mut analysis = Analysis {
        cfg,
        own_xt,
        callees,
        data: true,
        assumed: None,
    };
    for _ in 0..8 {
        match analysis.run(names) {
            Ok(pass) => match pass.signature() {
                Some(found)
                    if !pass.recursion_unknown && analysis.assumed.is_none_or(|a| a == found) =>
                {
                    return Ok(pass.shape(Mode::Static(found)));
                }
                Some(found) if analysis.assumed != Some(found) => analysis.assumed = Some(found),
                _ => break,
            },
            Err(Problem::NotStatic) => break,
            Err(Problem::Refused(reason)) => return Err(reason),
        }
    }
    analysis.data = false;
    match analysis.run(names) {
        Ok(pass) => Ok(pass.shape(Mode::Dynamic)),
        Err(Problem::Refused(reason)) => Err(reason),
        Err(Problem::NotStatic) => Err("inconsistent stack depths".to_owned()),
    }
}

impl Pass {
    fn signature(&self) -> Option<Signature> {
        let inputs = -self.lowest;
        Some(Signature {
            inputs: inputs as usize,
            outputs: (self.exit? + inputs) as usize,
        })
    }

    fn shape(self, mode: Mode) -> Shape {
        let inputs = -self.lowest;
        let depth = |entry: &Option<(i64, usize)>| entry.map_or(0, |(d, _)| (d + inputs) as usize);
        Shape {
            mode,
            depth: self.entry.iter().map(depth).collect(),
            rdepth: self.entry.iter().map(|e| e.map_or(0, |(_, k)| k)).collect(),
            slots: (self.highest + inputs) as usize,
            rslots: self.rhighest,
        }
    }
}

impl Analysis<'_> {
    fn run(&self, names: &dyn Fn(u32) -> String) -> Result<Pass, Problem> {
        let count = self.cfg.blocks.len();
        let mut pass = Pass {
            entry: vec![None; count],
            exit: None,
            lowest: 0,
            highest: 0,
            rhighest: 0,
            recursion_unknown: false,
        };
        pass.entry[0] = Some((0, 0));
        let mut work = vec![0usize];
        while let Some(block) = work.pop() {
            let Some((d, k)) = pass.entry[block] else {
                continue;
            };
            let Some(edges) = self.block(block, d, k, &mut pass, names)? else {
                continue;
            };
            for (exit, d, k) in edges {
                pass.rhighest = pass.rhighest.max(k);
                if let Some(next) = self.join(&mut pass, exit, d, k)? {
                    work.push(next);
                }
            }
        }
        Ok(pass)
    }

    /// Follows one block; returns its edges with the depths along them, or `None` when a
    /// recursive call of unknown effect ends the path.
    #[allow(clippy::type_complexity)]
    fn block(
        &self,
        block: usize,
        mut d: i64,
        mut k: usize,
        pass: &mut Pass,
        names: &dyn Fn(u32) -> String,
    ) -> Result<Option<Vec<(Exit, i64, usize)>>, Problem> {
        let block = &self.cfg.blocks[block];
        for &op in &block.ops {
            let effect = match ops::classify(op, k) {
                Class::Fixed(effect, _) => effect,
                Class::Stackful(_) if self.data => return Err(Problem::NotStatic),
                Class::Stackful(_) => continue,
                Class::Call(xt) => match self.call(xt, pass, names)? {
                    Some(effect) => effect,
                    None => return Ok(None),
                },
                Class::Unsupported => return Err(unsupported(op)),
            };
            if effect.rreads > k {
                return Err(refused_rreads());
            }
            d -= effect.ins as i64;
            pass.lowest = pass.lowest.min(d);
            d += effect.outs as i64;
            pass.highest = pass.highest.max(d);
            k = k.wrapping_add_signed(effect.rdelta);
            pass.rhighest = pass.rhighest.max(k);
        }
        Ok(Some(match block.term {
            Term::Jump(exit) => vec![(exit, d, k)],
            Term::Branch {
                op,
                qdup,
                taken,
                fall,
            } => {
                let code = ops::branch(op, qdup, k).ok_or_else(|| unsupported(op))?;
                if code.rreads > k {
                    return Err(refused_rreads());
                }
                pass.lowest = pass.lowest.min(d - code.ins as i64);
                let after =
                    |pops: usize, rdelta: isize| (d - pops as i64, k.wrapping_add_signed(rdelta));
                let (td, tk) = after(code.taken_pops, code.taken_rdelta);
                let (fd, fk) = after(code.fall_pops, code.fall_rdelta);
                vec![(taken, td, tk), (fall, fd, fk)]
            }
        }))
    }

    /// The data effect of a call (`None` for a recursive call of unknown effect).
    fn call(
        &self,
        xt: u32,
        pass: &mut Pass,
        names: &dyn Fn(u32) -> String,
    ) -> Result<Option<ops::Effect>, Problem> {
        let mode = if xt == self.own_xt {
            match self.assumed {
                Some(signature) => Mode::Static(signature),
                None if self.data => {
                    pass.recursion_unknown = true;
                    return Ok(None);
                }
                None => Mode::Dynamic,
            }
        } else {
            *self.callees.get(&xt).ok_or_else(|| {
                Problem::Refused(format!("calls {}, which is not compiled", names(xt)))
            })?
        };
        match mode {
            Mode::Static(s) => Ok(Some(ops::Effect {
                ins: s.inputs,
                outs: s.outputs,
                rreads: 0,
                rdelta: 0,
            })),
            Mode::Dynamic if self.data => Err(Problem::NotStatic),
            Mode::Dynamic => Ok(Some(ops::Effect {
                ins: 0,
                outs: 0,
                rreads: 0,
                rdelta: 0,
            })),
        }
    }

    /// Records the depths along an edge; returns the block to visit when it is new.
    fn join(
        &self,
        pass: &mut Pass,
        exit: Exit,
        d: i64,
        k: usize,
    ) -> Result<Option<usize>, Problem> {
        match exit {
            Exit::Return if k != 0 => Err(Problem::Refused(
                "returns with loop parameters or >R cells on the return stack".to_owned(),
            )),
            Exit::Return => match pass.exit {
                Some(other) if self.data && other != d => Err(Problem::NotStatic),
                _ => {
                    pass.exit = Some(d);
                    Ok(None)
                }
            },
            Exit::Block(next) => match pass.entry[next] {
                None => {
                    pass.entry[next] = Some((d, k));
                    Ok(Some(next))
                }
                Some((_, other_k)) if other_k != k => Err(Problem::Refused(
                    "the return stack depth differs between paths".to_owned(),
                )),
                Some((other_d, _)) if self.data && other_d != d => Err(Problem::NotStatic),
                Some(_) => Ok(None),
            },
        }
    }
}

fn refused_rreads() -> Problem {
    Problem::Refused("reads return stack cells it did not push".to_owned())
}

fn unsupported(op: Op) -> Problem {
    let name = fastforth_engine::op_name(op).map_or_else(|| format!("{op:?}"), str::to_owned);
    Problem::Refused(format!("{name} is not supported natively"))
}

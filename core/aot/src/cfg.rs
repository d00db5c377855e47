//! Basic blocks of one definition: straight-line instructions ended by a jump, a return or
//! a two-way branch. Only code reachable from the definition's entry is looked at.

use fastforth_engine::ir::Op;
use std::collections::{BTreeSet, HashMap};

/// Where control goes along an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The block with this id.
    Block(usize),
    /// Back to the caller.
    Return,
}

/// How a block ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    Jump(Exit),
    /// The instruction decides: `taken` when its condition holds, else `fall`. With `qdup`
    /// the block's last instruction was a `?DUP` that the branch consumes: only the path
    /// where the cell is non-zero keeps it, so the depths stay static.
    Branch {
        op: Op,
        qdup: bool,
        taken: Exit,
        fall: Exit,
    },
}

impl Term {
    /// The edges out of the block, taken edge first.
    pub fn exits(self) -> Vec<Exit> {
        match self {
            Term::Jump(exit) => vec![exit],
            Term::Branch { taken, fall, .. } => vec![taken, fall],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Block {
    pub ops: Vec<Op>,
    pub term: Term,
}

/// The blocks of a definition; block 0 is the entry.
#[derive(Debug, Clone)]
pub struct Cfg {
    pub blocks: Vec<Block>,
}

/// Whether an instruction ends a block, and where its edges go (in code indexes; `None`
/// is a return).
fn edges(op: Op, at: usize) -> Option<(Option<usize>, Option<usize>)> {
    let next = Some(at + 1);
    match op.split().map_or(op, |(_, last)| last) {
        Op::Exit => Some((None, None)),
        Op::Branch(target) => Some((Some(target as usize), Some(target as usize))),
        Op::DupLitLtExit(_) => Some((None, next)),
        Op::Does(_) => None,
        other => other.target().map(|target| (Some(target as usize), next)),
    }
}

/// Splits `code` into the basic blocks reachable from index 0.
pub fn build(code: &[Op]) -> Result<Cfg, String> {
    let mut leaders = BTreeSet::from([0usize]);
    for (at, &op) in code.iter().enumerate() {
        if let Some((taken, fall)) = edges(op, at) {
            leaders.extend(taken);
            leaders.extend(fall);
        }
    }
    let mut ids: HashMap<usize, usize> = HashMap::from([(0, 0)]);
    let mut starts = vec![0usize];
    let mut blocks = Vec::new();
    while blocks.len() < starts.len() {
        let start = starts[blocks.len()];
        let (ops, term) = scan(code, start, &leaders)?;
        let mut id_of = |at: Option<usize>| match at {
            None => Exit::Return,
            Some(at) => Exit::Block(*ids.entry(at).or_insert_with(|| {
                starts.push(at);
                starts.len() - 1
            })),
        };
        let term = match term {
            Scanned::Jump(at) => Term::Jump(id_of(at)),
            Scanned::Branch(op, qdup, taken, fall) => {
                let taken = id_of(taken);
                Term::Branch {
                    op,
                    qdup,
                    taken,
                    fall: id_of(fall),
                }
            }
        };
        blocks.push(Block { ops, term });
    }
    Ok(Cfg { blocks })
}

enum Scanned {
    Jump(Option<usize>),
    Branch(Op, bool, Option<usize>, Option<usize>),
}

/// The instructions of the block at `start` and how it ends.
fn scan(
    code: &[Op],
    start: usize,
    leaders: &BTreeSet<usize>,
) -> Result<(Vec<Op>, Scanned), String> {
    let mut ops = Vec::new();
    let mut at = start;
    loop {
        let op = *code
            .get(at)
            .ok_or_else(|| "control runs past the end of the definition".to_owned())?;
        // A fused instruction ending a block is its operation, then the block's end.
        let op = match op.split() {
            Some((first, last)) => {
                ops.push(first);
                last
            }
            None => op,
        };
        match (op, edges(op, at)) {
            (Op::Exit, _) => return Ok((ops, Scanned::Jump(None))),
            (Op::Branch(_), Some((target, _))) => return Ok((ops, Scanned::Jump(target))),
            (Op::ZBranch(_) | Op::NzBranch(_), Some((taken, fall)))
                if ops.last() == Some(&Op::QDup) =>
            {
                ops.pop();
                return Ok((ops, Scanned::Branch(op, true, taken, fall)));
            }
            (_, Some((taken, fall))) => {
                return Ok((ops, Scanned::Branch(op, false, taken, fall)));
            }
            (_, None) => ops.push(op),
        }
        at += 1;
        if leaders.contains(&at) {
            return Ok((ops, Scanned::Jump(Some(at))));
        }
    }
}

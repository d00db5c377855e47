//! Rust source for one definition: a function whose data stack cells are the locals `s0`,
//! `s1`, ... (static mode) or live on the explicit stack (dynamic mode), whose return stack
//! cells are the locals `r0`, `r1`, ..., and whose control flow is nested labeled blocks and
//! loops laid out by [`crate::structure`].
//!
//! The text stays linear in the definition's size: indentation stops growing after
//! [`INDENT_CAP`] levels, and a definition nested deeper than [`MAX_NESTING`] levels (which
//! rustc's recursive passes, and this emitter's own recursion, cannot take) is refused.

use crate::cfg::{Block, Cfg, Exit, Term};
use crate::ops::{self, Class, Effect};
use crate::shape::{Mode, Shape};
use crate::structure::Structure;
use std::collections::HashMap;
use std::fmt::Write;

/// The Rust function name of the definition with this execution token.
pub fn function_name(xt: u32) -> String {
    format!("w{xt}")
}

/// The Rust function a run starts the definition through: it takes its inputs from the
/// explicit stack and leaves its outputs there.
pub fn entry_function(xt: u32, mode: Mode, name: &str) -> String {
    format!(
        "fn e{xt}(vm: &mut Vm) {{\n    const W: &str = {name:?};\n    {}\n}}\n",
        on_explicit_stack(xt, mode, "1")
    )
}

/// An expression calling the definition on the explicit stack with `rp` as its return
/// stack depth.
pub fn on_explicit_stack(xt: u32, mode: Mode, rp: &str) -> String {
    match mode {
        Mode::Dynamic => format!("{}(vm, {rp})", function_name(xt)),
        Mode::Static(s) => {
            let code = call_code(&function_name(xt), s.inputs, rp);
            on_stack(effect(s.inputs, s.outputs), &code)
        }
    }
}

/// A statement running a built-in word's instructions on the explicit stack, when every one
/// of them can run there (none touches the return stack or needs the definition around it),
/// or when it is one instruction that works on the explicit stack itself (EXECUTE, CATCH,
/// PICK, DEPTH...), written for `execute`'s scope (`vm`, `rp`, `W`).
pub fn primitive_on_stack(code: &[fastforth_engine::ir::Op]) -> Option<String> {
    if let &[op] = code
        && let Class::Stackful(run) = ops::classify(op, 0)
    {
        return Some(format!("{{ {run} }}"));
    }
    let mut statements = Vec::new();
    for &op in code {
        match ops::classify(op, 0) {
            Class::Fixed(effect, template) if effect.rreads == 0 && effect.rdelta == 0 => {
                statements.push(on_stack(effect, &template));
            }
            _ => return None,
        }
    }
    Some(format!("{{ {} }}", statements.join(" ")))
}

fn effect(ins: usize, outs: usize) -> Effect {
    Effect {
        ins,
        outs,
        rreads: 0,
        rdelta: 0,
    }
}

/// A call of the function `name` of a static definition with `ins` inputs, passing `rp` as
/// its return stack depth.
fn call_code(name: &str, ins: usize, rp: &str) -> String {
    let mut code = format!("{name}(vm, {rp}");
    for i in 0..ins {
        write!(code, ", ${i}").expect("writing to a String");
    }
    code.push(')');
    code
}

/// Replaces the `$i` placeholders of a template with `names`.
fn fill(template: &str, names: &[String]) -> String {
    let mut code = template.to_owned();
    for (i, name) in names.iter().enumerate().rev() {
        code = code.replace(&format!("${i}"), name);
    }
    code
}

/// A statement running `template` on the explicit stack: pops its inputs, pushes its outputs.
fn on_stack(effect: Effect, template: &str) -> String {
    let inputs: Vec<String> = (0..effect.ins).map(|i| format!("x{i}")).collect();
    let mut code = String::from("{ ");
    for input in inputs.iter().rev() {
        write!(code, "let {input} = vm.pop().or_throw_in(W); ").expect("writing to a String");
    }
    let expression = fill(template, &inputs);
    let outputs: Vec<String> = (0..effect.outs).map(|i| format!("y{i}")).collect();
    match outputs.len() {
        0 if expression.is_empty() => {}
        0 => write!(code, "{expression}; ").expect("writing to a String"),
        1 => write!(code, "let y0 = {expression}; ").expect("writing to a String"),
        _ => write!(code, "let ({}) = {expression}; ", outputs.join(", "))
            .expect("writing to a String"),
    }
    for output in &outputs {
        write!(code, "vm.push({output}).or_throw_in(W); ").expect("writing to a String");
    }
    code.push('}');
    code
}

/// A statement running `template` on the locals: inputs are the top `effect.ins` of the
/// `depth` cells, outputs replace them.
fn on_locals(effect: Effect, template: &str, depth: usize) -> String {
    let base = depth - effect.ins;
    let inputs: Vec<String> = (base..depth).map(|i| format!("s{i}")).collect();
    let expression = fill(template, &inputs);
    let outputs: Vec<String> = (base..base + effect.outs)
        .map(|i| format!("s{i}"))
        .collect();
    match outputs.len() {
        0 if expression.is_empty() => String::new(),
        0 => format!("{expression};"),
        1 => format!("{} = {expression};", outputs[0]),
        _ => format!("({}) = {expression};", outputs.join(", ")),
    }
}

/// The deepest nesting of blocks, loops and branches a definition may have.
pub const MAX_NESTING: usize = 256;

/// Indentation shows at most this many levels, so each line costs O(1) whatever its depth.
pub const INDENT_CAP: usize = 8;

fn too_deep() -> String {
    format!(
        "control flow nests more than {MAX_NESTING} levels deep (the most the native backend compiles)"
    )
}

/// Text with indentation.
struct Writer {
    text: String,
    indent: usize,
}

impl Writer {
    fn line(&mut self, line: &str) {
        if !line.is_empty() {
            for _ in 0..self.indent.min(INDENT_CAP) {
                self.text.push_str("    ");
            }
            self.text.push_str(line);
            self.text.push('\n');
        }
    }

    /// Opens a brace: `head {`, or a refusal when the nesting would exceed [`MAX_NESTING`].
    fn open(&mut self, head: &str) -> Result<(), String> {
        if self.indent >= MAX_NESTING {
            return Err(too_deep());
        }
        self.line(&format!("{head} {{"));
        self.indent += 1;
        Ok(())
    }

    /// Closes the open brace and opens another on the same line (`} else {`).
    fn reopen(&mut self, head: &str) -> Result<(), String> {
        self.indent -= 1;
        self.open(head)
    }

    fn close(&mut self) {
        self.indent -= 1;
        self.line("}");
    }
}

/// Everything needed to write one definition.
pub struct Definition<'a> {
    pub xt: u32,
    /// The Forth name, which errors raised in the definition carry (`W` in its function).
    pub name: &'a str,
    pub cfg: &'a Cfg,
    pub shape: &'a Shape,
    pub structure: &'a Structure,
    /// The mode of every definition it may call (besides itself).
    pub callees: &'a HashMap<u32, Mode>,
}

/// The Rust function of a definition, or why it nests too deeply to compile. A static
/// definition that calls itself is followed by copies of itself, inlined into it: its calls
/// of itself go to the first copy, each copy's to the next, the last one's back to the
/// function, so that a call runs [`RECURSION_LEVELS`] levels of the recursion at most
/// (LLVM never inlines a recursive function into itself; gcc does, several levels deep).
/// One depth check on entry covers all the levels a call runs; where any of them could be
/// deep, a cold copy that checks every level runs instead.
pub fn function(definition: &Definition<'_>) -> Result<String, String> {
    let name = function_name(definition.xt);
    let first = copy_name(definition.xt, 1);
    let (text, self_calls, size) = body(definition, &name, &first, Entry::Checked)?;
    let levels = recursion_levels(self_calls, size);
    let text = match levels {
        1 if self_calls > 0 => body(definition, &name, &name, Entry::Checked)?.0,
        1 => text,
        _ => recursion_copies(definition, levels)?,
    };
    Ok(text + &deep_entry(definition))
}

/// The function of a self-recursive definition that runs `levels` levels of its recursion
/// per call, its inlined copies, and the cold copy that runs deep in the stacks.
fn recursion_copies(definition: &Definition<'_>, levels: usize) -> Result<String, String> {
    let name = function_name(definition.xt);
    let deep = deep_copy_name(definition.xt);
    let guard = Entry::Guard {
        levels,
        deep: &deep,
    };
    let mut text = body(definition, &name, &copy_name(definition.xt, 1), guard)?.0;
    for level in 1..levels {
        let callee = match level + 1 {
            next if next < levels => copy_name(definition.xt, next),
            _ => name.clone(),
        };
        let copy = body(
            definition,
            &copy_name(definition.xt, level),
            &callee,
            Entry::Covered,
        )?;
        text = text + "#[inline(always)]\n" + &copy.0;
    }
    let checked = body(definition, &deep, &name, Entry::Checked)?.0;
    Ok(text + "#[cold]\n#[inline(never)]\n" + &checked)
}

/// How a function of a definition checks the return stack depth on entry.
#[derive(Clone, Copy)]
enum Entry<'a> {
    /// Its own depth, on every call.
    Checked,
    /// The depths of the `levels` levels of the recursion a call runs, at once: where any
    /// could be deep, the call goes to the copy named `deep`, which checks each level.
    Guard { levels: usize, deep: &'a str },
    /// None: an inlined copy whose depth the guard of the first function covered.
    Covered,
}

/// How many levels of a self-recursive definition one call runs at most.
pub const RECURSION_LEVELS: usize = 5;

/// The most instructions the copies of a self-recursive definition add to its function.
const RECURSION_BUDGET: usize = 400;

/// The levels a call of a definition with `self_calls` calls of itself and `size`
/// instructions runs: one more for as long as the copies it takes stay within the budget
/// (fib, 2 calls of itself in 9 instructions: 5 levels, 30 copies inlined).
fn recursion_levels(self_calls: usize, size: usize) -> usize {
    let mut levels = 1;
    let (mut copies, mut width) = (0, 1);
    while self_calls > 0 && levels < RECURSION_LEVELS {
        width *= self_calls;
        if (copies + width) * size > RECURSION_BUDGET {
            break;
        }
        copies += width;
        levels += 1;
    }
    levels
}

/// The name of the copy of a self-recursive definition at `level`.
fn copy_name(xt: u32, level: usize) -> String {
    format!("{}_{level}", function_name(xt))
}

/// The name of the copy of a self-recursive definition that checks the depth of each level.
fn deep_copy_name(xt: u32) -> String {
    format!("{}_deep", function_name(xt))
}

/// The text of a definition's function named `name`, whose calls of itself call
/// `self_call` and which checks the depth on entry as `entry` says; how many such calls it
/// makes, and its number of instructions.
fn body(
    definition: &Definition<'_>,
    name: &str,
    self_call: &str,
    entry: Entry<'_>,
) -> Result<(String, usize, usize), String> {
    let shape = definition.shape;
    let mut writer = Writer {
        text: String::new(),
        indent: 0,
    };
    writer.open(&signature(name, shape.mode))?;
    writer.line(&format!("const W: &str = {:?};", definition.name));
    let inputs = match shape.mode {
        Mode::Static(s) => s.inputs,
        Mode::Dynamic => shape.slots,
    };
    match entry {
        Entry::Checked => writer.line(&format!(
            "if rt::is_deep(rp, RS) {{ {}(vm, rp) }}",
            deep_entry_name(definition.xt)
        )),
        Entry::Guard { levels, deep } => {
            let ins = match shape.mode {
                Mode::Static(s) => s.inputs,
                Mode::Dynamic => 0,
            };
            let arguments: Vec<String> = (0..ins).map(|i| format!("s{i}")).collect();
            let call = fill(&call_code(deep, ins, "rp"), &arguments);
            writer.line(&format!(
                "if rt::is_deep(rp + {}, RS) {{ return {call}; }}",
                levels - 1
            ));
        }
        Entry::Covered => {}
    }
    for i in inputs..shape.slots {
        writer.line(&format!("let mut s{i}: i64 = 0;"));
    }
    for i in 0..shape.rslots {
        writer.line(&format!("let mut r{i}: i64 = 0;"));
    }
    let mut emitter = Emitter {
        definition,
        writer,
        depth: 0,
        self_call,
        self_calls: 0,
        size: 0,
    };
    emitter.tree(0)?;
    emitter.writer.close();
    Ok((emitter.writer.text, emitter.self_calls, emitter.size))
}

/// The function a definition's entry calls deep in the stacks.
fn deep_entry_name(xt: u32) -> String {
    format!("d{xt}")
}

/// The entry check of a definition deep in the stacks, out of line and cold: the word's own
/// code then keeps no register for its name or the return stack's size (fib: a 4-register
/// prologue instead of 7, 366 -> 312 M instructions).
fn deep_entry(definition: &Definition<'_>) -> String {
    format!(
        "#[cold]\n#[inline(never)]\nfn {}(vm: &Vm, rp: usize) {{\n    vm.enter_deep(rp, RS, {:?});\n}}\n",
        deep_entry_name(definition.xt),
        definition.name
    )
}

fn signature(name: &str, mode: Mode) -> String {
    match mode {
        Mode::Dynamic => format!("fn {name}(vm: &mut Vm, rp: usize)"),
        Mode::Static(s) => {
            let params: String = (0..s.inputs).map(|i| format!(", mut s{i}: i64")).collect();
            let result = match s.outputs {
                0 => "()".to_owned(),
                1 => "i64".to_owned(),
                n => format!("({})", vec!["i64"; n].join(", ")),
            };
            format!("fn {name}(vm: &mut Vm, rp: usize{params}) -> {result}")
        }
    }
}

struct Emitter<'a, 'b> {
    definition: &'b Definition<'a>,
    writer: Writer,
    /// How many calls of `tree` are open: a block placed inside its predecessor nests one
    /// level deeper even when no brace opens.
    depth: usize,
    /// The function the definition's calls of itself call.
    self_call: &'b str,
    /// How many calls of itself the definition makes, and how many instructions it has.
    self_calls: usize,
    size: usize,
}

impl Emitter<'_, '_> {
    /// The mode of a definition this one calls (itself included).
    fn mode_of(&self, xt: u32) -> Option<&Mode> {
        if xt == self.definition.xt {
            Some(&self.definition.shape.mode)
        } else {
            self.definition.callees.get(&xt)
        }
    }

    fn is_static(&self) -> bool {
        matches!(self.definition.shape.mode, Mode::Static(_))
    }

    /// A block and everything it dominates.
    fn tree(&mut self, block: usize) -> Result<(), String> {
        if self.depth >= MAX_NESTING {
            return Err(too_deep());
        }
        self.depth += 1;
        let structure = self.definition.structure;
        if structure.loop_header[block] {
            self.writer.open(&format!("'l{block}: loop"))?;
            self.within(block, &structure.merge_children[block])?;
            self.writer.close();
        } else {
            self.within(block, &structure.merge_children[block])?;
        }
        self.depth -= 1;
        Ok(())
    }

    /// A block, with the merge blocks it dominates placed after labeled blocks around it.
    fn within(&mut self, block: usize, merges: &[usize]) -> Result<(), String> {
        match merges.split_last() {
            Some((&last, inner)) => {
                self.writer.open(&format!("'b{last}:"))?;
                self.within(block, inner)?;
                self.writer.close();
                self.tree(last)
            }
            None => self.body(block),
        }
    }

    /// A block's instructions and how it ends.
    fn body(&mut self, id: usize) -> Result<(), String> {
        let shape = self.definition.shape;
        let block: &Block = &self.definition.cfg.blocks[id];
        let (mut d, mut k) = (shape.depth[id], shape.rdepth[id]);
        for &op in &block.ops {
            let (line, effect) = self.instruction(op, d, k);
            self.writer.line(&line);
            d = (d + effect.outs).saturating_sub(effect.ins);
            k = k.wrapping_add_signed(effect.rdelta);
        }
        match block.term {
            Term::Jump(exit) => self.edge(id, exit, d),
            Term::Branch {
                op,
                qdup,
                taken,
                fall,
            } => self.branch(id, (op, qdup), (taken, fall), d, k),
        }
    }

    /// One instruction's statement, and its effect on the depths.
    fn instruction(
        &mut self,
        op: fastforth_engine::ir::Op,
        d: usize,
        k: usize,
    ) -> (String, Effect) {
        self.size += 1;
        let (effect, template) = match ops::classify(op, k) {
            Class::Fixed(effect, code) => (effect, code),
            Class::Stackful(code) => return (format!("{{ {code} }}"), effect(0, 0)),
            Class::Call(xt) => match self.mode_of(xt) {
                Some(&Mode::Static(s)) => {
                    let rp = format!("rp + {}", k + 1);
                    let name = if xt == self.definition.xt {
                        self.self_calls += 1;
                        self.self_call.to_owned()
                    } else {
                        function_name(xt)
                    };
                    (effect(s.inputs, s.outputs), call_code(&name, s.inputs, &rp))
                }
                _ => {
                    let call = format!("{}(vm, rp + {});", function_name(xt), k + 1);
                    return (call, effect(0, 0));
                }
            },
            Class::Unsupported => unreachable!("the analysis refuses {op:?}"),
        };
        let line = if self.is_static() {
            on_locals(effect, &template, d)
        } else {
            on_stack(effect, &template)
        };
        (line, effect)
    }

    /// A two-way branch at the end of a block.
    fn branch(
        &mut self,
        id: usize,
        (op, qdup): (fastforth_engine::ir::Op, bool),
        (taken, fall): (Exit, Exit),
        d: usize,
        k: usize,
    ) -> Result<(), String> {
        self.size += 1;
        let code = ops::branch(op, qdup, k).expect("the analysis accepted the branch");
        let inputs: Vec<String> = if self.is_static() {
            (d - code.ins..d).map(|i| format!("s{i}")).collect()
        } else {
            let names: Vec<String> = (0..code.ins).map(|i| format!("x{i}")).collect();
            for name in names.iter().rev() {
                self.writer
                    .line(&format!("let {name} = vm.pop().or_throw_in(W);"));
            }
            names
        };
        let keep = |pops: usize| -> String {
            if self.is_static() {
                return String::new();
            }
            (0..code.ins - pops)
                .map(|i| format!("vm.push(x{i}).or_throw_in(W); "))
                .collect()
        };
        let (taken_prefix, fall_prefix) = (keep(code.taken_pops), keep(code.fall_pops));
        let whole = ops::whole_loop(op, k).filter(|_| {
            taken == Exit::Block(id) && self.definition.cfg.blocks[id].ops.is_empty() && !qdup
        });
        if let Some(whole) = whole {
            self.writer.line(&fill(&whole, &inputs));
            self.writer.line(fall_prefix.trim_end());
            return self.edge(id, fall, d.saturating_sub(code.fall_pops));
        }
        self.writer.line(&fill(&code.before, &inputs));
        self.writer
            .open(&format!("if {}", fill(&code.condition, &inputs)))?;
        self.writer.line(taken_prefix.trim_end());
        self.edge(id, taken, d.saturating_sub(code.taken_pops))?;
        self.writer.reopen("} else")?;
        self.writer.line(fall_prefix.trim_end());
        self.writer.line(&fill(&code.fall_prefix, &inputs));
        self.edge(id, fall, d.saturating_sub(code.fall_pops))?;
        self.writer.close();
        Ok(())
    }

    /// Control along an edge: return, continue a loop, break to a merge block, or the
    /// target's code itself.
    fn edge(&mut self, from: usize, exit: Exit, d: usize) -> Result<(), String> {
        let structure = self.definition.structure;
        match exit {
            Exit::Return => {
                let line = self.return_statement(d);
                self.writer.line(&line);
            }
            Exit::Block(to) if structure.is_back_edge(from, to) => {
                self.writer.line(&format!("continue 'l{to};"));
            }
            Exit::Block(to) if structure.merge[to] => {
                self.writer.line(&format!("break 'b{to};"));
            }
            Exit::Block(to) => return self.tree(to),
        }
        Ok(())
    }

    fn return_statement(&self, d: usize) -> String {
        let cells: Vec<String> = (0..d).map(|i| format!("s{i}")).collect();
        match (self.definition.shape.mode, cells.len()) {
            (Mode::Dynamic, _) | (_, 0) => "return;".to_owned(),
            (_, 1) => format!("return {};", cells[0]),
            _ => format!("return ({});", cells.join(", ")),
        }
    }
}

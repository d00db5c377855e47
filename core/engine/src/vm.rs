//! The executor: a loop over the code space that dispatches each instruction with one
//! `match`, keeps the top of the data stack in a local, and never recurses on the host
//! stack for Forth calls (return addresses live on the explicit return stack).

use crate::console::{Console, HostWordError};
use crate::dictionary::{Kind, op_name};
use crate::engine::Forth;
use crate::error::{Fallible, Throw, code};
use crate::host_words::call_host;
use crate::ir::{Op, Sys};
use crate::machine::{BYTES_PER_STEP, CATCH_OK_ADDRESS, CatchFrame, HALT_ADDRESS, is_xt};
use crate::memory::CELL;
use std::sync::atomic::{AtomicBool, Ordering};

/// Why the inner loop stopped.
enum Event {
    Halt,
    Sys(Sys),
    /// A host word could not run or failed; the stack is as it left it.
    HostFailed(Box<HostWordError>),
    Throw(i64),
    /// A throw from a fused instruction, named after the part of it that failed.
    ThrowAs(i64, Op),
    Does(u32),
    /// EXECUTE or a deferred word reached code that works on its caller's return stack
    /// frame (see [`works_on_callers_frame`]); the token is taken, nothing is pushed yet.
    ExecuteFramed(usize),
    CatchOk,
    /// The interrupt flag was found set.
    Interrupt,
}

/// Instructions the executor runs between two looks at the interrupt flag (at most; it
/// also looks each time it starts).
const POLL_INTERVAL: u64 = 1 << 14;

/// Called when the steps handed to the executor are used up: -28 when the interrupt flag
/// is set (clearing it), -256 when the budget is spent, otherwise 0 after handing out the
/// next slice of `reserve` in `steps`.
#[cold]
#[inline(never)]
fn refuel(reserve: &mut u64, interrupt: &AtomicBool, steps: &mut u64) -> i64 {
    if interrupt.swap(false, Ordering::Relaxed) {
        return code::USER_INTERRUPT;
    }
    if *reserve == 0 {
        return code::STEP_BUDGET_EXHAUSTED;
    }
    let fuel = (*reserve).min(POLL_INTERVAL);
    *reserve -= fuel;
    *steps = fuel - 1;
    0
}

/// BYE, QUIT and an exhausted step budget (`steps_left` is 0) unwind to the top level
/// without stopping at CATCH; every other throw can be caught, -256 from THROW too.
fn uncatchable(throw: &Throw, steps_left: u64) -> bool {
    throw.stop.is_some() || (throw.code == code::STEP_BUDGET_EXHAUSTED && steps_left == 0)
}

/// Floored division of a double by a single; `None` when the quotient does not fit.
pub fn floored_divide(dividend: i128, divisor: i64) -> Option<(i64, i64)> {
    let divisor = divisor as i128;
    let quotient = dividend.checked_div_euclid(divisor)?;
    let mut remainder = dividend - quotient * divisor;
    let mut quotient = quotient;
    if remainder != 0 && (remainder < 0) != (divisor < 0) {
        remainder += divisor;
        quotient -= 1;
    }
    Some((remainder as i64, i64::try_from(quotient).ok()?))
}

/// `/`: the symmetric quotient; -10 for a zero divisor, -11 when it does not fit (the
/// smallest number divided by -1).
fn quotient(dividend: i64, divisor: i64) -> Result<i64, i64> {
    if divisor == 0 {
        return Err(code::DIVISION_BY_ZERO);
    }
    dividend
        .checked_div(divisor)
        .ok_or(code::RESULT_OUT_OF_RANGE)
}

/// Symmetric division of a double by a single; `None` when the quotient does not fit.
pub fn symmetric_divide(dividend: i128, divisor: i64) -> Option<(i64, i64)> {
    let quotient = dividend.checked_div(divisor as i128)?;
    let remainder = dividend.checked_rem(divisor as i128)?;
    Some((remainder as i64, i64::try_from(quotient).ok()?))
}

/// The double cell ( low high ) as one signed number. `fastforth-native-runtime` has its own
/// copy: it may not depend on the engine, and the engine depends on nothing.
pub fn double(low: i64, high: i64) -> i128 {
    ((high as i128) << 64) | (low as u64 as i128)
}

impl Forth {
    /// Runs the word with this execution token to completion (or to an uncaught throw).
    pub(crate) fn execute_xt(&mut self, xt: i64, console: &mut dyn Console) -> Fallible<()> {
        if !is_xt(xt, self.code.len()) {
            return Err(Throw::new(code::INVALID_XT));
        }
        self.refuse_frameless(xt)?;
        let saved = (self.machine.ip, self.machine.rbase, self.machine.rdepth);
        self.push_rs(HALT_ADDRESS as i64)?;
        self.machine.rbase = self.machine.rdepth - 1;
        self.machine.ip = xt as usize;
        self.machine.run_level += 1;
        let result = self.run_loop(console);
        let level = self.machine.run_level;
        self.machine
            .catch_frames
            .retain(|frame| frame.level < level);
        self.machine.run_level -= 1;
        (self.machine.ip, self.machine.rbase, self.machine.rdepth) = saved;
        result
    }

    fn run_loop(&mut self, console: &mut dyn Console) -> Fallible<()> {
        loop {
            let outcome = match self.run_inner(console) {
                Event::Halt => return Ok(()),
                Event::Sys(word) => self
                    .system(word, console)
                    .map_err(|t| name_throw(t, Op::Sys(word))),
                Event::HostFailed(error) => Err(self.host_word_failed(*error, console)),
                Event::Throw(throw_code) => Err(self.throw_here(throw_code)),
                Event::ThrowAs(throw_code, op) => Err(name_throw(Throw::new(throw_code), op)),
                Event::Does(target) => self.set_does(target),
                Event::ExecuteFramed(xt) => self.execute_framed(xt),
                Event::CatchOk => self.catch_ok(),
                Event::Interrupt => Err(Throw::new(code::USER_INTERRUPT)),
            };
            if let Err(throw) = outcome {
                self.handle_throw(throw)?;
            }
        }
    }

    fn throw_here(&self, throw_code: i64) -> Throw {
        let failed = self
            .machine
            .ip
            .checked_sub(1)
            .and_then(|at| self.code.get(at).copied());
        let called = match failed {
            Some(Op::Call(xt)) => self.dict.by_xt(i64::from(xt)),
            Some(Op::ExecuteAt(body)) => self.dict.words.iter().rposition(
                |word| matches!(word.kind, Kind::Defer { body: action } if action == body),
            ),
            _ => None,
        };
        match (called, failed) {
            // A call that could not be made (the return stack is full) is named after the
            // word it calls, and a deferred word's action that cannot run after the
            // deferred word, not after EXECUTE.
            (Some(word), _) => {
                let name = String::from_utf8_lossy(&self.dict.words[word].name);
                Throw::new(throw_code).in_word(&name)
            }
            (None, Some(op)) => name_throw(Throw::new(throw_code), op),
            (None, None) => Throw::new(throw_code),
        }
    }

    /// Resumes at the innermost CATCH of this run, or passes the throw on.
    fn handle_throw(&mut self, throw: Throw) -> Fallible<()> {
        let level = self.machine.run_level;
        let frame = match self.machine.catch_frames.last() {
            Some(frame)
                if frame.level == level && !uncatchable(&throw, self.machine.steps_left) =>
            {
                *frame
            }
            _ => return Err(throw),
        };
        self.machine.catch_frames.pop();
        self.restore_sources(frame.sources);
        self.machine.depth = frame.depth;
        self.push(throw.code)?;
        self.machine.rdepth = frame.rdepth;
        self.machine.ip = frame.ip;
        Ok(())
    }

    /// EXECUTE of `xt`, whose code works on its caller's return stack frame: a definition
    /// of the program is called as any other; a compile-only built-in is -14.
    fn execute_framed(&mut self, xt: usize) -> Fallible<()> {
        self.refuse_frameless(xt as i64)?;
        self.push_rs(self.machine.ip as i64)?;
        self.machine.ip = xt;
        Ok(())
    }

    /// -14 for the token of a compile-only built-in that works on its caller's return stack
    /// frame (>R, R>, I, UNLOOP, N>R...): compiled, it is inlined into its caller; executed
    /// by token, it would take the token's own return address for that frame.
    fn refuse_frameless(&self, xt: i64) -> Fallible<()> {
        if !works_on_callers_frame(&self.code, xt) {
            return Ok(());
        }
        match self.dict.by_xt(xt).map(|index| &self.dict.words[index]) {
            Some(word) if word.compile_only => {
                let name = String::from_utf8_lossy(&word.name);
                Err(Throw::new(code::COMPILE_ONLY).in_word(&name))
            }
            _ => Ok(()),
        }
    }

    /// CATCH ( i*x xt -- j*x 0 | i*x n ).
    pub(crate) fn catch(&mut self) -> Fallible<()> {
        let xt = self.pop()?;
        // A token that cannot run throws inside the frame: CATCH catches it.
        let runnable = if is_xt(xt, self.code.len()) {
            self.refuse_frameless(xt)
        } else {
            Err(Throw::new(code::INVALID_XT))
        };
        if let Err(throw) = runnable {
            return self.push(throw.code);
        }
        let frame = CatchFrame {
            depth: self.machine.depth,
            rdepth: self.machine.rdepth,
            ip: self.machine.ip,
            sources: self.sources.len(),
            level: self.machine.run_level,
        };
        self.push_rs(CATCH_OK_ADDRESS as i64)?;
        self.machine.catch_frames.push(frame);
        self.machine.ip = xt as usize;
        Ok(())
    }

    fn catch_ok(&mut self) -> Fallible<()> {
        match self.machine.catch_frames.last() {
            Some(frame)
                if frame.level == self.machine.run_level && frame.rdepth == self.machine.rdepth =>
            {
                self.machine.ip = frame.ip;
                self.machine.catch_frames.pop();
                self.push(0)
            }
            _ => Err(Throw::new(code::RETURN_STACK_IMBALANCE)),
        }
    }

    /// DOES> at run time: the latest CREATEd word now runs the code at `target`.
    fn set_does(&mut self, target: u32) -> Fallible<()> {
        let word = self.latest.and_then(|index| self.dict.words.get(index));
        let Some(word) = word.filter(|w| matches!(w.kind, crate::dictionary::Kind::Created { .. }))
        else {
            return Err(Throw::new(code::INVALID_NAME_ARGUMENT));
        };
        let patch = word.xt as usize + 1;
        self.code[patch] = Op::Branch(target);
        Ok(())
    }

    /// The inner interpreter. Returns when an instruction needs the host side; host words
    /// run from inside it, through `console`. Never inlined: alone, its registers go to the
    /// executor's state and not to its caller's.
    #[allow(clippy::too_many_lines)]
    #[inline(never)]
    fn run_inner(&mut self, console: &mut dyn Console) -> Event {
        // The flag itself rather than `check_interrupt`, whose throw this loop would only drop.
        if self.interrupt.load(Ordering::Relaxed) && self.interrupt.swap(false, Ordering::Relaxed) {
            return Event::Interrupt;
        }
        let code = &self.code[..];
        let mem = &mut self.mem[..];
        let mut sp = self.machine.depth;
        let mut tos = self.machine.ds.get(sp).copied().unwrap_or(0);
        // The slot above the deepest item holds the cached top of the stack on exit, so the
        // executor sees one slot less: pushing fails exactly when the stack is full.
        let cap = self.machine.ds.len().saturating_sub(1);
        let mut ds = &mut self.machine.ds[..cap];
        // The return stack as seen by this run starts at its base, so that underflow
        // checks compare with constants.
        let rbase = self.machine.rbase.min(self.machine.rs.len());
        let rs = &mut self.machine.rs[rbase..];
        let mut ip = self.machine.ip;
        let mut rsp = self.machine.rdepth.saturating_sub(rbase);
        // `steps` counts down a slice of the budget; the rest stays in `self.machine.steps_left` and
        // is handed out a slice at a time, so that the interrupt flag is seen between slices.
        let mut steps = self.machine.steps_left.min(POLL_INTERVAL);
        self.machine.steps_left -= steps;
        // Host words reach the console through this slot's address, so that the loop keeps
        // no register for it (see `call_host`).
        let mut host = console;

        macro_rules! need {
            ($n:expr) => {
                if sp < $n {
                    break Event::Throw(code::STACK_UNDERFLOW);
                }
            };
        }
        macro_rules! push {
            ($value:expr) => {{
                let value = $value;
                match ds.get_mut(sp) {
                    Some(slot) => *slot = tos,
                    None => break Event::Throw(code::STACK_OVERFLOW),
                }
                sp += 1;
                tos = value;
            }};
        }
        macro_rules! drop1 {
            () => {{
                tos = ds[sp - 1];
                sp -= 1;
            }};
        }
        macro_rules! binary {
            (|$a:ident: i64, $b:ident: i64| $body:expr) => {{
                need!(2);
                let $a: i64 = ds[sp - 1];
                let $b: i64 = tos;
                tos = $body;
                sp -= 1;
            }};
        }
        macro_rules! flag {
            ($b:expr) => {
                if $b { -1 } else { 0 }
            };
        }
        macro_rules! rneed {
            ($n:expr) => {
                if rsp < $n {
                    break Event::Throw(code::RETURN_STACK_UNDERFLOW);
                }
            };
        }
        // The top of the return stack; one comparison checks for underflow and bounds.
        macro_rules! rtop {
            ($failed:expr) => {
                match rs.get(rsp.wrapping_sub(1)) {
                    Some(&x) => x,
                    None => break Event::ThrowAs(code::RETURN_STACK_UNDERFLOW, $failed),
                }
            };
        }
        // The innermost loop's `[limit, index]`, checked the same way.
        macro_rules! loop_parameters {
            ($failed:expr) => {
                match rs.get_mut(rsp.wrapping_sub(2)..rsp) {
                    Some(parameters) => parameters,
                    None => break Event::ThrowAs(code::RETURN_STACK_UNDERFLOW, $failed),
                }
            };
        }
        macro_rules! rpush {
            ($value:expr) => {{
                match rs.get_mut(rsp) {
                    Some(slot) => *slot = $value,
                    None => break Event::Throw(code::RETURN_STACK_OVERFLOW),
                }
                rsp += 1;
            }};
        }
        macro_rules! tick {
            () => {{
                match steps.checked_sub(1) {
                    Some(left) => steps = left,
                    None => {
                        let stop =
                            refuel(&mut self.machine.steps_left, &self.interrupt, &mut steps);
                        if stop != 0 {
                            break Event::Throw(stop);
                        }
                    }
                }
            }};
        }
        macro_rules! jump {
            ($target:expr) => {{
                tick!();
                ip = $target as usize;
            }};
        }
        macro_rules! load {
            ($address:expr) => {{
                let address = $address as u64 as usize;
                match mem.get(address..).and_then(|s| s.first_chunk::<CELL>()) {
                    Some(bytes) => i64::from_le_bytes(*bytes),
                    None => break Event::Throw(code::INVALID_ADDRESS),
                }
            }};
        }
        // The two cells at an address (x2 at it, x1 in the next cell), checked at once.
        macro_rules! load2 {
            ($address:expr) => {{
                let address = $address as u64 as usize;
                match mem
                    .get(address..)
                    .and_then(|s| s.first_chunk::<{ 2 * CELL }>())
                {
                    Some(bytes) => {
                        let (x2, x1) = bytes.split_at(CELL);
                        (cell_of(x1), cell_of(x2))
                    }
                    None => break Event::Throw(code::INVALID_ADDRESS),
                }
            }};
        }
        // Stores x2 at the address and x1 in the next cell; when they do not both fit,
        // stores one by one so that the first store happens before the throw.
        macro_rules! store2 {
            ($address:expr, $x1:expr, $x2:expr) => {{
                let (x1, x2): (i64, i64) = ($x1, $x2);
                let address = $address as u64 as usize;
                match mem
                    .get_mut(address..)
                    .and_then(|s| s.first_chunk_mut::<{ 2 * CELL }>())
                {
                    Some(bytes) => {
                        let (low, high) = bytes.split_at_mut(CELL);
                        low.copy_from_slice(&x2.to_le_bytes());
                        high.copy_from_slice(&x1.to_le_bytes());
                    }
                    None => {
                        store!(address, x2);
                        store!((address as u64).wrapping_add(CELL as u64), x1);
                    }
                }
            }};
        }
        // `OVER @ OVER @ *` on ( a1 a2 ): the product of the cells at a1 and a2, each part
        // checked as it would check alone, in order; the stack is left as it was.
        macro_rules! fetch_both_mul {
            () => {{
                if sp < 2 {
                    break Event::ThrowAs(code::STACK_UNDERFLOW, Op::Over);
                }
                if sp >= ds.len() {
                    break Event::ThrowAs(code::STACK_OVERFLOW, Op::Over);
                }
                let Some(x1) = fetch_cell(mem, ds[sp - 1]) else {
                    break Event::ThrowAs(code::INVALID_ADDRESS, Op::Fetch);
                };
                if sp + 1 >= ds.len() {
                    break Event::ThrowAs(code::STACK_OVERFLOW, Op::Over);
                }
                let Some(x2) = fetch_cell(mem, tos) else {
                    break Event::ThrowAs(code::INVALID_ADDRESS, Op::Fetch);
                };
                x1.wrapping_mul(x2)
            }};
        }
        macro_rules! store {
            ($address:expr, $value:expr) => {{
                let address = $address as u64 as usize;
                match mem
                    .get_mut(address..)
                    .and_then(|s| s.first_chunk_mut::<CELL>())
                {
                    Some(bytes) => *bytes = ($value as i64).to_le_bytes(),
                    None => break Event::Throw(code::INVALID_ADDRESS),
                }
            }};
        }

        let event = loop {
            let Some(op) = code.get(ip) else {
                break Event::Throw(code::INVALID_ADDRESS);
            };
            ip += 1;
            match *op {
                Op::Halt => {
                    if rsp != 0 {
                        break Event::Throw(code::INVALID_XT);
                    }
                    break Event::Halt;
                }
                Op::CatchOk => break Event::CatchOk,
                Op::Lit(n) => push!(n),
                Op::Call(target) => {
                    tick!();
                    rpush!(ip as i64);
                    ip = target as usize;
                }
                Op::Exit => {
                    ip = rtop!(Op::Exit) as u64 as usize;
                    rsp -= 1;
                }
                Op::Branch(target) => jump!(target),
                Op::ZBranch(target) => {
                    need!(1);
                    let x = tos;
                    drop1!();
                    if x == 0 {
                        jump!(target);
                    }
                }
                Op::Execute => {
                    need!(1);
                    let xt = tos;
                    drop1!();
                    if !is_xt(xt, code.len()) {
                        break Event::Throw(code::INVALID_XT);
                    }
                    if works_on_callers_frame(code, xt) {
                        break Event::ExecuteFramed(xt as usize);
                    }
                    tick!();
                    rpush!(ip as i64);
                    ip = xt as usize;
                }
                Op::ExecuteAt(address) => {
                    let xt = load!(address);
                    if !is_xt(xt, code.len()) {
                        break Event::Throw(code::INVALID_XT);
                    }
                    if works_on_callers_frame(code, xt) {
                        break Event::ExecuteFramed(xt as usize);
                    }
                    tick!();
                    rpush!(ip as i64);
                    ip = xt as usize;
                }
                Op::Do => {
                    need!(2);
                    let limit = ds[sp - 1];
                    let index = tos;
                    tos = ds[sp - 2];
                    sp -= 2;
                    rpush!(limit);
                    rpush!(index);
                }
                Op::QDo(target) => {
                    need!(2);
                    let limit = ds[sp - 1];
                    let index = tos;
                    tos = ds[sp - 2];
                    sp -= 2;
                    if limit == index {
                        ip = target as usize;
                    } else {
                        rpush!(limit);
                        rpush!(index);
                    }
                }
                Op::Loop(target) => {
                    if loop_step(loop_parameters!(*op)) {
                        jump!(target);
                    } else {
                        rsp -= 2;
                    }
                }
                Op::LitAddLoop(n, target) => {
                    need!(1);
                    tos = tos.wrapping_add(n);
                    if loop_step(loop_parameters!(Op::Loop(target))) {
                        jump!(target);
                    } else {
                        rsp -= 2;
                    }
                }
                Op::PlusLoop(target) => {
                    need!(1);
                    let step = tos;
                    drop1!();
                    if plus_loop(loop_parameters!(*op), step) {
                        jump!(target);
                    } else {
                        rsp -= 2;
                    }
                }
                Op::LitPlusLoop(step, target) => {
                    if plus_loop(loop_parameters!(*op), step) {
                        jump!(target);
                    } else {
                        rsp -= 2;
                    }
                }
                Op::Unloop => {
                    rneed!(2);
                    rsp -= 2;
                }
                Op::I => push!(rtop!(Op::I)),
                Op::J => {
                    rneed!(3);
                    push!(rs[rsp - 3]);
                }
                Op::Does(target) => break Event::Does(target),
                Op::Of(target) => {
                    need!(2);
                    if ds[sp - 1] == tos {
                        tos = ds[sp - 2];
                        sp -= 2;
                    } else {
                        drop1!();
                        ip = target as usize;
                    }
                }
                Op::ToR => {
                    need!(1);
                    rpush!(tos);
                    drop1!();
                }
                Op::RFrom => {
                    rneed!(1);
                    push!(rs[rsp - 1]);
                    rsp -= 1;
                }
                Op::RFetch => {
                    rneed!(1);
                    push!(rs[rsp - 1]);
                }
                Op::TwoToR => {
                    need!(2);
                    rpush!(ds[sp - 1]);
                    rpush!(tos);
                    tos = ds[sp - 2];
                    sp -= 2;
                }
                Op::TwoRFrom => {
                    rneed!(2);
                    push!(rs[rsp - 2]);
                    push!(rs[rsp - 1]);
                    rsp -= 2;
                }
                Op::TwoRFetch => {
                    rneed!(2);
                    push!(rs[rsp - 2]);
                    push!(rs[rsp - 1]);
                }
                Op::Dup => {
                    need!(1);
                    push!(tos);
                }
                Op::Drop => {
                    need!(1);
                    drop1!();
                }
                Op::Swap => {
                    need!(2);
                    std::mem::swap(&mut ds[sp - 1], &mut tos);
                }
                Op::Over => {
                    need!(2);
                    push!(ds[sp - 1]);
                }
                Op::Rot => {
                    need!(3);
                    let x1 = ds[sp - 2];
                    ds[sp - 2] = ds[sp - 1];
                    ds[sp - 1] = tos;
                    tos = x1;
                }
                Op::Nip => {
                    need!(2);
                    sp -= 1;
                }
                Op::Tuck => {
                    need!(2);
                    let (x1, x2) = (ds[sp - 1], tos);
                    ds[sp - 1] = x2;
                    tos = x1;
                    push!(x2);
                }
                Op::QDup => {
                    need!(1);
                    if tos != 0 {
                        push!(tos);
                    }
                }
                Op::TwoDup => {
                    need!(2);
                    let (x1, x2) = (ds[sp - 1], tos);
                    push!(x1);
                    push!(x2);
                }
                Op::TwoDrop => {
                    need!(2);
                    tos = ds[sp - 2];
                    sp -= 2;
                }
                op @ (Op::Pick
                | Op::Roll
                | Op::TwoSwap
                | Op::TwoOver
                | Op::Div
                | Op::Mod
                | Op::DivMod
                | Op::StarSlash
                | Op::StarSlashMod
                | Op::Within
                | Op::MStar
                | Op::UMStar
                | Op::UMSlashMod
                | Op::FMSlashMod
                | Op::SMSlashRem
                | Op::Count
                | Op::Fill
                | Op::Move) => {
                    let budget = (steps, &mut self.machine.steps_left);
                    match out_of_line(op, ds, &mut sp, &mut tos, mem, budget) {
                        Ok(charged) => steps -= charged,
                        Err(throw_code) => break Event::Throw(throw_code),
                    }
                }
                Op::Depth => push!(sp as i64),
                Op::Add => binary!(|a: i64, b: i64| a.wrapping_add(b)),
                Op::Sub => binary!(|a: i64, b: i64| a.wrapping_sub(b)),
                Op::Mul => binary!(|a: i64, b: i64| a.wrapping_mul(b)),
                Op::Negate => {
                    need!(1);
                    tos = tos.wrapping_neg();
                }
                Op::Abs => {
                    need!(1);
                    tos = tos.wrapping_abs();
                }
                Op::Min => binary!(|a: i64, b: i64| a.min(b)),
                Op::Max => binary!(|a: i64, b: i64| a.max(b)),
                Op::OnePlus => {
                    need!(1);
                    tos = tos.wrapping_add(1);
                }
                Op::OneMinus => {
                    need!(1);
                    tos = tos.wrapping_sub(1);
                }
                Op::TwoStar => {
                    need!(1);
                    tos = tos.wrapping_shl(1);
                }
                Op::TwoSlash => {
                    need!(1);
                    tos >>= 1;
                }
                Op::LShift => binary!(|a: i64, b: i64| if (b as u64) < 64 { a << b } else { 0 }),
                Op::RShift => binary!(|a: i64, b: i64| if (b as u64) < 64 {
                    ((a as u64) >> b) as i64
                } else {
                    0
                }),
                Op::And => binary!(|a: i64, b: i64| a & b),
                Op::Or => binary!(|a: i64, b: i64| a | b),
                Op::Xor => binary!(|a: i64, b: i64| a ^ b),
                Op::Invert => {
                    need!(1);
                    tos = !tos;
                }
                Op::Eq => binary!(|a: i64, b: i64| flag!(a == b)),
                Op::Ne => binary!(|a: i64, b: i64| flag!(a != b)),
                Op::Lt => binary!(|a: i64, b: i64| flag!(a < b)),
                Op::Gt => binary!(|a: i64, b: i64| flag!(a > b)),
                Op::ULt => binary!(|a: i64, b: i64| flag!((a as u64) < (b as u64))),
                Op::UGt => binary!(|a: i64, b: i64| flag!((a as u64) > (b as u64))),
                Op::ZeroEq => {
                    need!(1);
                    tos = flag!(tos == 0);
                }
                Op::ZeroNe => {
                    need!(1);
                    tos = flag!(tos != 0);
                }
                Op::ZeroLt => {
                    need!(1);
                    tos = flag!(tos < 0);
                }
                Op::ZeroGt => {
                    need!(1);
                    tos = flag!(tos > 0);
                }
                Op::SToD => {
                    need!(1);
                    push!(if tos < 0 { -1 } else { 0 });
                }
                Op::Fetch => {
                    need!(1);
                    tos = load!(tos);
                }
                Op::Store => {
                    need!(2);
                    store!(tos, ds[sp - 1]);
                    tos = ds[sp - 2];
                    sp -= 2;
                }
                Op::CFetch => {
                    need!(1);
                    match mem.get(tos as u64 as usize) {
                        Some(&byte) => tos = byte as i64,
                        None => break Event::Throw(code::INVALID_ADDRESS),
                    }
                }
                Op::CStore => {
                    need!(2);
                    match mem.get_mut(tos as u64 as usize) {
                        Some(byte) => *byte = ds[sp - 1] as u8,
                        None => break Event::Throw(code::INVALID_ADDRESS),
                    }
                    tos = ds[sp - 2];
                    sp -= 2;
                }
                Op::PlusStore => {
                    need!(2);
                    let value = load!(tos).wrapping_add(ds[sp - 1]);
                    store!(tos, value);
                    tos = ds[sp - 2];
                    sp -= 2;
                }
                Op::TwoFetch => {
                    need!(1);
                    let (x1, x2) = load2!(tos);
                    tos = x1;
                    push!(x2);
                }
                Op::TwoStore => {
                    need!(3);
                    store2!(tos, ds[sp - 2], ds[sp - 1]);
                    tos = ds[sp - 3];
                    sp -= 3;
                }
                Op::CellPlus => {
                    need!(1);
                    tos = tos.wrapping_add(CELL as i64);
                }
                Op::Cells => {
                    need!(1);
                    tos = tos.wrapping_mul(CELL as i64);
                }
                Op::Aligned => {
                    need!(1);
                    tos = tos.wrapping_add(CELL as i64 - 1) & !(CELL as i64 - 1);
                }
                Op::LitAdd(n) => {
                    need!(1);
                    tos = tos.wrapping_add(n);
                }
                Op::LitMul(n) => {
                    need!(1);
                    tos = tos.wrapping_mul(n);
                }
                Op::LitAnd(n) => {
                    need!(1);
                    tos &= n;
                }
                Op::LitEq(n) => {
                    need!(1);
                    tos = flag!(tos == n);
                }
                Op::LitLt(n) => {
                    need!(1);
                    tos = flag!(tos < n);
                }
                Op::LitGt(n) => {
                    need!(1);
                    tos = flag!(tos > n);
                }
                Op::LitFetch(address) => push!(load!(address)),
                Op::LitStore(address) => {
                    need!(1);
                    store!(address, tos);
                    drop1!();
                }
                Op::LitPlusStore(address) => {
                    need!(1);
                    let value = load!(address).wrapping_add(tos);
                    store!(address, value);
                    drop1!();
                }
                Op::OverAdd => {
                    need!(2);
                    tos = tos.wrapping_add(ds[sp - 1]);
                }
                Op::IAdd => {
                    need!(1);
                    rneed!(1);
                    tos = tos.wrapping_add(rs[rsp - 1]);
                }
                Op::EqBranch(target)
                | Op::NeBranch(target)
                | Op::LtBranch(target)
                | Op::GtBranch(target) => {
                    need!(2);
                    let (a, b) = (ds[sp - 1], tos);
                    tos = ds[sp - 2];
                    sp -= 2;
                    let holds = match *op {
                        Op::EqBranch(_) => a == b,
                        Op::NeBranch(_) => a != b,
                        Op::LtBranch(_) => a < b,
                        _ => a > b,
                    };
                    if !holds {
                        jump!(target);
                    }
                }
                Op::OverFetch => {
                    need!(2);
                    push!(load!(ds[sp - 1]));
                }
                Op::OverLitAdd(n) => {
                    need!(2);
                    push!(ds[sp - 1].wrapping_add(n));
                }
                Op::UnderLitAdd(n) => {
                    need!(2);
                    ds[sp - 1] = ds[sp - 1].wrapping_add(n);
                }
                Op::RFromAdd => {
                    need!(1);
                    rneed!(1);
                    rsp -= 1;
                    tos = tos.wrapping_add(rs[rsp]);
                }
                Op::AddToR => {
                    need!(1);
                    rneed!(1);
                    rs[rsp - 1] = rs[rsp - 1].wrapping_add(tos);
                    drop1!();
                }
                Op::IFetch => {
                    rneed!(1);
                    push!(load!(rs[rsp - 1]));
                }
                Op::IStore => {
                    need!(1);
                    rneed!(1);
                    store!(rs[rsp - 1], tos);
                    drop1!();
                }
                Op::ITwoFetch => {
                    rneed!(1);
                    let (x1, x2) = load2!(rs[rsp - 1]);
                    push!(x1);
                    push!(x2);
                }
                Op::ITwoStore => {
                    need!(2);
                    rneed!(1);
                    store2!(rs[rsp - 1], ds[sp - 1], tos);
                    tos = ds[sp - 2];
                    sp -= 2;
                }
                Op::DupLitLtAgain(n, target) => {
                    need!(1);
                    if tos < n {
                        jump!(target);
                    }
                }
                Op::NzBranch(target) => {
                    need!(1);
                    let x = tos;
                    drop1!();
                    if x != 0 {
                        jump!(target);
                    }
                }
                Op::LitLtBranch(n, target) => {
                    need!(1);
                    let x = tos;
                    drop1!();
                    if x >= n {
                        jump!(target);
                    }
                }
                Op::DupLitLtBranch(n, target) => {
                    need!(1);
                    if tos >= n {
                        jump!(target);
                    }
                }
                Op::LitEqBranch(n, target) => {
                    need!(1);
                    let x = tos;
                    drop1!();
                    if x != n {
                        jump!(target);
                    }
                }
                Op::DupLitLtExit(n) => {
                    need!(1);
                    if tos < n {
                        if rsp < 1 {
                            break Event::ThrowAs(code::RETURN_STACK_UNDERFLOW, Op::Exit);
                        }
                        rsp -= 1;
                        ip = rs[rsp] as u64 as usize;
                    } else {
                        tick!();
                    }
                }
                Op::DupLitAdd(n) => {
                    need!(1);
                    push!(tos.wrapping_add(n));
                }
                Op::SwapLitAdd(n) => {
                    need!(2);
                    let x1 = ds[sp - 1];
                    ds[sp - 1] = tos;
                    tos = x1.wrapping_add(n);
                }
                Op::LitOverCStore(n) => {
                    // The literal and the copy of the address went on the stack.
                    if sp + 2 > ds.len() {
                        let failed = if sp >= ds.len() { Op::Lit(n) } else { Op::Over };
                        break Event::ThrowAs(code::STACK_OVERFLOW, failed);
                    }
                    if sp < 1 {
                        break Event::ThrowAs(code::STACK_UNDERFLOW, Op::Over);
                    }
                    match mem.get_mut(tos as u64 as usize) {
                        Some(byte) => *byte = n as u8,
                        None => break Event::ThrowAs(code::INVALID_ADDRESS, Op::CStore),
                    }
                }
                Op::ICFetch => {
                    if rsp < 1 {
                        break Event::ThrowAs(code::RETURN_STACK_UNDERFLOW, Op::I);
                    }
                    if sp >= ds.len() {
                        break Event::ThrowAs(code::STACK_OVERFLOW, Op::I);
                    }
                    match mem.get(rs[rsp - 1] as u64 as usize) {
                        Some(&byte) => push!(byte as i64),
                        None => break Event::ThrowAs(code::INVALID_ADDRESS, Op::CFetch),
                    }
                }
                Op::LitICStore(n) => {
                    // The literal and the index go on the stack before C! takes them.
                    if sp >= ds.len() {
                        break Event::ThrowAs(code::STACK_OVERFLOW, Op::Lit(n));
                    }
                    if rsp < 1 {
                        break Event::ThrowAs(code::RETURN_STACK_UNDERFLOW, Op::I);
                    }
                    if sp + 1 >= ds.len() {
                        break Event::ThrowAs(code::STACK_OVERFLOW, Op::I);
                    }
                    match mem.get_mut(rs[rsp - 1] as u64 as usize) {
                        Some(byte) => *byte = n as u8,
                        None => break Event::ThrowAs(code::INVALID_ADDRESS, Op::CStore),
                    }
                }
                Op::DupPlusLoop(target) => {
                    if sp < 1 {
                        break Event::ThrowAs(code::STACK_UNDERFLOW, Op::Dup);
                    }
                    if sp >= ds.len() {
                        break Event::ThrowAs(code::STACK_OVERFLOW, Op::Dup);
                    }
                    if plus_loop(loop_parameters!(Op::PlusLoop(target)), tos) {
                        jump!(target);
                    } else {
                        rsp -= 2;
                    }
                }
                Op::ITwoFetchGtBranch(target) => {
                    rneed!(1);
                    let (x1, x2) = load2!(rs[rsp - 1]);
                    if sp + 2 > ds.len() {
                        break Event::Throw(code::STACK_OVERFLOW);
                    }
                    if x1 <= x2 {
                        jump!(target);
                    }
                }
                Op::ITwoFetchLtBranch(target) => {
                    rneed!(1);
                    let (x1, x2) = load2!(rs[rsp - 1]);
                    if sp + 2 > ds.len() {
                        break Event::Throw(code::STACK_OVERFLOW);
                    }
                    if x1 >= x2 {
                        jump!(target);
                    }
                }
                Op::ISwapCells => {
                    // Fetching is what can fail: the store goes where the fetch came from.
                    if rsp < 1 {
                        break Event::ThrowAs(code::RETURN_STACK_UNDERFLOW, Op::ITwoFetch);
                    }
                    let Some((x1, x2)) = fetch_pair(mem, rs[rsp - 1]) else {
                        break Event::ThrowAs(code::INVALID_ADDRESS, Op::ITwoFetch);
                    };
                    if sp + 2 > ds.len() {
                        break Event::ThrowAs(code::STACK_OVERFLOW, Op::ITwoFetch);
                    }
                    store2!(rs[rsp - 1], x2, x1);
                }
                Op::FetchBothMul => {
                    let product = fetch_both_mul!();
                    push!(product);
                }
                Op::DropLit(n) => {
                    need!(1);
                    tos = n;
                }
                Op::AddExit => {
                    binary!(|a: i64, b: i64| a.wrapping_add(b));
                    ip = rtop!(Op::Exit) as u64 as usize;
                    rsp -= 1;
                }
                Op::DropLitExit(n) => {
                    need!(1);
                    tos = n;
                    ip = rtop!(Op::Exit) as u64 as usize;
                    rsp -= 1;
                }
                Op::ICFetchZBranch(target) => {
                    // The byte goes on the stack before the branch takes it.
                    if rsp < 1 {
                        break Event::ThrowAs(code::RETURN_STACK_UNDERFLOW, Op::I);
                    }
                    if sp >= ds.len() {
                        break Event::ThrowAs(code::STACK_OVERFLOW, Op::I);
                    }
                    match mem.get(rs[rsp - 1] as u64 as usize) {
                        Some(0) => jump!(target),
                        Some(_) => {}
                        None => break Event::ThrowAs(code::INVALID_ADDRESS, Op::CFetch),
                    }
                }
                Op::LitICStoreDupPlusLoop(n, target) => {
                    // `n I C!` as LitICStore checks it, then `DUP +LOOP` (the first check
                    // made room for DUP's copy).
                    if sp >= ds.len() {
                        break Event::ThrowAs(code::STACK_OVERFLOW, Op::Lit(n));
                    }
                    if rsp < 1 {
                        break Event::ThrowAs(code::RETURN_STACK_UNDERFLOW, Op::I);
                    }
                    if sp + 1 >= ds.len() {
                        break Event::ThrowAs(code::STACK_OVERFLOW, Op::I);
                    }
                    match mem.get_mut(rs[rsp - 1] as u64 as usize) {
                        Some(byte) => *byte = n as u8,
                        None => break Event::ThrowAs(code::INVALID_ADDRESS, Op::CStore),
                    }
                    if sp < 1 {
                        break Event::ThrowAs(code::STACK_UNDERFLOW, Op::Dup);
                    }
                    if plus_loop(loop_parameters!(Op::PlusLoop(target)), tos) {
                        jump!(target);
                    } else {
                        rsp -= 2;
                    }
                }
                Op::MulAccumulateToR => {
                    // `>R` moves the sum first; then `OVER @ OVER @ *` checks as
                    // FetchBothMul does, and `R> + >R` adds the product to it.
                    if sp < 1 {
                        break Event::ThrowAs(code::STACK_UNDERFLOW, Op::ToR);
                    }
                    match rs.get_mut(rsp) {
                        Some(slot) => *slot = tos,
                        None => break Event::ThrowAs(code::RETURN_STACK_OVERFLOW, Op::ToR),
                    }
                    rsp += 1;
                    drop1!();
                    let product = fetch_both_mul!();
                    rs[rsp - 1] = rs[rsp - 1].wrapping_add(product);
                }
                Op::CallHost(id) => {
                    tick!();
                    // On the whole stack: the word may fill the slot above the loop's slice
                    // (the top's, when the loop stops), so the slice is taken again after.
                    let ds_all = &mut self.machine.ds;
                    let called = call_host(id, &mut host, ds_all, &mut sp, &mut tos);
                    ds = &mut self.machine.ds[..cap];
                    if let Err(error) = called {
                        break Event::HostFailed(error);
                    }
                }
                Op::Sys(word) => {
                    tick!();
                    break Event::Sys(word);
                }
            }
        };
        if let Some(slot) = self.machine.ds.get_mut(sp) {
            *slot = tos;
        }
        self.machine.ip = ip;
        self.machine.depth = sp;
        self.machine.rdepth = rbase + rsp;
        self.machine.steps_left += steps;
        event
    }
}

/// The instructions that are rare in inner loops and long (division, double products,
/// PICK, ROLL, FILL, MOVE, ...), out of the executor's loop so that they take no registers
/// from the common ones. They see the stack as `run_inner` holds it and leave `sp` and `tos`
/// as far as they got. `budget` is the executor's current slice of steps and the reserve
/// behind it: the work of FILL, MOVE and ROLL is charged first to the reserve, and the
/// result is how many steps the slice must give up; the error is the throw code.
#[inline(never)]
fn out_of_line(
    op: Op,
    ds: &mut [i64],
    sp_at: &mut usize,
    tos_at: &mut i64,
    mem: &mut [u8],
    (steps, reserve): (u64, &mut u64),
) -> Result<u64, i64> {
    let charged = charge(long_work(op, ds, *sp_at, *tos_at), steps, reserve)?;
    let (mut sp, mut tos) = (*sp_at, *tos_at);
    macro_rules! need {
        ($n:expr) => {
            if sp < $n {
                return Err(code::STACK_UNDERFLOW);
            }
        };
    }
    macro_rules! push {
        ($value:expr) => {{
            let value = $value;
            match ds.get_mut(sp) {
                Some(slot) => *slot = tos,
                None => return Err(code::STACK_OVERFLOW),
            }
            sp += 1;
            tos = value;
        }};
    }
    macro_rules! flag {
        ($b:expr) => {
            if $b { -1 } else { 0 }
        };
    }
    let mut run = || {
        match op {
            Op::Pick => {
                need!(1);
                let u = tos as u64;
                if u >= (sp - 1) as u64 {
                    return Err(code::STACK_UNDERFLOW);
                }
                tos = ds[sp - 1 - u as usize];
            }
            Op::Roll => {
                need!(1);
                let u = tos as u64;
                if u >= (sp - 1) as u64 {
                    return Err(code::STACK_UNDERFLOW);
                }
                sp -= 1;
                let u = u as usize;
                ds[sp - u..=sp].rotate_left(1);
                tos = ds[sp];
            }
            Op::TwoSwap => {
                need!(4);
                ds.swap(sp - 3, sp - 1);
                std::mem::swap(&mut ds[sp - 2], &mut tos);
            }
            Op::TwoOver => {
                need!(4);
                let (x1, x2) = (ds[sp - 3], ds[sp - 2]);
                push!(x1);
                push!(x2);
            }
            Op::Div => {
                need!(2);
                tos = quotient(ds[sp - 1], tos)?;
                sp -= 1;
            }
            Op::Mod => {
                need!(2);
                if tos == 0 {
                    return Err(code::DIVISION_BY_ZERO);
                }
                tos = ds[sp - 1].wrapping_rem(tos);
                sp -= 1;
            }
            Op::DivMod => {
                need!(2);
                if tos == 0 {
                    return Err(code::DIVISION_BY_ZERO);
                }
                let n1 = ds[sp - 1];
                ds[sp - 1] = n1.wrapping_rem(tos);
                tos = quotient(n1, tos)?;
            }
            Op::StarSlash | Op::StarSlashMod => {
                need!(3);
                if tos == 0 {
                    return Err(code::DIVISION_BY_ZERO);
                }
                let product = ds[sp - 2] as i128 * ds[sp - 1] as i128;
                let Some((remainder, quotient)) = symmetric_divide(product, tos) else {
                    return Err(code::RESULT_OUT_OF_RANGE);
                };
                if op == Op::StarSlash {
                    tos = quotient;
                    sp -= 2;
                } else {
                    ds[sp - 2] = remainder;
                    tos = quotient;
                    sp -= 1;
                }
            }
            Op::Within => {
                need!(3);
                let (x, low, high) = (ds[sp - 2], ds[sp - 1], tos);
                tos = flag!((x.wrapping_sub(low) as u64) < (high.wrapping_sub(low) as u64));
                sp -= 2;
            }
            Op::MStar => {
                need!(2);
                let product = ds[sp - 1] as i128 * tos as i128;
                ds[sp - 1] = product as i64;
                tos = (product >> 64) as i64;
            }
            Op::UMStar => {
                need!(2);
                let product = ds[sp - 1] as u64 as u128 * tos as u64 as u128;
                ds[sp - 1] = product as u64 as i64;
                tos = (product >> 64) as u64 as i64;
            }
            Op::UMSlashMod => {
                need!(3);
                let divisor = tos as u64 as u128;
                if divisor == 0 {
                    return Err(code::DIVISION_BY_ZERO);
                }
                let dividend = double(ds[sp - 2], ds[sp - 1]) as u128;
                let quotient = dividend / divisor;
                if quotient > u64::MAX as u128 {
                    return Err(code::RESULT_OUT_OF_RANGE);
                }
                ds[sp - 2] = (dividend % divisor) as u64 as i64;
                tos = quotient as u64 as i64;
                sp -= 1;
            }
            Op::FMSlashMod | Op::SMSlashRem => {
                need!(3);
                if tos == 0 {
                    return Err(code::DIVISION_BY_ZERO);
                }
                let dividend = double(ds[sp - 2], ds[sp - 1]);
                let result = if op == Op::FMSlashMod {
                    floored_divide(dividend, tos)
                } else {
                    symmetric_divide(dividend, tos)
                };
                let Some((remainder, quotient)) = result else {
                    return Err(code::RESULT_OUT_OF_RANGE);
                };
                ds[sp - 2] = remainder;
                tos = quotient;
                sp -= 1;
            }
            Op::Count => {
                need!(1);
                let Some(&len) = mem.get(tos as u64 as usize) else {
                    return Err(code::INVALID_ADDRESS);
                };
                push!(len as i64);
                ds[sp - 1] = ds[sp - 1].wrapping_add(1);
            }
            Op::Fill => {
                need!(3);
                let Some(range) = crate::memory::range(mem, ds[sp - 2], ds[sp - 1]) else {
                    if ds[sp - 1] <= 0 {
                        tos = ds[sp - 3];
                        sp -= 3;
                        return Ok(());
                    }
                    return Err(code::INVALID_ADDRESS);
                };
                mem[range].fill(tos as u8);
                tos = ds[sp - 3];
                sp -= 3;
            }
            Op::Move => {
                need!(3);
                if tos > 0 {
                    let from = crate::memory::range(mem, ds[sp - 2], tos);
                    let to = crate::memory::range(mem, ds[sp - 1], tos);
                    let (Some(from), Some(to)) = (from, to) else {
                        return Err(code::INVALID_ADDRESS);
                    };
                    mem.copy_within(from, to.start);
                }
                tos = ds[sp - 3];
                sp -= 3;
            }
            _ => {}
        }
        Ok(())
    };
    let result = run();
    (*sp_at, *tos_at) = (sp, tos);
    result.map(|()| charged)
}

/// The steps a long instruction costs beyond its own: FILL and MOVE one per
/// [`BYTES_PER_STEP`] bytes they touch, ROLL one per as many bytes of cells it moves.
fn long_work(op: Op, ds: &[i64], sp: usize, tos: i64) -> u64 {
    let count = match op {
        Op::Fill if sp >= 1 => ds[sp - 1],
        Op::Move => tos,
        Op::Roll => tos.saturating_mul(8),
        _ => 0,
    };
    u64::try_from(count).map_or(0, |bytes| bytes / BYTES_PER_STEP as u64)
}

/// Takes `work` steps from the `reserve` and, where it runs short, from the executor's
/// current slice of `steps`: how many the slice must give up, or -256 when the two do
/// not hold that many (the budget is then spent).
fn charge(work: u64, steps: u64, reserve: &mut u64) -> Result<u64, i64> {
    if work <= *reserve {
        *reserve -= work;
        return Ok(0);
    }
    let from_slice = work - *reserve;
    *reserve = 0;
    if from_slice > steps {
        return Err(code::STEP_BUDGET_EXHAUSTED);
    }
    Ok(from_slice)
}

/// LOOP on the loop parameters `[limit, index]`: adds one to the index and tells whether to
/// loop again (the index did not reach the limit).
fn loop_step(parameters: &mut [i64]) -> bool {
    let index = parameters[1].wrapping_add(1);
    parameters[1] = index;
    index != parameters[0]
}

/// +LOOP on the loop parameters `[limit, index]`: adds the step and tells whether to loop
/// again (the index did not cross the boundary between limit-1 and limit).
fn plus_loop(parameters: &mut [i64], step: i64) -> bool {
    let (limit, index) = (parameters[0], parameters[1]);
    let before = index.wrapping_sub(limit);
    let after = before.wrapping_add(step);
    parameters[1] = index.wrapping_add(step);
    (before ^ after) >= 0 || (before ^ step) >= 0
}

/// The cell at `address` in data space, if all of it is there.
fn fetch_cell(mem: &[u8], address: i64) -> Option<i64> {
    let bytes = mem.get(address as u64 as usize..)?.first_chunk::<CELL>()?;
    Some(i64::from_le_bytes(*bytes))
}

/// The two cells at `address` as 2@ gives them, ( x1 x2 ): x2 at the address, x1 after.
fn fetch_pair(mem: &[u8], address: i64) -> Option<(i64, i64)> {
    let x2 = fetch_cell(mem, address)?;
    let x1 = fetch_cell(mem, address.wrapping_add(CELL as i64))?;
    Some((x1, x2))
}

/// The cell in eight bytes of data space.
fn cell_of(bytes: &[u8]) -> i64 {
    let mut cell = [0; CELL];
    cell.copy_from_slice(bytes);
    i64::from_le_bytes(cell)
}

/// Whether the code at `xt` (an execution token) is one instruction that works on its
/// caller's return stack frame ([`Op::works_on_callers_frame`]), then EXIT: the body of R>,
/// I, N>R and the like, or of a program's definition that is just that instruction.
fn works_on_callers_frame(code: &[Op], xt: i64) -> bool {
    let at = xt as usize;
    code.get(at).is_some_and(|op| op.works_on_callers_frame())
        && code.get(at + 1) == Some(&Op::Exit)
}

/// Names the word of the failing instruction in the throw, if it has a name.
fn name_throw(throw: Throw, op: Op) -> Throw {
    match op_name(op) {
        Some(name) => throw.in_word(name),
        None => throw,
    }
}

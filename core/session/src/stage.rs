//! The pipeline's stage plugin kinds that a session's engine asks as it goes (the parser for
//! each line, the compiler for each run of tokens it compiles, the optimizer for each
//! definition), and the stage it uses through them: one worker thread per stage asks the
//! serving plugin, within a time budget, so a stage that panics, answers nonsense or never
//! returns costs the session one line read by the built-in parser, one run compiled by the
//! built-in compiler or one definition optimized by the built-in optimizer, never the
//! session.

use fastforth_abi::{
    ByteSink, CompilerApi, CompilerFunctions, FfiBytes, OptimizerApi, OptimizerFunctions,
    ParserApi, ParserFunctions, PluginKind, Returned,
};
use fastforth_engine::compiler_stage::CompilerStage;
use fastforth_engine::ir::IR_VERSION;
use fastforth_engine::parser_stage::ParserStage;
use fastforth_engine::stage::OptimizerStage;
use fastforth_host::{HotSwap, Kind, Loader, Plugin, PluginError, SwapReport};
use std::ffi::c_void;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The optimizer stage plugin kind.
pub struct Optimizer;

impl Kind for Optimizer {
    const KIND: PluginKind = PluginKind::OPTIMIZER;
    type Table = OptimizerFunctions;
    type Api = OptimizerApi;
    const IR_VERSION: u32 = IR_VERSION;

    unsafe fn resolve(table: *const c_void) -> Result<OptimizerApi, &'static str> {
        // SAFETY: the caller guarantees `table` points to a live `OptimizerFunctions`.
        unsafe { &*table.cast::<OptimizerFunctions>() }.check()
    }
}

/// The parser stage plugin kind.
pub struct Parser;

impl Kind for Parser {
    const KIND: PluginKind = PluginKind::PARSER;
    type Table = ParserFunctions;
    type Api = ParserApi;
    const IR_VERSION: u32 = IR_VERSION;

    unsafe fn resolve(table: *const c_void) -> Result<ParserApi, &'static str> {
        // SAFETY: the caller guarantees `table` points to a live `ParserFunctions`.
        unsafe { &*table.cast::<ParserFunctions>() }.check()
    }
}

/// The compiler stage plugin kind.
pub struct Compiler;

impl Kind for Compiler {
    const KIND: PluginKind = PluginKind::COMPILER;
    type Table = CompilerFunctions;
    type Api = CompilerApi;
    const IR_VERSION: u32 = IR_VERSION;

    unsafe fn resolve(table: *const c_void) -> Result<CompilerApi, &'static str> {
        // SAFETY: the caller guarantees `table` points to a live `CompilerFunctions`.
        unsafe { &*table.cast::<CompilerFunctions>() }.check()
    }
}

/// The one entry of a stage's table: bytes in, an answer or why not out (1 or 0).
type StageEntry = unsafe extern "C" fn(FfiBytes, ByteSink<'_>, ByteSink<'_>) -> Returned<u32>;

/// A stage kind whose table is one [`StageEntry`].
pub trait StageKind: Kind {
    /// The stage's name in messages.
    const STAGE: &'static str;
    /// The entry's name in messages.
    const ENTRY: &'static str;
    fn entry(api: &Self::Api) -> StageEntry;
}

impl StageKind for Optimizer {
    const STAGE: &'static str = "optimizer";
    const ENTRY: &'static str = "optimize";
    fn entry(api: &OptimizerApi) -> StageEntry {
        api.optimize
    }
}

impl StageKind for Compiler {
    const STAGE: &'static str = "compiler";
    const ENTRY: &'static str = "compile";
    fn entry(api: &CompilerApi) -> StageEntry {
        api.compile
    }
}

impl StageKind for Parser {
    const STAGE: &'static str = "parser";
    const ENTRY: &'static str = "tokens";
    fn entry(api: &ParserApi) -> StageEntry {
        api.tokens
    }
}

/// The longest a stage may take over one definition or line by default.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(2);

/// The plugin's answer to `input` (a definition's unit, a line), or why there is none.
pub fn ask<K: StageKind>(plugin: &Plugin<K>, input: &[u8]) -> Result<Vec<u8>, String> {
    let (mut answer, mut error) = (Vec::new(), Vec::new());
    // SAFETY: a checked entry of a loaded plugin; `input` is readable and both sinks write
    // into live vectors for the duration of the call.
    let returned = unsafe {
        (K::entry(plugin.api()))(
            FfiBytes::new(input),
            ByteSink::for_vec(&mut answer),
            ByteSink::for_vec(&mut error),
        )
    };
    match returned.into_result() {
        Ok(1) => Ok(answer),
        Ok(_) => Err(String::from_utf8_lossy(&error).into_owned()),
        Err(status) => Err(plugin.call_error(K::ENTRY, status).to_string()),
    }
}

/// The optimizer stage plugin a session's engine uses.
pub type OptimizerPlugin = StagePlugin<Optimizer>;

/// The parser stage plugin a session's engine uses.
pub type ParserPlugin = StagePlugin<Parser>;

/// The compiler stage plugin a session's engine uses.
pub type CompilerPlugin = StagePlugin<Compiler>;

/// A stage plugin a session's engine uses, swappable while sessions run.
pub struct StagePlugin<K: StageKind> {
    serving: HotSwap<K>,
    budget: Duration,
    /// The worker asking the serving plugin: idle until the first definition and after a
    /// swap, stuck after it overran its budget. Held for the whole of each exchange, so
    /// sessions that share the stage take turns, as the one worker answers them anyway.
    worker: Mutex<Worker>,
    kind: PhantomData<K>,
}

/// The worker thread's channels, or which version did not answer in time.
enum Worker {
    Idle,
    Running(Exchange),
    Stuck(String),
}

/// The two channels of a worker, which answers one unit at a time: made once per worker,
/// not per definition (a channel per answer cost its allocations on both threads).
struct Exchange {
    units: Sender<Vec<u8>>,
    answers: Receiver<Result<Vec<u8>, String>>,
}

impl<K: StageKind> StagePlugin<K> {
    /// Loads, validates and self-tests the stage plugin at `path`.
    pub fn load(loader: Arc<Loader>, path: &Path, budget: Duration) -> Result<Self, PluginError> {
        Ok(StagePlugin {
            serving: HotSwap::load(loader, path)?,
            budget,
            worker: Mutex::new(Worker::Idle),
            kind: PhantomData,
        })
    }

    /// The serving plugin.
    pub fn current(&self) -> Arc<Plugin<K>> {
        self.serving.current().clone()
    }

    /// Replaces the serving plugin with the one at `path`; a refused plugin leaves the old
    /// one serving. The lines and definitions from now on go to the new one.
    pub fn swap(&self, path: &Path) -> Result<SwapReport, PluginError> {
        let report = self.serving.swap(path)?;
        *self.lock() = Worker::Idle;
        Ok(report)
    }

    /// Why the stage is out of service (which version did not answer within the budget),
    /// if it is.
    pub fn out_of_service(&self) -> Option<String> {
        match &*self.lock() {
            Worker::Stuck(why) => Some(why.clone()),
            _ => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Worker> {
        self.worker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Asks the worker (started if need be) for `unit`'s answer within the budget, and
    /// what the worker is after the exchange: running, stuck after a timeout, or idle
    /// after its thread ended.
    fn exchange(&self, worker: Worker, unit: &[u8]) -> (Worker, Result<Vec<u8>, String>) {
        let thread_ended = || format!("the {} stage's thread ended", K::STAGE);
        let exchange = match worker {
            Worker::Running(exchange) => exchange,
            Worker::Idle => match spawn_worker(&self.serving) {
                Ok(exchange) => exchange,
                Err(why) => return (Worker::Idle, Err(why)),
            },
            Worker::Stuck(timeout) => {
                let why = format!(
                    "not asked: the stage is out of service since {timeout} earlier (a swap \
                     puts a stage back in service)"
                );
                return (Worker::Stuck(timeout), Err(why));
            }
        };
        if exchange.units.send(unit.to_vec()).is_err() {
            return (Worker::Idle, Err(thread_ended()));
        }
        match receive(&exchange.answers, Some(self.budget)) {
            Ok(result) => (Worker::Running(exchange), result),
            Err(RecvTimeoutError::Timeout) => {
                let plugin = self.current();
                let timeout = format!(
                    "{} {} did not answer within {:?}",
                    plugin.name(),
                    plugin.version(),
                    self.budget
                );
                let why = format!("{timeout}; the stage is out of service from now on");
                (Worker::Stuck(timeout), Err(why))
            }
            Err(RecvTimeoutError::Disconnected) => (Worker::Idle, Err(thread_ended())),
        }
    }
}

/// Starts a worker that answers each unit with the plugin serving at that moment.
fn spawn_worker<K: StageKind>(serving: &HotSwap<K>) -> Result<Exchange, String> {
    let (units, incoming) = mpsc::channel::<Vec<u8>>();
    let (outgoing, answers) = mpsc::channel();
    let mut cache = serving.cache();
    std::thread::Builder::new()
        .name(format!("{} stage", K::STAGE))
        .spawn(move || {
            while let Ok(unit) = receive(&incoming, None) {
                if outgoing.send(ask(cache.get(), &unit)).is_err() {
                    break;
                }
            }
        })
        .map_err(|error| format!("cannot start the {} stage's thread: {error}", K::STAGE))?;
    Ok(Exchange { units, answers })
}

/// How long a receiver polls before it sleeps: definitions come in bursts (a file being
/// compiled), and waking a sleeping thread costs more than the work of one definition
/// (compiling 10,000 lines took 19 times as long with both sides sleeping as built in).
const POLL: Duration = Duration::from_micros(200);

/// How many polls a receiver spins between two yields of its processor. Spinning alone
/// starved the other side where both share one processor (a CPU quota, `taskset -c 0`):
/// each handoff then waited out its whole poll, and 10,000 lines compiled 40 times slower
/// than built in; yielding at every poll cost a system call per poll on two processors.
const SPINS_PER_YIELD: u32 = 64;

/// The next message, polled for [`POLL`], then waited for until `budget` (if any) ran out.
fn receive<T>(from: &Receiver<T>, budget: Option<Duration>) -> Result<T, RecvTimeoutError> {
    let started = Instant::now();
    let poll = budget.map_or(POLL, |budget| budget.min(POLL));
    let mut spins = 0u32;
    loop {
        match from.try_recv() {
            Ok(message) => return Ok(message),
            Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) if started.elapsed() < poll => {
                spins += 1;
                if spins.is_multiple_of(SPINS_PER_YIELD) {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
            Err(TryRecvError::Empty) => break,
        }
    }
    match budget {
        Some(budget) => from.recv_timeout(budget.saturating_sub(started.elapsed())),
        None => from.recv().map_err(|_| RecvTimeoutError::Disconnected),
    }
}

impl<K: StageKind> StagePlugin<K> {
    /// The answer to `input` through the worker.
    fn answer(&self, input: &[u8]) -> Result<Vec<u8>, String> {
        let mut worker = self.lock();
        let (after, result) = self.exchange(std::mem::replace(&mut *worker, Worker::Idle), input);
        *worker = after;
        result
    }
}

impl OptimizerStage for OptimizerPlugin {
    fn optimize(&self, unit: &[u8]) -> Result<Vec<u8>, String> {
        self.answer(unit)
    }
}

impl CompilerStage for CompilerPlugin {
    fn compile(&self, run: &[u8]) -> Result<Vec<u8>, String> {
        self.answer(run)
    }
}

impl ParserStage for ParserPlugin {
    fn tokens(&self, line: &[u8]) -> Result<Vec<u8>, String> {
        self.answer(line)
    }
}

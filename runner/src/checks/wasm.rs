//! WASM checks: a lesson's own judge, run in a sandbox on the server.
//!
//! A WASM check's module is untrusted code from a lesson folder running inside the
//! server process, so it gets nothing but its input: it runs as a WASI preview-1
//! command with its JSON input on stdin, no arguments beyond its name, no environment
//! variables, no preopened directories and no sockets. Hard limits keep a broken or
//! hostile module from hurting the server: fuel (instructions), memory (through
//! [`StoreLimits`]), a wall-clock deadline (epoch interruption, driven by a ticker
//! thread), and bounded stdout/stderr. Each way of going wrong becomes a failed check
//! with a [`SandboxFailureKind`] and a sentence saying what happened.
//!
//! Compiling a module takes far longer than running it, so [`WasmChecker`] keeps
//! compiled modules keyed by path, file size and modification time. The server holds
//! one checker for its lifetime; clones share the engine and the cache.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use wasmtime::{
    Config, Engine, Linker, Module, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap,
    UpdateDeadline,
};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

use super::transcript::Transcript;

/// How often the ticker advances the engine's epoch: the deadline's resolution, and
/// the longest a running module holds an async worker thread before yielding.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What one module run may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmLimits {
    /// Roughly the number of WebAssembly instructions the module may execute.
    pub fuel: u64,
    /// Linear memory, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock time for one run, including WASI calls.
    pub deadline: Duration,
    /// Bytes kept of stdout and of stderr each; writing more fails the check.
    pub output_bytes: usize,
}

impl Default for WasmLimits {
    fn default() -> Self {
        WasmLimits {
            fuel: 500_000_000,
            memory_bytes: 64 * 1024 * 1024,
            deadline: Duration::from_secs(2),
            output_bytes: 64 * 1024,
        }
    }
}

/// What a probe produced on its node; part of a WASM check's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeResult {
    pub node: String,
    /// `None` when the probe was killed at its timeout.
    pub exit: Option<i64>,
    pub stdout: String,
    pub stderr: String,
}

/// The JSON a module reads from stdin.
#[derive(Debug, Clone, Serialize)]
pub struct WasmInput<'a> {
    pub probes: &'a [ProbeResult],
    pub transcript: &'a Transcript,
    /// The step being checked, counting from 0.
    pub step: usize,
}

/// How a module run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WasmVerdict {
    /// The module ran to completion; exit code 0 means the check passes.
    Exited {
        code: i32,
        stdout: String,
        stderr: String,
    },
    /// The sandbox stopped the module, or it could not run at all.
    Failed(SandboxFailure),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxFailure {
    pub kind: SandboxFailureKind,
    /// A sentence for the lesson author (and the learner) saying what went wrong.
    pub reason: String,
    /// Whatever the module wrote to stdout before it was stopped.
    pub stdout: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxFailureKind {
    /// The file is missing, is not WebAssembly, or is not a WASI command.
    BadModule,
    OutOfFuel,
    Deadline,
    Memory,
    /// The module trapped (`unreachable`, out-of-bounds access, a Rust panic, ...).
    Trap,
    /// Too much output, or output that is not UTF-8 text.
    Output,
}

#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
}

/// Runs WASM checks; owns the engine, the WASI linker, the module cache and the epoch
/// ticker. Cheap to clone.
#[derive(Clone)]
pub struct WasmChecker {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<RunState>,
    limits: WasmLimits,
    cache: Mutex<HashMap<PathBuf, CachedModule>>,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// A compiled module and the file identity it was compiled from.
struct CachedModule {
    stamp: FileStamp,
    module: Module,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
}

/// The store's data: WASI state plus the memory limiter.
struct RunState {
    wasi: WasiP1Ctx,
    limiter: Limiter,
}

/// [`StoreLimits`] does the limiting; this remembers whether it refused memory, so
/// the trap a refused allocation leads to can be reported as a memory problem.
struct Limiter {
    limits: StoreLimits,
    memory_refused: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        self.memory_refused |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl WasmChecker {
    pub fn new(limits: WasmLimits) -> Result<Self, WasmError> {
        let mut config = Config::new();
        config.consume_fuel(true).epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| WasmError::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        p1::add_to_linker_async(&mut linker, |state: &mut RunState| &mut state.wasi)
            .map_err(|e| WasmError::Engine(e.to_string()))?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let (stop, ticking) = (ticker_stop.clone(), engine.clone());
        std::thread::Builder::new()
            .name("playlab-wasm-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| WasmError::Engine(format!("cannot start the epoch ticker: {e}")))?;

        Ok(WasmChecker {
            inner: Arc::new(Inner {
                engine,
                linker,
                limits,
                cache: Mutex::new(HashMap::new()),
                ticker_stop,
            }),
        })
    }

    pub fn limits(&self) -> &WasmLimits {
        &self.inner.limits
    }

    /// Runs `module` with `input` on stdin.
    ///
    /// Compilation happens on a blocking thread. The module itself runs on the async
    /// runtime but yields at every epoch tick, so a busy module never holds a worker
    /// thread for more than a tick; the wall-clock deadline is enforced both at those
    /// ticks (for computation) and by a timer around the whole run (for a module
    /// blocked in a WASI call such as `poll_oneoff`, where no tick is observed).
    pub async fn run(&self, module_path: &Path, input: Vec<u8>) -> WasmVerdict {
        let module = match self.compile(module_path).await {
            Ok(module) => module,
            Err(reason) => return failed(SandboxFailureKind::BadModule, reason, String::new()),
        };
        let limits = &self.inner.limits;
        let stdout = MemoryOutputPipe::new(limits.output_bytes);
        let stderr = MemoryOutputPipe::new(limits.output_bytes);
        let deadline = Instant::now() + limits.deadline;
        let wasi = WasiCtxBuilder::new()
            .arg(module_name(module_path))
            .stdin(MemoryInputPipe::new(input))
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build_p1();
        let mut store = match self.store(wasi, deadline) {
            Ok(store) => store,
            Err(reason) => return failed(SandboxFailureKind::BadModule, reason, String::new()),
        };
        let result = self.execute(&mut store, &module, deadline).await;
        let memory_refused = store.data().limiter.memory_refused;
        drop(store);
        verdict(
            result,
            memory_refused,
            &stdout.contents(),
            &stderr.contents(),
            limits,
        )
    }

    /// Compiles (or finds in the cache) the module on a blocking thread, so a large
    /// module does not hold up the async runtime.
    async fn compile(&self, module_path: &Path) -> Result<Module, String> {
        let (checker, path) = (self.clone(), module_path.to_owned());
        match tokio::task::spawn_blocking(move || checker.module(&path)).await {
            Ok(result) => result,
            Err(e) => Err(format!("compiling the check module failed: {e}")),
        }
    }

    /// A store for one run: the memory limiter, the fuel, and the epoch callback that
    /// interrupts the module at the deadline and otherwise yields at every tick.
    fn store(&self, wasi: WasiP1Ctx, deadline: Instant) -> Result<Store<RunState>, String> {
        let limits = &self.inner.limits;
        let mut store = Store::new(
            &self.inner.engine,
            RunState {
                wasi,
                limiter: Limiter {
                    limits: StoreLimitsBuilder::new()
                        .memory_size(limits.memory_bytes)
                        .instances(1)
                        .memories(1)
                        .tables(4)
                        .table_elements(100_000)
                        .build(),
                    memory_refused: false,
                },
            },
        );
        store.limiter(|state| &mut state.limiter);
        store
            .set_fuel(limits.fuel)
            .map_err(|e| format!("cannot give the check module fuel: {e}"))?;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Err(Trap::Interrupt.into())
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        Ok(store)
    }

    /// Instantiates the module and calls `_start`, bounded by `deadline`. An error
    /// comes with whether it happened while loading (before the module's own code ran).
    async fn execute(
        &self,
        store: &mut Store<RunState>,
        module: &Module,
        deadline: Instant,
    ) -> Result<(), (wasmtime::Error, bool)> {
        let linker = &self.inner.linker;
        let run = async {
            let instance = linker
                .instantiate_async(&mut *store, module)
                .await
                .map_err(|e| (e, true))?;
            let start = instance
                .get_typed_func::<(), ()>(&mut *store, "_start")
                .map_err(|_| {
                    (
                        wasmtime::format_err!(
                            "it exports no `_start` function: it must be a WASI command \
                             (a `bin` crate built for wasm32-wasip1)"
                        ),
                        true,
                    )
                })?;
            start
                .call_async(&mut *store, ())
                .await
                .map_err(|e| (e, false))
        };
        match tokio::time::timeout_at(deadline.into(), run).await {
            Ok(result) => result,
            Err(_elapsed) => Err((wasmtime::Error::from(Trap::Interrupt), false)),
        }
    }

    /// The compiled module for `path`, from the cache when the file is unchanged.
    fn module(&self, path: &Path) -> Result<Module, String> {
        let shown = path.display();
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read check module {shown}: {e}"))?;
        let stamp = FileStamp {
            len: meta.len(),
            modified: meta.modified().ok(),
        };
        if let Some(cached) = self.lock_cache().get(path)
            && cached.stamp == stamp
        {
            return Ok(cached.module.clone());
        }
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read check module {shown}: {e}"))?;
        // `Module::new` accepts both the binary format and, through wasmtime's `wat`
        // feature, the text format.
        let module = Module::new(&self.inner.engine, &bytes)
            .map_err(|e| format!("check module {shown} is not valid WebAssembly: {e:#}"))?;
        self.lock_cache().insert(
            path.to_owned(),
            CachedModule {
                stamp,
                module: module.clone(),
            },
        );
        Ok(module)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, CachedModule>> {
        // The map stays consistent even if a holder panicked: entries are inserted whole.
        self.inner
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The name the module sees as its `argv[0]`: the file's stem.
fn module_name(module_path: &Path) -> String {
    module_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "check".into())
}

/// How the run ended, from its result and what it wrote: an exit code (`_start`
/// returning is exit 0), or a failure of the sandbox's making.
fn verdict(
    result: Result<(), (wasmtime::Error, bool)>,
    memory_refused: bool,
    out: &[u8],
    err: &[u8],
    limits: &WasmLimits,
) -> WasmVerdict {
    let stdout_text = String::from_utf8_lossy(out).into_owned();
    let output_full = out.len() >= limits.output_bytes || err.len() >= limits.output_bytes;
    let code = match result {
        Ok(()) => 0,
        Err((e, _)) if e.downcast_ref::<I32Exit>().is_some() => {
            e.downcast_ref::<I32Exit>().map(|x| x.0).unwrap_or(1)
        }
        Err((e, loading)) => {
            let kind = classify(&e, loading, memory_refused, output_full);
            return failed(kind, describe(kind, &e, limits), stdout_text);
        }
    };
    if output_full {
        return failed(
            SandboxFailureKind::Output,
            output_limit_reason(limits),
            stdout_text,
        );
    }
    match (
        String::from_utf8(out.to_vec()),
        String::from_utf8(err.to_vec()),
    ) {
        (Ok(stdout), Ok(stderr)) => WasmVerdict::Exited {
            code,
            stdout,
            stderr,
        },
        _ => failed(
            SandboxFailureKind::Output,
            "the check module wrote output that is not UTF-8 text".into(),
            stdout_text,
        ),
    }
}

fn failed(kind: SandboxFailureKind, reason: String, stdout: String) -> WasmVerdict {
    WasmVerdict::Failed(SandboxFailure {
        kind,
        reason,
        stdout,
    })
}

fn output_limit_reason(limits: &WasmLimits) -> String {
    format!(
        "the check module wrote more than {} KiB of output",
        limits.output_bytes / 1024
    )
}

/// Why a run that did not exit normally stopped. `loading` is set for errors before
/// the module's code ran (instantiation, a missing `_start`).
fn classify(
    e: &wasmtime::Error,
    loading: bool,
    memory_refused: bool,
    output_full: bool,
) -> SandboxFailureKind {
    // A full output pipe comes first: a module that floods stdout usually goes on
    // looping until its fuel runs out, and the flood is the cause worth reporting.
    match e.downcast_ref::<Trap>() {
        _ if output_full => SandboxFailureKind::Output,
        Some(Trap::OutOfFuel) => SandboxFailureKind::OutOfFuel,
        Some(Trap::Interrupt) => SandboxFailureKind::Deadline,
        _ if memory_refused => SandboxFailureKind::Memory,
        _ if loading => SandboxFailureKind::BadModule,
        _ => SandboxFailureKind::Trap,
    }
}

fn describe(kind: SandboxFailureKind, e: &wasmtime::Error, limits: &WasmLimits) -> String {
    match kind {
        SandboxFailureKind::OutOfFuel => format!(
            "the check module ran out of fuel ({} instructions): does it loop forever?",
            limits.fuel
        ),
        SandboxFailureKind::Deadline => format!(
            "the check module ran longer than {} ms and was stopped",
            limits.deadline.as_millis()
        ),
        SandboxFailureKind::Memory => format!(
            "the check module tried to use more than {} MiB of memory",
            limits.memory_bytes / (1024 * 1024)
        ),
        SandboxFailureKind::Output => output_limit_reason(limits),
        SandboxFailureKind::BadModule => format!("the check module cannot start: {e:#}"),
        SandboxFailureKind::Trap => format!("the check module crashed: {}", trap_summary(e)),
    }
}

/// The trap's cause on one line: the wasm backtrace that follows is for debuggers.
fn trap_summary(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{e:#}")
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

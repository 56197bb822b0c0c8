//! [`Program`]: a verified program of a [`Runtime`](crate::Runtime), ready to
//! run any number of times on any number of threads.

use crate::error::{Error, Result};
use crate::map::Map;
use crate::runtime::{Engine, Registry};
use isa::RawInsn;
use std::sync::{Arc, Weak};
use std::time::SystemTime;
use uapi::{AttachType, ProgType};

/// A loaded, verified program. Cloning gives another handle to it.
#[derive(Clone)]
pub struct Program(pub(crate) Arc<ProgInner>);

pub(crate) struct ProgInner {
    pub(crate) id: u32,
    pub(crate) name: String,
    /// The function's whole name (`name` is cut to 15 bytes).
    pub(crate) func_name: String,
    pub(crate) prog_type: ProgType,
    pub(crate) attach_type: Option<AttachType>,
    pub(crate) license: String,
    /// As given to the verifier: relocated, map references by map id.
    pub(crate) insns: Vec<RawInsn>,
    /// After the verifier's rewrites (what runs; `prog dump xlated`).
    pub(crate) xlated: Vec<RawInsn>,
    pub(crate) verifier_log: String,
    pub(crate) insns_processed: u64,
    pub(crate) maps: Vec<Map>,
    pub(crate) exec: Arc<vm::Program>,
    /// The JIT's code, compiled on first use (or at load when the runtime's
    /// engine is the JIT); `None` inside when compilation failed, and the
    /// interpreter runs the program instead, as Linux falls back when its
    /// JIT cannot compile a program.
    pub(crate) jit: std::sync::OnceLock<Option<Arc<jit::JitProgram>>>,
    pub(crate) line_info: Vec<verifier::LineInfo>,
    pub(crate) func_info: Vec<verifier::FuncInfo>,
    pub(crate) btf: Option<Arc<btf::Btf>>,
    pub(crate) loaded_at: SystemTime,
    pub(crate) registry: Weak<Registry>,
}

impl Drop for ProgInner {
    fn drop(&mut self) {
        if let Some(r) = self.registry.upgrade() {
            r.forget_prog(self.id);
        }
    }
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("id", &self.0.id)
            .field("name", &self.0.name)
            .field("type", &self.0.prog_type)
            .finish()
    }
}

impl Program {
    /// The runtime-wide id (`bpftool prog show id N`).
    pub fn id(&self) -> u32 {
        self.0.id
    }

    /// The name (the function's name, cut to 15 bytes as the kernel keeps
    /// it).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The function's whole name, as libbpf's `bpf_program__name` gives it
    /// and `bpftool prog loadall` pins it (programs reopened from a pin
    /// have only [`Program::name`]).
    pub fn func_name(&self) -> &str {
        &self.0.func_name
    }

    pub fn prog_type(&self) -> ProgType {
        self.0.prog_type
    }

    pub fn expected_attach_type(&self) -> Option<AttachType> {
        self.0.attach_type
    }

    /// The license string the object declared.
    pub fn license(&self) -> &str {
        &self.0.license
    }

    /// The instructions as loaded (relocated; `lddw` of maps name them by
    /// map id), which is what the kernel hashes into the tag.
    pub fn insns(&self) -> &[RawInsn] {
        &self.0.insns
    }

    /// The instructions after the verifier's rewrites: what runs, and what
    /// `prog dump xlated` shows.
    pub fn xlated(&self) -> &[RawInsn] {
        &self.0.xlated
    }

    /// The verifier's log at the level the program was loaded with.
    pub fn verifier_log(&self) -> &str {
        &self.0.verifier_log
    }

    /// Instructions the verifier processed.
    pub fn insns_processed(&self) -> u64 {
        self.0.insns_processed
    }

    /// The maps the program uses (in the order of the object's maps).
    pub fn maps(&self) -> &[Map] {
        &self.0.maps
    }

    /// BTF line info (instruction offsets into [`Program::xlated`]).
    pub fn line_info(&self) -> &[verifier::LineInfo] {
        &self.0.line_info
    }

    /// BTF func info: where each subprogram starts and its name.
    pub fn func_info(&self) -> &[verifier::FuncInfo] {
        &self.0.func_info
    }

    /// The object's BTF, if it had any.
    pub fn btf(&self) -> Option<&Arc<btf::Btf>> {
        self.0.btf.as_ref()
    }

    /// When the program was loaded.
    pub fn loaded_at(&self) -> SystemTime {
        self.0.loaded_at
    }

    /// The prepared program the engines run.
    pub fn executable(&self) -> &Arc<vm::Program> {
        &self.0.exec
    }

    /// A helper host for runs of this program: its maps, the runtime's
    /// trace sink, the program's name.
    pub fn helper_host(&self) -> vm::HelperHost {
        let mut host = vm::HelperHost::new(
            self.0
                .maps
                .iter()
                .map(|m| Arc::clone(m.storage()))
                .collect(),
        );
        host.prog_name = self.0.name.clone();
        if let Some(r) = self.0.registry.upgrade() {
            host.trace = Arc::clone(&r.opts.trace);
        }
        host.inner_maps = Some(Arc::new(InnerMaps {
            registry: self.0.registry.clone(),
        }));
        host
    }

    fn tail_calls(&self) -> Option<&'static TailCalls> {
        self.0.registry.upgrade().map(|r| r.tail_calls)
    }

    /// The engine runs of this program use: the runtime's, or the
    /// interpreter when the JIT could not compile it.
    pub fn engine(&self) -> Engine {
        match self.runtime_engine() {
            Engine::Jit if self.jited().is_some() => Engine::Jit,
            _ => Engine::Interpreter,
        }
    }

    fn runtime_engine(&self) -> Engine {
        self.0
            .registry
            .upgrade()
            .map_or(Engine::Interpreter, |r| r.opts.engine)
    }

    /// The JIT-compiled code, compiling it on first use; `None` when the
    /// JIT cannot compile the program (see [`Program::jit_error`]).
    pub fn jited(&self) -> Option<&Arc<jit::JitProgram>> {
        self.0
            .jit
            .get_or_init(|| self.compile_jit().ok().map(Arc::new))
            .as_ref()
    }

    /// The JIT's code when `engine` is the JIT (compiling it only then).
    fn jited_if(&self, engine: Engine) -> Option<&Arc<jit::JitProgram>> {
        match engine {
            Engine::Jit => self.jited(),
            Engine::Interpreter => None,
        }
    }

    /// Why the JIT cannot compile this program, if it cannot.
    pub fn jit_error(&self) -> Option<String> {
        self.compile_jit().err()
    }

    fn compile_jit(&self) -> std::result::Result<jit::JitProgram, String> {
        let reg = self
            .0
            .registry
            .upgrade()
            .ok_or_else(|| "the runtime is gone".to_string())?;
        let helpers = reg.helpers.read().map(|h| h.clone()).unwrap_or_default();
        let by_id: std::collections::BTreeMap<i32, Map> = self
            .0
            .maps
            .iter()
            .map(|m| (m.id() as i32, m.clone()))
            .collect();
        let resolver = crate::load::MapResolver { maps: &by_id };
        let prep = vm::PrepareOptions {
            helpers: &helpers,
            resolver: Some(&resolver),
            callx_helper_ids: false,
        };
        let insns: Vec<isa::Insn> = isa::decode_program(&self.0.xlated)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(_, i)| i)
            .collect();
        // SAFETY: `xlated` is what the verifier accepted for this program
        // with these maps (dead calls sanitised, which only replaces
        // unreachable instructions): the contract of `compile_trusted`, as
        // for the interpreter's `assume_verified` at load.
        unsafe { jit::JitProgram::compile_trusted(&insns, &jit::CompileOptions::new(prep)) }
            .map_err(|e| e.to_string())
    }

    /// `BPF_PROG_TEST_RUN`: runs the program `input.repeat` times (at least
    /// once) on the packet and context `input` describes, with the kernel's
    /// validation, context construction and outputs (retval, data_out,
    /// ctx_out, average duration), on the program's engine.
    pub fn test_run(
        &self,
        input: &vm::test_run::TestRunInput<'_>,
    ) -> Result<vm::test_run::TestRunOutput> {
        self.test_run_on(input, self.engine())
    }

    /// [`Program::test_run`] on a chosen engine.
    pub fn test_run_on(
        &self,
        input: &vm::test_run::TestRunInput<'_>,
        engine: Engine,
    ) -> Result<vm::test_run::TestRunOutput> {
        use ProgType as P;
        let raw_ctx = matches!(
            self.0.prog_type,
            P::Kprobe | P::Tracepoint | P::PerfEvent | P::Unspec
        );
        let mut run = if raw_ctx {
            // The kernel cannot test-run these; oxbpf runs them once on the
            // context the caller gives (`pt_regs`, a tracepoint record, a
            // perf sample).
            vm::test_run::TestRun::raw(self.0.prog_type, input.ctx_in.unwrap_or(&[]))
        } else {
            vm::test_run::TestRun::new(self.0.prog_type, self.0.attach_type, input).map_err(
                |source| Error::TestRun {
                    program: self.0.name.clone(),
                    source,
                },
            )?
        };
        let mut host = self.helper_host();
        self.run_prepared_on(&mut run, &mut host, input.cpu, engine)
    }

    /// Runs an already prepared test run (see [`vm::test_run::TestRun`]):
    /// the per-packet step of pcap runs, which reset the packet and run
    /// again without rebuilding anything.
    pub fn run_prepared(
        &self,
        run: &mut vm::test_run::TestRun,
        host: &mut vm::HelperHost,
        worker: u32,
    ) -> Result<vm::test_run::TestRunOutput> {
        self.run_prepared_on(run, host, worker, self.engine())
    }

    /// [`Program::run_prepared`] on a chosen engine.
    pub fn run_prepared_on(
        &self,
        run: &mut vm::test_run::TestRun,
        host: &mut vm::HelperHost,
        worker: u32,
        engine: Engine,
    ) -> Result<vm::test_run::TestRunOutput> {
        let tail = self.tail_calls();
        // The engines run all repetitions in one call, set up once, as the
        // kernel's test-run loop does (see `TestRun::run_repeated`).
        let res = match (engine, self.jited_if(engine)) {
            (Engine::Jit, Some(code)) => run.run_repeated(host, |env, ctx, n| {
                env.set_worker(worker);
                code.run_repeated(env, &[ctx], tail.map(|t| t as &dyn jit::TailCalls), n)
            }),
            _ => {
                let mut machine = vm::Machine::new();
                let exec = &self.0.exec;
                run.run_repeated(host, |env, ctx, n| {
                    env.set_worker(worker);
                    if let Some(t) = tail {
                        env.set_tail_calls(t);
                    }
                    let mut r0 = machine.run(exec, env, &[ctx])?;
                    for _ in 1..n {
                        r0 = machine.run(exec, env, &[ctx])?;
                    }
                    Ok(r0)
                })
            }
        };
        res.map_err(|source| Error::TestRun {
            program: self.0.name.clone(),
            source,
        })
    }

    /// Runs the program once on the prepared run's current packet: `r0`.
    /// `machine` is used when the engine is the interpreter.
    pub fn run_once(
        &self,
        run: &mut vm::test_run::TestRun,
        host: &mut vm::HelperHost,
        machine: &mut vm::Machine,
        worker: u32,
    ) -> Result<u64> {
        self.run_once_on(run, host, machine, worker, self.engine())
    }

    /// [`Program::run_once`] on a chosen engine.
    pub fn run_once_on(
        &self,
        run: &mut vm::test_run::TestRun,
        host: &mut vm::HelperHost,
        machine: &mut vm::Machine,
        worker: u32,
        engine: Engine,
    ) -> Result<u64> {
        let tail = self.tail_calls();
        let res = match (engine, self.jited_if(engine)) {
            (Engine::Jit, Some(code)) => run.run_once(host, |env, ctx| {
                env.set_worker(worker);
                code.run_with_tail_calls(env, &[ctx], tail.map(|t| t as &dyn jit::TailCalls))
            }),
            _ => {
                let exec = &self.0.exec;
                run.run_once(host, |env, ctx| {
                    env.set_worker(worker);
                    if let Some(t) = tail {
                        env.set_tail_calls(t);
                    }
                    machine.run(exec, env, &[ctx])
                })
            }
        };
        res.map_err(|e| self.run_error(e))
    }

    fn run_error(&self, e: impl std::fmt::Display) -> Error {
        Error::Run {
            program: self.0.name.clone(),
            reason: e.to_string(),
        }
    }

    /// Runs the program once on a raw context (the memory `ctx`, whose
    /// address is r1 and length r2), on worker 0, and returns r0. For
    /// program types whose context is plain memory (tracing types,
    /// `syscall`, embedders' own types); packet programs go through
    /// [`Program::test_run`].
    pub fn run_raw(&self, ctx: &mut [u8]) -> Result<u64> {
        self.run_raw_on(ctx, 0)
    }

    /// [`Program::run_raw`] on worker `worker` (per-CPU map slot,
    /// `bpf_get_smp_processor_id`).
    pub fn run_raw_on(&self, ctx: &mut [u8], worker: u32) -> Result<u64> {
        let mut host = self.helper_host();
        let tail = self.tail_calls();
        let engine = self.engine();
        let len = ctx.len() as u64;
        let mut env = vm::RunEnv::new();
        let addr = env.add_region(ctx, vm::RegionKind::Context);
        host.add_map_regions(&mut env);
        env.set_worker(worker);
        if let Some(t) = tail {
            env.set_tail_calls(t);
        }
        env.set_host(&mut host);
        let res = match (engine, self.jited_if(engine)) {
            (Engine::Jit, Some(code)) => code.run_with_tail_calls(
                &mut env,
                &[addr, len],
                tail.map(|t| t as &dyn jit::TailCalls),
            ),
            _ => vm::Machine::new().run(&self.0.exec, &mut env, &[addr, len]),
        };
        res.map_err(|e| Error::Run {
            program: self.0.name.clone(),
            reason: e.to_string(),
        })
    }
}

/// Resolves the map ids stored in maps of maps through the registry.
struct InnerMaps {
    registry: Weak<Registry>,
}

impl vm::host::InnerMaps for InnerMaps {
    fn map(&self, id: u32) -> Option<Arc<maps::Map>> {
        let reg = self.registry.upgrade()?;
        reg.map_by_id(id).map(|m| Arc::clone(m.storage()))
    }
}

/// Resolves `bpf_tail_call` targets through the runtime's registry: the
/// prog array at the address the program passed, the program id stored at
/// the index.
pub(crate) struct TailCalls {
    pub(crate) registry: Weak<Registry>,
}

impl TailCalls {
    /// The program stored at `index` of the prog array programs see at
    /// address `prog_array`.
    fn target(&self, prog_array: u64, index: u32) -> Option<Program> {
        let reg = self.registry.upgrade()?;
        let map = reg.map_by_addr(prog_array)?;
        let id = map.storage().fd_array_get(index)?;
        reg.prog_by_id(id)
    }
}

impl jit::TailCalls for TailCalls {
    fn lookup(&self, prog_array: u64, index: u32) -> Option<Arc<jit::JitProgram>> {
        self.target(prog_array, index)?.jited().cloned()
    }
}

impl vm::TailCallHook for TailCalls {
    fn lookup(&self, prog_array: u64, index: u32) -> Option<Arc<vm::Program>> {
        Some(Arc::clone(&self.target(prog_array, index)?.0.exec))
    }
}

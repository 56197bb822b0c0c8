//! [`Runtime`]: what the kernel is to `bpf(2)` users — the registry of maps
//! and programs with their ids, the helpers programs may call, where
//! `bpf_trace_printk` output goes, and how many workers ("CPUs") per-CPU
//! maps have.

use crate::error::{Error, Result};
use crate::map::{Map, MapInner};
use crate::program::{ProgInner, Program};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock, Weak};
use vm::{HelperRegistry, TraceSink};

/// How a runtime runs programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// x86-64 machine code from `oxbpf-jit` (the default, as the kernel
    /// runs verified programs JIT-compiled).
    #[default]
    Jit,
    /// The interpreter, unchecked (programs are verified first).
    Interpreter,
}

impl Engine {
    /// `interp` or `jit`, as the CLI's `engine` keyword names them.
    pub fn from_name(name: &str) -> Option<Engine> {
        match name {
            "jit" => Some(Engine::Jit),
            "interp" | "interpreter" => Some(Engine::Interpreter),
            _ => None,
        }
    }
}

/// Choices made once per runtime.
#[derive(Clone)]
pub struct RuntimeOptions {
    /// Workers: per-CPU maps hold this many slots and
    /// `bpf_get_smp_processor_id` answers below it. Default: the machine's
    /// CPU count.
    pub workers: u32,
    /// Where trace_printk lines go. Default: standard error.
    pub trace: Arc<dyn TraceSink>,
    /// The engine programs run on.
    pub engine: Engine,
}

impl std::fmt::Debug for RuntimeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeOptions")
            .field("workers", &self.workers)
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            trace: Arc::new(vm::host::StderrTrace),
            engine: Engine::default(),
        }
    }
}

/// The registry behind a [`Runtime`] (shared with every map and program,
/// which hold a weak reference to unregister themselves when dropped).
pub(crate) struct Registry {
    pub(crate) opts: RuntimeOptions,
    next_map_id: AtomicU32,
    next_prog_id: AtomicU32,
    maps: RwLock<BTreeMap<u32, Weak<MapInner>>>,
    progs: RwLock<BTreeMap<u32, Weak<ProgInner>>>,
    pub(crate) helpers: RwLock<HelperRegistry>,
    /// Prototypes of the host's own helpers, for the verifier.
    pub(crate) custom_protos: RwLock<Vec<uapi::proto::HelperProto>>,
    /// The tail-call resolver runs hand to the engines. Engines take it by
    /// `'static` reference (a run's environment cannot borrow from the
    /// registry), so each runtime leaks this one small value.
    pub(crate) tail_calls: &'static crate::program::TailCalls,
    /// The pin file system whose ids and object store this runtime uses
    /// (see [`crate::pin`]); `None` for a process-private runtime.
    pub(crate) fs: Option<Arc<crate::pin::PinFs>>,
}

impl Registry {
    pub(crate) fn forget_map(&self, id: u32) {
        if let Ok(mut m) = self.maps.write() {
            m.remove(&id);
        }
        if let Some(fs) = &self.fs {
            fs.release(crate::pin::ObjKind::Map, id);
        }
    }

    pub(crate) fn forget_prog(&self, id: u32) {
        if let Ok(mut m) = self.progs.write() {
            m.remove(&id);
        }
        if let Some(fs) = &self.fs {
            fs.release(crate::pin::ObjKind::Prog, id);
        }
    }

    pub(crate) fn map_by_id(&self, id: u32) -> Option<Map> {
        let m = self.maps.read().ok()?;
        m.get(&id)?.upgrade().map(Map)
    }

    pub(crate) fn prog_by_id(&self, id: u32) -> Option<Program> {
        let m = self.progs.read().ok()?;
        m.get(&id)?.upgrade().map(Program)
    }

    /// The map whose storage programs see at `addr`.
    pub(crate) fn map_by_addr(&self, addr: u64) -> Option<Map> {
        let m = self.maps.read().ok()?;
        m.values()
            .filter_map(Weak::upgrade)
            .map(Map)
            .find(|m| m.prog_addr() == addr)
    }
}

/// A runtime: creates maps, loads programs, and keeps them by id.
///
/// Cloning a `Runtime` gives another handle to the same registry.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) reg: Arc<Registry>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("opts", &self.reg.opts)
            .finish_non_exhaustive()
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime {
    /// A runtime with default options and the standard helpers.
    pub fn new() -> Runtime {
        Self::with_options(RuntimeOptions::default())
    }

    /// A runtime with the given options and the standard helpers.
    pub fn with_options(opts: RuntimeOptions) -> Runtime {
        Self::build(opts, None)
    }

    /// A runtime whose maps and programs live in the pin file system `fs`
    /// (ids unique across processes, maps in shared memory, objects
    /// visible to `oxbpf prog show`/`map show` of other processes, pinning
    /// possible). See [`crate::pin`].
    pub fn with_fs(opts: RuntimeOptions, fs: crate::pin::PinFs) -> Runtime {
        Self::build(opts, Some(Arc::new(fs)))
    }

    /// The pin file system of this runtime, if it has one.
    pub fn pin_fs(&self) -> Option<&crate::pin::PinFs> {
        self.reg.fs.as_deref()
    }

    /// A fresh id: from the pin file system's counter when there is one
    /// (unique across processes), else from this runtime's own. Should the
    /// shared counter fail (I/O), the id comes from the private counter
    /// offset into the top half so it cannot collide with shared ids.
    fn alloc_id(&self, kind: crate::pin::ObjKind) -> u32 {
        let local = match kind {
            crate::pin::ObjKind::Prog => &self.reg.next_prog_id,
            _ => &self.reg.next_map_id,
        };
        match &self.reg.fs {
            Some(fs) => fs
                .alloc_id(kind)
                .unwrap_or_else(|_| 0x8000_0000 | local.fetch_add(1, Ordering::Relaxed)),
            None => local.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn build(opts: RuntimeOptions, fs: Option<Arc<crate::pin::PinFs>>) -> Runtime {
        Runtime {
            reg: Arc::new_cyclic(|weak| Registry {
                tail_calls: Box::leak(Box::new(crate::program::TailCalls {
                    registry: weak.clone(),
                })),
                opts,
                next_map_id: AtomicU32::new(1),
                next_prog_id: AtomicU32::new(1),
                maps: RwLock::new(BTreeMap::new()),
                progs: RwLock::new(BTreeMap::new()),
                helpers: RwLock::new(crate::helpers::standard()),
                custom_protos: RwLock::new(Vec::new()),
                fs,
            }),
        }
    }

    /// The options this runtime was made with.
    pub fn options(&self) -> &RuntimeOptions {
        &self.reg.opts
    }

    /// Registers (or replaces) a helper for programs loaded from now on:
    /// `proto.id` is its number, and the verifier checks every call against
    /// `proto` as it checks the kernel's helpers against theirs. Numbers
    /// above the kernel's (e.g. from `0x10000`) keep clear of them; a
    /// kernel number replaces that helper.
    ///
    /// The function follows the helper ABI of [`vm::HelperFn`]: it gets
    /// `r1`–`r5` and the run's environment, trusts pointer arguments the
    /// verifier proved (unchecked runs), and validates them with
    /// [`vm::RunEnv::read_bytes`] and friends otherwise.
    pub fn register_helper(&self, proto: uapi::proto::HelperProto, f: vm::HelperFn) {
        if let Ok(mut h) = self.reg.helpers.write() {
            h.register(uapi::HelperId(proto.id), f);
        }
        if let Ok(mut p) = self.reg.custom_protos.write() {
            p.retain(|x| x.id != proto.id);
            p.push(proto);
        }
    }

    /// `BPF_MAP_CREATE`: a new anonymous map.
    pub fn create_map(&self, spec: maps::MapSpec) -> Result<Map> {
        self.create_map_with_btf(spec, None)
    }

    /// `BPF_MAP_CREATE` with BTF describing key and value.
    pub fn create_map_with_btf(
        &self,
        spec: maps::MapSpec,
        btf: Option<Arc<btf::Btf>>,
    ) -> Result<Map> {
        if let Some(fs) = &self.reg.fs {
            return fs.create_map(self, spec, btf);
        }
        let name = spec.name.clone();
        let storage = maps::Map::create(spec, &maps::MapOptions::new(self.reg.opts.workers))
            .map_err(|source| Error::Map {
                map: name.clone(),
                source,
            })?;
        Ok(self.adopt_map(name, storage, btf))
    }

    /// Registers storage made elsewhere (a pinned map opened from a file).
    pub fn adopt_map(&self, name: String, storage: maps::Map, btf: Option<Arc<btf::Btf>>) -> Map {
        let id = self.alloc_id(crate::pin::ObjKind::Map);
        self.adopt_map_with_id(id, name, storage, btf)
    }

    /// [`Runtime::adopt_map`] under a given id (a map of the pin file
    /// system, whose id was given when it was created).
    pub(crate) fn adopt_map_with_id(
        &self,
        id: u32,
        name: String,
        storage: maps::Map,
        btf: Option<Arc<btf::Btf>>,
    ) -> Map {
        let inner = Arc::new(MapInner {
            id,
            name,
            map: Arc::new(storage),
            btf,
            registry: Arc::downgrade(&self.reg),
        });
        if let Ok(mut m) = self.reg.maps.write() {
            m.insert(id, Arc::downgrade(&inner));
        }
        Map(inner)
    }

    pub(crate) fn register_prog(&self, make: impl FnOnce(u32) -> ProgInner) -> Program {
        let id = self.alloc_id(crate::pin::ObjKind::Prog);
        let prog = self.register_prog_with_id(id, make);
        if let Some(fs) = &self.reg.fs {
            // Best effort: a program that could not be stored is still
            // usable here; pinning it retries and reports the error.
            let _ = fs.store_program(&prog);
        }
        prog
    }

    /// Registers a program under a given id (one restored from the pin
    /// file system).
    pub(crate) fn register_prog_with_id(
        &self,
        id: u32,
        make: impl FnOnce(u32) -> ProgInner,
    ) -> Program {
        let inner = Arc::new(make(id));
        if let Ok(mut m) = self.reg.progs.write() {
            m.insert(id, Arc::downgrade(&inner));
        }
        Program(inner)
    }

    /// The live map with this id.
    pub fn map(&self, id: u32) -> Option<Map> {
        self.reg.map_by_id(id)
    }

    /// The live program with this id.
    pub fn program(&self, id: u32) -> Option<Program> {
        self.reg.prog_by_id(id)
    }

    /// Every live map, by id.
    pub fn maps(&self) -> Vec<Map> {
        let ids: Vec<u32> = self
            .reg
            .maps
            .read()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        ids.into_iter().filter_map(|id| self.map(id)).collect()
    }

    /// Every live program, by id.
    pub fn programs(&self) -> Vec<Program> {
        let ids: Vec<u32> = self
            .reg
            .progs
            .read()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        ids.into_iter().filter_map(|id| self.program(id)).collect()
    }
}

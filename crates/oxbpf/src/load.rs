//! Loading: what libbpf's `bpf_object__load` and the kernel's
//! `BPF_PROG_LOAD` do together. Maps are created (and global data
//! initialised and frozen), map references patched to map ids, every
//! program verified with the kernel's rules and prepared to run, and the
//! initial slots of program arrays and maps of maps filled.

use crate::error::{Error, Result};
use crate::map::Map;
use crate::program::{ProgInner, Program};
use crate::runtime::Runtime;
use isa::{LoadImm, RawInsn};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use uapi::{AttachType, ProgType};

/// Choices for loading an object or a program.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Verifier log level: 0, 1 (the path to an error), 2 (every state).
    pub log_level: u32,
    /// Load only these programs (by function name); all by default.
    pub programs: Option<Vec<String>>,
    /// The program type for every program, overriding the section name
    /// (bpftool's `type` keyword).
    pub prog_type: Option<ProgType>,
    /// Target BTF for CO-RE relocations (default: `/sys/kernel/btf/vmlinux`
    /// when present, else oxbpf's built-in context types).
    pub core_btf: Option<PathBuf>,
    /// Values of `__kconfig` externs.
    pub kconfig: Option<object::KconfigOptions>,
    /// Refuse reads of never-written stack bytes, as the kernel does for
    /// unprivileged loaders (default: allowed, as for root).
    pub strict_uninit_stack: bool,
    /// Existing maps to use instead of creating them, by the object's map
    /// name (libbpf's `bpf_map__reuse_fd`; bpftool's `prog load … map name
    /// NAME pinned PATH`; `LIBBPF_PIN_BY_NAME`). Each must match the
    /// object's definition (type, key and value size, max entries, flags);
    /// it is used as it is (no global data written, not frozen again).
    pub reuse_maps: Vec<(String, Map)>,
}

/// A loaded object: its programs and maps.
#[derive(Debug, Clone)]
pub struct Object {
    name: String,
    programs: Vec<Program>,
    maps: Vec<Map>,
    btf: Option<Arc<btf::Btf>>,
}

impl Object {
    /// libbpf's object name (the file's base name up to its first dot).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The loaded programs, in libbpf's order.
    pub fn programs(&self) -> &[Program] {
        &self.programs
    }

    /// The maps, in libbpf's order (including global data maps).
    pub fn maps(&self) -> &[Map] {
        &self.maps
    }

    /// The program whose function is called `name`.
    pub fn program(&self, name: &str) -> Result<&Program> {
        self.programs
            .iter()
            .find(|p| p.name() == name || p.0.name == truncate(name))
            .ok_or_else(|| Error::NotFound {
                what: "program",
                name: name.to_string(),
            })
    }

    /// The map called `name` (libbpf's name; global data maps are
    /// `<obj>.data`, `<obj>.bss`, ...).
    pub fn map(&self, name: &str) -> Result<&Map> {
        self.maps
            .iter()
            .find(|m| m.name() == name || m.name() == truncate(name))
            .ok_or_else(|| Error::NotFound {
                what: "map",
                name: name.to_string(),
            })
    }

    /// The object's BTF.
    pub fn btf(&self) -> Option<&Arc<btf::Btf>> {
        self.btf.as_ref()
    }
}

/// What an object's BTF says about one of its programs.
#[derive(Default)]
struct Debug {
    line_info: Vec<verifier::LineInfo>,
    func_info: Vec<verifier::FuncInfo>,
    btf: Option<Arc<btf::Btf>>,
    prog_btf: Option<verifier::ProgBtf>,
    /// The kernel's BTF and attach target of a tracing program.
    kernel_btf: Option<verifier::BtfInfo>,
}

/// A verdict of [`Runtime::verify_spec`]: the program was accepted.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The program's name (as the kernel keeps it).
    pub name: String,
    pub insns_processed: u64,
    /// The log at the requested level.
    pub log: String,
}

/// The kernel's BTF and attach target of a tracing program: the section's
/// target (`tp_btf/<tracepoint>`, `iter/<target>`, `fentry/<function>`)
/// looked up in the running kernel's BTF.
fn kernel_btf(p: &object::ProgramSpec) -> Option<verifier::BtfInfo> {
    if p.prog_type != ProgType::Tracing {
        return None;
    }
    let vmlinux = object::vmlinux_btf().ok().flatten()?;
    let target = p.section.split_once('/')?.1;
    let attach = p.expected_attach_type?;
    let attach_btf_id = verifier::attach_btf_id(vmlinux, attach, target)?;
    Some(verifier::BtfInfo {
        vmlinux,
        attach_btf_id,
    })
}

/// A program given as instructions rather than an object (`oxbpf prog load`
/// of assembly, embedders).
#[derive(Debug, Clone)]
pub struct ProgramDef<'a> {
    pub name: &'a str,
    pub prog_type: ProgType,
    pub expected_attach_type: Option<AttachType>,
    /// `lddw` map references name maps by id (`BPF_PSEUDO_MAP_FD` with
    /// imm = id), and every map named must be in `maps`.
    pub insns: &'a [RawInsn],
    pub maps: &'a [Map],
    pub license: &'a str,
}

/// The kernel keeps `BPF_OBJ_NAME_LEN - 1` bytes of a name.
fn truncate(name: &str) -> &str {
    let max = uapi::OBJ_NAME_LEN - 1;
    if name.len() <= max {
        return name;
    }
    let mut end = max;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Byte offset of the member of struct `value_type` whose type is named
/// `ty` (`bpf_timer`, `bpf_spin_lock`), from BTF.
fn member_of_type(btf: &btf::Btf, value_type: u32, ty: &str) -> Option<u32> {
    if value_type == 0 {
        return None;
    }
    let c = btf.composite(value_type).ok()??;
    c.members.iter().find_map(|mem| {
        let t = btf.resolve(mem.type_id).ok()?;
        (btf.type_name(t) == Some(ty)).then_some(mem.bit_offset / 8)
    })
}

/// Byte offset of the `struct bpf_spin_lock` member of the map's value
/// type, from the object's BTF.
fn spin_lock_off(btf: Option<&btf::Btf>, m: &object::MapSpec) -> Option<u32> {
    member_of_type(btf?, m.btf_value_type_id, "bpf_spin_lock")
}

fn storage_spec(m: &object::MapSpec, btf: Option<&btf::Btf>) -> maps::MapSpec {
    let mut s = maps::MapSpec::new(m.map_type, m.key_size, m.value_size, m.max_entries)
        .with_flags(m.flags)
        .with_name(&m.kernel_name())
        .with_map_extra(m.map_extra);
    s.btf_key_type_id = m.btf_key_type_id;
    s.btf_value_type_id = m.btf_value_type_id;
    s.spin_lock_off = spin_lock_off(btf, m);
    s.inner_map = m.inner.as_deref().map(|i| Box::new(storage_spec(i, btf)));
    s
}

fn verifier_meta(m: &Map) -> verifier::MapMeta {
    let s = m.spec();
    let mut meta = verifier::MapMeta::new(s.map_type, s.key_size, s.value_size, s.max_entries);
    meta.flags = s.flags;
    meta.frozen = m.is_frozen();
    meta.name = m.name().to_string();
    meta.spin_lock_off = s.spin_lock_off;
    meta.timer_off = m
        .btf()
        .and_then(|b| member_of_type(b, s.btf_value_type_id, "bpf_timer"));
    // Frozen read-only global data (`.rodata`, `.kconfig`): the verifier
    // reads its bytes as constants, as Linux does, so `const volatile`
    // configuration prunes dead branches.
    if meta.frozen && meta.rdonly_prog() && s.map_type == uapi::MapType::Array && s.max_entries == 1
    {
        meta.data = m.lookup(&0u32.to_le_bytes()).ok();
    }
    meta.inner = s.inner_map.as_deref().map(|i| {
        let mut im = verifier::MapMeta::new(i.map_type, i.key_size, i.value_size, i.max_entries);
        im.flags = i.flags;
        im.spin_lock_off = i.spin_lock_off;
        Box::new(im)
    });
    meta
}

/// Resolves `lddw` of maps (by id) to what programs see: the map's
/// address, or the address of its value for global data.
pub(crate) struct MapResolver<'a> {
    pub(crate) maps: &'a BTreeMap<i32, Map>,
}

impl vm::Resolver for MapResolver<'_> {
    fn resolve(&self, pc: usize, imm: LoadImm) -> std::result::Result<u64, vm::BoxError> {
        let get = |fd: i32| {
            self.maps
                .get(&fd)
                .ok_or_else(|| format!("insn {pc}: no map with id {fd}"))
        };
        match imm {
            LoadImm::Imm(v) => Ok(v),
            LoadImm::MapFd(fd) => Ok(get(fd)?.prog_addr()),
            LoadImm::MapValue { fd, off } => {
                let m = get(fd)?;
                let base = m.storage().lookup_ptr(&0u32.to_le_bytes(), 0);
                if base.is_null() || off as usize >= m.spec().value_size as usize {
                    return Err(format!(
                        "insn {pc}: offset {off} is outside the value of map '{}'",
                        m.name()
                    )
                    .into());
                }
                Ok(base.expose_provenance() as u64 + off as u64)
            }
            other => Err(format!("insn {pc}: lddw form {other:?} is not supported").into()),
        }
    }

    fn map(&self, _pc: usize, imm: LoadImm) -> Option<std::sync::Arc<maps::Map>> {
        match imm {
            // `resolve` gives this map's `prog_addr`, its storage's address.
            LoadImm::MapFd(fd) => self
                .maps
                .get(&fd)
                .map(|m| std::sync::Arc::clone(m.storage())),
            _ => None,
        }
    }
}

impl Runtime {
    /// Opens and loads the object file at `path`.
    pub fn load_file(&self, path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Object> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let name = object::object_name(&path.to_string_lossy());
        self.load_bytes(&bytes, &name, opts).map_err(|e| match e {
            Error::Io { .. } | Error::Object(_) => e,
            other => Error::InFile {
                path: path.to_path_buf(),
                source: Box::new(other),
            },
        })
    }

    /// Loads an object from its bytes; `name` is the object name (libbpf's:
    /// the file's base name up to its first dot).
    pub fn load_bytes(&self, bytes: &[u8], name: &str, opts: &LoadOptions) -> Result<Object> {
        let user_btf = match &opts.core_btf {
            Some(p) => {
                let b = std::fs::read(p).map_err(|source| Error::Io {
                    path: p.clone(),
                    source,
                })?;
                Some(btf::Btf::parse(&b).map_err(|e| Error::Unsupported {
                    program: p.display().to_string(),
                    reason: format!("target BTF: {e}"),
                })?)
            }
            None => None,
        };
        let core_btf = match &user_btf {
            Some(b) => Some(b),
            None => object::vmlinux_btf()?,
        };
        let mut popts = object::ParseOptions::default();
        if let Some(b) = core_btf {
            popts.core = object::CoreTarget::Btf(b);
        }
        if let Some(k) = &opts.kconfig {
            popts.kconfig = k.clone();
        }
        let spec = object::ObjectSpec::parse_with(bytes, name, &popts)?;
        self.load_spec(&spec, opts)
    }

    /// Loads a parsed object.
    pub fn load_spec(&self, spec: &object::ObjectSpec, opts: &LoadOptions) -> Result<Object> {
        let (maps, programs, btf) = self.each_program(spec, opts, |def, by_id, debug| {
            self.load_verified(def, by_id, debug, opts)
        })?;
        self.finish_load(spec, maps, programs, btf)
    }

    /// Verifies the selected programs of a parsed object (with its maps
    /// created, as loading does) without preparing them to run: the
    /// verdicts of `oxbpf prog verify`. Tracing programs are verified
    /// against the kernel's BTF (`tp_btf`, `iter`, `fentry` contexts),
    /// which loading cannot offer yet (see [`Error::Unsupported`]).
    pub fn verify_spec(
        &self,
        spec: &object::ObjectSpec,
        opts: &LoadOptions,
    ) -> Result<Vec<Verified>> {
        let (_, verified, _) = self.each_program(spec, opts, |def, by_id, debug| {
            let name = truncate(def.name).to_string();
            let v = self.verify_def(&def, by_id, &debug, opts)?;
            Ok(Verified {
                name,
                insns_processed: v.insns_processed(),
                log: v.log().to_string(),
            })
        })?;
        Ok(verified.into_iter().map(|(_, v)| v).collect())
    }

    /// Creates the object's maps, then calls `f` for each selected program
    /// with its relocated definition.
    #[allow(clippy::type_complexity)]
    fn each_program<T>(
        &self,
        spec: &object::ObjectSpec,
        opts: &LoadOptions,
        mut f: impl FnMut(ProgramDef<'_>, &BTreeMap<i32, Map>, Debug) -> Result<T>,
    ) -> Result<(Vec<Map>, Vec<(usize, T)>, Option<Arc<btf::Btf>>)> {
        let btf = spec.btf.clone().map(Arc::new);
        // Maps, in the object's order; index in the spec -> map.
        let mut maps = Vec::with_capacity(spec.maps.len());
        for m in &spec.maps {
            let mut sspec = storage_spec(m, btf.as_deref());
            // libbpf's adjustments: a perf event array of unspecified size
            // gets one slot per CPU, a ring buffer a whole number of pages.
            if sspec.map_type == uapi::MapType::PerfEventArray && sspec.max_entries == 0 {
                sspec.max_entries = self.reg.opts.workers;
            }
            if sspec.map_type == uapi::MapType::Ringbuf {
                sspec.max_entries = sspec.max_entries.max(4096).next_multiple_of(4096);
            }
            if let Some((_, old)) = opts.reuse_maps.iter().find(|(n, _)| *n == m.name) {
                let o = old.spec();
                let same = o.map_type == sspec.map_type
                    && o.key_size == sspec.key_size
                    && o.value_size == sspec.value_size
                    && o.max_entries == sspec.max_entries
                    && o.flags == sspec.flags;
                if !same {
                    return Err(Error::Unsupported {
                        program: m.name.clone(),
                        reason: format!(
                            "the map to reuse (id {}) does not match the object's definition",
                            old.id()
                        ),
                    });
                }
                maps.push(old.clone());
                continue;
            }
            let map = self.create_map_with_btf(sspec, btf.clone())?;
            if let Some(data) = &m.data {
                if data.iter().any(|&b| b != 0) {
                    map.update(&0u32.to_le_bytes(), data, 0)
                        .map_err(|e| Error::Unsupported {
                            program: m.name.clone(),
                            reason: format!("initialising global data: {e}"),
                        })?;
                }
            }
            if m.freeze {
                map.freeze()?;
            }
            maps.push(map);
        }
        let by_id: BTreeMap<i32, Map> = maps.iter().map(|m| (m.id() as i32, m.clone())).collect();

        let mut programs: Vec<(usize, T)> = Vec::new();
        for (pi, p) in spec.programs.iter().enumerate() {
            let wanted = match &opts.programs {
                Some(names) => names.iter().any(|n| n == &p.name),
                None => p.autoload,
            };
            if !wanted {
                continue;
            }
            let mut insns = p.insns.clone();
            for r in &p.map_refs {
                insns[r.insn].imm = maps[r.map].id() as i32;
                if let object::MapRefKind::Value { offset } = r.kind {
                    insns[r.insn + 1].imm = offset as i32;
                }
            }
            let prog_type = match opts.prog_type {
                Some(t) => t,
                // Old numbered `socketN` sections are socket filters.
                None if p.prog_type == ProgType::Unspec && p.section.starts_with("socket") => {
                    ProgType::SocketFilter
                }
                None if p.prog_type == ProgType::Unspec => {
                    return Err(Error::Unsupported {
                        program: p.name.clone(),
                        reason: format!(
                        "section '{}' names no program type (give one, as bpftool's `type` does)",
                        p.section
                    ),
                    })
                }
                None => p.prog_type,
            };
            let (line_info, func_info) = debug_info(p, btf.as_deref());
            // Global functions are verified on their own against their BTF
            // prototype, as Linux does, when the object has BTF (only those
            // libbpf keeps global: `ProgramSpec::global_funcs`).
            let prog_btf = btf.as_ref().map(|b| verifier::ProgBtf {
                btf: Arc::clone(b),
                funcs: p.global_funcs(),
            });
            let prog = f(
                ProgramDef {
                    name: &p.name,
                    prog_type,
                    expected_attach_type: p.expected_attach_type,
                    insns: &insns,
                    maps: &maps,
                    license: &spec.license,
                },
                &by_id,
                Debug {
                    line_info,
                    func_info,
                    btf: btf.clone(),
                    prog_btf,
                    kernel_btf: kernel_btf(p),
                },
            )?;
            programs.push((pi, prog));
        }
        Ok((maps, programs, btf))
    }

    /// Fills the initial slots of program arrays and maps of maps.
    fn finish_load(
        &self,
        spec: &object::ObjectSpec,
        maps: Vec<Map>,
        programs: Vec<(usize, Program)>,
        btf: Option<Arc<btf::Btf>>,
    ) -> Result<Object> {
        // Initial slots of program arrays and maps of maps.
        for (m, map) in spec.maps.iter().zip(&maps) {
            for (index, slot) in &m.init_slots {
                let id = match slot {
                    object::InitSlot::Program(pi) => match programs.iter().find(|(i, _)| i == pi) {
                        Some((_, p)) => p.id(),
                        None => continue,
                    },
                    object::InitSlot::Map(mi) => maps[*mi].id(),
                };
                map.update(&index.to_le_bytes(), &id.to_le_bytes(), 0)?;
            }
        }
        Ok(Object {
            name: spec.name.clone(),
            programs: programs.into_iter().map(|(_, p)| p).collect(),
            maps,
            btf,
        })
    }

    /// Verifies and loads one program given as instructions.
    pub fn load_program(&self, def: ProgramDef<'_>, opts: &LoadOptions) -> Result<Program> {
        let by_id: BTreeMap<i32, Map> = def
            .maps
            .iter()
            .map(|m| (m.id() as i32, m.clone()))
            .collect();
        self.load_verified(def, &by_id, Debug::default(), opts)
    }

    /// Verifies one program: what `BPF_PROG_LOAD` checks before anything
    /// runs.
    fn verify_def(
        &self,
        def: &ProgramDef<'_>,
        by_id: &BTreeMap<i32, Map>,
        debug: &Debug,
        opts: &LoadOptions,
    ) -> Result<verifier::VerifiedProgram> {
        let name = truncate(def.name).to_string();
        let mut req = verifier::Request::new(def.insns, def.prog_type);
        req.expected_attach_type = def.expected_attach_type;
        req.maps = by_id
            .iter()
            .map(|(&id, m)| (id, verifier_meta(m)))
            .collect();
        req.line_info = debug.line_info.clone();
        req.func_info = debug.func_info.clone();
        req.prog_btf = debug.prog_btf.clone();
        req.btf = debug.kernel_btf;
        req.log_level = opts.log_level;
        req.options.allow_uninit_stack = !opts.strict_uninit_stack;
        req.custom_helpers = self
            .reg
            .custom_protos
            .read()
            .map(|p| p.clone())
            .unwrap_or_default();
        verifier::verify(&req).map_err(|r| Error::Verify {
            program: name,
            source_line: r.pc.and_then(|pc| source_line(&debug.line_info, pc)),
            message: r.error_line().to_string(),
            pc: r.pc,
            errno: r.errno,
            log: r.log.clone(),
        })
    }

    fn load_verified(
        &self,
        def: ProgramDef<'_>,
        by_id: &BTreeMap<i32, Map>,
        debug: Debug,
        opts: &LoadOptions,
    ) -> Result<Program> {
        let verified = self.verify_def(&def, by_id, &debug, opts)?;
        let Debug {
            mut line_info,
            mut func_info,
            btf,
            ..
        } = debug;
        // Dead code is gone from what runs and what `dump xlated` shows:
        // the debug info follows it, as in the kernel.
        verified.adjust_line_info(&mut line_info);
        verified.adjust_func_info(&mut func_info);
        let name = truncate(def.name).to_string();
        // Loads through kernel pointers (BTF-typed contexts) must give 0
        // instead of faulting, which neither engine does yet: refuse to
        // run such programs rather than run them unsafely.
        if let Some(&pc) = verified.probe_mem_insns().first() {
            return Err(Error::Unsupported {
                program: name,
                reason: format!(
                    "insn {pc}: loads through kernel pointers (BTF) cannot run in user space yet; \
                     `oxbpf prog verify` checks such programs"
                ),
            });
        }
        let helpers = self
            .reg
            .helpers
            .read()
            .map(|h| h.clone())
            .unwrap_or_default();
        let resolver = MapResolver { maps: by_id };
        // The kernel's dead-code sanitising is part of what `dump xlated`
        // shows, and what both engines run.
        let xlated = sanitize_dead_calls(verified.insns());
        let prep = vm::PrepareOptions {
            helpers: &helpers,
            resolver: Some(&resolver),
            callx_helper_ids: false,
        };
        let exec = vm::Program::from_raw(&xlated, &prep).map_err(|source| Error::Prepare {
            program: name.clone(),
            source,
        })?;
        // SAFETY: `verified` is the verifier's acceptance of exactly these
        // instructions with these maps: every memory access stays within
        // memory valid for it, atomics are aligned and helper arguments
        // meet their prototypes — the contract of `assume_verified`.
        let exec = unsafe { exec.assume_verified() };
        // Every map an `lddw` names, reachable or not, in the order of
        // first use: what Linux's `used_maps` holds (it resolves them
        // before verifying) and what keeps them alive with the program —
        // also those behind code that `.rodata` constants made dead.
        let mut used: Vec<Map> = Vec::new();
        let mut i = 0;
        while i < def.insns.len() {
            let insn = &def.insns[i];
            if insn.code == uapi::opcode::LDDW {
                if matches!(
                    insn.src,
                    uapi::opcode::BPF_PSEUDO_MAP_FD | uapi::opcode::BPF_PSEUDO_MAP_VALUE
                ) {
                    if let Some(m) = by_id.get(&insn.imm) {
                        if !used.iter().any(|u| u.id() == m.id()) {
                            used.push(m.clone());
                        }
                    }
                }
                i += 1;
            }
            i += 1;
        }
        let prog = self.register_prog(|id| ProgInner {
            id,
            name,
            func_name: def.name.to_string(),
            prog_type: def.prog_type,
            attach_type: def.expected_attach_type,
            license: def.license.to_string(),
            insns: def.insns.to_vec(),
            xlated,
            verifier_log: verified.log().to_string(),
            insns_processed: verified.insns_processed(),
            maps: used,
            exec: Arc::new(exec),
            jit: std::sync::OnceLock::new(),
            line_info,
            func_info,
            btf,
            loaded_at: SystemTime::now(),
            registry: Arc::downgrade(&self.reg),
        });
        // Compile now, as the kernel JITs at load (a failure falls back to
        // the interpreter; `Program::jit_error` says why).
        if self.reg.opts.engine == crate::Engine::Jit {
            prog.jited();
        }
        Ok(prog)
    }
}

/// The calls CO-RE poisoned (`call 0xbad2310`, and kfunc calls of weak
/// `__ksym` externs that did not resolve) are in code the verifier proved
/// unreachable — it refuses them otherwise. Like the kernel's
/// `sanitize_dead_code`, they become `ja -1`, so that preparation does not
/// look for helpers that do not exist.
fn sanitize_dead_calls(insns: &[RawInsn]) -> Vec<RawInsn> {
    use uapi::opcode::{CALL, JA};
    insns
        .iter()
        .map(|i| {
            let poisoned = i.code == CALL
                && i.src == 0
                && (i.imm == uapi::POISON_HELPER || i.imm >= object::POISON_CALL_KFUNC_BASE);
            if poisoned {
                RawInsn {
                    code: JA,
                    dst: 0,
                    src: 0,
                    off: -1,
                    imm: 0,
                }
            } else {
                *i
            }
        })
        .collect()
}

/// `file:line` of the source line covering instruction `pc`.
fn source_line(lines: &[verifier::LineInfo], pc: usize) -> Option<String> {
    lines
        .iter()
        .filter(|l| l.insn_off as usize <= pc)
        .max_by_key(|l| l.insn_off)
        .map(|l| format!("{}:{}", l.file, l.line))
}

/// The program's BTF line and func info in the verifier's terms.
fn debug_info(
    p: &object::ProgramSpec,
    btf: Option<&btf::Btf>,
) -> (Vec<verifier::LineInfo>, Vec<verifier::FuncInfo>) {
    let Some(btf) = btf else {
        return (Vec::new(), Vec::new());
    };
    let lines = p
        .line_info
        .iter()
        .map(|l| verifier::LineInfo {
            insn_off: l.insn_off,
            file: l.file_name(btf).to_string(),
            line: l.line,
            col: l.column,
            text: l.line_text(btf).to_string(),
        })
        .collect();
    let funcs = p
        .func_info
        .iter()
        .map(|f| verifier::FuncInfo {
            insn_off: f.insn_off,
            name: btf.type_name(f.type_id).unwrap_or("").to_string(),
        })
        .collect();
    (lines, funcs)
}

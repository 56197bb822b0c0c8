//! What the verifier is given: the program, its type, the maps it refers
//! to, optional debug info, and options.

use isa::RawInsn;
use std::collections::BTreeMap;
use uapi::map::create_flags;
use uapi::{AttachType, MapType, ProgType};

/// Index of a map in the verifier's map table (maps named by fd in the
/// program, and inner maps of map-in-map types, in that order).
pub type MapIdx = u32;

/// What the verifier needs to know about a map.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MapMeta {
    pub map_type: MapType,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// `map_flags` of `BPF_MAP_CREATE`.
    pub flags: u32,
    /// Offset of the `struct bpf_spin_lock` in the value, from BTF.
    pub spin_lock_off: Option<u32>,
    /// Offset of the `struct bpf_timer` in the value, from BTF.
    pub timer_off: Option<u32>,
    /// For `array_of_maps` / `hash_of_maps`: the inner map's template.
    pub inner: Option<Box<MapMeta>>,
    /// Frozen by `BPF_MAP_FREEZE` (read-only global data once loaded).
    pub frozen: bool,
    /// The map's name, printed in the log (`map_ptr(map=events,ks=4,vs=8)`).
    pub name: String,
    /// The contents of a frozen single-element array the program may only
    /// read (global `.rodata`, `.kconfig`): loads from it at a constant
    /// offset give constants, as the kernel reads such maps while verifying
    /// (`bpf_map_direct_read`), so branches on configuration constants are
    /// decided and dead code is not explored. Ignored unless the map is an
    /// array with one entry, [`MapMeta::frozen`] and `BPF_F_RDONLY_PROG`;
    /// the loader must give exactly what the map holds.
    pub data: Option<Vec<u8>>,
}

impl MapMeta {
    /// A map with no flags, lock, inner map or name.
    pub fn new(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> MapMeta {
        MapMeta {
            map_type,
            key_size,
            value_size,
            max_entries,
            flags: 0,
            spin_lock_off: None,
            timer_off: None,
            inner: None,
            frozen: false,
            name: String::new(),
            data: None,
        }
    }

    /// Programs may not write into the values (`BPF_F_RDONLY_PROG`).
    pub fn rdonly_prog(&self) -> bool {
        self.flags & create_flags::BPF_F_RDONLY_PROG != 0
    }

    /// The constant at byte `off` of a read-only, frozen array value
    /// ([`MapMeta::data`]) for a load of `size` bytes (1, 2, 4 or 8),
    /// zero-extended.
    pub fn rdonly_const(&self, off: i64, size: u32) -> Option<u64> {
        let data = self.data.as_ref()?;
        if !(self.rdonly_prog()
            && self.frozen
            && self.map_type == uapi::MapType::Array
            && self.max_entries == 1
            && matches!(size, 1 | 2 | 4 | 8))
        {
            return None;
        }
        let start = usize::try_from(off).ok()?;
        let end = start.checked_add(size as usize)?;
        if end > self.value_size as usize {
            return None;
        }
        let bytes = data.get(start..end)?;
        let mut b = [0u8; 8];
        b[..bytes.len()].copy_from_slice(bytes);
        Some(u64::from_le_bytes(b))
    }

    /// Programs may not read the values (`BPF_F_WRONLY_PROG`).
    pub fn wronly_prog(&self) -> bool {
        self.flags & create_flags::BPF_F_WRONLY_PROG != 0
    }
}

/// A source line from BTF line info, printed beside the instruction it
/// starts at (`; return *p; @ prog.c:12`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LineInfo {
    /// First instruction (slot index) the line covers.
    pub insn_off: u32,
    pub file: String,
    pub line: u32,
    pub col: u32,
    /// The source text of the line.
    pub text: String,
}

/// A function from BTF func info: where a subprogram starts and its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncInfo {
    pub insn_off: u32,
    pub name: String,
}

/// Choices where the kernel's behaviour depends on the loader's privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Options {
    /// Allow reads of never-written stack bytes, as the kernel does for
    /// loaders with `CAP_PERFMON` (root). Off by default: oxbpf's checked
    /// mode treats such reads as a fault, as the kernel does for
    /// unprivileged loaders.
    pub allow_uninit_stack: bool,
}

#[allow(clippy::derivable_impls)]
impl Default for Options {
    fn default() -> Options {
        Options {
            allow_uninit_stack: false,
        }
    }
}

/// The kernel BTF a tracing program's context and pointers are typed by
/// (other program types use only `vmlinux`, for helpers that return
/// kernel objects such as `bpf_get_current_task_btf`).
#[derive(Debug, Clone, Copy)]
pub struct BtfInfo {
    /// The kernel's BTF (`/sys/kernel/btf/vmlinux`, as
    /// `object::vmlinux_btf()` parses it once per process).
    pub vmlinux: &'static btf::Btf,
    /// `attach_btf_id`: the type in `vmlinux` the program attaches to — a
    /// `btf_trace_<tracepoint>` typedef for `tp_btf`, the `bpf_iter_<target>`
    /// function for iterators, the function itself for `fentry`/`fexit`
    /// ([`crate::attach_btf_id`] finds it from the section's target name).
    pub attach_btf_id: u32,
}

/// The program's own BTF and its func info: global functions are verified
/// on their own against their prototype, as the kernel does.
#[derive(Debug, Clone)]
pub struct ProgBtf {
    pub btf: std::sync::Arc<btf::Btf>,
    /// `(first instruction, id of the FUNC type)` per subprogram (the
    /// `.BTF.ext` func info records, relocated to the program). A loader
    /// leaves out functions it treats as static although their BTF says
    /// global, as libbpf does with `__hidden` ones.
    pub funcs: Vec<(u32, u32)>,
}

/// Everything [`crate::verify`] needs.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The program, already relocated: maps referenced by fd through `lddw`,
    /// subprogram calls by relative offset.
    pub insns: &'a [RawInsn],
    pub prog_type: ProgType,
    pub expected_attach_type: Option<AttachType>,
    /// Maps by the fd the program uses.
    pub maps: BTreeMap<i32, MapMeta>,
    pub line_info: Vec<LineInfo>,
    pub func_info: Vec<FuncInfo>,
    /// 0 (no log), 1 (the path to the error), 2 (state at every
    /// instruction); the kernel's `log_level` bits 1 and 2.
    pub log_level: u32,
    pub options: Options,
    /// Helpers the host adds (the embedding API's own helpers), checked
    /// like the kernel's against their prototype. A number here replaces
    /// the kernel's helper of that number, for every program type.
    pub custom_helpers: Vec<uapi::proto::HelperProto>,
    /// Required by tracing programs (`tp_btf`, `iter`, `fentry`, …), whose
    /// context is typed by the kernel's BTF; ignored by the other types.
    pub btf: Option<BtfInfo>,
    /// Without it every subprogram is verified as a static function (with
    /// its caller's state).
    pub prog_btf: Option<ProgBtf>,
}

impl<'a> Request<'a> {
    /// A request with no maps, debug info or log.
    pub fn new(insns: &'a [RawInsn], prog_type: ProgType) -> Request<'a> {
        Request {
            insns,
            prog_type,
            expected_attach_type: None,
            maps: BTreeMap::new(),
            line_info: Vec::new(),
            func_info: Vec::new(),
            log_level: 0,
            options: Options::default(),
            custom_helpers: Vec::new(),
            btf: None,
            prog_btf: None,
        }
    }
}

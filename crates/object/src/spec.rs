//! The plain-data result of parsing: [`ObjectSpec`], [`ProgramSpec`],
//! [`MapSpec`]. Nothing here refers to a live kernel or runtime object;
//! everything can be inspected, cloned and edited before a loader turns it
//! into maps and programs.
//!
//! # How programs refer to maps
//! A map reference in [`ProgramSpec::insns`] is an `lddw` whose first slot
//! has `src_reg` = `BPF_PSEUDO_MAP_FD` (the map itself) or
//! `BPF_PSEUDO_MAP_VALUE` (an address inside the value of a single-element
//! map: global data, `.kconfig`), `imm` = the map's index in
//! [`ObjectSpec::maps`], and the second slot's `imm` = the byte offset in the
//! value. The same facts are listed in [`ProgramSpec::map_refs`] so a loader
//! does not have to scan: it replaces each `imm` with the live map's fd (or
//! id) and leaves everything else as is.

use btf::{Btf, FuncInfo, LineInfo};
use isa::RawInsn;
use uapi::{AttachType, MapType, ProgType};

pub use crate::core::{CoreOutcome, CoreRelocation};

/// A parsed eBPF object file, libbpf's `bpf_object` after open and
/// relocation, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSpec {
    /// The object name libbpf derives from the file name: the base name up
    /// to its first `.`, at most 15 bytes. Internal map names start with it.
    pub name: String,
    /// Entry-point programs in libbpf's order (section index, then offset).
    /// `.text` subprograms are not listed: they are linked into every
    /// program that calls them.
    pub programs: Vec<ProgramSpec>,
    /// Maps in libbpf's order: legacy `maps`, BTF `.maps`, global data
    /// sections in section order, then `.kconfig`.
    pub maps: Vec<MapSpec>,
    /// The object's `.BTF`, if any.
    pub btf: Option<Btf>,
    /// The `license` section up to its first NUL ("" when absent).
    pub license: String,
    /// The `version` section (0 when absent).
    pub kern_version: u32,
    /// `extern` variables (`__kconfig`, `__ksym`) and how each was resolved.
    pub externs: Vec<ExternSpec>,
}

impl ObjectSpec {
    /// The program called `name`.
    pub fn program(&self, name: &str) -> Option<&ProgramSpec> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// The map called `name` (its libbpf name, e.g. `obj.rodata`), or the
    /// internal map of section `name` when `name` starts with a dot.
    pub fn map(&self, name: &str) -> Option<&MapSpec> {
        self.map_index(name).map(|i| &self.maps[i])
    }

    /// Index of [`ObjectSpec::map`] in [`ObjectSpec::maps`].
    pub fn map_index(&self, name: &str) -> Option<usize> {
        if name.starts_with('.') {
            self.maps.iter().position(|m| match &m.kind {
                MapKind::Data { section, .. } => section == name,
                _ => false,
            })
        } else {
            self.maps.iter().position(|m| m.name == name)
        }
    }

    /// Strong externs nothing resolved. A loader must refuse to load
    /// programs while any remain (libbpf fails `bpf_object__load`).
    pub fn unresolved_externs(&self) -> impl Iterator<Item = &ExternSpec> {
        self.externs.iter().filter(|e| !e.resolved && !e.weak)
    }
}

/// One entry-point program with its subprograms linked in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSpec {
    /// The function's symbol name (or the section name for objects whose
    /// code sections have no function symbols).
    pub name: String,
    /// The ELF section, without libbpf's leading `?`.
    pub section: String,
    /// `false` when the section name started with `?` (libbpf's "do not
    /// load unless asked").
    pub autoload: bool,
    /// From the section name; [`ProgType::Unspec`] if the name is not in
    /// libbpf's table.
    pub prog_type: ProgType,
    /// The expected attach type, `None` where libbpf passes 0.
    pub expected_attach_type: Option<AttachType>,
    /// What the section names after its `/`: a kprobe's function, a
    /// tracepoint's `category/name`, an `fentry`'s BTF function.
    pub attach_target: Option<String>,
    /// `BPF_F_SLEEPABLE` / `BPF_F_XDP_HAS_FRAGS`, as the section implies.
    pub prog_flags: u32,
    /// The relocated instructions: the function's own code, then every
    /// subprogram it reaches, appended in libbpf's order.
    pub insns: Vec<RawInsn>,
    /// The function's own instruction count (its symbol size / 8), i.e.
    /// where the appended subprograms start.
    pub func_insns: usize,
    /// Where in its section the function starts, in instructions.
    pub section_insn_off: usize,
    /// Every map reference in [`ProgramSpec::insns`].
    pub map_refs: Vec<MapRef>,
    /// Every subprogram linked in, with the index of its first instruction.
    pub subprograms: Vec<Subprogram>,
    /// `.BTF.ext` function info, `insn_off` in instructions of `insns`.
    pub func_info: Vec<FuncInfo>,
    /// `.BTF.ext` line info, `insn_off` in instructions of `insns`.
    pub line_info: Vec<LineInfo>,
    /// CO-RE relocations of the linked code and what became of each.
    pub core_relos: Vec<CoreRelocation>,
}

impl ProgramSpec {
    /// `(first instruction, FUNC type id)` of the subprograms verified on
    /// their own against their BTF prototype: those [`Subprogram::global`]
    /// says are global. libbpf marks `__hidden` ones static in the BTF it
    /// loads, so they are left out although their BTF linkage is global.
    pub fn global_funcs(&self) -> Vec<(u32, u32)> {
        self.func_info
            .iter()
            .filter(|f| {
                self.subprograms
                    .iter()
                    .any(|s| s.insn == f.insn_off as usize && s.global)
            })
            .map(|f| (f.insn_off, f.type_id))
            .collect()
    }
}

/// A map reference at instruction `insn` (the first slot of an `lddw`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapRef {
    pub insn: usize,
    /// Index in [`ObjectSpec::maps`].
    pub map: usize,
    pub kind: MapRefKind,
}

/// What an `lddw` loads from a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapRefKind {
    /// `BPF_PSEUDO_MAP_FD`: the map.
    Map,
    /// `BPF_PSEUDO_MAP_VALUE`: the address `offset` bytes into the value.
    Value { offset: u32 },
}

/// A subprogram appended to a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subprogram {
    pub name: String,
    /// Index of its first instruction in [`ProgramSpec::insns`].
    pub insn: usize,
    pub len: usize,
    /// A global function (global or weak symbol, not `__hidden`): the
    /// kernel verifies it on its own against its BTF prototype instead of
    /// in each caller's context. libbpf turns hidden globals into static
    /// functions for this purpose, which `false` here reflects.
    pub global: bool,
}

/// Where a map definition came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapKind {
    /// A `struct bpf_map_def` in the legacy `maps` section.
    Legacy,
    /// A BTF-defined map in `.maps`.
    Btf,
    /// A global data section turned into a one-element array.
    Data { section: String, data: DataKind },
}

/// The kind of a global data map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// `.data`, `.data.*`.
    Data,
    /// `.rodata`, `.rodata.*`: read-only to programs, frozen after loading.
    Rodata,
    /// `.bss`, `.bss.*`: zero-initialised.
    Bss,
    /// `.kconfig`: extern values, read-only to programs, frozen.
    Kconfig,
}

/// How a map is pinned: libbpf's `LIBBPF_PIN_*` for BTF maps, iproute2's
/// `PIN_*` for `struct bpf_elf_map` definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pinning {
    #[default]
    None,
    /// libbpf's `LIBBPF_PIN_BY_NAME`: pin under the pin root by the map's
    /// name, and reuse a compatible map already pinned there.
    ByName,
    /// iproute2's `PIN_OBJECT_NS`: pinned in a directory private to the
    /// object (`tc/<object hash>/<name>` under bpffs).
    ObjectNs,
    /// iproute2's `PIN_GLOBAL_NS`: pinned in the shared `tc/globals/<name>`.
    GlobalNs,
}

/// An initial slot of a program array or map-in-map, from the `values`
/// initialiser of a BTF-defined map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitSlot {
    /// Index in [`ObjectSpec::programs`].
    Program(usize),
    /// Index in [`ObjectSpec::maps`].
    Map(usize),
}

/// A map definition.
///
/// A `perf_event_array` with `max_entries` 0 gets one entry per CPU (per
/// worker, in oxbpf) when created, as libbpf does; the spec keeps the 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSpec {
    /// The name `bpf_map__name()` gives: the variable's name; for `.data`,
    /// `.rodata`, `.bss` and `.kconfig` the object-prefixed, truncated
    /// section name (`myobj.rodata`); for `.data.*` and `.rodata.*` the
    /// section name itself. [`MapSpec::kernel_name`] is what the kernel
    /// gets.
    pub name: String,
    pub kind: MapKind,
    pub map_type: MapType,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
    pub numa_node: u32,
    pub map_extra: u64,
    pub pinning: Pinning,
    /// The inner map template of a map-in-map.
    pub inner: Option<Box<MapSpec>>,
    /// `(index, what)` initial entries of program arrays and maps of maps.
    pub init_slots: Vec<(u32, InitSlot)>,
    /// The initial value of a single-element data map (`None` for others).
    pub data: Option<Vec<u8>>,
    /// Freeze after initialising (`.rodata`, `.kconfig`).
    pub freeze: bool,
    /// BTF type ids of key and value (0: none).
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    /// The ELF section and byte offset of the definition.
    pub section: String,
    pub section_offset: u64,
}

impl MapSpec {
    /// The name given to the kernel (`BPF_OBJ_NAME_LEN` - 1 bytes at most):
    /// for global data, libbpf's sanitised internal name; otherwise the
    /// name cut to 15 bytes, as `bpf_map_create` cuts it.
    pub fn kernel_name(&self) -> String {
        let max = uapi::OBJ_NAME_LEN - 1;
        let b = &self.name.as_bytes()[..self.name.len().min(max)];
        match self.kind {
            MapKind::Data { .. } => b
                .iter()
                .map(|&c| {
                    if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' {
                        c as char
                    } else {
                        '_'
                    }
                })
                .collect(),
            _ => String::from_utf8_lossy(b).into_owned(),
        }
    }
}

/// An `extern` variable of the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternSpec {
    pub name: String,
    pub weak: bool,
    pub kind: ExternKind,
    /// Whether a value was found (weak ones default to zero).
    pub resolved: bool,
}

/// What kind of extern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternKind {
    /// `__kconfig`: a value in the `.kconfig` map at `offset`.
    Kconfig { offset: u32, size: u32 },
    /// `__ksym`: a kernel symbol (oxbpf resolves none; weak ones read 0).
    Ksym { is_func: bool },
}

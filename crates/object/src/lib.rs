//! ELF → [`ObjectSpec`]: what libbpf makes of a `clang -target bpf` object,
//! as plain data.
//!
//! A BPF object file holds programs (functions in code sections named after
//! their program type: `xdp`, `kprobe/do_sys_open`, ...), subprograms in
//! `.text`, map definitions (`.maps` with BTF, or the legacy `maps`
//! section), global variables (`.data`, `.rodata`, `.bss`, which become
//! one-element array maps), externs (`.kconfig`, `.ksyms`), BTF and
//! `.BTF.ext` (function and line info, CO-RE relocations), and ELF
//! relocations tying instructions to maps, variables and functions.
//!
//! [`ObjectSpec::parse`] follows libbpf's `bpf_object__open` and the
//! relocation part of `bpf_object__load`: the [`ProgramSpec`]s it returns
//! hold final instructions — subprograms appended, calls fixed up, CO-RE
//! applied — in which maps are referred to by their index in
//! [`ObjectSpec::maps`] (see [`spec`] for the encoding), so that a loader
//! only has to create the maps and substitute their fds.
//!
//! Parsing is pure and total: any byte string yields a spec or an
//! [`ObjectError`] naming the place (section, symbol, program, instruction,
//! offset), never a panic, a hang or an unbounded allocation; offsets are
//! checked before use, recursions are bounded, and the `elf_parse` fuzz
//! target and the mutation tests hold us to it. Features oxbpf does not
//! implement are reported as [`ObjectError::Unsupported`], never guessed.
#![forbid(unsafe_code)]

mod core;
mod datasec;
mod elf;
mod error;
mod externs;
mod funcs;
mod link;
mod maps;
mod object;
mod reloc;
pub mod section;
pub mod spec;

pub use crate::core::{
    builtin_btf, kind_name as core_kind_name, CoreOutcome, CoreRelocation, CoreTarget,
};
pub use error::ObjectError;
pub use externs::{kernel_version, KconfigOptions};
pub use object::{object_name, vmlinux_btf, ParseOptions, MAX_TOTAL_LINKED_INSNS};
pub use reloc::POISON_CALL_KFUNC_BASE;
pub use spec::{
    DataKind, ExternKind, ExternSpec, InitSlot, MapKind, MapRef, MapRefKind, MapSpec, ObjectSpec,
    Pinning, ProgramSpec, Subprogram,
};

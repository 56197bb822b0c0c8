//! BTF, the BPF Type Format: parsing `.BTF` and `.BTF.ext`, type queries,
//! and dumps in bpftool's raw and C formats.
//!
//! # What BTF is
//! clang emits `.BTF` beside the code of every `-g` BPF object: a table of
//! C types (ints, pointers, structs with member bit offsets, functions,
//! global variables grouped by data section) and a string section holding
//! their names. The kernel publishes its own as `/sys/kernel/btf/vmlinux`.
//! `.BTF.ext` adds per-program-section tables that point into the code:
//! which function starts at which instruction (`func_info`), which source
//! line produced which instruction (`line_info`), and the CO-RE relocations
//! (`bpf_core_relo`) that the loader rewrites against the running kernel.
//!
//! # Shape of the crate
//! * [`Btf::parse`] turns bytes into a [`Btf`] whose types are the [`Type`]
//!   enum, one variant per kind with named fields; parsing checks every
//!   bound and every reference, so later queries only have cycles to fear,
//!   which they bound with [`btf::MAX_CHAIN`].
//! * [`BtfExt::parse`] decodes `.BTF.ext` against a parsed [`Btf`].
//! * [`dump`] prints types as `bpftool btf dump` does: raw, JSON and C.
//!
//! Nothing here executes or loads anything; every function is pure.
#![forbid(unsafe_code)]

pub mod btf;
pub mod dump;
pub mod error;
pub mod ext;
mod parse;
pub mod types;

pub use btf::{Btf, FoundMember};
pub use error::BtfError;
pub use ext::{BtfExt, CoreRelo, CoreReloKind, ExtHeader, ExtSection, FuncInfo, LineInfo};
pub use parse::Header;
pub use types::*;

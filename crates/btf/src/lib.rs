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
//!
//! # Example
//! ```
//! use oxbpf_btf::{Btf, Kind, Type};
//!
//! // A .BTF blob with one type: `int` (4 bytes, signed).
//! let mut blob = vec![0x9f, 0xeb, 1, 0];
//! for w in [24u32, 0, 16, 16, 5] {
//!     blob.extend_from_slice(&w.to_le_bytes()); // hdr_len, type and string sections
//! }
//! for w in [1u32, 1 << 24, 4, 1 << 24 | 32] {
//!     blob.extend_from_slice(&w.to_le_bytes()); // name_off, info (INT), size, encoding
//! }
//! blob.extend_from_slice(b"\0int\0");
//!
//! let btf = Btf::parse(&blob).unwrap();
//! let id = btf.find_by_name(Kind::Int, "int").unwrap();
//! assert_eq!(btf.size_of(id).unwrap(), 4);
//! assert!(matches!(btf.type_by_id(id), Some(Type::Int(i)) if i.bits == 32));
//! let mut text = String::new();
//! oxbpf_btf::dump::raw(&btf, &mut text).unwrap();
//! assert_eq!(text, "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n");
//! ```
#![forbid(unsafe_code)]

pub mod btf;
pub mod dump;
pub mod error;
pub mod ext;
mod parse;
pub mod types;

pub use btf::{Btf, FoundMember, NameIndex};
pub use error::BtfError;
pub use ext::{BtfExt, CoreRelo, CoreReloKind, ExtHeader, ExtSection, FuncInfo, LineInfo};
pub use parse::Header;
pub use types::*;

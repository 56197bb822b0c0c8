//! The abstract state of one register: uninitialised, a scalar, or a typed
//! pointer whose details live inside its variant.
//!
//! Pointers carry a fixed offset `off` and a variable offset `var` (a
//! [`Scalar`], constant zero unless the program added an unknown scalar).
//! `id` links copies of the same maybe-null pointer, or packet pointers
//! derived from the same base, so that one null check or one bounds check
//! teaches all of them; `ref_obj_id` names an acquired reference (a ring
//! buffer reservation) that must be released.

use crate::domain::Scalar;
use crate::input::MapIdx;

/// What a pointer points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PtrKind {
    /// The program's context (`r1` at entry).
    #[doc(alias = "PTR_TO_CTX")]
    Ctx,
    /// A stack frame (`fp`); `frame` is the frame number it belongs to.
    #[doc(alias = "PTR_TO_STACK")]
    Stack { frame: u32 },
    /// A map itself, as `lddw` of a map fd loads it.
    /// `null`: a map-in-map lookup result before the null check.
    #[doc(alias = "CONST_PTR_TO_MAP")]
    MapPtr { map: MapIdx, null: bool },
    /// A map value, possibly null (a lookup result before the null check).
    #[doc(alias = "PTR_TO_MAP_VALUE")]
    MapValue { map: MapIdx, null: bool },
    /// A map key (callback arguments).
    #[doc(alias = "PTR_TO_MAP_KEY")]
    MapKey { map: MapIdx },
    /// Packet data; `range` bytes from the base are known to be in bounds.
    #[doc(alias = "PTR_TO_PACKET")]
    Packet { range: i32 },
    /// Packet metadata in front of the data.
    #[doc(alias = "PTR_TO_PACKET_META")]
    PacketMeta { range: i32 },
    /// One past the end of the packet; only comparable.
    #[doc(alias = "PTR_TO_PACKET_END")]
    PacketEnd,
    /// Helper-returned memory of `size` bytes (`ringbuf`: a ring buffer
    /// reservation).
    #[doc(alias = "PTR_TO_MEM")]
    Mem {
        size: u32,
        rdonly: bool,
        ringbuf: bool,
        null: bool,
    },
    /// A subprogram's address (`lddw` of a function), for callbacks and
    /// `callx`.
    #[doc(alias = "PTR_TO_FUNC")]
    Func { subprog: u32 },
    /// A kernel object of the struct with BTF id `id` in the kernel's BTF
    /// (reads only, through `BPF_PROBE_MEM`); `flags` are
    /// [`crate::ctx::btf::TRUSTED`], `UNTRUSTED`, `RCU` and `NULL`.
    #[doc(alias = "PTR_TO_BTF_ID")]
    BtfId { id: u32, flags: u8 },
    /// Kernel memory of unknown extent, loaded from a pointer member of a
    /// kernel struct whose target is not a struct (`char *`, `void *`):
    /// readable anywhere through `BPF_PROBE_MEM`, never writable.
    #[doc(alias = "PTR_TO_MEM | MEM_RDONLY | PTR_UNTRUSTED")]
    UntrustedMem,
}

impl PtrKind {
    /// The kernel's name (`reg_type_str`).
    pub fn name(&self) -> &'static str {
        match self {
            PtrKind::Ctx => "ctx",
            PtrKind::Stack { .. } => "fp",
            PtrKind::MapPtr { null: false, .. } => "map_ptr",
            PtrKind::MapPtr { null: true, .. } => "map_ptr_or_null",
            PtrKind::MapValue { null: false, .. } => "map_value",
            PtrKind::MapValue { null: true, .. } => "map_value_or_null",
            PtrKind::MapKey { .. } => "map_key",
            PtrKind::Packet { .. } => "pkt",
            PtrKind::PacketMeta { .. } => "pkt_meta",
            PtrKind::PacketEnd => "pkt_end",
            PtrKind::Mem {
                ringbuf: true,
                null: true,
                ..
            } => "ringbuf_mem_or_null",
            PtrKind::Mem {
                ringbuf: true,
                null: false,
                ..
            } => "ringbuf_mem",
            PtrKind::Mem {
                rdonly: true,
                null: true,
                ..
            } => "rdonly_mem_or_null",
            PtrKind::Mem { rdonly: true, .. } => "rdonly_mem",
            PtrKind::Mem { null: true, .. } => "mem_or_null",
            PtrKind::Mem { .. } => "mem",
            PtrKind::Func { .. } => "func",
            PtrKind::BtfId { flags, .. } => btf_name(*flags),
            PtrKind::UntrustedMem => "rdonly_untrusted_mem",
        }
    }

    /// Whether the pointer may be null (`PTR_MAYBE_NULL`).
    pub fn maybe_null(&self) -> bool {
        matches!(
            self,
            PtrKind::MapValue { null: true, .. }
                | PtrKind::Mem { null: true, .. }
                | PtrKind::MapPtr { null: true, .. }
        ) || matches!(self, PtrKind::BtfId { flags, .. } if flags & crate::ctx::btf::NULL != 0)
    }

    /// The same kind after a successful null check.
    pub fn non_null(self) -> PtrKind {
        match self {
            PtrKind::MapValue { map, .. } => PtrKind::MapValue { map, null: false },
            PtrKind::MapPtr { map, .. } => PtrKind::MapPtr { map, null: false },
            PtrKind::Mem {
                size,
                rdonly,
                ringbuf,
                ..
            } => PtrKind::Mem {
                size,
                rdonly,
                ringbuf,
                null: false,
            },
            PtrKind::BtfId { id, flags } => PtrKind::BtfId {
                id,
                flags: flags & !crate::ctx::btf::NULL,
            },
            k => k,
        }
    }

    /// Packet data or metadata.
    pub fn is_pkt(&self) -> bool {
        matches!(self, PtrKind::Packet { .. } | PtrKind::PacketMeta { .. })
    }

    /// The map behind a map-related pointer.
    pub fn map(&self) -> Option<MapIdx> {
        match *self {
            PtrKind::MapPtr { map, .. }
            | PtrKind::MapValue { map, .. }
            | PtrKind::MapKey { map } => Some(map),
            _ => None,
        }
    }
}

/// `reg_type_str` of a BTF pointer: `rcu_`, `untrusted_`, `trusted_`
/// prefixes, `or_null_` suffix (the struct name follows in state dumps).
fn btf_name(flags: u8) -> &'static str {
    use crate::ctx::btf::{NULL, RCU, TRUSTED, UNTRUSTED};
    let null = flags & NULL != 0;
    match (
        flags & RCU != 0,
        flags & UNTRUSTED != 0,
        flags & TRUSTED != 0,
    ) {
        (true, _, _) if null => "rcu_ptr_or_null_",
        (true, _, _) => "rcu_ptr_",
        (_, true, _) if null => "untrusted_ptr_or_null_",
        (_, true, _) => "untrusted_ptr_",
        (_, _, true) if null => "trusted_ptr_or_null_",
        (_, _, true) => "trusted_ptr_",
        _ if null => "ptr_or_null_",
        _ => "ptr_",
    }
}

/// A pointer register.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ptr {
    pub kind: PtrKind,
    /// Fixed offset from the object's start.
    pub off: i32,
    /// Variable offset (constant 0 unless an unknown scalar was added).
    pub var: Scalar,
    /// Links copies for null checks and packet range propagation.
    pub id: u32,
    /// The acquired reference this pointer holds, 0 if none.
    pub ref_obj_id: u32,
}

impl Ptr {
    /// A pointer of `kind` at offset 0.
    pub fn new(kind: PtrKind) -> Ptr {
        Ptr {
            kind,
            off: 0,
            var: Scalar::constant(0),
            id: 0,
            ref_obj_id: 0,
        }
    }

    /// `(s64)reg->off + var_off.min`…: whether the offset is a constant.
    pub fn fixed_offset(&self) -> Option<i64> {
        self.var.as_const().map(|v| self.off as i64 + v as i64)
    }
}

/// A scalar register: its value set and the id shared with copies, so that
/// a bound learnt on one copy applies to all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScalarReg {
    pub val: Scalar,
    pub id: u32,
}

/// The abstract state of a register.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum RegState {
    /// Never written on this path.
    #[doc(alias = "NOT_INIT")]
    #[default]
    NotInit,
    #[doc(alias = "SCALAR_VALUE")]
    Scalar(ScalarReg),
    Ptr(Ptr),
}

impl RegState {
    /// A scalar with no id.
    pub fn scalar(val: Scalar) -> RegState {
        RegState::Scalar(ScalarReg { val, id: 0 })
    }

    /// An unknown scalar.
    pub fn unknown() -> RegState {
        RegState::scalar(Scalar::UNKNOWN)
    }

    /// A pointer of `kind` at offset 0.
    pub fn ptr(kind: PtrKind) -> RegState {
        RegState::Ptr(Ptr::new(kind))
    }

    pub fn is_init(&self) -> bool {
        !matches!(self, RegState::NotInit)
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            RegState::Scalar(s) => Some(&s.val),
            _ => None,
        }
    }

    pub fn as_ptr(&self) -> Option<&Ptr> {
        match self {
            RegState::Ptr(p) => Some(p),
            _ => None,
        }
    }

    /// Whether this is the scalar constant 0 (`register_is_null`).
    pub fn is_null_const(&self) -> bool {
        matches!(self, RegState::Scalar(s) if s.val.as_const() == Some(0))
    }

    /// The kernel's type name as error messages print it (`scalar`,
    /// `map_value_or_null`, `fp`).
    pub fn type_name(&self) -> &'static str {
        match self {
            RegState::NotInit => "?",
            RegState::Scalar(_) => "scalar",
            RegState::Ptr(p) => p.kind.name(),
        }
    }
}

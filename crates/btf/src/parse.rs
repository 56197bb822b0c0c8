//! Decoding `.BTF` bytes into [`Btf`]: the header, the string section and
//! every type record.
//!
//! The parser is pure and total: each read is bounds-checked with checked
//! arithmetic, allocations are proportional to bytes actually present (a
//! record's `vlen` is checked against the bytes left before its vector is
//! made), and after all records are read a second pass checks that every
//! type id and name offset they mention exists. Consumers can then follow
//! references without bounds worries; only cycles remain possible, which the
//! query functions bound.

use crate::error::BtfError;
use crate::types::*;
use crate::Btf;

const HDR: &str = ".BTF header";
const TYPES: &str = ".BTF types";
const STRS: &str = ".BTF strings";

/// Size of the fixed part of `struct btf_header`.
pub(crate) const HEADER_LEN: usize = 24;

/// The `.BTF` header (`struct btf_header`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub flags: u8,
    pub hdr_len: u32,
    /// Offset of the type section from the end of the header.
    pub type_off: u32,
    pub type_len: u32,
    /// Offset of the string section from the end of the header.
    pub str_off: u32,
    pub str_len: u32,
}

/// Reads little- or big-endian words from a byte slice, never panicking.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub data: &'a [u8],
    pub big_endian: bool,
}

impl<'a> Reader<'a> {
    pub fn u32(&self, off: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(off..off.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    /// Reads a u32 known to be in bounds (the caller checked the record).
    fn w(&self, off: usize) -> u32 {
        self.u32(off).unwrap_or(0)
    }
}

/// Detects the byte order from the magic, or fails.
pub(crate) fn detect_endian(bytes: &[u8], section: &'static str) -> Result<bool, BtfError> {
    let b = bytes.get(..2).ok_or(BtfError::Truncated {
        section,
        offset: 0,
        need: 2,
        have: bytes.len(),
    })?;
    match [b[0], b[1]] {
        [0x9f, 0xeb] => Ok(false),
        [0xeb, 0x9f] => Ok(true),
        _ => Err(BtfError::BadMagic {
            section,
            found: u16::from_le_bytes([b[0], b[1]]),
        }),
    }
}

/// Checks that `[base + off, base + off + len)` lies within `blob_len` and
/// returns it as a range.
pub(crate) fn section_range(
    section: &'static str,
    base: usize,
    off: u32,
    len: u32,
    blob_len: usize,
) -> Result<std::ops::Range<usize>, BtfError> {
    let err = || BtfError::SectionOutOfBounds {
        section,
        offset: off,
        len,
        base,
        blob_len,
    };
    let start = base.checked_add(off as usize).ok_or_else(err)?;
    let end = start.checked_add(len as usize).ok_or_else(err)?;
    if end > blob_len {
        return Err(err());
    }
    Ok(start..end)
}

fn parse_header(bytes: &[u8]) -> Result<(Header, bool), BtfError> {
    let big_endian = detect_endian(bytes, HDR)?;
    if bytes.len() < HEADER_LEN {
        return Err(BtfError::Truncated {
            section: HDR,
            offset: 0,
            need: HEADER_LEN,
            have: bytes.len(),
        });
    }
    let r = Reader {
        data: bytes,
        big_endian,
    };
    let h = Header {
        version: bytes[2],
        flags: bytes[3],
        hdr_len: r.w(4),
        type_off: r.w(8),
        type_len: r.w(12),
        str_off: r.w(16),
        str_len: r.w(20),
    };
    if h.version != 1 {
        return Err(BtfError::BadVersion {
            section: HDR,
            version: h.version,
        });
    }
    if (h.hdr_len as usize) < HEADER_LEN || h.hdr_len as usize > bytes.len() {
        return Err(BtfError::BadHeaderLen {
            section: HDR,
            hdr_len: h.hdr_len,
            len: bytes.len(),
        });
    }
    Ok((h, big_endian))
}

/// Parses a complete `.BTF` blob (an ELF section's contents or a raw file
/// such as `/sys/kernel/btf/vmlinux`).
pub(crate) fn parse(bytes: &[u8]) -> Result<Btf, BtfError> {
    let (header, big_endian) = parse_header(bytes)?;
    let base = header.hdr_len as usize;
    let tr = section_range(TYPES, base, header.type_off, header.type_len, bytes.len())?;
    let sr = section_range(STRS, base, header.str_off, header.str_len, bytes.len())?;
    if header.type_off & 3 != 0 {
        return Err(BtfError::BadLayout {
            section: TYPES,
            reason: "type section offset is not 4-byte aligned",
        });
    }
    if !tr.is_empty() && !sr.is_empty() && tr.start < sr.end && sr.start < tr.end {
        return Err(BtfError::BadLayout {
            section: HDR,
            reason: "type and string sections overlap",
        });
    }
    let strings = &bytes[sr.clone()];
    if let (Some(&first), Some(&last)) = (strings.first(), strings.last()) {
        if first != 0 {
            return Err(BtfError::BadStrings {
                offset: sr.start,
                reason: "the first string is not empty",
            });
        }
        if last != 0 {
            return Err(BtfError::BadStrings {
                offset: sr.end - 1,
                reason: "the last string is not NUL-terminated",
            });
        }
    }
    let r = Reader {
        data: bytes,
        big_endian,
    };
    let mut types = vec![Type::Void];
    let mut offsets = vec![0usize];
    let mut off = tr.start;
    while off < tr.end {
        let id = u32::try_from(types.len()).map_err(|_| BtfError::TooManyTypes { offset: off })?;
        let (ty, next) = parse_type(&r, id, off, tr.end)?;
        types.push(ty);
        offsets.push(off);
        off = next;
    }
    let btf = Btf {
        header,
        big_endian,
        types,
        strings: strings.to_vec(),
    };
    validate_refs(&btf, &offsets)?;
    Ok(btf)
}

/// Bytes that follow the 12-byte common header for a kind with `vlen`.
fn extra_len(kind: Kind, vlen: u16) -> usize {
    let n = vlen as usize;
    match kind {
        Kind::Int | Kind::Var | Kind::DeclTag => 4,
        Kind::Array => 12,
        Kind::Struct | Kind::Union | Kind::DataSec | Kind::Enum64 => 12 * n,
        Kind::Enum | Kind::FuncProto => 8 * n,
        _ => 0,
    }
}

/// Decodes one type record starting at `off`; returns it and where the next
/// one starts.
fn parse_type(r: &Reader, id: TypeId, off: usize, end: usize) -> Result<(Type, usize), BtfError> {
    let have = end - off;
    if have < 12 {
        return Err(BtfError::Truncated {
            section: TYPES,
            offset: off,
            need: 12,
            have,
        });
    }
    let name_off = r.w(off);
    let info = r.w(off + 4);
    let size_or_type = r.w(off + 8);
    let raw_kind = ((info >> 24) & 0x1f) as u8;
    let vlen = (info & 0xffff) as u16;
    let kflag = info >> 31 != 0;
    let kind =
        Kind::from_u8(raw_kind)
            .filter(|k| *k != Kind::Void)
            .ok_or(BtfError::UnknownKind {
                type_id: id,
                offset: off,
                kind: raw_kind,
            })?;
    let need = 12 + extra_len(kind, vlen);
    if need > have {
        return Err(BtfError::TruncatedType {
            type_id: id,
            offset: off,
            kind,
            vlen,
            need,
            have,
        });
    }
    let x = off + 12;
    let n = vlen as usize;
    let rf = Ref {
        name_off,
        type_id: size_or_type,
    };
    let ty = match kind {
        Kind::Void => unreachable_void(id, off)?,
        Kind::Int => {
            let v = r.w(x);
            Type::Int(Int {
                name_off,
                size: size_or_type,
                encoding: IntEncoding::from_bits(((v >> 24) & 0x0f) as u8),
                bit_offset: ((v >> 16) & 0xff) as u8,
                bits: (v & 0xff) as u8,
            })
        }
        Kind::Ptr => Type::Ptr(rf),
        Kind::Typedef => Type::Typedef(rf),
        Kind::Volatile => Type::Volatile(rf),
        Kind::Const => Type::Const(rf),
        Kind::Restrict => Type::Restrict(rf),
        Kind::TypeTag => Type::TypeTag(rf),
        Kind::Array => Type::Array(Array {
            name_off,
            elem_type: r.w(x),
            index_type: r.w(x + 4),
            nelems: r.w(x + 8),
        }),
        Kind::Struct | Kind::Union => {
            let members = (0..n)
                .map(|i| {
                    let m = x + 12 * i;
                    let raw = r.w(m + 8);
                    let (bit_offset, bitfield_size) = if kflag {
                        (raw & 0x00ff_ffff, (raw >> 24) as u8)
                    } else {
                        (raw, 0)
                    };
                    Member {
                        name_off: r.w(m),
                        type_id: r.w(m + 4),
                        bit_offset,
                        bitfield_size,
                    }
                })
                .collect();
            let c = Composite {
                name_off,
                size: size_or_type,
                kind_flag: kflag,
                members,
            };
            if kind == Kind::Struct {
                Type::Struct(c)
            } else {
                Type::Union(c)
            }
        }
        Kind::Enum => Type::Enum(Enum {
            name_off,
            size: size_or_type,
            signed: kflag,
            values: (0..n)
                .map(|i| EnumValue {
                    name_off: r.w(x + 8 * i),
                    value: r.w(x + 8 * i + 4) as u64,
                })
                .collect(),
        }),
        Kind::Enum64 => Type::Enum64(Enum {
            name_off,
            size: size_or_type,
            signed: kflag,
            values: (0..n)
                .map(|i| {
                    let e = x + 12 * i;
                    EnumValue {
                        name_off: r.w(e),
                        value: (r.w(e + 4) as u64) | ((r.w(e + 8) as u64) << 32),
                    }
                })
                .collect(),
        }),
        Kind::Fwd => Type::Fwd(Fwd {
            name_off,
            kind: if kflag {
                FwdKind::Union
            } else {
                FwdKind::Struct
            },
        }),
        Kind::Func => Type::Func(Func {
            name_off,
            proto: size_or_type,
            linkage: match vlen {
                0 => FuncLinkage::Static,
                1 => FuncLinkage::Global,
                2 => FuncLinkage::Extern,
                o => FuncLinkage::Unknown(o),
            },
        }),
        Kind::FuncProto => Type::FuncProto(FuncProto {
            name_off,
            ret_type: size_or_type,
            params: (0..n)
                .map(|i| Param {
                    name_off: r.w(x + 8 * i),
                    type_id: r.w(x + 8 * i + 4),
                })
                .collect(),
        }),
        Kind::Var => Type::Var(Var {
            name_off,
            type_id: size_or_type,
            linkage: match r.w(x) {
                0 => VarLinkage::Static,
                1 => VarLinkage::Global,
                2 => VarLinkage::Extern,
                o => VarLinkage::Unknown(o),
            },
        }),
        Kind::DataSec => Type::DataSec(DataSec {
            name_off,
            size: size_or_type,
            vars: (0..n)
                .map(|i| {
                    let v = x + 12 * i;
                    VarSecInfo {
                        type_id: r.w(v),
                        offset: r.w(v + 4),
                        size: r.w(v + 8),
                    }
                })
                .collect(),
        }),
        Kind::Float => Type::Float(Float {
            name_off,
            size: size_or_type,
        }),
        Kind::DeclTag => Type::DeclTag(DeclTag {
            name_off,
            type_id: size_or_type,
            component_idx: r.w(x) as i32,
        }),
    };
    Ok((ty, off + need))
}

/// Kind 0 in the type section is filtered out above; this keeps the match
/// exhaustive without a panic path.
fn unreachable_void(id: TypeId, off: usize) -> Result<Type, BtfError> {
    Err(BtfError::UnknownKind {
        type_id: id,
        offset: off,
        kind: 0,
    })
}

/// Checks every type id and name offset that a type mentions.
fn validate_refs(btf: &Btf, offsets: &[usize]) -> Result<(), BtfError> {
    let count = btf.types.len() as u32;
    let str_len = btf.strings.len() as u32;
    for (id, ty) in btf.types.iter().enumerate().skip(1) {
        let id = id as TypeId;
        let offset = offsets[id as usize];
        let check_ty = |target: u32| {
            if target >= count {
                Err(BtfError::BadTypeRef {
                    type_id: id,
                    offset,
                    target,
                    count,
                })
            } else {
                Ok(())
            }
        };
        let check_name = |name_off: u32| {
            if name_off != 0 && name_off >= str_len {
                Err(BtfError::BadNameOffset {
                    type_id: id,
                    offset,
                    name_off,
                    str_len,
                })
            } else {
                Ok(())
            }
        };
        check_name(ty.name_off())?;
        if let Some(t) = ty.referenced_type() {
            check_ty(t)?;
        }
        match ty {
            Type::Array(a) => check_ty(a.index_type)?,
            Type::Struct(c) | Type::Union(c) => {
                for m in &c.members {
                    check_name(m.name_off)?;
                    check_ty(m.type_id)?;
                }
            }
            Type::Enum(e) | Type::Enum64(e) => {
                for v in &e.values {
                    check_name(v.name_off)?;
                }
            }
            Type::FuncProto(p) => {
                check_ty(p.ret_type)?;
                for p in &p.params {
                    check_name(p.name_off)?;
                    check_ty(p.type_id)?;
                }
            }
            Type::DataSec(d) => {
                for v in &d.vars {
                    check_ty(v.type_id)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

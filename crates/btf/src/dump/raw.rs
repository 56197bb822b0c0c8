//! The raw listing: exactly the lines `bpftool btf dump file F` prints, one
//! header line per type and one tab-indented line per member, enumerator,
//! parameter or section variable.

use super::display_name;
use crate::types::*;
use crate::Btf;
use std::fmt::{self, Write};

/// Writes every type in id order.
pub fn raw(btf: &Btf, out: &mut impl Write) -> fmt::Result {
    for (id, _) in btf.types() {
        raw_type(btf, id, out)?;
    }
    Ok(())
}

fn int_encoding(e: IntEncoding) -> &'static str {
    match e {
        IntEncoding::None => "(none)",
        IntEncoding::Signed => "SIGNED",
        IntEncoding::Char => "CHAR",
        IntEncoding::Bool => "BOOL",
        IntEncoding::Other(_) => "UNKN",
    }
}

/// bpftool's word for a function's linkage.
pub fn func_linkage_str(l: FuncLinkage) -> &'static str {
    match l {
        FuncLinkage::Static => "static",
        FuncLinkage::Global => "global",
        FuncLinkage::Extern => "extern",
        FuncLinkage::Unknown(_) => "(unknown)",
    }
}

/// bpftool's word for a variable's linkage.
pub fn var_linkage_str(l: VarLinkage) -> &'static str {
    match l {
        VarLinkage::Static => "static",
        VarLinkage::Global => "global",
        VarLinkage::Extern => "extern",
        VarLinkage::Unknown(_) => "(unknown)",
    }
}

/// Writes the lines of type `id` (nothing if it does not exist).
pub fn raw_type(btf: &Btf, id: TypeId, out: &mut impl Write) -> fmt::Result {
    let Some(t) = btf.type_by_id(id) else {
        return Ok(());
    };
    write!(
        out,
        "[{id}] {} '{}'",
        t.kind(),
        display_name(btf, t.name_off())
    )?;
    match t {
        Type::Void => {}
        Type::Int(i) => write!(
            out,
            " size={} bits_offset={} nr_bits={} encoding={}",
            i.size,
            i.bit_offset,
            i.bits,
            int_encoding(i.encoding)
        )?,
        Type::Ptr(r)
        | Type::Const(r)
        | Type::Volatile(r)
        | Type::Restrict(r)
        | Type::Typedef(r)
        | Type::TypeTag(r) => write!(out, " type_id={}", r.type_id)?,
        Type::Array(a) => write!(
            out,
            " type_id={} index_type_id={} nr_elems={}",
            a.elem_type, a.index_type, a.nelems
        )?,
        Type::Struct(c) | Type::Union(c) => {
            write!(out, " size={} vlen={}", c.size, c.members.len())?;
            for m in &c.members {
                write!(
                    out,
                    "\n\t'{}' type_id={} bits_offset={}",
                    display_name(btf, m.name_off),
                    m.type_id,
                    m.bit_offset
                )?;
                if m.bitfield_size != 0 {
                    write!(out, " bitfield_size={}", m.bitfield_size)?;
                }
            }
        }
        Type::Enum(e) | Type::Enum64(e) => {
            let is64 = matches!(t, Type::Enum64(_));
            let enc = if e.signed { "SIGNED" } else { "UNSIGNED" };
            write!(
                out,
                " encoding={enc} size={} vlen={}",
                e.size,
                e.values.len()
            )?;
            for v in &e.values {
                write!(out, "\n\t'{}' val=", display_name(btf, v.name_off))?;
                // bpftool marks 64-bit enumerators with C literal suffixes.
                let suffix = match (is64, e.signed) {
                    (false, _) => "",
                    (true, true) => "LL",
                    (true, false) => "ULL",
                };
                if e.signed {
                    write!(out, "{}{suffix}", e.signed_value(v, is64))?;
                } else {
                    write!(out, "{}{suffix}", v.value)?;
                }
            }
        }
        Type::Fwd(f) => write!(
            out,
            " fwd_kind={}",
            match f.kind {
                FwdKind::Struct => "struct",
                FwdKind::Union => "union",
            }
        )?,
        Type::Func(f) => write!(
            out,
            " type_id={} linkage={}",
            f.proto,
            func_linkage_str(f.linkage)
        )?,
        Type::FuncProto(p) => {
            write!(out, " ret_type_id={} vlen={}", p.ret_type, p.params.len())?;
            for p in &p.params {
                write!(
                    out,
                    "\n\t'{}' type_id={}",
                    display_name(btf, p.name_off),
                    p.type_id
                )?;
            }
        }
        Type::Var(v) => write!(
            out,
            " type_id={}, linkage={}",
            v.type_id,
            var_linkage_str(v.linkage)
        )?,
        Type::DataSec(d) => {
            write!(out, " size={} vlen={}", d.size, d.vars.len())?;
            for v in &d.vars {
                write!(
                    out,
                    "\n\ttype_id={} offset={} size={}",
                    v.type_id, v.offset, v.size
                )?;
                if let Some(vt) = btf.type_by_id(v.type_id) {
                    write!(
                        out,
                        " ({} '{}')",
                        vt.kind(),
                        display_name(btf, vt.name_off())
                    )?;
                }
            }
        }
        Type::Float(f) => write!(out, " size={}", f.size)?,
        Type::DeclTag(d) => write!(
            out,
            " type_id={} component_idx={}",
            d.type_id, d.component_idx
        )?,
    }
    out.write_char('\n')
}

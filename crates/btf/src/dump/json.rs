//! The JSON listing of `bpftool -j btf dump`: the same fields, in the same
//! order, written compactly, so that scripts written against bpftool read
//! ours unchanged. Written by hand rather than through serde so that field
//! order and number formatting are exactly bpftool's.

use super::display_name;
use super::raw::{func_linkage_str, var_linkage_str};
use crate::types::*;
use crate::Btf;
use std::fmt::{self, Write};

/// Writes `{"types":[...]}` for every type; `pretty` indents as `bpftool -p`.
pub fn json(btf: &Btf, pretty: bool, out: &mut impl Write) -> fmt::Result {
    let mut w = JsonWriter::new(out, pretty);
    w.begin('{')?;
    w.name("types")?;
    w.begin('[')?;
    for (id, _) in btf.types() {
        type_fields(btf, id, &mut w)?;
    }
    w.end(']')?;
    w.end('}')
}

/// Writes a JSON string literal.
fn string(out: &mut impl Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            '\u{8}' => out.write_str("\\b")?,
            '\u{c}' => out.write_str("\\f")?,
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32)?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

/// A streaming JSON writer that places separators, line breaks and
/// indentation exactly as bpftool's `json_writer` does, compact or pretty.
struct JsonWriter<'o, W: Write> {
    out: &'o mut W,
    pretty: bool,
    depth: usize,
    /// The separator owed before the next item (`,`), if any.
    sep: bool,
}

impl<'o, W: Write> JsonWriter<'o, W> {
    fn new(out: &'o mut W, pretty: bool) -> Self {
        JsonWriter {
            out,
            pretty,
            depth: 0,
            sep: false,
        }
    }
    fn eol(&mut self) -> fmt::Result {
        if self.pretty {
            self.out.write_char('\n')?;
            for _ in 0..self.depth {
                self.out.write_str("    ")?;
            }
        }
        Ok(())
    }
    fn eor(&mut self) -> fmt::Result {
        if self.sep {
            self.out.write_char(',')?;
        }
        self.sep = true;
        Ok(())
    }
    fn begin(&mut self, c: char) -> fmt::Result {
        self.eor()?;
        self.out.write_char(c)?;
        self.depth += 1;
        self.sep = false;
        Ok(())
    }
    fn end(&mut self, c: char) -> fmt::Result {
        self.depth = self.depth.saturating_sub(1);
        if self.sep {
            self.eol()?;
        }
        self.out.write_char(c)?;
        self.sep = true;
        Ok(())
    }
    fn name(&mut self, k: &str) -> fmt::Result {
        self.eor()?;
        self.eol()?;
        self.sep = false;
        string(self.out, k)?;
        self.out.write_char(':')?;
        if self.pretty {
            self.out.write_char(' ')?;
        }
        Ok(())
    }
    fn num(&mut self, k: &str, v: impl fmt::Display) -> fmt::Result {
        self.name(k)?;
        self.eor()?;
        write!(self.out, "{v}")
    }
    fn str(&mut self, k: &str, v: &str) -> fmt::Result {
        self.name(k)?;
        self.eor()?;
        string(self.out, v)
    }
    /// Writes `"k":[...]`, one object per item made by `f`.
    fn array<T>(
        &mut self,
        k: &str,
        items: &[T],
        mut f: impl FnMut(&mut Self, &T) -> fmt::Result,
    ) -> fmt::Result {
        self.name(k)?;
        self.begin('[')?;
        for it in items {
            self.begin('{')?;
            f(self, it)?;
            self.end('}')?;
        }
        self.end(']')
    }
}

/// Writes one type's object (compact), as in `bpftool -j btf dump`.
pub fn json_type(btf: &Btf, id: TypeId, out: &mut impl Write) -> fmt::Result {
    type_fields(btf, id, &mut JsonWriter::new(out, false))
}

fn type_fields<W: Write>(btf: &Btf, id: TypeId, o: &mut JsonWriter<'_, W>) -> fmt::Result {
    let Some(t) = btf.type_by_id(id) else {
        return Ok(());
    };
    let name = |off| display_name(btf, off);
    o.begin('{')?;
    o.num("id", id)?;
    o.str("kind", t.kind().as_str())?;
    o.str("name", name(t.name_off()))?;
    match t {
        Type::Void => {}
        Type::Int(i) => {
            o.num("size", i.size)?;
            o.num("bits_offset", i.bit_offset)?;
            o.num("nr_bits", i.bits)?;
            let enc = match i.encoding {
                IntEncoding::None => "(none)",
                IntEncoding::Signed => "SIGNED",
                IntEncoding::Char => "CHAR",
                IntEncoding::Bool => "BOOL",
                IntEncoding::Other(_) => "UNKN",
            };
            o.str("encoding", enc)?;
        }
        Type::Ptr(r)
        | Type::Const(r)
        | Type::Volatile(r)
        | Type::Restrict(r)
        | Type::Typedef(r)
        | Type::TypeTag(r) => o.num("type_id", r.type_id)?,
        Type::Array(a) => {
            o.num("type_id", a.elem_type)?;
            o.num("index_type_id", a.index_type)?;
            o.num("nr_elems", a.nelems)?;
        }
        Type::Struct(c) | Type::Union(c) => {
            o.num("size", c.size)?;
            o.num("vlen", c.members.len())?;
            o.array("members", &c.members, |m, mem| {
                m.str("name", name(mem.name_off))?;
                m.num("type_id", mem.type_id)?;
                m.num("bits_offset", mem.bit_offset)?;
                if mem.bitfield_size != 0 {
                    m.num("bitfield_size", mem.bitfield_size)?;
                }
                Ok(())
            })?;
        }
        Type::Enum(e) | Type::Enum64(e) => {
            let is64 = matches!(t, Type::Enum64(_));
            o.str("encoding", if e.signed { "SIGNED" } else { "UNSIGNED" })?;
            o.num("size", e.size)?;
            o.num("vlen", e.values.len())?;
            o.array("values", &e.values, |m, v| {
                m.str("name", name(v.name_off))?;
                if e.signed {
                    m.num("val", e.signed_value(v, is64))
                } else if is64 {
                    m.num("val", v.value)
                } else {
                    // bpftool widens the 32-bit value through `__s32`, so
                    // values with the top bit set print sign-extended.
                    m.num("val", e.signed_value(v, false) as u64)
                }
            })?;
        }
        Type::Fwd(f) => o.str(
            "fwd_kind",
            match f.kind {
                FwdKind::Struct => "struct",
                FwdKind::Union => "union",
            },
        )?,
        Type::Func(f) => {
            o.num("type_id", f.proto)?;
            o.str("linkage", func_linkage_str(f.linkage))?;
        }
        Type::FuncProto(p) => {
            o.num("ret_type_id", p.ret_type)?;
            o.num("vlen", p.params.len())?;
            o.array("params", &p.params, |m, p| {
                m.str("name", name(p.name_off))?;
                m.num("type_id", p.type_id)
            })?;
        }
        Type::Var(v) => {
            o.num("type_id", v.type_id)?;
            o.str("linkage", var_linkage_str(v.linkage))?;
        }
        Type::DataSec(d) => {
            o.num("size", d.size)?;
            o.num("vlen", d.vars.len())?;
            o.array("vars", &d.vars, |m, v| {
                m.num("type_id", v.type_id)?;
                m.num("offset", v.offset)?;
                m.num("size", v.size)
            })?;
        }
        Type::Float(f) => o.num("size", f.size)?,
        Type::DeclTag(d) => {
            o.num("type_id", d.type_id)?;
            o.num("component_idx", d.component_idx)?;
        }
    }
    o.end('}')
}

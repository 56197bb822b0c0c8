//! Writing one C declaration: declarators (`const char *(*f[2])(int)`),
//! struct and union bodies with bitfields and explicit padding, enum bodies.
//!
//! A BTF chain lists a declaration from the outside in (`typedef -> array ->
//! ptr -> const -> int`) while C spells the base type first and wraps the
//! declarator around the name. We collect the chain on a stack and unwind
//! it from the base type outwards: qualifiers of the base type go before it,
//! qualifiers of pointers after the `*`, and arrays and function prototypes
//! wrap what is left of the chain in parentheses.

use super::{pfx, roundup, CDump, MAX_DEPTH};
use crate::btf::MAX_CHAIN;
use crate::error::BtfError;
use crate::types::*;
use std::fmt::Write;

impl CDump<'_> {
    /// Writes the declaration of `name` with type `id` (`name` may be "").
    pub(super) fn type_decl(
        &mut self,
        id: TypeId,
        name: &str,
        lvl: usize,
        depth: usize,
    ) -> Result<(), BtfError> {
        self.spend(id, depth)?;
        let mut stack = Vec::new();
        let mut cur = id;
        loop {
            if stack.len() > MAX_CHAIN {
                return Err(BtfError::TypeLoop {
                    type_id: id,
                    limit: MAX_CHAIN,
                });
            }
            stack.push(cur);
            if cur == 0 {
                break;
            }
            match self.ty(cur) {
                Type::Ptr(r)
                | Type::Volatile(r)
                | Type::Const(r)
                | Type::Restrict(r)
                | Type::TypeTag(r) => cur = r.type_id,
                Type::FuncProto(p) => cur = p.ret_type,
                Type::Array(a) => cur = a.elem_type,
                _ => break,
            }
        }
        self.type_chain(&mut stack, name, lvl, depth + 1)
    }

    /// Writes qualifiers that sit on top of the stack, before a base type.
    fn mods(&mut self, stack: &mut Vec<TypeId>) {
        while let Some(&id) = stack.last() {
            let word = match self.ty(id) {
                Type::Volatile(_) => "volatile ",
                Type::Const(_) => "const ",
                Type::Restrict(_) => "restrict ",
                _ => return,
            };
            self.out.push_str(word);
            stack.pop();
        }
    }

    /// Drops qualifiers on arrays and function prototypes, which C cannot
    /// spell (GCC emits them for arrays of const elements).
    fn drop_mods(&mut self, stack: &mut Vec<TypeId>) {
        while let Some(&id) = stack.last() {
            if !self.ty(id).is_modifier() {
                return;
            }
            stack.pop();
        }
    }

    fn emit_name(&mut self, name: &str, last_was_ptr: bool) {
        if !name.is_empty() && !last_was_ptr {
            self.out.push(' ');
        }
        self.out.push_str(name);
    }

    fn type_chain(
        &mut self,
        stack: &mut Vec<TypeId>,
        name: &str,
        lvl: usize,
        depth: usize,
    ) -> Result<(), BtfError> {
        self.spend(0, depth)?;
        let mut last_was_ptr = true;
        while let Some(id) = stack.pop() {
            if id == 0 {
                self.mods(stack);
                self.out.push_str("void");
                last_was_ptr = false;
                continue;
            }
            let t = self.ty(id);
            match t {
                Type::Int(_) | Type::Float(_) => {
                    self.mods(stack);
                    self.out.push_str(self.raw_name(t.name_off()));
                }
                Type::Struct(c) | Type::Union(c) => {
                    self.mods(stack);
                    if c.name_off == 0 {
                        self.struct_def(id, lvl, depth)?;
                    } else {
                        self.struct_fwd(id);
                    }
                }
                Type::Enum(e) | Type::Enum64(e) => {
                    self.mods(stack);
                    if e.name_off == 0 {
                        self.enum_def(id, lvl);
                    } else {
                        let n = self.type_name(id);
                        let _ = write!(self.out, "enum {n}");
                    }
                }
                Type::Fwd(_) => {
                    self.mods(stack);
                    self.fwd_def(id);
                }
                Type::Typedef(_) => {
                    self.mods(stack);
                    let n = self.ident_name(id);
                    self.out.push_str(&n);
                }
                Type::Ptr(_) => self.out.push_str(if last_was_ptr { "*" } else { " *" }),
                Type::Volatile(_) => self.out.push_str(" volatile"),
                Type::Const(_) => self.out.push_str(" const"),
                Type::Restrict(_) => self.out.push_str(" restrict"),
                Type::TypeTag(r) => {
                    self.mods(stack);
                    let tag = self.raw_name(r.name_off);
                    let _ = write!(self.out, " __attribute__((btf_type_tag(\"{tag}\")))");
                }
                Type::Array(a) => {
                    self.drop_mods(stack);
                    let Some(&next) = stack.last() else {
                        self.emit_name(name, last_was_ptr);
                        let _ = write!(self.out, "[{}]", a.nelems);
                        return Ok(());
                    };
                    let multidim = matches!(self.ty(next), Type::Array(_));
                    if !name.is_empty() && !last_was_ptr {
                        self.out.push(' ');
                    }
                    if !multidim {
                        self.out.push('(');
                    }
                    self.type_chain(stack, name, lvl, depth + 1)?;
                    if !multidim {
                        self.out.push(')');
                    }
                    let _ = write!(self.out, "[{}]", a.nelems);
                    return Ok(());
                }
                Type::FuncProto(p) => {
                    self.drop_mods(stack);
                    if stack.is_empty() {
                        self.emit_name(name, last_was_ptr);
                    } else {
                        self.out.push_str(" (");
                        self.type_chain(stack, name, lvl, depth + 1)?;
                        self.out.push(')');
                    }
                    self.out.push('(');
                    // clang writes `f(void)` as one parameter of type void.
                    if p.params.is_empty() || (p.params.len() == 1 && p.params[0].type_id == 0) {
                        self.out.push_str("void)");
                        return Ok(());
                    }
                    for (i, prm) in p.params.iter().enumerate() {
                        if i > 0 {
                            self.out.push_str(", ");
                        }
                        if i + 1 == p.params.len() && prm.type_id == 0 {
                            self.out.push_str("...");
                            break;
                        }
                        let pname = self.raw_name(prm.name_off);
                        self.type_decl(prm.type_id, pname, lvl, depth + 1)?;
                    }
                    self.out.push(')');
                    return Ok(());
                }
                Type::Void | Type::Func(_) | Type::Var(_) | Type::DataSec(_) | Type::DeclTag(_) => {
                    return Ok(());
                }
            }
            last_was_ptr = matches!(t, Type::Ptr(_));
        }
        self.emit_name(name, last_was_ptr);
        Ok(())
    }

    /// Whether a struct's layout can only come from `packed`: a non-bitfield
    /// member off its natural alignment, or a size that is not a multiple
    /// of the largest alignment.
    fn is_packed(&mut self, c: &Composite) -> bool {
        let mut max_align = 1;
        for m in &c.members {
            let a = self.align_of(m.type_id);
            if a != 0
                && m.bitfield_size == 0
                && (m.bit_offset as u64).checked_rem(8 * a as u64) != Some(0)
            {
                return true;
            }
            max_align = max_align.max(a);
        }
        c.size.checked_rem(max_align) != Some(0)
    }

    /// Writes a struct or union body.
    pub(super) fn struct_def(
        &mut self,
        id: TypeId,
        lvl: usize,
        depth: usize,
    ) -> Result<(), BtfError> {
        if depth > MAX_DEPTH {
            return Err(BtfError::TypeLoop {
                type_id: id,
                limit: MAX_DEPTH,
            });
        }
        let t = self.ty(id);
        let (c, is_struct) = match t {
            Type::Struct(c) => (c, true),
            Type::Union(c) => (c, false),
            _ => return Ok(()),
        };
        let align = self.align_of(id) as i64;
        let packed = is_struct && self.is_packed(c);
        self.struct_fwd(id);
        self.out.push_str(" {");
        let mut off: i64 = 0;
        let mut prev_bitfield = false;
        for m in &c.members {
            let fname = self.raw_name(m.name_off);
            let m_sz = m.bitfield_size as i64;
            let m_off = m.bit_offset as i64;
            let m_align = if packed {
                1
            } else {
                self.align_of(m.type_id) as i64
            };
            let in_bitfield = prev_bitfield && m_sz != 0;
            self.bit_padding(off, m_off, m_align, in_bitfield, lvl + 1, id)?;
            self.out.push('\n');
            self.out.push_str(pfx(lvl + 1));
            self.type_decl(m.type_id, fname, lvl + 1, depth + 1)?;
            if m_sz != 0 {
                let _ = write!(self.out, ": {m_sz}");
                off = m_off + m_sz;
                prev_bitfield = true;
            } else {
                let sz = self
                    .btf
                    .size_of(m.type_id)
                    .unwrap_or(0)
                    .min(i64::MAX as u64 / 16) as i64;
                off = m_off + sz * 8;
                prev_bitfield = false;
            }
            self.out.push(';');
        }
        if is_struct {
            self.bit_padding(off, c.size as i64 * 8, align, false, lvl + 1, id)?;
        }
        if !c.members.is_empty() || c.size != 0 {
            self.out.push('\n');
            self.out.push_str(pfx(lvl));
        }
        self.out.push('}');
        if packed {
            self.out.push_str(" __attribute__((packed))");
        }
        Ok(())
    }

    /// Fills the gap between bit offsets `cur` and `next` with unnamed
    /// bitfields (`long: 64;`), relying on natural alignment where the
    /// compiler will pad by itself and marking it with `type: 0` where it
    /// would not.
    fn bit_padding(
        &mut self,
        mut cur: i64,
        next: i64,
        next_align: i64,
        in_bitfield: bool,
        lvl: usize,
        id: TypeId,
    ) -> Result<(), BtfError> {
        const PADS: [(&str, i64); 4] = [("long", 64), ("int", 32), ("short", 16), ("char", 8)];
        if cur >= next {
            return Ok(());
        }
        let (mut pad_type, mut pad_bits, mut new_off) = ("char", 8, roundup(cur, 8));
        for (n, b) in PADS {
            (pad_type, pad_bits, new_off) = (n, b, roundup(cur, b));
            if new_off <= next {
                break;
            }
        }
        if new_off > cur && new_off <= next {
            if in_bitfield
                || (new_off == next && roundup(cur, next_align * 8) != new_off)
                || (new_off != next && next - new_off <= new_off - cur)
            {
                let bits = if in_bitfield { new_off - cur } else { 0 };
                let _ = write!(self.out, "\n{}{pad_type}: {bits};", pfx(lvl));
            }
            cur = new_off;
        }
        while cur != next {
            self.spend(id, 0)?;
            let bits = (next - cur).min(pad_bits);
            if bits == pad_bits {
                let _ = write!(self.out, "\n{}{pad_type}: {pad_bits};", pfx(lvl));
                cur += bits;
                continue;
            }
            // The last piece uses the smallest type that holds it.
            let (n, _) = PADS
                .iter()
                .rev()
                .find(|(_, b)| *b >= bits)
                .copied()
                .unwrap_or(PADS[0]);
            let _ = write!(self.out, "\n{}{n}: {bits};", pfx(lvl));
            cur += bits;
        }
        Ok(())
    }

    /// Writes an enum body with its enumerators.
    pub(super) fn enum_def(&mut self, id: TypeId, lvl: usize) {
        let t = self.ty(id);
        let (e, is64) = match t {
            Type::Enum(e) => (e, false),
            Type::Enum64(e) => (e, true),
            _ => return,
        };
        let name = self.type_name(id);
        self.out.push_str("enum");
        if !name.is_empty() {
            self.out.push(' ');
            self.out.push_str(&name);
        }
        if e.values.is_empty() {
            return;
        }
        self.out.push_str(" {");
        for v in &e.values {
            let vname = self.raw_name(v.name_off);
            // Enumerators share the namespace of typedefs.
            let dups = Self::name_dups(&mut self.ident_names, vname);
            let _ = write!(self.out, "\n{}{vname}", pfx(lvl + 1));
            if dups > 1 {
                let _ = write!(self.out, "___{dups}");
            }
            let _ = match (is64, e.signed) {
                (false, true) => write!(self.out, " = {},", e.signed_value(v, false)),
                (false, false) => write!(self.out, " = {},", v.value as u32),
                (true, true) => write!(self.out, " = {}LL,", v.value as i64),
                (true, false) => write!(self.out, " = {}ULL,", v.value),
            };
        }
        let _ = write!(self.out, "\n{}}}", pfx(lvl));
        // An enum's size follows from its values unless forced: a one-byte
        // enum needs mode(byte), an 8-byte one whose values all fit in 32
        // bits needs mode(word).
        if e.size == 1 {
            self.out.push_str(" __attribute__((mode(byte)))");
        } else if e.size == 8 && (!is64 || e.values.iter().all(|v| v.value >> 32 == 0)) {
            self.out.push_str(" __attribute__((mode(word)))");
        }
    }
}

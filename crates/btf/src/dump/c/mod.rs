//! BTF as compilable C: the `vmlinux.h` that `bpftool btf dump ... format c`
//! prints.
//!
//! # How the output is ordered
//! C requires a struct to be complete where it is embedded by value but
//! only declared where it is reached through a pointer. For every type in
//! id order we therefore first *order* it: a depth-first walk that returns
//! whether the type is needed *strongly* (embedded, or anonymous and so
//! defined inline) or *weakly* (behind a pointer, where `struct X;` will
//! do), queueing named definitions after everything they strongly need.
//! Then each queued type is *emitted*: its members' types are visited
//! first so that forward declarations (`struct X;`) are printed for types
//! that are mentioned but not yet defined, and typedefs are printed as soon
//! as the types they name are usable. The algorithm follows libbpf's
//! `btf_dump`, so that our headers read like bpftool's.
//!
//! # Names
//! Different types may share a name (two `struct foo` from different
//! compilation units). The first keeps it, later ones become `foo___2`,
//! `foo___3`, ...; typedefs and enumerators share a second namespace.
//!
//! # Hostile input
//! The type graph may contain cycles and deep or wide chains. Every
//! recursive walk carries a depth bound and every unit of work draws from a
//! budget proportional to the size of the BTF, so a crafted blob yields an
//! error instead of a stack overflow or an endless (or exponential) dump.

mod decl;

use crate::error::BtfError;
use crate::types::*;
use crate::Btf;
use std::collections::HashMap;
use std::fmt::{self, Write};

/// How deep the ordering and emitting walks may recurse (struct nesting,
/// anonymous types, function prototypes inside each other).
const MAX_DEPTH: usize = 200;

/// The opening of the header, as bpftool prints it.
const PROLOGUE: &str = "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n\
#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n\
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n\
#endif\n\n";

/// The closing of the header.
const EPILOGUE: &str =
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n\
#endif /* __VMLINUX_H__ */\n";

/// Why a C dump failed.
#[derive(Debug)]
pub enum CDumpError {
    /// The BTF cannot be expressed in C (a loop of embedded types) or is
    /// too large or deep to dump within the bounds.
    Btf(BtfError),
    /// The output sink failed.
    Fmt(fmt::Error),
}

impl fmt::Display for CDumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CDumpError::Btf(e) => write!(f, "{e}"),
            CDumpError::Fmt(_) => f.write_str("output error"),
        }
    }
}

impl std::error::Error for CDumpError {}

impl From<fmt::Error> for CDumpError {
    fn from(e: fmt::Error) -> Self {
        CDumpError::Fmt(e)
    }
}

/// Writes the whole header: prologue, every type, epilogue.
pub fn header(btf: &Btf, out: &mut impl Write) -> Result<(), CDumpError> {
    let mut d = CDump::new(btf);
    d.out.push_str(PROLOGUE);
    for (id, _) in btf.types() {
        d.dump_type(id).map_err(CDumpError::Btf)?;
        out.write_str(&d.out)?;
        d.flushed += d.out.len();
        d.out.clear();
    }
    out.write_str(EPILOGUE)?;
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    NotOrdered,
    Ordering,
    Ordered,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Emit {
    NotEmitted,
    Emitting,
    Emitted,
}

/// Per-type progress of the dump.
#[derive(Clone, Copy)]
struct State {
    order: Order,
    emit: Emit,
    /// A forward declaration (or, for a typedef, the typedef itself) was
    /// printed already.
    fwd_emitted: bool,
    /// Some other type refers to this one (tells a top-level anonymous enum
    /// of constants from one used inline).
    referenced: bool,
}

/// The dumper: per-type state, name tables and the text produced so far.
pub struct CDump<'b> {
    btf: &'b Btf,
    state: Vec<State>,
    /// Unique names given out so far (`None`: not yet resolved).
    names: Vec<Option<String>>,
    type_names: HashMap<String, usize>,
    ident_names: HashMap<String, usize>,
    queue: Vec<TypeId>,
    align_memo: HashMap<TypeId, u32>,
    /// Work left before the dump is declared too costly.
    budget: u64,
    /// Output already handed to the caller, and the most we will produce:
    /// a long name repeated many times could otherwise turn a small blob
    /// into gigabytes of text.
    flushed: usize,
    max_out: usize,
    pub(crate) out: String,
}

impl<'b> CDump<'b> {
    /// Prepares a dump of `btf`.
    pub fn new(btf: &'b Btf) -> Self {
        let n = btf.type_count() as usize;
        let init = State {
            order: Order::NotOrdered,
            emit: Emit::NotEmitted,
            fwd_emitted: false,
            referenced: false,
        };
        let mut state = vec![init; n];
        state[0].order = Order::Ordered;
        state[0].emit = Emit::Emitted;
        let mut vlens: u64 = 0;
        for (_, t) in btf.types() {
            let mut mark = |id: TypeId| {
                if let Some(s) = state.get_mut(id as usize) {
                    s.referenced = true;
                }
            };
            match t {
                Type::Array(a) => {
                    mark(a.index_type);
                    mark(a.elem_type);
                }
                Type::Struct(c) | Type::Union(c) => {
                    vlens += c.members.len() as u64;
                    c.members.iter().for_each(|m| mark(m.type_id));
                }
                Type::FuncProto(p) => {
                    vlens += p.params.len() as u64;
                    p.params.iter().for_each(|p| mark(p.type_id));
                }
                Type::DataSec(d) => d.vars.iter().for_each(|v| mark(v.type_id)),
                Type::Enum(e) | Type::Enum64(e) => vlens += e.values.len() as u64,
                t => {
                    if let Some(r) = t.referenced_type() {
                        mark(r)
                    }
                }
            }
        }
        CDump {
            btf,
            state,
            names: vec![None; n],
            type_names: HashMap::new(),
            ident_names: HashMap::new(),
            queue: Vec::new(),
            align_memo: HashMap::new(),
            budget: 64 * (n as u64 + vlens) + 100_000,
            flushed: 0,
            max_out: 64 * (btf.header().type_len as usize + btf.strings().len()) + (1 << 20),
            out: String::new(),
        }
    }

    /// The text produced so far.
    pub fn output(&self) -> &str {
        &self.out
    }

    /// Dumps type `id` and everything it needs that was not dumped yet.
    pub fn dump_type(&mut self, id: TypeId) -> Result<(), BtfError> {
        self.btf.get(id)?;
        self.queue.clear();
        self.order_type(id, false, 0)?;
        let queue = std::mem::take(&mut self.queue);
        for &q in &queue {
            self.emit_type(q, 0, 0)?;
        }
        self.queue = queue;
        Ok(())
    }

    /// Spends one unit of work; fails past the depth, work or output bound.
    fn spend(&mut self, id: TypeId, depth: usize) -> Result<(), BtfError> {
        if depth > MAX_DEPTH {
            return Err(BtfError::TypeLoop {
                type_id: id,
                limit: MAX_DEPTH,
            });
        }
        if self.budget == 0 {
            return Err(BtfError::DumpTooLarge {
                type_id: id,
                reason: "work budget exhausted",
            });
        }
        if self.flushed + self.out.len() > self.max_out {
            return Err(BtfError::DumpTooLarge {
                type_id: id,
                reason: "output larger than 64 times the BTF",
            });
        }
        self.budget -= 1;
        Ok(())
    }

    fn ty(&self, id: TypeId) -> &'b Type {
        self.btf.type_by_id(id).unwrap_or(&Type::Void)
    }

    /// Orders `id` (see the module docs); `Ok(true)` for a strong link.
    fn order_type(
        &mut self,
        id: TypeId,
        through_ptr: bool,
        depth: usize,
    ) -> Result<bool, BtfError> {
        self.spend(id, depth)?;
        let Some(st) = self.state.get(id as usize).copied() else {
            return Ok(false);
        };
        if st.order == Order::Ordered {
            return Ok(true);
        }
        let t = self.ty(id);
        let named = t.name_off() != 0;
        if st.order == Order::Ordering {
            // A loop through a pointer to a named struct is what forward
            // declarations are for; any other loop cannot be written in C.
            if matches!(t, Type::Struct(_) | Type::Union(_)) && through_ptr && named {
                return Ok(false);
            }
            return Err(BtfError::TypeLoop {
                type_id: id,
                limit: MAX_DEPTH,
            });
        }
        let d = depth + 1;
        match t {
            Type::Int(_) | Type::Float(_) => {
                self.set_order(id, Order::Ordered);
                Ok(false)
            }
            Type::Ptr(r) => {
                let strong = self.order_type(r.type_id, true, d)?;
                self.set_order(id, Order::Ordered);
                Ok(strong)
            }
            Type::Array(a) => self.order_type(a.elem_type, false, d),
            Type::Struct(c) | Type::Union(c) => {
                if through_ptr && named {
                    return Ok(false);
                }
                self.set_order(id, Order::Ordering);
                for m in &c.members {
                    self.order_type(m.type_id, false, d)?;
                }
                if named {
                    self.queue.push(id);
                }
                self.set_order(id, Order::Ordered);
                Ok(true)
            }
            Type::Enum(_) | Type::Enum64(_) | Type::Fwd(_) => {
                if named || !st.referenced {
                    self.queue.push(id);
                }
                self.set_order(id, Order::Ordered);
                Ok(true)
            }
            Type::Typedef(r) => {
                let strong = self.order_type(r.type_id, through_ptr, d)?;
                if through_ptr && !strong {
                    return Ok(false);
                }
                self.queue.push(id);
                self.set_order(id, Order::Ordered);
                Ok(true)
            }
            Type::Volatile(r) | Type::Const(r) | Type::Restrict(r) | Type::TypeTag(r) => {
                self.order_type(r.type_id, through_ptr, d)
            }
            Type::FuncProto(p) => {
                let mut strong = self.order_type(p.ret_type, through_ptr, d)?;
                for p in &p.params {
                    strong |= self.order_type(p.type_id, through_ptr, d)?;
                }
                Ok(strong)
            }
            Type::Void | Type::Func(_) | Type::Var(_) | Type::DataSec(_) | Type::DeclTag(_) => {
                self.set_order(id, Order::Ordered);
                Ok(false)
            }
        }
    }

    fn set_order(&mut self, id: TypeId, o: Order) {
        if let Some(s) = self.state.get_mut(id as usize) {
            s.order = o;
        }
    }

    fn set_emit(&mut self, id: TypeId, e: Emit) {
        if let Some(s) = self.state.get_mut(id as usize) {
            s.emit = e;
        }
    }

    fn set_fwd(&mut self, id: TypeId) {
        if let Some(s) = self.state.get_mut(id as usize) {
            s.fwd_emitted = true;
        }
    }

    /// `__builtin_va_list` is the compiler's own; redefining it breaks the
    /// build with any other compiler.
    fn is_builtin(&self, id: TypeId) -> bool {
        let t = self.ty(id);
        t.name_off() != 0 && self.btf.name_by_offset(t.name_off()) == Some("__builtin_va_list")
    }

    /// Emits `id` (top-level when `cont_id` is 0, else while defining the
    /// struct `cont_id`), first emitting what it needs.
    fn emit_type(&mut self, id: TypeId, cont_id: TypeId, depth: usize) -> Result<(), BtfError> {
        self.spend(id, depth)?;
        let Some(st) = self.state.get(id as usize).copied() else {
            return Ok(());
        };
        if st.emit == Emit::Emitted {
            return Ok(());
        }
        let t = self.ty(id);
        let top_level = cont_id == 0;
        if st.emit == Emit::Emitting {
            // Reached again while being defined: a forward declaration (or
            // the typedef itself) breaks the loop.
            if st.fwd_emitted {
                return Ok(());
            }
            match t {
                Type::Struct(_) | Type::Union(_) => {
                    if id == cont_id || t.name_off() == 0 {
                        return Ok(());
                    }
                    self.struct_fwd(id);
                    self.out.push_str(";\n\n");
                    self.set_fwd(id);
                }
                Type::Typedef(_) => {
                    if !self.is_builtin(id) {
                        self.typedef_def(id, 0, depth)?;
                        self.out.push_str(";\n\n");
                    }
                    self.set_fwd(id);
                }
                _ => {}
            }
            return Ok(());
        }
        let d = depth + 1;
        match t {
            Type::Int(_) => {
                self.emit_missing_alias(id);
                self.set_emit(id, Emit::Emitted);
            }
            Type::Enum(_) | Type::Enum64(_) => {
                if top_level {
                    self.enum_def(id, 0);
                    self.out.push_str(";\n\n");
                }
                self.set_emit(id, Emit::Emitted);
            }
            Type::Ptr(r)
            | Type::Volatile(r)
            | Type::Const(r)
            | Type::Restrict(r)
            | Type::TypeTag(r) => self.emit_type(r.type_id, cont_id, d)?,
            Type::Array(a) => self.emit_type(a.elem_type, cont_id, d)?,
            Type::Fwd(_) => {
                self.fwd_def(id);
                self.out.push_str(";\n\n");
                self.set_emit(id, Emit::Emitted);
            }
            Type::Typedef(r) => {
                self.set_emit(id, Emit::Emitting);
                self.emit_type(r.type_id, id, d)?;
                let fwd = self.state[id as usize].fwd_emitted;
                if !fwd && !self.is_builtin(id) {
                    self.typedef_def(id, 0, depth)?;
                    self.out.push_str(";\n\n");
                }
                self.set_emit(id, Emit::Emitted);
            }
            Type::Struct(c) | Type::Union(c) => {
                self.set_emit(id, Emit::Emitting);
                let named = c.name_off != 0;
                if top_level || !named {
                    let new_cont = if named { id } else { cont_id };
                    for m in &c.members {
                        self.emit_type(m.type_id, new_cont, d)?;
                    }
                } else if !self.state[id as usize].fwd_emitted && id != cont_id {
                    self.struct_fwd(id);
                    self.out.push_str(";\n\n");
                    self.set_fwd(id);
                }
                if top_level {
                    self.struct_def(id, 0, depth)?;
                    self.out.push_str(";\n\n");
                    self.set_emit(id, Emit::Emitted);
                } else {
                    self.set_emit(id, Emit::NotEmitted);
                }
            }
            Type::FuncProto(p) => {
                self.emit_type(p.ret_type, cont_id, d)?;
                for p in &p.params {
                    self.emit_type(p.type_id, cont_id, d)?;
                }
            }
            Type::Void
            | Type::Func(_)
            | Type::Var(_)
            | Type::DataSec(_)
            | Type::DeclTag(_)
            | Type::Float(_) => {}
        }
        Ok(())
    }

    /// GCC's Arm SIMD `__PolyN_t` base types have no C spelling; alias them.
    fn emit_missing_alias(&mut self, id: TypeId) {
        const ALIASES: [(&str, &str); 4] = [
            ("__Poly8_t", "unsigned char"),
            ("__Poly16_t", "unsigned short"),
            ("__Poly64_t", "unsigned long long"),
            ("__Poly128_t", "unsigned __int128"),
        ];
        let name = self.type_name(id);
        if let Some((n, base)) = ALIASES.iter().find(|(n, _)| *n == name) {
            let _ = write!(self.out, "typedef {base} {n};\n\n");
        }
    }

    /// Counts another use of `name` in a namespace; returns the count.
    fn name_dups(map: &mut HashMap<String, usize>, name: &str) -> usize {
        let c = map.entry(name.to_string()).or_insert(0);
        *c += 1;
        *c
    }

    fn resolve_name(&mut self, id: TypeId, ident: bool) -> String {
        let t = self.ty(id);
        if t.name_off() == 0 {
            return String::new();
        }
        if let Some(n) = self.names.get(id as usize).and_then(|n| n.clone()) {
            return n;
        }
        let orig = self
            .btf
            .name_by_offset(t.name_off())
            .unwrap_or("")
            .to_string();
        let unique = matches!(t, Type::Fwd(_)) || matches!(t, Type::Enum(e) if e.values.is_empty());
        let name = if unique {
            orig
        } else {
            let map = if ident {
                &mut self.ident_names
            } else {
                &mut self.type_names
            };
            match Self::name_dups(map, &orig) {
                1 => orig,
                n => format!("{orig}___{n}"),
            }
        };
        if let Some(slot) = self.names.get_mut(id as usize) {
            *slot = Some(name.clone());
        }
        name
    }

    /// The unique name of a struct, union, enum or forward declaration.
    fn type_name(&mut self, id: TypeId) -> String {
        self.resolve_name(id, false)
    }

    /// The unique name of a typedef.
    fn ident_name(&mut self, id: TypeId) -> String {
        self.resolve_name(id, true)
    }

    /// The name as written in the BTF (members, parameters, base types).
    fn raw_name(&self, off: u32) -> &'b str {
        self.btf.name_by_offset(off).unwrap_or("")
    }

    fn align_of(&mut self, id: TypeId) -> u32 {
        self.btf
            .align_of_depth(id, 0, &mut self.align_memo)
            .unwrap_or(0)
    }

    fn struct_fwd(&mut self, id: TypeId) {
        let kw = if matches!(self.ty(id), Type::Union(_)) {
            "union"
        } else {
            "struct"
        };
        let name = self.type_name(id);
        self.out.push_str(kw);
        if !name.is_empty() {
            self.out.push(' ');
            self.out.push_str(&name);
        }
    }

    fn fwd_def(&mut self, id: TypeId) {
        let name = self.type_name(id);
        let kw = match self.ty(id) {
            Type::Fwd(Fwd {
                kind: FwdKind::Union,
                ..
            }) => "union",
            _ => "struct",
        };
        let _ = write!(self.out, "{kw} {name}");
    }

    fn typedef_def(&mut self, id: TypeId, lvl: usize, depth: usize) -> Result<(), BtfError> {
        let name = self.ident_name(id);
        let target = self.ty(id).referenced_type().unwrap_or(0);
        // Old GCC emitted this typedef to void; the builtin is what it means.
        if target == 0 && name == "__gnuc_va_list" {
            self.out
                .push_str("typedef __builtin_va_list __gnuc_va_list");
            return Ok(());
        }
        self.out.push_str("typedef ");
        self.type_decl(target, &name, lvl, depth + 1)
    }
}

/// Indentation for nesting level `lvl` (capped as bpftool caps it).
fn pfx(lvl: usize) -> &'static str {
    const TABS: &str = "\t\t\t\t\t\t\t\t\t\t\t\t\t";
    &TABS[..lvl.min(TABS.len())]
}

/// Rounds `x` up to a multiple of `y` (0 leaves `x` alone).
fn roundup(x: i64, y: i64) -> i64 {
    if y <= 0 {
        x
    } else {
        (x + y - 1) / y * y
    }
}

//! BTF-typed contexts and pointers (`PTR_TO_BTF_ID`), as the kernel's
//! `btf_ctx_access` and `btf_struct_walk` (kernel/bpf/btf.c) check them.
//!
//! A tracing program (`tp_btf/…`, `iter/…`, `fentry/…`) reads its context
//! as an array of `u64` arguments whose types come from the kernel's BTF:
//! the prototype of the function, tracepoint (`btf_trace_<name>` typedef)
//! or iterator (`bpf_iter_<target>`) it attaches to. Integer arguments are
//! scalars; pointers to structs become [`PtrKind::BtfId`] pointers, which
//! may be dereferenced (reads only) at offsets that fall on struct members:
//! a load of a pointer member gives a further BTF pointer, any other load
//! a scalar.
//!
//! The kernel turns these loads into `BPF_PROBE_MEM` (a faulting load
//! yields 0). oxbpf records them ([`crate::VerifiedProgram::probe_mem_insns`])
//! so that the runtime can do the same: the verifier proves the access is
//! typed correctly, not that the memory behind the pointer exists.
//!
//! Simplifications: the trust of a loaded pointer follows the kernel's
//! rules for non-sleepable programs (inside an RCU read section) with a
//! partial copy of its lists of safe members; `__user`/`__percpu` type tags
//! are not distinguished; iterator arguments after the first (`meta`) are
//! taken to be maybe-null trusted pointers, as every iterator registered
//! in Linux 6.18 declares them, and pointers to `void` (map element
//! iterators' key and value buffers) are read as scalars.

use crate::state::PtrKind;
use ::btf::{Btf, Type, TypeId};
use uapi::AttachType;

/// `PTR_TRUSTED`.
pub const TRUSTED: u8 = 1;
/// `PTR_UNTRUSTED`.
pub const UNTRUSTED: u8 = 2;
/// `MEM_RCU`.
pub const RCU: u8 = 4;
/// `PTR_MAYBE_NULL`.
pub const NULL: u8 = 8;

/// Most arguments a traced function may have (`MAX_BPF_FUNC_ARGS`).
const MAX_FUNC_ARGS: u32 = 12;

/// What a tracing program attaches to, resolved once per verification.
#[derive(Debug, Clone)]
pub struct Target {
    pub vmlinux: &'static Btf,
    /// The function (or tracepoint) name, for messages.
    pub name: String,
    /// Argument types, in order (for tracepoints without `void *__data`).
    pub params: Vec<TypeId>,
    /// Every parameter of the prototype (with a tracepoint's `__data`):
    /// the kernel finds which argument an offset falls in from these.
    pub proto_params: Vec<TypeId>,
    /// The return type, for `fexit` programs (read after the arguments).
    pub ret: TypeId,
    pub attach: Option<AttachType>,
}

/// The id of the vmlinux type a program attaching as `attach` to `target`
/// (the part of the section name after the prefix: `sched_process_exec`
/// for `tp_btf/sched_process_exec`, `task` for `iter/task`) gives as
/// `attach_btf_id`.
pub fn attach_btf_id(vmlinux: &Btf, attach: AttachType, target: &str) -> Option<u32> {
    use ::btf::Kind;
    match attach {
        AttachType::TraceRawTp => {
            vmlinux.find_by_name(Kind::Typedef, &format!("btf_trace_{target}"))
        }
        AttachType::TraceIter => vmlinux.find_by_name(Kind::Func, &format!("bpf_iter_{target}")),
        _ => vmlinux.find_by_name(Kind::Func, target),
    }
}

impl Target {
    /// Resolve `attach_btf_id`: a `FUNC` (its prototype's parameters) or a
    /// `btf_trace_*` typedef of a pointer to a prototype whose first
    /// parameter (`void *__data`) is not the program's.
    pub fn new(
        vmlinux: &'static Btf,
        attach_btf_id: u32,
        attach: Option<AttachType>,
    ) -> Result<Target, String> {
        let bad = || format!("attach_btf_id {attach_btf_id} is not a function");
        let t = vmlinux.get(attach_btf_id).map_err(|_| bad())?;
        let name = vmlinux.type_name(attach_btf_id).unwrap_or("").to_string();
        let (proto_id, skip) = match t {
            Type::Func(f) => (f.proto, 0),
            Type::Typedef(r) if name.starts_with("btf_trace_") => {
                let p = vmlinux.resolve(r.type_id).map_err(|_| bad())?;
                match vmlinux.get(p) {
                    Ok(Type::Ptr(q)) => (q.type_id, 1),
                    _ => return Err(bad()),
                }
            }
            _ => return Err(bad()),
        };
        let Ok(Type::FuncProto(fp)) = vmlinux.get(proto_id) else {
            return Err(bad());
        };
        let name = name.strip_prefix("btf_trace_").unwrap_or(&name).to_string();
        Ok(Target {
            vmlinux,
            name,
            params: fp.params.iter().skip(skip).map(|p| p.type_id).collect(),
            proto_params: fp.params.iter().map(|p| p.type_id).collect(),
            ret: fp.ret_type,
            attach,
        })
    }

    /// `prog_args_trusted`: tracepoint and iterator arguments are trusted.
    fn args_trusted(&self) -> bool {
        matches!(
            self.attach,
            Some(AttachType::TraceRawTp | AttachType::TraceIter)
        )
    }

    fn kind_name(&self, id: TypeId) -> &'static str {
        match self.vmlinux.get(id) {
            Ok(t) => t.kind().as_str(),
            Err(_) => "UNKN",
        }
    }

    /// `get_ctx_arg_idx`: the argument `off` falls in, counting each
    /// parameter of the whole prototype (a tracepoint's `__data`
    /// included) as its size rounded up to 8 bytes, then the return
    /// value; past everything, one more than the number of parameters.
    fn arg_index(&self, off: u32) -> u32 {
        let btf = self.vmlinux;
        let slot = |ty: TypeId| -> u32 {
            let t = btf.resolve(ty).unwrap_or(0);
            match btf.get(t) {
                Ok(Type::Ptr(_)) => 8,
                _ => (btf.size_of(t).unwrap_or(0) as u32).div_ceil(8) * 8,
            }
        };
        let mut end = 0;
        for (i, &p) in self.proto_params.iter().enumerate() {
            end += slot(p);
            if off < end {
                return i as u32;
            }
        }
        let n = self.proto_params.len() as u32;
        end += if self.ret == 0 { 0 } else { slot(self.ret) };
        if off < end {
            n
        } else {
            n + 1
        }
    }

    /// `tracing_prog_is_valid_access` + `btf_ctx_access`: what a read of
    /// `size` bytes at `off` of the argument array yields — `Ok(None)` a
    /// scalar, `Ok(Some(kind))` a BTF pointer — or the kernel's message.
    pub fn ctx_access(&self, off: i64, size: u32, write: bool) -> Result<Option<PtrKind>, String> {
        let plain = || format!("invalid bpf_context access off={off} size={size}");
        if write
            || off < 0
            || off >= 8 * MAX_FUNC_ARGS as i64
            || size == 0
            || off % size as i64 != 0
        {
            return Err(plain());
        }
        let off = off as u32;
        let fail = |why: String| Err(format!("{why}\n{}", plain()));
        if !off.is_multiple_of(8) {
            return fail(format!(
                "func '{}' offset {off} is not multiple of 8",
                self.name
            ));
        }
        let arg = self.arg_index(off);
        let nr = self.params.len() as u32;
        let ty = if arg < nr {
            self.params[arg as usize]
        } else if arg == nr
            && matches!(
                self.attach,
                Some(AttachType::TraceFexit | AttachType::ModifyReturn)
            )
        {
            self.ret
        } else {
            return fail(format!(
                "func '{}' doesn't have {}-th argument",
                self.name,
                arg + 1
            ));
        };
        let btf = self.vmlinux;
        let t = btf.resolve(ty).map_err(|e| e.to_string())?;
        match btf.get(t) {
            Ok(Type::Int(i)) if i.size <= 8 => return Ok(None),
            Ok(Type::Enum(_) | Type::Enum64(_)) => return Ok(None),
            Ok(Type::Ptr(_)) => {}
            _ => {
                return fail(format!(
                    "func '{}' arg{arg} '{}' has type {}. Only pointer access is allowed",
                    self.name,
                    btf.type_name(t).unwrap_or(""),
                    self.kind_name(t)
                ))
            }
        }
        let Ok(Type::Ptr(p)) = btf.get(t) else {
            return Err(plain());
        };
        if size != 8 {
            return fail(format!("func '{}' size {size} must be 8", self.name));
        }
        if p.type_id == 0 {
            // A pointer to void is a scalar.
            return Ok(None);
        }
        // A pointer to an int (allowing const) is a scalar too.
        let mut inner = p.type_id;
        if let Ok(Type::Const(c)) = btf.get(inner) {
            inner = c.type_id;
        }
        if matches!(btf.get(inner), Ok(Type::Int(_))) {
            return Ok(None);
        }
        let sid = btf.resolve(p.type_id).map_err(|e| e.to_string())?;
        if !matches!(btf.get(sid), Ok(Type::Struct(_) | Type::Union(_))) {
            return fail(format!(
                "func '{}' arg{arg} type {} is not a struct",
                self.name,
                self.kind_name(sid)
            ));
        }
        let mut flags = if self.args_trusted() { TRUSTED } else { 0 };
        if self.attach == Some(AttachType::TraceIter) && arg >= 1 {
            flags |= NULL;
        }
        Ok(Some(PtrKind::BtfId { id: sid, flags }))
    }
}

/// What a load through a BTF pointer yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Walk {
    Scalar,
    /// A pointer member whose target is not a struct.
    UntrustedMem,
    /// A pointer to struct `id`, loaded from member `field` of struct
    /// `parent`.
    Ptr {
        id: TypeId,
        parent: TypeId,
        field: String,
        /// Found inside a union of several members: the kernel does not
        /// trust what it loads there.
        untrusted: bool,
    },
}

/// `btf_struct_access`: whether `size` bytes at `off` of struct `id` fall
/// on one member, and what loading them gives.
pub fn struct_access(btf: &Btf, id: TypeId, off: u32, size: u32) -> Result<Walk, String> {
    let mut id = id;
    let mut off = off;
    // Walking a union of several members makes the access untrusted
    // (the kernel's `PTR_UNTRUSTED` walk flag): no member end check, and
    // pointers loaded there are untrusted.
    let mut untrusted = false;
    for _ in 0..64 {
        match walk(btf, id, off, size, &mut untrusted)? {
            Step::Scalar => return Ok(Walk::Scalar),
            Step::UntrustedMem => return Ok(Walk::UntrustedMem),
            Step::Ptr { id, parent, field } => {
                return Ok(Walk::Ptr {
                    id,
                    parent,
                    field,
                    untrusted,
                })
            }
            Step::Struct(next) => {
                id = next;
                off = 0;
            }
        }
    }
    Err(format!("struct nesting too deep at off {off}"))
}

enum Step {
    Scalar,
    UntrustedMem,
    Ptr {
        id: TypeId,
        parent: TypeId,
        field: String,
    },
    Struct(TypeId),
}

/// `__btf_resolve_size`: the member's type after typedefs and modifiers,
/// its total size, the element type and count when it is an array.
struct Resolved {
    /// The array type itself, or the resolved type.
    is_array: bool,
    size: u32,
    elem: TypeId,
    nelems: u32,
}

fn resolve_size(btf: &Btf, mut id: TypeId) -> Option<Resolved> {
    let mut nelems: u32 = 1;
    let mut is_array = false;
    for _ in 0..32 {
        let t = btf.get(id).ok()?;
        let size = match t {
            Type::Int(i) => i.size,
            Type::Struct(c) | Type::Union(c) => c.size,
            Type::Enum(e) | Type::Enum64(e) => e.size,
            Type::Float(f) => f.size,
            Type::Ptr(_) => 8,
            Type::Array(a) => {
                is_array = true;
                nelems = nelems.checked_mul(a.nelems)?;
                id = a.elem_type;
                continue;
            }
            t if t.is_modifier() || matches!(t, Type::Typedef(_)) => {
                id = t.referenced_type()?;
                continue;
            }
            _ => return None,
        };
        return Some(Resolved {
            is_array,
            size: size.checked_mul(nelems)?,
            elem: id,
            nelems,
        });
    }
    None
}

fn is_struct(btf: &Btf, id: TypeId) -> bool {
    matches!(btf.get(id), Ok(Type::Struct(_) | Type::Union(_)))
}

/// One step of `btf_struct_walk`.
/// `__btf_name_by_offset`: anonymous names print as `(anon)`.
fn name_or_anon(name: Option<&str>) -> String {
    match name {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => "(anon)".to_string(),
    }
}

fn walk(
    btf: &Btf,
    mut id: TypeId,
    mut off: u32,
    size: u32,
    untrusted: &mut bool,
) -> Result<Step, String> {
    let mut depth = 0;
    'again: loop {
        depth += 1;
        if depth > 64 {
            return Err(format!("struct nesting too deep at off {off}"));
        }
        let tname = name_or_anon(btf.type_name(id));
        let (tsize, members) = match btf.get(id) {
            Ok(Type::Struct(c)) => (c.size, c.members.clone()),
            Ok(Type::Union(c)) => {
                if c.members.len() != 1 {
                    *untrusted = true;
                }
                (c.size, c.members.clone())
            }
            _ => return Err(format!("Type '{tname}' is not a struct")),
        };
        if off + size > tsize {
            // A flexible array of structs at the end may be indexed.
            let beyond = || format!("access beyond struct {tname} at off {off} size {size}");
            let Some(last) = members.last() else {
                return Err(beyond());
            };
            let lt = btf.resolve(last.type_id).map_err(|_| beyond())?;
            let Ok(Type::Array(a)) = btf.get(lt) else {
                return Err(beyond());
            };
            let moff = last.bit_offset / 8;
            let et = btf.resolve(a.elem_type).map_err(|_| beyond())?;
            if a.nelems != 0 || off < moff || !is_struct(btf, et) {
                return Err(beyond());
            }
            let esize = resolve_size(btf, et).map_or(0, |r| r.size);
            if esize == 0 {
                return Err(beyond());
            }
            off = (off - moff) % esize;
            id = et;
            continue 'again;
        }
        for m in &members {
            let mut moff = m.bit_offset / 8;
            if off + size <= moff {
                break;
            }
            if m.bitfield_size != 0 {
                let end_bit = m.bit_offset + m.bitfield_size as u32;
                if off <= moff && end_bit.div_ceil(8) <= off + size {
                    return Ok(Step::Scalar);
                }
                continue;
            }
            if off < moff {
                break;
            }
            let mname = name_or_anon(btf.name_by_offset(m.name_off));
            let Some(r) = resolve_size(btf, m.type_id) else {
                return Err(format!("field {mname} doesn't have size"));
            };
            let mtrue_end = moff + r.size;
            if off >= mtrue_end {
                continue;
            }
            let mut msize = r.size;
            let mut mtype = if r.is_array {
                r.elem
            } else {
                btf.resolve(m.type_id).unwrap_or(0)
            };
            if r.is_array {
                if moff == mtrue_end {
                    continue;
                }
                msize /= r.nelems.max(1);
                if msize == 0 {
                    continue;
                }
                moff += (off - moff) / msize * msize;
                mtype = r.elem;
            }
            if is_struct(btf, mtype) {
                if off == moff {
                    return Ok(Step::Struct(mtype));
                }
                off -= moff;
                id = mtype;
                continue 'again;
            }
            if let Ok(Type::Ptr(p)) = btf.get(mtype) {
                if msize != size || off != moff {
                    return Err(format!(
                        "cannot access ptr member {mname} with moff {moff} in struct {tname} with off {off} size {size}"
                    ));
                }
                let target = btf.resolve(p.type_id).unwrap_or(0);
                if is_struct(btf, target) {
                    return Ok(Step::Ptr {
                        id: target,
                        parent: id,
                        field: mname,
                    });
                }
                // Linux 6.18 reads other pointer members as untrusted
                // read-only memory (`rdonly_untrusted_mem`).
                return Ok(Step::UntrustedMem);
            }
            if off + size > mtrue_end && !*untrusted {
                return Err(format!(
                    "access beyond the end of member {mname} (mend:{mtrue_end}) in struct {tname} with off {off} size {size}"
                ));
            }
            return Ok(Step::Scalar);
        }
        return Err(format!("struct {tname} doesn't have field at offset {off}"));
    }
}

/// Members the kernel knows are safe to follow from a trusted or RCU
/// pointer (`BTF_TYPE_SAFE_RCU`, `…_RCU_OR_NULL`, `…_TRUSTED`,
/// `…_TRUSTED_OR_NULL` in kernel/bpf/verifier.c; a partial copy).
const SAFE: &[(&str, &str, u8)] = &[
    ("task_struct", "cpus_ptr", RCU),
    ("task_struct", "cgroups", RCU),
    ("task_struct", "real_parent", RCU),
    ("task_struct", "group_leader", RCU),
    ("cgroup", "kn", RCU),
    ("css_set", "dfl_cgrp", RCU),
    ("cgroup_subsys_state", "cgroup", RCU),
    ("mm_struct", "exe_file", RCU | NULL),
    ("sk_buff", "sk", RCU | NULL),
    ("request_sock", "sk", RCU | NULL),
    ("bpf_iter_meta", "seq", TRUSTED),
    ("linux_binprm", "file", TRUSTED),
    ("file", "f_inode", TRUSTED),
    ("dentry", "d_inode", TRUSTED | NULL),
    ("socket", "sk", TRUSTED | NULL),
];

/// The flags of a pointer loaded from member `field` of a struct `parent`
/// reached through a pointer with `flags` (`check_ptr_to_btf_access`, for
/// a program running inside an RCU read section).
pub fn loaded_flags(btf: &Btf, parent: TypeId, field: &str, flags: u8) -> u8 {
    if flags & UNTRUSTED != 0 {
        return UNTRUSTED;
    }
    if flags & (TRUSTED | RCU) == 0 {
        // Walking from a legacy pointer gives a legacy pointer.
        return 0;
    }
    let pname = btf.type_name(parent).unwrap_or("");
    SAFE.iter()
        .find(|(s, f, _)| *s == pname && *f == field)
        .map_or(0, |&(_, _, k)| k)
}

/// `btf_struct_ids_match`: whether a pointer to struct `id` at offset
/// `off` points to a struct named `want` (itself, or a struct nested at
/// offset 0 of it).
pub fn ids_match(btf: &Btf, mut id: TypeId, off: u32, want: &str) -> bool {
    if off == 0 && btf.type_name(id) == Some(want) {
        return true;
    }
    let mut off = off;
    for _ in 0..32 {
        match walk(btf, id, off, 1, &mut false) {
            Ok(Step::Struct(next)) => {
                if btf.type_name(next) == Some(want) {
                    return true;
                }
                id = next;
                off = 0;
            }
            _ => return false,
        }
    }
    false
}

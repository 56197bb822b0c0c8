//! Type relations CO-RE relies on, as libbpf's `relo_core.c` defines them:
//! essential names (`task_struct___v2` is a flavor of `task_struct`),
//! field compatibility, type compatibility, and the stricter "types match"
//! of `bpf_core_type_matches()`. Every recursion is bounded (libbpf uses a
//! depth of 32), so cyclic or deep BTF yields an error, not a hang.

use btf::{Btf, Enum, Type, TypeId};

/// libbpf's recursion budget for type comparisons.
const MAX_DEPTH: i32 = 32;

/// Comparison failed for a reason other than "not compatible".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompatError(pub String);

pub(crate) type Res = Result<bool, CompatError>;

/// A count of comparison steps one relocation may take. Type matching
/// recurses into every member of every struct, so a hostile BTF (members
/// nesting the same wide struct over and over) could otherwise take
/// exponential time within libbpf's depth limit.
#[derive(Debug)]
pub(crate) struct Budget(pub usize);

impl Budget {
    /// Steps per relocation: far beyond what kernel types need.
    pub const PER_RELOCATION: usize = 1 << 20;

    pub fn tick(&mut self) -> Result<(), CompatError> {
        self.0 = self
            .0
            .checked_sub(1)
            .ok_or_else(|| CompatError("type comparison too complex".into()))?;
        Ok(())
    }
}

/// The name without its `___flavor` suffix: the part before the last
/// `X___Y` separator where X and Y are not underscores.
pub(crate) fn essential_name(name: &str) -> &str {
    let b = name.as_bytes();
    let n = b.len();
    if n < 5 {
        return name;
    }
    for i in (0..=n - 5).rev() {
        if b[i] != b'_'
            && b[i + 1] == b'_'
            && b[i + 2] == b'_'
            && b[i + 3] == b'_'
            && b[i + 4] != b'_'
        {
            return &name[..i + 1];
        }
    }
    name
}

/// `btf_kind_core_compat`: same kind, or both enums (32 or 64 bit).
pub(crate) fn kind_compat(a: &Type, b: &Type) -> bool {
    a.kind() == b.kind() || (is_enum(a) && is_enum(b))
}

pub(crate) fn is_enum(t: &Type) -> bool {
    matches!(t, Type::Enum(_) | Type::Enum64(_))
}

pub(crate) fn as_enum(t: &Type) -> Option<&Enum> {
    match t {
        Type::Enum(e) | Type::Enum64(e) => Some(e),
        _ => None,
    }
}

/// Follows modifiers and typedefs; an error for broken references.
pub(crate) fn skip(btf: &Btf, id: TypeId) -> Result<(TypeId, &Type), CompatError> {
    let rid = btf
        .resolve(id)
        .map_err(|e| CompatError(format!("type [{id}]: {e}")))?;
    let t = btf
        .type_by_id(rid)
        .ok_or_else(|| CompatError(format!("type [{rid}] does not exist")))?;
    Ok((rid, t))
}

fn raw(btf: &Btf, id: TypeId) -> Result<&Type, CompatError> {
    btf.type_by_id(id)
        .ok_or_else(|| CompatError(format!("type [{id}] does not exist")))
}

fn name<'b>(btf: &'b Btf, t: &Type) -> &'b str {
    btf.name_by_offset(t.name_off()).unwrap_or("")
}

fn int_offset(t: &Type) -> u8 {
    match t {
        Type::Int(i) => i.bit_offset,
        _ => 0,
    }
}

/// `bpf_core_fields_are_compat`: can a field of local type `lid` be read
/// as target type `tid`?
pub(crate) fn fields_compat(
    lb: &Btf,
    mut lid: TypeId,
    tb: &Btf,
    mut tid: TypeId,
    budget: &mut Budget,
) -> Res {
    for _ in 0..MAX_DEPTH {
        budget.tick()?;
        let (_, lt) = skip(lb, lid)?;
        let (_, tt) = skip(tb, tid)?;
        if lt.members().is_some() && tt.members().is_some() {
            return Ok(true);
        }
        if !kind_compat(lt, tt) {
            return Ok(false);
        }
        match (lt, tt) {
            (Type::Ptr(_), _) | (Type::Float(_), _) => return Ok(true),
            (Type::Fwd(_) | Type::Enum(_) | Type::Enum64(_), _) => {
                let (ln, tn) = (essential_name(name(lb, lt)), essential_name(name(tb, tt)));
                return Ok(ln.is_empty() || tn.is_empty() || ln == tn);
            }
            (Type::Int(_), _) => return Ok(int_offset(lt) == 0 && int_offset(tt) == 0),
            (Type::Array(la), Type::Array(ta)) => {
                lid = la.elem_type;
                tid = ta.elem_type;
            }
            _ => return Ok(false),
        }
    }
    Err(CompatError("array nesting too deep".into()))
}

/// `bpf_core_types_are_compat`, used by type-based relocations.
pub(crate) fn types_compat(
    lb: &Btf,
    lid: TypeId,
    tb: &Btf,
    tid: TypeId,
    budget: &mut Budget,
) -> Res {
    types_compat_level(lb, lid, tb, tid, MAX_DEPTH, budget)
}

fn types_compat_level(
    lb: &Btf,
    mut lid: TypeId,
    tb: &Btf,
    mut tid: TypeId,
    level: i32,
    budget: &mut Budget,
) -> Res {
    if !kind_compat(raw(lb, lid)?, raw(tb, tid)?) {
        return Ok(false);
    }
    for _ in 0..MAX_DEPTH {
        budget.tick()?;
        let (_, lt) = skip(lb, lid)?;
        let (_, tt) = skip(tb, tid)?;
        if !kind_compat(lt, tt) {
            return Ok(false);
        }
        match (lt, tt) {
            (Type::Void | Type::Struct(_) | Type::Union(_), _)
            | (Type::Enum(_) | Type::Enum64(_) | Type::Fwd(_), _) => return Ok(true),
            (Type::Int(_), _) => return Ok(int_offset(lt) == 0 && int_offset(tt) == 0),
            (Type::Ptr(lp), Type::Ptr(tp)) => {
                lid = lp.type_id;
                tid = tp.type_id;
            }
            (Type::Array(la), Type::Array(ta)) => {
                lid = la.elem_type;
                tid = ta.elem_type;
            }
            (Type::FuncProto(lf), Type::FuncProto(tf)) => {
                if lf.params.len() != tf.params.len() {
                    return Ok(false);
                }
                for (lp, tp) in lf.params.iter().zip(&tf.params) {
                    if level <= 0 {
                        return Err(CompatError("function prototypes nest too deep".into()));
                    }
                    let (lpi, _) = skip(lb, lp.type_id)?;
                    let (tpi, _) = skip(tb, tp.type_id)?;
                    if !types_compat_level(lb, lpi, tb, tpi, level - 1, budget)? {
                        return Ok(false);
                    }
                }
                lid = skip(lb, lf.ret_type)?.0;
                tid = skip(tb, tf.ret_type)?.0;
            }
            _ => return Ok(false),
        }
    }
    Err(CompatError("type chain too deep".into()))
}

/// `bpf_core_names_match`: essential names equal; an anonymous target
/// matches only an anonymous local.
fn names_match(lb: &Btf, lname_off: u32, tb: &Btf, tname_off: u32) -> bool {
    let ln = lb.name_by_offset(lname_off).unwrap_or("");
    let tn = tb.name_by_offset(tname_off).unwrap_or("");
    if tn.is_empty() {
        return ln.is_empty();
    }
    essential_name(ln) == essential_name(tn)
}

/// `bpf_core_types_match`, used by `TYPE_MATCHES`.
pub(crate) fn types_match(
    lb: &Btf,
    lid: TypeId,
    tb: &Btf,
    tid: TypeId,
    budget: &mut Budget,
) -> Res {
    types_match_level(lb, lid, tb, tid, false, MAX_DEPTH, budget)
}

fn types_match_level(
    lb: &Btf,
    mut lid: TypeId,
    tb: &Btf,
    mut tid: TypeId,
    mut behind_ptr: bool,
    level: i32,
    budget: &mut Budget,
) -> Res {
    if level <= 0 {
        return Err(CompatError("types nest too deep".into()));
    }
    for _ in 0..MAX_DEPTH {
        budget.tick()?;
        let (_, lt) = skip(lb, lid)?;
        let (_, tt) = skip(tb, tid)?;
        if !names_match(lb, lt.name_off(), tb, tt.name_off()) {
            return Ok(false);
        }
        match lt {
            Type::Void => return Ok(matches!(tt, Type::Void)),
            Type::Fwd(lf) => {
                return Ok(match tt {
                    Type::Fwd(tf) => lf.kind == tf.kind,
                    Type::Struct(_) if behind_ptr => lf.kind == btf::FwdKind::Struct,
                    Type::Union(_) if behind_ptr => lf.kind == btf::FwdKind::Union,
                    _ => false,
                })
            }
            Type::Enum(le) | Type::Enum64(le) => {
                return Ok(match as_enum(tt) {
                    Some(te) => enums_match(lb, le, tb, te),
                    None => false,
                })
            }
            Type::Struct(lc) | Type::Union(lc) => {
                let same = lt.kind() == tt.kind();
                if behind_ptr {
                    return Ok(same
                        || matches!((lt, tt), (Type::Struct(_), Type::Fwd(f)) if f.kind == btf::FwdKind::Struct)
                        || matches!((lt, tt), (Type::Union(_), Type::Fwd(f)) if f.kind == btf::FwdKind::Union));
                }
                if !same {
                    return Ok(false);
                }
                let tc = tt.members().unwrap_or(&[]);
                if lc.members.len() > tc.len() {
                    return Ok(false);
                }
                for lm in &lc.members {
                    let mut matched = false;
                    for tm in tc {
                        budget.tick()?;
                        if !names_match(lb, lm.name_off, tb, tm.name_off) {
                            continue;
                        }
                        if types_match_level(
                            lb,
                            lm.type_id,
                            tb,
                            tm.type_id,
                            behind_ptr,
                            level - 1,
                            budget,
                        )? {
                            matched = true;
                            break;
                        }
                    }
                    if !matched {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            Type::Int(li) => {
                return Ok(match tt {
                    Type::Int(ti) => {
                        li.size == ti.size
                            && (li.encoding == btf::IntEncoding::Signed)
                                == (ti.encoding == btf::IntEncoding::Signed)
                    }
                    _ => false,
                })
            }
            Type::Ptr(lp) => {
                let Type::Ptr(tp) = tt else { return Ok(false) };
                behind_ptr = true;
                lid = lp.type_id;
                tid = tp.type_id;
            }
            Type::Array(la) => {
                let Type::Array(ta) = tt else {
                    return Ok(false);
                };
                if la.nelems != ta.nelems {
                    return Ok(false);
                }
                lid = la.elem_type;
                tid = ta.elem_type;
            }
            Type::FuncProto(lf) => {
                let Type::FuncProto(tf) = tt else {
                    return Ok(false);
                };
                if lf.params.len() != tf.params.len() {
                    return Ok(false);
                }
                for (lp, tp) in lf.params.iter().zip(&tf.params) {
                    if !types_match_level(
                        lb,
                        lp.type_id,
                        tb,
                        tp.type_id,
                        behind_ptr,
                        level - 1,
                        budget,
                    )? {
                        return Ok(false);
                    }
                }
                lid = lf.ret_type;
                tid = tf.ret_type;
            }
            _ => return Ok(false),
        }
    }
    Err(CompatError("type chain too deep".into()))
}

/// `bpf_core_enums_match`: same size, every local enumerator name exists
/// in the target (values may differ).
fn enums_match(lb: &Btf, le: &Enum, tb: &Btf, te: &Enum) -> bool {
    le.size == te.size
        && le.values.len() <= te.values.len()
        && le.values.iter().all(|lv| {
            te.values
                .iter()
                .any(|tv| names_match(lb, lv.name_off, tb, tv.name_off))
        })
}

#[cfg(test)]
mod tests {
    use super::essential_name as e;

    #[test]
    fn essential_names() {
        assert_eq!(e("task_struct"), "task_struct");
        assert_eq!(e("task_struct___v2"), "task_struct");
        assert_eq!(e("a___b___c"), "a___b");
        assert_eq!(e("a____b"), "a____b");
        assert_eq!(e("___x"), "___x");
        assert_eq!(e("x___"), "x___");
        assert_eq!(e(""), "");
        assert_eq!(e("ab"), "ab");
    }
}

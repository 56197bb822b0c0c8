//! Access specifications: what a CO-RE relocation points at.
//!
//! The access string `0:1:2:3` is a path from the root type: the first
//! number indexes the root as an array (`&p[0]`), later ones pick struct
//! members by index or array elements. The *low-level* spec keeps every
//! step (anonymous struct members included); the *high-level* one keeps
//! only named members and array indices, which is what can be looked for
//! in another BTF, by name. libbpf's `bpf_core_parse_spec` and
//! `bpf_core_spec_match`.

use super::compat::{self, essential_name, skip, Budget, CompatError};
use btf::{Btf, CoreReloKind, Type, TypeId};

/// `BPF_CORE_SPEC_MAX_LEN`.
const MAX_LEN: usize = 64;

/// One high-level step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accessor {
    /// The struct/enum holding the member (named steps) or the element
    /// type (array steps).
    pub type_id: TypeId,
    pub idx: u32,
    /// Member or enumerator name; `None` for array indices.
    pub name: Option<String>,
}

/// A parsed or matched specification.
#[derive(Debug, Clone)]
pub(crate) struct Spec<'b> {
    pub btf: &'b Btf,
    pub root_type_id: TypeId,
    pub raw: Vec<u32>,
    pub acc: Vec<Accessor>,
    pub bit_offset: u64,
}

pub(crate) fn is_field_based(k: CoreReloKind) -> bool {
    use CoreReloKind::*;
    matches!(
        k,
        FieldByteOffset
            | FieldByteSize
            | FieldExists
            | FieldSigned
            | FieldLshiftU64
            | FieldRshiftU64
    )
}

pub(crate) fn is_type_based(k: CoreReloKind) -> bool {
    use CoreReloKind::*;
    matches!(
        k,
        TypeIdLocal | TypeIdTarget | TypeExists | TypeMatches | TypeSize
    )
}

pub(crate) fn is_enumval_based(k: CoreReloKind) -> bool {
    matches!(k, CoreReloKind::EnumvalExists | CoreReloKind::EnumvalValue)
}

fn err(s: impl Into<String>) -> CompatError {
    CompatError(s.into())
}

fn size(btf: &Btf, id: TypeId) -> Result<u64, CompatError> {
    btf.size_of(id)
        .map_err(|e| err(format!("size of [{id}]: {e}")))
}

/// `bit_offset += idx * size * 8`, checked.
fn add_elems(bit_offset: u64, idx: u32, sz: u64) -> Result<u64, CompatError> {
    u64::from(idx)
        .checked_mul(sz)
        .and_then(|b| b.checked_mul(8))
        .and_then(|b| b.checked_add(bit_offset))
        .ok_or_else(|| err("offset overflows"))
}

/// A member of the struct at `acc` is the last one and `arr` has no
/// elements: a flexible array, which any index may address.
fn is_flex(btf: &Btf, acc: Option<&Accessor>, nelems: u32) -> bool {
    let Some(acc) = acc else { return false };
    if acc.name.is_none() || nelems > 0 {
        return false;
    }
    let n = btf
        .type_by_id(acc.type_id)
        .and_then(Type::members)
        .map_or(0, <[_]>::len);
    (acc.idx as usize) + 1 == n
}

/// Parses `access` on local type `type_id` for relocation `kind`.
pub(crate) fn parse<'b>(
    btf: &'b Btf,
    type_id: TypeId,
    access: &str,
    kind: CoreReloKind,
) -> Result<Spec<'b>, CompatError> {
    if access.is_empty() || access.starts_with(':') {
        return Err(err(format!("bad access string '{access}'")));
    }
    let mut spec = Spec {
        btf,
        root_type_id: type_id,
        raw: Vec::new(),
        acc: Vec::new(),
        bit_offset: 0,
    };
    if is_type_based(kind) {
        if access != "0" {
            return Err(err(format!(
                "type relocation with access string '{access}'"
            )));
        }
        return Ok(spec);
    }
    for part in access.split(':') {
        if spec.raw.len() == MAX_LEN {
            return Err(err("access string too long"));
        }
        let v: u32 = part
            .parse()
            .map_err(|_| err(format!("bad access string '{access}'")))?;
        spec.raw.push(v);
    }
    let (mut id, t) = skip(btf, type_id)?;
    let first = spec.raw[0];
    if is_enumval_based(kind) {
        let e = compat::as_enum(t).ok_or_else(|| err("enum relocation on a non-enum"))?;
        let v = e
            .values
            .get(first as usize)
            .filter(|_| spec.raw.len() == 1)
            .ok_or_else(|| err(format!("bad enumerator access '{access}'")))?;
        spec.acc.push(Accessor {
            type_id: id,
            idx: first,
            name: Some(btf.name_by_offset(v.name_off).unwrap_or("").to_string()),
        });
        return Ok(spec);
    }
    if !is_field_based(kind) {
        return Err(err("unknown relocation kind"));
    }
    spec.acc.push(Accessor {
        type_id: id,
        idx: first,
        name: None,
    });
    spec.bit_offset = add_elems(0, first, size(btf, id)?)?;
    for i in 1..spec.raw.len() {
        let idx = spec.raw[i];
        let (cur, t) = skip(btf, id)?;
        id = cur;
        match t {
            Type::Struct(c) | Type::Union(c) => {
                let m = c
                    .members
                    .get(idx as usize)
                    .ok_or_else(|| err(format!("member index {idx} out of range")))?;
                spec.bit_offset += u64::from(m.bit_offset);
                if m.name_off != 0 {
                    let name = btf.name_by_offset(m.name_off).unwrap_or("");
                    if name.is_empty() {
                        return Err(err("member has an unreadable name"));
                    }
                    spec.acc.push(Accessor {
                        type_id: id,
                        idx,
                        name: Some(name.to_string()),
                    });
                }
                id = m.type_id;
            }
            Type::Array(a) => {
                let flex = is_flex(btf, spec.acc.last(), a.nelems);
                let (elem, _) = skip(btf, a.elem_type)?;
                if !flex && idx >= a.nelems {
                    return Err(err(format!("array index {idx} out of range")));
                }
                id = elem;
                spec.acc.push(Accessor {
                    type_id: id,
                    idx,
                    name: None,
                });
                spec.bit_offset = add_elems(spec.bit_offset, idx, size(btf, id)?)?;
            }
            other => {
                return Err(err(format!(
                    "access step {i} reaches a {} type [{id}]",
                    other.kind()
                )))
            }
        }
    }
    Ok(spec)
}

/// Tries to match `local` against target type `targ_id`; `Ok(None)` when
/// it does not match.
pub(crate) fn matches<'t>(
    local: &Spec<'_>,
    kind: CoreReloKind,
    tb: &'t Btf,
    targ_id: TypeId,
    budget: &mut Budget,
) -> Result<Option<Spec<'t>>, CompatError> {
    let mut ts = Spec {
        btf: tb,
        root_type_id: targ_id,
        raw: Vec::new(),
        acc: Vec::new(),
        bit_offset: 0,
    };
    if is_type_based(kind) {
        let ok = if kind == CoreReloKind::TypeMatches {
            compat::types_match(local.btf, local.root_type_id, tb, targ_id, budget)?
        } else {
            compat::types_compat(local.btf, local.root_type_id, tb, targ_id, budget)?
        };
        return Ok(ok.then_some(ts));
    }
    if is_enumval_based(kind) {
        let (tid, tt) = skip(tb, targ_id)?;
        let Some(te) = compat::as_enum(tt) else {
            return Ok(None);
        };
        let want = essential_name(local.acc[0].name.as_deref().unwrap_or(""));
        for (i, v) in te.values.iter().enumerate() {
            budget.tick()?;
            let n = tb.name_by_offset(v.name_off).unwrap_or("");
            if essential_name(n) == want {
                ts.acc.push(Accessor {
                    type_id: tid,
                    idx: i as u32,
                    name: Some(n.to_string()),
                });
                ts.raw.push(i as u32);
                return Ok(Some(ts));
            }
        }
        return Ok(None);
    }
    let mut tid = targ_id;
    for (i, la) in local.acc.iter().enumerate() {
        let (cur, tt) = skip(tb, tid)?;
        tid = cur;
        if la.name.is_some() {
            match match_member(local.btf, la, tb, tid, &mut ts, 0, budget)? {
                Some(next) => tid = next,
                None => return Ok(None),
            }
            continue;
        }
        if i > 0 {
            let Type::Array(a) = tt else { return Ok(None) };
            let flex = is_flex(tb, ts.acc.last(), a.nelems);
            if !flex && la.idx >= a.nelems {
                return Ok(None);
            }
            tid = skip(tb, a.elem_type)?.0;
        }
        if ts.raw.len() == MAX_LEN {
            return Err(err("target access path too long"));
        }
        ts.acc.push(Accessor {
            type_id: tid,
            idx: la.idx,
            name: None,
        });
        ts.raw.push(la.idx);
        ts.bit_offset = add_elems(ts.bit_offset, la.idx, size(tb, tid)?)?;
    }
    Ok(Some(ts))
}

/// `bpf_core_match_member`: finds the member named like local accessor
/// `la` in target composite `tid`, descending into anonymous members;
/// returns the member's type on success.
fn match_member(
    lb: &Btf,
    la: &Accessor,
    tb: &Btf,
    tid: TypeId,
    ts: &mut Spec<'_>,
    depth: usize,
    budget: &mut Budget,
) -> Result<Option<TypeId>, CompatError> {
    let (tid, tt) = skip(tb, tid)?;
    let Some(tmembers) = tt.members() else {
        return Ok(None);
    };
    let lmember = lb
        .type_by_id(la.type_id)
        .and_then(Type::members)
        .and_then(|m| m.get(la.idx as usize))
        .ok_or_else(|| err("local accessor is not a member"))?;
    let lname = la.name.as_deref().unwrap_or("");
    for (i, m) in tmembers.iter().enumerate() {
        budget.tick()?;
        if ts.raw.len() == MAX_LEN || depth > MAX_LEN {
            return Err(err("target struct nesting too deep"));
        }
        let bo = u64::from(m.bit_offset);
        ts.bit_offset += bo;
        ts.raw.push(i as u32);
        let tname = tb.name_by_offset(m.name_off).unwrap_or("");
        if tname.is_empty() {
            if let Some(found) = match_member(lb, la, tb, m.type_id, ts, depth + 1, budget)? {
                return Ok(Some(found));
            }
        } else if tname == lname {
            ts.acc.push(Accessor {
                type_id: tid,
                idx: i as u32,
                name: Some(tname.to_string()),
            });
            if compat::fields_compat(lb, lmember.type_id, tb, m.type_id, budget)? {
                return Ok(Some(m.type_id));
            }
            ts.acc.pop();
            // libbpf stops at the first member with the name.
            ts.bit_offset -= bo;
            ts.raw.pop();
            return Ok(None);
        }
        ts.bit_offset -= bo;
        ts.raw.pop();
    }
    Ok(None)
}

//! CO-RE ("compile once, run everywhere") relocations: clang records, in
//! `.BTF.ext`, every instruction whose immediate or offset encodes a fact
//! about a type — a field's offset or size, whether a field, type or
//! enumerator exists, a type's size or id — so that a loader can recompute
//! the fact against the types of the kernel the program will run on (the
//! *target* BTF) and patch the instruction.
//!
//! For each relocation this module, like libbpf's `bpf_core_calc_relo_insn`:
//! 1. parses the local access specification ([`spec::parse`]);
//! 2. collects target candidates: types of a compatible kind whose
//!    *essential* name (without `___flavor`) equals the local one;
//! 3. matches the specification against every candidate; all matches must
//!    agree on the result, else the relocation is ambiguous (an error);
//! 4. patches the instruction, after checking it holds the value the
//!    compiler computed from the local types ([`calc::patch`]).
//!
//! A relocation no candidate satisfies is not an error: its instruction
//! becomes `call 0xbad2310` ([`uapi::POISON_HELPER`]), which the verifier
//! rejects only if the instruction is reachable — programs guard such code
//! with `bpf_core_field_exists()` and similar checks.

mod calc;
mod compat;
mod spec;

use crate::error::{ObjectError, Result};
use crate::funcs::Func;
use btf::{Btf, BtfExt, CoreReloKind, TypeId};
use std::collections::HashMap;

/// Which types CO-RE relocations are resolved against.
#[derive(Debug, Clone, Copy, Default)]
pub enum CoreTarget<'a> {
    /// Leave instructions as compiled (each relocation is reported as
    /// [`CoreOutcome::NotApplied`]).
    None,
    /// The program-context types oxbpf ships ([`builtin_btf`]).
    #[default]
    Builtin,
    /// A target BTF: `/sys/kernel/btf/vmlinux`, or any BTF file.
    Btf(&'a Btf),
}

/// The BTF of the program contexts oxbpf implements (`struct xdp_md`,
/// `struct __sk_buff`, `struct bpf_sock`, ...), compiled from
/// `data/contexts.bpf.c` with the uapi headers oxbpf follows.
pub fn builtin_btf() -> &'static Btf {
    static BUILTIN: std::sync::OnceLock<Btf> = std::sync::OnceLock::new();
    BUILTIN.get_or_init(|| {
        Btf::parse(include_bytes!("../../data/contexts.btf")).expect("shipped BTF parses")
    })
}

/// One CO-RE relocation of a program and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreRelocation {
    /// The instruction (index in the program's linked `insns`).
    pub insn: usize,
    pub kind: CoreReloKind,
    /// The local (object BTF) root type and its name.
    pub type_id: TypeId,
    pub type_name: String,
    /// The access string (`0:1:2`).
    pub access: String,
    pub outcome: CoreOutcome,
}

/// What resolving a relocation did to its instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreOutcome {
    /// No target was given; the instruction is as compiled.
    NotApplied,
    /// The immediate or offset went from `old` to `new`.
    Patched { old: u64, new: u64 },
    /// Unsatisfiable: replaced by `call 0xbad2310`.
    Poisoned,
}

/// libbpf's name for a relocation kind, for messages.
pub fn kind_name(k: CoreReloKind) -> &'static str {
    use CoreReloKind::*;
    match k {
        FieldByteOffset => "byte_off",
        FieldByteSize => "byte_sz",
        FieldExists => "field_exists",
        FieldSigned => "signed",
        FieldLshiftU64 => "lshift_u64",
        FieldRshiftU64 => "rshift_u64",
        TypeIdLocal => "local_type_id",
        TypeIdTarget => "target_type_id",
        TypeExists => "type_exists",
        TypeMatches => "type_matches",
        TypeSize => "type_size",
        EnumvalExists => "enumval_exists",
        EnumvalValue => "enumval_value",
        Unknown(_) => "unknown",
    }
}

/// Applies every CO-RE relocation of `.BTF.ext` to the functions' code;
/// returns, per function, the relocations with function-relative
/// instruction indices.
pub(crate) fn apply(
    funcs: &mut [Func],
    sections: &[(usize, String)],
    local: &Btf,
    ext: &BtfExt,
    target: CoreTarget<'_>,
) -> Result<Vec<Vec<CoreRelocation>>> {
    let mut out = vec![Vec::new(); funcs.len()];
    let target = match target {
        CoreTarget::None => None,
        CoreTarget::Builtin => Some(builtin_btf()),
        CoreTarget::Btf(b) => Some(b),
    };
    let mut cands: HashMap<TypeId, Vec<TypeId>> = HashMap::new();
    let mut owned_index: Option<HashMap<&str, Vec<TypeId>>> = None;
    for sec in &ext.core_relos {
        // libbpf maps the name to the first ELF section called so.
        let Some(&(shndx, _)) = sections.iter().find(|(_, n)| *n == sec.name) else {
            continue;
        };
        for (relo_idx, r) in sec.records.iter().enumerate() {
            let bad = |insn: usize, why: String| ObjectError::Core {
                program: sec.name.clone(),
                insn,
                relo: relo_idx,
                kind: kind_name(r.kind),
                why,
            };
            if r.insn_off % 8 != 0 {
                return Err(bad(
                    r.insn_off as usize / 8,
                    "insn_off not instruction aligned".into(),
                ));
            }
            let idx = (r.insn_off / 8) as usize;
            // Code of an overridden weak function: libbpf skips it too.
            let Some(fi) = crate::funcs::find(funcs, shndx, idx) else {
                continue;
            };
            let f = &mut funcs[fi];
            let local_idx = idx - f.insn_off;
            if let CoreReloKind::Unknown(k) = r.kind {
                return Err(ObjectError::unsupported(format!(
                    "program '{}' insn {local_idx}: CO-RE relocation kind {k}",
                    f.name
                )));
            }
            let bad = |why: String| ObjectError::Core {
                program: f.name.clone(),
                insn: local_idx,
                relo: relo_idx,
                kind: kind_name(r.kind),
                why,
            };
            let type_name = local.type_name(r.type_id).unwrap_or("").to_string();
            let outcome = match target {
                None => CoreOutcome::NotApplied,
                Some(tb) => {
                    let by_name = match shared_index(tb) {
                        Some(i) => i,
                        None => owned_index.get_or_insert_with(|| name_index(tb)),
                    };
                    let ctx = Resolve { local, tb, by_name };
                    let res = ctx
                        .resolve(r.type_id, &r.access_str, r.kind, &type_name, &mut cands)
                        .map_err(&bad)?;
                    match calc::patch(&mut f.insns, local_idx, &res).map_err(&bad)? {
                        calc::Patched::Value { old, new } => CoreOutcome::Patched { old, new },
                        calc::Patched::Poisoned => CoreOutcome::Poisoned,
                    }
                }
            };
            out[fi].push(CoreRelocation {
                insn: local_idx,
                kind: r.kind,
                type_id: r.type_id,
                type_name,
                access: r.access_str.clone(),
                outcome,
            });
        }
    }
    Ok(out)
}

/// The name index of the process-wide targets (built-in types, vmlinux),
/// built once: indexing vmlinux's types costs more than relocating.
fn shared_index(tb: &Btf) -> Option<&'static HashMap<&'static str, Vec<TypeId>>> {
    type Index = HashMap<&'static str, Vec<TypeId>>;
    static BUILTIN: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
    static VMLINUX: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
    let builtin = builtin_btf();
    if std::ptr::eq(tb, builtin) {
        return Some(BUILTIN.get_or_init(|| name_index(builtin)));
    }
    let vmlinux = crate::object::vmlinux_if_loaded()?;
    std::ptr::eq(tb, vmlinux).then(|| VMLINUX.get_or_init(|| name_index(vmlinux)))
}

/// The target's named types by essential name, in id order.
fn name_index(tb: &Btf) -> HashMap<&str, Vec<TypeId>> {
    let mut m: HashMap<&str, Vec<TypeId>> = HashMap::new();
    for (id, t) in tb.types() {
        let n = tb.name_by_offset(t.name_off()).unwrap_or("");
        if !n.is_empty() {
            m.entry(compat::essential_name(n)).or_default().push(id);
        }
    }
    m
}

/// The BTFs one relocation is resolved with.
struct Resolve<'r> {
    local: &'r Btf,
    tb: &'r Btf,
    by_name: &'r HashMap<&'r str, Vec<TypeId>>,
}

impl Resolve<'_> {
    /// `bpf_core_calc_relo_insn`: the value to patch in, over all candidates.
    fn resolve(
        &self,
        type_id: TypeId,
        access: &str,
        kind: CoreReloKind,
        type_name: &str,
        cache: &mut HashMap<TypeId, Vec<TypeId>>,
    ) -> std::result::Result<calc::Res, String> {
        let (local, tb) = (self.local, self.tb);
        let lspec = spec::parse(local, type_id, access, kind)
            .map_err(|e| format!("parsing [{type_id}] {type_name} + {access}: {}", e.0))?;
        if kind == CoreReloKind::TypeIdLocal {
            return Ok(calc::Res {
                orig_val: u64::from(type_id),
                new_val: u64::from(type_id),
                ..calc::Res::default()
            });
        }
        if type_name.is_empty() {
            return Err("relocations against anonymous types are not supported".into());
        }
        let cands = cache
            .entry(type_id)
            .or_insert_with(|| self.candidates(type_id));
        let mut kept = Vec::new();
        let mut best: Option<(calc::Res, u64)> = None;
        let mut budget = compat::Budget(compat::Budget::PER_RELOCATION);
        for &c in cands.iter() {
            let Some(tspec) = spec::matches(&lspec, kind, tb, c, &mut budget).map_err(|e| e.0)?
            else {
                continue;
            };
            let res = calc::calc(kind, &lspec, Some(&tspec))?;
            match &best {
                None => best = Some((res, tspec.bit_offset)),
                Some((b, off)) => {
                    if tspec.bit_offset != *off {
                        return Err(format!(
                            "field offset ambiguity: {} != {off} bits",
                            tspec.bit_offset
                        ));
                    }
                    if res.poison != b.poison || res.new_val != b.new_val {
                        return Err(format!(
                            "relocation decision ambiguity: {} != {}",
                            res.new_val, b.new_val
                        ));
                    }
                }
            }
            kept.push(c);
        }
        if let Some((res, _)) = best {
            // libbpf keeps only the candidates that matched for later
            // relocations of the same type.
            *cands = kept;
            return Ok(res);
        }
        calc::calc(kind, &lspec, None)
    }

    /// `bpf_core_add_cands`: target types of a compatible kind with the same
    /// essential name.
    fn candidates(&self, type_id: TypeId) -> Vec<TypeId> {
        let Some(lt) = self.local.type_by_id(type_id) else {
            return Vec::new();
        };
        let lname = compat::essential_name(self.local.name_by_offset(lt.name_off()).unwrap_or(""));
        self.by_name
            .get(lname)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&id| {
                self.tb
                    .type_by_id(id)
                    .is_some_and(|t| compat::kind_compat(t, lt))
            })
            .collect()
    }
}

//! Code relocations: libbpf's `bpf_object__collect_prog_relos` and
//! `bpf_program__record_reloc`, then `bpf_object__relocate_data`.
//!
//! clang emits `R_BPF_64_64` on the `lddw` that loads a map, a global
//! variable or a function's address, and `R_BPF_64_32` on calls to
//! functions in other sections (or to global functions). libbpf does not
//! look at the relocation type, only at the instruction and at where the
//! symbol lives; we do the same, and refuse relocation types that are not
//! BPF ones at all. Map and data references are patched here, in each
//! function's own copy of its code; calls and function addresses are kept
//! for [`crate::link`], which knows where each subprogram lands.

use crate::elf::{self, Elf, Symbol, SHN_LORESERVE, STB_GLOBAL, STB_LOCAL, STT_FUNC, STT_SECTION};
use crate::error::{ObjectError, Result};
use crate::externs::Ext;
use crate::funcs::{self, Func};
use crate::maps::Maps;
use crate::spec::{MapRef, MapRefKind};
use std::collections::HashMap;
use uapi::opcode::{
    BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, CALL, LDDW,
};

/// The helper number libbpf writes into a call to a kfunc it could not
/// resolve, plus the extern's index (`POISON_CALL_KFUNC_BASE`).
pub const POISON_CALL_KFUNC_BASE: i32 = 2_002_000_000;

/// A relocation the linker resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeReloc {
    /// A call to the `.text` symbol at byte offset `sym_off`.
    Call { sym_off: u64 },
    /// An `lddw` of the address of the `.text` function at `sym_off`.
    SubprogAddr { sym_off: u64 },
}

/// What relocation found in one function.
#[derive(Debug, Clone, Default)]
pub(crate) struct FuncRelocs {
    /// (instruction index in the function, relocation), sorted.
    pub code: Vec<(usize, CodeReloc)>,
    /// Map references, instruction indices relative to the function.
    pub map_refs: Vec<MapRef>,
}

/// Processes every relocation of every code section; returns per-function
/// results, parallel to `funcs`.
pub(crate) fn relocate(
    elf: &Elf<'_>,
    funcs: &mut [Func],
    maps: &Maps,
    exts: &[Ext],
) -> Result<Vec<FuncRelocs>> {
    let ctx = Ctx {
        elf,
        maps,
        exts,
        ext_by_sym: exts.iter().enumerate().map(|(i, e)| (e.sym, i)).collect(),
        text: elf.section_by_name(".text").map(|s| s.index),
    };
    let mut out = vec![FuncRelocs::default(); funcs.len()];
    for rs in &elf.rels {
        let Some(target) = elf.sections.get(rs.target) else {
            continue;
        };
        if !target.is_exec() {
            continue;
        }
        let rel_name = elf.section_name(rs.index);
        for (index, rel) in rs.entries.iter().enumerate() {
            let bad = |why: String| ObjectError::BadRelocation {
                section: rel_name.clone(),
                index,
                why,
            };
            if !matches!(
                rel.r_type,
                elf::R_BPF_64_64
                    | elf::R_BPF_64_ABS64
                    | elf::R_BPF_64_ABS32
                    | elf::R_BPF_64_NODYLD32
                    | elf::R_BPF_64_32
            ) {
                return Err(bad(format!("unknown relocation type {}", rel.r_type)));
            }
            let sym = elf
                .symbols
                .get(rel.sym as usize)
                .ok_or_else(|| bad(format!("symbol #{} not found", rel.sym)))?;
            if usize::from(sym.shndx) >= elf.sections.len() && sym.shndx < SHN_LORESERVE {
                return Err(bad(format!("symbol #{} points to no section", rel.sym)));
            }
            if rel.offset % 8 != 0 || rel.offset >= target.data.len() as u64 {
                return Err(bad(format!("invalid offset {:#x}", rel.offset)));
            }
            let idx = (rel.offset / 8) as usize;
            // No function: an overridden weak function's code (libbpf skips).
            let Some(fi) = funcs::find(funcs, target.index, idx) else {
                continue;
            };
            let local = idx - funcs[fi].insn_off;
            record(&ctx, &mut funcs[fi], &mut out[fi], local, sym)?;
        }
    }
    for r in &mut out {
        r.code.sort_by_key(|c| c.0);
    }
    Ok(out)
}

struct Ctx<'e, 'a> {
    elf: &'e Elf<'a>,
    maps: &'e Maps,
    exts: &'e [Ext],
    ext_by_sym: HashMap<usize, usize>,
    text: Option<usize>,
}

/// libbpf's `sym_is_subprog`: a `.text` section symbol (static function)
/// or a global function of `.text`.
fn is_subprog(sym: &Symbol<'_>, text: Option<usize>) -> bool {
    sym.section().is_some()
        && sym.section() == text
        && ((sym.bind == STB_LOCAL && sym.kind == STT_SECTION)
            || (sym.bind == STB_GLOBAL && sym.kind == STT_FUNC))
}

fn record(
    ctx: &Ctx<'_, '_>,
    f: &mut Func,
    out: &mut FuncRelocs,
    local: usize,
    sym: &Symbol<'_>,
) -> Result<()> {
    let elf = ctx.elf;
    let name = elf.symbol_display_name(sym);
    let code = f.insns[local].code;
    let target_err = |why| ObjectError::BadRelocationTarget {
        program: f.name.clone(),
        insn: local,
        symbol: name.clone(),
        code,
        why,
    };
    let is_call = code == CALL;
    if !is_call && code != LDDW {
        return Err(target_err("only calls and lddw can be relocated"));
    }
    if !is_call && local + 1 >= f.insns.len() {
        return Err(target_err("lddw truncated by the end of the function"));
    }
    if sym.is_extern() {
        let ext_idx =
            ctx.ext_by_sym
                .get(&sym.index)
                .copied()
                .ok_or_else(|| ObjectError::Extern {
                    name: name.clone(),
                    why: "relocation against an extern that has no BTF description".into(),
                })?;
        return extern_reloc(ctx, f, out, local, ext_idx);
    }
    if is_call {
        if f.insns[local].src != BPF_PSEUDO_CALL {
            return Err(target_err("call relocation on a helper call"));
        }
        if sym.section().is_none() || sym.section() != ctx.text {
            return Err(target_err("call to a function outside .text"));
        }
        if !sym.value.is_multiple_of(8) {
            return Err(target_err("call target not instruction aligned"));
        }
        out.code
            .push((local, CodeReloc::Call { sym_off: sym.value }));
        return Ok(());
    }
    let Some(shndx) = sym.section() else {
        return Err(ObjectError::UnresolvedSymbol {
            program: f.name.clone(),
            insn: local,
            symbol: name,
            section: format!("special section {:#x}", sym.shndx),
        });
    };
    if is_subprog(sym, ctx.text) {
        if !sym.value.is_multiple_of(8) || f.insns[local].imm % 8 != 0 {
            return Err(target_err("function address not instruction aligned"));
        }
        // libbpf marks the lddw so that linking recognises it.
        f.insns[local].src = BPF_PSEUDO_FUNC;
        out.code
            .push((local, CodeReloc::SubprogAddr { sym_off: sym.value }));
        return Ok(());
    }
    let map_err = |why| ObjectError::BadMapReference {
        program: f.name.clone(),
        insn: local,
        symbol: name.clone(),
        section: elf.section_name(shndx),
        why,
    };
    let sec_name = elf.sections[shndx].name;
    if sec_name == ".maps" || sec_name == "maps" {
        let map = ctx
            .maps
            .find_def(shndx, sym.value)
            .ok_or_else(|| map_err("no map defined at the symbol's offset"))?;
        let insn = &mut f.insns[local];
        insn.src = BPF_PSEUDO_MAP_FD;
        insn.imm = map as i32;
        out.map_refs.push(MapRef {
            insn: local,
            map,
            kind: MapRefKind::Map,
        });
        return Ok(());
    }
    let map = ctx
        .maps
        .find_data(shndx)
        .ok_or_else(|| map_err("not a map or global data section"))?;
    // libbpf: insn[1].imm = insn[0].imm + sym_off, in C int arithmetic.
    let offset = f.insns[local].imm.wrapping_add(sym.value as i32);
    f.insns[local + 1].imm = offset;
    let insn = &mut f.insns[local];
    insn.src = BPF_PSEUDO_MAP_VALUE;
    insn.imm = map as i32;
    out.map_refs.push(MapRef {
        insn: local,
        map,
        kind: MapRefKind::Value {
            offset: offset as u32,
        },
    });
    Ok(())
}

/// `RELO_EXTERN_LD64` / `RELO_EXTERN_CALL`.
fn extern_reloc(
    ctx: &Ctx<'_, '_>,
    f: &mut Func,
    out: &mut FuncRelocs,
    local: usize,
    ext_idx: usize,
) -> Result<()> {
    let ext = &ctx.exts[ext_idx];
    if f.insns[local].code == CALL {
        // oxbpf resolves no kfunc: poison the call like an unresolved weak
        // one; a strong one is reported by `unresolved_externs`.
        let insn = &mut f.insns[local];
        *insn = isa::RawInsn::new(CALL, 0, 0, 0, POISON_CALL_KFUNC_BASE + ext_idx as i32);
        return Ok(());
    }
    match ext.kcfg {
        Some(k) => {
            let map = ctx.maps.kconfig().ok_or_else(|| ObjectError::Extern {
                name: ext.name.clone(),
                why: "no .kconfig map".into(),
            })?;
            f.insns[local].src = BPF_PSEUDO_MAP_VALUE;
            f.insns[local].imm = map as i32;
            f.insns[local + 1].imm = k.offset as i32;
            out.map_refs.push(MapRef {
                insn: local,
                map,
                kind: MapRefKind::Value { offset: k.offset },
            });
        }
        None => {
            // Unresolved ksym: address 0, as libbpf leaves a weak one.
            f.insns[local].imm = 0;
            f.insns[local + 1].imm = 0;
        }
    }
    Ok(())
}

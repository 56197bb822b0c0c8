//! Linking `.text` subprograms into each entry-point program, as libbpf's
//! `bpf_object__relocate_calls` / `bpf_object__reloc_code` do.
//!
//! Each program starts as its own code. Its calls (`call` with
//! `src_reg = BPF_PSEUDO_CALL`) and function addresses (`lddw` with
//! `BPF_PSEUDO_FUNC`) are visited in order; the first time a subprogram is
//! reached, its code is appended at the end and visited next, before the
//! rest of the caller — a depth-first, preorder walk, so subprograms land
//! where libbpf puts them. Each call's `imm` then becomes the distance to
//! where its target landed. The walk uses an explicit stack, so a long
//! call chain in a hostile file cannot overflow ours.
//!
//! `.BTF.ext` function and line info follow their code: the records of each
//! function placed are copied with `insn_off` converted from section bytes
//! to program instructions.

use crate::core::CoreRelocation;
use crate::error::{ObjectError, Result};
use crate::funcs::{self, Func};
use crate::reloc::{CodeReloc, FuncRelocs};
use crate::spec::{MapRef, Subprogram};
use btf::ext::ExtSection;
use btf::{BtfExt, FuncInfo, LineInfo};
use isa::RawInsn;
use std::collections::HashMap;
use uapi::opcode::{BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, CALL, LDDW};

/// A program's code and metadata after linking.
#[derive(Debug, Default)]
pub(crate) struct Linked {
    pub insns: Vec<RawInsn>,
    pub map_refs: Vec<MapRef>,
    pub subprograms: Vec<Subprogram>,
    pub func_info: Vec<FuncInfo>,
    pub line_info: Vec<LineInfo>,
    pub core_relos: Vec<CoreRelocation>,
}

/// Per-function inputs of linking.
pub(crate) struct Inputs<'a> {
    pub funcs: &'a [Func],
    pub relocs: &'a [FuncRelocs],
    pub core: &'a [Vec<CoreRelocation>],
    pub text: Option<usize>,
    pub ext: Option<&'a ExtIndex<'a>>,
}

/// `.BTF.ext` func and line info by code section, sorted by `insn_off`,
/// so that each function's records are found by binary search. Like
/// libbpf, only the first block of records for a section name counts.
pub(crate) struct ExtIndex<'a> {
    func: HashMap<&'a str, Vec<&'a FuncInfo>>,
    line: HashMap<&'a str, Vec<&'a LineInfo>>,
}

impl<'a> ExtIndex<'a> {
    pub fn new(ext: &'a BtfExt) -> Self {
        ExtIndex {
            func: index(&ext.func_info),
            line: index(&ext.line_info),
        }
    }
}

fn index<T: InsnOff>(secs: &[ExtSection<T>]) -> HashMap<&str, Vec<&T>> {
    let mut out: HashMap<&str, Vec<&T>> = HashMap::new();
    for s in secs {
        out.entry(s.name.as_str()).or_insert_with(|| {
            let mut v: Vec<&T> = s.records.iter().collect();
            v.sort_by_key(|r| r.insn_off());
            v
        });
    }
    out
}

/// Links the program whose function index is `main`.
pub(crate) fn link(inp: &Inputs<'_>, main: usize) -> Result<Linked> {
    let funcs = inp.funcs;
    let name = &funcs[main].name;
    let mut out = funcs[main].insns.clone();
    // (function, where it starts in `out`), in placement order.
    let mut placed: Vec<(usize, usize)> = vec![(main, 0)];
    let mut placed_at: HashMap<usize, usize> = HashMap::from([(main, 0)]);
    let mut stack: Vec<(usize, usize, usize)> = vec![(main, 0, 0)];
    while let Some(top) = stack.last_mut() {
        let (fi, base, next) = *top;
        if next >= funcs[fi].insns.len() {
            stack.pop();
            continue;
        }
        top.2 += 1;
        let pos = base + next;
        let insn = out[pos];
        let is_call =
            insn.code == CALL && insn.src == BPF_PSEUDO_CALL && insn.dst == 0 && insn.off == 0;
        let is_func = insn.code == LDDW && insn.src == BPF_PSEUDO_FUNC;
        if !is_call && !is_func {
            continue;
        }
        let bad = |target: i64| ObjectError::BadCallTarget {
            program: name.clone(),
            insn: pos,
            target,
        };
        let relocs = &inp.relocs[fi].code;
        let reloc = relocs
            .binary_search_by_key(&next, |r| r.0)
            .ok()
            .map(|i| relocs[i].1);
        let imm = i64::from(insn.imm);
        let target = match reloc {
            Some(CodeReloc::Call { sym_off }) => (sym_off / 8) as i64 + imm + 1,
            Some(CodeReloc::SubprogAddr { sym_off }) => (sym_off as i64 + imm) / 8,
            None if is_func => return Err(bad(imm)),
            None => (funcs[fi].insn_off + next) as i64 + imm + 1,
        };
        if reloc.is_none() {
            // Without a relocation the target is in the caller's section.
            // Inside the caller itself (hand-written code without function
            // symbols) the relative call stays valid as it is; elsewhere it
            // must be another .text function (clang's static calls).
            let own = funcs[fi].insn_off as i64;
            if target > own && target < own + funcs[fi].insns.len() as i64 {
                continue;
            }
            if Some(funcs[fi].section) != inp.text {
                return Err(bad(target));
            }
        }
        let Some(text) = inp.text else {
            return Err(bad(target));
        };
        let t = usize::try_from(target)
            .ok()
            .and_then(|idx| funcs::find(funcs, text, idx).filter(|&t| funcs[t].insn_off == idx))
            .ok_or_else(|| bad(target))?;
        let at = match placed_at.get(&t) {
            Some(&at) => at,
            None => {
                let at = out.len();
                let len = funcs[t].insns.len();
                if at + len > uapi::MAX_INSNS {
                    return Err(ObjectError::TooLarge {
                        program: name.clone(),
                        insns: at + len,
                    });
                }
                out.extend_from_slice(&funcs[t].insns);
                placed.push((t, at));
                placed_at.insert(t, at);
                stack.push((t, at, 0));
                at
            }
        };
        // Both positions are below MAX_INSNS, so the distance fits an i32.
        out[pos].imm = (at as i64 - pos as i64 - 1) as i32;
    }

    let mut linked = Linked {
        insns: out,
        ..Linked::default()
    };
    for &(f, at) in &placed {
        let shift = |r: &MapRef| MapRef {
            insn: r.insn + at,
            ..*r
        };
        linked
            .map_refs
            .extend(inp.relocs[f].map_refs.iter().map(shift));
        linked
            .core_relos
            .extend(inp.core[f].iter().map(|c| CoreRelocation {
                insn: c.insn + at,
                ..c.clone()
            }));
        if f != main {
            linked.subprograms.push(Subprogram {
                name: funcs[f].name.clone(),
                insn: at,
                len: funcs[f].insns.len(),
                global: funcs[f].global,
            });
        }
    }
    if let Some(ext) = inp.ext {
        linked.func_info = ext_records(&ext.func, funcs, &placed, "func_info", name)?;
        linked.line_info = ext_records(&ext.line, funcs, &placed, "line_info", name)?;
    }
    Ok(linked)
}

/// The `insn_off` of a `.BTF.ext` record.
trait InsnOff: Clone {
    fn insn_off(&self) -> u32;
    fn set_insn_off(&mut self, v: u32);
}

impl InsnOff for FuncInfo {
    fn insn_off(&self) -> u32 {
        self.insn_off
    }
    fn set_insn_off(&mut self, v: u32) {
        self.insn_off = v;
    }
}

impl InsnOff for LineInfo {
    fn insn_off(&self) -> u32 {
        self.insn_off
    }
    fn set_insn_off(&mut self, v: u32) {
        self.insn_off = v;
    }
}

/// libbpf's `adjust_prog_btf_ext_info` over every placed function: when
/// the main function has no records, the program gets none; when it has
/// some, every subprogram must have some too.
fn ext_records<T: InsnOff>(
    secs: &HashMap<&str, Vec<&T>>,
    funcs: &[Func],
    placed: &[(usize, usize)],
    what: &'static str,
    program: &str,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for (n, &(f, at)) in placed.iter().enumerate() {
        let func = &funcs[f];
        let start = out.len();
        let recs = secs.get(func.section_name.as_str()).map_or(&[][..], |v| v);
        let lo = recs.partition_point(|r| ((r.insn_off() / 8) as usize) < func.insn_off);
        for r in &recs[lo..] {
            let idx = (r.insn_off() / 8) as usize;
            if idx - func.insn_off >= func.insns.len() {
                break;
            }
            let mut r = (*r).clone();
            // Below MAX_INSNS, checked while linking.
            r.set_insn_off((idx - func.insn_off + at) as u32);
            out.push(r);
        }
        if out.len() == start {
            if n == 0 {
                return Ok(Vec::new());
            }
            return Err(ObjectError::BtfExt {
                program: program.to_string(),
                what,
                why: format!("no records for subprogram '{}'", func.name),
            });
        }
    }
    Ok(out)
}

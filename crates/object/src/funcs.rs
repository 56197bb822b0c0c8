//! Finding the functions of an object: libbpf's `bpf_object__add_programs`.
//!
//! Every `STT_FUNC` symbol of an executable section is one function; its
//! value and size give its instructions. Functions of `.text` are
//! subprograms (unless the object has just that one function), every other
//! function is an entry point whose section name gives its program type.
//! Code sections without any function symbol — hand-written assembly,
//! iproute2-era objects — become one function named after the section.

use crate::elf::{Elf, Section, STB_LOCAL, STT_FUNC};
use crate::error::{ObjectError, Result};
use isa::RawInsn;

/// One function: a program or a `.text` subprogram, with its own copy of
/// the code that relocation patches.
#[derive(Debug, Clone)]
pub(crate) struct Func {
    pub name: String,
    /// ELF section index and name (as in the file, `?` included).
    pub section: usize,
    pub section_name: String,
    /// First instruction, counted from the start of the section.
    pub insn_off: usize,
    pub insns: Vec<RawInsn>,
    /// In `.text` and not the only function: only reachable by calls.
    pub is_subprog: bool,
    /// A global or weak symbol not restricted with `__hidden`: the kernel
    /// verifies such a subprogram on its own, against its BTF prototype
    /// (libbpf marks hidden ones static in the BTF it loads).
    pub global: bool,
}

impl Func {
    /// Whether section instruction `idx` belongs to this function.
    pub fn contains(&self, section: usize, idx: usize) -> bool {
        self.section == section && idx >= self.insn_off && idx - self.insn_off < self.insns.len()
    }
}

/// The functions of the object, sorted by (section, offset) as libbpf
/// sorts its programs.
pub(crate) fn collect(elf: &Elf<'_>) -> Result<Vec<Func>> {
    let mut funcs = Vec::new();
    let mut text_index = None;
    for sec in &elf.sections {
        if !sec.is_exec() || sec.data.is_empty() || elf.is_ignored(sec) {
            continue;
        }
        if sec.name == ".text" {
            text_index = Some(sec.index);
        }
        let before = funcs.len();
        add_section_funcs(elf, sec, &mut funcs)?;
        if funcs.len() == before {
            funcs.push(whole_section(sec)?);
        }
    }
    funcs.sort_by_key(|f| (f.section, f.insn_off));
    for pair in funcs.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.section == b.section && a.insn_off + a.insns.len() > b.insn_off {
            return Err(ObjectError::OverlappingPrograms {
                section: a.section_name.clone(),
                first: a.name.clone(),
                second: b.name.clone(),
            });
        }
    }
    // libbpf's prog_is_subprog: in .text, and not the object's only function.
    let many = funcs.len() > 1;
    for f in &mut funcs {
        f.is_subprog = many && Some(f.section) == text_index;
    }
    Ok(funcs)
}

fn add_section_funcs(elf: &Elf<'_>, sec: &Section<'_>, out: &mut Vec<Func>) -> Result<()> {
    for sym in elf.symbols_in(sec.index) {
        if sym.kind != STT_FUNC {
            continue;
        }
        let bad = |why| ObjectError::BadProgram {
            section: sec.name.to_string(),
            name: sym.name.to_string(),
            offset: sym.value,
            size: sym.size,
            why,
        };
        let end = sym
            .value
            .checked_add(sym.size)
            .filter(|&e| e <= sec.data.len() as u64)
            .ok_or_else(|| bad("crosses the section's end"))?;
        if sym.size == 0 || sym.size % 8 != 0 || sym.value % 8 != 0 {
            return Err(bad("not whole 8-byte instructions"));
        }
        if sec.name != ".text" && sym.bind == STB_LOCAL {
            return Err(ObjectError::unsupported(format!(
                "section '{}': program '{}' is static (libbpf refuses static entry points too; \
                 make it global or move it to .text)",
                sec.name, sym.name
            )));
        }
        // Both bounds were checked against the section length above.
        let bytes = &sec.data[sym.value as usize..end as usize];
        out.push(Func {
            name: sym.name.to_string(),
            section: sec.index,
            section_name: sec.name.to_string(),
            insn_off: (sym.value / 8) as usize,
            insns: to_insns(bytes),
            is_subprog: false,
            global: sym.bind != STB_LOCAL && !sym.is_hidden(),
        });
    }
    Ok(())
}

/// A code section without function symbols: one function, named after it.
fn whole_section(sec: &Section<'_>) -> Result<Func> {
    if !sec.data.len().is_multiple_of(8) {
        return Err(ObjectError::BadProgram {
            section: sec.name.to_string(),
            name: sec.name.to_string(),
            offset: 0,
            size: sec.data.len() as u64,
            why: "not whole 8-byte instructions",
        });
    }
    Ok(Func {
        name: sec.name.trim_start_matches('?').to_string(),
        section: sec.index,
        section_name: sec.name.to_string(),
        insn_off: 0,
        insns: to_insns(sec.data),
        is_subprog: false,
        global: false,
    })
}

/// Splits whole 8-byte slots (the caller checked the length).
fn to_insns(bytes: &[u8]) -> Vec<RawInsn> {
    bytes
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            RawInsn::from_bytes(b)
        })
        .collect()
}

/// The function containing section instruction `idx` (binary search over
/// the sorted list, like libbpf's `find_prog_by_sec_insn`).
pub(crate) fn find(funcs: &[Func], section: usize, idx: usize) -> Option<usize> {
    let pos = funcs.partition_point(|f| (f.section, f.insn_off) <= (section, idx));
    let i = pos.checked_sub(1)?;
    funcs[i].contains(section, idx).then_some(i)
}

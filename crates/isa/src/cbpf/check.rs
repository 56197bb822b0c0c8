//! `bpf_check_classic`: what the kernel refuses before it converts a classic
//! filter, checked in the kernel's order so that the same program is refused
//! for the same first reason.

use super::insn::CbpfInsn;
use super::{CbpfError, InvalidKind, SockFilter, BPF_MAXINSNS};

/// Decodes and checks a classic program; on success every instruction is
/// known, every jump lands inside the program, the last instruction is a
/// `ret`, and no scratch word is read before every path to the read has
/// written it.
pub fn check(prog: &[SockFilter]) -> Result<Vec<CbpfInsn>, CbpfError> {
    if prog.is_empty() {
        return Err(CbpfError::Empty);
    }
    if prog.len() > BPF_MAXINSNS {
        return Err(CbpfError::TooLong { len: prog.len() });
    }
    let len = prog.len();
    let mut insns = Vec::with_capacity(len);
    for (index, &f) in prog.iter().enumerate() {
        let insn = CbpfInsn::decode(f).map_err(|kind| CbpfError::Invalid { index, kind })?;
        if let Some((t, f)) = insn.targets(index) {
            // Jumps are unsigned, hence forward; `ja` may not reach the end
            // either (the kernel's `k >= flen - pc - 1`).
            for target in [t, f] {
                if target >= len as u64 {
                    let kind = InvalidKind::JumpOutOfRange { target, len };
                    return Err(CbpfError::Invalid { index, kind });
                }
            }
        }
        insns.push(insn);
    }
    if !matches!(insns[len - 1], CbpfInsn::Ret(_)) {
        let kind = InvalidKind::LastNotRet {
            code: prog[len - 1].code,
        };
        return Err(CbpfError::Invalid {
            index: len - 1,
            kind,
        });
    }
    check_load_and_stores(&insns)?;
    Ok(insns)
}

/// The kernel's `check_load_and_stores`: one pass in program order with a
/// bit per scratch word. Jumps narrow the set known at their targets; after
/// a jump the fall-through state is "everything" (only the targets' sets
/// matter). Like the kernel, a `ret` does not reset the state, so the
/// instruction after a `ret` sees the `ret`'s state narrowed by its jumps:
/// conservative, and what the kernel accepts.
fn check_load_and_stores(insns: &[CbpfInsn]) -> Result<(), CbpfError> {
    let mut masks = vec![u16::MAX; insns.len()];
    let mut valid: u16 = 0;
    for (pc, insn) in insns.iter().enumerate() {
        valid &= masks[pc];
        match *insn {
            CbpfInsn::Store { idx, .. } => valid |= 1 << idx,
            CbpfInsn::LoadMem { idx, .. } if valid & (1 << idx) == 0 => {
                let kind = InvalidKind::UninitScratch { idx };
                return Err(CbpfError::Invalid { index: pc, kind });
            }
            _ => {
                if let Some((t, f)) = insn.targets(pc) {
                    // In range: `check` verified the targets first.
                    masks[t as usize] &= valid;
                    masks[f as usize] &= valid;
                    valid = u16::MAX;
                }
            }
        }
    }
    Ok(())
}

//! The rewrites applied to an accepted program: context accesses move to
//! oxbpf's runtime layout ([`uapi::ctx::kern`]).

use crate::check::Env;
use isa::{Insn, RawInsn, Size};

/// The program with every recorded context access rewritten.
pub(crate) fn rewrite(raw: &[RawInsn], env: &Env) -> Vec<RawInsn> {
    let mut out = raw.to_vec();
    for (pc, aux) in env.aux.iter().enumerate() {
        let Some(rw) = aux.ctx_rewrite else { continue };
        let Some(insn) = env.prog.insns[pc] else {
            continue;
        };
        let Some(size) = Size::from_bytes(rw.size) else {
            continue;
        };
        let new = match insn {
            Insn::Load {
                signed, dst, src, ..
            } => Insn::Load {
                size,
                signed,
                dst,
                src,
                off: rw.off as i16,
            },
            Insn::Store { dst, src, .. } => Insn::Store {
                size,
                dst,
                off: rw.off as i16,
                src,
            },
            _ => continue,
        };
        out[pc] = new.encode()[0];
    }
    out
}

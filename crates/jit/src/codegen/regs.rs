//! The fixed register assignment, the kernel's: BPF `r1`–`r5` are the
//! System V argument registers, so a helper call needs no shuffling; `r0`
//! is the return register; `r6`–`r9` and `r10` are callee-saved on both
//! sides, so they survive helper calls for free. Nothing is ever spilled.
//!
//! | BPF | x86-64 | | scratch | use |
//! |-----|--------|-|---------|-----|
//! | r0  | rax | | r9  | env pointer at helper calls; saved `rdx` in division |
//! | r1  | rdi | | r10 | saved `rax`; blinded immediates; table bases |
//! | r2  | rsi | | r11 | divisor; shift count juggling; addresses |
//! | r3  | rdx | | r12 | the run context (callee-saved, so it survives helpers) |
//! | r4  | rcx | | | |
//! | r5  | r8  | | | |
//! | r6  | rbx | | | |
//! | r7  | r13 | | | |
//! | r8  | r14 | | | |
//! | r9  | r15 | | | |
//! | r10 | rbp | | | |

use crate::x86::Gpr;
use isa::Reg;

/// The machine register of BPF register `r`.
pub(crate) const fn bpf(r: Reg) -> Gpr {
    match r.n() {
        0 => Gpr::Rax,
        1 => Gpr::Rdi,
        2 => Gpr::Rsi,
        3 => Gpr::Rdx,
        4 => Gpr::Rcx,
        5 => Gpr::R8,
        6 => Gpr::Rbx,
        7 => Gpr::R13,
        8 => Gpr::R14,
        9 => Gpr::R15,
        _ => Gpr::Rbp,
    }
}

/// The BPF register that lives in `g`, if any.
pub(crate) fn bpf_of(g: Gpr) -> Option<Reg> {
    Reg::all().find(|&r| bpf(r) == g)
}

/// Scratch: the environment argument of helpers, saved `rdx`.
pub(crate) const SCRATCH_C: Gpr = Gpr::R9;
/// Scratch: saved `rax`, blinded immediates, table bases.
pub(crate) const SCRATCH_B: Gpr = Gpr::R10;
/// Scratch: divisor, shift juggling, computed addresses.
pub(crate) const SCRATCH_A: Gpr = Gpr::R11;
/// The run context.
pub(crate) const CTX: Gpr = Gpr::R12;

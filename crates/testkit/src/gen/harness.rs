//! Harnesses: the same generated [`Body`] wrapped so that an engine loads
//! `r0`–`r9` from memory before it and stores all ten back after it.
//!
//! Why not compare only the return value: `BPF_PROG_TEST_RUN` reports
//! `retval` as a `__u32`, the low half of `r0`, and a wrong high half or a
//! wrong value in a register that is never returned would go unseen. The
//! harness reads the ten input registers from an 80-byte buffer and writes
//! the ten final registers back into it, so every engine reports the whole
//! register file (and the kernel still returns `r0`, whose low half must
//! match too).
//!
//! Two wrappers, one body:
//! - [`xdp_program`] for the kernel: the buffer is the XDP packet; the
//!   prologue reads `data`/`data_end` from `struct xdp_md` and does the
//!   bounds check the verifier wants; `BPF_PROG_TEST_RUN` returns the
//!   rewritten packet as `data_out`.
//! - [`mem_program`] for interpreters that run a program over a plain
//!   memory buffer passed in `r1` (as the conformance suite does).
//!
//! Both keep the buffer pointer at `fp-8` and use `fp-16` as scratch; the
//! body never touches the stack, so this cannot collide.

use super::program::Body;
use isa::{AluOp, Insn, JmpCond, Operand, Reg, Size, Width};

/// Bytes of the register buffer: ten little-endian `u64`s, `r0` first.
pub const REG_BYTES: usize = 80;

/// The buffer holding `regs`.
pub fn regs_to_bytes(regs: &[u64; 10]) -> [u8; REG_BYTES] {
    let mut out = [0u8; REG_BYTES];
    for (chunk, r) in out.chunks_exact_mut(8).zip(regs) {
        chunk.copy_from_slice(&r.to_le_bytes());
    }
    out
}

/// The registers in a buffer; `None` if it is shorter than [`REG_BYTES`].
pub fn regs_from_bytes(bytes: &[u8]) -> Option<[u64; 10]> {
    let bytes = bytes.get(..REG_BYTES)?;
    let mut regs = [0u64; 10];
    for (r, chunk) in regs.iter_mut().zip(bytes.chunks_exact(8)) {
        *r = u64::from_le_bytes(chunk.try_into().ok()?);
    }
    Some(regs)
}

fn ldx(size: Size, dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::Load {
        size,
        signed: false,
        dst,
        src,
        off,
    }
}

fn stx(dst: Reg, off: i16, src: Reg) -> Insn {
    Insn::Store {
        size: Size::DW,
        dst,
        off,
        src: Operand::Reg(src),
    }
}

/// With the buffer in `r2` (already bounds-checked): spill it to `fp-8`,
/// load `r0`, `r1`, `r3`–`r9`, and `r2` last.
fn load_regs(out: &mut Vec<Insn>) {
    out.push(stx(Reg::R10, -8, Reg::R2));
    for r in (0..10u8).filter(|&r| r != 2) {
        out.push(ldx(
            Size::DW,
            Reg::new(r).unwrap_or(Reg::R0),
            Reg::R2,
            8 * r as i16,
        ));
    }
    out.push(ldx(Size::DW, Reg::R2, Reg::R2, 16));
}

/// Spill `r0` to `fp-16`, reload the buffer into `r0`, store `r1`–`r9`,
/// then the saved `r0`, and return it.
fn store_regs_and_exit(out: &mut Vec<Insn>) {
    out.push(stx(Reg::R10, -16, Reg::R0));
    out.push(ldx(Size::DW, Reg::R0, Reg::R10, -8));
    for r in 1..10u8 {
        out.push(stx(Reg::R0, 8 * r as i16, Reg::new(r).unwrap_or(Reg::R1)));
    }
    out.push(ldx(Size::DW, Reg::R1, Reg::R10, -16));
    out.push(stx(Reg::R0, 0, Reg::R1));
    out.push(Insn::mov64_reg(Reg::R0, Reg::R1));
    out.push(Insn::Exit);
}

/// The body as an XDP program over an 80-byte packet holding the registers.
/// A packet shorter than [`REG_BYTES`] makes it return 0 untouched.
pub fn xdp_program(body: &Body) -> Vec<Insn> {
    let mut out = vec![
        // r2 = xdp_md->data, r3 = xdp_md->data_end
        ldx(Size::W, Reg::R2, Reg::R1, 0),
        ldx(Size::W, Reg::R3, Reg::R1, 4),
        Insn::mov64_reg(Reg::R4, Reg::R2),
        Insn::Alu {
            width: Width::W64,
            op: AluOp::Add,
            dst: Reg::R4,
            src: Operand::Imm(REG_BYTES as i32),
        },
    ];
    let check_pc = out.len();
    out.push(Insn::Exit); // placeholder for the bounds check, patched below
    load_regs(&mut out);
    out.extend(body.insns());
    store_regs_and_exit(&mut out);
    let short_pc = out.len();
    out.push(Insn::mov64_imm(Reg::R0, 0));
    out.push(Insn::Exit);
    // The prologue has no lddw, so positions are slot positions up to the body.
    let slots_between: usize = out[check_pc + 1..short_pc].iter().map(Insn::slots).sum();
    out[check_pc] = Insn::Jump {
        width: Width::W64,
        cond: JmpCond::Gt,
        dst: Reg::R4,
        src: Operand::Reg(Reg::R3),
        off: i16::try_from(slots_between).unwrap_or(i16::MAX),
    };
    out
}

/// The body as a program over a plain buffer of [`REG_BYTES`] bytes whose
/// address is in `r1` (no bounds check: the engine must give 80 bytes).
pub fn mem_program(body: &Body) -> Vec<Insn> {
    let mut out = vec![Insn::mov64_reg(Reg::R2, Reg::R1)];
    load_regs(&mut out);
    out.extend(body.insns());
    store_regs_and_exit(&mut out);
    out
}

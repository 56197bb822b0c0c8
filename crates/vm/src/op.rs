//! The interpreter's internal instruction form.
//!
//! [`isa::Insn`] is the right shape for reading and checking a program, not
//! for executing it fast: its operands are enums (`Operand::Reg | Imm`), its
//! widths and conditions are fields to match on again at every step, and its
//! jumps are relative. [`Op`] is lowered once from `Insn` so that executing an
//! instruction is one `match` on one discriminant:
//!
//! * one variant per (operation, width, register-or-immediate) — the
//!   dispatch `match` selects the exact operation and nothing is decided
//!   twice;
//! * immediates pre-converted to the width they are used at (64-bit
//!   operations hold the sign-extended `u64`), shift counts pre-masked;
//! * jump and call targets resolved to absolute slot indices, checked to be
//!   in range once, at preparation;
//! * helper calls resolved to the function pointer;
//! * `Op` is 16 bytes, so a program is a dense array.
//!
//! The op array keeps one entry per 8-byte slot (the second slot of `lddw`
//! holds [`Op::Gap`], which is never reached) so that an op index is the
//! kernel's instruction index in every error message.

use crate::helpers::HelperFn;
use isa::{AtomicOp, Size};

/// A register number (`0..=10`), checked by the decoder. The interpreter
/// indexes a 256-entry register file with it, so no bounds check is needed
/// and no value could index out of it.
pub(crate) type R = u8;

/// One lowered instruction. Naming: `<op><width><I|R>`, `I` for an immediate
/// operand, `R` for a register; `d` is the destination, `s` the source
/// register, `t` an absolute jump target.
#[derive(Clone, Copy, Debug)]
#[rustfmt::skip]
pub(crate) enum Op {
    // ---- 64-bit ALU, immediate (sign-extended) ----
    Add64I { d: R, imm: u64 },
    Sub64I { d: R, imm: u64 },
    Mul64I { d: R, imm: u64 },
    Div64I { d: R, imm: u64 },
    SDiv64I { d: R, imm: u64 },
    Mod64I { d: R, imm: u64 },
    SMod64I { d: R, imm: u64 },
    Or64I { d: R, imm: u64 },
    And64I { d: R, imm: u64 },
    Xor64I { d: R, imm: u64 },
    Mov64I { d: R, imm: u64 },
    /// Shift counts are already masked to `0..64`.
    Lsh64I { d: R, sh: u8 },
    Rsh64I { d: R, sh: u8 },
    Arsh64I { d: R, sh: u8 },
    // ---- 64-bit ALU, register ----
    Add64R { d: R, s: R },
    Sub64R { d: R, s: R },
    Mul64R { d: R, s: R },
    Div64R { d: R, s: R },
    SDiv64R { d: R, s: R },
    Mod64R { d: R, s: R },
    SMod64R { d: R, s: R },
    Or64R { d: R, s: R },
    And64R { d: R, s: R },
    Xor64R { d: R, s: R },
    Mov64R { d: R, s: R },
    Lsh64R { d: R, s: R },
    Rsh64R { d: R, s: R },
    Arsh64R { d: R, s: R },
    // ---- 32-bit ALU, immediate (results zero-extend) ----
    Add32I { d: R, imm: u32 },
    Sub32I { d: R, imm: u32 },
    Mul32I { d: R, imm: u32 },
    Div32I { d: R, imm: u32 },
    SDiv32I { d: R, imm: u32 },
    Mod32I { d: R, imm: u32 },
    SMod32I { d: R, imm: u32 },
    Or32I { d: R, imm: u32 },
    And32I { d: R, imm: u32 },
    Xor32I { d: R, imm: u32 },
    Mov32I { d: R, imm: u32 },
    /// Shift counts are already masked to `0..32`.
    Lsh32I { d: R, sh: u8 },
    Rsh32I { d: R, sh: u8 },
    Arsh32I { d: R, sh: u8 },
    // ---- 32-bit ALU, register ----
    Add32R { d: R, s: R },
    Sub32R { d: R, s: R },
    Mul32R { d: R, s: R },
    Div32R { d: R, s: R },
    SDiv32R { d: R, s: R },
    Mod32R { d: R, s: R },
    SMod32R { d: R, s: R },
    Or32R { d: R, s: R },
    And32R { d: R, s: R },
    Xor32R { d: R, s: R },
    Mov32R { d: R, s: R },
    Lsh32R { d: R, s: R },
    Rsh32R { d: R, s: R },
    Arsh32R { d: R, s: R },
    // ---- unary ALU ----
    Neg64 { d: R },
    Neg32 { d: R },
    /// `d = (s<bits>) s`, sign-extended to 64 bits.
    MovSx64 { d: R, s: R, bits: u8 },
    /// `d = (s<bits>) s`, sign-extended to 32 bits, then zero-extended.
    MovSx32 { d: R, s: R, bits: u8 },
    /// `le16`: truncate to 16 bits (a no-op swap on a little-endian host).
    Le16 { d: R },
    /// `le32`: truncate to 32 bits.
    Le32 { d: R },
    /// `be16` / `bswap16`: swap the low 16 bits, zero-extend.
    Bswap16 { d: R },
    Bswap32 { d: R },
    Bswap64 { d: R },
    /// `le64`: nothing to do on a little-endian host (still an instruction
    /// for the budget).
    Nop,
    /// `lddw` with its value resolved (plain constant, map pointer, …).
    Lddw { d: R, imm: u64 },
    /// The second slot of an `lddw`; unreachable (preparation refuses jumps
    /// into it).
    Gap,
    // ---- loads: d = *(size *)(s + off) ----
    Ldx8 { d: R, s: R, off: i16 },
    Ldx16 { d: R, s: R, off: i16 },
    Ldx32 { d: R, s: R, off: i16 },
    Ldx64 { d: R, s: R, off: i16 },
    /// Sign-extending loads (`ldxs*`, cpu v4).
    Ldxs8 { d: R, s: R, off: i16 },
    Ldxs16 { d: R, s: R, off: i16 },
    Ldxs32 { d: R, s: R, off: i16 },
    // ---- stores: *(size *)(d + off) = imm | s ----
    St8 { d: R, off: i16, imm: i32 },
    St16 { d: R, off: i16, imm: i32 },
    St32 { d: R, off: i16, imm: i32 },
    /// The immediate is sign-extended to 64 bits.
    St64 { d: R, off: i16, imm: i32 },
    Stx8 { d: R, s: R, off: i16 },
    Stx16 { d: R, s: R, off: i16 },
    Stx32 { d: R, s: R, off: i16 },
    Stx64 { d: R, s: R, off: i16 },
    /// Atomic read-modify-write on `*(size *)(d + off)`; `size` is W or DW.
    Atomic { size: Size, op: AtomicOp, d: R, s: R, off: i16 },
    /// Legacy `BPF_ABS` (`ind == NO_REG`) / `BPF_IND` packet load into r0.
    LdPacket { size: Size, ind: R, imm: i32 },
    // ---- control flow ----
    Ja { t: u32 },
    Jeq64I { d: R, imm: u64, t: u32 },
    Jne64I { d: R, imm: u64, t: u32 },
    Jgt64I { d: R, imm: u64, t: u32 },
    Jge64I { d: R, imm: u64, t: u32 },
    Jlt64I { d: R, imm: u64, t: u32 },
    Jle64I { d: R, imm: u64, t: u32 },
    Jset64I { d: R, imm: u64, t: u32 },
    Jsgt64I { d: R, imm: u64, t: u32 },
    Jsge64I { d: R, imm: u64, t: u32 },
    Jslt64I { d: R, imm: u64, t: u32 },
    Jsle64I { d: R, imm: u64, t: u32 },
    Jeq64R { d: R, s: R, t: u32 },
    Jne64R { d: R, s: R, t: u32 },
    Jgt64R { d: R, s: R, t: u32 },
    Jge64R { d: R, s: R, t: u32 },
    Jlt64R { d: R, s: R, t: u32 },
    Jle64R { d: R, s: R, t: u32 },
    Jset64R { d: R, s: R, t: u32 },
    Jsgt64R { d: R, s: R, t: u32 },
    Jsge64R { d: R, s: R, t: u32 },
    Jslt64R { d: R, s: R, t: u32 },
    Jsle64R { d: R, s: R, t: u32 },
    Jeq32I { d: R, imm: u32, t: u32 },
    Jne32I { d: R, imm: u32, t: u32 },
    Jgt32I { d: R, imm: u32, t: u32 },
    Jge32I { d: R, imm: u32, t: u32 },
    Jlt32I { d: R, imm: u32, t: u32 },
    Jle32I { d: R, imm: u32, t: u32 },
    Jset32I { d: R, imm: u32, t: u32 },
    Jsgt32I { d: R, imm: u32, t: u32 },
    Jsge32I { d: R, imm: u32, t: u32 },
    Jslt32I { d: R, imm: u32, t: u32 },
    Jsle32I { d: R, imm: u32, t: u32 },
    Jeq32R { d: R, s: R, t: u32 },
    Jne32R { d: R, s: R, t: u32 },
    Jgt32R { d: R, s: R, t: u32 },
    Jge32R { d: R, s: R, t: u32 },
    Jlt32R { d: R, s: R, t: u32 },
    Jle32R { d: R, s: R, t: u32 },
    Jset32R { d: R, s: R, t: u32 },
    Jsgt32R { d: R, s: R, t: u32 },
    Jsge32R { d: R, s: R, t: u32 },
    Jslt32R { d: R, s: R, t: u32 },
    Jsle32R { d: R, s: R, t: u32 },
    /// Helper call through the registry's function pointer.
    Call { id: u32, f: HelperFn },
    /// `bpf_tail_call` (helper 12), executed by the interpreter itself.
    TailCall,
    /// `bpf_loop` (helper 181) and `bpf_for_each_map_elem` (helper 164):
    /// they call back into the program, so the interpreter runs them itself
    /// (see [`crate::callbacks`]).
    Loop,
    ForEachMapElem,
    /// bpf-to-bpf call to the subprogram at `t`.
    CallLocal { t: u32 },
    /// Indirect call through register `r` (see [`crate::subprog_addr`]).
    CallX { r: R },
    Exit,
}

/// `Op::LdPacket::ind` for `BPF_ABS` (no index register).
pub(crate) const NO_REG: R = 0xff;

#[cfg(test)]
mod tests {
    #[test]
    fn op_is_16_bytes() {
        assert_eq!(std::mem::size_of::<super::Op>(), 16);
    }
}

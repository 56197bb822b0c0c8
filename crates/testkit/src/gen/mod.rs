//! Random programs for property tests, as proptest strategies.
//!
//! - [`straight_line_program`], [`forward_program`], [`loop_program`]:
//!   self-contained programs (`r0`–`r9` set to interesting constants, a
//!   generated body, `exit`) that the kernel verifier accepts: scalar code
//!   over every ALU operation (imm and reg, 32 and 64 bit, `neg`, `movsx`,
//!   byte swaps), every conditional jump (`jmp` and `jmp32`, signed and
//!   unsigned, imm and reg), forward-only jumps, and bounded loops.
//! - [`body`] with a [`GenConfig`]: the bodies alone, to be wrapped by a
//!   harness ([`xdp_program`], [`mem_program`]) that loads the registers from
//!   and stores them back to memory, so the whole register file is compared.
//!
//! - [`safety`]: mostly valid programs with maps, packet accesses, spills
//!   and loops (and deliberate slips), for soundness fuzzing of the verifier.
//!
//! Bodies are trees ([`Stmt`]) laid out into instructions afterwards, so
//! every shrink proptest makes is still a valid program.

mod harness;
mod minimize;
mod program;
pub mod safety;
mod strategy;
mod values;

pub use harness::{mem_program, regs_from_bytes, regs_to_bytes, xdp_program, REG_BYTES};
pub use minimize::{minimize, simplifications};
pub use program::{fit, slots, written_regs, Body, Cond, LoopKind, Stmt};
pub use strategy::{
    body, branchy_loop_stmt, cond, forward_program, init_insns, legal_imm, loop_program, loop_stmt,
    op_insn, scalar_program, stmt, straight_line_program, GenConfig, ScalarProgram, SCALAR_REGS,
};
pub use values::{interesting_i32, interesting_u64, reg_file};

#[cfg(test)]
mod tests;

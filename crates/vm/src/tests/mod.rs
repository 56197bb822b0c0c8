//! Unit and property tests of the interpreter, by theme. Programs are built
//! from typed instructions with the small constructors below.

mod alu;
mod control;
mod fuzz;
mod memory;

use crate::{HelperRegistry, Machine, PrepareOptions, Program, RunEnv, VmError};
use isa::{AluOp, CallTarget, Insn, JmpCond, LoadImm, Operand, Reg, Size, Width};

pub(crate) fn r(n: u8) -> Reg {
    Reg::new(n).expect("register")
}

pub(crate) fn alu64(op: AluOp, d: u8, imm: i32) -> Insn {
    Insn::Alu {
        width: Width::W64,
        op,
        dst: r(d),
        src: Operand::Imm(imm),
    }
}

pub(crate) fn alu64r(op: AluOp, d: u8, s: u8) -> Insn {
    Insn::Alu {
        width: Width::W64,
        op,
        dst: r(d),
        src: Operand::Reg(r(s)),
    }
}

pub(crate) fn mov(d: u8, imm: i32) -> Insn {
    alu64(AluOp::Mov, d, imm)
}

pub(crate) fn movr(d: u8, s: u8) -> Insn {
    alu64r(AluOp::Mov, d, s)
}

pub(crate) fn lddw(d: u8, v: u64) -> Insn {
    Insn::LoadImm64 {
        dst: r(d),
        imm: LoadImm::Imm(v),
    }
}

pub(crate) fn jmp(cond: JmpCond, d: u8, imm: i32, off: i16) -> Insn {
    Insn::Jump {
        width: Width::W64,
        cond,
        dst: r(d),
        src: Operand::Imm(imm),
        off,
    }
}

pub(crate) fn jmpr(cond: JmpCond, d: u8, s: u8, off: i16) -> Insn {
    Insn::Jump {
        width: Width::W64,
        cond,
        dst: r(d),
        src: Operand::Reg(r(s)),
        off,
    }
}

pub(crate) fn ja(off: i32) -> Insn {
    Insn::Ja { off, long: false }
}

pub(crate) fn ldx(size: Size, d: u8, s: u8, off: i16) -> Insn {
    Insn::Load {
        size,
        signed: false,
        dst: r(d),
        src: r(s),
        off,
    }
}

pub(crate) fn stx(size: Size, d: u8, off: i16, s: u8) -> Insn {
    Insn::Store {
        size,
        dst: r(d),
        off,
        src: Operand::Reg(r(s)),
    }
}

pub(crate) fn call(helper: i32) -> Insn {
    Insn::Call(CallTarget::Helper(helper))
}

pub(crate) fn call_local(rel: i32) -> Insn {
    Insn::Call(CallTarget::Local { rel })
}

pub(crate) const EXIT: Insn = Insn::Exit;

/// Prepares with the given helpers (callx by helper id allowed).
pub(crate) fn prog_with(insns: &[Insn], helpers: &HelperRegistry) -> Program {
    let opts = PrepareOptions {
        callx_helper_ids: true,
        ..PrepareOptions::new(helpers)
    };
    Program::prepare(insns, &opts).expect("prepare")
}

pub(crate) fn prog(insns: &[Insn]) -> Program {
    prog_with(insns, &HelperRegistry::with_builtins())
}

/// Runs with no memory and no arguments.
pub(crate) fn run(insns: &[Insn]) -> Result<u64, VmError> {
    Machine::new().run(&prog(insns), &mut RunEnv::new(), &[])
}

/// Runs over `mem` (r1 = address, r2 = length).
pub(crate) fn run_mem(insns: &[Insn], mem: &mut [u8]) -> Result<u64, VmError> {
    Machine::new().run_on_memory(&prog(insns), mem)
}

/// A deterministic pseudo-random sequence (splitmix64) for property tests.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

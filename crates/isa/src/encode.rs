//! [`Insn`] → bytes: the inverse of decoding. For every instruction that
//! decodes, encoding gives back the same slots (a property test checks it).

use crate::insn::*;
use crate::raw::RawInsn;
use uapi::opcode::*;

fn size_bits(size: Size) -> u8 {
    match size {
        Size::W => BPF_W,
        Size::H => BPF_H,
        Size::B => BPF_B,
        Size::DW => BPF_DW,
    }
}

fn alu_class(width: Width) -> u8 {
    match width {
        Width::W32 => BPF_ALU,
        Width::W64 => BPF_ALU64,
    }
}

fn jmp_class(width: Width) -> u8 {
    match width {
        Width::W32 => BPF_JMP32,
        Width::W64 => BPF_JMP,
    }
}

fn operand(src: Operand) -> (u8, u8, i32) {
    match src {
        Operand::Reg(r) => (BPF_X, r.n(), 0),
        Operand::Imm(i) => (BPF_K, 0, i),
    }
}

fn cond_bits(cond: JmpCond) -> u8 {
    match cond {
        JmpCond::Eq => BPF_JEQ,
        JmpCond::Gt => BPF_JGT,
        JmpCond::Ge => BPF_JGE,
        JmpCond::Set => BPF_JSET,
        JmpCond::Ne => BPF_JNE,
        JmpCond::Sgt => BPF_JSGT,
        JmpCond::Sge => BPF_JSGE,
        JmpCond::Lt => BPF_JLT,
        JmpCond::Le => BPF_JLE,
        JmpCond::Slt => BPF_JSLT,
        JmpCond::Sle => BPF_JSLE,
    }
}

fn alu_op_bits(op: AluOp) -> (u8, i16) {
    match op {
        AluOp::Add => (BPF_ADD, 0),
        AluOp::Sub => (BPF_SUB, 0),
        AluOp::Mul => (BPF_MUL, 0),
        AluOp::Div => (BPF_DIV, 0),
        AluOp::SDiv => (BPF_DIV, 1),
        AluOp::Or => (BPF_OR, 0),
        AluOp::And => (BPF_AND, 0),
        AluOp::Lsh => (BPF_LSH, 0),
        AluOp::Rsh => (BPF_RSH, 0),
        AluOp::Mod => (BPF_MOD, 0),
        AluOp::SMod => (BPF_MOD, 1),
        AluOp::Xor => (BPF_XOR, 0),
        AluOp::Mov => (BPF_MOV, 0),
        AluOp::Arsh => (BPF_ARSH, 0),
    }
}

fn atomic_imm(op: AtomicOp) -> i32 {
    let f = |fetch: bool| if fetch { BPF_FETCH } else { 0 };
    match op {
        AtomicOp::Add { fetch } => BPF_ADD as i32 | f(fetch),
        AtomicOp::Or { fetch } => BPF_OR as i32 | f(fetch),
        AtomicOp::And { fetch } => BPF_AND as i32 | f(fetch),
        AtomicOp::Xor { fetch } => BPF_XOR as i32 | f(fetch),
        AtomicOp::Xchg => BPF_XCHG,
        AtomicOp::Cmpxchg => BPF_CMPXCHG,
    }
}

impl Insn {
    /// Appends the instruction's slots (one, or two for `lddw`) to `out`.
    pub fn encode_into(&self, out: &mut Vec<RawInsn>) {
        let one =
            |code: u8, dst: u8, src: u8, off: i16, imm: i32| RawInsn::new(code, dst, src, off, imm);
        let raw = match *self {
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => {
                let (opb, off) = alu_op_bits(op);
                let (s, sreg, imm) = operand(src);
                one(alu_class(width) | opb | s, dst.n(), sreg, off, imm)
            }
            Insn::Neg { width, dst } => one(alu_class(width) | BPF_NEG, dst.n(), 0, 0, 0),
            Insn::MovSx {
                width,
                dst,
                src,
                bits,
            } => one(
                alu_class(width) | BPF_MOV | BPF_X,
                dst.n(),
                src.n(),
                bits as i16,
                0,
            ),
            Insn::Endian { order, dst, bits } => {
                let code = match order {
                    ByteOrder::ToLe => BPF_ALU | BPF_END | BPF_TO_LE,
                    ByteOrder::ToBe => BPF_ALU | BPF_END | BPF_TO_BE,
                    ByteOrder::Swap => BPF_ALU64 | BPF_END,
                };
                one(code, dst.n(), 0, 0, bits as i32)
            }
            Insn::LoadImm64 { dst, imm } => {
                let (src, lo, hi) = match imm {
                    LoadImm::Imm(v) => (0, v as u32 as i32, (v >> 32) as u32 as i32),
                    LoadImm::MapFd(fd) => (BPF_PSEUDO_MAP_FD, fd, 0),
                    LoadImm::MapValue { fd, off } => (BPF_PSEUDO_MAP_VALUE, fd, off as i32),
                    LoadImm::BtfId { id, module } => (BPF_PSEUDO_BTF_ID, id, module),
                    LoadImm::Func { rel } => (BPF_PSEUDO_FUNC, rel, 0),
                    LoadImm::MapIdx(idx) => (BPF_PSEUDO_MAP_IDX, idx, 0),
                    LoadImm::MapIdxValue { idx, off } => {
                        (BPF_PSEUDO_MAP_IDX_VALUE, idx, off as i32)
                    }
                };
                out.push(one(LDDW, dst.n(), src, 0, lo));
                one(0, 0, 0, 0, hi)
            }
            Insn::LoadPacket { mode, size, imm } => match mode {
                PacketMode::Abs => one(BPF_LD | BPF_ABS | size_bits(size), 0, 0, 0, imm),
                PacketMode::Ind(r) => one(BPF_LD | BPF_IND | size_bits(size), 0, r.n(), 0, imm),
            },
            Insn::Load {
                size,
                signed,
                dst,
                src,
                off,
            } => {
                let m = if signed { BPF_MEMSX } else { BPF_MEM };
                one(BPF_LDX | m | size_bits(size), dst.n(), src.n(), off, 0)
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => match src {
                Operand::Reg(s) => one(BPF_STX | BPF_MEM | size_bits(size), dst.n(), s.n(), off, 0),
                Operand::Imm(i) => one(BPF_ST | BPF_MEM | size_bits(size), dst.n(), 0, off, i),
            },
            Insn::Atomic {
                size,
                op,
                dst,
                src,
                off,
            } => one(
                BPF_STX | BPF_ATOMIC | size_bits(size),
                dst.n(),
                src.n(),
                off,
                atomic_imm(op),
            ),
            Insn::Ja { off, long: false } => one(JA, 0, 0, off as i16, 0),
            Insn::Ja { off, long: true } => one(JA32, 0, 0, 0, off),
            Insn::Jump {
                width,
                cond,
                dst,
                src,
                off,
            } => {
                let (s, sreg, imm) = operand(src);
                one(
                    jmp_class(width) | cond_bits(cond) | s,
                    dst.n(),
                    sreg,
                    off,
                    imm,
                )
            }
            Insn::Call(CallTarget::Helper(id)) => one(CALL, 0, BPF_HELPER_CALL, 0, id),
            Insn::Call(CallTarget::Local { rel }) => one(CALL, 0, BPF_PSEUDO_CALL, 0, rel),
            Insn::Call(CallTarget::Kfunc { btf_id, module }) => {
                one(CALL, 0, BPF_PSEUDO_KFUNC_CALL, module, btf_id)
            }
            Insn::CallX {
                reg,
                encoding: CallxEncoding::Dst,
            } => one(CALLX, reg.n(), 0, 0, 0),
            Insn::CallX {
                reg,
                encoding: CallxEncoding::Imm,
            } => one(CALLX, 0, 0, 0, reg.n() as i32),
            Insn::Exit => one(EXIT, 0, 0, 0, 0),
        };
        out.push(raw);
    }

    /// The instruction's slots.
    pub fn encode(&self) -> Vec<RawInsn> {
        let mut v = Vec::with_capacity(2);
        self.encode_into(&mut v);
        v
    }
}

/// Encodes a sequence of instructions into slots.
pub fn encode_program<'a>(insns: impl IntoIterator<Item = &'a Insn>) -> Vec<RawInsn> {
    let mut out = Vec::new();
    for i in insns {
        i.encode_into(&mut out);
    }
    out
}

//! The typed instruction: every encoding quirk of the eBPF ISA resolved once,
//! so that the verifier, interpreter, JIT and disassembler match on meaning
//! (`Insn::Alu { op: AluOp::SDiv, .. }`) and never on opcode bits.

use std::fmt;

/// A register number, always in `0..=10`.
///
/// `r10` is the read-only frame pointer; `r0` holds return values; `r1`–`r5`
/// are arguments; `r6`–`r9` are callee-saved.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(u8);

impl Reg {
    pub const R0: Reg = Reg(0);
    pub const R1: Reg = Reg(1);
    pub const R2: Reg = Reg(2);
    pub const R3: Reg = Reg(3);
    pub const R4: Reg = Reg(4);
    pub const R5: Reg = Reg(5);
    pub const R6: Reg = Reg(6);
    pub const R7: Reg = Reg(7);
    pub const R8: Reg = Reg(8);
    pub const R9: Reg = Reg(9);
    /// The frame pointer.
    pub const R10: Reg = Reg(10);
    pub const FP: Reg = Reg(10);
    /// Number of registers.
    pub const COUNT: usize = 11;

    /// `Some` for `0..=10`.
    pub const fn new(n: u8) -> Option<Reg> {
        if n <= 10 {
            Some(Reg(n))
        } else {
            None
        }
    }

    /// The register number.
    pub const fn n(self) -> u8 {
        self.0
    }

    /// The register number as an index.
    pub const fn idx(self) -> usize {
        self.0 as usize
    }

    /// Every register, `r0` to `r10`.
    pub fn all() -> impl Iterator<Item = Reg> {
        (0..=10).map(Reg)
    }
}

impl fmt::Debug for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// Operation width of ALU and jump instructions: the `BPF_ALU`/`BPF_JMP32`
/// classes work on the low 32 bits (ALU results zero-extend), `BPF_ALU64` and
/// `BPF_JMP` on all 64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Width {
    #[doc(alias = "BPF_ALU")]
    #[doc(alias = "BPF_JMP32")]
    W32,
    #[doc(alias = "BPF_ALU64")]
    #[doc(alias = "BPF_JMP")]
    W64,
}

impl Width {
    pub const fn bits(self) -> u32 {
        match self {
            Width::W32 => 32,
            Width::W64 => 64,
        }
    }
}

/// Access size of loads, stores and atomics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Size {
    #[doc(alias = "BPF_B")]
    B,
    #[doc(alias = "BPF_H")]
    H,
    #[doc(alias = "BPF_W")]
    W,
    #[doc(alias = "BPF_DW")]
    DW,
}

impl Size {
    /// Size in bytes.
    pub const fn bytes(self) -> u32 {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    /// From a byte count (1, 2, 4, 8).
    pub const fn from_bytes(n: u32) -> Option<Size> {
        match n {
            1 => Some(Size::B),
            2 => Some(Size::H),
            4 => Some(Size::W),
            8 => Some(Size::DW),
            _ => None,
        }
    }

    /// The C type name the kernel and llvm print: `u8`, `u16`, `u32`, `u64`.
    pub const fn c_unsigned(self) -> &'static str {
        match self {
            Size::B => "u8",
            Size::H => "u16",
            Size::W => "u32",
            Size::DW => "u64",
        }
    }

    /// The signed C type name: `s8`, `s16`, `s32`, `s64`.
    pub const fn c_signed(self) -> &'static str {
        match self {
            Size::B => "s8",
            Size::H => "s16",
            Size::W => "s32",
            Size::DW => "s64",
        }
    }
}

/// The second operand of ALU, jump and store instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operand {
    /// `BPF_X`: a register.
    Reg(Reg),
    /// `BPF_K`: the 32-bit immediate (sign-extended to 64 bits where the
    /// operation is 64-bit).
    Imm(i32),
}

/// Binary ALU operations (`dst = dst op src`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AluOp {
    #[doc(alias = "BPF_ADD")]
    Add,
    #[doc(alias = "BPF_SUB")]
    Sub,
    #[doc(alias = "BPF_MUL")]
    Mul,
    /// Unsigned division; by zero gives 0.
    #[doc(alias = "BPF_DIV")]
    Div,
    /// Signed division (`BPF_DIV` with `off = 1`, cpu v4); by zero gives 0.
    SDiv,
    #[doc(alias = "BPF_OR")]
    Or,
    #[doc(alias = "BPF_AND")]
    And,
    /// Shift left; the count is masked to the width.
    #[doc(alias = "BPF_LSH")]
    Lsh,
    /// Logical shift right; the count is masked to the width.
    #[doc(alias = "BPF_RSH")]
    Rsh,
    /// Unsigned modulo; by zero leaves `dst` unchanged.
    #[doc(alias = "BPF_MOD")]
    Mod,
    /// Signed modulo (`BPF_MOD` with `off = 1`, cpu v4); by zero leaves `dst`.
    SMod,
    #[doc(alias = "BPF_XOR")]
    Xor,
    #[doc(alias = "BPF_MOV")]
    Mov,
    /// Arithmetic shift right; the count is masked to the width.
    #[doc(alias = "BPF_ARSH")]
    Arsh,
}

impl AluOp {
    /// Every binary ALU operation.
    pub const ALL: [AluOp; 14] = [
        AluOp::Add,
        AluOp::Sub,
        AluOp::Mul,
        AluOp::Div,
        AluOp::SDiv,
        AluOp::Or,
        AluOp::And,
        AluOp::Lsh,
        AluOp::Rsh,
        AluOp::Mod,
        AluOp::SMod,
        AluOp::Xor,
        AluOp::Mov,
        AluOp::Arsh,
    ];
}

/// Byte-order operations (`BPF_END`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `BPF_ALU | BPF_END | BPF_TO_LE`: convert to little endian
    /// (on our little-endian hosts: truncate/zero-extend to `bits`).
    ToLe,
    /// `BPF_ALU | BPF_END | BPF_TO_BE`: convert to big endian (swap).
    ToBe,
    /// `BPF_ALU64 | BPF_END` (cpu v4): unconditional byte swap.
    Swap,
}

/// Conditions of conditional jumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JmpCond {
    #[doc(alias = "BPF_JEQ")]
    Eq,
    #[doc(alias = "BPF_JGT")]
    Gt,
    #[doc(alias = "BPF_JGE")]
    Ge,
    /// `dst & src != 0`
    #[doc(alias = "BPF_JSET")]
    Set,
    #[doc(alias = "BPF_JNE")]
    Ne,
    #[doc(alias = "BPF_JSGT")]
    Sgt,
    #[doc(alias = "BPF_JSGE")]
    Sge,
    #[doc(alias = "BPF_JLT")]
    Lt,
    #[doc(alias = "BPF_JLE")]
    Le,
    #[doc(alias = "BPF_JSLT")]
    Slt,
    #[doc(alias = "BPF_JSLE")]
    Sle,
}

impl JmpCond {
    /// Every condition.
    pub const ALL: [JmpCond; 11] = [
        JmpCond::Eq,
        JmpCond::Gt,
        JmpCond::Ge,
        JmpCond::Set,
        JmpCond::Ne,
        JmpCond::Sgt,
        JmpCond::Sge,
        JmpCond::Lt,
        JmpCond::Le,
        JmpCond::Slt,
        JmpCond::Sle,
    ];

    /// The condition that holds exactly when `self` does not.
    pub const fn negate(self) -> JmpCond {
        match self {
            JmpCond::Eq => JmpCond::Ne,
            JmpCond::Ne => JmpCond::Eq,
            JmpCond::Gt => JmpCond::Le,
            JmpCond::Le => JmpCond::Gt,
            JmpCond::Ge => JmpCond::Lt,
            JmpCond::Lt => JmpCond::Ge,
            JmpCond::Sgt => JmpCond::Sle,
            JmpCond::Sle => JmpCond::Sgt,
            JmpCond::Sge => JmpCond::Slt,
            JmpCond::Slt => JmpCond::Sge,
            // `jset` has no negated opcode; callers special-case it.
            JmpCond::Set => JmpCond::Set,
        }
    }

    /// The condition with operands swapped (`a < b` ⇔ `b > a`).
    pub const fn swap(self) -> JmpCond {
        match self {
            JmpCond::Gt => JmpCond::Lt,
            JmpCond::Lt => JmpCond::Gt,
            JmpCond::Ge => JmpCond::Le,
            JmpCond::Le => JmpCond::Ge,
            JmpCond::Sgt => JmpCond::Slt,
            JmpCond::Slt => JmpCond::Sgt,
            JmpCond::Sge => JmpCond::Sle,
            JmpCond::Sle => JmpCond::Sge,
            c => c,
        }
    }

    /// Whether the comparison is signed.
    pub const fn is_signed(self) -> bool {
        matches!(
            self,
            JmpCond::Sgt | JmpCond::Sge | JmpCond::Slt | JmpCond::Sle
        )
    }

    /// Evaluates the condition on two 64-bit values (for [`Width::W32`] pass
    /// the low 32 bits, sign-extended for signed conditions — see
    /// [`JmpCond::eval_width`]).
    #[inline]
    pub const fn eval64(self, a: u64, b: u64) -> bool {
        match self {
            JmpCond::Eq => a == b,
            JmpCond::Ne => a != b,
            JmpCond::Gt => a > b,
            JmpCond::Ge => a >= b,
            JmpCond::Lt => a < b,
            JmpCond::Le => a <= b,
            JmpCond::Set => a & b != 0,
            JmpCond::Sgt => (a as i64) > (b as i64),
            JmpCond::Sge => (a as i64) >= (b as i64),
            JmpCond::Slt => (a as i64) < (b as i64),
            JmpCond::Sle => (a as i64) <= (b as i64),
        }
    }

    /// Evaluates the condition at the given width.
    #[inline]
    pub const fn eval_width(self, width: Width, a: u64, b: u64) -> bool {
        match width {
            Width::W64 => self.eval64(a, b),
            Width::W32 => {
                if self.is_signed() {
                    self.eval64(a as i32 as i64 as u64, b as i32 as i64 as u64)
                } else {
                    self.eval64(a as u32 as u64, b as u32 as u64)
                }
            }
        }
    }
}

/// Atomic read-modify-write operations (`BPF_STX | BPF_ATOMIC`, op in `imm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    /// `*(dst + off) op= src`; with `fetch`, `src` receives the old value.
    Add {
        fetch: bool,
    },
    Or {
        fetch: bool,
    },
    And {
        fetch: bool,
    },
    Xor {
        fetch: bool,
    },
    /// `src = xchg(dst + off, src)`.
    #[doc(alias = "BPF_XCHG")]
    Xchg,
    /// `r0 = cmpxchg(dst + off, r0, src)`.
    #[doc(alias = "BPF_CMPXCHG")]
    Cmpxchg,
}

impl AtomicOp {
    /// Every atomic operation.
    pub const ALL: [AtomicOp; 10] = [
        AtomicOp::Add { fetch: false },
        AtomicOp::Add { fetch: true },
        AtomicOp::Or { fetch: false },
        AtomicOp::Or { fetch: true },
        AtomicOp::And { fetch: false },
        AtomicOp::And { fetch: true },
        AtomicOp::Xor { fetch: false },
        AtomicOp::Xor { fetch: true },
        AtomicOp::Xchg,
        AtomicOp::Cmpxchg,
    ];

    /// Whether the old value is written back to a register.
    pub const fn fetches(self) -> bool {
        match self {
            AtomicOp::Add { fetch }
            | AtomicOp::Or { fetch }
            | AtomicOp::And { fetch }
            | AtomicOp::Xor { fetch } => fetch,
            AtomicOp::Xchg | AtomicOp::Cmpxchg => true,
        }
    }
}

/// What a 16-byte `lddw` loads, keyed by its `src_reg` (`BPF_PSEUDO_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadImm {
    /// `src = 0`: a plain 64-bit constant.
    Imm(u64),
    /// `BPF_PSEUDO_MAP_FD`: pointer to the map with this fd.
    MapFd(i32),
    /// `BPF_PSEUDO_MAP_VALUE`: pointer `off` bytes into the (single) value
    /// of the map with this fd — global data.
    MapValue { fd: i32, off: u32 },
    /// `BPF_PSEUDO_BTF_ID`: address of a kernel variable (ksym) by BTF id;
    /// `module` is the fd of the module's BTF (second slot's imm), 0 for vmlinux.
    BtfId { id: i32, module: i32 },
    /// `BPF_PSEUDO_FUNC`: address of the subprogram at `pc + 1 + rel`.
    Func { rel: i32 },
    /// `BPF_PSEUDO_MAP_IDX`: pointer to the map at `fd_array[idx]`.
    MapIdx(i32),
    /// `BPF_PSEUDO_MAP_IDX_VALUE`: pointer into the value of `fd_array[idx]`.
    MapIdxValue { idx: i32, off: u32 },
}

/// Legacy packet loads (`BPF_LD | BPF_ABS/BPF_IND`): `r0 = ntoh(*(size *)
/// (skb->data + [src +] imm))`, with implicit `r6` as the skb context and
/// the program exiting with 0 when out of bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketMode {
    /// `BPF_ABS`: at offset `imm`.
    Abs,
    /// `BPF_IND`: at offset `src + imm`.
    Ind(Reg),
}

/// The target of `call` with an immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallTarget {
    /// `src = 0`: helper by number.
    Helper(i32),
    /// `src = BPF_PSEUDO_CALL`: bpf-to-bpf call to `pc + 1 + rel`.
    Local { rel: i32 },
    /// `src = BPF_PSEUDO_KFUNC_CALL`: kernel function by BTF id; `module` is
    /// the index into `fd_array` of the module BTF (the `off` field), 0 for
    /// vmlinux.
    Kfunc { btf_id: i32, module: i16 },
}

/// How a `callx` encodes its register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallxEncoding {
    /// In `dst_reg`, as LLVM ≥ 17 and the conformance suite encode it.
    Dst,
    /// In `imm`, as older LLVM encoded it (seed 001: `8d 00 00 00 02 …`).
    Imm,
}

/// A decoded eBPF instruction.
///
/// Jump and call offsets are kept as written (relative to the next slot);
/// see [`Insn::branch_target`] for the absolute target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Insn {
    /// `dst = dst op src` (32-bit results zero-extend to 64).
    Alu {
        width: Width,
        op: AluOp,
        dst: Reg,
        src: Operand,
    },
    /// `dst = -dst`.
    #[doc(alias = "BPF_NEG")]
    Neg { width: Width, dst: Reg },
    /// `dst = (s8|s16|s32) src`, sign-extending the low `bits` of `src`
    /// (cpu v4 `movsx`; `bits` is 8 or 16 at 32-bit width, 8/16/32 at 64).
    MovSx {
        width: Width,
        dst: Reg,
        src: Reg,
        bits: u8,
    },
    /// Byte-order conversion of the low `bits` (16, 32 or 64) of `dst`.
    #[doc(alias = "BPF_END")]
    Endian {
        order: ByteOrder,
        dst: Reg,
        bits: u8,
    },
    /// `dst = imm64` or a pseudo form (two slots).
    #[doc(alias = "lddw")]
    LoadImm64 { dst: Reg, imm: LoadImm },
    /// Legacy packet load into `r0`.
    LoadPacket {
        mode: PacketMode,
        size: Size,
        imm: i32,
    },
    /// `dst = *(size *)(src + off)`, sign-extending with `signed` (cpu v4
    /// `BPF_MEMSX`).
    Load {
        size: Size,
        signed: bool,
        dst: Reg,
        src: Reg,
        off: i16,
    },
    /// `*(size *)(dst + off) = src` (`BPF_STX`) or `= imm` (`BPF_ST`).
    Store {
        size: Size,
        dst: Reg,
        off: i16,
        src: Operand,
    },
    /// Atomic read-modify-write on `*(size *)(dst + off)` (size W or DW).
    Atomic {
        size: Size,
        op: AtomicOp,
        dst: Reg,
        src: Reg,
        off: i16,
    },
    /// Unconditional jump: `BPF_JMP | BPF_JA` with a 16-bit `off`, or
    /// `BPF_JMP32 | BPF_JA` (`gotol`, cpu v4) with a 32-bit `imm`.
    Ja { off: i32, long: bool },
    /// `if dst cond src goto pc + 1 + off`.
    Jump {
        width: Width,
        cond: JmpCond,
        dst: Reg,
        src: Operand,
        off: i16,
    },
    /// `call imm`.
    Call(CallTarget),
    /// `callx reg`: indirect call through a register holding a subprogram
    /// address (seed 001).
    CallX { reg: Reg, encoding: CallxEncoding },
    /// Return `r0` from the current frame.
    Exit,
}

impl Insn {
    /// Number of 8-byte slots the instruction occupies (2 for `lddw`).
    pub const fn slots(&self) -> usize {
        match self {
            Insn::LoadImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// For jumps and local calls at `pc`: the absolute slot index they go to.
    /// `None` for other instructions. Can be out of range (negative or past
    /// the end) for malformed programs; callers check.
    pub fn branch_target(&self, pc: usize) -> Option<i64> {
        let next = pc as i64 + 1;
        match *self {
            Insn::Ja { off, .. } => Some(next + off as i64),
            Insn::Jump { off, .. } => Some(next + off as i64),
            Insn::Call(CallTarget::Local { rel }) => Some(next + rel as i64),
            Insn::LoadImm64 {
                imm: LoadImm::Func { rel },
                ..
            } => Some(next + rel as i64),
            _ => None,
        }
    }

    /// Whether control never falls through to the next instruction.
    pub const fn is_terminator(&self) -> bool {
        matches!(self, Insn::Exit | Insn::Ja { .. })
    }

    /// Convenience constructors used by tests and generators.
    pub const fn mov64_imm(dst: Reg, imm: i32) -> Insn {
        Insn::Alu {
            width: Width::W64,
            op: AluOp::Mov,
            dst,
            src: Operand::Imm(imm),
        }
    }

    /// `dst = src` (64-bit).
    pub const fn mov64_reg(dst: Reg, src: Reg) -> Insn {
        Insn::Alu {
            width: Width::W64,
            op: AluOp::Mov,
            dst,
            src: Operand::Reg(src),
        }
    }
}

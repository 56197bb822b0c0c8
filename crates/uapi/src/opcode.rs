//! Opcode bit fields (`BPF_CLASS`, `BPF_SIZE`, `BPF_MODE`, `BPF_OP`, `BPF_SRC`)
//! and the pseudo values carried in `src_reg` and `imm`.
//!
//! Only the `isa` crate should compare opcode bytes; everyone else matches on
//! its typed `Insn`.

// Instruction classes (low 3 bits).
pub const BPF_LD: u8 = 0x00;
pub const BPF_LDX: u8 = 0x01;
pub const BPF_ST: u8 = 0x02;
pub const BPF_STX: u8 = 0x03;
pub const BPF_ALU: u8 = 0x04;
pub const BPF_JMP: u8 = 0x05;
pub const BPF_JMP32: u8 = 0x06;
pub const BPF_ALU64: u8 = 0x07;

/// Mask for the class bits.
pub const fn class(code: u8) -> u8 {
    code & 0x07
}
/// Mask for the size bits of load/store classes.
pub const fn size(code: u8) -> u8 {
    code & 0x18
}
/// Mask for the mode bits of load/store classes.
pub const fn mode(code: u8) -> u8 {
    code & 0xe0
}
/// Mask for the operation bits of ALU/JMP classes.
pub const fn op(code: u8) -> u8 {
    code & 0xf0
}
/// Mask for the source bit of ALU/JMP classes.
pub const fn src(code: u8) -> u8 {
    code & 0x08
}

// Sizes.
pub const BPF_W: u8 = 0x00;
pub const BPF_H: u8 = 0x08;
pub const BPF_B: u8 = 0x10;
pub const BPF_DW: u8 = 0x18;

// Modes.
pub const BPF_IMM: u8 = 0x00;
pub const BPF_ABS: u8 = 0x20;
pub const BPF_IND: u8 = 0x40;
pub const BPF_MEM: u8 = 0x60;
pub const BPF_LEN: u8 = 0x80; // classic BPF only
pub const BPF_MSH: u8 = 0xa0; // classic BPF only
pub const BPF_MEMSX: u8 = 0x80;
pub const BPF_ATOMIC: u8 = 0xc0;

// ALU operations.
pub const BPF_ADD: u8 = 0x00;
pub const BPF_SUB: u8 = 0x10;
pub const BPF_MUL: u8 = 0x20;
pub const BPF_DIV: u8 = 0x30;
pub const BPF_OR: u8 = 0x40;
pub const BPF_AND: u8 = 0x50;
pub const BPF_LSH: u8 = 0x60;
pub const BPF_RSH: u8 = 0x70;
pub const BPF_NEG: u8 = 0x80;
pub const BPF_MOD: u8 = 0x90;
pub const BPF_XOR: u8 = 0xa0;
pub const BPF_MOV: u8 = 0xb0;
pub const BPF_ARSH: u8 = 0xc0;
pub const BPF_END: u8 = 0xd0;

// Jump operations.
pub const BPF_JA: u8 = 0x00;
pub const BPF_JEQ: u8 = 0x10;
pub const BPF_JGT: u8 = 0x20;
pub const BPF_JGE: u8 = 0x30;
pub const BPF_JSET: u8 = 0x40;
pub const BPF_JNE: u8 = 0x50;
pub const BPF_JSGT: u8 = 0x60;
pub const BPF_JSGE: u8 = 0x70;
pub const BPF_CALL: u8 = 0x80;
pub const BPF_EXIT: u8 = 0x90;
pub const BPF_JLT: u8 = 0xa0;
pub const BPF_JLE: u8 = 0xb0;
pub const BPF_JSLT: u8 = 0xc0;
pub const BPF_JSLE: u8 = 0xd0;

// Source operand.
pub const BPF_K: u8 = 0x00;
pub const BPF_X: u8 = 0x08;
/// Byte-order operations reuse the source bit: `BPF_TO_LE` (0) / `BPF_TO_BE` (8).
pub const BPF_TO_LE: u8 = 0x00;
pub const BPF_TO_BE: u8 = 0x08;

// Atomic operations (in `imm`).
pub const BPF_FETCH: i32 = 0x01;
pub const BPF_XCHG: i32 = 0xe0 | BPF_FETCH;
pub const BPF_CMPXCHG: i32 = 0xf0 | BPF_FETCH;

// `src_reg` of `BPF_LD | BPF_IMM | BPF_DW` (lddw).
/// `r = map fd` → map pointer.
pub const BPF_PSEUDO_MAP_FD: u8 = 1;
/// `r = map fd + offset` → pointer into the map's (single) value.
pub const BPF_PSEUDO_MAP_VALUE: u8 = 2;
/// `r = btf variable id` (ksym).
pub const BPF_PSEUDO_BTF_ID: u8 = 3;
/// `r = address of subprogram` (imm = relative insn offset).
pub const BPF_PSEUDO_FUNC: u8 = 4;
/// `r = map by index into fd_array`.
pub const BPF_PSEUDO_MAP_IDX: u8 = 5;
/// `r = map value by index into fd_array`.
pub const BPF_PSEUDO_MAP_IDX_VALUE: u8 = 6;

// `src_reg` of `BPF_JMP | BPF_CALL`.
/// Call to a helper by number (src_reg = 0).
pub const BPF_HELPER_CALL: u8 = 0;
/// bpf-to-bpf call, imm = relative offset.
pub const BPF_PSEUDO_CALL: u8 = 1;
/// Call to a kernel function by BTF id.
pub const BPF_PSEUDO_KFUNC_CALL: u8 = 2;

// Common whole opcodes.
pub const LDDW: u8 = BPF_LD | BPF_IMM | BPF_DW;
pub const CALL: u8 = BPF_JMP | BPF_CALL;
pub const CALLX: u8 = BPF_JMP | BPF_CALL | BPF_X;
pub const EXIT: u8 = BPF_JMP | BPF_EXIT;
pub const JA: u8 = BPF_JMP | BPF_JA;
pub const JA32: u8 = BPF_JMP32 | BPF_JA;

/// Classic BPF (`struct sock_filter`) only: the classes that eBPF reused for
/// `BPF_JMP32` and `BPF_ALU64`, the `BPF_RET` operand and the `BPF_MISC`
/// operations, and the limits of `bpf_check_classic`.
pub mod classic {
    pub const BPF_RET: u16 = 0x06;
    pub const BPF_MISC: u16 = 0x07;
    /// `BPF_RET | BPF_A`: return the accumulator.
    pub const BPF_A: u16 = 0x10;
    /// `BPF_MISC | BPF_TAX`: X = A.
    pub const BPF_TAX: u16 = 0x00;
    /// `BPF_MISC | BPF_TXA`: A = X.
    pub const BPF_TXA: u16 = 0x80;
    /// Words of scratch memory `M[]`.
    pub const BPF_MEMWORDS: u32 = 16;
    /// Longest classic program the kernel accepts.
    pub const BPF_MAXINSNS: usize = 4096;
}

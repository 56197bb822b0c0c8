//! Bytes → [`Insn`]: the only place in oxbpf that reads opcode bits.
//!
//! The checks are the kernel's (`check_alu_op`, `do_check`,
//! `resolve_pseudo_ldimm64`): unknown opcodes, registers above r10 and any
//! non-zero field an instruction does not use are refused, each with the
//! instruction index and the kernel's wording.

use crate::insn::*;
use crate::raw::RawInsn;
use uapi::opcode::*;

/// Why an instruction could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// No instruction has this opcode.
    UnknownOpcode { code: u8 },
    /// A register field names a register above r10.
    InvalidRegister { reg: u8 },
    /// A field the instruction does not use is not zero. `class` is the
    /// kernel's name for the instruction group (`BPF_ALU`, `BPF_LDX`, …).
    ReservedField {
        class: &'static str,
        field: &'static str,
    },
    /// An immediate or offset has a value the instruction does not define
    /// (e.g. `be` with 24 bits, an unknown atomic op, `movsx` with off 7).
    InvalidValue {
        class: &'static str,
        field: &'static str,
        value: i64,
    },
    /// `lddw` is the last slot or its second slot is malformed.
    InvalidLdImm64,
    /// The byte string does not end on an instruction boundary.
    TrailingBytes { len: usize },
}

/// An instruction that could not be decoded, with its slot index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Slot index of the instruction (`insn N` in kernel messages).
    pub pc: usize,
    pub kind: DecodeErrorKind,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pc = self.pc;
        match &self.kind {
            DecodeErrorKind::UnknownOpcode { code } => {
                write!(f, "insn {pc}: unknown opcode {code:02x}")
            }
            DecodeErrorKind::InvalidRegister { reg } => {
                write!(f, "insn {pc}: R{reg} is invalid")
            }
            DecodeErrorKind::ReservedField { class, field } => {
                write!(
                    f,
                    "insn {pc}: {class} uses reserved fields ({field} must be 0)"
                )
            }
            DecodeErrorKind::InvalidValue {
                class,
                field,
                value,
            } => write!(f, "insn {pc}: invalid {class} {field} {value}"),
            DecodeErrorKind::InvalidLdImm64 => {
                write!(f, "insn {pc}: invalid bpf_ld_imm64 insn")
            }
            DecodeErrorKind::TrailingBytes { len } => write!(
                f,
                "program length {len} is not a multiple of 8 (insn {pc} is truncated)"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

struct Ctx<'a> {
    pc: usize,
    raw: &'a RawInsn,
    class: &'static str,
}

impl Ctx<'_> {
    fn err(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { pc: self.pc, kind }
    }
    fn reserved(&self, field: &'static str) -> DecodeError {
        self.err(DecodeErrorKind::ReservedField {
            class: self.class,
            field,
        })
    }
    fn invalid(&self, field: &'static str, value: i64) -> DecodeError {
        self.err(DecodeErrorKind::InvalidValue {
            class: self.class,
            field,
            value,
        })
    }
    fn reg(&self, n: u8) -> Result<Reg, DecodeError> {
        Reg::new(n).ok_or_else(|| self.err(DecodeErrorKind::InvalidRegister { reg: n }))
    }
    fn dst(&self) -> Result<Reg, DecodeError> {
        self.reg(self.raw.dst)
    }
    fn src(&self) -> Result<Reg, DecodeError> {
        self.reg(self.raw.src)
    }
    fn zero_dst(&self) -> Result<(), DecodeError> {
        if self.raw.dst != 0 {
            return Err(self.reserved("dst_reg"));
        }
        Ok(())
    }
    fn zero_src(&self) -> Result<(), DecodeError> {
        if self.raw.src != 0 {
            return Err(self.reserved("src_reg"));
        }
        Ok(())
    }
    fn zero_off(&self) -> Result<(), DecodeError> {
        if self.raw.off != 0 {
            return Err(self.reserved("off"));
        }
        Ok(())
    }
    fn zero_imm(&self) -> Result<(), DecodeError> {
        if self.raw.imm != 0 {
            return Err(self.reserved("imm"));
        }
        Ok(())
    }
}

fn size_of(code: u8) -> Size {
    match uapi::opcode::size(code) {
        BPF_W => Size::W,
        BPF_H => Size::H,
        BPF_B => Size::B,
        _ => Size::DW,
    }
}

impl Insn {
    /// Decodes the instruction starting at slot `pc` of `prog`.
    ///
    /// Reads two slots for `lddw`. The error names `pc`.
    pub fn decode(prog: &[RawInsn], pc: usize) -> Result<Insn, DecodeError> {
        let raw = prog.get(pc).ok_or(DecodeError {
            pc,
            kind: DecodeErrorKind::TrailingBytes {
                len: prog.len() * 8,
            },
        })?;
        let code = raw.code;
        match class(code) {
            BPF_ALU | BPF_ALU64 => decode_alu(&Ctx {
                pc,
                raw,
                class: if class(code) == BPF_ALU {
                    "BPF_ALU"
                } else {
                    "BPF_ALU64"
                },
            }),
            BPF_JMP | BPF_JMP32 => decode_jmp(&Ctx {
                pc,
                raw,
                class: "BPF_JMP/JMP32",
            }),
            BPF_LDX => decode_ldx(&Ctx {
                pc,
                raw,
                class: "BPF_LDX",
            }),
            BPF_ST => decode_st(&Ctx {
                pc,
                raw,
                class: "BPF_ST",
            }),
            BPF_STX => decode_stx(&Ctx {
                pc,
                raw,
                class: "BPF_STX",
            }),
            _ => decode_ld(
                prog,
                &Ctx {
                    pc,
                    raw,
                    class: "BPF_LD",
                },
            ),
        }
    }
}

/// Decodes a whole program: every instruction with its slot index.
///
/// The first malformed instruction stops decoding with its index.
pub fn decode_program(prog: &[RawInsn]) -> Result<Vec<(usize, Insn)>, DecodeError> {
    let mut out = Vec::with_capacity(prog.len());
    let mut pc = 0;
    while pc < prog.len() {
        let insn = Insn::decode(prog, pc)?;
        out.push((pc, insn));
        pc += insn.slots();
    }
    Ok(out)
}

/// Decodes a program from its bytes (see [`decode_program`]).
pub fn decode_bytes(bytes: &[u8]) -> Result<Vec<(usize, Insn)>, DecodeError> {
    decode_program(&RawInsn::slice_from_bytes(bytes)?)
}

fn decode_alu(c: &Ctx) -> Result<Insn, DecodeError> {
    let r = c.raw;
    let width = if class(r.code) == BPF_ALU {
        Width::W32
    } else {
        Width::W64
    };
    let dst = c.dst()?;
    let is_reg = src(r.code) == BPF_X;
    let operand = || -> Result<Operand, DecodeError> {
        if is_reg {
            c.zero_imm()?;
            Ok(Operand::Reg(c.src()?))
        } else {
            c.zero_src()?;
            Ok(Operand::Imm(r.imm))
        }
    };
    let op = match op(r.code) {
        BPF_ADD => AluOp::Add,
        BPF_SUB => AluOp::Sub,
        BPF_MUL => AluOp::Mul,
        BPF_OR => AluOp::Or,
        BPF_AND => AluOp::And,
        BPF_LSH => AluOp::Lsh,
        BPF_RSH => AluOp::Rsh,
        BPF_XOR => AluOp::Xor,
        BPF_ARSH => AluOp::Arsh,
        BPF_DIV | BPF_MOD => {
            let signed = match r.off {
                0 => false,
                1 => true,
                o => return Err(c.invalid("off", o as i64)),
            };
            let op = match (op(r.code) == BPF_DIV, signed) {
                (true, false) => AluOp::Div,
                (true, true) => AluOp::SDiv,
                (false, false) => AluOp::Mod,
                (false, true) => AluOp::SMod,
            };
            return Ok(Insn::Alu {
                width,
                op,
                dst,
                src: operand()?,
            });
        }
        BPF_MOV => {
            if is_reg && r.off != 0 {
                let bits = r.off;
                let ok = match width {
                    Width::W32 => bits == 8 || bits == 16,
                    Width::W64 => bits == 8 || bits == 16 || bits == 32,
                };
                if !ok {
                    return Err(c.invalid("off", bits as i64));
                }
                c.zero_imm()?;
                return Ok(Insn::MovSx {
                    width,
                    dst,
                    src: c.src()?,
                    bits: bits as u8,
                });
            }
            AluOp::Mov
        }
        BPF_NEG => {
            if is_reg {
                return Err(c.err(DecodeErrorKind::UnknownOpcode { code: r.code }));
            }
            c.zero_src()?;
            c.zero_off()?;
            c.zero_imm()?;
            return Ok(Insn::Neg { width, dst });
        }
        BPF_END => {
            let order = match (width, is_reg) {
                (Width::W32, false) => ByteOrder::ToLe,
                (Width::W32, true) => ByteOrder::ToBe,
                (Width::W64, false) => ByteOrder::Swap,
                (Width::W64, true) => {
                    return Err(c.err(DecodeErrorKind::UnknownOpcode { code: r.code }))
                }
            };
            c.zero_src()?;
            c.zero_off()?;
            if !matches!(r.imm, 16 | 32 | 64) {
                return Err(c.invalid("imm", r.imm as i64));
            }
            return Ok(Insn::Endian {
                order,
                dst,
                bits: r.imm as u8,
            });
        }
        _ => return Err(c.err(DecodeErrorKind::UnknownOpcode { code: r.code })),
    };
    c.zero_off()?;
    Ok(Insn::Alu {
        width,
        op,
        dst,
        src: operand()?,
    })
}

fn decode_jmp(c: &Ctx) -> Result<Insn, DecodeError> {
    let r = c.raw;
    let width = if class(r.code) == BPF_JMP32 {
        Width::W32
    } else {
        Width::W64
    };
    let is_reg = src(r.code) == BPF_X;
    let cond = match op(r.code) {
        BPF_JA => {
            if is_reg {
                return Err(c.err(DecodeErrorKind::UnknownOpcode { code: r.code }));
            }
            let c = Ctx {
                class: "BPF_JA",
                ..*c
            };
            c.zero_dst()?;
            c.zero_src()?;
            return match width {
                Width::W64 => {
                    c.zero_imm()?;
                    Ok(Insn::Ja {
                        off: r.off as i32,
                        long: false,
                    })
                }
                Width::W32 => {
                    c.zero_off()?;
                    Ok(Insn::Ja {
                        off: r.imm,
                        long: true,
                    })
                }
            };
        }
        BPF_CALL if width == Width::W64 => return decode_call(c, is_reg),
        BPF_EXIT if width == Width::W64 && !is_reg => {
            let c = Ctx {
                class: "BPF_EXIT",
                ..*c
            };
            c.zero_dst()?;
            c.zero_src()?;
            c.zero_off()?;
            c.zero_imm()?;
            return Ok(Insn::Exit);
        }
        BPF_JEQ => JmpCond::Eq,
        BPF_JGT => JmpCond::Gt,
        BPF_JGE => JmpCond::Ge,
        BPF_JSET => JmpCond::Set,
        BPF_JNE => JmpCond::Ne,
        BPF_JSGT => JmpCond::Sgt,
        BPF_JSGE => JmpCond::Sge,
        BPF_JLT => JmpCond::Lt,
        BPF_JLE => JmpCond::Le,
        BPF_JSLT => JmpCond::Slt,
        BPF_JSLE => JmpCond::Sle,
        _ => return Err(c.err(DecodeErrorKind::UnknownOpcode { code: r.code })),
    };
    let dst = c.dst()?;
    let src = if is_reg {
        c.zero_imm()?;
        Operand::Reg(c.src()?)
    } else {
        c.zero_src()?;
        Operand::Imm(r.imm)
    };
    Ok(Insn::Jump {
        width,
        cond,
        dst,
        src,
        off: r.off,
    })
}

fn decode_call(c: &Ctx, is_reg: bool) -> Result<Insn, DecodeError> {
    let r = c.raw;
    let c = Ctx {
        class: "BPF_CALL",
        ..*c
    };
    if is_reg {
        c.zero_src()?;
        c.zero_off()?;
        // LLVM ≥ 17 puts the register in dst_reg; older LLVM put it in imm.
        return if r.dst != 0 || r.imm == 0 {
            c.zero_imm()?;
            Ok(Insn::CallX {
                reg: c.dst()?,
                encoding: CallxEncoding::Dst,
            })
        } else {
            let reg = u8::try_from(r.imm)
                .ok()
                .and_then(Reg::new)
                .ok_or_else(|| c.invalid("imm", r.imm as i64))?;
            Ok(Insn::CallX {
                reg,
                encoding: CallxEncoding::Imm,
            })
        };
    }
    c.zero_dst()?;
    let target = match r.src {
        BPF_HELPER_CALL => {
            c.zero_off()?;
            CallTarget::Helper(r.imm)
        }
        BPF_PSEUDO_CALL => {
            c.zero_off()?;
            CallTarget::Local { rel: r.imm }
        }
        BPF_PSEUDO_KFUNC_CALL => CallTarget::Kfunc {
            btf_id: r.imm,
            module: r.off,
        },
        s => return Err(c.invalid("src_reg", s as i64)),
    };
    Ok(Insn::Call(target))
}

fn decode_ldx(c: &Ctx) -> Result<Insn, DecodeError> {
    let r = c.raw;
    let signed = match mode(r.code) {
        BPF_MEM => false,
        BPF_MEMSX if size(r.code) != BPF_DW => true,
        _ => return Err(c.err(DecodeErrorKind::UnknownOpcode { code: r.code })),
    };
    c.zero_imm()?;
    Ok(Insn::Load {
        size: size_of(r.code),
        signed,
        dst: c.dst()?,
        src: c.src()?,
        off: r.off,
    })
}

fn decode_st(c: &Ctx) -> Result<Insn, DecodeError> {
    let r = c.raw;
    if mode(r.code) != BPF_MEM {
        return Err(c.err(DecodeErrorKind::UnknownOpcode { code: r.code }));
    }
    c.zero_src()?;
    Ok(Insn::Store {
        size: size_of(r.code),
        dst: c.dst()?,
        off: r.off,
        src: Operand::Imm(r.imm),
    })
}

fn decode_stx(c: &Ctx) -> Result<Insn, DecodeError> {
    let r = c.raw;
    match mode(r.code) {
        BPF_MEM => {
            c.zero_imm()?;
            Ok(Insn::Store {
                size: size_of(r.code),
                dst: c.dst()?,
                off: r.off,
                src: Operand::Reg(c.src()?),
            })
        }
        BPF_ATOMIC if matches!(size(r.code), BPF_W | BPF_DW) => {
            let fetch = r.imm & BPF_FETCH != 0;
            let op = match r.imm {
                BPF_XCHG => AtomicOp::Xchg,
                BPF_CMPXCHG => AtomicOp::Cmpxchg,
                i if i & !BPF_FETCH == BPF_ADD as i32 => AtomicOp::Add { fetch },
                i if i & !BPF_FETCH == BPF_OR as i32 => AtomicOp::Or { fetch },
                i if i & !BPF_FETCH == BPF_AND as i32 => AtomicOp::And { fetch },
                i if i & !BPF_FETCH == BPF_XOR as i32 => AtomicOp::Xor { fetch },
                i => {
                    return Err(Ctx {
                        class: "BPF_ATOMIC",
                        ..*c
                    }
                    .invalid("imm", i as i64))
                }
            };
            Ok(Insn::Atomic {
                size: size_of(r.code),
                op,
                dst: c.dst()?,
                src: c.src()?,
                off: r.off,
            })
        }
        _ => Err(c.err(DecodeErrorKind::UnknownOpcode { code: r.code })),
    }
}

fn decode_ld(prog: &[RawInsn], c: &Ctx) -> Result<Insn, DecodeError> {
    let r = c.raw;
    match (mode(r.code), size(r.code)) {
        (BPF_IMM, BPF_DW) => decode_lddw(prog, c),
        (BPF_ABS | BPF_IND, BPF_W | BPF_H | BPF_B) => {
            let c = Ctx {
                class: "BPF_LD_[ABS|IND]",
                ..*c
            };
            c.zero_dst()?;
            c.zero_off()?;
            let mode = if uapi::opcode::mode(r.code) == BPF_ABS {
                c.zero_src()?;
                PacketMode::Abs
            } else {
                PacketMode::Ind(c.src()?)
            };
            Ok(Insn::LoadPacket {
                mode,
                size: size_of(r.code),
                imm: r.imm,
            })
        }
        _ => Err(c.err(DecodeErrorKind::UnknownOpcode { code: r.code })),
    }
}

fn decode_lddw(prog: &[RawInsn], c: &Ctx) -> Result<Insn, DecodeError> {
    let r = c.raw;
    let bad = || c.err(DecodeErrorKind::InvalidLdImm64);
    let hi = prog.get(c.pc + 1).ok_or_else(bad)?;
    if hi.code != 0 || hi.dst != 0 || hi.src != 0 || hi.off != 0 {
        return Err(bad());
    }
    c.zero_off()?;
    let dst = c.dst()?;
    let lo = r.imm as u32 as u64;
    let imm = match r.src {
        0 => LoadImm::Imm(lo | ((hi.imm as u32 as u64) << 32)),
        BPF_PSEUDO_MAP_FD | BPF_PSEUDO_MAP_IDX | BPF_PSEUDO_FUNC if hi.imm != 0 => {
            return Err(bad())
        }
        BPF_PSEUDO_MAP_FD => LoadImm::MapFd(r.imm),
        BPF_PSEUDO_MAP_IDX => LoadImm::MapIdx(r.imm),
        BPF_PSEUDO_FUNC => LoadImm::Func { rel: r.imm },
        BPF_PSEUDO_MAP_VALUE => LoadImm::MapValue {
            fd: r.imm,
            off: hi.imm as u32,
        },
        BPF_PSEUDO_MAP_IDX_VALUE => LoadImm::MapIdxValue {
            idx: r.imm,
            off: hi.imm as u32,
        },
        BPF_PSEUDO_BTF_ID => LoadImm::BtfId {
            id: r.imm,
            module: hi.imm,
        },
        _ => return Err(bad()),
    };
    Ok(Insn::LoadImm64 { dst, imm })
}

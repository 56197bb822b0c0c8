//! `llvm-objdump`'s BPF text, versions 14 and 19.
//!
//! Both print C-like assignments (`r0 += 1`, `*(u32 *)(r10 - 4) = r1`);
//! 19 prints immediates and offsets in hexadecimal and knows the cpu-v4
//! instructions. Version 14 cannot decode `jset`, `mod`, `BPF_ST`, the
//! sign-extending loads, `bswap`, `gotol` and most 32-bit atomics (it prints
//! `<unknown>`), and misreads `sdiv` as `/=`, `movsx` as a plain move, the
//! 32-bit `fetch add` as `lock ... +=` and reads `callx`'s register from
//! `imm`. *Exact* mode reproduces all of that byte for byte (the golden
//! tests compare it with the real tools); *readable* mode prints each of
//! those instructions the way llvm 19 would (in the version's number base),
//! and gives the few encodings no llvm version prints unambiguously (local
//! calls, kfuncs, pseudo `lddw`, the legacy `callx` encoding) spellings our
//! assembler reads back to the same bytes.

use super::kernel::{alu_op_str, atomic_name, atomic_op_str, cond_str, imm64_raw};
use super::{num, rel, UNKNOWN};
use crate::insn::*;

/// Which `llvm-objdump`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V14,
    V19,
}

struct Fmt {
    v: Version,
    exact: bool,
    hex: bool,
}

impl Fmt {
    fn n(&self, v: i64) -> String {
        num(v, self.hex)
    }
    fn rel(&self, v: i64) -> String {
        rel(v, self.hex)
    }
    /// `(r1 + 0x4)` / `(r1 - 4)`: the sign is an operator, spaced.
    fn mem(&self, r: Reg, off: i16) -> String {
        let sign = if off < 0 { '-' } else { '+' };
        format!("({r} {sign} {})", num(i64::from(off).abs(), self.hex))
    }
    /// Whether this is plain llvm 14 emulation (unknowns and misreadings).
    fn old(&self) -> bool {
        self.exact && self.v == Version::V14
    }
}

fn reg(width: Width, r: Reg) -> String {
    match width {
        Width::W32 => format!("w{}", r.n()),
        Width::W64 => format!("r{}", r.n()),
    }
}

/// The text of one instruction (no address, no branch annotation).
pub(crate) fn text(insn: &Insn, v: Version, exact: bool) -> String {
    let f = Fmt {
        v,
        exact,
        hex: v == Version::V19,
    };
    match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => alu(&f, width, op, dst, src),
        Insn::Neg { width, dst } => {
            let d = reg(width, dst);
            format!("{d} = -{d}")
        }
        Insn::MovSx {
            width,
            dst,
            src,
            bits,
        } => {
            if f.old() {
                format!("{} = {}", reg(width, dst), reg(width, src))
            } else {
                format!("{} = (s{bits}){}", reg(width, dst), reg(width, src))
            }
        }
        Insn::Endian { order, dst, bits } => match order {
            ByteOrder::Swap if f.old() => UNKNOWN.to_string(),
            ByteOrder::Swap => format!("{dst} = bswap{bits} {dst}"),
            ByteOrder::ToLe => format!("{dst} = le{bits} {dst}"),
            ByteOrder::ToBe => format!("{dst} = be{bits} {dst}"),
        },
        Insn::LoadImm64 { dst, imm } => lddw(&f, dst, imm),
        Insn::LoadPacket { mode, size, imm } => {
            let ty = size.c_unsigned();
            match mode {
                PacketMode::Abs => format!("r0 = *({ty} *)skb[{}]", f.n(imm.into())),
                // llvm prints no offset for BPF_IND; readable text keeps it.
                PacketMode::Ind(r) if imm == 0 || f.exact => format!("r0 = *({ty} *)skb[{r}]"),
                PacketMode::Ind(r) => format!("r0 = *({ty} *)skb[{r} + {}]", f.n(imm.into())),
            }
        }
        Insn::Load {
            size,
            signed,
            dst,
            src,
            off,
        } => {
            if signed && f.old() {
                return UNKNOWN.to_string();
            }
            let ty = if signed {
                size.c_signed()
            } else {
                size.c_unsigned()
            };
            format!("{dst} = *({ty} *){}", f.mem(src, off))
        }
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => {
            let m = f.mem(dst, off);
            let ty = size.c_unsigned();
            match src {
                Operand::Reg(r) => format!("*({ty} *){m} = {r}"),
                Operand::Imm(_) if f.old() => UNKNOWN.to_string(),
                Operand::Imm(i) => format!("*({ty} *){m} = {}", f.n(i.into())),
            }
        }
        Insn::Atomic {
            size,
            op,
            dst,
            src,
            off,
        } => atomic(&f, size, op, dst, src, off),
        Insn::Ja { off, long: false } => format!("goto {}", f.rel(off.into())),
        Insn::Ja { long: true, .. } if f.old() => UNKNOWN.to_string(),
        Insn::Ja { off, long: true } => format!("gotol {}", f.rel(off.into())),
        Insn::Jump {
            width,
            cond,
            dst,
            src,
            off,
        } => {
            if cond == JmpCond::Set && f.old() {
                return UNKNOWN.to_string();
            }
            let s = match src {
                Operand::Reg(r) => reg(width, r),
                Operand::Imm(i) => f.n(i.into()),
            };
            format!(
                "if {} {} {s} goto {}",
                reg(width, dst),
                cond_str(cond),
                f.rel(off.into())
            )
        }
        Insn::Call(t) => call(&f, t),
        Insn::CallX { reg, encoding } => callx(&f, reg, encoding),
        Insn::Exit => "exit".to_string(),
    }
}

fn alu(f: &Fmt, width: Width, op: AluOp, dst: Reg, src: Operand) -> String {
    let op_s = match op {
        AluOp::Mod | AluOp::SMod if f.old() => return UNKNOWN.to_string(),
        AluOp::SDiv if f.old() => "/=",
        _ => alu_op_str(op),
    };
    let s = match src {
        Operand::Reg(r) => reg(width, r),
        Operand::Imm(i) => f.n(i.into()),
    };
    format!("{} {op_s} {s}", reg(width, dst))
}

fn lddw(f: &Fmt, dst: Reg, imm: LoadImm) -> String {
    if let LoadImm::Imm(v) = imm {
        return format!("{dst} = {} ll", f.n(v as i64));
    }
    let src = pseudo_src(&imm);
    let raw = imm64_raw(&imm);
    let (lo, hi) = (raw as u32, (raw >> 32) as u32);
    let mut s = format!("ld_pseudo\t{dst}, {}, {}", f.n(src.into()), f.n(lo.into()));
    // llvm drops the second slot's imm; keep it where it matters.
    if !f.exact && hi != 0 {
        s.push_str(&format!(", {}", f.n(hi.into())));
    }
    s
}

fn atomic(f: &Fmt, size: Size, op: AtomicOp, dst: Reg, src: Reg, off: i16) -> String {
    let ty = size.c_unsigned();
    let m = f.mem(dst, off);
    if size == Size::W && f.exact {
        // llvm decodes only the 32-bit `add` (ignoring the fetch bit) without
        // `--mattr=+alu32`.
        return match op {
            AtomicOp::Add { .. } => format!("lock *({ty} *){m} += {src}"),
            _ => UNKNOWN.to_string(),
        };
    }
    let (r, ptr_bits) = match size {
        Size::W => (format!("w{}", src.n()), "32_32"),
        _ => (src.to_string(), "_64"),
    };
    let cmp0 = if size == Size::W { "w0" } else { "r0" };
    let m_noparen = &m[1..m.len() - 1];
    match op {
        AtomicOp::Add { fetch: false } => format!("lock *({ty} *){m} += {src}"),
        AtomicOp::Xchg => format!("{r} = xchg{ptr_bits}({m_noparen}, {r})"),
        AtomicOp::Cmpxchg => {
            format!("{cmp0} = cmpxchg{ptr_bits}({m_noparen}, {cmp0}, {r})")
        }
        op if op.fetches() => {
            format!("{r} = atomic_fetch_{}(({ty} *){m}, {r})", atomic_name(op))
        }
        op => format!("lock *({ty} *){m} {} {r}", atomic_op_str(op)),
    }
}

fn call(f: &Fmt, t: CallTarget) -> String {
    match t {
        CallTarget::Helper(id) => format!("call {}", f.n(id.into())),
        CallTarget::Local { rel } if f.exact => format!("call {}", f.n(rel.into())),
        CallTarget::Kfunc { btf_id, .. } if f.exact => format!("call {}", f.n(btf_id.into())),
        CallTarget::Local { rel } => format!("call pc{}", f.rel(rel.into())),
        CallTarget::Kfunc { btf_id, module: 0 } => format!("call kfunc {}", f.n(btf_id.into())),
        CallTarget::Kfunc { btf_id, module } => {
            format!("call kfunc {}, {}", f.n(btf_id.into()), f.n(module.into()))
        }
    }
}

fn callx(f: &Fmt, reg: Reg, encoding: CallxEncoding) -> String {
    match (encoding, f.exact, f.v) {
        // llvm 14 reads the register from imm, llvm 19 from dst_reg.
        (CallxEncoding::Dst, true, Version::V14) => "callx r0".to_string(),
        (CallxEncoding::Imm, true, Version::V19) => "callx r0".to_string(),
        (CallxEncoding::Imm, false, _) => format!("callx {}", reg.n()),
        _ => format!("callx {reg}"),
    }
}

/// The `src_reg` (`BPF_PSEUDO_*`) a pseudo `lddw` carries.
pub(crate) fn pseudo_src(imm: &LoadImm) -> u8 {
    use uapi::opcode::*;
    match imm {
        LoadImm::Imm(_) => 0,
        LoadImm::MapFd(_) => BPF_PSEUDO_MAP_FD,
        LoadImm::MapValue { .. } => BPF_PSEUDO_MAP_VALUE,
        LoadImm::BtfId { .. } => BPF_PSEUDO_BTF_ID,
        LoadImm::Func { .. } => BPF_PSEUDO_FUNC,
        LoadImm::MapIdx(_) => BPF_PSEUDO_MAP_IDX,
        LoadImm::MapIdxValue { .. } => BPF_PSEUDO_MAP_IDX_VALUE,
    }
}

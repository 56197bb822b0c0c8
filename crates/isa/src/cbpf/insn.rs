//! The typed classic instruction: `struct sock_filter` decoded once, with the
//! opcode table of the kernel's `chk_code_allowed` and the per-instruction
//! checks of `bpf_check_classic` that need no position (division by a zero
//! constant, shifts of 32 or more, scratch indexes, unknown ancillary
//! offsets). Checks that need the whole program (jump ranges, the final
//! `ret`, reads of unwritten scratch words) live in `check.rs`.

use super::{InvalidKind, SockFilter};
use crate::Size;
use std::fmt;
use uapi::ctx::skf;
use uapi::opcode::classic::{BPF_A, BPF_MEMWORDS, BPF_MISC, BPF_RET, BPF_TAX, BPF_TXA};
use uapi::opcode::*;

/// The two registers of classic BPF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CReg {
    /// The accumulator.
    A,
    /// The index register.
    X,
}

/// The second operand of ALU and jump instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CSrc {
    /// `BPF_K`: the 32-bit constant.
    K(u32),
    /// `BPF_X`: the index register.
    X,
}

/// Classic ALU operations (`A = A op src`, all 32-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CAluOp {
    #[doc(alias = "BPF_ADD")]
    Add,
    #[doc(alias = "BPF_SUB")]
    Sub,
    #[doc(alias = "BPF_MUL")]
    Mul,
    /// Unsigned division; by zero X the program returns 0.
    #[doc(alias = "BPF_DIV")]
    Div,
    #[doc(alias = "BPF_OR")]
    Or,
    #[doc(alias = "BPF_AND")]
    And,
    #[doc(alias = "BPF_LSH")]
    Lsh,
    #[doc(alias = "BPF_RSH")]
    Rsh,
    /// Unsigned modulo; by zero X the program returns 0.
    #[doc(alias = "BPF_MOD")]
    Mod,
    #[doc(alias = "BPF_XOR")]
    Xor,
}

/// Classic jump conditions (unsigned, `A cond src`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CCond {
    #[doc(alias = "BPF_JEQ")]
    Eq,
    #[doc(alias = "BPF_JGT")]
    Gt,
    #[doc(alias = "BPF_JGE")]
    Ge,
    /// `A & src != 0`
    #[doc(alias = "BPF_JSET")]
    Set,
}

/// What a `BPF_RET` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetVal {
    /// `BPF_RET | BPF_A`.
    A,
    /// `BPF_RET | BPF_K`.
    K(u32),
}

/// The ancillary loads: `ld [SKF_AD_OFF + N]` reads packet metadata instead
/// of packet bytes. The kernel accepts them with any load size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ancillary {
    /// `skb->protocol` in host order (the ethertype).
    #[doc(alias = "SKF_AD_PROTOCOL")]
    Protocol,
    #[doc(alias = "SKF_AD_PKTTYPE")]
    PktType,
    #[doc(alias = "SKF_AD_IFINDEX")]
    IfIndex,
    #[doc(alias = "SKF_AD_NLATTR")]
    NlAttr,
    #[doc(alias = "SKF_AD_NLATTR_NEST")]
    NlAttrNest,
    #[doc(alias = "SKF_AD_MARK")]
    Mark,
    #[doc(alias = "SKF_AD_QUEUE")]
    Queue,
    /// The device type (`ARPHRD_*`).
    #[doc(alias = "SKF_AD_HATYPE")]
    HaType,
    #[doc(alias = "SKF_AD_RXHASH")]
    RxHash,
    #[doc(alias = "SKF_AD_CPU")]
    Cpu,
    /// Not a load: `A ^= X`.
    #[doc(alias = "SKF_AD_ALU_XOR_X")]
    AluXorX,
    #[doc(alias = "SKF_AD_VLAN_TAG")]
    VlanTag,
    #[doc(alias = "SKF_AD_VLAN_TAG_PRESENT")]
    VlanTagPresent,
    #[doc(alias = "SKF_AD_PAY_OFFSET")]
    PayOffset,
    #[doc(alias = "SKF_AD_RANDOM")]
    Random,
    #[doc(alias = "SKF_AD_VLAN_TPID")]
    VlanTpid,
}

impl Ancillary {
    /// Every ancillary load, in `SKF_AD_*` order.
    pub const ALL: [Ancillary; 16] = [
        Ancillary::Protocol,
        Ancillary::PktType,
        Ancillary::IfIndex,
        Ancillary::NlAttr,
        Ancillary::NlAttrNest,
        Ancillary::Mark,
        Ancillary::Queue,
        Ancillary::HaType,
        Ancillary::RxHash,
        Ancillary::Cpu,
        Ancillary::AluXorX,
        Ancillary::VlanTag,
        Ancillary::VlanTagPresent,
        Ancillary::PayOffset,
        Ancillary::Random,
        Ancillary::VlanTpid,
    ];

    /// The `SKF_AD_*` value (to add to `SKF_AD_OFF`).
    pub const fn offset(self) -> i32 {
        match self {
            Ancillary::Protocol => skf::SKF_AD_PROTOCOL,
            Ancillary::PktType => skf::SKF_AD_PKTTYPE,
            Ancillary::IfIndex => skf::SKF_AD_IFINDEX,
            Ancillary::NlAttr => skf::SKF_AD_NLATTR,
            Ancillary::NlAttrNest => skf::SKF_AD_NLATTR_NEST,
            Ancillary::Mark => skf::SKF_AD_MARK,
            Ancillary::Queue => skf::SKF_AD_QUEUE,
            Ancillary::HaType => skf::SKF_AD_HATYPE,
            Ancillary::RxHash => skf::SKF_AD_RXHASH,
            Ancillary::Cpu => skf::SKF_AD_CPU,
            Ancillary::AluXorX => skf::SKF_AD_ALU_XOR_X,
            Ancillary::VlanTag => skf::SKF_AD_VLAN_TAG,
            Ancillary::VlanTagPresent => skf::SKF_AD_VLAN_TAG_PRESENT,
            Ancillary::PayOffset => skf::SKF_AD_PAY_OFFSET,
            Ancillary::Random => skf::SKF_AD_RANDOM,
            Ancillary::VlanTpid => skf::SKF_AD_VLAN_TPID,
        }
    }

    /// The `k` of the load: `SKF_AD_OFF + offset`.
    pub const fn k(self) -> u32 {
        (skf::SKF_AD_OFF + self.offset()) as u32
    }

    /// The ancillary load a `k` names, if any.
    pub fn from_k(k: u32) -> Option<Ancillary> {
        Ancillary::ALL.into_iter().find(|a| a.k() == k)
    }

    /// libpcap's name in `tcpdump -d` listings (`ldh [proto]`).
    pub const fn name(self) -> &'static str {
        match self {
            Ancillary::Protocol => "proto",
            Ancillary::PktType => "type",
            Ancillary::IfIndex => "ifidx",
            Ancillary::NlAttr => "nla",
            Ancillary::NlAttrNest => "nlan",
            Ancillary::Mark => "mark",
            Ancillary::Queue => "queue",
            Ancillary::HaType => "hatype",
            Ancillary::RxHash => "rxhash",
            Ancillary::Cpu => "cpu",
            Ancillary::AluXorX => "xor_x",
            Ancillary::VlanTag => "vlan_tci",
            Ancillary::VlanTagPresent => "vlanp",
            Ancillary::PayOffset => "poff",
            Ancillary::Random => "rand",
            Ancillary::VlanTpid => "vlan_tpid",
        }
    }
}

/// A decoded classic BPF instruction.
///
/// Jump offsets are kept as written (relative to the next instruction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CbpfInsn {
    /// `A = ntoh(*(size *)(pkt + k))` (`BPF_LD | BPF_ABS`); `k` may be a
    /// negative `SKF_NET_OFF`/`SKF_LL_OFF` relative offset.
    LoadAbs { size: Size, k: u32 },
    /// `A = ntoh(*(size *)(pkt + X + k))` (`BPF_LD | BPF_IND`).
    LoadInd { size: Size, k: u32 },
    /// `A = metadata` (`BPF_LD | BPF_ABS` at `SKF_AD_OFF + N`); `size` is
    /// kept for round trips, the kernel ignores it.
    LoadAnc { size: Size, anc: Ancillary },
    /// `dst = skb->len` (`BPF_LEN`).
    LoadLen { dst: CReg },
    /// `dst = k` (`BPF_IMM`).
    LoadImm { dst: CReg, k: u32 },
    /// `dst = M[idx]` (`BPF_MEM`).
    LoadMem { dst: CReg, idx: u32 },
    /// `X = 4 * (pkt[k] & 0xf)` (`BPF_LDX | BPF_B | BPF_MSH`): the IPv4
    /// header length.
    LoadMsh { k: u32 },
    /// `M[idx] = src` (`BPF_ST` stores A, `BPF_STX` stores X).
    Store { src: CReg, idx: u32 },
    /// `A = A op src` (32-bit).
    Alu { op: CAluOp, src: CSrc },
    /// `A = -A`.
    Neg,
    /// `goto pc + 1 + k`.
    Ja { k: u32 },
    /// `if (A cond src) goto pc + 1 + jt else goto pc + 1 + jf`.
    Jump {
        cond: CCond,
        src: CSrc,
        jt: u8,
        jf: u8,
    },
    /// End the program; the value is the number of bytes to keep (0 drops).
    Ret(RetVal),
    /// `X = A`.
    Tax,
    /// `A = X`.
    Txa,
}

const SIZES: [(u16, Size); 3] = [
    (BPF_W as u16, Size::W),
    (BPF_H as u16, Size::H),
    (BPF_B as u16, Size::B),
];

const ALU_OPS: [(u16, CAluOp); 10] = [
    (BPF_ADD as u16, CAluOp::Add),
    (BPF_SUB as u16, CAluOp::Sub),
    (BPF_MUL as u16, CAluOp::Mul),
    (BPF_DIV as u16, CAluOp::Div),
    (BPF_OR as u16, CAluOp::Or),
    (BPF_AND as u16, CAluOp::And),
    (BPF_LSH as u16, CAluOp::Lsh),
    (BPF_RSH as u16, CAluOp::Rsh),
    (BPF_MOD as u16, CAluOp::Mod),
    (BPF_XOR as u16, CAluOp::Xor),
];

const CONDS: [(u16, CCond); 4] = [
    (BPF_JEQ as u16, CCond::Eq),
    (BPF_JGT as u16, CCond::Gt),
    (BPF_JGE as u16, CCond::Ge),
    (BPF_JSET as u16, CCond::Set),
];

fn size_bits(size: Size) -> u16 {
    SIZES
        .iter()
        .find(|(_, s)| *s == size)
        .map_or(0, |(b, _)| *b)
}

fn reg_class(r: CReg, a: u8, x: u8) -> u16 {
    match r {
        CReg::A => a as u16,
        CReg::X => x as u16,
    }
}

fn src_k(src: CSrc) -> (u16, u32) {
    match src {
        CSrc::K(k) => (BPF_K as u16, k),
        CSrc::X => (BPF_X as u16, 0),
    }
}

impl CbpfInsn {
    /// Decodes one `sock_filter`, refusing what `bpf_check_classic` refuses
    /// about a single instruction. Fields the instruction does not use
    /// (`jt`/`jf` outside conditional jumps, `k` of `tax`) are ignored, as
    /// the kernel ignores them.
    pub fn decode(f: SockFilter) -> Result<CbpfInsn, InvalidKind> {
        let code = f.code;
        let unknown = InvalidKind::UnknownOpcode { code };
        if code > 0xff {
            return Err(unknown);
        }
        let class = code & 0x07;
        let size = SIZES.iter().find(|(b, _)| *b == code & 0x18).map(|p| p.1);
        let mode = code & 0xe0;
        let k = f.k;
        let insn = match class as u8 {
            BPF_LD | BPF_LDX => {
                let dst = if class as u8 == BPF_LD {
                    CReg::A
                } else {
                    CReg::X
                };
                Self::decode_load(code, dst, size, mode, k).ok_or(unknown)?
            }
            BPF_ST | BPF_STX if code == class => CbpfInsn::Store {
                src: if class as u8 == BPF_ST {
                    CReg::A
                } else {
                    CReg::X
                },
                idx: k,
            },
            BPF_ALU => Self::decode_alu(code, k).ok_or(unknown)?,
            BPF_JMP => Self::decode_jump(code, f).ok_or(unknown)?,
            _ if code == BPF_RET | BPF_K as u16 => CbpfInsn::Ret(RetVal::K(k)),
            _ if code == BPF_RET | BPF_A => CbpfInsn::Ret(RetVal::A),
            _ if code == BPF_MISC | BPF_TAX => CbpfInsn::Tax,
            _ if code == BPF_MISC | BPF_TXA => CbpfInsn::Txa,
            _ => return Err(unknown),
        };
        insn.check_operands()?;
        Ok(insn)
    }

    fn decode_load(code: u16, dst: CReg, size: Option<Size>, mode: u16, k: u32) -> Option<Self> {
        let size_bits = code & 0x18;
        Some(match (dst, mode as u8) {
            (CReg::A, BPF_ABS) => match Ancillary::from_k(k) {
                Some(anc) => CbpfInsn::LoadAnc { size: size?, anc },
                None => CbpfInsn::LoadAbs { size: size?, k },
            },
            (CReg::A, BPF_IND) => CbpfInsn::LoadInd { size: size?, k },
            (_, BPF_LEN) if size_bits == BPF_W as u16 => CbpfInsn::LoadLen { dst },
            (_, BPF_IMM) if size_bits == BPF_W as u16 => CbpfInsn::LoadImm { dst, k },
            (_, BPF_MEM) if size_bits == BPF_W as u16 => CbpfInsn::LoadMem { dst, idx: k },
            (CReg::X, BPF_MSH) if size_bits == BPF_B as u16 => CbpfInsn::LoadMsh { k },
            _ => return None,
        })
    }

    fn decode_alu(code: u16, k: u32) -> Option<Self> {
        let op = code & 0xf0;
        if op == BPF_NEG as u16 {
            return (code == BPF_ALU as u16 | BPF_NEG as u16).then_some(CbpfInsn::Neg);
        }
        let op = ALU_OPS.iter().find(|(b, _)| *b == op)?.1;
        let src = if code & 0x08 != 0 {
            CSrc::X
        } else {
            CSrc::K(k)
        };
        Some(CbpfInsn::Alu { op, src })
    }

    fn decode_jump(code: u16, f: SockFilter) -> Option<Self> {
        let op = code & 0xf0;
        if op == BPF_JA as u16 {
            // `BPF_JA | BPF_X` (0x0d) is not in the kernel's table.
            return (code == BPF_JMP as u16).then_some(CbpfInsn::Ja { k: f.k });
        }
        let cond = CONDS.iter().find(|(b, _)| *b == op)?.1;
        let src = if code & 0x08 != 0 {
            CSrc::X
        } else {
            CSrc::K(f.k)
        };
        Some(CbpfInsn::Jump {
            cond,
            src,
            jt: f.jt,
            jf: f.jf,
        })
    }

    /// The operand checks of `bpf_check_classic`.
    fn check_operands(&self) -> Result<(), InvalidKind> {
        match *self {
            CbpfInsn::Alu {
                op: CAluOp::Div | CAluOp::Mod,
                src: CSrc::K(0),
            } => Err(InvalidKind::DivisionByZero),
            CbpfInsn::Alu {
                op: CAluOp::Lsh | CAluOp::Rsh,
                src: CSrc::K(k),
            } if k >= 32 => Err(InvalidKind::ShiftTooLarge { k }),
            CbpfInsn::LoadMem { idx, .. } | CbpfInsn::Store { idx, .. } if idx >= BPF_MEMWORDS => {
                Err(InvalidKind::ScratchIndex { idx })
            }
            // Loads at SKF_AD_OFF and above that name no ancillary field.
            CbpfInsn::LoadAbs { k, .. } if k >= skf::SKF_AD_OFF as u32 => {
                Err(InvalidKind::UnknownAncillary { k })
            }
            _ => Ok(()),
        }
    }

    /// Encodes back to a `sock_filter` (unused fields zero).
    pub fn encode(&self) -> SockFilter {
        let (code, jt, jf, k) = match *self {
            CbpfInsn::LoadAbs { size, k } => (BPF_ABS as u16 | size_bits(size), 0, 0, k),
            CbpfInsn::LoadInd { size, k } => (BPF_IND as u16 | size_bits(size), 0, 0, k),
            CbpfInsn::LoadAnc { size, anc } => (BPF_ABS as u16 | size_bits(size), 0, 0, anc.k()),
            CbpfInsn::LoadLen { dst } => {
                (reg_class(dst, BPF_LD, BPF_LDX) | BPF_LEN as u16, 0, 0, 0)
            }
            CbpfInsn::LoadImm { dst, k } => {
                (reg_class(dst, BPF_LD, BPF_LDX) | BPF_IMM as u16, 0, 0, k)
            }
            CbpfInsn::LoadMem { dst, idx } => {
                (reg_class(dst, BPF_LD, BPF_LDX) | BPF_MEM as u16, 0, 0, idx)
            }
            CbpfInsn::LoadMsh { k } => ((BPF_LDX | BPF_B | BPF_MSH) as u16, 0, 0, k),
            CbpfInsn::Store { src, idx } => (reg_class(src, BPF_ST, BPF_STX), 0, 0, idx),
            CbpfInsn::Alu { op, src } => {
                let op = ALU_OPS.iter().find(|(_, o)| *o == op).map_or(0, |p| p.0);
                let (s, k) = src_k(src);
                (BPF_ALU as u16 | op | s, 0, 0, k)
            }
            CbpfInsn::Neg => ((BPF_ALU | BPF_NEG) as u16, 0, 0, 0),
            CbpfInsn::Ja { k } => (BPF_JMP as u16, 0, 0, k),
            CbpfInsn::Jump { cond, src, jt, jf } => {
                let op = CONDS.iter().find(|(_, c)| *c == cond).map_or(0, |p| p.0);
                let (s, k) = src_k(src);
                (BPF_JMP as u16 | op | s, jt, jf, k)
            }
            CbpfInsn::Ret(RetVal::K(k)) => (BPF_RET | BPF_K as u16, 0, 0, k),
            CbpfInsn::Ret(RetVal::A) => (BPF_RET | BPF_A, 0, 0, 0),
            CbpfInsn::Tax => (BPF_MISC | BPF_TAX, 0, 0, 0),
            CbpfInsn::Txa => (BPF_MISC | BPF_TXA, 0, 0, 0),
        };
        SockFilter { code, jt, jf, k }
    }

    /// The absolute targets of a jump at `pc` (`None` for other
    /// instructions): `(taken, not taken)`, equal for `ja`.
    pub fn targets(&self, pc: usize) -> Option<(u64, u64)> {
        let next = pc as u64 + 1;
        match *self {
            CbpfInsn::Ja { k } => Some((next + k as u64, next + k as u64)),
            CbpfInsn::Jump { jt, jf, .. } => Some((next + jt as u64, next + jf as u64)),
            _ => None,
        }
    }
}

/// A listing line of the instruction at `pc`, as `tcpdump -d` prints it
/// after the `(NNN) ` prefix (libpcap's `bpf_image`): `ldh      [12]`,
/// `jeq      #0x800           jt 2\tjf 5`.
pub fn cbpf_text(insn: &CbpfInsn, pc: usize) -> String {
    let sz = |s: Size| match s {
        Size::B => "b",
        Size::H => "h",
        _ => "",
    };
    let (op, arg): (String, String) = match *insn {
        CbpfInsn::LoadAbs { size, k } => (format!("ld{}", sz(size)), format!("[{}]", k as i32)),
        CbpfInsn::LoadInd { size, k } => (format!("ld{}", sz(size)), format!("[x + {}]", k as i32)),
        CbpfInsn::LoadAnc { size, anc } => (format!("ld{}", sz(size)), format!("[{}]", anc.name())),
        CbpfInsn::LoadLen { dst } => (reg_op(dst, "ld", "ldx").into(), "#pktlen".into()),
        CbpfInsn::LoadImm { dst, k } => (reg_op(dst, "ld", "ldx").into(), format!("#{k:#x}")),
        CbpfInsn::LoadMem { dst, idx } => (reg_op(dst, "ld", "ldx").into(), format!("M[{idx}]")),
        CbpfInsn::LoadMsh { k } => ("ldxb".into(), format!("4*([{}]&0xf)", k as i32)),
        CbpfInsn::Store { src, idx } => (reg_op(src, "st", "stx").into(), format!("M[{idx}]")),
        CbpfInsn::Alu { op, src } => {
            let arg = match (op, src) {
                (_, CSrc::X) => "x".to_string(),
                (CAluOp::And | CAluOp::Or | CAluOp::Xor, CSrc::K(k)) => format!("#{k:#x}"),
                (_, CSrc::K(k)) => format!("#{k}"),
            };
            (alu_name(op).into(), arg)
        }
        CbpfInsn::Neg => ("neg".into(), String::new()),
        CbpfInsn::Ja { k } => ("ja".into(), (pc as u64 + 1 + k as u64).to_string()),
        CbpfInsn::Jump { cond, src, jt, jf } => {
            let name = match cond {
                CCond::Eq => "jeq",
                CCond::Gt => "jgt",
                CCond::Ge => "jge",
                CCond::Set => "jset",
            };
            let arg = match src {
                CSrc::K(k) => format!("#{k:#x}"),
                CSrc::X => "x".to_string(),
            };
            let (t, f) = (pc + 1 + jt as usize, pc + 1 + jf as usize);
            return format!("{name:<8} {arg:<16} jt {t}\tjf {f}");
        }
        CbpfInsn::Ret(RetVal::A) => ("ret".into(), String::new()),
        CbpfInsn::Ret(RetVal::K(k)) => ("ret".into(), format!("#{k}")),
        CbpfInsn::Tax => ("tax".into(), String::new()),
        CbpfInsn::Txa => ("txa".into(), String::new()),
    };
    format!("{op:<8} {arg}")
}

fn reg_op(r: CReg, a: &'static str, x: &'static str) -> &'static str {
    match r {
        CReg::A => a,
        CReg::X => x,
    }
}

fn alu_name(op: CAluOp) -> &'static str {
    match op {
        CAluOp::Add => "add",
        CAluOp::Sub => "sub",
        CAluOp::Mul => "mul",
        CAluOp::Div => "div",
        CAluOp::Or => "or",
        CAluOp::And => "and",
        CAluOp::Lsh => "lsh",
        CAluOp::Rsh => "rsh",
        CAluOp::Mod => "mod",
        CAluOp::Xor => "xor",
    }
}

impl fmt::Display for CbpfInsn {
    /// The `tcpdump -d` text, with jump targets relative to instruction 0.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&cbpf_text(self, 0))
    }
}

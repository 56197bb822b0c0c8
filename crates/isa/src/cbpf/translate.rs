//! Classic → eBPF, as the kernel's `bpf_convert_filter` does it
//! conceptually (our own code; the facts — register roles, stack layout,
//! the cBPF semantics each expansion keeps — are the kernel's).

use super::check::check;
use super::insn::{Ancillary, CAluOp, CCond, CReg, CSrc, CbpfInsn, RetVal};
use super::{CbpfError, InvalidKind, SockFilter};
use crate::disasm::{insn_text, DisasmOptions};
use crate::{AluOp, ByteOrder, CallTarget, Insn, JmpCond, Operand, PacketMode, Reg, Size, Width};
use std::fmt::Write as _;
use uapi::ctx::sk_buff;
use uapi::ctx::skf::helpers as cbpf_helpers;
use uapi::helpers::id;

/// The accumulator lives in `r0`: packet loads and helper calls return
/// there, and `ret a` is a bare `exit`.
pub const REG_A: Reg = Reg::R0;
/// The index register: callee-saved, so packet loads and helper calls
/// (which clobber `r1`–`r5`) keep it.
pub const REG_X: Reg = Reg::R7;
/// Scratch for the expansions (`msh`, jumps on constants above `i32::MAX`).
pub const REG_TMP: Reg = Reg::R2;
/// The `__sk_buff` context, where `BPF_ABS`/`BPF_IND` expect it.
pub const REG_CTX: Reg = Reg::R6;

/// A translated program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// The eBPF program: a `socket_filter` taking `struct __sk_buff *` in
    /// `r1` and returning the classic return value (bytes to keep; 0 drops).
    /// It has no `lddw`, so instruction `i` is slot `i`.
    pub insns: Vec<Insn>,
    /// The checked classic program.
    pub classic: Vec<CbpfInsn>,
    /// `starts[i]`: index in `insns` of the first instruction of classic
    /// instruction `i` (the prologue comes before `starts[0]`).
    pub starts: Vec<usize>,
    /// Stack bytes the scratch memory uses (`M[i]` is the `u32` at
    /// `r10 - 4 * (i + 1)`).
    pub stack_depth: u32,
}

impl Translation {
    /// The program as 8-byte slots.
    pub fn encode(&self) -> Vec<crate::RawInsn> {
        crate::encode_program(&self.insns)
    }

    /// The classic instruction that eBPF instruction `pc` comes from
    /// (`None` for the prologue).
    pub fn origin(&self, pc: usize) -> Option<usize> {
        self.starts.partition_point(|&s| s <= pc).checked_sub(1)
    }

    /// A listing: each classic instruction as `tcpdump -d` prints it, as a
    /// `;` comment, followed by its eBPF instructions in `opts`' dialect.
    pub fn listing(&self, opts: DisasmOptions) -> String {
        let mut out = String::new();
        for (pc, insn) in self.insns.iter().enumerate() {
            if let Some(i) = self.starts.iter().position(|&s| s == pc) {
                let text = super::cbpf_text(&self.classic[i], i);
                let _ = writeln!(out, "; ({i:03}) {}", text.trim_end());
            }
            let _ = writeln!(out, "{pc:5}: {}", insn_text(insn, opts));
        }
        out
    }
}

/// Checks a classic program as the kernel does ([`check`]) and translates it.
///
/// # The translation
///
/// A is `r0`, X is `r7`, the context is kept in `r6`, `r2` is scratch, and
/// `M[i]` is the word at `r10 - 4 * (i + 1)`. The prologue zeroes A and X
/// (classic programs start with both 0) and copies `r1` to `r6`. Then:
///
/// | classic | eBPF |
/// |---|---|
/// | `ld[h,b] [k]`, `ld[h,b] [x + k]` | `LoadPacket` (`BPF_ABS`/`BPF_IND`): big-endian, and the program ends with 0 when outside the packet — classic semantics exactly |
/// | `ldxb 4*([k]&0xf)` | save A in X, `LoadPacket` byte, `& 0xf`, `<< 2`, swap through `r2` |
/// | `ld #len` | `w = *(u32 *)(r6 + __sk_buff.len)` |
/// | `ld [SKF_AD_OFF + N]` | `__sk_buff` field loads (`protocol` and `vlan_proto` byte-swapped to host order), `bpf_get_smp_processor_id`, `bpf_get_prandom_u32`, or oxbpf's own helpers for `hatype`, `pay_offset`, `nlattr[_nest]` ([`uapi::ctx::skf::helpers`]) |
/// | `ld/ldx M[i]`, `st/stx M[i]` | 32-bit stack load / store |
/// | ALU | the same 32-bit ALU operation; `div x`/`mod x` first return 0 when X is 0 |
/// | `jeq/jgt/jge/jset` | a 64-bit conditional jump on `r0` (whose upper half is always 0), inverted when `jt` is 0 so one jump suffices, else followed by `ja`; constants above `i32::MAX`, which an eBPF immediate would sign-extend, are moved to `r2` first |
/// | `ret #k` / `ret a` | `w0 = k; exit` / `exit` |
pub fn translate(prog: &[SockFilter]) -> Result<Translation, CbpfError> {
    let classic = check(prog)?;
    translate_checked(classic)
}

/// An instruction of an expansion, with the classic instruction a jump goes
/// to (its `off` is filled in once every expansion's length is known).
type Emit = (Insn, Option<usize>);

/// Translates a program that [`check`] accepted.
fn translate_checked(classic: Vec<CbpfInsn>) -> Result<Translation, CbpfError> {
    let mut insns = vec![
        alu32(AluOp::Xor, REG_A, Operand::Reg(REG_A)),
        alu32(AluOp::Xor, REG_X, Operand::Reg(REG_X)),
        Insn::mov64_reg(REG_CTX, Reg::R1),
    ];
    let mut expansions = Vec::with_capacity(classic.len());
    let mut starts = Vec::with_capacity(classic.len());
    let mut stack_depth = 0;
    for (pc, insn) in classic.iter().enumerate() {
        starts.push(insns.len() + expansions.iter().map(Vec::len).sum::<usize>());
        if let CbpfInsn::Store { idx, .. } | CbpfInsn::LoadMem { idx, .. } = *insn {
            stack_depth = stack_depth.max(4 * (idx + 1));
        }
        expansions.push(expand(insn, pc));
    }
    for (pc, expansion) in expansions.into_iter().enumerate() {
        for (mut insn, target) in expansion {
            if let Some(target) = target {
                let from = insns.len() as i64 + 1;
                let to = starts.get(target).copied().ok_or(CbpfError::Invalid {
                    index: pc,
                    kind: InvalidKind::JumpOutOfRange {
                        target: target as u64,
                        len: classic.len(),
                    },
                })? as i64;
                let off = to - from;
                let short = i16::try_from(off).map_err(|_| CbpfError::Invalid {
                    index: pc,
                    kind: InvalidKind::JumpTooFar { off },
                })?;
                set_offset(&mut insn, short);
            }
            insns.push(insn);
        }
    }
    Ok(Translation {
        insns,
        classic,
        starts,
        stack_depth,
    })
}

fn set_offset(insn: &mut Insn, new: i16) {
    match insn {
        Insn::Ja { off, .. } => *off = new as i32,
        Insn::Jump { off, .. } => *off = new,
        _ => {}
    }
}

const fn reg(r: CReg) -> Reg {
    match r {
        CReg::A => REG_A,
        CReg::X => REG_X,
    }
}

const fn alu32(op: AluOp, dst: Reg, src: Operand) -> Insn {
    Insn::Alu {
        width: Width::W32,
        op,
        dst,
        src,
    }
}

/// `M[idx]`'s offset from `r10`.
fn scratch_off(idx: u32) -> i16 {
    // idx < 16 after `check`, so this is in -64..=-4.
    -(4 * (idx.min(15) as i16) + 4)
}

fn ctx_load(dst: Reg, field: u32) -> Insn {
    Insn::Load {
        size: Size::W,
        signed: false,
        dst,
        src: REG_CTX,
        off: field as i16,
    }
}

fn call(helper: u32) -> Insn {
    Insn::Call(CallTarget::Helper(helper as i32))
}

/// `r0 = 0; exit`: the classic "drop".
const RETURN_ZERO: [Insn; 2] = [alu32(AluOp::Xor, REG_A, Operand::Reg(REG_A)), Insn::Exit];

/// The eBPF instructions of one classic instruction at `pc`.
fn expand(insn: &CbpfInsn, pc: usize) -> Vec<Emit> {
    let plain = |v: &[Insn]| v.iter().map(|&i| (i, None)).collect::<Vec<Emit>>();
    match *insn {
        CbpfInsn::LoadAbs { size, k } => plain(&[Insn::LoadPacket {
            mode: PacketMode::Abs,
            size,
            imm: k as i32,
        }]),
        CbpfInsn::LoadInd { size, k } => plain(&[Insn::LoadPacket {
            mode: PacketMode::Ind(REG_X),
            size,
            imm: k as i32,
        }]),
        CbpfInsn::LoadAnc { anc, .. } => plain(&ancillary(anc)),
        CbpfInsn::LoadLen { dst } => plain(&[ctx_load(reg(dst), sk_buff::LEN)]),
        CbpfInsn::LoadImm { dst, k } => {
            plain(&[alu32(AluOp::Mov, reg(dst), Operand::Imm(k as i32))])
        }
        CbpfInsn::LoadMem { dst, idx } => plain(&[Insn::Load {
            size: Size::W,
            signed: false,
            dst: reg(dst),
            src: Reg::FP,
            off: scratch_off(idx),
        }]),
        CbpfInsn::LoadMsh { k } => plain(&[
            Insn::mov64_reg(REG_X, REG_A),
            Insn::LoadPacket {
                mode: PacketMode::Abs,
                size: Size::B,
                imm: k as i32,
            },
            alu32(AluOp::And, REG_A, Operand::Imm(0xf)),
            alu32(AluOp::Lsh, REG_A, Operand::Imm(2)),
            Insn::mov64_reg(REG_TMP, REG_X),
            Insn::mov64_reg(REG_X, REG_A),
            Insn::mov64_reg(REG_A, REG_TMP),
        ]),
        CbpfInsn::Store { src, idx } => plain(&[Insn::Store {
            size: Size::W,
            dst: Reg::FP,
            off: scratch_off(idx),
            src: Operand::Reg(reg(src)),
        }]),
        CbpfInsn::Alu { op, src } => plain(&alu(op, src)),
        CbpfInsn::Neg => plain(&[Insn::Neg {
            width: Width::W32,
            dst: REG_A,
        }]),
        CbpfInsn::Ja { k } => vec![(
            Insn::Ja {
                off: 0,
                long: false,
            },
            Some(pc + 1 + k as usize),
        )],
        CbpfInsn::Jump { cond, src, jt, jf } => jump(cond, src, pc, jt, jf),
        CbpfInsn::Ret(RetVal::K(k)) => {
            plain(&[alu32(AluOp::Mov, REG_A, Operand::Imm(k as i32)), Insn::Exit])
        }
        CbpfInsn::Ret(RetVal::A) => plain(&[Insn::Exit]),
        CbpfInsn::Tax => plain(&[Insn::mov64_reg(REG_X, REG_A)]),
        CbpfInsn::Txa => plain(&[Insn::mov64_reg(REG_A, REG_X)]),
    }
}

fn alu(op: CAluOp, src: CSrc) -> Vec<Insn> {
    let ebpf_op = match op {
        CAluOp::Add => AluOp::Add,
        CAluOp::Sub => AluOp::Sub,
        CAluOp::Mul => AluOp::Mul,
        CAluOp::Div => AluOp::Div,
        CAluOp::Or => AluOp::Or,
        CAluOp::And => AluOp::And,
        CAluOp::Lsh => AluOp::Lsh,
        CAluOp::Rsh => AluOp::Rsh,
        CAluOp::Mod => AluOp::Mod,
        CAluOp::Xor => AluOp::Xor,
    };
    let operand = match src {
        CSrc::K(k) => Operand::Imm(k as i32),
        CSrc::X => Operand::Reg(REG_X),
    };
    let mut out = Vec::with_capacity(4);
    if matches!(op, CAluOp::Div | CAluOp::Mod) && src == CSrc::X {
        // Classic BPF drops the packet on division by zero; eBPF would
        // carry on with 0 (div) or A (mod).
        out.push(Insn::Jump {
            width: Width::W64,
            cond: JmpCond::Ne,
            dst: REG_X,
            src: Operand::Imm(0),
            off: 2,
        });
        out.extend(RETURN_ZERO);
    }
    out.push(alu32(ebpf_op, REG_A, operand));
    out
}

fn jump(cond: CCond, src: CSrc, pc: usize, jt: u8, jf: u8) -> Vec<Emit> {
    let mut out: Vec<Emit> = Vec::with_capacity(3);
    let operand = match src {
        CSrc::X => Operand::Reg(REG_X),
        CSrc::K(k) if k <= i32::MAX as u32 => Operand::Imm(k as i32),
        CSrc::K(k) => {
            // A 64-bit compare would sign-extend the immediate; compare
            // with the zero-extended constant in a register instead.
            out.push((alu32(AluOp::Mov, REG_TMP, Operand::Imm(k as i32)), None));
            Operand::Reg(REG_TMP)
        }
    };
    let ebpf = |cond: JmpCond| Insn::Jump {
        width: Width::W64,
        cond,
        dst: REG_A,
        src: operand,
        off: 0,
    };
    let cond = match cond {
        CCond::Eq => JmpCond::Eq,
        CCond::Gt => JmpCond::Gt,
        CCond::Ge => JmpCond::Ge,
        CCond::Set => JmpCond::Set,
    };
    let (t, f) = (pc + 1 + jt as usize, pc + 1 + jf as usize);
    if jf == 0 {
        // Not taken falls through to the next classic instruction.
        out.push((ebpf(cond), Some(t)));
    } else if jt == 0 && cond != JmpCond::Set {
        // Taken falls through: jump on the negated condition (`jset` has
        // no negation in eBPF).
        out.push((ebpf(cond.negate()), Some(f)));
    } else {
        out.push((ebpf(cond), Some(t)));
        out.push((
            Insn::Ja {
                off: 0,
                long: false,
            },
            Some(f),
        ));
    }
    out
}

/// The eBPF of an ancillary load into A.
fn ancillary(anc: Ancillary) -> Vec<Insn> {
    let be16 = Insn::Endian {
        order: ByteOrder::ToBe,
        dst: REG_A,
        bits: 16,
    };
    let ctx_arg = Insn::mov64_reg(Reg::R1, REG_CTX);
    match anc {
        // `protocol` and `vlan_proto` hold the big-endian value as the
        // kernel stores it; classic BPF sees them in host order.
        Ancillary::Protocol => vec![ctx_load(REG_A, sk_buff::PROTOCOL), be16],
        Ancillary::VlanTpid => vec![ctx_load(REG_A, sk_buff::VLAN_PROTO), be16],
        Ancillary::PktType => vec![ctx_load(REG_A, sk_buff::PKT_TYPE)],
        Ancillary::IfIndex => vec![ctx_load(REG_A, sk_buff::IFINDEX)],
        Ancillary::Mark => vec![ctx_load(REG_A, sk_buff::MARK)],
        Ancillary::Queue => vec![ctx_load(REG_A, sk_buff::QUEUE_MAPPING)],
        Ancillary::RxHash => vec![ctx_load(REG_A, sk_buff::HASH)],
        Ancillary::VlanTag => vec![ctx_load(REG_A, sk_buff::VLAN_TCI)],
        Ancillary::VlanTagPresent => vec![ctx_load(REG_A, sk_buff::VLAN_PRESENT)],
        Ancillary::Cpu => vec![call(id::GET_SMP_PROCESSOR_ID)],
        Ancillary::Random => vec![call(id::GET_PRANDOM_U32)],
        Ancillary::HaType => vec![ctx_arg, call(cbpf_helpers::SKB_GET_HATYPE)],
        Ancillary::PayOffset => vec![ctx_arg, call(cbpf_helpers::SKB_GET_PAY_OFFSET)],
        Ancillary::NlAttr | Ancillary::NlAttrNest => {
            let helper = if anc == Ancillary::NlAttr {
                cbpf_helpers::SKB_GET_NLATTR
            } else {
                cbpf_helpers::SKB_GET_NLATTR_NEST
            };
            vec![
                ctx_arg,
                Insn::mov64_reg(Reg::R2, REG_A),
                Insn::mov64_reg(Reg::R3, REG_X),
                call(helper),
            ]
        }
        Ancillary::AluXorX => vec![alu32(AluOp::Xor, REG_A, Operand::Reg(REG_X))],
    }
}

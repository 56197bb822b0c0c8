//! The kernel's instruction text (`kernel/bpf/disasm.c`), as the verifier
//! log and `bpftool prog dump xlated` print it: `(b7) r0 = 2`,
//! `(15) if r1 == 0x0 goto pc+1`, `(85) call bpf_map_lookup_elem#1`.
//!
//! The kernel prints immediates of ALU and store instructions in signed
//! decimal, jump comparands as `0x%x` of the 32-bit value, memory offsets
//! with an explicit sign glued to the number (`(r10 -8)`), and lets its
//! caller name the things an instruction only refers to by number: helpers,
//! kernel functions, subprograms and the objects behind `lddw`. That last
//! part is the [`KernelNames`] trait, so the verifier log (raw values),
//! `prog dump xlated` (`map[id:5]`, `call pc+3#sub`) and golden tests share
//! this one function.

use crate::insn::*;
use std::fmt::Write as _;

/// Names for what an instruction refers to by number.
///
/// Every method returns `None` to get the kernel's own fallback, which is
/// what the verifier log prints (it installs no `cb_imm` callback):
/// helpers by the uapi table, `kernel-function` for kfuncs, the signed
/// relative offset for local calls and `0x%llx` of the raw 64-bit value for
/// `lddw`.
pub trait KernelNames {
    /// The name of helper `id` (printed as `call NAME#id`). The default is
    /// the kernel's table, `bpf_map_lookup_elem`.
    fn helper(&self, id: i32) -> Option<String> {
        default_helper_name(id)
    }

    /// The name of kernel function `btf_id` from module BTF `module`
    /// (printed as `call NAME#btf_id`).
    fn kfunc(&self, _btf_id: i32, _module: i16) -> Option<String> {
        None
    }

    /// What follows `call pc` for a bpf-to-bpf call at slot `pc` with
    /// relative offset `rel`. bpftool prints `+3#bpf_prog_<tag>_<name>`.
    fn local_call(&self, _pc: usize, _rel: i32) -> Option<String> {
        None
    }

    /// The right-hand side of `lddw` at slot `pc`: bpftool prints
    /// `map[id:5]`, `map[id:5][0]+16`, `subprog[+3]`.
    fn imm64(&self, _pc: usize, _imm: &LoadImm) -> Option<String> {
        None
    }
}

/// The kernel's fallbacks for everything: what the verifier log prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultKernelNames;

impl KernelNames for DefaultKernelNames {}

/// bpftool's `prog dump xlated` names: `lddw` map references as
/// `map[id:N]`, `map[id:N][0]+OFF`, `map[idx:N]+OFF` and `subprog[+REL]`,
/// taking the `imm` of map references to be the map id (as it is once the
/// kernel hands the program back).
#[derive(Debug, Clone, Copy, Default)]
pub struct BpftoolNames;

impl KernelNames for BpftoolNames {
    fn imm64(&self, _pc: usize, imm: &LoadImm) -> Option<String> {
        Some(match *imm {
            LoadImm::MapFd(id) => format!("map[id:{id}]"),
            LoadImm::MapValue { fd, off } => format!("map[id:{fd}][0]+{off}"),
            LoadImm::MapIdxValue { idx, off } => format!("map[idx:{idx}]+{off}"),
            LoadImm::Func { rel } => format!("subprog[{rel:+}]"),
            _ => return None,
        })
    }
}

/// The kernel's name of helper `id`: `bpf_` and the uapi name, for ids the
/// table knows (including `bpf_unspec` for 0, as the kernel's table has it).
pub fn default_helper_name(id: i32) -> Option<String> {
    let id = u32::try_from(id).ok()?;
    uapi::HelperId(id).name().map(|n| format!("bpf_{n}"))
}

/// The kernel's text of one instruction at slot `pc`, with its opcode in
/// parentheses and without the `pc: ` prefix the log adds:
/// `(bf) r2 = r10`.
pub fn kernel_text(insn: &Insn, pc: usize, names: &dyn KernelNames) -> String {
    let code = insn.encode()[0].code;
    let mut s = format!("({code:02x}) ");
    body(&mut s, insn, pc, names);
    s
}

fn reg(width: Width, r: Reg) -> String {
    match width {
        Width::W32 => format!("w{}", r.n()),
        Width::W64 => format!("r{}", r.n()),
    }
}

/// `(r10 -8)`: the kernel prints offsets with `%+d`.
fn mem(r: Reg, off: i16) -> String {
    format!("(r{} {off:+})", r.n())
}

/// The compound-assignment operator of an ALU operation.
pub(crate) fn alu_op_str(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div => "/=",
        AluOp::SDiv => "s/=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Mod => "%=",
        AluOp::SMod => "s%=",
        AluOp::Xor => "^=",
        AluOp::Mov => "=",
        AluOp::Arsh => "s>>=",
    }
}

/// The comparison operator of a jump condition (`&` for `jset`).
pub(crate) fn cond_str(c: JmpCond) -> &'static str {
    match c {
        JmpCond::Eq => "==",
        JmpCond::Ne => "!=",
        JmpCond::Gt => ">",
        JmpCond::Ge => ">=",
        JmpCond::Lt => "<",
        JmpCond::Le => "<=",
        JmpCond::Sgt => "s>",
        JmpCond::Sge => "s>=",
        JmpCond::Slt => "s<",
        JmpCond::Sle => "s<=",
        JmpCond::Set => "&",
    }
}

/// The name of an atomic operation in `atomic_fetch_<name>`.
pub(crate) fn atomic_name(op: AtomicOp) -> &'static str {
    match op {
        AtomicOp::Add { .. } => "add",
        AtomicOp::Or { .. } => "or",
        AtomicOp::And { .. } => "and",
        AtomicOp::Xor { .. } => "xor",
        AtomicOp::Xchg => "xchg",
        AtomicOp::Cmpxchg => "cmpxchg",
    }
}

/// The compound operator of a non-fetching atomic (`lock ... += r2`).
pub(crate) fn atomic_op_str(op: AtomicOp) -> &'static str {
    match op {
        AtomicOp::Add { .. } => "+=",
        AtomicOp::Or { .. } => "|=",
        AtomicOp::And { .. } => "&=",
        AtomicOp::Xor { .. } => "^=",
        AtomicOp::Xchg | AtomicOp::Cmpxchg => "",
    }
}

/// The raw 64-bit value of an `lddw` as its two `imm` fields carry it.
pub(crate) fn imm64_raw(imm: &LoadImm) -> u64 {
    let (lo, hi) = match *imm {
        LoadImm::Imm(v) => return v,
        LoadImm::MapFd(fd) => (fd, 0),
        LoadImm::MapValue { fd, off } => (fd, off as i32),
        LoadImm::BtfId { id, module } => (id, module),
        LoadImm::Func { rel } => (rel, 0),
        LoadImm::MapIdx(idx) => (idx, 0),
        LoadImm::MapIdxValue { idx, off } => (idx, off as i32),
    };
    (lo as u32 as u64) | ((hi as u32 as u64) << 32)
}

fn body(s: &mut String, insn: &Insn, pc: usize, names: &dyn KernelNames) {
    let _ = match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => {
            let d = reg(width, dst);
            match src {
                Operand::Reg(r) => write!(s, "{d} {} {}", alu_op_str(op), reg(width, r)),
                Operand::Imm(i) => write!(s, "{d} {} {i}", alu_op_str(op)),
            }
        }
        Insn::Neg { width, dst } => {
            let d = reg(width, dst);
            write!(s, "{d} = -{d}")
        }
        Insn::MovSx {
            width,
            dst,
            src,
            bits,
        } => write!(s, "{} = (s{bits}){}", reg(width, dst), reg(width, src)),
        Insn::Endian { order, dst, bits } => {
            let name = match order {
                ByteOrder::ToLe => "le",
                ByteOrder::ToBe => "be",
                ByteOrder::Swap => "bswap",
            };
            write!(s, "{dst} = {name}{bits} {dst}")
        }
        Insn::LoadImm64 { dst, ref imm } => match names.imm64(pc, imm) {
            Some(t) => write!(s, "{dst} = {t}"),
            None => write!(s, "{dst} = {:#x}", imm64_raw(imm)),
        },
        Insn::LoadPacket { mode, size, imm } => match mode {
            PacketMode::Abs => write!(s, "r0 = *({} *)skb[{imm}]", size.c_unsigned()),
            PacketMode::Ind(r) => {
                write!(s, "r0 = *({} *)skb[{r} + {imm}]", size.c_unsigned())
            }
        },
        Insn::Load {
            size,
            signed,
            dst,
            src,
            off,
        } => {
            let ty = if signed {
                size.c_signed()
            } else {
                size.c_unsigned()
            };
            write!(s, "{dst} = *({ty} *){}", mem(src, off))
        }
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => {
            let m = mem(dst, off);
            match src {
                Operand::Reg(r) => write!(s, "*({} *){m} = {r}", size.c_unsigned()),
                Operand::Imm(i) => write!(s, "*({} *){m} = {i}", size.c_unsigned()),
            }
        }
        Insn::Atomic {
            size,
            op,
            dst,
            src,
            off,
        } => atomic(s, size, op, dst, src, off),
        Insn::Ja { off, long: false } => write!(s, "goto pc{off:+}"),
        Insn::Ja { off, long: true } => write!(s, "gotol pc{off:+}"),
        Insn::Jump {
            width,
            cond,
            dst,
            src,
            off,
        } => {
            let d = reg(width, dst);
            let c = cond_str(cond);
            match src {
                Operand::Reg(r) => write!(s, "if {d} {c} {} goto pc{off:+}", reg(width, r)),
                Operand::Imm(i) => write!(s, "if {d} {c} {:#x} goto pc{off:+}", i as u32),
            }
        }
        Insn::Call(target) => call(s, target, pc, names),
        Insn::CallX { reg, .. } => write!(s, "callx {reg}"),
        Insn::Exit => write!(s, "exit"),
    };
}

fn atomic(
    s: &mut String,
    size: Size,
    op: AtomicOp,
    dst: Reg,
    src: Reg,
    off: i16,
) -> std::fmt::Result {
    let ty = size.c_unsigned();
    let m = mem(dst, off);
    let bits = if size == Size::DW { "64" } else { "" };
    match op {
        AtomicOp::Xchg => write!(s, "{src} = atomic{bits}_xchg(({ty} *){m}, {src})"),
        AtomicOp::Cmpxchg => write!(s, "r0 = atomic{bits}_cmpxchg(({ty} *){m}, r0, {src})"),
        op if op.fetches() => write!(
            s,
            "{src} = atomic{bits}_fetch_{}(({ty} *){m}, {src})",
            atomic_name(op)
        ),
        op => write!(s, "lock *({ty} *){m} {} {src}", atomic_op_str(op)),
    }
}

fn call(
    s: &mut String,
    target: CallTarget,
    pc: usize,
    names: &dyn KernelNames,
) -> std::fmt::Result {
    match target {
        CallTarget::Helper(id) => {
            let name = names.helper(id).unwrap_or_else(|| "unknown".to_string());
            write!(s, "call {name}#{id}")
        }
        CallTarget::Local { rel } => {
            let t = names
                .local_call(pc, rel)
                .unwrap_or_else(|| format!("{rel:+}"));
            write!(s, "call pc{t}")
        }
        CallTarget::Kfunc { btf_id, module } => {
            let name = names
                .kfunc(btf_id, module)
                .unwrap_or_else(|| "kernel-function".to_string());
            write!(s, "call {name}#{btf_id}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(insn: Insn) -> String {
        kernel_text(&insn, 0, &DefaultKernelNames)
    }

    /// Lines taken from `bpftool prog dump xlated` and verifier logs on
    /// this machine's kernel.
    #[test]
    fn matches_the_kernel() {
        let r = |n| Reg::new(n).unwrap();
        assert_eq!(k(Insn::mov64_imm(r(0), 2)), "(b7) r0 = 2");
        assert_eq!(k(Insn::mov64_reg(r(2), r(10))), "(bf) r2 = r10");
        let add = Insn::Alu {
            width: Width::W64,
            op: AluOp::Add,
            dst: r(2),
            src: Operand::Imm(-4),
        };
        assert_eq!(k(add), "(07) r2 += -4");
        let st = Insn::Store {
            size: Size::W,
            dst: r(10),
            off: -4,
            src: Operand::Imm(0),
        };
        assert_eq!(k(st), "(62) *(u32 *)(r10 -4) = 0");
        let ld = Insn::Load {
            size: Size::W,
            signed: false,
            dst: r(0),
            src: r(2),
            off: 0,
        };
        assert_eq!(k(ld), "(61) r0 = *(u32 *)(r2 +0)");
        let j = Insn::Jump {
            width: Width::W64,
            cond: JmpCond::Ge,
            dst: r(0),
            src: Operand::Imm(4),
            off: 3,
        };
        assert_eq!(k(j), "(35) if r0 >= 0x4 goto pc+3");
        let j32 = Insn::Jump {
            width: Width::W32,
            cond: JmpCond::Lt,
            dst: r(0),
            src: Operand::Imm(101),
            off: 3,
        };
        assert_eq!(k(j32), "(a6) if w0 < 0x65 goto pc+3");
        assert_eq!(
            k(Insn::Ja {
                off: 1,
                long: false
            }),
            "(05) goto pc+1"
        );
        let lock = Insn::Atomic {
            size: Size::DW,
            op: AtomicOp::Add { fetch: false },
            dst: r(0),
            src: r(1),
            off: 0,
        };
        assert_eq!(k(lock), "(db) lock *(u64 *)(r0 +0) += r1");
        let fetch_or = Insn::Atomic {
            size: Size::DW,
            op: AtomicOp::Or { fetch: true },
            dst: r(0),
            src: r(2),
            off: 0,
        };
        assert_eq!(
            k(fetch_or),
            "(db) r2 = atomic64_fetch_or((u64 *)(r0 +0), r2)"
        );
        let xchg = Insn::Atomic {
            size: Size::DW,
            op: AtomicOp::Xchg,
            dst: r(0),
            src: r(7),
            off: 0,
        };
        assert_eq!(k(xchg), "(db) r7 = atomic64_xchg((u64 *)(r0 +0), r7)");
        let cmpxchg = Insn::Atomic {
            size: Size::DW,
            op: AtomicOp::Cmpxchg,
            dst: r(3),
            src: r(1),
            off: 0,
        };
        assert_eq!(
            k(cmpxchg),
            "(db) r0 = atomic64_cmpxchg((u64 *)(r3 +0), r0, r1)"
        );
        assert_eq!(
            k(Insn::Neg {
                width: Width::W32,
                dst: r(0)
            }),
            "(84) w0 = -w0"
        );
        assert_eq!(
            k(Insn::Call(CallTarget::Helper(1))),
            "(85) call bpf_map_lookup_elem#1"
        );
        assert_eq!(
            k(Insn::Call(CallTarget::Local { rel: 13 })),
            "(85) call pc+13"
        );
        assert_eq!(k(Insn::Exit), "(95) exit");
    }

    #[test]
    fn bpftool_names_for_lddw() {
        let r1 = Reg::R1;
        let map = Insn::LoadImm64 {
            dst: r1,
            imm: LoadImm::MapFd(150),
        };
        assert_eq!(kernel_text(&map, 4, &BpftoolNames), "(18) r1 = map[id:150]");
        let val = Insn::LoadImm64 {
            dst: r1,
            imm: LoadImm::MapValue { fd: 152, off: 0 },
        };
        assert_eq!(
            kernel_text(&val, 4, &BpftoolNames),
            "(18) r1 = map[id:152][0]+0"
        );
        // Without names: the raw value, as the verifier log prints it.
        assert_eq!(k(val), "(18) r1 = 0x98");
        let big = Insn::LoadImm64 {
            dst: r1,
            imm: LoadImm::Imm(0x1234_5678_9abc_def0),
        };
        assert_eq!(k(big), "(18) r1 = 0x123456789abcdef0");
    }
}

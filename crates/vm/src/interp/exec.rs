//! The dispatch loop: one `match` on [`Op`] per executed instruction.
//!
//! Why it is shaped this way:
//! * registers live in a 256-entry array indexed by the `u8` register
//!   number, so the compiler proves every index in bounds and emits no
//!   check (see [`super::RegFile`]);
//! * every `Op` variant is one fully specialised operation, so an arm is a
//!   handful of machine instructions and the loop a jump table;
//! * the instruction budget costs nothing on straight-line code: `start` is
//!   the first slot of the current straight-line run, and only a taken jump,
//!   call or return adds `pc - start` to the count and compares it with the
//!   budget (a not-taken branch just continues the run);
//! * the only per-instruction bounds check left is `ops[pc]`; preparation
//!   guarantees it never fails (see [`crate::program`]).
//!
//! The arms are written as a table, one line each; `rustfmt` is told to
//! leave the table alone.

use super::{alu, callbacks, mem, Cpu, Exit, Frame, RegFile};
use crate::env::RunEnv;
use crate::error::VmError;
use crate::helpers::HelperFn;
use crate::memory::Mode;
use crate::op::{Op, NO_REG};
use crate::program::{ExecMode, Program, SUBPROG_ADDR_TAG};
use mem::AtomicResult;
use uapi::{HelperId, MAX_BPF_STACK, MAX_CALL_FRAMES, MAX_TAIL_CALL_CNT};

/// Runs `prog` from slot `entry` until the frame it starts in (the current
/// depth: 0 for the program, deeper for a callback) returns, or the run
/// tail-calls, ends or fails.
#[rustfmt::skip]
pub(super) fn exec<M: Mode>(
    prog: &Program,
    r: &mut RegFile,
    cpu: &mut Cpu,
    frames: &mut [Frame; MAX_CALL_FRAMES],
    env: &mut RunEnv<'_>,
    entry: usize,
) -> Result<Exit, VmError> {
    let ops: &[Op] = &prog.ops;
    let base = cpu.depth;
    let mut pc: usize = entry;
    let mut start: usize = entry;
    let mut executed = cpu.executed;
    let budget = cpu.budget;

    macro_rules! reg { ($x:expr) => { r[$x as usize] }; }
    // Account the current straight-line run and end the segment.
    macro_rules! settle { () => {{ executed += (pc - start) as u64; cpu.executed = executed; }}; }
    macro_rules! fail { ($e:expr) => {{ settle!(); return Err($e); }}; }
    macro_rules! tri { ($e:expr) => { match $e { Ok(v) => v, Err(e) => fail!(e) } }; }
    macro_rules! jump { ($t:expr) => {{
        executed += (pc - start) as u64;
        if executed > budget {
            cpu.executed = executed;
            return Err(VmError::BudgetExhausted { pc: pc - 1, budget });
        }
        pc = $t as usize;
        start = pc;
    }}; }
    macro_rules! addr { ($base:expr, $off:expr) => { reg!($base).wrapping_add($off as i64 as u64) }; }
    macro_rules! ld { ($t:ty, $d:expr, $s:expr, $off:expr) => {
        tri!(mem::load::<M, $t>(&env.mem, addr!($s, $off), pc - 1))
    }; }
    macro_rules! st { ($t:ty, $d:expr, $off:expr, $v:expr) => {
        tri!(mem::store::<M, $t>(&env.mem, addr!($d, $off), $v as $t, pc - 1))
    }; }
    macro_rules! helper { ($id:expr, $f:expr) => {{
        reg!(0) = call_helper($f, r, env);
        if let Some(fault) = env.fault.take() {
            fail!(VmError::Helper { pc: pc - 1, helper: HelperId($id), fault });
        }
    }}; }

    loop {
        let op = &ops[pc];
        pc += 1;
        match *op {
            Op::Add64I { d, imm } => reg!(d) = reg!(d).wrapping_add(imm),
            Op::Sub64I { d, imm } => reg!(d) = reg!(d).wrapping_sub(imm),
            Op::Mul64I { d, imm } => reg!(d) = reg!(d).wrapping_mul(imm),
            Op::Div64I { d, imm } => reg!(d) = alu::div64(reg!(d), imm),
            Op::SDiv64I { d, imm } => reg!(d) = alu::sdiv64(reg!(d), imm),
            Op::Mod64I { d, imm } => reg!(d) = alu::mod64(reg!(d), imm),
            Op::SMod64I { d, imm } => reg!(d) = alu::smod64(reg!(d), imm),
            Op::Or64I { d, imm } => reg!(d) |= imm,
            Op::And64I { d, imm } => reg!(d) &= imm,
            Op::Xor64I { d, imm } => reg!(d) ^= imm,
            Op::Mov64I { d, imm } => reg!(d) = imm,
            Op::Lsh64I { d, sh } => reg!(d) = reg!(d).wrapping_shl(sh as u32),
            Op::Rsh64I { d, sh } => reg!(d) = reg!(d).wrapping_shr(sh as u32),
            Op::Arsh64I { d, sh } => reg!(d) = alu::arsh64(reg!(d), sh as u32),

            Op::Add64R { d, s } => reg!(d) = reg!(d).wrapping_add(reg!(s)),
            Op::Sub64R { d, s } => reg!(d) = reg!(d).wrapping_sub(reg!(s)),
            Op::Mul64R { d, s } => reg!(d) = reg!(d).wrapping_mul(reg!(s)),
            Op::Div64R { d, s } => reg!(d) = alu::div64(reg!(d), reg!(s)),
            Op::SDiv64R { d, s } => reg!(d) = alu::sdiv64(reg!(d), reg!(s)),
            Op::Mod64R { d, s } => reg!(d) = alu::mod64(reg!(d), reg!(s)),
            Op::SMod64R { d, s } => reg!(d) = alu::smod64(reg!(d), reg!(s)),
            Op::Or64R { d, s } => reg!(d) |= reg!(s),
            Op::And64R { d, s } => reg!(d) &= reg!(s),
            Op::Xor64R { d, s } => reg!(d) ^= reg!(s),
            Op::Mov64R { d, s } => reg!(d) = reg!(s),
            Op::Lsh64R { d, s } => reg!(d) = reg!(d).wrapping_shl(reg!(s) as u32 & 63),
            Op::Rsh64R { d, s } => reg!(d) = reg!(d).wrapping_shr(reg!(s) as u32 & 63),
            Op::Arsh64R { d, s } => reg!(d) = alu::arsh64(reg!(d), reg!(s) as u32 & 63),

            Op::Add32I { d, imm } => reg!(d) = (reg!(d) as u32).wrapping_add(imm) as u64,
            Op::Sub32I { d, imm } => reg!(d) = (reg!(d) as u32).wrapping_sub(imm) as u64,
            Op::Mul32I { d, imm } => reg!(d) = (reg!(d) as u32).wrapping_mul(imm) as u64,
            Op::Div32I { d, imm } => reg!(d) = alu::div32(reg!(d), imm),
            Op::SDiv32I { d, imm } => reg!(d) = alu::sdiv32(reg!(d), imm),
            Op::Mod32I { d, imm } => reg!(d) = alu::mod32(reg!(d), imm),
            Op::SMod32I { d, imm } => reg!(d) = alu::smod32(reg!(d), imm),
            Op::Or32I { d, imm } => reg!(d) = (reg!(d) as u32 | imm) as u64,
            Op::And32I { d, imm } => reg!(d) = (reg!(d) as u32 & imm) as u64,
            Op::Xor32I { d, imm } => reg!(d) = (reg!(d) as u32 ^ imm) as u64,
            Op::Mov32I { d, imm } => reg!(d) = imm as u64,
            Op::Lsh32I { d, sh } => reg!(d) = (reg!(d) as u32).wrapping_shl(sh as u32) as u64,
            Op::Rsh32I { d, sh } => reg!(d) = (reg!(d) as u32).wrapping_shr(sh as u32) as u64,
            Op::Arsh32I { d, sh } => reg!(d) = alu::arsh32(reg!(d), sh as u32),

            Op::Add32R { d, s } => reg!(d) = (reg!(d) as u32).wrapping_add(reg!(s) as u32) as u64,
            Op::Sub32R { d, s } => reg!(d) = (reg!(d) as u32).wrapping_sub(reg!(s) as u32) as u64,
            Op::Mul32R { d, s } => reg!(d) = (reg!(d) as u32).wrapping_mul(reg!(s) as u32) as u64,
            Op::Div32R { d, s } => reg!(d) = alu::div32(reg!(d), reg!(s) as u32),
            Op::SDiv32R { d, s } => reg!(d) = alu::sdiv32(reg!(d), reg!(s) as u32),
            Op::Mod32R { d, s } => reg!(d) = alu::mod32(reg!(d), reg!(s) as u32),
            Op::SMod32R { d, s } => reg!(d) = alu::smod32(reg!(d), reg!(s) as u32),
            Op::Or32R { d, s } => reg!(d) = (reg!(d) as u32 | reg!(s) as u32) as u64,
            Op::And32R { d, s } => reg!(d) = (reg!(d) as u32 & reg!(s) as u32) as u64,
            Op::Xor32R { d, s } => reg!(d) = (reg!(d) as u32 ^ reg!(s) as u32) as u64,
            Op::Mov32R { d, s } => reg!(d) = reg!(s) as u32 as u64,
            Op::Lsh32R { d, s } => reg!(d) = (reg!(d) as u32).wrapping_shl(reg!(s) as u32 & 31) as u64,
            Op::Rsh32R { d, s } => reg!(d) = (reg!(d) as u32).wrapping_shr(reg!(s) as u32 & 31) as u64,
            Op::Arsh32R { d, s } => reg!(d) = alu::arsh32(reg!(d), reg!(s) as u32 & 31),

            Op::Neg64 { d } => reg!(d) = reg!(d).wrapping_neg(),
            Op::Neg32 { d } => reg!(d) = (reg!(d) as u32).wrapping_neg() as u64,
            Op::MovSx64 { d, s, bits } => reg!(d) = alu::movsx64(reg!(s), bits),
            Op::MovSx32 { d, s, bits } => reg!(d) = alu::movsx32(reg!(s), bits),
            Op::Le16 { d } => reg!(d) = reg!(d) as u16 as u64,
            Op::Le32 { d } => reg!(d) = reg!(d) as u32 as u64,
            Op::Bswap16 { d } => reg!(d) = (reg!(d) as u16).swap_bytes() as u64,
            Op::Bswap32 { d } => reg!(d) = (reg!(d) as u32).swap_bytes() as u64,
            Op::Bswap64 { d } => reg!(d) = reg!(d).swap_bytes(),
            Op::Nop => {}
            Op::Lddw { d, imm } => { reg!(d) = imm; pc += 1; }

            Op::Ldx8 { d, s, off } => reg!(d) = ld!(u8, d, s, off) as u64,
            Op::Ldx16 { d, s, off } => reg!(d) = ld!(u16, d, s, off) as u64,
            Op::Ldx32 { d, s, off } => reg!(d) = ld!(u32, d, s, off) as u64,
            Op::Ldx64 { d, s, off } => reg!(d) = ld!(u64, d, s, off),
            Op::Ldxs8 { d, s, off } => reg!(d) = ld!(i8, d, s, off) as i64 as u64,
            Op::Ldxs16 { d, s, off } => reg!(d) = ld!(i16, d, s, off) as i64 as u64,
            Op::Ldxs32 { d, s, off } => reg!(d) = ld!(i32, d, s, off) as i64 as u64,
            Op::St8 { d, off, imm } => st!(u8, d, off, imm),
            Op::St16 { d, off, imm } => st!(u16, d, off, imm),
            Op::St32 { d, off, imm } => st!(u32, d, off, imm),
            Op::St64 { d, off, imm } => st!(u64, d, off, imm as i64),
            Op::Stx8 { d, s, off } => st!(u8, d, off, reg!(s)),
            Op::Stx16 { d, s, off } => st!(u16, d, off, reg!(s)),
            Op::Stx32 { d, s, off } => st!(u32, d, off, reg!(s)),
            Op::Stx64 { d, s, off } => st!(u64, d, off, reg!(s)),
            Op::Atomic { size, op, d, s, off } => {
                match tri!(mem::atomic::<M>(&env.mem, size, op, addr!(d, off), reg!(s), reg!(0), pc - 1)) {
                    AtomicResult::None => {}
                    AtomicResult::Src(v) => reg!(s) = v,
                    AtomicResult::R0(v) => reg!(0) = v,
                }
            }
            Op::LdPacket { size, ind, imm } => {
                let k = if ind == NO_REG { imm } else { (reg!(ind) as i32).wrapping_add(imm) };
                match env.load_packet(size, k) {
                    Some(v) => reg!(0) = v,
                    None => {
                        // Out of the packet: the program ends with r0 = 0.
                        reg!(0) = 0;
                        settle!();
                        return Ok(Exit::End(0));
                    }
                }
            }

            Op::Ja { t } => jump!(t),
            Op::Jeq64I { d, imm, t } => if reg!(d) == imm { jump!(t) },
            Op::Jne64I { d, imm, t } => if reg!(d) != imm { jump!(t) },
            Op::Jgt64I { d, imm, t } => if reg!(d) > imm { jump!(t) },
            Op::Jge64I { d, imm, t } => if reg!(d) >= imm { jump!(t) },
            Op::Jlt64I { d, imm, t } => if reg!(d) < imm { jump!(t) },
            Op::Jle64I { d, imm, t } => if reg!(d) <= imm { jump!(t) },
            Op::Jset64I { d, imm, t } => if reg!(d) & imm != 0 { jump!(t) },
            Op::Jsgt64I { d, imm, t } => if (reg!(d) as i64) > imm as i64 { jump!(t) },
            Op::Jsge64I { d, imm, t } => if (reg!(d) as i64) >= imm as i64 { jump!(t) },
            Op::Jslt64I { d, imm, t } => if (reg!(d) as i64) < imm as i64 { jump!(t) },
            Op::Jsle64I { d, imm, t } => if (reg!(d) as i64) <= imm as i64 { jump!(t) },
            Op::Jeq64R { d, s, t } => if reg!(d) == reg!(s) { jump!(t) },
            Op::Jne64R { d, s, t } => if reg!(d) != reg!(s) { jump!(t) },
            Op::Jgt64R { d, s, t } => if reg!(d) > reg!(s) { jump!(t) },
            Op::Jge64R { d, s, t } => if reg!(d) >= reg!(s) { jump!(t) },
            Op::Jlt64R { d, s, t } => if reg!(d) < reg!(s) { jump!(t) },
            Op::Jle64R { d, s, t } => if reg!(d) <= reg!(s) { jump!(t) },
            Op::Jset64R { d, s, t } => if reg!(d) & reg!(s) != 0 { jump!(t) },
            Op::Jsgt64R { d, s, t } => if (reg!(d) as i64) > reg!(s) as i64 { jump!(t) },
            Op::Jsge64R { d, s, t } => if (reg!(d) as i64) >= reg!(s) as i64 { jump!(t) },
            Op::Jslt64R { d, s, t } => if (reg!(d) as i64) < reg!(s) as i64 { jump!(t) },
            Op::Jsle64R { d, s, t } => if (reg!(d) as i64) <= reg!(s) as i64 { jump!(t) },
            Op::Jeq32I { d, imm, t } => if reg!(d) as u32 == imm { jump!(t) },
            Op::Jne32I { d, imm, t } => if reg!(d) as u32 != imm { jump!(t) },
            Op::Jgt32I { d, imm, t } => if reg!(d) as u32 > imm { jump!(t) },
            Op::Jge32I { d, imm, t } => if reg!(d) as u32 >= imm { jump!(t) },
            Op::Jlt32I { d, imm, t } => if (reg!(d) as u32) < imm { jump!(t) },
            Op::Jle32I { d, imm, t } => if reg!(d) as u32 <= imm { jump!(t) },
            Op::Jset32I { d, imm, t } => if reg!(d) as u32 & imm != 0 { jump!(t) },
            Op::Jsgt32I { d, imm, t } => if (reg!(d) as i32) > imm as i32 { jump!(t) },
            Op::Jsge32I { d, imm, t } => if (reg!(d) as i32) >= imm as i32 { jump!(t) },
            Op::Jslt32I { d, imm, t } => if (reg!(d) as i32) < imm as i32 { jump!(t) },
            Op::Jsle32I { d, imm, t } => if (reg!(d) as i32) <= imm as i32 { jump!(t) },
            Op::Jeq32R { d, s, t } => if reg!(d) as u32 == reg!(s) as u32 { jump!(t) },
            Op::Jne32R { d, s, t } => if reg!(d) as u32 != reg!(s) as u32 { jump!(t) },
            Op::Jgt32R { d, s, t } => if reg!(d) as u32 > reg!(s) as u32 { jump!(t) },
            Op::Jge32R { d, s, t } => if reg!(d) as u32 >= reg!(s) as u32 { jump!(t) },
            Op::Jlt32R { d, s, t } => if (reg!(d) as u32) < reg!(s) as u32 { jump!(t) },
            Op::Jle32R { d, s, t } => if reg!(d) as u32 <= reg!(s) as u32 { jump!(t) },
            Op::Jset32R { d, s, t } => if reg!(d) as u32 & reg!(s) as u32 != 0 { jump!(t) },
            Op::Jsgt32R { d, s, t } => if (reg!(d) as i32) > reg!(s) as i32 { jump!(t) },
            Op::Jsge32R { d, s, t } => if (reg!(d) as i32) >= reg!(s) as i32 { jump!(t) },
            Op::Jslt32R { d, s, t } => if (reg!(d) as i32) < reg!(s) as i32 { jump!(t) },
            Op::Jsle32R { d, s, t } => if (reg!(d) as i32) <= reg!(s) as i32 { jump!(t) },

            Op::Call { id, f } => helper!(id, f),
            Op::CallLocal { t } => {
                tri!(push_frame(cpu, frames, env, r, pc));
                jump!(t)
            }
            Op::CallX { r: x } => {
                let v = reg!(x);
                match callx_target(prog, v) {
                    Callx::Subprog(t) => {
                        tri!(push_frame(cpu, frames, env, r, pc));
                        jump!(t)
                    }
                    Callx::Helper(f) => helper!(v as u32, f),
                    Callx::Bad => fail!(VmError::BadCallTarget { pc: pc - 1, value: v }),
                }
            }
            Op::TailCall => {
                if cpu.in_callback != 0 {
                    fail!(VmError::TailCallInCallback { pc: pc - 1 });
                }
                if let Some(next) = tail_target::<M>(cpu, env, r[2], r[3]) {
                    settle!();
                    if cpu.depth == 0 {
                        return Ok(Exit::TailCall(next));
                    }
                    // From a bpf-to-bpf callee the target replaces the
                    // callee, as Linux's JIT does it: it runs in the
                    // callee's frame, and its exit returns to the callee's
                    // caller.
                    let v = match exec::<M>(&next, r, cpu, frames, env, 0) {
                        Ok(Exit::Return(v)) => v,
                        other => return other,
                    };
                    r[0] = v;
                    executed = cpu.executed;
                    if cpu.depth == base {
                        return Ok(Exit::Return(v));
                    }
                    let ret = pop_frame(cpu, frames, env, r);
                    start = pc;
                    jump!(ret)
                }
            }
            Op::Loop | Op::ForEachMapElem => {
                settle!();
                let kind = if matches!(op, Op::Loop) { Cb::Loop } else { Cb::ForEach };
                match callback_helper::<M>(kind, prog, r, cpu, frames, env, pc - 1) {
                    Ok(v) => reg!(0) = v,
                    Err(Stop::Err(e)) => return Err(e),
                    Err(Stop::End(v)) => return Ok(Exit::End(v)),
                }
                executed = cpu.executed;
                start = pc;
            }
            Op::Exit => {
                if cpu.depth == base {
                    settle!();
                    return Ok(Exit::Return(r[0]));
                }
                let ret = pop_frame(cpu, frames, env, r);
                jump!(ret)
            }
            Op::Gap => unreachable!("preparation refuses jumps into the middle of lddw"),
        }
    }
}

/// Calls a helper with r1–r5 and the environment.
#[inline(always)]
fn call_helper(f: HelperFn, r: &RegFile, env: &mut RunEnv<'_>) -> u64 {
    // SAFETY: `f` came from the host's registry, whose entries follow the
    // helper contract (crate::helpers): they validate pointer arguments with
    // `RunEnv::translate` in checked mode, and in unchecked mode the verifier
    // proved the arguments match the helper's prototype. `env` is a live,
    // exclusive borrow for the duration of the call.
    unsafe { f(r[1], r[2], r[3], r[4], r[5], env) }
}

/// What a `callx` register value designates.
enum Callx {
    /// The subprogram at this slot.
    Subprog(u32),
    /// A helper, by number (only with `callx_helper_ids`).
    Helper(HelperFn),
    Bad,
}

/// Decodes a `callx` target (see [`crate::subprog_addr`]). Out of line, so
/// the dispatch loop does not keep the program's tables in registers.
#[inline(never)]
fn callx_target(prog: &Program, v: u64) -> Callx {
    if v & !0xffff_ffff == SUBPROG_ADDR_TAG && prog.is_subprog_entry(v as u32 as usize) {
        return Callx::Subprog(v as u32);
    }
    let helper = prog
        .callx_helpers
        .as_deref()
        .zip(usize::try_from(v).ok())
        .and_then(|(table, i)| table.get(i).copied().flatten());
    match helper {
        Some(f) => Callx::Helper(f),
        None => Callx::Bad,
    }
}

/// Enters a bpf-to-bpf call: saves the caller's r6–r9 and r10, gives the
/// callee its own 512-byte frame. `pc` is the slot after the call.
#[inline(never)]
fn push_frame(
    cpu: &mut Cpu,
    frames: &mut [Frame; MAX_CALL_FRAMES],
    env: &mut RunEnv<'_>,
    r: &mut RegFile,
    pc: usize,
) -> Result<(), VmError> {
    if cpu.depth + 1 >= MAX_CALL_FRAMES {
        return Err(VmError::CallDepthExceeded {
            pc: pc - 1,
            max: MAX_CALL_FRAMES,
        });
    }
    frames[cpu.depth] = Frame {
        ret: pc as u32,
        saved: [r[6], r[7], r[8], r[9]],
        fp: r[10],
    };
    cpu.depth += 1;
    r[10] = cpu.stack_top - (cpu.depth * MAX_BPF_STACK) as u64;
    env.set_stack(r[10] - MAX_BPF_STACK as u64, cpu.stack_top);
    Ok(())
}

/// Returns from a bpf-to-bpf call: restores the caller's r6–r9 and r10 and
/// gives the slot to resume at.
#[inline(never)]
fn pop_frame(
    cpu: &mut Cpu,
    frames: &mut [Frame; MAX_CALL_FRAMES],
    env: &mut RunEnv<'_>,
    r: &mut RegFile,
) -> u32 {
    cpu.depth -= 1;
    let f = frames[cpu.depth];
    r[6..10].copy_from_slice(&f.saved);
    r[10] = f.fp;
    env.set_stack(
        cpu.stack_top - ((cpu.depth + 1) * MAX_BPF_STACK) as u64,
        cpu.stack_top,
    );
    f.ret
}

/// Which callback helper.
#[derive(Clone, Copy)]
enum Cb {
    Loop,
    ForEach,
}

/// Why a callback helper stops the run.
enum Stop {
    Err(VmError),
    /// A legacy packet load missed inside the callback: the run ends.
    End(u64),
}

/// `bpf_loop` / `bpf_for_each_map_elem` at slot `at`: the helper's `r0`,
/// with each callback run as a nested bpf-to-bpf call (see
/// [`crate::callbacks`]).
#[inline(never)]
fn callback_helper<M: Mode>(
    kind: Cb,
    prog: &Program,
    r: &mut RegFile,
    cpu: &mut Cpu,
    frames: &mut [Frame; MAX_CALL_FRAMES],
    env: &mut RunEnv<'_>,
    at: usize,
) -> Result<u64, Stop> {
    let cb = r[2];
    let entry = match callx_target(prog, cb) {
        Callx::Subprog(t) => t as usize,
        _ => return Err(Stop::Err(VmError::BadCallTarget { pc: at, value: cb })),
    };
    let (a1, a3, a4) = (r[1], r[3], r[4]);
    match kind {
        Cb::Loop => callbacks::bpf_loop(a1, a3, a4, |args| {
            run_callback::<M>(prog, r, cpu, frames, env, entry, args, at)
        }),
        Cb::ForEach => {
            let start = callbacks::MapWalk::start(env, a1, a4).map_err(|fault| {
                Stop::Err(VmError::Helper {
                    pc: at,
                    helper: HelperId(uapi::helpers::id::FOR_EACH_MAP_ELEM),
                    fault,
                })
            })?;
            let mut walk = match start {
                callbacks::WalkStart::Walk(w) => w,
                callbacks::WalkStart::Return(v) => return Ok(v),
            };
            let key = walk.key_region();
            env.mem.regions.push(key);
            let res = walk.run(a3, |args| {
                run_callback::<M>(prog, r, cpu, frames, env, entry, args, at)
            });
            if let Some(i) = env.mem.regions.iter().rposition(|x| *x == key) {
                env.mem.regions.remove(i);
            }
            res
        }
    }
}

/// Runs the callback at `entry` with `args` in r1–r5 in a new frame, as a
/// bpf-to-bpf call from slot `at` would; its `r0`.
#[allow(clippy::too_many_arguments)]
fn run_callback<M: Mode>(
    prog: &Program,
    r: &mut RegFile,
    cpu: &mut Cpu,
    frames: &mut [Frame; MAX_CALL_FRAMES],
    env: &mut RunEnv<'_>,
    entry: usize,
    args: callbacks::Args,
    at: usize,
) -> Result<u64, Stop> {
    push_frame(cpu, frames, env, r, at + 1).map_err(Stop::Err)?;
    r[1..6].copy_from_slice(&args);
    cpu.in_callback += 1;
    let res = exec::<M>(prog, r, cpu, frames, env, entry);
    cpu.in_callback -= 1;
    match res {
        Ok(Exit::Return(v)) => {
            pop_frame(cpu, frames, env, r);
            Ok(v)
        }
        Ok(Exit::End(v)) => Err(Stop::End(v)),
        // `exec` refuses tail calls below the main frame.
        Ok(Exit::TailCall(_)) => Err(Stop::Err(VmError::TailCallInCallback { pc: at })),
        Err(e) => Err(Stop::Err(e)),
    }
}

/// `bpf_tail_call(ctx, prog_array, index)`: the next program if the hook
/// has one, the count allows it ([`MAX_TAIL_CALL_CNT`]) and its mode may run
/// in this one (an unchecked run never continues into an unverified
/// program).
#[inline(never)]
fn tail_target<M: Mode>(
    cpu: &mut Cpu,
    env: &RunEnv<'_>,
    map: u64,
    index: u64,
) -> Option<std::sync::Arc<Program>> {
    if cpu.tail_calls >= MAX_TAIL_CALL_CNT {
        return None;
    }
    let next = env.tail_calls?.lookup(map, index as u32)?;
    if !M::CHECKED && next.mode == ExecMode::Checked {
        return None;
    }
    cpu.tail_calls += 1;
    Some(next)
}

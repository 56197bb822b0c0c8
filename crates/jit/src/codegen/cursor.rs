//! Advancing a packet cursor before its bounds check instead of after.
//!
//! Every packet parser checks a header's end against `data_end` through a
//! copy of its cursor, reads the header, then advances the cursor:
//!
//! ```text
//! r6 = r4              ; i     copy
//! r6 += 14             ; i+1   the header's end
//! if r6 > r3 goto out  ; i+2   bounds check; r6 is not read again
//! r7 = *(u16 *)(r4 +12)
//! ...
//! r4 += 14             ; j     advance
//! ```
//!
//! A template JIT emits `lea; cmp; ja; …; add`: the copy and the advance
//! compute the same value twice. When nothing in between needs the old
//! cursor except as the base of loads and stores, the advance can happen
//! at `i` in place — `add r4, 14; cmp r4, r3; ja undo` — with those loads
//! and stores addressed 14 bytes lower and the advance at `j` gone. The
//! taken branch leaves through a cold stub that subtracts the 14 again, so
//! every register holds at `out` what the program put there. In a loop
//! such as a checksum over 16-bit words this is one instruction of seven
//! fewer per step (`docs/BENCHMARKS.md`).
//!
//! The rewrite is exact, whatever the values (additions wrap both ways),
//! provided that:
//!
//! * the copy (`r6`) is dead after the check (liveness), so leaving it
//!   unwritten is unobservable;
//! * the check compares the copy with anything but the cursor itself;
//! * between the check and the advance the code is straight (no jump
//!   target, jump, call, exit, legacy packet load or atomic), does not
//!   write the cursor and reads it only as the base of a load or store
//!   whose offset still fits 16 bits once moved;
//! * the advance adds the same constant as the copy.

use super::liveness::{use_def, Regs};
use isa::{AluOp, Insn, Operand, Reg, Width};

/// What the rewrite does at one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Cursor {
    /// Nothing: lowered as usual.
    #[default]
    None,
    /// The copy (`rX = rY`, with `rX += k` next): `rY += k` in place.
    Advance { base: Reg, k: i32 },
    /// The check: compare `base` where the program compares `copy`; the
    /// taken branch goes through a stub that does `base -= k`.
    Check { base: Reg, copy: Reg, k: i32 },
    /// A load or store through `base`: its offset is `k` lower.
    Shifted { k: i32 },
    /// The program's own advance: already done, emits nothing.
    Done,
}

/// The longest stretch between check and advance that is searched.
const WINDOW: usize = 24;

const fn bit(r: Reg) -> Regs {
    1 << r.n()
}

/// The rewrite's action per instruction (indexes of `insns`).
/// `targets[slot]` marks jump targets, `entries[slot]` function entries,
/// `live_out[i]` the registers live after instruction `i`.
pub(crate) fn plan(
    insns: &[(usize, Insn)],
    targets: &[bool],
    entries: &[bool],
    live_out: &[Regs],
    multi_function: bool,
) -> Vec<Cursor> {
    let mut out = vec![Cursor::None; insns.len()];
    let mut i = 0;
    while i + 3 < insns.len() {
        match window(insns, targets, entries, live_out, multi_function, i) {
            Some((base, copy, k, j)) => {
                out[i] = Cursor::Advance { base, k };
                out[i + 2] = Cursor::Check { base, copy, k };
                for m in i + 3..j {
                    if reads_as_base(&insns[m].1, base) {
                        out[m] = Cursor::Shifted { k };
                    }
                }
                out[j] = Cursor::Done;
                i = j + 1;
            }
            None => i += 1,
        }
    }
    out
}

/// If a rewrite starts at `i`: (cursor, copy, constant, index of the
/// advance).
fn window(
    insns: &[(usize, Insn)],
    targets: &[bool],
    entries: &[bool],
    live_out: &[Regs],
    multi_function: bool,
    i: usize,
) -> Option<(Reg, Reg, i32, usize)> {
    let Insn::Alu {
        width: Width::W64,
        op: AluOp::Mov,
        dst: copy,
        src: Operand::Reg(base),
    } = insns[i].1
    else {
        return None;
    };
    if copy == base || base == Reg::R10 {
        return None;
    }
    let Insn::Alu {
        width: Width::W64,
        op: AluOp::Add,
        dst,
        src: Operand::Imm(k),
    } = insns[i + 1].1
    else {
        return None;
    };
    let Insn::Jump { dst: a, src: b, .. } = insns[i + 2].1 else {
        return None;
    };
    let compared = bit(a) | op_bit(b);
    if dst != copy
        || compared & bit(copy) == 0
        || compared & bit(base) != 0
        || live_out[i + 2] & bit(copy) != 0
    {
        return None;
    }
    let inside = |pc: usize| !targets[pc] && !entries[pc];
    if !inside(insns[i + 1].0) || !inside(insns[i + 2].0) {
        return None;
    }
    for (m, &(pc, insn)) in insns.iter().enumerate().skip(i + 3).take(WINDOW) {
        if !inside(pc) {
            return None;
        }
        if insn
            == (Insn::Alu {
                width: Width::W64,
                op: AluOp::Add,
                dst: base,
                src: Operand::Imm(k),
            })
        {
            return Some((base, copy, k, m));
        }
        let straight = !matches!(
            insn,
            Insn::Ja { .. }
                | Insn::Jump { .. }
                | Insn::Call(_)
                | Insn::CallX { .. }
                | Insn::Exit
                | Insn::LoadPacket { .. }
                | Insn::Atomic { .. }
        );
        let (uses, defs) = use_def(&insn, multi_function);
        if !straight || defs & bit(base) != 0 {
            return None;
        }
        if uses & bit(base) != 0 && !(reads_as_base(&insn, base) && shifted(&insn, k).is_some()) {
            return None;
        }
    }
    None
}

fn op_bit(o: Operand) -> Regs {
    match o {
        Operand::Reg(r) => bit(r),
        Operand::Imm(_) => 0,
    }
}

/// A load or store whose only read of `base` is as its address.
fn reads_as_base(insn: &Insn, base: Reg) -> bool {
    match *insn {
        Insn::Load { src, .. } => src == base,
        Insn::Store { dst, src, .. } => dst == base && src != Operand::Reg(base),
        _ => false,
    }
}

/// `insn` (a load or store through the advanced cursor) with its offset
/// moved down by `k`, if it still fits.
pub(crate) fn shifted(insn: &Insn, k: i32) -> Option<Insn> {
    let moved = |off: i16| i16::try_from(i32::from(off).checked_sub(k)?).ok();
    match *insn {
        Insn::Load {
            size,
            signed,
            dst,
            src,
            off,
        } => Some(Insn::Load {
            size,
            signed,
            dst,
            src,
            off: moved(off)?,
        }),
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => Some(Insn::Store {
            size,
            dst,
            off: moved(off)?,
            src,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(text: &str) -> Vec<Cursor> {
        let mut slots = 0;
        let insns: Vec<(usize, Insn)> = isa::asm::assemble_insns(text, isa::asm::Syntax::Llvm)
            .expect("assembles")
            .into_iter()
            .map(|i| {
                let at = slots;
                slots += i.slots();
                (at, i)
            })
            .collect();
        let mut targets = vec![false; slots];
        for &(pc, insn) in &insns {
            if let (Insn::Ja { .. } | Insn::Jump { .. }, Some(t)) = (insn, insn.branch_target(pc)) {
                targets[t as usize] = true;
            }
        }
        let mut entries = vec![false; slots];
        entries[0] = true;
        let live = super::super::liveness::live_out(&insns, slots, false);
        plan(&insns, &targets, &entries, &live, false)
    }

    const LOOP: &str = "r2 = *(u64 *)(r1 + 0)
r3 = *(u64 *)(r1 + 8)
r0 = 0
r4 = r2
r6 = r4
r6 += 2
if r6 > r3 goto +4
r7 = *(u16 *)(r4 + 0)
r0 += r7
r4 += 2
goto -7
exit
";

    #[test]
    fn the_checksum_loop_is_rewritten() {
        let p = plan_of(LOOP);
        assert_eq!(
            p[4],
            Cursor::Advance {
                base: Reg::R4,
                k: 2
            }
        );
        assert_eq!(
            p[6],
            Cursor::Check {
                base: Reg::R4,
                copy: Reg::R6,
                k: 2
            }
        );
        assert_eq!(p[7], Cursor::Shifted { k: 2 });
        assert_eq!(p[8], Cursor::None);
        assert_eq!(p[9], Cursor::Done);
    }

    #[test]
    fn a_copy_read_after_the_check_stops_it() {
        let p = plan_of(&LOOP.replace("r0 += r7", "r0 += r6"));
        assert!(p.iter().all(|c| *c == Cursor::None), "{p:?}");
    }

    #[test]
    fn a_cursor_read_as_a_value_stops_it() {
        let p = plan_of(&LOOP.replace("r0 += r7", "r0 += r4"));
        assert!(p.iter().all(|c| *c == Cursor::None), "{p:?}");
    }

    #[test]
    fn a_different_advance_stops_it() {
        let p = plan_of(&LOOP.replace("r4 += 2", "r4 += 4"));
        assert!(p.iter().all(|c| *c == Cursor::None), "{p:?}");
    }

    #[test]
    fn a_jump_target_inside_stops_it() {
        // The back edge lands on the load.
        let p = plan_of(&LOOP.replace("goto -7", "goto -4"));
        assert!(p.iter().all(|c| *c == Cursor::None), "{p:?}");
    }

    #[test]
    fn an_offset_that_no_longer_fits_stops_it() {
        let text = LOOP
            .replace("r6 += 2", "r6 += 32767")
            .replace("r4 += 2", "r4 += 32767");
        let text = text.replace("*(u16 *)(r4 + 0)", "*(u16 *)(r4 - 32768)");
        let p = plan_of(&text);
        assert!(p.iter().all(|c| *c == Cursor::None), "{p:?}");
    }
}

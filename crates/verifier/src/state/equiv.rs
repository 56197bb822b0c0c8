//! State subsumption for pruning: does a state already proven safe at an
//! instruction cover the current one?
//!
//! `old` covers `cur` when every concrete machine state described by `cur`
//! is described by `old`, looking only at what the rest of the program can
//! read: registers the liveness pass says are dead, and anything `old` left
//! uninitialised, are ignored — had the old path read them later it would
//! have been rejected, so it did not. Scalars are compared by inclusion of
//! every view (all scalars are treated as precise; see the crate essay).
//! Ids (null-check links, scalar copies, references) must correspond one to
//! one, through [`IdMap`].

use super::reg::{Ptr, PtrKind, RegState};
use super::stack::{ByteKind, Slot, Stack, SLOT};
use super::{Frame, State};

/// A partial bijection between ids of the old and the current state.
#[derive(Default)]
pub struct IdMap {
    pairs: Vec<(u32, u32)>,
    tmp: u32,
    /// Never-written stack bytes may be read (as unknown data), so the old
    /// state may have relied on them being plain data.
    uninit_readable: bool,
}

impl IdMap {
    /// Whether `old` ↔ `cur` is consistent with the pairs seen so far.
    fn check(&mut self, old: u32, cur: u32) -> bool {
        if (old == 0) != (cur == 0) {
            return false;
        }
        if old == 0 {
            return true;
        }
        for &(o, c) in &self.pairs {
            if o == old {
                return c == cur;
            }
            if c == cur {
                return false;
            }
        }
        self.pairs.push((old, cur));
        true
    }

    /// Scalar ids: an unlinked scalar gets a fresh temporary id, so that
    /// linking in `cur` that `old` did not have is still allowed once.
    fn check_scalar(&mut self, old: u32, cur: u32) -> bool {
        if old == 0 {
            return true;
        }
        let cur = if cur == 0 {
            self.tmp += 1;
            u32::MAX - self.tmp
        } else {
            cur
        };
        self.check(old, cur)
    }
}

/// Whether `old` covers `cur`; `live` gives the registers of the innermost
/// frame that are read later (bit `i` for `ri`), or all if `None`.
pub fn covers(old: &State, cur: &State, live: u16, exact: bool) -> bool {
    covers_with(old, cur, live, exact, false)
}

/// [`covers`], where `uninit_readable` says whether reads of never-written
/// stack bytes are allowed (then such a byte in `old` counts as data).
pub fn covers_with(
    old: &State,
    cur: &State,
    live: u16,
    exact: bool,
    uninit_readable: bool,
) -> bool {
    if old.frames.len() != cur.frames.len() || old.lock != cur.lock {
        return false;
    }
    let mut ids = IdMap {
        uninit_readable,
        ..IdMap::default()
    };
    if old.refs.len() != cur.refs.len()
        || !old
            .refs
            .iter()
            .zip(&cur.refs)
            .all(|(o, c)| ids.check(o.id, c.id))
    {
        return false;
    }
    let n = old.frames.len();
    // Registers of every frame first, innermost first, then the stacks:
    // states that differ usually differ in a register of the current
    // frame (a loop counter), and comparing a caller's big stack before
    // finding that made loops in callees quadratic in stack size (found by
    // the verification-time benchmark, `benches/vs_kernel.rs`). The result
    // does not depend on the order: every pair must hold, and the id
    // mapping only requires consistency.
    for (i, (fo, fc)) in old.frames.iter().zip(&cur.frames).enumerate().rev() {
        if fo.callsite != fc.callsite || fo.callback != fc.callback {
            return false;
        }
        let live = if i + 1 == n { live } else { u16::MAX };
        if !regs_cover(fo, fc, live, exact, &mut ids) {
            return false;
        }
    }
    old.frames
        .iter()
        .zip(&cur.frames)
        .rev()
        .all(|(fo, fc)| stack_covers(&fo.stack, &fc.stack, exact, &mut ids))
}

fn regs_cover(old: &Frame, cur: &Frame, live: u16, exact: bool, ids: &mut IdMap) -> bool {
    for i in 0..old.regs.len() {
        if !exact && live & (1 << i) == 0 {
            continue;
        }
        if !reg_covers(&old.regs[i], &cur.regs[i], exact, ids) {
            return false;
        }
    }
    true
}

/// `regsafe`: whether the old register's state covers the current one.
pub fn reg_covers(old: &RegState, cur: &RegState, exact: bool, ids: &mut IdMap) -> bool {
    match (old, cur) {
        (RegState::NotInit, RegState::NotInit) => true,
        (RegState::NotInit, _) => !exact,
        (_, RegState::NotInit) => false,
        (RegState::Scalar(o), RegState::Scalar(c)) => {
            if exact {
                o.val == c.val && ids.check(o.id, c.id)
            } else {
                c.val.is_subset_of(&o.val) && ids.check_scalar(o.id, c.id)
            }
        }
        (RegState::Ptr(o), RegState::Ptr(c)) => ptr_covers(o, c, exact, ids),
        _ => false,
    }
}

fn ptr_covers(o: &Ptr, c: &Ptr, exact: bool, ids: &mut IdMap) -> bool {
    let kind_ok = match (o.kind, c.kind) {
        // A longer proven packet range covers a shorter one.
        (PtrKind::Packet { range: ro }, PtrKind::Packet { range: rc })
        | (PtrKind::PacketMeta { range: ro }, PtrKind::PacketMeta { range: rc }) => {
            if exact {
                ro == rc
            } else {
                rc >= ro
            }
        }
        (a, b) => a == b,
    };
    let var_ok = if exact {
        o.var == c.var
    } else {
        c.var.is_subset_of(&o.var)
    };
    kind_ok
        && o.off == c.off
        && var_ok
        && ids.check(o.id, c.id)
        && ids.check(o.ref_obj_id, c.ref_obj_id)
}

fn stack_covers(old: &Stack, cur: &Stack, exact: bool, ids: &mut IdMap) -> bool {
    if exact && old.slots.len() != cur.slots.len() {
        return false;
    }
    let empty = Slot::default();
    // With readable uninitialised bytes, slots the old state never
    // allocated matter too.
    let n = if ids.uninit_readable {
        old.slots.len().max(cur.slots.len())
    } else {
        old.slots.len()
    };
    for spi in 0..n {
        let so = old.slots.get(spi).unwrap_or(&empty);
        let sc = cur.slots.get(spi).unwrap_or(&empty);
        if exact {
            if so.bytes != sc.bytes || !reg_covers(&so.spilled, &sc.spilled, true, ids) {
                return false;
            }
            continue;
        }
        if so.is_spill() {
            // A narrow spill (a constant stored with `*(u8 *)` …) leaves
            // the slot's other bytes as they were: they must be covered
            // too, or a path where they were never written is pruned
            // against one where they were (found by the soundness fuzzer).
            let below = SLOT - so.spill_size();
            let rest = |ids: &IdMap| {
                (0..below).all(|i| byte_covers(so.bytes[i], sc, i, ids.uninit_readable))
            };
            if !sc.is_spill() || sc.spill_size() != so.spill_size() {
                // A spilled scalar in `old` is covered by plain data only
                // if it was unknown.
                if let RegState::Scalar(s) = &so.spilled {
                    if s.val.is_unknown() && s.id == 0 && bytes_are_data(sc) && rest(ids) {
                        continue;
                    }
                }
                return false;
            }
            if !reg_covers(&so.spilled, &sc.spilled, false, ids) || !rest(ids) {
                return false;
            }
            continue;
        }
        if !(0..SLOT).all(|i| byte_covers(so.bytes[i], sc, i, ids.uninit_readable)) {
            return false;
        }
    }
    true
}

/// Whether byte `i` of the current slot `sc` is covered by an old byte of
/// kind `o` (`stacksafe` per byte).
fn byte_covers(o: ByteKind, sc: &Slot, i: usize, uninit_readable: bool) -> bool {
    match (o, sc.bytes[i]) {
        (ByteKind::Invalid, ByteKind::Invalid) => true,
        (ByteKind::Invalid, ByteKind::Misc | ByteKind::Zero) => true,
        (ByteKind::Invalid, ByteKind::Spill) => {
            !uninit_readable || matches!(sc.spilled, RegState::Scalar(_))
        }
        (ByteKind::Misc, ByteKind::Misc | ByteKind::Zero) => true,
        (ByteKind::Misc, ByteKind::Spill) => matches!(sc.spilled, RegState::Scalar(_)),
        (ByteKind::Zero, ByteKind::Zero) => true,
        (ByteKind::Zero, ByteKind::Spill) => sc.spilled.is_null_const(),
        _ => false,
    }
}

fn bytes_are_data(s: &Slot) -> bool {
    s.bytes
        .iter()
        .all(|b| matches!(b, ByteKind::Misc | ByteKind::Zero))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Scalar;
    use crate::state::{Ptr, ScalarReg};

    fn st() -> State {
        State::entry(RegState::ptr(PtrKind::Ctx))
    }

    fn with(r: usize, v: RegState) -> State {
        let mut s = st();
        s.cur_mut().regs[r] = v;
        s
    }

    #[test]
    fn scalars_by_inclusion() {
        let wide = with(2, RegState::scalar(Scalar::unsigned_range(0, 100)));
        let narrow = with(2, RegState::scalar(Scalar::unsigned_range(10, 20)));
        assert!(covers(&wide, &narrow, u16::MAX, false));
        assert!(!covers(&narrow, &wide, u16::MAX, false));
        // A dead register is ignored.
        assert!(covers(&narrow, &wide, !(1 << 2), false));
        // Uninitialised in the old state: never read there.
        assert!(covers(&st(), &narrow, u16::MAX, false));
        assert!(!covers(&narrow, &st(), u16::MAX, false));
        assert!(!covers(&st(), &narrow, u16::MAX, true));
    }

    #[test]
    fn pointers_and_ids() {
        let pkt = |range, id| {
            let mut p = Ptr::new(PtrKind::Packet { range });
            p.id = id;
            RegState::Ptr(p)
        };
        assert!(covers(
            &with(2, pkt(8, 0)),
            &with(2, pkt(14, 0)),
            u16::MAX,
            false
        ));
        assert!(!covers(
            &with(2, pkt(14, 0)),
            &with(2, pkt(8, 0)),
            u16::MAX,
            false
        ));
        // Two registers linked in the old state must be linked in the new.
        let mut old = with(2, pkt(0, 1));
        old.cur_mut().regs[3] = pkt(0, 1);
        let mut cur = with(2, pkt(0, 1));
        cur.cur_mut().regs[3] = pkt(0, 2);
        assert!(!covers(&old, &cur, u16::MAX, false));
        assert!(covers(&cur, &cur.clone(), u16::MAX, false));
        let lin = |id| {
            RegState::Scalar(ScalarReg {
                val: Scalar::unsigned_range(0, 9),
                id,
            })
        };
        let mut a = with(2, lin(5));
        a.cur_mut().regs[3] = lin(5);
        let mut b = with(2, lin(0));
        b.cur_mut().regs[3] = lin(0);
        assert!(!covers(&a, &b, u16::MAX, false), "old relied on the link");
        assert!(covers(&b, &a, u16::MAX, false), "new has more links");
    }

    #[test]
    fn stack_bytes() {
        let mut misc = st();
        misc.cur_mut().stack.slot_mut(-8).bytes = [ByteKind::Misc; 8];
        let mut ptr = st();
        let slot = ptr.cur_mut().stack.slot_mut(-8);
        slot.bytes = [ByteKind::Spill; 8];
        slot.spilled = RegState::ptr(PtrKind::Ctx);
        // Never written in the old state: not read later, anything goes…
        assert!(covers(&st(), &misc, u16::MAX, false));
        assert!(covers_with(&st(), &ptr, u16::MAX, false, false));
        // …unless uninitialised bytes may be read as data.
        assert!(!covers_with(&st(), &ptr, u16::MAX, false, true));
        assert!(!covers(&misc, &ptr, u16::MAX, false));
        assert!(!covers(&misc, &st(), u16::MAX, false));
    }
}

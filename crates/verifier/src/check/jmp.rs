//! Conditional jumps: deciding the outcome when the state settles it,
//! otherwise splitting the path and teaching each edge what it implies —
//! bounds of scalars (and of every copy sharing their id), null-ness of
//! maybe-null pointers (and their copies), and packet ranges from
//! comparisons with `data_end`.

use super::{Env, Flow};
use crate::domain::cond::{branch_taken, refine, Cond};
use crate::domain::Scalar;
use crate::error::*;
use crate::state::{PtrKind, RegState, ScalarReg, State};
use isa::{JmpCond, Operand, Reg, Width};

/// What one edge of a comparison implies about a packet pointer.
#[derive(Clone, Copy)]
enum PktFact {
    /// `p <= end`: `off` bytes from the base are in the packet.
    AtMost,
    /// `p < end`.
    Below,
}

impl Env {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_cond_jmp(
        &mut self,
        st: &mut State,
        width: Width,
        cond: JmpCond,
        dst: Reg,
        src: Operand,
        next: usize,
        target: usize,
    ) -> Result<Flow, Fail> {
        self.read_reg(st, dst)?;
        let s_reg = match src {
            Operand::Reg(s) => {
                self.read_reg(st, s)?;
                st.cur().reg(s).clone()
            }
            Operand::Imm(i) => RegState::scalar(Scalar::constant(i as i64 as u64)),
        };
        let d_reg = st.cur().reg(dst).clone();
        match decide(&d_reg, &s_reg, cond, width) {
            Some(true) => return Ok(Flow::Next(target)),
            Some(false) => return Ok(Flow::Next(next)),
            None => {}
        }
        let mut taken = st.clone();
        let src_r = match src {
            Operand::Reg(s) => Some(s),
            Operand::Imm(_) => None,
        };
        let live_t = self.learn(
            &mut taken,
            dst,
            src_r,
            &d_reg,
            &s_reg,
            Cond::edge(cond, true),
            width,
        );
        let live_f = self.learn(
            st,
            dst,
            src_r,
            &d_reg,
            &s_reg,
            Cond::edge(cond, false),
            width,
        );
        if let (RegState::Ptr(_), RegState::Ptr(_)) = (&d_reg, &s_reg) {
            self.pkt_compare(&mut taken, st, &d_reg, &s_reg, cond, width);
        }
        Ok(match (live_t, live_f) {
            (true, true) => Flow::Fork {
                other: Box::new(taken),
                other_pc: target,
                next,
            },
            (true, false) => {
                *st = taken;
                Flow::Next(target)
            }
            (false, true) => Flow::Next(next),
            (false, false) => Flow::End,
        })
    }

    /// Refine `st` for the edge where `cond` has the given outcome; `false`
    /// if the edge cannot be taken.
    #[allow(clippy::too_many_arguments)]
    fn learn(
        &mut self,
        st: &mut State,
        dst: Reg,
        src: Option<Reg>,
        d: &RegState,
        s: &RegState,
        c: Cond,
        w: Width,
    ) -> bool {
        match (d, s) {
            (RegState::Scalar(a), RegState::Scalar(b)) => {
                let (mut x, mut y) = (a.val, b.val);
                if !refine(&mut x, &mut y, c, w) {
                    return false;
                }
                set_scalar(st, dst, a, x);
                if let Some(sr) = src {
                    set_scalar(st, sr, b, y);
                }
                true
            }
            (RegState::Ptr(p), RegState::Scalar(z)) | (RegState::Scalar(z), RegState::Ptr(p))
                if p.kind.maybe_null() && z.val.as_const() == Some(0) && w == Width::W64 =>
            {
                match c {
                    Cond::Is(JmpCond::Eq) => self.mark_null(st, p.id, p.ref_obj_id, true),
                    Cond::Is(JmpCond::Ne) => self.mark_null(st, p.id, p.ref_obj_id, false),
                    _ => {}
                }
                true
            }
            _ => true,
        }
    }

    /// After `p == 0` / `p != 0`: every copy of the maybe-null pointer
    /// becomes the scalar 0, or a valid pointer.
    fn mark_null(&mut self, st: &mut State, id: u32, ref_obj_id: u32, is_null: bool) {
        if id == 0 {
            return;
        }
        let maps = &self.maps;
        st.for_each_reg(|r| {
            if let RegState::Ptr(p) = r {
                if p.id == id && p.kind.maybe_null() {
                    if is_null {
                        *r = RegState::scalar(Scalar::constant(0));
                    } else {
                        p.kind = p.kind.non_null();
                        let has_lock = p
                            .kind
                            .map()
                            .and_then(|m| maps.get(m as usize))
                            .is_some_and(|m| m.spin_lock_off.is_some());
                        if !has_lock {
                            p.id = 0;
                        }
                    }
                }
            }
        });
        if is_null && ref_obj_id != 0 {
            st.refs.retain(|r| r.id != ref_obj_id);
        }
    }

    /// Packet range learning from `p <op> data_end` in every form.
    fn pkt_compare(
        &mut self,
        taken: &mut State,
        fall: &mut State,
        d: &RegState,
        s: &RegState,
        cond: JmpCond,
        w: Width,
    ) {
        if w != Width::W64 {
            return;
        }
        let (Some(dp), Some(sp)) = (d.as_ptr(), s.as_ptr()) else {
            return;
        };
        // Normalise to `p <cond> end` where p is the data (or meta) pointer.
        let (p, cond) = match (dp.kind, sp.kind) {
            (PtrKind::Packet { .. }, PtrKind::PacketEnd) => (dp, cond),
            (PtrKind::PacketEnd, PtrKind::Packet { .. }) => (sp, cond.swap()),
            (PtrKind::PacketMeta { .. }, PtrKind::Packet { .. })
                if sp.off == 0 && sp.var.as_const() == Some(0) =>
            {
                (dp, cond)
            }
            (PtrKind::Packet { .. }, PtrKind::PacketMeta { .. })
                if dp.off == 0 && dp.var.as_const() == Some(0) =>
            {
                (sp, cond.swap())
            }
            _ => return,
        };
        // Which edge knows `p <= end` or `p < end`.
        let (edge_state, fact) = match cond {
            JmpCond::Gt => (fall, PktFact::AtMost),
            JmpCond::Ge => (fall, PktFact::Below),
            JmpCond::Lt => (taken, PktFact::Below),
            JmpCond::Le => (taken, PktFact::AtMost),
            _ => return,
        };
        find_good_pkt_pointers(edge_state, p.kind, p.id, p.off, &p.var, fact);
    }
}

/// Give every packet pointer with `id` the range the comparison proved.
fn find_good_pkt_pointers(
    st: &mut State,
    kind: PtrKind,
    id: u32,
    off: i32,
    var: &Scalar,
    fact: PktFact,
) {
    const MAX_PACKET_OFF: u64 = 0xffff;
    if off < 0 || (off == 0 && matches!(fact, PktFact::Below)) {
        return;
    }
    if var.u64.max > MAX_PACKET_OFF || var.u64.max + off as u64 > MAX_PACKET_OFF {
        return;
    }
    // `p < end` proves one byte more than `p <= end` (but nothing when p
    // is the base itself, as in the kernel).
    let new_range = match fact {
        PktFact::AtMost => off,
        PktFact::Below => off + 1,
    };
    let meta = matches!(kind, PtrKind::PacketMeta { .. });
    st.for_each_reg(|r| {
        if let RegState::Ptr(q) = r {
            if q.id != id {
                return;
            }
            match &mut q.kind {
                PtrKind::Packet { range } if !meta => *range = (*range).max(new_range),
                PtrKind::PacketMeta { range } if meta => *range = (*range).max(new_range),
                _ => {}
            }
        }
    });
}

/// Write a refined scalar to `r` and to every register sharing its id.
fn set_scalar(st: &mut State, r: Reg, old: &ScalarReg, val: Scalar) {
    if old.id != 0 {
        let id = old.id;
        st.for_each_reg(|x| {
            if let RegState::Scalar(s) = x {
                if s.id == id {
                    s.val = val;
                }
            }
        });
    }
    if let RegState::Scalar(s) = st.cur_mut().reg_mut(r) {
        s.val = val;
    }
}

/// The outcome of a comparison if the state settles it.
fn decide(d: &RegState, s: &RegState, cond: JmpCond, w: Width) -> Option<bool> {
    match (d, s) {
        (RegState::Scalar(a), RegState::Scalar(b)) => branch_taken(&a.val, &b.val, cond, w),
        (RegState::Ptr(p), RegState::Scalar(z)) | (RegState::Scalar(z), RegState::Ptr(p)) => {
            // Only these kinds are known non-null (`reg_not_null`); a stack
            // or packet pointer compared with 0 explores both edges.
            let non_null = matches!(
                p.kind,
                PtrKind::MapValue { null: false, .. }
                    | PtrKind::MapKey { .. }
                    | PtrKind::MapPtr { null: false, .. }
                    | PtrKind::Mem { null: false, .. }
            ) || matches!(p.kind, PtrKind::BtfId { flags, .. }
                if flags & crate::ctx::btf::TRUSTED != 0 && flags & crate::ctx::btf::NULL == 0);
            if non_null && z.val.as_const() == Some(0) && w == Width::W64 {
                match cond {
                    JmpCond::Eq => Some(false),
                    JmpCond::Ne => Some(true),
                    _ => None,
                }
            } else {
                None
            }
        }
        _ => None,
    }
}

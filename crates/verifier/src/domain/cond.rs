//! Branch refinement: what a conditional jump teaches about its operands.
//!
//! [`branch_taken`] decides a comparison when the abstract values settle it
//! (then only one edge is explored); [`refine`] narrows both operands to the
//! values for which the comparison has the given outcome. A `false` outcome
//! is the negated condition; `jset` has no negated opcode, so its false edge
//! is the separate [`Cond::NotSet`]. A refinement that leaves an operand with
//! no member means the edge cannot be taken.

use super::range::{Bound, Range};
use super::scalar::Scalar;
use super::tnum::Tnum;
use isa::{JmpCond, Width};

/// A comparison outcome to learn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// The condition holds.
    Is(JmpCond),
    /// `dst & src == 0`: the false edge of `jset`.
    NotSet,
}

impl Cond {
    /// The outcome of `cond` on the edge `taken`.
    pub fn edge(cond: JmpCond, taken: bool) -> Cond {
        match (cond, taken) {
            (c, true) => Cond::Is(c),
            (JmpCond::Set, false) => Cond::NotSet,
            (c, false) => Cond::Is(c.negate()),
        }
    }
}

/// The 32- or 64-bit view of a scalar, widened to 64-bit numbers.
#[derive(Clone, Copy)]
struct View {
    t: Tnum,
    umin: u64,
    umax: u64,
    smin: i64,
    smax: i64,
}

fn view(s: &Scalar, w: Width) -> View {
    match w {
        Width::W64 => View {
            t: s.var_off,
            umin: s.u64.min,
            umax: s.u64.max,
            smin: s.s64.min,
            smax: s.s64.max,
        },
        Width::W32 => View {
            t: s.var_off.subreg(),
            umin: s.u32.min as u64,
            umax: s.u32.max as u64,
            smin: s.s32.min as i64,
            smax: s.s32.max as i64,
        },
    }
}

/// `Some(outcome)` when `a cond b` has the same outcome for every member.
pub fn branch_taken(a: &Scalar, b: &Scalar, cond: JmpCond, w: Width) -> Option<bool> {
    let (x, y) = (view(a, w), view(b, w));
    match cond {
        JmpCond::Eq => eq_taken(a, b, x, y, w),
        JmpCond::Ne => eq_taken(a, b, x, y, w).map(|t| !t),
        JmpCond::Set => {
            let (x, y) = if y.t.is_const() { (x, y) } else { (y, x) };
            if !y.t.is_const() {
                return None;
            }
            if x.t.value() & y.t.value() != 0 {
                Some(true)
            } else if x.t.max() & y.t.value() == 0 {
                Some(false)
            } else {
                None
            }
        }
        JmpCond::Gt => decide(x.umin > y.umax, x.umax <= y.umin),
        JmpCond::Ge => decide(x.umin >= y.umax, x.umax < y.umin),
        JmpCond::Lt => decide(x.umax < y.umin, x.umin >= y.umax),
        JmpCond::Le => decide(x.umax <= y.umin, x.umin > y.umax),
        JmpCond::Sgt => decide(x.smin > y.smax, x.smax <= y.smin),
        JmpCond::Sge => decide(x.smin >= y.smax, x.smax < y.smin),
        JmpCond::Slt => decide(x.smax < y.smin, x.smin >= y.smax),
        JmpCond::Sle => decide(x.smax <= y.smin, x.smin > y.smax),
    }
}

fn decide(always: bool, never: bool) -> Option<bool> {
    if always {
        Some(true)
    } else if never {
        Some(false)
    } else {
        None
    }
}

fn eq_taken(a: &Scalar, b: &Scalar, x: View, y: View, w: Width) -> Option<bool> {
    if x.t.is_const() && y.t.is_const() {
        return Some(x.t.value() == y.t.value());
    }
    if x.umin > y.umax || x.umax < y.umin || x.smin > y.smax || x.smax < y.smin {
        return Some(false);
    }
    if w == Width::W64
        && (a.u32.min > b.u32.max
            || a.u32.max < b.u32.min
            || a.s32.min > b.s32.max
            || a.s32.max < b.s32.min)
    {
        return Some(false);
    }
    None
}

/// Narrow `a` and `b` to the members for which `a cond b` at width `w`.
/// Returns `false` if no pair of members satisfies it (the edge is dead).
pub fn refine(a: &mut Scalar, b: &mut Scalar, cond: Cond, w: Width) -> bool {
    match cond {
        Cond::Is(JmpCond::Eq) => refine_eq(a, b, w),
        Cond::Is(JmpCond::Ne) => {
            refine_ne(a, b, w);
            refine_ne(b, a, w);
        }
        Cond::Is(JmpCond::Set) => refine_set(a, b, w, true),
        Cond::NotSet => refine_set(a, b, w, false),
        Cond::Is(JmpCond::Le) => refine_le(a, b, w, false, false),
        Cond::Is(JmpCond::Lt) => refine_le(a, b, w, false, true),
        Cond::Is(JmpCond::Ge) => refine_le(b, a, w, false, false),
        Cond::Is(JmpCond::Gt) => refine_le(b, a, w, false, true),
        Cond::Is(JmpCond::Sle) => refine_le(a, b, w, true, false),
        Cond::Is(JmpCond::Slt) => refine_le(a, b, w, true, true),
        Cond::Is(JmpCond::Sge) => refine_le(b, a, w, true, false),
        Cond::Is(JmpCond::Sgt) => refine_le(b, a, w, true, true),
    }
    a.sync();
    b.sync();
    !a.is_bottom() && !b.is_bottom()
}

fn refine_eq(a: &mut Scalar, b: &mut Scalar, w: Width) {
    match w {
        Width::W32 => {
            let u = a.u32.meet(b.u32);
            let s = a.s32.meet(b.s32);
            let ok = a.var_off.subreg().overlaps(b.var_off.subreg());
            let t = a.var_off.subreg().intersect(b.var_off.subreg());
            for r in [a, b] {
                r.u32 = u;
                r.s32 = s;
                r.var_off = r.var_off.with_subreg(t);
                if !ok {
                    r.u32 = Range::new(1, 0);
                }
            }
        }
        Width::W64 => {
            let u = a.u64.meet(b.u64);
            let s = a.s64.meet(b.s64);
            let u32r = a.u32.meet(b.u32);
            let s32r = a.s32.meet(b.s32);
            let ok = a.var_off.overlaps(b.var_off);
            let t = a.var_off.intersect(b.var_off);
            for r in [a, b] {
                r.u64 = u;
                r.s64 = s;
                r.u32 = u32r;
                r.s32 = s32r;
                r.var_off = t;
                if !ok {
                    r.u64 = Range::new(1, 0);
                }
            }
        }
    }
}

/// `a != b` with `b` constant: an end of `a` equal to it moves inwards.
fn refine_ne(a: &mut Scalar, b: &Scalar, w: Width) {
    match w {
        Width::W32 => {
            let Some(v) = b.as_const32() else { return };
            a.u32 = exclude_end(a.u32, v);
            a.s32 = exclude_end(a.s32, v as i32);
        }
        Width::W64 => {
            let Some(v) = b.as_const() else { return };
            a.u64 = exclude_end(a.u64, v);
            a.s64 = exclude_end(a.s64, v as i64);
        }
    }
}

/// `r` without `v` when `v` is one of its ends (empty if `r == [v, v]`).
fn exclude_end<T: Bound>(mut r: Range<T>, v: T) -> Range<T> {
    let empty = Range::new(T::MAX, T::MIN);
    if r.min == v {
        if v == T::MAX {
            return empty;
        }
        r.min = v.succ();
    }
    if r.max == v {
        if v == T::MIN {
            return empty;
        }
        r.max = v.pred();
    }
    r
}

/// `a & b != 0` (`set`) or `== 0` with one side constant: a single set bit
/// becomes known one; any bit of the constant becomes known zero when
/// nothing is in common.
fn refine_set(a: &mut Scalar, b: &mut Scalar, w: Width, set: bool) {
    let b_const = match w {
        Width::W32 => b.as_const32().map(u64::from),
        Width::W64 => b.as_const(),
    };
    let (r, v) = match b_const {
        Some(v) => (a, v),
        None => {
            let a_const = match w {
                Width::W32 => a.as_const32().map(u64::from),
                Width::W64 => a.as_const(),
            };
            match a_const {
                Some(v) => (b, v),
                None => return,
            }
        }
    };
    let learn = |t: Tnum| {
        if set {
            if v.is_power_of_two() {
                t.or(Tnum::constant(v))
            } else {
                t
            }
        } else {
            t.and(Tnum::constant(!v))
        }
    };
    r.var_off = match w {
        Width::W32 => r.var_off.with_subreg(learn(r.var_off.subreg())),
        Width::W64 => learn(r.var_off),
    };
}

/// `a <= b` (or `<` with `strict`), signed or unsigned.
fn refine_le(a: &mut Scalar, b: &mut Scalar, w: Width, signed: bool, strict: bool) {
    match (w, signed) {
        (Width::W64, false) => {
            let (amax, bmin) = le_bounds(a.u64.max, b.u64.max, b.u64.min, a.u64.min, strict);
            (a.u64.max, b.u64.min) = (amax, bmin);
            if strict && (b.u64.max == 0 || a.u64.min == u64::MAX) {
                a.u64 = Range::new(1, 0);
            }
        }
        (Width::W64, true) => {
            let (amax, bmin) = le_bounds(a.s64.max, b.s64.max, b.s64.min, a.s64.min, strict);
            (a.s64.max, b.s64.min) = (amax, bmin);
            if strict && (b.s64.max == i64::MIN || a.s64.min == i64::MAX) {
                a.s64 = Range::new(1, 0);
            }
        }
        (Width::W32, false) => {
            let (amax, bmin) = le_bounds(a.u32.max, b.u32.max, b.u32.min, a.u32.min, strict);
            (a.u32.max, b.u32.min) = (amax, bmin);
            if strict && (b.u32.max == 0 || a.u32.min == u32::MAX) {
                a.u32 = Range::new(1, 0);
            }
        }
        (Width::W32, true) => {
            let (amax, bmin) = le_bounds(a.s32.max, b.s32.max, b.s32.min, a.s32.min, strict);
            (a.s32.max, b.s32.min) = (amax, bmin);
            if strict && (b.s32.max == i32::MIN || a.s32.min == i32::MAX) {
                a.s32 = Range::new(1, 0);
            }
        }
    }
}

/// New `a.max` and `b.min` from `a <= b` (`a < b`): `a.max <= b.max`,
/// `b.min >= a.min` (each one tighter when strict).
fn le_bounds<T: Bound>(amax: T, bmax: T, bmin: T, amin: T, strict: bool) -> (T, T) {
    if strict {
        (amax.min(bmax.pred()), bmin.max(amin.succ()))
    } else {
        (amax.min(bmax), bmin.max(amin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refine_unsigned_bound() {
        let mut a = Scalar::UNKNOWN;
        let mut b = Scalar::constant(10);
        assert!(refine(&mut a, &mut b, Cond::Is(JmpCond::Lt), Width::W64));
        assert_eq!(a.u64, Range::new(0, 9));
        assert_eq!(
            format!("{a:?}"),
            "scalar(smin=smin32=0,smax=umax=smax32=umax32=9,var_off=(0x0; 0xf))"
        );
        let mut a = Scalar::UNKNOWN;
        let mut b = Scalar::constant(0);
        assert!(!refine(&mut a, &mut b, Cond::Is(JmpCond::Lt), Width::W64));
    }

    #[test]
    fn decided_branches() {
        let a = Scalar::unsigned_range(0, 9);
        let ten = Scalar::constant(10);
        assert_eq!(branch_taken(&a, &ten, JmpCond::Lt, Width::W64), Some(true));
        assert_eq!(branch_taken(&a, &ten, JmpCond::Eq, Width::W64), Some(false));
        assert_eq!(
            branch_taken(&a, &ten, JmpCond::Sgt, Width::W64),
            Some(false)
        );
        assert_eq!(
            branch_taken(&a, &Scalar::constant(5), JmpCond::Gt, Width::W64),
            None
        );
        let odd = Scalar::from_tnum(Tnum::new(1, 0xe));
        assert_eq!(
            branch_taken(&odd, &Scalar::constant(1), JmpCond::Set, Width::W64),
            Some(true)
        );
    }
}

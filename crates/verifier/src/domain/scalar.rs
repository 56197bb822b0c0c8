//! The abstract value of a scalar register: a tnum and four intervals.
//!
//! Each view catches facts the others miss: the tnum knows bits (alignment,
//! masks), the unsigned intervals know magnitudes, the signed ones know
//! signs, and the 32-bit views know the low half after a 32-bit operation
//! even when the high half is unknown. The views describe the same set of
//! concrete values, so each can sharpen the others; [`Scalar::sync`] does
//! that reconciliation once after every transfer, in the kernel's order
//! (tnum → intervals, then between the intervals, then intervals → tnum, then
//! tnum → intervals again), so that register states, and the log that prints
//! them, match the kernel's.
//!
//! A `Scalar` whose views contradict each other describes no value; branch
//! refinement produces that for an edge that cannot be taken, and
//! [`Scalar::is_bottom`] detects it.

use super::range::Range;
use super::tnum::Tnum;
use std::fmt;

/// A set of 64-bit values; see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scalar {
    pub var_off: Tnum,
    pub u64: Range<u64>,
    pub s64: Range<i64>,
    pub u32: Range<u32>,
    pub s32: Range<i32>,
}

impl Scalar {
    /// Any value.
    pub const UNKNOWN: Scalar = Scalar {
        var_off: Tnum::UNKNOWN,
        u64: Range::FULL,
        s64: Range::FULL,
        u32: Range::FULL,
        s32: Range::FULL,
    };

    /// Exactly `v`.
    pub const fn constant(v: u64) -> Scalar {
        Scalar {
            var_off: Tnum::constant(v),
            u64: Range::single(v),
            s64: Range::single(v as i64),
            u32: Range::single(v as u32),
            s32: Range::single(v as i32),
        }
    }

    /// Any value in `[min, max]` (unsigned), synced.
    pub fn unsigned_range(min: u64, max: u64) -> Scalar {
        let mut s = Scalar::UNKNOWN;
        s.u64 = Range::new(min, max);
        s.sync();
        s
    }

    /// Any value with the given known bits, synced.
    pub fn from_tnum(t: Tnum) -> Scalar {
        let mut s = Scalar::UNKNOWN;
        s.var_off = t;
        s.sync();
        s
    }

    /// Whether `v` is a member (in every view).
    pub fn contains(&self, v: u64) -> bool {
        self.var_off.contains(v)
            && self.u64.contains(v)
            && self.s64.contains(v as i64)
            && self.u32.contains(v as u32)
            && self.s32.contains(v as i32)
    }

    /// The single value, if the tnum pins it down.
    pub fn as_const(&self) -> Option<u64> {
        self.var_off.is_const().then_some(self.var_off.value())
    }

    /// The single value of the low 32 bits, if known.
    pub fn as_const32(&self) -> Option<u32> {
        self.var_off
            .subreg_is_const()
            .then_some(self.var_off.value() as u32)
    }

    /// Whether the whole 64-bit register is one value.
    pub fn is_const(&self) -> bool {
        self.var_off.is_const()
    }

    /// Whether nothing is known.
    pub fn is_unknown(&self) -> bool {
        *self == Scalar::UNKNOWN
    }

    /// Whether the views contradict each other (no concrete value fits).
    pub fn is_bottom(&self) -> bool {
        self.u64.is_empty()
            || self.s64.is_empty()
            || self.u32.is_empty()
            || self.s32.is_empty()
            || !self.var_off.contains(self.var_off.value())
            || self.var_off.value() > self.u64.max
            || self.var_off.max() < self.u64.min
    }

    /// Whether every member of `self` is a member of `old` — the pruning
    /// test: a state already proven safe covers this one.
    pub fn is_subset_of(&self, old: &Scalar) -> bool {
        self.u64.is_subset_of(old.u64)
            && self.s64.is_subset_of(old.s64)
            && self.u32.is_subset_of(old.u32)
            && self.s32.is_subset_of(old.s32)
            && self.var_off.is_subset_of(old.var_off)
    }

    /// The least scalar holding both (used to widen loop states).
    pub fn join(&self, o: &Scalar) -> Scalar {
        let mut s = Scalar {
            var_off: self.var_off.union(o.var_off),
            u64: self.u64.join(o.u64),
            s64: self.s64.join(o.s64),
            u32: self.u32.join(o.u32),
            s32: self.s32.join(o.s32),
        };
        s.sync();
        s
    }

    /// Forget the 64-bit views.
    pub fn mark_64_unbounded(&mut self) {
        self.u64 = Range::FULL;
        self.s64 = Range::FULL;
    }

    /// Forget the 32-bit views.
    pub fn mark_32_unbounded(&mut self) {
        self.u32 = Range::FULL;
        self.s32 = Range::FULL;
    }

    /// After a 32-bit operation: the high half becomes zero, and the 64-bit
    /// views follow from the 32-bit ones.
    pub fn zext_32_to_64(&mut self) {
        self.var_off = self.var_off.subreg();
        self.assign_32_into_64();
    }

    /// Set the 64-bit views from the 32-bit ones, for a value known to be
    /// the zero extension of its low half.
    pub fn assign_32_into_64(&mut self) {
        self.u64 = Range::new(self.u32.min as u64, self.u32.max as u64);
        if self.s32.min >= 0 {
            self.s64 = Range::new(self.s32.min as i64, self.s32.max as i64);
        } else {
            self.s64 = Range::new(0, u32::MAX as i64);
        }
    }

    /// Reconcile the five views (the kernel's `reg_bounds_sync`).
    pub fn sync(&mut self) {
        self.bounds_from_tnum();
        self.deduce_bounds();
        self.deduce_bounds();
        self.deduce_bounds();
        self.tnum_from_bounds();
        self.bounds_from_tnum();
    }

    /// Tighten every interval to the tnum's extremes.
    fn bounds_from_tnum(&mut self) {
        let t = self.var_off;
        let t32 = t.subreg();
        self.s32 = self.s32.meet(Range::new(t32.s32_min(), t32.s32_max()));
        self.u32 = self
            .u32
            .meet(Range::new(t32.value() as u32, t32.max() as u32));
        self.s64 = self.s64.meet(Range::new(t.smin(), t.smax()));
        self.u64 = self.u64.meet(Range::new(t.value(), t.max()));
    }

    /// Learn bits from the intervals: the common prefix of umin and umax is
    /// known, in both halves.
    fn tnum_from_bounds(&mut self) {
        let t64 = self
            .var_off
            .intersect(Tnum::range(self.u64.min, self.u64.max));
        let t32 = self
            .var_off
            .subreg()
            .intersect(Tnum::range(self.u32.min as u64, self.u32.max as u64));
        self.var_off = t64.clear_subreg().or(t32);
    }

    fn deduce_bounds(&mut self) {
        self.deduce_32();
        self.deduce_64();
        self.deduce_mixed();
    }

    /// 32-bit views from the 64-bit ones when the high halves agree, then
    /// signed and unsigned 32-bit from each other.
    fn deduce_32(&mut self) {
        let (umin, umax) = (self.u64.min, self.u64.max);
        if umin >> 32 == umax >> 32 {
            self.u32 = self.u32.meet(Range::new(umin as u32, umax as u32));
            if (umin as i32) <= (umax as i32) {
                self.s32 = self.s32.meet(Range::new(umin as i32, umax as i32));
            }
        }
        let (smin, smax) = (self.s64.min, self.s64.max);
        if smin >> 32 == smax >> 32 {
            self.u32 = self.u32.meet(Range::new(smin as u32, smax as u32));
            if (smin as i32) <= (smax as i32) {
                self.s32 = self.s32.meet(Range::new(smin as i32, smax as i32));
            }
        }
        // High halves differ by one and the low half crosses from negative
        // to non-negative: the values wrap through the 32-bit sign boundary
        // only once, so the signed 32-bit interval is contiguous.
        if (umin >> 32).wrapping_add(1) == umax >> 32 && (umin as i32) < 0 && (umax as i32) >= 0 {
            self.s32 = self.s32.meet(Range::new(umin as i32, umax as i32));
        }
        if (smin >> 32).wrapping_add(1) == smax >> 32 && (smin as i32) < 0 && (smax as i32) >= 0 {
            self.s32 = self.s32.meet(Range::new(smin as i32, smax as i32));
        }
        if (self.u32.min as i32) <= (self.u32.max as i32) {
            let r = Range::new(self.u32.min as i32, self.u32.max as i32);
            self.s32 = self.s32.meet(r);
        }
        if (self.s32.min as u32) <= (self.s32.max as u32) {
            let r = Range::new(self.s32.min as u32, self.s32.max as u32);
            self.u32 = self.u32.meet(r);
        }
    }

    /// Signed and unsigned 64-bit views from each other.
    fn deduce_64(&mut self) {
        if (self.u64.min as i64) <= (self.u64.max as i64) {
            let r = Range::new(self.u64.min as i64, self.u64.max as i64);
            self.s64 = self.s64.meet(r);
        }
        if (self.s64.min as u64) <= (self.s64.max as u64) {
            let r = Range::new(self.s64.min as u64, self.s64.max as u64);
            self.u64 = self.u64.meet(r);
        } else if self.u64.max < self.s64.min as u64 {
            // The signed interval wraps; the unsigned one sits entirely in
            // its non-negative part.
            self.s64.min = self.u64.min as i64;
            self.u64.max = self.u64.max.min(self.s64.max as u64);
        } else if (self.s64.max as u64) < self.u64.min {
            // ... or entirely in its negative part.
            self.s64.max = self.u64.max as i64;
            self.u64.min = self.u64.min.max(self.s64.min as u64);
        }
    }

    /// 64-bit views from the 32-bit ones: the low half of the extremes can
    /// be raised (lowered) to the 32-bit bounds.
    fn deduce_mixed(&mut self) {
        const HI: u64 = !0xffff_ffff;
        let new_umin = (self.u64.min & HI) | self.u32.min as u64;
        let new_umax = (self.u64.max & HI) | self.u32.max as u64;
        self.u64 = self.u64.meet(Range::new(new_umin, new_umax));
        let new_smin = ((self.s64.min as u64 & HI) | self.u32.min as u64) as i64;
        let new_smax = ((self.s64.max as u64 & HI) | self.u32.max as u64) as i64;
        self.s64 = self.s64.meet(Range::new(new_smin, new_smax));
        // A non-negative 32-bit value in a register known to fit in s32 is
        // the whole register.
        if self.s32.min >= 0 && self.s64.min >= i32::MIN as i64 && self.s64.max <= i32::MAX as i64 {
            let r = Range::new(self.s32.min as i64, self.s32.max as i64);
            self.s64 = self.s64.meet(r);
            let r = Range::new(self.s32.min as u64, self.s32.max as u64);
            self.u64 = self.u64.meet(r);
        }
    }

    /// Truncate to `bytes` (1, 2, 4): the value is zero-extended, so the
    /// bounds survive only if they already fit.
    pub fn truncate(&mut self, bytes: u32) {
        if bytes >= 8 {
            return;
        }
        let bits = bytes * 8;
        let limit = (1u64 << bits) - 1;
        self.var_off = self.var_off.cast(bytes);
        // Same high bits at both ends: the truncated interval is contiguous.
        if self.u64.min >> bits == self.u64.max >> bits {
            self.u64 = Range::new(self.u64.min & limit, self.u64.max & limit);
        } else {
            self.u64 = Range::new(0, limit);
        }
        self.s64 = Range::new(self.u64.min as i64, self.u64.max as i64);
        if bytes < 4 {
            self.u32 = Range::new(self.u64.min as u32, self.u64.max as u32);
            self.s32 = Range::new(self.u64.min as i32, self.u64.max as i32);
        }
        self.sync();
    }

    /// Sign-extend the low `bits` (8, 16, 32) into 64 bits (`movsx`,
    /// `ldsx`).
    pub fn sign_extend(&mut self, bits: u32) {
        let shift = 64 - bits;
        let ext = |v: u64| ((v << shift) as i64) >> shift;
        if let Some(c) = self.as_const() {
            *self = Scalar::constant(ext(c) as u64);
            return;
        }
        let lo_mask = (1u64 << bits) - 1;
        // If the value already fits the narrow signed type (both ends have
        // the same sign once truncated), extension keeps the interval.
        let (umin, umax) = (self.u64.min, self.u64.max);
        let fits = umax - umin <= lo_mask && umin >> bits == umax >> bits && ext(umin) <= ext(umax);
        let mut s = Scalar::UNKNOWN;
        let t = self.var_off.cast(bits / 8);
        // The sign bit decides the high bits: known sign bit extends, an
        // unknown one makes them unknown.
        let sign = 1u64 << (bits - 1);
        s.var_off = if t.mask() & sign != 0 {
            Tnum::new(t.value(), t.mask() | !lo_mask)
        } else if t.value() & sign != 0 {
            Tnum::new(t.value() | !lo_mask, t.mask())
        } else {
            t
        };
        if fits {
            s.s64 = Range::new(ext(umin), ext(umax));
        } else {
            let half = sign as i64;
            s.s64 = Range::new(-half, half - 1);
        }
        s.sync();
        *self = s;
    }

    /// Sign-extend the low `bits` (8, 16) into the low 32 bits, with the
    /// high half then zeroed (`movsx` at 32-bit width).
    pub fn sign_extend_32(&mut self, bits: u32) {
        let mut t = *self;
        t.sign_extend(bits);
        t.zext_32_to_64();
        t.sync();
        *self = t;
    }
}

/// The kernel prints numbers up to 16 bits in decimal and bigger ones in
/// hex.
pub fn fmt_unum(v: u64) -> String {
    if v <= u16::MAX as u64 {
        format!("{v}")
    } else {
        format!("{v:#x}")
    }
}

/// Signed counterpart of [`fmt_unum`]; negative big numbers print as their
/// 64-bit two's complement.
pub fn fmt_snum(v: i64) -> String {
    if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
        format!("{v}")
    } else {
        format!("{:#x}", v as u64)
    }
}

impl Scalar {
    /// The `smin=…,umax=…,var_off=(…)` list the kernel prints for a
    /// non-constant value: bounds at their type's extreme are omitted, equal
    /// ones are merged (`smax=umax=255`), signed and unsigned only when of
    /// the same sign.
    pub fn fmt_ranges(&self, out: &mut Vec<String>) {
        struct Item {
            name: &'static str,
            val: u64,
            omit: bool,
        }
        let mut items = [
            Item {
                name: "smin",
                val: self.s64.min as u64,
                omit: self.s64.min == i64::MIN,
            },
            Item {
                name: "smax",
                val: self.s64.max as u64,
                omit: self.s64.max == i64::MAX,
            },
            Item {
                name: "umin",
                val: self.u64.min,
                omit: self.u64.min == 0,
            },
            Item {
                name: "umax",
                val: self.u64.max,
                omit: self.u64.max == u64::MAX,
            },
            Item {
                name: "smin32",
                val: self.s32.min as i64 as u64,
                omit: self.s32.min == i32::MIN,
            },
            Item {
                name: "smax32",
                val: self.s32.max as i64 as u64,
                omit: self.s32.max == i32::MAX,
            },
            Item {
                name: "umin32",
                val: self.u32.min as u64,
                omit: self.u32.min == 0,
            },
            Item {
                name: "umax32",
                val: self.u32.max as u64,
                omit: self.u32.max == u32::MAX,
            },
        ];
        for i in 0..items.len() {
            if items[i].omit {
                continue;
            }
            let neg1 = items[i].name.starts_with('s') && (items[i].val as i64) < 0;
            let mut s = format!("{}=", items[i].name);
            let mut j = i + 2;
            while j < items.len() {
                let neg2 = items[j].name.starts_with('s') && (items[j].val as i64) < 0;
                if !items[j].omit && items[j].val == items[i].val && neg1 == neg2 {
                    items[j].omit = true;
                    s.push_str(items[j].name);
                    s.push('=');
                }
                j += 2;
            }
            if items[i].name.starts_with('s') {
                s.push_str(&fmt_snum(items[i].val as i64));
            } else {
                s.push_str(&fmt_unum(items[i].val));
            }
            out.push(s);
        }
        if !self.var_off.is_unknown() {
            out.push(format!("var_off={}", self.var_off));
        }
    }
}

impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = self.as_const() {
            return write!(f, "{}", fmt_snum(c as i64));
        }
        let mut parts = Vec::new();
        self.fmt_ranges(&mut parts);
        write!(f, "scalar({})", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_learns_across_views() {
        let mut s = Scalar::UNKNOWN;
        s.var_off = Tnum::new(0, 0xff);
        s.sync();
        assert_eq!(s.u64, Range::new(0, 255));
        assert_eq!(s.s64, Range::new(0, 255));
        assert_eq!(s.u32, Range::new(0, 255));
        assert_eq!(
            format!("{s:?}"),
            "scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))"
        );
        let s = Scalar::unsigned_range(0, 7);
        assert_eq!(s.var_off, Tnum::new(0, 7));
        let mut s = Scalar::UNKNOWN;
        s.s64 = Range::new(-1, 0);
        s.sync();
        assert!(s.contains(0) && s.contains(u64::MAX) && !s.contains(1));
    }

    #[test]
    fn number_format() {
        assert_eq!(fmt_unum(65535), "65535");
        assert_eq!(fmt_unum(65536), "0x10000");
        assert_eq!(fmt_snum(-32768), "-32768");
        assert_eq!(fmt_snum(-32769), "0xffffffffffff7fff");
    }

    #[test]
    fn sign_extend_sound() {
        for lo in [0u64, 5, 0x7f, 0x80, 0xff, 0x1ff, 0xfffe] {
            for hi in [lo, lo + 1, lo + 0x80, lo + 0x100] {
                let mut s = Scalar::unsigned_range(lo, hi);
                let orig = s;
                s.sign_extend(8);
                for v in lo..=hi {
                    if orig.contains(v) {
                        assert!(s.contains(v as u8 as i8 as i64 as u64), "{lo} {hi} {v}");
                    }
                }
            }
        }
    }
}

//! Tristate numbers: a 64-bit value where each bit is known 0, known 1 or
//! unknown.
//!
//! A [`Tnum`] `(value; mask)` stands for every `x` with `x & !mask == value`:
//! bits set in `mask` are unknown, the others equal the bit of `value`. The
//! domain is the one the kernel's verifier calls `var_off`; it captures
//! alignment and bit-level facts (`x & 0xff`, `x << 3`) that ranges cannot.
//! Invariant: `value & mask == 0`.
//!
//! Every operation over-approximates: for concrete `a ∈ A`, `b ∈ B`,
//! `a op b ∈ A.op(B)`. The exhaustive 8-bit tests below check that claim for
//! every pair of 8-bit tnums and every pair of members.

use std::fmt;

/// A tristate number. See the module documentation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tnum {
    /// The known-one bits.
    value: u64,
    /// The unknown bits.
    mask: u64,
}

impl Tnum {
    /// Every value.
    pub const UNKNOWN: Tnum = Tnum {
        value: 0,
        mask: u64::MAX,
    };

    /// The tnum `(value; mask)`; bits of `value` under `mask` are dropped so
    /// that the invariant holds.
    pub const fn new(value: u64, mask: u64) -> Tnum {
        Tnum {
            value: value & !mask,
            mask,
        }
    }

    /// Exactly `v`.
    pub const fn constant(v: u64) -> Tnum {
        Tnum { value: v, mask: 0 }
    }

    /// The known-one bits (also the smallest member).
    pub const fn value(self) -> u64 {
        self.value
    }

    /// The unknown bits.
    pub const fn mask(self) -> u64 {
        self.mask
    }

    /// The largest member (unsigned).
    pub const fn max(self) -> u64 {
        self.value | self.mask
    }

    /// Whether exactly one value is represented.
    pub const fn is_const(self) -> bool {
        self.mask == 0
    }

    /// Whether every value is represented.
    pub const fn is_unknown(self) -> bool {
        self.mask == u64::MAX
    }

    /// Whether `x` is a member.
    pub const fn contains(self, x: u64) -> bool {
        x & !self.mask == self.value
    }

    /// Whether every member of `self` is a member of `other`.
    pub const fn is_subset_of(self, other: Tnum) -> bool {
        // Unknown bits of self must be unknown in other, and known bits of
        // self must agree with other wherever other knows them.
        self.mask & !other.mask == 0 && (self.value & !other.mask) == other.value
    }

    /// The smallest tnum holding every value of `[min, max]` (unsigned):
    /// the common prefix is known, everything below the first difference is
    /// unknown.
    pub const fn range(min: u64, max: u64) -> Tnum {
        let diff = min ^ max;
        if diff == 0 {
            return Tnum::constant(min);
        }
        let bits = 64 - diff.leading_zeros();
        if bits >= 64 {
            return Tnum::UNKNOWN;
        }
        let low = (1u64 << bits) - 1;
        Tnum::new(min & !low, low)
    }

    /// Whether `self` and `other` share at least one member.
    pub const fn overlaps(self, other: Tnum) -> bool {
        let known_both = !(self.mask | other.mask);
        (self.value ^ other.value) & known_both == 0
    }

    /// Members of both (the meet). Meaningless when the two do not overlap;
    /// callers check [`Tnum::overlaps`] where that matters.
    pub const fn intersect(self, other: Tnum) -> Tnum {
        let value = self.value | other.value;
        let mask = self.mask & other.mask;
        Tnum::new(value, mask)
    }

    /// Members of either (the join): bits on which both agree stay known.
    pub const fn union(self, other: Tnum) -> Tnum {
        let mask = self.mask | other.mask | (self.value ^ other.value);
        Tnum::new(self.value & other.value, mask)
    }

    /// `x << shift` for `shift < 64`.
    pub const fn lshift(self, shift: u32) -> Tnum {
        let s = shift & 63;
        Tnum::new(self.value << s, self.mask << s)
    }

    /// Logical `x >> shift` for `shift < 64`.
    pub const fn rshift(self, shift: u32) -> Tnum {
        let s = shift & 63;
        Tnum::new(self.value >> s, self.mask >> s)
    }

    /// Arithmetic shift right at `bits` width (32 or 64); at 32 the result
    /// is the 32-bit pattern zero-extended, as a 32-bit ALU op leaves it.
    pub const fn arshift(self, shift: u32, bits: u32) -> Tnum {
        if bits == 32 {
            let s = shift & 31;
            let v = ((self.value as u32 as i32) >> s) as u32 as u64;
            let m = ((self.mask as u32 as i32) >> s) as u32 as u64;
            Tnum::new(v, m)
        } else {
            let s = shift & 63;
            let v = ((self.value as i64) >> s) as u64;
            let m = ((self.mask as i64) >> s) as u64;
            Tnum::new(v, m)
        }
    }

    /// `a + b` (wrapping). The unknown carries are the positions where the
    /// sum of the largest members and the sum of the smallest ones differ.
    pub const fn add(self, other: Tnum) -> Tnum {
        let sm = self.mask.wrapping_add(other.mask);
        let sv = self.value.wrapping_add(other.value);
        let sigma = sm.wrapping_add(sv);
        let chi = sigma ^ sv;
        let mu = chi | self.mask | other.mask;
        Tnum::new(sv, mu)
    }

    /// `a - b` (wrapping), by the same borrow argument as [`Tnum::add`].
    pub const fn sub(self, other: Tnum) -> Tnum {
        let dv = self.value.wrapping_sub(other.value);
        let alpha = dv.wrapping_add(self.mask);
        let beta = dv.wrapping_sub(other.mask);
        let chi = alpha ^ beta;
        let mu = chi | self.mask | other.mask;
        Tnum::new(dv, mu)
    }

    /// `-a` (wrapping).
    pub const fn neg(self) -> Tnum {
        Tnum::constant(0).sub(self)
    }

    /// `a & b`.
    pub const fn and(self, other: Tnum) -> Tnum {
        let alpha = self.value | self.mask;
        let beta = other.value | other.mask;
        let v = self.value & other.value;
        Tnum::new(v, alpha & beta & !v)
    }

    /// `a | b`.
    pub const fn or(self, other: Tnum) -> Tnum {
        let v = self.value | other.value;
        let mu = self.mask | other.mask;
        Tnum::new(v, mu & !v)
    }

    /// `a ^ b`.
    pub const fn xor(self, other: Tnum) -> Tnum {
        let v = self.value ^ other.value;
        let mu = self.mask | other.mask;
        Tnum::new(v, mu)
    }

    /// `a * b` (wrapping): long multiplication over the bits of `a`, where a
    /// known-one bit adds the shifted unknown part of `b` and an unknown bit
    /// adds "anything up to" the shifted `b`; the known parts multiply
    /// exactly and are added at the end.
    pub const fn mul(self, other: Tnum) -> Tnum {
        let exact = self.value.wrapping_mul(other.value);
        let mut acc = Tnum::constant(0);
        let mut a = self;
        let mut b = other;
        while a.value != 0 || a.mask != 0 {
            if a.value & 1 != 0 {
                acc = acc.add(Tnum::new(0, b.mask));
            } else if a.mask & 1 != 0 {
                acc = acc.add(Tnum::new(0, b.value | b.mask));
            }
            a = a.rshift(1);
            b = b.lshift(1);
        }
        Tnum::constant(exact).add(acc)
    }

    /// The low 32 bits, zero-extended.
    pub const fn subreg(self) -> Tnum {
        self.cast(4)
    }

    /// The high 32 bits, with the low 32 known zero.
    pub const fn clear_subreg(self) -> Tnum {
        Tnum::new(self.value & !0xffff_ffff, self.mask & !0xffff_ffff)
    }

    /// `self` with its low 32 bits replaced by those of `low`.
    pub const fn with_subreg(self, low: Tnum) -> Tnum {
        self.clear_subreg().or(low.subreg())
    }

    /// `self` with its low 32 bits replaced by the constant `v`.
    pub const fn with_const_subreg(self, v: u32) -> Tnum {
        self.with_subreg(Tnum::constant(v as u64))
    }

    /// Truncation to `bytes` (1, 2, 4 or 8) bytes, zero-extended.
    pub const fn cast(self, bytes: u32) -> Tnum {
        if bytes >= 8 {
            return self;
        }
        let keep = (1u64 << (bytes * 8)) - 1;
        Tnum::new(self.value & keep, self.mask & keep)
    }

    /// Whether every member is a multiple of `align` (a power of two).
    pub const fn is_aligned(self, align: u64) -> bool {
        if align == 0 {
            return true;
        }
        (self.value | self.mask) & (align - 1) == 0
    }

    /// Whether the low 32 bits are a single value.
    pub const fn subreg_is_const(self) -> bool {
        self.mask as u32 == 0
    }

    /// Signed view of the smallest member at 64 bits: known bits plus an
    /// unknown sign bit set.
    pub const fn smin(self) -> i64 {
        (self.value | (self.mask & (1 << 63))) as i64
    }

    /// Signed view of the largest member at 64 bits.
    pub const fn smax(self) -> i64 {
        (self.value | (self.mask & !(1 << 63))) as i64
    }

    /// Signed smallest member of the low 32 bits.
    pub const fn s32_min(self) -> i32 {
        (self.value as u32 | (self.mask as u32 & (1 << 31))) as i32
    }

    /// Signed largest member of the low 32 bits.
    pub const fn s32_max(self) -> i32 {
        (self.value as u32 | (self.mask as u32 & !(1 << 31))) as i32
    }
}

impl fmt::Debug for Tnum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:#x}; {:#x})", self.value, self.mask)
    }
}

impl fmt::Display for Tnum {
    /// The kernel's spelling, `(0x0; 0xff)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:#x}; {:#x})", self.value, self.mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 8-bit tnum (3^8 = 6561 of them) and its members.
    fn all8() -> Vec<(Tnum, Vec<u64>)> {
        let mut out = Vec::new();
        for mask in 0u64..256 {
            for value in 0u64..256 {
                if value & mask != 0 {
                    continue;
                }
                let t = Tnum::new(value, mask);
                let members = (0u64..256).filter(|&x| t.contains(x)).collect();
                out.push((t, members));
            }
        }
        out
    }

    /// A sample of 8-bit tnums: all with at most 3 unknown bits plus a few
    /// wide ones; pairs of all 6561 would make the test slow.
    fn sample8() -> Vec<(Tnum, Vec<u64>)> {
        all8()
            .into_iter()
            .filter(|(t, _)| {
                // Debug builds are ~30x slower: sample fewer tnums there.
                let k = if cfg!(debug_assertions) { 1 } else { 3 };
                t.mask().count_ones() <= k || t.mask() == 0xff || t.mask() == 0xf0
            })
            .collect()
    }

    fn check_binop(name: &str, op: impl Fn(Tnum, Tnum) -> Tnum, conc: impl Fn(u64, u64) -> u64) {
        let s = sample8();
        for (a, am) in &s {
            for (b, bm) in &s {
                let r = op(*a, *b);
                for &x in am {
                    for &y in bm {
                        let z = conc(x, y);
                        assert!(
                            r.contains(z),
                            "{name}: {a:?} {b:?} -> {r:?} misses {x}->{z}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn add_sub_mul_sound_8bit() {
        check_binop("add", Tnum::add, |x, y| x.wrapping_add(y));
        check_binop("sub", Tnum::sub, |x, y| x.wrapping_sub(y));
        check_binop("mul", Tnum::mul, |x, y| x.wrapping_mul(y));
    }

    #[test]
    fn bitwise_sound_8bit() {
        check_binop("and", Tnum::and, |x, y| x & y);
        check_binop("or", Tnum::or, |x, y| x | y);
        check_binop("xor", Tnum::xor, |x, y| x ^ y);
        check_binop("union", Tnum::union, |x, _| x);
        check_binop("union2", Tnum::union, |_, y| y);
    }

    #[test]
    fn bitwise_exact_on_members_8bit() {
        // and/or/xor are exact: every result member is reachable... at least
        // the min and max of the result are attained.
        let s = sample8();
        for (a, am) in s.iter().take(300) {
            for (b, bm) in s.iter().take(300) {
                let r = a.or(*b);
                let reach: Vec<u64> = am
                    .iter()
                    .flat_map(|x| bm.iter().map(move |y| x | y))
                    .collect();
                assert!(reach.contains(&r.value()) && reach.contains(&r.max()));
            }
        }
    }

    #[test]
    fn shifts_and_neg_sound_8bit() {
        for (a, am) in all8() {
            for s in 0..64 {
                let l = a.lshift(s);
                let r = a.rshift(s);
                // Sign-extend the 8-bit tnum to 64 bits for arshift tests.
                let wide = if a.mask() & 0x80 != 0 {
                    Tnum::new(a.value(), a.mask() | !0xff)
                } else if a.value() & 0x80 != 0 {
                    Tnum::new(a.value() | !0xff, a.mask())
                } else {
                    a
                };
                let ar = wide.arshift(s, 64);
                for &x in &am {
                    assert!(l.contains(x << s));
                    assert!(r.contains(x >> s));
                    let sx = x as u8 as i8 as i64;
                    assert!(ar.contains((sx >> s) as u64), "{a:?} s={s}");
                }
            }
            let n = a.neg();
            for &x in &am {
                assert!(n.contains(x.wrapping_neg()));
            }
        }
    }

    #[test]
    fn arshift32_sound() {
        for (a, am) in sample8() {
            // Place the 8-bit pattern at the top of the 32-bit word.
            let t = Tnum::new(a.value() << 24, a.mask() << 24);
            for s in 0..32 {
                let r = t.arshift(s, 32);
                for &x in &am {
                    let v = (((x << 24) as u32 as i32) >> s) as u32 as u64;
                    assert!(r.contains(v));
                }
            }
        }
    }

    #[test]
    fn range_intersect_subset() {
        for min in 0u64..64 {
            for max in min..64 {
                let t = Tnum::range(min, max);
                for x in min..=max {
                    assert!(t.contains(x));
                }
            }
        }
        assert_eq!(Tnum::range(0, u64::MAX), Tnum::UNKNOWN);
        assert_eq!(Tnum::range(0, 255), Tnum::new(0, 0xff));
        let s = sample8();
        for (a, am) in s.iter() {
            for (b, _) in s.iter().step_by(7) {
                if a.overlaps(*b) {
                    let i = a.intersect(*b);
                    for &x in am {
                        assert_eq!(i.contains(x), b.contains(x), "{a:?} {b:?} {x}");
                    }
                    assert!(i.is_subset_of(*a) && i.is_subset_of(*b));
                } else {
                    assert!(!am.iter().any(|&x| b.contains(x)));
                }
                let u = a.union(*b);
                assert!(a.is_subset_of(u) && b.is_subset_of(u));
            }
        }
    }

    #[test]
    fn subreg_and_cast() {
        let t = Tnum::new(0x1_0000_0003, 0xf0_0000_00f0);
        assert_eq!(t.subreg(), Tnum::new(3, 0xf0));
        assert_eq!(t.clear_subreg(), Tnum::new(0x1_0000_0000, 0xf0_0000_0000));
        assert_eq!(
            t.with_const_subreg(7),
            Tnum::new(0x1_0000_0007, 0xf0_0000_0000)
        );
        assert_eq!(t.cast(1), Tnum::new(3, 0xf0));
        assert!(Tnum::new(0, 0xf0).is_aligned(16));
        assert!(!Tnum::new(0, 0xf8).is_aligned(16));
        assert_eq!(format!("{}", Tnum::new(0, 0xff)), "(0x0; 0xff)");
    }
}

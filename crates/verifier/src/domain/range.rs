//! Closed integer intervals `[min, max]` over one of the four integer views
//! of a register: unsigned and signed, 64 and 32 bits.
//!
//! A [`Range`] knows nothing of the other views; the [`super::scalar`]
//! module keeps four of them and a tnum consistent with each other. An empty
//! interval (`min > max`) is representable so that branch refinement can
//! detect an infeasible edge; [`Range::is_empty`] says so.

/// The integer types a [`Range`] ranges over.
pub trait Bound: Copy + Ord + std::fmt::Debug {
    const MIN: Self;
    const MAX: Self;
    /// `self + 1`, saturating.
    fn succ(self) -> Self;
    /// `self - 1`, saturating.
    fn pred(self) -> Self;
}

macro_rules! bound {
    ($($t:ty),*) => {$(
        impl Bound for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            fn succ(self) -> Self { self.saturating_add(1) }
            fn pred(self) -> Self { self.saturating_sub(1) }
        }
    )*};
}
bound!(u64, i64, u32, i32);

/// A closed interval; see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Range<T> {
    pub min: T,
    pub max: T,
}

impl<T: Bound> Range<T> {
    /// Every value of `T`.
    pub const FULL: Range<T> = Range {
        min: T::MIN,
        max: T::MAX,
    };

    /// `[min, max]`.
    pub const fn new(min: T, max: T) -> Self {
        Range { min, max }
    }

    /// `[v, v]`.
    pub const fn single(v: T) -> Self {
        Range { min: v, max: v }
    }

    /// Whether no value is inside.
    pub fn is_empty(self) -> bool {
        self.min > self.max
    }

    /// Whether exactly one value is inside.
    pub fn is_single(self) -> bool {
        self.min == self.max
    }

    /// Whether every value is inside.
    pub fn is_full(self) -> bool {
        self.min == T::MIN && self.max == T::MAX
    }

    pub fn contains(self, v: T) -> bool {
        self.min <= v && v <= self.max
    }

    /// Whether every value of `self` is inside `other`.
    pub fn is_subset_of(self, other: Range<T>) -> bool {
        other.min <= self.min && self.max <= other.max
    }

    /// Values in both.
    pub fn meet(self, other: Range<T>) -> Range<T> {
        Range {
            min: self.min.max(other.min),
            max: self.max.min(other.max),
        }
    }

    /// The smallest interval holding both.
    pub fn join(self, other: Range<T>) -> Range<T> {
        Range {
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }

    /// Raise the lower bound to at least `v`.
    pub fn at_least(self, v: T) -> Range<T> {
        Range {
            min: self.min.max(v),
            max: self.max,
        }
    }

    /// Lower the upper bound to at most `v`.
    pub fn at_most(self, v: T) -> Range<T> {
        Range {
            min: self.min,
            max: self.max.min(v),
        }
    }
}

/// Interval arithmetic that gives up (returns the full range) on overflow,
/// since a wrapped interval is not an interval.
macro_rules! arith {
    ($t:ty) => {
        impl Range<$t> {
            /// `a + b`, or the full range if either end may overflow.
            pub fn add_checked(self, o: Self) -> Self {
                match (self.min.checked_add(o.min), self.max.checked_add(o.max)) {
                    (Some(min), Some(max)) => Range { min, max },
                    _ => Self::FULL,
                }
            }

            /// `a - b`, or the full range if either end may overflow.
            pub fn sub_checked(self, o: Self) -> Self {
                match (self.min.checked_sub(o.max), self.max.checked_sub(o.min)) {
                    (Some(min), Some(max)) => Range { min, max },
                    _ => Self::FULL,
                }
            }

            /// `a * b`: the extreme products of the corners, or the full
            /// range if any of them overflows.
            pub fn mul_checked(self, o: Self) -> Self {
                let c = [
                    self.min.checked_mul(o.min),
                    self.min.checked_mul(o.max),
                    self.max.checked_mul(o.min),
                    self.max.checked_mul(o.max),
                ];
                let mut r = Range {
                    min: <$t>::MAX,
                    max: <$t>::MIN,
                };
                for p in c {
                    match p {
                        Some(p) => {
                            r.min = r.min.min(p);
                            r.max = r.max.max(p);
                        }
                        None => return Self::FULL,
                    }
                }
                r
            }
        }
    };
}
arith!(u64);
arith!(i64);
arith!(u32);
arith!(i32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arith_sound_small() {
        // Exhaustive over small intervals of i32 near the extremes.
        let pts: Vec<i32> = (-4..4)
            .chain([i32::MIN, i32::MIN + 1, i32::MAX - 1, i32::MAX])
            .collect();
        for &a0 in &pts {
            for &a1 in &pts {
                if a0 > a1 {
                    continue;
                }
                for &b0 in &pts {
                    for &b1 in &pts {
                        if b0 > b1 {
                            continue;
                        }
                        let a = Range::new(a0, a1);
                        let b = Range::new(b0, b1);
                        for x in [a0, a1] {
                            for y in [b0, b1] {
                                if let Some(z) = x.checked_add(y) {
                                    assert!(a.add_checked(b).contains(z));
                                } else {
                                    assert!(a.add_checked(b).is_full());
                                }
                                if let Some(z) = x.checked_mul(y) {
                                    assert!(a.mul_checked(b).contains(z));
                                }
                                if let Some(z) = x.checked_sub(y) {
                                    assert!(a.sub_checked(b).contains(z));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn meet_join() {
        let a = Range::new(1u64, 10);
        let b = Range::new(5u64, 20);
        assert_eq!(a.meet(b), Range::new(5, 10));
        assert_eq!(a.join(b), Range::new(1, 20));
        assert!(Range::new(11u64, 10).is_empty());
        assert!(Range::<u32>::FULL.is_full());
    }
}

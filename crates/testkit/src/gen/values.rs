//! Strategies for the constants generated programs compute with.
//!
//! Uniformly random 32- or 64-bit numbers almost never hit the edges where
//! ALU semantics differ between implementations (sign bits, `INT_MIN / -1`,
//! shifts across the 32-bit boundary, zero divisors), so most draws come
//! from a list of edge values and their neighbours, and the rest are random.

use proptest::prelude::*;

/// 32-bit immediates: 0, ±1, `INT_MIN`, `INT_MAX`, byte and half-word
/// boundaries, ± powers of two, small numbers, random.
pub fn interesting_i32() -> impl Strategy<Value = i32> + Clone {
    prop_oneof![
        3 => prop::sample::select(vec![
            0,
            1,
            -1,
            2,
            i32::MIN,
            i32::MAX,
            i32::MIN + 1,
            0x7f,
            0x80,
            0xff,
            0x7fff,
            0x8000,
            0xffff,
            0x10000,
            -0x80,
            -0x8000,
        ]),
        2 => (0u32..31, any::<bool>()).prop_map(|(k, neg)| if neg { (1i32 << k).wrapping_neg() } else { 1i32 << k }),
        2 => -16i32..=16,
        3 => any::<i32>(),
    ]
}

/// 64-bit values: everything [`interesting_i32`] gives (sign- and
/// zero-extended), plus 64-bit edges (`INT64_MIN`, `INT64_MAX`,
/// `0x80000000`, `0xffffffff`, `1 << 32`), ± powers of two, random.
pub fn interesting_u64() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![
        3 => prop::sample::select(vec![
            0u64,
            1,
            u64::MAX,
            i64::MIN as u64,
            i64::MAX as u64,
            0x8000_0000,
            0xffff_ffff,
            0x1_0000_0000,
            0x7fff_ffff,
            0xffff_ffff_8000_0000,
            0x0000_0001_ffff_ffff,
            0x8000_0000_0000_0001,
        ]),
        2 => (0u32..64, any::<bool>()).prop_map(|(k, neg)| if neg { (1u64 << k).wrapping_neg() } else { 1u64 << k }),
        2 => interesting_i32().prop_map(|v| v as i64 as u64),
        1 => interesting_i32().prop_map(|v| v as u32 as u64),
        3 => any::<u64>(),
    ]
}

/// Initial values of `r0`–`r9`.
pub fn reg_file() -> impl Strategy<Value = [u64; 10]> + Clone {
    prop::array::uniform10(interesting_u64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    /// The edge values must actually come up, or the point of the
    /// strategy is lost.
    #[test]
    fn edges_are_frequent() {
        let mut runner = TestRunner::deterministic();
        let s = interesting_i32();
        let draws: Vec<i32> = (0..2000)
            .map(|_| s.new_tree(&mut runner).unwrap().current())
            .collect();
        for edge in [0, 1, -1, i32::MIN, i32::MAX] {
            let n = draws.iter().filter(|&&v| v == edge).count();
            assert!(n >= 10, "{edge} drawn {n} times in 2000");
        }
        let s = interesting_u64();
        let draws: Vec<u64> = (0..2000)
            .map(|_| s.new_tree(&mut runner).unwrap().current())
            .collect();
        for edge in [0, u64::MAX, i64::MIN as u64, 0x8000_0000] {
            let n = draws.iter().filter(|&&v| v == edge).count();
            assert!(n >= 10, "{edge:#x} drawn {n} times in 2000");
        }
        assert!(draws.iter().filter(|&&v| v > u32::MAX as u64).count() > 500);
    }
}

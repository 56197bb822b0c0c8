//! Property tests: random concrete values inside random abstract values stay
//! inside the result of every transfer function and every branch
//! refinement, and every result is internally consistent.

use super::alu;
use super::cond::{branch_taken, refine, Cond};
use super::range::Range;
use super::scalar::Scalar;
use super::tnum::Tnum;
use isa::{AluOp, ByteOrder, JmpCond, Width};
use proptest::prelude::*;

/// A concrete value and a synced abstract value containing it, built from
/// random tnum bits and random interval ends around the value, so that
/// small, large, signed and 32-bit-only facts all occur.
fn member() -> impl Strategy<Value = (u64, Scalar)> {
    let val = prop_oneof![
        any::<u64>(),
        (0u64..300),
        (-300i64..300).prop_map(|v| v as u64),
        any::<u32>().prop_map(u64::from),
        Just(u64::MAX),
        Just(1u64 << 63),
        Just(0x8000_0000u64),
    ];
    (val, any::<u64>(), any::<[u64; 8]>(), any::<u8>()).prop_map(|(v, mask, d, sel)| {
        let mut s = Scalar::UNKNOWN;
        let pick = |i: usize| sel & (1 << i) != 0;
        let small = |x: u64| x >> (x % 64);
        if pick(0) {
            s.var_off = Tnum::new(v, mask);
        }
        if pick(1) {
            s.u64 = Range::new(v.saturating_sub(small(d[0])), v.saturating_add(small(d[1])));
        }
        if pick(2) {
            let sv = v as i64;
            s.s64 = Range::new(
                sv.saturating_sub(small(d[2]) as i64 & i64::MAX),
                sv.saturating_add(small(d[3]) as i64 & i64::MAX),
            );
        }
        if pick(3) {
            let w = v as u32;
            s.u32 = Range::new(
                w.saturating_sub(small(d[4]) as u32),
                w.saturating_add(small(d[5]) as u32),
            );
        }
        if pick(4) {
            let w = v as i32;
            s.s32 = Range::new(
                w.saturating_sub((small(d[6]) as u32 & 0x7fff_ffff) as i32),
                w.saturating_add((small(d[7]) as u32 & 0x7fff_ffff) as i32),
            );
        }
        if pick(5) {
            s = Scalar::constant(v);
        }
        s.sync();
        (v, s)
    })
}

fn concrete_alu(op: AluOp, w: Width, a: u64, b: u64) -> u64 {
    match w {
        Width::W64 => match op {
            AluOp::Add => a.wrapping_add(b),
            AluOp::Sub => a.wrapping_sub(b),
            AluOp::Mul => a.wrapping_mul(b),
            AluOp::Div => a.checked_div(b).unwrap_or(0),
            AluOp::SDiv => {
                if b == 0 {
                    0
                } else {
                    (a as i64).wrapping_div(b as i64) as u64
                }
            }
            AluOp::Mod => {
                if b == 0 {
                    a
                } else {
                    a % b
                }
            }
            AluOp::SMod => {
                if b == 0 {
                    a
                } else {
                    (a as i64).wrapping_rem(b as i64) as u64
                }
            }
            AluOp::Or => a | b,
            AluOp::And => a & b,
            AluOp::Xor => a ^ b,
            AluOp::Lsh => a << (b & 63),
            AluOp::Rsh => a >> (b & 63),
            AluOp::Arsh => ((a as i64) >> (b & 63)) as u64,
            AluOp::Mov => b,
        },
        Width::W32 => {
            let (a, b) = (a as u32, b as u32);
            (match op {
                AluOp::Add => a.wrapping_add(b),
                AluOp::Sub => a.wrapping_sub(b),
                AluOp::Mul => a.wrapping_mul(b),
                AluOp::Div => a.checked_div(b).unwrap_or(0),
                AluOp::SDiv => {
                    if b == 0 {
                        0
                    } else {
                        (a as i32).wrapping_div(b as i32) as u32
                    }
                }
                AluOp::Mod => {
                    if b == 0 {
                        a
                    } else {
                        a % b
                    }
                }
                AluOp::SMod => {
                    if b == 0 {
                        a
                    } else {
                        (a as i32).wrapping_rem(b as i32) as u32
                    }
                }
                AluOp::Or => a | b,
                AluOp::And => a & b,
                AluOp::Xor => a ^ b,
                AluOp::Lsh => a << (b & 31),
                AluOp::Rsh => a >> (b & 31),
                AluOp::Arsh => ((a as i32) >> (b & 31)) as u32,
                AluOp::Mov => b,
            }) as u64
        }
    }
}

fn consistent(s: &Scalar, v: u64) -> Result<(), TestCaseError> {
    prop_assert!(!s.is_bottom(), "bottom result {:?}", s);
    prop_assert!(s.contains(v), "{:?} misses {:#x}", s, v);
    // Syncing again must not lose the member (idempotence up to precision).
    let mut t = *s;
    t.sync();
    prop_assert!(t.contains(v));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(debug_assertions) { 600 } else { 4000 }, ..ProptestConfig::default() })]

    #[test]
    fn sync_keeps_members((v, s) in member()) {
        consistent(&s, v)?;
    }

    #[test]
    fn alu_sound((a, sa) in member(), (b, sb) in member(), op in 0usize..14, w64 in any::<bool>()) {
        let op = AluOp::ALL[op];
        let w = if w64 { Width::W64 } else { Width::W32 };
        let r = alu::binop(op, w, &sa, &sb);
        consistent(&r, concrete_alu(op, w, a, b))?;
    }

    #[test]
    fn shifts_by_const_sound((a, sa) in member(), s in 0u64..64, op in 0usize..3, w64 in any::<bool>()) {
        let op = [AluOp::Lsh, AluOp::Rsh, AluOp::Arsh][op];
        let w = if w64 { Width::W64 } else { Width::W32 };
        let s = if w64 { s } else { s & 31 };
        let r = alu::binop(op, w, &sa, &Scalar::constant(s));
        consistent(&r, concrete_alu(op, w, a, s))?;
    }

    #[test]
    fn unary_sound((a, sa) in member(), w64 in any::<bool>(), bits in 0usize..3) {
        let w = if w64 { Width::W64 } else { Width::W32 };
        let n = alu::neg(w, &sa);
        let c = match w { Width::W64 => a.wrapping_neg(), Width::W32 => (a as u32).wrapping_neg() as u64 };
        consistent(&n, c)?;
        let b = [16u8, 32, 64][bits];
        let e = alu::endian(ByteOrder::ToBe, b, &sa);
        let c = match b { 16 => (a as u16).swap_bytes() as u64, 32 => (a as u32).swap_bytes() as u64, _ => a.swap_bytes() };
        consistent(&e, c)?;
        let e = alu::endian(ByteOrder::ToLe, b, &sa);
        let c = match b { 16 => a as u16 as u64, 32 => a as u32 as u64, _ => a };
        consistent(&e, c)?;
        let sb = [8u8, 16, 32][bits];
        let m = alu::movsx(Width::W64, sb, &sa);
        let c = match sb { 8 => a as i8 as i64 as u64, 16 => a as i16 as i64 as u64, _ => a as i32 as i64 as u64 };
        consistent(&m, c)?;
        if sb != 32 {
            let m = alu::movsx(Width::W32, sb, &sa);
            let c = match sb { 8 => a as i8 as i32 as u32 as u64, _ => a as i16 as i32 as u32 as u64 };
            consistent(&m, c)?;
        }
        let m = alu::mov32(&sa);
        consistent(&m, a as u32 as u64)?;
        for bytes in [1u32, 2, 4] {
            let mut t = sa;
            t.truncate(bytes);
            consistent(&t, a & ((1u64 << (bytes * 8)) - 1))?;
        }
    }

    #[test]
    fn branches_sound((a, sa) in member(), (b, sb) in member(), c in 0usize..11, w64 in any::<bool>()) {
        let cond = JmpCond::ALL[c];
        let w = if w64 { Width::W64 } else { Width::W32 };
        let holds = cond.eval_width(w, a, b);
        if let Some(t) = branch_taken(&sa, &sb, cond, w) {
            prop_assert_eq!(t, holds, "{:?} {:?} {:?} {:#x} {:#x}", cond, sa, sb, a, b);
        }
        let (mut ra, mut rb) = (sa, sb);
        let live = refine(&mut ra, &mut rb, Cond::edge(cond, holds), w);
        prop_assert!(live, "edge {:?}={} killed for {:#x} {:#x}: {:?} {:?}", cond, holds, a, b, sa, sb);
        consistent(&ra, a)?;
        consistent(&rb, b)?;
    }
}

/// Exhaustive branch soundness on 8-bit-valued scalars: every interval
/// `[lo, hi]` of small values against every constant.
#[test]
fn branches_exhaustive_small() {
    let pts: Vec<u64> = (0..12)
        .chain([u64::MAX - 1, u64::MAX, 1 << 63, (1 << 63) - 1])
        .collect();
    for &lo in &pts {
        for &hi in &pts {
            if lo > hi {
                continue;
            }
            let a = Scalar::unsigned_range(lo, hi);
            for &k in &pts {
                let b = Scalar::constant(k);
                for cond in JmpCond::ALL {
                    for w in [Width::W64, Width::W32] {
                        for x in [lo, hi, lo.wrapping_add(1), hi.wrapping_sub(1)] {
                            if x < lo || x > hi {
                                continue;
                            }
                            let holds = cond.eval_width(w, x, k);
                            let (mut ra, mut rb) = (a, b);
                            assert!(
                                refine(&mut ra, &mut rb, Cond::edge(cond, holds), w),
                                "{cond:?} {lo} {hi} {k} {x}"
                            );
                            assert!(
                                ra.contains(x) && rb.contains(k),
                                "{cond:?} {w:?} {lo:#x} {hi:#x} {k:#x} {x:#x}: {ra:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}

//! Transfer functions: the abstract effect of each ALU instruction on a
//! scalar.
//!
//! Each operation updates the tnum and the four intervals with its own rule,
//! then [`Scalar::sync`] reconciles them. The rules are the kernel's (so the
//! log prints the same bounds): precise for add, sub, mul, and, or, xor,
//! negation and shifts by a constant in range; division, modulo and shifts by
//! a non-constant or out-of-range amount yield an unknown value (division by
//! zero is defined in BPF, so no error is needed). A 32-bit operation
//! computes on the low halves and zero-extends.

use super::range::Range;
use super::scalar::Scalar;
use super::tnum::Tnum;
use isa::{AluOp, ByteOrder, Width};

/// `dst = dst op src` for a binary ALU operation other than `mov`.
pub fn binop(op: AluOp, width: Width, dst: &Scalar, src: &Scalar) -> Scalar {
    let alu32 = width == Width::W32;
    let mut d = *dst;
    match op {
        AluOp::Add => {
            d.u32 = add_u32(d.u32, src.u32);
            d.s32 = d.s32.add_checked(src.s32);
            d.u64 = add_u64(d.u64, src.u64);
            d.s64 = d.s64.add_checked(src.s64);
            d.var_off = d.var_off.add(src.var_off);
        }
        AluOp::Sub => sub_into(&mut d, src),
        AluOp::Mul => {
            d.var_off = d.var_off.mul(src.var_off);
            d.u32 = d.u32.mul_checked(src.u32);
            d.s32 = d.s32.mul_checked(src.s32);
            d.u64 = d.u64.mul_checked(src.u64);
            d.s64 = d.s64.mul_checked(src.s64);
        }
        AluOp::And | AluOp::Or | AluOp::Xor => bitwise(op, &mut d, src),
        AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => match shift_amount(width, src) {
            Some(s) => shift(op, alu32, &mut d, s),
            None => return Scalar::UNKNOWN,
        },
        // The kernel tracks nothing through division and modulo.
        AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => return Scalar::UNKNOWN,
        AluOp::Mov => d = *src,
    }
    if alu32 {
        d.zext_32_to_64();
    }
    d.sync();
    d
}

/// `dst = -dst`: computed as `0 - dst`.
pub fn neg(width: Width, dst: &Scalar) -> Scalar {
    let mut d = Scalar::constant(0);
    sub_into(&mut d, dst);
    d.var_off = dst.var_off.neg();
    if width == Width::W32 {
        d.zext_32_to_64();
    }
    d.sync();
    d
}

/// Byte-order conversion of the low `bits`: only the tnum is carried
/// (byte-swapped), the intervals follow from it.
pub fn endian(order: ByteOrder, bits: u8, dst: &Scalar) -> Scalar {
    let t = dst.var_off.cast(bits as u32 / 8);
    let swap = |x: u64| match bits {
        16 => (x as u16).swap_bytes() as u64,
        32 => (x as u32).swap_bytes() as u64,
        _ => x.swap_bytes(),
    };
    let t = match order {
        // Little-endian hosts: to-le is a truncation.
        ByteOrder::ToLe => t,
        ByteOrder::ToBe | ByteOrder::Swap => Tnum::new(swap(t.value()), swap(t.mask())),
    };
    Scalar::from_tnum(t)
}

/// `dst = (sN) src` at `width` (`movsx`).
pub fn movsx(width: Width, bits: u8, src: &Scalar) -> Scalar {
    let mut d = *src;
    match width {
        Width::W64 => d.sign_extend(bits as u32),
        Width::W32 => d.sign_extend_32(bits as u32),
    }
    d
}

/// `dst = src` at 32 bits: the low half, zero-extended.
pub fn mov32(src: &Scalar) -> Scalar {
    let mut d = *src;
    d.zext_32_to_64();
    d.sync();
    d
}

/// The shift amount, if it is a constant below the width; anything else
/// makes the result unknown.
fn shift_amount(width: Width, src: &Scalar) -> Option<u32> {
    let v = match width {
        Width::W32 => src.as_const32()? as u64,
        Width::W64 => src.as_const()?,
    };
    (v < width.bits() as u64).then_some(v as u32)
}

/// Unsigned addition: if every sum wraps, or none does, the interval is
/// exact; if only some wrap it covers everything.
fn add_u64(a: Range<u64>, b: Range<u64>) -> Range<u64> {
    let (min, o1) = a.min.overflowing_add(b.min);
    let (max, o2) = a.max.overflowing_add(b.max);
    if !o1 && o2 {
        Range::FULL
    } else {
        Range::new(min, max)
    }
}

fn add_u32(a: Range<u32>, b: Range<u32>) -> Range<u32> {
    let (min, o1) = a.min.overflowing_add(b.min);
    let (max, o2) = a.max.overflowing_add(b.max);
    if !o1 && o2 {
        Range::FULL
    } else {
        Range::new(min, max)
    }
}

fn sub_u64(a: Range<u64>, b: Range<u64>) -> Range<u64> {
    let (min, u1) = a.min.overflowing_sub(b.max);
    let (max, u2) = a.max.overflowing_sub(b.min);
    if u1 && !u2 {
        Range::FULL
    } else {
        Range::new(min, max)
    }
}

fn sub_u32(a: Range<u32>, b: Range<u32>) -> Range<u32> {
    let (min, u1) = a.min.overflowing_sub(b.max);
    let (max, u2) = a.max.overflowing_sub(b.min);
    if u1 && !u2 {
        Range::FULL
    } else {
        Range::new(min, max)
    }
}

fn sub_into(d: &mut Scalar, src: &Scalar) {
    d.u32 = sub_u32(d.u32, src.u32);
    d.s32 = d.s32.sub_checked(src.s32);
    d.u64 = sub_u64(d.u64, src.u64);
    d.s64 = d.s64.sub_checked(src.s64);
    d.var_off = d.var_off.sub(src.var_off);
}

/// and/or/xor: the tnum is exact; the unsigned bounds come from it and the
/// operands; the signed ones follow when the unsigned interval does not
/// cross the sign boundary.
fn bitwise(op: AluOp, d: &mut Scalar, src: &Scalar) {
    let (t, umin, umax, u32min, u32max);
    let t32s = src.var_off.subreg();
    let t32d = d.var_off.subreg();
    match op {
        AluOp::And => {
            t = d.var_off.and(src.var_off);
            let t32 = t32d.and(t32s);
            umin = t.value();
            umax = d.u64.max.min(src.u64.max);
            u32min = t32.value() as u32;
            u32max = d.u32.max.min(src.u32.max);
        }
        AluOp::Or => {
            t = d.var_off.or(src.var_off);
            let t32 = t32d.or(t32s);
            umin = d.u64.min.max(src.u64.min);
            umax = t.max();
            u32min = d.u32.min.max(src.u32.min);
            u32max = t32.max() as u32;
        }
        _ => {
            t = d.var_off.xor(src.var_off);
            let t32 = t32d.xor(t32s);
            umin = t.value();
            umax = t.max();
            u32min = t32.value() as u32;
            u32max = t32.max() as u32;
        }
    }
    d.var_off = t;
    d.u64 = Range::new(umin, umax);
    d.s64 = if (umin as i64) <= (umax as i64) {
        Range::new(umin as i64, umax as i64)
    } else {
        Range::FULL
    };
    d.u32 = Range::new(u32min, u32max);
    d.s32 = if (u32min as i32) <= (u32max as i32) {
        Range::new(u32min as i32, u32max as i32)
    } else {
        Range::FULL
    };
}

fn shift(op: AluOp, alu32: bool, d: &mut Scalar, s: u32) {
    match (op, alu32) {
        (AluOp::Lsh, false) => {
            lsh64(d, s);
            lsh32_bounds(d, s);
            d.var_off = d.var_off.lshift(s);
        }
        (AluOp::Lsh, true) => {
            let sub = d.var_off.subreg();
            lsh32_bounds(d, s);
            d.var_off = sub.lshift(s).subreg();
            d.mark_64_unbounded();
        }
        (AluOp::Rsh, false) => {
            d.s64 = Range::FULL;
            d.var_off = d.var_off.rshift(s);
            d.u64 = Range::new(d.u64.min >> s, d.u64.max >> s);
            d.mark_32_unbounded();
        }
        (AluOp::Rsh, true) => {
            let sub = d.var_off.subreg();
            d.s32 = Range::FULL;
            d.var_off = sub.rshift(s);
            d.u32 = Range::new(d.u32.min >> s, d.u32.max >> s);
            d.mark_64_unbounded();
        }
        (_, false) => {
            d.s64 = Range::new(d.s64.min >> s, d.s64.max >> s);
            d.var_off = d.var_off.arshift(s, 64);
            d.u64 = Range::FULL;
            d.mark_32_unbounded();
        }
        (_, true) => {
            d.s32 = Range::new(d.s32.min >> s, d.s32.max >> s);
            d.var_off = d.var_off.subreg().arshift(s, 32);
            d.u32 = Range::FULL;
            d.mark_64_unbounded();
        }
    }
}

fn lsh64(d: &mut Scalar, s: u32) {
    // `x << 32` of a non-negative low half is a common sign-extension idiom
    // (`<<32 s>>32`); keep its signed bounds.
    d.s64.max = if s == 32 && d.s32.max >= 0 {
        (d.s32.max as i64) << 32
    } else {
        i64::MAX
    };
    d.s64.min = if s == 32 && d.s32.min >= 0 {
        (d.s32.min as i64) << 32
    } else {
        i64::MIN
    };
    // If the top bit might be shifted out, nothing is known.
    if d.u64.max > 1u64 << (63 - s) {
        d.u64 = Range::FULL;
    } else {
        d.u64 = Range::new(d.u64.min << s, d.u64.max << s);
    }
}

fn lsh32_bounds(d: &mut Scalar, s: u32) {
    d.s32 = Range::FULL;
    if s > 31 || d.u32.max as u64 > 1u64 << (31 - s) {
        d.u32 = Range::FULL;
    } else {
        d.u32 = Range::new(d.u32.min << s, d.u32.max << s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_fold() {
        let a = Scalar::constant(10);
        let b = Scalar::constant(3);
        assert_eq!(binop(AluOp::Add, Width::W64, &a, &b).as_const(), Some(13));
        assert_eq!(
            binop(AluOp::Sub, Width::W64, &b, &a).as_const(),
            Some((-7i64) as u64)
        );
        assert_eq!(
            binop(AluOp::Sub, Width::W32, &b, &a).as_const(),
            Some(0xffff_fff9)
        );
        assert_eq!(binop(AluOp::Mul, Width::W64, &a, &b).as_const(), Some(30));
        assert_eq!(binop(AluOp::Lsh, Width::W64, &a, &b).as_const(), Some(80));
        assert!(binop(AluOp::Div, Width::W64, &a, &b).is_unknown());
        assert_eq!(neg(Width::W64, &a).as_const(), Some((-10i64) as u64));
    }

    #[test]
    fn kernel_spelling_after_ops() {
        let byte = Scalar::from_tnum(Tnum::new(0, 0xff));
        let n = neg(Width::W64, &byte);
        assert_eq!(format!("{n:?}"), "scalar(smin=smin32=-255,smax=smax32=0)");
        let be = endian(ByteOrder::ToBe, 32, &byte);
        assert_eq!(
            format!("{be:?}"),
            "scalar(smin=0,smax=umax=umax32=0xff000000,smax32=0x7f000000,var_off=(0x0; 0xff000000))"
        );
        let x = Scalar::from_tnum(Tnum::new(0, 0xff0));
        let sw = endian(ByteOrder::Swap, 16, &x);
        assert_eq!(
            format!("{sw:?}"),
            "scalar(smin=smin32=0,smax=umax=smax32=umax32=0xf00f,var_off=(0x0; 0xf00f))"
        );
    }
}

//! The ALU operations whose kernel semantics are more than one Rust
//! operator: division and modulo (by zero, signed overflow), arithmetic
//! shifts, sign extension. Each says what the kernel does, not what the CPU
//! would do (`div` by zero traps on x86; eBPF defines it).
//!
//! 32-bit variants take the low halves and return the zero-extended 64-bit
//! register value, since every 32-bit ALU result zero-extends.

/// `dst / src`, unsigned; by zero gives 0.
#[inline(always)]
pub(crate) fn div64(a: u64, b: u64) -> u64 {
    a.checked_div(b).unwrap_or(0)
}

/// `dst % src`, unsigned; by zero leaves `dst`.
#[inline(always)]
pub(crate) fn mod64(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        a % b
    }
}

/// Signed division; by zero gives 0, `INT_MIN / -1` wraps to `INT_MIN`
/// (the kernel rewrites that case to a negation rather than trap).
#[inline(always)]
pub(crate) fn sdiv64(a: u64, b: u64) -> u64 {
    if b == 0 {
        0
    } else {
        (a as i64).wrapping_div(b as i64) as u64
    }
}

/// Signed modulo (sign of the dividend, like C); by zero leaves `dst`,
/// `INT_MIN % -1` is 0.
#[inline(always)]
pub(crate) fn smod64(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        (a as i64).wrapping_rem(b as i64) as u64
    }
}

/// 32-bit unsigned division; by zero gives 0.
#[inline(always)]
pub(crate) fn div32(a: u64, b: u32) -> u64 {
    (a as u32).checked_div(b).unwrap_or(0) as u64
}

/// 32-bit unsigned modulo; by zero leaves the low 32 bits of `dst`,
/// zero-extended (the kernel's `w0 = w0` after the test).
#[inline(always)]
pub(crate) fn mod32(a: u64, b: u32) -> u64 {
    let a = a as u32;
    if b == 0 {
        a as u64
    } else {
        (a % b) as u64
    }
}

/// 32-bit signed division.
#[inline(always)]
pub(crate) fn sdiv32(a: u64, b: u32) -> u64 {
    if b == 0 {
        0
    } else {
        (a as i32).wrapping_div(b as i32) as u32 as u64
    }
}

/// 32-bit signed modulo; by zero leaves the low half of `dst` zero-extended.
#[inline(always)]
pub(crate) fn smod32(a: u64, b: u32) -> u64 {
    if b == 0 {
        a as u32 as u64
    } else {
        (a as i32).wrapping_rem(b as i32) as u32 as u64
    }
}

/// Arithmetic shift right by a count already masked to `0..64`.
#[inline(always)]
pub(crate) fn arsh64(a: u64, sh: u32) -> u64 {
    ((a as i64) >> sh) as u64
}

/// 32-bit arithmetic shift right by a count already masked to `0..32`.
#[inline(always)]
pub(crate) fn arsh32(a: u64, sh: u32) -> u64 {
    ((a as i32) >> sh) as u32 as u64
}

/// `movsx` at 64 bits: sign-extend the low `bits` (8, 16, 32) of `v`.
#[inline(always)]
pub(crate) fn movsx64(v: u64, bits: u8) -> u64 {
    match bits {
        8 => v as i8 as i64 as u64,
        16 => v as i16 as i64 as u64,
        _ => v as i32 as i64 as u64,
    }
}

/// `movsx` at 32 bits: sign-extend the low `bits` (8, 16) to 32 bits, then
/// zero-extend to 64.
#[inline(always)]
pub(crate) fn movsx32(v: u64, bits: u8) -> u64 {
    match bits {
        8 => v as i8 as i32 as u32 as u64,
        _ => v as i16 as i32 as u32 as u64,
    }
}

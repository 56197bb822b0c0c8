//! Internet-checksum arithmetic as the kernel does it on x86-64, and the
//! checksum helpers built on it: `bpf_l3_csum_replace`,
//! `bpf_l4_csum_replace`, `bpf_csum_diff`, `bpf_csum_update`.
//!
//! Checksums are ones'-complement sums of 16-bit words in memory order;
//! the helpers take and return values as the program loaded them from
//! memory (native loads of network-order bytes), so the arithmetic works on
//! native words exactly as the kernel's `__wsum`/`__sum16` code does on a
//! little-endian machine. The test run's skbs are `CHECKSUM_NONE`, so the
//! `skb->csum` bookkeeping of `CHECKSUM_COMPLETE` never applies.

use super::packet::{neg, with_skb};
use crate::env::RunEnv;
use crate::error::AccessKind;
use uapi::errno::{EFAULT, EINVAL, ENOTSUPP};

/// `BPF_F_HDR_FIELD_MASK`: the size of the field a csum_replace changes.
pub const BPF_F_HDR_FIELD_MASK: u64 = 0xf;
/// `BPF_F_PSEUDO_HDR`: the changed field is part of the pseudo header.
pub const BPF_F_PSEUDO_HDR: u64 = 1 << 4;
/// `BPF_F_MARK_MANGLED_0`: a UDP checksum of 0 stays 0, a result of 0
/// becomes `CSUM_MANGLED_0`.
pub const BPF_F_MARK_MANGLED_0: u64 = 1 << 5;
/// `BPF_F_MARK_ENFORCE`: update even a 0 checksum.
pub const BPF_F_MARK_ENFORCE: u64 = 1 << 6;
/// `BPF_F_IPV6`: the pseudo header is IPv6 (matters only for
/// `CHECKSUM_PARTIAL` skbs).
pub const BPF_F_IPV6: u64 = 1 << 7;
/// `CSUM_MANGLED_0`.
pub const CSUM_MANGLED_0: u16 = 0xffff;

/// `csum_add`: 32-bit ones'-complement addition.
pub fn csum_add(a: u32, b: u32) -> u32 {
    let (r, c) = a.overflowing_add(b);
    r.wrapping_add(c as u32)
}

/// `csum_sub`.
pub fn csum_sub(a: u32, b: u32) -> u32 {
    csum_add(a, !b)
}

/// `csum_fold`: the complemented 16-bit fold of a 32-bit sum.
pub fn csum_fold(c: u32) -> u16 {
    !from32to16(c)
}

/// The uncomplemented 16-bit fold (`csum_from32to16`).
pub fn from32to16(c: u32) -> u16 {
    let s = (c & 0xffff) + (c >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// `csum_partial` of x86-64: 64-bit ones'-complement sum of little-endian
/// quadwords (the tail zero-padded) started from `seed`, folded to 32 bits.
pub fn csum_partial(bytes: &[u8], seed: u32) -> u32 {
    let mut acc = seed as u64;
    let mut add = |v: u64| {
        let (r, c) = acc.overflowing_add(v);
        acc = r.wrapping_add(c as u64);
    };
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        add(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut q = [0u8; 8];
        q[..rest.len()].copy_from_slice(rest);
        add(u64::from_le_bytes(q));
    }
    ((acc.wrapping_add(acc.rotate_right(32))) >> 32) as u32
}

/// `csum_replace2`-style update of a stored checksum by a 4-byte change
/// (`inet_proto_csum_replace4` for non-partial skbs, and `csum_replace4`:
/// both compute the same fold).
fn replace4(sum: u16, from: u32, to: u32) -> u16 {
    let mut d = [0u8; 8];
    d[..4].copy_from_slice(&(!from).to_ne_bytes());
    d[4..].copy_from_slice(&to.to_ne_bytes());
    csum_fold(csum_partial(&d, !(sum as u32)))
}

/// `csum_replace2` (16-bit ones'-complement arithmetic).
fn replace2(sum: u16, from: u16, to: u16) -> u16 {
    fn add16(a: u16, b: u16) -> u16 {
        let (r, c) = a.overflowing_add(b);
        r.wrapping_add(c as u16)
    }
    !add16(add16(!sum, !from), to)
}

/// `csum_replace_by_diff`.
fn replace_diff(sum: u16, diff: u32) -> u16 {
    csum_fold(csum_add(diff, !(sum as u32)))
}

fn read_sum(p: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([p[off], p[off + 1]])
}

fn write_sum(p: &mut [u8], off: usize, v: u16) {
    p[off..off + 2].copy_from_slice(&v.to_ne_bytes());
}

/// `bpf_l3_csum_replace(skb, offset, from, to, flags)`.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn l3_csum_replace(
    ctx: u64,
    offset: u64,
    from: u64,
    to: u64,
    flags: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe {
        with_skb(env, ctx, "bpf_l3_csum_replace", |pkt| {
            if flags & !BPF_F_HDR_FIELD_MASK != 0 {
                return neg(EINVAL);
            }
            let off = offset as u32 as usize;
            if off > 0xffff || off & 1 != 0 || off + 2 > pkt.len() {
                return neg(EFAULT);
            }
            let d = pkt.data_mut();
            let sum = read_sum(d, off);
            let new = match flags & BPF_F_HDR_FIELD_MASK {
                0 if from != 0 => return neg(EINVAL),
                0 => replace_diff(sum, to as u32),
                2 => replace2(sum, from as u16, to as u16),
                4 => replace4(sum, from as u32, to as u32),
                _ => return neg(EINVAL),
            };
            write_sum(d, off, new);
            0
        })
    }
}

/// `bpf_l4_csum_replace(skb, offset, from, to, flags)`.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn l4_csum_replace(
    ctx: u64,
    offset: u64,
    from: u64,
    to: u64,
    flags: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe {
        with_skb(env, ctx, "bpf_l4_csum_replace", |pkt| {
            let known = BPF_F_MARK_MANGLED_0
                | BPF_F_MARK_ENFORCE
                | BPF_F_PSEUDO_HDR
                | BPF_F_HDR_FIELD_MASK
                | BPF_F_IPV6;
            if flags & !known != 0 {
                return neg(EINVAL);
            }
            let off = offset as u32 as usize;
            if off > 0xffff || off & 1 != 0 || off + 2 > pkt.len() {
                return neg(EFAULT);
            }
            let mmzero = flags & BPF_F_MARK_MANGLED_0 != 0;
            let d = pkt.data_mut();
            let sum = read_sum(d, off);
            if mmzero && flags & BPF_F_MARK_ENFORCE == 0 && sum == 0 {
                return 0;
            }
            // Not CHECKSUM_PARTIAL: the pseudo-header flag changes nothing.
            let mut new = match flags & BPF_F_HDR_FIELD_MASK {
                0 if from != 0 => return neg(EINVAL),
                0 => replace_diff(sum, to as u32),
                2 => replace4(sum, from as u16 as u32, to as u16 as u32),
                4 => replace4(sum, from as u32, to as u32),
                _ => return neg(EINVAL),
            };
            if mmzero && new == 0 {
                new = CSUM_MANGLED_0;
            }
            write_sum(d, off, new);
            0
        })
    }
}

/// `bpf_csum_diff(from, from_size, to, to_size, seed)`: works on any
/// memory, no packet needed.
///
/// # Safety
/// The helper contract ([`crate::helpers`]).
pub unsafe extern "C" fn csum_diff(
    from: u64,
    from_size: u64,
    to: u64,
    to_size: u64,
    seed: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // Any sizes: 6.18 sums odd lengths too (the tail zero-padded).
    let (fs, ts) = (from_size as u32 as usize, to_size as u32 as usize);
    let spans = env
        .translate(from, fs as u64, AccessKind::Read)
        .and_then(|a| Ok((a, env.translate(to, ts as u64, AccessKind::Read)?)));
    let (pa, pb) = match spans {
        Ok(p) => p,
        Err(e) => {
            env.fault(e);
            return 0;
        }
    };
    // SAFETY: both spans were checked readable (or, unchecked, proved so
    // by the verifier: ARG_PTR_TO_MEM with its size); a zero size needs no
    // valid pointer, so use a dangling one.
    let (a, b) = unsafe {
        let mk = |p: *mut u8, n: usize| {
            if n == 0 {
                &[][..]
            } else {
                std::slice::from_raw_parts(p.cast_const(), n)
            }
        };
        (mk(pa, fs), mk(pb, ts))
    };
    let seed = seed as u32;
    let r = if fs != 0 && ts != 0 {
        from32to16(csum_sub(csum_partial(b, seed), csum_partial(a, 0))) as u32
    } else if ts != 0 {
        from32to16(csum_partial(b, seed)) as u32
    } else if fs != 0 {
        from32to16(!csum_partial(a, !seed)) as u32
    } else {
        seed
    };
    r as u64
}

/// `bpf_csum_update(skb, csum)`: only `CHECKSUM_COMPLETE` skbs carry a
/// checksum to update, and test-run skbs never do: `-ENOTSUPP`.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn csum_update(
    ctx: u64,
    _csum: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe { with_skb(env, ctx, "bpf_csum_update", |_| neg(ENOTSUPP)) }
}

/// `bpf_csum_level(skb, level)`: `BPF_CSUM_LEVEL_QUERY` (0) on a
/// `CHECKSUM_NONE` skb is `-EACCES`; INC/DEC/RESET succeed and change
/// nothing that test-run reports.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn csum_level(
    ctx: u64,
    level: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe {
        with_skb(env, ctx, "bpf_csum_level", |_| match level {
            0 => neg(uapi::errno::EACCES),
            1..=3 => 0,
            _ => neg(EINVAL),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_and_partial() {
        // RFC 1071's example: 0x0001 f203 f4f5 f6f7 sums to 0xddf2.
        let b = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        let s = from32to16(csum_partial(&b, 0));
        assert_eq!(u16::from_be(s), 0xddf2);
        assert_eq!(csum_add(0xffff_ffff, 1), 1);
        assert_eq!(csum_fold(0), 0xffff);
    }

    #[test]
    fn replace_matches_recompute() {
        // An IPv4 header; change the source address and compare the
        // incremental update with a full recomputation.
        let mut h: [u8; 20] = [
            0x45, 0, 0, 0x54, 0, 0, 0x40, 0, 0x40, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let full = |h: &[u8; 20]| {
            let mut c = *h;
            c[10] = 0;
            c[11] = 0;
            csum_fold(csum_partial(&c, 0))
        };
        let s = full(&h);
        h[10..12].copy_from_slice(&s.to_ne_bytes());
        let from = u32::from_ne_bytes([10, 0, 0, 1]);
        let to = u32::from_ne_bytes([192, 168, 7, 9]);
        let new = replace4(s, from, to);
        h[12..16].copy_from_slice(&to.to_ne_bytes());
        assert_eq!(new, full(&h));
        let f16 = u16::from_ne_bytes([0x40, 1]);
        let t16 = u16::from_ne_bytes([0x3f, 1]);
        h[8] = 0x3f;
        assert_eq!(replace2(new, f16, t16), full(&h));
    }
}

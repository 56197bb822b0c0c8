//! The skb helpers, with `net/core/filter.c`'s checks and errno values on
//! the linear, `CHECKSUM_NONE`, non-GSO skbs that test-run builds.
//!
//! Offsets are from `skb->data` unless said otherwise. Resizing helpers
//! move `data`/the tail inside the [`PacketBuf`] (never reallocating), keep
//! the MAC and network header offsets the kernel keeps, and the context's
//! `data`, `data_end`, `len`, `protocol` and VLAN fields follow.

use super::packet::{copy_packet, neg, with_skb, with_skb_r, zero_program};
use crate::ctx::skb::SKB_MAX_LEN;
use crate::ctx::{PacketBuf, PacketKind};
use crate::env::RunEnv;
use crate::host::HelperHost;
use uapi::errno::{EFAULT, EINVAL, ENOMEM, ENOTSUPP};

/// `EALREADY` (not in `uapi::errno`).
const EALREADY: i32 = 114;
use uapi::prog::{tc_action, xdp_action};

/// `BPF_F_RECOMPUTE_CSUM` of `bpf_skb_store_bytes`.
pub const BPF_F_RECOMPUTE_CSUM: u64 = 1;
/// `BPF_F_INVALIDATE_HASH` of `bpf_skb_store_bytes`.
pub const BPF_F_INVALIDATE_HASH: u64 = 2;
/// `BPF_HDR_START_MAC` / `BPF_HDR_START_NET` of `bpf_skb_load_bytes_relative`.
pub const BPF_HDR_START_MAC: u64 = 0;
pub const BPF_HDR_START_NET: u64 = 1;
/// `BPF_F_INGRESS` of `bpf_redirect`.
pub const BPF_F_INGRESS: u64 = 1;
/// `bpf_skb_adjust_room` modes and flags.
pub const BPF_ADJ_ROOM_NET: u64 = 0;
pub const BPF_ADJ_ROOM_MAC: u64 = 1;
pub const BPF_F_ADJ_ROOM_FIXED_GSO: u64 = 1 << 0;
pub const BPF_F_ADJ_ROOM_ENCAP_L3_IPV4: u64 = 1 << 1;
pub const BPF_F_ADJ_ROOM_ENCAP_L3_IPV6: u64 = 1 << 2;
pub const BPF_F_ADJ_ROOM_ENCAP_L4_GRE: u64 = 1 << 3;
pub const BPF_F_ADJ_ROOM_ENCAP_L4_UDP: u64 = 1 << 4;
pub const BPF_F_ADJ_ROOM_NO_CSUM_RESET: u64 = 1 << 5;
pub const BPF_F_ADJ_ROOM_ENCAP_L2_ETH: u64 = 1 << 6;
pub const BPF_F_ADJ_ROOM_DECAP_L3_IPV4: u64 = 1 << 7;
pub const BPF_F_ADJ_ROOM_DECAP_L3_IPV6: u64 = 1 << 8;
/// `BPF_F_ADJ_ROOM_ENCAP_L2(len)`: the inner MAC length in the top byte.
pub const BPF_ADJ_ROOM_ENCAP_L2_SHIFT: u32 = 56;

const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;

/// `skb->protocol` as a host-order number.
fn proto(pkt: &PacketBuf) -> u16 {
    u16::from_be_bytes(pkt.skb.protocol_raw.to_ne_bytes())
}

fn set_proto(pkt: &mut PacketBuf, p: u16) {
    pkt.skb.protocol_raw = u16::from_ne_bytes(p.to_be_bytes());
}

/// `bpf_skb_load_bytes(skb, offset, to, len)`: on failure `to` is zeroed
/// and the result is `-EFAULT`.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn skb_load_bytes(
    ctx: u64,
    offset: u64,
    to: u64,
    len: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let (off, len) = (offset as u32 as u64, len as u32 as u64);
    // SAFETY: forwarded helper contract.
    let src = unsafe {
        with_skb_r(env, ctx, "bpf_skb_load_bytes", |pkt| {
            let (_, head, end) = pkt.bounds();
            (off <= i32::MAX as u64 && off + len <= (end - head) as u64)
                .then(|| pkt.base_addr() + head as u64 + off)
        })
    };
    load_result(env, src, to, len)
}

/// The end of the skb load helpers: `src` is `None` when the helper
/// already faulted, `Some(None)` when the span is outside the packet (the
/// destination is zeroed, `-EFAULT`), `Some(Some(addr))` to copy from.
fn load_result(env: &mut RunEnv<'_>, src: Option<Option<u64>>, to: u64, len: u64) -> u64 {
    match src {
        None => 0,
        Some(Some(src)) => {
            copy_packet(env, src, to, len, true);
            0
        }
        Some(None) => {
            zero_program(env, to, len);
            neg(EFAULT)
        }
    }
}

/// `bpf_skb_load_bytes_relative(skb, offset, to, len, start_header)`:
/// from the MAC or the network header, up to the end of the data.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn skb_load_bytes_relative(
    ctx: u64,
    offset: u64,
    to: u64,
    len: u64,
    start: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let (off, len) = (offset as u32 as u64, len as u32 as u64);
    // SAFETY: forwarded helper contract.
    let src = unsafe {
        with_skb_r(env, ctx, "bpf_skb_load_bytes_relative", |pkt| {
            let (_, _, end) = pkt.bounds();
            let base = match start as u32 as u64 {
                BPF_HDR_START_MAC => pkt.skb.mac,
                BPF_HDR_START_NET => pkt.skb.net,
                _ => return None,
            } as u64;
            (off <= 0xffff && base + off + len <= end as u64).then(|| pkt.base_addr() + base + off)
        })
    };
    load_result(env, src, to, len)
}

/// `bpf_skb_store_bytes(skb, offset, from, len, flags)`.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn skb_store_bytes(
    ctx: u64,
    offset: u64,
    from: u64,
    len: u64,
    flags: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let (off, len) = (offset as u32 as u64, len as u32 as u64);
    // SAFETY: forwarded helper contract.
    let dst = unsafe {
        with_skb_r(env, ctx, "bpf_skb_store_bytes", |pkt| {
            if flags & !(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH) != 0 {
                return Err(EINVAL);
            }
            let (_, head, end) = pkt.bounds();
            if off > i32::MAX as u64 || off + len > (end - head) as u64 {
                return Err(EFAULT);
            }
            if flags & BPF_F_INVALIDATE_HASH != 0 {
                pkt.skb.hash = 0;
            }
            Ok(pkt.base_addr() + head as u64 + off)
        })
    };
    match dst {
        None => 0,
        Some(Ok(dst)) => {
            copy_packet(env, dst, from, len, false);
            0
        }
        Some(Err(e)) => neg(e),
    }
}

/// Inserts `len` zero bytes at `off` from `data`, moving the `off` bytes
/// before them to the front (`bpf_skb_generic_push`); the MAC and network
/// headers move with the front.
fn net_hdr_push(pkt: &mut PacketBuf, off: usize, len: usize) -> Result<(), i32> {
    let (_, head, end) = pkt.bounds();
    if head < len {
        return Err(ENOMEM);
    }
    let nh = head - len;
    pkt.buffer_mut().copy_within(head..head + off, nh);
    pkt.buffer_mut()[nh + off..nh + off + len].fill(0);
    pkt.set_bounds(nh, nh, end);
    pkt.skb.mac -= len;
    pkt.skb.net -= len;
    Ok(())
}

/// Removes `len` bytes at `off` from `data` (`bpf_skb_generic_pop`).
fn net_hdr_pop(pkt: &mut PacketBuf, off: usize, len: usize) -> Result<(), i32> {
    if pkt.len() < off + len {
        return Err(ENOMEM);
    }
    let (_, head, end) = pkt.bounds();
    pkt.buffer_mut().copy_within(head..head + off, head + len);
    pkt.set_bounds(head + len, head + len, end);
    pkt.skb.mac += len;
    pkt.skb.net += len;
    Ok(())
}

/// `bpf_skb_change_proto(skb, proto, flags)`: IPv4 ↔ IPv6 room only (20
/// bytes after the MAC header); the program writes the new header.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn skb_change_proto(
    ctx: u64,
    to: u64,
    flags: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe {
        with_skb(env, ctx, "bpf_skb_change_proto", |pkt| {
            if flags != 0 {
                return neg(EINVAL);
            }
            let to = u16::from_be_bytes((to as u16).to_ne_bytes());
            let mac_len = pkt.skb.net - pkt.skb.mac;
            let r = match (proto(pkt), to) {
                (ETH_P_IP, ETH_P_IPV6) => net_hdr_push(pkt, mac_len, 20),
                (ETH_P_IPV6, ETH_P_IP) => net_hdr_pop(pkt, mac_len, 20),
                _ => return neg(ENOTSUPP),
            };
            match r {
                Ok(()) => {
                    set_proto(pkt, to);
                    pkt.skb.hash = 0;
                    0
                }
                Err(e) => neg(e),
            }
        })
    }
}

/// The length of the network header of `skb->protocol` (`~0` otherwise).
fn net_base_len(pkt: &PacketBuf) -> u32 {
    match proto(pkt) {
        ETH_P_IP => 20,
        ETH_P_IPV6 => 40,
        _ => u32::MAX,
    }
}

/// `bpf_skb_adjust_room(skb, len_diff, mode, flags)`.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn skb_adjust_room(
    ctx: u64,
    len_diff: u64,
    mode: u64,
    flags: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe {
        with_skb(env, ctx, "bpf_skb_adjust_room", |pkt| {
            adjust_room(pkt, len_diff as i32, mode as u32 as u64, flags).map_or_else(neg, |()| 0)
        })
    }
}

fn adjust_room(pkt: &mut PacketBuf, len_diff: i32, mode: u64, flags: u64) -> Result<(), i32> {
    let encap_l3 = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L3_IPV6;
    let decap_l3 = BPF_F_ADJ_ROOM_DECAP_L3_IPV4 | BPF_F_ADJ_ROOM_DECAP_L3_IPV6;
    let mask = BPF_F_ADJ_ROOM_FIXED_GSO
        | encap_l3
        | BPF_F_ADJ_ROOM_ENCAP_L4_GRE
        | BPF_F_ADJ_ROOM_ENCAP_L4_UDP
        | BPF_F_ADJ_ROOM_ENCAP_L2_ETH
        | (0xff << BPF_ADJ_ROOM_ENCAP_L2_SHIFT);
    if flags & !(mask | decap_l3 | BPF_F_ADJ_ROOM_NO_CSUM_RESET) != 0 {
        return Err(EINVAL);
    }
    let abs = len_diff.unsigned_abs() as usize;
    if abs > 0xfff {
        return Err(EFAULT);
    }
    let p = proto(pkt);
    if p != ETH_P_IP && p != ETH_P_IPV6 {
        return Err(ENOTSUPP);
    }
    let mac_len = pkt.skb.net - pkt.skb.mac;
    let off = match mode {
        BPF_ADJ_ROOM_NET => mac_len + net_base_len(pkt) as usize,
        BPF_ADJ_ROOM_MAC => mac_len,
        _ => return Err(ENOTSUPP),
    };
    let (_, head, _) = pkt.bounds();
    let len_min = net_base_len(pkt) as usize;
    let len_cur = pkt.len() as isize - (pkt.skb.net as isize - head as isize);
    let shrink = len_diff < 0;
    if shrink {
        if abs as isize >= len_cur || ((len_cur - abs as isize) as usize) < len_min {
            return Err(ENOTSUPP);
        }
        if flags & !(BPF_F_ADJ_ROOM_FIXED_GSO | decap_l3 | BPF_F_ADJ_ROOM_NO_CSUM_RESET) != 0 {
            return Err(EINVAL);
        }
        if flags & decap_l3 == decap_l3 {
            return Err(EINVAL);
        }
        net_hdr_pop(pkt, off, abs)?;
        if flags & BPF_F_ADJ_ROOM_DECAP_L3_IPV4 != 0 {
            set_proto(pkt, ETH_P_IP);
        } else if flags & BPF_F_ADJ_ROOM_DECAP_L3_IPV6 != 0 {
            set_proto(pkt, ETH_P_IPV6);
        }
        return Ok(());
    }
    if pkt.len() + abs > SKB_MAX_LEN {
        return Err(ENOTSUPP);
    }
    if flags & decap_l3 != 0 {
        return Err(EINVAL);
    }
    let encap = flags & encap_l3 != 0;
    if encap {
        if flags & encap_l3 == encap_l3 {
            return Err(EINVAL);
        }
        let l4 = BPF_F_ADJ_ROOM_ENCAP_L4_GRE | BPF_F_ADJ_ROOM_ENCAP_L4_UDP;
        if flags & l4 == l4 {
            return Err(EINVAL);
        }
        if pkt.skb.encap {
            return Err(EALREADY);
        }
        let inner_mac = (flags >> BPF_ADJ_ROOM_ENCAP_L2_SHIFT) as usize;
        if inner_mac > abs {
            return Err(EINVAL);
        }
    }
    net_hdr_push(pkt, off, abs)?;
    if encap {
        pkt.skb.encap = true;
        if p == ETH_P_IP && flags & BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 != 0 {
            set_proto(pkt, ETH_P_IPV6);
        } else if p == ETH_P_IPV6 && flags & BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 != 0 {
            set_proto(pkt, ETH_P_IP);
        }
    }
    Ok(())
}

/// `bpf_skb_vlan_push(skb, vlan_proto, vlan_tci)`: the tag goes to the
/// skb's accelerated-VLAN fields; a tag already there moves into the
/// packet first.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn skb_vlan_push(
    ctx: u64,
    vlan_proto: u64,
    vlan_tci: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe {
        with_skb(env, ctx, "bpf_skb_vlan_push", |pkt| {
            let mut vp = u16::from_be_bytes((vlan_proto as u16).to_ne_bytes());
            if vp != ETH_P_8021Q && vp != ETH_P_8021AD {
                vp = ETH_P_8021Q;
            }
            if let Some((old_proto, old_tci)) = pkt.skb.vlan {
                let (_, head, end) = pkt.bounds();
                if head != pkt.skb.mac || head < 4 || pkt.len() < 12 {
                    return neg(EINVAL);
                }
                let nh = head - 4;
                let b = pkt.buffer_mut();
                b.copy_within(head..head + 12, nh);
                b[nh + 12..nh + 14].copy_from_slice(&old_proto.to_ne_bytes());
                b[nh + 14..nh + 16].copy_from_slice(&old_tci.to_be_bytes());
                pkt.set_bounds(nh, nh, end);
                // Both headers move with the front, as in skb_vlan_push:
                // the network header now starts at the inserted tag's TCI.
                pkt.skb.mac -= 4;
                pkt.skb.net -= 4;
                pkt.skb.protocol_raw = old_proto;
            }
            let raw = u16::from_ne_bytes(vp.to_be_bytes());
            pkt.skb.vlan = Some((raw, vlan_tci as u16));
            0
        })
    }
}

/// `__skb_vlan_pop`: removes the tag after the MAC addresses; the tag's
/// TCI.
fn vlan_pop_payload(pkt: &mut PacketBuf) -> Result<u16, i32> {
    let (_, head, end) = pkt.bounds();
    if head != pkt.skb.mac {
        return Err(EINVAL);
    }
    if pkt.len() < 18 {
        return Err(ENOMEM);
    }
    let d = pkt.data();
    let tci = u16::from_be_bytes([d[14], d[15]]);
    let inner = [d[16], d[17]];
    let sap = (d.len() >= 20).then(|| [d[18], d[19]]);
    pkt.buffer_mut().copy_within(head..head + 12, head + 4);
    pkt.set_bounds(head + 4, head + 4, end);
    pkt.skb.mac += 4;
    let p = if u16::from_be_bytes(inner) >= 0x0600 {
        inner
    } else if sap == Some([0xff, 0xff]) {
        0x0001u16.to_be_bytes()
    } else {
        0x0004u16.to_be_bytes()
    };
    pkt.skb.protocol_raw = u16::from_ne_bytes(p);
    if pkt.skb.net < pkt.skb.mac + 14 {
        pkt.skb.net = pkt.skb.mac + 14;
    }
    Ok(tci)
}

/// `bpf_skb_vlan_pop(skb)`: drops the accelerated tag, or the packet's
/// outer tag; a tag then found in the packet moves to the accelerated
/// fields.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn skb_vlan_pop(
    ctx: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let is_vlan = |p: u16| p == ETH_P_8021Q || p == ETH_P_8021AD;
    // SAFETY: forwarded helper contract.
    unsafe {
        with_skb(env, ctx, "bpf_skb_vlan_pop", |pkt| {
            if pkt.skb.vlan.is_some() {
                pkt.skb.vlan = None;
            } else {
                if !is_vlan(proto(pkt)) {
                    return 0;
                }
                if let Err(e) = vlan_pop_payload(pkt) {
                    return neg(e);
                }
            }
            if !is_vlan(proto(pkt)) {
                return 0;
            }
            let vp = pkt.skb.protocol_raw;
            match vlan_pop_payload(pkt) {
                Ok(tci) => {
                    pkt.skb.vlan = Some((vp, tci));
                    0
                }
                Err(e) => neg(e),
            }
        })
    }
}

/// `bpf_skb_pull_data(skb, len)`: test-run skbs are linear, so this only
/// checks that `len` bytes exist (`-ENOMEM` otherwise).
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn skb_pull_data(
    ctx: u64,
    len: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe {
        with_skb(env, ctx, "bpf_skb_pull_data", |pkt| {
            if len as u32 as usize > pkt.len() {
                neg(ENOMEM)
            } else {
                0
            }
        })
    }
}

/// `bpf_skb_change_tail(skb, new_len, flags)`: grows with zeros or trims;
/// never below the network header, never above `BPF_SKB_MAX_LEN`.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn skb_change_tail(
    ctx: u64,
    new_len: u64,
    flags: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe {
        with_skb(env, ctx, "bpf_skb_change_tail", |pkt| {
            let new_len = new_len as u32 as usize;
            let (_, head, end) = pkt.bounds();
            let min_len = pkt.skb.net.saturating_sub(head);
            if flags != 0 || new_len > SKB_MAX_LEN || new_len < min_len {
                return neg(EINVAL);
            }
            if pkt.skb.encap {
                return neg(ENOTSUPP);
            }
            let new_end = head + new_len;
            if new_end > pkt.buffer().len() {
                return neg(ENOMEM);
            }
            if new_end > end {
                pkt.buffer_mut()[end..new_end].fill(0);
            }
            pkt.set_bounds(head, head, new_end);
            0
        })
    }
}

/// `bpf_skb_change_head(skb, head_room, flags)`: pushes zeroed bytes in
/// front; the MAC header starts there, the network header stays.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn skb_change_head(
    ctx: u64,
    head_room: u64,
    flags: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe {
        with_skb(env, ctx, "bpf_skb_change_head", |pkt| {
            let room = head_room as u32;
            let Some(new_len) = (pkt.len() as u32).checked_add(room) else {
                return neg(EINVAL);
            };
            if flags != 0 || new_len as usize > SKB_MAX_LEN {
                return neg(EINVAL);
            }
            let (_, head, end) = pkt.bounds();
            let room = room as usize;
            if head < room {
                return neg(ENOMEM);
            }
            let nh = head - room;
            pkt.buffer_mut()[nh..head].fill(0);
            pkt.set_bounds(nh, nh, end);
            pkt.skb.mac = nh;
            0
        })
    }
}

/// A flow hash for `bpf_get_hash_recalc` (never 0). The kernel hashes the
/// dissected flow keys with a key chosen at boot, so its values cannot be
/// reproduced; this one is stable for a given flow within oxbpf.
fn flow_hash(pkt: &PacketBuf) -> u32 {
    let b = pkt.buffer();
    let net = pkt.skb.net.min(b.len());
    let (_, _, end) = pkt.bounds();
    let l3 = &b[net..end.max(net)];
    let mut h: u32 = 0x811c_9dc5;
    let mut mix = |bytes: &[u8]| {
        for &x in bytes {
            h = (h ^ x as u32).wrapping_mul(0x0100_0193);
        }
    };
    mix(&pkt.skb.protocol_raw.to_ne_bytes());
    match proto(pkt) {
        ETH_P_IP if l3.len() >= 20 => {
            mix(&l3[9..10]);
            mix(&l3[12..20]);
            let ihl = (l3[0] & 0xf) as usize * 4;
            if l3.len() >= ihl + 4 {
                mix(&l3[ihl..ihl + 4]);
            }
        }
        ETH_P_IPV6 if l3.len() >= 40 => {
            mix(&l3[6..7]);
            mix(&l3[8..40]);
            if l3.len() >= 44 {
                mix(&l3[40..44]);
            }
        }
        _ => mix(l3),
    }
    h.max(1)
}

/// `bpf_get_hash_recalc(skb)`: the skb's hash, computed when unset. See
/// [`flow_hash`] for how the value differs from the kernel's.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn get_hash_recalc(
    ctx: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe {
        with_skb(env, ctx, "bpf_get_hash_recalc", |pkt| {
            if pkt.skb.hash == 0 {
                pkt.skb.hash = flow_hash(pkt);
            }
            pkt.skb.hash as u64
        })
    }
}

/// `bpf_set_hash_invalid(skb)`.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn set_hash_invalid(
    ctx: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe {
        with_skb(env, ctx, "bpf_set_hash_invalid", |pkt| {
            pkt.skb.hash = 0;
            0
        })
    }
}

/// `bpf_set_hash(skb, hash)`.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn set_hash(
    ctx: u64,
    hash: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe {
        with_skb(env, ctx, "bpf_set_hash", |pkt| {
            pkt.skb.hash = hash as u32;
            0
        })
    }
}

/// `bpf_redirect(ifindex, flags)`: records the target in
/// [`HelperHost::redirect`]. For XDP (the run's packet is a frame) any flag
/// gives `XDP_ABORTED`, else `XDP_REDIRECT`; for tc a flag other than
/// `BPF_F_INGRESS` gives `TC_ACT_SHOT`, else `TC_ACT_REDIRECT`.
///
/// # Safety
/// The helper contract ([`crate::helpers`]); it reads no memory.
pub unsafe extern "C" fn redirect(
    ifindex: u64,
    flags: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let Some(host) = HelperHost::of(env) else {
        return tc_action::TC_ACT_SHOT as u64;
    };
    let xdp = matches!(
        host.packet.as_ref().map(|p| p.kind()),
        Some(PacketKind::Xdp)
    );
    if xdp {
        if flags != 0 {
            return xdp_action::XDP_ABORTED as u64;
        }
        host.redirect = Some((u64::from(ifindex as u32), flags));
        xdp_action::XDP_REDIRECT as u64
    } else {
        if flags & !BPF_F_INGRESS != 0 {
            return tc_action::TC_ACT_SHOT as u64;
        }
        host.redirect = Some((u64::from(ifindex as u32), flags));
        tc_action::TC_ACT_REDIRECT as u64
    }
}

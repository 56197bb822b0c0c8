//! The XDP helpers, with `net/core/filter.c`'s checks and errno values on
//! the linear frames test-run builds: head, tail and metadata adjustment
//! inside the frame (never into the `struct xdp_frame` area at its start
//! or the shared-info tailroom at its end), byte loads and stores, the
//! buffer length, and `bpf_redirect_map`.

use super::packet::{copy_packet, neg, with_xdp};
use crate::ctx::xdp::{XDP_FRAME_HDR, XDP_META_MAX};
use crate::env::RunEnv;
use crate::error::HelperFault;
use crate::host::HelperHost;
use uapi::errno::{EACCES, EFAULT, EINVAL};
use uapi::prog::xdp_action;
use uapi::MapType;

const ETH_HLEN: i64 = 14;

/// `BPF_F_BROADCAST` and `BPF_F_EXCLUDE_INGRESS` of `bpf_redirect_map`.
pub const BPF_F_BROADCAST: u64 = 1 << 3;
pub const BPF_F_EXCLUDE_INGRESS: u64 = 1 << 4;

/// `bpf_xdp_adjust_head(xdp, offset)`.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn xdp_adjust_head(
    ctx: u64,
    offset: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let offset = offset as i32 as i64;
    // SAFETY: forwarded helper contract.
    let r = unsafe {
        with_xdp(env, ctx, "bpf_xdp_adjust_head", |pkt| {
            let (meta, head, end) = pkt.bounds();
            let metalen = (head - meta) as i64;
            let data = head as i64 + offset;
            if data < XDP_FRAME_HDR as i64 + metalen || data > end as i64 - ETH_HLEN {
                return neg(EINVAL);
            }
            let nmeta = (meta as i64 + offset) as usize;
            if metalen != 0 {
                pkt.buffer_mut().copy_within(meta..head, nmeta);
            }
            pkt.set_bounds(nmeta, data as usize, end);
            0
        })
    };
    r.unwrap_or(0)
}

/// `bpf_xdp_adjust_tail(xdp, offset)`: grown bytes are zeroed.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn xdp_adjust_tail(
    ctx: u64,
    offset: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let offset = offset as i32 as i64;
    // SAFETY: forwarded helper contract.
    let r = unsafe {
        with_xdp(env, ctx, "bpf_xdp_adjust_tail", |pkt| {
            let (meta, head, end) = pkt.bounds();
            if !pkt.frags.is_empty() {
                return frags_adjust_tail(pkt, offset);
            }
            let new_end = end as i64 + offset;
            if new_end > pkt.hard_end() as i64 || new_end < head as i64 + ETH_HLEN {
                return neg(EINVAL);
            }
            let new_end = new_end as usize;
            if new_end > end {
                pkt.buffer_mut()[end..new_end].fill(0);
            }
            pkt.set_bounds(meta, head, new_end);
            0
        })
    };
    r.unwrap_or(0)
}

/// `bpf_xdp_adjust_tail` on a multi-buffer frame: growing fills the last
/// fragment's page, shrinking drops bytes from the end (whole fragments
/// first, then the linear part).
fn frags_adjust_tail(pkt: &mut crate::ctx::PacketBuf, offset: i64) -> u64 {
    let frag = crate::ctx::xdp::XDP_FRAME_SIZE as i64;
    let flen = pkt.frags.len() as i64;
    if offset > 0 {
        let last = (flen - 1) % frag + 1;
        if offset > frag - last {
            return neg(EINVAL);
        }
        pkt.frags.resize((flen + offset) as usize, 0);
        return 0;
    }
    let cut = -offset;
    if cut > pkt.len() as i64 + flen - ETH_HLEN {
        return neg(EINVAL);
    }
    let from_frags = cut.min(flen);
    pkt.frags.truncate((flen - from_frags) as usize);
    if pkt.frags.is_empty() {
        let (meta, head, end) = pkt.bounds();
        pkt.set_bounds(meta, head, end - (cut - from_frags) as usize);
    }
    0
}

/// `bpf_xdp_adjust_meta(xdp, offset)`.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn xdp_adjust_meta(
    ctx: u64,
    offset: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let offset = offset as i32 as i64;
    // SAFETY: forwarded helper contract.
    let r = unsafe {
        with_xdp(env, ctx, "bpf_xdp_adjust_meta", |pkt| {
            let (meta, head, end) = pkt.bounds();
            let nmeta = meta as i64 + offset;
            if nmeta < XDP_FRAME_HDR as i64 || nmeta > head as i64 {
                return neg(EINVAL);
            }
            let metalen = head as i64 - nmeta;
            if metalen % 4 != 0 || metalen > XDP_META_MAX as i64 {
                return neg(EACCES);
            }
            pkt.set_bounds(nmeta as usize, head, end);
            0
        })
    };
    r.unwrap_or(0)
}

/// Where `len` bytes at `offset` from `data` are: up to two spans (the
/// linear part, then the fragments), or the errno of `bpf_xdp_pointer`.
type Spans = [(u64, u64); 2];

fn xdp_spans(
    env: &mut RunEnv<'_>,
    ctx: u64,
    offset: u64,
    len: u64,
    name: &'static str,
) -> Option<Result<Spans, i32>> {
    let (off, len) = (offset as u32 as u64, len as u32 as u64);
    // SAFETY: the helper contract, forwarded by the callers.
    unsafe {
        with_xdp(env, ctx, name, |pkt| {
            if off > 0xffff || len > 0xffff {
                return Err(EFAULT);
            }
            let lin = pkt.len() as u64;
            if off + len > lin + pkt.frags.len() as u64 {
                return Err(EINVAL);
            }
            let (_, head, _) = pkt.bounds();
            let base = pkt.base_addr() + head as u64;
            let fbase = pkt.frags.as_ptr().expose_provenance() as u64;
            let in_lin = lin.saturating_sub(off).min(len);
            let first = (base + off, in_lin);
            let foff = off.saturating_sub(lin);
            Ok([first, (fbase + foff, len - in_lin)])
        })
    }
}

fn copy_spans(env: &mut RunEnv<'_>, spans: Spans, buf: u64, to_program: bool) {
    let mut at = buf;
    for (addr, n) in spans {
        if n != 0 && !copy_packet(env, addr, at, n, to_program) {
            return;
        }
        at += n;
    }
}

/// `bpf_xdp_load_bytes(xdp, offset, buf, len)` (the buffer is left as it
/// was on failure).
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn xdp_load_bytes(
    ctx: u64,
    offset: u64,
    buf: u64,
    len: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    match xdp_spans(env, ctx, offset, len, "bpf_xdp_load_bytes") {
        None => 0,
        Some(Ok(spans)) => {
            copy_spans(env, spans, buf, true);
            0
        }
        Some(Err(e)) => neg(e),
    }
}

/// `bpf_xdp_store_bytes(xdp, offset, buf, len)`.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn xdp_store_bytes(
    ctx: u64,
    offset: u64,
    buf: u64,
    len: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    match xdp_spans(env, ctx, offset, len, "bpf_xdp_store_bytes") {
        None => 0,
        Some(Ok(spans)) => {
            copy_spans(env, spans, buf, false);
            0
        }
        Some(Err(e)) => neg(e),
    }
}

/// `bpf_xdp_get_buff_len(xdp)`: the frame's length, fragments included.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is the run's context.
pub unsafe extern "C" fn xdp_get_buff_len(
    ctx: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: forwarded helper contract.
    unsafe {
        with_xdp(env, ctx, "bpf_xdp_get_buff_len", |pkt| {
            (pkt.len() + pkt.frags.len()) as u64
        })
    }
    .unwrap_or(0)
}

/// `bpf_redirect_map(map, key, flags)` for XDP: the low two bits of
/// `flags` are the action when `key` has no target; a hit records
/// (`key`, `flags`) in [`HelperHost::redirect`] and returns
/// `XDP_REDIRECT`. A devmap slot holding ifindex 0 is empty, as in the
/// kernel; `BPF_F_BROADCAST` redirects to the whole map.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `r1` is a map of the run.
pub unsafe extern "C" fn redirect_map(
    map: u64,
    key: u64,
    flags: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let action_mask = 3u64;
    if flags & !(action_mask | BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS) != 0 {
        return xdp_action::XDP_ABORTED as u64;
    }
    let checked = env.is_checked();
    let Some(host) = HelperHost::of(env) else {
        env.fault(HelperFault::Other(
            "bpf_redirect_map needs the runtime's host".into(),
        ));
        return 0;
    };
    let m: Option<&maps::Map> = if checked {
        host.map(map)
    } else {
        // SAFETY: unchecked runs are verified: `map` is a map pointer the
        // loader resolved, kept alive by `host.maps` (host contract).
        Some(unsafe { &*std::ptr::with_exposed_provenance::<maps::Map>(map as usize) })
    };
    let Some(m) = m else {
        env.fault(HelperFault::Other(format!(
            "bpf_redirect_map: {map:#x} is not a map of the run"
        )));
        return 0;
    };
    let hit = if flags & BPF_F_BROADCAST != 0 {
        true
    } else {
        let k = (key as u32).to_ne_bytes();
        let p = m.lookup_ptr(&k, 0);
        if p.is_null() {
            false
        } else if matches!(m.map_type(), MapType::Devmap | MapType::DevmapHash) {
            let mut v = [0u8; 4];
            let n = (m.spec().value_size as usize).min(4);
            // SAFETY: `p` points to the slot's value of `value_size` bytes.
            unsafe { std::ptr::copy_nonoverlapping(p, v.as_mut_ptr(), n) };
            u32::from_ne_bytes(v) != 0
        } else {
            true
        }
    };
    if !hit {
        return flags & action_mask;
    }
    host.redirect = Some((u64::from(key as u32), flags));
    xdp_action::XDP_REDIRECT as u64
}

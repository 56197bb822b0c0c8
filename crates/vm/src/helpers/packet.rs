//! Plumbing the packet helpers share: finding the run's packet through the
//! [`HelperHost`], checking the context pointer, keeping the context's
//! packet fields and the legacy-load view in step after every change, and
//! registering the helpers.

use crate::ctx::{PacketBuf, PacketKind};
use crate::env::RunEnv;
use crate::error::{AccessKind, HelperFault};
use crate::helpers::HelperRegistry;
use crate::host::HelperHost;
use uapi::ctx::kern;
use uapi::helpers::id;
use uapi::HelperId;

pub(crate) use super::misc::neg;

/// Runs `f` on the run's packet when it is of the wanted kind (`xdp`),
/// with `ctx` checked as a writable runtime context of that kind; then
/// rewrites the context's packet fields and the legacy-load view. `None`
/// (with a fault recorded) when the arguments or the run do not fit.
///
/// # Safety
/// The helper contract: in unchecked runs `ctx` is the run's context.
unsafe fn with_packet<R>(
    env: &mut RunEnv<'_>,
    ctx: u64,
    xdp: bool,
    name: &'static str,
    f: impl FnOnce(&mut PacketBuf) -> R,
) -> Option<R> {
    let size = if xdp {
        kern::xdp::SIZE
    } else {
        kern::skb::SIZE
    };
    let ctxp = match env.translate(ctx, size as u64, AccessKind::Write) {
        Ok(p) => p,
        Err(e) => {
            env.fault(e);
            return None;
        }
    };
    let mut view = None;
    let r = {
        let pkt = HelperHost::of(env)
            .and_then(|h| h.packet.as_mut())
            .filter(|p| matches!(p.kind(), PacketKind::Xdp) == xdp);
        match pkt {
            Some(pkt) => {
                let r = f(pkt);
                // SAFETY: `ctxp` was checked (or, unchecked, is vouched for
                // by the verifier) to be a writable context of this kind.
                unsafe { pkt.sync_ctx(ctxp) };
                view = crate::test_run::packet_view(pkt);
                Some(r)
            }
            None => None,
        }
    };
    match r {
        Some(r) => {
            if let Some(v) = view {
                env.set_packet(v);
            }
            Some(r)
        }
        None => {
            let what = if xdp { "an XDP frame" } else { "an skb" };
            env.fault(HelperFault::Other(format!(
                "{name} needs {what} in the run"
            )));
            None
        }
    }
}

/// [`with_packet`] for skb helpers returning `r0` (0 after a fault).
///
/// # Safety
/// As [`with_packet`].
pub(crate) unsafe fn with_skb(
    env: &mut RunEnv<'_>,
    ctx: u64,
    name: &'static str,
    f: impl FnOnce(&mut PacketBuf) -> u64,
) -> u64 {
    // SAFETY: forwarded.
    unsafe { with_packet(env, ctx, false, name, f) }.unwrap_or(0)
}

/// [`with_packet`] for skb helpers returning anything.
///
/// # Safety
/// As [`with_packet`].
pub(crate) unsafe fn with_skb_r<R>(
    env: &mut RunEnv<'_>,
    ctx: u64,
    name: &'static str,
    f: impl FnOnce(&mut PacketBuf) -> R,
) -> Option<R> {
    // SAFETY: forwarded.
    unsafe { with_packet(env, ctx, false, name, f) }
}

/// [`with_packet`] for XDP helpers returning anything.
///
/// # Safety
/// As [`with_packet`].
pub(crate) unsafe fn with_xdp<R>(
    env: &mut RunEnv<'_>,
    ctx: u64,
    name: &'static str,
    f: impl FnOnce(&mut PacketBuf) -> R,
) -> Option<R> {
    // SAFETY: forwarded.
    unsafe { with_packet(env, ctx, true, name, f) }
}

/// Copies `len` bytes between program memory and the packet, after the
/// helper decided the packet span (`pkt_addr`). `to_program`: packet →
/// `prog_addr`; else `prog_addr` → packet. The program pointer is checked
/// (in checked runs); the copy tolerates overlap (a program may pass a
/// packet pointer).
pub(crate) fn copy_packet(
    env: &mut RunEnv<'_>,
    pkt_addr: u64,
    prog_addr: u64,
    len: u64,
    to_program: bool,
) -> bool {
    let access = if to_program {
        AccessKind::Write
    } else {
        AccessKind::Read
    };
    let p = match env.translate(prog_addr, len, access) {
        Ok(p) => p,
        Err(e) => {
            env.fault(e);
            return false;
        }
    };
    let q = std::ptr::with_exposed_provenance_mut::<u8>(pkt_addr as usize);
    let (src, dst) = if to_program { (q, p) } else { (p, q) };
    // SAFETY: the packet span was bounds-checked by the helper against
    // the packet buffer, which lives in the host for the run; the program
    // span was checked by `translate` (or vouched for by the verifier).
    // `copy` allows the two to overlap.
    unsafe { std::ptr::copy(src, dst, len as usize) };
    true
}

/// Fills `len` bytes of program memory at `addr` with zeros (the error
/// path of `bpf_skb_load_bytes`).
pub(crate) fn zero_program(env: &mut RunEnv<'_>, addr: u64, len: u64) {
    match env.translate(addr, len, AccessKind::Write) {
        // SAFETY: checked (or verified) writable span.
        Ok(p) => unsafe { std::ptr::write_bytes(p, 0, len as usize) },
        Err(e) => env.fault(e),
    }
}

/// Registers every packet helper of this crate under its kernel number:
/// the skb helpers (load/store bytes, checksums, VLAN, resizing, protocol
/// change, hash, redirect) and the XDP ones (adjust head/tail/meta,
/// load/store bytes, buffer length, redirect map).
pub fn register_packet_helpers(reg: &mut HelperRegistry) {
    use super::{csum, skb, xdp};
    let table: [(u32, crate::helpers::HelperFn); 26] = [
        (id::SKB_LOAD_BYTES, skb::skb_load_bytes),
        (id::SKB_LOAD_BYTES_RELATIVE, skb::skb_load_bytes_relative),
        (id::SKB_STORE_BYTES, skb::skb_store_bytes),
        (id::L3_CSUM_REPLACE, csum::l3_csum_replace),
        (id::L4_CSUM_REPLACE, csum::l4_csum_replace),
        (id::CSUM_DIFF, csum::csum_diff),
        (id::CSUM_UPDATE, csum::csum_update),
        (id::CSUM_LEVEL, csum::csum_level),
        (id::SKB_CHANGE_PROTO, skb::skb_change_proto),
        (id::SKB_ADJUST_ROOM, skb::skb_adjust_room),
        (id::SKB_VLAN_PUSH, skb::skb_vlan_push),
        (id::SKB_VLAN_POP, skb::skb_vlan_pop),
        (id::SKB_PULL_DATA, skb::skb_pull_data),
        (id::SKB_CHANGE_TAIL, skb::skb_change_tail),
        (id::SKB_CHANGE_HEAD, skb::skb_change_head),
        (id::GET_HASH_RECALC, skb::get_hash_recalc),
        (id::SET_HASH_INVALID, skb::set_hash_invalid),
        (id::SET_HASH, skb::set_hash),
        (id::REDIRECT, skb::redirect),
        (id::REDIRECT_MAP, xdp::redirect_map),
        (id::XDP_ADJUST_HEAD, xdp::xdp_adjust_head),
        (id::XDP_ADJUST_TAIL, xdp::xdp_adjust_tail),
        (id::XDP_ADJUST_META, xdp::xdp_adjust_meta),
        (id::XDP_LOAD_BYTES, xdp::xdp_load_bytes),
        (id::XDP_STORE_BYTES, xdp::xdp_store_bytes),
        (id::XDP_GET_BUFF_LEN, xdp::xdp_get_buff_len),
    ];
    for (n, f) in table {
        reg.register(HelperId(n), f);
    }
}

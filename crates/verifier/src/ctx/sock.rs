//! Contexts of the socket program types `sk_msg` (`struct sk_msg_md`),
//! `sock_ops` (`struct bpf_sock_ops`) and `cgroup/sock` (`struct
//! bpf_sock`), with the rules of the kernel's `sk_msg_is_valid_access`,
//! `sock_ops_is_valid_access` and `sock_filter_is_valid_access` (Linux
//! 6.18);
//! `sk_skb`'s `__sk_buff` is in [`super::skb`].
//!
//! `sk_msg_md`, `bpf_sock_ops` and `bpf_sock` have no internal structure in
//! [`uapi::ctx::kern`]: their accesses stay in the uapi layout (as
//! `cgroup_sock_addr` does), so the runtime must hand these programs a
//! context laid out as the uapi structure, with real pointers in the
//! pointer fields.
//!
//! Not modelled: the `sk` fields (a socket pointer, `PTR_TO_SOCKET` or
//! `PTR_TO_SOCK_COMMON` in the kernel) — reads are refused, so programs
//! that use them are rejected here while the kernel accepts them.

use super::{narrow_ok, CtxAccess};
use crate::state::PtrKind;
use uapi::AttachType;

/// `struct sk_msg_md` offsets.
mod msg {
    pub const DATA: u32 = 0;
    pub const DATA_END: u32 = 8;
    pub const FAMILY: u32 = 16;
    pub const SIZE_FIELD: u32 = 68;
    pub const SK: u32 = 72;
    pub const SIZE: u32 = 80;
}

/// `struct bpf_sock_ops` offsets (Linux 6.18: 224 bytes, `skb_hwtstamp`
/// last).
mod ops {
    pub const REPLY: u32 = 4;
    pub const SK_TXHASH: u32 = 164;
    pub const BYTES_RECEIVED: u32 = 168;
    pub const SK: u32 = 184;
    pub const SKB_DATA: u32 = 192;
    pub const SKB_DATA_END: u32 = 200;
    pub const SKB_TCP_FLAGS: u32 = 212;
    pub const SKB_HWTSTAMP: u32 = 216;
    pub const SIZE: u32 = 224;
}

/// A raw (uapi layout) access yielding `ptr` on reads.
fn raw(ptr: Option<PtrKind>) -> Option<CtxAccess> {
    Some(CtxAccess { ptr, rewrite: None })
}

/// `sk_msg_is_valid_access`: read-only; `data`/`data_end` as 64-bit
/// packet pointers, the address and port words and `size` as whole words.
pub(super) fn sk_msg(off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    if write || !off.is_multiple_of(size) || off >= msg::SIZE {
        return None;
    }
    let field = |start: u32, len: u32| (start..start + len).contains(&off);
    if field(msg::DATA, 8) {
        return (size == 8).then(|| raw(Some(PtrKind::Packet { range: 0 })))?;
    }
    if field(msg::DATA_END, 8) {
        return (size == 8).then(|| raw(Some(PtrKind::PacketEnd)))?;
    }
    if field(msg::SK, 8) {
        return None;
    }
    // family … size: 4-byte words.
    (field(msg::FAMILY, msg::SIZE_FIELD + 4 - msg::FAMILY) && size == 4).then(|| raw(None))?
}

/// `sock_ops_is_valid_access`: `reply` and `sk_txhash` writable as words;
/// the byte counters, pointers and hardware time stamp read as 64 bits,
/// `skb_tcp_flags` with narrow loads, every other field as a word.
pub(super) fn sock_ops(off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    if off >= ops::SIZE || !off.is_multiple_of(size) {
        return None;
    }
    let field = |start: u32, len: u32| (start..start + len).contains(&off);
    if write {
        return ((off == ops::REPLY || off == ops::SK_TXHASH) && size == 4).then(|| raw(None))?;
    }
    if field(ops::BYTES_RECEIVED, 16) || field(ops::SKB_HWTSTAMP, 8) {
        return (size == 8).then(|| raw(None))?;
    }
    if field(ops::SK, 8) {
        return None;
    }
    if field(ops::SKB_DATA, 8) {
        return (size == 8).then(|| raw(Some(PtrKind::Packet { range: 0 })))?;
    }
    if field(ops::SKB_DATA_END, 8) {
        return (size == 8).then(|| raw(Some(PtrKind::PacketEnd)))?;
    }
    if off == ops::SKB_TCP_FLAGS {
        return narrow_ok(0, size, 4).then(|| raw(None))?;
    }
    (size == 4).then(|| raw(None))?
}

/// `struct bpf_sock` offsets.
mod sk {
    pub const BOUND_DEV_IF: u32 = 0;
    pub const MARK: u32 = 16;
    pub const PRIORITY: u32 = 20;
    pub const SRC_IP4: u32 = 24;
    pub const SRC_IP6: u32 = 28;
    pub const SRC_PORT: u32 = 44;
    pub const DST_PORT: u32 = 48;
    pub const DST_IP4: u32 = 52;
    pub const DST_IP6: u32 = 56;
    pub const STATE: u32 = 72;
    pub const RX_QUEUE_MAPPING: u32 = 76;
    pub const SIZE: u32 = 80;
}

/// `struct bpf_sock` of `cgroup/sock` programs (`sock_filter_is_valid_access`):
/// the shared `bpf_sock` rules, then per attach type — `bound_dev_if`,
/// `mark` and `priority` read and written by socket create and release
/// hooks only, the source address and port read by the post-bind hook of
/// their family only, everything else read-only. Raw uapi layout, like
/// `sk_msg_md`.
pub(super) fn sock(
    off: u32,
    size: u32,
    write: bool,
    attach: Option<AttachType>,
) -> Option<CtxAccess> {
    if off >= sk::SIZE || !off.is_multiple_of(size) {
        return None;
    }
    let r = |start: u32, len: u32| (start..start + len).contains(&off);
    let narrow = |field: u32| size <= field && size.is_power_of_two();
    // `bpf_sock_is_valid_access`.
    let shape = if off == sk::STATE
        || off == 4
        || off == 8
        || off == 12
        || off == sk::SRC_PORT
        || off == sk::RX_QUEUE_MAPPING
        || r(sk::SRC_IP4, 4)
        || r(sk::SRC_IP6, 16)
        || r(sk::DST_IP4, 4)
        || r(sk::DST_IP6, 16)
    {
        narrow(4)
    } else if r(sk::DST_PORT, 4) {
        if off >= sk::DST_PORT + 2 {
            false
        } else {
            narrow(if size == 4 { 4 } else { 2 })
        }
    } else {
        size == 4
    };
    if !shape {
        return None;
    }
    // `__sock_filter_check_attach_type`.
    let post_bind4 = attach == Some(AttachType::CgroupInet4PostBind);
    let post_bind6 = attach == Some(AttachType::CgroupInet6PostBind);
    let ok = if off == sk::BOUND_DEV_IF || off == sk::MARK || off == sk::PRIORITY {
        matches!(
            attach,
            Some(AttachType::CgroupInetSockCreate | AttachType::CgroupInetSockRelease)
        )
    } else if r(sk::SRC_IP4, 4) {
        post_bind4 && !write
    } else if r(sk::SRC_IP6, 16) {
        post_bind6 && !write
    } else if r(sk::SRC_PORT, 4) {
        (post_bind4 || post_bind6) && !write
    } else {
        !write
    };
    ok.then(|| raw(None))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sk_msg_and_sock_ops_rules() {
        assert_eq!(
            sk_msg(msg::DATA, 8, false).unwrap().ptr,
            Some(PtrKind::Packet { range: 0 })
        );
        assert!(sk_msg(msg::DATA, 4, false).is_none());
        assert!(sk_msg(msg::SIZE_FIELD, 4, false).is_some());
        assert!(sk_msg(msg::SIZE_FIELD, 2, false).is_none());
        assert!(sk_msg(msg::FAMILY, 4, true).is_none());
        assert!(sock_ops(0, 4, false).is_some());
        assert!(sock_ops(0, 4, true).is_none());
        assert!(sock_ops(ops::REPLY, 4, true).is_some());
        assert!(sock_ops(ops::BYTES_RECEIVED, 4, false).is_none());
        assert!(sock_ops(ops::SKB_TCP_FLAGS, 1, false).is_some());
        // Only the first byte: the kernel matches the field offset exactly.
        assert!(sock_ops(ops::SKB_TCP_FLAGS + 1, 1, false).is_none());
        assert!(sock_ops(ops::SIZE, 4, false).is_none());
    }
}

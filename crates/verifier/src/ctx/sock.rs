//! Contexts of the socket program types: `sk_skb` (`__sk_buff` of a stream
//! parser or verdict program), `sk_msg` (`struct sk_msg_md`) and `sock_ops`
//! (`struct bpf_sock_ops`), with the rules of the kernel's
//! `sk_skb_is_valid_access`, `sk_msg_is_valid_access` and
//! `sock_ops_is_valid_access` (Linux 6.18).
//!
//! `sk_skb` accesses are rewritten to the runtime's `__sk_buff` layout
//! ([`uapi::ctx::kern::skb`]) like the other socket buffer types.
//! `sk_msg_md` and `bpf_sock_ops` have no internal structure in
//! [`uapi::ctx::kern`]: their accesses stay in the uapi layout (as
//! `cgroup_sock_addr` does), so the runtime must hand these programs a
//! context laid out as the uapi structure, with real pointers in the
//! pointer fields.
//!
//! Not modelled: the `sk` fields (a socket pointer, `PTR_TO_SOCKET` or
//! `PTR_TO_SOCK_COMMON` in the kernel) — reads are refused, so programs
//! that use them are rejected here while the kernel accepts them.

use super::{narrow_ok, CtxAccess, CtxRewrite};
use crate::state::PtrKind;
use uapi::ctx::{kern, sk_buff as skb};

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

/// `bpf_skb_is_valid_access`, the rules every `__sk_buff` type shares.
fn skb_common(off: u32, size: u32, write: bool) -> bool {
    let in_range = |start: u32, len: u32| (start..start + len).contains(&off);
    if off >= skb::SIZE || !off.is_multiple_of(size) {
        return false;
    }
    if in_range(skb::CB, 20) {
        off + size <= skb::CB + 20
    } else if in_range(skb::DATA, 4) || in_range(skb::DATA_META, 4) || in_range(skb::DATA_END, 4) {
        size == 4
    } else if in_range(skb::REMOTE_IP4, 8 + 32) {
        // remote_ip4, local_ip4, remote_ip6[4], local_ip6[4]: whole words.
        size == 4
    } else if in_range(skb::FLOW_KEYS, 8) {
        false
    } else if in_range(skb::HWTSTAMP, 8) {
        !write && size == 8
    } else if in_range(skb::TSTAMP, 8) {
        size == 8
    } else if in_range(skb::SK, 8) {
        // A socket pointer (`PTR_TO_SOCK_COMMON_OR_NULL`): not modelled.
        false
    } else if in_range(skb::TSTAMP_TYPE, skb::HWTSTAMP - skb::TSTAMP_TYPE) {
        // tstamp_type and the padding after it.
        false
    } else if write {
        size == 4
    } else {
        narrow_ok(off % 4, size, 4)
    }
}

/// `sk_skb_is_valid_access`: no mark, tc_classid, data_meta or time
/// stamps; only `tc_index` and `priority` are writable (not even `cb`).
pub(super) fn sk_skb(off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    let in_range = |start: u32, len: u32| (start..start + len).contains(&off);
    if in_range(skb::TC_CLASSID, 4)
        || in_range(skb::DATA_META, 4)
        || in_range(skb::TSTAMP, 8)
        || in_range(skb::WIRE_LEN, 4)
        || in_range(skb::HWTSTAMP, 8)
        || in_range(skb::MARK, 4)
    {
        return None;
    }
    if write && !(in_range(skb::TC_INDEX, 4) || in_range(skb::PRIORITY, 4)) {
        return None;
    }
    if !skb_common(off, size, write) {
        return None;
    }
    let ptr = if in_range(skb::DATA, 4) {
        Some(PtrKind::Packet { range: 0 })
    } else if in_range(skb::DATA_END, 4) {
        Some(PtrKind::PacketEnd)
    } else {
        None
    };
    // The byte offset within a 32-bit field carries over (little-endian
    // narrow loads); cb and the address arrays map element by element.
    let field_start = if in_range(skb::CB, 20) { off } else { off & !3 };
    let koff = kern::skb_field(field_start)? + (off - field_start);
    let ksize = if ptr.is_some() { 8 } else { size };
    Some(CtxAccess {
        ptr,
        rewrite: Some(CtxRewrite {
            off: koff,
            size: ksize,
        }),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sk_skb_rules() {
        assert!(sk_skb(skb::MARK, 4, false).is_none());
        assert!(sk_skb(skb::CB, 4, true).is_none());
        assert!(sk_skb(skb::PRIORITY, 4, true).is_some());
        assert!(sk_skb(skb::REMOTE_IP4 + 2, 2, false).is_none());
        assert!(sk_skb(skb::REMOTE_PORT + 2, 2, false).is_some());
        let a = sk_skb(skb::DATA_END, 4, false).unwrap();
        assert_eq!(a.ptr, Some(PtrKind::PacketEnd));
        assert_eq!(a.rewrite.unwrap().size, 8);
    }

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

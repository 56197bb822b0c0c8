//! `__sk_buff` for every socket buffer program type, as the kernel's
//! `sk_filter_is_valid_access`, `tc_cls_act_is_valid_access`,
//! `cg_skb_is_valid_access` and `sk_skb_is_valid_access` check it on top
//! of the shared `bpf_skb_is_valid_access` (Linux 6.18); every allowed
//! access is rewritten to the runtime layout ([`uapi::ctx::kern::skb`]).
//!
//! Not modelled: the `sk` socket pointer (reads refused) and `flow_keys`.

use super::{narrow_ok, CtxAccess, CtxRewrite};
use crate::state::PtrKind;
use uapi::ctx::{kern, sk_buff as skb};

/// Which program type's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Skb {
    /// Socket filters.
    Filter,
    /// tc classifiers and actions.
    Tc,
    /// cgroup skb programs.
    Cgroup,
    /// sk_skb stream parsers and verdicts.
    Stream,
    /// Lightweight tunnel programs (`lwt_is_valid_access`).
    Lwt,
}

fn within(off: u32, start: u32, len: u32) -> bool {
    (start..start + len).contains(&off)
}

/// `bpf_skb_is_valid_access`, the rules every type shares.
fn common(off: u32, size: u32, write: bool) -> bool {
    let r = |start, len| within(off, start, len);
    if off >= skb::SIZE || !off.is_multiple_of(size) {
        return false;
    }
    if r(skb::CB, 20) {
        off + size <= skb::CB + 20
    } else if r(skb::DATA, 4) || r(skb::DATA_META, 4) || r(skb::DATA_END, 4) {
        size == 4
    } else if r(skb::REMOTE_IP4, skb::REMOTE_PORT - skb::REMOTE_IP4) {
        // remote_ip4, local_ip4, remote_ip6[4], local_ip6[4]: whole words.
        size == 4
    } else if r(skb::FLOW_KEYS, 8) || r(skb::SK, 8) {
        // flow_keys; the socket pointer (`PTR_TO_SOCK_COMMON_OR_NULL`),
        // which oxbpf does not model.
        false
    } else if r(skb::HWTSTAMP, 8) {
        !write && size == 8
    } else if r(skb::TSTAMP, 8) {
        size == 8
    } else if r(skb::TSTAMP_TYPE, skb::HWTSTAMP - skb::TSTAMP_TYPE) {
        // tstamp_type (tc only, checked before) and the padding after it.
        false
    } else if write {
        size == 4
    } else {
        narrow_ok(off % 4, size, 4)
    }
}

/// Check an access of `size` bytes at `off` for `kind` and say how to
/// rewrite it.
pub(super) fn access(kind: Skb, off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    let r = |start, len| within(off, start, len);
    let socket = r(skb::FAMILY, skb::LOCAL_PORT + 4 - skb::FAMILY);
    let (denied, writable) = match kind {
        Skb::Filter => (
            r(skb::TC_CLASSID, 4)
                || r(skb::DATA, 4)
                || r(skb::DATA_META, 4)
                || r(skb::DATA_END, 4)
                || socket
                || r(skb::TSTAMP, 8)
                || r(skb::WIRE_LEN, 4)
                || r(skb::HWTSTAMP, 8),
            r(skb::CB, 20),
        ),
        Skb::Tc => {
            if off == skb::TSTAMP_TYPE {
                // Read as one byte only.
                return (!write && size == 1).then_some(CtxAccess {
                    ptr: None,
                    rewrite: Some(CtxRewrite {
                        off: kern::skb::TSTAMP_TYPE,
                        size: 1,
                    }),
                });
            }
            (
                socket,
                r(skb::MARK, 4)
                    || r(skb::TC_INDEX, 4)
                    || r(skb::PRIORITY, 4)
                    || r(skb::TC_CLASSID, 4)
                    || r(skb::CB, 20)
                    || r(skb::TSTAMP, 8)
                    || r(skb::QUEUE_MAPPING, 4),
            )
        }
        Skb::Cgroup => (
            r(skb::TC_CLASSID, 4) || r(skb::DATA_META, 4) || r(skb::WIRE_LEN, 4),
            r(skb::MARK, 4) || r(skb::PRIORITY, 4) || r(skb::CB, 20) || r(skb::TSTAMP, 8),
        ),
        Skb::Lwt => (
            r(skb::TC_CLASSID, 4)
                || socket
                || r(skb::DATA_META, 4)
                || r(skb::TSTAMP, 8)
                || r(skb::WIRE_LEN, 4)
                || r(skb::HWTSTAMP, 8),
            r(skb::MARK, 4) || r(skb::PRIORITY, 4) || r(skb::CB, 20),
        ),
        Skb::Stream => (
            r(skb::TC_CLASSID, 4)
                || r(skb::DATA_META, 4)
                || r(skb::TSTAMP, 8)
                || r(skb::WIRE_LEN, 4)
                || r(skb::HWTSTAMP, 8)
                || r(skb::MARK, 4),
            r(skb::TC_INDEX, 4) || r(skb::PRIORITY, 4),
        ),
    };
    if denied || (write && !writable) || !common(off, size, write) {
        return None;
    }
    let ptr = match off {
        skb::DATA => Some(PtrKind::Packet { range: 0 }),
        skb::DATA_END => Some(PtrKind::PacketEnd),
        skb::DATA_META => Some(PtrKind::PacketMeta { range: 0 }),
        _ => None,
    };
    let rewrite = if r(skb::CB, 20) {
        // cb is plain bytes: any naturally aligned access inside it.
        CtxRewrite {
            off: kern::skb::CB + (off - skb::CB),
            size,
        }
    } else if ptr.is_some() || r(skb::TSTAMP, 8) || r(skb::HWTSTAMP, 8) {
        // Pointers widen to 64 bits in the runtime layout.
        CtxRewrite {
            off: kern::skb_field(off)?,
            size: 8,
        }
    } else {
        // The byte offset within a 32-bit field carries over
        // (little-endian narrow loads).
        let field = off & !3;
        CtxRewrite {
            off: kern::skb_field(field)? + (off - field),
            size,
        }
    };
    Some(CtxAccess {
        ptr,
        rewrite: Some(rewrite),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(access(Skb::Stream, skb::MARK, 4, false).is_none());
        assert!(access(Skb::Stream, skb::CB, 4, true).is_none());
        assert!(access(Skb::Stream, skb::PRIORITY, 4, true).is_some());
        assert!(access(Skb::Stream, skb::REMOTE_IP4 + 2, 2, false).is_none());
        assert!(access(Skb::Stream, skb::REMOTE_PORT + 2, 2, false).is_some());
        let a = access(Skb::Stream, skb::DATA_END, 4, false).unwrap();
        assert_eq!(a.ptr, Some(PtrKind::PacketEnd));
        assert_eq!(a.rewrite.unwrap().size, 8);
        // A byte in the middle of cb.
        let a = access(Skb::Filter, skb::CB + 1, 1, true).unwrap();
        assert_eq!(a.rewrite.unwrap().off, kern::skb::CB + 1);
        assert!(access(Skb::Tc, skb::DATA + 1, 1, false).is_none());
        assert!(access(Skb::Cgroup, skb::MARK, 2, true).is_none());
        assert!(access(Skb::Cgroup, skb::TSTAMP_TYPE, 1, false).is_none());
        assert!(access(Skb::Tc, skb::TSTAMP_TYPE, 1, false).is_some());
    }
}

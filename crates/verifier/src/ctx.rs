//! Context access rules per program type, and the rewrite of every allowed
//! access to oxbpf's runtime layout ([`uapi::ctx::kern`]).
//!
//! The rules are the kernel's `is_valid_access` callbacks: which offsets and
//! sizes may be read or written, which loads yield packet pointers. Program
//! types whose context is plain memory (kprobe `pt_regs`, tracepoint
//! records, raw tracepoint arguments, perf events, syscall arguments) keep
//! their accesses as they are.

use crate::state::PtrKind;
use uapi::ctx::{kern, sk_buff as skb, xdp_md};
use uapi::ProgType;

pub mod btf;
mod sock;

/// How to rewrite one context access: the internal offset and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CtxRewrite {
    pub off: u32,
    pub size: u32,
}

/// An allowed access: what a load yields and how to rewrite it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtxAccess {
    /// A load of a packet pointer field yields this pointer kind.
    pub ptr: Option<PtrKind>,
    /// `None`: the context is raw memory, no rewrite.
    pub rewrite: Option<CtxRewrite>,
}

/// `sizeof(struct pt_regs)` on x86-64.
const PT_REGS_SIZE: u32 = 168;
/// `PERF_MAX_TRACE_SIZE`.
const PERF_MAX_TRACE_SIZE: u32 = 8192;
/// Raw tracepoints see up to 12 `u64` arguments.
const RAW_TP_SIZE: u32 = 8 * 12;
/// `sizeof(struct bpf_perf_event_data)`.
const PERF_EVENT_DATA_SIZE: u32 = PT_REGS_SIZE + 16;

/// Whether a read of `size` at `off` of a field of `field` bytes is a
/// naturally aligned narrow load (`bpf_ctx_narrow_access_ok`).
fn narrow_ok(off: u32, size: u32, field: u32) -> bool {
    size <= field && size.is_power_of_two() && off.is_multiple_of(size)
}

/// Check an access to the context of `t` and say how to rewrite it.
pub fn access(
    t: ProgType,
    attach: Option<uapi::AttachType>,
    off: i64,
    size: u32,
    write: bool,
) -> Option<CtxAccess> {
    let off = u32::try_from(off).ok()?;
    if size == 0 || !off.is_multiple_of(size) {
        return None;
    }
    let raw = |limit: u32, writable: bool| {
        (off + size <= limit && (!write || writable)).then_some(CtxAccess {
            ptr: None,
            rewrite: None,
        })
    };
    match t {
        ProgType::Xdp => xdp(off, size, write, attach),
        ProgType::SocketFilter => skb_access(off, size, write, false),
        ProgType::SchedCls | ProgType::SchedAct => skb_access(off, size, write, true),
        ProgType::CgroupSkb => cgroup_skb(off, size, write),
        ProgType::CgroupSockAddr => sock_addr(off, size, write),
        ProgType::SkSkb => sock::sk_skb(off, size, write),
        ProgType::SkMsg => sock::sk_msg(off, size, write),
        ProgType::SockOps => sock::sock_ops(off, size, write),
        ProgType::Kprobe => raw(PT_REGS_SIZE, false),
        ProgType::Tracepoint => (off >= 8)
            .then(|| raw(PERF_MAX_TRACE_SIZE, false))
            .flatten(),
        ProgType::RawTracepoint | ProgType::RawTracepointWritable => raw(RAW_TP_SIZE, false),
        ProgType::PerfEvent => perf_event(off, size, write),
        ProgType::Syscall => raw(u16::MAX as u32, true),
        _ => None,
    }
}

fn xdp(off: u32, size: u32, write: bool, attach: Option<uapi::AttachType>) -> Option<CtxAccess> {
    if write || size != 4 || off + size > xdp_md::SIZE {
        return None;
    }
    if off == xdp_md::EGRESS_IFINDEX && attach != Some(uapi::AttachType::XdpDevmap) {
        return None;
    }
    let ptr = match off {
        xdp_md::DATA => Some(PtrKind::Packet { range: 0 }),
        xdp_md::DATA_META => Some(PtrKind::PacketMeta { range: 0 }),
        xdp_md::DATA_END => Some(PtrKind::PacketEnd),
        _ => None,
    };
    let koff = kern::xdp_field(off)?;
    let ksize = if ptr.is_some() { 8 } else { 4 };
    Some(CtxAccess {
        ptr,
        rewrite: Some(CtxRewrite {
            off: koff,
            size: ksize,
        }),
    })
}

/// `__sk_buff` for socket filters (`tc = false`) and tc programs.
fn skb_access(off: u32, size: u32, write: bool, tc: bool) -> Option<CtxAccess> {
    if off + size > skb::SIZE {
        return None;
    }
    let in_range = |start: u32, len: u32| (start..start + len).contains(&off);
    // tc reads the time stamp type as one byte (`tc_cls_act_is_valid_access`).
    if tc && !write && off == skb::TSTAMP_TYPE && size == 1 {
        return Some(CtxAccess {
            ptr: None,
            rewrite: Some(CtxRewrite {
                off: kern::skb::TSTAMP_TYPE,
                size: 1,
            }),
        });
    }
    // Fields neither type may touch.
    if in_range(skb::FAMILY, skb::LOCAL_PORT + 4 - skb::FAMILY)
        || in_range(skb::FLOW_KEYS, 8)
        || in_range(skb::SK, 8)
        || in_range(skb::TSTAMP_TYPE, skb::HWTSTAMP - skb::TSTAMP_TYPE)
    {
        return None;
    }
    if !tc
        && (in_range(skb::TC_CLASSID, 4)
            || in_range(skb::DATA, 8)
            || in_range(skb::DATA_META, 4)
            || in_range(skb::TSTAMP, 8)
            || in_range(skb::WIRE_LEN, 4)
            || in_range(skb::HWTSTAMP, 8))
    {
        return None;
    }
    if write {
        let cb = in_range(skb::CB, 20);
        let tc_w = [
            skb::MARK,
            skb::TC_INDEX,
            skb::PRIORITY,
            skb::TC_CLASSID,
            skb::QUEUE_MAPPING,
        ]
        .iter()
        .any(|&f| in_range(f, 4))
            || in_range(skb::TSTAMP, 8);
        if !(cb || (tc && tc_w)) {
            return None;
        }
    }
    let ptr = match off {
        skb::DATA => Some(PtrKind::Packet { range: 0 }),
        skb::DATA_META => Some(PtrKind::PacketMeta { range: 0 }),
        skb::DATA_END => Some(PtrKind::PacketEnd),
        _ => None,
    };
    let wide = [skb::TSTAMP, skb::HWTSTAMP];
    if ptr.is_some() {
        if size != 4 {
            return None;
        }
    } else if wide.contains(&off) {
        if size != 8 {
            return None;
        }
    } else if in_range(skb::CB, 20) {
        if off + size > skb::CB + 20 {
            return None;
        }
    } else {
        let field_start = off & !3;
        if write && size != 4 {
            return None;
        }
        if !narrow_ok(off - field_start, size, 4) {
            return None;
        }
    }
    // Fields the vm provides are rewritten to its layout; the byte offset
    // within a 32-bit field carries over (little-endian narrow loads).
    let field_start = if in_range(skb::CB, 20) || wide.contains(&off) {
        off
    } else {
        off & !3
    };
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

/// `__sk_buff` for cgroup skb programs: the socket fields are readable,
/// `mark`, `priority`, `cb` and `tstamp` writable; no `data_meta`.
fn cgroup_skb(off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    let in_range = |start: u32, len: u32| (start..start + len).contains(&off);
    if in_range(skb::TC_CLASSID, 4) || in_range(skb::DATA_META, 4) || in_range(skb::WIRE_LEN, 4) {
        return None;
    }
    if write {
        let ok = in_range(skb::MARK, 4)
            || in_range(skb::PRIORITY, 4)
            || in_range(skb::CB, 20)
            || in_range(skb::TSTAMP, 8);
        if !ok {
            return None;
        }
    }
    if in_range(skb::FAMILY, skb::LOCAL_PORT + 4 - skb::FAMILY) {
        // Socket fields: plain reads, rewritten like the others; the
        // addresses only as whole words (`bpf_skb_is_valid_access`).
        let field_start = off & !3;
        let address = in_range(skb::REMOTE_IP4, skb::REMOTE_PORT - skb::REMOTE_IP4);
        if write || !narrow_ok(off - field_start, size, 4) || (address && size != 4) {
            return None;
        }
        let koff = kern::skb_field(field_start)? + (off - field_start);
        return Some(CtxAccess {
            ptr: None,
            rewrite: Some(CtxRewrite { off: koff, size }),
        });
    }
    // The rest as tc sees it (data and data_end included).
    skb_access(
        off,
        size,
        write && !in_range(skb::MARK, 4) && !in_range(skb::PRIORITY, 4),
        true,
    )
    .or_else(|| {
        // mark and priority writes.
        let koff = kern::skb_field(off)?;
        (write && size == 4).then_some(CtxAccess {
            ptr: None,
            rewrite: Some(CtxRewrite { off: koff, size }),
        })
    })
}

/// `struct bpf_sock_addr` (72 bytes): addresses and port readable with
/// narrow loads and writable as whole words; family, type and protocol
/// read-only; the `sk` pointer is not modelled yet. The context is raw
/// memory in the uapi layout (no rewrite).
fn sock_addr(off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    const USER_IP4: u32 = 4;
    const USER_IP6: u32 = 8;
    const USER_PORT: u32 = 24;
    const FAMILY_TYPE_PROTO: u32 = 28;
    const MSG_SRC_IP4: u32 = 40;
    const MSG_SRC_IP6: u32 = 44;
    const SK: u32 = 64;
    if off + size > SK {
        return None;
    }
    let field = off & !3;
    let addr = field == USER_IP4
        || (USER_IP6..USER_PORT).contains(&field)
        || field == USER_PORT
        || field == MSG_SRC_IP4
        || (MSG_SRC_IP6..SK).contains(&field);
    let ok = if write {
        addr && (size == 4
            || (size == 8
                && (field == USER_IP6
                    || field == MSG_SRC_IP6 + 8
                    || field == USER_IP6 + 8
                    || field == MSG_SRC_IP6)))
    } else if addr {
        narrow_ok(off - field, size, 4)
    } else {
        // user_family, family, type, protocol: whole words only.
        size == 4 && (field == 0 || (FAMILY_TYPE_PROTO..MSG_SRC_IP4).contains(&field))
    };
    ok.then_some(CtxAccess {
        ptr: None,
        rewrite: None,
    })
}

fn perf_event(off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    if write || off + size > PERF_EVENT_DATA_SIZE {
        return None;
    }
    let ok = if off >= PT_REGS_SIZE {
        narrow_ok(off % 8, size, 8)
    } else {
        size == 8
    };
    ok.then_some(CtxAccess {
        ptr: None,
        rewrite: None,
    })
}

/// The uapi size of the context, for `invalid access to context` messages
/// and helper checks.
pub fn ctx_size(t: ProgType) -> u32 {
    match t {
        ProgType::Xdp => xdp_md::SIZE,
        ProgType::SocketFilter | ProgType::SchedCls | ProgType::SchedAct => skb::SIZE,
        ProgType::Kprobe => PT_REGS_SIZE,
        ProgType::Tracepoint => PERF_MAX_TRACE_SIZE,
        ProgType::RawTracepoint | ProgType::RawTracepointWritable => RAW_TP_SIZE,
        ProgType::PerfEvent => PERF_EVENT_DATA_SIZE,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdp_rules() {
        let a = access(ProgType::Xdp, None, 0, 4, false).unwrap();
        assert_eq!(a.ptr, Some(PtrKind::Packet { range: 0 }));
        assert_eq!(a.rewrite, Some(CtxRewrite { off: 0, size: 8 }));
        assert!(access(ProgType::Xdp, None, 0, 8, false).is_none());
        assert!(access(ProgType::Xdp, None, 0, 4, true).is_none());
        assert!(access(ProgType::Xdp, None, 20, 4, false).is_none());
        assert!(access(ProgType::Xdp, None, 24, 4, false).is_none());
    }

    #[test]
    fn skb_rules() {
        // Narrow load of len's second byte.
        let a = access(ProgType::SchedCls, None, 1, 1, false).unwrap();
        assert_eq!(
            a.rewrite,
            Some(CtxRewrite {
                off: kern::skb::LEN + 1,
                size: 1
            })
        );
        assert!(access(ProgType::SchedCls, None, skb::MARK as i64, 4, true).is_some());
        assert!(access(ProgType::SocketFilter, None, skb::MARK as i64, 4, true).is_none());
        assert!(access(ProgType::SocketFilter, None, skb::DATA as i64, 4, false).is_none());
        assert!(access(ProgType::SocketFilter, None, skb::CB as i64 + 4, 8, false).is_none());
        assert!(access(ProgType::SocketFilter, None, skb::CB as i64 + 8, 8, true).is_some());
        assert!(access(ProgType::Kprobe, None, 160, 8, false).is_some());
        assert!(access(ProgType::Kprobe, None, 164, 8, false).is_none());
        assert!(access(ProgType::Tracepoint, None, 0, 8, false).is_none());
    }
}

//! Context access rules per program type, and the rewrite of every allowed
//! access to oxbpf's runtime layout ([`uapi::ctx::kern`]).
//!
//! The rules are the kernel's `is_valid_access` callbacks: which offsets and
//! sizes may be read or written, which loads yield packet pointers. Program
//! types whose context is plain memory (kprobe `pt_regs`, tracepoint
//! records, raw tracepoint arguments, perf events, syscall arguments) keep
//! their accesses as they are.

use crate::state::PtrKind;
use uapi::ctx::{kern, sk_buff, xdp_md};
use uapi::ProgType;

pub mod btf;
mod skb;
mod sock;

use skb::Skb;

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
        ProgType::SocketFilter => skb::access(Skb::Filter, off, size, write),
        ProgType::SchedCls | ProgType::SchedAct => skb::access(Skb::Tc, off, size, write),
        ProgType::CgroupSkb => skb::access(Skb::Cgroup, off, size, write),
        ProgType::LwtIn | ProgType::LwtOut | ProgType::LwtXmit | ProgType::LwtSeg6local => {
            skb::access(Skb::Lwt, off, size, write)
        }
        ProgType::CgroupSockAddr => sock_addr(off, size, write, attach),
        ProgType::SkSkb => skb::access(Skb::Stream, off, size, write),
        ProgType::SkMsg => sock::sk_msg(off, size, write),
        ProgType::SockOps => sock::sock_ops(off, size, write),
        ProgType::CgroupSock => sock::sock(off, size, write, attach),
        // `struct bpf_cgroup_dev_ctx` (`cgroup_dev_is_valid_access`):
        // read-only words, `access_type` also narrow; raw uapi layout.
        ProgType::CgroupDevice => {
            let ok = !write
                && off + size <= 12
                && if off < 4 {
                    narrow_ok(0, size, 4)
                } else {
                    size == 4
                };
            ok.then_some(CtxAccess {
                ptr: None,
                rewrite: None,
            })
        }
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

/// `struct bpf_sock_addr` (72 bytes), as `sock_addr_is_valid_access`:
/// each address field only for the attach types of its family (and the
/// message source addresses only for `sendmsg`); addresses and port read
/// with narrow loads and written as words, the IPv6 addresses also as
/// aligned 64-bit halves; family, type and protocol read-only words; the
/// `sk` pointer is not modelled. The context is raw memory in the uapi
/// layout (no rewrite).
fn sock_addr(
    off: u32,
    size: u32,
    write: bool,
    attach: Option<uapi::AttachType>,
) -> Option<CtxAccess> {
    use uapi::AttachType as A;
    const USER_IP4: u32 = 4;
    const USER_IP6: u32 = 8;
    const USER_PORT: u32 = 24;
    const FAMILY: u32 = 28;
    const MSG_SRC_IP4: u32 = 40;
    const MSG_SRC_IP6: u32 = 44;
    const SK: u32 = 64;
    if off >= SK + 8 || !off.is_multiple_of(size) {
        return None;
    }
    let r = |start: u32, len: u32| (start..start + len).contains(&off);
    let family_ok = if r(USER_IP4, 4) {
        matches!(
            attach,
            Some(
                A::CgroupInet4Bind
                    | A::CgroupInet4Connect
                    | A::CgroupInet4Getpeername
                    | A::CgroupInet4Getsockname
                    | A::CgroupUdp4Sendmsg
                    | A::CgroupUdp4Recvmsg
            )
        )
    } else if r(USER_IP6, 16) {
        matches!(
            attach,
            Some(
                A::CgroupInet6Bind
                    | A::CgroupInet6Connect
                    | A::CgroupInet6Getpeername
                    | A::CgroupInet6Getsockname
                    | A::CgroupUdp6Sendmsg
                    | A::CgroupUdp6Recvmsg
            )
        )
    } else if r(MSG_SRC_IP4, 4) {
        attach == Some(A::CgroupUdp4Sendmsg)
    } else if r(MSG_SRC_IP6, 16) {
        attach == Some(A::CgroupUdp6Sendmsg)
    } else {
        true
    };
    if !family_ok {
        return None;
    }
    // `bpf_ctx_wide_access_ok`: an aligned 64-bit access inside an IPv6
    // address.
    let wide =
        |start: u32| size == 8 && off >= start && off + 8 <= start + 16 && off.is_multiple_of(8);
    let ok = if r(USER_IP4, 4)
        || r(USER_IP6, 16)
        || r(MSG_SRC_IP4, 4)
        || r(MSG_SRC_IP6, 16)
        || r(USER_PORT, 4)
    {
        if wide(USER_IP6) || wide(MSG_SRC_IP6) {
            true
        } else if write {
            size == 4
        } else {
            narrow_ok(off % 4, size, 4)
        }
    } else if r(SK, 8) {
        // A socket pointer (`PTR_TO_SOCKET`): not modelled.
        false
    } else if r(0, 4) || r(FAMILY, 12) {
        // user_family, family, type, protocol.
        !write && size == 4
    } else {
        false
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
        ProgType::SocketFilter | ProgType::SchedCls | ProgType::SchedAct => sk_buff::SIZE,
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
        assert!(access(ProgType::SchedCls, None, sk_buff::MARK as i64, 4, true).is_some());
        assert!(access(ProgType::SocketFilter, None, sk_buff::MARK as i64, 4, true).is_none());
        assert!(access(ProgType::SocketFilter, None, sk_buff::DATA as i64, 4, false).is_none());
        assert!(access(
            ProgType::SocketFilter,
            None,
            sk_buff::CB as i64 + 4,
            8,
            false
        )
        .is_none());
        assert!(access(
            ProgType::SocketFilter,
            None,
            sk_buff::CB as i64 + 8,
            8,
            true
        )
        .is_some());
        assert!(access(ProgType::Kprobe, None, 160, 8, false).is_some());
        assert!(access(ProgType::Kprobe, None, 164, 8, false).is_none());
        assert!(access(ProgType::Tracepoint, None, 0, 8, false).is_none());
    }
}

//! Helper prototypes as data (the kernel's `struct bpf_func_proto`): what
//! each argument must be, what the helper returns, and which program types
//! may call it.
//!
//! The verifier checks every call against this table; the vm implements the
//! helpers with these signatures. Argument kinds are the kernel's
//! `ARG_*` types with their flags folded in.

use crate::helpers::id;
use crate::ProgType;

/// What an argument register must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArgType {
    /// No argument.
    #[doc(alias = "ARG_DONTCARE")]
    None,
    /// Any initialised value, scalar or pointer.
    #[doc(alias = "ARG_ANYTHING")]
    Anything,
    /// A map pointer (`lddw` of a map).
    #[doc(alias = "ARG_CONST_MAP_PTR")]
    ConstMapPtr,
    /// Memory holding a key of the map in the previous argument.
    #[doc(alias = "ARG_PTR_TO_MAP_KEY")]
    MapKey,
    /// Memory holding a value of the map (readable, `value_size` bytes).
    #[doc(alias = "ARG_PTR_TO_MAP_VALUE")]
    MapValue,
    /// Memory the helper fills with a value of the map.
    #[doc(alias = "ARG_PTR_TO_UNINIT_MAP_VALUE")]
    UninitMapValue,
    /// Memory of the size in the next argument. `rdonly`: the helper only
    /// reads it (it must be initialised); `uninit`: the helper writes it
    /// (it may be uninitialised, it becomes initialised); `null`: may be 0
    /// (then the size must be 0).
    #[doc(alias = "ARG_PTR_TO_MEM")]
    Mem {
        rdonly: bool,
        uninit: bool,
        null: bool,
    },
    /// The size of the memory in the previous argument, a bounded
    /// non-negative scalar (`zero_ok`: may be 0).
    #[doc(alias = "ARG_CONST_SIZE")]
    #[doc(alias = "ARG_CONST_SIZE_OR_ZERO")]
    ConstSize { zero_ok: bool },
    /// A constant allocation size; the returned memory has this size.
    #[doc(alias = "ARG_CONST_ALLOC_SIZE_OR_ZERO")]
    ConstAllocSize,
    /// The program's context.
    #[doc(alias = "ARG_PTR_TO_CTX")]
    Ctx,
    /// A stack pointer or null (a callback context).
    #[doc(alias = "ARG_PTR_TO_STACK_OR_NULL")]
    StackOrNull,
    /// A ring buffer reservation, which the call releases.
    #[doc(alias = "ARG_PTR_TO_RINGBUF_MEM")]
    RingbufMem,
    /// A subprogram address, called back by the helper.
    #[doc(alias = "ARG_PTR_TO_FUNC")]
    Func,
    /// A `struct bpf_spin_lock` inside a map value.
    #[doc(alias = "ARG_PTR_TO_SPIN_LOCK")]
    SpinLock,
    /// A NUL-terminated string in a read-only map value.
    #[doc(alias = "ARG_PTR_TO_CONST_STR")]
    ConstStr,
    /// A pointer to the kernel struct `name` (a BTF pointer, neither
    /// untrusted nor maybe-null, to that struct or one that starts with it).
    #[doc(alias = "ARG_PTR_TO_BTF_ID")]
    BtfId { name: &'static str },
    /// A `struct bpf_timer` inside a map value (its map is the one the
    /// timer helpers work with).
    #[doc(alias = "ARG_PTR_TO_TIMER")]
    Timer,
}

/// What `r0` holds after the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetType {
    /// An unknown scalar.
    #[doc(alias = "RET_INTEGER")]
    Integer,
    /// Nothing: `r0` is unreadable afterwards.
    #[doc(alias = "RET_VOID")]
    Void,
    /// A value of the map argument, or null.
    #[doc(alias = "RET_PTR_TO_MAP_VALUE_OR_NULL")]
    MapValueOrNull,
    /// A ring buffer reservation of the size argument, or null; an acquired
    /// reference.
    #[doc(alias = "RET_PTR_TO_RINGBUF_MEM_OR_NULL")]
    RingbufMemOrNull,
    /// A trusted pointer to the kernel struct `name`, never null.
    #[doc(alias = "RET_PTR_TO_BTF_ID_TRUSTED")]
    BtfId { name: &'static str },
}

/// One helper's prototype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HelperProto {
    pub id: u32,
    pub ret: RetType,
    pub args: [ArgType; 5],
    /// Only GPL-compatible programs may call it.
    pub gpl_only: bool,
    /// It may move packet data, invalidating packet pointers.
    pub changes_pkt_data: bool,
}

use ArgType as A;

impl HelperProto {
    /// A prototype: helper `id` returns `ret` and takes `args` (at most
    /// five); not GPL-only, does not move packet data.
    pub const fn new(id: u32, ret: RetType, args: &[ArgType]) -> HelperProto {
        p(id, ret, args)
    }
}

const fn p(id: u32, ret: RetType, a: &[ArgType]) -> HelperProto {
    let mut args = [A::None; 5];
    let mut i = 0;
    while i < a.len() {
        args[i] = a[i];
        i += 1;
    }
    HelperProto {
        id,
        ret,
        args,
        gpl_only: false,
        changes_pkt_data: false,
    }
}

const fn gpl(mut h: HelperProto) -> HelperProto {
    h.gpl_only = true;
    h
}

const fn pkt(mut h: HelperProto) -> HelperProto {
    h.changes_pkt_data = true;
    h
}

const MEM_RO: ArgType = A::Mem {
    rdonly: true,
    uninit: false,
    null: false,
};
const MEM_RO_NULL: ArgType = A::Mem {
    rdonly: true,
    uninit: false,
    null: true,
};
const MEM_UNINIT: ArgType = A::Mem {
    rdonly: false,
    uninit: true,
    null: false,
};
const MEM_NULL: ArgType = A::Mem {
    rdonly: false,
    uninit: true,
    null: true,
};
const SEQ_FILE: ArgType = A::BtfId { name: "seq_file" };
const SIZE: ArgType = A::ConstSize { zero_ok: false };
const SIZE0: ArgType = A::ConstSize { zero_ok: true };

use RetType::*;

/// Every helper oxbpf knows the prototype of.
pub static PROTOS: &[HelperProto] = &[
    p(
        id::MAP_LOOKUP_ELEM,
        MapValueOrNull,
        &[A::ConstMapPtr, A::MapKey],
    ),
    p(
        id::MAP_UPDATE_ELEM,
        Integer,
        &[A::ConstMapPtr, A::MapKey, A::MapValue, A::Anything],
    ),
    p(id::MAP_DELETE_ELEM, Integer, &[A::ConstMapPtr, A::MapKey]),
    p(
        id::MAP_PUSH_ELEM,
        Integer,
        &[A::ConstMapPtr, A::MapValue, A::Anything],
    ),
    p(
        id::MAP_POP_ELEM,
        Integer,
        &[A::ConstMapPtr, A::UninitMapValue],
    ),
    p(
        id::MAP_PEEK_ELEM,
        Integer,
        &[A::ConstMapPtr, A::UninitMapValue],
    ),
    gpl(p(
        id::PROBE_READ,
        Integer,
        &[MEM_UNINIT, SIZE0, A::Anything],
    )),
    gpl(p(
        id::PROBE_READ_STR,
        Integer,
        &[MEM_UNINIT, SIZE0, A::Anything],
    )),
    gpl(p(
        id::PROBE_READ_USER,
        Integer,
        &[MEM_UNINIT, SIZE0, A::Anything],
    )),
    gpl(p(
        id::PROBE_READ_KERNEL,
        Integer,
        &[MEM_UNINIT, SIZE0, A::Anything],
    )),
    gpl(p(
        id::PROBE_READ_USER_STR,
        Integer,
        &[MEM_UNINIT, SIZE0, A::Anything],
    )),
    gpl(p(
        id::PROBE_READ_KERNEL_STR,
        Integer,
        &[MEM_UNINIT, SIZE0, A::Anything],
    )),
    p(id::KTIME_GET_NS, Integer, &[]),
    p(id::KTIME_GET_BOOT_NS, Integer, &[]),
    p(id::KTIME_GET_COARSE_NS, Integer, &[]),
    p(id::JIFFIES64, Integer, &[]),
    gpl(p(
        id::TRACE_PRINTK,
        Integer,
        // The three format arguments are not checked (the kernel's
        // prototype declares only the format and its size).
        &[MEM_RO, SIZE],
    )),
    p(id::GET_PRANDOM_U32, Integer, &[]),
    p(id::GET_SMP_PROCESSOR_ID, Integer, &[]),
    p(id::GET_NUMA_NODE_ID, Integer, &[]),
    p(id::TAIL_CALL, Void, &[A::Ctx, A::ConstMapPtr, A::Anything]),
    p(
        id::SKB_LOAD_BYTES,
        Integer,
        &[A::Ctx, A::Anything, MEM_UNINIT, SIZE],
    ),
    pkt(p(
        id::SKB_STORE_BYTES,
        Integer,
        &[A::Ctx, A::Anything, MEM_RO, SIZE, A::Anything],
    )),
    pkt(p(
        id::L3_CSUM_REPLACE,
        Integer,
        &[A::Ctx, A::Anything, A::Anything, A::Anything, A::Anything],
    )),
    pkt(p(
        id::L4_CSUM_REPLACE,
        Integer,
        &[A::Ctx, A::Anything, A::Anything, A::Anything, A::Anything],
    )),
    p(
        id::CSUM_DIFF,
        Integer,
        &[MEM_RO_NULL, SIZE0, MEM_RO_NULL, SIZE0, A::Anything],
    ),
    pkt(p(
        id::SKB_CHANGE_PROTO,
        Integer,
        &[A::Ctx, A::Anything, A::Anything],
    )),
    pkt(p(
        id::SKB_ADJUST_ROOM,
        Integer,
        &[A::Ctx, A::Anything, A::Anything, A::Anything],
    )),
    pkt(p(
        id::SKB_VLAN_PUSH,
        Integer,
        &[A::Ctx, A::Anything, A::Anything],
    )),
    pkt(p(id::SKB_VLAN_POP, Integer, &[A::Ctx])),
    p(id::REDIRECT, Integer, &[A::Anything, A::Anything]),
    p(
        id::REDIRECT_MAP,
        Integer,
        &[A::ConstMapPtr, A::Anything, A::Anything],
    ),
    pkt(p(id::XDP_ADJUST_HEAD, Integer, &[A::Ctx, A::Anything])),
    pkt(p(id::XDP_ADJUST_TAIL, Integer, &[A::Ctx, A::Anything])),
    pkt(p(id::XDP_ADJUST_META, Integer, &[A::Ctx, A::Anything])),
    gpl(p(
        id::PERF_EVENT_OUTPUT,
        Integer,
        &[A::Ctx, A::ConstMapPtr, A::Anything, MEM_RO, SIZE0],
    )),
    p(id::GET_CURRENT_PID_TGID, Integer, &[]),
    p(id::GET_CURRENT_UID_GID, Integer, &[]),
    p(id::GET_CURRENT_COMM, Integer, &[MEM_UNINIT, SIZE]),
    p(id::GET_CURRENT_TASK, Integer, &[]),
    p(id::GET_CURRENT_CGROUP_ID, Integer, &[]),
    p(
        id::RINGBUF_OUTPUT,
        Integer,
        &[A::ConstMapPtr, MEM_RO, SIZE0, A::Anything],
    ),
    p(
        id::RINGBUF_RESERVE,
        RingbufMemOrNull,
        &[A::ConstMapPtr, A::ConstAllocSize, A::Anything],
    ),
    p(id::RINGBUF_SUBMIT, Void, &[A::RingbufMem, A::Anything]),
    p(id::RINGBUF_DISCARD, Void, &[A::RingbufMem, A::Anything]),
    p(id::RINGBUF_QUERY, Integer, &[A::ConstMapPtr, A::Anything]),
    p(id::SPIN_LOCK, Void, &[A::SpinLock]),
    p(id::SPIN_UNLOCK, Void, &[A::SpinLock]),
    p(
        id::LOOP,
        Integer,
        &[A::Anything, A::Func, A::StackOrNull, A::Anything],
    ),
    p(
        id::SNPRINTF,
        Integer,
        &[MEM_NULL, SIZE0, A::ConstStr, MEM_RO_NULL, SIZE0],
    ),
    p(id::STRNCMP, Integer, &[MEM_RO, SIZE, A::ConstStr]),
    gpl(p(id::GET_FUNC_IP, Integer, &[A::Ctx])),
    p(
        id::GET_STACKID,
        Integer,
        &[A::Ctx, A::ConstMapPtr, A::Anything],
    ),
    p(
        id::GET_STACK,
        Integer,
        &[A::Ctx, MEM_UNINIT, SIZE0, A::Anything],
    ),
    p(id::SKB_CGROUP_ID, Integer, &[A::Ctx]),
    p(id::GET_SOCKET_COOKIE, Integer, &[A::Ctx]),
    gpl(p(
        id::TRACE_VPRINTK,
        Integer,
        &[MEM_RO, SIZE, MEM_RO_NULL, SIZE0],
    )),
    p(id::XDP_GET_BUFF_LEN, Integer, &[A::Ctx]),
    pkt(p(
        id::SKB_CHANGE_TAIL,
        Integer,
        &[A::Ctx, A::Anything, A::Anything],
    )),
    pkt(p(
        id::SKB_CHANGE_HEAD,
        Integer,
        &[A::Ctx, A::Anything, A::Anything],
    )),
    pkt(p(id::SKB_PULL_DATA, Integer, &[A::Ctx, A::Anything])),
    p(id::CSUM_UPDATE, Integer, &[A::Ctx, A::Anything]),
    p(id::CSUM_LEVEL, Integer, &[A::Ctx, A::Anything]),
    p(id::SET_HASH, Integer, &[A::Ctx, A::Anything]),
    p(id::SET_HASH_INVALID, Void, &[A::Ctx]),
    p(id::GET_HASH_RECALC, Integer, &[A::Ctx]),
    p(
        id::SKB_LOAD_BYTES_RELATIVE,
        Integer,
        &[A::Ctx, A::Anything, MEM_UNINIT, SIZE, A::Anything],
    ),
    pkt(p(
        id::CLONE_REDIRECT,
        Integer,
        &[A::Ctx, A::Anything, A::Anything],
    )),
    p(
        id::COPY_FROM_USER,
        Integer,
        &[MEM_UNINIT, SIZE0, A::Anything],
    ),
    p(
        id::XDP_LOAD_BYTES,
        Integer,
        &[A::Ctx, A::Anything, MEM_UNINIT, SIZE],
    ),
    p(
        id::XDP_STORE_BYTES,
        Integer,
        &[A::Ctx, A::Anything, MEM_RO, SIZE],
    ),
    p(
        id::FIB_LOOKUP,
        Integer,
        &[
            A::Ctx,
            A::Mem {
                rdonly: false,
                uninit: false,
                null: false,
            },
            SIZE,
            A::Anything,
        ],
    ),
    p(
        id::FOR_EACH_MAP_ELEM,
        Integer,
        &[A::ConstMapPtr, A::Func, A::StackOrNull, A::Anything],
    ),
    // Timers in map values; the callback runs later, on its own.
    gpl(p(
        id::TIMER_INIT,
        Integer,
        &[A::Timer, A::ConstMapPtr, A::Anything],
    )),
    gpl(p(id::TIMER_SET_CALLBACK, Integer, &[A::Timer, A::Func])),
    gpl(p(
        id::TIMER_START,
        Integer,
        &[A::Timer, A::Anything, A::Anything],
    )),
    gpl(p(id::TIMER_CANCEL, Integer, &[A::Timer])),
    // The current task as a typed kernel pointer.
    gpl(p(
        id::GET_CURRENT_TASK_BTF,
        BtfId {
            name: "task_struct",
        },
        &[],
    )),
    // Identity, cgroup and signal helpers real programs use; the vm may not
    // implement all of them (loading then fails on the helper, not here).
    p(id::GET_SOCKET_UID, Integer, &[A::Ctx]),
    p(id::GET_CGROUP_CLASSID, Integer, &[A::Ctx]),
    p(id::GET_ROUTE_REALM, Integer, &[A::Ctx]),
    p(id::SKB_ANCESTOR_CGROUP_ID, Integer, &[A::Ctx, A::Anything]),
    p(id::SKB_ECN_SET_CE, Integer, &[A::Ctx]),
    p(id::GET_CURRENT_ANCESTOR_CGROUP_ID, Integer, &[A::Anything]),
    p(id::KTIME_GET_TAI_NS, Integer, &[]),
    gpl(p(id::SEND_SIGNAL, Integer, &[A::Anything])),
    gpl(p(id::SEND_SIGNAL_THREAD, Integer, &[A::Anything])),
    p(
        id::GET_NS_CURRENT_PID_TGID,
        Integer,
        &[A::Anything, A::Anything, MEM_UNINIT, SIZE],
    ),
    p(id::GET_ATTACH_COOKIE, Integer, &[A::Ctx]),
    gpl(p(
        id::PERF_EVENT_READ,
        Integer,
        &[A::ConstMapPtr, A::Anything],
    )),
    // Syscall programs issue bpf(2) commands themselves.
    p(id::SYS_BPF, Integer, &[A::Anything, MEM_RO, SIZE]),
    // Iterators print into the seq_file of their meta argument.
    gpl(p(
        id::SEQ_PRINTF,
        Integer,
        &[SEQ_FILE, MEM_RO, SIZE, MEM_RO_NULL, SIZE0],
    )),
    gpl(p(id::SEQ_WRITE, Integer, &[SEQ_FILE, MEM_RO, SIZE0])),
    // Socket maps: redirects from sk_skb and sk_msg programs, inserts
    // from sock_ops programs.
    p(
        id::SK_REDIRECT_MAP,
        Integer,
        &[A::Ctx, A::ConstMapPtr, A::Anything, A::Anything],
    ),
    p(
        id::SK_REDIRECT_HASH,
        Integer,
        &[A::Ctx, A::ConstMapPtr, A::MapKey, A::Anything],
    ),
    p(
        id::MSG_REDIRECT_MAP,
        Integer,
        &[A::Ctx, A::ConstMapPtr, A::Anything, A::Anything],
    ),
    p(
        id::MSG_REDIRECT_HASH,
        Integer,
        &[A::Ctx, A::ConstMapPtr, A::MapKey, A::Anything],
    ),
    p(
        id::SOCK_MAP_UPDATE,
        Integer,
        &[A::Ctx, A::ConstMapPtr, A::MapKey, A::Anything],
    ),
    p(
        id::SOCK_HASH_UPDATE,
        Integer,
        &[A::Ctx, A::ConstMapPtr, A::MapKey, A::Anything],
    ),
    p(id::MSG_APPLY_BYTES, Integer, &[A::Ctx, A::Anything]),
    p(id::MSG_CORK_BYTES, Integer, &[A::Ctx, A::Anything]),
    pkt(p(
        id::MSG_PULL_DATA,
        Integer,
        &[A::Ctx, A::Anything, A::Anything, A::Anything],
    )),
];

/// The prototype of helper `id`, if oxbpf knows it.
pub fn proto(helper: u32) -> Option<&'static HelperProto> {
    PROTOS.iter().find(|p| p.id == helper)
}

/// Program types whose context is a socket buffer.
fn is_skb_type(t: ProgType) -> bool {
    matches!(
        t,
        ProgType::SocketFilter | ProgType::SchedCls | ProgType::SchedAct | ProgType::CgroupSkb
    )
}

/// Program types that trace the kernel.
fn is_tracing_type(t: ProgType) -> bool {
    matches!(
        t,
        ProgType::Kprobe
            | ProgType::Tracepoint
            | ProgType::PerfEvent
            | ProgType::RawTracepoint
            | ProgType::RawTracepointWritable
            | ProgType::Tracing
    )
}

/// Whether a program of type `t` may call `helper` (the kernel's
/// `get_func_proto` per program type). Helpers outside [`PROTOS`] are
/// never allowed.
pub fn allowed(t: ProgType, helper: u32) -> bool {
    if proto(helper).is_none() {
        return false;
    }
    // Lightweight tunnels (`lwt_out_func_proto` and the `xmit` additions).
    if matches!(
        t,
        ProgType::LwtIn | ProgType::LwtOut | ProgType::LwtXmit | ProgType::LwtSeg6local
    ) {
        let out = matches!(
            helper,
            id::SKB_LOAD_BYTES
                | id::SKB_PULL_DATA
                | id::CSUM_DIFF
                | id::GET_HASH_RECALC
                | id::GET_ROUTE_REALM
        );
        let xmit = matches!(
            helper,
            id::SKB_STORE_BYTES
                | id::L3_CSUM_REPLACE
                | id::L4_CSUM_REPLACE
                | id::REDIRECT
                | id::CLONE_REDIRECT
                | id::SKB_CHANGE_TAIL
                | id::SKB_CHANGE_HEAD
                | id::CSUM_UPDATE
                | id::CSUM_LEVEL
                | id::SET_HASH_INVALID
        );
        if out || (xmit && t == ProgType::LwtXmit) {
            return true;
        }
    }
    match helper {
        id::SKB_LOAD_BYTES => is_skb_type(t) || t == ProgType::SkSkb,
        id::SKB_STORE_BYTES => {
            matches!(t, ProgType::SchedCls | ProgType::SchedAct | ProgType::SkSkb)
        }
        id::SKB_ADJUST_ROOM => {
            matches!(t, ProgType::SchedCls | ProgType::SchedAct | ProgType::SkSkb)
        }
        id::L3_CSUM_REPLACE
        | id::L4_CSUM_REPLACE
        | id::SKB_CHANGE_PROTO
        | id::SKB_VLAN_PUSH
        | id::SKB_VLAN_POP => matches!(t, ProgType::SchedCls | ProgType::SchedAct),
        id::CSUM_DIFF => matches!(t, ProgType::SchedCls | ProgType::SchedAct | ProgType::Xdp),
        id::REDIRECT => matches!(t, ProgType::SchedCls | ProgType::SchedAct | ProgType::Xdp),
        id::REDIRECT_MAP | id::XDP_ADJUST_HEAD | id::XDP_ADJUST_TAIL | id::XDP_ADJUST_META => {
            t == ProgType::Xdp
        }
        id::PROBE_READ | id::PROBE_READ_STR | id::GET_FUNC_IP | id::GET_STACKID | id::GET_STACK => {
            is_tracing_type(t)
        }
        // The coarse clock is a networking helper (`bpf_sk_base_func_proto`):
        // not for tracing, device or sysctl programs.
        id::KTIME_GET_COARSE_NS => {
            !is_tracing_type(t) && !matches!(t, ProgType::CgroupDevice | ProgType::CgroupSysctl)
        }
        id::SKB_CGROUP_ID => matches!(
            t,
            ProgType::SchedCls | ProgType::SchedAct | ProgType::CgroupSkb
        ),
        id::GET_SOCKET_COOKIE => matches!(
            t,
            ProgType::SocketFilter
                | ProgType::SchedCls
                | ProgType::SchedAct
                | ProgType::CgroupSkb
                | ProgType::CgroupSockAddr
                | ProgType::CgroupSock
                | ProgType::SockOps
                | ProgType::SkSkb
        ),
        id::XDP_GET_BUFF_LEN | id::XDP_LOAD_BYTES | id::XDP_STORE_BYTES => t == ProgType::Xdp,
        id::CLONE_REDIRECT => matches!(t, ProgType::SchedCls | ProgType::SchedAct),
        id::SKB_CHANGE_TAIL | id::SKB_CHANGE_HEAD | id::SKB_PULL_DATA => {
            matches!(t, ProgType::SchedCls | ProgType::SchedAct | ProgType::SkSkb)
        }
        id::CSUM_UPDATE | id::CSUM_LEVEL | id::SET_HASH | id::SET_HASH_INVALID => {
            matches!(t, ProgType::SchedCls | ProgType::SchedAct)
        }
        id::GET_HASH_RECALC => matches!(t, ProgType::SchedCls | ProgType::SchedAct),
        id::SKB_LOAD_BYTES_RELATIVE => matches!(
            t,
            ProgType::SocketFilter
                | ProgType::SchedCls
                | ProgType::SchedAct
                | ProgType::CgroupSkb
                | ProgType::SkReuseport
        ),
        id::FIB_LOOKUP => matches!(t, ProgType::SchedCls | ProgType::SchedAct | ProgType::Xdp),
        // Offered to every type, but it may sleep ([`might_sleep`]).
        id::COPY_FROM_USER => true,
        id::TAIL_CALL => t != ProgType::Syscall,
        id::SK_REDIRECT_MAP | id::SK_REDIRECT_HASH => t == ProgType::SkSkb,
        id::MSG_REDIRECT_MAP
        | id::MSG_REDIRECT_HASH
        | id::MSG_APPLY_BYTES
        | id::MSG_CORK_BYTES
        | id::MSG_PULL_DATA => t == ProgType::SkMsg,
        id::SOCK_MAP_UPDATE | id::SOCK_HASH_UPDATE => t == ProgType::SockOps,
        id::SEQ_PRINTF | id::SEQ_WRITE => t == ProgType::Tracing,
        id::SYS_BPF => t == ProgType::Syscall,
        id::GET_SOCKET_UID => matches!(
            t,
            ProgType::SocketFilter
                | ProgType::SchedCls
                | ProgType::SchedAct
                | ProgType::CgroupSkb
                | ProgType::SkSkb
        ),
        id::GET_ROUTE_REALM => matches!(
            t,
            ProgType::SchedCls
                | ProgType::SchedAct
                | ProgType::LwtIn
                | ProgType::LwtOut
                | ProgType::LwtXmit
        ),
        id::SKB_ANCESTOR_CGROUP_ID | id::SKB_ECN_SET_CE => matches!(
            t,
            ProgType::SchedCls | ProgType::SchedAct | ProgType::CgroupSkb
        ),
        id::GET_ATTACH_COOKIE => is_tracing_type(t),
        _ => true,
    }
}

/// Helpers only sleepable programs may call (`might_sleep`); oxbpf's only
/// sleepable programs are syscall programs.
pub fn might_sleep(helper: u32) -> bool {
    helper == id::COPY_FROM_USER
}

/// [`allowed`], with the helpers that also depend on the attach type
/// (`tracing_prog_func_proto`: the `seq_*` helpers are for iterators).
pub fn allowed_for(t: ProgType, attach: Option<crate::AttachType>, helper: u32) -> bool {
    allowed(t, helper)
        && match helper {
            id::SEQ_PRINTF | id::SEQ_WRITE => attach == Some(crate::AttachType::TraceIter),
            _ => true,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for (i, a) in PROTOS.iter().enumerate() {
            assert!(
                PROTOS[i + 1..].iter().all(|b| b.id != a.id),
                "duplicate {}",
                a.id
            );
            // A size argument follows a memory argument.
            for k in 0..5 {
                if let ArgType::ConstSize { .. } = a.args[k] {
                    assert!(
                        k > 0 && matches!(a.args[k - 1], ArgType::Mem { .. }),
                        "helper {}",
                        a.id
                    );
                }
            }
        }
        assert!(allowed(ProgType::Xdp, id::XDP_ADJUST_HEAD));
        assert!(!allowed(ProgType::SchedCls, id::XDP_ADJUST_HEAD));
        assert!(!allowed(ProgType::Xdp, id::SKB_STORE_BYTES));
        assert!(allowed(ProgType::SocketFilter, id::SKB_LOAD_BYTES));
    }
}

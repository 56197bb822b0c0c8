//! Context struct layouts that programs see in `r1`: byte offsets of the
//! uapi fields (`struct xdp_md`, `struct __sk_buff`). The verifier checks
//! accesses against these and rewrites them; the runtime fills them.

/// `struct xdp_md` (24 bytes).
pub mod xdp_md {
    pub const DATA: u32 = 0;
    pub const DATA_END: u32 = 4;
    pub const DATA_META: u32 = 8;
    pub const INGRESS_IFINDEX: u32 = 12;
    pub const RX_QUEUE_INDEX: u32 = 16;
    pub const EGRESS_IFINDEX: u32 = 20;
    pub const SIZE: u32 = 24;
    /// Headroom in front of the packet that `bpf_xdp_adjust_head` may claim
    /// (`XDP_PACKET_HEADROOM`).
    pub const XDP_PACKET_HEADROOM: u32 = 256;
}

/// `struct __sk_buff` (192 bytes).
pub mod sk_buff {
    pub const LEN: u32 = 0;
    pub const PKT_TYPE: u32 = 4;
    pub const MARK: u32 = 8;
    pub const QUEUE_MAPPING: u32 = 12;
    pub const PROTOCOL: u32 = 16;
    pub const VLAN_PRESENT: u32 = 20;
    pub const VLAN_TCI: u32 = 24;
    pub const VLAN_PROTO: u32 = 28;
    pub const PRIORITY: u32 = 32;
    pub const INGRESS_IFINDEX: u32 = 36;
    pub const IFINDEX: u32 = 40;
    pub const TC_INDEX: u32 = 44;
    /// `cb[5]`, 20 bytes of scratch space owned by the program.
    pub const CB: u32 = 48;
    pub const HASH: u32 = 68;
    pub const TC_CLASSID: u32 = 72;
    pub const DATA: u32 = 76;
    pub const DATA_END: u32 = 80;
    pub const NAPI_ID: u32 = 84;
    pub const FAMILY: u32 = 88;
    pub const REMOTE_IP4: u32 = 92;
    pub const LOCAL_IP4: u32 = 96;
    pub const REMOTE_IP6: u32 = 100;
    pub const LOCAL_IP6: u32 = 116;
    pub const REMOTE_PORT: u32 = 132;
    pub const LOCAL_PORT: u32 = 136;
    pub const DATA_META: u32 = 140;
    pub const FLOW_KEYS: u32 = 144;
    pub const TSTAMP: u32 = 152;
    pub const WIRE_LEN: u32 = 160;
    pub const GSO_SEGS: u32 = 164;
    pub const SK: u32 = 168;
    pub const GSO_SIZE: u32 = 176;
    pub const TSTAMP_TYPE: u32 = 180;
    pub const HWTSTAMP: u32 = 184;
    pub const SIZE: u32 = 192;
}

/// Link-layer constants the packet program types rely on.
pub const ETH_HLEN: u32 = 14;
pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_IPV6: u16 = 0x86dd;
pub const ETH_P_8021Q: u16 = 0x8100;
pub const ETH_P_8021AD: u16 = 0x88a8;
pub const ETH_P_ARP: u16 = 0x0806;

/// Classic-BPF ancillary load offsets (`SKF_AD_*`, added to `SKF_AD_OFF`).
pub mod skf {
    pub const SKF_AD_OFF: i32 = -0x1000;
    pub const SKF_AD_PROTOCOL: i32 = 0;
    pub const SKF_AD_PKTTYPE: i32 = 4;
    pub const SKF_AD_IFINDEX: i32 = 8;
    pub const SKF_AD_NLATTR: i32 = 12;
    pub const SKF_AD_NLATTR_NEST: i32 = 16;
    pub const SKF_AD_MARK: i32 = 20;
    pub const SKF_AD_QUEUE: i32 = 24;
    pub const SKF_AD_HATYPE: i32 = 28;
    pub const SKF_AD_RXHASH: i32 = 32;
    pub const SKF_AD_CPU: i32 = 36;
    pub const SKF_AD_ALU_XOR_X: i32 = 40;
    pub const SKF_AD_VLAN_TAG: i32 = 44;
    pub const SKF_AD_VLAN_TAG_PRESENT: i32 = 48;
    pub const SKF_AD_PAY_OFFSET: i32 = 52;
    pub const SKF_AD_RANDOM: i32 = 56;
    pub const SKF_AD_VLAN_TPID: i32 = 60;
    /// One past the last ancillary offset.
    pub const SKF_AD_MAX: i32 = 64;
    pub const SKF_NET_OFF: i32 = -0x100000;
    pub const SKF_LL_OFF: i32 = -0x200000;

    /// Helpers of oxbpf's own that classic-BPF translation calls for the
    /// ancillary loads `struct __sk_buff` cannot express (the kernel calls
    /// internal functions there, which have no helper number). Numbered
    /// far above the kernel's helpers so that they never collide; the
    /// runtime that runs translated socket filters registers them.
    pub mod helpers {
        /// `u32 (ctx)`: `dev->type` of the receiving device (`SKF_AD_HATYPE`).
        pub const SKB_GET_HATYPE: u32 = 1000;
        /// `u32 (ctx)`: offset of the transport payload (`SKF_AD_PAY_OFFSET`).
        pub const SKB_GET_PAY_OFFSET: u32 = 1001;
        /// `u32 (ctx, A, X)`: offset of netlink attribute X at A, or 0 (`SKF_AD_NLATTR`).
        pub const SKB_GET_NLATTR: u32 = 1002;
        /// `u32 (ctx, A, X)`: the same inside the nested attribute at A (`SKF_AD_NLATTR_NEST`).
        pub const SKB_GET_NLATTR_NEST: u32 = 1003;
    }
}

/// oxbpf's own runtime context layouts: the internal contract between the
/// verifier, which rewrites every context access of a verified program to
/// these offsets, and the vm, which builds contexts to match.
///
/// Programs see the uapi structs (`struct xdp_md`, `struct __sk_buff`), whose
/// packet pointers are 32-bit fields; at run time the context is the
/// internal struct below, whose pointers are full 64-bit addresses. The
/// verifier turns `*(u32 *)(r1 + xdp_md::DATA)` into
/// `*(u64 *)(r1 + kern::xdp::DATA)`, and a narrow load of a 32-bit field
/// into the same narrow load of the internal field (little-endian, so the
/// byte offset within the field carries over). Program types whose context
/// is raw memory (kprobe `pt_regs`, tracepoint records, raw tracepoint
/// arguments, perf events, syscall arguments) are not rewritten.
pub mod kern {
    /// The internal XDP buffer (48 bytes, 8-byte aligned).
    pub mod xdp {
        /// `u64`: address of the first packet byte.
        pub const DATA: u32 = 0;
        /// `u64`: address one past the last packet byte.
        pub const DATA_END: u32 = 8;
        /// `u64`: address of the metadata (equal to `DATA` when empty).
        pub const DATA_META: u32 = 16;
        /// `u64`: start of the headroom (for `bpf_xdp_adjust_head`).
        pub const DATA_HARD_START: u32 = 24;
        /// `u32` fields.
        pub const INGRESS_IFINDEX: u32 = 32;
        pub const RX_QUEUE_INDEX: u32 = 36;
        pub const EGRESS_IFINDEX: u32 = 40;
        pub const SIZE: u32 = 48;
    }

    /// The internal socket buffer (`struct __sk_buff` as the vm holds it).
    pub mod skb {
        /// `u64` packet pointers.
        pub const DATA: u32 = 0;
        pub const DATA_END: u32 = 8;
        pub const DATA_META: u32 = 16;
        /// `u32` fields, in `__sk_buff` order.
        pub const LEN: u32 = 24;
        pub const PKT_TYPE: u32 = 28;
        pub const MARK: u32 = 32;
        pub const QUEUE_MAPPING: u32 = 36;
        pub const PROTOCOL: u32 = 40;
        pub const VLAN_PRESENT: u32 = 44;
        pub const VLAN_TCI: u32 = 48;
        pub const VLAN_PROTO: u32 = 52;
        pub const PRIORITY: u32 = 56;
        pub const INGRESS_IFINDEX: u32 = 60;
        pub const IFINDEX: u32 = 64;
        pub const TC_INDEX: u32 = 68;
        /// `cb[5]`: 20 bytes.
        pub const CB: u32 = 72;
        pub const HASH: u32 = 92;
        pub const TC_CLASSID: u32 = 96;
        pub const NAPI_ID: u32 = 100;
        pub const FAMILY: u32 = 104;
        pub const REMOTE_IP4: u32 = 108;
        pub const LOCAL_IP4: u32 = 112;
        /// `u32[4]` each.
        pub const REMOTE_IP6: u32 = 116;
        pub const LOCAL_IP6: u32 = 132;
        pub const REMOTE_PORT: u32 = 148;
        pub const LOCAL_PORT: u32 = 152;
        pub const WIRE_LEN: u32 = 156;
        pub const GSO_SEGS: u32 = 160;
        pub const GSO_SIZE: u32 = 164;
        pub const TSTAMP_TYPE: u32 = 168;
        /// `u64` fields.
        pub const TSTAMP: u32 = 176;
        pub const HWTSTAMP: u32 = 184;
        pub const SIZE: u32 = 192;
    }

    /// The internal offset of the `__sk_buff` field that starts at uapi
    /// offset `uapi_off` (for the array fields `cb`, `remote_ip6`,
    /// `local_ip6`: of the element), or `None` for fields the vm does not
    /// provide.
    pub fn skb_field(uapi_off: u32) -> Option<u32> {
        use super::sk_buff as u;
        let simple = [
            (u::LEN, skb::LEN),
            (u::PKT_TYPE, skb::PKT_TYPE),
            (u::MARK, skb::MARK),
            (u::QUEUE_MAPPING, skb::QUEUE_MAPPING),
            (u::PROTOCOL, skb::PROTOCOL),
            (u::VLAN_PRESENT, skb::VLAN_PRESENT),
            (u::VLAN_TCI, skb::VLAN_TCI),
            (u::VLAN_PROTO, skb::VLAN_PROTO),
            (u::PRIORITY, skb::PRIORITY),
            (u::INGRESS_IFINDEX, skb::INGRESS_IFINDEX),
            (u::IFINDEX, skb::IFINDEX),
            (u::TC_INDEX, skb::TC_INDEX),
            (u::HASH, skb::HASH),
            (u::TC_CLASSID, skb::TC_CLASSID),
            (u::DATA, skb::DATA),
            (u::DATA_END, skb::DATA_END),
            (u::NAPI_ID, skb::NAPI_ID),
            (u::FAMILY, skb::FAMILY),
            (u::REMOTE_IP4, skb::REMOTE_IP4),
            (u::LOCAL_IP4, skb::LOCAL_IP4),
            (u::REMOTE_PORT, skb::REMOTE_PORT),
            (u::LOCAL_PORT, skb::LOCAL_PORT),
            (u::DATA_META, skb::DATA_META),
            (u::TSTAMP, skb::TSTAMP),
            (u::WIRE_LEN, skb::WIRE_LEN),
            (u::GSO_SEGS, skb::GSO_SEGS),
            (u::GSO_SIZE, skb::GSO_SIZE),
            (u::TSTAMP_TYPE, skb::TSTAMP_TYPE),
            (u::HWTSTAMP, skb::HWTSTAMP),
        ];
        if let Some(&(_, k)) = simple.iter().find(|(o, _)| *o == uapi_off) {
            return Some(k);
        }
        let arrays = [
            (u::CB, skb::CB, 20),
            (u::REMOTE_IP6, skb::REMOTE_IP6, 16),
            (u::LOCAL_IP6, skb::LOCAL_IP6, 16),
        ];
        arrays
            .iter()
            .find(|(o, _, n)| {
                (*o..*o + *n).contains(&uapi_off) && (uapi_off - *o).is_multiple_of(4)
            })
            .map(|(o, k, _)| k + (uapi_off - o))
    }

    /// The internal offset of the `xdp_md` field at uapi offset `uapi_off`.
    pub fn xdp_field(uapi_off: u32) -> Option<u32> {
        use super::xdp_md as u;
        Some(match uapi_off {
            u::DATA => xdp::DATA,
            u::DATA_END => xdp::DATA_END,
            u::DATA_META => xdp::DATA_META,
            u::INGRESS_IFINDEX => xdp::INGRESS_IFINDEX,
            u::RX_QUEUE_INDEX => xdp::RX_QUEUE_INDEX,
            u::EGRESS_IFINDEX => xdp::EGRESS_IFINDEX,
            _ => return None,
        })
    }
}

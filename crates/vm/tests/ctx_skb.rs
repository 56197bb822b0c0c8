//! The skb context as test-run builds it, against the kernel: every field
//! a program of each type may read, and what comes back in `ctx_out`.

mod pkt_helpers_support;

use pkt_helpers_support::{check, packets, Input};
use uapi::ProgType;

/// Copies context fields into `cb[0..5]` (which test-run reports back) and
/// returns a sixth one. `fields` are uapi offsets.
fn copy_fields(fields: &[u32; 5], ret: &str) -> String {
    let mut t = String::new();
    for (i, f) in fields.iter().enumerate() {
        t += &format!(
            "r2 = *(u32 *)(r1 + {f})\n*(u32 *)(r1 + {}) = r2\n",
            48 + 4 * i
        );
    }
    t + &format!("r0 = *(u32 *)(r1 + {ret})\nexit\n")
}

fn inputs() -> Vec<Input> {
    let mut v: Vec<Input> = packets().iter().map(|p| Input::data(p)).collect();
    // With a context: mark, priority, cb, tstamp, ingress_ifindex given.
    let mut ctx = vec![0u8; 192];
    ctx[8..12].copy_from_slice(&7u32.to_ne_bytes());
    ctx[32..36].copy_from_slice(&9u32.to_ne_bytes());
    ctx[36..40].copy_from_slice(&3u32.to_ne_bytes());
    ctx[48..68].copy_from_slice(&[0xab; 20]);
    ctx[152..160].copy_from_slice(&123456789u64.to_ne_bytes());
    ctx[164..168].copy_from_slice(&2u32.to_ne_bytes());
    ctx[176..180].copy_from_slice(&1400u32.to_ne_bytes());
    ctx[184..192].copy_from_slice(&42u64.to_ne_bytes());
    for p in packets().iter().take(3) {
        v.push(Input::data(p).with_ctx(&ctx));
    }
    // wire_len at or above len.
    let mut c2 = ctx.clone();
    c2[160..164].copy_from_slice(&2000u32.to_ne_bytes());
    v.push(Input::data(&packets()[0]).with_ctx(&c2));
    // A short ctx_in (only up to cb) is zero-extended.
    v.push(Input::data(&packets()[0]).with_ctx(&ctx[..68]));
    v
}

#[test]
fn sched_cls_fields() {
    // len, pkt_type, protocol, ifindex, data_end - data; returns mark.
    let text = "r2 = *(u32 *)(r1 + 0)\n*(u32 *)(r1 + 48) = r2\n\
                r2 = *(u32 *)(r1 + 4)\n*(u32 *)(r1 + 52) = r2\n\
                r2 = *(u32 *)(r1 + 16)\n*(u32 *)(r1 + 56) = r2\n\
                r2 = *(u32 *)(r1 + 40)\n*(u32 *)(r1 + 60) = r2\n\
                r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr3 -= r2\n\
                *(u32 *)(r1 + 64) = r3\n\
                r0 = *(u32 *)(r1 + 8)\nexit\n";
    check(
        "sched_cls fields",
        ProgType::SchedCls,
        None,
        text,
        &inputs(),
    );
}

#[test]
fn sched_cls_more_fields() {
    // ingress_ifindex, priority, wire_len, gso_segs, gso_size; returns
    // vlan_present.
    let text = copy_fields(&[36, 32, 160, 164, 176], "20");
    check(
        "sched_cls more fields",
        ProgType::SchedCls,
        None,
        &text,
        &inputs(),
    );
}

#[test]
fn sched_cls_writes_come_back() {
    // mark, priority, cb and tstamp are written; tc_index is not copied
    // back.
    let text = "r2 = 0x1234\n*(u32 *)(r1 + 8) = r2\n\
                r2 = 77\n*(u32 *)(r1 + 32) = r2\n\
                r2 = 5\n*(u32 *)(r1 + 44) = r2\n\
                r2 = 0x55\n*(u32 *)(r1 + 64) = r2\n\
                r2 = 1000\n*(u64 *)(r1 + 152) = r2\n\
                r0 = *(u32 *)(r1 + 44)\nexit\n";
    check(
        "sched_cls writes",
        ProgType::SchedCls,
        None,
        text,
        &inputs(),
    );
}

#[test]
fn socket_filter_fields() {
    // len, pkt_type, protocol, ifindex, cb[4]; returns len (keep all).
    let text = copy_fields(&[0, 4, 16, 40, 64], "0");
    check(
        "socket_filter fields",
        ProgType::SocketFilter,
        None,
        &text,
        &inputs(),
    );
}

#[test]
fn cgroup_skb_socket_fields() {
    // family, remote_ip4, local_ip4, remote_ip6[0], local_ip6[3];
    // returns 1.
    let text = copy_fields(&[88, 92, 96, 100, 128], "0");
    let text = text.replace("r0 = *(u32 *)(r1 + 0)\nexit", "r0 = 1\nexit");
    check(
        "cgroup_skb fields",
        ProgType::CgroupSkb,
        None,
        &text,
        &inputs(),
    );
}

#[test]
fn ctx_narrow_loads() {
    // A byte of protocol, a half of len, a half of ifindex.
    let text = "r2 = *(u8 *)(r1 + 17)\n*(u32 *)(r1 + 48) = r2\n\
                r2 = *(u16 *)(r1 + 0)\n*(u32 *)(r1 + 52) = r2\n\
                r0 = *(u16 *)(r1 + 40)\nexit\n";
    check("narrow loads", ProgType::SchedCls, None, text, &inputs());
}

#[test]
fn legacy_packet_loads() {
    // BPF_ABS / BPF_IND read from skb->data: the network header for socket
    // filters, the MAC header for tc; SKF_NET_OFF counts from the network
    // header. Out of bounds ends the program with 0.
    for (t, text) in [
        (
            ProgType::SocketFilter,
            "r6 = r1\nr0 = *(u8 *)skb[0]\nexit\n",
        ),
        (
            ProgType::SocketFilter,
            "r6 = r1\nr0 = *(u32 *)skb[12]\nexit\n",
        ),
        (
            ProgType::SocketFilter,
            "r6 = r1\nr0 = *(u16 *)skb[-1048576]\nexit\n",
        ),
        (
            ProgType::SocketFilter,
            "r6 = r1\nr0 = *(u32 *)skb[60]\nexit\n",
        ),
        (ProgType::SchedCls, "r6 = r1\nr0 = *(u16 *)skb[12]\nexit\n"),
        (
            ProgType::SchedCls,
            "r6 = r1\nr0 = *(u32 *)skb[-1048564]\nexit\n",
        ),
        (
            ProgType::SchedCls,
            "r6 = r1\nr7 = 20\nr0 = *(u16 *)skb[r7 + 6]\nexit\n",
        ),
    ] {
        check(text, t, None, text, &inputs());
    }
}

#[test]
fn packet_pointers_by_type() {
    // Direct packet access: tc, lwt and cgroup skb programs see
    // data..data_end.
    let text = "r6 = r1\nr2 = *(u32 *)(r6 + 76)\nr3 = *(u32 *)(r6 + 80)\nr4 = r2\nr4 += 1\n\
                if r4 > r3 goto +2\nr0 = *(u8 *)(r2 + 0)\nexit\nr0 = 1\nexit\n";
    for t in [ProgType::SchedCls, ProgType::LwtXmit, ProgType::LwtIn] {
        check(&format!("{t:?} packet pointers"), t, None, text, &inputs());
    }
    let cg = text.replace("r0 = *(u8 *)(r2 + 0)\nexit", "r0 = 0\nexit");
    check(
        "cgroup_skb packet pointers",
        ProgType::CgroupSkb,
        None,
        &cg,
        &inputs(),
    );
}

#[test]
fn legacy_loads_from_the_mac_header() {
    // SKF_LL_OFF counts from the MAC header: the start of tc's data, 14
    // bytes before a socket filter's (which starts at the network header).
    for t in [ProgType::SchedCls, ProgType::SocketFilter] {
        for k in [
            -2097152i32,
            -2097152 + 12,
            -2097152 + 14,
            -2097152 + 30,
            -2097152 + 100_000,
        ] {
            let text = format!("r6 = r1\nr0 = *(u32 *)skb[{k}]\nexit\n");
            check(
                &format!("{t:?} SKF_LL_OFF {k}"),
                t,
                None,
                &text,
                &inputs()[..3],
            );
        }
    }
}

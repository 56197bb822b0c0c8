//! `BPF_PROG_TEST_RUN` validation against the kernel: sizes, flags,
//! contexts the kernel refuses, output buffers too small, repeat.

mod pkt_helpers_support;

use pkt_helpers_support::{check, ipv4_tcp, ipv6_tcp, Input};
use uapi::ProgType;

const RET_LEN: &str = "r0 = *(u32 *)(r1 + 0)\nexit\n";
const XDP_LEN: &str = "r2 = *(u32 *)(r1 + 0)\nr0 = *(u32 *)(r1 + 4)\nr0 -= r2\nexit\n";

fn eth_with(proto: u16, rest: usize) -> Vec<u8> {
    let mut p = vec![2u8; 12];
    p.extend(proto.to_be_bytes());
    p.extend((0..rest).map(|i| i as u8 | 0x40));
    p
}

fn sizes() -> Vec<Input> {
    let mut v = Vec::new();
    for rest in [0usize, 1, 2, 19, 20, 39, 40, 100] {
        for proto in [0x0800u16, 0x86dd, 0x0806, 0x8100, 0x0040] {
            v.push(Input::data(&eth_with(proto, rest)));
        }
    }
    v.push(Input::data(&[0u8; 13]));
    v.push(Input::data(&[]));
    v.push(Input::data(&vec![0u8; 3712]));
    v.push(Input::data(&vec![0u8; 3713]));
    v
}

#[test]
fn skb_sizes_and_protocols() {
    for t in [ProgType::SchedCls, ProgType::SocketFilter] {
        check(&format!("{t:?} sizes"), t, None, RET_LEN, &sizes());
    }
    let odd = "r0 = *(u32 *)(r1 + 0)\nr0 &= 1\nexit\n";
    check("cgroup_skb sizes", ProgType::CgroupSkb, None, odd, &sizes());
}

#[test]
fn xdp_sizes() {
    let mut v = sizes();
    v.push(Input::data(&vec![0u8; 3520]));
    v.push(Input::data(&[1, 2, 3]));
    check("xdp sizes", ProgType::Xdp, None, XDP_LEN, &v);
}

#[test]
fn skb_bad_requests() {
    let p = ipv4_tcp(b"x");
    let mut v = Vec::new();
    // Each __sk_buff field that must stay zero, set.
    for off in (0..192).step_by(4) {
        let mut c = vec![0u8; 192];
        c[off] = 1;
        v.push(Input::data(&p).with_ctx(&c));
    }
    // Longer than __sk_buff: zero tail is fine, non-zero is E2BIG.
    v.push(Input::data(&p).with_ctx(&[0u8; 200]));
    let mut c = vec![0u8; 200];
    c[199] = 1;
    v.push(Input::data(&p).with_ctx(&c));
    // wire_len below len / above the maximum; gso_segs too big.
    for (off, val) in [(160usize, 10u32), (160, 70000), (164, 70000), (164, 65535)] {
        let mut c = vec![0u8; 192];
        c[off..off + 4].copy_from_slice(&val.to_ne_bytes());
        v.push(Input::data(&p).with_ctx(&c));
    }
    // ifindex 1 (loopback) is fine; a missing device is ENODEV.
    for ifindex in [1u32, 0x7fff_0000] {
        let mut c = vec![0u8; 192];
        c[40..44].copy_from_slice(&ifindex.to_ne_bytes());
        v.push(Input::data(&p).with_ctx(&c));
    }
    // flags, cpu.
    v.push(Input {
        flags: 1,
        ..Input::data(&p)
    });
    v.push(Input {
        cpu: 1,
        ..Input::data(&p)
    });
    check(
        "sched_cls bad requests",
        ProgType::SchedCls,
        None,
        RET_LEN,
        &v,
    );
}

#[test]
fn xdp_bad_requests() {
    let p = ipv6_tcp(b"abc");
    let md = |data: u32, end: u32, meta: u32, ing: u32, rxq: u32, egr: u32| {
        let mut c = Vec::new();
        for x in [data, end, meta, ing, rxq, egr] {
            c.extend(x.to_ne_bytes());
        }
        c
    };
    let n = p.len() as u32;
    let v = vec![
        Input::data(&p).with_ctx(&md(0, n, 0, 0, 0, 0)),
        Input::data(&p).with_ctx(&md(8, n, 0, 0, 0, 0)),
        Input::data(&p).with_ctx(&md(6, n, 0, 0, 0, 0)),
        Input::data(&p).with_ctx(&md(36, n, 0, 0, 0, 0)),
        Input::data(&p).with_ctx(&md(252, n, 0, 0, 0, 0)),
        Input::data(&p).with_ctx(&md(0, n - 1, 0, 0, 0, 0)),
        Input::data(&p).with_ctx(&md(0, n, 4, 0, 0, 0)),
        Input::data(&p).with_ctx(&md(0, n, 0, 1, 0, 0)),
        Input::data(&p).with_ctx(&md(0, n, 0, 1, 1, 0)),
        Input::data(&p).with_ctx(&md(0, n, 0, 0, 1, 0)),
        Input::data(&p).with_ctx(&md(0, n, 0, 0, 0, 1)),
        Input::data(&p).with_ctx(&md(0, n, 0, 0x7fff_0000, 0, 0)),
        Input {
            flags: 1,
            ..Input::data(&p)
        },
        Input {
            cpu: 3,
            ..Input::data(&p)
        },
        // ctx_out without ctx_in: a zero xdp_md, whose data_end != size.
        Input {
            ctx_cap: Some(24),
            ..Input::data(&p)
        },
    ];
    check("xdp bad requests", ProgType::Xdp, None, XDP_LEN, &v);
}

#[test]
fn output_buffers() {
    let p = ipv4_tcp(b"0123456789");
    let ctx = vec![0u8; 192];
    let v = vec![
        // data_out smaller than the packet: ENOSPC.
        Input {
            data_cap: Some(20),
            ..Input::data(&p)
        },
        // ctx_out smaller than __sk_buff: ENOSPC.
        Input {
            ctx_cap: Some(100),
            ..Input::data(&p).with_ctx(&ctx)
        },
        // No data_out buffer at all.
        Input {
            data_cap: Some(0),
            ..Input::data(&p)
        },
        Input {
            data_cap: Some(p.len() as u32),
            ..Input::data(&p)
        },
    ];
    check("sched_cls outputs", ProgType::SchedCls, None, RET_LEN, &v);
}

#[test]
fn repeat_reuses_the_context() {
    // Each run adds 1 to cb[0] and returns it: the kernel runs `repeat`
    // times on the same skb.
    let text = "r2 = *(u32 *)(r1 + 48)\nr2 += 1\n*(u32 *)(r1 + 48) = r2\nr0 = r2\nexit\n";
    let p = ipv4_tcp(b"r");
    let v: Vec<Input> = [0u32, 1, 7]
        .iter()
        .map(|&r| Input {
            repeat: r,
            ..Input::data(&p).with_ctx(&[0u8; 192])
        })
        .collect();
    check("repeat", ProgType::SchedCls, None, text, &v);
}

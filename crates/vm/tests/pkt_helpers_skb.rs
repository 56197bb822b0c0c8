//! The skb helpers against the kernel: each program records helper
//! results in `cb` (reported back in `ctx_out`) and the packet comes back
//! in `data_out`, on the usual packets (including truncated and odd ones).

mod pkt_helpers_support;

use pkt_helpers_support::{check, ipv4_tcp, packets, vlan_ipv4, Input};
use uapi::ProgType;

fn inputs() -> Vec<Input> {
    packets()
        .iter()
        .map(|p| Input::data(p).with_ctx(&[0u8; 192]))
        .collect()
}

/// Stores `r0` in `cb[i]`.
fn save(i: usize) -> String {
    format!("*(u32 *)(r6 + {}) = r0\n", 48 + 4 * i)
}

/// Stores ctx field `off` in `cb[i]`.
fn field(off: u32, i: usize) -> String {
    format!(
        "r1 = *(u32 *)(r6 + {off})\n*(u32 *)(r6 + {}) = r1\n",
        48 + 4 * i
    )
}

const END: &str = "r0 = 0\nexit\n";

#[test]
fn skb_load_bytes() {
    for (off, len) in [
        (0i64, 8u32),
        (12, 2),
        (30, 4),
        (60, 8),
        (70, 4),
        (0x7fff_ffff, 1),
        (0x8000_0000, 1),
        (-1, 1),
    ] {
        for t in [ProgType::SchedCls, ProgType::SocketFilter] {
            let text = format!(
                "r6 = r1\nr1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r6\nr2 = {off} ll\n\
                 r3 = r10\nr3 += -8\nr4 = {len}\ncall 26\n{}\
                 r1 = *(u32 *)(r10 - 8)\n*(u32 *)(r6 + 52) = r1\n\
                 r1 = *(u32 *)(r10 - 4)\n*(u32 *)(r6 + 56) = r1\n{END}",
                save(0)
            );
            check(
                &format!("{t:?} load_bytes({off}, {len})"),
                t,
                None,
                &text,
                &inputs(),
            );
        }
    }
}

#[test]
fn skb_load_bytes_relative() {
    for (off, len, start) in [
        (0u32, 8u32, 0u32),
        (6, 6, 0),
        (0, 8, 1),
        (12, 8, 1),
        (40, 8, 1),
        (0, 4, 2),
        (0x10000, 1, 0),
    ] {
        for t in [ProgType::SchedCls, ProgType::SocketFilter] {
            let text = format!(
                "r6 = r1\nr1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r6\nr2 = {off}\n\
                 r3 = r10\nr3 += -8\nr4 = {len}\nr5 = {start}\ncall 68\n{}\
                 r1 = *(u32 *)(r10 - 8)\n*(u32 *)(r6 + 52) = r1\n\
                 r1 = *(u32 *)(r10 - 4)\n*(u32 *)(r6 + 56) = r1\n{END}",
                save(0)
            );
            let name = format!("{t:?} load_bytes_relative({off}, {len}, {start})");
            check(&name, t, None, &text, &inputs());
        }
    }
}

#[test]
fn skb_store_bytes() {
    for (off, flags) in [
        (26u32, 0u32),
        (26, 1),
        (26, 2),
        (26, 3),
        (26, 4),
        (0, 0),
        (60, 0),
        (73, 0),
    ] {
        let text = format!(
            "r6 = r1\nr1 = 0x11223344\n*(u32 *)(r10 - 4) = r1\nr1 = r6\nr2 = {off}\n\
             r3 = r10\nr3 += -4\nr4 = 4\nr5 = {flags}\ncall 9\n{}{}{END}",
            save(0),
            field(0, 1)
        );
        check(
            &format!("store_bytes({off}, {flags})"),
            ProgType::SchedCls,
            None,
            &text,
            &inputs(),
        );
    }
}

/// The NAT rewrite of an IPv4 source address: l4 then l3 checksum, then
/// the address itself. `l4_off`: the L4 checksum's offset.
fn nat(l4_off: u32, l4_flags: u32) -> String {
    format!(
        "r6 = r1\nr1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r6\nr2 = 26\nr3 = r10\nr3 += -4\nr4 = 4\n\
         call 26\nr7 = *(u32 *)(r10 - 4)\nr8 = 0x0907a8c0\n\
         r1 = r6\nr2 = {l4_off}\nr3 = r7\nr4 = r8\nr5 = {l4_flags}\ncall 11\n{}\
         r1 = r6\nr2 = 24\nr3 = r7\nr4 = r8\nr5 = 4\ncall 10\n{}\
         *(u32 *)(r10 - 8) = r8\nr1 = r6\nr2 = 26\nr3 = r10\nr3 += -8\nr4 = 4\nr5 = 0\n\
         call 9\n{}{END}",
        save(0),
        save(1),
        save(2)
    )
}

#[test]
fn nat_rewrite_tcp_and_udp() {
    let mut v = inputs();
    // A UDP packet without checksum (0): BPF_F_MARK_MANGLED_0 keeps it 0.
    v.push(Input::data(&pkt_helpers_support::ipv4_udp(b"nocsum", Some(0))).with_ctx(&[0; 192]));
    // A UDP checksum that the rewrite turns into 0 becomes 0xffff: the
    // payload is chosen so that the new checksum folds to zero.
    for l4 in [
        (50u32, 0x14u32),
        (40, 0x34),
        (40, 0x74),
        (50, 0x04),
        (40, 0x24),
    ] {
        let name = format!("nat l4 at {} flags {:#x}", l4.0, l4.1);
        let ours = check(&name, ProgType::SchedCls, None, &nat(l4.0, l4.1), &v);
        // Whatever the kernel says, the rewritten TCP packet must carry the
        // new address and valid IP and TCP checksums.
        if l4 == (50, 0x14) {
            let (_, d, _) = ours[0].as_ref().expect("tcp packet runs");
            assert_eq!(&d[26..30], &[192, 168, 7, 9]);
            assert_eq!(pkt_helpers_support::csum(&d[14..34], 0), 0, "IP checksum");
            let mut ph = 0u32;
            for w in d[26..34].chunks(2) {
                ph += u16::from_be_bytes([w[0], w[1]]) as u32;
            }
            ph += 6 + (d.len() - 34) as u32;
            assert_eq!(pkt_helpers_support::csum(&d[34..], ph), 0, "TCP checksum");
        }
    }
}

#[test]
fn csum_replace_variants() {
    // (helper, offset, from, to, flags)
    let cases: &[(u32, u32, u64, u64, u32)] = &[
        (10, 24, 0x0640, 0x063f, 2),
        (10, 24, 0, 0x1234, 0),
        (10, 24, 1, 0x1234, 0),
        (10, 25, 0x0640, 0x063f, 2),
        (10, 24, 0x0640, 0x063f, 8),
        (10, 24, 0x0640, 0x063f, 0x12),
        (10, 0x10000, 0, 0, 2),
        (10, 72, 0, 0, 2),
        (11, 50, 0x5000, 0x5100, 2),
        (11, 50, 0, 0xffff_fffe, 0x10),
        (11, 50, 0, 5, 0x100),
        (11, 50, 0x5000, 0x5100, 0x82),
        (11, 40, 0x1122, 0x3344, 0x22),
        (11, 40, 0x1122, 0x3344, 0x62),
    ];
    for &(h, off, from, to, flags) in cases {
        let text = format!(
            "r6 = r1\nr2 = {off}\nr3 = {from} ll\nr4 = {to} ll\nr5 = {flags}\ncall {h}\n{}{END}",
            save(0)
        );
        let mut v = inputs();
        v.push(Input::data(&pkt_helpers_support::ipv4_udp(b"x", Some(0))).with_ctx(&[0; 192]));
        let name = format!("csum helper {h}({off}, {from:#x}, {to:#x}, {flags:#x})");
        check(&name, ProgType::SchedCls, None, &text, &v);
    }
}

#[test]
fn csum_diff_sizes_and_seeds() {
    let cases: &[(u32, u32, u64)] = &[
        (8, 8, 0),
        (4, 8, 0),
        (0, 8, 0x1234),
        (8, 0, 0xffff),
        (0, 0, 77),
        (4, 4, 0xffff_ffff),
        (8, 4, 0xdead_beef),
        (2, 4, 0),
        (4, 6, 0),
        (16, 16, 0x8000_0000),
    ];
    for &(fs, ts, seed) in cases {
        let text = format!(
            "r1 = 0x0102030405060708 ll\n*(u64 *)(r10 - 8) = r1\n\
             r1 = 0xf1f2f3f4f5f6f7f8 ll\n*(u64 *)(r10 - 16) = r1\n\
             r1 = 0x8899aabbccddeeff ll\n*(u64 *)(r10 - 24) = r1\n\
             r1 = 0xffffffff00000001 ll\n*(u64 *)(r10 - 32) = r1\n\
             r1 = r10\nr1 += -16\nr2 = {fs}\nr3 = r10\nr3 += -32\nr4 = {ts}\nr5 = {seed} ll\n\
             call 28\nr1 = r0\nr1 >>= 32\n*(u32 *)(r6 + 48) = r1\nexit\n"
        );
        let text = format!("r6 = r1\n{text}");
        check(
            &format!("csum_diff({fs}, {ts}, {seed:#x})"),
            ProgType::SchedCls,
            None,
            &text,
            &inputs()[..2],
        );
    }
}

#[test]
fn csum_update_and_level() {
    for text in [
        "r2 = 0x1234\ncall 40\nexit\n",
        "r2 = 0\ncall 135\nexit\n",
        "r2 = 1\ncall 135\nexit\n",
        "r2 = 3\ncall 135\nexit\n",
        "r2 = 4\ncall 135\nexit\n",
    ] {
        check(text, ProgType::SchedCls, None, text, &inputs()[..2]);
    }
}

#[test]
fn change_proto() {
    for (proto, flags) in [(0xdd86u32, 0u32), (0x0008, 0), (0xdd86, 1), (0x0608, 0)] {
        let text = format!(
            "r6 = r1\nr2 = {proto}\nr3 = {flags}\ncall 31\n{}{}{}{END}",
            save(0),
            field(0, 1),
            field(16, 2)
        );
        check(
            &format!("change_proto({proto:#x}, {flags})"),
            ProgType::SchedCls,
            None,
            &text,
            &inputs(),
        );
    }
}

#[test]
fn adjust_room() {
    let cases: &[(i32, u32, u64)] = &[
        (8, 1, 0),
        (8, 0, 0),
        (-8, 0, 0),
        (-8, 1, 0),
        (20, 0, 2),
        (40, 0, 4),
        (20, 1, 2 | 16),
        (20, 0, 6),
        (28, 0, 2 | (14 << 56)),
        (8, 0, 2 | (14 << 56)),
        (0x1000, 0, 0),
        (-100, 0, 0),
        (8, 2, 0),
        (8, 0, 1 << 9),
        (-8, 0, 128),
        (-8, 0, 384),
        (8, 0, 128),
        (-8, 0, 2),
        (0, 0, 0),
        (8, 0, 1 | 32),
    ];
    for &(diff, mode, flags) in cases {
        let text = format!(
            "r6 = r1\nr2 = {diff}\nr3 = {mode}\nr4 = {flags} ll\ncall 50\n{}{}{}{END}",
            save(0),
            field(0, 1),
            field(16, 2)
        );
        let name = format!("adjust_room({diff}, {mode}, {flags:#x})");
        check(&name, ProgType::SchedCls, None, &text, &inputs());
    }
}

#[test]
fn adjust_room_twice_encap() {
    let text = format!(
        "r6 = r1\nr2 = 20\nr3 = 0\nr4 = 2\ncall 50\n{}r1 = r6\nr2 = 20\nr3 = 0\nr4 = 2\n\
         call 50\n{}r1 = r6\nr2 = 20\nr3 = 0\ncall 38\n{}{END}",
        save(0),
        save(1),
        save(2)
    );
    check(
        "adjust_room encap twice, change_tail",
        ProgType::SchedCls,
        None,
        &text,
        &inputs(),
    );
}

fn vlan_fields() -> String {
    field(20, 1) + &field(24, 2) + &field(28, 3) + &field(16, 4)
}

#[test]
fn vlan_push_pop() {
    let push = |proto: u32, tci: u32| format!("r1 = r6\nr2 = {proto}\nr3 = {tci}\ncall 18\n");
    let pop = "r1 = r6\ncall 19\n";
    let programs = [
        push(0x0081, 0x1234) + &save(0) + &vlan_fields(),
        push(0x0081, 0x1234) + &push(0xa888, 5) + &save(0) + &vlan_fields(),
        push(0x3412, 7) + &save(0) + &vlan_fields(),
        pop.to_string() + &save(0) + &vlan_fields(),
        pop.to_string() + pop + &save(0) + &vlan_fields(),
        push(0x0081, 9) + pop + &save(0) + &vlan_fields(),
        push(0x0081, 1) + &push(0x0081, 2) + &push(0x0081, 3) + pop + &save(0) + &vlan_fields(),
    ];
    let mut v = inputs();
    let mut qinq = vlan_ipv4();
    qinq.splice(12..12, [0x88, 0xa8, 0x00, 0x07]);
    v.push(Input::data(&qinq).with_ctx(&[0; 192]));
    let mut short = vlan_ipv4();
    short.truncate(17);
    v.push(Input::data(&short).with_ctx(&[0; 192]));
    for (i, body) in programs.iter().enumerate() {
        let text = format!("r6 = r1\n{body}{END}");
        check(
            &format!("vlan program {i}"),
            ProgType::SchedCls,
            None,
            &text,
            &v,
        );
    }
}

#[test]
fn pull_data() {
    for len in [0u32, 14, 60, 5000] {
        let text = format!("r6 = r1\nr2 = {len}\ncall 39\n{}{END}", save(0));
        check(
            &format!("pull_data({len})"),
            ProgType::SchedCls,
            None,
            &text,
            &inputs(),
        );
    }
}

#[test]
fn change_tail_and_head() {
    let cases: &[(u32, u64, u64)] = &[
        (38, 100, 0),
        (38, 20, 0),
        (38, 14, 0),
        (38, 13, 0),
        (38, 16064, 0),
        (38, 16065, 0),
        (38, 100, 1),
        (43, 14, 0),
        (43, 0, 0),
        (43, 16000, 0),
        (43, 0xffff_ffff, 0),
        (43, 4, 1),
    ];
    for &(h, arg, flags) in cases {
        let text = format!(
            "r6 = r1\nr2 = {arg} ll\nr3 = {flags}\ncall {h}\n{}{}{END}",
            save(0),
            field(0, 1)
        );
        check(
            &format!("helper {h}({arg}, {flags})"),
            ProgType::SchedCls,
            None,
            &text,
            &inputs(),
        );
    }
    // Socket filters cannot resize; cgroup skb cannot either: tc only.
}

#[test]
fn change_head_then_tail_keeps_headers() {
    // Push a MAC header, grow the tail, read back from the MAC and the
    // network header.
    let text = format!(
        "r6 = r1\nr2 = 14\nr3 = 0\ncall 43\n{}r1 = r6\nr2 = 120\nr3 = 0\ncall 38\n{}\
         r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r6\nr2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\nr5 = 1\n\
         call 68\n{}r1 = *(u32 *)(r10 - 8)\n*(u32 *)(r6 + 60) = r1\n{}{END}",
        save(0),
        save(1),
        save(2),
        field(0, 4)
    );
    check(
        "change_head + tail",
        ProgType::SchedCls,
        None,
        &text,
        &inputs(),
    );
}

#[test]
fn set_and_get_hash() {
    let text = format!(
        "r6 = r1\nr2 = 0x5a5a\ncall 48\nr1 = r6\ncall 34\n{}{}{END}",
        save(0),
        field(68, 1)
    );
    check(
        "set_hash + get_hash_recalc",
        ProgType::SchedCls,
        None,
        &text,
        &inputs(),
    );
}

#[test]
fn redirect_tc() {
    for (ifindex, flags) in [(1u32, 0u32), (1, 1), (5, 2), (0, 0)] {
        let text = format!("r1 = {ifindex}\nr2 = {flags}\ncall 23\nexit\n");
        check(
            &format!("tc redirect({ifindex}, {flags})"),
            ProgType::SchedCls,
            None,
            &text,
            &inputs()[..1],
        );
    }
}

#[test]
fn repeat_accumulates_resizes() {
    // Each run pushes 4 bytes: after `repeat` runs the packet grew by
    // 4 * repeat, as in the kernel (same skb every time).
    let text = "r2 = 4\nr3 = 0\ncall 43\nr0 = 0\nexit\n";
    let v: Vec<Input> = [1u32, 3]
        .iter()
        .map(|&r| Input {
            repeat: r,
            ..Input::data(&ipv4_tcp(b"rep"))
        })
        .collect();
    check("repeat change_head", ProgType::SchedCls, None, text, &v);
}

#[test]
fn vlan_push_keeps_the_network_header() {
    // After a push that moves the old tag into the packet, the network
    // header offset is where load_bytes_relative(NET) and adjust_room look.
    let text = format!(
        "r6 = r1\nr2 = 0x0081\nr3 = 1\ncall 18\nr1 = r6\nr2 = 0x0081\nr3 = 2\ncall 18\n\
         r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r6\nr2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\nr5 = 1\n\
         call 68\n{}r1 = *(u32 *)(r10 - 8)\n*(u32 *)(r6 + 52) = r1\n\
         r1 = r6\nr2 = 4\nr3 = 1\nr4 = 0\ncall 50\n{}{END}",
        save(0),
        save(2)
    );
    check(
        "vlan push + network header",
        ProgType::SchedCls,
        None,
        &text,
        &inputs(),
    );
}

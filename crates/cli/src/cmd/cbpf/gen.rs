//! The capture generator behind `testdata/cbpf/mix.pcap`: a deterministic
//! mix of Ethernet frames for comparing our verdicts with tcpdump's —
//! IPv4/IPv6, TCP with every flag combination and with options, UDP,
//! ICMP/ICMPv6, ARP, 802.1Q and QinQ tags, fragments, IP options, many
//! hosts, nets and ports, multicast and broadcast, other ethertypes,
//! truncated captures and garbage. Packet `i` has timestamp
//! `BASE_SEC + i` seconds, which is how the tests map tcpdump's output back
//! to indices. No network access: every byte is made here.

/// Timestamp of packet 0, in seconds.
pub const BASE_SEC: u32 = 1_700_000_000;

/// A captured packet: bytes and length on the wire.
pub struct GenPacket {
    pub data: Vec<u8>,
    pub orig_len: u32,
}

/// splitmix64: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

type Mac = [u8; 6];
const MAC_A: Mac = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const MAC_B: Mac = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01];
const MAC_C: Mac = [0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x0c];
const BCAST: Mac = [0xff; 6];

fn eth(dst: Mac, src: Mac, tags: &[(u16, u16)], ty: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + payload.len());
    f.extend(dst);
    f.extend(src);
    for &(tpid, tci) in tags {
        f.extend(tpid.to_be_bytes());
        f.extend(tci.to_be_bytes());
    }
    f.extend(ty.to_be_bytes());
    f.extend(payload);
    f
}

struct Ip4 {
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    ttl: u8,
    frag: u16,
    options: Vec<u8>,
}

fn ip4(src: [u8; 4], dst: [u8; 4], proto: u8) -> Ip4 {
    Ip4 {
        src,
        dst,
        proto,
        ttl: 64,
        frag: 0x4000,
        options: Vec::new(),
    }
}

impl Ip4 {
    fn build(&self, payload: &[u8]) -> Vec<u8> {
        let hlen = 20 + self.options.len();
        let mut h = vec![0x40 | (hlen / 4) as u8, 0];
        h.extend(((hlen + payload.len()) as u16).to_be_bytes());
        h.extend([0x12, 0x34]);
        h.extend(self.frag.to_be_bytes());
        h.extend([self.ttl, self.proto, 0, 0]);
        h.extend(self.src);
        h.extend(self.dst);
        h.extend(&self.options);
        h.extend(payload);
        h
    }
}

fn ip6(src: [u8; 16], dst: [u8; 16], next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend((payload.len() as u16).to_be_bytes());
    h.extend([next, 64]);
    h.extend(src);
    h.extend(dst);
    h.extend(payload);
    h
}

fn v6(prefix: u16, last: u16) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..2].copy_from_slice(&prefix.to_be_bytes());
    if prefix == 0x2001 {
        a[2..4].copy_from_slice(&0x0db8u16.to_be_bytes());
    }
    a[14..].copy_from_slice(&last.to_be_bytes());
    a
}

fn tcp(sport: u16, dport: u16, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let hlen = 20 + options.len();
    let mut h = Vec::with_capacity(hlen + payload.len());
    h.extend(sport.to_be_bytes());
    h.extend(dport.to_be_bytes());
    h.extend([0, 0, 0x10, 0x01, 0, 0, 0, 0]);
    h.extend([((hlen / 4) as u8) << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
    h.extend(options);
    h.extend(payload);
    h
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(8 + payload.len());
    h.extend(sport.to_be_bytes());
    h.extend(dport.to_be_bytes());
    h.extend(((8 + payload.len()) as u16).to_be_bytes());
    h.extend([0, 0]);
    h.extend(payload);
    h
}

fn icmp(ty: u8, code: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![ty, code, 0, 0, 0, 1, 0, 1];
    h.extend(payload);
    h
}

fn arp(op: u16, sha: Mac, spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4];
    a.extend(op.to_be_bytes());
    a.extend(sha);
    a.extend(spa);
    a.extend([0u8; 6]);
    a.extend(tpa);
    a
}

const HOSTS: [[u8; 4]; 8] = [
    [10, 0, 0, 1],
    [10, 1, 2, 3],
    [192, 168, 1, 20],
    [192, 168, 7, 9],
    [172, 16, 5, 4],
    [8, 8, 8, 8],
    [1, 1, 1, 1],
    [10, 0, 0, 2],
];
const PORTS: [u16; 12] = [
    80, 443, 22, 53, 123, 1000, 1500, 2000, 2001, 8000, 8080, 8100,
];

/// TCP option sets: none, MSS, a SYN's usual set, the 40-byte maximum.
fn tcp_options(i: usize) -> Vec<u8> {
    match i % 4 {
        0 => vec![],
        1 => vec![2, 4, 0x05, 0xb4],
        2 => vec![
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ],
        _ => {
            let mut o = vec![1; 36];
            o.extend([0, 0, 0, 0]);
            o
        }
    }
}

/// The packets of `mix.pcap`, in order.
pub fn mix() -> Vec<GenPacket> {
    let mut rng = Rng(0x0bbf_c0de);
    let mut out: Vec<Vec<u8>> = Vec::new();
    // Every TCP flag combination, IPv4, alternating ports and hosts.
    for flags in 0..=255u8 {
        let i = flags as usize;
        let mut ip = ip4(HOSTS[i % 8], HOSTS[(i / 8) % 8], 6);
        ip.ttl = [1, 32, 64, 65, 128, 255][i % 6];
        let payload = rng.bytes(i % 23 * 3);
        let t = tcp(
            40000 + i as u16,
            PORTS[i % 12],
            flags,
            &tcp_options(i),
            &payload,
        );
        out.push(eth(MAC_A, MAC_B, &[], 0x0800, &ip.build(&t)));
    }
    // HTTP requests, IP options (header lengths 24 and 28).
    for (i, opts) in [vec![], vec![1, 1, 1, 0], vec![7, 7, 4, 0, 0, 0, 0, 0]]
        .iter()
        .enumerate()
    {
        for get in [&b"GET / HTTP/1.1\r\n"[..], b"POST /x HTTP/1.1\r\n"] {
            let mut ip = ip4(HOSTS[i], HOSTS[2], 6);
            ip.options = opts.clone();
            let t = tcp(50000, 80, 0x18, &tcp_options(i + 1), get);
            out.push(eth(MAC_A, MAC_C, &[], 0x0800, &ip.build(&t)));
        }
    }
    // UDP to and from well-known and ranged ports; multicast, broadcast.
    for (i, &port) in PORTS.iter().enumerate() {
        let payload = rng.bytes(10 + i * 7);
        let ip = ip4(HOSTS[(i + 3) % 8], HOSTS[i % 8], 17);
        out.push(eth(
            MAC_B,
            MAC_A,
            &[],
            0x0800,
            &ip.build(&udp(port, 33000 + i as u16, &payload)),
        ));
        out.push(eth(
            MAC_A,
            MAC_B,
            &[],
            0x0800,
            &ip.build(&udp(33000 + i as u16, port, &payload)),
        ));
    }
    let mdns = ip4([192, 168, 1, 20], [224, 0, 0, 251], 17).build(&udp(5353, 5353, &[0; 12]));
    out.push(eth([1, 0, 0x5e, 0, 0, 0xfb], MAC_C, &[], 0x0800, &mdns));
    let dhcp = ip4([0, 0, 0, 0], [255, 255, 255, 255], 17).build(&udp(68, 67, &[0; 40]));
    out.push(eth(BCAST, MAC_C, &[], 0x0800, &dhcp));
    let ssdp = ip4([10, 0, 0, 2], [239, 255, 255, 250], 17).build(&udp(1900, 1900, &[0; 20]));
    out.push(eth(
        [1, 0, 0x5e, 0x7f, 0xff, 0xfa],
        MAC_A,
        &[],
        0x0800,
        &ssdp,
    ));
    // ICMP: echo request/reply, unreachable, time exceeded.
    for (i, (ty, code)) in [(8, 0), (0, 0), (3, 3), (11, 0), (5, 1)]
        .into_iter()
        .enumerate()
    {
        let ip = ip4(HOSTS[i], HOSTS[i + 2], 1);
        out.push(eth(
            MAC_A,
            MAC_B,
            &[],
            0x0800,
            &ip.build(&icmp(ty, code, &[0x45; 28])),
        ));
    }
    // Fragments: a UDP datagram to port 53 in three pieces (later pieces
    // start with bytes that look like a port-53 header), a TCP fragment.
    let look_alike = udp(53, 53, &[0xab; 40]);
    for (frag, body) in [
        (0x2000, udp(5000, 53, &[1; 40])),
        (0x2006, look_alike.clone()),
        (0x000c, look_alike),
    ] {
        let mut ip = ip4([10, 0, 0, 1], [8, 8, 8, 8], 17);
        ip.frag = frag;
        out.push(eth(MAC_A, MAC_B, &[], 0x0800, &ip.build(&body)));
    }
    let mut ip = ip4([10, 1, 2, 3], [192, 168, 1, 20], 6);
    ip.frag = 0x0010;
    out.push(eth(
        MAC_A,
        MAC_B,
        &[],
        0x0800,
        &ip.build(&tcp(80, 80, 0x02, &[], &[])),
    ));
    // Other IP protocols: IGMP, IP-in-IP, GRE, IPv6-in-IPv4, SCTP.
    for proto in [2u8, 4, 47, 41, 132] {
        let ip = ip4([172, 16, 5, 4], [10, 0, 0, 1], proto);
        out.push(eth(MAC_B, MAC_A, &[], 0x0800, &ip.build(&rng.bytes(24))));
    }
    push_ipv6(&mut out, &mut rng);
    push_link(&mut out, &mut rng);
    let mut packets: Vec<GenPacket> = out
        .into_iter()
        .map(|data| GenPacket {
            orig_len: data.len() as u32,
            data,
        })
        .collect();
    push_truncated_and_garbage(&mut packets, &mut rng);
    packets
}

fn push_ipv6(out: &mut Vec<Vec<u8>>, rng: &mut Rng) {
    let (a, b) = (v6(0x2001, 1), v6(0x2001, 2));
    let other = {
        let mut x = v6(0x2a00, 0x99);
        x[2] = 0x14;
        x
    };
    for (i, &port) in [22u16, 80, 443, 53, 8080].iter().enumerate() {
        let t = tcp(
            41000 + i as u16,
            port,
            [0x02, 0x12, 0x10, 0x18, 0x11][i],
            &tcp_options(i),
            &rng.bytes(i * 5),
        );
        out.push(eth(
            MAC_A,
            MAC_B,
            &[],
            0x86dd,
            &ip6(a, if i % 2 == 0 { b } else { other }, 6, &t),
        ));
        out.push(eth(
            MAC_B,
            MAC_A,
            &[],
            0x86dd,
            &ip6(other, a, 17, &udp(port, 5000, &rng.bytes(9))),
        ));
    }
    for (ty, dst) in [(128u8, b), (129, a), (135, v6(0xff02, 1)), (136, a)] {
        out.push(eth(
            MAC_A,
            [0x33, 0x33, 0, 0, 0, 1],
            &[],
            0x86dd,
            &ip6(v6(0xfe80, 5), dst, 58, &icmp(ty, 0, &[0; 16])),
        ));
    }
    // Hop-by-hop options then ICMPv6 (MLD); a fragment header then UDP;
    // routing then destination options then TCP.
    let hbh = [&[58u8, 0, 5, 2, 0, 0, 1, 0][..], &icmp(143, 0, &[0; 20])].concat();
    out.push(eth(
        [0x33, 0x33, 0, 0, 0, 0x16],
        MAC_A,
        &[],
        0x86dd,
        &ip6(v6(0xfe80, 5), v6(0xff02, 0x16), 0, &hbh),
    ));
    let frag = [&[17u8, 0, 0, 1, 0, 0, 0, 7][..], &udp(6000, 53, &[2; 30])].concat();
    out.push(eth(MAC_A, MAC_B, &[], 0x86dd, &ip6(a, b, 44, &frag)));
    let later = [&[17u8, 0, 0, 0x51, 0, 0, 0, 7][..], &udp(53, 53, &[2; 30])].concat();
    out.push(eth(MAC_A, MAC_B, &[], 0x86dd, &ip6(a, b, 44, &later)));
    let chain = [
        &[60u8, 0, 0, 0, 0, 0, 0, 0][..],
        &[6, 0, 1, 4, 0, 0, 0, 0],
        &tcp(1234, 22, 0x02, &[], &[]),
    ]
    .concat();
    out.push(eth(MAC_A, MAC_B, &[], 0x86dd, &ip6(b, a, 43, &chain)));
}

fn push_link(out: &mut Vec<Vec<u8>>, rng: &mut Rng) {
    // ARP who-has (broadcast) and reply.
    out.push(eth(
        BCAST,
        MAC_A,
        &[],
        0x0806,
        &arp(1, MAC_A, [10, 0, 0, 1], [10, 0, 0, 2]),
    ));
    out.push(eth(
        MAC_A,
        MAC_C,
        &[],
        0x0806,
        &arp(2, MAC_C, [10, 0, 0, 2], [10, 0, 0, 1]),
    ));
    // 802.1Q: VLANs 100, 200, 300 (with priority bits), 0 (priority only).
    for (vid, pcp) in [(100u16, 0u16), (200, 0), (300, 5), (0, 3), (100, 7)] {
        let tci = pcp << 13 | vid;
        let t = tcp(12345, 80, 0x02, &[], &[]);
        out.push(eth(
            MAC_A,
            MAC_B,
            &[(0x8100, tci)],
            0x0800,
            &ip4([10, 0, 0, 1], [192, 168, 1, 20], 6).build(&t),
        ));
        let u = udp(5353, 53, &rng.bytes(12));
        out.push(eth(
            MAC_B,
            MAC_A,
            &[(0x8100, tci)],
            0x0800,
            &ip4([192, 168, 7, 9], [10, 1, 2, 3], 17).build(&u),
        ));
        out.push(eth(
            MAC_A,
            MAC_B,
            &[(0x8100, tci)],
            0x86dd,
            &ip6(
                v6(0x2001, 1),
                v6(0x2001, 2),
                6,
                &tcp(1, 443, 0x10, &[], &[]),
            ),
        ));
    }
    out.push(eth(
        BCAST,
        MAC_A,
        &[(0x8100, 100)],
        0x0806,
        &arp(1, MAC_A, [10, 0, 0, 1], [10, 0, 0, 9]),
    ));
    // QinQ: 802.1ad outer, 802.1Q outer twice, the old 0x9100.
    let t = ip4([10, 0, 0, 1], [192, 168, 1, 20], 6).build(&tcp(2222, 80, 0x02, &[], &[]));
    for tags in [
        [(0x88a8, 10), (0x8100, 100)],
        [(0x8100, 200), (0x8100, 100)],
        [(0x9100, 30), (0x8100, 200)],
        [(0x8100, 100), (0x8100, 300)],
    ] {
        out.push(eth(MAC_A, MAC_B, &tags, 0x0800, &t));
    }
    // Other ethertypes: LLDP, PPPoE session, MPLS with IPv4, and 802.3
    // frames with a length field (STP over LLC, raw IPX).
    out.push(eth(
        [1, 0x80, 0xc2, 0, 0, 0xe],
        MAC_C,
        &[],
        0x88cc,
        &rng.bytes(30),
    ));
    out.push(eth(MAC_A, MAC_B, &[], 0x8864, &rng.bytes(40)));
    let mpls = [&[0u8, 0x01, 0x01, 0x40][..], &t].concat();
    out.push(eth(MAC_A, MAC_B, &[], 0x8847, &mpls));
    out.push(eth(
        [1, 0x80, 0xc2, 0, 0, 0],
        MAC_C,
        &[],
        38,
        &[&[0x42u8, 0x42, 3][..], &[0; 35]].concat(),
    ));
    out.push(eth(
        MAC_A,
        MAC_B,
        &[],
        30,
        &[&[0xffu8, 0xff][..], &[0; 28]].concat(),
    ));
    // Large frames for length comparisons.
    for n in [200usize, 600, 1000, 1400] {
        let ip = ip4([10, 0, 0, 1], [10, 0, 0, 2], 17);
        out.push(eth(
            MAC_A,
            MAC_B,
            &[],
            0x0800,
            &ip.build(&udp(9000, 9001, &rng.bytes(n))),
        ));
    }
}

fn push_truncated_and_garbage(packets: &mut Vec<GenPacket>, rng: &mut Rng) {
    // Truncated captures of packets above: cut in every header.
    let sources = [0usize, 2, 18, 200, 260, 300];
    for (i, &cut) in [0usize, 10, 13, 14, 20, 30, 34, 40, 47, 54, 60]
        .iter()
        .enumerate()
    {
        let src = &packets[sources[i % sources.len()] % packets.len()];
        let keep = cut.min(src.data.len());
        packets.push(GenPacket {
            data: src.data[..keep].to_vec(),
            orig_len: src.orig_len,
        });
    }
    // Malformed IPv4: header length below 5, wrong version, total length
    // larger than the frame.
    for first in [0x41u8, 0x44, 0x55, 0x4f] {
        let mut f = eth(
            MAC_A,
            MAC_B,
            &[],
            0x0800,
            &ip4([10, 0, 0, 1], [10, 0, 0, 2], 6).build(&tcp(80, 80, 2, &[], &[])),
        );
        f[14] = first;
        packets.push(GenPacket {
            orig_len: f.len() as u32,
            data: f,
        });
    }
    // Random bytes, random ethertypes.
    for i in 0..24 {
        let len = rng.below(90) as usize;
        let mut data = rng.bytes(len);
        if i % 3 == 0 && len > 14 {
            data[12] = 0x08;
            data[13] = 0x00;
        }
        packets.push(GenPacket {
            orig_len: len as u32 + (i % 4) * 10,
            data,
        });
    }
}

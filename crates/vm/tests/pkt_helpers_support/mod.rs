//! Shared support of the context, test-run and packet-helper tests: one
//! program text, run through the kernel's `BPF_PROG_TEST_RUN` (via
//! testkit) and through oxbpf (our verifier rewrites context accesses to
//! the runtime layout, the interpreter runs it under
//! `oxbpf_vm::test_run::TestRun`), on the same inputs; every output the
//! kernel reports must agree.
#![allow(dead_code)]

use isa::asm::{assemble, Syntax};
use isa::RawInsn;
use oxbpf_vm::helpers::{register_packet_helpers, standard_registry};
use oxbpf_vm::test_run::{TestRun, TestRunInput};
use oxbpf_vm::{HelperHost, Machine, PrepareOptions, Program};
use testkit::kernel::{ProgLoad, TestRun as KRun};
use testkit::Kernel;
use uapi::{AttachType, ProgType};

pub fn asm(text: &str) -> Vec<RawInsn> {
    assemble(text, Syntax::Llvm).unwrap_or_else(|e| panic!("assemble: {e}\n{text}"))
}

/// A test-run request in testkit's conventions (`None` capacities: the
/// kernel wrapper's defaults; `Some(0)`: no buffer).
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub data: Vec<u8>,
    pub data_cap: Option<u32>,
    pub ctx_in: Vec<u8>,
    pub ctx_cap: Option<u32>,
    pub repeat: u32,
    pub flags: u32,
    pub cpu: u32,
    pub batch_size: u32,
}

impl Input {
    pub fn data(data: &[u8]) -> Input {
        Input {
            data: data.to_vec(),
            ..Default::default()
        }
    }

    pub fn with_ctx(mut self, ctx: &[u8]) -> Input {
        self.ctx_in = ctx.to_vec();
        self
    }
}

/// What one side reported: `Ok((retval, data_out, ctx_out))` or an errno.
pub type Report = Result<(u32, Vec<u8>, Vec<u8>), i32>;

/// The kernel's answer, `None` when it loads nothing (no permission).
pub fn kernel_side(
    kernel: &Kernel,
    prog_type: ProgType,
    attach: Option<AttachType>,
    raw: &[RawInsn],
    inputs: &[Input],
) -> Vec<Report> {
    let mut load = ProgLoad::new(prog_type, raw).license("GPL");
    if let Some(a) = attach {
        load = load.expected_attach_type(a);
    }
    let prog = kernel
        .load_prog(&load)
        .unwrap_or_else(|e| panic!("kernel load: {e}"));
    inputs
        .iter()
        .map(|i| {
            let req = KRun {
                data_in: &i.data,
                data_out_capacity: i.data_cap,
                ctx_in: &i.ctx_in,
                ctx_out_capacity: i.ctx_cap,
                repeat: i.repeat,
                flags: i.flags,
                cpu: i.cpu,
                batch_size: i.batch_size,
            };
            match prog.test_run(&req) {
                Ok(o) => Ok((o.retval, o.data_out, o.ctx_out)),
                Err(e) => Err(e.errno().unwrap_or(-1)),
            }
        })
        .collect()
}

/// Prepares `raw` for the interpreter: verified by oxbpf's verifier (whose
/// rewrite moves context accesses to the runtime layout), with the
/// standard and packet helpers; `checked` keeps every access checked.
pub fn ours_prepare(
    prog_type: ProgType,
    attach: Option<AttachType>,
    raw: &[RawInsn],
    checked: bool,
) -> Program {
    let mut req = verifier::Request::new(raw, prog_type);
    req.expected_attach_type = attach;
    let insns = match verifier::verify(&req) {
        Ok(v) => v.insns().to_vec(),
        Err(e) => {
            // oxbpf's verifier does not know every packet helper yet: the
            // test programs reach the context only through r6, so the
            // runtime offsets can be written in by hand.
            eprintln!(
                "NOTE: oxbpf verifier rejects ({}); context offsets rewritten by the test",
                e.message
            );
            hand_rewrite(raw, prog_type)
        }
    };
    let mut helpers = standard_registry();
    register_packet_helpers(&mut helpers);
    let p = Program::from_raw(&insns, &PrepareOptions::new(&helpers))
        .unwrap_or_else(|e| panic!("prepare: {e}"));
    if checked {
        p
    } else {
        // SAFETY: oxbpf's verifier accepted the program.
        unsafe { p.assume_verified() }
    }
}

/// The `TestRunInput` the kernel gets from testkit for `i`.
pub fn to_input(i: &Input) -> TestRunInput<'_> {
    let data_cap = i.data_cap.unwrap_or(if i.data.is_empty() {
        0
    } else {
        i.data.len() as u32 + 4096
    });
    let ctx_cap = i.ctx_cap.unwrap_or(i.ctx_in.len() as u32);
    TestRunInput {
        data_in: &i.data,
        data_size_out: (data_cap != 0).then_some(data_cap),
        ctx_in: (!i.ctx_in.is_empty()).then_some(&i.ctx_in[..]),
        ctx_size_out: (ctx_cap != 0).then_some(ctx_cap),
        repeat: i.repeat,
        flags: i.flags,
        cpu: i.cpu,
        batch_size: i.batch_size,
    }
}

/// oxbpf's answer for each input.
pub fn ours_side(
    prog_type: ProgType,
    attach: Option<AttachType>,
    prog: &Program,
    inputs: &[Input],
) -> Vec<Report> {
    inputs
        .iter()
        .map(|i| {
            let input = to_input(i);
            let mut run = match TestRun::new(prog_type, attach, &input) {
                Ok(r) => r,
                Err(e) => return Err(e.errno()),
            };
            let mut host = HelperHost::new(Vec::new());
            let mut vm = Machine::new();
            let out = run
                .run(&mut host, |env, ctx| vm.run(prog, env, &[ctx]))
                .unwrap_or_else(|e| panic!("oxbpf run failed: {e}"));
            if out.errno != 0 {
                return Err(out.errno);
            }
            // testkit: a syscall program's ctx_out is ctx_in as left.
            Ok((out.retval, out.data_out, out.ctx_out))
        })
        .collect()
}

/// Runs `text` on every input in the kernel (when permitted) and in
/// oxbpf (checked and unchecked), and asserts that they agree. Returns
/// oxbpf's reports.
pub fn check(
    name: &str,
    prog_type: ProgType,
    attach: Option<AttachType>,
    text: &str,
    inputs: &[Input],
) -> Vec<Report> {
    let raw = asm(text);
    let checked = ours_prepare(prog_type, attach, &raw, true);
    let unchecked = ours_prepare(prog_type, attach, &raw, false);
    let ours = ours_side(prog_type, attach, &checked, inputs);
    let ours_u = ours_side(prog_type, attach, &unchecked, inputs);
    assert_eq!(ours, ours_u, "{name}: checked and unchecked runs differ");
    match testkit::require_kernel() {
        Some(k) => {
            let theirs = kernel_side(&k, prog_type, attach, &raw, inputs);
            let mut bad = String::new();
            for (n, (o, t)) in ours.iter().zip(&theirs).enumerate() {
                if o != t {
                    bad += &format!(
                        "input #{n}:\n  oxbpf:  {}\n  kernel: {}\n",
                        short(o),
                        short(t)
                    );
                }
            }
            assert!(bad.is_empty(), "{name}: differs from the kernel\n{bad}");
        }
        None => eprintln!("SKIPPED kernel comparison of {name}: bpf(2) not permitted"),
    }
    ours
}

/// Ethernet + IPv4 + TCP (valid checksums) with `payload`.
pub fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
    let mut p = eth(0x0800);
    let tot = 20 + 20 + payload.len();
    let mut ip = vec![
        0x45,
        0,
        (tot >> 8) as u8,
        tot as u8,
        0x12,
        0x34,
        0x40,
        0,
        64,
        6,
        0,
        0,
        10,
        0,
        0,
        1,
        10,
        0,
        0,
        2,
    ];
    let c = csum(&ip, 0);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut tcp = vec![
        0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x72, 0x10, 0, 0, 0, 0,
    ];
    tcp.extend_from_slice(payload);
    let c = csum(&tcp, pseudo(&ip, 6, tcp.len()));
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    p.extend(ip);
    p.extend(tcp);
    p
}

/// Ethernet + IPv4 + UDP with checksum `udp_csum` (`None`: computed).
pub fn ipv4_udp(payload: &[u8], udp_csum: Option<u16>) -> Vec<u8> {
    let mut p = eth(0x0800);
    let tot = 20 + 8 + payload.len();
    let mut ip = vec![
        0x45,
        0,
        (tot >> 8) as u8,
        tot as u8,
        0,
        1,
        0,
        0,
        64,
        17,
        0,
        0,
        192,
        168,
        1,
        1,
        192,
        168,
        1,
        2,
    ];
    let c = csum(&ip, 0);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let ul = 8 + payload.len();
    let mut udp = vec![0x13, 0x88, 0x00, 0x35, (ul >> 8) as u8, ul as u8, 0, 0];
    udp.extend_from_slice(payload);
    let c = udp_csum.unwrap_or_else(|| csum(&udp, pseudo(&ip, 17, udp.len())));
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    p.extend(ip);
    p.extend(udp);
    p
}

/// Ethernet + IPv6 + TCP (checksum left 0).
pub fn ipv6_tcp(payload: &[u8]) -> Vec<u8> {
    let mut p = eth(0x86dd);
    let pl = 20 + payload.len();
    let mut ip = vec![0x60, 0, 0, 0, (pl >> 8) as u8, pl as u8, 6, 64];
    ip.extend((0..16).map(|i| 0x20 + i as u8));
    ip.extend((0..16).map(|i| 0x40 + i as u8));
    p.extend(ip);
    p.extend([
        0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x72, 0x10, 0, 0, 0, 0,
    ]);
    p.extend_from_slice(payload);
    p
}

/// An 802.1Q-tagged (VLAN 100, priority 3) IPv4/TCP frame.
pub fn vlan_ipv4() -> Vec<u8> {
    let inner = ipv4_tcp(b"vlan");
    let mut p = inner[..12].to_vec();
    p.extend([0x81, 0x00, 0x60, 0x64]);
    p.extend_from_slice(&inner[12..]);
    p
}

fn eth(proto: u16) -> Vec<u8> {
    let mut p = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
    p.extend(proto.to_be_bytes());
    p
}

fn pseudo(ip: &[u8], proto: u8, len: usize) -> u32 {
    let mut s = 0u32;
    for w in ip[12..20].chunks(2) {
        s += u16::from_be_bytes([w[0], w[1]]) as u32;
    }
    s + proto as u32 + len as u32
}

/// The Internet checksum of `b` (big-endian words) plus `init`.
pub fn csum(b: &[u8], init: u32) -> u16 {
    let mut s = init as u64;
    for w in b.chunks(2) {
        s += u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]) as u64;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// The usual packets: IPv4/TCP, IPv4/UDP, IPv6/TCP, VLAN, ARP-like,
/// broadcast, a bare Ethernet header, a truncated IPv4 header.
pub fn packets() -> Vec<Vec<u8>> {
    let mut bcast = ipv4_udp(b"hello", None);
    bcast[..6].fill(0xff);
    let mut mcast = ipv4_tcp(b"m");
    mcast[0] = 0x01;
    let mut arp = eth(0x0806);
    arp.extend([0u8; 28]);
    let mut llc = eth(0x0040);
    llc.extend([0xff, 0xff, 1, 2]);
    let mut host = ipv4_tcp(b"");
    host[..6].fill(0);
    vec![
        ipv4_tcp(b"payload!"),
        ipv4_udp(b"hello world", None),
        ipv6_tcp(b"six"),
        vlan_ipv4(),
        arp,
        bcast,
        mcast,
        llc,
        host,
        eth(0x0800),
        ipv4_tcp(b"")[..20].to_vec(),
    ]
}

/// A report, with long buffers cut (diffs stay readable).
pub fn short(r: &Report) -> String {
    match r {
        Err(e) => format!("Err({e})"),
        Ok((ret, d, c)) => {
            let cut = |v: &Vec<u8>| {
                if v.len() > 96 {
                    format!("{:?}.. ({} bytes)", &v[..96], v.len())
                } else {
                    format!("{v:?}")
                }
            };
            format!("retval {ret}, data {}, ctx {}", cut(d), cut(c))
        }
    }
}

/// Moves context accesses through r6 to the runtime layout, as the
/// verifier's rewrite would (packet pointers become 64-bit loads).
pub fn hand_rewrite(raw: &[RawInsn], prog_type: ProgType) -> Vec<RawInsn> {
    use uapi::ctx::kern;
    let xdp = prog_type == ProgType::Xdp;
    let ptr_fields: &[u32] = if xdp { &[0, 4, 8] } else { &[76, 80, 140] };
    raw.iter()
        .map(|&i| {
            let class = i.code & 7;
            let mem = i.code & 0xe0 == 0x60;
            let base = match class {
                1 => i.src,
                2 | 3 => i.dst,
                _ => return i,
            };
            if !mem || base != 6 {
                return i;
            }
            let off = i.off as u32;
            let map = |o: u32| {
                if xdp {
                    kern::xdp_field(o)
                } else {
                    kern::skb_field(o)
                }
            };
            let mut out = i;
            if ptr_fields.contains(&off) {
                out.off = map(off).expect("pointer field") as i16;
                out.code = (i.code & !0x18) | 0x18;
                return out;
            }
            let k = map(off)
                .or_else(|| map(off & !3).map(|k| k + (off & 3)))
                .or_else(|| map(off & !7).map(|k| k + (off & 7)))
                .unwrap_or_else(|| panic!("no runtime offset for ctx offset {off}"));
            out.off = k as i16;
            out
        })
        .collect()
}

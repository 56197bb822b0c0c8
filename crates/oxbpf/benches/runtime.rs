//! The runtime against Linux on real objects: `BPF_PROG_TEST_RUN` with
//! `repeat` on the C corpus's packet programs — what `oxbpf prog run …
//! repeat N` and `bpftool prog run … repeat N` report — and pcap
//! throughput on a generated capture of a million packets: oxbpf's pcap
//! loop (reset the packet, run, count the verdict) against one
//! `BPF_PROG_TEST_RUN` syscall per packet in the kernel.
//!
//! ```text
//! cargo bench -p oxbpf --bench runtime            # PACKETS=1000000 by default
//! ONLY=xdp_firewall PACKETS=0 cargo bench -p oxbpf --bench runtime   # one program, no pcap
//! ```
//!
//! Each number is the median of 5 rounds; durations are the averages the
//! test runs themselves report (ns per run). Needs root and bpftool for the
//! kernel column (skipped, with a note, otherwise).

use oxbpf::{LoadOptions, Runtime, TestRunInput};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// (object, program) pairs: XDP, tc and socket programs of the corpus
/// that someone else would write — parsers, firewalls, NAT, load balancers.
const PROGRAMS: &[(&str, &str)] = &[
    ("xdp_fw_lpm", "xdp_firewall"),
    ("xdp_lb_ipv4", "xdp_lb_ipv4"),
    ("xdp_conntrack", "xdp_conntrack"),
    ("xdp_vlan", "xdp_vlan_filter"),
    ("xdp_ipip_encap", "xdp_ipip_encap"),
    ("cpuv4_bswap", "xdp_parse_be"),
    ("subprograms", "xdp_subprogs"),
    ("tc_dnat", "tc_dnat_ingress"),
    ("tc_nat64", "tc_nat64_egress"),
    ("tc_gue_encap", "tc_gue_encap"),
    ("loops_bounded", "loop_tcp_opts"),
    ("socket_filter_dns", "dns_query_filter"),
];

/// (object under `target/external-corpus/`, program) pairs that nobody
/// here wrote (`EXTERNAL=1`; fetch them with
/// `scripts/fetch-external-corpus.sh`): the kernel selftests' load
/// balancers (`test_l4lb*`, `test_xdp_noinline`: Katran's data path),
/// packet-access and redirect tests, xdp-tools' filters and dispatcher.
/// Their maps start empty, as after a plain `bpftool prog loadall`, so
/// each runs the path a packet that matches no rule takes. Those oxbpf
/// cannot load yet (helpers it lacks: `test_l4lb*`, `cls_redirect`, …)
/// say why and are left out of the table.
const EXTERNAL: &[(&str, &str)] = &[
    ("selftests/test_xdp_noinline.o", "balancer_ingress_v4"),
    ("selftests/test_l4lb.o", "balancer_ingress"),
    ("selftests/test_l4lb_noinline.o", "balancer_ingress"),
    ("selftests/test_pkt_access.o", "test_pkt_access"),
    ("selftests/test_cls_redirect.o", "cls_redirect"),
    ("selftests/test_xdp.o", "_xdp_tx_iptunnel"),
    (
        "selftests/test_tcp_check_syncookie_kern.o",
        "check_syncookie_xdp",
    ),
    ("selftests/xdpwall.o", "edgewall"),
    ("selftests/test_global_func1.o", "global_func1"),
    ("selftests/test_tc_neigh_fib.o", "tc_dst"),
    ("libxdp/libxdp1--xdpfilt_alw_all.o", "xdpfilt_alw_all"),
    ("libxdp/libxdp1--xdpfilt_dny_tcp.o", "xdpfilt_dny_tcp"),
    ("libxdp/libxdp1--xdp-dispatcher.o", "xdp_dispatcher"),
    ("libxdp/libxdp1--xdpdump_xdp.o", "xdpdump"),
];

/// A program's own test set-up, as its selftest makes it: the packet to run
/// and map entries `(map, key, value)` written on both sides first.
struct Setup {
    label: &'static str,
    packet: Vec<u8>,
    entries: Vec<(&'static str, Vec<u8>, Vec<u8>)>,
}

/// `prog_tests/xdp_noinline.c`: one VIP (`{vip 0, port 0, proto TCP}`,
/// vip_num 5), its consistent-hash ring slots pointing at real 3, whose
/// address is the test's magic 0x1234, and the selftests' `pkt_v4`. The
/// packet then takes Katran's whole path — VIP hit, LRU connection table
/// miss and update, ring and real lookups, IP-in-IP encapsulation,
/// statistics — and the program returns XDP_DROP with the real's address
/// written at the front.
fn katran_setup() -> Setup {
    let mut vip = vec![0u8; 24]; // struct vip_definition
    vip[20] = 6; // proto
    let meta = [0u32.to_ne_bytes(), 5u32.to_ne_bytes()].concat(); // flags, vip_num
    let mut real = vec![0u8; 20]; // struct real_definition
    real[..4].copy_from_slice(&0x1234u32.to_ne_bytes());
    let mut entries = vec![("vip_map", vip, meta)];
    for slot in [10u32, 11] {
        entries.push((
            "ch_rings",
            slot.to_ne_bytes().to_vec(),
            3u32.to_ne_bytes().to_vec(),
        ));
    }
    entries.push(("reals", 3u32.to_ne_bytes().to_vec(), real));
    // pkt_v4: Ethernet (IPv4), IPv4 (ihl 5, TCP, tot_len 123), TCP (doff 5,
    // urg_ptr 123), everything else zero.
    let mut packet = vec![0u8; 54];
    packet[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    packet[14] = 0x05;
    packet[16..18].copy_from_slice(&123u16.to_be_bytes());
    packet[23] = 6;
    packet[34 + 12] = 0x50;
    packet[34 + 18..34 + 20].copy_from_slice(&123u16.to_be_bytes());
    Setup {
        label: "selftest's maps and packet",
        packet,
        entries,
    }
}

/// Programs of EXTERNAL that also run once more with their selftest's
/// set-up.
const SETUPS: &[(&str, SetupFn)] = &[("balancer_ingress_v4", katran_setup)];

type SetupFn = fn() -> Setup;

const ROUNDS: usize = 5;

/// An Ethernet + IPv4 + TCP SYN to port 80 with some payload: the packet
/// every program is timed on.
fn tcp_syn(i: u32, payload: usize) -> Vec<u8> {
    let mut p = vec![
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x08, 0x00,
    ];
    let total = 20 + 20 + payload;
    let src = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
    let mut ip = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        64,
        6,
        0,
        0,
        src[0],
        src[1],
        src[2],
        src[3],
        10,
        0,
        0,
        2,
    ];
    let sum = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum::<u32>();
    let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(&ip);
    let sport = 1024 + (i % 50000) as u16;
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&[
        0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
    ]);
    p.extend((0..payload).map(|b| b as u8));
    p
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

struct Kernel {
    k: testkit::kernel::Kernel,
    dirs: Vec<PathBuf>,
}

impl Drop for Kernel {
    fn drop(&mut self) {
        for d in &self.dirs {
            let _ = std::fs::remove_dir_all(d);
            let _ = std::fs::remove_dir_all(format!("{}_maps", d.display()));
        }
    }
}

impl Kernel {
    /// Where `bpftool prog loadall` pins the programs of the object loaded
    /// for `stem` (its maps: the same with `_maps`).
    fn dir(stem: &str) -> PathBuf {
        PathBuf::from(format!(
            "/sys/fs/bpf/oxbpf_bench_{}_{stem}",
            std::process::id()
        ))
    }

    /// Writes one entry of a map of the object loaded for `stem`.
    fn update_map(&self, stem: &str, map: &str, key: &[u8], value: &[u8]) -> bool {
        let pin = PathBuf::from(format!("{}_maps/{map}", Self::dir(stem).display()));
        self.k
            .map_from_pin(&pin)
            .and_then(|m| m.update(key, value, 0))
            .is_ok()
    }

    fn load(&mut self, obj: &Path, stem: &str, prog: &str) -> Option<testkit::kernel::Prog> {
        let dir = Self::dir(stem);
        if !self.dirs.contains(&dir) {
            let ok = Command::new("bpftool")
                .args(["prog", "loadall"])
                .arg(obj)
                .arg(&dir)
                .arg("pinmaps")
                .arg(format!("{}_maps", dir.display()))
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok {
                return None;
            }
            self.dirs.push(dir.clone());
        }
        // bpftool pins a program under its full name; an older one cut
        // names to 15 bytes, which may match several (`balancer_ingress_v4`
        // and `_v6`): the exact name first.
        let names: Vec<String> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let name = names.iter().find(|n| *n == prog).or_else(|| {
            names
                .iter()
                .find(|n| n.starts_with(&prog[..prog.len().min(15)]))
        })?;
        self.k.prog_from_pin(&dir.join(name)).ok()
    }
}

fn main() {
    let packets: usize = std::env::var("PACKETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let repeat: u32 = std::env::var("REPEAT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let rt = Runtime::new();
    let mut kernel = match testkit::kernel::Kernel::probe() {
        Ok(k) if Command::new("bpftool").arg("version").output().is_ok() => Some(Kernel {
            k,
            dirs: Vec::new(),
        }),
        _ => {
            eprintln!("note: no bpf(2) or no bpftool: the kernel column is skipped");
            None
        }
    };
    let pkt = tcp_syn(7, 64);

    println!("## prog run … repeat {repeat}: ns per run (median of {ROUNDS})\n");
    println!("| program | Linux (JIT) | oxbpf JIT | oxbpf JIT, wall clock | oxbpf interpreter | JIT / Linux | interpreter / Linux |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    let mut interp_ratios = Vec::new();
    // `ONLY=name,name` times just those programs (for profiling one).
    let only: Option<Vec<String>> = std::env::var("ONLY")
        .ok()
        .map(|s| s.split(',').map(str::to_string).collect());
    // `EXTERNAL=1` times the programs of EXTERNAL instead of the corpus's.
    let external = std::env::var_os("EXTERNAL").is_some();
    let list: Vec<(String, PathBuf, &str, Option<Setup>)> = if external {
        let base = repo().join("target/external-corpus");
        let mut list = Vec::new();
        for (path, name) in EXTERNAL {
            let stem = Path::new(path).file_stem().unwrap_or_default();
            let stem = stem.to_string_lossy().into_owned();
            list.push((stem.clone(), base.join(path), *name, None));
            for (n, setup) in SETUPS {
                if n == name {
                    list.push((stem.clone(), base.join(path), *name, Some(setup())));
                }
            }
        }
        list
    } else {
        PROGRAMS
            .iter()
            .map(|(stem, name)| {
                let obj = repo().join("corpus/obj").join(format!("{stem}.o"));
                (stem.to_string(), obj, *name, None)
            })
            .collect()
    };
    for (stem, obj, name, setup) in &list {
        let (stem, name) = (stem.as_str(), *name);
        let pkt = setup.as_ref().map_or(&pkt, |s| &s.packet);
        let label = match setup {
            Some(s) => format!("{stem}::{name} ({})", s.label),
            None => format!("{stem}::{name}"),
        };
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| n == stem || n == name))
        {
            continue;
        }
        if !obj.exists() {
            eprintln!(
                "{stem}: {} is missing (scripts/fetch-external-corpus.sh)",
                obj.display()
            );
            continue;
        }
        let loaded = match rt.load_file(obj, &LoadOptions::default()) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("{stem}: {e}");
                continue;
            }
        };
        let Ok(prog) = loaded.program(name) else {
            eprintln!("{stem}: no program {name}");
            continue;
        };
        for (map, k, v) in setup.iter().flat_map(|s| &s.entries) {
            if let Err(e) = loaded.map(map).and_then(|m| m.update(k, v, 0)) {
                eprintln!("{label}: map {map}: {e}");
            }
        }
        // `DUMP=1`: the JIT's code of each timed program (for profiles).
        if std::env::var_os("DUMP").is_some() {
            if let Some(j) = prog.jited() {
                eprintln!("{stem}::{name}:\n{}", j.dump_jited(false));
            }
        }
        let input = TestRunInput {
            data_in: pkt,
            repeat,
            ..Default::default()
        };
        let time = |engine| {
            median(
                (0..ROUNDS)
                    .map(|_| {
                        prog.test_run_on(&input, engine)
                            .map_or(f64::NAN, |o| o.duration_ns as f64)
                    })
                    .collect(),
            )
        };
        // The same runs timed from outside on the wall clock, which, unlike
        // the reported duration (thread CPU time, as the kernel's timer
        // leaves out time descheduled), counts time other processes take.
        let wall = median(
            (0..ROUNDS)
                .map(|_| {
                    let t0 = Instant::now();
                    let ok = prog.test_run_on(&input, oxbpf::Engine::Jit).is_ok();
                    let ns = t0.elapsed().as_nanos() as f64 / f64::from(repeat.max(1));
                    if ok {
                        ns
                    } else {
                        f64::NAN
                    }
                })
                .collect(),
        );
        let ours = time(oxbpf::Engine::Jit);
        // `JIT_ONLY=1` skips the interpreter (for profiling the JIT).
        let interp = if std::env::var_os("JIT_ONLY").is_some() {
            f64::NAN
        } else {
            time(oxbpf::Engine::Interpreter)
        };
        let theirs = kernel
            .as_mut()
            .and_then(|k| {
                let kp = k.load(obj, stem, name)?;
                for (map, key, v) in setup.iter().flat_map(|s| &s.entries) {
                    if !k.update_map(stem, map, key, v) {
                        eprintln!("{label}: Linux's map {map} could not be written");
                    }
                }
                Some(kp)
            })
            .map(|kp| {
                if std::env::var_os("DUMP").is_some() {
                    if let Ok(code) = kp.jited_insns() {
                        eprintln!(
                            "{stem}::{name} (Linux):\n{}",
                            jit::dump_jited(&code, 0, false)
                        );
                    }
                }
                // Same work on both sides: one run's verdict and packet.
                let once = testkit::kernel::TestRun {
                    data_in: pkt,
                    repeat: 1,
                    ..Default::default()
                };
                let ours = prog.test_run_on(
                    &TestRunInput {
                        repeat: 1,
                        data_size_out: Some(pkt.len() as u32 + 4096),
                        ..input
                    },
                    oxbpf::Engine::Jit,
                );
                if let (Ok(a), Ok(b)) = (ours, kp.test_run(&once)) {
                    if (a.retval, &a.data_out) != (b.retval, &b.data_out) {
                        eprintln!(
                            "warning: {stem}::{name}: retval {} vs Linux {} (packets equal: {})",
                            a.retval,
                            b.retval,
                            a.data_out == b.data_out
                        );
                    }
                }
                median(
                    (0..ROUNDS)
                        .map(|_| {
                            kp.test_run(&testkit::kernel::TestRun {
                                data_in: pkt,
                                repeat,
                                ..Default::default()
                            })
                            .map_or(f64::NAN, |o| o.duration_ns as f64)
                        })
                        .collect(),
                )
            });
        match theirs {
            Some(t) if t > 0.0 => {
                ratios.push(ours / t);
                interp_ratios.push(interp / t);
                println!(
                    "| {label} | {t:.0} | {ours:.0} | {wall:.0} | {interp:.0} | {:.2}× | {:.2}× |",
                    ours / t,
                    interp / t
                );
            }
            Some(t) => {
                println!("| {label} | {t:.0} | {ours:.0} | {wall:.0} | {interp:.0} | – | – |")
            }
            None => {
                println!("| {label} | – | {ours:.0} | {wall:.0} | {interp:.0} | – | – |")
            }
        }
    }
    let geo = |v: &[f64]| (v.iter().map(|r| r.ln()).sum::<f64>() / v.len() as f64).exp();
    if !ratios.is_empty() {
        println!(
            "\ngeometric mean: JIT / Linux {:.2}×, interpreter / Linux {:.2}×\n",
            geo(&ratios),
            geo(&interp_ratios)
        );
    }

    // pcap throughput: a million different packets through one program.
    if packets == 0 {
        return;
    }
    let capture: Vec<Vec<u8>> = (0..packets as u32)
        .map(|i| tcp_syn(i, (i % 64) as usize))
        .collect();
    let (stem, name) = ("xdp_fw_lpm", "xdp_firewall");
    let obj = repo().join("corpus/obj").join(format!("{stem}.o"));
    let loaded = rt.load_file(&obj, &LoadOptions::default()).expect("load");
    let prog = loaded.program(name).expect("program");
    let pps = |engine: oxbpf::Engine| {
        let mut ours = Vec::new();
        for _ in 0..ROUNDS {
            let mut host = prog.helper_host();
            let mut machine = oxbpf::Machine::new();
            let mut run = oxbpf::TestRun::new(
                prog.prog_type(),
                None,
                &TestRunInput {
                    data_in: &capture[0],
                    ..Default::default()
                },
            )
            .expect("test run");
            let t0 = Instant::now();
            let mut passed = 0u64;
            for p in &capture {
                run.reset_packet(p).expect("packet");
                let r0 = prog
                    .run_once_on(&mut run, &mut host, &mut machine, 0, engine)
                    .expect("run");
                passed += u64::from(oxbpf::verdict(prog.prog_type(), r0).passes());
            }
            std::hint::black_box(passed);
            ours.push(packets as f64 / t0.elapsed().as_secs_f64());
        }
        median(ours)
    };
    let ours = pps(oxbpf::Engine::Jit);
    let interp = pps(oxbpf::Engine::Interpreter);
    let theirs = kernel
        .as_mut()
        .and_then(|k| k.load(&obj, stem, name))
        .map(|kp| {
            median(
                (0..ROUNDS)
                    .map(|_| {
                        let t0 = Instant::now();
                        for p in &capture {
                            let _ = kp.test_run(&testkit::kernel::TestRun::with_data(p));
                        }
                        packets as f64 / t0.elapsed().as_secs_f64()
                    })
                    .collect(),
            )
        });
    println!("## pcap: {packets} packets through {stem}::{name} (packets per second, median of {ROUNDS})\n");
    println!("| oxbpf JIT | oxbpf interpreter | Linux (one BPF_PROG_TEST_RUN per packet) | JIT / Linux |");
    println!("|---:|---:|---:|---:|");
    match theirs {
        Some(t) => println!("| {ours:.0} | {interp:.0} | {t:.0} | {:.1}× |", ours / t),
        None => println!("| {ours:.0} | {interp:.0} | – | – |"),
    }
}

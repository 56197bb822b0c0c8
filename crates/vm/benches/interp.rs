//! Interpreter vs rbpf's interpreter on the same bytecode, in one run:
//!
//! * `packet_parse`: Ethernet → IPv4 → TCP header parse of a real SYN packet;
//! * `checksum_1500`: 16-bit one's-complement sum over 1,500 bytes;
//! * `prime_1000`: counts the primes below 1,000 by trial division;
//! * `call_overhead`: `mov r0, 0; exit` — the cost of a run itself.
//!
//! Engines: `oxbpf_checked` (default mode, every access validated: the fair
//! comparison, since rbpf checks its accesses too), `oxbpf_unchecked` (the
//! mode for verified programs) and `rbpf` (`EbpfVmMbuff::execute_program`,
//! r1 = the memory, as ours). After criterion, a table of medians and ratios
//! is printed (`docs/BENCHMARKS.md` quotes it).
//!
//! Time is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not
//! wall-clock time: on a shared machine where other jobs compile, wall time
//! also counts the periods the thread waits for a core, which says nothing
//! about either interpreter. Set `BENCH_WALL=1` for wall-clock time.
//!
//! ```text
//! cargo bench -p oxbpf-vm --bench interp
//! ```

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Criterion};
use isa::{AluOp, ByteOrder, Insn, JmpCond, Operand, Reg, Size, Width};
use oxbpf_vm::{HelperRegistry, Machine, PrepareOptions, Program, RegionKind, RunEnv};
use std::hint::black_box;
use std::time::Duration;

fn r(n: u8) -> Reg {
    Reg::new(n).unwrap()
}
fn alu(op: AluOp, d: u8, imm: i32) -> Insn {
    Insn::Alu {
        width: Width::W64,
        op,
        dst: r(d),
        src: Operand::Imm(imm),
    }
}
fn alur(op: AluOp, d: u8, s: u8) -> Insn {
    Insn::Alu {
        width: Width::W64,
        op,
        dst: r(d),
        src: Operand::Reg(r(s)),
    }
}
fn jmp(cond: JmpCond, d: u8, imm: i32, off: i16) -> Insn {
    Insn::Jump {
        width: Width::W64,
        cond,
        dst: r(d),
        src: Operand::Imm(imm),
        off,
    }
}
fn jmpr(cond: JmpCond, d: u8, s: u8, off: i16) -> Insn {
    Insn::Jump {
        width: Width::W64,
        cond,
        dst: r(d),
        src: Operand::Reg(r(s)),
        off,
    }
}
fn ldx(size: Size, d: u8, s: u8, off: i16) -> Insn {
    Insn::Load {
        size,
        signed: false,
        dst: r(d),
        src: r(s),
        off,
    }
}
fn be(d: u8, bits: u8) -> Insn {
    Insn::Endian {
        order: ByteOrder::ToBe,
        dst: r(d),
        bits,
    }
}
use AluOp::*;
use JmpCond::*;
const EXIT: Insn = Insn::Exit;

/// Ethernet/IPv4/TCP: returns src_ip ^ (sport << 16 | dport) ^ flags for a
/// TCP packet, 0 for anything else. Offsets are relative jumps to `exit`.
#[rustfmt::skip]
fn packet_parse(len: i32) -> Vec<Insn> {
    vec![
        alu(Mov, 2, len),             // 0  r2 = length (r1 = packet)
        alu(Mov, 0, 0),               // 1
        jmp(Lt, 2, 14, 33),           // 2  → 36 exit
        ldx(Size::H, 3, 1, 12),       // 3  ethertype
        be(3, 16),                    // 4
        jmp(Ne, 3, 0x0800, 30),       // 5
        jmp(Lt, 2, 34, 29),           // 6
        ldx(Size::B, 4, 1, 14),       // 7  version / ihl
        alur(Mov, 5, 4),              // 8
        alu(Rsh, 5, 4),               // 9
        jmp(Ne, 5, 4, 25),            // 10
        alu(And, 4, 0x0f),            // 11
        alu(Lsh, 4, 2),               // 12 header length
        jmp(Lt, 4, 20, 22),           // 13
        ldx(Size::B, 5, 1, 23),       // 14 protocol
        jmp(Ne, 5, 6, 20),            // 15 TCP only
        ldx(Size::H, 6, 1, 16),       // 16 total length
        be(6, 16),                    // 17
        alur(Mov, 7, 1),              // 18
        alu(Add, 7, 14),              // 19
        alur(Add, 7, 4),              // 20 r7 = TCP header
        alur(Mov, 8, 4),              // 21
        alu(Add, 8, 34),              // 22 14 + ihl + 20
        jmpr(Gt, 8, 2, 12),           // 23
        ldx(Size::H, 3, 7, 0),        // 24 source port
        be(3, 16),                    // 25
        ldx(Size::H, 5, 7, 2),        // 26 destination port
        be(5, 16),                    // 27
        ldx(Size::B, 8, 7, 13),       // 28 flags
        ldx(Size::W, 9, 1, 26),       // 29 source address
        be(9, 32),                    // 30
        alu(Lsh, 3, 16),              // 31
        alur(Or, 3, 5),               // 32
        alur(Xor, 9, 3),              // 33
        alur(Xor, 9, 8),              // 34
        alur(Mov, 0, 9),              // 35
        EXIT,                         // 36
    ]
}

/// One's-complement sum of the 16-bit words of 1,500 bytes at r1, folded.
#[rustfmt::skip]
fn checksum() -> Vec<Insn> {
    vec![
        alu(Mov, 0, 0),
        alu(Mov, 2, 0),
        alur(Mov, 4, 1),
        ldx(Size::H, 3, 4, 0),        // 3 loop
        alur(Add, 0, 3),
        alu(Add, 4, 2),
        alu(Add, 2, 2),
        jmp(Lt, 2, 1500, -5),         // 7 → 3
        alur(Mov, 3, 0),
        alu(Rsh, 3, 16),
        alu(And, 0, 0xffff),
        alur(Add, 0, 3),
        alur(Mov, 3, 0),
        alu(Rsh, 3, 16),
        alur(Add, 0, 3),
        alu(And, 0, 0xffff),
        alu(Xor, 0, 0xffff),
        EXIT,
    ]
}

/// Number of primes below `n`, by trial division up to the square root.
#[rustfmt::skip]
fn primes(n: i32) -> Vec<Insn> {
    vec![
        alu(Mov, 0, 0),               // 0 count
        alu(Mov, 1, 2),               // 1 candidate
        alu(Mov, 2, 2),               // 2 outer: divisor
        alur(Mov, 3, 2),              // 3 inner
        alur(Mul, 3, 2),              // 4
        jmpr(Gt, 3, 1, 5),            // 5 d*d > n → 11 prime
        alur(Mov, 4, 1),              // 6
        alur(Mod, 4, 2),              // 7
        jmp(Eq, 4, 0, 3),             // 8 → 12 composite
        alu(Add, 2, 1),               // 9
        Insn::Ja { off: -8, long: false }, // 10 → 3
        alu(Add, 0, 1),               // 11 prime
        alu(Add, 1, 1),               // 12 next
        jmp(Lt, 1, n, -12),           // 13 → 2
        EXIT,
    ]
}

fn two_insns() -> Vec<Insn> {
    vec![alu(Mov, 0, 0), EXIT]
}

/// A 74-byte TCP SYN: Ethernet, IPv4 (20 bytes, 10.0.0.1 → 10.0.0.2), TCP
/// 40 bytes with options, port 43210 → 80.
fn syn_packet() -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&[
        0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x54, 0, 0xab, 0xcd, 0xef, 0x08, 0x00,
    ]);
    p.extend_from_slice(&[
        0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x0a, 0x6c, 10, 0, 0, 1, 10, 0,
        0, 2,
    ]);
    p.extend_from_slice(&[
        0xa8, 0xca, 0x00, 0x50, 0x3a, 0x1b, 0x4c, 0x5d, 0, 0, 0, 0, 0xa0, 0x02, 0xfa, 0xf0, 0x26,
        0x5e, 0, 0, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x9c, 0x3e, 0x3c, 0, 0,
        0, 0, 0x01, 0x03, 0x03, 0x07,
    ]);
    p
}

struct Case {
    name: &'static str,
    insns: Vec<Insn>,
    mem: Vec<u8>,
    expect: u64,
}

fn cases() -> Vec<Case> {
    let pkt = syn_packet();
    let parse_expect = {
        let src = u32::from_be_bytes([10, 0, 0, 1]) as u64;
        src ^ ((43210u64 << 16) | 80) ^ 0x02
    };
    let data: Vec<u8> = (0..1500u32).map(|i| (i * 7 + 3) as u8).collect();
    let sum = {
        let mut s: u64 = data
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]) as u64)
            .sum();
        s = (s & 0xffff) + (s >> 16);
        s += s >> 16;
        (s & 0xffff) ^ 0xffff
    };
    vec![
        Case {
            name: "packet_parse",
            insns: packet_parse(pkt.len() as i32),
            mem: pkt,
            expect: parse_expect,
        },
        Case {
            name: "checksum_1500",
            insns: checksum(),
            mem: data,
            expect: sum,
        },
        Case {
            name: "prime_1000",
            insns: primes(1000),
            mem: vec![0; 8],
            expect: 168,
        },
        Case {
            name: "call_overhead",
            insns: two_insns(),
            mem: vec![0; 8],
            expect: 0,
        },
    ]
}

fn bytes(insns: &[Insn]) -> Vec<u8> {
    isa::RawInsn::slice_to_bytes(&isa::encode_program(insns))
}

/// CPU time of the calling thread.
struct ThreadCpuTime;

fn thread_cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant
    // Linux supports. On failure `ts` stays zero (never seen in practice).
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu_now()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        WallTime.formatter()
    }
}

fn bench<M: Measurement>(c: &mut Criterion<M>) {
    let helpers = HelperRegistry::with_builtins();
    for case in cases() {
        let code = bytes(&case.insns);
        let checked = Program::from_bytes(&code, &PrepareOptions::new(&helpers)).unwrap();
        // SAFETY: the benchmark programs only read inside their memory and
        // the stack (the checked runs below prove it on the same input).
        let unchecked = unsafe { checked.clone().assume_verified() };
        let mut mem = case.mem.clone();
        let mut env = RunEnv::new();
        let addr = env.add_region(&mut mem, RegionKind::Context);
        let mut vm = Machine::new();
        assert_eq!(
            vm.run(&checked, &mut env, &[addr]),
            Ok(case.expect),
            "{}",
            case.name
        );
        assert_eq!(vm.run(&unchecked, &mut env, &[addr]), Ok(case.expect));
        let insns = vm.executed();
        let rb = rbpf::EbpfVmMbuff::new(Some(&code)).unwrap();
        let rmem = case.mem.clone();
        assert_eq!(
            rb.execute_program(&rmem, &[]).unwrap(),
            case.expect,
            "rbpf {}",
            case.name
        );

        let mut g = c.benchmark_group(case.name);
        g.throughput(criterion::Throughput::Elements(insns));
        g.bench_function(BenchmarkId::new("oxbpf_checked", insns), |b| {
            b.iter(|| vm.run(black_box(&checked), &mut env, &[addr]).unwrap())
        });
        g.bench_function(BenchmarkId::new("oxbpf_unchecked", insns), |b| {
            b.iter(|| vm.run(black_box(&unchecked), &mut env, &[addr]).unwrap())
        });
        g.bench_function(BenchmarkId::new("rbpf", insns), |b| {
            b.iter(|| rb.execute_program(black_box(&rmem), &[]).unwrap())
        });
        g.finish();
    }
}

fn configure<M: Measurement>(c: Criterion<M>) -> Criterion<M> {
    c.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args()
}

/// Reads criterion's `median` estimates back and prints the comparison.
fn summary() {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target").into())
        .join("criterion");
    let median = |group: &str, engine: &str, insns: u64| -> Option<f64> {
        let p = dir
            .join(group)
            .join(engine)
            .join(insns.to_string())
            .join("new/estimates.json");
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
        v["median"]["point_estimate"].as_f64()
    };
    println!("\n| program | insns | oxbpf checked (ns) | oxbpf unchecked (ns) | rbpf (ns) | rbpf / checked | rbpf / unchecked | ns/insn checked |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let (mut log_c, mut log_u, mut n) = (0.0, 0.0, 0);
    let helpers = HelperRegistry::with_builtins();
    for case in cases() {
        let p = Program::prepare(&case.insns, &PrepareOptions::new(&helpers)).unwrap();
        let mut mem = case.mem.clone();
        let mut vm = Machine::new();
        vm.run_on_memory(&p, &mut mem).unwrap();
        let insns = vm.executed();
        let (Some(c), Some(u), Some(rb)) = (
            median(case.name, "oxbpf_checked", insns),
            median(case.name, "oxbpf_unchecked", insns),
            median(case.name, "rbpf", insns),
        ) else {
            println!(
                "| {} | (no criterion results found under {}) |",
                case.name,
                dir.display()
            );
            continue;
        };
        log_c += (rb / c).ln();
        log_u += (rb / u).ln();
        n += 1;
        println!(
            "| {} | {insns} | {c:.1} | {u:.1} | {rb:.1} | {:.2}× | {:.2}× | {:.2} |",
            case.name,
            rb / c,
            rb / u,
            c / insns as f64
        );
    }
    if n > 0 {
        println!(
            "\ngeometric mean of rbpf/oxbpf: checked {:.2}×, unchecked {:.2}×",
            (log_c / n as f64).exp(),
            (log_u / n as f64).exp()
        );
    }
}

fn main() {
    if std::env::var_os("BENCH_WALL").is_some() {
        let mut c = configure(Criterion::default());
        bench(&mut c);
        c.final_summary();
    } else {
        let mut c = configure(Criterion::default().with_measurement(ThreadCpuTime));
        bench(&mut c);
        c.final_summary();
    }
    summary();
}

//! ns per run, side by side in one run: our JIT, our interpreter (unchecked
//! mode, as for verified programs), rbpf's JIT, Linux's JIT
//! (`BPF_PROG_TEST_RUN` with `repeat`: the kernel's own average duration),
//! and the same program in C compiled natively (`benches/native.c`, -O2):
//!
//! * `packet_parse`: Ethernet → IPv4 → TCP header parse of a SYN packet;
//! * `checksum_1500`: 16-bit one's-complement sum over 1,500 bytes;
//! * `prime_500`: primes below 500 by trial division (`%` by a register;
//!   Linux's verifier refuses 1,000: "the sequence of 8193 jumps is too
//!   complex");
//! * `divisions_1000`: a loop of 64-bit `/` and `%` by registers and a
//!   32-bit `/` by a constant;
//! * `two_insns`: `r0 = 2; exit`, the cost of a run itself.
//!
//! Every program is XDP-shaped: `r2`/`r3` = packet start/end read from the
//! context, bounds checked as the verifier wants. Linux reads them from
//! `struct xdp_md` (32-bit fields the verifier rewrites into pointer loads);
//! the other engines get a 16-byte context `{u64 data; u64 data_end}` (the
//! form rbpf's `EbpfVmFixedMbuff` writes) — the two prologue loads differ,
//! nothing else. The kernel reports an integer average (rounded down).
//!
//! Then JIT compile time per instruction on large programs (synthetic ones
//! of 100k instructions and the largest corpus objects).
//!
//! Time is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): on
//! a shared machine wall time also counts waiting for a core. After
//! criterion, a table of medians and ratios is printed (docs/BENCHMARKS.md
//! quotes it).
//!
//! ```text
//! cargo bench -p oxbpf-jit --bench jit
//! ```

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Criterion};
use isa::Insn;
use oxbpf_jit::{CompileOptions, JitProgram};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use vm::{HelperRegistry, Machine, PrepareOptions, Program, Region, RegionKind, RunEnv};

unsafe extern "C" {
    fn native_packet_parse(data: *const u8, end: *const u8) -> u64;
    fn native_checksum(data: *const u8, end: *const u8) -> u64;
    fn native_primes(n: u64) -> u64;
    fn native_divisions(n: u64) -> u64;
    fn native_two_insns() -> u64;
}

const KERNEL_PROLOGUE: &str = "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\n";
const MBUFF_PROLOGUE: &str = "r2 = *(u64 *)(r1 + 0)\nr3 = *(u64 *)(r1 + 8)\n";

const PACKET_PARSE: &str = "
    r0 = 0
    r4 = r2
    r4 += 54
    if r4 > r3 goto out
    r5 = *(u16 *)(r2 + 12)
    r5 = be16 r5
    if r5 != 0x800 goto out
    r5 = *(u8 *)(r2 + 14)
    r6 = r5
    r6 >>= 4
    if r6 != 4 goto out
    r5 &= 15
    r5 <<= 2
    if r5 < 20 goto out
    if r5 > 60 goto out
    r6 = *(u8 *)(r2 + 23)
    if r6 != 6 goto out
    r7 = r2
    r7 += 14
    r7 += r5
    r8 = r7
    r8 += 20
    if r8 > r3 goto out
    r4 = *(u16 *)(r7 + 0)
    r4 = be16 r4
    r5 = *(u16 *)(r7 + 2)
    r5 = be16 r5
    r6 = *(u8 *)(r7 + 13)
    r9 = *(u32 *)(r2 + 26)
    r9 = be32 r9
    r4 <<= 16
    r4 |= r5
    r9 ^= r4
    r9 ^= r6
    r0 = r9
out:
    exit
";

const CHECKSUM: &str = "
    r0 = 0
    r4 = r2
    r5 = 0
loop:
    r6 = r4
    r6 += 2
    if r6 > r3 goto done
    r7 = *(u16 *)(r4 + 0)
    r0 += r7
    r4 += 2
    r5 += 2
    if r5 < 1500 goto loop
done:
    r6 = r0
    r6 >>= 16
    r0 &= 0xffff
    r0 += r6
    r6 = r0
    r6 >>= 16
    r0 += r6
    r0 &= 0xffff
    r0 ^= 0xffff
    exit
";

const PRIMES: &str = "
    r0 = 0
    r1 = 2
outer:
    r2 = 2
inner:
    r3 = r2
    r3 *= r2
    if r3 > r1 goto prime
    r4 = r1
    r4 %= r2
    if r4 == 0 goto next
    r2 += 1
    goto inner
prime:
    r0 += 1
next:
    r1 += 1
    if r1 < 500 goto outer
    exit
";

const DIVISIONS: &str = "
    r0 = 0
    r1 = 1000
    r6 = 0x123456789abc ll
    r9 = 0x9e3779b9 ll
loop:
    r7 = r6
    r7 /= r1
    r0 += r7
    r8 = r1
    r8 += 3
    r7 = r6
    r7 %= r8
    r0 ^= r7
    w7 = w6
    w7 /= 7
    r0 += r7
    r6 += r9
    r1 -= 1
    if r1 != 0 goto loop
    exit
";

const TWO_INSNS: &str = "r0 = 2\nexit\n";

/// A 74-byte TCP SYN: Ethernet, IPv4 10.0.0.1 → 10.0.0.2, TCP 43210 → 80.
fn syn_packet() -> Vec<u8> {
    let mut p = vec![
        0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x54, 0, 0xab, 0xcd, 0xef, 0x08, 0x00,
    ];
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
    body: &'static str,
    /// Whether the body reads the packet (and so needs the prologue).
    packet: bool,
    data: Vec<u8>,
    native: fn(&[u8]) -> u64,
}

fn range(d: &[u8]) -> (*const u8, *const u8) {
    (d.as_ptr(), d.as_ptr().wrapping_add(d.len()))
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "packet_parse",
            body: PACKET_PARSE,
            packet: true,
            data: syn_packet(),
            native: |d| {
                let (a, b) = range(d);
                // SAFETY: reads only within [a, b), checked by the C code.
                unsafe { native_packet_parse(a, b) }
            },
        },
        Case {
            name: "checksum_1500",
            body: CHECKSUM,
            packet: true,
            data: (0..1500u32).map(|i| (i * 7 + 3) as u8).collect(),
            native: |d| {
                let (a, b) = range(d);
                // SAFETY: as above.
                unsafe { native_checksum(a, b) }
            },
        },
        Case {
            name: "prime_500",
            body: PRIMES,
            packet: false,
            data: vec![0; 64],
            // SAFETY: pure arithmetic.
            native: |_| unsafe { native_primes(black_box(500)) },
        },
        Case {
            name: "divisions_1000",
            body: DIVISIONS,
            packet: false,
            data: vec![0; 64],
            // SAFETY: pure arithmetic.
            native: |_| unsafe { native_divisions(black_box(1000)) },
        },
        Case {
            name: "two_insns",
            body: TWO_INSNS,
            packet: false,
            data: vec![0; 64],
            // SAFETY: returns a constant.
            native: |_| unsafe { native_two_insns() },
        },
    ]
}

fn assemble(text: &str) -> Vec<u8> {
    isa::asm::assemble_bytes(text, isa::asm::Syntax::Llvm).expect("benchmark program assembles")
}

fn decode(bytes: &[u8]) -> Vec<Insn> {
    let raw = isa::RawInsn::slice_from_bytes(bytes).expect("slots");
    isa::decode_program(&raw)
        .expect("decodes")
        .into_iter()
        .map(|(_, i)| i)
        .collect()
}

// ---- time measurement ----

struct ThreadCpuTime;

fn thread_cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a
    // constant Linux supports.
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

/// Medians (ns per run) collected for the summary: (case, engine) → ns.
static MEDIANS: Mutex<BTreeMap<(String, String), f64>> = Mutex::new(BTreeMap::new());

/// Median of `samples` timings of `f` run `iters` times, in ns per run.
fn median_ns(mut f: impl FnMut(), iters: u32) -> f64 {
    let mut v: Vec<f64> = (0..31)
        .map(|_| {
            let t = thread_cpu_now();
            for _ in 0..iters {
                f();
            }
            (thread_cpu_now() - t).as_nanos() as f64 / iters as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn record(case: &str, engine: &str, ns: f64) {
    MEDIANS
        .lock()
        .unwrap()
        .insert((case.to_string(), engine.to_string()), ns);
}

/// How many runs take about 2 ms, from one timed run.
fn iters_for(mut f: impl FnMut()) -> u32 {
    let t = Instant::now();
    for _ in 0..100 {
        f();
    }
    let per = t.elapsed().as_nanos() as f64 / 100.0;
    (2_000_000.0 / per.max(1.0)).clamp(10.0, 1e7) as u32
}

fn bench_case<M: Measurement>(c: &mut Criterion<M>, case: &Case, kernel: Option<&testkit::Kernel>) {
    let helpers = HelperRegistry::with_builtins();
    let prep = PrepareOptions::new(&helpers);
    let body = |prologue: &str| {
        if case.packet {
            format!("{prologue}{}", case.body)
        } else {
            case.body.to_string()
        }
    };
    let ours = assemble(&body(MBUFF_PROLOGUE));
    let ours_insns = decode(&ours);
    let mut packet = case.data.clone();
    let start = packet.as_mut_ptr().expose_provenance() as u64;
    let mut mbuff = [0u8; 16];
    mbuff[..8].copy_from_slice(&start.to_le_bytes());
    mbuff[8..].copy_from_slice(&(start + packet.len() as u64).to_le_bytes());
    let expect = (case.native)(&packet);

    // Our JIT and interpreter share one environment.
    let opts = CompileOptions::new(prep);
    // SAFETY: the programs are the kernel verifier's own accepted inputs
    // (checked below when bpf(2) is permitted): bounded loops, packet
    // accesses bounds-checked against data_end.
    let jit = unsafe { JitProgram::compile_trusted(&ours_insns, &opts) }.expect("compiles");
    let prog = Program::prepare(&ours_insns, &prep).expect("prepares");
    // SAFETY: as above.
    let prog = unsafe { prog.assume_verified() };
    let mut env = RunEnv::new();
    let ctx = env.add_region(&mut mbuff, RegionKind::Context);
    // SAFETY: `packet` outlives `env` and is only accessed by the programs.
    unsafe {
        env.add_raw_region(Region {
            start,
            len: case.data.len() as u64,
            writable: true,
            kind: RegionKind::Packet,
        })
    };
    let mut machine = Machine::new();
    assert_eq!(jit.run(&mut env, &[ctx]), Ok(expect), "{}: jit", case.name);
    assert_eq!(
        machine.run(&prog, &mut env, &[ctx]),
        Ok(expect),
        "{}: interp",
        case.name
    );

    // rbpf's JIT over the same program, data pointers at 0 and 8.
    let mut rb = rbpf::EbpfVmFixedMbuff::new(Some(&ours), 0, 8).expect("rbpf loads");
    rb.jit_compile().expect("rbpf JIT compiles");
    // rbpf wants the memory borrowed for the VM's whole lifetime: leak one
    // copy per case and hand out a fresh borrow per run.
    let rb_mem: &'static mut [u8] = Box::leak(case.data.clone().into_boxed_slice());
    let (rb_ptr, rb_len) = (rb_mem.as_mut_ptr(), rb_mem.len());
    // SAFETY: the leaked buffer lives forever and each borrow ends with
    // the run that uses it.
    let rb_mem = move || unsafe { std::slice::from_raw_parts_mut(rb_ptr, rb_len) };
    // SAFETY: rbpf runs the same bounds-checked program over its memory.
    let rb_result = unsafe { rb.execute_program_jit(rb_mem()) }.expect("rbpf runs");
    assert_eq!(rb_result, expect, "{}: rbpf", case.name);

    let mut g = c.benchmark_group(case.name);
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    g.bench_function(BenchmarkId::from_parameter("oxbpf_jit"), |b| {
        b.iter(|| black_box(jit.run(&mut env, black_box(&[ctx]))))
    });
    g.bench_function(BenchmarkId::from_parameter("oxbpf_interp"), |b| {
        b.iter(|| black_box(machine.run(&prog, &mut env, black_box(&[ctx]))))
    });
    g.bench_function(BenchmarkId::from_parameter("rbpf_jit"), |b| {
        // SAFETY: as above.
        b.iter(|| black_box(unsafe { rb.execute_program_jit(black_box(rb_mem())) }))
    });
    g.bench_function(BenchmarkId::from_parameter("native_c"), |b| {
        b.iter(|| black_box((case.native)(black_box(&packet))))
    });
    g.finish();

    // The summary uses our own medians (same clock for every engine).
    let n = iters_for(|| {
        black_box(jit.run(&mut env, &[ctx]).ok());
    });
    record(
        case.name,
        "oxbpf_jit",
        median_ns(
            || {
                black_box(jit.run(&mut env, black_box(&[ctx])).ok());
            },
            n,
        ),
    );
    let n = iters_for(|| {
        black_box(machine.run(&prog, &mut env, &[ctx]).ok());
    });
    record(
        case.name,
        "oxbpf_interp",
        median_ns(
            || {
                black_box(machine.run(&prog, &mut env, black_box(&[ctx])).ok());
            },
            n,
        ),
    );
    record(
        case.name,
        "rbpf_jit",
        median_ns(
            || {
                // SAFETY: as above.
                black_box(unsafe { rb.execute_program_jit(black_box(rb_mem())) }.ok());
            },
            n.max(10),
        ),
    );
    record(
        case.name,
        "native_c",
        median_ns(
            || {
                black_box((case.native)(black_box(&packet)));
            },
            n.max(1000),
        ),
    );
    drop(env);

    if let Some(k) = kernel {
        kernel_case(k, case, &assemble(&body(KERNEL_PROLOGUE)), expect);
    }
}

/// Linux's JIT: load as XDP, check the result, then the median of 31
/// `BPF_PROG_TEST_RUN` averages with `repeat` sized to ~2 ms.
fn kernel_case(k: &testkit::Kernel, case: &Case, bytes: &[u8], expect: u64) {
    use testkit::kernel::{ProgLoad, TestRun};
    let raw = isa::RawInsn::slice_from_bytes(bytes).expect("slots");
    let prog = k
        .load_prog(&ProgLoad::new(uapi::ProgType::Xdp, &raw).name("jit_bench"))
        .unwrap_or_else(|e| panic!("{}: Linux refused the program: {e}", case.name));
    let mut req = TestRun::with_data(&case.data);
    let out = prog.test_run(&req).expect("test run");
    assert_eq!(out.retval, expect as u32, "{}: Linux", case.name);
    req.repeat = 1000;
    let per = prog.test_run(&req).expect("test run").duration_ns.max(1) as f64;
    req.repeat = (2_000_000.0 / per).clamp(1000.0, 1e7) as u32;
    let mut v: Vec<f64> = (0..31)
        .map(|_| prog.test_run(&req).expect("test run").duration_ns as f64)
        .collect();
    v.sort_by(f64::total_cmp);
    record(case.name, "linux_jit", v[v.len() / 2]);
}

// ---- compile time ----

/// A resolver that gives every pseudo `lddw` a dummy value: compile-time
/// measurement only, nothing runs.
struct AnyValue;

impl vm::Resolver for AnyValue {
    fn resolve(&self, _: usize, _: isa::LoadImm) -> Result<u64, vm::BoxError> {
        Ok(0x1000)
    }
}

/// # Safety
/// Never called: compile-time measurement only.
unsafe extern "C" fn dummy_helper(
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: &mut RunEnv<'_>,
) -> u64 {
    0
}

fn compile_time() -> Vec<(String, usize, f64)> {
    let mut helpers = HelperRegistry::new();
    for id in 1..=250 {
        helpers.register(uapi::HelperId(id), dummy_helper);
    }
    let prep = PrepareOptions {
        resolver: Some(&AnyValue),
        ..PrepareOptions::new(&helpers)
    };
    let opts = CompileOptions::new(prep);
    let mut programs: Vec<(String, Vec<Insn>)> = Vec::new();
    // Synthetic: 100k straight-line ALU instructions, and 100k with a
    // conditional branch every fourth instruction (short and long jumps).
    let mut text = String::new();
    for i in 0..25_000 {
        text.push_str(&format!(
            "r{} += {}\nr0 ^= r{}\nr3 *= 5\nr4 /= r5\n",
            i % 10,
            i,
            (i + 3) % 10
        ));
    }
    text.push_str("exit\n");
    programs.push(("synthetic_alu_100k".into(), decode(&assemble(&text))));
    let mut text = String::new();
    for i in 0..25_000 {
        let skip = if i % 7 == 0 { 60 } else { 2 };
        let skip = skip.min((25_000 - i) * 4 - 2);
        text.push_str(&format!(
            "r1 += {i}\nif r1 > r2 goto +{skip}\nr2 <<= 3\nr0 -= r1\n"
        ));
    }
    text.push_str("exit\n");
    programs.push(("synthetic_branchy_100k".into(), decode(&assemble(&text))));
    // The largest programs of the corpus.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpus/obj");
    let mut corpus: Vec<(String, Vec<Insn>)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| oxbpf_object::ObjectSpec::open(e.path()).ok())
        .flat_map(|o| {
            o.programs
                .into_iter()
                .filter_map(|p| {
                    let insns: Vec<Insn> = isa::decode_program(&p.insns)
                        .ok()?
                        .into_iter()
                        .map(|(_, i)| i)
                        .collect();
                    Some((p.name, insns))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    corpus.sort_by_key(|(_, i)| std::cmp::Reverse(i.len()));
    programs.extend(corpus.into_iter().take(4));
    let mut out = Vec::new();
    for (name, insns) in programs {
        let compile = || {
            // SAFETY: compiled only, never run.
            unsafe { JitProgram::compile_trusted(&insns, &opts) }
        };
        if let Err(e) = compile() {
            eprintln!("compile time: {name}: skipped ({e})");
            continue;
        }
        let mut v: Vec<f64> = (0..7)
            .map(|_| {
                let t = thread_cpu_now();
                black_box(compile().ok());
                (thread_cpu_now() - t).as_nanos() as f64
            })
            .collect();
        v.sort_by(f64::total_cmp);
        out.push((name, insns.len(), v[v.len() / 2] / insns.len() as f64));
    }
    out
}

fn summary(compile: &[(String, usize, f64)]) {
    let m = MEDIANS.lock().unwrap();
    let engines = [
        "oxbpf_jit",
        "linux_jit",
        "rbpf_jit",
        "native_c",
        "oxbpf_interp",
    ];
    println!("\n## JIT benchmark: median ns per run (thread CPU time; Linux: its BPF_PROG_TEST_RUN average)\n");
    println!(
        "| program | {} | jit/linux | jit/rbpf | jit/native | interp/jit |",
        engines.join(" | ")
    );
    println!("|---|{}---|---|---|---|", "---|".repeat(engines.len()));
    let mut logs = [0f64; 4];
    let mut n = 0;
    let cases: Vec<String> = m
        .keys()
        .map(|(c, _)| c.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for case in &cases {
        let get = |e: &str| m.get(&(case.clone(), e.to_string())).copied();
        let cells: Vec<String> = engines
            .iter()
            .map(|e| get(e).map_or("–".into(), |v| format!("{v:.1}")))
            .collect();
        let jit = get("oxbpf_jit").unwrap_or(f64::NAN);
        let ratio = |o: Option<f64>| o.map_or(f64::NAN, |o| jit / o);
        let r = [
            ratio(get("linux_jit")),
            ratio(get("rbpf_jit")),
            ratio(get("native_c")),
            get("oxbpf_interp").unwrap_or(f64::NAN) / jit,
        ];
        println!(
            "| {case} | {} | {:.2} | {:.2} | {:.2} | {:.1} |",
            cells.join(" | "),
            r[0],
            r[1],
            r[2],
            r[3]
        );
        for (l, v) in logs.iter_mut().zip(r) {
            *l += v.ln();
        }
        n += 1;
    }
    let g: Vec<String> = logs
        .iter()
        .map(|l| format!("{:.2}", (l / n as f64).exp()))
        .collect();
    println!(
        "| geometric mean | | | | | | {} | {} | {} | {} |",
        g[0], g[1], g[2], g[3]
    );
    println!("\n## JIT compile time\n\n| program | insns | ns per insn |\n|---|---|---|");
    for (name, len, ns) in compile {
        println!("| {name} | {len} | {ns:.0} |");
    }
}

fn main() {
    let kernel = testkit::require_kernel();
    let mut c = Criterion::default()
        .with_measurement(ThreadCpuTime)
        .configure_from_args();
    if std::env::var_os("BENCH_WALL").is_some() {
        let mut c = Criterion::default().configure_from_args();
        for case in cases() {
            bench_case(&mut c, &case, kernel.as_ref());
        }
    } else {
        for case in cases() {
            bench_case(&mut c, &case, kernel.as_ref());
        }
    }
    c.final_summary();
    let compile = compile_time();
    summary(&compile);
}

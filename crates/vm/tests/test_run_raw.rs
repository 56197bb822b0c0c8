//! Test runs of programs whose context is plain memory (raw tracepoints,
//! syscall programs) against the kernel, the pcap path (reset + run once),
//! the program types the kernel cannot test-run, and `bpf_redirect_map`.

mod pkt_helpers_support;

use oxbpf_vm::test_run::{verdict, TestRun, TestRunInput, Verdict};
use oxbpf_vm::{HelperHost, Machine, PrepareOptions, Program};
use pkt_helpers_support::{asm, ipv4_tcp, ours_prepare, packets, Input};
use testkit::kernel::{ProgLoad, TestRun as KRun};
use uapi::ProgType;

fn prepare_raw(text: &str) -> Program {
    let mut h = oxbpf_vm::helpers::standard_registry();
    oxbpf_vm::helpers::register_packet_helpers(&mut h);
    Program::from_raw(&asm(text), &PrepareOptions::new(&h)).expect("prepare")
}

fn ours(
    prog: &Program,
    t: ProgType,
    input: &TestRunInput<'_>,
    max_ctx: u32,
) -> Result<(u32, Vec<u8>), i32> {
    let mut run = TestRun::with_max_ctx_offset(t, None, input, max_ctx).map_err(|e| e.errno())?;
    let mut host = HelperHost::new(Vec::new());
    let mut vm = Machine::new();
    let out = run
        .run(&mut host, |env, ctx| vm.run(prog, env, &[ctx]))
        .expect("runs");
    Ok((out.retval, out.ctx_out))
}

#[test]
fn raw_tracepoint_contexts() {
    // Reads the second argument: the kernel's max_ctx_offset is 16.
    let text = "r0 = *(u64 *)(r1 + 8)\nexit\n";
    let prog = prepare_raw(text);
    let ctx16: Vec<u8> = (1..=16u8).collect();
    let ctx96 = vec![7u8; 96];
    let cases: Vec<(Vec<u8>, u32, u32)> = vec![
        (ctx16.clone(), 0, 0),
        (ctx16[..8].to_vec(), 0, 0),
        (ctx96.clone(), 0, 0),
        ([ctx96.clone(), vec![0; 8]].concat(), 0, 0),
        (ctx16.clone(), 0, 1),
        (ctx16.clone(), 1, 0),
        (ctx16.clone(), 1, 9999),
    ];
    let kernel = testkit::require_kernel();
    let kprog = kernel.as_ref().map(|k| {
        k.load_prog(&ProgLoad::new(ProgType::RawTracepoint, &asm(text)).license("GPL"))
            .expect("kernel load")
    });
    for (ctx, flags, cpu) in cases {
        let input = TestRunInput {
            ctx_in: Some(&ctx),
            flags,
            cpu,
            ..Default::default()
        };
        let o = ours(&prog, ProgType::RawTracepoint, &input, 16).map(|(r, _)| r);
        if let Some(kp) = &kprog {
            let req = KRun {
                ctx_in: &ctx,
                ctx_out_capacity: Some(0),
                flags,
                cpu,
                ..Default::default()
            };
            let k = kp
                .test_run(&req)
                .map(|o| o.retval)
                .map_err(|e| e.errno().unwrap_or(-1));
            assert_eq!(o, k, "raw_tp ctx {} flags {flags} cpu {cpu}", ctx.len());
        }
    }
    if kernel.is_none() {
        eprintln!("SKIPPED kernel comparison of raw tracepoints: bpf(2) not permitted");
    }
}

#[test]
fn syscall_context_is_written_back() {
    let text = "r2 = *(u32 *)(r1 + 0)\nr2 += 1\n*(u32 *)(r1 + 0) = r2\nr0 = r2\nexit\n";
    let prog = prepare_raw(text);
    let ctx = 41u32.to_ne_bytes().repeat(2);
    let input = TestRunInput {
        ctx_in: Some(&ctx),
        ..Default::default()
    };
    let (ret, out) = ours(&prog, ProgType::Syscall, &input, 4).expect("runs");
    assert_eq!(ret, 42);
    assert_eq!(&out[..4], &42u32.to_ne_bytes());
    // Repeat, data and ctx_out are refused; a short context too.
    for bad in [
        TestRunInput {
            ctx_in: Some(&ctx),
            repeat: 2,
            ..Default::default()
        },
        TestRunInput {
            ctx_in: Some(&ctx),
            ctx_size_out: Some(8),
            ..Default::default()
        },
        TestRunInput {
            ctx_in: Some(&ctx[..2]),
            ..Default::default()
        },
    ] {
        assert_eq!(ours(&prog, ProgType::Syscall, &bad, 4).err(), Some(22));
    }
    if let Some(k) = testkit::require_kernel() {
        let kp = k
            .load_prog(
                &ProgLoad::new(ProgType::Syscall, &asm(text))
                    .license("GPL")
                    .prog_flags(1 << 4),
            )
            .expect("kernel load");
        let o = kp
            .test_run(&KRun {
                ctx_in: &ctx,
                ..Default::default()
            })
            .expect("kernel run");
        assert_eq!((o.retval, o.ctx_out), (ret, out));
    }
}

#[test]
fn types_the_kernel_cannot_test_run() {
    let input = TestRunInput {
        data_in: &[0u8; 64],
        ..Default::default()
    };
    for t in [ProgType::Kprobe, ProgType::Tracepoint, ProgType::PerfEvent] {
        let e = TestRun::new(t, None, &input).expect_err("refused");
        assert_eq!(e.errno(), uapi::errno::ENOTSUPP);
    }
    // oxbpf's extension runs them on the bytes given.
    let prog = prepare_raw("r0 = *(u64 *)(r1 + 8)\nexit\n");
    let ctx: Vec<u8> = (0..16u8).collect();
    let mut run = TestRun::raw(ProgType::Kprobe, &ctx);
    let mut host = HelperHost::new(Vec::new());
    let mut vm = Machine::new();
    let out = run
        .run(&mut host, |env, c| vm.run(&prog, env, &[c]))
        .expect("runs");
    assert_eq!(out.r0, u64::from_ne_bytes(ctx[8..16].try_into().unwrap()));
    assert_eq!(out.ctx_out, ctx);
}

#[test]
fn pcap_path_matches_fresh_runs() {
    // A tc program that rewrites a byte and grows the tail: the reused
    // run (reset_packet + run) must equal a fresh TestRun per packet, and
    // the packet buffer is not reallocated.
    let text = "r6 = r1\nr2 = 120\nr3 = 0\ncall 38\nr1 = r6\nr2 = 0\nr3 = r10\nr3 += -4\n\
                r4 = 0x7f\n*(u32 *)(r10 - 4) = r4\nr4 = 1\nr5 = 0\ncall 9\nr0 = *(u32 *)(r6 + 0)\nexit\n";
    for t in [ProgType::SchedCls, ProgType::Xdp] {
        let text = if t == ProgType::Xdp {
            "r2 = -4\ncall 65\nr0 = 2\nexit\n"
        } else {
            text
        };
        let prog = ours_prepare(t, None, &asm(text), true);
        let pkts = packets();
        let first = Input::data(&pkts[0]);
        let mut reused =
            TestRun::new(t, None, &pkt_helpers_support::to_input(&first)).expect("first");
        let base = reused.packet().map(|p| p.buffer().as_ptr());
        let mut host = HelperHost::new(Vec::new());
        let mut vm = Machine::new();
        for p in &pkts {
            let i = Input::data(p);
            let input = pkt_helpers_support::to_input(&i);
            let fresh = TestRun::new(t, None, &input).map(|mut r| {
                r.run(&mut host, |env, c| vm.run(&prog, env, &[c]))
                    .expect("fresh run")
            });
            let again = reused.reset_packet(p).map(|()| {
                reused
                    .run(&mut host, |env, c| vm.run(&prog, env, &[c]))
                    .expect("reused run")
            });
            match (fresh, again) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(
                        (a.retval, &a.data_out),
                        (b.retval, &b.data_out),
                        "{t:?} packet of {} bytes",
                        p.len()
                    );
                    assert_eq!(
                        reused.packet().map(|p| p.buffer().as_ptr()),
                        base,
                        "buffer reallocated"
                    );
                }
                (Err(a), Err(b)) => assert_eq!(a.errno(), b.errno()),
                (a, b) => panic!(
                    "{t:?}: fresh {:?} vs reused {:?}",
                    a.map(|o| o.retval),
                    b.map(|o| o.retval)
                ),
            }
        }
        // And run_once gives the same r0 as run.
        reused.reset_packet(&ipv4_tcp(b"once")).expect("reset");
        let r0 = reused
            .run_once(&mut host, |env, c| vm.run(&prog, env, &[c]))
            .expect("once");
        reused.reset_packet(&ipv4_tcp(b"once")).expect("reset");
        let out = reused
            .run(&mut host, |env, c| vm.run(&prog, env, &[c]))
            .expect("run");
        assert_eq!(r0, out.r0);
    }
}

#[test]
fn verdicts_for_pcap_runners() {
    assert_eq!(verdict(ProgType::Xdp, 4).name(), "XDP_REDIRECT");
    assert!(matches!(
        verdict(ProgType::Xdp, 9),
        Verdict::Xdp { known: false, .. }
    ));
    assert_eq!(verdict(ProgType::SchedCls, 7).name(), "TC_ACT_REDIRECT");
    assert_eq!(
        verdict(ProgType::SocketFilter, 60),
        Verdict::SocketFilter { keep: 60 }
    );
}

#[test]
fn redirect_map_on_a_devmap() {
    use std::sync::Arc;
    let spec = maps::MapSpec::new(uapi::MapType::Devmap, 4, 4, 4);
    let map = Arc::new(maps::Map::create(spec, &maps::MapOptions::new(1)).expect("devmap"));
    map.update(&1u32.to_ne_bytes(), &1u32.to_ne_bytes(), 0)
        .expect("slot 1");
    let addr = HelperHost::map_addr(&map);
    for (key, flags, want, redirect) in [
        (1u32, 0u64, 4u32, Some((1u64, 0u64))),
        (2, 0, 0, None),
        (2, 2, 2, None),
        (1, 4, 0, None),
        (3, 8, 4, Some((3, 8))),
    ] {
        let text = format!("r1 = {addr} ll\nr2 = {key}\nr3 = {flags}\ncall 51\nexit\n");
        // The map pointer is an immediate: only an unchecked run trusts it
        // without the resolver, and a checked run finds it in the host.
        let prog = prepare_raw(&text);
        let data = ipv4_tcp(b"r");
        let input = TestRunInput {
            data_in: &data,
            ..Default::default()
        };
        let mut run = TestRun::new(ProgType::Xdp, None, &input).expect("run");
        let mut host = HelperHost::new(vec![map.clone()]);
        let mut vm = Machine::new();
        let out = run
            .run(&mut host, |env, c| vm.run(&prog, env, &[c]))
            .expect("runs");
        assert_eq!(out.retval, want, "redirect_map(key {key}, flags {flags})");
        assert_eq!(out.redirect, redirect);
    }
}

#[test]
fn checked_runs_fault_on_bad_helper_arguments() {
    let data = ipv4_tcp(b"bad pointers");
    let input = TestRunInput {
        data_in: &data,
        ..Default::default()
    };
    for (t, text) in [
        // skb_load_bytes into memory the program does not own.
        (
            ProgType::SchedCls,
            "r2 = 0\nr3 = 4096\nr4 = 8\ncall 26\nexit\n",
        ),
        // skb_store_bytes from a wild pointer.
        (
            ProgType::SchedCls,
            "r2 = 0\nr3 = 4096\nr4 = 8\nr5 = 0\ncall 9\nexit\n",
        ),
        // A context pointer that is not the context.
        (
            ProgType::SchedCls,
            "r1 = r10\nr1 += -8\nr2 = 4\nr3 = 0\ncall 38\nexit\n",
        ),
        // An XDP helper on an skb.
        (ProgType::SchedCls, "r2 = 4\ncall 44\nexit\n"),
        // csum_diff past the stack.
        (
            ProgType::SchedCls,
            "r1 = r10\nr2 = 8\nr3 = r10\nr3 += -8\nr4 = 8\nr5 = 0\ncall 28\nexit\n",
        ),
        // xdp_load_bytes into a wild pointer.
        (
            ProgType::Xdp,
            "r2 = 0\nr3 = 12345\nr4 = 4\ncall 189\nexit\n",
        ),
    ] {
        let prog = prepare_raw(text);
        let mut run = TestRun::new(t, None, &input).expect("run");
        let mut host = HelperHost::new(Vec::new());
        let mut vm = Machine::new();
        let r = run.run(&mut host, |env, c| vm.run(&prog, env, &[c]));
        assert!(
            matches!(
                r,
                Err(oxbpf_vm::test_run::TestRunError::Vm(
                    oxbpf_vm::VmError::Helper { .. }
                ))
            ),
            "{text}: {r:?}"
        );
    }
}

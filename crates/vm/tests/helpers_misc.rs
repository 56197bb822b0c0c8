//! Strings, probes, time and the current task: unit tests with the errno
//! paths, and the helpers the kernel offers to XDP programs (strtol,
//! strtoul, strncmp, probe_read_kernel{,_str}, numa node, jiffies) compared
//! with it on the same bytes.

mod helpers_support;

use helpers_support::*;
use oxbpf_vm::helpers::misc::{self as m, parse_strtoull};
use oxbpf_vm::host::Current;
use oxbpf_vm::{HelperHost, RegionKind, RunEnv};
use uapi::map::create_flags::BPF_F_RDONLY_PROG;
use uapi::MapType;

const EFAULT: i64 = -14;
const EINVAL: i64 = -22;
const ERANGE: i64 = -34;

#[test]
fn strtoull_rules() {
    let p = |s: &str, f: u64| parse_strtoull(s.as_bytes(), f);
    assert_eq!(p("123", 10), Ok((3, 123, false)));
    assert_eq!(p("  -0x1fz", 0), Ok((7, 31, true)));
    assert_eq!(p("0777", 0), Ok((4, 0o777, false)));
    assert_eq!(p("0x", 0), Ok((1, 0, false)));
    assert_eq!(p("0x10", 16), Ok((4, 16, false)));
    assert_eq!(p("abc", 16), Ok((3, 0xabc, false)));
    assert_eq!(p("99999999999999999999", 10), Err(34));
    assert_eq!(p("abc", 10), Err(22));
    assert_eq!(p("12", 3), Err(22));
    assert_eq!(p("   ", 0), Err(22));
    assert_eq!(p("+5", 0), Err(22));
    assert_eq!(p("5", 0x20), Err(22), "unknown flag bits");
    assert_eq!(p("", 0), Err(22));
    // Only 63 characters after the sign are looked at.
    let long = format!("{}1", "0".repeat(70));
    assert_eq!(p(&long, 10), Ok((63, 0, false)));
}

/// Runs a helper in a checked run whose only region is `mem`.
fn call(
    f: oxbpf_vm::HelperFn,
    host: Option<&mut HelperHost>,
    args: impl FnOnce(u64) -> [u64; 5],
    mem: &mut [u8],
) -> (i64, bool) {
    let mut env = RunEnv::new();
    let base = env.add_region(mem, RegionKind::Other);
    if let Some(h) = host {
        env.set_host(h);
    }
    let a = args(base);
    // SAFETY: arguments point into `mem` (or are meant to fault).
    let r = unsafe { f(a[0], a[1], a[2], a[3], a[4], &mut env) };
    let mark = env.regions().len();
    (r as i64, env.end_compiled_run(mark).is_some())
}

#[test]
fn strtol_and_strtoul_write_the_result() {
    let mut mem = [0u8; 32];
    mem[..4].copy_from_slice(b"-42 ");
    let (r, f) = call(m::strtol, None, |b| [b, 4, 10, b + 8, 0], &mut mem);
    assert_eq!((r, f), (3, false));
    assert_eq!(i64::from_ne_bytes(mem[8..16].try_into().unwrap()), -42);
    let (r, _) = call(m::strtoul, None, |b| [b, 4, 10, b + 8, 0], &mut mem);
    assert_eq!(r, EINVAL);
    mem[..20].copy_from_slice(b"9223372036854775808\0");
    let (r, _) = call(m::strtol, None, |b| [b, 19, 0, b + 24, 0], &mut mem);
    assert_eq!(r, ERANGE);
    let (r, _) = call(m::strtoul, None, |b| [b, 19, 0, b + 24, 0], &mut mem);
    assert_eq!(r, 19);
    assert_eq!(u64::from_ne_bytes(mem[24..32].try_into().unwrap()), 1 << 63);
    // The result pointer outside the run's memory faults the program.
    let (_, f) = call(m::strtol, None, |b| [b, 2, 0, b + 28, 0], &mut mem);
    assert!(f);
}

#[test]
fn probes_read_regions_and_fail_cleanly() {
    let mut mem = [0u8; 48];
    mem[..8].copy_from_slice(b"abcdefg\0");
    // probe_read from the region.
    let (r, _) = call(
        m::probe_read_kernel,
        None,
        |b| [b + 16, 8, b, 0, 0],
        &mut mem,
    );
    assert_eq!(r, 0);
    assert_eq!(&mem[16..24], b"abcdefg\0");
    // From outside every region, checked: -EFAULT and the destination zeroed.
    mem[16..24].fill(0xff);
    let host_byte = 7u64;
    let outside = std::ptr::from_ref(&host_byte).expose_provenance() as u64;
    // (The kernel refuses a user-space address in the `_kernel` probes with
    // -ERANGE; every address here is one.)
    for (f, errno) in [
        (m::probe_read as oxbpf_vm::HelperFn, EFAULT),
        (m::probe_read_kernel, ERANGE),
        (m::probe_read_user, EFAULT),
    ] {
        mem[16..24].fill(0xff);
        let (r, _) = call(f, None, |b| [b + 16, 8, outside, 0, 0], &mut mem);
        assert_eq!(r, errno);
        assert_eq!(&mem[16..24], &[0; 8]);
    }
    // Strings: length with the NUL, truncation, bytes after it untouched.
    mem[16..32].fill(0xff);
    let (r, _) = call(m::probe_read_str, None, |b| [b + 16, 16, b, 0, 0], &mut mem);
    assert_eq!(r, 8);
    assert_eq!(&mem[16..25], b"abcdefg\0\xff");
    let (r, _) = call(
        m::probe_read_kernel_str,
        None,
        |b| [b + 16, 3, b, 0, 0],
        &mut mem,
    );
    assert_eq!(r, 3);
    assert_eq!(&mem[16..19], b"ab\0");
    let (r, _) = call(
        m::probe_read_user_str,
        None,
        |b| [b + 16, 0, b, 0, 0],
        &mut mem,
    );
    assert_eq!(r, 0);
    mem[16..32].fill(0xff);
    let (r, _) = call(
        m::probe_read_user_str,
        None,
        |b| [b + 16, 16, outside, 0, 0],
        &mut mem,
    );
    assert_eq!(r, EFAULT);
    assert_eq!(&mem[16..32], &[0; 16]);
    // A string running to the end of its region without a NUL faults where
    // the region ends.
    mem[40..48].copy_from_slice(b"xxxxxxxx");
    let (r, _) = call(
        m::probe_read_str,
        None,
        |b| [b + 16, 16, b + 40, 0, 0],
        &mut mem,
    );
    assert_eq!(r, EFAULT);
    // A destination outside the run faults the program.
    let (_, f) = call(m::probe_read, None, |b| [b + 44, 8, b, 0, 0], &mut mem);
    assert!(f);
}

#[test]
fn unchecked_probes_read_host_memory_without_faulting() {
    let src = *b"host memory\0";
    let mut dst = [0xffu8; 16];
    let mut env = RunEnv::new();
    // SAFETY: switches the environment to unchecked; the pointers below are
    // valid (dst) or meant to fail cleanly (src at 16).
    unsafe {
        let _ = env.begin_compiled_run();
        let s = std::ptr::from_ref(&src).expose_provenance() as u64;
        let d = std::ptr::from_mut(&mut dst).expose_provenance() as u64;
        assert_eq!(m::probe_read_kernel_str(d, 16, s, 0, 0, &mut env), 12);
        assert_eq!(
            m::probe_read_kernel(d, 16, 16, 0, 0, &mut env) as i64,
            ERANGE
        );
        assert_eq!(m::probe_read_str(d, 16, 16, 0, 0, &mut env) as i64, EFAULT);
    }
    assert!(env.end_compiled_run(0).is_none());
    assert_eq!(dst, [0; 16]);
}

#[test]
fn current_task_helpers() {
    let mut host = HelperHost::new(Vec::new());
    let mut comm = [0u8; 16];
    comm[..11].copy_from_slice(b"oxbpf-tests");
    host.current = Current {
        pid: 11,
        tgid: 22,
        uid: 33,
        gid: 44,
        comm,
    };
    host.func_ip = 0xffff_1234;
    let mut mem = [0xffu8; 16];
    let (r, _) = call(
        m::get_current_pid_tgid,
        Some(&mut host),
        |_| [0; 5],
        &mut mem,
    );
    assert_eq!(r as u64, (22 << 32) | 11);
    let (r, _) = call(
        m::get_current_uid_gid,
        Some(&mut host),
        |_| [0; 5],
        &mut mem,
    );
    assert_eq!(r as u64, (44 << 32) | 33);
    let (r, _) = call(
        m::get_current_comm,
        Some(&mut host),
        |b| [b, 16, 0, 0, 0],
        &mut mem,
    );
    assert_eq!(r, 0);
    assert_eq!(&mem, b"oxbpf-tests\0\0\0\0\0");
    mem.fill(0xff);
    let (r, _) = call(
        m::get_current_comm,
        Some(&mut host),
        |b| [b, 6, 0, 0, 0],
        &mut mem,
    );
    assert_eq!(r, 0);
    assert_eq!(&mem[..7], b"oxbpf\0\xff");
    let (r, _) = call(m::get_func_ip, Some(&mut host), |_| [0; 5], &mut mem);
    assert_eq!(r as u64, 0xffff_1234);
    let (r, _) = call(m::get_current_task, Some(&mut host), |_| [0; 5], &mut mem);
    assert_eq!(r, 0);
    let (r, _) = call(m::get_numa_node_id, None, |_| [0; 5], &mut mem);
    assert_eq!(r, 0);
    // Without a host: this process.
    let (r, _) = call(m::get_current_pid_tgid, None, |_| [0; 5], &mut mem);
    assert_eq!((r as u64) >> 32, u64::from(std::process::id()));
}

#[test]
fn clocks() {
    let mut mem = [0u8; 1];
    let t = |f| call(f, None, |_| [0; 5], &mut [0u8; 1]).0 as u64;
    let b1 = t(m::ktime_get_boot_ns);
    let b2 = t(m::ktime_get_boot_ns);
    assert!(b2 >= b1 && b1 > 0);
    assert!(t(m::ktime_get_tai_ns) > b1, "TAI counts from 1970");
    assert!(t(m::ktime_get_coarse_ns) > 0);
    let j = t(m::jiffies64);
    assert!(
        j > (1u64 << 32) - 300 * m::HZ,
        "jiffies start at INITIAL_JIFFIES"
    );
    let _ = &mut mem;
}

#[test]
fn registry_has_every_helper() {
    use uapi::helpers::id;
    let r = oxbpf_vm::helpers::standard_registry();
    for n in [
        id::MAP_LOOKUP_ELEM,
        id::MAP_UPDATE_ELEM,
        id::MAP_DELETE_ELEM,
        id::MAP_LOOKUP_PERCPU_ELEM,
        id::MAP_PUSH_ELEM,
        id::MAP_POP_ELEM,
        id::MAP_PEEK_ELEM,
        id::RINGBUF_OUTPUT,
        id::RINGBUF_RESERVE,
        id::RINGBUF_SUBMIT,
        id::RINGBUF_DISCARD,
        id::RINGBUF_QUERY,
        id::PERF_EVENT_OUTPUT,
        id::SPIN_LOCK,
        id::SPIN_UNLOCK,
        id::TRACE_PRINTK,
        id::TRACE_VPRINTK,
        id::SNPRINTF,
        id::STRNCMP,
        id::STRTOL,
        id::STRTOUL,
        id::PROBE_READ,
        id::PROBE_READ_KERNEL,
        id::PROBE_READ_USER,
        id::PROBE_READ_STR,
        id::PROBE_READ_KERNEL_STR,
        id::PROBE_READ_USER_STR,
        id::KTIME_GET_NS,
        id::KTIME_GET_BOOT_NS,
        id::KTIME_GET_COARSE_NS,
        id::KTIME_GET_TAI_NS,
        id::JIFFIES64,
        id::GET_NUMA_NODE_ID,
        id::GET_CURRENT_PID_TGID,
        id::GET_CURRENT_UID_GID,
        id::GET_CURRENT_COMM,
        id::GET_FUNC_IP,
        id::GET_PRANDOM_U32,
        id::GET_SMP_PROCESSOR_ID,
        id::GET_CURRENT_TASK,
        // From the packet helpers.
        id::SKB_LOAD_BYTES,
        id::XDP_ADJUST_HEAD,
    ] {
        assert!(r.get(n).is_some(), "{}", uapi::HelperId(n));
    }
}

// ---- against the kernel ---------------------------------------------------------

/// strtol (105) / strtoul (106) of `s` on the stack: records r0 and *res.
fn strto_steps(helper: u32, s: &str, flags: u64) -> [String; 2] {
    let call = format!(
        "{}*(u64 *)(r10 - 72) = 0\nr1 = r10\nr1 += -64\nr2 = {}\nr3 = {flags}\n\
         r4 = r10\nr4 += -72\ncall {helper}\n",
        stack_bytes(s.as_bytes(), 64),
        s.len()
    );
    [call, "r0 = *(u64 *)(r10 - 72)\n".to_string()]
}

fn compare_results(steps: &[String], extra: &[(Pair, Vec<u8>)], what: &str) {
    let kernel = testkit::require_kernel();
    let k = kernel.as_ref();
    let res = pair(k, MapType::Array, 4, 8, steps.len() as u32, 0);
    // Const-string maps: filled and frozen on both sides.
    for (p, v) in extra {
        p.ours.update(&0u32.to_ne_bytes(), v, 0).unwrap();
        p.ours.freeze().unwrap();
        if let Some(km) = &p.kernel {
            km.update(&0u32.to_ne_bytes(), v, 0).unwrap();
            km.freeze().unwrap();
        }
    }
    let raw = asm(&results_program(res.fd, steps));
    let mut maps = Maps(vec![(res.fd, res.ours.clone())]);
    maps.0
        .extend(extra.iter().map(|(p, _)| (p.fd, p.ours.clone())));
    let n = steps.len() as u32;
    let mut ours = None;
    for unchecked in [false, true] {
        let r0 = run(&prepare(&raw, &maps, unchecked), &maps, 0)
            .r0
            .expect("run");
        assert_eq!(r0, u64::from(n));
        let got = results(&res.ours, n);
        if let Some(prev) = &ours {
            assert_eq!(prev, &got, "{what}: checked vs unchecked");
        }
        ours = Some(got);
    }
    let ours = ours.unwrap();
    eprintln!("{what}: {ours:?}");
    if let (Some(k), Some(km)) = (k, &res.kernel) {
        match kernel_try_run(k, &raw) {
            Ok(r) => {
                assert_eq!(r, n);
                assert_eq!(ours, kernel_results(km, n), "{what}: ours vs kernel");
            }
            Err(e) if e.contains("unknown func") || e.contains("cannot use helper") => {
                eprintln!("SKIPPED: {what}: the kernel does not offer it to XDP: {e}");
            }
            Err(e) => panic!("{what}: kernel load: {e}"),
        }
    }
}

#[test]
fn strtol_strtoul_agree_with_the_kernel() {
    let cases: &[(&str, u64)] = &[
        ("123", 10),
        ("  -0x1fz", 0),
        ("0777", 0),
        ("0x", 0),
        ("0x10", 16),
        ("abc", 16),
        ("abc", 10),
        ("12", 3),
        ("   ", 0),
        ("+5", 0),
        ("99999999999999999999", 10),
        ("-9223372036854775808", 0),
        ("9223372036854775808", 0),
        ("-5", 0),
        ("\t\n 42xyz", 0x20),
        ("18446744073709551615", 10),
    ];
    let mut steps = Vec::new();
    for (s, f) in cases {
        steps.extend(strto_steps(105, s, *f));
        steps.extend(strto_steps(106, s, *f));
    }
    compare_results(&steps, &[], "strtol/strtoul");
}

#[test]
fn strncmp_agrees_with_the_kernel() {
    let kernel = testkit::require_kernel();
    let cases: &[(&[u8], &[u8])] = &[
        (b"abc", b"abd"),
        (b"abc", b"abc"),
        (b"abd", b"abc"),
        (b"ab\0x", b"ab"),
        (b"ab", b"abx"),
        (b"b", b"a"),
        (b"\xff", b"a"),
        (b"abcdefgh", b""),
    ];
    let mut extra = Vec::new();
    let mut steps = Vec::new();
    for (s1, s2) in cases {
        let p = pair(kernel.as_ref(), MapType::Array, 4, 16, 1, BPF_F_RDONLY_PROG);
        let mut v = vec![0u8; 16];
        v[..s2.len()].copy_from_slice(s2);
        steps.push(format!(
            "{}r1 = r10\nr1 += -64\nr2 = {}\nld_pseudo r3, 2, {}, 0\ncall 182\n",
            stack_bytes(s1, 64),
            s1.len(),
            p.fd
        ));
        extra.push((p, v));
    }
    compare_results(&steps, &extra, "strncmp");
}

#[test]
fn probe_read_kernel_agrees_with_the_kernel() {
    let steps: Vec<String> = vec![
        // Plain read of the stack.
        "r1 = 0x1122334455667788 ll\n*(u64 *)(r10 - 80) = r1\nr1 = r10\nr1 += -88\nr2 = 8\n\
         r3 = r10\nr3 += -80\ncall 113\n"
            .into(),
        "r0 = *(u64 *)(r10 - 88)\n".into(),
        // A bad address: -EFAULT, destination zeroed.
        "r1 = r10\nr1 += -88\nr2 = 8\nr3 = 16\ncall 113\n".into(),
        "r0 = *(u64 *)(r10 - 88)\n".into(),
        // Strings.
        "r1 = 0x636261 ll\n*(u64 *)(r10 - 80) = r1\nr1 = -1\n*(u64 *)(r10 - 88) = r1\n\
         r1 = r10\nr1 += -88\nr2 = 8\nr3 = r10\nr3 += -80\ncall 115\n"
            .into(),
        "r0 = *(u64 *)(r10 - 88)\n".into(),
        "r1 = r10\nr1 += -88\nr2 = 2\nr3 = r10\nr3 += -80\ncall 115\n".into(),
        "r0 = *(u64 *)(r10 - 88)\n".into(),
        "r1 = r10\nr1 += -88\nr2 = 8\nr3 = 16\ncall 115\n".into(),
        "r0 = *(u64 *)(r10 - 88)\n".into(),
        "call 42\n".into(),
    ];
    compare_results(&steps, &[], "probe_read_kernel{,_str}, numa");
}

#[test]
fn jiffies_follow_the_kernels() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let res = pair(Some(&k), MapType::Array, 4, 8, 1, 0);
    let raw = asm(&results_program(res.fd, &["call 118\n".to_string()]));
    kernel_run(&k, &raw);
    let before = kernel_results(res.kernel.as_ref().unwrap(), 1)[0] as u64;
    let ours = call(m::jiffies64, None, |_| [0; 5], &mut [0u8; 1]).0 as u64;
    kernel_run(&k, &raw);
    let after = kernel_results(res.kernel.as_ref().unwrap(), 1)[0] as u64;
    eprintln!("jiffies: kernel {before}..{after}, ours {ours}");
    // Calibrated against the kernel's count: within a tick or two of it.
    assert!(
        ours + 2 >= before && ours <= after + 2,
        "{before} {ours} {after}"
    );
}

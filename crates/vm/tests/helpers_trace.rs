//! `bpf_snprintf`, `bpf_trace_printk` and `bpf_trace_vprintk`: the format
//! rules and output, unit-tested and compared with the kernel (snprintf
//! writes into a map value both sides read back; trace_printk's line is
//! compared with the one the kernel writes to the tracefs `trace` file).

mod helpers_support;

use helpers_support::*;
use oxbpf_vm::helpers::trace::{bprintf, trace_line, FormatMemory};
use testkit::Kernel;
use uapi::map::create_flags::BPF_F_RDONLY_PROG;
use uapi::MapType;

/// Memory for the formatter: one buffer at a fixed fake address.
struct Mem {
    base: u64,
    bytes: Vec<u8>,
}

impl FormatMemory for Mem {
    fn read_str(&self, addr: u64, out: &mut [u8]) -> Option<usize> {
        let off = addr.checked_sub(self.base)? as usize;
        let src = self.bytes.get(off..)?;
        let nul = src.iter().position(|&b| b == 0)?;
        let n = (nul + 1).min(out.len());
        out[..n].copy_from_slice(&src[..n]);
        out[n - 1] = 0;
        Some(n)
    }
    fn read(&self, addr: u64, out: &mut [u8]) -> bool {
        let Some(off) = addr.checked_sub(self.base) else {
            return false;
        };
        match self.bytes.get(off as usize..off as usize + out.len()) {
            Some(s) => {
                out.copy_from_slice(s);
                true
            }
            None => false,
        }
    }
}

fn mem() -> Mem {
    let mut bytes = b"hello\0world\0".to_vec();
    bytes.extend_from_slice(&[192, 168, 1, 2]);
    bytes.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    Mem {
        base: 0x1000,
        bytes,
    }
}

fn fmt(f: &str, args: &[u64]) -> Result<String, i32> {
    bprintf(&mem(), f.as_bytes(), args).map(|v| String::from_utf8(v).unwrap())
}

#[test]
fn numbers_flags_and_widths() {
    let m1 = (-1i64) as u64;
    assert_eq!(
        fmt("%d %i %u %x %X", &[m1, 42, m1, 255, 255]).unwrap(),
        "-1 42 4294967295 ff FF"
    );
    assert_eq!(
        fmt("%ld %lu %lx", &[m1, m1, m1]).unwrap(),
        "-1 18446744073709551615 ffffffffffffffff"
    );
    assert_eq!(
        fmt("%lld %llu %llX", &[1 << 40, 7, 0xabc]).unwrap(),
        "1099511627776 7 ABC"
    );
    assert_eq!(
        fmt("[%5d|%-5d|%05d]", &[42, 42, (-42i64) as u64]).unwrap(),
        "[   42|42   |-0042]"
    );
    assert_eq!(fmt("[%+d|% d|%+u]", &[7, 7, 7]).unwrap(), "[+7| 7|7]");
    assert_eq!(fmt("%-05d|", &[3]).unwrap(), "3    |");
    assert_eq!(fmt("100%% sure", &[]).unwrap(), "100% sure");
}

#[test]
fn strings_chars_ips_pointers() {
    assert_eq!(
        fmt("%s, %7s|%-6s|", &[0x1000, 0x1006, 0x1000]).unwrap(),
        "hello,   world|hello |"
    );
    assert_eq!(
        fmt("%c%c%3c", &[b'a' as u64, b'b' as u64, b'c' as u64]).unwrap(),
        "ab  c"
    );
    assert_eq!(
        fmt("[%s]", &[0xdead_0000]).unwrap(),
        "[]",
        "unreadable string"
    );
    assert_eq!(
        fmt("%pI4 %pi4", &[0x100c, 0x100c]).unwrap(),
        "192.168.1.2 192.168.001.002"
    );
    assert_eq!(
        fmt("%pI6", &[0x1010]).unwrap(),
        "2001:0db8:0000:0000:0000:0000:0000:0001"
    );
    assert_eq!(
        fmt("%pi6", &[0x1010]).unwrap(),
        "20010db8000000000000000000000001"
    );
    assert_eq!(fmt("%p", &[0x1234]).unwrap(), "0000000000001234");
    assert_eq!(fmt("%px|", &[0xab]).unwrap(), "00000000000000ab|");
    // Alphanumerics after a pointer conversion are its extension: skipped.
    assert_eq!(fmt("%pKfoo.", &[1]).unwrap(), "0000000000000001.");
    assert_eq!(fmt("%ps", &[0xff]).unwrap(), "0xff");
    assert_eq!(fmt("%pks %pus", &[0x1000, 0x1006]).unwrap(), "hello world");
}

#[test]
fn invalid_formats() {
    const EINVAL: i32 = 22;
    for bad in [
        "%q",
        "%5.2d",
        "%hd",
        "%sx",
        "%lc",
        "%ls",
        "%lllx",
        "%#x",
        "%pz",
        "%pI5",
        "%",
        "%l",
        "tab\x01",
        "caf\u{e9}",
    ] {
        assert_eq!(fmt(bad, &[0, 0, 0]), Err(EINVAL), "{bad:?}");
    }
    // More conversions than arguments.
    assert_eq!(fmt("%d %d %d %d", &[1, 2, 3]), Err(EINVAL));
    assert_eq!(fmt("%d", &[]), Err(EINVAL));
    // White space is allowed.
    assert_eq!(fmt("a\tb\n", &[]).unwrap(), "a\tb\n");
}

#[test]
fn bin_args_space_runs_out() {
    // 12 strings of 64 bytes need more than the 512 bytes of arguments.
    let mut bytes = vec![b'x'; 100];
    bytes.push(0);
    let m = Mem {
        base: 0x1000,
        bytes,
    };
    let f = "%s".repeat(12);
    let r = bprintf(&m, f.as_bytes(), &[0x1000; 12]);
    assert_eq!(r.map(|v| v.len()), Err(28), "ENOSPC");
    // Five fit (5 × 101 ≤ 512) but the sixth string is cut to what is left.
    let r = bprintf(&m, "%s".repeat(6).as_bytes(), &[0x1000; 6]).unwrap();
    assert_eq!(r.len(), 500 + 6);
}

#[test]
fn trace_line_format() {
    let mut comm = [0u8; 16];
    comm[..4].copy_from_slice(b"prog");
    let l = trace_line(&comm, 1234, 1, 5_123_456_789, b"hi 7\n");
    assert_eq!(
        l,
        "            prog-1234    [001] b..11     5.123456: bpf_trace_printk: hi 7"
    );
}

// ---- against the kernel ---------------------------------------------------

/// One snprintf case: the format (and extra bytes at offset 128 of the
/// format map, which `%s`/`%pI4` args can point to with `Arg::Fm(off)`),
/// the arguments, the output size.
#[derive(Clone, Copy)]
enum Arg {
    Val(u64),
    Fm(u32),
}

const EXTRA: &[u8] = b"hello\0world\0\xc0\xa8\x01\x02\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01";

fn snprintf_program(fm: i32, om: i32, args: &[Arg], size: u32) -> String {
    let mut s = String::new();
    for (i, a) in args.iter().enumerate() {
        match *a {
            Arg::Val(v) => s += &format!("r1 = {v:#x} ll\n"),
            Arg::Fm(off) => s += &format!("ld_pseudo r1, 2, {fm}, {}\n", 128 + off),
        }
        s += &format!("*(u64 *)(r10 - {}) = r1\n", 96 - 8 * i);
    }
    s += &format!(
        "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, {om}\ncall 1\n\
         if r0 == 0 goto fail\nr1 = r0\nr2 = {size}\nld_pseudo r3, 2, {fm}, 0\n\
         r4 = r10\nr4 += -96\nr5 = {}\ncall 165\nexit\nfail:\nr0 = 12345\nexit\n",
        8 * args.len()
    );
    s
}

/// Runs one snprintf case on the interpreter (checked and unchecked) and,
/// when permitted, in the kernel; returns (r0, output bytes) of ours after
/// checking both sides agree.
fn snprintf_case(kernel: Option<&Kernel>, format: &str, args: &[Arg], size: u32) -> (u64, Vec<u8>) {
    let mut fmt_value = vec![0u8; 256];
    fmt_value[..format.len()].copy_from_slice(format.as_bytes());
    fmt_value[128..128 + EXTRA.len()].copy_from_slice(EXTRA);
    let fm = pair(kernel, MapType::Array, 4, 256, 1, BPF_F_RDONLY_PROG);
    let om = pair(kernel, MapType::Array, 4, 128, 1, 0);
    let zero = 0u32.to_ne_bytes();
    fm.ours.update(&zero, &fmt_value, 0).unwrap();
    fm.ours.freeze().unwrap();
    let raw = asm(&snprintf_program(fm.fd, om.fd, args, size));
    let maps = Maps(vec![(fm.fd, fm.ours.clone()), (om.fd, om.ours.clone())]);
    let mut ours = None;
    for unchecked in [false, true] {
        om.ours.update(&zero, &[0u8; 128], 0).unwrap();
        let prog = prepare(&raw, &maps, unchecked);
        let r0 = run(&prog, &maps, 0).r0.expect("run");
        let out = om.ours.lookup(&zero).unwrap();
        if let Some((r, o)) = &ours {
            assert_eq!((r, o), (&r0, &out), "checked vs unchecked: {format:?}");
        }
        ours = Some((r0, out));
    }
    let (r0, out) = ours.unwrap();
    if let (Some(k), Some(kfm), Some(kom)) = (kernel, &fm.kernel, &om.kernel) {
        kfm.update(&zero, &fmt_value, 0).unwrap();
        kfm.freeze().unwrap();
        let kr = match kernel_try_run(k, &raw) {
            Ok(r) => r,
            Err(e) => {
                // The verifier checks a constant format at load time.
                assert!(e.contains("Invalid format string"), "{format:?}: {e}");
                assert_eq!(
                    r0 as i64, -22,
                    "{format:?}: kernel refused it, ours returned {r0}"
                );
                return (r0, out);
            }
        };
        let kout = kom.lookup(&zero).unwrap().unwrap();
        assert_eq!(
            r0 as u32, kr,
            "retval of {format:?}: ours {r0:#x}, kernel {kr:#x}"
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&kout),
            "output of {format:?}"
        );
    }
    (r0, out)
}

#[test]
fn snprintf_agrees_with_the_kernel() {
    let kernel = testkit::require_kernel();
    let k = kernel.as_ref();
    use Arg::*;
    let m1 = Val(u64::MAX);
    let cases: Vec<(&str, Vec<Arg>, u32)> = vec![
        (
            "%d %i %u %x %X",
            vec![m1, Val(42), m1, Val(255), Val(255)],
            128,
        ),
        (
            "%ld %lu %lx %lld %llu %llx",
            vec![m1, m1, m1, Val(1 << 40), Val(7), Val(0xabc)],
            128,
        ),
        (
            "[%5d|%-5d|%05d|%+d|% d]",
            vec![Val(42), Val(42), Val(-42i64 as u64), Val(7), Val(7)],
            128,
        ),
        ("%s and %10s|%-7s|", vec![Fm(0), Fm(6), Fm(0)], 128),
        ("%c%c%3c", vec![Val(97), Val(98), Val(99)], 128),
        (
            "%pI4 %pi4 %pI6 %pi6",
            vec![Fm(12), Fm(12), Fm(16), Fm(16)],
            128,
        ),
        ("100%% sure %pks", vec![Fm(6)], 128),
        ("truncated at eight: %d", vec![Val(123456)], 8),
        ("zero size %d", vec![Val(1)], 0),
        ("[%s]", vec![Val(16)], 128),
        ("%q", vec![Val(1)], 128),
        ("%5.2d", vec![Val(1)], 128),
        ("%sx", vec![Fm(0)], 128),
        ("%d %d", vec![Val(1)], 128),
        ("%hd", vec![Val(1)], 128),
        ("%pz", vec![Val(1)], 128),
        (
            "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
            vec![m1; 12],
            128,
        ),
    ];
    for (f, args, size) in &cases {
        let (r0, out) = snprintf_case(k, f, args, *size);
        let text = String::from_utf8_lossy(&out[..out.iter().position(|&b| b == 0).unwrap_or(0)])
            .into_owned();
        eprintln!("snprintf {f:?} -> {} {text:?}", r0 as i64);
    }
    // Some expectations that hold with or without the kernel.
    let (r0, out) = snprintf_case(k, "truncated at eight: %d", &[Val(123456)], 8);
    assert_eq!(r0, "truncated at eight: 123456".len() as u64 + 1);
    assert_eq!(&out[..8], b"truncat\0");
    let (r0, _) = snprintf_case(k, "%q", &[Val(1)], 128);
    assert_eq!(r0 as i64, -22);
}

/// The directory of a mounted tracefs, if any.
fn tracefs() -> Option<std::path::PathBuf> {
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    for l in mounts.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() > 2 && f[2] == "tracefs" {
            return Some(f[1].into());
        }
    }
    None
}

/// Splits a trace line into (task-pid field, cpu, flags, rest after the
/// timestamp), checking the timestamp's shape.
fn split_trace_line(l: &str) -> (String, String, String, String) {
    let (task, rest) = l.split_at(l.find(" [").expect("cpu column"));
    let rest = &rest[2..];
    let (cpu, rest) = rest.split_at(rest.find("] ").expect("cpu end"));
    let rest = &rest[2..];
    let (flags, rest) = rest.split_at(rest.find(' ').expect("flags end"));
    let colon = rest.find(": ").expect("timestamp end");
    let ts = rest[..colon].trim_start();
    let (secs, usecs) = ts.split_once('.').expect("secs.usecs");
    assert!(
        secs.bytes().all(|b| b.is_ascii_digit()) && usecs.len() == 6,
        "{l:?}"
    );
    assert!(rest[..colon].len() >= 12, "timestamp padded to 5.6: {l:?}");
    (task.into(), cpu.into(), flags.into(), rest[colon..].into())
}

#[test]
fn trace_printk_line_matches_the_kernels() {
    let marker: u32 = std::process::id() ^ 0x5a5a;
    let text = format!("oxbpf {marker} n=%d x=%x s=%s\n");
    let mut prog = stack_bytes(text.as_bytes(), 64);
    prog += &stack_bytes(b"str\0", 72);
    prog += "r1 = r10\nr1 += -64\nr2 = ";
    prog += &format!("{}\n", text.len() + 1);
    prog += "r3 = -5\nr4 = 255\nr5 = r10\nr5 += -72\ncall 6\nexit\n";
    let raw = asm(&prog);
    let maps = Maps::default();
    let tid_comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap_or_default();
    let ours = {
        let p = prepare(&raw, &maps, false);
        let out = run(&p, &maps, 0);
        assert_eq!(
            out.r0.unwrap(),
            format!("oxbpf {marker} n=-5 x=ff s=str\n").len() as u64
        );
        assert_eq!(out.trace.len(), 1);
        out.trace[0].clone()
    };
    assert!(
        ours.ends_with(&format!(
            ": bpf_trace_printk: oxbpf {marker} n=-5 x=ff s=str"
        )),
        "{ours}"
    );
    let Some(kernel) = testkit::require_kernel() else {
        return;
    };
    let Some(dir) = tracefs() else {
        eprintln!("SKIPPED: no tracefs mounted; the trace line format is from kernel/trace/trace_output.c and bpf_trace.h");
        return;
    };
    let r = kernel_run(&kernel, &raw);
    assert_eq!(
        u64::from(r),
        format!("oxbpf {marker} n=-5 x=ff s=str\n").len() as u64
    );
    let trace = std::fs::read_to_string(dir.join("trace")).expect("read trace");
    let needle = format!("oxbpf {marker} ");
    let Some(line) = trace.lines().rev().find(|l| l.contains(&needle)) else {
        panic!("kernel line not found in {}/trace", dir.display());
    };
    eprintln!("kernel: {line:?}\nours:   {ours:?}");
    // Our line for the same task and cpu as the kernel's.
    let (ktask, kcpu, kflags, krest) = split_trace_line(line);
    let (_, _, oflags, orest) = split_trace_line(&ours);
    assert_eq!(orest, krest);
    assert_eq!(oflags, kflags);
    let tid: u32 = std::fs::read_link("/proc/thread-self")
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut comm = [0u8; 16];
    let c = tid_comm.trim_end().as_bytes();
    comm[..c.len().min(15)].copy_from_slice(&c[..c.len().min(15)]);
    let same = trace_line(&comm, tid, kcpu.parse().unwrap(), 0, b"");
    let (otask, ocpu, _, _) = split_trace_line(&same);
    assert_eq!(ocpu, kcpu);
    // The kernel prints `<...>` for a task whose name it has not cached
    // yet (saved_cmdlines): then only the pid column can be compared.
    if ktask.trim_start().starts_with("<...>-") {
        let unknown = trace_line(&[0; 16], tid, 0, 0, b"");
        assert_eq!(split_trace_line(&unknown).0, ktask);
    } else {
        assert_eq!(otask, ktask);
    }
}

/// trace_printk (6) with the format `f` on the stack and `fmt_size` given;
/// trace_vprintk (177) with the three args on the stack.
fn printk_program(f: &[u8], fmt_size: usize, vprintk: bool) -> String {
    let mut p = stack_bytes(f, 128);
    p += "r1 = 7\n*(u64 *)(r10 - 24) = r1\nr1 = -7\n*(u64 *)(r10 - 16) = r1\nr1 = 255\n*(u64 *)(r10 - 8) = r1\n";
    p += &format!("r1 = r10\nr1 += -128\nr2 = {fmt_size}\n");
    if vprintk {
        p += "r3 = r10\nr3 += -24\nr4 = 24\ncall 177\nexit\n";
    } else {
        p += "r3 = 7\nr4 = -7\nr5 = 255\ncall 6\nexit\n";
    }
    p
}

#[test]
fn trace_printk_return_values_agree_with_the_kernel() {
    let kernel = testkit::require_kernel();
    let cases: &[(&[u8], Option<usize>)] = &[
        (b"ok %d %ld %x\n\0", None),
        (b"four %d %d %d %d\n\0", None),
        (b"bad %q\0", None),
        (b"no nul within size\0", Some(6)),
        (b"%5d|%-4u|%03x\0", None),
        (b"\x01\0", None),
    ];
    for &(f, size) in cases {
        let size = size.unwrap_or(f.len());
        for vprintk in [false, true] {
            let raw = asm(&printk_program(f, size, vprintk));
            let maps = Maps::default();
            let out = run(&prepare(&raw, &maps, false), &maps, 0);
            let r0 = out.r0.unwrap();
            eprintln!(
                "{:?} vprintk={vprintk}: {} {:?}",
                String::from_utf8_lossy(f),
                r0 as i64,
                out.trace
            );
            if let Some(k) = &kernel {
                let kr = kernel_run(k, &raw);
                assert_eq!(
                    r0 as u32,
                    kr,
                    "{:?} vprintk={vprintk}",
                    String::from_utf8_lossy(f)
                );
            }
            if (r0 as i64) < 0 {
                assert!(out.trace.is_empty());
            } else {
                assert_eq!(out.trace.len(), 1);
            }
        }
    }
    let raw = asm(&printk_program(b"ok %d %ld %x\n\0", 14, false));
    let out = run(&prepare(&raw, &Maps::default(), true), &Maps::default(), 0);
    assert_eq!(out.r0.unwrap(), "ok 7 -7 ff\n".len() as u64);
    assert!(
        out.trace[0].ends_with("bpf_trace_printk: ok 7 -7 ff"),
        "{:?}",
        out.trace
    );
}

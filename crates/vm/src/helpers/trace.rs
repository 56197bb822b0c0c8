//! `bpf_trace_printk`, `bpf_trace_vprintk` and `bpf_snprintf`: the kernel's
//! restricted printf.
//!
//! The kernel checks a format before printing anything
//! (`bpf_bprintf_prepare`): every character printable ASCII or white space;
//! at most as many conversions as arguments (3 for `trace_printk`, the
//! `data_len / 8` given, up to 12, for the others); flags `0 + - space`, a
//! width, no precision; conversions `%d %i %u %x %X` with `l`/`ll`, `%c`,
//! `%s` (followed by nothing, white space or punctuation), `%%`, and the
//! pointer forms `%p %pK %px %ps %pS %pB %pks %pus %pi4 %pI4 %pi6 %pI6`.
//! Anything else is `-EINVAL`. Strings and IP addresses are copied while
//! checking, into 512 bytes shared by all arguments (`-ENOSPC` beyond);
//! an unreadable string prints as empty.
//!
//! Then it prints like `vsnprintf`, which this module does itself: numbers
//! with their padding and sign flags, strings and characters padded to the
//! width, and after any pointer conversion the alphanumeric characters that
//! follow are skipped (the kernel's pointer extension letters). Differences,
//! because user space has neither symbols nor the kernel's pointer hashing:
//! `%p`/`%pK` print the real address (the kernel prints a hash) and
//! `%ps`/`%pS`/`%pB` print `0x<hex>` (what the kernel prints for an address
//! without a symbol).
//!
//! Trace output goes to the host's [`crate::TraceSink`], one line per call in
//! `trace_pipe`'s format (see [`trace_line`]).

use super::misc::{neg, read_nofault, read_str_nofault};
use crate::env::RunEnv;
use crate::error::AccessKind;
use crate::host::HelperHost;
use uapi::errno::{EINVAL, ENOSPC};

/// `MAX_BPRINTF_BUF`: the trace helpers print into this many bytes.
pub const MAX_BPRINTF_BUF: usize = 1024;
/// `MAX_BPRINTF_BIN_ARGS`: room for the copied arguments.
const MAX_BIN_ARGS: usize = 512;
/// `MAX_BPRINTF_VARARGS`: arguments of `snprintf` and `trace_vprintk`.
pub const MAX_BPRINTF_VARARGS: usize = 12;
/// `MAX_TRACE_PRINTK_VARARGS`.
const TRACE_PRINTK_ARGS: usize = 3;
/// The kernel's maximum field width (`FIELD_WIDTH_MAX`).
const FIELD_WIDTH_MAX: usize = (1 << 23) - 1;

/// Where the formatter reads strings and IP addresses (the run's memory,
/// without faulting; a test can give a plain closure).
pub trait FormatMemory {
    /// `strncpy_from_*_nofault`: bytes written including the NUL, or `None`.
    fn read_str(&self, addr: u64, out: &mut [u8]) -> Option<usize>;
    /// `copy_from_kernel_nofault`.
    fn read(&self, addr: u64, out: &mut [u8]) -> bool;
}

impl FormatMemory for RunEnv<'_> {
    fn read_str(&self, addr: u64, out: &mut [u8]) -> Option<usize> {
        read_str_nofault(self, addr, out)
    }
    fn read(&self, addr: u64, out: &mut [u8]) -> bool {
        read_nofault(self, addr, out)
    }
}

/// Flags and width of one conversion.
#[derive(Default, Clone, Copy)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    width: Option<usize>,
}

impl Spec {
    /// Pads `body` to the width with spaces (strings, characters, pointer
    /// strings: the kernel never zero-pads those).
    fn pad_str(&self, out: &mut Vec<u8>, body: &[u8]) {
        let fill = self.width.unwrap_or(0).saturating_sub(body.len());
        if !self.left {
            out.resize(out.len() + fill, b' ');
        }
        out.extend_from_slice(body);
        if self.left {
            out.resize(out.len() + fill, b' ');
        }
    }

    /// A number as the kernel's `number()` prints it (no precision, no `#`).
    fn number(&self, out: &mut Vec<u8>, v: u64, signed: bool, radix: u8, upper: bool) {
        let (neg, mag) = if signed && (v as i64) < 0 {
            (true, (v as i64).unsigned_abs())
        } else {
            (false, v)
        };
        let sign = if neg {
            Some(b'-')
        } else if signed && self.plus {
            Some(b'+')
        } else if signed && self.space {
            Some(b' ')
        } else {
            None
        };
        let mut digits = [0u8; 24];
        let mut n = 0;
        let mut m = mag;
        let set: &[u8; 16] = if upper {
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        loop {
            digits[n] = set[(m % u64::from(radix)) as usize];
            n += 1;
            m /= u64::from(radix);
            if m == 0 {
                break;
            }
        }
        let len = n + usize::from(sign.is_some());
        let fill = self.width.unwrap_or(0).saturating_sub(len);
        let zero = self.zero && !self.left;
        if !self.left && !zero {
            out.resize(out.len() + fill, b' ');
        }
        if let Some(s) = sign {
            out.push(s);
        }
        if zero {
            out.resize(out.len() + fill, b'0');
        }
        out.extend(digits[..n].iter().rev());
        if self.left {
            out.resize(out.len() + fill, b' ');
        }
    }
}

fn is_print(c: u8) -> bool {
    (0x20..0x7f).contains(&c)
}
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}
/// What may follow `%s` (and `%p`): the end, white space or punctuation.
fn ends_conversion(c: u8) -> bool {
    c == 0 || is_space(c) || c.is_ascii_punctuation()
}

/// Formats `fmt` (the bytes before its NUL) with `args` as the kernel's
/// `bpf_bprintf_prepare` + `bstr_printf` do, returning the whole text (not
/// truncated: callers cut it to their buffer) or the errno.
pub fn bprintf(mem: &dyn FormatMemory, fmt: &[u8], args: &[u64]) -> Result<Vec<u8>, i32> {
    let at = |i: usize| fmt.get(i).copied().unwrap_or(0);
    let mut out = Vec::with_capacity(fmt.len() + 16);
    // Bytes of the kernel's bin-args buffer used so far.
    let mut used = 0usize;
    let mut nspec = 0usize;
    let mut i = 0usize;
    // Reserve `size` aligned bytes of the bin-args buffer.
    let reserve = |used: &mut usize, size: usize| -> Result<(), i32> {
        *used = used.next_multiple_of(4);
        if MAX_BIN_ARGS - (*used).min(MAX_BIN_ARGS) < size {
            return Err(ENOSPC);
        }
        *used += size;
        Ok(())
    };
    while i < fmt.len() {
        let c = fmt[i];
        if !(is_print(c) || is_space(c)) {
            return Err(EINVAL);
        }
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        if at(i + 1) == b'%' {
            out.push(b'%');
            i += 2;
            continue;
        }
        if nspec >= args.len() {
            return Err(EINVAL);
        }
        let arg = args[nspec];
        nspec += 1;
        i += 1;
        let mut spec = Spec::default();
        loop {
            match at(i) {
                b'0' => spec.zero = true,
                b'+' => spec.plus = true,
                b'-' => spec.left = true,
                b' ' => spec.space = true,
                _ => break,
            }
            i += 1;
        }
        if (b'1'..=b'9').contains(&at(i)) {
            let mut w = 0usize;
            while at(i).is_ascii_digit() {
                w = (w * 10 + usize::from(at(i) - b'0')).min(FIELD_WIDTH_MAX);
                i += 1;
            }
            spec.width = Some(w);
        }
        match at(i) {
            b'p' => {
                i = pointer(mem, fmt, i, arg, spec, &mut used, &mut out)?;
                // vsnprintf skips the extension letters of any %p.
                while at(i).is_ascii_alphanumeric() {
                    i += 1;
                }
            }
            b's' => {
                string(mem, at(i + 1), arg, spec, &mut used, &mut out)?;
                i += 1;
            }
            b'c' => {
                if used >= MAX_BIN_ARGS {
                    return Err(ENOSPC);
                }
                used += 1;
                spec.pad_str(&mut out, &[arg as u8]);
                i += 1;
            }
            _ => {
                let mut long = 0;
                while at(i) == b'l' && long < 2 {
                    long += 1;
                    i += 1;
                }
                let conv = at(i);
                if !matches!(conv, b'i' | b'd' | b'u' | b'x' | b'X') {
                    return Err(EINVAL);
                }
                let signed = matches!(conv, b'i' | b'd');
                let v = if long > 0 {
                    reserve(&mut used, 8)?;
                    arg
                } else {
                    reserve(&mut used, 4)?;
                    if signed {
                        arg as u32 as i32 as i64 as u64
                    } else {
                        u64::from(arg as u32)
                    }
                };
                let radix = if matches!(conv, b'x' | b'X') { 16 } else { 10 };
                spec.number(&mut out, v, signed, radix, conv == b'X');
                i += 1;
            }
        }
    }
    Ok(out)
}

/// A `%s`-like conversion whose string is at `addr` (`next` is the format
/// character after it, which must end the conversion).
fn string(
    mem: &dyn FormatMemory,
    next: u8,
    addr: u64,
    spec: Spec,
    used: &mut usize,
    out: &mut Vec<u8>,
) -> Result<(), i32> {
    if !ends_conversion(next) {
        return Err(EINVAL);
    }
    if *used >= MAX_BIN_ARGS {
        return Err(ENOSPC);
    }
    let mut buf = [0u8; MAX_BIN_ARGS];
    let room = &mut buf[..MAX_BIN_ARGS - *used];
    let n = mem.read_str(addr, room).unwrap_or(0).max(1);
    *used += n;
    let s = &room[..n - 1];
    let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
    spec.pad_str(out, s);
    Ok(())
}

/// The `%p` forms; `i` is at the `p`. Returns the index after the
/// characters the kernel's check consumed.
fn pointer(
    mem: &dyn FormatMemory,
    fmt: &[u8],
    i: usize,
    arg: u64,
    spec: Spec,
    used: &mut usize,
    out: &mut Vec<u8>,
) -> Result<usize, i32> {
    let at = |k: usize| fmt.get(k).copied().unwrap_or(0);
    let reserve_ptr = |used: &mut usize| -> Result<(), i32> {
        *used = used.next_multiple_of(4);
        if MAX_BIN_ARGS - (*used).min(MAX_BIN_ARGS) < 8 {
            return Err(ENOSPC);
        }
        *used += 8;
        Ok(())
    };
    let hex_addr = |out: &mut Vec<u8>| {
        // Unset width: the kernel zero-pads pointers to 16 digits.
        let s = Spec {
            zero: spec.width.is_none() || spec.zero,
            width: Some(spec.width.unwrap_or(16)),
            ..spec
        };
        s.number(out, arg, false, 16, false);
    };
    let n1 = at(i + 1);
    if ends_conversion(n1) {
        reserve_ptr(used)?;
        hex_addr(out);
        return Ok(i + 1);
    }
    if matches!(n1, b'k' | b'u') && at(i + 2) == b's' {
        string(mem, at(i + 3), arg, spec, used, out)?;
        return Ok(i + 3);
    }
    match n1 {
        b'K' | b'x' => {
            reserve_ptr(used)?;
            hex_addr(out);
            return Ok(i + 2);
        }
        b's' | b'S' => {
            reserve_ptr(used)?;
            spec.pad_str(out, format!("0x{arg:x}").as_bytes());
            return Ok(i + 2);
        }
        b'B' => {
            let s = format!("0x{arg:x}");
            *used += s.len() + 1;
            spec.pad_str(out, s.as_bytes());
            return Ok(i + 2);
        }
        _ => {}
    }
    let n2 = at(i + 2);
    if !matches!(n1, b'i' | b'I') || !matches!(n2, b'4' | b'6') {
        return Err(EINVAL);
    }
    let len = if n2 == b'4' { 4 } else { 16 };
    if MAX_BIN_ARGS - (*used).min(MAX_BIN_ARGS) < len {
        return Err(ENOSPC);
    }
    let mut ip = [0u8; 16];
    if !mem.read(arg, &mut ip[..len]) {
        ip = [0; 16];
    }
    let text = ip_text(&ip[..len], n1 == b'I');
    *used += text.len() + 1;
    spec.pad_str(out, text.as_bytes());
    Ok(i + 3)
}

/// `%pI4` (`1.2.3.4`), `%pi4` (`001.002.003.004`), `%pI6` (eight
/// colon-separated groups of four hex digits), `%pi6` (32 hex digits).
fn ip_text(ip: &[u8], upper: bool) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if ip.len() == 4 {
        for (k, b) in ip.iter().enumerate() {
            if k > 0 {
                s.push('.');
            }
            let _ = if upper {
                write!(s, "{b}")
            } else {
                write!(s, "{b:03}")
            };
        }
    } else {
        for (k, pair) in ip.chunks(2).enumerate() {
            if upper && k > 0 {
                s.push(':');
            }
            let _ = write!(s, "{:02x}{:02x}", pair[0], pair[1]);
        }
    }
    s
}

/// One `trace_pipe` line for `text` printed by the run's task on `worker`,
/// without the final newline: `<comm>-<pid> [<cpu>] <flags> <secs>.<usecs>:
/// bpf_trace_printk: <text>`, with the kernel's column widths (task name
/// right-aligned in 16, pid left-aligned in 7, cpu in 3 digits) and the
/// flags a test-run shows. The time is `CLOCK_MONOTONIC`, the kernel's
/// default trace clock. A text ending with a newline loses it (the line
/// ends there anyway).
pub fn trace_line(comm: &[u8; 16], pid: u32, worker: u32, now_ns: u64, text: &[u8]) -> String {
    let name_len = comm.iter().position(|&b| b == 0).unwrap_or(16);
    let name = String::from_utf8_lossy(&comm[..name_len]);
    let name = if name.is_empty() {
        "<...>".into()
    } else {
        name
    };
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    format!(
        "{:>16}-{:<7} [{:03}] {} {:5}.{:06}: bpf_trace_printk: {}",
        name,
        pid,
        worker,
        TRACE_FLAGS,
        now_ns / 1_000_000_000,
        now_ns % 1_000_000_000 / 1000,
        String::from_utf8_lossy(text)
    )
}

/// The flags column of a line printed from `BPF_PROG_TEST_RUN` of an XDP
/// program on kernel 6.18 (captured): bottom halves disabled, no resched
/// pending, not in an interrupt, preempt depth 1, migration disabled once.
const TRACE_FLAGS: &str = "b..11";

/// Sends the formatted text of a trace helper to the host's sink (to
/// standard error without a host): cut to `MAX_BPRINTF_BUF - 1` bytes and
/// at the first NUL, as the trace event copies a C string.
fn emit(env: &mut RunEnv<'_>, text: &[u8]) {
    let text = &text[..text.len().min(MAX_BPRINTF_BUF - 1)];
    let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let now = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
    let worker = env.worker();
    match HelperHost::of(env) {
        Some(h) => {
            let line = trace_line(&h.current.comm, h.current.pid, worker, now, text);
            h.trace.line(&line);
        }
        None => {
            let c = crate::host::Current::of_process();
            eprintln!("{}", trace_line(&c.comm, c.pid, worker, now, text));
        }
    }
}

/// The `size` bytes at `addr` as a slice, faulting the program when they
/// are not readable (checked mode).
///
/// # Safety
/// In unchecked mode the span must be readable (the verifier's proof); the
/// slice must not outlive the helper call.
unsafe fn src<'m>(env: &mut RunEnv<'_>, addr: u64, size: usize) -> Option<&'m [u8]> {
    if size == 0 {
        return Some(&[]);
    }
    match env.translate(addr, size as u64, AccessKind::Read) {
        // SAFETY: validated in checked mode, proved by the verifier
        // otherwise; non-null since size > 0.
        Ok(p) => Some(unsafe { std::slice::from_raw_parts(p, size) }),
        Err(f) => {
            env.fault(f);
            None
        }
    }
}

/// The NUL-terminated constant string at `addr` (snprintf's format),
/// without its NUL; `None` after faulting in checked mode.
fn const_str(env: &mut RunEnv<'_>, addr: u64) -> Option<Vec<u8>> {
    let mut s = Vec::new();
    loop {
        match env.translate(addr + s.len() as u64, 1, AccessKind::Read) {
            // SAFETY: validated in checked mode; in unchecked mode the
            // verifier proved a NUL-terminated string, and we stop at it.
            Ok(p) => match unsafe { *p } {
                0 => return Some(s),
                b => s.push(b),
            },
            Err(f) => {
                env.fault(f);
                return None;
            }
        }
    }
}

/// The `u64` arguments of `snprintf`/`trace_vprintk` (`data_len` bytes).
fn var_args(env: &mut RunEnv<'_>, data: u64, data_len: u64) -> Result<Option<Vec<u64>>, i32> {
    if !data_len.is_multiple_of(8)
        || data_len > (MAX_BPRINTF_VARARGS * 8) as u64
        || (data_len != 0 && data == 0)
    {
        return Err(EINVAL);
    }
    // SAFETY: the helper contract: `data` readable for `data_len` bytes.
    let Some(raw) = (unsafe { src(env, data, data_len as usize) }) else {
        return Ok(None);
    };
    Ok(Some(
        raw.chunks_exact(8)
            .map(|c| u64::from_ne_bytes(c.try_into().expect("8 bytes")))
            .collect(),
    ))
}

/// `long bpf_trace_printk(fmt, fmt_size, a1, a2, a3)`: prints a line to the
/// trace sink; returns the length of the text (before its cut to 1023
/// bytes), or `-EINVAL`/`-ENOSPC`.
///
/// # Safety
/// The helper contract: in unchecked mode `fmt` is readable for `fmt_size`
/// bytes.
pub unsafe extern "C" fn trace_printk(
    fmt: u64,
    fmt_size: u64,
    a1: u64,
    a2: u64,
    a3: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let size = fmt_size as u32 as usize;
    // SAFETY: the helper contract, forwarded.
    let Some(f) = (unsafe { src(env, fmt, size) }) else {
        return 0;
    };
    let Some(end) = f.iter().position(|&b| b == 0) else {
        return neg(EINVAL);
    };
    let args: [u64; TRACE_PRINTK_ARGS] = [a1, a2, a3];
    match bprintf(env, &f[..end], &args) {
        Ok(text) => {
            emit(env, &text);
            text.len() as u64
        }
        Err(e) => neg(e),
    }
}

/// `long bpf_trace_vprintk(fmt, fmt_size, data, data_len)`: as
/// `trace_printk` with up to 12 `u64` arguments in `data`.
///
/// # Safety
/// As [`trace_printk`], and `data` readable for `data_len` bytes.
pub unsafe extern "C" fn trace_vprintk(
    fmt: u64,
    fmt_size: u64,
    data: u64,
    data_len: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let args = match var_args(env, data, data_len as u32 as u64) {
        Ok(Some(a)) => a,
        Ok(None) => return 0,
        Err(e) => return neg(e),
    };
    let size = fmt_size as u32 as usize;
    // SAFETY: the helper contract, forwarded.
    let Some(f) = (unsafe { src(env, fmt, size) }) else {
        return 0;
    };
    let Some(end) = f.iter().position(|&b| b == 0) else {
        return neg(EINVAL);
    };
    match bprintf(env, &f[..end], &args) {
        Ok(text) => {
            emit(env, &text);
            text.len() as u64
        }
        Err(e) => neg(e),
    }
}

/// `long bpf_snprintf(str, str_size, fmt, data, data_len)`: formats into
/// `str` (cut to `str_size - 1` bytes and NUL-terminated when `str_size`
/// is not 0) and returns the length the whole text needs including its
/// NUL, or `-EINVAL`/`-ENOSPC`.
///
/// # Safety
/// The helper contract: in unchecked mode `str` is writable for `str_size`
/// bytes, `fmt` is a NUL-terminated string, `data` readable for `data_len`
/// bytes.
pub unsafe extern "C" fn snprintf(
    out: u64,
    out_size: u64,
    fmt: u64,
    data: u64,
    data_len: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    let args = match var_args(env, data, data_len as u32 as u64) {
        Ok(Some(a)) => a,
        Ok(None) => return 0,
        Err(e) => return neg(e),
    };
    let Some(f) = const_str(env, fmt) else {
        return 0;
    };
    let text = match bprintf(env, &f, &args) {
        Ok(t) => t,
        Err(e) => return neg(e),
    };
    let size = out_size as u32 as usize;
    if size > 0 {
        let n = text.len().min(size - 1);
        let mut buf = Vec::with_capacity(n + 1);
        buf.extend_from_slice(&text[..n]);
        buf.push(0);
        if let Err(f) = env.write_bytes(out, &buf) {
            env.fault(f);
            return 0;
        }
    }
    text.len() as u64 + 1
}

/// Registers the helpers of this module.
pub(crate) fn register(r: &mut super::HelperRegistry) {
    use uapi::helpers::id;
    use uapi::HelperId;
    r.register(HelperId(id::TRACE_PRINTK), trace_printk);
    r.register(HelperId(id::TRACE_VPRINTK), trace_vprintk);
    r.register(HelperId(id::SNPRINTF), snprintf);
}

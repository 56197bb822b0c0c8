//! Helpers about time, the current task, strings and memory probes, and
//! [`standard_registry`], which registers every helper of the crate.
//!
//! "Current" is the task of [`HelperHost::current`] (the host process unless
//! a test-run sets another). Probes (`bpf_probe_read*`) read host memory the
//! way the kernel's read kernel and user memory: without faulting. In
//! checked mode they read only the run's regions and stack; in unchecked
//! mode a source outside them is read with `process_vm_readv(2)` on this
//! process, which reports an unmapped address as `EFAULT` instead of
//! crashing — the user-space counterpart of `copy_from_kernel_nofault`. A
//! failed probe zeroes its destination and returns the kernel's errno:
//! `-ERANGE` from the `_kernel` probes for an address below the kernel half
//! (as the kernel answers for `NULL + off`), `-EFAULT` otherwise.

use crate::env::RunEnv;
use crate::error::AccessKind;
use crate::host::HelperHost;
use crate::HelperRegistry;
use uapi::errno::{EFAULT, EINVAL, ERANGE};
use uapi::helpers::id;
use uapi::HelperId;

/// `-errno` as a helper's return register.
pub(crate) const fn neg(errno: i32) -> u64 {
    -(errno as i64) as u64
}

/// The kernel's `CONFIG_HZ` of the reference kernel (6.18, x86-64 default
/// config): `bpf_jiffies64` counts at this rate.
pub const HZ: u64 = 250;

/// `INITIAL_JIFFIES` on 64-bit: the counter starts five minutes before its
/// 32-bit wrap, so that wrap bugs show early (`(u32)(-300 * HZ)`).
const INITIAL_JIFFIES: u64 = (-300i64 * HZ as i64) as u32 as u64;

/// A clock of `clock_gettime(2)` in nanoseconds.
#[inline]
pub(crate) fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes one timespec we own.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

// ---- nofault reads ------------------------------------------------------

/// Copies `out.len()` bytes from program or host address `addr` without
/// faulting: from the run's stack and regions directly; otherwise, in
/// unchecked mode only, with `process_vm_readv` on this process. `false`
/// when the memory cannot be read (the kernel's `-EFAULT`).
pub(crate) fn read_nofault(env: &RunEnv<'_>, addr: u64, out: &mut [u8]) -> bool {
    if out.is_empty() {
        return true;
    }
    if env.mem.allows(addr, out.len() as u64, AccessKind::Read) {
        let p = std::ptr::with_exposed_provenance::<u8>(addr as usize);
        // SAFETY: the span lies in the stack or a region of the run, which
        // the host vouches valid for reads; `out` is a distinct Rust buffer.
        unsafe { std::ptr::copy_nonoverlapping(p, out.as_mut_ptr(), out.len()) };
        return true;
    }
    if env.is_checked() {
        return false;
    }
    process_read(addr, out)
}

/// `process_vm_readv(2)` of this process: a read that fails cleanly.
fn process_read(addr: u64, out: &mut [u8]) -> bool {
    let local = libc::iovec {
        iov_base: out.as_mut_ptr().cast(),
        iov_len: out.len(),
    };
    let remote = libc::iovec {
        iov_base: std::ptr::with_exposed_provenance_mut(addr as usize),
        iov_len: out.len(),
    };
    // SAFETY: the kernel writes at most `out.len()` bytes into `out`, which
    // we own; the remote address is only read, by the kernel, which checks
    // it and returns an error instead of faulting.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    n == out.len() as isize
}

/// The kernel's `strncpy_from_*_nofault`: copies the NUL-terminated string
/// at `addr` into `out` (at most `out.len() - 1` characters and a NUL;
/// bytes of `out` after the NUL are left alone) and returns the bytes
/// written including the NUL, or `None` on a fault.
pub(crate) fn read_str_nofault(env: &RunEnv<'_>, addr: u64, out: &mut [u8]) -> Option<usize> {
    if out.is_empty() {
        return Some(0);
    }
    let mut scratch = [0u8; 256];
    let mut done = 0usize;
    while done < out.len() {
        // Read up to the end of the page, so that a string near an unmapped
        // page is found with the page-granular process read.
        let a = addr.wrapping_add(done as u64);
        let to_page = (4096 - (a % 4096)) as usize;
        let n = to_page.min(out.len() - done).min(scratch.len());
        let chunk = &mut scratch[..n];
        let got = if read_nofault(env, a, chunk) {
            n
        } else {
            // Byte by byte: the string may end inside a region that stops
            // before the page does.
            let mut ok = 0;
            for (i, b) in chunk.iter_mut().enumerate() {
                let mut one = [0u8];
                if !read_nofault(env, a + i as u64, &mut one) {
                    break;
                }
                *b = one[0];
                ok += 1;
                if one[0] == 0 {
                    break;
                }
            }
            ok
        };
        if let Some(z) = chunk[..got].iter().position(|&b| b == 0) {
            out[done..=done + z].copy_from_slice(&chunk[..=z]);
            return Some(done + z + 1);
        }
        out[done..done + got].copy_from_slice(&chunk[..got]);
        if got < n {
            out[done] = 0;
            return None;
        }
        done += n;
    }
    out[done - 1] = 0;
    Some(done)
}

/// The writable destination `[dst, dst + size)` of a helper, faulting the
/// program when it is not (checked mode).
///
/// # Safety
/// In unchecked mode the span must be writable (the verifier's proof); the
/// slice must not outlive the helper call.
unsafe fn dst_arg<'m>(env: &mut RunEnv<'_>, dst: u64, size: usize) -> Option<&'m mut [u8]> {
    if size == 0 {
        return Some(&mut []);
    }
    match env.translate(dst, size as u64, AccessKind::Write) {
        // SAFETY: validated in checked mode, proved by the verifier
        // otherwise; non-null since size > 0.
        Ok(p) => Some(unsafe { std::slice::from_raw_parts_mut(p, size) }),
        Err(f) => {
            env.fault(f);
            None
        }
    }
}

// ---- probes ---------------------------------------------------------------

/// Which address space a probe reads, for its errno: the kernel refuses a
/// user-space (or non-canonical) address in the `_kernel` probes with
/// `-ERANGE` before trying, and reports any other unreadable address with
/// `-EFAULT`. Here every address is a user-space one, so an unreadable
/// address below the kernel half gives `-ERANGE` from the `_kernel`
/// probes, as an address such as `NULL + 16` does in the kernel, and
/// `-EFAULT` from the others (the compat probe reads such an address as
/// user memory).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Space {
    Kernel,
    Any,
}

/// The errno of a failed probe of `src`.
fn probe_errno(space: Space, src: u64) -> u64 {
    const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;
    if space == Space::Kernel && src < KERNEL_HALF {
        neg(ERANGE)
    } else {
        neg(EFAULT)
    }
}

/// Common body of `bpf_probe_read{,_kernel,_user}`: 0, or the errno with
/// the destination zeroed.
fn probe_read_common(dst: u64, size: u64, src: u64, space: Space, env: &mut RunEnv<'_>) -> u64 {
    let size = size as u32 as usize;
    // SAFETY: the helper contract (destination of `size` bytes).
    let Some(out) = (unsafe { dst_arg(env, dst, size) }) else {
        return 0;
    };
    if read_nofault(env, src, out) {
        0
    } else {
        out.fill(0);
        probe_errno(space, src)
    }
}

/// Common body of the `_str` probes: the length copied including the NUL,
/// or the errno with the destination zeroed.
fn probe_read_str_common(dst: u64, size: u64, src: u64, space: Space, env: &mut RunEnv<'_>) -> u64 {
    let size = size as u32 as usize;
    // SAFETY: the helper contract (destination of `size` bytes).
    let Some(out) = (unsafe { dst_arg(env, dst, size) }) else {
        return 0;
    };
    match read_str_nofault(env, src, out) {
        Some(n) => n as u64,
        None => {
            out.fill(0);
            probe_errno(space, src)
        }
    }
}

helper!(
    /// `long bpf_probe_read(dst, size, src)` (the compat form, which reads
    /// user or kernel memory by address: one address space here).
    probe_read(dst, size, src, _d, _e, env) { probe_read_common(dst, size, src, Space::Any, env) }
);
helper!(
    /// `long bpf_probe_read_kernel(dst, size, src)`.
    probe_read_kernel(dst, size, src, _d, _e, env) {
        probe_read_common(dst, size, src, Space::Kernel, env)
    }
);
helper!(
    /// `long bpf_probe_read_user(dst, size, src)`.
    probe_read_user(dst, size, src, _d, _e, env) { probe_read_common(dst, size, src, Space::Any, env) }
);
helper!(
    /// `long bpf_probe_read_str(dst, size, src)`.
    probe_read_str(dst, size, src, _d, _e, env) {
        probe_read_str_common(dst, size, src, Space::Any, env)
    }
);
helper!(
    /// `long bpf_probe_read_kernel_str(dst, size, src)`.
    probe_read_kernel_str(dst, size, src, _d, _e, env) {
        probe_read_str_common(dst, size, src, Space::Kernel, env)
    }
);
helper!(
    /// `long bpf_probe_read_user_str(dst, size, src)`.
    probe_read_user_str(dst, size, src, _d, _e, env) {
        probe_read_str_common(dst, size, src, Space::Any, env)
    }
);

// ---- time -----------------------------------------------------------------

helper!(
    /// `u64 bpf_ktime_get_boot_ns()`: `CLOCK_BOOTTIME`.
    ktime_get_boot_ns(_a, _b, _c, _d, _e, env) { clock_ns(libc::CLOCK_BOOTTIME) }
);
helper!(
    /// `u64 bpf_ktime_get_coarse_ns()`: `CLOCK_MONOTONIC_COARSE`.
    ktime_get_coarse_ns(_a, _b, _c, _d, _e, env) { clock_ns(libc::CLOCK_MONOTONIC_COARSE) }
);
helper!(
    /// `u64 bpf_ktime_get_tai_ns()`: `CLOCK_TAI`.
    ktime_get_tai_ns(_a, _b, _c, _d, _e, env) { clock_ns(libc::CLOCK_TAI) }
);
helper!(
    /// `u64 bpf_jiffies64()`: ticks of [`HZ`] since boot, from the kernel's
    /// `INITIAL_JIFFIES`, derived from `CLOCK_MONOTONIC` and calibrated
    /// once against the kernel's own count (see `jiffies_offset`).
    jiffies64(_a, _b, _c, _d, _e, env) {
        jiffies_at(clock_ns(libc::CLOCK_MONOTONIC)).wrapping_add(jiffies_offset() as u64)
    }
);

/// Jiffies at monotonic time `ns` if they had started with the clock.
fn jiffies_at(ns: u64) -> u64 {
    INITIAL_JIFFIES.wrapping_add((ns as u128 * HZ as u128 / 1_000_000_000) as u64)
}

/// How far the kernel's jiffies are from [`jiffies_at`] (they start a
/// little after the monotonic clock): measured once from the `jiffies:`
/// line of `/proc/timer_list` when it is readable (root), else 0.
fn jiffies_offset() -> i64 {
    static OFFSET: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| {
        let Ok(text) = std::fs::read_to_string("/proc/timer_list") else {
            return 0;
        };
        let now = jiffies_at(clock_ns(libc::CLOCK_MONOTONIC));
        text.lines()
            .find_map(|l| l.strip_prefix("jiffies:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(0, |k| k.wrapping_sub(now) as i64)
    })
}

// ---- the current task -------------------------------------------------------

/// The current task of the run: the host's, or this process.
fn current(env: &mut RunEnv<'_>) -> crate::host::Current {
    match HelperHost::of(env) {
        Some(h) => h.current.clone(),
        None => crate::host::Current::of_process(),
    }
}

helper!(
    /// `int bpf_get_numa_node_id()`: 0 (one node).
    get_numa_node_id(_a, _b, _c, _d, _e, env) { 0 }
);
helper!(
    /// `u64 bpf_get_current_pid_tgid()`: `tgid << 32 | pid`.
    get_current_pid_tgid(_a, _b, _c, _d, _e, env) {
        match HelperHost::of(env) {
            Some(h) => (u64::from(h.current.tgid) << 32) | u64::from(h.current.pid),
            None => {
                let c = current(env);
                (u64::from(c.tgid) << 32) | u64::from(c.pid)
            }
        }
    }
);
helper!(
    /// `u64 bpf_get_current_uid_gid()`: `gid << 32 | uid`.
    get_current_uid_gid(_a, _b, _c, _d, _e, env) {
        let c = match HelperHost::of(env) {
            Some(h) => (h.current.uid, h.current.gid),
            None => {
                let c = current(env);
                (c.uid, c.gid)
            }
        };
        (u64::from(c.1) << 32) | u64::from(c.0)
    }
);
helper!(
    /// `long bpf_get_current_comm(buf, size)`: the task name, truncated to
    /// `size - 1` bytes and NUL-padded to `size` (the kernel's
    /// `strscpy_pad`); 0.
    get_current_comm(buf, size, _c, _d, _e, env) {
        let size = size as u32 as usize;
        let comm = match HelperHost::of(env) {
            Some(h) => h.current.comm,
            None => current(env).comm,
        };
        // SAFETY: the helper contract (destination of `size` bytes).
        let Some(out) = (unsafe { dst_arg(env, buf, size) }) else {
            return 0;
        };
        if out.is_empty() {
            return neg(EINVAL);
        }
        let len = comm.iter().position(|&b| b == 0).unwrap_or(comm.len());
        let n = len.min(out.len() - 1);
        out[..n].copy_from_slice(&comm[..n]);
        out[n..].fill(0);
        0
    }
);
helper!(
    /// `u64 bpf_get_func_ip(ctx)`: the host's [`HelperHost::func_ip`] (0
    /// without a host).
    get_func_ip(_a, _b, _c, _d, _e, env) { HelperHost::of(env).map_or(0, |h| h.func_ip) }
);
helper!(
    /// `u64 bpf_get_current_task()`: always 0. There is no `task_struct` in
    /// user space; 0 is what a program must already handle (it reads
    /// through the pointer with probes, which then fail with `-EFAULT`, and
    /// a null check skips the work).
    get_current_task(_a, _b, _c, _d, _e, env) { 0 }
);

// ---- strings ------------------------------------------------------------------

helper!(
    /// `long bpf_strncmp(s1, s1_sz, s2)`: the kernel's `strncmp(s1, s2,
    /// s1_sz)`, i.e. -1, 0 or 1 (not the byte difference).
    strncmp(s1, s1_sz, s2, _d, _e, env) {
        let n = s1_sz as u32 as usize;
        // SAFETY: the helper contract: `s1` is readable for `s1_sz` bytes.
        let Some(a) = (unsafe { src_arg(env, s1, n) }) else {
            return 0;
        };
        for (i, &c1) in a.iter().enumerate() {
            // `s2` is a NUL-terminated constant string: read it byte by byte
            // and stop at its NUL, so no byte past it is touched.
            let c2 = match env.translate(s2 + i as u64, 1, AccessKind::Read) {
                // SAFETY: validated in checked mode; in unchecked mode the
                // verifier proved a NUL-terminated string, and we stop at it.
                Ok(p) => unsafe { *p },
                Err(f) => {
                    env.fault(f);
                    return 0;
                }
            };
            if c1 != c2 {
                return if c1 < c2 { u64::MAX } else { 1 };
            }
            if c1 == 0 {
                break;
            }
        }
        0
    }
);

/// `[addr, addr + len)` readable, as a slice (checked mode validates).
///
/// # Safety
/// As `dst_arg`, for reading.
unsafe fn src_arg<'m>(env: &mut RunEnv<'_>, addr: u64, len: usize) -> Option<&'m [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    match env.translate(addr, len as u64, AccessKind::Read) {
        // SAFETY: validated in checked mode, proved by the verifier
        // otherwise; non-null since len > 0.
        Ok(p) => Some(unsafe { std::slice::from_raw_parts(p, len) }),
        Err(f) => {
            env.fault(f);
            None
        }
    }
}

/// The kernel's `isspace` (its ctype table also counts 0xa0).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

/// The kernel's `__bpf_strtoull`: `(consumed, magnitude, negative)` or a
/// negative errno. Leading whitespace and one `-` are skipped; the base is
/// 0 (auto: `0x` hex, `0` octal, else decimal), 8, 10 or 16 (`0x` allowed);
/// at most 63 characters after the sign are looked at; overflow is
/// `-ERANGE`, no digit `-EINVAL`.
pub fn parse_strtoull(buf: &[u8], flags: u64) -> Result<(usize, u64, bool), i32> {
    const BASE_MASK: u64 = 0x1f;
    let mut base = (flags & BASE_MASK) as u32;
    if buf.is_empty() || !matches!(base, 0 | 8 | 10 | 16) || flags & !BASE_MASK != 0 {
        return Err(EINVAL);
    }
    let mut i = buf.iter().take_while(|&&c| is_space(c)).count();
    let negative = buf.get(i) == Some(&b'-');
    if negative {
        i += 1;
    }
    let consumed = i;
    if consumed == buf.len() {
        return Err(EINVAL);
    }
    // The kernel copies at most 63 bytes into a NUL-terminated buffer.
    let rest = &buf[i..buf.len().min(i + 63)];
    let at = |k: usize| rest.get(k).copied().unwrap_or(0);
    let mut s = 0usize;
    if base == 0 {
        base = if at(0) == b'0' {
            if at(1).eq_ignore_ascii_case(&b'x') && at(2).is_ascii_hexdigit() {
                16
            } else {
                8
            }
        } else {
            10
        };
    }
    if base == 16 && at(0) == b'0' && at(1).eq_ignore_ascii_case(&b'x') {
        s = 2;
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    let mut digits = 0usize;
    while let Some(d) = (at(s + digits) as char).to_digit(16).filter(|&d| d < base) {
        match value
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        digits += 1;
    }
    if overflow {
        return Err(ERANGE);
    }
    if digits == 0 {
        return Err(EINVAL);
    }
    Ok((consumed + s + digits, value, negative))
}

/// Reads the string argument of `strtol`/`strtoul` and writes `res`.
fn strto(buf: u64, len: u64, flags: u64, res: u64, signed: bool, env: &mut RunEnv<'_>) -> u64 {
    let len = len as usize;
    // SAFETY: the helper contract: `buf` readable for `buf_len` bytes.
    let Some(b) = (unsafe { src_arg(env, buf, len) }) else {
        return 0;
    };
    let (n, v, negative) = match parse_strtoull(b, flags) {
        Ok(r) => r,
        Err(e) => return neg(e),
    };
    let out = if signed {
        if negative {
            if (v.wrapping_neg() as i64) > 0 {
                return neg(ERANGE);
            }
            v.wrapping_neg()
        } else {
            if (v as i64) < 0 {
                return neg(ERANGE);
            }
            v
        }
    } else {
        if negative {
            return neg(EINVAL);
        }
        v
    };
    if let Err(f) = env.write_bytes(res, &out.to_ne_bytes()) {
        env.fault(f);
        return 0;
    }
    n as u64
}

helper!(
    /// `long bpf_strtol(buf, buf_len, flags, res)`: characters consumed, or
    /// `-EINVAL`/`-ERANGE`; the value in `*res` (a `long`).
    strtol(buf, len, flags, res, _e, env) { strto(buf, len, flags, res, true, env) }
);
helper!(
    /// `long bpf_strtoul(buf, buf_len, flags, res)`: as `bpf_strtol`, for an
    /// `unsigned long`; a minus sign is `-EINVAL`.
    strtoul(buf, len, flags, res, _e, env) { strto(buf, len, flags, res, false, env) }
);

// ---- the registry ---------------------------------------------------------------

/// Every helper of this crate: the builtins of [`HelperRegistry::with_builtins`],
/// the map, ring buffer, perf and spin lock helpers, tracing and
/// `snprintf`, strings, probes, time, the current task, and the skb/xdp
/// packet helpers ([`super::register_packet_helpers`]). (`bpf_tail_call`,
/// `bpf_loop` and `bpf_for_each_map_elem` are not in the registry: the
/// interpreter executes them itself.)
pub fn standard_registry() -> HelperRegistry {
    let mut r = HelperRegistry::with_builtins();
    super::maps::register(&mut r);
    super::trace::register(&mut r);
    super::task::register(&mut r);
    super::net::register(&mut r);
    super::sock::register(&mut r);
    super::register_packet_helpers(&mut r);
    let all: [(u32, super::HelperFn); 19] = [
        (id::PROBE_READ, probe_read),
        (id::PROBE_READ_KERNEL, probe_read_kernel),
        (id::PROBE_READ_USER, probe_read_user),
        (id::PROBE_READ_STR, probe_read_str),
        (id::PROBE_READ_KERNEL_STR, probe_read_kernel_str),
        (id::PROBE_READ_USER_STR, probe_read_user_str),
        (id::KTIME_GET_BOOT_NS, ktime_get_boot_ns),
        (id::KTIME_GET_COARSE_NS, ktime_get_coarse_ns),
        (id::KTIME_GET_TAI_NS, ktime_get_tai_ns),
        (id::JIFFIES64, jiffies64),
        (id::GET_NUMA_NODE_ID, get_numa_node_id),
        (id::GET_CURRENT_PID_TGID, get_current_pid_tgid),
        (id::GET_CURRENT_UID_GID, get_current_uid_gid),
        (id::GET_CURRENT_COMM, get_current_comm),
        (id::GET_FUNC_IP, get_func_ip),
        (id::GET_CURRENT_TASK, get_current_task),
        (id::STRNCMP, strncmp),
        (id::STRTOL, strtol),
        (id::STRTOUL, strtoul),
    ];
    for (n, f) in all {
        r.register(HelperId(n), f);
    }
    r
}

impl HelperRegistry {
    /// The same as [`standard_registry`].
    pub fn standard() -> HelperRegistry {
        standard_registry()
    }
}

//! Helpers about cgroups, sockets and stacks — the kernel objects a user-space
//! runtime has only a stand-in for. Each documents what it answers here.
//!
//! - cgroup ids are real: the inode number of the task's cgroup v2
//!   directory under `/sys/fs/cgroup`, which is exactly what the kernel's
//!   `cgroup_id()` is.
//! - socket cookies are unique, non-zero and increasing per process (the
//!   kernel's `sock_gen_cookie` numbers sockets the same way); packets of a
//!   test run have no socket of their own, so one run's packets share one.
//! - stacks: a program has no kernel or user call stack to walk here; a
//!   stack is the one frame the context names (`pt_regs->ip` of kprobe and
//!   perf_event contexts), which keeps `bpf_get_stackid` ids stable per
//!   probed address as the kernel's are per call chain.

use crate::env::RunEnv;
use crate::host::HelperHost;
use crate::HelperRegistry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use uapi::errno::{EFAULT, EINVAL};
use uapi::helpers::id;
use uapi::HelperId;

use super::misc::neg;

/// The cgroup v2 id of this process: the inode of its cgroup directory.
fn process_cgroup_id() -> u64 {
    static ID: OnceLock<u64> = OnceLock::new();
    *ID.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        let path = std::fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("0::").map(str::to_string))
            })
            .unwrap_or_else(|| "/".to_string());
        std::fs::metadata(format!("/sys/fs/cgroup{}", path.trim_end()))
            .or_else(|_| std::fs::metadata("/sys/fs/cgroup"))
            .map(|m| m.ino())
            .unwrap_or(1)
    })
}

/// Ancestor `level` of this process's cgroup (0 = the root), or 0 when the
/// cgroup is not that deep, as `bpf_get_current_ancestor_cgroup_id`.
fn ancestor_cgroup_id(level: u64) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Some(path) = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("0::").map(|p| p.trim_end().to_string()))
        })
    else {
        return 0;
    };
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if level as usize > parts.len() {
        return 0;
    }
    let sub = parts[..level as usize].join("/");
    std::fs::metadata(format!("/sys/fs/cgroup/{sub}"))
        .map(|m| m.ino())
        .unwrap_or(0)
}

/// Socket cookies of this process, from 1 up.
static NEXT_COOKIE: AtomicU64 = AtomicU64::new(1);

helper!(
    /// `u64 bpf_get_current_cgroup_id()`: the inode number of this
    /// process's cgroup v2 directory.
    get_current_cgroup_id(_a, _b, _c, _d, _e, env) { process_cgroup_id() }
);

helper!(
    /// `u64 bpf_get_current_ancestor_cgroup_id(int level)`.
    get_current_ancestor_cgroup_id(level, _b, _c, _d, _e, env) { ancestor_cgroup_id(level) }
);

helper!(
    /// `u64 bpf_skb_cgroup_id(skb)`: the cgroup of the packet's socket —
    /// here the runtime's own cgroup, the one a local socket would have.
    skb_cgroup_id(_ctx, _b, _c, _d, _e, env) { process_cgroup_id() }
);

helper!(
    /// `u64 bpf_skb_ancestor_cgroup_id(skb, int level)`.
    skb_ancestor_cgroup_id(_ctx, level, _c, _d, _e, env) { ancestor_cgroup_id(level) }
);

helper!(
    /// `u64 bpf_get_socket_cookie(ctx)`: the cookie of the context's
    /// socket. A run has one socket: its cookie is taken on first use and
    /// kept for the rest of the run (see the module documentation).
    get_socket_cookie(_ctx, _b, _c, _d, _e, env) {
        match HelperHost::of(env) {
            Some(h) => *h
                .socket_cookie
                .get_or_insert_with(|| NEXT_COOKIE.fetch_add(1, Ordering::Relaxed)),
            None => NEXT_COOKIE.fetch_add(1, Ordering::Relaxed),
        }
    }
);

/// Offset of `ip` in x86-64 `struct pt_regs` (kprobe and perf_event
/// contexts begin with it).
const PT_REGS_IP: u64 = 16 * 8;
/// `BPF_F_SKIP_FIELD_MASK`, `BPF_F_USER_STACK`, `BPF_F_FAST_STACK_CMP`,
/// `BPF_F_REUSE_STACKID`.
const STACKID_FLAGS: u64 = 0xff | 1 << 8 | 1 << 9 | 1 << 10;
/// `BPF_F_USER_BUILD_ID` and the flags `bpf_get_stack` accepts.
const GET_STACK_FLAGS: u64 = 0xff | 1 << 8 | 1 << 11;

/// The one-frame stack of a context: `pt_regs->ip` when the context holds
/// one, else nothing.
fn context_stack(env: &RunEnv<'_>, ctx: u64) -> Vec<u64> {
    let mut b = [0u8; 8];
    match env.read_bytes(ctx.wrapping_add(PT_REGS_IP), &mut b) {
        Ok(()) if u64::from_le_bytes(b) != 0 => vec![u64::from_le_bytes(b)],
        _ => Vec::new(),
    }
}

helper!(
    /// `long bpf_get_stackid(ctx, map, flags)`: the id under which the
    /// stack_trace map keeps the context's stack (see the module
    /// documentation), or `-EFAULT` when there is no stack to store.
    get_stackid(ctx, map, flags, _d, _e, env) {
        if flags & !STACKID_FLAGS != 0 {
            return neg(EINVAL);
        }
        let skip = (flags & 0xff) as usize;
        let ips: Vec<u64> = context_stack(env, ctx).into_iter().skip(skip).collect();
        if ips.is_empty() {
            return neg(EFAULT);
        }
        let Some(host) = HelperHost::of(env) else {
            return neg(EINVAL);
        };
        let Some(m) = host.map(map) else {
            return neg(EINVAL);
        };
        match m.stack_store(&ips, flags & !0xff) {
            Ok(id) => u64::from(id),
            Err(e) => neg(e.errno()),
        }
    }
);

helper!(
    /// `long bpf_get_stack(ctx, buf, size, flags)`: the context's stack
    /// into `buf` (8 bytes per frame, the rest zeroed); the bytes written.
    get_stack(ctx, buf, size, flags, _e, env) {
        if flags & !GET_STACK_FLAGS != 0 || !size.is_multiple_of(8) {
            return neg(EINVAL);
        }
        let skip = (flags & 0xff) as usize;
        let ips: Vec<u64> = context_stack(env, ctx).into_iter().skip(skip).collect();
        let n = ips.len().min(size as usize / 8);
        let mut out = vec![0u8; size as usize];
        for (i, ip) in ips[..n].iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&ip.to_le_bytes());
        }
        if let Err(f) = env.write_bytes(buf, &out) {
            env.fault(f);
            return neg(EFAULT);
        }
        (n * 8) as u64
    }
);

/// Registers the helpers of this module.
pub fn register(r: &mut HelperRegistry) {
    let all: [(u32, super::HelperFn); 7] = [
        (id::GET_CURRENT_CGROUP_ID, get_current_cgroup_id),
        (
            id::GET_CURRENT_ANCESTOR_CGROUP_ID,
            get_current_ancestor_cgroup_id,
        ),
        (id::SKB_CGROUP_ID, skb_cgroup_id),
        (id::SKB_ANCESTOR_CGROUP_ID, skb_ancestor_cgroup_id),
        (id::GET_SOCKET_COOKIE, get_socket_cookie),
        (id::GET_STACKID, get_stackid),
        (id::GET_STACK, get_stack),
    ];
    for (n, f) in all {
        r.register(HelperId(n), f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_ids_are_the_cgroup_directory_inodes() {
        use std::os::unix::fs::MetadataExt;
        let mut env = RunEnv::new();
        // SAFETY: these helpers read no program memory.
        let id = unsafe { get_current_cgroup_id(0, 0, 0, 0, 0, &mut env) };
        assert_ne!(id, 0);
        let root = std::fs::metadata("/sys/fs/cgroup").map(|m| m.ino());
        // SAFETY: as above.
        let level0 = unsafe { get_current_ancestor_cgroup_id(0, 0, 0, 0, 0, &mut env) };
        if let Ok(root) = root {
            assert_eq!(level0, root);
        }
        // SAFETY: as above.
        let deep = unsafe { get_current_ancestor_cgroup_id(1000, 0, 0, 0, 0, &mut env) };
        assert_eq!(deep, 0);
    }

    #[test]
    fn one_socket_cookie_per_run() {
        let mut host = HelperHost::new(Vec::new());
        let mut env = RunEnv::new();
        env.set_host(&mut host);
        // SAFETY: the helper reads no program memory.
        let (a, b) = unsafe {
            (
                get_socket_cookie(0, 0, 0, 0, 0, &mut env),
                get_socket_cookie(0, 0, 0, 0, 0, &mut env),
            )
        };
        assert!(a != 0 && a == b);
        let mut host2 = HelperHost::new(Vec::new());
        let mut env2 = RunEnv::new();
        env2.set_host(&mut host2);
        // SAFETY: as above.
        let c = unsafe { get_socket_cookie(0, 0, 0, 0, 0, &mut env2) };
        assert!(c > a);
    }

    #[test]
    fn stacks_come_from_the_context_ip() {
        let map = std::sync::Arc::new(
            maps::Map::create(
                maps::MapSpec::new(uapi::MapType::StackTrace, 4, 8 * 8, 16),
                &maps::MapOptions::new(1),
            )
            .expect("stack map"),
        );
        let addr = HelperHost::map_addr(&map);
        let mut host = HelperHost::new(vec![map.clone()]);
        let mut regs = [0u8; 168];
        regs[128..136].copy_from_slice(&0xffff_ffff_8100_1234u64.to_le_bytes());
        let mut env = RunEnv::new();
        let ctx = env.add_region(&mut regs, crate::RegionKind::Context);
        env.set_host(&mut host);
        // SAFETY: the context is a region of the run; the map is the
        // host's.
        let id = unsafe { get_stackid(ctx, addr, 0, 0, 0, &mut env) };
        assert!((id as i64) >= 0, "{}", id as i64);
        let v = map
            .lookup(&(id as u32).to_le_bytes())
            .expect("stored stack");
        assert_eq!(&v[..8], &0xffff_ffff_8100_1234u64.to_le_bytes());
        // SAFETY: as above.
        let bad = unsafe { get_stackid(ctx, addr, 1 << 20, 0, 0, &mut env) };
        assert_eq!(bad, neg(EINVAL));
        // Skipping the only frame leaves nothing to store.
        // SAFETY: as above.
        let skipped = unsafe { get_stackid(ctx, addr, 1, 0, 0, &mut env) };
        assert_eq!(skipped, neg(EFAULT));
    }
}

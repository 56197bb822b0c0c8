//! Socket map helpers (sk_skb, sk_msg and sock_ops programs) and
//! `bpf_copy_from_user` (syscall programs).
//!
//! A sockmap or sockhash here stores socket *cookies* (see
//! [`maps::Map::redirect_target`]): the runtime has no kernel sockets to
//! splice, so a redirect is a verdict plus a recorded target, as a test-run
//! reports it. The semantics are those of `net/core/sock_map.c`:
//!
//! - the redirect helpers answer `SK_DROP` for flags other than
//!   `BPF_F_INGRESS` and for an empty entry, else record the target and
//!   answer `SK_PASS`;
//! - the update helpers insert the context's socket (its cookie, the one
//!   `bpf_get_socket_cookie` gives) only from the sock_ops callbacks where
//!   the kernel allows it (active/passive established, listen), else
//!   `-EOPNOTSUPP`; the map's own checks give `-EINVAL` (flags), `-E2BIG`
//!   (index), `-EEXIST`/`-ENOENT` (`BPF_NOEXIST`/`BPF_EXIST`), `-ENOMEM`.
//!
//! [`HelperHost::redirect`] keeps a `u32` target: the cookie is stored
//! truncated to its low 32 bits (the cookies of this process count from 1,
//! so they fit), and the flags word holds `BPF_F_INGRESS`.

use crate::env::RunEnv;
use crate::error::{AccessKind, HelperFault};
use crate::host::HelperHost;
use crate::HelperRegistry;
use uapi::errno::{EFAULT, EOPNOTSUPP};
use uapi::helpers::id;
use uapi::{HelperId, MapType};

use super::misc::{neg, read_nofault};

/// `SK_DROP` and `SK_PASS`, the verdicts of sk_skb and sk_msg programs.
pub const SK_DROP: u64 = 0;
pub const SK_PASS: u64 = 1;
/// `BPF_F_INGRESS`: redirect into the target's receive queue.
pub const BPF_F_INGRESS: u64 = 1;

/// sock_ops callbacks from which the kernel lets a program insert the
/// socket into a map (`sock_map_op_okay`): `BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB`,
/// `BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB`, `BPF_SOCK_OPS_TCP_LISTEN_CB`.
const UPDATE_OPS: [u32; 3] = [4, 5, 11];

/// The map at `addr`: in checked runs only one of the host's maps, in
/// unchecked runs the verifier's proof. Faults (and gives `None`) otherwise.
/// The map lives in an `Arc` the host keeps for the whole run, so the
/// reference does not borrow the environment.
///
/// # Safety
/// In unchecked mode `addr` must be a map pointer the loader resolved and
/// the host keeps alive (the helper contract); the reference must not
/// outlive the helper call.
unsafe fn map_arg<'h>(env: &mut RunEnv<'_>, addr: u64, helper: &str) -> Option<&'h maps::Map> {
    let checked = env.is_checked();
    let Some(host) = HelperHost::of(env) else {
        env.fault(HelperFault::Other(format!(
            "{helper} needs the runtime's host"
        )));
        return None;
    };
    let m = if checked {
        host.map(addr).map(std::ptr::from_ref)
    } else {
        Some(std::ptr::with_exposed_provenance::<maps::Map>(
            addr as usize,
        ))
    };
    match m {
        // SAFETY: checked: one of `host.maps`; unchecked: a map pointer the
        // loader resolved (verified program). Either way an `Arc` of the
        // host keeps it alive past this call.
        Some(m) => Some(unsafe { &*m }),
        None => {
            env.fault(HelperFault::Other(format!(
                "{helper}: {addr:#x} is not a map of the run"
            )));
            None
        }
    }
}

/// The `key_size` bytes of the key at `key`, faulting when unreadable.
fn key_arg(env: &mut RunEnv<'_>, key: u64, size: u32) -> Option<Vec<u8>> {
    let mut k = vec![0u8; size as usize];
    match env.read_bytes(key, &mut k) {
        Ok(()) => Some(k),
        Err(f) => {
            env.fault(f);
            None
        }
    }
}

/// Common body of the four redirect helpers. `key` is the key itself
/// (sockmap: the `u32` index register) or a pointer to it (sockhash).
fn redirect_common(
    env: &mut RunEnv<'_>,
    map: u64,
    key: u64,
    flags: u64,
    want: MapType,
    helper: &str,
) -> u64 {
    if flags & !BPF_F_INGRESS != 0 {
        return SK_DROP;
    }
    // SAFETY: the helper contract (`map` is a map of the run).
    let Some(m) = (unsafe { map_arg(env, map, helper) }) else {
        return SK_DROP;
    };
    if m.map_type() != want {
        // The verifier pairs each helper with its map type; a checked run
        // of an unverified program gets the kernel's "no socket" answer.
        return SK_DROP;
    }
    let k = if want == MapType::Sockmap {
        (key as u32).to_ne_bytes().to_vec()
    } else {
        match key_arg(env, key, m.spec().key_size) {
            Some(k) => k,
            None => return SK_DROP,
        }
    };
    let Some(t) = m.redirect_target(&k) else {
        return SK_DROP;
    };
    if let Some(host) = HelperHost::of(env) {
        host.redirect = Some((t.target, flags & BPF_F_INGRESS));
    }
    SK_PASS
}

/// Common body of `bpf_sock_map_update` and `bpf_sock_hash_update`.
fn update_common(
    env: &mut RunEnv<'_>,
    ctx: u64,
    map: u64,
    key: u64,
    flags: u64,
    want: MapType,
    helper: &str,
) -> u64 {
    // `struct bpf_sock_ops` begins with `__u32 op`.
    let mut op = [0u8; 4];
    if let Err(f) = env.read_bytes(ctx, &mut op) {
        env.fault(f);
        return neg(EFAULT);
    }
    // SAFETY: the helper contract (`map` is a map of the run).
    let Some(m) = (unsafe { map_arg(env, map, helper) }) else {
        return neg(EFAULT);
    };
    if m.map_type() != want || !UPDATE_OPS.contains(&u32::from_ne_bytes(op)) {
        return neg(EOPNOTSUPP);
    }
    // SAFETY: reads no program memory; takes the run's cookie from the host.
    let cookie = unsafe { super::task::get_socket_cookie(ctx, 0, 0, 0, 0, env) };
    let Some(k) = key_arg(env, key, m.spec().key_size) else {
        return neg(EFAULT);
    };
    match m.sock_update_from_prog(&k, cookie, flags) {
        Ok(()) => 0,
        Err(e) => neg(e.errno()),
    }
}

helper!(
    /// `long bpf_sk_redirect_map(skb, map, u32 key, flags)` (sockmap).
    sk_redirect_map(ctx, map, key, flags, _e, env) {
        redirect_common(env, map, key, flags, MapType::Sockmap, "bpf_sk_redirect_map")
    }
);
helper!(
    /// `long bpf_sk_redirect_hash(skb, map, void *key, flags)` (sockhash).
    sk_redirect_hash(ctx, map, key, flags, _e, env) {
        redirect_common(env, map, key, flags, MapType::Sockhash, "bpf_sk_redirect_hash")
    }
);
helper!(
    /// `long bpf_msg_redirect_map(msg, map, u32 key, flags)` (sockmap).
    msg_redirect_map(ctx, map, key, flags, _e, env) {
        redirect_common(env, map, key, flags, MapType::Sockmap, "bpf_msg_redirect_map")
    }
);
helper!(
    /// `long bpf_msg_redirect_hash(msg, map, void *key, flags)` (sockhash).
    msg_redirect_hash(ctx, map, key, flags, _e, env) {
        redirect_common(env, map, key, flags, MapType::Sockhash, "bpf_msg_redirect_hash")
    }
);
helper!(
    /// `long bpf_sock_map_update(skops, map, void *key, flags)`.
    sock_map_update(ctx, map, key, flags, _e, env) {
        update_common(env, ctx, map, key, flags, MapType::Sockmap, "bpf_sock_map_update")
    }
);
helper!(
    /// `long bpf_sock_hash_update(skops, map, void *key, flags)`.
    sock_hash_update(ctx, map, key, flags, _e, env) {
        update_common(env, ctx, map, key, flags, MapType::Sockhash, "bpf_sock_hash_update")
    }
);
helper!(
    /// `long bpf_msg_apply_bytes(msg, u32 bytes)`: the kernel stores the
    /// count in the message and answers 0; there is no message to keep it
    /// here (the host has no field for it), so only the answer is given.
    msg_apply_bytes(ctx, bytes, _c, _d, _e, env) { 0 }
);
helper!(
    /// `long bpf_msg_cork_bytes(msg, u32 bytes)`: as `bpf_msg_apply_bytes`.
    msg_cork_bytes(ctx, bytes, _c, _d, _e, env) { 0 }
);
helper!(
    /// `long bpf_copy_from_user(dst, u32 size, const void *user_ptr)`: a
    /// fault-free read of host memory (see `helpers::misc`); on failure the
    /// destination is zeroed and the answer is `-EFAULT`.
    copy_from_user(dst, size, src, _d, _e, env) {
        let size = size as u32 as usize;
        if size == 0 {
            return 0;
        }
        let p = match env.translate(dst, size as u64, AccessKind::Write) {
            Ok(p) => p,
            Err(f) => {
                env.fault(f);
                return neg(EFAULT);
            }
        };
        // SAFETY: validated in checked mode, proved writable by the
        // verifier otherwise; non-null since size > 0; used only here.
        let out = unsafe { std::slice::from_raw_parts_mut(p, size) };
        if read_nofault(env, src, out) {
            0
        } else {
            out.fill(0);
            neg(EFAULT)
        }
    }
);

/// Registers the helpers of this module.
pub fn register(r: &mut HelperRegistry) {
    let all: [(u32, super::HelperFn); 9] = [
        (id::SK_REDIRECT_MAP, sk_redirect_map),
        (id::SK_REDIRECT_HASH, sk_redirect_hash),
        (id::MSG_REDIRECT_MAP, msg_redirect_map),
        (id::MSG_REDIRECT_HASH, msg_redirect_hash),
        (id::SOCK_MAP_UPDATE, sock_map_update),
        (id::SOCK_HASH_UPDATE, sock_hash_update),
        (id::MSG_APPLY_BYTES, msg_apply_bytes),
        (id::MSG_CORK_BYTES, msg_cork_bytes),
        (id::COPY_FROM_USER, copy_from_user),
    ];
    for (n, f) in all {
        r.register(HelperId(n), f);
    }
}

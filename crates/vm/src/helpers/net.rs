//! Helpers that would hand a packet to the host's network stack, which a
//! user-space runtime does not own: `bpf_clone_redirect` validates its
//! arguments as the kernel does and counts the clone as sent;
//! `bpf_fib_lookup` validates its arguments and answers that the route is
//! not one it forwards (`BPF_FIB_LKUP_RET_NOT_FWDED`), the kernel's answer
//! for local and non-unicast destinations — programs take their slow path
//! (`XDP_PASS`/`TC_ACT_OK`), as they must be written to.

use super::misc::neg;
use crate::env::RunEnv;
use crate::host::HelperHost;
use crate::HelperRegistry;
use uapi::errno::{EAFNOSUPPORT, EINVAL};
use uapi::helpers::id;
use uapi::HelperId;

/// `BPF_F_INGRESS`.
const BPF_F_INGRESS: u64 = 1;
/// `sizeof(struct bpf_fib_lookup)`.
pub const FIB_LOOKUP_SIZE: u64 = 64;
/// `BPF_FIB_LOOKUP_DIRECT | OUTPUT | SKIP_NEIGH | TBID | SRC | MARK`.
const FIB_FLAGS: u64 = 0x3f;
/// `BPF_FIB_LKUP_RET_NOT_FWDED`.
pub const FIB_RET_NOT_FWDED: u64 = 4;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// `long bpf_clone_redirect(skb, ifindex, flags)`: 0 when the device
/// exists (the clone is counted in [`HelperHost::clones`]), `-EINVAL` for
/// unknown flags or devices.
///
/// # Safety
/// The helper contract ([`crate::helpers`]); it reads no program memory.
pub unsafe extern "C" fn clone_redirect(
    _skb: u64,
    ifindex: u64,
    flags: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    if flags & !BPF_F_INGRESS != 0 {
        return neg(EINVAL);
    }
    if crate::ctx::netdev::lookup(ifindex as u32).is_none() {
        return neg(EINVAL);
    }
    if let Some(h) = HelperHost::of(env) {
        h.clones += 1;
    }
    0
}

/// `long bpf_fib_lookup(ctx, params, plen, flags)`: see the module
/// documentation.
///
/// # Safety
/// The helper contract ([`crate::helpers`]): `params` is `plen` readable
/// bytes in unchecked mode.
pub unsafe extern "C" fn fib_lookup(
    _ctx: u64,
    params: u64,
    plen: u64,
    flags: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    if plen < FIB_LOOKUP_SIZE || flags & !FIB_FLAGS != 0 {
        return neg(EINVAL);
    }
    let mut family = [0u8; 1];
    if let Err(f) = env.read_bytes(params, &mut family) {
        env.fault(f);
        return neg(EINVAL);
    }
    match family[0] {
        AF_INET | AF_INET6 => FIB_RET_NOT_FWDED,
        _ => neg(EAFNOSUPPORT),
    }
}

/// Registers the helpers of this module.
pub fn register(r: &mut HelperRegistry) {
    r.register(HelperId(id::CLONE_REDIRECT), clone_redirect);
    r.register(HelperId(id::FIB_LOOKUP), fib_lookup);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_redirect_checks_flags_and_devices() {
        let mut host = HelperHost::new(Vec::new());
        let mut env = RunEnv::new();
        env.set_host(&mut host);
        // SAFETY: the helper reads no program memory.
        unsafe {
            assert_eq!(clone_redirect(0, 1, 0, 0, 0, &mut env), 0);
            assert_eq!(clone_redirect(0, 1, BPF_F_INGRESS, 0, 0, &mut env), 0);
            assert_eq!(clone_redirect(0, 1, 2, 0, 0, &mut env), neg(EINVAL));
            assert_eq!(
                clone_redirect(0, 0x7fff_fff0, 0, 0, 0, &mut env),
                neg(EINVAL)
            );
        }
        drop(env);
        assert_eq!(host.clones, 2);
    }

    #[test]
    fn fib_lookup_validates_then_does_not_forward() {
        let mut params = [0u8; 64];
        let mut env = RunEnv::new();
        let p = env.add_region(&mut params, crate::RegionKind::Other);
        // SAFETY: `p` is a 64-byte region of the run.
        unsafe {
            assert_eq!(fib_lookup(0, p, 63, 0, 0, &mut env), neg(EINVAL));
            assert_eq!(fib_lookup(0, p, 64, 0x40, 0, &mut env), neg(EINVAL));
            assert_eq!(fib_lookup(0, p, 64, 0, 0, &mut env), neg(EAFNOSUPPORT));
        }
        drop(env);
        params[0] = AF_INET;
        let mut env = RunEnv::new();
        let p = env.add_region(&mut params, crate::RegionKind::Other);
        // SAFETY: as above.
        let r = unsafe { fib_lookup(0, p, 64, 0, 0, &mut env) };
        assert_eq!(r, FIB_RET_NOT_FWDED);
    }
}

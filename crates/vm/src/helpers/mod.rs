//! The helper ABI, the registry the host fills, and the helpers that need
//! nothing but the run environment.
//!
//! A helper is an `extern "C"` function of the five argument registers and
//! the run environment:
//!
//! ```text
//! unsafe extern "C" fn(r1, r2, r3, r4, r5: u64, env: &mut RunEnv) -> u64 /* r0 */
//! ```
//!
//! The System V calling convention puts `r1`–`r5` in `rdi, rsi, rdx, rcx,
//! r8` and the environment in `r9`, so a JIT that keeps BPF registers in
//! those machine registers calls the very same function with one extra
//! `mov r9, env`; the interpreter calls it through the same pointer. Helpers
//! are `unsafe` because they trust their arguments the way the kernel's do:
//! in unchecked mode the verifier has proved pointer arguments valid; in
//! checked mode a helper must validate them with [`RunEnv::translate`] (or
//! [`RunEnv::read_bytes`]/[`RunEnv::write_bytes`]), which do so exactly when
//! the run is checked. A helper that finds its arguments unusable calls
//! [`RunEnv::fault`], and the program stops after the helper returns.

/// Defines a helper from its body: the `extern "C"` signature of
/// [`HelperFn`] with named registers, and the safety section every helper
/// shares. Defined before the submodules so that they can all use it.
macro_rules! helper {
    ($(#[$doc:meta])* $name:ident($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $env:ident) $body:block) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The helper contract (see [`crate::helpers`]): in unchecked mode
        /// pointer arguments are valid as the helper's prototype says.
        #[allow(unused_variables)]
        pub unsafe extern "C" fn $name(
            $a: u64,
            $b: u64,
            $c: u64,
            $d: u64,
            $e: u64,
            $env: &mut crate::env::RunEnv<'_>,
        ) -> u64 $body
    };
}

pub mod csum;
pub mod maps;
pub mod misc;
pub mod net;
pub mod packet;
pub mod skb;
pub mod sock;
pub mod task;
pub mod trace;
pub mod xdp;

pub use misc::standard_registry;
pub use packet::register_packet_helpers;

use crate::env::RunEnv;
use std::sync::atomic::{AtomicU64, Ordering};
use uapi::helpers::id;
use uapi::HelperId;

/// A helper function (see the module documentation for the contract).
pub type HelperFn = unsafe extern "C" fn(u64, u64, u64, u64, u64, &mut RunEnv<'_>) -> u64;

/// Helper number → function, filled by the host before programs are
/// prepared. Preparation resolves every `call N` through it once and refuses
/// unknown numbers, naming the helper and the instruction.
#[derive(Clone, Default)]
pub struct HelperRegistry {
    table: Vec<Option<HelperFn>>,
}

impl std::fmt::Debug for HelperRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.ids()).finish()
    }
}

impl HelperRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with the helpers of this module: `bpf_ktime_get_ns`,
    /// `bpf_get_prandom_u32`, `bpf_get_smp_processor_id`.
    pub fn with_builtins() -> Self {
        let mut r = Self::new();
        r.register(HelperId(id::KTIME_GET_NS), ktime_get_ns);
        r.register(HelperId(id::GET_PRANDOM_U32), get_prandom_u32);
        r.register(HelperId(id::GET_SMP_PROCESSOR_ID), get_smp_processor_id);
        r
    }

    /// Registers (or replaces) helper `id`; returns the previous function.
    pub fn register(&mut self, id: HelperId, f: HelperFn) -> Option<HelperFn> {
        let i = id.0 as usize;
        if self.table.len() <= i {
            self.table.resize(i + 1, None);
        }
        self.table[i].replace(f)
    }

    /// The function of helper `id`.
    pub fn get(&self, id: u32) -> Option<HelperFn> {
        self.table.get(id as usize).copied().flatten()
    }

    /// The registered helper numbers, ascending.
    pub fn ids(&self) -> impl Iterator<Item = HelperId> + '_ {
        self.table
            .iter()
            .enumerate()
            .filter(|(_, f)| f.is_some())
            .map(|(i, _)| HelperId(i as u32))
    }

    /// The table, for callx-by-helper-id at run time.
    pub(crate) fn table(&self) -> &[Option<HelperFn>] {
        &self.table
    }
}

/// `bpf_ktime_get_ns`: `CLOCK_MONOTONIC` in nanoseconds, the kernel's
/// clock (`ktime_get_mono_fast_ns`), read straight from the vDSO: no
/// `Instant` arithmetic on the path programs call per packet.
///
/// # Safety
/// None needed beyond the helper contract; it reads no memory.
pub unsafe extern "C" fn ktime_get_ns(
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: &mut RunEnv<'_>,
) -> u64 {
    misc::clock_ns(libc::CLOCK_MONOTONIC)
}

/// `bpf_get_prandom_u32`: a fast pseudo-random 32-bit number (not for
/// cryptography, like the kernel's).
///
/// # Safety
/// None needed beyond the helper contract; it reads no memory.
pub unsafe extern "C" fn get_prandom_u32(
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: &mut RunEnv<'_>,
) -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0x853c_49e6_748f_ea9b);
    // splitmix64 over a shared counter: lock-free, different per call.
    let mut z = STATE
        .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) >> 32
}

/// `bpf_get_smp_processor_id`: the worker index of the run ("per-CPU means
/// per worker").
///
/// # Safety
/// None needed beyond the helper contract; it reads no memory.
pub unsafe extern "C" fn get_smp_processor_id(
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    env.worker() as u64
}

/// The conformance suite's helper 5 (uBPF's and rbpf's "unwind"): returns
/// its first argument. Only the conformance plugin registers it, in place of
/// `bpf_ktime_get_ns`.
///
/// # Safety
/// None needed beyond the helper contract; it reads no memory.
pub unsafe extern "C" fn conformance_unwind(
    r1: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: &mut RunEnv<'_>,
) -> u64 {
    r1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lookup_and_replace() {
        let mut r = HelperRegistry::with_builtins();
        assert!(r.get(id::KTIME_GET_NS).is_some());
        assert!(r.get(1).is_none());
        assert!(r.get(u32::MAX).is_none());
        assert!(r
            .register(HelperId(id::KTIME_GET_NS), conformance_unwind)
            .is_some());
        let f = r.get(5).unwrap();
        let mut env = RunEnv::new();
        // SAFETY: conformance_unwind reads no memory.
        assert_eq!(unsafe { f(42, 0, 0, 0, 0, &mut env) }, 42);
        assert_eq!(
            r.ids().collect::<Vec<_>>(),
            vec![HelperId(5), HelperId(7), HelperId(8)]
        );
    }

    #[test]
    fn builtins_behave() {
        let mut env = RunEnv::new();
        env.set_worker(3);
        // SAFETY: these helpers read no memory.
        unsafe {
            assert_eq!(get_smp_processor_id(0, 0, 0, 0, 0, &mut env), 3);
            let a = ktime_get_ns(0, 0, 0, 0, 0, &mut env);
            let b = ktime_get_ns(0, 0, 0, 0, 0, &mut env);
            assert!(b >= a && a > 0);
            let x = get_prandom_u32(0, 0, 0, 0, 0, &mut env);
            let y = get_prandom_u32(0, 0, 0, 0, 0, &mut env);
            assert!(x <= u32::MAX as u64 && x != y);
        }
    }
}

//! Constant blinding, as the kernel does for programs loaded by untrusted
//! users (`bpf_jit_harden`): an immediate the program chose never appears
//! verbatim in executable memory. Each one is emitted as `imm ^ key` and
//! un-xored at run time with a fresh random `key`, so a program cannot
//! plant byte sequences (a "JIT spray") that would decode as useful
//! instructions when jumped into mid-stream.
//!
//! Blinded: ALU and jump immediates, store immediates, `lddw` values, the
//! offsets of legacy packet loads. Not blinded: shift counts (six bits, no
//! room for a gadget) and displacements of memory accesses (16 bits, as in
//! the kernel).
//!
//! Keys come from a generator seeded once per compilation from the
//! standard library's per-process random hash keys; every pass of the same
//! compilation replays the same keys, which keeps instruction sizes stable
//! from pass to pass (see [`crate::buffer`]).

/// The key stream of one compilation (splitmix64).
#[derive(Debug, Clone)]
pub struct Blinder {
    state: u64,
}

impl Blinder {
    pub fn new(seed: u64) -> Self {
        Blinder { state: seed }
    }

    /// The next key.
    pub fn next_key(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A fresh random seed: hashing with a new `RandomState` draws on the
/// process's OS-seeded keys (each `RandomState` gets distinct ones).
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x006f_7862_7066);
    h.finish()
}

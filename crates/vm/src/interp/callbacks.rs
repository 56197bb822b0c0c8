//! The helpers that call back into the program: `bpf_loop` (181) and
//! `bpf_for_each_map_elem` (164).
//!
//! A helper is a plain function of `r1`–`r5` (see [`crate::helpers`]); it
//! cannot run BPF code. These two must: they call a subprogram of the
//! program (the `callback_fn` a `BPF_PSEUDO_FUNC` `lddw` loaded) once per
//! iteration, in a new frame, with the caller's `r6`–`r9` preserved. So each
//! engine recognises them itself — the interpreter lowers them to their own
//! ops and runs each callback as a nested bpf-to-bpf call, the JIT calls a
//! runtime shim that re-enters compiled code — and both drive the iteration
//! with the functions of this module, so they count, stop and return
//! exactly alike. Only "invoke the callback with these five arguments" is
//! the engine's (`invoke`, which returns the callback's `r0`, or the
//! engine's reason to stop the whole run).
//!
//! Kernel semantics (`kernel/bpf/bpf_iter.c`, `arraymap.c`, `hashtab.c`):
//! * `bpf_loop(nr_loops, callback_fn, callback_ctx, flags)`: `flags != 0` is
//!   `-EINVAL`, `nr_loops > 1 << 23` is `-E2BIG` (`nr_loops` is a `u32`);
//!   the callback gets `(index, callback_ctx)`; any non-zero return stops
//!   the loop; the result is the number of callbacks made.
//! * `bpf_for_each_map_elem(map, callback_fn, callback_ctx, flags)`:
//!   `flags != 0` is `-EINVAL`; the callback gets `(map, &key, &value,
//!   callback_ctx)` for every element (arrays: every index; hashes: every
//!   present key; per-CPU maps: this worker's value); a non-zero return
//!   stops after counting that element; the result is the number of
//!   elements visited.
//!
//! Where the two engines must also agree on programs no verifier checked:
//! a `callback_fn` that is not a subprogram address stops the run with
//! [`crate::VmError::BadCallTarget`] before anything else is looked at; a
//! callback that would be frame number [`uapi::MAX_CALL_FRAMES`] stops it
//! with `CallDepthExceeded` when it is first invoked (never, if nothing is
//! iterated).

use crate::env::RunEnv;
use crate::error::HelperFault;
use crate::host::HelperHost;
use crate::memory::{Region, RegionKind};
use maps::Map;
use uapi::errno::{E2BIG, EINVAL, EOPNOTSUPP};
use uapi::MapType;

/// `BPF_MAX_LOOPS`: the most iterations one `bpf_loop` call may ask for.
pub const MAX_LOOPS: u32 = 1 << 23;

/// The five argument registers of one callback invocation.
pub type Args = [u64; 5];

use crate::helpers::misc::neg;

/// `bpf_loop`: calls `invoke([i, callback_ctx, 0, 0, 0])` for `i` in
/// `0..nr_loops` until it returns non-zero; the helper's `r0`, or the
/// engine's error from `invoke`.
pub fn bpf_loop<E>(
    nr_loops: u64,
    callback_ctx: u64,
    flags: u64,
    mut invoke: impl FnMut(Args) -> Result<u64, E>,
) -> Result<u64, E> {
    if flags != 0 {
        return Ok(neg(EINVAL));
    }
    // The prototype's first argument is a `u32`: the upper half is ignored.
    let n = nr_loops as u32;
    if n > MAX_LOOPS {
        return Ok(neg(E2BIG));
    }
    for i in 0..n {
        if invoke([i as u64, callback_ctx, 0, 0, 0])? != 0 {
            return Ok(i as u64 + 1);
        }
    }
    Ok(n as u64)
}

/// Which elements a walk visits.
#[derive(Debug)]
enum Elems {
    /// Array indexes `0..n`.
    Indexes(u32),
    /// The keys present when the walk started (hashes), in
    /// `get_next_key` order; a key deleted meanwhile is skipped.
    Keys(Vec<Vec<u8>>),
}

/// One `bpf_for_each_map_elem` call: the map, the elements to visit and the
/// buffer the callback's key pointer points at.
///
/// The key is copied into [`MapWalk::key_region`] for every element (the
/// kernel passes a pointer to a stack copy for arrays and to the element's
/// key for hashes; either way the callback may only read it).
#[derive(Debug)]
pub struct MapWalk {
    /// Valid for the whole run: the host keeps the map alive (see
    /// [`crate::host`]), or, in unchecked runs, the verifier proved `r1` is
    /// a map pointer.
    map: *const Map,
    map_addr: u64,
    cpu: u32,
    elems: Elems,
    key: Box<[u8]>,
}

/// How a `bpf_for_each_map_elem` call begins.
#[derive(Debug)]
pub enum WalkStart {
    /// Visit the elements.
    Walk(MapWalk),
    /// Nothing to visit: the helper returns this `r0` at once (an errno).
    Return(u64),
}

impl MapWalk {
    /// Checks the arguments and takes the list of elements. A map pointer
    /// that is not one of the run's maps is a fault in checked runs (in
    /// unchecked ones the verifier proved it is a map, and it is trusted,
    /// as the kernel trusts its `struct bpf_map *`).
    pub fn start(
        env: &mut RunEnv<'_>,
        map_addr: u64,
        flags: u64,
    ) -> Result<WalkStart, HelperFault> {
        let checked = env.is_checked();
        let cpu = env.worker();
        let known = HelperHost::of(env)
            .and_then(|h| h.map(map_addr))
            .map(std::ptr::from_ref);
        let map: *const Map = match known {
            Some(m) => m,
            None if !checked => std::ptr::with_exposed_provenance(map_addr as usize),
            None => {
                return Err(HelperFault::Other(format!(
                    "{map_addr:#x} is not a map of this run"
                )))
            }
        };
        if flags != 0 {
            return Ok(WalkStart::Return(neg(EINVAL)));
        }
        // SAFETY: see the field's documentation.
        let m = unsafe { &*map };
        let elems = match m.map_type() {
            MapType::Array | MapType::PercpuArray => Elems::Indexes(m.spec().max_entries),
            MapType::Hash | MapType::PercpuHash | MapType::LruHash | MapType::LruPercpuHash => {
                Elems::Keys(m.keys().unwrap_or_default())
            }
            // The kernel's verifier refuses the call for other map types.
            _ => return Ok(WalkStart::Return(neg(EOPNOTSUPP))),
        };
        Ok(WalkStart::Walk(MapWalk {
            map,
            map_addr,
            cpu,
            elems,
            key: vec![0u8; m.spec().key_size as usize].into_boxed_slice(),
        }))
    }

    /// The read-only region of the key buffer, for checked runs to add
    /// while the walk lasts.
    pub fn key_region(&self) -> Region {
        Region::of_ptr(self.key.as_ptr(), self.key.len(), false, RegionKind::Helper)
    }

    /// Visits the elements: `invoke([map, &key, &value, callback_ctx, 0])`
    /// for each until it returns non-zero; the number visited, or the
    /// engine's error from `invoke`.
    pub fn run<E>(
        &mut self,
        callback_ctx: u64,
        mut invoke: impl FnMut(Args) -> Result<u64, E>,
    ) -> Result<u64, E> {
        // SAFETY: see the field's documentation.
        let map = unsafe { &*self.map };
        let key_addr = self.key.as_ptr().expose_provenance() as u64;
        let count = match &self.elems {
            Elems::Indexes(n) => *n as usize,
            Elems::Keys(k) => k.len(),
        };
        let mut visited = 0u64;
        for i in 0..count {
            match &self.elems {
                Elems::Indexes(_) => self.key.copy_from_slice(&(i as u32).to_le_bytes()),
                Elems::Keys(k) => self.key.copy_from_slice(&k[i]),
            }
            let value = map.lookup_ptr(&self.key, self.cpu);
            if value.is_null() {
                continue;
            }
            visited += 1;
            let args = [
                self.map_addr,
                key_addr,
                value.expose_provenance() as u64,
                callback_ctx,
                0,
            ];
            if invoke(args)? != 0 {
                break;
            }
        }
        Ok(visited)
    }
}

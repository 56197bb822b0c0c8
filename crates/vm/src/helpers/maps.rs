//! The map helpers: element access, queues and stacks, ring buffers, perf
//! output and spin locks, over the program side of the `maps` crate.
//!
//! These are the hot path of nearly every program, so in unchecked mode
//! (verified programs) they do what the kernel's do and nothing more: the
//! map pointer in `r1` is trusted to be the address of a live
//! [`maps::Map`] (the [`HelperHost`] contract), key and value pointers are
//! trusted for the map's sizes, no allocation, no lock beyond the map's own.
//! In checked mode the map pointer is looked up among the run's maps and
//! every memory argument is validated with [`RunEnv::translate`]; a bad
//! argument faults the program ([`RunEnv::fault`]) instead of returning an
//! errno, because the kernel's verifier would have refused the program.
//!
//! Return values are the kernel's: a value address or 0 for lookups, 0 or
//! `-errno` (as `u64`) for the rest.

use crate::env::RunEnv;
use crate::error::{AccessKind, HelperFault};
use crate::host::HelperHost;
use crate::memory::{Region, RegionKind};
use uapi::map::BPF_F_INDEX_MASK;
use uapi::MapType;

/// `BPF_F_CTXLEN_MASK`: how many bytes of the packet `perf_event_output`
/// appends to the sample (skb and xdp programs).
const CTXLEN_MASK: u64 = 0xfffff << 32;

/// The map whose address is `addr`: trusted in unchecked mode; in checked
/// mode looked up among the run's maps, faulting (and giving `None`) when it
/// is not one.
///
/// # Safety
/// In unchecked mode `addr` must be the address of a [`maps::Map`] kept
/// alive for the rest of the helper call (the host contract). The returned
/// reference must not outlive the helper call.
#[inline(always)]
unsafe fn map_arg<'m>(env: &mut RunEnv<'_>, addr: u64) -> Option<&'m ::maps::Map> {
    if env.is_checked() {
        let known = HelperHost::of(env).is_some_and(|h| h.map(addr).is_some());
        if !known {
            env.fault(HelperFault::Other(format!(
                "{addr:#x} is not a map of this run"
            )));
            return None;
        }
    }
    // SAFETY: checked mode: `addr` is the address of a map the host keeps
    // in an `Arc` for the whole run (just looked up); unchecked mode: the
    // caller's contract. Either way the map outlives this helper call.
    Some(unsafe { &*std::ptr::with_exposed_provenance::<::maps::Map>(addr as usize) })
}

/// `len` bytes of program memory at `addr` as a slice (validated in checked
/// mode; a fault gives `None`).
///
/// # Safety
/// In unchecked mode `[addr, addr + len)` must be valid for the access for
/// the rest of the helper call. The slice must not outlive the call; other
/// workers may write the memory concurrently (map values), which the kernel
/// allows too: callers only copy from it.
#[inline(always)]
unsafe fn mem_arg<'m>(
    env: &mut RunEnv<'_>,
    addr: u64,
    len: usize,
    access: AccessKind,
) -> Option<&'m mut [u8]> {
    if len == 0 {
        return Some(&mut []);
    }
    match env.translate(addr, len as u64, access) {
        // SAFETY: `translate` validated the span in checked mode; in
        // unchecked mode the verifier proved it (the caller's contract);
        // `len > 0` and the pointer is non-null in both cases.
        Ok(p) => Some(unsafe { std::slice::from_raw_parts_mut(p, len) }),
        Err(f) => {
            env.fault(f);
            None
        }
    }
}

/// The helper return value of a map operation: 0 or `-errno`.
#[inline(always)]
fn status(r: ::maps::Result<()>) -> u64 {
    match r {
        Ok(()) => 0,
        Err(e) => e.helper_ret() as u64,
    }
}

/// [`map_lookup_elem`] for compiled code that knows the map at compile
/// time and runs unchecked (the kernel's verifier likewise turns the
/// helper call into a direct call of the map type's lookup): no checked-
/// mode validation, no map-of-maps dispatch, and it never faults, so the
/// caller needs no fault check after it.
///
/// # Safety
/// `map` is the address of a live [`::maps::Map`] that is not a map of
/// maps, and `key` points to `key_size` readable bytes (what the verifier
/// proves for `bpf_map_lookup_elem`).
pub unsafe extern "C" fn map_lookup_elem_known(
    map: u64,
    key: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: the caller's contract.
    let m = unsafe { &*std::ptr::with_exposed_provenance::<::maps::Map>(map as usize) };
    let ks = m.spec().key_size as usize;
    // SAFETY: the caller's contract (`ks > 0` for maps with lookups).
    let k = unsafe {
        std::slice::from_raw_parts(std::ptr::with_exposed_provenance::<u8>(key as usize), ks)
    };
    m.lookup_ptr(k, env.worker()).expose_provenance() as u64
}

/// `void *bpf_map_lookup_elem(map, key)`: the address of the value (this
/// worker's slot for per-CPU maps), or 0.
///
/// # Safety
/// The helper contract (see [`super`]): in unchecked mode `r1` is a map of
/// the run and `r2` points to `key_size` readable bytes.
pub unsafe extern "C" fn map_lookup_elem(
    map: u64,
    key: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: the helper contract, forwarded.
    let Some(m) = (unsafe { map_arg(env, map) }) else {
        return 0;
    };
    let ks = m.spec().key_size as usize;
    // SAFETY: the helper contract, forwarded.
    let Some(k) = (unsafe { mem_arg(env, key, ks, AccessKind::Read) }) else {
        return 0;
    };
    if matches!(m.map_type(), MapType::ArrayOfMaps | MapType::HashOfMaps) {
        return inner_map(env, m, k);
    }
    m.lookup_ptr(k, env.worker()).expose_provenance() as u64
}

/// `bpf_map_lookup_elem` on a map of maps: the address of the inner map
/// under `key` (through [`HelperHost::inner_maps`]), or 0.
fn inner_map(env: &mut RunEnv<'_>, outer: &::maps::Map, key: &[u8]) -> u64 {
    let Some(id) = outer.inner_map_id(key) else {
        return 0;
    };
    let Some(host) = HelperHost::of(env) else {
        return 0;
    };
    let Some(inner) = host.inner_maps.as_ref().and_then(|r| r.map(id)) else {
        return 0;
    };
    let addr = HelperHost::map_addr(&inner);
    let region = inner.region();
    let (start, len) = (
        region.base().expose_provenance() as u64,
        region.len() as u64,
    );
    if host.map(addr).is_none() {
        host.maps.push(inner);
    }
    if env.is_checked() && !env.mem.allows(start, len, AccessKind::Write) {
        // SAFETY: the map's memory lives as long as the host holds the
        // `Arc` (just ensured, for the host's whole life); its address was
        // exposed above.
        unsafe {
            env.grant(Region {
                start,
                len,
                writable: true,
                kind: RegionKind::MapValue,
            })
        };
    }
    addr
}

/// `void *bpf_map_lookup_percpu_elem(map, key, cpu)`: the value of worker
/// `cpu` of a per-CPU map, or 0 (also when `cpu` is not a worker).
///
/// # Safety
/// As [`map_lookup_elem`].
pub unsafe extern "C" fn map_lookup_percpu_elem(
    map: u64,
    key: u64,
    cpu: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: the helper contract, forwarded.
    let Some(m) = (unsafe { map_arg(env, map) }) else {
        return 0;
    };
    // Only per-CPU maps have a per-CPU lookup (the kernel's map_ops).
    if !matches!(
        m.map_type(),
        MapType::PercpuArray | MapType::PercpuHash | MapType::LruPercpuHash
    ) {
        return 0;
    }
    let Ok(cpu) = u32::try_from(cpu) else {
        return 0;
    };
    let ks = m.spec().key_size as usize;
    // SAFETY: the helper contract, forwarded.
    let Some(k) = (unsafe { mem_arg(env, key, ks, AccessKind::Read) }) else {
        return 0;
    };
    m.lookup_ptr(k, cpu).expose_provenance() as u64
}

/// `long bpf_map_update_elem(map, key, value, flags)`.
///
/// # Safety
/// As [`map_lookup_elem`], and `r3` points to `value_size` readable bytes.
pub unsafe extern "C" fn map_update_elem(
    map: u64,
    key: u64,
    value: u64,
    flags: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: the helper contract, forwarded.
    let Some(m) = (unsafe { map_arg(env, map) }) else {
        return 0;
    };
    let spec = m.spec();
    let (ks, vs) = (spec.key_size as usize, spec.value_size as usize);
    // SAFETY: the helper contract, forwarded.
    let Some(k) = (unsafe { mem_arg(env, key, ks, AccessKind::Read) }) else {
        return 0;
    };
    // SAFETY: the helper contract, forwarded.
    let Some(v) = (unsafe { mem_arg(env, value, vs, AccessKind::Read) }) else {
        return 0;
    };
    status(m.update_from_prog(k, v, flags, env.worker()))
}

/// `long bpf_map_delete_elem(map, key)`.
///
/// # Safety
/// As [`map_lookup_elem`].
pub unsafe extern "C" fn map_delete_elem(
    map: u64,
    key: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: the helper contract, forwarded.
    let Some(m) = (unsafe { map_arg(env, map) }) else {
        return 0;
    };
    let ks = m.spec().key_size as usize;
    // SAFETY: the helper contract, forwarded.
    let Some(k) = (unsafe { mem_arg(env, key, ks, AccessKind::Read) }) else {
        return 0;
    };
    status(m.delete_from_prog(k))
}

/// `long bpf_map_push_elem(map, value, flags)`: queue, stack, bloom filter.
///
/// # Safety
/// As [`map_lookup_elem`], with `r2` pointing to `value_size` readable
/// bytes.
pub unsafe extern "C" fn map_push_elem(
    map: u64,
    value: u64,
    flags: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: the helper contract, forwarded.
    let Some(m) = (unsafe { map_arg(env, map) }) else {
        return 0;
    };
    let vs = m.spec().value_size as usize;
    // SAFETY: the helper contract, forwarded.
    let Some(v) = (unsafe { mem_arg(env, value, vs, AccessKind::Read) }) else {
        return 0;
    };
    status(m.push_from_prog(v, flags))
}

/// `long bpf_map_pop_elem(map, value)`: queue and stack; fills `value`.
///
/// # Safety
/// As [`map_lookup_elem`], with `r2` pointing to `value_size` writable
/// bytes.
pub unsafe extern "C" fn map_pop_elem(
    map: u64,
    value: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: the helper contract, forwarded.
    let Some(m) = (unsafe { map_arg(env, map) }) else {
        return 0;
    };
    let vs = m.spec().value_size as usize;
    // SAFETY: the helper contract, forwarded.
    let Some(out) = (unsafe { mem_arg(env, value, vs, AccessKind::Write) }) else {
        return 0;
    };
    status(m.pop_from_prog(out))
}

/// `long bpf_map_peek_elem(map, value)`: the head of a queue or stack into
/// `value`; for a bloom filter, whether `value` may be in it (0) or is
/// certainly not (`-ENOENT`).
///
/// # Safety
/// As [`map_pop_elem`] (readable only, for a bloom filter).
pub unsafe extern "C" fn map_peek_elem(
    map: u64,
    value: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: the helper contract, forwarded.
    let Some(m) = (unsafe { map_arg(env, map) }) else {
        return 0;
    };
    let vs = m.spec().value_size as usize;
    // A bloom filter only reads the value (the verifier's ARG_PTR_TO_MAP_VALUE
    // for it), so it may sit in read-only memory.
    let access = if m.map_type() == MapType::BloomFilter {
        AccessKind::Read
    } else {
        AccessKind::Write
    };
    // SAFETY: the helper contract, forwarded; the bloom filter's peek only
    // reads through the slice.
    let Some(out) = (unsafe { mem_arg(env, value, vs, access) }) else {
        return 0;
    };
    status(m.peek_from_prog(out))
}

/// `long bpf_ringbuf_output(ringbuf, data, size, flags)`: one record copied
/// in; `-EAGAIN` when the ring is full, `-EINVAL` for unknown flags.
///
/// # Safety
/// As [`map_lookup_elem`], with `r2` pointing to `size` readable bytes.
pub unsafe extern "C" fn ringbuf_output(
    map: u64,
    data: u64,
    size: u64,
    flags: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: the helper contract, forwarded.
    let Some(m) = (unsafe { map_arg(env, map) }) else {
        return 0;
    };
    let Some(rb) = m.ringbuf() else {
        return -(uapi::errno::EINVAL as i64) as u64;
    };
    let Ok(size) = usize::try_from(size) else {
        return -(uapi::errno::EINVAL as i64) as u64;
    };
    // SAFETY: the helper contract, forwarded.
    let Some(d) = (unsafe { mem_arg(env, data, size, AccessKind::Read) }) else {
        return 0;
    };
    status(rb.output(d, flags))
}

/// `void *bpf_ringbuf_reserve(ringbuf, size, flags)`: a record of `size`
/// bytes to fill and then submit or discard, or 0.
///
/// In checked mode the record is granted to the run, so the program may
/// write it even if the host did not add the map's region.
///
/// # Safety
/// As [`map_lookup_elem`].
pub unsafe extern "C" fn ringbuf_reserve(
    map: u64,
    size: u64,
    flags: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: the helper contract, forwarded.
    let Some(m) = (unsafe { map_arg(env, map) }) else {
        return 0;
    };
    let Some(rb) = m.ringbuf() else {
        return 0;
    };
    let p = rb.reserve(size, flags);
    if p.is_null() {
        return 0;
    }
    let addr = p.expose_provenance() as u64;
    if env.is_checked() {
        // SAFETY: the record lies in the ring's mapping (data pages and
        // their mirror), which the host keeps alive for the run; its address
        // was exposed just above; other producers never touch a reserved
        // record.
        unsafe {
            env.grant(Region {
                start: addr,
                len: size,
                writable: true,
                kind: RegionKind::Helper,
            })
        };
    }
    addr
}

/// The ring buffer among the run's maps whose mapping holds `sample`.
fn ring_of(host: &HelperHost, sample: u64) -> Option<&::maps::RingBuf> {
    host.maps.iter().find_map(|m| {
        if m.map_type() != MapType::Ringbuf {
            return None;
        }
        let rb = m.ringbuf()?;
        let base = m.region().base().expose_provenance() as u64;
        // The data pages are mapped twice: the mapping spans the region and
        // a mirror of `max_entries` bytes.
        let len = m.region().len() as u64 + u64::from(m.spec().max_entries);
        (sample.wrapping_sub(base) < len).then_some(rb)
    })
}

/// Submit or discard the record at `sample` (the two helpers' common body).
fn commit(sample: u64, flags: u64, discard: bool, env: &mut RunEnv<'_>) -> u64 {
    let done = match HelperHost::of(env).and_then(|h| ring_of(h, sample)) {
        Some(rb) => {
            let p = std::ptr::with_exposed_provenance_mut::<u8>(sample as usize);
            if discard {
                rb.discard(p, flags)
            } else {
                rb.submit(p, flags)
            }
        }
        None => Err(::maps::MapError::Invalid {
            reason: "not a record of a ring buffer of this run",
        }),
    };
    if let Err(e) = done {
        // The verifier guarantees a reserved record; anything else is a
        // program the kernel would have refused.
        env.fault(HelperFault::Other(format!("{sample:#x}: {e}")));
    }
    0
}

/// `void bpf_ringbuf_submit(data, flags)`: commits a reserved record.
///
/// # Safety
/// None beyond the helper contract: the record is looked up among the
/// run's ring buffers in both modes (the kernel finds the ring from the
/// record's header, which here holds the producer's pid).
pub unsafe extern "C" fn ringbuf_submit(
    sample: u64,
    flags: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    commit(sample, flags, false, env)
}

/// `void bpf_ringbuf_discard(data, flags)`: drops a reserved record.
///
/// # Safety
/// As [`ringbuf_submit`].
pub unsafe extern "C" fn ringbuf_discard(
    sample: u64,
    flags: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    commit(sample, flags, true, env)
}

/// `u64 bpf_ringbuf_query(ringbuf, flags)`: available data, ring size,
/// consumer or producer position; 0 for unknown flags.
///
/// # Safety
/// As [`map_lookup_elem`].
pub unsafe extern "C" fn ringbuf_query(
    map: u64,
    flags: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    // SAFETY: the helper contract, forwarded.
    let Some(m) = (unsafe { map_arg(env, map) }) else {
        return 0;
    };
    m.ringbuf().map_or(0, |rb| rb.query(flags))
}

/// `long bpf_perf_event_output(ctx, map, flags, data, size)`: a sample into
/// the perf buffer of this worker (`BPF_F_CURRENT_CPU`) or of the index in
/// `flags`, which must be this worker's (`-EOPNOTSUPP` otherwise, as for
/// another CPU's event in the kernel). With `BPF_F_CTXLEN_MASK` bits, that
/// many bytes of the packet follow the data (`-EFAULT` beyond the packet,
/// `-EINVAL` without one).
///
/// # Safety
/// As [`map_lookup_elem`], with `r4` pointing to `size` readable bytes.
pub unsafe extern "C" fn perf_event_output(
    _ctx: u64,
    map: u64,
    flags: u64,
    data: u64,
    size: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    const EINVAL: u64 = -(uapi::errno::EINVAL as i64) as u64;
    // SAFETY: the helper contract, forwarded.
    let Some(m) = (unsafe { map_arg(env, map) }) else {
        return 0;
    };
    let Some(perf) = m.perf() else {
        return EINVAL;
    };
    let Ok(size) = usize::try_from(size) else {
        return EINVAL;
    };
    if flags & !(BPF_F_INDEX_MASK | CTXLEN_MASK) != 0 {
        return EINVAL;
    }
    // SAFETY: the helper contract, forwarded.
    let Some(d) = (unsafe { mem_arg(env, data, size, AccessKind::Read) }) else {
        return 0;
    };
    let ctx_len = ((flags & CTXLEN_MASK) >> 32) as usize;
    let worker = env.worker();
    if ctx_len == 0 {
        return status(perf.output(worker, flags, d));
    }
    // The rare packet-appending form: the one place that allocates.
    let flags = flags & BPF_F_INDEX_MASK;
    let mut sample = d.to_vec();
    match HelperHost::of(env).and_then(|h| h.packet.as_ref()) {
        Some(pkt) if pkt.data().len() >= ctx_len => {
            sample.extend_from_slice(&pkt.data()[..ctx_len]);
            status(perf.output(worker, flags, &sample))
        }
        Some(_) => -(uapi::errno::EFAULT as i64) as u64,
        None => EINVAL,
    }
}

/// `long bpf_spin_lock(lock)`: takes the `struct bpf_spin_lock` of a map
/// value (a robust, process-shared lock word; see `maps::bpf_spin_lock`).
///
/// # Safety
/// In unchecked mode `r1` points to the 4-aligned lock word of a live map
/// value.
pub unsafe extern "C" fn spin_lock(
    lock: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    if let Some(p) = lock_arg(env, lock) {
        // SAFETY: a live, aligned lock word of a map value (checked just now
        // in checked mode, proved by the verifier otherwise), only ever
        // accessed atomically.
        unsafe { ::maps::bpf_spin_lock(p) };
    }
    0
}

/// `long bpf_spin_unlock(lock)`.
///
/// # Safety
/// As [`spin_lock`].
pub unsafe extern "C" fn spin_unlock(
    lock: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    env: &mut RunEnv<'_>,
) -> u64 {
    if let Some(p) = lock_arg(env, lock) {
        // SAFETY: as in `spin_lock`.
        unsafe { ::maps::bpf_spin_unlock(p) };
    }
    0
}

/// The lock word at `addr`: validated and 4-aligned in checked mode.
fn lock_arg(env: &mut RunEnv<'_>, addr: u64) -> Option<*mut u32> {
    if env.is_checked() && !addr.is_multiple_of(4) {
        env.fault(HelperFault::Other(format!(
            "spin lock at {addr:#x} is not 4-aligned"
        )));
        return None;
    }
    match env.translate(addr, 4, AccessKind::Atomic) {
        Ok(p) => Some(p.cast()),
        Err(f) => {
            env.fault(f);
            None
        }
    }
}

/// Registers the helpers of this module.
pub(crate) fn register(r: &mut super::HelperRegistry) {
    use uapi::helpers::id;
    let all: [(u32, super::HelperFn); 15] = [
        (id::MAP_LOOKUP_ELEM, map_lookup_elem),
        (id::MAP_UPDATE_ELEM, map_update_elem),
        (id::MAP_DELETE_ELEM, map_delete_elem),
        (id::MAP_LOOKUP_PERCPU_ELEM, map_lookup_percpu_elem),
        (id::MAP_PUSH_ELEM, map_push_elem),
        (id::MAP_POP_ELEM, map_pop_elem),
        (id::MAP_PEEK_ELEM, map_peek_elem),
        (id::RINGBUF_OUTPUT, ringbuf_output),
        (id::RINGBUF_RESERVE, ringbuf_reserve),
        (id::RINGBUF_SUBMIT, ringbuf_submit),
        (id::RINGBUF_DISCARD, ringbuf_discard),
        (id::RINGBUF_QUERY, ringbuf_query),
        (id::PERF_EVENT_OUTPUT, perf_event_output),
        (id::SPIN_LOCK, spin_lock),
        (id::SPIN_UNLOCK, spin_unlock),
    ];
    for (n, f) in all {
        r.register(uapi::HelperId(n), f);
    }
}

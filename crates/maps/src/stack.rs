//! `stack_trace`: stacks stored by `bpf_get_stackid`, read back by user
//! space under the id the helper returned.
//!
//! # Layout (after the common header)
//! ```text
//! control   free-list head (u64: ABA tag << 32 | index)         64 bytes
//! buckets   n_buckets × u32: element index + 1, 0 = empty
//! elements  max_entries × { hash: u32, nr: u32, free_next: u32, pad: u32,
//!                           data: value_size bytes }
//! ```
//! `n_buckets = roundup_pow2(max_entries)` and the id of a stack is
//! `jhash2(ips) & (n_buckets - 1)`, with the kernel's jhash2, so a stack
//! gets the id Linux would give it. Elements come from a lock-free tagged
//! free list, as the kernel's `pcpu_freelist`; a bucket changes with one
//! atomic swap, so a crash can at worst leak one element.
//!
//! The program side is [`crate::Map::stack_store`]: the helper captures the
//! call chain and hands it over. With `BPF_F_STACK_BUILD_ID` frames are
//! `struct bpf_stack_build_id`; oxbpf does not resolve build ids, so every
//! frame is stored as the kernel does when it cannot either:
//! `status = BPF_STACK_BUILD_ID_IP`, a zero build id, and the address.

use std::any::Any;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{inval, MapError, Result};
use crate::header::HEADER_SIZE;
use crate::region::Region;
use crate::spec::{MapSpec, PERF_EVENT_MAX_STACK, STACK_BUILD_ID_SIZE};
use crate::{index_of, CheckReport, MapOps};

/// `bpf_get_stackid` flags.
pub mod stackid_flags {
    /// Low 8 bits: frames to skip.
    pub const BPF_F_SKIP_FIELD_MASK: u64 = 0xff;
    pub const BPF_F_USER_STACK: u64 = 1 << 8;
    /// Compare hashes only.
    pub const BPF_F_FAST_STACK_CMP: u64 = 1 << 9;
    /// Replace another stack that hashed to the same id.
    pub const BPF_F_REUSE_STACKID: u64 = 1 << 10;
}
use stackid_flags::*;

/// `BPF_STACK_BUILD_ID_IP`: the frame holds an address, not a build id.
const BUILD_ID_IP: i32 = 2;
const NIL: u32 = u32::MAX;
const FREE_HEAD: usize = HEADER_SIZE;
const BUCKETS: usize = HEADER_SIZE + 64;
const ELEM_HDR: usize = 16;

/// The kernel's `jhash2` (Bob Jenkins' lookup3 on 32-bit words, initial
/// value `0xdeadbeef`).
pub(crate) fn jhash2(words: &[u32], initval: u32) -> u32 {
    fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
        *a = a.wrapping_sub(*c) ^ c.rotate_left(4);
        *c = c.wrapping_add(*b);
        *b = b.wrapping_sub(*a) ^ a.rotate_left(6);
        *a = a.wrapping_add(*c);
        *c = c.wrapping_sub(*b) ^ b.rotate_left(8);
        *b = b.wrapping_add(*a);
        *a = a.wrapping_sub(*c) ^ c.rotate_left(16);
        *c = c.wrapping_add(*b);
        *b = b.wrapping_sub(*a) ^ a.rotate_left(19);
        *a = a.wrapping_add(*c);
        *c = c.wrapping_sub(*b) ^ b.rotate_left(4);
        *b = b.wrapping_add(*a);
    }
    fn fin(a: &mut u32, b: &mut u32, c: &mut u32) {
        *c = (*c ^ *b).wrapping_sub(b.rotate_left(14));
        *a = (*a ^ *c).wrapping_sub(c.rotate_left(11));
        *b = (*b ^ *a).wrapping_sub(a.rotate_left(25));
        *c = (*c ^ *b).wrapping_sub(b.rotate_left(16));
        *a = (*a ^ *c).wrapping_sub(c.rotate_left(4));
        *b = (*b ^ *a).wrapping_sub(a.rotate_left(14));
        *c = (*c ^ *b).wrapping_sub(b.rotate_left(24));
    }
    let init = 0xdead_beef_u32
        .wrapping_add((words.len() as u32) << 2)
        .wrapping_add(initval);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut k = words;
    while k.len() > 3 {
        a = a.wrapping_add(k[0]);
        b = b.wrapping_add(k[1]);
        c = c.wrapping_add(k[2]);
        mix(&mut a, &mut b, &mut c);
        k = &k[3..];
    }
    match k.len() {
        0 => return c,
        3 => {
            c = c.wrapping_add(k[2]);
            b = b.wrapping_add(k[1]);
            a = a.wrapping_add(k[0]);
        }
        2 => {
            b = b.wrapping_add(k[1]);
            a = a.wrapping_add(k[0]);
        }
        _ => a = a.wrapping_add(k[0]),
    }
    fin(&mut a, &mut b, &mut c);
    c
}

fn n_buckets(spec: &MapSpec) -> u32 {
    spec.max_entries.next_power_of_two()
}

fn elem_size(spec: &MapSpec) -> usize {
    ELEM_HDR + spec.value_size as usize
}

fn elems_off(spec: &MapSpec) -> usize {
    BUCKETS + (n_buckets(spec) as usize * 4).next_multiple_of(8)
}

pub(crate) fn body_len(spec: &MapSpec) -> Result<u64> {
    (elem_size(spec) as u64)
        .checked_mul(u64::from(spec.max_entries))
        .and_then(|e| e.checked_add((elems_off(spec) - HEADER_SIZE) as u64))
        .ok_or(MapError::NoMemory { bytes: u64::MAX })
}

/// Initial state: every element on the free list.
pub(crate) fn init(spec: &MapSpec, r: &Region) {
    let (base, size) = (elems_off(spec), elem_size(spec));
    for i in 0..spec.max_entries {
        let next = if i + 1 < spec.max_entries { i + 1 } else { NIL };
        r.u32_at(base + i as usize * size + 8)
            .store(next, Ordering::Relaxed);
    }
    r.u64_at(FREE_HEAD).store(0, Ordering::Relaxed);
}

pub(crate) struct StackMap {
    region: Region,
    n_buckets: u32,
    max: u32,
    elems: usize,
    elem_size: usize,
    value_size: usize,
    /// Bytes per frame: 8, or 32 with `BPF_F_STACK_BUILD_ID`.
    frame: usize,
}

impl StackMap {
    pub(crate) fn new(spec: &MapSpec, region: Region) -> Self {
        StackMap {
            region,
            n_buckets: n_buckets(spec),
            max: spec.max_entries,
            elems: elems_off(spec),
            elem_size: elem_size(spec),
            value_size: spec.value_size as usize,
            frame: spec.stack_frame_size() as usize,
        }
    }

    fn bucket(&self, id: u32) -> &AtomicU32 {
        self.region.u32_at(BUCKETS + id as usize * 4)
    }
    fn elem(&self, i: u32) -> usize {
        self.elems + i as usize * self.elem_size
    }
    fn hash_of(&self, i: u32) -> &AtomicU32 {
        self.region.u32_at(self.elem(i))
    }
    fn nr_of(&self, i: u32) -> &AtomicU32 {
        self.region.u32_at(self.elem(i) + 4)
    }
    fn free_next(&self, i: u32) -> &AtomicU32 {
        self.region.u32_at(self.elem(i) + 8)
    }
    fn data(&self, i: u32) -> usize {
        self.elem(i) + ELEM_HDR
    }

    fn pop_free(&self) -> Option<u32> {
        let head = self.region.u64_at(FREE_HEAD);
        let mut cur = head.load(Ordering::Acquire);
        loop {
            let idx = cur as u32;
            if idx == NIL || idx >= self.max {
                return None;
            }
            let next = self.free_next(idx).load(Ordering::Acquire);
            let new = ((cur >> 32).wrapping_add(1) << 32) | u64::from(next);
            match head.compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(idx),
                Err(c) => cur = c,
            }
        }
    }

    fn push_free(&self, idx: u32) {
        let head = self.region.u64_at(FREE_HEAD);
        let mut cur = head.load(Ordering::Acquire);
        loop {
            self.free_next(idx).store(cur as u32, Ordering::Release);
            let new = ((cur >> 32).wrapping_add(1) << 32) | u64::from(idx);
            match head.compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(c) => cur = c,
            }
        }
    }

    /// The frames of a trace as the element stores them.
    fn encode(&self, ips: &[u64]) -> Vec<u8> {
        let mut out = Vec::with_capacity(ips.len() * self.frame);
        for &ip in ips {
            if self.frame == STACK_BUILD_ID_SIZE as usize {
                out.extend_from_slice(&BUILD_ID_IP.to_ne_bytes());
                out.extend_from_slice(&[0u8; 20]);
            }
            out.extend_from_slice(&ip.to_ne_bytes());
        }
        out
    }

    /// `bpf_get_stackid` given the captured call chain `ips` (innermost
    /// first, before skipping).
    pub(crate) fn store(&self, ips: &[u64], flags: u64) -> Result<u32> {
        let known =
            BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP | BPF_F_REUSE_STACKID;
        if flags & !known != 0 {
            return Err(inval("unknown bpf_get_stackid flag"));
        }
        let skip = (flags & BPF_F_SKIP_FIELD_MASK) as usize;
        // The kernel fetches at most value_size/frame + skip frames, and
        // never more than perf_event_max_stack.
        let depth = (self.value_size / self.frame + skip).min(PERF_EVENT_MAX_STACK as usize);
        let nr = ips.len().min(depth);
        if nr <= skip {
            return Err(MapError::Fault {
                reason: "skipping the whole stack",
            });
        }
        let trace = &ips[skip..nr];
        let words: Vec<u32> = trace
            .iter()
            .flat_map(|ip| {
                let b = ip.to_ne_bytes();
                [
                    u32::from_ne_bytes(b[..4].try_into().expect("4")),
                    u32::from_ne_bytes(b[4..].try_into().expect("4")),
                ]
            })
            .collect();
        let hash = jhash2(&words, 0);
        let id = hash & (self.n_buckets - 1);
        let cur = self.bucket(id).load(Ordering::Acquire);
        let cur = cur.checked_sub(1).filter(|&c| c < self.max);
        let matches = cur.is_some_and(|c| self.hash_of(c).load(Ordering::Acquire) == hash);
        if matches && flags & BPF_F_FAST_STACK_CMP != 0 {
            return Ok(id);
        }
        let data = self.encode(trace);
        let same = |c: u32| {
            self.nr_of(c).load(Ordering::Acquire) as usize == trace.len()
                && self.region.eq_bytes(self.data(c), &data)
        };
        if let Some(c) = cur {
            if matches && same(c) {
                return Ok(id);
            }
            if flags & BPF_F_REUSE_STACKID == 0 {
                return Err(MapError::Exists);
            }
        }
        let new = self.pop_free().ok_or(MapError::NoMemory {
            bytes: self.elem_size as u64,
        })?;
        self.region.write(self.data(new), &data);
        self.hash_of(new).store(hash, Ordering::Relaxed);
        self.nr_of(new).store(trace.len() as u32, Ordering::Release);
        let old = self.bucket(id).swap(new + 1, Ordering::AcqRel);
        if old != 0 && old - 1 < self.max {
            self.push_free(old - 1);
        }
        Ok(id)
    }

    /// `bpf_stackmap_extract`: take the stack out of its bucket while
    /// copying it (so no concurrent store recycles it under us), then put
    /// it back unless deleting; if a store filled the bucket meanwhile, that
    /// newer stack is dropped, as in the kernel. The tail past the stack
    /// reads as zeros.
    fn extract(&self, key: &[u8], out: &mut [u8], delete: bool) -> Result<()> {
        let id = index_of(key);
        if id >= self.n_buckets {
            return Err(MapError::NotFound);
        }
        let b = self.bucket(id).swap(0, Ordering::AcqRel);
        let Some(i) = b.checked_sub(1).filter(|&i| i < self.max) else {
            return Err(MapError::NotFound);
        };
        let len = (self.nr_of(i).load(Ordering::Acquire) as usize * self.frame).min(out.len());
        self.region.read(self.data(i), &mut out[..len]);
        out[len..].fill(0);
        let old = if delete {
            b
        } else {
            self.bucket(id).swap(b, Ordering::AcqRel)
        };
        if old != 0 && old - 1 < self.max {
            self.push_free(old - 1);
        }
        Ok(())
    }

    fn live(&self) -> Vec<u32> {
        (0..self.n_buckets)
            .filter_map(|b| {
                let v = self.bucket(b).load(Ordering::Acquire);
                v.checked_sub(1).filter(|&i| i < self.max)
            })
            .collect()
    }

    fn free_list(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut cur = self.region.u64_at(FREE_HEAD).load(Ordering::Acquire) as u32;
        while cur != NIL && cur < self.max && out.len() <= self.max as usize {
            out.push(cur);
            cur = self.free_next(cur).load(Ordering::Acquire);
        }
        out
    }
}

impl MapOps for StackMap {
    fn region(&self) -> &Region {
        &self.region
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    /// `bpf_stackmap_copy` (see [`StackMap::extract`]).
    fn lookup(&self, key: &[u8], out: &mut [u8], _lock: bool) -> Result<()> {
        self.extract(key, out, false)
    }

    /// Linux 6.18 has lookup-and-delete for stack maps: the same copy,
    /// without putting the stack back.
    fn lookup_and_delete(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<()> {
        if flags != 0 {
            return Err(inval("stack_trace lookup-and-delete takes no flags"));
        }
        self.extract(key, out, true)
    }

    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<()> {
        Err(inval(
            "stack_trace maps are written by bpf_get_stackid only",
        ))
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        let id = index_of(key);
        if id >= self.n_buckets {
            return Err(MapError::TooBig {
                reason: "stack id beyond the buckets",
            });
        }
        match self.bucket(id).swap(0, Ordering::AcqRel) {
            0 => Err(MapError::NotFound),
            b => {
                if b - 1 < self.max {
                    self.push_free(b - 1);
                }
                Ok(())
            }
        }
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<()> {
        let occupied = |id: u32| self.bucket(id).load(Ordering::Acquire) != 0;
        let mut id = match key.map(index_of) {
            Some(k) if k < self.n_buckets && occupied(k) => k + 1,
            _ => 0,
        };
        while id < self.n_buckets && !occupied(id) {
            id += 1;
        }
        if id >= self.n_buckets {
            return Err(MapError::NotFound);
        }
        next.copy_from_slice(&id.to_ne_bytes());
        Ok(())
    }

    fn stack_store(&self, ips: &[u64], flags: u64) -> Result<u32> {
        self.store(ips, flags)
    }

    fn check(&self) -> Result<CheckReport> {
        let live = self.live().len() as u64;
        let free = self.free_list().len() as u64;
        Ok(CheckReport {
            live,
            free,
            leaked: u64::from(self.max).saturating_sub(live + free),
            ..Default::default()
        })
    }

    fn repair(&self) -> Result<CheckReport> {
        let before = self.check()?;
        let mut seen = vec![false; self.max as usize];
        for i in self.live() {
            seen[i as usize] = true;
        }
        self.region
            .u64_at(FREE_HEAD)
            .store(u64::from(NIL) | (1 << 32), Ordering::Release);
        for i in (0..self.max).rev() {
            if !seen[i as usize] {
                self.push_free(i);
            }
        }
        Ok(before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Map, MapOptions};
    use uapi::errno::*;
    use uapi::map::create_flags::BPF_F_STACK_BUILD_ID;
    use uapi::MapType;

    fn e<T>(r: Result<T>) -> i32 {
        r.map_or_else(|e| e.errno(), |_| 0)
    }

    #[test]
    fn jhash2_known_values() {
        // No words: the initial value itself.
        assert_eq!(jhash2(&[], 0), 0xdead_beef);
        // Differs by length and content.
        assert_ne!(jhash2(&[0], 0), jhash2(&[0, 0], 0));
        assert_ne!(jhash2(&[1, 2, 3, 4], 0), jhash2(&[1, 2, 3, 5], 0));
    }

    #[test]
    fn stores_finds_collides_and_reads_back() {
        let m = Map::create(
            MapSpec::new(MapType::StackTrace, 4, 24, 4),
            &MapOptions::new(1),
        )
        .unwrap();
        let ips = [0x1000u64, 0x2000, 0x3000, 0x4000];
        // Three frames fit: the fourth is cut off.
        let id = m.stack_store(&ips, 0).unwrap();
        assert_eq!(m.stack_store(&ips[..3], 0).unwrap(), id);
        let v = m.lookup(&id.to_ne_bytes()).unwrap();
        let back: Vec<u64> = v
            .chunks(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(back, [0x1000, 0x2000, 0x3000]);
        // Skipping one frame: a different stack, zero-padded on lookup.
        let id2 = m.stack_store(&ips[..3], 1).unwrap();
        let v2 = m.lookup(&id2.to_ne_bytes()).unwrap();
        assert_eq!(&v2[16..], &[0u8; 8]);
        assert_eq!(e(m.stack_store(&ips[..1], 1)), EFAULT);
        assert_eq!(e(m.stack_store(&ips, 1 << 11)), EINVAL);
        assert_eq!(e(m.update(&0u32.to_ne_bytes(), &[0; 24], 0)), EINVAL);
        assert_eq!(e(m.delete(&4u32.to_ne_bytes())), E2BIG);
        assert_eq!(m.keys().unwrap().len(), m.check().unwrap().live as usize);
        m.delete(&id.to_ne_bytes()).unwrap();
        assert_eq!(e(m.delete(&id.to_ne_bytes())), ENOENT);
        assert_eq!(e(m.lookup(&id.to_ne_bytes())), ENOENT);
        let r = m.check().unwrap();
        assert_eq!((r.live + r.free, r.leaked), (4, 0));
    }

    #[test]
    fn collisions_need_reuse_and_the_free_list_runs_out() {
        let m = Map::create(
            MapSpec::new(MapType::StackTrace, 4, 8, 1),
            &MapOptions::new(1),
        )
        .unwrap();
        // One bucket: every stack has id 0.
        assert_eq!(m.stack_store(&[1], 0).unwrap(), 0);
        assert_eq!(e(m.stack_store(&[2], 0)), EEXIST);
        // Reuse takes a fresh element before freeing the old: none left.
        assert_eq!(e(m.stack_store(&[2], BPF_F_REUSE_STACKID)), ENOMEM);
        m.delete(&0u32.to_ne_bytes()).unwrap();
        assert_eq!(m.stack_store(&[2], 0).unwrap(), 0);
        assert_eq!(m.lookup(&0u32.to_ne_bytes()).unwrap(), 2u64.to_ne_bytes());
        let r = m.check().unwrap();
        assert_eq!((r.live, r.free, r.leaked), (1, 0, 0));
    }

    #[test]
    fn concurrent_stores_and_deletes_lose_no_element() {
        let m = Map::create(
            MapSpec::new(MapType::StackTrace, 4, 16, 8),
            &MapOptions::new(1),
        )
        .unwrap();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let m = &m;
                s.spawn(move || {
                    for i in 0..2000u64 {
                        let ips = [t + 1, i % 13 + 1];
                        match m.stack_store(&ips, BPF_F_REUSE_STACKID) {
                            Ok(id) if i % 3 == 0 => {
                                let _ = m.delete(&id.to_ne_bytes());
                            }
                            Ok(id) => {
                                let _ = m.lookup(&id.to_ne_bytes());
                            }
                            Err(e) => assert_eq!(e.errno(), ENOMEM),
                        }
                    }
                });
            }
        });
        let r = m.check().unwrap();
        assert_eq!((r.live + r.free, r.leaked), (8, 0));
    }

    #[test]
    fn build_id_frames_fall_back_to_addresses() {
        let spec = MapSpec::new(MapType::StackTrace, 4, 64, 8).with_flags(BPF_F_STACK_BUILD_ID);
        let m = Map::create(spec, &MapOptions::new(1)).unwrap();
        let id = m.stack_store(&[0xabc], BPF_F_USER_STACK).unwrap();
        let v = m.lookup(&id.to_ne_bytes()).unwrap();
        assert_eq!(&v[..4], &2i32.to_ne_bytes());
        assert_eq!(&v[4..24], &[0u8; 20]);
        assert_eq!(&v[24..32], &0xabcu64.to_ne_bytes());
        assert_eq!(&v[32..], &[0u8; 32]);
    }
}

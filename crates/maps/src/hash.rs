//! `hash`, `percpu_hash`, `lru_hash`, `lru_percpu_hash` and `hash_of_maps`:
//! chained hash tables on preallocated elements, as the kernel's `htab`.
//!
//! # Layout (after the common header)
//! ```text
//! control   free-list head (u64: ABA tag << 32 | index), live count,
//!           LRU clock hand                                      64 bytes
//! buckets   n_buckets × { lock: u32, head: u32 }               8 bytes each
//! elements  capacity × { next: u32, free_next: u32, hash: u32, state: u32,
//!                        key (rounded to 8), value slot(s) }
//! ```
//! Links are element *indices*. A chain ends in a "nulls" marker,
//! `NULLS | bucket`, as the kernel's `hlist_nulls`: a lock-free reader that
//! was carried into another chain by a concurrent delete-and-reuse ends on
//! the wrong marker and restarts.
//!
//! # Concurrency
//! Writers take the bucket's lock (a robust process-shared spinlock); the
//! free list is a lock-free tagged stack; readers (lookups, programs) take
//! no lock. Element memory is reused at once after a delete — the kernel's
//! preallocated-map contract: a pointer from a lookup stays valid memory but
//! may come to hold another key's value.
//!
//! # Crash consistency
//! Every change to a chain is *one* 32-bit store of a link, made after the
//! element it publishes is fully written: insert writes the element, then
//! the bucket head; replace writes the new element with `next` = the old
//! one's `next`, then swaps it in with one store; delete is one store that
//! skips the element. A process killed between any two stores therefore
//! leaves every chain well formed; at worst an element is off every chain and
//! off the free list (leaked) and the live count is one too high.
//! [`crate::Map::repair`] reclaims both.

use std::any::Any;
use std::sync::atomic::{AtomicU32, Ordering};

use uapi::map::create_flags::BPF_F_NO_COMMON_LRU;
use uapi::map::update_flags::{BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST};
use uapi::MapType;

use crate::batch::{Bucket, Cursor};
use crate::error::{inval, MapError, Result};
use crate::header::{self, HeaderEnv, ValueCopy, HEADER_SIZE};
use crate::region::Region;
use crate::spec::{round8, MapSpec};
use crate::sync::Guard;
use crate::{BatchOps, CheckReport, MapOps};

pub(crate) const NIL: u32 = u32::MAX;
pub(crate) const NULLS: u32 = 1 << 31;
pub(crate) const LINKED: u32 = 1;
pub(crate) const REF: u32 = 2;

const CTRL: usize = HEADER_SIZE;
const CTRL_FREE: usize = CTRL;
const CTRL_COUNT: usize = CTRL + 8;
const CTRL_HAND: usize = CTRL + 12;
const BUCKETS: usize = CTRL + 64;
const ELEM_HDR: usize = 16;

/// Sizes of a hash map, derived from its spec alone (so every process that
/// opens the map computes the same offsets).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub n_buckets: u32,
    pub capacity: u32,
    pub key_size: usize,
    pub key_off: usize,
    pub val_off: usize,
    pub elem_size: usize,
    pub elems: usize,
}

fn is_lru(t: MapType) -> bool {
    matches!(t, MapType::LruHash | MapType::LruPercpuHash)
}

impl Geometry {
    pub(crate) fn of(spec: &MapSpec, ncpus: u32) -> Result<Geometry> {
        let too_big = || MapError::TooBig {
            reason: "hash map too large",
        };
        let n_buckets = spec
            .max_entries
            .checked_next_power_of_two()
            .filter(|&n| n <= 1 << 30)
            .ok_or_else(too_big)?;
        // Non-LRU maps keep one spare element per CPU, as the kernel's
        // `extra_elems`, so that replacing a value in a full map works.
        let spare = if is_lru(spec.map_type) { 0 } else { ncpus };
        let capacity = spec
            .max_entries
            .checked_add(spare)
            .filter(|&c| c < NULLS)
            .ok_or_else(too_big)?;
        let per = if spec.map_type.is_percpu() {
            ncpus as usize
        } else {
            1
        };
        let key_off = ELEM_HDR;
        let val_off = key_off + round8(spec.key_size as usize);
        let elem_size = val_off + spec.value_slot() * per;
        let elems = BUCKETS + n_buckets as usize * 8;
        Ok(Geometry {
            n_buckets,
            capacity,
            key_size: spec.key_size as usize,
            key_off,
            val_off,
            elem_size,
            elems,
        })
    }
}

pub(crate) fn body_len(spec: &MapSpec, ncpus: u32) -> Result<u64> {
    let g = Geometry::of(spec, ncpus)?;
    (g.elem_size as u64)
        .checked_mul(u64::from(g.capacity))
        .and_then(|e| e.checked_add((g.elems - HEADER_SIZE) as u64))
        .ok_or(MapError::NoMemory { bytes: u64::MAX })
}

/// Initial state: empty buckets (nulls markers), every element free.
pub(crate) fn init(spec: &MapSpec, env: &HeaderEnv, r: &Region) {
    let g = Geometry::of(spec, env.ncpus).expect("validated by body_len");
    for b in 0..g.n_buckets {
        r.u32_at(BUCKETS + b as usize * 8 + 4)
            .store(NULLS | b, Ordering::Relaxed);
    }
    for i in 0..g.capacity {
        let next = if i + 1 < g.capacity { i + 1 } else { NIL };
        r.u32_at(g.elems + i as usize * g.elem_size + 4)
            .store(next, Ordering::Relaxed);
    }
    r.u64_at(CTRL_FREE).store(0, Ordering::Relaxed);
}

/// Where a new value comes from: the syscall side writes every CPU's slot;
/// a program writes its own and a new element's other slots start zeroed.
#[derive(Clone, Copy)]
enum Target {
    AllCpus,
    Cpu(usize),
}

pub(crate) struct HashMap {
    pub(crate) region: Region,
    pub(crate) g: Geometry,
    pub(crate) max: u32,
    pub(crate) seed: u64,
    pub(crate) lru: bool,
    pub(crate) percpu: bool,
    ncpus: usize,
    slot: usize,
    copy: ValueCopy,
}

impl HashMap {
    pub(crate) fn new(spec: &MapSpec, env: HeaderEnv, region: Region) -> Self {
        let g = Geometry::of(spec, env.ncpus).expect("validated at create/open");
        // BPF_F_NO_COMMON_LRU selects per-CPU LRU lists in the kernel; one
        // shared clock approximates both.
        let _ = spec.flags & BPF_F_NO_COMMON_LRU;
        HashMap {
            region,
            g,
            max: spec.max_entries,
            seed: env.seed,
            lru: is_lru(spec.map_type),
            percpu: spec.map_type.is_percpu(),
            ncpus: env.ncpus as usize,
            slot: spec.value_slot(),
            copy: ValueCopy::of(spec),
        }
    }

    // ---- raw accessors --------------------------------------------------

    pub(crate) fn elem(&self, i: u32) -> usize {
        self.g.elems + i as usize * self.g.elem_size
    }
    pub(crate) fn next(&self, i: u32) -> &AtomicU32 {
        self.region.u32_at(self.elem(i))
    }
    fn free_next(&self, i: u32) -> &AtomicU32 {
        self.region.u32_at(self.elem(i) + 4)
    }
    pub(crate) fn hash_of(&self, i: u32) -> &AtomicU32 {
        self.region.u32_at(self.elem(i) + 8)
    }
    pub(crate) fn state(&self, i: u32) -> &AtomicU32 {
        self.region.u32_at(self.elem(i) + 12)
    }
    pub(crate) fn bucket_lock(&self, b: u32) -> &AtomicU32 {
        self.region.u32_at(BUCKETS + b as usize * 8)
    }
    fn head_off(&self, b: u32) -> usize {
        BUCKETS + b as usize * 8 + 4
    }
    pub(crate) fn count(&self) -> &AtomicU32 {
        self.region.u32_at(CTRL_COUNT)
    }
    pub(crate) fn hand(&self) -> &AtomicU32 {
        self.region.u32_at(CTRL_HAND)
    }
    fn val_off(&self, i: u32, cpu: usize) -> usize {
        self.elem(i) + self.g.val_off + cpu * self.slot
    }
    fn key_eq(&self, i: u32, key: &[u8]) -> bool {
        self.region.eq_bytes(self.elem(i) + self.g.key_off, key)
    }
    pub(crate) fn key_hash(&self, key: &[u8]) -> u32 {
        let h = header::hash(self.seed, key);
        (h ^ (h >> 32)) as u32
    }
    pub(crate) fn bucket_of(&self, h: u32) -> u32 {
        h & (self.g.n_buckets - 1)
    }

    // ---- free list: a tagged Treiber stack ------------------------------

    pub(crate) fn pop_free(&self) -> Option<u32> {
        let head = self.region.u64_at(CTRL_FREE);
        let mut cur = head.load(Ordering::Acquire);
        loop {
            let idx = cur as u32;
            if idx == NIL || idx >= self.g.capacity {
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

    pub(crate) fn push_free(&self, idx: u32) {
        self.state(idx).store(0, Ordering::Release);
        let head = self.region.u64_at(CTRL_FREE);
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

    // ---- chain walks ----------------------------------------------------

    /// Lock-free search (the kernel's RCU lookup with nulls restart).
    pub(crate) fn find_lockless(&self, key: &[u8], h: u32) -> Option<u32> {
        let b = self.bucket_of(h);
        for _attempt in 0..8 {
            let mut cur = self.region.u32_at(self.head_off(b)).load(Ordering::Acquire);
            let mut steps = 0u32;
            let restart = loop {
                if cur & NULLS != 0 {
                    break cur != (NULLS | b);
                }
                if cur >= self.g.capacity || steps > self.g.capacity {
                    break true;
                }
                if self.hash_of(cur).load(Ordering::Acquire) == h && self.key_eq(cur, key) {
                    return Some(cur);
                }
                cur = self.next(cur).load(Ordering::Acquire);
                steps += 1;
            };
            if !restart {
                return None;
            }
        }
        // Persistent interference: answer under the lock.
        let _g = Guard::new(self.bucket_lock(b));
        self.find_locked(b, key, h).map(|(_, i)| i)
    }

    /// Search with the bucket lock held: returns the offset of the link that
    /// points at the element, and the element.
    pub(crate) fn find_locked(&self, b: u32, key: &[u8], h: u32) -> Option<(usize, u32)> {
        let mut link = self.head_off(b);
        let mut cur = self.region.u32_at(link).load(Ordering::Acquire);
        let mut steps = 0;
        while cur & NULLS == 0 && cur < self.g.capacity && steps <= self.g.capacity {
            if self.hash_of(cur).load(Ordering::Relaxed) == h && self.key_eq(cur, key) {
                return Some((link, cur));
            }
            link = self.elem(cur);
            cur = self.next(cur).load(Ordering::Acquire);
            steps += 1;
        }
        None
    }

    /// The link pointing at element `idx` in bucket `b` (lock held).
    pub(crate) fn link_to(&self, b: u32, idx: u32) -> Option<usize> {
        let mut link = self.head_off(b);
        let mut cur = self.region.u32_at(link).load(Ordering::Acquire);
        let mut steps = 0;
        while cur & NULLS == 0 && cur < self.g.capacity && steps <= self.g.capacity {
            if cur == idx {
                return Some(link);
            }
            link = self.elem(cur);
            cur = self.next(cur).load(Ordering::Acquire);
            steps += 1;
        }
        None
    }

    /// Elements of bucket `b` in chain order (lock held, or a snapshot).
    fn chain(&self, b: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut cur = self.region.u32_at(self.head_off(b)).load(Ordering::Acquire);
        while cur & NULLS == 0 && cur < self.g.capacity && out.len() <= self.g.capacity as usize {
            out.push(cur);
            cur = self.next(cur).load(Ordering::Acquire);
        }
        out
    }

    /// Unlink `idx` whose link is at `link` (bucket lock held): one store.
    pub(crate) fn unlink(&self, link: usize, idx: u32) {
        let next = self.next(idx).load(Ordering::Acquire);
        self.region.u32_at(link).store(next, Ordering::Release);
        self.state(idx).fetch_and(!LINKED, Ordering::AcqRel);
        self.count().fetch_sub(1, Ordering::AcqRel);
    }

    // ---- element contents -----------------------------------------------

    /// Fill element `i` (owned, unlinked) with `key`, hash and value.
    fn fill(&self, i: u32, key: &[u8], h: u32, value: &[u8], target: Target) {
        self.fill_key(i, key, h);
        self.write_value(i, value, target, false, true);
    }

    /// Write the key and hash of element `i` (owned, unlinked).
    pub(crate) fn fill_key(&self, i: u32, key: &[u8], h: u32) {
        self.hash_of(i).store(h, Ordering::Relaxed);
        self.region.write(self.elem(i) + self.g.key_off, key);
    }

    fn write_value(&self, i: u32, value: &[u8], target: Target, lock: bool, fresh: bool) {
        if self.percpu {
            match target {
                Target::AllCpus => {
                    for (cpu, chunk) in value.chunks_exact(self.slot).enumerate() {
                        self.region.write(self.val_off(i, cpu), chunk);
                    }
                }
                Target::Cpu(c) => {
                    if fresh {
                        self.region.zero(self.val_off(i, 0), self.slot * self.ncpus);
                    }
                    self.region.write(self.val_off(i, c), value);
                }
            }
        } else {
            if fresh {
                if let Some(l) = self.copy.lock_off {
                    self.region.zero(self.val_off(i, 0) + l, 4);
                }
            }
            self.copy
                .write(&self.region, self.val_off(i, 0), value, lock);
        }
    }

    fn read_value(&self, i: u32, out: &mut [u8], lock: bool) {
        if self.percpu {
            for (cpu, chunk) in out.chunks_exact_mut(self.slot).enumerate() {
                self.region.read(self.val_off(i, cpu), chunk);
            }
        } else {
            self.copy.read(&self.region, self.val_off(i, 0), out, lock);
        }
    }

    // ---- update -------------------------------------------------------------

    fn update_impl(&self, key: &[u8], value: &[u8], flags: u64, target: Target) -> Result<()> {
        if flags & !BPF_F_LOCK > BPF_EXIST {
            return Err(inval("unknown update flag"));
        }
        if self.lru {
            return crate::lru::update(self, key, value, flags, |i, fresh| {
                self.write_value(i, value, target, false, fresh)
            });
        }
        let h = self.key_hash(key);
        let b = self.bucket_of(h);
        let lock = flags & BPF_F_LOCK != 0;
        let _g = Guard::new(self.bucket_lock(b));
        let old = self.find_locked(b, key, h);
        check_exist(old.is_some(), flags)?;
        match old {
            Some((link, old)) => {
                // Per-CPU and BPF_F_LOCK updates are in place, as the
                // kernel's; others swap in a fresh element so readers see
                // the old value or the new one, never a mix.
                let new = if self.percpu || lock {
                    None
                } else {
                    self.pop_free()
                };
                match new {
                    None => self.write_value(old, value, target, lock, false),
                    Some(new) => {
                        self.fill(new, key, h, value, target);
                        self.replace(link, old, new);
                    }
                }
            }
            None => {
                if self.count().fetch_add(1, Ordering::AcqRel) >= self.max {
                    self.count().fetch_sub(1, Ordering::AcqRel);
                    return Err(MapError::TooBig {
                        reason: "hash map is full",
                    });
                }
                let Some(new) = self.pop_free() else {
                    self.count().fetch_sub(1, Ordering::AcqRel);
                    return Err(MapError::TooBig {
                        reason: "hash map is full",
                    });
                };
                self.fill(new, key, h, value, target);
                self.link_head(b, new);
            }
        }
        Ok(())
    }

    /// Publish `new` at the head of bucket `b` (lock held): one store.
    pub(crate) fn link_head(&self, b: u32, new: u32) {
        let head = self.region.u32_at(self.head_off(b));
        self.next(new)
            .store(head.load(Ordering::Acquire), Ordering::Release);
        self.state(new).store(LINKED, Ordering::Release);
        head.store(new, Ordering::Release);
    }

    /// Put `new` where `old` is (lock held): one store, then free `old`.
    pub(crate) fn replace(&self, link: usize, old: u32, new: u32) {
        self.next(new)
            .store(self.next(old).load(Ordering::Acquire), Ordering::Release);
        self.state(new).store(LINKED, Ordering::Release);
        self.region.u32_at(link).store(new, Ordering::Release);
        self.push_free(old);
    }
}

/// `BPF_NOEXIST`/`BPF_EXIST` against whether the key is there.
pub(crate) fn check_exist(exists: bool, flags: u64) -> Result<()> {
    let f = flags & !BPF_F_LOCK;
    if exists && f == BPF_NOEXIST {
        return Err(MapError::Exists);
    }
    if !exists && f == BPF_EXIST {
        return Err(MapError::NotFound);
    }
    Ok(())
}

impl MapOps for HashMap {
    fn region(&self) -> &Region {
        &self.region
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    /// The syscall side copies under the bucket lock: an element is only
    /// unlinked (and so reused) under that lock, so the value copied is the
    /// key's, never that of a key that took its element meanwhile.
    fn lookup(&self, key: &[u8], out: &mut [u8], lock: bool) -> Result<()> {
        let h = self.key_hash(key);
        let b = self.bucket_of(h);
        let _g = Guard::new(self.bucket_lock(b));
        let (_, i) = self.find_locked(b, key, h).ok_or(MapError::NotFound)?;
        self.read_value(i, out, lock);
        Ok(())
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        self.update_impl(key, value, flags, Target::AllCpus)
    }

    fn update_prog(&self, key: &[u8], value: &[u8], flags: u64, cpu: u32) -> Result<()> {
        self.update_impl(key, value, flags, Target::Cpu(cpu as usize))
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        let h = self.key_hash(key);
        let b = self.bucket_of(h);
        let _g = Guard::new(self.bucket_lock(b));
        let (link, i) = self.find_locked(b, key, h).ok_or(MapError::NotFound)?;
        self.unlink(link, i);
        self.push_free(i);
        Ok(())
    }

    fn lookup_and_delete(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<()> {
        if flags & !BPF_F_LOCK != 0 {
            return Err(inval("unknown flag"));
        }
        let lock = flags & BPF_F_LOCK != 0;
        if lock && self.copy.lock_off.is_none() {
            return Err(inval("BPF_F_LOCK on a value without bpf_spin_lock"));
        }
        let h = self.key_hash(key);
        let b = self.bucket_of(h);
        let _g = Guard::new(self.bucket_lock(b));
        let (link, i) = self.find_locked(b, key, h).ok_or(MapError::NotFound)?;
        self.read_value(i, out, lock);
        self.unlink(link, i);
        self.push_free(i);
        Ok(())
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<()> {
        let mut start = 0;
        if let Some(key) = key {
            let h = self.key_hash(key);
            let b = self.bucket_of(h);
            let _g = Guard::new(self.bucket_lock(b));
            if let Some((_, i)) = self.find_locked(b, key, h) {
                let n = self.next(i).load(Ordering::Acquire);
                if n & NULLS == 0 && n < self.g.capacity {
                    self.region.read(self.elem(n) + self.g.key_off, next);
                    return Ok(());
                }
                start = b + 1;
            }
        }
        for b in start..self.g.n_buckets {
            let _g = Guard::new(self.bucket_lock(b));
            let head = self.region.u32_at(self.head_off(b)).load(Ordering::Acquire);
            if head & NULLS == 0 && head < self.g.capacity {
                self.region.read(self.elem(head) + self.g.key_off, next);
                return Ok(());
            }
        }
        Err(MapError::NotFound)
    }

    fn lookup_ptr(&self, key: &[u8], cpu: u32) -> *mut u8 {
        match self.find_lockless(key, self.key_hash(key)) {
            None => std::ptr::null_mut(),
            Some(i) => {
                if self.lru {
                    let st = self.state(i);
                    if st.load(Ordering::Relaxed) & REF == 0 {
                        st.fetch_or(REF, Ordering::Relaxed);
                    }
                }
                let cpu = if self.percpu { cpu as usize } else { 0 };
                self.region.ptr(self.val_off(i, cpu))
            }
        }
    }

    fn batch_ops(&self) -> BatchOps {
        BatchOps {
            lookup: Some(Cursor::Bucket),
            lookup_and_delete: true,
            update: true,
            delete: true,
        }
    }

    fn bucket_batch(&self, b: u32, room: u32, delete: bool, lock: bool) -> Option<Bucket> {
        if b >= self.g.n_buckets {
            return None;
        }
        let _g = Guard::new(self.bucket_lock(b));
        let chain = self.chain(b);
        let mut out = Bucket {
            count: chain.len() as u32,
            ..Bucket::default()
        };
        if out.count > room {
            return Some(out);
        }
        let vsize = if self.percpu {
            self.slot * self.ncpus
        } else {
            self.copy.size
        };
        for &i in &chain {
            let mut k = vec![0u8; self.g.key_size];
            self.region.read(self.elem(i) + self.g.key_off, &mut k);
            let mut v = vec![0u8; vsize];
            self.read_value(i, &mut v, lock);
            out.keys.extend_from_slice(&k);
            out.values.extend_from_slice(&v);
        }
        if delete {
            for &i in &chain {
                if let Some(link) = self.link_to(b, i) {
                    self.unlink(link, i);
                    self.push_free(i);
                }
            }
        }
        Some(out)
    }

    fn check(&self) -> Result<CheckReport> {
        let live = (0..self.g.n_buckets)
            .map(|b| self.chain(b).len() as u64)
            .sum::<u64>();
        let free = self.free_list().len() as u64;
        Ok(CheckReport {
            live,
            free,
            leaked: u64::from(self.g.capacity).saturating_sub(live + free),
            miscounted: u64::from(self.count().load(Ordering::Acquire)) != live,
        })
    }

    fn repair(&self) -> Result<CheckReport> {
        let before = self.check()?;
        let mut seen = vec![false; self.g.capacity as usize];
        let mut live = 0u32;
        for b in 0..self.g.n_buckets {
            self.bucket_lock(b).store(0, Ordering::Release);
            for i in self.chain(b) {
                seen[i as usize] = true;
                live += 1;
            }
        }
        self.region
            .u64_at(CTRL_FREE)
            .store(u64::from(NIL) | (1 << 32), Ordering::Release);
        for i in (0..self.g.capacity).rev() {
            if !seen[i as usize] {
                self.push_free(i);
            }
        }
        self.count().store(live, Ordering::Release);
        Ok(before)
    }
}

impl HashMap {
    fn free_list(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut cur = self.region.u64_at(CTRL_FREE).load(Ordering::Acquire) as u32;
        while cur != NIL && cur < self.g.capacity && out.len() <= self.g.capacity as usize {
            out.push(cur);
            cur = self.free_next(cur).load(Ordering::Acquire);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Map, MapOptions};

    fn hash_of_map(m: &Map) -> &HashMap {
        m.ops.as_any().downcast_ref().unwrap()
    }

    #[test]
    fn a_crash_between_alloc_and_link_leaks_one_element() {
        let m = Map::create(MapSpec::new(MapType::Hash, 4, 4, 4), &MapOptions::new(1)).unwrap();
        m.update(&1u32.to_ne_bytes(), &[1; 4], 0).unwrap();
        let h = hash_of_map(&m);
        // The dying writer took an element and reserved a count, then died.
        let i = h.pop_free().unwrap();
        h.fill_key(i, &2u32.to_ne_bytes(), h.key_hash(&2u32.to_ne_bytes()));
        h.count().fetch_add(1, Ordering::SeqCst);
        let r = m.check().unwrap();
        assert_eq!((r.live, r.leaked), (1, 1));
        assert!(m.lookup(&2u32.to_ne_bytes()).is_err());
        m.repair().unwrap();
        let r = m.check().unwrap();
        assert_eq!((r.live, r.leaked), (1, 0));
        assert_eq!(h.count().load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_crash_between_unlink_and_free_leaks_one_element() {
        let m = Map::create(MapSpec::new(MapType::Hash, 4, 4, 4), &MapOptions::new(1)).unwrap();
        let key = 3u32.to_ne_bytes();
        m.update(&key, &[1; 4], 0).unwrap();
        let h = hash_of_map(&m);
        let hh = h.key_hash(&key);
        let b = h.bucket_of(hh);
        let (link, i) = h.find_locked(b, &key, hh).unwrap();
        h.unlink(link, i); // ... and the process dies before push_free.
        assert!(m.lookup(&key).is_err());
        assert_eq!(m.check().unwrap().leaked, 1);
        m.repair().unwrap();
        assert_eq!(m.check().unwrap().leaked, 0);
    }

    #[test]
    fn a_crash_between_counting_and_taking_an_element_is_recounted() {
        let m = Map::create(MapSpec::new(MapType::Hash, 4, 4, 4), &MapOptions::new(1)).unwrap();
        m.update(&1u32.to_ne_bytes(), &[1; 4], 0).unwrap();
        let h = hash_of_map(&m);
        // An insert counted itself, and the process died before taking an
        // element off the free list: nothing leaked, the count is high.
        h.count().fetch_add(1, Ordering::SeqCst);
        let r = m.check().unwrap();
        assert_eq!((r.live, r.leaked, r.miscounted), (1, 0, true));
        assert!(r.needs_repair());
        m.repair().unwrap();
        assert!(!m.check().unwrap().needs_repair());
        // All four elements are usable again.
        for k in 2u32..5 {
            m.update(&k.to_ne_bytes(), &[1; 4], 0).unwrap();
        }
        assert!(m.update(&9u32.to_ne_bytes(), &[1; 4], 0).is_err());
    }

    #[test]
    fn a_bucket_lock_held_by_a_dead_process_is_taken_over() {
        let m = Map::create(MapSpec::new(MapType::Hash, 4, 4, 4), &MapOptions::new(1)).unwrap();
        let key = 5u32.to_ne_bytes();
        let h = hash_of_map(&m);
        let b = h.bucket_of(h.key_hash(&key));
        // PID above pid_max: no such process.
        h.bucket_lock(b).store(0x7fff_fff0, Ordering::SeqCst);
        m.update(&key, &[9; 4], 0).unwrap();
        assert_eq!(m.lookup(&key).unwrap(), [9; 4]);
        assert_eq!(h.bucket_lock(b).load(Ordering::SeqCst), 0);
    }
}

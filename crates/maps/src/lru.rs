//! LRU eviction for `lru_hash` and `lru_percpu_hash`.
//!
//! The kernel keeps active/inactive lists with a reference bit per node and
//! evicts from the inactive tail. Lists of host pointers cannot live in a
//! shared region cheaply, so this is the same idea as a CLOCK: a hand (an
//! atomic counter in the region) sweeps the element array; a program lookup
//! sets an element's reference bit; the sweep clears set bits and evicts the
//! first linked element whose bit was already clear. Without lookups this
//! evicts in insertion order, as the kernel's inactive list does (checked:
//! a 2-entry LRU fed keys 0..9 keeps 8 and 9 on Linux and here).
//!
//! As in the kernel, a new element is taken (from the free list, or by
//! evicting) *before* the bucket lock is taken, so that the evictor never
//! holds two bucket locks. Eviction unlinks the victim with one store under
//! the victim's bucket lock and keeps it, so a crash mid-eviction leaks at
//! most that element.

use std::sync::atomic::Ordering;

use uapi::map::update_flags::{BPF_EXIST, BPF_F_LOCK};

use crate::error::{MapError, Result};
use crate::hash::{check_exist, HashMap, LINKED, REF};
use crate::sync::Guard;

/// Take a free element, evicting one if none is free.
pub(crate) fn alloc(m: &HashMap) -> Result<u32> {
    let cap = m.g.capacity;
    let budget = 3 * u64::from(cap) + 16;
    for _ in 0..budget {
        if let Some(i) = m.pop_free() {
            return Ok(i);
        }
        let i = m.hand().fetch_add(1, Ordering::AcqRel) % cap;
        let st = m.state(i).load(Ordering::Acquire);
        if st & LINKED == 0 {
            continue;
        }
        if st & REF != 0 {
            m.state(i).fetch_and(!REF, Ordering::AcqRel);
            continue;
        }
        let b = m.bucket_of(m.hash_of(i).load(Ordering::Acquire));
        let _g = Guard::new(m.bucket_lock(b));
        // The element may have been deleted, or reused in another bucket,
        // since we read its hash: only evict it if it is still in `b`.
        if let Some(link) = m.link_to(b, i) {
            m.unlink(link, i);
            return Ok(i);
        }
    }
    Err(MapError::NoMemory { bytes: 0 })
}

/// Update of an LRU map; `write(elem, fresh)` stores the value.
pub(crate) fn update(
    m: &HashMap,
    key: &[u8],
    _value: &[u8],
    flags: u64,
    write: impl Fn(u32, bool),
) -> Result<()> {
    let h = m.key_hash(key);
    let b = m.bucket_of(h);
    // Per-CPU LRU updates of an existing key are in place and need no new
    // element (the kernel skips the allocation for BPF_EXIST).
    let in_place_only = m.percpu && flags & !BPF_F_LOCK == BPF_EXIST;
    let new = if in_place_only { None } else { Some(alloc(m)?) };
    let g = Guard::new(m.bucket_lock(b));
    let old = m.find_locked(b, key, h);
    if let Err(e) = check_exist(old.is_some(), flags) {
        drop(g);
        if let Some(n) = new {
            m.push_free(n);
        }
        return Err(e);
    }
    match (old, new) {
        (Some((_, o)), None) => write(o, false),
        (Some((link, o)), Some(n)) => {
            if m.percpu {
                write(o, false);
                drop(g);
                m.push_free(n);
            } else {
                m.fill_key(n, key, h);
                write(n, true);
                m.replace(link, o, n);
            }
        }
        (None, Some(n)) => {
            m.fill_key(n, key, h);
            write(n, true);
            m.count().fetch_add(1, Ordering::AcqRel);
            m.link_head(b, n);
        }
        (None, None) => unreachable!("BPF_EXIST on a missing key was refused above"),
    }
    Ok(())
}

//! `lpm_trie`: longest-prefix match on `struct bpf_lpm_trie_key`
//! (`prefixlen: u32` then `key_size - 4` bytes of data, most significant bit
//! first), as the kernel's `lpm_trie.c`: a binary trie whose nodes carry a
//! prefix; nodes without a value ("intermediate") only join two subtrees.
//!
//! Layout after the header: a 64-byte control block `{ lock, root, entries,
//! free-list head (u64, tagged) }`, then `2 * max_entries + 1` nodes
//! `{ child[2]: u32, prefixlen, flags, free_next, pad, data, value }`. A trie
//! of n values has at most n - 1 intermediate nodes, plus one node in flight
//! during a replace, hence the count.
//!
//! Writers hold the trie lock; lookups are lock-free and bounded by the
//! prefix length. Each update or delete changes the trie by *one* store of a
//! child/root link (or of a node's flags) after the nodes it publishes are
//! written, so a crash leaves a well-formed trie and at worst a leaked node
//! and an entry count off by one ([`crate::Map::repair`] fixes both).
//!
//! `get_next_key` walks in post-order, children 0 before 1 (checked on
//! Linux 6.18: 10.1.2.3/32, 10.0.0.0/8, 192.168.0.0/24, 192.168.1.0/24,
//! 192.168.128.0/24, 192.168.0.0/16, 0.0.0.0/0); a missing key restarts at
//! the first node.

use std::any::Any;
use std::sync::atomic::{AtomicU32, Ordering};

use uapi::map::update_flags::{BPF_EXIST, BPF_NOEXIST};

use crate::batch::Cursor;
use crate::error::{inval, MapError, Result};
use crate::header::HEADER_SIZE;
use crate::region::Region;
use crate::spec::{round8, MapSpec};
use crate::sync::Guard;
use crate::{BatchOps, CheckReport, MapOps};

const NIL: u32 = u32::MAX;
const IM: u32 = 1;
const LOCK: usize = HEADER_SIZE;
const ROOT: usize = HEADER_SIZE + 4;
const ENTRIES: usize = HEADER_SIZE + 8;
const FREE: usize = HEADER_SIZE + 16;
const NODES: usize = HEADER_SIZE + 64;
const DATA: usize = 24;

#[derive(Debug, Clone, Copy)]
struct Geo {
    capacity: u32,
    data_size: usize,
    val_off: usize,
    node_size: usize,
}

fn geo(spec: &MapSpec) -> Result<Geo> {
    let capacity = spec
        .max_entries
        .checked_mul(2)
        .and_then(|c| c.checked_add(1))
        .filter(|&c| c < NIL)
        .ok_or(MapError::TooBig {
            reason: "lpm trie too large",
        })?;
    let data_size = spec.key_size as usize - 4;
    let val_off = round8(DATA + data_size);
    Ok(Geo {
        capacity,
        data_size,
        val_off,
        node_size: val_off + spec.value_slot(),
    })
}

pub(crate) fn body_len(spec: &MapSpec) -> Result<u64> {
    let g = geo(spec)?;
    (g.node_size as u64)
        .checked_mul(u64::from(g.capacity))
        .and_then(|b| b.checked_add(64))
        .ok_or(MapError::NoMemory { bytes: u64::MAX })
}

pub(crate) fn init(spec: &MapSpec, r: &Region) {
    let g = geo(spec).expect("validated by body_len");
    r.u32_at(ROOT).store(NIL, Ordering::Relaxed);
    for i in 0..g.capacity {
        let next = if i + 1 < g.capacity { i + 1 } else { NIL };
        r.u32_at(NODES + i as usize * g.node_size + 16)
            .store(next, Ordering::Relaxed);
    }
    r.u64_at(FREE).store(0, Ordering::Relaxed);
}

/// Bit `i` of `data`, most significant bit of byte 0 first.
fn bit(data: &[u8], i: u32) -> usize {
    usize::from((data[(i / 8) as usize] >> (7 - i % 8)) & 1)
}

pub(crate) struct LpmTrie {
    region: Region,
    g: Geo,
    max: u32,
    max_prefixlen: u32,
    value_size: usize,
}

impl LpmTrie {
    pub(crate) fn new(spec: &MapSpec, region: Region) -> Self {
        let g = geo(spec).expect("validated at create/open");
        LpmTrie {
            region,
            g,
            max: spec.max_entries,
            max_prefixlen: g.data_size as u32 * 8,
            value_size: spec.value_size as usize,
        }
    }

    fn node(&self, n: u32) -> usize {
        NODES + n as usize * self.g.node_size
    }
    fn child(&self, n: u32, c: usize) -> &AtomicU32 {
        self.region.u32_at(self.node(n) + 4 * c)
    }
    fn prefixlen(&self, n: u32) -> u32 {
        self.region.u32_at(self.node(n) + 8).load(Ordering::Acquire)
    }
    fn flags(&self, n: u32) -> &AtomicU32 {
        self.region.u32_at(self.node(n) + 12)
    }
    fn free_next(&self, n: u32) -> &AtomicU32 {
        self.region.u32_at(self.node(n) + 16)
    }
    fn data(&self, n: u32) -> Vec<u8> {
        let mut d = vec![0u8; self.g.data_size];
        self.region.read(self.node(n) + DATA, &mut d);
        d
    }
    fn root(&self) -> &AtomicU32 {
        self.region.u32_at(ROOT)
    }
    fn entries(&self) -> &AtomicU32 {
        self.region.u32_at(ENTRIES)
    }
    fn is_im(&self, n: u32) -> bool {
        self.flags(n).load(Ordering::Acquire) & IM != 0
    }
    fn valid(&self, n: u32) -> bool {
        n < self.g.capacity
    }

    /// Leading bits shared by node `n` and `data`, at most both prefixes.
    fn match_len(&self, n: u32, data: &[u8], key_len: u32) -> u32 {
        let limit = self.prefixlen(n).min(key_len).min(self.max_prefixlen);
        let off = self.node(n) + DATA;
        let mut i = 0u32;
        while i < limit {
            let byte = (i / 8) as usize;
            let mut mine = [0u8; 1];
            self.region.read(off + byte, &mut mine);
            let diff = mine[0] ^ data[byte];
            if diff == 0 {
                i = (i + 8) & !7;
                continue;
            }
            i += diff.leading_zeros();
            break;
        }
        i.min(limit)
    }

    fn split_key<'k>(&self, key: &'k [u8]) -> (u32, &'k [u8]) {
        let pl = u32::from_ne_bytes(key[..4].try_into().expect("key_size > 4"));
        (pl, &key[4..])
    }

    // ---- free list (tagged stack, writers hold the lock anyway) -----------

    fn alloc(&self) -> Option<u32> {
        let head = self.region.u64_at(FREE);
        let cur = head.load(Ordering::Acquire);
        let idx = cur as u32;
        if !self.valid(idx) {
            return None;
        }
        let next = self.free_next(idx).load(Ordering::Acquire);
        head.store(((cur >> 32) + 1) << 32 | u64::from(next), Ordering::Release);
        Some(idx)
    }

    fn free(&self, n: u32) {
        let head = self.region.u64_at(FREE);
        let cur = head.load(Ordering::Acquire);
        self.free_next(n).store(cur as u32, Ordering::Release);
        head.store(((cur >> 32) + 1) << 32 | u64::from(n), Ordering::Release);
    }

    /// Fill an owned, unpublished node.
    fn fill(&self, n: u32, prefixlen: u32, flags: u32, data: &[u8], value: Option<&[u8]>) {
        self.child(n, 0).store(NIL, Ordering::Relaxed);
        self.child(n, 1).store(NIL, Ordering::Relaxed);
        self.region
            .u32_at(self.node(n) + 8)
            .store(prefixlen, Ordering::Relaxed);
        self.flags(n).store(flags, Ordering::Relaxed);
        self.region.write(self.node(n) + DATA, data);
        if let Some(v) = value {
            self.region.write(self.node(n) + self.g.val_off, v);
        }
    }

    /// The link (root or a child word) that holds `slot`'s node: offsets.
    fn link(&self, slot: Option<(u32, usize)>) -> &AtomicU32 {
        match slot {
            None => self.root(),
            Some((n, c)) => self.child(n, c),
        }
    }

    fn lookup_node(&self, key: &[u8]) -> Option<u32> {
        let (pl, data) = self.split_key(key);
        if pl > self.max_prefixlen {
            return None;
        }
        let mut found = None;
        let mut n = self.root().load(Ordering::Acquire);
        for _ in 0..=self.max_prefixlen + 1 {
            if !self.valid(n) {
                break;
            }
            let m = self.match_len(n, data, pl);
            if m == self.max_prefixlen {
                found = Some(n);
                break;
            }
            let npl = self.prefixlen(n);
            if m < npl {
                break;
            }
            if !self.is_im(n) {
                found = Some(n);
            }
            n = self.child(n, bit(data, npl)).load(Ordering::Acquire);
        }
        found
    }

    fn update_locked(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        let (pl, data) = self.split_key(key);
        if flags > BPF_EXIST {
            return Err(inval("unknown update flag"));
        }
        if pl > self.max_prefixlen {
            return Err(inval("prefixlen beyond the key's data"));
        }
        let _g = Guard::new(self.region.u32_at(LOCK));
        let mut slot: Option<(u32, usize)> = None;
        let mut m = 0;
        let mut node = self.root().load(Ordering::Acquire);
        while self.valid(node) {
            m = self.match_len(node, data, pl);
            let npl = self.prefixlen(node);
            if npl != m || npl == pl {
                break;
            }
            let c = bit(data, npl);
            slot = Some((node, c));
            node = self.child(node, c).load(Ordering::Acquire);
        }
        let check_add = || -> Result<()> {
            if flags == BPF_EXIST {
                return Err(MapError::NotFound);
            }
            if self.entries().load(Ordering::Acquire) >= self.max {
                return Err(MapError::NoSpace {
                    reason: "lpm trie is full",
                });
            }
            Ok(())
        };
        let new_node = |this: &Self| -> Result<u32> {
            let n = this.alloc().ok_or(MapError::NoSpace {
                reason: "lpm trie has no free node",
            })?;
            this.fill(n, pl, 0, data, Some(value));
            Ok(n)
        };
        let link = self.link(slot);
        if !self.valid(node) {
            check_add()?;
            let n = new_node(self)?;
            link.store(n, Ordering::Release);
            self.entries().fetch_add(1, Ordering::AcqRel);
            return Ok(());
        }
        let npl = self.prefixlen(node);
        if npl == m {
            // Same prefix: replace the node (a value, or an intermediate
            // node becoming one), keeping its children.
            let was_im = self.is_im(node);
            if was_im {
                check_add()?;
            } else if flags == BPF_NOEXIST {
                return Err(MapError::Exists);
            }
            let n = new_node(self)?;
            for c in 0..2 {
                self.child(n, c).store(
                    self.child(node, c).load(Ordering::Acquire),
                    Ordering::Release,
                );
            }
            link.store(n, Ordering::Release);
            self.free(node);
            if was_im {
                self.entries().fetch_add(1, Ordering::AcqRel);
            }
            return Ok(());
        }
        check_add()?;
        if m == pl {
            // The new prefix is an ancestor of `node`.
            let n = new_node(self)?;
            let nd = self.data(node);
            self.child(n, bit(&nd, m)).store(node, Ordering::Release);
            link.store(n, Ordering::Release);
        } else {
            // Diverging at bit m: an intermediate node joins both.
            let n = new_node(self)?;
            let Some(im) = self.alloc() else {
                self.free(n);
                return Err(MapError::NoSpace {
                    reason: "lpm trie has no free node",
                });
            };
            self.fill(im, m, IM, &self.data(node), None);
            let (c_new, c_old) = if bit(data, m) == 1 { (1, 0) } else { (0, 1) };
            self.child(im, c_new).store(n, Ordering::Release);
            self.child(im, c_old).store(node, Ordering::Release);
            link.store(im, Ordering::Release);
        }
        self.entries().fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    fn delete_locked(&self, key: &[u8]) -> Result<()> {
        let (pl, data) = self.split_key(key);
        if pl > self.max_prefixlen {
            return Err(inval("prefixlen beyond the key's data"));
        }
        let _g = Guard::new(self.region.u32_at(LOCK));
        let mut trim: Option<(u32, usize)> = None;
        let mut trim2: Option<(u32, usize)> = None;
        let mut parent: Option<u32> = None;
        let mut m = 0;
        let mut node = self.root().load(Ordering::Acquire);
        while self.valid(node) {
            m = self.match_len(node, data, pl);
            let npl = self.prefixlen(node);
            if npl != m || npl == pl {
                break;
            }
            parent = Some(node);
            trim2 = trim;
            let c = bit(data, npl);
            trim = Some((node, c));
            node = self.child(node, c).load(Ordering::Acquire);
        }
        if !self.valid(node) || self.prefixlen(node) != pl || m != pl || self.is_im(node) {
            return Err(MapError::NotFound);
        }
        let c0 = self.child(node, 0).load(Ordering::Acquire);
        let c1 = self.child(node, 1).load(Ordering::Acquire);
        if self.valid(c0) && self.valid(c1) {
            self.flags(node).fetch_or(IM, Ordering::AcqRel);
        } else if let Some(p) =
            parent.filter(|&p| self.is_im(p) && !self.valid(c0) && !self.valid(c1))
        {
            let sibling = if self.child(p, 0).load(Ordering::Acquire) == node {
                self.child(p, 1).load(Ordering::Acquire)
            } else {
                self.child(p, 0).load(Ordering::Acquire)
            };
            self.link(trim2).store(sibling, Ordering::Release);
            self.free(p);
            self.free(node);
        } else {
            let rest = if self.valid(c0) { c0 } else { c1 };
            self.link(trim).store(rest, Ordering::Release);
            self.free(node);
        }
        self.entries().fetch_sub(1, Ordering::AcqRel);
        Ok(())
    }

    fn leftmost(&self, mut n: u32) -> Option<u32> {
        let mut next = None;
        for _ in 0..=self.g.capacity {
            if !self.valid(n) {
                break;
            }
            if self.is_im(n) {
                n = self.child(n, 0).load(Ordering::Acquire);
            } else {
                next = Some(n);
                n = self.child(n, 0).load(Ordering::Acquire);
                if !self.valid(n) {
                    n = self.child(next.expect("set"), 1).load(Ordering::Acquire);
                }
            }
        }
        next
    }

    fn next_node(&self, key: Option<&[u8]>) -> Result<u32> {
        let root = self.root().load(Ordering::Acquire);
        if !self.valid(root) {
            return Err(MapError::NotFound);
        }
        let Some((pl, data)) = key
            .map(|k| self.split_key(k))
            .filter(|&(pl, _)| pl <= self.max_prefixlen)
        else {
            return self.leftmost(root).ok_or(MapError::NotFound);
        };
        let mut stack = Vec::new();
        let mut node = root;
        let mut m = 0;
        while self.valid(node) && stack.len() <= self.max_prefixlen as usize {
            stack.push(node);
            m = self.match_len(node, data, pl);
            let npl = self.prefixlen(node);
            if npl != m || npl == pl {
                break;
            }
            node = self.child(node, bit(data, npl)).load(Ordering::Acquire);
        }
        if !self.valid(node) || self.prefixlen(node) != m || self.is_im(node) {
            return self.leftmost(root).ok_or(MapError::NotFound);
        }
        let mut node = stack.pop().expect("node pushed");
        while let Some(&parent) = stack.last() {
            if self.child(parent, 0).load(Ordering::Acquire) == node {
                let right = self.child(parent, 1).load(Ordering::Acquire);
                if self.valid(right) {
                    return self.leftmost(right).ok_or(MapError::NotFound);
                }
            }
            if !self.is_im(parent) {
                return Ok(parent);
            }
            node = stack.pop().expect("non-empty");
        }
        Err(MapError::NotFound)
    }

    /// Every node reachable from the root, and how many carry a value.
    fn reachable(&self) -> (Vec<u32>, u32) {
        let mut seen = Vec::new();
        let mut values = 0;
        let mut todo = vec![self.root().load(Ordering::Acquire)];
        while let Some(n) = todo.pop() {
            if !self.valid(n) || seen.len() > self.g.capacity as usize {
                continue;
            }
            seen.push(n);
            if !self.is_im(n) {
                values += 1;
            }
            todo.push(self.child(n, 0).load(Ordering::Acquire));
            todo.push(self.child(n, 1).load(Ordering::Acquire));
        }
        (seen, values)
    }

    fn free_count(&self) -> u64 {
        let mut n = 0u64;
        let mut cur = self.region.u64_at(FREE).load(Ordering::Acquire) as u32;
        while self.valid(cur) && n <= u64::from(self.g.capacity) {
            n += 1;
            cur = self.free_next(cur).load(Ordering::Acquire);
        }
        n
    }
}

impl MapOps for LpmTrie {
    fn region(&self) -> &Region {
        &self.region
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, key: &[u8], out: &mut [u8], _lock: bool) -> Result<()> {
        let n = self.lookup_node(key).ok_or(MapError::NotFound)?;
        self.region
            .read(self.node(n) + self.g.val_off, &mut out[..self.value_size]);
        Ok(())
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        self.update_locked(key, value, flags)
    }

    fn update_prog(&self, key: &[u8], value: &[u8], flags: u64, _cpu: u32) -> Result<()> {
        self.update_locked(key, value, flags)
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        self.delete_locked(key)
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<()> {
        let _g = Guard::new(self.region.u32_at(LOCK));
        let n = self.next_node(key)?;
        next[..4].copy_from_slice(&self.prefixlen(n).to_ne_bytes());
        self.region.read(self.node(n) + DATA, &mut next[4..]);
        Ok(())
    }

    fn lookup_ptr(&self, key: &[u8], _cpu: u32) -> *mut u8 {
        match self.lookup_node(key) {
            Some(n) => self.region.ptr(self.node(n) + self.g.val_off),
            None => std::ptr::null_mut(),
        }
    }

    fn batch_ops(&self) -> BatchOps {
        BatchOps {
            lookup: Some(Cursor::Key),
            lookup_and_delete: false,
            update: true,
            delete: true,
        }
    }

    fn check(&self) -> Result<CheckReport> {
        let (seen, _) = self.reachable();
        let free = self.free_count();
        let live = seen.len() as u64;
        Ok(CheckReport {
            live,
            free,
            leaked: u64::from(self.g.capacity).saturating_sub(live + free),
            ..Default::default()
        })
    }

    fn repair(&self) -> Result<CheckReport> {
        let before = self.check()?;
        self.region.u32_at(LOCK).store(0, Ordering::Release);
        let (seen, values) = self.reachable();
        let mut used = vec![false; self.g.capacity as usize];
        for n in seen {
            used[n as usize] = true;
        }
        self.region
            .u64_at(FREE)
            .store(u64::from(NIL), Ordering::Release);
        for n in (0..self.g.capacity).rev() {
            if !used[n as usize] {
                self.free(n);
            }
        }
        self.entries().store(values, Ordering::Release);
        Ok(before)
    }
}

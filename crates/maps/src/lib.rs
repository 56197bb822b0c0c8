//! Every eBPF map type, with the kernel's semantics, on flat preallocated
//! memory.
//!
//! A [`Map`] is created from a [`MapSpec`] (validated as `BPF_MAP_CREATE`
//! validates it) and [`MapOptions`] (number of workers, backing). All of its
//! state lives in one [`Region`] at fixed offsets — header, bucket heads,
//! free lists, LRU state, elements, locks, ring positions — so that the region
//! can be a shared mapping of a file and several processes can use one map
//! live ([`Backing::File`], [`Map::open`]). Values never move while the map
//! lives: programs get raw pointers to them ([`Map::lookup_ptr`]) and read,
//! write and atomically update them directly, as in the kernel.
//!
//! Two faces:
//! - the *syscall side* works on byte slices and returns the kernel's errno
//!   ([`MapError::errno`]): [`Map::lookup`], [`Map::update`], [`Map::delete`],
//!   [`Map::get_next_key`], [`Map::lookup_and_delete`], batches, [`Map::freeze`];
//! - the *program side* is what helpers call: [`Map::lookup_ptr`],
//!   [`Map::update_from_prog`], [`Map::delete_from_prog`], push/pop/peek,
//!   [`Map::ringbuf`] and [`Map::perf`] for output, [`Map::redirect_target`]
//!   for `bpf_redirect_map` and friends, [`Map::stack_store`] for
//!   `bpf_get_stackid`, [`Map::local_storage`] for `bpf_*_storage_get`.
//!
//! Per-CPU means per worker: per-CPU maps hold [`MapOptions::ncpus`] slots and
//! the syscall side exchanges all of them, each rounded up to 8 bytes.
//!
//! See `docs/MAPS.md` for the layouts and the crash-consistency argument.

mod array;
mod batch;
mod bloom;
mod error;
mod fd_array;
mod hash;
mod header;
mod local_storage;
mod lpm;
mod lru;
mod perf;
mod queue;
mod region;
mod ringbuf;
mod spec;
mod stack;
mod sync;
mod target;
mod target_hash;

use std::any::Any;
use std::path::Path;
use std::sync::atomic::Ordering;

use uapi::map::create_flags::{BPF_F_RDONLY, BPF_F_WRONLY};
use uapi::map::update_flags::BPF_F_LOCK;
use uapi::MapType;

pub use array::ArrayLayout;
pub use batch::{BatchLookup, BatchWritten};
pub use error::{MapError, Result};
pub use local_storage::{LocalStorage, BPF_LOCAL_STORAGE_GET_F_CREATE};
pub use perf::{PerfConsumer, PerfEventArray, PerfRecord};
pub use region::Region;
pub use ringbuf::{RingBuf, RingConsumer};
pub use spec::{Backing, MapOptions, MapSpec, CPUMAP_MAX_ENTRIES, PAGE_SIZE, PERF_EVENT_MAX_STACK};
pub use stack::stackid_flags;
pub use sync::{bpf_spin_lock, bpf_spin_unlock};
pub use target::CPUMAP_MAX_QSIZE;

use error::inval;
use header::{HeaderEnv, HEADER_SIZE};

/// What a consistency check found ([`Map::check`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Elements reachable from the map's index (buckets, trie root, ring).
    pub live: u64,
    /// Elements on free lists.
    pub free: u64,
    /// Elements neither live nor free: what a process killed mid-update
    /// leaves behind. Harmless; [`Map::repair`] gives them back.
    pub leaked: u64,
    /// The element count the map keeps (against `max_entries`) is not the
    /// number of live elements: a process killed between counting an
    /// insert and linking it. The map would report full one element early;
    /// [`Map::repair`] recounts.
    pub miscounted: bool,
}

impl CheckReport {
    /// Whether [`Map::repair`] has something to do.
    pub fn needs_repair(&self) -> bool {
        self.leaked > 0 || self.miscounted
    }
}

/// Where a redirect or socket map entry points, for the helpers that use it
/// (`bpf_redirect_map`, `bpf_sk_redirect_map`, `bpf_msg_redirect_map`,
/// `bpf_skb_under_cgroup`, ...): see [`Map::redirect_target`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedirectTarget {
    /// devmap/devmap_hash: the ifindex; cpumap: the CPU (worker) index,
    /// i.e. the key; xskmap: the stored socket number; sockmap/sockhash:
    /// the socket cookie; cgroup_array: the stored cgroup number.
    pub target: u64,
    /// devmap/devmap_hash/cpumap: the id of the program to run on the
    /// target (what was stored in `bpf_prog.fd`), 0 for none.
    pub prog_id: u32,
}

/// Which batch operations a map type has, as its kernel `map_ops` do.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BatchOps {
    /// `generic_map_lookup_batch` (cursor = key) or the hash one (cursor =
    /// bucket index).
    pub lookup: Option<batch::Cursor>,
    pub lookup_and_delete: bool,
    pub update: bool,
    pub delete: bool,
}

/// The operations of one map family. Defaults are the kernel's answer for a
/// map type without that operation.
pub(crate) trait MapOps: Send + Sync + Any {
    fn region(&self) -> &Region;
    fn as_any(&self) -> &dyn Any;

    /// Syscall lookup into `out` (the syscall value size).
    fn lookup(&self, _key: &[u8], _out: &mut [u8], _lock: bool) -> Result<()> {
        Err(MapError::NotSupported)
    }
    /// Syscall update; per-CPU maps get every CPU's slot.
    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<()> {
        Err(MapError::NotSupported)
    }
    fn delete(&self, _key: &[u8]) -> Result<()> {
        Err(MapError::NotSupported)
    }
    fn get_next_key(&self, _key: Option<&[u8]>, _next: &mut [u8]) -> Result<()> {
        Err(MapError::NotSupported)
    }
    fn lookup_and_delete(&self, _key: &[u8], _out: &mut [u8], _flags: u64) -> Result<()> {
        Err(MapError::NotSupported)
    }
    /// Program lookup: the value slot of `cpu`, or null.
    fn lookup_ptr(&self, _key: &[u8], _cpu: u32) -> *mut u8 {
        std::ptr::null_mut()
    }
    /// Program update: `value` is one value, for `cpu`'s slot if per-CPU.
    fn update_prog(&self, _key: &[u8], _value: &[u8], _flags: u64, _cpu: u32) -> Result<()> {
        Err(MapError::NotSupported)
    }
    fn delete_prog(&self, key: &[u8]) -> Result<()> {
        self.delete(key)
    }
    fn push(&self, _value: &[u8], _flags: u64) -> Result<()> {
        Err(MapError::NotSupported)
    }
    fn pop(&self, _out: &mut [u8]) -> Result<()> {
        Err(MapError::NotSupported)
    }
    fn peek(&self, _out: &mut [u8]) -> Result<()> {
        Err(MapError::NotSupported)
    }
    fn batch_ops(&self) -> BatchOps {
        BatchOps::default()
    }
    fn redirect_target(&self, _key: &[u8]) -> Option<RedirectTarget> {
        None
    }
    fn sock_store(&self, _key: &[u8], _cookie: u64, _flags: u64) -> Result<()> {
        Err(MapError::NotSupported)
    }
    fn stack_store(&self, _ips: &[u64], _flags: u64) -> Result<u32> {
        Err(MapError::NotSupported)
    }
    /// Copy out (and delete, if asked) the elements of one hash bucket;
    /// `None` when `bucket` is past the last. Hash families only.
    fn bucket_batch(
        &self,
        _bucket: u32,
        _room: u32,
        _delete: bool,
        _lock: bool,
    ) -> Option<batch::Bucket> {
        None
    }
    fn check(&self) -> Result<CheckReport> {
        Ok(CheckReport::default())
    }
    fn repair(&self) -> Result<CheckReport> {
        self.check()
    }
}

/// A live map. `Send + Sync`: share it with `Arc<Map>`.
pub struct Map {
    spec: MapSpec,
    ncpus: u32,
    ops: Box<dyn MapOps>,
}

impl std::fmt::Debug for Map {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Map")
            .field("spec", &self.spec)
            .field("ncpus", &self.ncpus)
            .finish_non_exhaustive()
    }
}

/// Length of the region a map needs, and its mirrored tail.
fn region_shape(spec: &MapSpec, env: &HeaderEnv) -> Result<(usize, usize)> {
    use MapType as T;
    let body = match spec.map_type {
        T::Array | T::PercpuArray => array::body_len(spec, env.ncpus)?,
        T::ProgArray | T::ArrayOfMaps | T::CgroupArray => fd_array::body_len(spec),
        T::Devmap | T::Cpumap | T::Xskmap | T::Sockmap => target::body_len(spec),
        T::DevmapHash | T::Sockhash => hash::body_len(&target_hash::storage_spec(spec), env.ncpus)?,
        T::StackTrace => stack::body_len(spec)?,
        T::SkStorage | T::TaskStorage | T::InodeStorage | T::CgrpStorage => {
            hash::body_len(&local_storage::storage_spec(spec, env), env.ncpus)?
        }
        T::Hash | T::PercpuHash | T::LruHash | T::LruPercpuHash | T::HashOfMaps => {
            hash::body_len(spec, env.ncpus)?
        }
        T::Queue | T::Stack => queue::body_len(spec)?,
        T::BloomFilter => bloom::body_len(spec),
        T::LpmTrie => lpm::body_len(spec)?,
        T::Ringbuf => return Ok(ringbuf::shape(spec)),
        T::PerfEventArray => perf::body_len(spec, env)?,
        _ => return Err(inval("map type not supported by oxbpf")),
    };
    let len = (HEADER_SIZE as u64)
        .checked_add(body)
        .and_then(|l| l.checked_next_multiple_of(PAGE_SIZE as u64))
        .filter(|&l| l <= 1 << 46)
        .ok_or(MapError::NoMemory { bytes: u64::MAX })?;
    Ok((len as usize, 0))
}

/// Write a fresh region's initial state (free lists and the like).
fn init(spec: &MapSpec, env: &HeaderEnv, r: &Region) {
    use MapType as T;
    match spec.map_type {
        T::Hash | T::PercpuHash | T::LruHash | T::LruPercpuHash | T::HashOfMaps => {
            hash::init(spec, env, r)
        }
        T::LpmTrie => lpm::init(spec, r),
        T::DevmapHash | T::Sockhash => hash::init(&target_hash::storage_spec(spec), env, r),
        T::StackTrace => stack::init(spec, r),
        T::SkStorage | T::TaskStorage | T::InodeStorage | T::CgrpStorage => {
            hash::init(&local_storage::storage_spec(spec, env), env, r)
        }
        _ => {}
    }
}

/// Wrap a region (already initialised) in its family's operations.
fn build(spec: &MapSpec, env: HeaderEnv, region: Region) -> Box<dyn MapOps> {
    use MapType as T;
    match spec.map_type {
        T::Array | T::PercpuArray => Box::new(array::ArrayMap::new(spec, env, region)),
        T::ProgArray | T::ArrayOfMaps | T::CgroupArray => {
            Box::new(fd_array::FdArray::new(spec, region))
        }
        T::Devmap | T::Cpumap | T::Xskmap | T::Sockmap => {
            Box::new(target::TargetArray::new(spec, env.ncpus, region))
        }
        T::DevmapHash | T::Sockhash => Box::new(target_hash::TargetHash::new(spec, env, region)),
        T::StackTrace => Box::new(stack::StackMap::new(spec, region)),
        T::SkStorage | T::TaskStorage | T::InodeStorage | T::CgrpStorage => {
            Box::new(local_storage::LocalStorage::new(spec, env, region))
        }
        T::Hash | T::PercpuHash | T::LruHash | T::LruPercpuHash | T::HashOfMaps => {
            Box::new(hash::HashMap::new(spec, env, region))
        }
        T::Queue | T::Stack => Box::new(queue::QueueMap::new(spec, region)),
        T::BloomFilter => Box::new(bloom::Bloom::new(spec, env, region)),
        T::LpmTrie => Box::new(lpm::LpmTrie::new(spec, region)),
        T::Ringbuf => Box::new(RingBuf::new(spec, region)),
        T::PerfEventArray => Box::new(PerfEventArray::new(spec, env, region)),
        _ => unreachable!("validated by MapSpec::validate"),
    }
}

impl Map {
    /// Create a map (`BPF_MAP_CREATE`). With [`Backing::File`] the map
    /// appears at that path fully initialised, or not at all (`EEXIST` if
    /// the path exists).
    pub fn create(spec: MapSpec, opts: &MapOptions) -> Result<Map> {
        opts.validate()?;
        spec.validate()?;
        let env = HeaderEnv {
            ncpus: opts.ncpus,
            perf_pages: opts.perf_buffer_pages,
            storage_owners: opts.storage_owners,
            seed: header::new_seed(spec.flags & uapi::map::create_flags::BPF_F_ZERO_SEED != 0),
        };
        let (len, mirror) = region_shape(&spec, &env)?;
        let mut region = match &opts.backing {
            Backing::Anonymous => Region::anonymous(len, mirror)?,
            Backing::File(path) => Region::create_file(path, len, mirror)?,
        };
        header::write(&region, &spec, env);
        init(&spec, &env, &region);
        header::seal(&region);
        region.publish()?;
        let ops = build(&spec, env, region);
        Ok(Map {
            spec,
            ncpus: env.ncpus,
            ops,
        })
    }

    /// Open a file-backed map that this or another process created: both
    /// handles then see and change the same map.
    pub fn open(path: &Path) -> Result<Map> {
        let mut raw = [0u8; HEADER_SIZE];
        Region::peek_file(path, 0, &mut raw)?;
        let shown = path.display().to_string();
        let (spec, env, len) = header::parse(&raw, &shown)?;
        let bad = |reason| MapError::BadImage {
            path: shown.clone(),
            reason,
        };
        spec.validate().map_err(|_| bad("stored spec is invalid"))?;
        MapOptions {
            ncpus: env.ncpus,
            perf_buffer_pages: env.perf_pages,
            storage_owners: env.storage_owners,
            backing: Backing::Anonymous,
        }
        .validate()
        .map_err(|_| bad("stored environment is invalid"))?;
        let (want, mirror) = region_shape(&spec, &env)?;
        if want as u64 != len {
            return Err(bad("size does not match the spec"));
        }
        let region = Region::open_file(path, mirror)?;
        if region.len() != want {
            return Err(bad("file size does not match the spec"));
        }
        let ops = build(&spec, env, region);
        Ok(Map {
            spec,
            ncpus: env.ncpus,
            ops,
        })
    }

    /// The spec the map was created with.
    pub fn spec(&self) -> &MapSpec {
        &self.spec
    }

    /// The map type.
    pub fn map_type(&self) -> MapType {
        self.spec.map_type
    }

    /// Number of per-CPU slots (workers).
    pub fn ncpus(&self) -> u32 {
        self.ncpus
    }

    /// Where an array map's values are (see [`ArrayLayout`]); `None` for
    /// other types.
    pub fn array_layout(&self) -> Option<ArrayLayout> {
        self.ops
            .as_any()
            .downcast_ref::<array::ArrayMap>()
            .map(array::ArrayMap::layout)
    }

    /// The memory the map lives in.
    pub fn region(&self) -> &Region {
        self.ops.region()
    }

    /// Bytes of a value on the syscall side (all CPUs' slots if per-CPU).
    pub fn syscall_value_size(&self) -> usize {
        self.spec.syscall_value_size(self.ncpus)
    }

    /// Whether [`Map::freeze`] was called (by any process).
    pub fn is_frozen(&self) -> bool {
        header::frozen(self.region()).load(Ordering::Acquire) != 0
    }

    fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.len() != self.spec.key_size as usize {
            return Err(inval("key length differs from key_size"));
        }
        Ok(())
    }

    fn can_read(&self) -> Result<()> {
        if self.spec.flags & BPF_F_WRONLY != 0 {
            return Err(MapError::NotPermitted {
                reason: "map is write-only for the syscall side",
            });
        }
        Ok(())
    }

    fn can_write(&self) -> Result<()> {
        if self.spec.flags & BPF_F_RDONLY != 0 {
            return Err(MapError::NotPermitted {
                reason: "map is read-only for the syscall side",
            });
        }
        if self.is_frozen() {
            return Err(MapError::NotPermitted {
                reason: "map is frozen",
            });
        }
        Ok(())
    }

    /// `BPF_F_LOCK` is the only flag of lookups, and needs a spin lock.
    fn lock_flag(&self, flags: u64) -> Result<bool> {
        if flags & !BPF_F_LOCK != 0 {
            return Err(inval("unknown flag"));
        }
        let lock = flags & BPF_F_LOCK != 0;
        if lock && self.spec.spin_lock_off.is_none() {
            return Err(inval("BPF_F_LOCK on a value without bpf_spin_lock"));
        }
        Ok(lock)
    }

    /// `BPF_MAP_LOOKUP_ELEM`.
    pub fn lookup(&self, key: &[u8]) -> Result<Vec<u8>> {
        self.lookup_with_flags(key, 0)
    }

    /// `BPF_MAP_LOOKUP_ELEM` with flags (`BPF_F_LOCK`).
    pub fn lookup_with_flags(&self, key: &[u8], flags: u64) -> Result<Vec<u8>> {
        self.can_read()?;
        self.check_key(key)?;
        let lock = self.lock_flag(flags)?;
        let mut out = vec![0u8; self.syscall_value_size()];
        self.ops.lookup(key, &mut out, lock)?;
        Ok(out)
    }

    /// `BPF_MAP_UPDATE_ELEM` (`BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, with
    /// `BPF_F_LOCK`). For queue, stack and bloom filter the key is empty and
    /// this pushes.
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        self.can_write()?;
        self.check_key(key)?;
        if flags & BPF_F_LOCK != 0 && self.spec.spin_lock_off.is_none() {
            return Err(inval("BPF_F_LOCK on a value without bpf_spin_lock"));
        }
        if value.len() != self.syscall_value_size() {
            return Err(inval("value length differs from the map's value size"));
        }
        self.ops.update(key, value, flags)
    }

    /// `BPF_MAP_DELETE_ELEM`.
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        self.can_write()?;
        self.check_key(key)?;
        self.ops.delete(key)
    }

    /// `BPF_MAP_GET_NEXT_KEY`: `None` (or, for hashes, a missing key) gives
    /// the first key; the last key gives `ENOENT`.
    pub fn get_next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>> {
        self.can_read()?;
        if let Some(k) = key {
            self.check_key(k)?;
        }
        let mut next = vec![0u8; self.spec.key_size as usize];
        self.ops.get_next_key(key, &mut next)?;
        Ok(next)
    }

    /// All keys, in `get_next_key` order (a convenience for tools and tests).
    pub fn keys(&self) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut cur: Option<Vec<u8>> = None;
        loop {
            match self.get_next_key(cur.as_deref()) {
                Ok(k) => {
                    out.push(k.clone());
                    cur = Some(k);
                }
                Err(MapError::NotFound) => return Ok(out),
                Err(e) => return Err(e),
            }
            if out.len() > self.spec.max_entries as usize + 1 {
                return Ok(out);
            }
        }
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_ELEM`: pop for queue/stack (empty key),
    /// look up and delete for hashes.
    pub fn lookup_and_delete(&self, key: &[u8], flags: u64) -> Result<Vec<u8>> {
        self.can_write()?;
        self.check_key(key)?;
        let mut out = vec![0u8; self.syscall_value_size()];
        self.ops.lookup_and_delete(key, &mut out, flags)?;
        Ok(out)
    }

    /// `BPF_MAP_FREEZE`: the syscall side may no longer write; programs may.
    pub fn freeze(&self) -> Result<()> {
        if self.spec.spin_lock_off.is_some() {
            return Err(MapError::NotSupported);
        }
        self.can_write()?;
        if header::frozen(self.region())
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(MapError::NotPermitted {
                reason: "map is frozen",
            });
        }
        Ok(())
    }

    /// Push onto a queue or stack, add to a bloom filter (syscall side).
    pub fn push(&self, value: &[u8], flags: u64) -> Result<()> {
        self.update(&[], value, flags)
    }

    /// Pop from a queue or stack (syscall side).
    pub fn pop(&self) -> Result<Vec<u8>> {
        self.lookup_and_delete(&[], 0)
    }

    /// Peek a queue or stack; query a bloom filter with `value` (syscall
    /// side, `value` ignored for queue and stack).
    pub fn peek(&self) -> Result<Vec<u8>> {
        self.lookup(&[])
    }

    /// `BPF_MAP_LOOKUP_ELEM` on a bloom filter, whose value buffer is the
    /// query: `Ok` = maybe present, `ENOENT` = certainly absent.
    pub fn bloom_contains(&self, value: &[u8]) -> Result<()> {
        self.can_read()?;
        if self.spec.map_type != MapType::BloomFilter {
            return Err(MapError::NotSupported);
        }
        if value.len() != self.spec.value_size as usize {
            return Err(inval("value length differs from value_size"));
        }
        self.ops.peek(&mut value.to_vec())
    }

    // ---- program side -------------------------------------------------

    /// `bpf_map_lookup_elem` / `bpf_map_lookup_percpu_elem`: the address of
    /// the value (of `cpu`'s slot, for per-CPU maps), or null. The address
    /// stays valid while the map lives; after a delete it may be reused for
    /// another element, exactly as in the kernel's preallocated maps.
    ///
    /// `cpu` matters only for per-CPU maps (a plain map has one value for
    /// every worker, which lets engines inline array lookups without
    /// reading the worker).
    #[inline]
    pub fn lookup_ptr(&self, key: &[u8], cpu: u32) -> *mut u8 {
        if key.len() != self.spec.key_size as usize
            || (cpu >= self.ncpus && self.spec.map_type.is_percpu())
        {
            return std::ptr::null_mut();
        }
        self.ops.lookup_ptr(key, cpu)
    }

    /// `bpf_map_update_elem` from a program running on worker `cpu`: one
    /// value, into `cpu`'s slot for per-CPU maps. Frozen maps stay writable.
    pub fn update_from_prog(&self, key: &[u8], value: &[u8], flags: u64, cpu: u32) -> Result<()> {
        self.check_key(key)?;
        if value.len() != self.spec.value_size as usize {
            return Err(inval("value length differs from value_size"));
        }
        if cpu >= self.ncpus {
            return Err(inval("cpu beyond the number of workers"));
        }
        if flags & BPF_F_LOCK != 0 && self.spec.spin_lock_off.is_none() {
            return Err(inval("BPF_F_LOCK on a value without bpf_spin_lock"));
        }
        self.ops.update_prog(key, value, flags, cpu)
    }

    /// `bpf_map_delete_elem` from a program.
    pub fn delete_from_prog(&self, key: &[u8]) -> Result<()> {
        self.check_key(key)?;
        self.ops.delete_prog(key)
    }

    /// `bpf_map_push_elem` (queue, stack, bloom filter).
    pub fn push_from_prog(&self, value: &[u8], flags: u64) -> Result<()> {
        if value.len() != self.spec.value_size as usize {
            return Err(inval("value length differs from value_size"));
        }
        self.ops.push(value, flags)
    }

    /// `bpf_map_pop_elem` into `out` (`value_size` bytes).
    pub fn pop_from_prog(&self, out: &mut [u8]) -> Result<()> {
        if out.len() != self.spec.value_size as usize {
            return Err(inval("buffer length differs from value_size"));
        }
        self.ops.pop(out)
    }

    /// `bpf_map_peek_elem`: for queue/stack, copies the head into `out`; for
    /// a bloom filter, `out` holds the value to test (`ENOENT`: absent).
    pub fn peek_from_prog(&self, out: &mut [u8]) -> Result<()> {
        if out.len() != self.spec.value_size as usize {
            return Err(inval("buffer length differs from value_size"));
        }
        self.ops.peek(out)
    }

    /// The ring buffer, if this is a `ringbuf` map.
    pub fn ringbuf(&self) -> Option<&RingBuf> {
        self.ops.as_any().downcast_ref()
    }

    /// The per-owner values, if this is a local storage map (`sk_storage`,
    /// `task_storage`, `inode_storage`, `cgrp_storage`): what the
    /// `bpf_*_storage_get`/`delete` helpers use.
    pub fn local_storage(&self) -> Option<&LocalStorage> {
        self.ops.as_any().downcast_ref()
    }

    /// The perf buffers, if this is a `perf_event_array` map.
    pub fn perf(&self) -> Option<&PerfEventArray> {
        self.ops.as_any().downcast_ref()
    }

    /// For `prog_array`: the program id at `index` (a tail call's target).
    /// For `array_of_maps`: the inner map id. `None` when empty.
    pub fn fd_array_get(&self, index: u32) -> Option<u32> {
        self.ops
            .as_any()
            .downcast_ref::<fd_array::FdArray>()
            .and_then(|a| a.get(index))
    }

    /// For the maps programs redirect through — devmap, devmap_hash, cpumap,
    /// xskmap, sockmap, sockhash — and cgroup_array: what `key` points at,
    /// `None` when the entry is empty (the helper then fails or takes its
    /// default action, as `bpf_redirect_map`'s low flag bits say). Lock-free
    /// for the array types; for the hashed ones, a short bucket lock.
    pub fn redirect_target(&self, key: &[u8]) -> Option<RedirectTarget> {
        if key.len() != self.spec.key_size as usize {
            return None;
        }
        self.ops.redirect_target(key)
    }

    /// Every non-empty entry of a redirect map, in `get_next_key` order:
    /// the targets of `bpf_redirect_map(..., BPF_F_BROADCAST)`.
    pub fn redirect_targets(&self) -> Vec<(Vec<u8>, RedirectTarget)> {
        self.keys()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|k| self.ops.redirect_target(&k).map(|t| (k, t)))
            .collect()
    }

    /// Syscall-side update of a sockmap/sockhash with a socket cookie the
    /// caller resolved (e.g. with `getsockopt(SO_COOKIE)` on the fd it was
    /// given), so that lookups return what the kernel's would. The checks
    /// and errno are `BPF_MAP_UPDATE_ELEM`'s. [`Map::update`] instead takes
    /// the kernel ABI value (a socket fd) and stores that number.
    pub fn sock_update(&self, key: &[u8], cookie: u64, flags: u64) -> Result<()> {
        self.can_write()?;
        self.check_key(key)?;
        self.ops.sock_store(key, cookie, flags)
    }

    /// `bpf_sock_map_update`/`bpf_sock_hash_update` (and
    /// `bpf_map_update_elem` with a socket) from a program: store the
    /// socket's cookie. Frozen maps stay writable.
    pub fn sock_update_from_prog(&self, key: &[u8], cookie: u64, flags: u64) -> Result<()> {
        self.check_key(key)?;
        self.ops.sock_store(key, cookie, flags)
    }

    /// `bpf_get_stackid` on a `stack_trace` map: `ips` is the call chain the
    /// helper captured (innermost frame first, *before* skipping); `flags`
    /// are the helper's (skip count in the low 8 bits, `BPF_F_USER_STACK`,
    /// `BPF_F_FAST_STACK_CMP`, `BPF_F_REUSE_STACKID`). Returns the stack id,
    /// or the helper's errno: `EINVAL` (flags), `EFAULT` (nothing left
    /// after skipping), `EEXIST` (another stack holds the id), `ENOMEM`
    /// (no free element).
    pub fn stack_store(&self, ips: &[u64], flags: u64) -> Result<u32> {
        self.ops.stack_store(ips, flags)
    }

    /// For `array_of_maps` and `hash_of_maps`: the inner map id under `key`.
    pub fn inner_map_id(&self, key: &[u8]) -> Option<u32> {
        match self.spec.map_type {
            MapType::ArrayOfMaps => {
                let idx = u32::from_ne_bytes(key.try_into().ok()?);
                self.fd_array_get(idx)
            }
            MapType::HashOfMaps => {
                let p = self.lookup_ptr(key, 0);
                if p.is_null() {
                    return None;
                }
                // SAFETY: a hash_of_maps value is a 4-byte id, 8-aligned.
                Some(
                    unsafe { std::sync::atomic::AtomicU32::from_ptr(p.cast()) }
                        .load(Ordering::Acquire),
                )
            }
            _ => None,
        }
    }

    /// Walk the map's structure and count live, free and leaked elements.
    /// Safe to run while others use the map (the counts are then a snapshot).
    pub fn check(&self) -> Result<CheckReport> {
        self.ops.check()
    }

    /// Give leaked elements back to the free list and recount. Only correct
    /// while no other thread or process uses the map (after a crash, before
    /// the survivors resume).
    pub fn repair(&self) -> Result<CheckReport> {
        self.ops.repair()
    }
}

/// Read a native-endian u32 key (array index).
pub(crate) fn index_of(key: &[u8]) -> u32 {
    u32::from_ne_bytes(key.try_into().expect("key_size checked to be 4"))
}

//! `MapSpec`: the plain description of a map, and its validation, which
//! mirrors `BPF_MAP_CREATE` (`map_create()` and each type's `map_alloc_check`)
//! so that a spec the kernel rejects is rejected here with the same errno.
//!
//! The errno of every rule below was checked against Linux 6.18 (see
//! `tests/kernel_cases.rs` for the list).

use std::path::PathBuf;

use uapi::map::create_flags::*;
use uapi::MapType;

use crate::error::{inval, MapError, Result};

/// `KMALLOC_MAX_SIZE` on x86-64 (order-10 pages): the kernel's bound for
/// queue, bloom and hash element sizes.
pub const KMALLOC_MAX_SIZE: u64 = 1 << 22;
/// `PCPU_MIN_UNIT_SIZE`: the bound of one per-CPU value.
pub const PCPU_MIN_UNIT_SIZE: u32 = 32 << 10;
/// `LPM_DATA_SIZE_MAX`: the longest LPM key data, in bytes.
pub const LPM_DATA_SIZE_MAX: u32 = 256;
/// `sizeof(struct htab_elem)` on x86-64, used in the kernel's size bound.
const HTAB_ELEM_SIZE: u64 = 48;
/// `sizeof(struct lpm_trie_node)` on x86-64, used in the kernel's size bound.
const LPM_NODE_SIZE: u64 = 40;
/// The page size the ring buffer sizes must be a multiple of.
pub const PAGE_SIZE: u32 = 4096;

const ACCESS_MASK: u32 = BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
const ARRAY_FLAGS: u32 =
    BPF_F_NUMA_NODE | BPF_F_MMAPABLE | ACCESS_MASK | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;
const HTAB_FLAGS: u32 =
    BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | ACCESS_MASK | BPF_F_ZERO_SEED;
const QUEUE_FLAGS: u32 = BPF_F_NUMA_NODE | ACCESS_MASK;
const BLOOM_FLAGS: u32 = BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | ACCESS_MASK;
const LPM_FLAGS: u32 = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | ACCESS_MASK;
const RINGBUF_FLAGS: u32 = BPF_F_NUMA_NODE;
/// devmap, devmap_hash, xskmap, sockmap, sockhash (`DEV_CREATE_FLAG_MASK`,
/// `SOCK_CREATE_FLAG_MASK`).
const TARGET_FLAGS: u32 = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;
const STACK_FLAGS: u32 = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_STACK_BUILD_ID;
/// `BPF_LOCAL_STORAGE_CREATE_FLAG_MASK`.
const LOCAL_STORAGE_FLAGS: u32 = BPF_F_NO_PREALLOC | BPF_F_CLONE;
/// `BPF_LOCAL_STORAGE_MAX_VALUE_SIZE`: `U16_MAX` less the kernel's
/// 128-byte (cache-line aligned) `struct bpf_local_storage_elem`.
pub const LOCAL_STORAGE_MAX_VALUE_SIZE: u32 = u16::MAX as u32 - 128;

/// The largest cpumap (`max_entries > NR_CPUS` is `E2BIG`). The kernel's
/// bound is its `CONFIG_NR_CPUS` (256 on the reference kernel, 8192 on many
/// distributions); ours is the largest number of workers
/// ([`MapOptions::ncpus`]), so that every worker can be a target.
pub const CPUMAP_MAX_ENTRIES: u32 = 4096;
/// `sysctl_perf_event_max_stack`'s default: the deepest stack a
/// `stack_trace` value may hold.
pub const PERF_EVENT_MAX_STACK: u32 = 127;
/// `sizeof(struct bpf_stack_build_id)`: one frame of a
/// `BPF_F_STACK_BUILD_ID` stack.
pub const STACK_BUILD_ID_SIZE: u32 = 32;
/// `MAX_BPF_STACK`: the longest sockhash key.
pub const MAX_BPF_STACK: u32 = 512;

/// What `BPF_MAP_CREATE` is told: type, sizes, flags, name, and the BTF facts
/// the loader found (ids, and where the value's `struct bpf_spin_lock` is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSpec {
    pub map_type: MapType,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// `map_flags` (`BPF_F_*` of `create_flags`).
    pub flags: u32,
    /// The object name (at most 15 bytes are kept, as `BPF_OBJ_NAME_LEN`).
    pub name: String,
    /// `map_extra`: the number of hash functions of a bloom filter.
    pub map_extra: u64,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    /// Byte offset of the `struct bpf_spin_lock` inside the value, from BTF.
    pub spin_lock_off: Option<u32>,
    /// For `array_of_maps`/`hash_of_maps`: the inner map template (the
    /// kernel's `inner_map_fd`). The registry checks inner maps against it
    /// with [`MapSpec::accepts_inner`].
    pub inner_map: Option<Box<MapSpec>>,
}

impl MapSpec {
    /// A spec with no flags, no name and no BTF.
    pub fn new(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> Self {
        MapSpec {
            map_type,
            key_size,
            value_size,
            max_entries,
            flags: 0,
            name: String::new(),
            map_extra: 0,
            btf_key_type_id: 0,
            btf_value_type_id: 0,
            spin_lock_off: None,
            inner_map: None,
        }
    }

    /// Builder: set `map_flags`.
    pub fn with_flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }

    /// Builder: set the name.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// Builder: set `map_extra`.
    pub fn with_map_extra(mut self, map_extra: u64) -> Self {
        self.map_extra = map_extra;
        self
    }

    /// Builder: the value holds a `struct bpf_spin_lock` at `off`.
    pub fn with_spin_lock(mut self, off: u32) -> Self {
        self.spin_lock_off = Some(off);
        self
    }

    /// Builder: the inner map template of a map-in-map.
    pub fn with_inner(mut self, inner: MapSpec) -> Self {
        self.inner_map = Some(Box::new(inner));
        self
    }

    /// Whether `inner` may be stored in this map-in-map, as the kernel's
    /// `bpf_map_meta_equal`: same type, sizes and flags, and the same
    /// `max_entries` unless the template was created with `BPF_F_INNER_MAP`.
    pub fn accepts_inner(&self, inner: &MapSpec) -> bool {
        let Some(t) = &self.inner_map else {
            return false;
        };
        t.map_type == inner.map_type
            && t.key_size == inner.key_size
            && t.value_size == inner.value_size
            && t.flags == inner.flags
            && (t.flags & BPF_F_INNER_MAP != 0 || t.max_entries == inner.max_entries)
    }

    /// Size in bytes of one value slot: `value_size` rounded up to 8, so
    /// that every slot is 8-aligned for programs' atomic instructions.
    pub fn value_slot(&self) -> usize {
        round8(self.value_size as usize)
    }

    /// Bytes the syscall side exchanges for one value: one 8-rounded slot per
    /// CPU for per-CPU maps (as the kernel's `bpf_map_value_size`).
    pub fn syscall_value_size(&self, ncpus: u32) -> usize {
        if self.map_type.is_percpu() {
            self.value_slot() * ncpus as usize
        } else {
            self.value_size as usize
        }
    }

    /// Check the spec as `BPF_MAP_CREATE` does.
    pub fn validate(&self) -> Result<()> {
        let f = self.flags;
        if f & BPF_F_RDONLY != 0 && f & BPF_F_WRONLY != 0 {
            return Err(inval("BPF_F_RDONLY and BPF_F_WRONLY together"));
        }
        if f & BPF_F_RDONLY_PROG != 0 && f & BPF_F_WRONLY_PROG != 0 {
            return Err(inval("BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together"));
        }
        if self.map_extra != 0 && self.map_type != MapType::BloomFilter {
            return Err(inval("map_extra is only for bloom filters"));
        }
        if self.inner_map.is_some()
            && !matches!(self.map_type, MapType::ArrayOfMaps | MapType::HashOfMaps)
        {
            return Err(inval("inner map template on a map that holds no maps"));
        }
        self.validate_type()?;
        self.validate_spin_lock()
    }

    fn validate_type(&self) -> Result<()> {
        use MapType as T;
        match self.map_type {
            T::Array | T::PercpuArray => self.check_array(),
            T::ProgArray | T::PerfEventArray | T::ArrayOfMaps => self.check_fd_array(),
            T::Hash | T::PercpuHash | T::LruHash | T::LruPercpuHash => self.check_hash(),
            T::HashOfMaps => {
                if self.value_size != 4 {
                    return Err(inval("hash_of_maps values are 4-byte map ids"));
                }
                self.check_hash()?;
                self.check_inner()
            }
            T::Queue | T::Stack => self.check_queue(),
            T::BloomFilter => self.check_bloom(),
            T::LpmTrie => self.check_lpm(),
            T::Ringbuf => self.check_ringbuf(),
            T::CgroupArray => self.check_fd_array(),
            T::Devmap | T::DevmapHash | T::Cpumap => self.check_redirect(),
            T::Xskmap => self.check_xsk(),
            T::Sockmap | T::Sockhash => self.check_sock(),
            T::StackTrace => self.check_stack_trace(),
            T::SkStorage | T::TaskStorage | T::InodeStorage | T::CgrpStorage => {
                self.check_local_storage()
            }
            _ => Err(inval("map type not supported by oxbpf")),
        }
    }

    fn check_array(&self) -> Result<()> {
        let percpu = self.map_type.is_percpu();
        if self.max_entries == 0 || self.key_size != 4 || self.value_size == 0 {
            return Err(inval(
                "array needs key_size 4, value_size > 0, max_entries > 0",
            ));
        }
        if self.flags & !ARRAY_FLAGS != 0 {
            return Err(inval("flag not allowed for array"));
        }
        if self.flags & BPF_F_PRESERVE_ELEMS != 0 && self.map_type != MapType::PerfEventArray {
            return Err(inval("BPF_F_PRESERVE_ELEMS is for perf_event_array"));
        }
        if percpu && self.flags & BPF_F_MMAPABLE != 0 {
            return Err(inval("per-CPU arrays cannot be mmapable"));
        }
        if percpu && self.value_slot() > PCPU_MIN_UNIT_SIZE as usize {
            return Err(MapError::TooBig {
                reason: "per-CPU value larger than PCPU_MIN_UNIT_SIZE",
            });
        }
        if self.value_size > i32::MAX as u32 {
            return Err(MapError::TooBig {
                reason: "value_size above INT_MAX",
            });
        }
        Ok(())
    }

    fn check_fd_array(&self) -> Result<()> {
        if self.value_size != 4 {
            return Err(inval("fd arrays hold 4-byte values"));
        }
        if self.flags & BPF_F_MMAPABLE != 0 {
            return Err(inval("fd arrays cannot be mmapable"));
        }
        self.check_array()?;
        if self.map_type == MapType::ArrayOfMaps {
            self.check_inner()?;
        }
        Ok(())
    }

    fn check_inner(&self) -> Result<()> {
        match &self.inner_map {
            None => Err(inval("map-in-map needs an inner map template")),
            Some(inner) => {
                if matches!(
                    inner.map_type,
                    MapType::ArrayOfMaps | MapType::HashOfMaps | MapType::ProgArray
                ) {
                    return Err(inval("inner map cannot hold maps or programs"));
                }
                inner.validate()
            }
        }
    }

    fn check_hash(&self) -> Result<()> {
        let lru = matches!(self.map_type, MapType::LruHash | MapType::LruPercpuHash);
        if self.flags & !HTAB_FLAGS != 0 {
            return Err(inval("flag not allowed for hash"));
        }
        if lru && self.flags & BPF_F_NO_PREALLOC != 0 {
            return Err(MapError::NotSupported);
        }
        if !lru && self.flags & BPF_F_NO_COMMON_LRU != 0 {
            return Err(inval("BPF_F_NO_COMMON_LRU without an LRU map"));
        }
        if self.max_entries == 0 || self.key_size == 0 || self.value_size == 0 {
            return Err(inval(
                "hash needs non-zero key_size, value_size, max_entries",
            ));
        }
        if u64::from(self.key_size) + u64::from(self.value_size)
            >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE
        {
            return Err(MapError::TooBig {
                reason: "key_size + value_size above KMALLOC_MAX_SIZE",
            });
        }
        if self.map_type.is_percpu() && self.value_slot() > PCPU_MIN_UNIT_SIZE as usize {
            return Err(MapError::TooBig {
                reason: "per-CPU value larger than PCPU_MIN_UNIT_SIZE",
            });
        }
        Ok(())
    }

    fn check_queue(&self) -> Result<()> {
        if self.max_entries == 0 || self.key_size != 0 || self.value_size == 0 {
            return Err(inval("queue/stack needs key_size 0, value_size > 0"));
        }
        if self.flags & !QUEUE_FLAGS != 0 {
            return Err(inval("flag not allowed for queue/stack"));
        }
        if u64::from(self.value_size) > KMALLOC_MAX_SIZE {
            return Err(MapError::TooBig {
                reason: "value_size above KMALLOC_MAX_SIZE",
            });
        }
        Ok(())
    }

    fn check_bloom(&self) -> Result<()> {
        if self.key_size != 0 || self.value_size == 0 || self.max_entries == 0 {
            return Err(inval("bloom filter needs key_size 0, value_size > 0"));
        }
        if self.flags & !BLOOM_FLAGS != 0 {
            return Err(inval("flag not allowed for bloom filter"));
        }
        if self.map_extra & !0xf != 0 {
            return Err(inval("bloom map_extra holds only nr_hash_funcs (4 bits)"));
        }
        if u64::from(self.value_size) > KMALLOC_MAX_SIZE {
            return Err(MapError::TooBig {
                reason: "value_size above KMALLOC_MAX_SIZE",
            });
        }
        Ok(())
    }

    fn check_lpm(&self) -> Result<()> {
        if self.max_entries == 0
            || self.flags & !LPM_FLAGS != 0
            || self.flags & BPF_F_NO_PREALLOC == 0
            || self.key_size <= 4
            || self.key_size > 4 + LPM_DATA_SIZE_MAX
            || self.value_size == 0
            || u64::from(self.value_size)
                > KMALLOC_MAX_SIZE - u64::from(LPM_DATA_SIZE_MAX) - LPM_NODE_SIZE
        {
            return Err(inval(
                "lpm_trie needs BPF_F_NO_PREALLOC, key_size 5..=260, value_size > 0",
            ));
        }
        Ok(())
    }

    /// devmap, devmap_hash (`dev_map_alloc_check`) and cpumap
    /// (`cpu_map_alloc`): an `u32` key, a value of 4 bytes (ifindex / qsize)
    /// or 8 (plus a program).
    fn check_redirect(&self) -> Result<()> {
        let cpumap = self.map_type == MapType::Cpumap;
        let allowed = if cpumap {
            BPF_F_NUMA_NODE
        } else {
            TARGET_FLAGS
        };
        if self.max_entries == 0
            || self.key_size != 4
            || !matches!(self.value_size, 4 | 8)
            || self.flags & !allowed != 0
        {
            return Err(inval(
                "devmap/cpumap needs key_size 4, value_size 4 or 8, max_entries > 0",
            ));
        }
        if self.map_type == MapType::DevmapHash && self.max_entries > 1 << 31 {
            return Err(inval("devmap_hash max_entries above 2^31"));
        }
        if cpumap && self.max_entries > CPUMAP_MAX_ENTRIES {
            return Err(MapError::TooBig {
                reason: "cpumap max_entries above NR_CPUS",
            });
        }
        Ok(())
    }

    fn check_xsk(&self) -> Result<()> {
        if self.max_entries == 0
            || self.key_size != 4
            || self.value_size != 4
            || self.flags & !TARGET_FLAGS != 0
        {
            return Err(inval("xskmap needs key_size 4, value_size 4"));
        }
        Ok(())
    }

    /// sockmap and sockhash (`sock_map_alloc`, `sock_hash_alloc`).
    fn check_sock(&self) -> Result<()> {
        let hash = self.map_type == MapType::Sockhash;
        let key_ok = if hash {
            self.key_size != 0
        } else {
            self.key_size == 4
        };
        if self.max_entries == 0
            || !key_ok
            || !matches!(self.value_size, 4 | 8)
            || self.flags & !TARGET_FLAGS != 0
        {
            return Err(inval("sockmap/sockhash needs value_size 4 or 8"));
        }
        if hash && self.key_size > MAX_BPF_STACK {
            return Err(MapError::TooBig {
                reason: "sockhash key_size above MAX_BPF_STACK",
            });
        }
        // The kernel's bucket array (16-byte buckets) must stay below 4 GiB.
        if hash && u64::from(self.max_entries).next_power_of_two() > u64::from(u32::MAX / 16) {
            return Err(inval("sockhash max_entries too large"));
        }
        Ok(())
    }

    /// `stack_map_alloc`: values are whole frames (8-byte addresses, or
    /// 32-byte `bpf_stack_build_id`s), at most `perf_event_max_stack`.
    fn check_stack_trace(&self) -> Result<()> {
        if self.flags & !STACK_FLAGS != 0 {
            return Err(inval("flag not allowed for stack_trace"));
        }
        if self.max_entries == 0
            || self.key_size != 4
            || self.value_size < 8
            || !self.value_size.is_multiple_of(8)
        {
            return Err(inval(
                "stack_trace needs key_size 4 and value_size a multiple of 8",
            ));
        }
        let frame = self.stack_frame_size();
        if !self.value_size.is_multiple_of(frame) || self.value_size / frame > PERF_EVENT_MAX_STACK
        {
            return Err(inval(
                "stack_trace value holds more frames than perf_event_max_stack",
            ));
        }
        if self.max_entries > 1 << 31 {
            return Err(MapError::TooBig {
                reason: "stack_trace max_entries above 2^31",
            });
        }
        Ok(())
    }

    /// `bpf_local_storage_map_alloc_check`: no entries (storage grows with
    /// its owners), `BPF_F_NO_PREALLOC`, an `int` (fd) key, and BTF for
    /// key and value (the kernel dumps values with it).
    fn check_local_storage(&self) -> Result<()> {
        if self.flags & !LOCAL_STORAGE_FLAGS != 0
            || self.flags & BPF_F_NO_PREALLOC == 0
            || self.max_entries != 0
            || self.key_size != 4
            || self.value_size == 0
            || self.btf_key_type_id == 0
            || self.btf_value_type_id == 0
        {
            return Err(inval(
                "local storage needs BPF_F_NO_PREALLOC, max_entries 0, key_size 4, BTF",
            ));
        }
        if self.value_size > LOCAL_STORAGE_MAX_VALUE_SIZE {
            return Err(MapError::TooBig {
                reason: "local storage value above BPF_LOCAL_STORAGE_MAX_VALUE_SIZE",
            });
        }
        Ok(())
    }

    /// Builder: BTF type ids of key and value.
    pub fn with_btf(mut self, key_type_id: u32, value_type_id: u32) -> Self {
        self.btf_key_type_id = key_type_id;
        self.btf_value_type_id = value_type_id;
        self
    }

    /// Bytes of one stack frame in a `stack_trace` value.
    pub(crate) fn stack_frame_size(&self) -> u32 {
        if self.flags & BPF_F_STACK_BUILD_ID != 0 {
            STACK_BUILD_ID_SIZE
        } else {
            8
        }
    }

    fn check_ringbuf(&self) -> Result<()> {
        if self.key_size != 0 || self.value_size != 0 {
            return Err(inval("ringbuf needs key_size 0 and value_size 0"));
        }
        if self.flags & !RINGBUF_FLAGS != 0 {
            return Err(inval("flag not allowed for ringbuf"));
        }
        if !self.max_entries.is_power_of_two() || !self.max_entries.is_multiple_of(PAGE_SIZE) {
            return Err(inval("ringbuf size must be a power of 2 and page-aligned"));
        }
        Ok(())
    }

    fn validate_spin_lock(&self) -> Result<()> {
        let Some(off) = self.spin_lock_off else {
            return Ok(());
        };
        if !matches!(
            self.map_type,
            MapType::Hash
                | MapType::Array
                | MapType::SkStorage
                | MapType::TaskStorage
                | MapType::InodeStorage
                | MapType::CgrpStorage
        ) {
            return Err(MapError::OpNotSupported {
                reason: "bpf_spin_lock only in hash, array and local storage values",
            });
        }
        if off % 4 != 0 || u64::from(off) + 4 > u64::from(self.value_size) {
            return Err(inval("bpf_spin_lock must be 4-aligned inside the value"));
        }
        Ok(())
    }

    /// The name as the kernel keeps it: at most `BPF_OBJ_NAME_LEN - 1` bytes.
    pub(crate) fn name_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        let n = self.name.len().min(15);
        out[..n].copy_from_slice(&self.name.as_bytes()[..n]);
        out
    }
}

/// Where a map's memory lives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Backing {
    /// Private anonymous memory: the map lives as long as its handles.
    #[default]
    Anonymous,
    /// A file mapped shared: every process that opens it sees the same map.
    /// Creation fails with `EEXIST` if the file exists.
    File(PathBuf),
}

/// How to create a map, beyond its spec: the environment of the Runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapOptions {
    /// Number of workers: per-CPU maps hold this many slots and
    /// `perf_event_array` this many record buffers.
    pub ncpus: u32,
    /// Size of each per-CPU perf record buffer, in pages (a power of two),
    /// what `perf_event_open` + `mmap` choose in the kernel.
    pub perf_buffer_pages: u32,
    /// Local storage maps (`sk_storage`, `task_storage`, `inode_storage`,
    /// `cgrp_storage`) have `max_entries` 0 and grow with their owners in
    /// the kernel; ours are preallocated with room for this many owners.
    pub storage_owners: u32,
    pub backing: Backing,
}

impl MapOptions {
    /// Anonymous memory, `ncpus` workers, 8-page perf buffers.
    pub fn new(ncpus: u32) -> Self {
        MapOptions {
            ncpus,
            perf_buffer_pages: 8,
            storage_owners: 1024,
            backing: Backing::Anonymous,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.ncpus == 0 || self.ncpus > 4096 {
            return Err(inval("ncpus must be 1..=4096"));
        }
        if !self.perf_buffer_pages.is_power_of_two() || self.perf_buffer_pages > 1 << 16 {
            return Err(inval("perf_buffer_pages must be a power of two"));
        }
        if self.storage_owners == 0 || self.storage_owners > 1 << 24 {
            return Err(inval("storage_owners must be 1..=2^24"));
        }
        Ok(())
    }
}

/// Round up to a multiple of 8.
pub(crate) const fn round8(n: usize) -> usize {
    (n + 7) & !7
}

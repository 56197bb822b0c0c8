//! Map types (`enum bpf_map_type`) and map flags.
use crate::prog::abi_enum;

abi_enum! {
    /// `enum bpf_map_type`.
    MapType {
        Unspec = 0 => "unspec",
        Hash = 1 => "hash",
        Array = 2 => "array",
        ProgArray = 3 => "prog_array",
        PerfEventArray = 4 => "perf_event_array",
        PercpuHash = 5 => "percpu_hash",
        PercpuArray = 6 => "percpu_array",
        StackTrace = 7 => "stack_trace",
        CgroupArray = 8 => "cgroup_array",
        LruHash = 9 => "lru_hash",
        LruPercpuHash = 10 => "lru_percpu_hash",
        LpmTrie = 11 => "lpm_trie",
        ArrayOfMaps = 12 => "array_of_maps",
        HashOfMaps = 13 => "hash_of_maps",
        Devmap = 14 => "devmap",
        Sockmap = 15 => "sockmap",
        Cpumap = 16 => "cpumap",
        Xskmap = 17 => "xskmap",
        Sockhash = 18 => "sockhash",
        CgroupStorage = 19 => "cgroup_storage",
        ReuseportSockarray = 20 => "reuseport_sockarray",
        PercpuCgroupStorage = 21 => "percpu_cgroup_storage",
        Queue = 22 => "queue",
        Stack = 23 => "stack",
        SkStorage = 24 => "sk_storage",
        DevmapHash = 25 => "devmap_hash",
        StructOps = 26 => "struct_ops",
        Ringbuf = 27 => "ringbuf",
        InodeStorage = 28 => "inode_storage",
        TaskStorage = 29 => "task_storage",
        BloomFilter = 30 => "bloom_filter",
        UserRingbuf = 31 => "user_ringbuf",
        CgrpStorage = 32 => "cgrp_storage",
        Arena = 33 => "arena",
    }
}

impl MapType {
    /// Per-CPU maps hold one value slot per CPU (per worker, in oxbpf).
    pub fn is_percpu(self) -> bool {
        matches!(
            self,
            MapType::PercpuHash
                | MapType::PercpuArray
                | MapType::LruPercpuHash
                | MapType::PercpuCgroupStorage
        )
    }
}

/// Flags of `BPF_MAP_UPDATE_ELEM` and the update helper.
pub mod update_flags {
    /// Create a new element or update an existing one.
    pub const BPF_ANY: u64 = 0;
    /// Create a new element only if it did not exist.
    pub const BPF_NOEXIST: u64 = 1;
    /// Update an existing element.
    pub const BPF_EXIST: u64 = 2;
    /// Take the value's `bpf_spin_lock` while updating.
    pub const BPF_F_LOCK: u64 = 4;
}

/// `map_flags` of `BPF_MAP_CREATE`.
pub mod create_flags {
    pub const BPF_F_NO_PREALLOC: u32 = 1 << 0;
    pub const BPF_F_NO_COMMON_LRU: u32 = 1 << 1;
    pub const BPF_F_NUMA_NODE: u32 = 1 << 2;
    pub const BPF_F_RDONLY: u32 = 1 << 3;
    pub const BPF_F_WRONLY: u32 = 1 << 4;
    pub const BPF_F_STACK_BUILD_ID: u32 = 1 << 5;
    pub const BPF_F_ZERO_SEED: u32 = 1 << 6;
    pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
    pub const BPF_F_WRONLY_PROG: u32 = 1 << 8;
    pub const BPF_F_CLONE: u32 = 1 << 9;
    pub const BPF_F_MMAPABLE: u32 = 1 << 10;
    pub const BPF_F_PRESERVE_ELEMS: u32 = 1 << 11;
    pub const BPF_F_INNER_MAP: u32 = 1 << 12;
}

/// Pinning modes of BTF-defined maps (`LIBBPF_PIN_*`).
pub mod pinning {
    pub const LIBBPF_PIN_NONE: u32 = 0;
    pub const LIBBPF_PIN_BY_NAME: u32 = 1;
}

/// Flags of `bpf_ringbuf_output`/`submit`/`discard`.
pub mod ringbuf_flags {
    pub const BPF_RB_NO_WAKEUP: u64 = 1 << 0;
    pub const BPF_RB_FORCE_WAKEUP: u64 = 1 << 1;
    /// `bpf_ringbuf_query` flags.
    pub const BPF_RB_AVAIL_DATA: u64 = 0;
    pub const BPF_RB_RING_SIZE: u64 = 1;
    pub const BPF_RB_CONS_POS: u64 = 2;
    pub const BPF_RB_PROD_POS: u64 = 3;
    /// Header bits of a ring buffer record.
    pub const BPF_RINGBUF_BUSY_BIT: u32 = 1 << 31;
    pub const BPF_RINGBUF_DISCARD_BIT: u32 = 1 << 30;
    pub const BPF_RINGBUF_HDR_SZ: u32 = 8;
}

/// `BPF_F_CURRENT_CPU` and index mask for `perf_event_output`.
pub const BPF_F_INDEX_MASK: u64 = 0xffff_ffff;
pub const BPF_F_CURRENT_CPU: u64 = BPF_F_INDEX_MASK;

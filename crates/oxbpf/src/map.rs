//! [`Map`]: a map of a [`Runtime`](crate::Runtime), with an id, a name and
//! optional BTF for its key and value, and the syscall-side operations
//! (`bpf(BPF_MAP_*)`) as methods.

use crate::error::{Error, Result};
use crate::runtime::Registry;
use std::sync::{Arc, Weak};

/// A map. Cloning gives another handle to the same map; the map is gone
/// when the last handle, program and pin referring to it are.
#[derive(Clone)]
pub struct Map(pub(crate) Arc<MapInner>);

pub(crate) struct MapInner {
    pub(crate) id: u32,
    pub(crate) name: String,
    pub(crate) map: Arc<maps::Map>,
    pub(crate) btf: Option<Arc<btf::Btf>>,
    pub(crate) registry: Weak<Registry>,
}

impl Drop for MapInner {
    fn drop(&mut self) {
        if let Some(r) = self.registry.upgrade() {
            r.forget_map(self.id);
        }
    }
}

impl std::fmt::Debug for Map {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Map")
            .field("id", &self.0.id)
            .field("name", &self.0.name)
            .field("type", &self.map_type())
            .finish()
    }
}

impl Map {
    /// The runtime-wide id (`bpftool map show id N`).
    pub fn id(&self) -> u32 {
        self.0.id
    }

    /// The name (at most 15 bytes, as the kernel keeps it).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn map_type(&self) -> uapi::MapType {
        self.0.map.map_type()
    }

    /// The creation parameters.
    pub fn spec(&self) -> &maps::MapSpec {
        self.0.map.spec()
    }

    /// The BTF describing key and value, if the map came from an object
    /// with BTF (`spec().btf_key_type_id`/`btf_value_type_id` index it).
    pub fn btf(&self) -> Option<&Arc<btf::Btf>> {
        self.0.btf.as_ref()
    }

    /// The storage: every operation of the maps crate, including the
    /// program-side ones and ring buffer consumers.
    pub fn storage(&self) -> &Arc<maps::Map> {
        &self.0.map
    }

    /// Bytes of a value as the syscall side exchanges it (all workers'
    /// slots for per-CPU maps).
    pub fn value_size(&self) -> usize {
        self.0.map.syscall_value_size()
    }

    fn op<T>(&self, op: &'static str, r: maps::Result<T>) -> Result<T> {
        r.map_err(|source| Error::MapOp {
            op,
            map: self.0.name.clone(),
            id: self.0.id,
            source,
        })
    }

    /// `BPF_MAP_LOOKUP_ELEM`.
    pub fn lookup(&self, key: &[u8]) -> Result<Vec<u8>> {
        self.op("lookup", self.0.map.lookup(key))
    }

    /// `BPF_MAP_LOOKUP_ELEM` with flags (`BPF_F_LOCK`).
    pub fn lookup_with_flags(&self, key: &[u8], flags: u64) -> Result<Vec<u8>> {
        self.op("lookup", self.0.map.lookup_with_flags(key, flags))
    }

    /// `BPF_MAP_UPDATE_ELEM` with `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`,
    /// `BPF_F_LOCK`. For program arrays and maps of maps the value is the
    /// id of the program or map to store.
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        self.op("update", self.0.map.update(key, value, flags))
    }

    /// `BPF_MAP_DELETE_ELEM`.
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        self.op("delete", self.0.map.delete(key))
    }

    /// `BPF_MAP_GET_NEXT_KEY`: the first key for `None` or a missing key.
    pub fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>> {
        self.op("get next key", self.0.map.get_next_key(key))
    }

    /// Every key, in `get_next_key` order.
    pub fn keys(&self) -> Result<Vec<Vec<u8>>> {
        self.op("iterate", self.0.map.keys())
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_ELEM` (queues, stacks, hashes).
    pub fn lookup_and_delete(&self, key: &[u8], flags: u64) -> Result<Vec<u8>> {
        self.op(
            "lookup and delete",
            self.0.map.lookup_and_delete(key, flags),
        )
    }

    /// `BPF_MAP_FREEZE`: no more syscall-side writes.
    pub fn freeze(&self) -> Result<()> {
        self.op("freeze", self.0.map.freeze())
    }

    /// Whether the map is frozen.
    pub fn is_frozen(&self) -> bool {
        self.0.map.is_frozen()
    }

    /// Pushes onto a queue or stack (`BPF_MAP_UPDATE_ELEM` with no key).
    pub fn push(&self, value: &[u8], flags: u64) -> Result<()> {
        self.op("push", self.0.map.push(value, flags))
    }

    /// Pops from a queue or stack.
    pub fn pop(&self) -> Result<Vec<u8>> {
        self.op("pop", self.0.map.pop())
    }

    /// Reads the head of a queue or stack.
    pub fn peek(&self) -> Result<Vec<u8>> {
        self.op("peek", self.0.map.peek())
    }

    /// The address programs use for this map (`lddw rX, map`).
    pub(crate) fn prog_addr(&self) -> u64 {
        vm::HelperHost::map_addr(&self.0.map)
    }
}

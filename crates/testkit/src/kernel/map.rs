//! Maps: `BPF_MAP_CREATE` and the element commands.
//!
//! Every key and value buffer is checked against the map's sizes before the
//! call, because the kernel reads and writes exactly `key_size` /
//! `value_size` bytes through the pointers it is given.

use super::sys::{self, Cmd};
use super::{get_info, owned_fd, pin_fd, KernelError};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use uapi::MapType;

/// A `BPF_MAP_CREATE` request.
#[derive(Debug, Clone)]
pub struct MapCreate<'a> {
    pub map_type: MapType,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// `BPF_F_*` of [`uapi::map::create_flags`].
    pub map_flags: u32,
    /// Bloom filter hash count, arena address, … (`map_extra`).
    pub map_extra: u64,
    /// The template map of an array/hash of maps.
    pub inner_map_fd: Option<BorrowedFd<'a>>,
    /// At most 15 bytes of `[A-Za-z0-9_.]`.
    pub name: &'a str,
    pub numa_node: u32,
}

impl MapCreate<'_> {
    /// A map with no flags, name or inner map.
    pub fn new(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> Self {
        MapCreate {
            map_type,
            key_size,
            value_size,
            max_entries,
            map_flags: 0,
            map_extra: 0,
            inner_map_fd: None,
            name: "",
            numa_node: 0,
        }
    }
}

/// A live map; its fd is closed on drop.
#[derive(Debug)]
pub struct Map {
    fd: OwnedFd,
    map_type_id: u32,
    key_size: u32,
    value_size: u32,
}

/// What `BPF_OBJ_GET_INFO_BY_FD` says about a map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapInfo {
    pub map_type: Option<MapType>,
    pub map_type_id: u32,
    pub id: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub name: String,
    pub btf_id: u32,
    pub map_extra: u64,
}

pub(super) fn create(req: &MapCreate<'_>) -> Result<Map, KernelError> {
    let name = sys::obj_name(req.name).ok_or_else(|| {
        KernelError::invalid(
            Cmd::MapCreate,
            format!("name {:?} longer than 15 bytes or holds NUL", req.name),
        )
    })?;
    let mut attr = sys::MapCreateAttr {
        map_type: req.map_type.id(),
        key_size: req.key_size,
        value_size: req.value_size,
        max_entries: req.max_entries,
        map_flags: req.map_flags,
        inner_map_fd: req.inner_map_fd.map_or(0, |f| f.as_raw_fd() as u32),
        numa_node: req.numa_node,
        map_name: name,
        map_extra: req.map_extra,
        ..Default::default()
    };
    // SAFETY: the attr holds no pointers; `inner_map_fd` is borrowed, so open.
    let fd = unsafe { sys::sys_bpf(Cmd::MapCreate, &mut attr) }.map_err(|errno| {
        KernelError::Syscall {
            cmd: Cmd::MapCreate,
            errno,
        }
    })?;
    Ok(Map {
        fd: owned_fd(fd),
        map_type_id: req.map_type.id(),
        key_size: req.key_size,
        value_size: req.value_size,
    })
}

/// Number of possible CPUs, which sizes per-CPU values in the syscall ABI.
fn possible_cpus() -> usize {
    // The format is a list of ranges, e.g. "0-3" or "0,2-5".
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap_or_default();
    let mut max = None;
    for part in text.trim().split(',') {
        let last = part
            .rsplit('-')
            .next()
            .and_then(|n| n.trim().parse::<usize>().ok());
        max = max.max(last);
    }
    max.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |m| m + 1,
    )
}

impl Map {
    /// Wraps a map fd obtained elsewhere, learning its sizes from the kernel.
    pub fn from_fd(fd: OwnedFd) -> Result<Map, KernelError> {
        let mut raw = sys::MapInfoRaw::default();
        // SAFETY: `raw` is the map info struct and holds no pointers.
        unsafe { get_info(fd.as_fd(), &mut raw) }?;
        Ok(Map {
            fd,
            map_type_id: raw.map_type,
            key_size: raw.key_size,
            value_size: raw.value_size,
        })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
    pub fn key_size(&self) -> u32 {
        self.key_size
    }
    pub fn value_size(&self) -> u32 {
        self.value_size
    }

    /// Bytes a value occupies in the syscall ABI: per-CPU maps pass one
    /// 8-byte-aligned slot per possible CPU.
    pub fn syscall_value_size(&self) -> usize {
        match MapType::from_id(self.map_type_id) {
            Some(t) if t.is_percpu() => {
                (self.value_size as usize).next_multiple_of(8) * possible_cpus()
            }
            _ => self.value_size as usize,
        }
    }

    fn check(&self, cmd: Cmd, what: &str, got: usize, want: usize) -> Result<(), KernelError> {
        if got == want {
            Ok(())
        } else {
            Err(KernelError::invalid(
                cmd,
                format!("{what} is {got} bytes, the map wants {want}"),
            ))
        }
    }

    /// Runs an element command; `key` and `value` are checked for size by
    /// the callers.
    fn elem(
        &self,
        cmd: Cmd,
        key: Option<&[u8]>,
        value: Option<&mut [u8]>,
        flags: u64,
    ) -> Result<(), i32> {
        let mut attr = sys::MapElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            key: key.map_or(0, |k| {
                if k.is_empty() {
                    0
                } else {
                    sys::ptr(k.as_ptr())
                }
            }),
            value: value.map_or(0, |v| sys::ptr(v.as_mut_ptr())),
            flags,
            ..Default::default()
        };
        // SAFETY: `key` is readable for `key_size` bytes and `value` is
        // writable (and readable, for updates) for the size the command
        // uses — `key_size` for `next_key`, `syscall_value_size()` for
        // values — which every caller checks before calling; both borrows
        // outlive the call; `map_fd` is ours and open.
        unsafe { sys::sys_bpf(cmd, &mut attr) }.map(|_| ())
    }

    fn syscall_err(cmd: Cmd) -> impl Fn(i32) -> KernelError {
        move |errno| KernelError::Syscall { cmd, errno }
    }

    /// `BPF_MAP_LOOKUP_ELEM`: `None` when the key is absent (`ENOENT`).
    /// For queue/stack maps (`key_size` 0) pass `&[]`: a peek.
    pub fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KernelError> {
        self.lookup_flags(key, 0)
    }

    /// `BPF_MAP_LOOKUP_ELEM` with `flags` (`BPF_F_LOCK`).
    pub fn lookup_flags(&self, key: &[u8], flags: u64) -> Result<Option<Vec<u8>>, KernelError> {
        let cmd = Cmd::MapLookupElem;
        self.check(cmd, "key", key.len(), self.key_size as usize)?;
        let mut value = vec![0u8; self.syscall_value_size()];
        match self.elem(cmd, Some(key), Some(&mut value), flags) {
            Ok(()) => Ok(Some(value)),
            Err(libc::ENOENT) => Ok(None),
            Err(e) => Err(Self::syscall_err(cmd)(e)),
        }
    }

    /// `BPF_MAP_UPDATE_ELEM` with `BPF_ANY`/`BPF_NOEXIST`/`BPF_EXIST`
    /// (| `BPF_F_LOCK`). Queue/stack maps take `&[]` as the key.
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), KernelError> {
        let cmd = Cmd::MapUpdateElem;
        self.check(cmd, "key", key.len(), self.key_size as usize)?;
        self.check(cmd, "value", value.len(), self.syscall_value_size())?;
        // The kernel only reads the value; a copy gives the `&mut` the
        // shared element path wants without casting away `const`.
        let mut v = value.to_vec();
        self.elem(cmd, Some(key), Some(&mut v), flags)
            .map_err(Self::syscall_err(cmd))
    }

    /// `BPF_MAP_DELETE_ELEM`.
    pub fn delete(&self, key: &[u8]) -> Result<(), KernelError> {
        let cmd = Cmd::MapDeleteElem;
        self.check(cmd, "key", key.len(), self.key_size as usize)?;
        self.elem(cmd, Some(key), None, 0)
            .map_err(Self::syscall_err(cmd))
    }

    /// `BPF_MAP_GET_NEXT_KEY`: the first key for `None` (or a key that is
    /// not in the map), `None` after the last one.
    pub fn next_key(&self, key: Option<&[u8]>) -> Result<Option<Vec<u8>>, KernelError> {
        let cmd = Cmd::MapGetNextKey;
        if let Some(k) = key {
            self.check(cmd, "key", k.len(), self.key_size as usize)?;
        }
        let mut next = vec![0u8; self.key_size as usize];
        match self.elem(cmd, key, Some(&mut next), 0) {
            Ok(()) => Ok(Some(next)),
            Err(libc::ENOENT) => Ok(None),
            Err(e) => Err(Self::syscall_err(cmd)(e)),
        }
    }

    /// Every key, in the kernel's iteration order.
    pub fn keys(&self) -> Result<Vec<Vec<u8>>, KernelError> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        while let Some(k) = self.next_key(out.last().map(|k| k.as_slice()))? {
            out.push(k);
        }
        Ok(out)
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_ELEM`: pop for queue/stack maps (`&[]`),
    /// lookup-and-delete for hash maps; `None` when absent/empty (`ENOENT`).
    pub fn lookup_and_delete(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KernelError> {
        let cmd = Cmd::MapLookupAndDeleteElem;
        self.check(cmd, "key", key.len(), self.key_size as usize)?;
        let mut value = vec![0u8; self.syscall_value_size()];
        match self.elem(cmd, Some(key), Some(&mut value), 0) {
            Ok(()) => Ok(Some(value)),
            Err(libc::ENOENT) => Ok(None),
            Err(e) => Err(Self::syscall_err(cmd)(e)),
        }
    }

    /// `BPF_MAP_FREEZE`: no more writes from user space.
    pub fn freeze(&self) -> Result<(), KernelError> {
        let cmd = Cmd::MapFreeze;
        self.elem(cmd, None, None, 0)
            .map_err(Self::syscall_err(cmd))
    }

    /// `BPF_OBJ_PIN` at `path` (on a bpffs mount).
    pub fn pin(&self, path: &Path) -> Result<(), KernelError> {
        pin_fd(self.fd(), path)
    }

    /// `BPF_OBJ_GET_INFO_BY_FD`.
    pub fn info(&self) -> Result<MapInfo, KernelError> {
        let mut r = sys::MapInfoRaw::default();
        // SAFETY: `r` is the map info struct and holds no pointers.
        unsafe { get_info(self.fd(), &mut r) }?;
        Ok(MapInfo {
            map_type: MapType::from_id(r.map_type),
            map_type_id: r.map_type,
            id: r.id,
            key_size: r.key_size,
            value_size: r.value_size,
            max_entries: r.max_entries,
            map_flags: r.map_flags,
            name: sys::name_from(&r.name),
            btf_id: r.btf_id,
            map_extra: r.map_extra,
        })
    }
}

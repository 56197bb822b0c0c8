//! Local storage maps — `sk_storage`, `task_storage`, `inode_storage`,
//! `cgrp_storage`: one value per *owner* (a socket, task, inode or cgroup)
//! instead of per key.
//!
//! The kernel hangs each value off its owner and frees it with the owner;
//! the map has no entries of its own (`max_entries` 0), the syscall side
//! names an owner by an fd it holds (the key is an `int`), and programs call
//! `bpf_{sk,task,inode,cgrp}_storage_get/delete` with the owner's pointer.
//! In user space there are no such kernel objects, so owners are plain
//! `u64` identities chosen by the runtime (a socket cookie, a pid, an inode
//! number, a cgroup id): programs' helpers use [`LocalStorage::get`] and
//! [`LocalStorage::delete`] with them, and the syscall side uses the fd
//! number it is given as the owner (a syscall layer that can resolve fds
//! should translate them to the same identities first).
//!
//! Storage is a preallocated [`HashMap`] keyed by the 8-byte owner, with
//! room for [`crate::MapOptions::storage_owners`] owners; running out is
//! `ENOMEM`, the kernel's answer when it cannot allocate an element.
//! Syscall errno as the kernel: `get_next_key`, lookup-and-delete and
//! batches `ENOTSUPP`; a negative fd `EBADF`; an owner without storage
//! `ENOENT`; `BPF_NOEXIST`/`BPF_EXIST` as a hash.

use std::any::Any;

use uapi::map::update_flags::BPF_NOEXIST;
use uapi::MapType;

use crate::error::{MapError, Result};
use crate::hash::HashMap;
use crate::header::HeaderEnv;
use crate::region::Region;
use crate::spec::MapSpec;
use crate::{CheckReport, MapOps};

/// `BPF_LOCAL_STORAGE_GET_F_CREATE`: create the owner's storage if missing.
pub const BPF_LOCAL_STORAGE_GET_F_CREATE: u64 = 1;

/// The plain hash a local storage map is stored as.
pub(crate) fn storage_spec(spec: &MapSpec, env: &HeaderEnv) -> MapSpec {
    let mut s = MapSpec::new(MapType::Hash, 8, spec.value_size, env.storage_owners);
    s.spin_lock_off = spec.spin_lock_off;
    s
}

/// A local storage map's per-owner values.
pub struct LocalStorage {
    inner: HashMap,
    value_size: usize,
}

impl LocalStorage {
    pub(crate) fn new(spec: &MapSpec, env: HeaderEnv, region: Region) -> Self {
        LocalStorage {
            inner: HashMap::new(&storage_spec(spec, &env), env, region),
            value_size: spec.value_size as usize,
        }
    }

    /// `bpf_*_storage_get(map, owner, init, flags)`: the owner's value, or
    /// with [`BPF_LOCAL_STORAGE_GET_F_CREATE`] a new one holding `init`
    /// (zeros if `None`); null when absent, when the flags are unknown, when
    /// `init` is not `value_size` bytes, or when there is no room — as the
    /// helper returns NULL. The pointer stays valid while the map lives.
    pub fn get(&self, owner: u64, init: Option<&[u8]>, flags: u64) -> *mut u8 {
        if flags > BPF_LOCAL_STORAGE_GET_F_CREATE {
            return std::ptr::null_mut();
        }
        let key = owner.to_ne_bytes();
        let p = self.inner.lookup_ptr(&key, 0);
        if !p.is_null() || flags != BPF_LOCAL_STORAGE_GET_F_CREATE {
            return p;
        }
        let zeros;
        let value = match init {
            Some(v) if v.len() == self.value_size => v,
            Some(_) => return std::ptr::null_mut(),
            None => {
                zeros = vec![0u8; self.value_size];
                &zeros
            }
        };
        // Another thread may create it first: either way, return the one
        // that is there.
        let _ = self.inner.update_prog(&key, value, BPF_NOEXIST, 0);
        self.inner.lookup_ptr(&key, 0)
    }

    /// `bpf_*_storage_delete(map, owner)`: `ENOENT` if it has none.
    pub fn delete(&self, owner: u64) -> Result<()> {
        self.inner.delete(&owner.to_ne_bytes())
    }

    /// The owners that have storage (for tools and tests; hash order).
    pub fn owners(&self) -> Vec<u64> {
        let mut out = Vec::new();
        let mut next = [0u8; 8];
        let mut cur: Option<[u8; 8]> = None;
        while self
            .inner
            .get_next_key(cur.as_ref().map(|k| &k[..]), &mut next)
            .is_ok()
        {
            out.push(u64::from_ne_bytes(next));
            cur = Some(next);
            if out.len() > u32::MAX as usize {
                break;
            }
        }
        out
    }
}

/// The owner a syscall key (an `int` fd) names.
fn owner_of(key: &[u8]) -> Result<[u8; 8]> {
    let fd = i32::from_ne_bytes(key.try_into().expect("key_size 4"));
    if fd < 0 {
        return Err(MapError::BadFd {
            reason: "negative fd as a local storage key",
        });
    }
    Ok(u64::from(fd as u32).to_ne_bytes())
}

impl MapOps for LocalStorage {
    fn region(&self) -> &Region {
        self.inner.region()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, key: &[u8], out: &mut [u8], lock: bool) -> Result<()> {
        self.inner.lookup(&owner_of(key)?, out, lock)
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        let owner = owner_of(key)?;
        match self.inner.update(&owner, value, flags) {
            Err(MapError::TooBig { .. }) => Err(MapError::NoMemory {
                bytes: self.value_size as u64,
            }),
            r => r,
        }
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        self.inner.delete(&owner_of(key)?)
    }

    fn check(&self) -> Result<CheckReport> {
        self.inner.check()
    }

    fn repair(&self) -> Result<CheckReport> {
        self.inner.repair()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Map, MapOptions};
    use uapi::errno::*;
    use uapi::map::create_flags::BPF_F_NO_PREALLOC;
    use uapi::map::update_flags::BPF_EXIST;

    fn e<T>(r: Result<T>) -> i32 {
        r.map_or_else(|e| e.errno(), |_| 0)
    }

    #[test]
    fn syscall_and_program_sides() {
        let spec = MapSpec::new(MapType::SkStorage, 4, 8, 0)
            .with_flags(BPF_F_NO_PREALLOC)
            .with_btf(1, 2);
        let opts = MapOptions {
            storage_owners: 2,
            ..MapOptions::new(1)
        };
        let m = Map::create(spec, &opts).unwrap();
        let fd = |i: i32| i.to_ne_bytes();
        assert_eq!(e(m.lookup(&fd(3))), ENOENT);
        assert_eq!(e(m.lookup(&fd(-1))), EBADF);
        assert_eq!(e(m.update(&fd(3), &[1; 8], BPF_EXIST)), ENOENT);
        m.update(&fd(3), &[1; 8], 0).unwrap();
        assert_eq!(e(m.update(&fd(3), &[2; 8], BPF_NOEXIST)), EEXIST);
        assert_eq!(m.lookup(&fd(3)).unwrap(), [1; 8]);
        assert_eq!(e(m.get_next_key(None)), ENOTSUPP);
        assert_eq!(e(m.lookup_and_delete(&fd(3), 0)), ENOTSUPP);
        let ls = m.local_storage().unwrap();
        // Owner 3 is what fd 3 named.
        assert!(!ls.get(3, None, 0).is_null());
        assert!(ls.get(9, None, 0).is_null());
        assert!(ls.get(9, None, 2).is_null());
        let p = ls.get(9, Some(&[7; 8]), BPF_LOCAL_STORAGE_GET_F_CREATE);
        assert!(!p.is_null());
        // SAFETY: a live 8-byte, 8-aligned value.
        assert_eq!(unsafe { *p }, 7);
        assert_eq!(ls.get(9, None, BPF_LOCAL_STORAGE_GET_F_CREATE), p);
        // Room for two owners only.
        assert!(ls.get(10, None, BPF_LOCAL_STORAGE_GET_F_CREATE).is_null());
        assert_eq!(e(m.update(&fd(11), &[1; 8], 0)), ENOMEM);
        let mut owners = ls.owners();
        owners.sort();
        assert_eq!(owners, [3, 9]);
        ls.delete(9).unwrap();
        assert_eq!(e(ls.delete(9)), ENOENT);
        assert_eq!(e(m.delete(&fd(3))), 0);
    }
}

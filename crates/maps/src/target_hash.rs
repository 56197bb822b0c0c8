//! `devmap_hash` and `sockhash`: the hashed forms of devmap and sockmap.
//!
//! Both are a [`HashMap`] underneath — same region layout, locking and
//! crash consistency — whose element value is always one 8-byte word
//! (`{ ifindex, prog_id }` or `cookie`), whatever the map's `value_size`.
//! That storage spec is derived from the map's spec alone
//! ([`storage_spec`]), so every process opening the map computes the same
//! layout. What differs from a plain hash is the kernel's update rules:
//!
//! - devmap_hash (`__dev_map_hash_update_elem`): ifindex 0 is `EINVAL`;
//!   `BPF_EXIST` on a missing key *inserts* (only `BPF_NOEXIST` is
//!   checked); no lookup-and-delete, no batches;
//! - sockhash (`sock_hash_update_common`): `BPF_EXIST`/`BPF_NOEXIST` as a
//!   hash; syscall lookups need `value_size` 8 (`ENOSPC`) and return the
//!   cookie.
//!
//! The kernel's devmap_hash buckets by `ifindex & (n_buckets - 1)` and
//! sockhash by jhash; ours hash with the map seed, so `get_next_key` order
//! differs (the set of keys does not).

use std::any::Any;

use uapi::map::update_flags::{BPF_ANY, BPF_EXIST, BPF_NOEXIST};
use uapi::MapType;

use crate::error::{inval, MapError, Result};
use crate::hash::HashMap;
use crate::header::HeaderEnv;
use crate::region::Region;
use crate::spec::MapSpec;
use crate::target::{pack, sock_fd, unpack_into, value_words};
use crate::{CheckReport, MapOps, RedirectTarget};

/// The plain hash a devmap_hash or sockhash is stored as.
pub(crate) fn storage_spec(spec: &MapSpec) -> MapSpec {
    MapSpec::new(MapType::Hash, spec.key_size, 8, spec.max_entries)
}

pub(crate) struct TargetHash {
    inner: HashMap,
    sock: bool,
    value_size: usize,
}

impl TargetHash {
    pub(crate) fn new(spec: &MapSpec, env: HeaderEnv, region: Region) -> Self {
        TargetHash {
            inner: HashMap::new(&storage_spec(spec), env, region),
            sock: spec.map_type == MapType::Sockhash,
            value_size: spec.value_size as usize,
        }
    }

    fn word(&self, key: &[u8]) -> Result<u64> {
        let mut buf = [0u8; 8];
        self.inner.lookup(key, &mut buf, false)?;
        Ok(u64::from_ne_bytes(buf))
    }

    fn store_sock(&self, key: &[u8], cookie: u64, flags: u64) -> Result<()> {
        if flags > BPF_EXIST {
            return Err(inval("unknown update flag"));
        }
        self.inner.update(key, &cookie.to_ne_bytes(), flags)
    }
}

impl MapOps for TargetHash {
    fn region(&self) -> &Region {
        self.inner.region()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, key: &[u8], out: &mut [u8], _lock: bool) -> Result<()> {
        if self.sock && self.value_size != 8 {
            return Err(MapError::NoSpace {
                reason: "a socket cookie needs value_size 8",
            });
        }
        let w = self.word(key)?;
        if self.sock {
            out.copy_from_slice(&w.to_ne_bytes());
        } else {
            unpack_into(w, out);
        }
        Ok(())
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        if self.sock {
            return self.store_sock(key, sock_fd(value)?, flags);
        }
        let (ifindex, prog) = value_words(value);
        if flags > BPF_EXIST || ifindex == 0 {
            return Err(inval("devmap_hash needs a non-zero ifindex"));
        }
        let flags = if flags == BPF_NOEXIST {
            BPF_NOEXIST
        } else {
            BPF_ANY
        };
        let word = pack(ifindex, prog).to_ne_bytes();
        self.inner.update(key, &word, flags)
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        self.inner.delete(key)
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<()> {
        self.inner.get_next_key(key, next)
    }

    /// devmap_hash: the `bpf_devmap_val`; sockhash: nothing (see
    /// `target.rs`).
    fn lookup_ptr(&self, key: &[u8], cpu: u32) -> *mut u8 {
        if self.sock {
            return std::ptr::null_mut();
        }
        self.inner.lookup_ptr(key, cpu)
    }

    fn redirect_target(&self, key: &[u8]) -> Option<RedirectTarget> {
        let w = self.word(key).ok()?;
        Some(if self.sock {
            RedirectTarget {
                target: w,
                prog_id: 0,
            }
        } else {
            RedirectTarget {
                target: u64::from(w as u32),
                prog_id: (w >> 32) as u32,
            }
        })
    }

    fn sock_store(&self, key: &[u8], cookie: u64, flags: u64) -> Result<()> {
        if !self.sock {
            return Err(MapError::NotSupported);
        }
        self.store_sock(key, cookie, flags)
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

    fn e<T>(r: Result<T>) -> i32 {
        r.map_or_else(|e| e.errno(), |_| 0)
    }

    #[test]
    fn devmap_hash_inserts_on_exist_and_rejects_ifindex_zero() {
        let m = Map::create(
            MapSpec::new(MapType::DevmapHash, 4, 4, 2),
            &MapOptions::new(2),
        )
        .unwrap();
        let k = |i: u32| i.to_ne_bytes();
        assert_eq!(e(m.update(&k(1), &0u32.to_ne_bytes(), 0)), EINVAL);
        m.update(&k(1), &5u32.to_ne_bytes(), BPF_EXIST).unwrap();
        assert_eq!(m.lookup(&k(1)).unwrap(), 5u32.to_ne_bytes());
        assert_eq!(e(m.update(&k(1), &6u32.to_ne_bytes(), BPF_NOEXIST)), EEXIST);
        m.update(&k(2), &6u32.to_ne_bytes(), 0).unwrap();
        assert_eq!(e(m.update(&k(3), &6u32.to_ne_bytes(), 0)), E2BIG);
        assert_eq!(m.redirect_target(&k(2)).unwrap().target, 6);
        assert_eq!(e(m.lookup_and_delete(&k(2), 0)), ENOTSUPP);
        assert_eq!(e(m.lookup_batch(None, 4, 0, 0)), ENOTSUPP);
        m.delete(&k(2)).unwrap();
        assert_eq!(e(m.delete(&k(2))), ENOENT);
    }

    #[test]
    fn sockhash_keeps_cookies() {
        let m = Map::create(
            MapSpec::new(MapType::Sockhash, 6, 8, 4),
            &MapOptions::new(1),
        )
        .unwrap();
        let key = [1u8, 2, 3, 4, 5, 6];
        assert_eq!(e(m.update(&key, &5u64.to_ne_bytes(), BPF_EXIST)), ENOENT);
        m.sock_update(&key, u64::MAX, 0).unwrap();
        assert_eq!(m.lookup(&key).unwrap(), u64::MAX.to_ne_bytes());
        assert!(m.lookup_ptr(&key, 0).is_null());
        assert_eq!(m.redirect_target(&key).unwrap().target, u64::MAX);
    }
}

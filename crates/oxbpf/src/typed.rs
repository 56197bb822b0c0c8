//! Typed access to maps for Rust users, in the manner of aya's
//! `HashMap::get(&key, 0)`: keys and values as Rust integers or byte
//! arrays instead of byte slices. [`Plain`] is the conversion; it is
//! implemented for the fixed-size types whose bytes a BPF program sees the
//! same way (little-endian integers and byte arrays), so it needs no
//! `unsafe` and no derive.
//!
//! ```no_run
//! # fn main() -> oxbpf::Result<()> {
//! let rt = oxbpf::Runtime::new();
//! let obj = rt.load_file("counter.bpf.o", &Default::default())?;
//! let flows = obj.map("flows")?;
//! flows.insert(&7u32, &[0u8; 8], 0)?;
//! let v: Option<[u8; 8]> = flows.get(&7u32)?;
//! let per_cpu: Option<Vec<u64>> = obj.map("counters")?.get_percpu(&0u32)?;
//! # Ok(()) }
//! ```

use crate::error::{Error, Result};
use crate::map::Map;

/// A fixed-size value with a defined byte layout (native-endian, which is
/// the BPF target's on the machines oxbpf runs on).
pub trait Plain: Sized {
    /// Size in bytes.
    const SIZE: usize;
    /// The bytes of `self`.
    fn to_bytes(&self) -> Vec<u8>;
    /// The value from exactly [`Plain::SIZE`] bytes.
    fn from_bytes(b: &[u8]) -> Option<Self>;
}

macro_rules! plain_int {
    ($($t:ty),*) => {$(
        impl Plain for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn to_bytes(&self) -> Vec<u8> {
                self.to_ne_bytes().to_vec()
            }
            fn from_bytes(b: &[u8]) -> Option<Self> {
                Some(<$t>::from_ne_bytes(b.try_into().ok()?))
            }
        }
    )*};
}
plain_int!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128);

impl<const N: usize> Plain for [u8; N] {
    const SIZE: usize = N;
    fn to_bytes(&self) -> Vec<u8> {
        self.to_vec()
    }
    fn from_bytes(b: &[u8]) -> Option<Self> {
        b.try_into().ok()
    }
}

impl Map {
    fn check_sizes<K: Plain, V: Plain>(&self) -> Result<()> {
        let s = self.spec();
        if K::SIZE != s.key_size as usize || V::SIZE != s.value_size as usize {
            return Err(Error::Unsupported {
                program: self.name().to_string(),
                reason: format!(
                    "typed access with a {}-byte key and {}-byte value to a map of {}-byte keys \
                     and {}-byte values",
                    K::SIZE,
                    V::SIZE,
                    s.key_size,
                    s.value_size
                ),
            });
        }
        Ok(())
    }

    fn not_percpu(&self, percpu: bool) -> Result<()> {
        if self.map_type().is_percpu() != percpu {
            return Err(Error::Unsupported {
                program: self.name().to_string(),
                reason: if percpu {
                    "not a per-CPU map: use get/insert".into()
                } else {
                    "a per-CPU map: use get_percpu/insert_percpu".into()
                },
            });
        }
        Ok(())
    }

    /// The value under `key`, `None` if there is none.
    pub fn get<K: Plain, V: Plain>(&self, key: &K) -> Result<Option<V>> {
        self.check_sizes::<K, V>()?;
        self.not_percpu(false)?;
        match self.lookup(&key.to_bytes()) {
            Ok(v) => Ok(V::from_bytes(&v)),
            Err(e) if e.errno() == Some(uapi::errno::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every worker's value under `key` of a per-CPU map.
    pub fn get_percpu<K: Plain, V: Plain>(&self, key: &K) -> Result<Option<Vec<V>>> {
        self.check_sizes::<K, V>()?;
        self.not_percpu(true)?;
        let step = V::SIZE.next_multiple_of(8);
        match self.lookup(&key.to_bytes()) {
            Ok(v) => Ok(Some(
                v.chunks(step)
                    .filter_map(|c| V::from_bytes(&c[..V::SIZE]))
                    .collect(),
            )),
            Err(e) if e.errno() == Some(uapi::errno::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `BPF_MAP_UPDATE_ELEM` of typed key and value (`flags`: 0 any,
    /// 1 `BPF_NOEXIST`, 2 `BPF_EXIST`).
    pub fn insert<K: Plain, V: Plain>(&self, key: &K, value: &V, flags: u64) -> Result<()> {
        self.check_sizes::<K, V>()?;
        self.not_percpu(false)?;
        self.update(&key.to_bytes(), &value.to_bytes(), flags)
    }

    /// Sets every worker's value under `key` of a per-CPU map.
    pub fn insert_percpu<K: Plain, V: Plain>(&self, key: &K, value: &V, flags: u64) -> Result<()> {
        self.check_sizes::<K, V>()?;
        self.not_percpu(true)?;
        let step = V::SIZE.next_multiple_of(8);
        let mut all = vec![0u8; self.value_size()];
        for c in all.chunks_mut(step) {
            c[..V::SIZE].copy_from_slice(&value.to_bytes());
        }
        self.update(&key.to_bytes(), &all, flags)
    }

    /// Deletes `key`; `Ok(false)` if it was not there.
    pub fn remove<K: Plain>(&self, key: &K) -> Result<bool> {
        match self.delete(&key.to_bytes()) {
            Ok(()) => Ok(true),
            Err(e) if e.errno() == Some(uapi::errno::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every key, typed.
    pub fn typed_keys<K: Plain>(&self) -> Result<Vec<K>> {
        Ok(self
            .keys()?
            .iter()
            .filter_map(|k| K::from_bytes(k))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::{MapSpec, MapType, Runtime};

    #[test]
    fn typed_hash_and_percpu() {
        let rt = Runtime::with_options(crate::RuntimeOptions {
            workers: 3,
            ..Default::default()
        });
        let h = rt.create_map(MapSpec::new(MapType::Hash, 4, 8, 4)).unwrap();
        h.insert(&1u32, &42u64, 0).unwrap();
        assert_eq!(h.get::<u32, u64>(&1).unwrap(), Some(42));
        assert_eq!(h.get::<u32, u64>(&2).unwrap(), None);
        assert!(h.get::<u64, u64>(&1).is_err(), "wrong key size");
        assert!(h.remove(&1u32).unwrap());
        assert!(!h.remove(&1u32).unwrap());
        let p = rt
            .create_map(MapSpec::new(MapType::PercpuArray, 4, 4, 2))
            .unwrap();
        p.insert_percpu(&1u32, &7u32, 0).unwrap();
        assert_eq!(p.get_percpu::<u32, u32>(&1).unwrap(), Some(vec![7, 7, 7]));
        assert!(p.get::<u32, u32>(&1).is_err());
        assert_eq!(p.typed_keys::<u32>().unwrap(), vec![0, 1]);
    }
}

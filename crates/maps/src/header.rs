//! The common header at offset 0 of every map region, the keyed hash used
//! by hashed maps, and value copies that honour `struct bpf_spin_lock`.
//!
//! The header stores the whole spec, so that another process can open a
//! file-backed map knowing only its path, and the state that all map types
//! share (frozen bit, hash seed). Its magic is written *last*, with release
//! ordering: a reader that sees the magic sees a fully initialised map.

use std::sync::atomic::Ordering;

use uapi::MapType;

use crate::error::{MapError, Result};
use crate::region::Region;
use crate::spec::MapSpec;

/// "OXBPFMAP", little-endian.
pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"OXBPFMAP");
/// Bumped whenever a layout of any map type changes.
pub(crate) const VERSION: u32 = 1;
/// Bytes reserved for the header; type-specific data starts here.
pub(crate) const HEADER_SIZE: usize = 256;

const OFF_MAGIC: usize = 0;
const OFF_VERSION: usize = 8;
const OFF_TYPE: usize = 12;
const OFF_KEY: usize = 16;
const OFF_VALUE: usize = 20;
const OFF_MAX: usize = 24;
const OFF_FLAGS: usize = 28;
const OFF_EXTRA: usize = 32;
const OFF_NCPUS: usize = 40;
const OFF_LOCK: usize = 44;
const OFF_BTF_KEY: usize = 48;
const OFF_BTF_VALUE: usize = 52;
const OFF_NAME: usize = 56;
const OFF_FROZEN: usize = 72;
const OFF_PERF_PAGES: usize = 76;
const OFF_LEN: usize = 80;
const OFF_SEED: usize = 88;
/// Inner template: type, key, value, max_entries, flags, present.
const OFF_INNER: usize = 96;
/// Local storage maps: how many owners the region has room for.
const OFF_STORAGE_OWNERS: usize = 128;

const NO_LOCK: u32 = u32::MAX;

/// What the header records besides the spec.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderEnv {
    pub ncpus: u32,
    pub perf_pages: u32,
    pub seed: u64,
    /// Room for owners in a local storage map ([`crate::MapOptions::storage_owners`]).
    pub storage_owners: u32,
}

/// Write the header of a fresh (zeroed) region; the magic is stored last.
pub(crate) fn write(r: &Region, spec: &MapSpec, env: HeaderEnv) {
    let w32 = |off, v: u32| r.u32_at(off).store(v, Ordering::Relaxed);
    w32(OFF_VERSION, VERSION);
    w32(OFF_TYPE, spec.map_type.id());
    w32(OFF_KEY, spec.key_size);
    w32(OFF_VALUE, spec.value_size);
    w32(OFF_MAX, spec.max_entries);
    w32(OFF_FLAGS, spec.flags);
    r.u64_at(OFF_EXTRA).store(spec.map_extra, Ordering::Relaxed);
    w32(OFF_NCPUS, env.ncpus);
    w32(OFF_LOCK, spec.spin_lock_off.unwrap_or(NO_LOCK));
    w32(OFF_BTF_KEY, spec.btf_key_type_id);
    w32(OFF_BTF_VALUE, spec.btf_value_type_id);
    r.write(OFF_NAME, &spec.name_bytes());
    w32(OFF_PERF_PAGES, env.perf_pages);
    w32(OFF_STORAGE_OWNERS, env.storage_owners);
    r.u64_at(OFF_LEN).store(r.len() as u64, Ordering::Relaxed);
    r.u64_at(OFF_SEED).store(env.seed, Ordering::Relaxed);
    if let Some(inner) = &spec.inner_map {
        let vals = [
            inner.map_type.id(),
            inner.key_size,
            inner.value_size,
            inner.max_entries,
            inner.flags,
            1,
        ];
        for (i, v) in vals.into_iter().enumerate() {
            w32(OFF_INNER + 4 * i, v);
        }
    }
}

/// Publish the map: after this store, other processes may use it.
pub(crate) fn seal(r: &Region) {
    r.u64_at(OFF_MAGIC).store(MAGIC, Ordering::Release);
}

/// Read a spec and environment back from raw header bytes (as read from a
/// file before mapping it).
pub(crate) fn parse(bytes: &[u8; HEADER_SIZE], path: &str) -> Result<(MapSpec, HeaderEnv, u64)> {
    let u32_at = |off: usize| u32::from_le_bytes(bytes[off..off + 4].try_into().expect("4"));
    let u64_at = |off: usize| u64::from_le_bytes(bytes[off..off + 8].try_into().expect("8"));
    let bad = |reason| MapError::BadImage {
        path: path.to_owned(),
        reason,
    };
    if u64_at(OFF_MAGIC) != MAGIC {
        return Err(bad("no oxbpf map magic (not a map, or not initialised)"));
    }
    if u32_at(OFF_VERSION) != VERSION {
        return Err(bad("layout version differs"));
    }
    let name_raw = &bytes[OFF_NAME..OFF_NAME + 16];
    let name_len = name_raw.iter().position(|&b| b == 0).unwrap_or(16);
    let lock = u32_at(OFF_LOCK);
    let map_type = |id| MapType::from_id(id).ok_or_else(|| bad("unknown map type"));
    let mut spec = MapSpec::new(
        map_type(u32_at(OFF_TYPE))?,
        u32_at(OFF_KEY),
        u32_at(OFF_VALUE),
        u32_at(OFF_MAX),
    );
    spec.flags = u32_at(OFF_FLAGS);
    spec.map_extra = u64_at(OFF_EXTRA);
    spec.btf_key_type_id = u32_at(OFF_BTF_KEY);
    spec.btf_value_type_id = u32_at(OFF_BTF_VALUE);
    spec.name = String::from_utf8_lossy(&name_raw[..name_len]).into_owned();
    spec.spin_lock_off = (lock != NO_LOCK).then_some(lock);
    if u32_at(OFF_INNER + 20) == 1 {
        let mut inner = MapSpec::new(
            map_type(u32_at(OFF_INNER))?,
            u32_at(OFF_INNER + 4),
            u32_at(OFF_INNER + 8),
            u32_at(OFF_INNER + 12),
        );
        inner.flags = u32_at(OFF_INNER + 16);
        spec.inner_map = Some(Box::new(inner));
    }
    let env = HeaderEnv {
        ncpus: u32_at(OFF_NCPUS),
        perf_pages: u32_at(OFF_PERF_PAGES),
        // Files written before the field existed hold 0 there; they are not
        // local storage maps, so any valid value does.
        storage_owners: u32_at(OFF_STORAGE_OWNERS).max(1),
        seed: u64_at(OFF_SEED),
    };
    Ok((spec, env, u64_at(OFF_LEN)))
}

/// The frozen bit (`BPF_MAP_FREEZE`).
pub(crate) fn frozen(r: &Region) -> &std::sync::atomic::AtomicU32 {
    r.u32_at(OFF_FROZEN)
}

/// A seed for the keyed hash: random unless `BPF_F_ZERO_SEED`.
pub(crate) fn new_seed(zero: bool) -> u64 {
    if zero {
        return 0;
    }
    let mut buf = [0u8; 8];
    // SAFETY: getrandom writes at most buf.len() bytes into buf.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n == 8 {
        u64::from_le_bytes(buf)
    } else {
        // No entropy source: the address of a stack slot and the time are
        // enough to avoid trivially colliding seeds.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        t ^ (&buf as *const _ as u64).rotate_left(32)
    }
}

/// The keyed hash of hashed maps and the bloom filter. It must be a pure
/// function of (seed, bytes): every process sharing a map computes the same
/// bucket for the same key.
pub(crate) fn hash(seed: u64, data: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(K);
    // Keys up to SMALL_KEY bytes, the common ones just built by a program
    // on its stack, are read byte by byte (see `bytes_le8`); whole words
    // through a fixed-size read (no length test per byte), then the tail.
    let small = data.len() <= SMALL_KEY;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let word: &[u8; 8] = c.try_into().expect("8 bytes");
        let v = if small {
            bytes_le8(word)
        } else {
            u64::from_le_bytes(*word)
        };
        h = (h ^ v).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        h = (h ^ bytes_le(rest)).wrapping_mul(K).rotate_left(29);
    }
    // fmix64 finaliser: every input bit affects every output bit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Keys up to this many bytes are read byte by byte. 16 was not enough:
/// the kernel selftests' `test_xdp` builds a 24-byte key with 1-, 2- and
/// 4-byte stores, and its three 8-byte loads stalled on them (20 → 14 ns
/// per run of the whole program once read by bytes). Above 64 bytes the
/// byte loads would cost more than one stall.
pub(crate) const SMALL_KEY: usize = 64;

/// Up to 8 bytes as a little-endian number (the upper bytes zero), read
/// one byte at a time. A key a program has just built on its stack was
/// written with stores of its fields' sizes (4, 2, 1 bytes); a wider load
/// spanning several of them cannot be forwarded from them and waits until
/// they reach the cache — a stall longer than the whole hash. Byte loads
/// are always forwarded. They are volatile so that the compiler does not
/// merge them back into one wide load. (Before, a tail was copied into a
/// zeroed buffer: a `memcpy` call, with the same stall. The values are the
/// same.)
#[inline(always)]
fn bytes_le8(bytes: &[u8; 8]) -> u64 {
    let mut v = 0u64;
    for (i, b) in bytes.iter().enumerate() {
        // SAFETY: `b` is a valid reference to an initialised byte.
        v |= u64::from(unsafe { std::ptr::read_volatile(b) }) << (i * 8);
    }
    v
}

/// [`bytes_le8`] for a tail of fewer than 8 bytes.
#[inline(always)]
fn bytes_le(bytes: &[u8]) -> u64 {
    let mut v = 0u64;
    for (i, b) in bytes.iter().enumerate().take(8) {
        // SAFETY: `b` is a valid reference to an initialised byte.
        v |= u64::from(unsafe { std::ptr::read_volatile(b) }) << (i * 8);
    }
    v
}

/// How a value is copied between user buffers and map memory: the kernel's
/// `copy_map_value` skips the `bpf_spin_lock` field, and `BPF_F_LOCK` holds
/// that lock during the copy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueCopy {
    pub size: usize,
    pub lock_off: Option<usize>,
}

impl ValueCopy {
    pub(crate) fn of(spec: &MapSpec) -> Self {
        ValueCopy {
            size: spec.value_size as usize,
            lock_off: spec.spin_lock_off.map(|o| o as usize),
        }
    }

    /// Copy the value at `off` into `out` (`size` bytes); the lock field
    /// reads as zero, as the kernel's `check_and_init_map_value` leaves it.
    pub(crate) fn read(&self, r: &Region, off: usize, out: &mut [u8], lock: bool) {
        let _g = self.guard(r, off, lock);
        match self.lock_off {
            None => r.read(off, out),
            Some(l) => {
                r.read(off, &mut out[..l]);
                out[l..l + 4].fill(0);
                r.read(off + l + 4, &mut out[l + 4..]);
            }
        }
    }

    /// Copy `src` into the value at `off`, leaving the lock field alone.
    pub(crate) fn write(&self, r: &Region, off: usize, src: &[u8], lock: bool) {
        let _g = self.guard(r, off, lock);
        match self.lock_off {
            None => r.write(off, src),
            Some(l) => {
                r.write(off, &src[..l]);
                r.write(off + l + 4, &src[l + 4..]);
            }
        }
    }

    fn guard<'r>(&self, r: &'r Region, off: usize, lock: bool) -> Option<crate::sync::Guard<'r>> {
        match (lock, self.lock_off) {
            (true, Some(l)) => Some(crate::sync::Guard::new(r.u32_at(off + l))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_seed_and_every_byte() {
        let a = hash(1, b"abcdefghij");
        assert_ne!(a, hash(2, b"abcdefghij"));
        assert_ne!(a, hash(1, b"abcdefghik"));
        assert_ne!(a, hash(1, b"abcdefghij\0"));
        assert_eq!(a, hash(1, b"abcdefghij"));
    }

    #[test]
    fn tail_is_the_zero_padded_little_endian_number() {
        // Maps created before the two-load tail must hash alike (their
        // buckets are in shared memory and files).
        let bytes = [0x81u8, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7];
        for n in 1..=7 {
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(bytes_le(&bytes[..n]), u64::from_le_bytes(b), "{n} bytes");
        }
        // Values of the earlier copy-based tail.
        assert_eq!(hash(7, b"abcdefghij"), 0x5ce4_936f_c714_4218);
        assert_eq!(hash(7, b"abc"), 0x00f2_8756_bbb1_88fa);
        assert_eq!(hash(7, b"abcdefghijklm"), 0x452e_eb8f_c848_621c);
        assert_eq!(hash(7, &[0x5a; 21]), 0x3522_2998_e2d3_2100);
    }

    #[test]
    fn header_round_trips() {
        let r = Region::anonymous(4096, 0).unwrap();
        let spec = MapSpec::new(MapType::Hash, 4, 12, 9)
            .with_name("a_very_long_map_name")
            .with_spin_lock(4);
        write(
            &r,
            &spec,
            HeaderEnv {
                ncpus: 3,
                perf_pages: 8,
                seed: 77,
                storage_owners: 5,
            },
        );
        seal(&r);
        let mut raw = [0u8; HEADER_SIZE];
        r.read(0, &mut raw);
        let (back, env, len) = parse(&raw, "x").unwrap();
        assert_eq!(back.name, "a_very_long_map");
        assert_eq!(back.spin_lock_off, Some(4));
        assert_eq!(
            (back.key_size, back.value_size, back.max_entries),
            (4, 12, 9)
        );
        assert_eq!((env.ncpus, env.seed, len), (3, 77, 4096));
    }
}

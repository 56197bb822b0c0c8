//! `bloom_filter`: a bit array and `nr_hash_funcs` keyed hashes of the value
//! (`map_extra` bits 0..4; 0 means 5), sized as the kernel sizes it:
//! `max_entries * k * 7/5` bits, rounded up to a power of two, at least 64,
//! and 2^32 bits when that overflows.
//!
//! Bits are only ever set, with atomic `fetch_or`, so there is no state a
//! crash could tear. Which bits a value sets differs from Linux (the hash is
//! ours), so false positives differ; the answers "definitely absent" and
//! "maybe present" keep their meaning.

use std::any::Any;
use std::sync::atomic::Ordering;

use uapi::map::update_flags::BPF_ANY;

use crate::error::{inval, MapError, Result};
use crate::header::{self, HeaderEnv, HEADER_SIZE};
use crate::region::Region;
use crate::spec::MapSpec;
use crate::MapOps;

/// Number of bits of the filter (a power of two).
fn nr_bits(spec: &MapSpec) -> u64 {
    let k = nr_hash_funcs(spec);
    let bits = u64::from(spec.max_entries) * u64::from(k);
    let bits = bits / 5 * 7;
    if bits > 1 << 31 {
        1 << 32
    } else if bits <= 64 {
        64
    } else {
        bits.next_power_of_two()
    }
}

fn nr_hash_funcs(spec: &MapSpec) -> u32 {
    match (spec.map_extra & 0xf) as u32 {
        0 => 5,
        k => k,
    }
}

pub(crate) fn body_len(spec: &MapSpec) -> u64 {
    nr_bits(spec) / 8
}

pub(crate) struct Bloom {
    region: Region,
    mask: u64,
    k: u32,
    seed: u64,
}

impl Bloom {
    pub(crate) fn new(spec: &MapSpec, env: HeaderEnv, region: Region) -> Self {
        Bloom {
            region,
            mask: nr_bits(spec) - 1,
            k: nr_hash_funcs(spec),
            seed: env.seed,
        }
    }

    /// Word offset and bit of hash function `i` for `value`.
    fn bit(&self, value: &[u8], i: u32) -> (usize, u64) {
        let h = header::hash(self.seed.wrapping_add(u64::from(i)), value) & self.mask;
        (HEADER_SIZE + (h / 64) as usize * 8, 1 << (h % 64))
    }
}

impl MapOps for Bloom {
    fn region(&self) -> &Region {
        &self.region
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    /// Syscall lookup: the value buffer is the query (as the kernel's
    /// `map_lookup_elem` copies it in for bloom filters).
    fn lookup(&self, _key: &[u8], out: &mut [u8], _lock: bool) -> Result<()> {
        self.peek(out)
    }

    fn update(&self, _key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        self.push(value, flags)
    }

    fn delete(&self, _key: &[u8]) -> Result<()> {
        Err(MapError::OpNotSupported {
            reason: "bloom filters cannot delete",
        })
    }

    fn get_next_key(&self, _key: Option<&[u8]>, _next: &mut [u8]) -> Result<()> {
        Err(MapError::OpNotSupported {
            reason: "bloom filters have no keys",
        })
    }

    fn push(&self, value: &[u8], flags: u64) -> Result<()> {
        if flags != BPF_ANY {
            return Err(inval("bloom filter push takes BPF_ANY only"));
        }
        for i in 0..self.k {
            let (off, bit) = self.bit(value, i);
            self.region.u64_at(off).fetch_or(bit, Ordering::AcqRel);
        }
        Ok(())
    }

    fn peek(&self, value: &mut [u8]) -> Result<()> {
        for i in 0..self.k {
            let (off, bit) = self.bit(value, i);
            if self.region.u64_at(off).load(Ordering::Acquire) & bit == 0 {
                return Err(MapError::NotFound);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uapi::MapType;

    #[test]
    fn sizes_follow_the_kernel() {
        let s = |max, extra| MapSpec::new(MapType::BloomFilter, 0, 4, max).with_map_extra(extra);
        assert_eq!(nr_bits(&s(1, 0)), 64);
        assert_eq!(nr_bits(&s(100, 3)), 512); // 100*3/5*7 = 420 -> 512
        assert_eq!(nr_bits(&s(u32::MAX, 15)), 1 << 32);
        assert_eq!(nr_hash_funcs(&s(1, 0)), 5);
    }
}

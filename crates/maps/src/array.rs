//! `array` and `percpu_array`: `max_entries` value slots, all existing from
//! creation, indexed by a native-endian `u32` key.
//!
//! Layout after the header: slot `i` (of CPU `c`, per-CPU) at
//! `HEADER_SIZE + (i * ncpus + c) * slot`, `slot = round8(value_size)`.
//! Nothing but values is stored, so there is nothing a crash can tear but a
//! value being copied (which the kernel's arrays do not protect either).

use std::any::Any;

use uapi::map::update_flags::{BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST};
use uapi::MapType;

use crate::batch::Cursor;
use crate::error::{inval, MapError, Result};
use crate::header::{HeaderEnv, ValueCopy, HEADER_SIZE};
use crate::region::Region;
use crate::spec::MapSpec;
use crate::{index_of, BatchOps, CheckReport, MapOps};

pub(crate) fn body_len(spec: &MapSpec, ncpus: u32) -> Result<u64> {
    let per = if spec.map_type.is_percpu() {
        u64::from(ncpus)
    } else {
        1
    };
    (spec.value_slot() as u64)
        .checked_mul(per)
        .and_then(|b| b.checked_mul(u64::from(spec.max_entries)))
        .ok_or(MapError::NoMemory { bytes: u64::MAX })
}

/// Where the values of an array map (`BPF_MAP_TYPE_ARRAY`,
/// `BPF_MAP_TYPE_PERCPU_ARRAY`) lie, for engines that inline
/// `bpf_map_lookup_elem` as the kernel's verifier does
/// (`array_map_gen_lookup`): the value of index `i` (`i < max_entries`)
/// for worker `w` (`w < ncpus`; always 0 for a plain array) is at
/// `base + i * stride + w * cpu_stride`, the same address
/// [`crate::Map::lookup_ptr`] returns. Valid as long as the map lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayLayout {
    pub base: *mut u8,
    pub stride: usize,
    pub max_entries: u32,
    /// Per-CPU maps: bytes between two workers' values of one index, and
    /// the number of workers. `None` for a plain array.
    pub per_cpu: Option<(usize, u32)>,
}

pub(crate) struct ArrayMap {
    region: Region,
    max: u32,
    ncpus: usize,
    percpu: bool,
    slot: usize,
    copy: ValueCopy,
}

impl ArrayMap {
    pub(crate) fn new(spec: &MapSpec, env: HeaderEnv, region: Region) -> Self {
        ArrayMap {
            region,
            max: spec.max_entries,
            ncpus: env.ncpus as usize,
            percpu: spec.map_type == MapType::PercpuArray,
            slot: spec.value_slot(),
            copy: ValueCopy::of(spec),
        }
    }

    pub(crate) fn layout(&self) -> ArrayLayout {
        let per = if self.percpu { self.ncpus } else { 1 };
        ArrayLayout {
            base: self.region.ptr(self.slot_off(0, 0)),
            stride: per * self.slot,
            max_entries: self.max,
            per_cpu: self.percpu.then_some((self.slot, self.ncpus as u32)),
        }
    }

    fn slot_off(&self, idx: u32, cpu: usize) -> usize {
        let per = if self.percpu { self.ncpus } else { 1 };
        HEADER_SIZE + (idx as usize * per + cpu) * self.slot
    }

    /// Kernel order of checks in `array_map_update_elem`.
    fn check_update(&self, key: &[u8], flags: u64) -> Result<u32> {
        if flags & !BPF_F_LOCK > BPF_EXIST {
            return Err(inval("unknown update flag"));
        }
        let idx = index_of(key);
        if idx >= self.max {
            return Err(MapError::TooBig {
                reason: "array index beyond max_entries",
            });
        }
        if flags & BPF_NOEXIST != 0 {
            return Err(MapError::Exists);
        }
        Ok(idx)
    }
}

impl MapOps for ArrayMap {
    fn region(&self) -> &Region {
        &self.region
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, key: &[u8], out: &mut [u8], lock: bool) -> Result<()> {
        let idx = index_of(key);
        if idx >= self.max {
            return Err(MapError::NotFound);
        }
        if self.percpu {
            for (cpu, chunk) in out.chunks_exact_mut(self.slot).enumerate() {
                self.region.read(self.slot_off(idx, cpu), chunk);
            }
        } else {
            self.copy
                .read(&self.region, self.slot_off(idx, 0), out, lock);
        }
        Ok(())
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        let idx = self.check_update(key, flags)?;
        if self.percpu {
            for (cpu, chunk) in value.chunks_exact(self.slot).enumerate() {
                self.region.write(self.slot_off(idx, cpu), chunk);
            }
        } else {
            let lock = flags & BPF_F_LOCK != 0;
            self.copy
                .write(&self.region, self.slot_off(idx, 0), value, lock);
        }
        Ok(())
    }

    fn delete(&self, _key: &[u8]) -> Result<()> {
        Err(inval("array elements cannot be deleted"))
    }

    fn get_next_key(&self, key: Option<&[u8]>, next: &mut [u8]) -> Result<()> {
        let n = match key.map(index_of) {
            Some(i) if i < self.max => {
                if i == self.max - 1 {
                    return Err(MapError::NotFound);
                }
                i + 1
            }
            _ => 0,
        };
        next.copy_from_slice(&n.to_ne_bytes());
        Ok(())
    }

    fn lookup_ptr(&self, key: &[u8], cpu: u32) -> *mut u8 {
        let idx = index_of(key);
        if idx >= self.max {
            return std::ptr::null_mut();
        }
        let cpu = if self.percpu { cpu as usize } else { 0 };
        self.region.ptr(self.slot_off(idx, cpu))
    }

    fn update_prog(&self, key: &[u8], value: &[u8], flags: u64, cpu: u32) -> Result<()> {
        let idx = self.check_update(key, flags)?;
        let cpu = if self.percpu { cpu as usize } else { 0 };
        self.copy.write(
            &self.region,
            self.slot_off(idx, cpu),
            value,
            flags & BPF_F_LOCK != 0,
        );
        Ok(())
    }

    fn batch_ops(&self) -> BatchOps {
        BatchOps {
            lookup: Some(Cursor::Key),
            lookup_and_delete: false,
            update: true,
            delete: false,
        }
    }

    fn check(&self) -> Result<CheckReport> {
        Ok(CheckReport {
            live: u64::from(self.max),
            ..CheckReport::default()
        })
    }
}

//! `prog_array`, `array_of_maps` and `cgroup_array`: arrays whose slots name
//! other objects.
//!
//! The kernel takes an fd on update and answers an id on lookup; the registry
//! that owns programs and maps is another crate's job, so here a slot simply
//! stores the `u32` id it is given. Each slot is one `AtomicU64`:
//! `0` = empty, `(1 << 32) | id` = occupied, so that id 0 stays storable and
//! a tail call reads a slot with one atomic load.
//!
//! `cgroup_array` stores what it is given for a cgroup fd (the syscall
//! layer's choice: typically the cgroup id); the kernel has no syscall
//! lookup for it (`ENOTSUPP`), and programs read it only through
//! `bpf_skb_under_cgroup`/`bpf_current_task_under_cgroup`, for which
//! [`crate::Map::redirect_target`] gives the stored number.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};

use uapi::map::update_flags::BPF_ANY;
use uapi::MapType;

use crate::batch::Cursor;
use crate::error::{inval, MapError, Result};
use crate::header::HEADER_SIZE;
use crate::region::Region;
use crate::spec::MapSpec;
use crate::{index_of, BatchOps, CheckReport, MapOps};

const PRESENT: u64 = 1 << 32;

pub(crate) fn body_len(spec: &MapSpec) -> u64 {
    u64::from(spec.max_entries) * 8
}

pub(crate) struct FdArray {
    region: Region,
    max: u32,
    of_maps: bool,
    cgroup: bool,
}

impl FdArray {
    pub(crate) fn new(spec: &MapSpec, region: Region) -> Self {
        FdArray {
            region,
            max: spec.max_entries,
            of_maps: spec.map_type == MapType::ArrayOfMaps,
            cgroup: spec.map_type == MapType::CgroupArray,
        }
    }

    fn slot(&self, idx: u32) -> &AtomicU64 {
        self.region.u64_at(HEADER_SIZE + idx as usize * 8)
    }

    /// The id stored at `idx`, if any.
    pub(crate) fn get(&self, idx: u32) -> Option<u32> {
        if idx >= self.max {
            return None;
        }
        let v = self.slot(idx).load(Ordering::Acquire);
        (v & PRESENT != 0).then_some(v as u32)
    }
}

impl MapOps for FdArray {
    fn region(&self) -> &Region {
        &self.region
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, key: &[u8], out: &mut [u8], _lock: bool) -> Result<()> {
        if self.cgroup {
            // No `map_fd_sys_lookup_elem` for cgroup arrays.
            return Err(MapError::NotSupported);
        }
        let id = self.get(index_of(key)).ok_or(MapError::NotFound)?;
        out.copy_from_slice(&id.to_ne_bytes());
        Ok(())
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        if flags != BPF_ANY {
            return Err(inval("fd arrays only take BPF_ANY"));
        }
        let idx = index_of(key);
        if idx >= self.max {
            return Err(MapError::TooBig {
                reason: "array index beyond max_entries",
            });
        }
        let id = u32::from_ne_bytes(value.try_into().expect("value_size 4"));
        self.slot(idx)
            .store(PRESENT | u64::from(id), Ordering::Release);
        Ok(())
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        let idx = index_of(key);
        if idx >= self.max {
            return Err(MapError::TooBig {
                reason: "array index beyond max_entries",
            });
        }
        if self.slot(idx).swap(0, Ordering::AcqRel) & PRESENT == 0 {
            return Err(MapError::NotFound);
        }
        Ok(())
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

    /// Programs look up inner maps only; the pointer is to the slot, whose
    /// low 32 bits (little-endian) are the inner map id.
    fn lookup_ptr(&self, key: &[u8], _cpu: u32) -> *mut u8 {
        let idx = index_of(key);
        if !self.of_maps || self.get(idx).is_none() {
            return std::ptr::null_mut();
        }
        self.region.ptr(HEADER_SIZE + idx as usize * 8)
    }

    fn redirect_target(&self, key: &[u8]) -> Option<crate::RedirectTarget> {
        let idx = u32::from_ne_bytes(key.try_into().ok()?);
        self.get(idx).map(|id| crate::RedirectTarget {
            target: u64::from(id),
            prog_id: 0,
        })
    }

    fn batch_ops(&self) -> BatchOps {
        BatchOps {
            lookup: self.of_maps.then_some(Cursor::Key),
            ..BatchOps::default()
        }
    }

    fn check(&self) -> Result<CheckReport> {
        let live = (0..self.max).filter(|&i| self.get(i).is_some()).count() as u64;
        Ok(CheckReport {
            live,
            free: u64::from(self.max) - live,
            leaked: 0,
            ..Default::default()
        })
    }
}

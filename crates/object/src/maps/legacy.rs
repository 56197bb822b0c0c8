//! The legacy `maps` section: an array of `struct bpf_map_def` (five
//! `u32`: type, key size, value size, max entries, flags), one symbol per
//! map. libbpf 1.0 dropped it; we follow the last libbpf that read it
//! (0.8): the record size is the section size divided by the number of map
//! symbols, shorter records are zero-extended, and longer ones are
//! accepted only when the extra bytes are all zero.
//!
//! One longer layout is known exactly and read as such: iproute2's
//! `struct bpf_elf_map` (the five fields, then `id`, `pinning`, `inner_id`,
//! `inner_idx`), which `tc` objects use, in full (36 bytes) or in the
//! shorter forms of older iproute2 headers (24, 28, 32 bytes), whose
//! missing fields iproute2 reads as zero. Its pinning becomes
//! [`Pinning::ObjectNs`] / [`Pinning::GlobalNs`]; its map-in-map references
//! (`inner_id`, `inner_idx`) are not supported.

use super::{Maps, Origin};
use crate::elf::{Elf, Section, STT_SECTION};
use crate::error::{ObjectError, Result};
use crate::spec::{MapKind, MapSpec, Pinning};
use uapi::MapType;

/// `sizeof(struct bpf_map_def)`.
const DEF_SIZE: u64 = 20;
/// `sizeof(struct bpf_elf_map)` (iproute2's `include/bpf_elf.h`).
const ELF_MAP_SIZE: u64 = 36;

/// Adds the maps of the `maps` section, if there is one.
pub(crate) fn legacy_maps(elf: &Elf<'_>, maps: &mut Maps) -> Result<()> {
    let Some(sec) = elf.section_by_name("maps") else {
        return Ok(());
    };
    if sec.is_nobits() {
        return Err(ObjectError::LegacyMapsSize {
            size: sec.size,
            count: 0,
        });
    }
    let syms: Vec<_> = elf
        .symbols_in(sec.index)
        .filter(|s| s.kind != STT_SECTION)
        .collect();
    let size = sec.data.len() as u64;
    let count = syms.len();
    if size == 0 || count == 0 || !size.is_multiple_of(count as u64) {
        return Err(ObjectError::LegacyMapsSize { size, count });
    }
    let rec = size / count as u64;
    for sym in syms {
        let spec = one(sec, sym.name, sym.value, rec)?;
        maps.push(
            spec,
            Origin {
                shndx: sec.index,
                offset: sym.value,
                size: rec,
                data: None,
                values_offset: None,
            },
        );
    }
    Ok(())
}

fn one(sec: &Section<'_>, name: &str, offset: u64, rec: u64) -> Result<MapSpec> {
    let bad = |why| ObjectError::LegacyMap {
        map: name.to_string(),
        offset,
        why,
    };
    let end = offset
        .checked_add(rec)
        .filter(|&e| e <= sec.data.len() as u64)
        .ok_or_else(|| bad("definition runs past the end of the section"))?;
    // Both bounds were checked against the section length above.
    let bytes = &sec.data[offset as usize..end as usize];
    let mut def = [0u8; ELF_MAP_SIZE as usize];
    let n = bytes.len().min(def.len());
    def[..n].copy_from_slice(&bytes[..n]);
    let word = |i: usize| u32::from_le_bytes([def[i], def[i + 1], def[i + 2], def[i + 3]]);
    let mut pinning = Pinning::None;
    if rec > DEF_SIZE && rec <= ELF_MAP_SIZE && rec.is_multiple_of(4) {
        // id (20) only names the map for inner_id references.
        pinning = match word(24) {
            0 => Pinning::None,
            1 => Pinning::ObjectNs,
            2 => Pinning::GlobalNs,
            _ => return Err(bad("unknown iproute2 pinning value")),
        };
        if word(28) != 0 || word(32) != 0 {
            return Err(ObjectError::unsupported(format!(
                "legacy map '{name}': iproute2 map-in-map (inner_id/inner_idx)"
            )));
        }
    } else if bytes[(DEF_SIZE as usize).min(bytes.len())..]
        .iter()
        .any(|&b| b != 0)
    {
        return Err(bad(
            "unrecognized, non-zero options after struct bpf_map_def",
        ));
    }
    let map_type = word(0);
    Ok(MapSpec {
        name: name.to_string(),
        kind: MapKind::Legacy,
        map_type: MapType::from_id(map_type).ok_or(ObjectError::UnknownMapType {
            map: name.to_string(),
            map_type,
        })?,
        key_size: word(4),
        value_size: word(8),
        max_entries: word(12),
        flags: word(16),
        numa_node: 0,
        map_extra: 0,
        pinning,
        inner: None,
        init_slots: Vec::new(),
        data: None,
        freeze: false,
        btf_key_type_id: 0,
        btf_value_type_id: 0,
        section: sec.name.to_string(),
        section_offset: offset,
    })
}

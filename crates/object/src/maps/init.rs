//! Initial contents of program arrays and maps of maps: `.values = {
//! [3] = &prog }` in a BTF map definition compiles to a relocation in
//! `.rel.maps` at the slot's address. libbpf's
//! `bpf_object__collect_map_relos`.

use super::Maps;
use crate::elf::Elf;
use crate::error::{ObjectError, Result};
use crate::funcs::Func;
use crate::spec::InitSlot;
use std::collections::HashMap;
use uapi::MapType;

/// Fills `init_slots` of the maps from `.rel.maps`. `programs[i]` is the
/// index in `funcs` of program `i`.
pub(crate) fn apply_map_relocations(
    elf: &Elf<'_>,
    funcs: &[Func],
    programs: &[usize],
    maps: &mut Maps,
) -> Result<()> {
    let Some(maps_sec) = elf.section_by_name(".maps") else {
        return Ok(());
    };
    // BTF maps of .maps by offset (they do not overlap: DATASEC variables).
    let mut defs: Vec<(u64, u64, usize)> = (0..maps.specs.len())
        .filter(|&i| maps.origins[i].data.is_none() && maps.origins[i].shndx == maps_sec.index)
        .map(|i| (maps.origins[i].offset, maps.origins[i].size, i))
        .collect();
    defs.sort_unstable();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, &f) in programs.iter().enumerate() {
        by_name.entry(funcs[f].name.as_str()).or_insert(i);
    }
    for rs in elf.rels.iter().filter(|r| r.target == maps_sec.index) {
        for (index, rel) in rs.entries.iter().enumerate() {
            let sym =
                elf.symbols
                    .get(rel.sym as usize)
                    .ok_or_else(|| ObjectError::MapRelocation {
                        index,
                        symbol: format!("#{}", rel.sym),
                        why: "symbol index out of range".into(),
                    })?;
            let err = |why: String| ObjectError::MapRelocation {
                index,
                symbol: sym.name.to_string(),
                why,
            };
            // The last definition starting at or before the slot.
            let pos = defs.partition_point(|&(off, _, _)| off <= rel.offset);
            let map = pos
                .checked_sub(1)
                .map(|p| defs[p])
                .filter(|&(off, size, _)| {
                    rel.offset.checked_add(8).is_some_and(|e| e <= off + size)
                })
                .map(|(_, _, i)| i)
                .ok_or_else(|| err(format!("no map at offset {}", rel.offset)))?;
            let spec = &maps.specs[map];
            let slot = match spec.map_type {
                MapType::ArrayOfMaps | MapType::HashOfMaps => {
                    if sym.section() != Some(maps_sec.index) {
                        return Err(err("not a BTF-defined map".into()));
                    }
                    if spec.map_type == MapType::HashOfMaps && spec.key_size != 4 {
                        return Err(err(format!(
                            "hash-of-maps '{}' must have a 4-byte key",
                            spec.name
                        )));
                    }
                    let target = maps
                        .find_name(sym.name)
                        .ok_or_else(|| err("not a map of this object".into()))?;
                    InitSlot::Map(target)
                }
                MapType::ProgArray => {
                    let target = *by_name
                        .get(sym.name)
                        .ok_or_else(|| err("not a program of this object".into()))?;
                    let f = &funcs[programs[target]];
                    if sym.section() != Some(f.section) || f.insn_off as u64 * 8 != sym.value {
                        return Err(err("not an entry-point program".into()));
                    }
                    InitSlot::Program(target)
                }
                _ => {
                    return Err(err(format!(
                        "map '{}' is neither a program array nor a map of maps",
                        spec.name
                    )))
                }
            };
            let values = maps.origins[map]
                .values_offset
                .ok_or_else(|| err("map definition has no 'values' field".into()))?;
            let rel_off = rel.offset - maps.origins[map].offset;
            let moff = rel_off
                .checked_sub(values)
                .filter(|m| m % 8 == 0)
                .ok_or_else(|| err(format!("offset {rel_off} is not a 'values' slot")))?;
            let idx = u32::try_from(moff / 8).map_err(|_| err("slot index too large".into()))?;
            let slots = &mut maps.specs[map].init_slots;
            match slots.binary_search_by_key(&idx, |s| s.0) {
                Ok(pos) => slots[pos].1 = slot,
                Err(pos) => slots.insert(pos, (idx, slot)),
            }
        }
    }
    Ok(())
}

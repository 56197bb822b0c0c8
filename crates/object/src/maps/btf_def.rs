//! BTF-defined maps: every variable of the `.maps` section is a map whose
//! definition is its *type*. `bpf_helpers.h` encodes numbers as pointers to
//! arrays (`__uint(max_entries, 64)` is `int (*max_entries)[64]`), types as
//! pointers to them (`__type(key, u32)` is `u32 *key`), and inner maps or
//! program arrays as a zero-length array of pointers (`__array(values,
//! struct {...})`). This follows libbpf's `parse_btf_map_def` in strict
//! mode: unknown fields are refused.

use super::{Maps, Origin};
use crate::datasec;
use crate::elf::Elf;
use crate::error::{ObjectError, Result};
use crate::spec::{MapKind, MapSpec, Pinning};
use btf::{Btf, Composite, Type, TypeId, VarLinkage};
use uapi::MapType;

/// Page size used to round ring buffer sizes (libbpf uses the host's;
/// oxbpf's runtime uses 4 KiB pages).
const PAGE_SIZE: u32 = 4096;

/// One parsed definition (outer or inner).
#[derive(Debug, Default)]
struct Def {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    numa_node: u32,
    pinning: u32,
    map_extra: u64,
    key_type_id: TypeId,
    value_type_id: TypeId,
    inner: Option<Box<Def>>,
    /// Byte offset of the `values` member, when present.
    values_offset: Option<u64>,
}

/// Adds the maps of `.maps`.
pub(crate) fn btf_maps(elf: &Elf<'_>, btf: Option<&Btf>, maps: &mut Maps) -> Result<()> {
    let Some(sec) = elf.section_by_name(".maps") else {
        return Ok(());
    };
    let btf = btf.ok_or(ObjectError::BtfRequired {
        what: "BTF-defined maps (.maps)",
    })?;
    let (_, vars) = datasec::vars(btf, elf, ".maps")?.ok_or_else(|| ObjectError::BtfMap {
        map: ".maps".into(),
        why: "no DATASEC '.maps' in BTF".into(),
    })?;
    for (i, var) in vars.iter().enumerate() {
        if var.name.is_empty() {
            return Err(ObjectError::BtfMap {
                map: format!("#{i}"),
                why: "empty name".into(),
            });
        }
        let err = |why: String| ObjectError::BtfMap {
            map: var.name.clone(),
            why,
        };
        let end = u64::from(var.offset) + u64::from(var.size);
        if end > sec.size {
            return Err(err(format!(
                "definition at offset {} size {} runs past the section ({} bytes)",
                var.offset, var.size, sec.size
            )));
        }
        if !matches!(var.linkage, VarLinkage::Global) {
            return Err(ObjectError::unsupported(format!(
                "map '{}': {:?} linkage (only global maps are supported, as in libbpf)",
                var.name, var.linkage
            )));
        }
        let def_id = resolve(btf, var.type_id, &var.name)?;
        let Some(Type::Struct(def_t)) = btf.type_by_id(def_id) else {
            return Err(err("definition is not a struct".into()));
        };
        if def_t.size > var.size {
            return Err(err("definition larger than its variable".into()));
        }
        let def = parse_def(btf, &var.name, def_t, false)?;
        let values_offset = def.values_offset;
        let spec = to_spec(&var.name, sec.name, u64::from(var.offset), &def)?;
        maps.push(
            spec,
            Origin {
                shndx: sec.index,
                offset: u64::from(var.offset),
                size: u64::from(var.size),
                data: None,
                values_offset,
            },
        );
    }
    Ok(())
}

fn resolve(btf: &Btf, id: TypeId, map: &str) -> Result<TypeId> {
    btf.resolve(id).map_err(|source| ObjectError::BtfQuery {
        what: format!("map '{map}'"),
        source,
    })
}

fn to_spec(name: &str, section: &str, offset: u64, def: &Def) -> Result<MapSpec> {
    let map_type = MapType::from_id(def.map_type).ok_or(ObjectError::UnknownMapType {
        map: name.to_string(),
        map_type: def.map_type,
    })?;
    let mut max_entries = def.max_entries;
    if matches!(map_type, MapType::Ringbuf | MapType::UserRingbuf) {
        max_entries = ringbuf_size(max_entries);
    }
    let inner = match &def.inner {
        Some(d) => Some(Box::new(to_spec(
            &format!("{name}.inner"),
            section,
            offset,
            d,
        )?)),
        None => None,
    };
    Ok(MapSpec {
        name: name.to_string(),
        kind: MapKind::Btf,
        map_type,
        key_size: def.key_size,
        value_size: def.value_size,
        max_entries,
        flags: def.map_flags,
        numa_node: def.numa_node,
        map_extra: def.map_extra,
        pinning: if def.pinning == 1 {
            Pinning::ByName
        } else {
            Pinning::None
        },
        inner,
        init_slots: Vec::new(),
        data: None,
        freeze: false,
        btf_key_type_id: def.key_type_id,
        btf_value_type_id: def.value_type_id,
        section: section.to_string(),
        section_offset: offset,
    })
}

/// libbpf's `adjust_ringbuf_sz`: the kernel wants a power-of-two number of
/// pages; round up to the next one (0 stays 0 so the kernel complains).
fn ringbuf_size(sz: u32) -> u32 {
    if sz == 0 || (sz.is_multiple_of(PAGE_SIZE) && (sz / PAGE_SIZE).is_power_of_two()) {
        return sz;
    }
    let mut mul: u32 = 1;
    while mul <= u32::MAX / PAGE_SIZE {
        if mul * PAGE_SIZE > sz {
            return mul * PAGE_SIZE;
        }
        mul <<= 1;
    }
    sz
}

fn parse_def(btf: &Btf, map: &str, def_t: &Composite, is_inner: bool) -> Result<Def> {
    let err = |why: String| ObjectError::BtfMap {
        map: map.to_string(),
        why,
    };
    let mut def = Def::default();
    let n = def_t.members.len();
    for (i, m) in def_t.members.iter().enumerate() {
        let name = btf
            .name_by_offset(m.name_off)
            .ok_or_else(|| err(format!("field #{i} has no readable name")))?;
        match name {
            "type" => def.map_type = field_int(btf, map, name, m.type_id)?,
            "max_entries" => def.max_entries = field_int(btf, map, name, m.type_id)?,
            "map_flags" => def.map_flags = field_int(btf, map, name, m.type_id)?,
            "numa_node" => def.numa_node = field_int(btf, map, name, m.type_id)?,
            "map_extra" => def.map_extra = u64::from(field_int(btf, map, name, m.type_id)?),
            "key_size" => {
                let sz = field_int(btf, map, name, m.type_id)?;
                set_size(&mut def.key_size, sz, map, "key")?;
            }
            "value_size" => {
                let sz = field_int(btf, map, name, m.type_id)?;
                set_size(&mut def.value_size, sz, map, "value")?;
            }
            "key" | "value" => {
                let (target, sz) = pointee_size(btf, map, name, m.type_id)?;
                if name == "key" {
                    set_size(&mut def.key_size, sz, map, "key")?;
                    def.key_type_id = target;
                } else {
                    set_size(&mut def.value_size, sz, map, "value")?;
                    def.value_type_id = target;
                }
            }
            "values" => {
                if is_inner {
                    return Err(ObjectError::unsupported(format!(
                        "map '{map}': multi-level inner maps"
                    )));
                }
                if i != n - 1 {
                    return Err(err("'values' must be the last field".into()));
                }
                def.inner = values(btf, map, m.type_id, &mut def)?;
                def.values_offset = Some(u64::from(m.bit_offset / 8));
            }
            "pinning" => {
                if is_inner {
                    return Err(err("inner map definitions cannot be pinned".into()));
                }
                let v = field_int(btf, map, name, m.type_id)?;
                if v > 1 {
                    return Err(err(format!("invalid pinning value {v}")));
                }
                def.pinning = v;
            }
            other => {
                return Err(ObjectError::unsupported(format!(
                    "map '{map}': unknown field '{other}'"
                )))
            }
        }
    }
    if def.map_type == 0 {
        return Err(err("map type isn't specified".into()));
    }
    Ok(def)
}

fn set_size(slot: &mut u32, sz: u32, map: &str, what: &str) -> Result<()> {
    if *slot != 0 && *slot != sz {
        return Err(ObjectError::BtfMap {
            map: map.to_string(),
            why: format!("conflicting {what} size {} != {sz}", *slot),
        });
    }
    *slot = sz;
    Ok(())
}

/// `__uint(name, N)`: a pointer to an array of N elements.
fn field_int(btf: &Btf, map: &str, field: &str, id: TypeId) -> Result<u32> {
    let err = |why: String| ObjectError::BtfMap {
        map: map.to_string(),
        why: format!("attr '{field}': {why}"),
    };
    let ptr = resolve(btf, id, map)?;
    let Some(Type::Ptr(p)) = btf.type_by_id(ptr) else {
        return Err(err("expected a pointer".into()));
    };
    match btf.type_by_id(p.type_id) {
        Some(Type::Array(a)) => Ok(a.nelems),
        Some(t) => Err(err(format!("expected ARRAY, got {}", t.kind()))),
        None => Err(err(format!("type [{}] not found", p.type_id))),
    }
}

/// `__type(name, T)`: a pointer to T; returns T's id and size.
fn pointee_size(btf: &Btf, map: &str, field: &str, id: TypeId) -> Result<(TypeId, u32)> {
    let err = |why: String| ObjectError::BtfMap {
        map: map.to_string(),
        why: format!("{field} spec: {why}"),
    };
    let Some(Type::Ptr(p)) = btf.type_by_id(id) else {
        return Err(err("not a pointer".into()));
    };
    let sz = btf
        .size_of(p.type_id)
        .map_err(|e| err(format!("can't determine size of type [{}]: {e}", p.type_id)))?;
    let sz = u32::try_from(sz).map_err(|_| err(format!("size {sz} too large")))?;
    Ok((p.type_id, sz))
}

/// `__array(values, ...)`: a zero-length array of pointers to a function
/// prototype (program arrays) or to an inner map definition.
fn values(btf: &Btf, map: &str, id: TypeId, def: &mut Def) -> Result<Option<Box<Def>>> {
    let err = |why: String| ObjectError::BtfMap {
        map: map.to_string(),
        why,
    };
    let mt = MapType::from_id(def.map_type);
    let in_map = matches!(mt, Some(MapType::ArrayOfMaps | MapType::HashOfMaps));
    let prog_array = mt == Some(MapType::ProgArray);
    if !in_map && !prog_array {
        return Err(ObjectError::unsupported(format!(
            "map '{map}': 'values' on a map that is neither a map-in-map nor a program array"
        )));
    }
    set_size(&mut def.value_size, 4, map, "value")?;
    let desc = if in_map {
        "map-in-map inner"
    } else {
        "prog-array value"
    };
    let Some(Type::Array(arr)) = btf.type_by_id(id) else {
        return Err(err(format!("{desc} spec is not a zero-sized array")));
    };
    if arr.nelems != 0 {
        return Err(err(format!("{desc} spec is not a zero-sized array")));
    }
    let ptr = resolve(btf, arr.elem_type, map)?;
    let Some(Type::Ptr(p)) = btf.type_by_id(ptr) else {
        return Err(err(format!("{desc} def is not a pointer")));
    };
    let target = resolve(btf, p.type_id, map)?;
    match btf.type_by_id(target) {
        Some(Type::FuncProto(_)) if prog_array => Ok(None),
        Some(Type::Struct(inner)) if in_map => {
            let inner_name = format!("{map}.inner");
            Ok(Some(Box::new(parse_def(btf, &inner_name, inner, true)?)))
        }
        Some(t) => Err(err(format!(
            "{desc} def is of unexpected kind {}",
            t.kind()
        ))),
        None => Err(err(format!("{desc} def type [{target}] not found"))),
    }
}

#[cfg(test)]
mod tests {
    use super::ringbuf_size;

    #[test]
    fn ringbuf_rounding() {
        assert_eq!(ringbuf_size(0), 0);
        assert_eq!(ringbuf_size(4096), 4096);
        assert_eq!(ringbuf_size(256 * 1024), 256 * 1024);
        assert_eq!(ringbuf_size(1), 4096);
        assert_eq!(ringbuf_size(4097), 8192);
        assert_eq!(ringbuf_size(3 * 4096), 4 * 4096);
        assert_eq!(ringbuf_size(u32::MAX), u32::MAX);
    }
}

//! Global data sections (`.data*`, `.rodata*`, `.bss*`) and `.kconfig`
//! become one-element array maps, as libbpf's
//! `bpf_object__init_internal_map` makes them: key 4 bytes, value the
//! section, `.rodata` and `.kconfig` read-only to programs and frozen,
//! `BPF_F_MMAPABLE` when a non-static variable lives there.

use super::{Maps, Origin};
use crate::datasec;
use crate::elf::{Elf, Section};
use crate::error::{ObjectError, Result};
use crate::spec::{DataKind, MapKind, MapSpec, Pinning};
use btf::{Btf, VarLinkage};
use uapi::map::create_flags::{BPF_F_MMAPABLE, BPF_F_RDONLY_PROG};
use uapi::MapType;

/// `BPF_OBJ_NAME_LEN`.
const OBJ_NAME_LEN: usize = uapi::OBJ_NAME_LEN;

/// Largest `.bss` we materialise as zeroes. The kernel caps array values
/// at `KMALLOC_MAX_SIZE` (4 MiB) anyway; this only keeps a hostile
/// `sh_size` from allocating without bound.
const MAX_BSS: u64 = 1 << 28;

/// libbpf's `internal_map_name`: as much of the object name as fits before
/// the section name (which keeps at least 7 characters, `.rodata`), 15
/// characters in all; sections named with a second dot (`.rodata.str1.1`,
/// `.data.custom`) are not prefixed at all. Characters the kernel does not
/// accept in names become `_`.
pub(crate) fn internal_map_name(obj_name: &str, real_name: &str) -> String {
    let max = OBJ_NAME_LEN - 1;
    let sfx_len = real_name.len().max(7).min(max);
    let custom = real_name.get(1..).is_some_and(|r| r.contains('.'));
    let pfx_len = if custom {
        0
    } else {
        (OBJ_NAME_LEN - sfx_len - 1).min(obj_name.len())
    };
    let mut bytes: Vec<u8> = obj_name.as_bytes()[..pfx_len].to_vec();
    bytes.extend_from_slice(&real_name.as_bytes()[..sfx_len.min(real_name.len())]);
    bytes
        .into_iter()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' {
                b as char
            } else {
                '_'
            }
        })
        .collect()
}

/// The data kind libbpf gives section `s`, if any (`bpf_object__elf_collect`).
fn data_kind(s: &Section<'_>) -> Option<DataKind> {
    let is = |base: &str| {
        s.name == base
            || s.name
                .strip_prefix(base)
                .is_some_and(|r| r.starts_with('.'))
    };
    if s.is_progbits() && !s.is_exec() {
        if is(".data") {
            return Some(DataKind::Data);
        }
        if is(".rodata") {
            return Some(DataKind::Rodata);
        }
    }
    if s.is_nobits() && is(".bss") {
        return Some(DataKind::Bss);
    }
    None
}

/// Adds one map per non-empty global data section, in section order.
pub(crate) fn data_maps(
    elf: &Elf<'_>,
    btf: Option<&Btf>,
    obj_name: &str,
    maps: &mut Maps,
) -> Result<()> {
    for sec in &elf.sections {
        if elf.is_ignored(sec) {
            continue;
        }
        let Some(kind) = data_kind(sec) else { continue };
        if sec.size == 0 {
            continue;
        }
        let too_big = || {
            ObjectError::unsupported(format!(
                "global data section '{}' of {} bytes",
                sec.name, sec.size
            ))
        };
        let size = u32::try_from(sec.size).map_err(|_| too_big())?;
        let data = match kind {
            DataKind::Bss if sec.size > MAX_BSS => return Err(too_big()),
            DataKind::Bss => vec![0; size as usize],
            _ => sec.data.to_vec(),
        };
        let spec = internal_map(elf, btf, obj_name, sec.name, kind, data)?;
        maps.push(
            spec,
            Origin {
                shndx: sec.index,
                offset: 0,
                size: sec.size,
                data: Some(kind),
                values_offset: None,
            },
        );
    }
    Ok(())
}

/// Adds the `.kconfig` map holding the extern values `data`.
pub(crate) fn kconfig_map(
    elf: &Elf<'_>,
    btf: Option<&Btf>,
    obj_name: &str,
    data: Vec<u8>,
    maps: &mut Maps,
) -> Result<()> {
    let size = data.len() as u64;
    let spec = internal_map(elf, btf, obj_name, ".kconfig", DataKind::Kconfig, data)?;
    maps.push(
        spec,
        Origin {
            shndx: elf.symtab_index,
            offset: 0,
            size,
            data: Some(DataKind::Kconfig),
            values_offset: None,
        },
    );
    Ok(())
}

fn internal_map(
    elf: &Elf<'_>,
    btf: Option<&Btf>,
    obj_name: &str,
    real_name: &str,
    kind: DataKind,
    data: Vec<u8>,
) -> Result<MapSpec> {
    let read_only = matches!(kind, DataKind::Rodata | DataKind::Kconfig);
    let mut flags = if read_only { BPF_F_RDONLY_PROG } else { 0 };
    let mut value_type = 0;
    if let Some(btf) = btf {
        // libbpf: the first type of any kind with the section's name.
        value_type = btf.find_all_by_name(real_name).next().unwrap_or(0);
        if mmapable(btf, elf, real_name, kind) {
            flags |= BPF_F_MMAPABLE;
        }
    }
    // bpf_map__name(): custom `.data.*` / `.rodata.*` maps show their
    // section name; the kernel gets the truncated internal name, which
    // `MapSpec::kernel_name` recomputes.
    let custom = matches!(kind, DataKind::Data | DataKind::Rodata)
        && real_name != ".data"
        && real_name != ".rodata";
    Ok(MapSpec {
        name: if custom {
            real_name.to_string()
        } else {
            internal_map_name(obj_name, real_name)
        },
        kind: MapKind::Data {
            section: real_name.to_string(),
            data: kind,
        },
        map_type: MapType::Array,
        key_size: 4,
        value_size: u32::try_from(data.len())
            .map_err(|_| ObjectError::unsupported(format!("section '{real_name}' too large")))?,
        max_entries: 1,
        flags,
        numa_node: 0,
        map_extra: 0,
        pinning: Pinning::None,
        inner: None,
        init_slots: Vec::new(),
        data: Some(data),
        freeze: read_only,
        btf_key_type_id: 0,
        btf_value_type_id: value_type,
        section: real_name.to_string(),
        section_offset: 0,
    })
}

/// libbpf's `map_is_mmapable`: some variable of the section's `DATASEC` is
/// neither static nor `__hidden` (`.kconfig` variables count as global).
fn mmapable(btf: &Btf, elf: &Elf<'_>, real_name: &str, kind: DataKind) -> bool {
    if kind == DataKind::Kconfig {
        return btf
            .datasec(real_name)
            .is_some_and(|(_, d)| !d.vars.is_empty());
    }
    match datasec::vars(btf, elf, real_name) {
        Ok(Some((_, vars))) => vars
            .iter()
            .any(|v| !matches!(v.linkage, VarLinkage::Static) && !v.hidden),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::internal_map_name as n;

    #[test]
    fn libbpf_internal_names() {
        assert_eq!(n("my_object_name", ".rodata"), "my_objec.rodata");
        assert_eq!(n("my_object_name", ".bss"), "my_objec.bss");
        assert_eq!(n("my_object_name", ".kconfig"), "my_obje.kconfig");
        assert_eq!(
            n("my_object_name", ".rodata.abracadabra"),
            ".rodata.abracad"
        );
        assert_eq!(n("globals", ".data"), "globals.data");
        assert_eq!(n("globals", ".rodata.str1.1"), ".rodata.str1.1");
        assert_eq!(n("a-b", ".data"), "a_b.data");
        assert_eq!(n("x", ".data.custom"), ".data.custom");
    }
}

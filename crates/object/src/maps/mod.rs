//! Map definitions: legacy `maps` (`struct bpf_map_def`), BTF-defined
//! `.maps`, global data sections and `.kconfig`, in libbpf's order, plus
//! the bookkeeping relocation needs to find a map from a symbol.

mod btf_def;
mod data;
mod init;
mod legacy;

pub(crate) use btf_def::btf_maps;
pub(crate) use data::{data_maps, kconfig_map};
pub(crate) use init::apply_map_relocations;
pub(crate) use legacy::legacy_maps;

use crate::spec::{DataKind, MapSpec};
use std::collections::HashMap;

/// Where a map's definition lives, for resolving relocations.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// ELF section index of the definition (the symbol table's index for
    /// `.kconfig`, as libbpf does).
    pub shndx: usize,
    /// Byte offset of the definition in the section (0 for data maps).
    pub offset: u64,
    /// Size of the definition (BTF maps: the variable's size).
    pub size: u64,
    /// For data maps, which kind.
    pub data: Option<DataKind>,
    /// For BTF maps, the index of the `values` member's byte offset in the
    /// definition, when it has one.
    pub values_offset: Option<u64>,
}

/// The maps found so far, with their origins and lookup tables (the
/// first map wins, as in libbpf's linear searches).
#[derive(Debug, Default)]
pub(crate) struct Maps {
    pub specs: Vec<MapSpec>,
    pub origins: Vec<Origin>,
    defs: HashMap<(usize, u64), usize>,
    data: HashMap<usize, usize>,
    names: HashMap<String, usize>,
}

impl Maps {
    pub fn push(&mut self, spec: MapSpec, origin: Origin) {
        let i = self.specs.len();
        match origin.data {
            None => {
                self.defs.entry((origin.shndx, origin.offset)).or_insert(i);
            }
            Some(DataKind::Kconfig) => {}
            Some(_) => {
                self.data.entry(origin.shndx).or_insert(i);
            }
        }
        self.names.entry(spec.name.clone()).or_insert(i);
        self.specs.push(spec);
        self.origins.push(origin);
    }

    /// The non-data map defined at `offset` of section `shndx` (libbpf's
    /// `RELO_LD64` lookup).
    pub fn find_def(&self, shndx: usize, offset: u64) -> Option<usize> {
        self.defs.get(&(shndx, offset)).copied()
    }

    /// The data map of section `shndx` (libbpf's `RELO_DATA` lookup).
    pub fn find_data(&self, shndx: usize) -> Option<usize> {
        self.data.get(&shndx).copied()
    }

    /// The map called `name` (`bpf_map__name`).
    pub fn find_name(&self, name: &str) -> Option<usize> {
        self.names.get(name).copied()
    }

    /// The `.kconfig` map.
    pub fn kconfig(&self) -> Option<usize> {
        self.origins
            .iter()
            .position(|o| o.data == Some(DataKind::Kconfig))
    }
}

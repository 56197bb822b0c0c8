//! A thin, owned view of the parts of an ELF64 relocatable file that eBPF
//! objects use: sections (name, type, flags, bytes), the symbol table and
//! `SHT_REL` entries.
//!
//! The `object` crate does the bounds-checked reading; this module turns its
//! borrowed, endian-generic structures into plain values once, so that the
//! rest of the crate indexes vectors instead of threading `object`'s types
//! and endianness through every function. Nothing here panics on malformed
//! input: every offset the file gives is checked by `object` or here.

use crate::error::{ObjectError, Result};
use object::elf;
use object::read::elf::{FileHeader, Rel as _, SectionHeader as _, Sym as _};
use object::LittleEndian as LE;
use std::collections::HashMap;

/// `SHT_LLVM_ADDRSIG`, which libbpf ignores.
const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;

/// One section of the file, indexed by its ELF section index.
#[derive(Debug, Clone)]
pub(crate) struct Section<'a> {
    pub index: usize,
    pub name: &'a str,
    pub sh_type: u32,
    pub flags: u64,
    /// File bytes (empty for `SHT_NOBITS`).
    pub data: &'a [u8],
    /// `sh_size`: for `SHT_NOBITS` the size in memory.
    pub size: u64,
    pub entsize: u64,
}

impl Section<'_> {
    pub fn is_exec(&self) -> bool {
        self.sh_type == elf::SHT_PROGBITS.0 && self.flags & elf::SHF_EXECINSTR.0 != 0
    }

    pub fn is_progbits(&self) -> bool {
        self.sh_type == elf::SHT_PROGBITS.0
    }

    pub fn is_nobits(&self) -> bool {
        self.sh_type == elf::SHT_NOBITS.0
    }
}

/// One symbol-table entry.
#[derive(Debug, Clone)]
pub(crate) struct Symbol<'a> {
    pub index: usize,
    pub name: &'a str,
    pub bind: u8,
    pub kind: u8,
    pub visibility: u8,
    /// Raw `st_shndx` (0 = undefined, ≥ 0xff00 reserved).
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
}

pub(crate) const STB_LOCAL: u8 = 0;
pub(crate) const STB_GLOBAL: u8 = 1;
pub(crate) const STB_WEAK: u8 = 2;
pub(crate) const STT_NOTYPE: u8 = 0;
pub(crate) const STT_OBJECT: u8 = 1;
pub(crate) const STT_FUNC: u8 = 2;
pub(crate) const STT_SECTION: u8 = 3;
pub(crate) const STV_INTERNAL: u8 = 1;
pub(crate) const STV_HIDDEN: u8 = 2;
pub(crate) const SHN_LORESERVE: u16 = 0xff00;

impl Symbol<'_> {
    /// `extern` declarations: undefined, global or weak, no type (libbpf's
    /// `sym_is_extern`).
    pub fn is_extern(&self) -> bool {
        self.shndx == 0 && matches!(self.bind, STB_GLOBAL | STB_WEAK) && self.kind == STT_NOTYPE
    }

    /// The section the symbol is defined in, if it is a regular one.
    pub fn section(&self) -> Option<usize> {
        (self.shndx != 0 && self.shndx < SHN_LORESERVE).then_some(usize::from(self.shndx))
    }

    /// Whether global/weak visibility was restricted with `__hidden`.
    pub fn is_hidden(&self) -> bool {
        matches!(self.visibility, STV_HIDDEN | STV_INTERNAL)
    }
}

/// One `Elf64_Rel` entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rel {
    pub offset: u64,
    pub sym: u32,
    pub r_type: u32,
}

pub(crate) const R_BPF_64_64: u32 = 1;
pub(crate) const R_BPF_64_ABS64: u32 = 2;
pub(crate) const R_BPF_64_ABS32: u32 = 3;
pub(crate) const R_BPF_64_NODYLD32: u32 = 4;
pub(crate) const R_BPF_64_32: u32 = 10;

/// A relocation section and what it applies to.
#[derive(Debug, Clone)]
pub(crate) struct RelSection {
    /// Index of the `SHT_REL` section itself.
    pub index: usize,
    /// `sh_info`: the section the entries patch.
    pub target: usize,
    pub entries: Vec<Rel>,
}

/// The parsed file.
#[derive(Debug)]
pub(crate) struct Elf<'a> {
    pub sections: Vec<Section<'a>>,
    pub symbols: Vec<Symbol<'a>>,
    pub symtab_index: usize,
    pub rels: Vec<RelSection>,
    /// Symbol indices per defining section, in symbol-table order, so
    /// that per-section scans cost what the section has, not the file.
    pub by_section: HashMap<usize, Vec<usize>>,
    /// The first global or weak `STT_OBJECT` symbol of each name
    /// (libbpf's `find_elf_var_sym`).
    pub objects: HashMap<&'a str, usize>,
}

fn elf_err(what: &'static str) -> impl FnOnce(object::read::Error) -> ObjectError {
    move |source| ObjectError::Elf { what, source }
}

impl<'a> Elf<'a> {
    /// Reads the header, section table, symbol table and relocation
    /// sections. Refuses anything but 64-bit little-endian `EM_BPF`.
    pub fn parse(data: &'a [u8]) -> Result<Elf<'a>> {
        let ident = data.get(..16).ok_or(ObjectError::BadElf {
            what: "header",
            why: "file shorter than an ELF identification",
        })?;
        if ident[..4] != *b"\x7fELF" {
            return Err(ObjectError::BadElf {
                what: "header",
                why: "missing ELF magic",
            });
        }
        if ident[4] != elf::ELFCLASS64.0 {
            return Err(ObjectError::unsupported("32-bit ELF object"));
        }
        if ident[5] != elf::ELFDATA2LSB.0 {
            return Err(ObjectError::unsupported(
                "big-endian eBPF object (-target bpfeb)",
            ));
        }
        let header = elf::FileHeader64::<LE>::parse(data).map_err(elf_err("header"))?;
        let endian = LE;
        let machine = header.e_machine(endian).0;
        if machine != elf::EM_BPF.0 {
            return Err(ObjectError::NotBpf { machine });
        }
        let table = header
            .sections(endian, data)
            .map_err(elf_err("section table"))?;

        let mut sections = Vec::with_capacity(table.len());
        for (i, sh) in table.iter().enumerate() {
            let name_bytes =
                table
                    .section_name(endian, sh)
                    .map_err(|_| ObjectError::BadSectionName {
                        section: i,
                        what: "name offset out of range",
                    })?;
            let name =
                std::str::from_utf8(name_bytes).map_err(|_| ObjectError::BadSectionName {
                    section: i,
                    what: "not UTF-8",
                })?;
            let sh_type = sh.sh_type(endian).0;
            let size = sh.sh_size(endian);
            let data = if sh_type == elf::SHT_NOBITS.0 {
                &[][..]
            } else {
                match sh.data(endian, data) {
                    Ok(d) => d,
                    // libbpf never reads the sections it ignores.
                    Err(_) if is_ignored_name(sh_type, name, size) => &[][..],
                    Err(source) => {
                        return Err(ObjectError::SectionData {
                            index: i,
                            section: name.to_string(),
                            source,
                        })
                    }
                }
            };
            sections.push(Section {
                index: i,
                name,
                sh_type,
                flags: sh.sh_flags(endian).0,
                data,
                size,
                entsize: sh.sh_entsize(endian),
            });
        }

        let symtab_index = sections
            .iter()
            .find(|s| s.sh_type == elf::SHT_SYMTAB.0)
            .map(|s| s.index)
            .ok_or(ObjectError::NoSymbolTable)?;
        if sections
            .iter()
            .filter(|s| s.sh_type == elf::SHT_SYMTAB.0)
            .count()
            > 1
        {
            return Err(ObjectError::MultipleSymbolTables);
        }
        if sections[symtab_index].entsize != 24 {
            return Err(ObjectError::BadElf {
                what: "symbol table",
                why: "sh_entsize is not sizeof(Elf64_Sym)",
            });
        }
        let symtab = table
            .symbols(endian, data, elf::SHT_SYMTAB)
            .map_err(elf_err("symbol table"))?;
        let mut symbols = Vec::with_capacity(symtab.len());
        for (i, sym) in symtab.iter().enumerate() {
            let name = symtab
                .symbol_name(endian, sym)
                .ok()
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or(ObjectError::BadSymbolName { symbol: i })?;
            let shndx = sym.st_shndx(endian).0;
            if shndx != 0 && shndx < SHN_LORESERVE && usize::from(shndx) >= sections.len() {
                return Err(ObjectError::SymbolSection {
                    symbol: i,
                    name: name.to_string(),
                    section: usize::from(shndx),
                });
            }
            symbols.push(Symbol {
                index: i,
                name,
                bind: sym.st_bind().0,
                kind: sym.st_type().0,
                visibility: sym.st_visibility().0,
                shndx,
                value: sym.st_value(endian),
                size: sym.st_size(endian),
            });
        }

        let mut rels = Vec::new();
        for (i, sh) in table.iter().enumerate() {
            let sh_type = sh.sh_type(endian);
            let name = sections[i].name;
            let target = sh.sh_info(endian) as usize;
            if sh_type == elf::SHT_RELA {
                // libbpf skips SHT_RELA sections; eBPF objects never have
                // them. Skipping one that patches code would load wrong
                // code, so that case is refused instead.
                if sections.get(target).is_some_and(Section::is_exec) {
                    return Err(ObjectError::unsupported(format!(
                        "SHT_RELA relocation section '{name}' for code section '{}'",
                        sections[target].name
                    )));
                }
                continue;
            }
            if sh_type != elf::SHT_REL || is_ignored_name(elf::SHT_REL.0, name, 1) {
                continue;
            }
            if sh.sh_entsize(endian) != 16 || target >= sections.len() {
                return Err(ObjectError::BadRelocationSection {
                    section: name.to_string(),
                    why: "sh_entsize is not 16 or sh_info is not a section index",
                });
            }
            let Some((entries, _)) = sh
                .rel(endian, data)
                .map_err(elf_err("relocation section"))?
            else {
                continue;
            };
            let entries = entries
                .iter()
                .map(|r| Rel {
                    offset: r.r_offset(endian),
                    sym: r.r_sym(endian),
                    r_type: r.r_type(endian).0,
                })
                .collect();
            rels.push(RelSection {
                index: i,
                target,
                entries,
            });
        }

        let mut by_section: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut objects = HashMap::new();
        for s in &symbols {
            if let Some(sec) = s.section() {
                by_section.entry(sec).or_default().push(s.index);
            }
            if s.kind == STT_OBJECT && matches!(s.bind, STB_GLOBAL | STB_WEAK) {
                objects.entry(s.name).or_insert(s.index);
            }
        }
        Ok(Elf {
            by_section,
            objects,
            sections,
            symbols,
            symtab_index,
            rels,
        })
    }

    /// The symbols defined in section `index`, in symbol-table order.
    pub fn symbols_in(&self, index: usize) -> impl Iterator<Item = &Symbol<'a>> + '_ {
        self.by_section
            .get(&index)
            .into_iter()
            .flatten()
            .map(|&i| &self.symbols[i])
    }

    /// The section called `name`, if any.
    pub fn section_by_name(&self, name: &str) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The name of section `index`, or `"<section N>"` when out of range.
    pub fn section_name(&self, index: usize) -> String {
        self.sections
            .get(index)
            .map(|s| s.name.to_string())
            .unwrap_or_else(|| format!("<section {index}>"))
    }

    /// A printable name for a relocation's symbol: section symbols (used
    /// for static functions and data) are named after their section, as
    /// libbpf prints them.
    pub fn symbol_display_name(&self, sym: &Symbol<'_>) -> String {
        if sym.kind == STT_SECTION && sym.name.is_empty() {
            if let Some(s) = sym.section() {
                return self.section_name(s);
            }
        }
        sym.name.to_string()
    }

    /// Whether libbpf skips this section entirely (see [`is_ignored_name`]).
    pub fn is_ignored(&self, s: &Section<'_>) -> bool {
        is_ignored_name(s.sh_type, s.name, s.size)
    }
}

/// libbpf's `ignore_elf_section`: string tables, address-significance
/// tables, an empty `.text`, DWARF, and the relocations of DWARF, `.BTF`
/// and `.BTF.ext` (which need none).
pub(crate) fn is_ignored_name(sh_type: u32, name: &str, size: u64) -> bool {
    if sh_type == elf::SHT_STRTAB.0 || sh_type == SHT_LLVM_ADDRSIG {
        return true;
    }
    if sh_type == elf::SHT_PROGBITS.0 && size == 0 && name == ".text" {
        return true;
    }
    if name.starts_with(".debug_") {
        return true;
    }
    if let Some(rest) = name.strip_prefix(".rel") {
        return rest.starts_with(".debug_") || rest == ".BTF" || rest == ".BTF.ext";
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_elf_and_short_input() {
        for bytes in [&b""[..], b"\x7fEL", b"not an elf file at all"] {
            assert!(matches!(
                Elf::parse(bytes),
                Err(ObjectError::BadElf { what: "header", .. })
            ));
        }
    }

    #[test]
    fn rejects_32bit_and_big_endian() {
        let mut id = *b"\x7fELF\x01\x01\x01\0\0\0\0\0\0\0\0\0";
        assert!(matches!(
            Elf::parse(&id),
            Err(ObjectError::Unsupported { .. })
        ));
        id[4] = 2;
        id[5] = 2;
        let e = Elf::parse(&id).unwrap_err();
        assert!(e.to_string().contains("big-endian"), "{e}");
    }
}

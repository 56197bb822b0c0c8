//! Facts about stored objects for listings (`prog show`), and the raw BTF
//! of an object file for the maps and programs loaded from it.

use super::{ObjKind, PinFs};
use crate::error::Result;
use crate::load::Object;

/// What `prog show` prints of a stored program, read without restoring it.
#[derive(Debug, Clone)]
pub struct ProgInfo {
    pub id: u32,
    pub name: String,
    pub prog_type: Option<uapi::ProgType>,
    pub license: String,
    pub loaded_at: std::time::SystemTime,
    /// The uid that loaded it.
    pub uid: u32,
    /// The instructions as loaded (what the tag hashes).
    pub insns: Vec<isa::RawInsn>,
    /// Number of instructions after the verifier's rewrites.
    pub xlated_len: usize,
    pub map_ids: Vec<u32>,
    pub btf_id: Option<u32>,
}

impl ProgInfo {
    /// The kernel's tag of the program.
    pub fn tag(&self) -> [u8; 8] {
        isa::tag::prog_tag(&self.insns)
    }

    /// Whether the license lets the program call GPL-only helpers
    /// (the kernel's `license_is_gpl_compatible`).
    pub fn gpl_compatible(&self) -> bool {
        gpl_compatible(&self.license)
    }
}

/// The kernel's `license_is_gpl_compatible`.
pub fn gpl_compatible(license: &str) -> bool {
    matches!(
        license,
        "GPL"
            | "GPL v2"
            | "GPL and additional rights"
            | "Dual BSD/GPL"
            | "Dual MIT/GPL"
            | "Dual MPL/GPL"
    )
}

impl PinFs {
    /// The facts of stored program `id`, without restoring it.
    pub fn program_info(&self, id: u32) -> Result<ProgInfo> {
        let p = self.object_path(ObjKind::Prog, id);
        if !p.exists() {
            return Err(PinFs::missing(ObjKind::Prog, id));
        }
        let s = super::store::StoredProg::read(&p)?;
        Ok(ProgInfo {
            id: s.id,
            name: s.name,
            prog_type: uapi::ProgType::from_id(s.prog_type),
            license: s.license,
            loaded_at: s.loaded_at,
            uid: self.owner(ObjKind::Prog, id).unwrap_or(0),
            insns: s.insns,
            xlated_len: s.xlated.len(),
            map_ids: s.map_ids,
            btf_id: self.btf_id(ObjKind::Prog, id),
        })
    }
}

/// The `.BTF` section of an ELF64 little-endian object, found by reading
/// the section headers (just enough ELF for this; bounds checked).
pub fn elf_btf_section(elf: &[u8]) -> Option<&[u8]> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(elf.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(elf.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(elf.get(o..o + 8)?.try_into().ok()?));
    // ELFCLASS64, ELFDATA2LSB.
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let shoff = usize::try_from(u64_at(0x28)?).ok()?;
    let shentsize = usize::from(u16_at(0x3a)?);
    let shnum = usize::from(u16_at(0x3c)?);
    let shstrndx = usize::from(u16_at(0x3e)?);
    if shentsize < 0x40 {
        return None;
    }
    let section = |i: usize| -> Option<(u32, &[u8])> {
        let h = shoff.checked_add(i.checked_mul(shentsize)?)?;
        let name = u32_at(h)?;
        let off = usize::try_from(u64_at(h + 0x18)?).ok()?;
        let size = usize::try_from(u64_at(h + 0x20)?).ok()?;
        Some((name, elf.get(off..off.checked_add(size)?)?))
    };
    let (_, names) = section(shstrndx)?;
    (0..shnum).find_map(|i| {
        let (name, data) = section(i)?;
        let n = names.get(name as usize..)?;
        let end = n.iter().position(|&b| b == 0)?;
        (&n[..end] == b".BTF").then_some(data)
    })
}

impl PinFs {
    /// Records the BTF of the object file `elf` for the maps and programs
    /// `obj` loaded from it (see [`PinFs::record_btf`]); `None` when the
    /// file has no BTF.
    pub fn record_object_btf(&self, elf: &[u8], obj: &Object) -> Result<Option<u32>> {
        match elf_btf_section(elf) {
            Some(raw) => self.record_btf(raw, obj.maps(), obj.programs()).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn btf_section_of_the_workflow_object() {
        let elf = include_bytes!("../../../../examples/workflow/counter.bpf.o");
        let raw = super::elf_btf_section(elf).expect(".BTF");
        assert_eq!(&raw[..2], &[0x9f, 0xeb], "BTF magic");
        assert!(btf::Btf::parse(raw).is_ok());
        assert!(super::elf_btf_section(b"not an elf").is_none());
        assert!(super::elf_btf_section(&elf[..100]).is_none());
    }
}

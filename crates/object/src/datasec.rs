//! The variables of a BTF `DATASEC` with their real offsets.
//!
//! clang leaves a `DATASEC`'s size and its global variables' offsets as
//! zero (the real values are ELF relocations in `.rel.BTF`, which libbpf
//! ignores); libbpf's `btf_fixup_datasec` fills them in from the ELF
//! section size and symbol values. We compute the same layout without
//! changing the parsed [`Btf`], which stays exactly as in the file.

use crate::elf::Elf;
use crate::error::{ObjectError, Result};
use btf::{Btf, Type, TypeId, VarLinkage};

/// One variable of a data section.
#[derive(Debug, Clone)]
pub(crate) struct SecVar {
    pub name: String,
    /// The variable's type.
    pub type_id: TypeId,
    pub linkage: VarLinkage,
    pub offset: u32,
    pub size: u32,
    /// Global but `__hidden` (`STV_HIDDEN`/`STV_INTERNAL`): libbpf treats
    /// it as static.
    pub hidden: bool,
}

/// The `DATASEC` called `name`: its id and variables with fixed-up offsets.
/// `None` if the BTF has no such `DATASEC`.
pub(crate) fn vars(btf: &Btf, elf: &Elf<'_>, name: &str) -> Result<Option<(TypeId, Vec<SecVar>)>> {
    let Some((id, ds)) = btf.datasec(name) else {
        return Ok(None);
    };
    // Extern-backing sections are laid out by the extern logic instead.
    let fixup = ds.size == 0 && name != ".kconfig" && name != ".ksyms";
    let mut out = Vec::with_capacity(ds.vars.len());
    for (i, vsi) in ds.vars.iter().enumerate() {
        let bad = |why: String| ObjectError::BadDatasec {
            datasec: name.to_string(),
            var: i,
            why,
        };
        let Some(Type::Var(var)) = btf.type_by_id(vsi.type_id) else {
            return Err(bad(format!("type [{}] is not a VAR", vsi.type_id)));
        };
        let var_name = btf.name_by_offset(var.name_off).unwrap_or("").to_string();
        let mut sv = SecVar {
            name: var_name,
            type_id: var.type_id,
            linkage: var.linkage,
            offset: vsi.offset,
            size: vsi.size,
            hidden: false,
        };
        if matches!(var.linkage, VarLinkage::Global) {
            let sym = elf.objects.get(sv.name.as_str()).map(|&i| &elf.symbols[i]);
            match sym {
                Some(s) => {
                    sv.hidden = s.is_hidden();
                    if fixup {
                        sv.offset = u32::try_from(s.value).map_err(|_| {
                            bad(format!("symbol '{}' value {} too large", sv.name, s.value))
                        })?;
                    }
                }
                None if fixup => {
                    return Err(bad(format!("no ELF symbol for variable '{}'", sv.name)));
                }
                None => {}
            }
        }
        out.push(sv);
    }
    out.sort_by_key(|v| v.offset);
    Ok(Some((id, out)))
}

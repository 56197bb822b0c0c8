//! [`ObjectSpec::parse`]: the steps of libbpf's `bpf_object__open` and the
//! relocation half of `bpf_object__load`, in libbpf's order:
//!
//! 1. ELF: sections, symbols, relocation sections ([`crate::elf`]);
//! 2. `license`, `version`, `.BTF`, `.BTF.ext`;
//! 3. functions of the code sections ([`crate::funcs`]);
//! 4. externs and the `.kconfig` layout ([`crate::externs`]);
//! 5. maps: legacy, BTF-defined, global data, `.kconfig`, then the initial
//!    `values` of program arrays and maps of maps ([`crate::maps`]);
//! 6. CO-RE relocations ([`crate::core`]), then map/data/extern references
//!    ([`crate::reloc`]);
//! 7. subprogram linking, per program ([`crate::link`]).

use crate::core::CoreTarget;
use crate::elf::Elf;
use crate::error::{ObjectError, Result};
use crate::externs::{self, KconfigOptions};
use crate::spec::{ObjectSpec, ProgramSpec};
use crate::{funcs, link, maps, reloc, section};
use btf::{Btf, BtfError, BtfExt};
use std::path::Path;
use std::sync::OnceLock;
use uapi::ProgType;

/// Largest number of instructions all programs may add up to after
/// linking; only a hostile object (thousands of programs each pulling in
/// the same large subprograms) comes near it, and it keeps parsing within
/// a bounded amount of memory.
pub const MAX_TOTAL_LINKED_INSNS: usize = 8 << 20;

/// Choices [`ObjectSpec::parse_with`] leaves to the caller.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions<'a> {
    /// Target types for CO-RE relocations. Default: the built-in context
    /// types.
    pub core: CoreTarget<'a>,
    /// Values of `__kconfig` externs.
    pub kconfig: KconfigOptions,
}

static VMLINUX: OnceLock<Option<std::result::Result<Btf, BtfError>>> = OnceLock::new();

/// [`vmlinux_btf`] if something already loaded it.
pub(crate) fn vmlinux_if_loaded() -> Option<&'static Btf> {
    match VMLINUX.get() {
        Some(Some(Ok(b))) => Some(b),
        _ => None,
    }
}

/// The running kernel's BTF (`/sys/kernel/btf/vmlinux`), read and parsed
/// once per process; `None` when the file does not exist.
pub fn vmlinux_btf() -> Result<Option<&'static Btf>> {
    const PATH: &str = "/sys/kernel/btf/vmlinux";
    let parsed = VMLINUX.get_or_init(|| std::fs::read(PATH).ok().map(|b| Btf::parse(&b)));
    match parsed {
        None => Ok(None),
        Some(Ok(b)) => Ok(Some(b)),
        Some(Err(e)) => Err(ObjectError::InFile {
            path: PATH.into(),
            source: Box::new(ObjectError::Btf { source: e.clone() }),
        }),
    }
}

/// libbpf's object name: the file's base name up to its first `.`, at
/// most 15 bytes.
pub fn object_name(path_or_name: &str) -> String {
    let base = path_or_name.rsplit('/').next().unwrap_or(path_or_name);
    let bytes = &base.as_bytes()[..base.len().min(uapi::OBJ_NAME_LEN - 1)];
    let cut = bytes.iter().position(|&b| b == b'.').unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..cut]).into_owned()
}

impl ObjectSpec {
    /// Parses an object with [`ParseOptions::default`]: CO-RE against the
    /// built-in context types, default `__kconfig` values. `name` is the
    /// file name (or any name); see [`object_name`].
    pub fn parse(bytes: &[u8], name: &str) -> Result<ObjectSpec> {
        Self::parse_with(bytes, name, &ParseOptions::default())
    }

    /// Reads and parses the file at `path`. CO-RE relocations are resolved
    /// against `/sys/kernel/btf/vmlinux` when it exists (as libbpf does),
    /// else against the built-in context types. Errors name the file.
    pub fn open(path: impl AsRef<Path>) -> Result<ObjectSpec> {
        let opts = ParseOptions {
            core: vmlinux_btf()?.map_or(CoreTarget::Builtin, CoreTarget::Btf),
            ..ParseOptions::default()
        };
        Self::open_with(path, &opts)
    }

    /// Reads and parses the file at `path` with `opts`.
    pub fn open_with(path: impl AsRef<Path>, opts: &ParseOptions<'_>) -> Result<ObjectSpec> {
        let path = path.as_ref();
        let in_file = |e| ObjectError::InFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        };
        let bytes = std::fs::read(path).map_err(|source| ObjectError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_with(&bytes, &path.to_string_lossy(), opts).map_err(in_file)
    }

    /// Parses an object. Pure: reads nothing but `bytes` and `opts`.
    pub fn parse_with(bytes: &[u8], name: &str, opts: &ParseOptions<'_>) -> Result<ObjectSpec> {
        let elf = Elf::parse(bytes)?;
        if let Some(s) = elf
            .sections
            .iter()
            .find(|s| matches!(s.name, ".struct_ops" | ".struct_ops.link") && s.size > 0)
        {
            return Err(ObjectError::unsupported(format!(
                "struct_ops maps (section '{}')",
                s.name
            )));
        }
        let obj_name = object_name(name);
        let license = license(&elf);
        let kern_version = kern_version(&elf)?;
        let (btf, ext, btf_error) = load_btf(&elf);
        let needs_btf = elf.section_by_name(".maps").is_some()
            || elf
                .symbols
                .iter()
                .any(|s| s.is_extern() && !s.name.is_empty());
        if let (true, Some(source)) = (needs_btf, btf_error) {
            // libbpf: "BTF is required, but is missing or corrupted".
            return Err(ObjectError::Btf { source });
        }

        let mut funcs = funcs::collect(&elf)?;
        let mut exts = externs::collect(&elf, btf.as_ref())?;

        let mut maps = maps::Maps::default();
        maps::legacy_maps(&elf, &mut maps)?;
        maps::btf_maps(&elf, btf.as_ref(), &mut maps)?;
        maps::data_maps(&elf, btf.as_ref(), &obj_name, &mut maps)?;
        if exts.iter().any(|e| e.kcfg.is_some()) {
            let data = externs::resolve(&mut exts, &opts.kconfig)?;
            maps::kconfig_map(&elf, btf.as_ref(), &obj_name, data, &mut maps)?;
        }
        let programs: Vec<usize> = (0..funcs.len()).filter(|&i| !funcs[i].is_subprog).collect();
        maps::apply_map_relocations(&elf, &funcs, &programs, &mut maps)?;

        let core = match (&btf, &ext) {
            (Some(b), Some(x)) => {
                let secs: Vec<(usize, String)> = elf
                    .sections
                    .iter()
                    .map(|s| (s.index, s.name.to_string()))
                    .collect();
                crate::core::apply(&mut funcs, &secs, b, x, opts.core)?
            }
            _ => vec![Vec::new(); funcs.len()],
        };
        let relocs = reloc::relocate(&elf, &mut funcs, &maps, &exts)?;

        let ext_index = ext.as_ref().map(link::ExtIndex::new);
        let inputs = link::Inputs {
            funcs: &funcs,
            relocs: &relocs,
            core: &core,
            text: elf.section_by_name(".text").map(|s| s.index),
            ext: ext_index.as_ref(),
        };
        let mut total = 0usize;
        let mut progs = Vec::with_capacity(programs.len());
        for &fi in &programs {
            let linked = link::link(&inputs, fi)?;
            total += linked.insns.len();
            if total > MAX_TOTAL_LINKED_INSNS {
                return Err(ObjectError::unsupported(format!(
                    "programs add up to more than {MAX_TOTAL_LINKED_INSNS} instructions after linking"
                )));
            }
            progs.push(program_spec(&funcs[fi], linked));
        }

        Ok(ObjectSpec {
            name: obj_name,
            programs: progs,
            maps: maps.specs,
            btf,
            license,
            kern_version,
            externs: externs::specs(&exts),
        })
    }
}

fn program_spec(f: &funcs::Func, l: link::Linked) -> ProgramSpec {
    let (autoload, sec) = match f.section_name.strip_prefix('?') {
        Some(rest) => (false, rest),
        None => (true, f.section_name.as_str()),
    };
    let def = section::lookup(sec);
    ProgramSpec {
        name: f.name.clone(),
        section: sec.to_string(),
        autoload,
        prog_type: def.map_or(ProgType::Unspec, |d| d.prog_type),
        expected_attach_type: def.and_then(|d| d.attach_type),
        attach_target: def.and_then(|d| d.attach_target(sec)).map(str::to_string),
        prog_flags: def.map_or(0, |d| d.prog_flags()),
        func_insns: f.insns.len(),
        section_insn_off: f.insn_off,
        insns: l.insns,
        map_refs: l.map_refs,
        subprograms: l.subprograms,
        func_info: l.func_info,
        line_info: l.line_info,
        core_relos: l.core_relos,
    }
}

/// libbpf copies at most 63 bytes, up to the first NUL.
fn license(elf: &Elf<'_>) -> String {
    let Some(s) = elf.section_by_name("license") else {
        return String::new();
    };
    let d = &s.data[..s.data.len().min(63)];
    let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
    String::from_utf8_lossy(&d[..end]).into_owned()
}

fn kern_version(elf: &Elf<'_>) -> Result<u32> {
    let Some(s) = elf.section_by_name("version") else {
        return Ok(0);
    };
    let b: [u8; 4] = s
        .data
        .try_into()
        .map_err(|_| ObjectError::BadVersion { size: s.data.len() })?;
    Ok(u32::from_le_bytes(b))
}

/// `.BTF` and `.BTF.ext`. Like libbpf, a broken `.BTF` is dropped (its
/// error is returned for objects that need BTF) and a broken `.BTF.ext`
/// is ignored.
fn load_btf(elf: &Elf<'_>) -> (Option<Btf>, Option<BtfExt>, Option<BtfError>) {
    let (btf, error) = match elf.section_by_name(".BTF").filter(|s| s.is_progbits()) {
        Some(s) => match Btf::parse(s.data) {
            Ok(b) => (Some(b), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, None),
    };
    let ext = match &btf {
        Some(b) => elf
            .section_by_name(".BTF.ext")
            .filter(|s| s.is_progbits())
            .and_then(|s| BtfExt::parse(s.data, b).ok()),
        None => None,
    };
    (btf, ext, error)
}

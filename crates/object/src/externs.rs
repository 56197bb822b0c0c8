//! `extern` variables: `__kconfig` values placed in the `.kconfig` map,
//! and `__ksym` kernel symbols. libbpf's `bpf_object__collect_externs` and
//! `bpf_object__resolve_externs`, with one difference: libbpf reads the
//! running kernel's config, a parser must not, so `CONFIG_*` values come
//! from [`KconfigOptions::config`] (text in `.config` syntax) and the
//! virtual `LINUX_*` values from [`KconfigOptions`] fields.
//!
//! An extern nothing resolves is zero; a strong one is reported by
//! [`crate::ObjectSpec::unresolved_externs`] and a loader must refuse the
//! object, as `bpf_object__load` does. oxbpf knows no kernel symbols, so
//! every `__ksym` is unresolved: weak ones read as 0 (calls to weak
//! kfuncs are poisoned as libbpf poisons them), strong ones block loading.

use crate::elf::Elf;
use crate::error::{ObjectError, Result};
use crate::spec::{ExternKind, ExternSpec};
use btf::{Btf, FuncLinkage, IntEncoding, Type, TypeId, VarLinkage};
use std::collections::HashMap;

/// Largest `.kconfig` value (and map) we lay out; real ones are a few
/// hundred bytes, and this keeps a hostile array size from allocating.
const MAX_KCONFIG: u64 = 1 << 20;

/// `KERNEL_VERSION(a, b, c)`.
pub const fn kernel_version(a: u32, b: u32, c: u32) -> u32 {
    (a << 16) + (b << 8) + if c > 255 { 255 } else { c }
}

/// Values for `__kconfig` externs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KconfigOptions {
    /// `LINUX_KERNEL_VERSION`. Default: 6.6.0.
    pub kernel_version: u32,
    /// `LINUX_HAS_BPF_COOKIE`. Default: false.
    pub has_bpf_cookie: bool,
    /// `LINUX_HAS_SYSCALL_WRAPPER` (x86-64 kernels since 4.17). Default: true.
    pub has_syscall_wrapper: bool,
    /// Kernel config lines (`CONFIG_FOO=y`, `CONFIG_HZ=250`,
    /// `CONFIG_X="str"`), as libbpf's `kconfig` open option takes them.
    pub config: String,
}

impl Default for KconfigOptions {
    fn default() -> Self {
        KconfigOptions {
            kernel_version: kernel_version(6, 6, 0),
            has_bpf_cookie: false,
            has_syscall_wrapper: true,
            config: String::new(),
        }
    }
}

/// libbpf's `kcfg_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KcfgType {
    Char,
    Bool,
    Int { signed: bool },
    Tristate,
    CharArr,
}

/// One extern, in libbpf's order.
#[derive(Debug, Clone)]
pub(crate) struct Ext {
    pub sym: usize,
    pub name: String,
    pub weak: bool,
    pub kcfg: Option<Kcfg>,
    pub is_func: bool,
    pub resolved: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Kcfg {
    ty: KcfgType,
    size: u32,
    align: u32,
    pub offset: u32,
}

/// Finds the externs of the object and lays out `.kconfig`.
pub(crate) fn collect(elf: &Elf<'_>, btf: Option<&Btf>) -> Result<Vec<Ext>> {
    let mut exts = Vec::new();
    let mut index: Option<BtfIndex<'_>> = None;
    for sym in elf
        .symbols
        .iter()
        .filter(|s| s.is_extern() && !s.name.is_empty())
    {
        let err = |why: String| ObjectError::Extern {
            name: sym.name.to_string(),
            why,
        };
        let btf = btf.ok_or(ObjectError::BtfRequired {
            what: "extern variables",
        })?;
        let index = index.get_or_insert_with(|| BtfIndex::new(btf));
        let (id, is_func) = find_btf(btf, index, sym.name).map_err(err)?;
        let sec_name = index.datasec_of.get(&id).copied().ok_or_else(|| {
            // Neither __kconfig nor __ksym: a symbol another object
            // defines, for the static linker (`bpftool gen object`).
            ObjectError::unsupported(format!(
                "extern '{}' is defined in another object (static linking is not supported)",
                sym.name
            ))
        })?;
        let kcfg = match sec_name {
            ".kconfig" if is_func => {
                return Err(ObjectError::unsupported(format!(
                    "extern function '{}' in .kconfig",
                    sym.name
                )))
            }
            ".kconfig" => Some(kcfg_layout(btf, id, sym.name)?),
            ".ksyms" => None,
            other => {
                return Err(ObjectError::unsupported(format!(
                    "extern '{}' in section '{other}' is defined in another object \
                     (static linking is not supported)",
                    sym.name
                )))
            }
        };
        exts.push(Ext {
            sym: sym.index,
            name: sym.name.to_string(),
            weak: sym.bind == crate::elf::STB_WEAK,
            kcfg,
            is_func,
            resolved: false,
        });
    }
    // libbpf's cmp_externs: kconfig first, by alignment (descending), then
    // size (ascending); then name.
    exts.sort_by(|a, b| {
        let key = |e: &Ext| match e.kcfg {
            Some(k) => (0, u32::MAX - k.align, k.size),
            None => (1, 0, 0),
        };
        key(a).cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
    });
    let mut off: u32 = 0;
    for e in &mut exts {
        if let Some(k) = &mut e.kcfg {
            let aligned = off.checked_next_multiple_of(k.align.max(1));
            k.offset = aligned.ok_or_else(|| ObjectError::Extern {
                name: e.name.clone(),
                why: ".kconfig too large".into(),
            })?;
            off = k
                .offset
                .checked_add(k.size)
                .filter(|&o| u64::from(o) <= MAX_KCONFIG)
                .ok_or_else(|| ObjectError::unsupported(".kconfig larger than 1 MiB"))?;
        }
    }
    Ok(exts)
}

/// Name lookups over the object's BTF, built once: the first `VAR` or
/// `FUNC` of each name, and the first `DATASEC` holding each variable.
struct BtfIndex<'b> {
    var_or_func: HashMap<&'b str, TypeId>,
    datasec_of: HashMap<TypeId, &'b str>,
}

impl<'b> BtfIndex<'b> {
    fn new(btf: &'b Btf) -> Self {
        let mut var_or_func = HashMap::new();
        let mut datasec_of = HashMap::new();
        for (id, t) in btf.types() {
            match t {
                Type::Var(_) | Type::Func(_) => {
                    if let Some(n) = btf.name_by_offset(t.name_off()) {
                        var_or_func.entry(n).or_insert(id);
                    }
                }
                Type::DataSec(d) => {
                    let n = btf.name_by_offset(d.name_off).unwrap_or("");
                    for v in &d.vars {
                        datasec_of.entry(v.type_id).or_insert(n);
                    }
                }
                _ => {}
            }
        }
        BtfIndex {
            var_or_func,
            datasec_of,
        }
    }
}

/// The first `VAR` or `FUNC` named `name`, which must be `extern`.
fn find_btf(
    btf: &Btf,
    index: &BtfIndex<'_>,
    name: &str,
) -> std::result::Result<(TypeId, bool), String> {
    let id = *index
        .var_or_func
        .get(name)
        .ok_or("no BTF VAR or FUNC describes it")?;
    match btf.type_by_id(id) {
        Some(Type::Var(v)) if v.linkage != VarLinkage::Extern => {
            Err(format!("BTF VAR [{id}] is not extern"))
        }
        Some(Type::Func(f)) if f.linkage != FuncLinkage::Extern => {
            Err(format!("BTF FUNC [{id}] is not extern"))
        }
        Some(Type::Func(_)) => Ok((id, true)),
        _ => Ok((id, false)),
    }
}

fn kcfg_layout(btf: &Btf, var_id: TypeId, name: &str) -> Result<Kcfg> {
    let q = |source| ObjectError::BtfQuery {
        what: format!("extern '{name}'"),
        source,
    };
    let Some(Type::Var(v)) = btf.type_by_id(var_id) else {
        return Err(ObjectError::Extern {
            name: name.into(),
            why: "not a variable".into(),
        });
    };
    // The type first: it admits only scalars and char arrays, whose size
    // and alignment are cheap to compute.
    let ty = kcfg_type(btf, v.type_id).ok_or_else(|| {
        ObjectError::unsupported(format!(
            "extern (kconfig) '{name}': type is not bool, tristate, char, integer or char array"
        ))
    })?;
    let size = btf.size_of(v.type_id).map_err(q)?;
    if size > MAX_KCONFIG {
        return Err(ObjectError::unsupported(format!(
            "extern (kconfig) '{name}' of {size} bytes"
        )));
    }
    let align = btf.align_of(v.type_id).map_err(q)?;
    let size = u32::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .ok_or_else(|| ObjectError::Extern {
            name: name.into(),
            why: format!("bad size {size}"),
        })?;
    Ok(Kcfg {
        ty,
        size,
        align,
        offset: 0,
    })
}

/// libbpf's `find_kcfg_type`.
fn kcfg_type(btf: &Btf, id: TypeId) -> Option<KcfgType> {
    let id = btf.resolve(id).ok()?;
    let t = btf.type_by_id(id)?;
    let name = btf.name_by_offset(t.name_off()).unwrap_or("");
    match t {
        Type::Int(i) => {
            if i.encoding == IntEncoding::Bool {
                return (i.size == 1).then_some(KcfgType::Bool);
            }
            if i.size == 1 {
                return Some(KcfgType::Char);
            }
            (i.size <= 8 && i.size.is_power_of_two()).then_some(KcfgType::Int {
                signed: i.encoding == IntEncoding::Signed,
            })
        }
        Type::Enum(e) if e.size == 4 && name == "libbpf_tristate" => Some(KcfgType::Tristate),
        Type::Enum64(_) if name == "libbpf_tristate" => Some(KcfgType::Tristate),
        Type::Array(a) if a.nelems > 0 => {
            (kcfg_type(btf, a.elem_type)? == KcfgType::Char).then_some(KcfgType::CharArr)
        }
        _ => None,
    }
}

/// Computes the `.kconfig` map contents and marks what got resolved.
pub(crate) fn resolve(exts: &mut [Ext], opts: &KconfigOptions) -> Result<Vec<u8>> {
    let size = exts
        .iter()
        .filter_map(|e| e.kcfg.map(|k| k.offset + k.size))
        .max()
        .unwrap_or(0);
    let mut data = vec![0u8; size as usize];
    for e in exts.iter_mut() {
        let Some(k) = e.kcfg else { continue };
        let value = match e.name.as_str() {
            "LINUX_KERNEL_VERSION" => u64::from(opts.kernel_version),
            "LINUX_HAS_BPF_COOKIE" => u64::from(opts.has_bpf_cookie),
            "LINUX_HAS_SYSCALL_WRAPPER" => u64::from(opts.has_syscall_wrapper),
            n if n.starts_with("CONFIG_") => continue,
            n if n.starts_with("LINUX_") && e.weak => 0,
            _ => {
                return Err(ObjectError::Extern {
                    name: e.name.clone(),
                    why: "unrecognized virtual extern (only CONFIG_* and libbpf's LINUX_* exist)"
                        .into(),
                })
            }
        };
        set_num(e, k, &mut data, value, true)?;
    }
    for line in opts.config.lines() {
        apply_line(exts, &mut data, line)?;
    }
    Ok(data)
}

/// One `.config` line (libbpf's `bpf_object__process_kconfig_line`).
fn apply_line(exts: &mut [Ext], data: &mut [u8], line: &str) -> Result<()> {
    if !line.starts_with("CONFIG_") {
        return Ok(());
    }
    let bad = |why: &str| ObjectError::Extern {
        name: line.to_string(),
        why: why.to_string(),
    };
    let (name, value) = line
        .split_once('=')
        .ok_or_else(|| bad("no '=' in kconfig line"))?;
    if value.is_empty() {
        return Err(bad("no value in kconfig line"));
    }
    let Some(e) = exts.iter_mut().find(|e| e.name == name && e.kcfg.is_some()) else {
        return Ok(());
    };
    let k = e.kcfg.expect("filtered on kcfg");
    if e.resolved {
        return Ok(());
    }
    let slot = &mut data[k.offset as usize..(k.offset + k.size) as usize];
    let err = |why: String| ObjectError::Extern {
        name: e.name.clone(),
        why,
    };
    match value.as_bytes()[0] {
        c @ (b'y' | b'n' | b'm') => match k.ty {
            KcfgType::Bool if c == b'm' => {
                return Err(err("value 'm' implies tristate or char type".into()))
            }
            KcfgType::Bool => slot[0] = u8::from(c == b'y'),
            KcfgType::Tristate => {
                let v: u64 = match c {
                    b'y' => 1,
                    b'm' => 2,
                    _ => 0,
                };
                let n = slot.len().min(8);
                slot[..n].copy_from_slice(&v.to_le_bytes()[..n]);
            }
            KcfgType::Char => slot[0] = c,
            _ => {
                return Err(err(format!(
                    "value '{}' implies bool, tristate or char",
                    c as char
                )))
            }
        },
        b'"' => {
            if k.ty != KcfgType::CharArr {
                return Err(err(format!("value {value} implies a char array")));
            }
            let inner = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(|| err(format!("invalid string config {value}")))?;
            let n = inner.len().min(slot.len() - 1);
            slot[..n].copy_from_slice(&inner.as_bytes()[..n]);
            slot[n] = 0;
        }
        _ => {
            let v = parse_u64(value)
                .ok_or_else(|| err(format!("value '{value}' isn't a valid integer")))?;
            if !matches!(k.ty, KcfgType::Int { .. } | KcfgType::Char) {
                return Err(err(format!("value '{value}' implies an integer type")));
            }
            return set_num(e, k, data, v, false);
        }
    }
    e.resolved = true;
    Ok(())
}

/// libbpf's `set_kcfg_value_num` with its range check.
fn set_num(e: &mut Ext, k: Kcfg, data: &mut [u8], v: u64, allow_bool: bool) -> Result<()> {
    let err = |why: String| ObjectError::Extern {
        name: e.name.clone(),
        why,
    };
    match k.ty {
        KcfgType::Int { .. } | KcfgType::Char => {}
        KcfgType::Bool if allow_bool => {
            if v > 1 {
                return Err(err(format!("value {v} isn't boolean compatible")));
            }
        }
        _ => return Err(err(format!("value {v} implies integer, char or bool type"))),
    }
    let bits = k.size * 8;
    let signed = matches!(k.ty, KcfgType::Int { signed: true });
    let fits = bits >= 64
        || if signed {
            v.wrapping_add(1 << (bits - 1)) < (1 << bits)
        } else {
            v >> bits == 0
        };
    if !fits {
        return Err(err(format!("value {v} doesn't fit in {} bytes", k.size)));
    }
    let bytes = v.to_le_bytes();
    let n = (k.size as usize).min(8);
    data[k.offset as usize..k.offset as usize + n].copy_from_slice(&bytes[..n]);
    e.resolved = true;
    Ok(())
}

/// `strtoull(s, &end, 0)` consuming the whole string: optional sign, then
/// `0x` hex, `0` octal or decimal.
fn parse_u64(s: &str) -> Option<u64> {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        u64::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse().ok()?
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The public description of the externs.
pub(crate) fn specs(exts: &[Ext]) -> Vec<ExternSpec> {
    exts.iter()
        .map(|e| ExternSpec {
            name: e.name.clone(),
            weak: e.weak,
            kind: match e.kcfg {
                Some(k) => ExternKind::Kconfig {
                    offset: k.offset,
                    size: k.size,
                },
                None => ExternKind::Ksym { is_func: e.is_func },
            },
            resolved: e.resolved,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_u64;

    #[test]
    fn strtoull_like() {
        assert_eq!(parse_u64("250"), Some(250));
        assert_eq!(parse_u64("0x10"), Some(16));
        assert_eq!(parse_u64("010"), Some(8));
        assert_eq!(parse_u64("0"), Some(0));
        assert_eq!(parse_u64("-1"), Some(u64::MAX));
        assert_eq!(parse_u64("12a"), None);
        assert_eq!(parse_u64(""), None);
    }
}

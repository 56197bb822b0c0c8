//! Relocation values and instruction patching: libbpf's
//! `bpf_core_calc_relo` (what the compiler assumed versus what the target
//! needs) and `bpf_core_patch_insn` (checking the instruction holds the
//! assumed value, then writing the new one).

use super::compat::{as_enum, skip, CompatError};
use super::spec::{is_enumval_based, is_field_based, is_type_based, Spec};
use btf::{CoreReloKind, IntEncoding, Type, TypeId};
use isa::RawInsn;
use uapi::opcode::{self as op, BPF_ALU, BPF_ALU64, BPF_K, BPF_LD, BPF_LDX, BPF_ST, BPF_STX, LDDW};

/// The result of calculating one relocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Res {
    pub orig_val: u64,
    pub new_val: u64,
    pub poison: bool,
    /// Check that the instruction holds `orig_val` before patching.
    pub validate: bool,
    /// A load/store whose size changes in a way that would misread.
    pub fail_memsz_adjust: bool,
    pub orig_sz: u32,
    pub new_sz: u32,
    pub orig_type_id: TypeId,
    pub new_type_id: TypeId,
}

/// Why a value could not be computed.
pub(crate) enum CalcError {
    /// Not satisfiable: poison the instruction (libbpf's `-EUCLEAN`).
    Poison,
    Fail(String),
}

impl From<CompatError> for CalcError {
    fn from(e: CompatError) -> Self {
        CalcError::Fail(e.0)
    }
}

struct Field {
    val: u64,
    size: u32,
    type_id: TypeId,
    validate: bool,
}

fn field(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<Field, CalcError> {
    let mut f = Field {
        val: 0,
        size: 0,
        type_id: 0,
        validate: true,
    };
    if kind == CoreReloKind::FieldExists {
        f.val = u64::from(spec.is_some());
        return Ok(f);
    }
    let spec = spec.ok_or(CalcError::Poison)?;
    let btf = spec.btf;
    let acc = spec
        .acc
        .last()
        .ok_or_else(|| CalcError::Fail("empty spec".into()))?;
    let size_of = |id| {
        btf.size_of(id)
            .map_err(|e| CalcError::Fail(format!("size of [{id}]: {e}")))
    };
    if acc.name.is_none() {
        // An array element (or the root itself).
        let sz =
            u32::try_from(size_of(acc.type_id)?).map_err(|_| CalcError::Fail("size".into()))?;
        match kind {
            CoreReloKind::FieldByteOffset => {
                f.val = spec.bit_offset / 8;
                f.size = sz;
                f.type_id = acc.type_id;
            }
            CoreReloKind::FieldByteSize => f.val = u64::from(sz),
            _ => {
                return Err(CalcError::Fail(
                    "relocation kind can't be applied to an array element".into(),
                ))
            }
        }
        return Ok(f);
    }
    let t = btf.type_by_id(acc.type_id);
    let m = t
        .and_then(Type::members)
        .and_then(|ms| ms.get(acc.idx as usize))
        .ok_or_else(|| CalcError::Fail("accessor is not a member".into()))?;
    let (field_type_id, mt) = skip(btf, m.type_id)?;
    let bit_off = spec.bit_offset;
    let mut bit_sz = u64::from(m.bitfield_size);
    let bitfield = bit_sz > 0;
    let (byte_off, byte_sz);
    if bitfield {
        let mut sz = match mt {
            Type::Int(i) => u64::from(i.size),
            Type::Enum(e) | Type::Enum64(e) => u64::from(e.size),
            _ => return Err(CalcError::Fail("bitfield of a non-integer type".into())),
        };
        if sz == 0 {
            return Err(CalcError::Fail("zero-sized bitfield type".into()));
        }
        let mut off = bit_off / 8 / sz * sz;
        // The smallest load that covers the bitfield.
        while bit_off + bit_sz - off * 8 > sz * 8 {
            if sz >= 8 {
                return Err(CalcError::Fail(
                    "bitfield can't be read with a 64-bit load".into(),
                ));
            }
            sz *= 2;
            off = bit_off / 8 / sz * sz;
        }
        byte_sz = sz;
        byte_off = off;
    } else {
        byte_sz = size_of(field_type_id)?;
        byte_off = bit_off / 8;
        bit_sz = byte_sz * 8;
    }
    // Bitfield offsets may legitimately differ from what clang wrote.
    f.validate = !bitfield;
    match kind {
        CoreReloKind::FieldByteOffset => {
            f.val = byte_off;
            if !bitfield {
                f.size = u32::try_from(byte_sz).map_err(|_| CalcError::Fail("size".into()))?;
                f.type_id = field_type_id;
            }
        }
        CoreReloKind::FieldByteSize => f.val = byte_sz,
        CoreReloKind::FieldSigned => {
            f.val = u64::from(match mt {
                Type::Enum(e) | Type::Enum64(e) => e.signed,
                Type::Int(i) => i.encoding == IntEncoding::Signed,
                _ => false,
            });
            f.validate = true;
        }
        CoreReloKind::FieldLshiftU64 => {
            f.val = 64u64.wrapping_sub(bit_off + bit_sz - byte_off * 8);
        }
        CoreReloKind::FieldRshiftU64 => {
            f.val = 64u64.wrapping_sub(bit_sz);
            f.validate = true;
        }
        _ => return Err(CalcError::Fail("not a field relocation".into())),
    }
    Ok(f)
}

fn type_val(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<(u64, bool), CalcError> {
    let Some(spec) = spec else {
        return Ok((0, true));
    };
    Ok(match kind {
        CoreReloKind::TypeIdTarget => (u64::from(spec.root_type_id), false),
        CoreReloKind::TypeExists | CoreReloKind::TypeMatches => (1, true),
        CoreReloKind::TypeSize => {
            let sz = spec
                .btf
                .size_of(spec.root_type_id)
                .map_err(|e| CalcError::Fail(format!("type size: {e}")))?;
            (sz, true)
        }
        _ => return Err(CalcError::Fail("not a type relocation".into())),
    })
}

fn enum_val(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<u64, CalcError> {
    match kind {
        CoreReloKind::EnumvalExists => Ok(u64::from(spec.is_some())),
        CoreReloKind::EnumvalValue => {
            let spec = spec.ok_or(CalcError::Poison)?;
            let acc = &spec.acc[0];
            let t = spec.btf.type_by_id(acc.type_id);
            let e = t
                .and_then(as_enum)
                .ok_or_else(|| CalcError::Fail("enum accessor is not an enum".into()))?;
            let v = e
                .values
                .get(acc.idx as usize)
                .ok_or_else(|| CalcError::Fail("enumerator index".into()))?;
            // libbpf reads a 32-bit enumerator as `__s32`: sign-extended.
            Ok(if matches!(t, Some(Type::Enum(_))) {
                v.value as u32 as i32 as i64 as u64
            } else {
                v.value
            })
        }
        _ => Err(CalcError::Fail("not an enum relocation".into())),
    }
}

/// `bpf_core_calc_relo` for one candidate (`targ = None`: no candidate).
pub(crate) fn calc(
    kind: CoreReloKind,
    local: &Spec<'_>,
    targ: Option<&Spec<'_>>,
) -> Result<Res, String> {
    let mut res = Res {
        validate: true,
        ..Res::default()
    };
    let r: Result<(), CalcError> = (|| {
        if is_field_based(kind) {
            let l = field(kind, Some(local))?;
            res.orig_val = l.val;
            res.orig_sz = l.size;
            res.orig_type_id = l.type_id;
            res.validate = l.validate;
            let t = field(kind, targ)?;
            res.new_val = t.val;
            res.new_sz = t.size;
            res.new_type_id = t.type_id;
            if res.orig_sz != res.new_sz {
                let lt = local.btf.type_by_id(res.orig_type_id);
                let tt = targ.and_then(|s| s.btf.type_by_id(res.new_type_id));
                let unsigned = |t: Option<&Type>| matches!(t, Some(Type::Int(i)) if i.encoding != IntEncoding::Signed);
                let ptrs = matches!(lt, Some(Type::Ptr(_))) && matches!(tt, Some(Type::Ptr(_)));
                res.fail_memsz_adjust = !(ptrs || unsigned(lt) && unsigned(tt));
            }
        } else if is_type_based(kind) {
            let (o, v) = type_val(kind, Some(local))?;
            res.orig_val = o;
            res.validate = v;
            res.new_val = type_val(kind, targ)?.0;
        } else if is_enumval_based(kind) {
            res.orig_val = enum_val(kind, Some(local))?;
            res.new_val = enum_val(kind, targ)?;
        } else {
            return Err(CalcError::Fail("unknown relocation kind".into()));
        }
        Ok(())
    })();
    match r {
        Ok(()) => Ok(res),
        Err(CalcError::Poison) => {
            res.poison = true;
            Ok(res)
        }
        Err(CalcError::Fail(s)) => Err(s),
    }
}

/// The call libbpf writes over an instruction whose relocation cannot be
/// satisfied: `call 0xbad2310` ("bad relo").
pub(crate) fn poison_insn() -> RawInsn {
    RawInsn::new(op::CALL, 0, 0, 0, uapi::POISON_HELPER)
}

/// What patching did.
pub(crate) enum Patched {
    Value { old: u64, new: u64 },
    Poisoned,
}

/// `bpf_core_patch_insn` on `insns[idx]` (and `insns[idx + 1]` for `lddw`).
pub(crate) fn patch(insns: &mut [RawInsn], idx: usize, res: &Res) -> Result<Patched, String> {
    let insn = insns[idx];
    let class = op::class(insn.code);
    let is_lddw = insn.code == LDDW;
    if is_lddw && idx + 1 >= insns.len() {
        return Err("lddw truncated by the end of the program".into());
    }
    let poison = |insns: &mut [RawInsn]| {
        if is_lddw {
            insns[idx + 1] = poison_insn();
        }
        insns[idx] = poison_insn();
        Ok(Patched::Poisoned)
    };
    if res.poison {
        return poison(insns);
    }
    let (orig, new) = (res.orig_val, res.new_val);
    match class {
        BPF_ALU | BPF_ALU64 => {
            if op::src(insn.code) != BPF_K {
                return Err("ALU instruction with a register source".into());
            }
            let old = insn.imm as i64 as u64;
            if res.validate && old != orig {
                return Err(format!(
                    "unexpected ALU imm {}, expected {orig} (-> {new})",
                    insn.imm
                ));
            }
            insns[idx].imm = new as i32;
            Ok(Patched::Value { old, new })
        }
        BPF_LDX | BPF_ST | BPF_STX => {
            let old = insn.off as i64 as u64;
            if res.validate && old != orig {
                return Err(format!(
                    "unexpected memory offset {}, expected {orig} (-> {new})",
                    insn.off
                ));
            }
            if new > i16::MAX as u64 {
                return Err(format!("offset {new} too big for a memory instruction"));
            }
            if res.fail_memsz_adjust {
                return poison(insns);
            }
            insns[idx].off = new as i16;
            if res.new_sz != res.orig_sz {
                let cur = match op::size(insn.code) {
                    op::BPF_DW => 8,
                    op::BPF_W => 4,
                    op::BPF_H => 2,
                    _ => 1,
                };
                if cur != res.orig_sz {
                    return Err(format!("memory size {cur}, expected {}", res.orig_sz));
                }
                let sz = match res.new_sz {
                    8 => op::BPF_DW,
                    4 => op::BPF_W,
                    2 => op::BPF_H,
                    1 => op::BPF_B,
                    n => return Err(format!("invalid new memory size {n}")),
                };
                insns[idx].code = op::mode(insn.code) | sz | class;
            }
            Ok(Patched::Value { old, new })
        }
        BPF_LD => {
            let next = insns.get(idx + 1).copied().unwrap_or_default();
            if !is_lddw
                || insn.src != 0
                || insn.off != 0
                || next.code != 0
                || next.dst != 0
                || next.src != 0
                || next.off != 0
            {
                return Err("lddw of unexpected form".into());
            }
            let old = u64::from(insn.imm as u32) | (u64::from(next.imm as u32) << 32);
            if res.validate && old != orig {
                return Err(format!(
                    "unexpected lddw value {old}, expected {orig} (-> {new})"
                ));
            }
            insns[idx].imm = new as i32;
            insns[idx + 1].imm = (new >> 32) as i32;
            Ok(Patched::Value { old, new })
        }
        _ => Err(format!(
            "instruction with opcode {:#04x} can't be relocated",
            insn.code
        )),
    }
}

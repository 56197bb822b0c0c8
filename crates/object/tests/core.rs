//! CO-RE relocations: against hand-computed values, and against what the
//! system libbpf computed for the same objects and target BTFs
//! (`*.libbpf.json`, made by `tests/data/regen.sh` with real loads).

use btf::{Btf, CoreReloKind};
use oxbpf_object::{CoreOutcome, CoreTarget, ObjectSpec, ParseOptions, ProgramSpec};
use serde_json::Value;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn btf_file(path: PathBuf) -> Btf {
    Btf::parse(&std::fs::read(path).unwrap()).unwrap()
}

fn open(name: &str, core: CoreTarget<'_>) -> ObjectSpec {
    let opts = ParseOptions {
        core,
        ..ParseOptions::default()
    };
    ObjectSpec::open_with(data(name), &opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn hex(p: &ProgramSpec) -> Vec<String> {
    p.insns
        .iter()
        .map(|i| i.to_bytes().iter().map(|b| format!("{b:02x}")).collect())
        .collect()
}

/// Every program's instructions equal libbpf's.
fn same_as_libbpf(spec: &ObjectSpec, oracle: &str) {
    let o: Value = serde_json::from_str(&std::fs::read_to_string(data(oracle)).unwrap()).unwrap();
    let progs = o["programs"].as_array().unwrap();
    assert_eq!(progs.len(), spec.programs.len());
    for (p, op) in spec.programs.iter().zip(progs) {
        assert_eq!(op["name"], p.name.as_str());
        let theirs: Vec<String> = op["insns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(hex(p), theirs, "{oracle}: program {}", p.name);
    }
}

fn outcome(p: &ProgramSpec, insn: usize) -> CoreOutcome {
    p.core_relos
        .iter()
        .find(|r| r.insn == insn)
        .unwrap_or_else(|| panic!("no relocation at {insn}"))
        .outcome
}

#[test]
fn every_kind_against_a_target_btf() {
    let target = btf_file(data("core_target.btf"));
    let spec = open("core.bpf.o", CoreTarget::Btf(&target));
    let p = spec.program("core_kinds").unwrap();
    let patched = |old, new| CoreOutcome::Patched { old, new };
    // See core.bpf.c / core_target.bpf.c; offsets in bytes.
    assert_eq!(outcome(p, 1), patched(4, 48), "byte_off tgid");
    assert_eq!(outcome(p, 9), patched(1, 0), "field_exists renamed field");
    assert_eq!(outcome(p, 10), patched(1, 1), "field_exists comm");
    assert_eq!(outcome(p, 13), patched(16, 52), "byte_off of bitfield prio");
    assert_eq!(outcome(p, 22), patched(8, 4), "byte_sz long -> int");
    assert_eq!(outcome(p, 25), patched(56, 53), "lshift_u64 prio");
    assert_eq!(outcome(p, 26), patched(1, 1), "signed prio");
    assert_eq!(outcome(p, 28), patched(59, 57), "rshift_u64 prio");
    assert_eq!(outcome(p, 42), patched(61, 60), "lshift_u64 flags");
    assert_eq!(outcome(p, 43), patched(0, 0), "signed flags");
    assert_eq!(outcome(p, 49), patched(1, 0), "type_exists missing type");
    assert_eq!(outcome(p, 51), patched(40, 56), "type_size");
    assert_eq!(
        outcome(p, 53),
        patched(1, 0),
        "enumval_exists missing value"
    );
    assert_eq!(outcome(p, 56), patched(4, 16), "enumval_value");
    assert_eq!(outcome(p, 59), patched(1, 0), "type_matches");
    assert_eq!(outcome(p, 61), patched(2, 2), "target_type_id");
    assert_eq!(outcome(p, 64), patched(2, 2), "local_type_id");
    assert_eq!(
        outcome(p, 68),
        CoreOutcome::Poisoned,
        "byte_off of a missing type"
    );
    assert_eq!(p.insns[68].imm, uapi::POISON_HELPER);
    let kinds: Vec<_> = p.core_relos.iter().map(|r| r.kind).collect();
    for k in [
        CoreReloKind::FieldByteOffset,
        CoreReloKind::FieldByteSize,
        CoreReloKind::FieldExists,
        CoreReloKind::FieldSigned,
        CoreReloKind::FieldLshiftU64,
        CoreReloKind::FieldRshiftU64,
        CoreReloKind::TypeIdLocal,
        CoreReloKind::TypeIdTarget,
        CoreReloKind::TypeExists,
        CoreReloKind::TypeSize,
        CoreReloKind::TypeMatches,
        CoreReloKind::EnumvalExists,
        CoreReloKind::EnumvalValue,
    ] {
        assert!(kinds.contains(&k), "{k:?} not exercised");
    }
    // xdp_md is not in this target: both relocations poisoned.
    let ctx = spec.program("core_ctx").unwrap();
    assert!(ctx
        .core_relos
        .iter()
        .all(|r| r.outcome == CoreOutcome::Poisoned));
    same_as_libbpf(&spec, "core.target.libbpf.json");
}

#[test]
fn builtin_context_types() {
    let spec = open("core.bpf.o", CoreTarget::Builtin);
    let ctx = spec.program("core_ctx").unwrap();
    assert_eq!(outcome(ctx, 0), CoreOutcome::Patched { old: 12, new: 12 });
    assert_eq!(outcome(ctx, 1), CoreOutcome::Patched { old: 4, new: 4 });
    same_as_libbpf(&spec, "core.builtin.libbpf.json");
}

#[test]
fn no_target_leaves_code_as_compiled() {
    let spec = open("core.bpf.o", CoreTarget::None);
    let p = spec.program("core_kinds").unwrap();
    assert!(!p.core_relos.is_empty());
    assert!(p
        .core_relos
        .iter()
        .all(|r| r.outcome == CoreOutcome::NotApplied));
    assert_eq!(p.insns[1].imm, 4);
}

#[test]
fn kernel_types_like_libbpf() {
    let target = btf_file(data("core_task.btf"));
    let spec = open("core_task.bpf.o", CoreTarget::Btf(&target));
    let p = &spec.programs[0];
    assert!(p
        .core_relos
        .iter()
        .all(|r| r.outcome != CoreOutcome::NotApplied));
    same_as_libbpf(&spec, "core_task.libbpf.json");
}

/// Against the running kernel's full BTF (many candidates, flavors): the
/// same result as against the minimised BTF regen.sh made from it, when
/// this is the kernel that BTF came from.
#[test]
fn running_kernel_btf() {
    let Ok(bytes) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        eprintln!("skipped: no /sys/kernel/btf/vmlinux");
        return;
    };
    let vmlinux = Btf::parse(&bytes).unwrap();
    let min = btf_file(data("core_task.btf"));
    let full = open("core_task.bpf.o", CoreTarget::Btf(&vmlinux));
    let small = open("core_task.bpf.o", CoreTarget::Btf(&min));
    // The minimised BTF came from this kernel only if every field the
    // program reads sits at the same offset in both.
    let fields = [
        ("task_struct", "tgid"),
        ("task_struct", "mm"),
        ("task_struct", "real_parent"),
        ("task_struct", "comm"),
        ("task_struct", "__state"),
        ("mm_struct", "total_vm"),
    ];
    let offset = |b: &Btf, s: &str, f: &str| {
        let id = b.find_by_name(btf::Kind::Struct, s)?;
        Some(b.find_member(id, f).ok()??.bit_offset)
    };
    let same_kernel = fields.iter().all(|(s, f)| {
        offset(&vmlinux, s, f).is_some() && offset(&vmlinux, s, f) == offset(&min, s, f)
    });
    if !same_kernel {
        eprintln!("skipped: core_task.btf was made from another kernel");
        return;
    }
    assert_eq!(full.programs[0].insns, small.programs[0].insns);
}

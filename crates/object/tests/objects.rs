//! What the test objects of `tests/data` open as, where libbpf (1.x) has
//! no opinion to compare with: legacy map sections, objects without
//! function symbols, externs oxbpf cannot resolve, and refusals.

use oxbpf_object::{
    DataKind, ExternKind, InitSlot, KconfigOptions, MapKind, MapRefKind, ObjectError, ObjectSpec,
    ParseOptions, Pinning,
};
use std::path::PathBuf;
use uapi::{AttachType, MapType, ProgType};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn open(name: &str) -> ObjectSpec {
    ObjectSpec::open_with(data(name), &ParseOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn open_err(name: &str) -> ObjectError {
    match ObjectSpec::open_with(data(name), &ParseOptions::default()) {
        Ok(_) => panic!("{name} opened"),
        Err(e) => e,
    }
}

#[test]
fn legacy_maps_section() {
    let spec = open("legacy.bpf.o");
    let names: Vec<_> = spec.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["legacy_array", "legacy_hash"]);
    let h = spec.map("legacy_hash").unwrap();
    assert_eq!(h.kind, MapKind::Legacy);
    assert_eq!(
        (h.map_type, h.key_size, h.value_size, h.max_entries, h.flags),
        (MapType::Hash, 4, 8, 128, 1)
    );
    let p = spec.program("legacy").unwrap();
    let refs: Vec<_> = p.map_refs.iter().map(|r| (r.map, r.kind)).collect();
    assert_eq!(refs, [(0, MapRefKind::Map), (1, MapRefKind::Map)]);
    for r in &p.map_refs {
        let insn = p.insns[r.insn];
        assert_eq!((insn.code, insn.src, insn.imm), (0x18, 1, r.map as i32));
    }
}

#[test]
fn iproute2_map_records() {
    let spec = open("legacy_elf.bpf.o");
    assert_eq!(spec.maps[0].max_entries, 16);
    assert_eq!(spec.maps[0].pinning, Pinning::None);
    let spec = open("legacy_elf_pinned.bpf.o");
    assert_eq!(spec.maps[0].pinning, Pinning::GlobalNs);
    let e = open_err("legacy_elf_inner.bpf.o");
    assert!(e.is_unsupported(), "{e}");
    assert!(
        e.to_string().contains("'elf_map': iproute2 map-in-map"),
        "{e}"
    );
    // Records of another size must end in zeroes (libbpf 0.x strict mode).
    let e = open_err("legacy_long.bpf.o");
    assert!(
        matches!(e.root(), ObjectError::LegacyMap { map, offset: 0, .. } if map == "long_map"),
        "{e}"
    );
}

#[test]
fn sections_without_function_symbols() {
    let spec = open("nofunc.o");
    let progs: Vec<_> = spec
        .programs
        .iter()
        .map(|p| (p.name.as_str(), p.prog_type, p.insns.len()))
        .collect();
    assert_eq!(
        progs,
        [
            ("socket", ProgType::SocketFilter, 2),
            ("xdp", ProgType::Xdp, 3)
        ]
    );
    assert_eq!(spec.license, "GPL");
}

#[test]
fn static_entry_point_is_refused() {
    let e = open_err("static_prog.bpf.o");
    assert!(e.is_unsupported(), "{e}");
    assert!(e.to_string().contains("'hidden_entry' is static"), "{e}");
}

#[test]
fn ksyms_are_never_resolved() {
    let spec = open("ksyms.bpf.o");
    let unresolved: Vec<_> = spec.unresolved_externs().map(|e| e.name.as_str()).collect();
    assert_eq!(unresolved, ["strong_var"]);
    assert!(spec
        .externs
        .iter()
        .all(|e| matches!(e.kind, ExternKind::Ksym { .. }) && !e.resolved));
    let p = &spec.programs[0];
    // The weak kfunc call is poisoned with libbpf's constant + extern index.
    let idx = spec
        .externs
        .iter()
        .position(|e| e.name == "bpf_oxbpf_kfunc")
        .unwrap() as i32;
    assert!(p.insns.iter().any(|i| i.code == 0x85
        && i.src == 0
        && i.imm == oxbpf_object::POISON_CALL_KFUNC_BASE + idx));
}

#[test]
fn kconfig_values_and_defaults() {
    let spec = open("kconfig.bpf.o");
    // Nothing gave CONFIG_*: the strong ones block loading.
    let mut unresolved: Vec<_> = spec.unresolved_externs().map(|e| e.name.clone()).collect();
    unresolved.sort();
    assert_eq!(
        unresolved,
        ["CONFIG_BPF_SYSCALL", "CONFIG_E1000", "CONFIG_HZ"]
    );
    let opts = ParseOptions {
        kconfig: KconfigOptions {
            kernel_version: oxbpf_object::kernel_version(5, 15, 300),
            config: "CONFIG_HZ=0x100\nCONFIG_BPF_SYSCALL=y\nCONFIG_E1000=m\n# comment\n".into(),
            ..KconfigOptions::default()
        },
        ..ParseOptions::default()
    };
    let spec = ObjectSpec::open_with(data("kconfig.bpf.o"), &opts).unwrap();
    assert_eq!(spec.unresolved_externs().count(), 0);
    let m = spec.map(".kconfig").unwrap();
    assert!(matches!(
        m.kind,
        MapKind::Data {
            data: DataKind::Kconfig,
            ..
        }
    ));
    assert!(m.freeze);
    let value = |name: &str| {
        let e = spec.externs.iter().find(|e| e.name == name).unwrap();
        let ExternKind::Kconfig { offset, size } = e.kind else {
            panic!()
        };
        let d = m.data.as_ref().unwrap();
        let mut b = [0u8; 8];
        b[..size as usize].copy_from_slice(&d[offset as usize..(offset + size) as usize]);
        u64::from_le_bytes(b)
    };
    assert_eq!(value("CONFIG_HZ"), 256);
    assert_eq!(value("CONFIG_BPF_SYSCALL"), 1);
    assert_eq!(value("CONFIG_E1000"), 2);
    assert_eq!(value("LINUX_KERNEL_VERSION"), 0x050fff);
    assert_eq!(value("CONFIG_MISSING"), 0);
    // A value of the wrong kind is refused, naming the extern.
    let bad = ParseOptions {
        kconfig: KconfigOptions {
            config: "CONFIG_BPF_SYSCALL=m".into(),
            ..KconfigOptions::default()
        },
        ..ParseOptions::default()
    };
    let e = ObjectSpec::open_with(data("kconfig.bpf.o"), &bad).unwrap_err();
    assert!(
        matches!(e.root(), ObjectError::Extern { name, .. } if name == "CONFIG_BPF_SYSCALL"),
        "{e}"
    );
}

#[test]
fn section_table_details() {
    let spec = open("sections.bpf.o");
    let p = |sec: &str| spec.programs.iter().find(|p| p.section == sec).unwrap();
    assert_eq!(
        p("kprobe/do_sys_openat2").attach_target.as_deref(),
        Some("do_sys_openat2")
    );
    assert_eq!(
        p("tracepoint/syscalls/sys_enter_openat")
            .attach_target
            .as_deref(),
        Some("syscalls/sys_enter_openat")
    );
    assert_eq!(
        p("uprobe//bin/bash:readline").attach_target.as_deref(),
        Some("/bin/bash:readline")
    );
    let f = p("fentry.s/do_unlinkat");
    assert_eq!(
        (f.prog_type, f.expected_attach_type),
        (ProgType::Tracing, Some(AttachType::TraceFentry))
    );
    assert_eq!(f.prog_flags, oxbpf_object::section::BPF_F_SLEEPABLE);
    assert_eq!(
        p("xdp.frags").prog_flags,
        oxbpf_object::section::BPF_F_XDP_HAS_FRAGS
    );
    assert_eq!(
        p("tc/ingress").expected_attach_type,
        Some(AttachType::TcxIngress)
    );
    assert_eq!(p("oxbpf_unknown_section").prog_type, ProgType::Unspec);
    let lazy = spec.programs.iter().find(|p| !p.autoload).unwrap();
    assert_eq!(
        (lazy.section.as_str(), lazy.prog_type),
        ("xdp", ProgType::Xdp)
    );
}

#[test]
fn maps_in_maps_and_prog_arrays() {
    let spec = open("maps.bpf.o");
    let outer = spec.map("outer").unwrap();
    let a = spec.map_index("inner_a").unwrap();
    let b = spec.map_index("inner_b").unwrap();
    assert_eq!(
        outer.init_slots,
        [(0, InitSlot::Map(a)), (2, InitSlot::Map(b))]
    );
    let inner = outer.inner.as_ref().unwrap();
    assert_eq!(
        (inner.name.as_str(), inner.map_type),
        ("outer.inner", MapType::Array)
    );
    let jumps = spec.map("jumps").unwrap();
    let t = spec
        .programs
        .iter()
        .position(|p| p.name == "tail_target")
        .unwrap();
    assert_eq!(jumps.init_slots, [(3, InitSlot::Program(t))]);
    assert_eq!(
        spec.map("events").unwrap().max_entries,
        8192,
        "ringbuf rounded up"
    );
    assert_eq!(spec.map("bloom").unwrap().map_extra, 3);
    assert_eq!(open("pinning.bpf.o").maps[0].pinning, Pinning::ByName);
}

#[test]
fn global_data_maps() {
    let spec = open("globals.bpf.o");
    let ro = spec.map(".rodata").unwrap();
    assert_eq!(ro.name, "globals.rodata");
    assert!(ro.freeze);
    assert_eq!(&ro.data.as_ref().unwrap()[..4], &42i32.to_le_bytes());
    let bss = spec.map(".bss").unwrap();
    assert_eq!(bss.data.as_deref(), Some(&[0u8; 16][..]));
    let p = &spec.programs[0];
    // `zeroed` lives at offset 8 of .bss.
    let bss_idx = spec.map_index(".bss").unwrap();
    assert!(p
        .map_refs
        .iter()
        .any(|r| r.map == bss_idx && r.kind == MapRefKind::Value { offset: 8 }));
    for r in &p.map_refs {
        let MapRefKind::Value { offset } = r.kind else {
            continue;
        };
        assert_eq!(p.insns[r.insn].src, 2);
        assert_eq!(p.insns[r.insn + 1].imm as u32, offset);
    }
}

#[test]
fn subprogram_layout_and_btf_ext() {
    let spec = open("subprogs.bpf.o");
    let a = spec.program("xdp_a").unwrap();
    let names: Vec<_> = a.subprograms.iter().map(|s| s.name.as_str()).collect();
    // Depth-first, in call order: the callback, then global_helper's tree.
    assert_eq!(names, ["loop_cb", "leaf", "global_helper", "middle"]);
    assert_eq!(a.func_info.len(), 1 + names.len());
    assert_eq!(a.func_info[0].insn_off, 0);
    for (fi, s) in a.func_info[1..].iter().zip(&a.subprograms) {
        assert_eq!(fi.insn_off as usize, s.insn);
    }
    assert!(a
        .line_info
        .windows(2)
        .all(|w| w[0].insn_off <= w[1].insn_off));
    assert!(a
        .line_info
        .iter()
        .all(|l| (l.insn_off as usize) < a.insns.len()));
    // The counts map is referenced from inside global_helper.
    let gh = a
        .subprograms
        .iter()
        .find(|s| s.name == "global_helper")
        .unwrap();
    assert!(gh.global);
    assert!(a
        .subprograms
        .iter()
        .filter(|s| s.name != "global_helper")
        .all(|s| !s.global));
    assert!(a
        .map_refs
        .iter()
        .any(|r| r.insn >= gh.insn && r.insn < gh.insn + gh.len));
}

#[test]
fn not_an_object() {
    let e = ObjectSpec::parse(b"definitely not ELF", "x").unwrap_err();
    assert!(
        matches!(e, ObjectError::BadElf { what: "header", .. }),
        "{e}"
    );
    let e = ObjectSpec::open(data("does-not-exist.o")).unwrap_err();
    assert!(matches!(e, ObjectError::Io { .. }), "{e}");
}

/// The object with the first byte of its `.BTF` section (the magic) broken.
fn broken_btf(name: &str) -> Vec<u8> {
    use object::{Object, ObjectSection};
    let mut bytes = std::fs::read(data(name)).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let (off, _) = file.section_by_name(".BTF").unwrap().file_range().unwrap();
    bytes[off as usize] ^= 0xff;
    bytes
}

#[test]
fn broken_btf_fails_only_objects_that_need_it() {
    // .maps needs BTF: the BTF error is reported.
    let e = ObjectSpec::parse(&broken_btf("maps.bpf.o"), "maps.bpf.o").unwrap_err();
    assert!(matches!(e, ObjectError::Btf { .. }), "{e}");
    // Without BTF-defined maps or externs, libbpf goes on without BTF.
    let spec = ObjectSpec::parse(&broken_btf("legacy.bpf.o"), "legacy.bpf.o").unwrap();
    assert!(spec.btf.is_none());
    assert!(spec.programs[0].func_info.is_empty());
    assert_eq!(spec.maps.len(), 2);
}

#[test]
fn call_inside_a_symbol_less_section() {
    let spec = open("intra_call.o");
    let p = &spec.programs[0];
    assert_eq!(p.insns.len(), 5);
    assert!(p.subprograms.is_empty());
    assert_eq!((p.insns[0].src, p.insns[0].imm), (1, 2));
}

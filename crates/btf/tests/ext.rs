//! `.BTF.ext` of the test objects: func_info names functions, line_info
//! quotes the very source lines of the checked-in C files, and the CO-RE
//! relocations of core.c are the ones its macros ask for.

mod common;
use common::*;
use object::{Object, ObjectSection};
use oxbpf_btf::*;

fn ext_of(stem: &str) -> (Btf, BtfExt) {
    let btf = btf_of(stem);
    let bytes = section(stem, ".BTF.ext").expect(".BTF.ext");
    let ext = BtfExt::parse(&bytes, &btf).unwrap_or_else(|e| panic!("{stem}: {e}"));
    (btf, ext)
}

#[test]
fn func_and_line_info_agree_with_the_sources() {
    let mut lines_checked = 0;
    for stem in objects() {
        let (btf, ext) = ext_of(&stem);
        let obj_bytes = std::fs::read(data_dir().join(format!("{stem}.o"))).unwrap();
        let elf = object::File::parse(&*obj_bytes).unwrap();
        assert!(!ext.func_info.is_empty(), "{stem}: no func_info");
        for sec in &ext.func_info {
            let code = elf
                .section_by_name(&sec.name)
                .expect("func_info names a code section");
            for fi in &sec.records {
                assert!(matches!(btf.type_by_id(fi.type_id), Some(Type::Func(_))));
                assert!(
                    (fi.insn_off as u64) < code.size(),
                    "{stem}: func_info past the section"
                );
            }
        }
        let source = std::fs::read_to_string(data_dir().join(format!("{stem}.c"))).unwrap();
        let src_lines: Vec<&str> = source.lines().collect();
        for sec in &ext.line_info {
            for li in &sec.records {
                assert_eq!(li.file_name(&btf), format!("./{stem}.c"));
                let want = src_lines[li.line as usize - 1];
                assert_eq!(li.line_text(&btf), want, "{stem}:{}", li.line);
                assert!(li.column as usize <= want.len() + 1);
                lines_checked += 1;
            }
        }
    }
    assert!(lines_checked > 50, "only {lines_checked} line records");
}

#[test]
fn line_info_lookup_picks_the_record_in_effect() {
    let (btf, ext) = ext_of("core");
    // Offsets 0 and 48 start records; 56 is still covered by 48's.
    let at = |sec: &str, off: u32| ext.line_info_at(sec, off).map(|l| (l.line, l.column));
    assert_eq!(at("kprobe/do_exit", 0), Some((24, 0)));
    assert_eq!(at("kprobe/do_exit", 56), Some((26, 12)));
    assert_eq!(at(".text", 48), Some((20, 9)));
    assert_eq!(at("nope", 0), None);
    let l = ext.line_info_at("xdp", 16).unwrap();
    assert_eq!(l.line_text(&btf), "\tif (data + 14 > end)");
    let fi: Vec<_> = ext.func_info_for(".text").collect();
    assert_eq!(btf.type_name(fi[0].type_id), Some("get_pid"));
}

#[test]
fn core_relocations_of_core_c() {
    let (btf, ext) = ext_of("core");
    let task = btf.find_by_name(Kind::Struct, "task").unwrap();
    let relos: Vec<_> = ext.core_relos_for("kprobe/do_exit").collect();
    let has = |kind: CoreReloKind, access: &str| {
        relos
            .iter()
            .any(|r| r.kind == kind && r.access_str == access)
    };
    // BPF_CORE_READ(t, cred.uid): member 1 (cred), then its member 0 (uid).
    assert!(has(CoreReloKind::FieldByteOffset, "0:1:0"));
    assert!(has(CoreReloKind::FieldExists, "0:3"));
    assert!(has(CoreReloKind::TypeSize, "0"));
    for k in [
        CoreReloKind::FieldByteOffset,
        CoreReloKind::FieldByteSize,
        CoreReloKind::FieldLshiftU64,
        CoreReloKind::FieldRshiftU64,
        CoreReloKind::FieldSigned,
    ] {
        assert!(has(k, "0:2"), "bitfield read needs {k:?}");
    }
    let ev = relos
        .iter()
        .find(|r| r.kind == CoreReloKind::EnumvalValue)
        .unwrap();
    assert_eq!(btf.type_name(ev.type_id), Some("state"));
    assert_eq!(ev.access_indices(), Some(vec![1]));
    // Following "0:1:0" through the types reaches `uid` at byte 4.
    let mut id = task;
    let mut bits = 0u64;
    for idx in &[1usize, 0] {
        let c = btf.composite(id).unwrap().unwrap();
        bits += c.members[*idx].bit_offset as u64;
        id = c.members[*idx].type_id;
    }
    assert_eq!(bits / 8, 4);
    assert_eq!(
        ext.core_relos_for(".text").next().unwrap().access_str,
        "0:0"
    );
    assert!(relos.iter().all(|r| r.insn_off % 8 == 0));
}

/// A `.BTF.ext` blob with one subsection of our making.
fn ext_blob(func: &[u32]) -> Vec<u8> {
    let mut b = vec![0x9f, 0xeb, 1, 0];
    let len = (func.len() * 4) as u32;
    for w in [32, 0, len, len, 0, len, 0] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    for w in func {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b
}

#[test]
fn malformed_ext_is_rejected_with_its_place() {
    let btf = btf_of("core");
    let text_off = btf
        .strings()
        .windows(6)
        .position(|w| w == b".text\0")
        .unwrap() as u32;
    let func = btf.find_by_name(Kind::Func, "get_pid").unwrap();
    // Well-formed: rec_size 8, one section with one record.
    let ok = ext_blob(&[8, text_off, 1, 0, func]);
    let ext = BtfExt::parse(&ok, &btf).unwrap();
    assert_eq!(ext.func_info[0].name, ".text");
    // Record size too small.
    let e = BtfExt::parse(&ext_blob(&[4, text_off, 1, 0, func]), &btf).unwrap_err();
    assert!(
        matches!(
            e,
            BtfError::BadExt {
                section: "func_info",
                offset: 32,
                ..
            }
        ),
        "{e}"
    );
    // More records than bytes.
    let e = BtfExt::parse(&ext_blob(&[8, text_off, 1000, 0, func]), &btf).unwrap_err();
    assert!(
        matches!(
            e,
            BtfError::BadExt {
                section: "func_info",
                offset: 40,
                ..
            }
        ),
        "{e}"
    );
    // Zero records.
    let e = BtfExt::parse(&ext_blob(&[8, text_off, 0]), &btf).unwrap_err();
    assert!(
        matches!(
            e,
            BtfError::BadExt {
                section: "func_info",
                ..
            }
        ),
        "{e}"
    );
    // Unknown type id.
    let e = BtfExt::parse(&ext_blob(&[8, text_off, 1, 0, 99999]), &btf).unwrap_err();
    assert!(
        matches!(
            e,
            BtfError::BadExt {
                section: "func_info",
                offset: 44,
                ..
            }
        ),
        "{e}"
    );
    // Bad section name offset.
    let e = BtfExt::parse(&ext_blob(&[8, 0xffff_fff0, 1, 0, func]), &btf).unwrap_err();
    assert!(
        matches!(
            e,
            BtfError::BadExt {
                section: "func_info",
                offset: 36,
                ..
            }
        ),
        "{e}"
    );
    // Header problems.
    assert!(matches!(
        BtfExt::parse(&ok[..10], &btf),
        Err(BtfError::BadExt { .. })
    ));
    let mut bad = ok.clone();
    bad[1] = 0;
    assert!(matches!(
        BtfExt::parse(&bad, &btf),
        Err(BtfError::BadMagic { .. })
    ));
    let mut bad = ok.clone();
    bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(BtfExt::parse(&bad, &btf).is_err());
}

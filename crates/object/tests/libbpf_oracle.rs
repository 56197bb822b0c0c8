//! Differential tests against the system libbpf: `tests/data/regen.sh` ran
//! `tests/tools/libbpf_dump.c` on each test object and stored what libbpf
//! made of it (`*.libbpf.json`); here we check that oxbpf-object makes the
//! same: program names, sections, types, expected attach types, map
//! definitions, initial data and — where libbpf's gen_loader mode got that
//! far — every relocated instruction.

use oxbpf_object::{CoreTarget, KconfigOptions, MapKind, MapSpec, ObjectSpec, ParseOptions};
use serde_json::Value;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The kconfig text regen.sh gave libbpf.
const KCONFIG: &str =
    "CONFIG_HZ=250\nCONFIG_BPF_SYSCALL=y\nCONFIG_E1000=m\nCONFIG_DEFAULT_HOSTNAME=\"oxbpf\"";

fn oracle(name: &str) -> Value {
    let text = std::fs::read_to_string(data(&format!("{name}.libbpf.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ours(name: &str, o: &Value) -> ObjectSpec {
    let opts = ParseOptions {
        // gen_loader mode leaves CO-RE relocations alone.
        core: CoreTarget::None,
        kconfig: KconfigOptions {
            kernel_version: o["kernel_version"].as_u64().unwrap() as u32,
            config: KCONFIG.into(),
            ..KconfigOptions::default()
        },
    };
    let path = data(&format!("{name}.bpf.o"));
    ObjectSpec::open_with(&path, &opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn check_map(name: &str, m: &MapSpec, o: &Value) {
    let ctx = format!("{name}: map {}", m.name);
    assert_eq!(o["name"], m.name.as_str(), "{ctx}");
    assert_eq!(o["type"], m.map_type.id(), "{ctx} type");
    assert_eq!(o["key_size"], m.key_size, "{ctx} key_size");
    assert_eq!(o["value_size"], m.value_size, "{ctx} value_size");
    assert_eq!(o["max_entries"], m.max_entries, "{ctx} max_entries");
    assert_eq!(o["flags"], m.flags, "{ctx} flags");
    assert_eq!(o["numa_node"], m.numa_node, "{ctx} numa_node");
    assert_eq!(o["map_extra"], m.map_extra, "{ctx} map_extra");
    assert_eq!(o["btf_key_type_id"], m.btf_key_type_id, "{ctx} btf key");
    assert_eq!(
        o["btf_value_type_id"], m.btf_value_type_id,
        "{ctx} btf value"
    );
    assert_eq!(
        o["pin"],
        m.pinning != oxbpf_object::Pinning::None,
        "{ctx} pinning"
    );
    if !matches!(m.kind, MapKind::Data { .. }) {
        assert!(o.get("data").is_none(), "{ctx}: libbpf has data");
    }
    match (&m.inner, o.get("inner")) {
        (Some(i), Some(oi)) => check_map(name, i, oi),
        (None, None) => {}
        (a, b) => panic!("{ctx}: inner {a:?} vs {b:?}"),
    }
}

fn compare(name: &str) -> (ObjectSpec, Value) {
    let o = oracle(name);
    let spec = ours(name, &o);
    assert_eq!(o["name"], spec.name.as_str());
    let omaps = o["maps"].as_array().unwrap();
    assert_eq!(omaps.len(), spec.maps.len(), "{name}: map count");
    let loaded = o["loaded_data"].as_array().unwrap();
    for (i, (m, om)) in spec.maps.iter().zip(omaps).enumerate() {
        check_map(name, m, om);
        if let Some(d) = &m.data {
            // Initial values as libbpf has them once externs are resolved.
            assert_eq!(loaded[i], hex(d).as_str(), "{name}: map {} data", m.name);
        }
    }
    let oprogs = o["programs"].as_array().unwrap();
    assert_eq!(oprogs.len(), spec.programs.len(), "{name}: program count");
    let relocated = o["load_error"] == 0;
    for (p, op) in spec.programs.iter().zip(oprogs) {
        let ctx = format!("{name}: program {}", p.name);
        assert_eq!(op["name"], p.name.as_str(), "{ctx}");
        assert_eq!(op["section"], p.section.as_str(), "{ctx}");
        assert_eq!(op["autoload"], p.autoload, "{ctx}");
        let otype = op["type"].as_u64().unwrap();
        if otype == 0 && p.prog_type != uapi_unspec() {
            // A section newer than the system libbpf: nothing to compare.
            continue;
        }
        assert_eq!(otype, u64::from(p.prog_type.id()), "{ctx} type");
        let oat = op["expected_attach_type"].as_u64().unwrap();
        assert_eq!(
            oat,
            u64::from(p.expected_attach_type.map_or(0, |a| a.id())),
            "{ctx} attach"
        );
        // libbpf adds BPF_F_SLEEPABLE / BPF_F_XDP_HAS_FRAGS to the load
        // attributes, not to the program's flags: nothing to compare.
        if relocated && p.autoload {
            let oi: Vec<String> = op["insns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| normalise(v.as_str().unwrap()))
                .collect();
            let mine: Vec<String> = p.insns.iter().map(|i| hex(&i.to_bytes())).collect();
            assert_eq!(mine, oi, "{ctx}: instructions");
        }
    }
    (spec, o)
}

fn uapi_unspec() -> uapi::ProgType {
    uapi::ProgType::Unspec
}

/// gen_loader writes `BPF_PSEUDO_MAP_IDX(_VALUE)` (5, 6) where our spec
/// has `BPF_PSEUDO_MAP_FD(_VALUE)` (1, 2) with the same map index.
fn normalise(hexinsn: &str) -> String {
    if &hexinsn[..2] != "18" {
        return hexinsn.to_string();
    }
    let regs = u8::from_str_radix(&hexinsn[2..4], 16).unwrap();
    let src = match regs >> 4 {
        5 => 1,
        6 => 2,
        s => s,
    };
    format!("18{:02x}{}", (src << 4) | (regs & 0xf), &hexinsn[4..])
}

#[test]
fn globals_match_libbpf() {
    let (spec, o) = compare("globals");
    assert_eq!(o["load_error"], 0);
    assert_eq!(spec.maps.len(), 5);
}

#[test]
fn subprograms_match_libbpf() {
    let (spec, o) = compare("subprogs");
    assert_eq!(o["load_error"], 0);
    let a = spec.program("xdp_a").unwrap();
    assert!(a.subprograms.iter().any(|s| s.name == "loop_cb"));
}

#[test]
fn kconfig_matches_libbpf() {
    let (spec, o) = compare("kconfig");
    assert_eq!(o["load_error"], 0);
    assert_eq!(spec.unresolved_externs().count(), 0);
}

#[test]
fn maps_match_libbpf() {
    compare("maps");
}

#[test]
fn pinning_matches_libbpf() {
    let (spec, _) = compare("pinning");
    assert_eq!(spec.kern_version, 0x060600);
}

#[test]
fn sections_match_libbpf() {
    let (spec, o) = compare("sections");
    // The system libbpf (1.1) knows most, but not all, of the table.
    let known = o["programs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] != 0)
        .count();
    assert!(known >= 55, "{known}");
    assert_eq!(spec.programs.len(), 66);
}

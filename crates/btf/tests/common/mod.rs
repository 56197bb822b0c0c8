//! Shared helpers of the integration tests: the test objects and their
//! `.BTF` / `.BTF.ext` sections.
#![allow(dead_code)]

use object::{Object, ObjectSection};
use std::path::PathBuf;

/// `tests/data`.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The names (without `.o`) of every test object, sorted.
pub fn objects() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(data_dir())
        .expect("tests/data")
        .filter_map(|e| {
            let p = e.ok()?.path();
            if p.extension()? == "o" {
                Some(p.file_stem()?.to_string_lossy().into_owned())
            } else {
                None
            }
        })
        .collect();
    v.sort();
    assert!(
        v.len() >= 8,
        "expected the test objects in tests/data, found {v:?}"
    );
    v
}

/// The contents of section `name` of object `stem`.
pub fn section(stem: &str, name: &str) -> Option<Vec<u8>> {
    let bytes = std::fs::read(data_dir().join(format!("{stem}.o"))).expect("object");
    let file = object::File::parse(&*bytes).expect("ELF");
    let s = file.section_by_name(name)?;
    Some(s.data().expect("section data").to_vec())
}

/// Object `stem`'s `.BTF`.
pub fn btf_of(stem: &str) -> oxbpf_btf::Btf {
    let b = section(stem, ".BTF").expect(".BTF section");
    oxbpf_btf::Btf::parse(&b).unwrap_or_else(|e| panic!("{stem}: {e}"))
}

/// Prints the first differing line of two texts (for golden failures).
pub fn first_diff(ours: &str, theirs: &str) -> Option<String> {
    let (a, b): (Vec<_>, Vec<_>) = (ours.lines().collect(), theirs.lines().collect());
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i), b.get(i));
        if x != y {
            return Some(format!(
                "line {}:\n  ours:    {:?}\n  bpftool: {:?}",
                i + 1,
                x,
                y
            ));
        }
    }
    None
}

//! Arbitrary bytes as `.BTF` and `.BTF.ext`: parsing, every query and every
//! dump must return (an error is fine) without panicking, hanging or
//! allocating without bound.
//!
//! Input layout: the first two bytes give the length of the `.BTF` part,
//! the rest after it is `.BTF.ext`; the whole input is also tried as BTF.
#![no_main]

use btf::{dump, Btf, BtfExt};
use libfuzzer_sys::fuzz_target;

fn exercise(btf: &Btf) {
    let mut s = String::new();
    let _ = dump::raw(btf, &mut s);
    s.clear();
    let _ = dump::json(btf, true, &mut s);
    s.clear();
    let _ = dump::c::header(btf, &mut s);
    for (id, t) in btf.types() {
        let _ = btf.resolve(id);
        let _ = btf.size_of(id);
        let _ = btf.align_of(id);
        if let Some(name) = btf.name_by_offset(t.name_off()) {
            let _ = btf.find_by_name(t.kind(), name);
            let _ = btf.find_member(id, name);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(btf) = Btf::parse(data) {
        exercise(&btf);
    }
    if data.len() < 2 {
        return;
    }
    let split = (u16::from_le_bytes([data[0], data[1]]) as usize).min(data.len() - 2);
    let (b, e) = data[2..].split_at(split);
    if let Ok(btf) = Btf::parse(b) {
        exercise(&btf);
        if let Ok(ext) = BtfExt::parse(e, &btf) {
            for s in &ext.line_info {
                for l in &s.records {
                    let _ = ext.line_info_at(&s.name, l.insn_off);
                }
            }
        }
    }
});

//! Prints what oxbpf-object makes of an object file (debugging aid):
//! `cargo run -p oxbpf-object --example dump_spec -- FILE.o`
fn main() {
    for path in std::env::args().skip(1) {
        match oxbpf_object::ObjectSpec::open(&path) {
            Ok(spec) => {
                println!(
                    "{path}: name={} license={:?} kver={:#x}",
                    spec.name, spec.license, spec.kern_version
                );
                for (i, m) in spec.maps.iter().enumerate() {
                    println!(
                        "  map #{i} {} {:?} type={} key={} value={} max={} flags={:#x} btf={}/{} slots={:?} inner={:?}",
                        m.name, m.kind, m.map_type, m.key_size, m.value_size, m.max_entries, m.flags,
                        m.btf_key_type_id, m.btf_value_type_id, m.init_slots, m.inner.as_ref().map(|i| &i.name)
                    );
                }
                for e in &spec.externs {
                    println!("  extern {e:?}");
                }
                for p in &spec.programs {
                    println!(
                        "  prog {} sec={} type={} attach={:?} target={:?} flags={:#x} insns={} own={} subs={:?} func_info={} line_info={}",
                        p.name, p.section, p.prog_type, p.expected_attach_type, p.attach_target, p.prog_flags,
                        p.insns.len(), p.func_insns, p.subprograms, p.func_info.len(), p.line_info.len()
                    );
                    for r in &p.map_refs {
                        println!("    mapref {r:?}");
                    }
                    for c in &p.core_relos {
                        println!("    core {c:?}");
                    }
                }
            }
            Err(e) => println!("{path}: error: {e}"),
        }
    }
}

//! Arbitrary bytes as an eBPF object file: `ObjectSpec::parse` must return
//! (an error is fine) without panicking, hanging or allocating without
//! bound, whatever the ELF structures, symbols, relocations, BTF and
//! `.BTF.ext` say. CO-RE relocations are resolved both against the
//! built-in context types and against the object's own BTF, so that the
//! candidate matching runs on hostile types on both sides.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxbpf_object::{CoreTarget, ObjectSpec, ParseOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = ObjectSpec::parse(data, "fuzz.o") else {
        return;
    };
    for m in &spec.maps {
        let _ = m.kernel_name();
    }
    if let Some(btf) = &spec.btf {
        let opts = ParseOptions {
            core: CoreTarget::Btf(btf),
            ..ParseOptions::default()
        };
        let _ = ObjectSpec::parse_with(data, "fuzz.o", &opts);
    }
});

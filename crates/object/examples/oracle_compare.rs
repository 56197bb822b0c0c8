//! Compares oxbpf-object with libbpf_dump outputs (tests/tools): for each
//! object with an oracle file, the relocated instructions of every program
//! libbpf relocated must be identical.
//!
//! `cargo run -p oxbpf-object --example oracle_compare -- [--core] ORACLE_DIR OBJ...`
//!
//! ORACLE_DIR holds `<OBJ with / replaced by _>.json`. Without `--core` the
//! oracle ran in gen_loader mode (CO-RE left alone, maps by index); with it
//! the oracle ran real loads (ORACLE_LOAD=1): CO-RE is then resolved
//! against the running kernel's BTF, and the map fds in `lddw` are not
//! compared. Objects with `__ksym` externs are skipped: libbpf resolves
//! them from the kernel, oxbpf never does.
//!
//! `--emit FILE` (after `--core`) writes, for every program libbpf
//! relocated, `object TAB program TAB count TAB FNV-1a 64` of libbpf's
//! normalised instructions, headed by the running kernel's BTF
//! fingerprint: `tests/data/libbpf_core_relocated.tsv`.
use oxbpf_object::{CoreTarget, ExternKind, ObjectSpec, ParseOptions};
use serde_json::Value;

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let core = args.next_if(|a| a == "--core").is_some();
    let emit = args
        .next_if(|a| a == "--emit")
        .map(|_| args.next().expect("emit file"));
    let mut emitted = String::new();
    let dir = args.next().expect("oracle dir");
    let vmlinux = oxbpf_object::vmlinux_btf().unwrap();
    let opts = ParseOptions {
        core: match (core, vmlinux) {
            (true, Some(b)) => CoreTarget::Btf(b),
            _ => CoreTarget::None,
        },
        ..ParseOptions::default()
    };
    let (mut same, mut differ, mut skipped, mut skipped_progs) = (0, 0, 0, 0);
    let mut relos = 0;
    for obj in args {
        let json = format!("{dir}/{}.json", obj.replace('/', "_"));
        let Some(o) = std::fs::read_to_string(&json)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .filter(|o| o["programs"].is_array())
        else {
            skipped += 1;
            continue;
        };
        if o["load_error"] != 0 && !core {
            skipped += 1;
            continue;
        }
        let spec = match ObjectSpec::open_with(&obj, &opts) {
            Ok(s) => s,
            Err(e) => {
                println!("{obj}: ours failed: {e} (libbpf: {})", o["load_error"]);
                differ += 1;
                continue;
            }
        };
        if spec
            .externs
            .iter()
            .any(|e| matches!(e.kind, ExternKind::Ksym { .. }))
        {
            skipped += 1;
            continue;
        }
        for op in o["programs"].as_array().unwrap() {
            if op["autoload"] != true {
                continue;
            }
            let name = op["name"].as_str().unwrap_or("");
            let Some(p) = spec.program(name) else {
                println!("{obj}: no program {name}");
                differ += 1;
                continue;
            };
            let theirs: Vec<String> = op["insns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| norm(v.as_str().unwrap(), core))
                .collect();
            let ours: Vec<String> = p
                .insns
                .iter()
                .map(|i| {
                    let h: String = i.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
                    norm(&h, core)
                })
                .collect();
            // A failed real load may stop before relocation: libbpf's map
            // lddws still say src 0 where ours point at a map.
            let unrelocated = ours.iter().zip(&theirs).any(|(a, b)| {
                a.starts_with("18") && b.starts_with("18") && &a[2..3] != "0" && &b[2..3] == "0"
            });
            if emit.is_some() && !(core && unrelocated) && ours.len() == theirs.len() {
                let bytes: Vec<u8> = theirs
                    .iter()
                    .flat_map(|h| {
                        (0..8).map(move |i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                    })
                    .collect();
                emitted += &format!("{obj}\t{name}\t{}\t{:016x}\n", theirs.len(), fnv(&bytes));
            }
            if ours == theirs {
                same += 1;
                relos += p.core_relos.len();
            } else if core && unrelocated {
                skipped_progs += 1;
            } else {
                differ += 1;
                let first = ours.iter().zip(&theirs).position(|(a, b)| a != b);
                println!(
                    "{obj}: {name}: {} vs {} insns, first difference at {first:?}: {:?} vs {:?}",
                    ours.len(),
                    theirs.len(),
                    first.map(|i| &ours[i]),
                    first.map(|i| &theirs[i])
                );
            }
        }
    }
    if let Some(file) = emit {
        let b = std::fs::read("/sys/kernel/btf/vmlinux").unwrap_or_default();
        let head = format!("# vmlinux {} {:016x}\n", b.len(), fnv(&b));
        std::fs::write(file, head + &emitted).unwrap();
    }
    println!(
        "{same} programs identical ({relos} CO-RE relocations), {differ} differ, \
         {skipped} objects and {skipped_progs} programs libbpf did not relocate skipped"
    );
}

/// gen_loader's `BPF_PSEUDO_MAP_IDX(_VALUE)` (src 5, 6) are our
/// `BPF_PSEUDO_MAP_FD(_VALUE)` (1, 2); with real loads the first slot's
/// imm is an fd where ours is an index, so it is blanked.
fn norm(h: &str, real_load: bool) -> String {
    if &h[..2] != "18" {
        return h.to_string();
    }
    let regs = u8::from_str_radix(&h[2..4], 16).unwrap();
    let src = match regs >> 4 {
        5 => 1,
        6 => 2,
        s => s,
    };
    let imm = if real_load && (src == 1 || src == 2) {
        "00000000"
    } else {
        &h[8..16]
    };
    format!("18{:02x}{}{imm}", (src << 4) | (regs & 15), &h[4..8])
}

/// FNV-1a 64.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

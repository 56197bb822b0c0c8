//! Compares oxbpf-object with libbpf_dump outputs (tests/tools): for each
//! `OBJ` and `JSON` pair, the relocated instructions of every program
//! libbpf relocated must be identical (CO-RE left alone, as gen_loader
//! mode leaves it).
//! `cargo run -p oxbpf-object --example oracle_compare -- ORACLE_DIR OBJ...`
//! where ORACLE_DIR holds `<OBJ with / replaced by _>.json`.
use oxbpf_object::{CoreTarget, ObjectSpec, ParseOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("oracle dir");
    let opts = ParseOptions {
        core: CoreTarget::None,
        ..ParseOptions::default()
    };
    let (mut same, mut differ, mut skipped) = (0, 0, 0);
    for obj in args {
        let json = format!("{dir}/{}.json", obj.replace('/', "_"));
        let Ok(text) = std::fs::read_to_string(&json) else {
            skipped += 1;
            continue;
        };
        let Ok(o) = serde_json::from_str::<serde_json::Value>(&text) else {
            skipped += 1;
            continue;
        };
        if o["load_error"] != 0 {
            skipped += 1;
            continue;
        }
        let spec = match ObjectSpec::open_with(&obj, &opts) {
            Ok(s) => s,
            Err(e) => {
                println!("{obj}: ours failed: {e}");
                differ += 1;
                continue;
            }
        };
        for op in o["programs"].as_array().unwrap() {
            if op["autoload"] != true {
                continue;
            }
            let name = op["name"].as_str().unwrap();
            let Some(p) = spec.program(name) else {
                println!("{obj}: no program {name}");
                differ += 1;
                continue;
            };
            let theirs: Vec<String> = op["insns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    let h = v.as_str().unwrap();
                    // gen_loader's MAP_IDX(_VALUE) 5/6 are our MAP_FD/VALUE 1/2.
                    if &h[..2] == "18" {
                        let r = u8::from_str_radix(&h[2..4], 16).unwrap();
                        let src = match r >> 4 {
                            5 => 1,
                            6 => 2,
                            s => s,
                        };
                        format!("18{:02x}{}", (src << 4) | (r & 15), &h[4..])
                    } else {
                        h.to_string()
                    }
                })
                .collect();
            let ours: Vec<String> = p
                .insns
                .iter()
                .map(|i| i.to_bytes().iter().map(|b| format!("{b:02x}")).collect())
                .collect();
            if ours == theirs {
                same += 1;
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
    println!("{same} programs identical, {differ} differ, {skipped} objects skipped");
}

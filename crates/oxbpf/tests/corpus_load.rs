//! Every object of the C corpus loads here as it loads in Linux: objects the
//! kernel accepted load (maps created, programs verified and prepared),
//! objects it refused give a verifier error naming the program.

use oxbpf::{Error, LoadOptions, Runtime};
use std::path::PathBuf;

mod common;
use common::KNOWN;

fn corpus() -> PathBuf {
    common::repo().join("corpus")
}

#[test]
fn corpus_objects_load_as_in_linux() {
    let rt = Runtime::new();
    let mut names: Vec<_> = std::fs::read_dir(corpus().join("expected"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut bad = Vec::new();
    let mut loaded = 0;
    for exp_path in names {
        let exp: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&exp_path).unwrap()).unwrap();
        let stem = exp_path.file_stem().unwrap().to_string_lossy().to_string();
        let accepted = exp["object_verdict"] == "accepted";
        let res = rt.load_file(
            corpus().join("obj").join(format!("{stem}.o")),
            &LoadOptions::default(),
        );
        let known = KNOWN.iter().find(|(n, _)| *n == stem);
        match (&res, accepted) {
            (Ok(_), true) if known.is_some() => {
                bad.push(format!("{stem}: loads now; remove it from KNOWN"))
            }
            (Ok(obj), true) => {
                loaded += 1;
                assert!(!obj.programs().is_empty(), "{stem}: no programs");
            }
            (Err(e), false) if matches!(e.innermost(), Error::Verify { .. }) => {}
            (Err(e), _) if known.is_some() => eprintln!("{stem}: known gap: {e}"),
            (Err(e), _) => bad.push(format!("{stem}: kernel {}: {e}", exp["object_verdict"])),
            (Ok(_), false) if known.is_some() => eprintln!("{stem}: known gap"),
            (Ok(_), false) => bad.push(format!("{stem}: kernel rejected it, oxbpf loaded it")),
        }
    }
    eprintln!("{loaded} objects loaded");
    assert!(
        bad.is_empty(),
        "{} disagreements:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

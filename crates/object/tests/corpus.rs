//! The project corpus (`corpus/obj/*.o` with `corpus/expected/*.json`)
//! and, when it has been fetched, the external corpus of third-party
//! objects (`target/external-corpus`, see `scripts/fetch-external-corpus.sh`).
//!
//! Every corpus object must open; its entry points must be the expected
//! functions with the expected sections and sizes, and where libbpf loaded
//! it, our linked instruction count must equal libbpf's. Every external
//! object must open, or fail with a precise "unsupported: …" error.

use oxbpf_object::{CoreTarget, ObjectError, ObjectSpec, ParseOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn opts() -> ParseOptions<'static> {
    // Instruction counts do not depend on CO-RE values; the built-in
    // target keeps the test independent of the machine's kernel.
    ParseOptions {
        core: CoreTarget::Builtin,
        ..ParseOptions::default()
    }
}

fn check_object(json_path: &Path) -> Result<usize, String> {
    let exp: Value = serde_json::from_str(&std::fs::read_to_string(json_path).unwrap())
        .map_err(|e| format!("{}: {e}", json_path.display()))?;
    let obj = root().join(exp["object"].as_str().unwrap());
    if !obj.exists() {
        return Ok(0);
    }
    let spec = ObjectSpec::open_with(&obj, &opts()).map_err(|e| e.to_string())?;
    let name = obj.display();
    let mut checked = 0;
    for p in exp["programs"].as_array().unwrap() {
        if p["kind"] != "entry" {
            continue;
        }
        let section = p["section"].as_str().unwrap().trim_start_matches('?');
        let fname = p["name"].as_str().unwrap_or(section);
        let ours = spec
            .programs
            .iter()
            .find(|q| q.name == fname && q.section == section)
            .ok_or_else(|| format!("{name}: no program {fname} in {section}"))?;
        let size = p["size_insns"].as_u64().unwrap() as usize;
        if ours.func_insns != size {
            return Err(format!(
                "{name}: {fname}: {} insns, expected {size}",
                ours.func_insns
            ));
        }
        if let Some(n) = p.get("loaded_insns").and_then(Value::as_u64) {
            if ours.insns.len() != n as usize {
                return Err(format!(
                    "{name}: {fname}: {} insns after linking, libbpf loaded {n}",
                    ours.insns.len()
                ));
            }
        }
        checked += 1;
    }
    let entries = exp["programs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "entry")
        .count();
    if entries != spec.programs.len() {
        return Err(format!(
            "{name}: {} programs, expected {entries}",
            spec.programs.len()
        ));
    }
    let maps = exp["maps"].as_array().unwrap();
    if maps.len() != spec.maps.len() {
        return Err(format!(
            "{name}: {} maps, expected {}",
            spec.maps.len(),
            maps.len()
        ));
    }
    for (m, e) in spec.maps.iter().zip(maps) {
        let got = (
            m.name.as_str(),
            m.map_type.name(),
            m.key_size,
            m.value_size,
            m.max_entries,
            m.flags,
        );
        let mut want = (
            e["name"].as_str().unwrap(),
            e["type"].as_str().unwrap(),
            e["key_size"].as_u64().unwrap() as u32,
            e["value_size"].as_u64().unwrap() as u32,
            e["max_entries"].as_u64().unwrap() as u32,
            e["map_flags"].as_u64().unwrap() as u32,
        );
        // libbpf sizes a perf_event_array without max_entries to the CPU
        // count when it creates it; the spec keeps the object's 0.
        if m.map_type == uapi::MapType::PerfEventArray && m.max_entries == 0 {
            want.4 = 0;
        }
        if got != want {
            return Err(format!("{name}: map {got:?}, expected {want:?}"));
        }
    }
    Ok(checked)
}

#[test]
fn corpus_objects_open_as_expected() {
    let dir = root().join("corpus/expected");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: no {}", dir.display());
        return;
    };
    let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    let (mut objects, mut programs, mut failures) = (0, 0, Vec::new());
    for p in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        match check_object(p) {
            Ok(n) => {
                objects += 1;
                programs += n;
            }
            Err(e) => failures.push(e),
        }
    }
    eprintln!("corpus: {objects} objects, {programs} programs checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "o") {
            out.push(p);
        }
    }
}

#[test]
fn external_corpus_opens_or_is_unsupported() {
    let dir = root().join("target/external-corpus");
    let mut objs = Vec::new();
    walk(&dir, &mut objs);
    objs.retain(|p| !p.components().any(|c| c.as_os_str() == ".cache"));
    if objs.is_empty() {
        eprintln!(
            "skipped: no external corpus in {} (run scripts/fetch-external-corpus.sh)",
            dir.display()
        );
        return;
    }
    objs.sort();
    let manifest = manifest(&dir);
    let (mut ok, mut unsupported, mut failures) = (0, Vec::new(), Vec::new());
    let mut compared = 0;
    for p in &objs {
        let bytes = std::fs::read(p).unwrap();
        if !bytes.starts_with(b"\x7fELF") {
            continue;
        }
        match ObjectSpec::parse_with(&bytes, &p.to_string_lossy(), &opts()) {
            Ok(spec) => {
                ok += 1;
                let rel = p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
                match compare_loaded(&spec, manifest.get(&rel)) {
                    Ok(n) => compared += n,
                    Err(e) => failures.push(format!("{}: {e}", p.display())),
                }
            }
            Err(e @ ObjectError::Unsupported { .. }) => {
                unsupported.push(format!("{}: {e}", p.display()))
            }
            Err(e) if libbpf_refuses(p, &e.to_string()) => {}
            Err(ObjectError::NotBpf { .. }) => {}
            Err(e) => failures.push(format!("{}: {e}", p.display())),
        }
    }
    eprintln!(
        "external corpus: {ok} opened, {} unsupported, {} failed; \
         {compared} programs with libbpf's instruction count",
        unsupported.len(),
        failures.len()
    );
    for u in &unsupported {
        eprintln!("  {u}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Objects of the external corpus that libbpf refuses to open too (test
/// inputs for libbpf's own error paths, or outdated samples), with the
/// part of our error that says the same thing.
const LIBBPF_REFUSES: &[(&str, &str)] = &[
    // libbpf: "map 'nopinmap3': invalid pinning value 2."
    (
        "test_pinning_invalid.o",
        "map 'nopinmap3': invalid pinning value 2",
    ),
    // libbpf: "map 'bpf_next_dump': attr 'type': expected PTR, got int."
    (
        "tcp_dumpstats_kern.o",
        "map 'bpf_next_dump': attr 'type': expected a pointer",
    ),
];

fn libbpf_refuses(p: &Path, err: &str) -> bool {
    let file = p.file_name().unwrap().to_string_lossy();
    LIBBPF_REFUSES
        .iter()
        .any(|(f, msg)| *f == file && err.contains(msg))
}

/// The external corpus manifest's objects by path (empty if absent).
fn manifest(dir: &Path) -> std::collections::HashMap<String, Value> {
    let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) else {
        return Default::default();
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return Default::default();
    };
    v["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| Some((o["object"].as_str()?.to_string(), o.clone())))
        .collect()
}

/// Our linked instruction counts equal libbpf's where it loaded programs.
fn compare_loaded(spec: &ObjectSpec, entry: Option<&Value>) -> Result<usize, String> {
    let Some(entry) = entry else { return Ok(0) };
    let mut n = 0;
    for p in entry["programs"].as_array().into_iter().flatten() {
        let Some(loaded) = p["loaded_insns"].as_u64() else {
            continue;
        };
        let (name, sec) = (
            p["name"].as_str().unwrap_or(""),
            p["section"].as_str().unwrap_or(""),
        );
        let ours = spec
            .programs
            .iter()
            .find(|q| q.name == name && q.section == sec.trim_start_matches('?'))
            .ok_or_else(|| format!("no program {name} in {sec}"))?;
        if !ours.autoload {
            // libbpf neither relocates nor loads "?" programs; the count
            // kverdict recorded is the function's own.
            continue;
        }
        if ours.insns.len() as u64 != loaded {
            return Err(format!(
                "{name}: {} instructions after linking, libbpf loaded {loaded}",
                ours.insns.len()
            ));
        }
        n += 1;
    }
    Ok(n)
}

/// FNV-1a 64, as `tests/tools/oracle_hashes.py` computes it.
fn fnv(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Every program of the corpus relocates to exactly the bytes the system
/// libbpf produced (`tests/data/libbpf_relocated.tsv`), and so does every
/// program of the external corpus when it has been fetched (the fetch
/// records libbpf's relocation of the objects it built, in
/// `target/external-corpus/libbpf_relocated.tsv`) — except where libbpf
/// resolved kernel symbols (`__ksym`), which oxbpf never does.
#[test]
fn relocated_instructions_equal_libbpf() {
    let list = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/libbpf_relocated.tsv");
    let mut text = std::fs::read_to_string(list).unwrap();
    match std::fs::read_to_string(root().join("target/external-corpus/libbpf_relocated.tsv")) {
        Ok(ext) => text.push_str(&ext),
        Err(_) => eprintln!("no external corpus oracle: corpus objects only"),
    }
    let opts = ParseOptions {
        core: CoreTarget::None, // libbpf's gen_loader mode leaves CO-RE alone
        ..ParseOptions::default()
    };
    let mut cache: std::collections::HashMap<String, Option<ObjectSpec>> = Default::default();
    let (mut same, mut absent, mut ksyms, mut failures) = (0, 0, 0, Vec::new());
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [obj, prog, count, hash] = f[..] else {
            panic!("bad line {line}")
        };
        let spec = cache.entry(obj.to_string()).or_insert_with(|| {
            let path = root().join(obj);
            path.exists().then(|| {
                ObjectSpec::open_with(&path, &opts).unwrap_or_else(|e| panic!("{obj}: {e}"))
            })
        });
        let Some(spec) = spec else {
            absent += 1;
            continue;
        };
        if spec
            .externs
            .iter()
            .any(|e| matches!(e.kind, oxbpf_object::ExternKind::Ksym { .. }))
        {
            ksyms += 1;
            continue;
        }
        let Some(p) = spec.program(prog) else {
            failures.push(format!("{obj}: no program {prog}"));
            continue;
        };
        let ours = format!("{:016x}", fnv(p.insns.iter().flat_map(|i| i.to_bytes())));
        if (p.insns.len().to_string().as_str(), ours.as_str()) == (count, hash) {
            same += 1;
        } else {
            failures.push(format!(
                "{obj}: {prog}: {} insns hash {ours}, libbpf {count} insns hash {hash}",
                p.insns.len()
            ));
        }
    }
    eprintln!(
        "libbpf relocations: {same} programs identical, {ksyms} skipped (ksyms), \
         {absent} not present here"
    );
    assert!(same > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// With CO-RE resolved against the running kernel's BTF, every program
/// relocates to the bytes libbpf loaded on the kernel the list was made on
/// (`tests/data/libbpf_core_relocated.tsv`, from real loads; map fds are
/// blanked on both sides). Skipped on another kernel.
#[test]
fn core_relocations_equal_libbpf_on_this_kernel() {
    let list =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/libbpf_core_relocated.tsv");
    let text = std::fs::read_to_string(list).unwrap();
    let (head, rest) = text.split_once('\n').unwrap();
    let vm = std::fs::read("/sys/kernel/btf/vmlinux").unwrap_or_default();
    let here = format!("# vmlinux {} {:016x}", vm.len(), fnv(vm.iter().copied()));
    if head != here {
        eprintln!("skipped: the list was made on another kernel ({head}; here {here})");
        return;
    }
    let vmlinux = oxbpf_object::vmlinux_btf().unwrap().unwrap();
    let opts = ParseOptions {
        core: CoreTarget::Btf(vmlinux),
        ..ParseOptions::default()
    };
    let mut cache: std::collections::HashMap<String, Option<ObjectSpec>> = Default::default();
    let (mut same, mut relos, mut failures) = (0, 0, Vec::new());
    for line in rest.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [obj, prog, count, hash] = f[..] else {
            panic!("bad line {line}")
        };
        let spec = cache.entry(obj.to_string()).or_insert_with(|| {
            let path = root().join(obj);
            path.exists().then(|| {
                ObjectSpec::open_with(&path, &opts).unwrap_or_else(|e| panic!("{obj}: {e}"))
            })
        });
        let Some(p) = spec.as_ref().and_then(|s| s.program(prog)) else {
            continue;
        };
        let bytes = p.insns.iter().flat_map(|i| {
            let mut b = i.to_bytes();
            if b[0] == 0x18 && matches!(b[1] >> 4, 1 | 2) {
                b[4..].fill(0); // libbpf's fd, our index
            }
            b
        });
        let ours = format!("{:016x}", fnv(bytes));
        if (p.insns.len().to_string().as_str(), ours.as_str()) == (count, hash) {
            same += 1;
            relos += p.core_relos.len();
        } else {
            failures.push(format!("{obj}: {prog}: differs from libbpf"));
        }
    }
    eprintln!("CO-RE against vmlinux: {same} programs ({relos} relocations) identical to libbpf");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

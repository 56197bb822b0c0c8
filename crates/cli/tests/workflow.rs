//! The seeds' bpftool workflow, replayed with the `oxbpf` binary in place
//! of bpftool, across processes: load + pin a per-CPU counter program, run
//! it a million times in one process while others dump its map, update a
//! key by hand and see the program continue from it, fill a 4-entry hash
//! map and get E2BIG on the fifth, dump the translated code, read the
//! trace pipe, and unlink the pins to see the objects gone.
//!
//! Every step runs the real binary with `OXBPF_FS` set to a fresh
//! directory; pins are named `/sys/fs/bpf/...` as a bpftool user types
//! them, which oxbpf reads as paths under `OXBPF_FS`.

mod workflow_support;

use std::path::Path;
use workflow_support::{count, packet, Fs, OBJ};

#[test]
fn seed_workflow() {
    let fs = Fs::new("seed");
    let pkt = packet(&fs);

    // bpftool prog load counter.bpf.o /sys/fs/bpf/counter
    fs.ok(&["prog", "load", OBJ, "/sys/fs/bpf/counter"]);
    for pin in ["counter", "counters", "flows"] {
        assert!(fs.dir.join(pin).is_file(), "{pin} not pinned");
    }

    // bpftool prog show pinned ...: bpftool's fields.
    let p = fs.json(&["prog", "show", "pinned", "/sys/fs/bpf/counter"]);
    assert_eq!(p["type"], "xdp");
    assert_eq!(p["name"], "count_runs");
    assert_eq!(p["gpl_compatible"], true);
    assert_eq!(p["tag"].as_str().unwrap().len(), 16);
    assert!(p["bytes_xlated"].as_u64().unwrap() > 0);
    let prog_id = p["id"].as_u64().unwrap();
    let map_ids: Vec<u64> = p["map_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let counters = fs.json(&["map", "show", "pinned", "/sys/fs/bpf/counters"]);
    assert_eq!(counters["type"], "percpu_array");
    assert_eq!(map_ids, vec![counters["id"].as_u64().unwrap()]);
    // The same program by id and by name, from other processes.
    assert_eq!(
        fs.json(&["prog", "show", "id", &prog_id.to_string()])["tag"],
        p["tag"]
    );
    assert_eq!(
        fs.json(&["prog", "show", "name", "count_runs"])["id"],
        prog_id
    );

    // A first, synchronous batch of runs: another process sees all of it.
    let run = |n: &str| {
        fs.cmd(&[
            "prog",
            "run",
            "pinned",
            "/sys/fs/bpf/counter",
            "data_in",
            &pkt,
            "repeat",
            n,
        ])
    };
    let out = run("1000").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Return value: 2,"));
    let dump = fs.json(&["map", "dump", "pinned", "/sys/fs/bpf/counters"]);
    assert_eq!(count(&dump, 0), 1000);

    // A million runs in one process while other processes dump the map:
    // what they see never goes down, and at the end it is all there.
    let mut child = run("1000000")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    loop {
        let done = child.try_wait().unwrap();
        let n = count(
            &fs.json(&["map", "dump", "pinned", "/sys/fs/bpf/counters"]),
            0,
        );
        seen.push(n);
        if done.is_some() {
            break;
        }
    }
    assert!(child.wait().unwrap().success());
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(seen.iter().all(|&n| (1000..=1_001_000).contains(&n)));
    assert_eq!(*seen.last().unwrap(), 1_001_000);
    eprintln!(
        "dumps during the run saw {} distinct values",
        seen.iter().collect::<std::collections::BTreeSet<_>>().len()
    );

    // Plain text as bpftool prints a per-CPU map with BTF.
    let text = fs.ok(&[
        "map",
        "lookup",
        "pinned",
        "/sys/fs/bpf/counters",
        "key",
        "0",
        "0",
        "0",
        "0",
    ]);
    assert!(
        text.starts_with("{\n    \"key\": 0,\n    \"values\": [{\n            \"cpu\": 0,\n            \"value\": 1001000\n"),
        "{text}"
    );

    // Update a key by hand (bpftool copies the value to every CPU); the
    // program, run again elsewhere, continues from it.
    fs.ok(&[
        "map",
        "update",
        "pinned",
        "/sys/fs/bpf/counters",
        "key",
        "0",
        "0",
        "0",
        "0",
        "value",
        "hex",
        "07",
        "00",
        "00",
        "00",
        "00",
        "00",
        "00",
        "00",
    ]);
    let dump = fs.json(&["map", "dump", "pinned", "/sys/fs/bpf/counters"]);
    assert_eq!(count(&dump, 0), 7);
    assert!(run("1").output().unwrap().status.success());
    assert_eq!(count(&fs.json(&["map", "dump", "name", "counters"]), 0), 8);

    // A 4-entry hash map takes four keys; the fifth is E2BIG, worded as
    // bpftool words it.
    for k in 1..=4 {
        let k = k.to_string();
        fs.ok(&[
            "map",
            "update",
            "pinned",
            "/sys/fs/bpf/flows",
            "key",
            &k,
            "0",
            "0",
            "0",
            "value",
            "1",
            "0",
            "0",
            "0",
            "80",
            "0",
            "6",
            "0",
            "noexist",
        ]);
    }
    let out = fs.run(&[
        "map",
        "update",
        "pinned",
        "/sys/fs/bpf/flows",
        "key",
        "5",
        "0",
        "0",
        "0",
        "value",
        "1",
        "0",
        "0",
        "0",
        "80",
        "0",
        "6",
        "0",
    ]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: update failed: Argument list too long\n"
    );
    // Updating an existing key of the full map still works; NOEXIST on it
    // is EEXIST.
    fs.ok(&[
        "map",
        "update",
        "pinned",
        "/sys/fs/bpf/flows",
        "key",
        "4",
        "0",
        "0",
        "0",
        "value",
        "2",
        "0",
        "0",
        "0",
        "80",
        "0",
        "17",
        "0",
        "exist",
    ]);
    let out = fs.run(&[
        "map",
        "update",
        "pinned",
        "/sys/fs/bpf/flows",
        "key",
        "4",
        "0",
        "0",
        "0",
        "value",
        "2",
        "0",
        "0",
        "0",
        "80",
        "0",
        "17",
        "0",
        "noexist",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: update failed: File exists\n"
    );
    let flows = fs.json(&["map", "dump", "pinned", "/sys/fs/bpf/flows"]);
    assert_eq!(flows.as_array().unwrap().len(), 4);
    let f4 = flows
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["formatted"]["key"] == 4)
        .unwrap();
    assert_eq!(
        f4["formatted"]["value"],
        serde_json::json!({"packets": 2, "port": 80, "proto": 17, "flags": 0})
    );
    assert_eq!(
        f4["key"],
        serde_json::json!(["0x04", "0x00", "0x00", "0x00"])
    );
    // Delete, getnext and a lookup of a missing key.
    fs.ok(&[
        "map",
        "delete",
        "pinned",
        "/sys/fs/bpf/flows",
        "key",
        "4",
        "0",
        "0",
        "0",
    ]);
    let nf = fs.ok(&[
        "map",
        "lookup",
        "pinned",
        "/sys/fs/bpf/flows",
        "key",
        "4",
        "0",
        "0",
        "0",
    ]);
    assert_eq!(nf, "key:\n04 00 00 00\n\nNot found\n");
    let out = fs.run(&[
        "map",
        "delete",
        "pinned",
        "/sys/fs/bpf/flows",
        "key",
        "4",
        "0",
        "0",
        "0",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: delete failed: No such file or directory\n"
    );
    assert!(fs
        .ok(&["map", "getnext", "pinned", "/sys/fs/bpf/flows"])
        .starts_with("key: None\nnext key:\n"));

    // The translated program, with its source lines from BTF.
    let x = fs.ok(&[
        "prog",
        "dump",
        "xlated",
        "pinned",
        "/sys/fs/bpf/counter",
        "linum",
    ]);
    assert!(x.contains("int count_runs(struct xdp_md * ctx):"), "{x}");
    assert!(x.contains("[file:"), "{x}");
    assert!(x.contains("exit"), "{x}");
    let dot = fs.ok(&[
        "prog",
        "dump",
        "xlated",
        "pinned",
        "/sys/fs/bpf/counter",
        "visual",
    ]);
    assert!(dot.starts_with("digraph"), "{dot}");
    let j = fs.ok(&["prog", "dump", "jited", "pinned", "/sys/fs/bpf/counter"]);
    let tag = p["tag"].as_str().unwrap();
    assert!(
        j.starts_with(&format!(
            "int count_runs(struct xdp_md * ctx):\nbpf_prog_{tag}_count_runs:\n"
        )),
        "{j}"
    );
    assert!(j.contains("; __u32 key = 0;\n"), "{j}");
    assert!(j.lines().any(|l| l.trim_end().ends_with("ret")), "{j}");

    // Unlink the pins: the program is gone; its maps stay while pinned,
    // then are gone too.
    std::fs::remove_file(fs.dir.join("counter")).unwrap();
    let out = fs.run(&["prog", "show", "id", &prog_id.to_string()]);
    assert!(!out.status.success());
    assert_eq!(fs.json(&["prog", "show"]), serde_json::json!([]));
    assert_eq!(fs.json(&["map", "show"]).as_array().unwrap().len(), 3);
    for pin in ["counters", "flows", "counter_rodata"] {
        std::fs::remove_file(fs.dir.join(pin)).unwrap();
    }
    assert_eq!(fs.json(&["map", "show"]), serde_json::json!([]));
    assert!(fs.objects().is_empty(), "{:?}", fs.objects());
}

#[test]
fn trace_pipe_across_processes() {
    let fs = Fs::new("trace");
    let pkt = packet(&fs);
    fs.ok(&[
        "prog",
        "loadall",
        OBJ,
        "/sys/fs/bpf/wf",
        "pinmaps",
        "/sys/fs/bpf/wf/maps",
    ]);
    assert!(fs.dir.join("wf/hello").is_file());
    assert!(fs.dir.join("wf/count_runs").is_file());
    assert!(fs.dir.join("wf/maps/counters").is_file());
    // A process running the program through the embedding API, with the
    // pin directory's trace pipe as its sink.
    let rt = oxbpf::pin::PinFs::open(&fs.dir)
        .unwrap()
        .into_runtime(oxbpf::RuntimeOptions::default());
    let hello = rt
        .pin_fs()
        .unwrap()
        .open_program(&rt, "/sys/fs/bpf/wf/hello")
        .unwrap();
    let mut ctx = [0u8; 64];
    for _ in 0..3 {
        hello.run_raw(&mut ctx).unwrap();
    }
    let log = fs.ok(&["prog", "tracelog", "once"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(
        lines
            .iter()
            .all(|l| l.ends_with("bpf_trace_printk: hello world 42")),
        "{log}"
    );
    // Reading consumes, as trace_pipe does.
    assert_eq!(fs.ok(&["prog", "tracelog", "once"]), "");
    let _ = pkt;
}

#[test]
fn map_create_pin_freeze() {
    let fs = Fs::new("create");
    fs.ok(&[
        "map",
        "create",
        "/sys/fs/bpf/m",
        "type",
        "hash",
        "key",
        "4",
        "value",
        "8",
        "entries",
        "2",
        "name",
        "byhand",
    ]);
    let m = fs.json(&["map", "show", "pinned", "/sys/fs/bpf/m"]);
    assert_eq!(m["name"], "byhand");
    assert_eq!(m["bytes_key"], 4);
    assert_eq!(m["max_entries"], 2);
    let id = m["id"].as_u64().unwrap().to_string();
    fs.ok(&["map", "pin", "id", &id, "/sys/fs/bpf/sub/again"]);
    fs.ok(&[
        "map",
        "update",
        "pinned",
        "/sys/fs/bpf/sub/again",
        "key",
        "1",
        "0",
        "0",
        "0",
        "value",
        "0x2a",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
    ]);
    let text = fs.ok(&["map", "dump", "pinned", "/sys/fs/bpf/m"]);
    assert_eq!(
        text,
        "key: 01 00 00 00  value: 2a 00 00 00 00 00 00 00\nFound 1 element\n"
    );
    fs.ok(&["map", "freeze", "pinned", "/sys/fs/bpf/m"]);
    let out = fs.run(&[
        "map", "update", "id", &id, "key", "2", "0", "0", "0", "value", "0", "0", "0", "0", "0",
        "0", "0", "0",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: update failed: Operation not permitted\n"
    );
    // Pinning twice at one path is EEXIST; outside the pin root, refused.
    let out = fs.run(&["map", "pin", "id", &id, "/sys/fs/bpf/m"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("Error: can't pin the object (/sys/fs/bpf/m): File exists\n")
    );
    let outside = std::env::temp_dir().join(format!("oxbpf-outside-{}", std::process::id()));
    let out = fs.run(&["map", "pin", "id", &id, outside.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(!Path::new(&outside).exists());
    // One pin left after removing one of two: still there.
    std::fs::remove_file(fs.dir.join("m")).unwrap();
    assert_eq!(fs.json(&["map", "show"]).as_array().unwrap().len(), 1);
    std::fs::remove_file(fs.dir.join("sub/again")).unwrap();
    assert_eq!(fs.json(&["map", "show"]), serde_json::json!([]));
}

#[test]
fn feature_lists_what_this_build_runs() {
    let fs = Fs::new("feature");
    let f = fs.json(&["feature"]);
    let has = |k: &str, v: &str| f[k].as_array().unwrap().iter().any(|x| x == v);
    assert!(has("program_types", "xdp"));
    assert!(has("map_types", "percpu_array"));
    assert!(has("map_types", "hash"));
    assert!(has("helpers", "bpf_map_lookup_elem"));
    assert!(has("helpers", "bpf_trace_printk"));
    assert!(!has("program_types", "unspec"));
    assert_eq!(f["instructions"]["have_jmp32"], true);
}

#[test]
fn load_twice_into_one_directory() {
    let fs = Fs::new("twice");
    fs.ok(&["prog", "load", OBJ, "/sys/fs/bpf/a"]);
    // As with bpftool, a second load of the object works; its maps are
    // its own (the names beside it are taken, so they stay unpinned).
    let out = fs.run(&["prog", "load", OBJ, "/sys/fs/bpf/b"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Warning: map counters not pinned"));
    let a = fs.json(&["prog", "show", "pinned", "/sys/fs/bpf/a"]);
    let b = fs.json(&["prog", "show", "pinned", "/sys/fs/bpf/b"]);
    assert_eq!(a["tag"], b["tag"]);
    assert_ne!(a["map_ids"], b["map_ids"]);
    // Both by name, as bpftool lists every program of a name.
    let both = fs.json(&["prog", "show", "name", "count_runs"]);
    assert_eq!(both.as_array().unwrap().len(), 2);
    assert_eq!(
        fs.json(&["map", "show", "name", "counters"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let out = fs.run(&["prog", "pin", "name", "count_runs", "/sys/fs/bpf/c"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("several programs match"));
    // b's counter map lives as long as b.
    assert_eq!(fs.json(&["map", "show"]).as_array().unwrap().len(), 4);
    std::fs::remove_file(fs.dir.join("b")).unwrap();
    assert_eq!(fs.json(&["map", "show"]).as_array().unwrap().len(), 3);
    // A pin outside OXBPF_FS is refused, saying where pins go.
    let out = fs.run(&["prog", "load", OBJ, "/nonexistent-dir/x"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Operation not permitted (pins live under"),
        "{err}"
    );
}

#[test]
fn maps_reused_by_name_and_by_pin() {
    let fs = Fs::new("reuse");
    let pkt = packet(&fs);
    // LIBBPF_PIN_BY_NAME: two loads, one map, pinned at $OXBPF_FS/NAME.
    fs.ok(&[
        "prog",
        "load",
        "examples/workflow/shared.bpf.o",
        "/sys/fs/bpf/s1",
        "pinmaps",
        "/sys/fs/bpf/m1",
    ]);
    assert!(fs.dir.join("shared_runs").is_file());
    fs.ok(&[
        "prog",
        "load",
        "examples/workflow/shared.bpf.o",
        "/sys/fs/bpf/s2",
        "pinmaps",
        "/sys/fs/bpf/m2",
    ]);
    let a = fs.json(&["prog", "show", "pinned", "/sys/fs/bpf/s1"]);
    let b = fs.json(&["prog", "show", "pinned", "/sys/fs/bpf/s2"]);
    assert_eq!(a["map_ids"], b["map_ids"]);
    for p in ["/sys/fs/bpf/s1", "/sys/fs/bpf/s2"] {
        fs.ok(&["prog", "run", "pinned", p, "data_in", &pkt, "repeat", "5"]);
    }
    let v = fs.json(&[
        "map",
        "lookup",
        "pinned",
        "/sys/fs/bpf/shared_runs",
        "key",
        "0",
        "0",
        "0",
        "0",
    ]);
    assert_eq!(v["formatted"]["value"], 10);
    // bpftool's `map name NAME MAP`: the counter program on the counters
    // of an earlier load.
    fs.ok(&[
        "prog",
        "load",
        OBJ,
        "/sys/fs/bpf/c1",
        "pinmaps",
        "/sys/fs/bpf/cm",
    ]);
    fs.ok(&[
        "prog",
        "load",
        OBJ,
        "/sys/fs/bpf/c2",
        "map",
        "name",
        "counters",
        "pinned",
        "/sys/fs/bpf/cm/counters",
        "pinmaps",
        "/sys/fs/bpf/cm2",
    ]);
    let c1 = fs.json(&["prog", "show", "pinned", "/sys/fs/bpf/c1"]);
    let c2 = fs.json(&["prog", "show", "pinned", "/sys/fs/bpf/c2"]);
    assert_eq!(c1["map_ids"], c2["map_ids"]);
    // `map idx 1` is flows; a 4-entry hash is no per-CPU array.
    let out = fs.run(&[
        "prog",
        "load",
        OBJ,
        "/sys/fs/bpf/c3",
        "map",
        "idx",
        "0",
        "pinned",
        "/sys/fs/bpf/cm/flows",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not match"),
        "{out:?}"
    );
    assert!(!fs.dir.join("c3").exists());
}

/// Every corpus object that loads: `prog loadall` in one process, then, in
/// others, every pinned program reopened (`prog show`, `prog dump xlated`).
/// A program keeps every map its `lddw`s name — also those in code the
/// verifier found dead (a `.rodata` switch) — or it could not be reopened
/// once the loading process is gone. Programs are pinned by their whole
/// names, as bpftool pins them.
#[test]
fn every_loaded_program_reopens_from_its_pin() {
    let fs = Fs::new("reopen");
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let mut objs: Vec<_> = std::fs::read_dir(root.join("corpus/obj"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    objs.sort();
    let (mut loaded, mut reopened) = (0, 0);
    for (n, obj) in objs.iter().enumerate() {
        let dir = format!("/sys/fs/bpf/o{n}");
        let out = fs.run(&["prog", "loadall", obj.to_str().unwrap(), &dir]);
        if !out.status.success() {
            continue; // refused or unsupported: corpus_load checks which
        }
        loaded += 1;
        for e in std::fs::read_dir(fs.dir.join(format!("o{n}"))).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let pin = format!("{dir}/{name}");
            let p = fs.json(&["prog", "show", "pinned", &pin]);
            assert!(
                name.starts_with(p["name"].as_str().unwrap()),
                "{}: {name}: {p}",
                obj.display()
            );
            fs.ok(&["prog", "dump", "xlated", "pinned", &pin]);
            reopened += 1;
        }
    }
    assert!(
        loaded > 40 && reopened > loaded,
        "{loaded} objects, {reopened} programs"
    );
}

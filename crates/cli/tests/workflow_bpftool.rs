//! oxbpf next to bpftool 7.1 on the kernel: the same commands on the same
//! objects give the same text and JSON — tags, map dumps (hex, per-CPU,
//! BTF-formatted values of every kind, global data), lookups, getnext,
//! errors (E2BIG, EEXIST, ENOENT, EPERM of frozen maps), queues, and the
//! layout of `map show`/`prog show`. Each test skips with a message when
//! bpftool or `/sys/fs/bpf` is not usable.

mod workflow_support;

use std::path::Path;
use std::process::Output;
use workflow_support::{bpftool, Fs, KernelDir, OBJ};

/// The same workflow through bpftool on the kernel and through oxbpf:
/// the same tags, the same text for lookups, per-CPU dumps and errors,
/// the same entries in JSON dumps.
#[test]
fn same_answers_as_bpftool() {
    let Some(kd) = KernelDir::new("oxbpf-wf") else {
        eprintln!("SKIP: bpftool or /sys/fs/bpf unusable");
        return;
    };
    let kdir = kd.0.clone();
    let obj = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../",
        "examples/workflow/counter.bpf.o"
    );
    let kprog = format!("{kdir}/counter");
    let kmaps = format!("{kdir}/maps");
    let load = bpftool(&["prog", "load", obj, &kprog, "pinmaps", &kmaps]).unwrap();
    if !load.status.success() {
        eprintln!(
            "SKIP: bpftool prog load failed: {}",
            String::from_utf8_lossy(&load.stderr)
        );
        return;
    }
    let fs = Fs::new("bpftool");
    fs.ok(&[
        "prog",
        "load",
        OBJ,
        "/sys/fs/bpf/counter",
        "pinmaps",
        "/sys/fs/bpf/maps",
    ]);
    // Pins under the same names.
    for m in ["counters", "flows", "counter_rodata"] {
        assert!(Path::new(&kmaps).join(m).exists(), "bpftool pinned no {m}");
        assert!(fs.dir.join("maps").join(m).exists(), "oxbpf pinned no {m}");
    }
    let both = |args: &dyn Fn(&str) -> Vec<String>| -> (Output, Output) {
        let k: Vec<String> = args(&kmaps);
        let o: Vec<String> = args("/sys/fs/bpf/maps");
        let kr = bpftool(&k.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        let or = fs.run(&o.iter().map(String::as_str).collect::<Vec<_>>());
        (kr, or)
    };
    let text = |o: &Output| {
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    };

    // The tag is the kernel's.
    let kshow: serde_json::Value = serde_json::from_slice(
        &bpftool(&["-j", "prog", "show", "pinned", &kprog])
            .unwrap()
            .stdout,
    )
    .unwrap();
    let oshow = fs.json(&["prog", "show", "pinned", "/sys/fs/bpf/counter"]);
    assert_eq!(oshow["tag"], kshow["tag"]);
    for key in ["type", "name", "gpl_compatible"] {
        assert_eq!(oshow[key], kshow[key], "{key}");
    }

    // Fill the 4-entry hash; the fifth update fails alike.
    for k in ["1", "2", "3", "4", "5"] {
        let (kr, or) = both(&|d| {
            [
                "map",
                "update",
                "pinned",
                &format!("{d}/flows"),
                "key",
                k,
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
            ]
            .map(String::from)
            .to_vec()
        });
        assert_eq!(text(&or), text(&kr), "update {k}");
        assert_eq!(or.status.success(), kr.status.success());
    }
    // Lookups, present and missing, in text (BTF-formatted) and JSON.
    for k in ["2", "9"] {
        for json in [false, true] {
            let (kr, or) = both(&|d| {
                let mut a: Vec<String> = if json { vec!["-j".into()] } else { vec![] };
                a.extend(
                    [
                        "map",
                        "lookup",
                        "pinned",
                        &format!("{d}/flows"),
                        "key",
                        k,
                        "0",
                        "0",
                        "0",
                    ]
                    .map(String::from),
                );
                a
            });
            assert_eq!(text(&or), text(&kr), "lookup {k} json {json}");
        }
    }
    // Global data, formatted from its DATASEC, text and JSON.
    for json in [false, true] {
        let (kr, or) = both(&|d| {
            let mut a: Vec<String> = if json { vec!["-j".into()] } else { vec![] };
            a.extend(["map", "dump", "pinned", &format!("{d}/counter_rodata")].map(String::from));
            a
        });
        assert_eq!(text(&or), text(&kr), "rodata dump json {json}");
    }
    // JSON dumps hold the same entries (hash order differs).
    let entries = |o: &Output| {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let mut e: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.to_string())
            .collect();
        e.sort();
        e
    };
    let (kr, or) = both(&|d| {
        ["-j", "map", "dump", "pinned", &format!("{d}/flows")]
            .map(String::from)
            .to_vec()
    });
    assert_eq!(entries(&or), entries(&kr));
    // Per-CPU values, set by hand, dumped as text (BTF) and hex JSON —
    // exactly, when our worker count is the kernel's CPU count.
    let (kr, or) = both(&|d| {
        [
            "map",
            "update",
            "pinned",
            &format!("{d}/counters"),
            "key",
            "hex",
            "01",
            "00",
            "00",
            "00",
            "value",
            "hex",
            "2a",
            "00",
            "00",
            "00",
            "00",
            "00",
            "00",
            "00",
        ]
        .map(String::from)
        .to_vec()
    });
    assert!(
        kr.status.success() && or.status.success(),
        "{} {}",
        text(&kr),
        text(&or)
    );
    let possible = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap_or_default();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    if possible.trim() == format!("0-{}", workers - 1) || (workers == 1 && possible.trim() == "0") {
        for json in [false, true] {
            let (kr, or) = both(&|d| {
                let mut a: Vec<String> = if json { vec!["-j".into()] } else { vec![] };
                a.extend(["map", "dump", "pinned", &format!("{d}/counters")].map(String::from));
                a
            });
            assert_eq!(text(&or), text(&kr), "per-CPU dump, json {json}");
        }
    } else {
        eprintln!("per-CPU dumps not compared: {workers} workers, kernel CPUs {possible}");
    }
}

/// Maps made by hand (`map create`, no BTF): hex dumps, getnext, errors
/// of delete, lookup and frozen maps — byte for byte as bpftool prints
/// them for the kernel's maps.
#[test]
fn hand_made_maps_like_bpftool() {
    let Some(kd) = KernelDir::new("oxbpf-hand") else {
        eprintln!("SKIP: bpftool or /sys/fs/bpf unusable");
        return;
    };
    let kdir = kd.0.clone();
    let fs = Fs::new("hand");
    let text = |o: &Output| {
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    };
    let mut steps: Vec<Vec<String>> = Vec::new();
    let mut step = |a: &[&str]| steps.push(a.iter().map(|s| s.to_string()).collect());
    // `@` stands for the directory of pins.
    step(&[
        "map", "create", "@/arr", "type", "array", "key", "4", "value", "12", "entries", "3",
        "name", "arr",
    ]);
    step(&[
        "map",
        "create",
        "@/pc",
        "type",
        "percpu_array",
        "key",
        "4",
        "value",
        "4",
        "entries",
        "2",
        "name",
        "pc",
    ]);
    step(&[
        "map", "create", "@/big", "type", "hash", "key", "20", "value", "20", "entries", "2",
        "name", "big",
    ]);
    step(&[
        "map", "update", "pinned", "@/arr", "key", "1", "0", "0", "0", "value", "1", "2", "3", "4",
        "5", "6", "7", "8", "9", "10", "11", "0xff",
    ]);
    step(&[
        "map", "update", "pinned", "@/arr", "key", "3", "0", "0", "0", "value", "1", "2", "3", "4",
        "5", "6", "7", "8", "9", "10", "11", "12",
    ]);
    step(&["map", "dump", "pinned", "@/arr"]);
    step(&["-j", "map", "dump", "pinned", "@/arr"]);
    step(&[
        "map", "lookup", "pinned", "@/arr", "key", "2", "0", "0", "0",
    ]);
    step(&[
        "map", "getnext", "pinned", "@/arr", "key", "1", "0", "0", "0",
    ]);
    step(&[
        "map", "getnext", "pinned", "@/arr", "key", "2", "0", "0", "0",
    ]);
    step(&[
        "map", "delete", "pinned", "@/arr", "key", "1", "0", "0", "0",
    ]);
    step(&[
        "map", "update", "pinned", "@/pc", "key", "1", "0", "0", "0", "value", "hex", "de", "ad",
        "be", "ef",
    ]);
    step(&["map", "dump", "pinned", "@/pc"]);
    step(&[
        "-j", "map", "lookup", "pinned", "@/pc", "key", "1", "0", "0", "0",
    ]);
    step(&[
        "map", "update", "pinned", "@/big", "key", "hex", "00", "01", "02", "03", "04", "05", "06",
        "07", "08", "09", "0a", "0b", "0c", "0d", "0e", "0f", "10", "11", "12", "13", "value",
        "hex", "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "0a", "0b", "0c", "0d",
        "0e", "0f", "10", "11", "12", "13",
    ]);
    step(&["map", "dump", "pinned", "@/big"]);
    step(&[
        "map", "delete", "pinned", "@/big", "key", "hex", "ff", "01", "02", "03", "04", "05", "06",
        "07", "08", "09", "0a", "0b", "0c", "0d", "0e", "0f", "10", "11", "12", "13",
    ]);
    step(&[
        "map", "create", "@/q", "type", "queue", "key", "0", "value", "4", "entries", "2", "name",
        "q",
    ]);
    step(&["map", "push", "pinned", "@/q", "value", "1", "2", "3", "4"]);
    step(&[
        "map", "enqueue", "pinned", "@/q", "value", "5", "6", "7", "8",
    ]);
    step(&["map", "push", "pinned", "@/q", "value", "9", "9", "9", "9"]);
    step(&["map", "peek", "pinned", "@/q"]);
    step(&["-j", "map", "peek", "pinned", "@/q"]);
    step(&["map", "dump", "pinned", "@/q"]);
    step(&["map", "pop", "pinned", "@/q"]);
    step(&["map", "dequeue", "pinned", "@/q"]);
    step(&["map", "pop", "pinned", "@/q"]);
    step(&[
        "map",
        "create",
        "@/pe",
        "type",
        "perf_event_array",
        "key",
        "4",
        "value",
        "4",
        "entries",
        "2",
        "name",
        "pe",
    ]);
    step(&["map", "dump", "pinned", "@/pe"]);
    step(&["-j", "map", "dump", "pinned", "@/pe"]);
    step(&[
        "map", "create", "@/dm", "type", "devmap", "key", "4", "value", "4", "entries", "2",
        "name", "dm",
    ]);
    step(&["map", "dump", "pinned", "@/dm"]);
    step(&["-j", "map", "dump", "pinned", "@/dm"]);
    step(&["map", "freeze", "pinned", "@/arr"]);
    step(&[
        "map", "update", "pinned", "@/arr", "key", "0", "0", "0", "0", "value", "0", "0", "0", "0",
        "0", "0", "0", "0", "0", "0", "0", "0",
    ]);
    step(&[
        "map", "update", "pinned", "@/arr", "key", "7", "0", "0", "0", "value", "0", "0", "0", "0",
        "0", "0", "0", "0", "0", "0", "0", "0",
    ]);
    for s in &steps {
        let k: Vec<String> = s.iter().map(|w| w.replace('@', &kdir)).collect();
        let o: Vec<String> = s.iter().map(|w| w.replace('@', "/sys/fs/bpf")).collect();
        let kr = bpftool(&k.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        let or = fs.run(&o.iter().map(String::as_str).collect::<Vec<_>>());
        if s[0] == "map" && s[1] == "update" && s[3] == "@/arr" && s[5] == "0" {
            // Frozen: the kernel says EPERM as we do.
            assert!(!kr.status.success() && !or.status.success());
        }
        if s.contains(&"@/pc".to_string()) && s[1] != "create" {
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
            let possible =
                std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap_or_default();
            if possible.trim() != format!("0-{}", workers - 1) {
                continue;
            }
        }
        assert_eq!(text(&or), text(&kr), "oxbpf {o:?}");
        assert_eq!(or.status.success(), kr.status.success(), "{o:?}");
    }
}

/// `map show` and `prog show` lay out their text as bpftool 7.1 with `-f`
/// does (numbers that differ between two systems — ids, memlock, load
/// time, instruction counts — aside).
#[test]
fn show_layout_like_bpftool() {
    let Some(kd) = KernelDir::new("oxbpf-show") else {
        eprintln!("SKIP: bpftool or /sys/fs/bpf unusable");
        return;
    };
    let kdir = kd.0.clone();
    let fs = Fs::new("show");
    // Digits and pin roots differ; the words, order and spacing must not.
    let shape = |s: &str, root: &str| -> String {
        let s = s.replace(root, "ROOT");
        let mut out = String::new();
        let mut in_num = false;
        for c in s.chars() {
            if c.is_ascii_digit() {
                if !in_num {
                    out.push('N');
                }
                in_num = true;
            } else {
                in_num = false;
                out.push(c);
            }
        }
        out
    };
    let obj = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../",
        "examples/workflow/counter.bpf.o"
    );
    let kload = bpftool(&[
        "prog",
        "load",
        obj,
        &format!("{kdir}/p"),
        "pinmaps",
        &format!("{kdir}/m"),
    ])
    .unwrap();
    assert!(kload.status.success(), "{kload:?}");
    fs.ok(&[
        "prog",
        "load",
        OBJ,
        "/sys/fs/bpf/p",
        "pinmaps",
        "/sys/fs/bpf/m",
    ]);
    bpftool(&["map", "freeze", "pinned", &format!("{kdir}/m/flows")]).unwrap();
    fs.ok(&["map", "freeze", "pinned", "/sys/fs/bpf/m/flows"]);
    let root = fs.dir.canonicalize().unwrap().display().to_string();
    for (what, m) in [("map", "m/flows"), ("map", "m/counters"), ("prog", "p")] {
        let k = bpftool(&["-f", what, "show", "pinned", &format!("{kdir}/{m}")]).unwrap();
        let o = fs.ok(&["-f", what, "show", "pinned", &format!("/sys/fs/bpf/{m}")]);
        let mut k = shape(&String::from_utf8_lossy(&k.stdout), &kdir);
        let o = shape(&o, &root);
        if what == "prog" {
            // Linux 6.18 also lists counter.rodata, which count_runs does
            // not use; we list the maps the verifier saw used.
            k = k.replace("map_ids N,N", "map_ids N");
        }
        assert_eq!(o, k, "{what} show {m}");
        // JSON, compact and pretty: bpftool's keys in bpftool's order.
        for flag in ["-j", "-p"] {
            let k = bpftool(&[flag, "-f", what, "show", "pinned", &format!("{kdir}/{m}")]).unwrap();
            let o = fs.ok(&[
                flag,
                "-f",
                what,
                "show",
                "pinned",
                &format!("/sys/fs/bpf/{m}"),
            ]);
            let mut k = shape(&String::from_utf8_lossy(&k.stdout), &kdir);
            let o = shape(&o, &root);
            if what == "prog" {
                k = k.replace("[N,N", "[N");
            }
            assert_eq!(o.trim_end(), k.trim_end(), "{flag} {what} show {m}");
        }
    }
}

/// One `struct value` of `examples/workflow/types.bpf.c` (80 bytes).
#[allow(clippy::too_many_arguments)]
fn typed_value(
    neg: i32,
    name: &[u8],
    color: u32,
    e64: u64,
    bits: u32,
    f: f32,
    s64: i64,
    flag: u8,
) -> Vec<u8> {
    let mut v = vec![0u8; 80];
    v[0..4].copy_from_slice(&neg.to_le_bytes());
    v[8..16].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    v[16] = flag;
    v[17..17 + name.len()].copy_from_slice(name);
    for (i, a) in [1u16, 0xffff, 300].iter().enumerate() {
        v[26 + 2 * i..28 + 2 * i].copy_from_slice(&a.to_le_bytes());
    }
    v[32] = 200;
    v[33] = (-5i8) as u8;
    v[34..36].copy_from_slice(&8080u16.to_le_bytes());
    v[36..40].copy_from_slice(&0xdead_beefu32.to_le_bytes());
    v[40..44].copy_from_slice(&color.to_le_bytes());
    v[48..56].copy_from_slice(&e64.to_le_bytes());
    v[56..60].copy_from_slice(&bits.to_le_bytes());
    v[60..62].copy_from_slice(&7u16.to_le_bytes());
    v[62..64].copy_from_slice(&9u16.to_le_bytes());
    v[64..68].copy_from_slice(&f.to_bits().to_le_bytes());
    v[72..80].copy_from_slice(&s64.to_le_bytes());
    v
}

/// Values of every BTF kind (ints, bool, strings, arrays, structs, unions,
/// enums, bitfields, anonymous members, floats) print as bpftool prints
/// them, in text and JSON.
#[test]
fn btf_values_like_bpftool() {
    let Some(kd) = KernelDir::new("oxbpf-types") else {
        eprintln!("SKIP: bpftool or /sys/fs/bpf unusable");
        return;
    };
    let kdir = kd.0.clone();
    let obj = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../",
        "examples/workflow/types.bpf.o"
    );
    let k = bpftool(&[
        "prog",
        "load",
        obj,
        &format!("{kdir}/p"),
        "pinmaps",
        &format!("{kdir}/m"),
    ])
    .unwrap();
    assert!(k.status.success(), "{k:?}");
    let fs = Fs::new("types");
    fs.ok(&[
        "prog",
        "load",
        "examples/workflow/types.bpf.o",
        "/sys/fs/bpf/p",
        "pinmaps",
        "/sys/fs/bpf/m",
    ]);
    let text = |o: &Output| {
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    };
    let hexwords = |b: &[u8]| -> Vec<String> {
        std::iter::once("hex".to_string())
            .chain(b.iter().map(|x| format!("{x:02x}")))
            .collect()
    };
    let entries: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (
            vec![1, 0xff, 0x50, 0],
            typed_value(
                -42,
                b"oxbpf\0",
                7,
                0x1_0000_0000,
                0xabcdef << 8 | 0b10101 << 3 | 0b101,
                1.5,
                -1,
                1,
            ),
        ),
        (
            vec![2, 3, 0, 0],
            typed_value(i32::MIN, b"12345678", 5, 1, u32::MAX, -0.25, i64::MIN, 0),
        ),
        (
            vec![0, 0, 0, 0],
            typed_value(0, b"a\x01b\0", 0, 2, 0, 0.0, 0, 1),
        ),
    ];
    for (i, (key, value)) in entries.iter().enumerate() {
        let mut words: Vec<String> = ["map", "update", "pinned"].map(String::from).to_vec();
        words.push("@".into());
        words.push("key".into());
        words.extend(hexwords(key));
        words.push("value".into());
        words.extend(hexwords(value));
        let kw: Vec<String> = words
            .iter()
            .map(|w| w.replace('@', &format!("{kdir}/m/typed")))
            .collect();
        let ow: Vec<String> = words
            .iter()
            .map(|w| w.replace('@', "/sys/fs/bpf/m/typed"))
            .collect();
        let kr = bpftool(&kw.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
        let or = fs.run(&ow.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(text(&or), text(&kr), "update {i}");
        for json in [false, true] {
            let mut lw: Vec<String> = if json { vec!["-j".into()] } else { vec![] };
            lw.extend(["map", "lookup", "pinned", "@", "key"].map(String::from));
            lw.extend(hexwords(key));
            let kw: Vec<String> = lw
                .iter()
                .map(|w| w.replace('@', &format!("{kdir}/m/typed")))
                .collect();
            let ow: Vec<String> = lw
                .iter()
                .map(|w| w.replace('@', "/sys/fs/bpf/m/typed"))
                .collect();
            let kr = bpftool(&kw.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
            let or = fs.run(&ow.iter().map(String::as_str).collect::<Vec<_>>());
            assert_eq!(text(&or), text(&kr), "lookup {i} json {json}");
        }
    }
}

//! `oxbpf prog run`, `oxbpf prog verify` and `oxbpf pcap PROG` through the
//! real binary, on corpus objects (whose results the runtime's kernel
//! differential test checks against Linux).

use std::process::{Command, Output};

fn oxbpf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oxbpf"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(args)
        .output()
        .expect("run oxbpf")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// An Ethernet + IPv4 + UDP packet to port 53.
fn packet() -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("oxbpf-prog-run-{}.bin", std::process::id()));
    let mut b = vec![
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01, 0x08, 0x00,
    ];
    b.extend_from_slice(&[
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 53, 0, 53, 0, 8, 0,
        0,
    ]);
    std::fs::write(&p, b).unwrap();
    p
}

#[test]
fn prog_run_prints_what_bpftool_prints_on_both_engines() {
    let pkt = packet();
    let pkt = pkt.to_str().unwrap();
    for engine in ["interp", "jit"] {
        let o = oxbpf(&[
            "prog",
            "run",
            "file",
            "corpus/obj/xdp_fw_lpm.o",
            "data_in",
            pkt,
            "repeat",
            "100",
            "engine",
            engine,
        ]);
        assert!(o.status.success(), "{o:?}");
        let s = stdout(&o);
        assert!(
            s.starts_with("Return value: 2, duration (average): ") && s.ends_with("ns\n"),
            "{s}"
        );
        let o = oxbpf(&[
            "-j",
            "prog",
            "run",
            "file",
            "corpus/obj/xdp_fw_lpm.o",
            "data_in",
            pkt,
            "engine",
            engine,
        ]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["retval"], 2, "{v}");
        assert!(v["duration"].is_u64(), "{v}");
    }
}

#[test]
fn prog_run_errors_name_what_is_wrong() {
    let o = oxbpf(&[
        "prog",
        "run",
        "file",
        "corpus/obj/xdp_fw_lpm.o",
        "data_in",
        "/nonexistent",
        "engine",
        "jit",
    ]);
    assert_eq!(o.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("Error: failed to read /nonexistent"));
    let o = oxbpf(&[
        "prog",
        "run",
        "file",
        "corpus/obj/xdp_fw_lpm.o",
        "engine",
        "foo",
    ]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("invalid engine 'foo'"),
        "{o:?}"
    );
    // An skb shorter than an Ethernet header: the kernel's EINVAL.
    let short = std::env::temp_dir().join(format!("oxbpf-short-{}.bin", std::process::id()));
    std::fs::write(&short, [0u8; 10]).unwrap();
    let o = oxbpf(&[
        "prog",
        "run",
        "file",
        "corpus/obj/tc_dnat.o",
        "program",
        "tc_dnat_ingress",
        "data_in",
        short.to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("Invalid argument"), "{e}");
}

#[test]
fn prog_verify_reports_verdicts_and_exit_status() {
    let o = oxbpf(&["prog", "verify", "corpus/obj/reject_null_map_value.o"]);
    assert_eq!(o.status.code(), Some(1));
    let s = stdout(&o);
    assert!(
        s.contains("R0 invalid mem access 'map_value_or_null'"),
        "{s}"
    );
    assert!(s.contains("reject_null_map_value.c:22"), "{s}");
    let o = oxbpf(&["-j", "prog", "verify", "corpus/obj/xdp_lb_ipv4.o"]);
    assert!(o.status.success(), "{o:?}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = &v["programs"][0];
    assert_eq!(p["verdict"], "accepted", "{v}");
    assert_eq!(p["type"], "xdp");
    assert!(p["insns_processed"].as_u64().unwrap() > 0);
}

#[test]
fn pcap_counts_verdicts_on_both_engines() {
    for engine in ["interp", "jit"] {
        let o = oxbpf(&[
            "-j",
            "pcap",
            "file",
            "corpus/obj/xdp_fw_lpm.o",
            "testdata/cbpf/mix.pcap",
            "engine",
            engine,
        ]);
        assert!(o.status.success(), "{o:?}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        // 391 packets; 6 shorter than an Ethernet header are refused as the
        // kernel's test run refuses them; 3 dropped by the firewall's
        // malformed-header rule.
        assert_eq!(v["packets"], 391, "{v}");
        assert_eq!(v["errors"], 6, "{v}");
        assert_eq!(v["verdicts"]["XDP_DROP"], 3, "{v}");
        assert_eq!(v["verdicts"]["XDP_PASS"], 382, "{v}");
        assert_eq!(v["maps"]["fw_stats"][0]["value"][0], 126, "{v}");
    }
}

#[test]
fn pcap_writes_the_packets_a_program_rewrites() {
    let out = std::env::temp_dir().join(format!("oxbpf-pcap-out-{}.pcap", std::process::id()));
    let o = oxbpf(&[
        "pcap",
        "file",
        "corpus/obj/xdp_ipip_encap.o",
        "testdata/cbpf/mix.pcap",
        "out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{o:?}");
    let f = std::fs::File::open(&out).unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(f).unwrap();
    let mut n = 0;
    while let Some(p) = r.next_packet() {
        p.unwrap();
        n += 1;
    }
    let s = stdout(&o);
    let kept: usize = s
        .lines()
        .find_map(|l| l.strip_prefix("kept: "))
        .and_then(|k| k.parse().ok())
        .unwrap();
    assert_eq!(n, kept, "{s}");
    let _ = std::fs::remove_file(out);
}

#[test]
fn btf_typed_programs_verify_but_do_not_run_yet() {
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        eprintln!("SKIPPED: no /sys/kernel/btf/vmlinux to type tp_btf contexts");
        return;
    }
    let o = oxbpf(&["prog", "verify", "corpus/obj/tp_btf_exec.o"]);
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("accepted"), "{}", stdout(&o));
    // Loads through kernel pointers need fault-free execution: refused,
    // with the instruction, rather than run unsafely.
    let o = oxbpf(&["prog", "run", "file", "corpus/obj/tp_btf_exec.o"]);
    assert_eq!(o.status.code(), Some(255));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("loads through kernel pointers"), "{e}");
}

//! What the corpus tests share: where things are, the capture packet
//! programs run on, map contents and which of them can be compared, and
//! the lists of known exceptions.
// Each test binary uses part of this module.
#![allow(dead_code)]

use oxbpf::{MapType, ProgType};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The packets of `testdata/cbpf/mix.pcap`.
pub fn capture() -> Vec<Vec<u8>> {
    let f = std::fs::File::open(repo().join("testdata/cbpf/mix.pcap")).expect("mix.pcap");
    let mut r = pcap_file::pcap::PcapReader::new(f).expect("pcap header");
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(p.expect("packet").data.into_owned());
    }
    out
}

/// Program types that test-run on packets.
pub fn packet_type(t: ProgType) -> bool {
    matches!(
        t,
        ProgType::Xdp
            | ProgType::SchedCls
            | ProgType::SchedAct
            | ProgType::SocketFilter
            | ProgType::CgroupSkb
    )
}

/// A map's contents: key → value, all bytes.
pub type Contents = BTreeMap<Vec<u8>, Vec<u8>>;

/// Every entry of one of our maps.
pub fn contents(m: &oxbpf::Map) -> Contents {
    m.keys()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|k| m.lookup(&k).ok().map(|v| (k, v)))
        .collect()
}

/// Maps whose values hold times or random numbers (the programs read
/// `bpf_ktime_get_ns`, `bpf_jiffies64` or `bpf_get_prandom_u32`): compared
/// by keys.
pub const TIME_VALUED: &[(&str, &str)] = &[
    ("tc_edt_ratelimit", "flow_state"),
    ("xdp_conntrack", "conntrack"),
    ("globals_custom_sections", ".data.window"),
    ("helpers_misc", "procs"),
    ("kretprobe_latency", "hists"),
    ("tp_sched_switch", "switch_in_ts"),
    ("tp_sched_switch", "oncpu_time"),
];

/// Maps keyed by socket cookies, which are unique per socket (so differ
/// between any two runtimes): compared by size.
pub const COOKIE_KEYED: &[(&str, &str)] = &[("cgroup_skb_accounting", "per_socket")];

/// `c`, the contents of map `map` (of type `ty`) of object `stem`, with
/// what cannot be equal between two runs taken out: the values of program
/// arrays and maps of maps (ids) and of [`TIME_VALUED`] maps, the keys of
/// [`COOKIE_KEYED`] ones.
pub fn comparable(stem: &str, map: &str, ty: MapType, mut c: Contents) -> Contents {
    let listed = |l: &[(&str, &str)]| l.iter().any(|(o, m)| *o == stem && *m == map);
    let ids = matches!(
        ty,
        MapType::ProgArray | MapType::ArrayOfMaps | MapType::HashOfMaps
    );
    if ids || listed(TIME_VALUED) {
        c.values_mut().for_each(Vec::clear);
    }
    if listed(COOKIE_KEYED) {
        c = (0..c.len() as u64)
            .map(|i| (i.to_le_bytes().to_vec(), Vec::new()))
            .collect();
    }
    c
}

/// Objects the kernel accepts that oxbpf cannot load yet, each with why.
pub const KNOWN: &[(&str, &str)] = &[
    (
        "iter_task",
        "runtime: loads through kernel pointers (BTF) need fault-free execution, not implemented (the verifier accepts it: `prog verify`); vm: bpf_seq_printf",
    ),
    (
        "tp_btf_exec",
        "runtime: loads through kernel pointers (BTF) need fault-free execution, not implemented (the verifier accepts it: `prog verify`)",
    ),
    (
        "spinlock_timer",
        "vm: bpf_timer_* helpers (the verifier accepts it)",
    ),
    (
        "syscall_prog",
        "vm: bpf_sys_bpf, the bpf(2) commands of a syscall program (the verifier accepts it)",
    ),
    // Linux here refuses fentry programs with EPERM (lockdown) before
    // verifying them; oxbpf's verifier accepts it (`prog verify`), and the
    // runtime cannot run its loads through kernel pointers yet.
    (
        "fentry_unlink",
        "kernel: EPERM under lockdown; runtime: loads through kernel pointers",
    ),
    // The kernel gives up at its complexity limit; oxbpf's pruning proves
    // the program safe (see the verifier's corpus test).
    (
        "reject_complexity_crc32",
        "safe, accepted by oxbpf's stronger pruning",
    ),
];

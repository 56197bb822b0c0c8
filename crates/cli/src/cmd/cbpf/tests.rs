//! Classic filters against tcpdump, and the translation against a reference
//! classic interpreter.
//!
//! * `testdata/cbpf/mix.pcap` is made by [`super::gen`]; the test
//!   [`capture_is_reproducible`] regenerates it and compares bytes.
//! * `testdata/cbpf/golden/NNN.ddd` hold, for each expression of
//!   `testdata/cbpf/expressions.txt`, the program `tcpdump -r mix.pcap
//!   -ddd EXPR` printed (a valid filter file: its `#` lines are comments)
//!   and the packet indices `tcpdump -r mix.pcap EXPR` keeps. `NNN-live.ddd`
//!   are the same expressions compiled for a live Linux capture
//!   (`tcpdump -i lo -ddd`), which uses ancillary VLAN loads.
//!   [`verdicts_match_tcpdump`] needs no tcpdump; [`golden_files_are_current`]
//!   re-runs tcpdump when it exists (and rewrites the files with `BLESS=1`).

use super::capture::{self, accelerate_vlan, CaptureReader, Packet};
use super::gen::{self, BASE_SEC};
use super::skb::{SkbMeta, SocketFilter};
use isa::cbpf::{self, Ancillary, CAluOp, CCond, CReg, CSrc, CbpfInsn, RetVal, SockFilter};
use isa::Size;
use pcap_file::pcap::{PcapWriter, RawPcapPacket};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::Command;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/cbpf")
}

fn bless() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| v == "1")
}

/// The generated capture as pcap bytes.
fn mix_pcap() -> Vec<u8> {
    let mut w =
        PcapWriter::with_header(Vec::new(), capture::pcap_header(capture::LINKTYPE_ETHERNET))
            .unwrap();
    for (i, p) in gen::mix().iter().enumerate() {
        let raw = RawPcapPacket {
            ts_sec: BASE_SEC + i as u32,
            ts_frac: 0,
            incl_len: p.data.len() as u32,
            orig_len: p.orig_len,
            data: Cow::Borrowed(&p.data),
        };
        w.write_raw_packet(&raw).unwrap();
    }
    w.into_writer()
}

fn read_all(path: &Path) -> Vec<Packet> {
    let mut r = CaptureReader::open(path.to_str().unwrap()).unwrap();
    std::iter::from_fn(|| r.next_packet())
        .map(Result::unwrap)
        .collect()
}

fn mix_path() -> PathBuf {
    testdata().join("mix.pcap")
}

#[test]
fn capture_is_reproducible() {
    let bytes = mix_pcap();
    if bless() {
        std::fs::write(mix_path(), &bytes).unwrap();
    }
    let committed = std::fs::read(mix_path()).expect("testdata/cbpf/mix.pcap (BLESS=1 writes it)");
    assert!(
        committed == bytes,
        "mix.pcap differs from the generator's output (BLESS=1 rewrites it)"
    );
    assert!(read_all(&mix_path()).len() > 350);
}

/// A golden file: expression, kept indices, program.
struct Golden {
    name: String,
    expr: String,
    kept: Vec<u64>,
    text: String,
}

fn parse_golden(name: String, text: String) -> Golden {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("{name}: no {key} line"))
            .trim()
            .to_string()
    };
    let expr = field("# expr:");
    let kept = field("# kept:")
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    Golden {
        name,
        expr,
        kept,
        text,
    }
}

fn goldens() -> Vec<Golden> {
    let mut files: Vec<_> = std::fs::read_dir(testdata().join("golden"))
        .expect("testdata/cbpf/golden")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            parse_golden(name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Indices of the packets the filter keeps; with `accel`, tagged frames
/// are first VLAN-accelerated (tag moved into the skb).
fn kept(t: &cbpf::Translation, packets: &[Packet], accel: bool) -> Vec<u64> {
    let mut f = SocketFilter::new(&t.insns).unwrap();
    let mut out = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        let (data, meta) = match accelerate_vlan(p).filter(|_| accel) {
            Some((q, m)) => (q.data, m),
            None => (p.data.clone(), capture::skb_meta(p)),
        };
        if f.run(&data, &meta).unwrap() != 0 {
            out.push(i as u64);
        }
    }
    out
}

#[test]
fn verdicts_match_tcpdump() {
    let packets = read_all(&mix_path());
    let goldens = goldens();
    let exprs = goldens.iter().filter(|g| !g.name.contains("live")).count();
    assert!(exprs >= 30, "only {exprs} expressions");
    for g in &goldens {
        let t = cbpf::translate_text(&g.text).unwrap_or_else(|e| panic!("{}: {e}", g.name));
        let ours = kept(&t, &packets, false);
        assert_eq!(
            ours, g.kept,
            "{} ({}): kept packets differ from tcpdump's",
            g.name, g.expr
        );
        if g.name.contains("live") {
            // Live filters read the tag from the skb when a NIC stripped it.
            let accel = kept(&t, &packets, true);
            assert_eq!(
                accel, g.kept,
                "{} ({}) on VLAN-accelerated frames",
                g.name, g.expr
            );
        }
    }
    eprintln!(
        "{} filters ({exprs} expressions) x {} packets agree with tcpdump",
        goldens.len(),
        packets.len()
    );
}

fn tcpdump(args: &[&str]) -> Option<std::process::Output> {
    Command::new("tcpdump").args(args).output().ok()
}

/// Packet indices that `tcpdump -r mix.pcap EXPR` keeps.
fn tcpdump_kept(expr: &str, tmp: &Path) -> Vec<u64> {
    let mix = mix_path();
    let out = tcpdump(&[
        "-r",
        mix.to_str().unwrap(),
        "-w",
        tmp.to_str().unwrap(),
        expr,
    ])
    .unwrap();
    assert!(
        out.status.success(),
        "tcpdump {expr}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = CaptureReader::open(tmp.to_str().unwrap()).unwrap();
    let mut v = Vec::new();
    while let Some(p) = r.next_packet() {
        if let capture::Source::Pcap { ts_sec, .. } = p.unwrap().source {
            v.push((ts_sec - BASE_SEC) as u64);
        }
    }
    v
}

fn expressions() -> Vec<(String, bool)> {
    std::fs::read_to_string(testdata().join("expressions.txt"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix("live ") {
            Some(e) => (e.to_string(), true),
            None => (l.to_string(), false),
        })
        .collect()
}

fn golden_text(expr: &str, how: &str, kept: &[u64], ddd: &str) -> String {
    let kept: Vec<String> = kept.iter().map(u64::to_string).collect();
    format!(
        "# expr: {expr}\n# compiled: {how}\n# kept: {}\n{ddd}",
        kept.join(" ")
    )
}

#[test]
fn golden_files_are_current() {
    if tcpdump(&["--version"]).is_none() {
        eprintln!("SKIPPED golden_files_are_current: tcpdump not found");
        return;
    }
    let tmp = std::env::temp_dir().join(format!("oxbpf-cbpf-{}.pcap", std::process::id()));
    let mix = mix_path();
    let packets = read_all(&mix);
    let mut live_ok = true;
    for (i, (expr, live)) in expressions().iter().enumerate() {
        let want = tcpdump_kept(expr, &tmp);
        let mut forms = vec![("", vec!["-r", mix.to_str().unwrap(), "-ddd", expr.as_str()])];
        if *live {
            forms.push(("-live", vec!["-i", "lo", "-ddd", expr.as_str()]));
        }
        for (suffix, args) in forms {
            let out = tcpdump(&args).unwrap();
            if !out.status.success() {
                assert!(
                    !suffix.is_empty(),
                    "tcpdump -ddd {expr}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                live_ok = false;
                continue;
            }
            let ddd = String::from_utf8(out.stdout).unwrap();
            let t = cbpf::translate_text(&ddd).unwrap_or_else(|e| panic!("{expr}: {e}"));
            assert_eq!(
                kept(&t, &packets, false),
                want,
                "{expr}{suffix}: ours vs tcpdump"
            );
            let path = testdata().join(format!("golden/{i:03}{suffix}.ddd"));
            let how = if suffix.is_empty() {
                "tcpdump -r mix.pcap -ddd"
            } else {
                "tcpdump -i lo -ddd"
            };
            let text = golden_text(expr, how, &want, &ddd);
            if bless() {
                std::fs::write(&path, &text).unwrap();
            } else {
                let old = std::fs::read_to_string(&path).unwrap_or_default();
                let g = parse_golden(path.display().to_string(), old);
                assert_eq!(
                    g.expr,
                    *expr,
                    "{}: expression order changed (BLESS=1)",
                    path.display()
                );
                assert_eq!(
                    g.kept,
                    want,
                    "{}: tcpdump's verdicts changed (BLESS=1)",
                    path.display()
                );
            }
        }
    }
    let _ = std::fs::remove_file(&tmp);
    if !live_ok {
        eprintln!("SKIPPED live forms: tcpdump -i lo -d needs a capture device");
    }
}

#[test]
fn pcapng_and_output_round_trip() {
    // `pcap cbpf` with `out`: kept packets written back, readable, in order.
    let t = cbpf::translate_text("4\n40 0 0 12\n21 0 1 2048\n6 0 0 60\n6 0 0 0\n").unwrap();
    let out = std::env::temp_dir().join(format!("oxbpf-cbpf-out-{}.pcap", std::process::id()));
    let mut seen = Vec::new();
    let stats = super::filter_capture(
        &t,
        mix_path().to_str().unwrap(),
        out.to_str(),
        false,
        |i, r| seen.push((i, r)),
    )
    .unwrap();
    let written = read_all(&out);
    let _ = std::fs::remove_file(&out);
    assert_eq!(stats.kept as usize, written.len());
    assert_eq!(stats.packets as usize, seen.len());
    assert_eq!(stats.retvals.get(&60).copied(), Some(stats.kept));
    // Trimmed to the 60 bytes the filter returned, wire length kept.
    assert!(written
        .iter()
        .all(|p| p.data.len() <= 60 && p.orig_len as usize >= p.data.len()));
    assert!(written
        .iter()
        .any(|p| p.data.len() == 60 && p.orig_len > 60));
}

/// The kernel's reading of a classic load offset (`bpf_skb_load_helper`).
fn ref_offset(k: i32, meta: &SkbMeta) -> Option<usize> {
    use uapi::ctx::skf::{SKF_LL_OFF, SKF_NET_OFF};
    if k >= 0 {
        Some(k as usize)
    } else if k >= SKF_NET_OFF {
        usize::try_from(meta.network_offset as i64 + (k - SKF_NET_OFF) as i64).ok()
    } else if k >= SKF_LL_OFF {
        Some((k - SKF_LL_OFF) as usize)
    } else {
        None
    }
}

fn ref_load(d: &[u8], off: Option<usize>, size: Size) -> Option<u32> {
    let n = size.bytes() as usize;
    let b = d.get(off?..off?.checked_add(n)?)?;
    Some(b.iter().fold(0u32, |v, &x| v << 8 | x as u32))
}

/// A direct interpreter of classic BPF with the kernel's semantics: the
/// oracle the translation is compared with.
fn reference(prog: &[CbpfInsn], d: &[u8], meta: &SkbMeta) -> u32 {
    let (mut a, mut x, mut m, mut pc) = (0u32, 0u32, [0u32; 16], 0usize);
    loop {
        let insn = prog[pc];
        pc += 1;
        match insn {
            CbpfInsn::LoadAbs { size, k } => match ref_load(d, ref_offset(k as i32, meta), size) {
                Some(v) => a = v,
                None => return 0,
            },
            CbpfInsn::LoadInd { size, k } => {
                match ref_load(d, ref_offset(x.wrapping_add(k) as i32, meta), size) {
                    Some(v) => a = v,
                    None => return 0,
                }
            }
            CbpfInsn::LoadAnc { anc, .. } => a = ref_ancillary(anc, a, x, d, meta),
            CbpfInsn::LoadLen { dst: CReg::A } => a = meta.len,
            CbpfInsn::LoadLen { dst: CReg::X } => x = meta.len,
            CbpfInsn::LoadImm { dst: CReg::A, k } => a = k,
            CbpfInsn::LoadImm { dst: CReg::X, k } => x = k,
            CbpfInsn::LoadMem { dst: CReg::A, idx } => a = m[idx as usize],
            CbpfInsn::LoadMem { dst: CReg::X, idx } => x = m[idx as usize],
            CbpfInsn::LoadMsh { k } => match ref_load(d, ref_offset(k as i32, meta), Size::B) {
                Some(v) => x = 4 * (v & 0xf),
                None => return 0,
            },
            CbpfInsn::Store { src, idx } => m[idx as usize] = if src == CReg::A { a } else { x },
            CbpfInsn::Alu { op, src } => {
                let s = match src {
                    CSrc::K(k) => k,
                    CSrc::X => x,
                };
                a = match op {
                    CAluOp::Add => a.wrapping_add(s),
                    CAluOp::Sub => a.wrapping_sub(s),
                    CAluOp::Mul => a.wrapping_mul(s),
                    CAluOp::Div | CAluOp::Mod if s == 0 => return 0,
                    CAluOp::Div => a / s,
                    CAluOp::Mod => a % s,
                    CAluOp::Or => a | s,
                    CAluOp::And => a & s,
                    CAluOp::Xor => a ^ s,
                    CAluOp::Lsh => a << (s & 31),
                    CAluOp::Rsh => a >> (s & 31),
                };
            }
            CbpfInsn::Neg => a = a.wrapping_neg(),
            CbpfInsn::Ja { k } => pc += k as usize,
            CbpfInsn::Jump { cond, src, jt, jf } => {
                let s = match src {
                    CSrc::K(k) => k,
                    CSrc::X => x,
                };
                let taken = match cond {
                    CCond::Eq => a == s,
                    CCond::Gt => a > s,
                    CCond::Ge => a >= s,
                    CCond::Set => a & s != 0,
                };
                pc += if taken { jt } else { jf } as usize;
            }
            CbpfInsn::Ret(RetVal::A) => return a,
            CbpfInsn::Ret(RetVal::K(k)) => return k,
            CbpfInsn::Tax => x = a,
            CbpfInsn::Txa => a = x,
        }
    }
}

fn ref_ancillary(anc: Ancillary, a: u32, x: u32, d: &[u8], meta: &SkbMeta) -> u32 {
    let (tci, tpid) = meta.vlan.unwrap_or((0, 0));
    match anc {
        Ancillary::Protocol => meta.protocol as u32,
        Ancillary::PktType => meta.pkt_type,
        Ancillary::IfIndex => meta.ifindex,
        Ancillary::Mark => meta.mark,
        Ancillary::Queue => meta.queue_mapping,
        Ancillary::HaType => meta.hatype as u32,
        Ancillary::RxHash => meta.hash,
        Ancillary::Cpu => 0,
        Ancillary::AluXorX => a ^ x,
        Ancillary::VlanTag => tci as u32,
        Ancillary::VlanTagPresent => meta.vlan.is_some() as u32,
        Ancillary::VlanTpid => tpid as u32,
        Ancillary::PayOffset => super::dissect::payload_offset(d, meta),
        Ancillary::NlAttr => super::dissect::nla_find(d, a, x, false),
        Ancillary::NlAttrNest => super::dissect::nla_find(d, a, x, true),
        Ancillary::Random => unreachable!("not generated"),
    }
}

/// splitmix64 for the random programs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[(self.next() % v.len() as u64) as usize]
    }
}

/// A random classic program of `n` instructions over the interesting
/// operands: offsets around headers, negative net/ll offsets, ancillary
/// loads, constants with the top bit set, division and shifts by X.
fn random_program(rng: &mut Rng, n: usize) -> Vec<SockFilter> {
    let ks: Vec<u32> = [
        0u32,
        1,
        2,
        4,
        12,
        14,
        23,
        31,
        0x800,
        0xffff,
        0x8000_0000,
        u32::MAX,
        7,
    ]
    .into_iter()
    .chain([0, 9, 12].map(|o| (uapi::ctx::skf::SKF_NET_OFF + o) as u32))
    .chain([0, 12].map(|o| (uapi::ctx::skf::SKF_LL_OFF + o) as u32))
    .chain(
        Ancillary::ALL
            .iter()
            .filter(|a| **a != Ancillary::Random)
            .map(|a| a.k()),
    )
    .collect();
    let codes: [u16; 47] = [
        0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x80, 0x00, 0x60, 0x81, 0xb1, 0x01, 0x61, 0x02, 0x03,
        0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x94, 0x9c, 0x54, 0x5c, 0x44, 0x4c, 0xa4,
        0xac, 0x64, 0x6c, 0x74, 0x7c, 0x84, 0x07, 0x87, 0x05, 0x15, 0x1d, 0x35, 0x3d, 0x25, 0x2d,
        0x45, 0x4d,
    ];
    let mut prog: Vec<SockFilter> = (0..n - 1)
        .map(|i| {
            let code = rng.pick(&codes);
            let room = (n - 2 - i).min(255) as u64 + 1;
            let mut k = rng.pick(&ks);
            if matches!(code, 0x60 | 0x61 | 0x02 | 0x03) {
                k %= 4;
            } else if code == 0x05 {
                k = (rng.next() % room) as u32;
            } else if matches!(code, 0x64 | 0x74) {
                k %= 32;
            }
            SockFilter::new(
                code,
                (rng.next() % room) as u8,
                (rng.next() % room) as u8,
                k,
            )
        })
        .collect();
    prog.push(if rng.next().is_multiple_of(2) {
        SockFilter::new(0x16, 0, 0, 0)
    } else {
        SockFilter::new(6, 0, 0, 77)
    });
    // Initialise the scratch words the program may read.
    let mut init: Vec<SockFilter> = (0..4).map(|i| SockFilter::new(0x02, 0, 0, i)).collect();
    init.extend(prog);
    init
}

#[test]
fn translation_agrees_with_a_reference_interpreter() {
    let packets: Vec<Packet> = read_all(&mix_path());
    let mut rng = Rng(42);
    let (mut programs, mut runs) = (0, 0);
    while programs < 3000 {
        let n = 2 + (rng.next() % 30) as usize;
        let prog = random_program(&mut rng, n);
        let Ok(classic) = cbpf::check(&prog) else {
            continue;
        };
        programs += 1;
        let t = cbpf::translate(&prog).unwrap();
        let mut f = SocketFilter::new(&t.insns).unwrap();
        for _ in 0..8 {
            let p = &packets[(rng.next() % packets.len() as u64) as usize];
            let mut meta = capture::skb_meta(p);
            meta.mark = rng.next() as u32;
            meta.hash = rng.next() as u32;
            meta.ifindex = (rng.next() % 5) as u32;
            meta.queue_mapping = (rng.next() % 4) as u32;
            if rng.next().is_multiple_of(2) {
                meta.vlan = Some((rng.next() as u16, rng.pick(&[0x8100, 0x88a8])));
            }
            let want = reference(&classic, &p.data, &meta);
            let got = f.run(&p.data, &meta).unwrap();
            assert_eq!(
                got,
                want,
                "program {prog:?}\non packet {:?}\n{}",
                p.data,
                t.listing(isa::disasm::DisasmOptions::new(
                    isa::disasm::Dialect::Llvm14
                ))
            );
            runs += 1;
        }
    }
    eprintln!("{programs} random programs, {runs} runs agree with the reference");
}

/// libpcap compiles `protochain` with a backward `ja` (a loop), which the
/// kernel refuses; so do we, naming the instruction.
#[test]
fn protochain_loops_are_refused() {
    let text = std::fs::read_to_string(testdata().join("protochain.ddd")).unwrap();
    match cbpf::translate_text(&text).unwrap_err() {
        cbpf::CbpfError::Invalid {
            index: 18,
            kind: cbpf::InvalidKind::JumpOutOfRange { target, len: 36 },
        } => assert!(target > 36),
        e => panic!("{e}"),
    }
}

/// The same packets as pcapng give the same verdicts, and `out` writes
/// pcapng back (interface block first, kept packets trimmed).
#[test]
fn pcapng_input_and_output() {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
    use pcap_file::pcapng::PcapNgWriter;
    let dir = std::env::temp_dir();
    let ng = dir.join(format!("oxbpf-cbpf-{}.pcapng", std::process::id()));
    let out = dir.join(format!("oxbpf-cbpf-out-{}.pcapng", std::process::id()));
    let mut w = PcapNgWriter::new(std::fs::File::create(&ng).unwrap()).unwrap();
    let idb = InterfaceDescriptionBlock::new(pcap_file::DataLink::ETHERNET, 262144);
    w.write_pcapng_block(idb).unwrap();
    for (i, p) in gen::mix().iter().enumerate() {
        let epb = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: std::time::Duration::from_secs(i as u64),
            original_len: p.orig_len,
            data: Cow::Borrowed(&p.data),
            options: vec![],
        };
        w.write_pcapng_block(epb).unwrap();
    }
    drop(w);
    let g = goldens()
        .into_iter()
        .find(|g| g.expr == "tcp port 443")
        .unwrap();
    let t = cbpf::translate_text(&g.text.replace("262144", "54")).unwrap();
    let mut kept_ng = Vec::new();
    let stats = super::filter_capture(&t, ng.to_str().unwrap(), out.to_str(), false, |i, r| {
        if r != 0 {
            kept_ng.push(i)
        }
    })
    .unwrap();
    let written = read_all(&out);
    let _ = (std::fs::remove_file(&ng), std::fs::remove_file(&out));
    assert_eq!(kept_ng, g.kept);
    assert_eq!(stats.kept as usize, written.len());
    assert!(written
        .iter()
        .all(|p| p.data.len() <= 54 && p.linktype == 1));
}

//! `isa::tag::prog_tag` against the running kernel: load programs with
//! `BPF_PROG_LOAD`, read the `tag` back with `BPF_OBJ_GET_INFO_BY_FD` and
//! compare with the tag computed from the instructions we submitted.
//!
//! Programs: every corpus program (`corpus/obj/*.o`, relocated by
//! `oxbpf-object`, maps created in the kernel so map references hold real
//! fds) that this bare loader can get accepted, random programs from
//! `testkit::gen`, and programs referring to maps in every `lddw` form
//! (`MAP_FD`, `MAP_VALUE`, `MAP_IDX`, `MAP_IDX_VALUE`) with varying fds, so
//! the masking rules are pinned down. Skips visibly without `bpf(2)`.

use isa::tag::{prog_tag, tag_hex};
use isa::{Insn, RawInsn, Reg};
use oxbpf_isa as isa;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::os::fd::AsFd;
use std::path::Path;
use testkit::kernel::{LogLevel, Map, MapCreate, ProgLoad};
use testkit::Kernel;
use uapi::{MapType, ProgType};

/// Loads `insns` and returns (kernel tag, our tag), or `None` if rejected.
fn tags(k: &Kernel, req: &ProgLoad<'_>, insns: &[RawInsn]) -> Option<([u8; 8], [u8; 8])> {
    let prog = k.load_prog(req).ok()?;
    let info = prog.info().expect("prog info");
    Some((info.tag, prog_tag(insns)))
}

fn create_maps(k: &Kernel, spec: &oxbpf_object::ObjectSpec) -> Option<Vec<Map>> {
    let mut maps = Vec::new();
    for m in &spec.maps {
        let inner = match &m.inner {
            Some(i) => {
                let mut req = MapCreate::new(i.map_type, i.key_size, i.value_size, i.max_entries);
                req.map_flags = i.flags;
                Some(k.create_map(&req).ok()?)
            }
            None => None,
        };
        let mut req = MapCreate::new(m.map_type, m.key_size, m.value_size, m.max_entries);
        req.map_flags = m.flags;
        req.map_extra = m.map_extra;
        req.inner_map_fd = inner.as_ref().map(|i| i.fd());
        maps.push(k.create_map(&req).ok()?);
    }
    Some(maps)
}

/// Every corpus program this loader gets past the verifier.
fn corpus(k: &Kernel) -> (usize, usize, Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus/obj");
    let mut paths: Vec<_> = std::fs::read_dir(&root)
        .expect("corpus/obj")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    paths.sort();
    let (mut loaded, mut agree, mut bad) = (0, 0, Vec::new());
    for path in paths {
        let Ok(spec) = oxbpf_object::ObjectSpec::open(&path) else {
            continue;
        };
        let Some(maps) = create_maps(k, &spec) else {
            continue;
        };
        for p in &spec.programs {
            let mut insns = p.insns.clone();
            for r in &p.map_refs {
                insns[r.insn].imm = maps[r.map].fd().as_fd().as_raw_fd_i32();
            }
            let ty = if p.prog_type == ProgType::Unspec && p.section.starts_with("socket") {
                ProgType::SocketFilter
            } else {
                p.prog_type
            };
            let mut req = ProgLoad::new(ty, &insns)
                .log_level(LogLevel::NONE)
                .license(&spec.license)
                .kern_version(spec.kern_version)
                .prog_flags(p.prog_flags);
            if let Some(t) = p.expected_attach_type {
                req = req.expected_attach_type(t);
            }
            if let Some((kt, ours)) = tags(k, &req, &insns) {
                loaded += 1;
                if kt == ours {
                    agree += 1;
                } else {
                    bad.push(format!(
                        "{}::{}: kernel {} ours {}",
                        path.display(),
                        p.name,
                        tag_hex(&kt),
                        tag_hex(&ours)
                    ));
                }
            }
        }
    }
    (loaded, agree, bad)
}

trait RawFd {
    fn as_raw_fd_i32(&self) -> i32;
}
impl RawFd for std::os::fd::BorrowedFd<'_> {
    fn as_raw_fd_i32(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.as_raw_fd()
    }
}

#[test]
fn corpus_tags_match_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let (loaded, agree, bad) = corpus(&k);
    eprintln!("corpus: {loaded} programs loaded, {agree} tags agree");
    assert!(bad.is_empty(), "tags differ:\n{}", bad.join("\n"));
    assert!(loaded >= 40, "only {loaded} corpus programs loaded");
}

#[test]
fn generated_program_tags_match_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::XorShift, &[7; 16]),
    );
    let strategies = [
        testkit::gen::straight_line_program(),
        testkit::gen::forward_program(),
        testkit::gen::loop_program(),
    ];
    let (mut loaded, mut n) = (0, 0);
    for round in 0..300 {
        let s = &strategies[round % strategies.len()];
        let prog = s.new_tree(&mut runner).expect("generate").current();
        let raw = isa::encode_program(&testkit::gen::xdp_program(&prog.body));
        n += 1;
        let req = ProgLoad::new(ProgType::Xdp, &raw).log_level(LogLevel::NONE);
        if let Some((kt, ours)) = tags(&k, &req, &raw) {
            loaded += 1;
            assert_eq!(
                tag_hex(&kt),
                tag_hex(&ours),
                "program {round}:\n{}",
                isa::disasm::listing(
                    &raw,
                    isa::disasm::DisasmOptions::new(isa::disasm::Dialect::Kernel)
                )
                .unwrap_or_default()
            );
        }
    }
    eprintln!("generated: {loaded}/{n} programs loaded, all tags agree");
    assert!(
        loaded >= 250,
        "only {loaded} of {n} generated programs loaded"
    );
}

/// `r0 = 0; exit` after a map reference of each kind, with different fds
/// (and `fd_array` slots): the tag must not depend on the fd, and must
/// follow the kernel for indexes and value offsets.
#[test]
fn map_reference_tags_match_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let maps: Vec<Map> = (0..4)
        .map(|_| {
            k.create_map(&MapCreate::new(MapType::Array, 4, 64, 1))
                .expect("array map")
        })
        .collect();
    let fds: Vec<_> = maps.iter().map(|m| m.fd()).collect();
    let mut checked = 0;
    let mut tags_by_shape = std::collections::BTreeMap::new();
    for (src, name) in [
        (1u8, "map_fd"),
        (2, "map_value"),
        (5, "map_idx"),
        (6, "map_idx_value"),
    ] {
        for (which, fd) in fds.iter().enumerate() {
            for off in [0, 8, 16] {
                if (src == 1 || src == 5) && off != 0 {
                    continue;
                }
                let imm = if src >= 5 {
                    which as i32
                } else {
                    use std::os::fd::AsRawFd;
                    fd.as_raw_fd()
                };
                let raw = vec![
                    RawInsn::new(0x18, 1, src, 0, imm),
                    RawInsn::new(0, 0, 0, 0, off),
                    Insn::mov64_imm(Reg::R0, 0).encode()[0],
                    Insn::Exit.encode()[0],
                ];
                let req = ProgLoad::new(ProgType::SocketFilter, &raw)
                    .log_level(LogLevel::NONE)
                    .fd_array(&fds);
                let (kt, ours) = tags(&k, &req, &raw)
                    .unwrap_or_else(|| panic!("{name} off {off} via map {which} rejected"));
                assert_eq!(tag_hex(&kt), tag_hex(&ours), "{name} map {which} off {off}");
                tags_by_shape
                    .entry((name, off, if src >= 5 { which } else { 0 }))
                    .or_insert_with(Vec::new)
                    .push(kt);
                checked += 1;
            }
        }
    }
    // Map fds are masked: one tag per (kind, offset) whatever the fd.
    for (shape, tags) in &tags_by_shape {
        assert!(tags.windows(2).all(|w| w[0] == w[1]), "{shape:?}: {tags:?}");
    }
    eprintln!("map references: {checked} loads, tags agree");
}

/// The tag `bpftool prog show` prints for a corpus program that bpftool
/// (libbpf) loaded, against ours for the same program as `oxbpf-object`
/// relocates it: the pair `oxbpf prog show` / `bpftool prog show` must agree.
/// Skipped without bpftool or bpffs. Map fds and value offsets are masked by
/// the tag, so any relocation difference shows up.
#[test]
fn corpus_tags_match_libbpf_loads() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let ok = std::process::Command::new("bpftool")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok || !bpffs_mounted() {
        eprintln!("SKIPPED: bpftool or bpffs not available");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus/obj");
    let mut paths: Vec<_> = std::fs::read_dir(&root)
        .expect("corpus/obj")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    paths.sort();
    let pins = format!("/sys/fs/bpf/oxbpf_tag_libbpf_{}", std::process::id());
    std::fs::create_dir_all(&pins).expect("pin dir on bpffs");
    let (mut compared, mut agree, mut bad) = (0, 0, Vec::new());
    for path in paths {
        let stem = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if stem.starts_with("reject_") {
            continue;
        }
        let Ok(spec) = oxbpf_object::ObjectSpec::open(&path) else {
            continue;
        };
        let dir = format!("{pins}/{stem}");
        let _ = std::fs::remove_dir_all(&dir);
        let loaded = std::process::Command::new("bpftool")
            .args(["prog", "loadall", &path.to_string_lossy(), &dir])
            .output()
            .is_ok_and(|o| o.status.success());
        if !loaded {
            let _ = std::fs::remove_dir_all(&dir);
            continue;
        }
        for p in &spec.programs {
            let Ok(prog) = k.prog_from_pin(&Path::new(&dir).join(&p.name)) else {
                continue;
            };
            let kernel = prog.info().expect("info").tag;
            let ours = prog_tag(&p.insns);
            compared += 1;
            if kernel == ours {
                agree += 1;
            } else {
                bad.push(format!(
                    "{stem}::{}: bpftool {} oxbpf {}",
                    p.name,
                    tag_hex(&kernel),
                    tag_hex(&ours)
                ));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&pins);
    eprintln!(
        "libbpf loads: {compared} programs, {agree} tags agree\n{}",
        bad.join("\n")
    );
    assert!(compared >= 40, "only {compared} programs compared");
    assert!(bad.is_empty(), "tags differ:\n{}", bad.join("\n"));
}

/// Whether a bpf filesystem is mounted at /sys/fs/bpf (bpftool pins there).
fn bpffs_mounted() -> bool {
    std::fs::read_to_string("/proc/mounts").is_ok_and(|m| {
        m.lines().any(|l| {
            l.split_whitespace().nth(1) == Some("/sys/fs/bpf")
                && l.split_whitespace().nth(2) == Some("bpf")
        })
    })
}

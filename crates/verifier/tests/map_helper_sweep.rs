//! Which maps each map helper takes (`check_map_func_compatibility`):
//! every map type the kernel here creates without BTF, passed to every
//! helper oxbpf knows that takes a map, from a few program types — here
//! and in the running kernel. The verdicts must agree; where both refuse
//! with different messages (the kernel checks some pairings while checking
//! the arguments, oxbpf after them), the difference is printed only.
//!
//! Skipped with a visible message where `bpf(2)` is not permitted.

use oxbpf_verifier::{verify, MapMeta, Options, Request};
use std::os::fd::AsRawFd;
use testkit::kernel::{KernelError, LogLevel, MapCreate, ProgLoad};
use uapi::proto::ArgType;
use uapi::{MapType, ProgType};

/// (map type, key size, value size, flags).
const MAPS: &[(MapType, u32, u32, u32)] = &[
    (MapType::Hash, 4, 8, 0),
    (MapType::Array, 4, 8, 0),
    (MapType::PercpuHash, 4, 8, 0),
    (MapType::PercpuArray, 4, 8, 0),
    (MapType::LruHash, 4, 8, 0),
    (MapType::ProgArray, 4, 4, 0),
    (MapType::PerfEventArray, 4, 4, 0),
    (MapType::Queue, 0, 8, 0),
    (MapType::Stack, 0, 8, 0),
    (MapType::Ringbuf, 0, 0, 0),
    (MapType::BloomFilter, 0, 8, 0),
    (MapType::Devmap, 4, 4, 0),
    (MapType::DevmapHash, 4, 4, 0),
    (MapType::Cpumap, 4, 4, 0),
    (MapType::Xskmap, 4, 4, 0),
    (MapType::Sockmap, 4, 8, 0),
    (MapType::Sockhash, 4, 8, 0),
];

const TYPES: &[ProgType] = &[
    ProgType::SchedCls,
    ProgType::Xdp,
    ProgType::SkSkb,
    ProgType::SockOps,
];

fn refused(msg: &str) -> bool {
    msg.contains("cannot pass map_type") || msg.contains("expected prog array map")
}

#[test]
fn map_helper_pairs_agree_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let mut differ = Vec::new();
    let mut notes = Vec::new();
    let mut tried = 0;
    for &(mt, ks, vs, flags) in MAPS {
        let max = if mt == MapType::Ringbuf { 4096 } else { 4 };
        for p in uapi::proto::PROTOS {
            let Some(mi) = p.args.iter().position(|a| *a == ArgType::ConstMapPtr) else {
                continue;
            };
            // r1..r5: the map in its slot, stack memory elsewhere (its
            // contents do not matter for the pairing check).
            let mut text =
                String::from("r0 = 0\n*(u64 *)(r10 - 8) = r0\n*(u64 *)(r10 - 16) = r0\n");
            for (i, a) in p.args.iter().enumerate() {
                let r = i + 1;
                match a {
                    ArgType::None => break,
                    ArgType::ConstMapPtr => text.push_str(&format!("ld_pseudo r{r}, 1, 0\n")),
                    ArgType::Ctx => text.push_str(&format!("r{r} = r6\n")),
                    ArgType::ConstSize { .. } | ArgType::ConstAllocSize | ArgType::Anything => {
                        text.push_str(&format!("r{r} = 8\n"))
                    }
                    _ => text.push_str(&format!("r{r} = r10\nr{r} += -16\n")),
                }
            }
            text = format!("r6 = r1\n{text}call {}\nr0 = 0\nexit\n", p.id);
            let _ = mi;
            let insns = isa::asm::assemble(&text, isa::asm::Syntax::Llvm).expect("assemble");
            for &t in TYPES {
                // A fresh map per load: the kernel binds a program array
                // (and some other maps) to the first program type using it.
                let mut mc = MapCreate::new(mt, ks, vs, max);
                mc.map_flags = flags;
                let map = match k.create_map(&mc) {
                    Ok(m) => m,
                    Err(e) => {
                        eprintln!("{}: not created here ({e}), skipped", mt.name());
                        break;
                    }
                };
                let fd = map.fd().as_raw_fd();
                let mut req = Request::new(&insns, t);
                let mut meta = MapMeta::new(mt, ks, vs, max);
                meta.flags = flags;
                req.maps.insert(0, meta);
                req.options = Options {
                    allow_uninit_stack: true,
                };
                let (ours, ourmsg) = match verify(&req) {
                    Ok(_) => (false, "accepted".to_string()),
                    Err(r) => (refused(&r.message), r.error_line().to_string()),
                };
                let mut kinsns = insns.clone();
                for ins in kinsns.iter_mut() {
                    if ins.code == 0x18 && ins.src == 1 {
                        ins.imm = fd;
                    }
                }
                let load = ProgLoad::new(t, &kinsns).log_level(LogLevel::VERBOSE);
                let (theirs, kmsg) = match k.load_prog(&load) {
                    Ok(_) => (false, "accepted".to_string()),
                    Err(KernelError::ProgRejected { log, errno }) => (
                        refused(&log.text),
                        log.text
                            .lines()
                            .rev()
                            .find(|l| !l.is_empty() && !l.starts_with("processed "))
                            .map_or_else(|| format!("errno {errno}"), str::to_string),
                    ),
                    Err(e) => (false, e.to_string()),
                };
                tried += 1;
                let ours_ok = ourmsg == "accepted";
                let theirs_ok = kmsg == "accepted";
                if ours != theirs && ours_ok == theirs_ok {
                    notes.push(format!(
                        "{} {} #{}: kernel: {kmsg}; oxbpf: {ourmsg}",
                        t.name(),
                        mt.name(),
                        p.id
                    ));
                }
                if ours_ok != theirs_ok {
                    let name = uapi::HelperId(p.id).name().unwrap_or("?");
                    differ.push(format!(
                        "{} map {} into bpf_{name}#{}: kernel {} ({kmsg}), oxbpf {} ({ourmsg})",
                        t.name(),
                        mt.name(),
                        p.id,
                        if theirs { "refuses" } else { "takes" },
                        if ours { "refuses" } else { "takes" },
                    ));
                }
            }
        }
    }
    eprintln!(
        "map helper sweep: {tried} programs, {} verdict disagreements, {} refused with other messages\n{}",
        differ.len(),
        notes.len(),
        differ.join("\n")
    );
    assert!(differ.is_empty());
}

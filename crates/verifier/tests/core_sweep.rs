//! Core rules compared with the running kernel over whole grids of small
//! programs: packet bounds checks against the accesses they allow, stack
//! accesses at every offset and size, and arithmetic on every kind of
//! pointer. The verdicts must agree.
//!
//! Skipped with a visible message where `bpf(2)` is not permitted.

use oxbpf_verifier::{verify, MapMeta, Options, Request};
use std::os::fd::AsRawFd;
use testkit::kernel::{KernelError, LogLevel, MapCreate, ProgLoad};
use uapi::{MapType, ProgType};

/// Verify `text` here and load it into the kernel (map 0 is `fd`);
/// `Some(description)` when the verdicts differ.
fn compare(
    k: &testkit::Kernel,
    t: ProgType,
    text: &str,
    fd: Option<i32>,
    uninit_ok: bool,
) -> Option<String> {
    let insns = isa::asm::assemble(text, isa::asm::Syntax::Llvm).expect("assemble");
    let mut req = Request::new(&insns, t);
    req.maps.insert(0, MapMeta::new(MapType::Array, 4, 64, 1));
    req.options = Options {
        allow_uninit_stack: uninit_ok,
    };
    let ours = verify(&req);
    let mut kinsns = insns.clone();
    for ins in kinsns.iter_mut() {
        if ins.code == 0x18 && ins.src == 1 {
            ins.imm = fd.unwrap_or(-1);
        }
    }
    let load = ProgLoad::new(t, &kinsns).log_level(LogLevel::VERBOSE);
    let theirs = match k.load_prog(&load) {
        Ok(_) => Ok(()),
        Err(KernelError::ProgRejected { log, errno }) => Err(log
            .text
            .lines()
            .rev()
            .find(|l| !l.is_empty() && !l.starts_with("processed "))
            .map_or_else(|| format!("errno {errno}"), str::to_string)),
        Err(e) => Err(e.to_string()),
    };
    (ours.is_ok() != theirs.is_ok()).then(|| {
        format!(
            "{}: kernel {:?}, oxbpf {:?}\n{text}",
            t.name(),
            theirs,
            ours.as_ref()
                .map(|_| ())
                .map_err(|r| r.error_line().to_string())
        )
    })
}

fn w(size: u32) -> &'static str {
    match size {
        1 => "u8",
        2 => "u16",
        4 => "u32",
        _ => "u64",
    }
}

fn report(name: &str, tried: usize, differ: &[String]) {
    eprintln!(
        "{name}: {tried} programs, {} disagreements\n{}",
        differ.len(),
        differ
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(differ.is_empty());
}

/// `if data + K <cond> data_end` in its forms, then a load at `data + off`.
#[test]
fn packet_bounds_agree_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    // (check, whether the fall-through is the safe side)
    let forms = [
        "if r3 > r4 goto +{SKIP}",
        "if r3 >= r4 goto +{SKIP}",
        "if r4 < r3 goto +{SKIP}",
        "if r4 <= r3 goto +{SKIP}",
    ];
    let mut differ = Vec::new();
    let mut tried = 0;
    for t in [ProgType::Xdp, ProgType::SchedCls] {
        let (data, end) = if t == ProgType::Xdp { (0, 4) } else { (76, 80) };
        for form in forms {
            for kk in [0i32, 1, 4, 8, 14] {
                for off in [-1i32, 0, 1, 3, 4, 6, 7, 8, 13] {
                    for size in [1u32, 2, 4, 8] {
                        let check = form.replace("{SKIP}", "1");
                        let text = format!(
                            "r2 = *(u32 *)(r1 + {data})\nr4 = *(u32 *)(r1 + {end})\nr3 = r2\n\
                             r3 += {kk}\nr0 = 0\n{check}\nr0 = *({} *)(r2 {} {})\nr0 = 0\nexit\n",
                            w(size),
                            if off < 0 { "-" } else { "+" },
                            off.abs()
                        );
                        tried += 1;
                        differ.extend(compare(&k, t, &text, None, false));
                    }
                }
            }
        }
    }
    report("packet sweep", tried, &differ);
}

/// A store then a load at every stack offset and size, and loads of
/// bytes never written.
#[test]
fn stack_accesses_agree_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let mut differ = Vec::new();
    let mut tried = 0;
    for off in -520i32..=8 {
        for size in [1u32, 2, 4, 8] {
            let sign = if off < 0 { "-" } else { "+" };
            let a = off.abs();
            let store = format!(
                "r1 = 7\n*({} *)(r10 {sign} {a}) = r1\nr0 = *({} *)(r10 {sign} {a})\nr0 = 0\nexit\n",
                w(size),
                w(size)
            );
            tried += 1;
            differ.extend(compare(&k, ProgType::SocketFilter, &store, None, false));
            // Reading a never-written byte: refused unless the loader may
            // (root may); the reference is root.
            let load = format!("r0 = *({} *)(r10 {sign} {a})\nr0 = 0\nexit\n", w(size));
            tried += 1;
            differ.extend(compare(&k, ProgType::SocketFilter, &load, None, true));
        }
    }
    report("stack sweep", tried, &differ);
}

/// Every ALU operation on every kind of pointer, with a constant and with
/// an unknown scalar, then the pointer used (or returned).
#[test]
fn pointer_arithmetic_agrees_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let map = k
        .create_map(&MapCreate::new(MapType::Array, 4, 64, 1))
        .expect("array map");
    let fd = map.fd().as_raw_fd();
    // How r6 becomes each pointer kind (xdp program).
    let kinds = [
        ("ctx", "r6 = r1\n"),
        ("stack", "r6 = r10\nr6 += -16\n"),
        ("map_ptr", "ld_pseudo r6, 1, 0\n"),
        (
            "map_value",
            "r0 = 0\n*(u32 *)(r10 - 4) = r0\nld_pseudo r1, 1, 0\nr2 = r10\nr2 += -4\ncall 1\n\
             if r0 != 0 goto +2\nr0 = 0\nexit\nr6 = r0\n",
        ),
        (
            "map_value_or_null",
            "r0 = 0\n*(u32 *)(r10 - 4) = r0\nld_pseudo r1, 1, 0\nr2 = r10\nr2 += -4\ncall 1\nr6 = r0\n",
        ),
        ("pkt", "r6 = *(u32 *)(r1 + 0)\n"),
        ("pkt_end", "r6 = *(u32 *)(r1 + 4)\n"),
    ];
    let ops = [
        "r6 += {X}",
        "r6 -= {X}",
        "r6 *= {X}",
        "r6 /= {X}",
        "r6 |= {X}",
        "r6 &= {X}",
        "r6 ^= {X}",
        "r6 <<= {X}",
        "r6 >>= {X}",
        "r6 s>>= {X}",
        "w6 += {X}",
        "r6 = -r6",
    ];
    let mut differ = Vec::new();
    let mut tried = 0;
    for (kname, setup) in kinds {
        for op in ops {
            for x in ["4", "r7"] {
                if op.starts_with('w') && x == "r7" {
                    continue;
                }
                let xop = if op.starts_with('w') { "4" } else { x };
                let line = op.replace("{X}", xop);
                let text = format!(
                    "r0 = 0\n*(u64 *)(r10 - 16) = r0\n*(u64 *)(r10 - 8) = r0\n{setup}\
                     call 7\nr7 = r0\nr7 &= 12\n{line}\nr0 = 0\nexit\n"
                );
                let _ = kname;
                tried += 1;
                differ.extend(compare(&k, ProgType::Xdp, &text, Some(fd), true));
            }
        }
    }
    report("pointer arithmetic sweep", tried, &differ);
}

/// Every atomic operation, in both sizes, at aligned and misaligned
/// offsets of every kind of memory.
#[test]
fn atomics_agree_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let map = k
        .create_map(&MapCreate::new(MapType::Array, 4, 64, 1))
        .expect("array map");
    let fd = map.fd().as_raw_fd();
    // How r6 becomes each kind of memory (tc program: packet writes are
    // allowed, the packet is checked for 16 bytes).
    let kinds = [
        ("stack", "r6 = r10\nr6 += -32\n"),
        (
            "map_value",
            "r0 = 0\n*(u32 *)(r10 - 36) = r0\nld_pseudo r1, 1, 0\nr2 = r10\nr2 += -36\ncall 1\n\
             if r0 != 0 goto +2\nr0 = 0\nexit\nr6 = r0\n",
        ),
        ("ctx", "r6 = r1\n"),
        (
            "pkt",
            "r6 = *(u32 *)(r1 + 76)\nr2 = *(u32 *)(r1 + 80)\nr3 = r6\nr3 += 16\n\
             if r3 <= r2 goto +2\nr0 = 0\nexit\n",
        ),
    ];
    let ops = [
        "lock *({W} *)(r6 + {O}) += r7",
        "lock *({W} *)(r6 + {O}) |= r7",
        "lock *({W} *)(r6 + {O}) &= r7",
        "lock *({W} *)(r6 + {O}) ^= r7",
        "r7 = atomic_fetch_add(({W} *)(r6 + {O}), r7)",
        "r7 = atomic_fetch_or(({W} *)(r6 + {O}), r7)",
        "r7 = xchg{S}(r6 + {O}, r7)",
        "r0 = cmpxchg{S}(r6 + {O}, r0, r7)",
    ];
    let mut differ = Vec::new();
    let mut tried = 0;
    for (_, setup) in kinds {
        for op in ops {
            for size in [4u32, 8] {
                for off in [0i32, 4, 8, 2] {
                    let (wn, sn) = if size == 4 {
                        ("u32", "32_32")
                    } else {
                        ("u64", "_64")
                    };
                    let line = op
                        .replace("{W}", wn)
                        .replace("{S}", sn)
                        .replace("{O}", &off.to_string());
                    let text = format!(
                        "r0 = 0\n*(u64 *)(r10 - 32) = r0\n*(u64 *)(r10 - 24) = r0\n\
                         *(u64 *)(r10 - 16) = r0\n{setup}r7 = 1\nr0 = 0\n{line}\nr0 = 0\nexit\n"
                    );
                    let Ok(_) = isa::asm::assemble(&text, isa::asm::Syntax::Llvm) else {
                        continue;
                    };
                    tried += 1;
                    differ.extend(compare(&k, ProgType::SchedCls, &text, Some(fd), true));
                }
            }
        }
    }
    report("atomics sweep", tried, &differ);
}

/// Every conditional jump comparing each kind of pointer with a constant,
/// a scalar, and another pointer, in 64 and 32 bits.
#[test]
fn pointer_comparisons_agree_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let map = k
        .create_map(&MapCreate::new(MapType::Array, 4, 64, 1))
        .expect("array map");
    let fd = map.fd().as_raw_fd();
    let kinds = [
        ("ctx", "r6 = r1\n"),
        ("stack", "r6 = r10\nr6 += -16\n"),
        ("map_ptr", "ld_pseudo r6, 1, 0\n"),
        (
            "map_value_or_null",
            "r0 = 0\n*(u32 *)(r10 - 4) = r0\nld_pseudo r1, 1, 0\nr2 = r10\nr2 += -4\ncall 1\nr6 = r0\n",
        ),
        ("pkt", "r6 = *(u32 *)(r1 + 0)\n"),
        ("pkt_end", "r6 = *(u32 *)(r1 + 4)\n"),
    ];
    let conds = ["==", "!=", ">", ">=", "<", "<=", "s>", "s<", "&"];
    let others = ["0", "8", "r7", "r10", "r9"];
    let mut differ = Vec::new();
    let mut tried = 0;
    for (_, setup) in kinds {
        for c in conds {
            for o in others {
                for wide in [true, false] {
                    let (a, b) = if wide {
                        ("r6".to_string(), o.to_string())
                    } else {
                        ("w6".to_string(), o.replace('r', "w"))
                    };
                    let text = format!(
                        "r0 = 0\n*(u64 *)(r10 - 16) = r0\n*(u64 *)(r10 - 8) = r0\n{setup}\
                         r9 = *(u32 *)(r1 + 4)\nr7 = 5\nif {a} {c} {b} goto +1\nr0 = 1\nr0 = 2\nexit\n"
                    );
                    let Ok(_) = isa::asm::assemble(&text, isa::asm::Syntax::Llvm) else {
                        continue;
                    };
                    tried += 1;
                    differ.extend(compare(&k, ProgType::Xdp, &text, Some(fd), true));
                }
            }
        }
    }
    report("pointer comparison sweep", tried, &differ);
}

/// Scalar bounds: an unknown byte transformed by each ALU operation, then
/// optionally bounded by a comparison, used as an offset into a 64-byte
/// map value. Where oxbpf accepts what the kernel refuses, its bounds are
/// wider than it may claim; where it refuses what the kernel accepts, they
/// are less precise.
#[test]
fn scalar_bounds_agree_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let map = k
        .create_map(&MapCreate::new(MapType::Array, 4, 64, 1))
        .expect("array map");
    let fd = map.fd().as_raw_fd();
    let ops = [
        "r6 += {I}",
        "r6 -= {I}",
        "r6 *= {I}",
        "r6 /= {I}",
        "r6 %= {I}",
        "r6 <<= {I}",
        "r6 >>= {I}",
        "r6 s>>= {I}",
        "r6 |= {I}",
        "r6 &= {I}",
        "r6 ^= {I}",
        "w6 += {I}",
        "w6 -= {I}",
        "w6 *= {I}",
        "w6 <<= {I}",
        "w6 >>= {I}",
        "w6 s>>= {I}",
        "r6 = -r6",
        "w6 = -w6",
        "r6 = be16 r6",
        "r6 = le32 r6",
        "r6 s/= {I}",
        "r6 = (s8)r6",
        "r6 = (s16)r6",
    ];
    let imms = ["1", "3", "8", "-1", "-8"];
    let checks = [
        "",
        "if r6 > 56 goto +3\n",
        "if r6 s> 56 goto +3\n",
        "if w6 > 56 goto +3\n",
        "if r6 s< 0 goto +3\nif r6 > 56 goto +2\n",
    ];
    let mut differ = Vec::new();
    let mut tried = 0;
    for op in ops {
        for imm in imms {
            if !op.contains("{I}") && imm != "1" {
                continue;
            }
            for check in checks {
                let line = op.replace("{I}", imm);
                let skip = check.lines().count();
                let _ = skip;
                let text = format!(
                    "r0 = 0\n*(u32 *)(r10 - 4) = r0\nld_pseudo r1, 1, 0\nr2 = r10\nr2 += -4\n\
                     call 1\nif r0 == 0 goto +7\nr7 = r0\ncall 7\nr6 = r0\nr6 &= 255\n{line}\n\
                     {check}r7 += r6\nr0 = *(u64 *)(r7 + 0)\nr0 = 0\nexit\n"
                );
                let text = fix_jumps(&text);
                let Ok(_) = isa::asm::assemble(&text, isa::asm::Syntax::Llvm) else {
                    continue;
                };
                tried += 1;
                differ.extend(compare(&k, ProgType::Xdp, &text, Some(fd), true));
            }
        }
    }
    report("scalar bounds sweep", tried, &differ);
}

/// Point the `goto` of the null check and the bound checks at the final
/// `r0 = 0` (the texts are built with placeholder distances).
fn fix_jumps(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let exit_at = lines.len() - 2; // `r0 = 0` before `exit`
                                   // Instruction index of each line (lddw takes two slots).
    let mut idx = Vec::new();
    let mut n = 0;
    for l in &lines {
        idx.push(n);
        n += if l.starts_with("ld_pseudo") { 2 } else { 1 };
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| match l.find("goto +") {
            Some(p) => format!("{}goto +{}", &l[..p], idx[exit_at] - idx[i] - 1),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Every opcode with a few field patterns (other registers, a nonzero
/// offset or immediate) between set-up and exit: which encodings are
/// valid instructions.
#[test]
fn encodings_agree_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let mut differ = Vec::new();
    let mut tried = 0;
    for code in 0u8..=255 {
        // (dst, src, off, imm)
        for (dst, src, off, imm) in [
            (1u8, 0u8, 0i16, 0i32),
            (1, 2, 0, 0),
            (1, 0, 1, 0),
            (1, 0, 0, 1),
            (1, 0, 0, 8),
            (10, 0, 0, 0),
            (1, 2, 0, 1),
            (1, 0, 0, 16),
        ] {
            let pre = isa::asm::assemble(
                "r1 = 0\nr2 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\n",
                isa::asm::Syntax::Llvm,
            )
            .expect("assemble");
            let post =
                isa::asm::assemble("r0 = 0\nexit\n", isa::asm::Syntax::Llvm).expect("assemble");
            let mut insns = pre.clone();
            let raw = isa::RawInsn {
                code,
                dst,
                src,
                off,
                imm,
            };
            insns.push(raw);
            if code == 0x18 {
                insns.push(isa::RawInsn {
                    code: 0,
                    dst: 0,
                    src: 0,
                    off: 0,
                    imm: 0,
                });
            }
            insns.extend(post.iter().copied());
            let mut req = Request::new(&insns, ProgType::SocketFilter);
            req.options = Options {
                allow_uninit_stack: true,
            };
            let ours = verify(&req);
            let load = ProgLoad::new(ProgType::SocketFilter, &insns).log_level(LogLevel::VERBOSE);
            let theirs = match k.load_prog(&load) {
                Ok(_) => Ok(()),
                Err(KernelError::ProgRejected { log, errno }) => Err(log
                    .text
                    .lines()
                    .rev()
                    .find(|l| !l.is_empty() && !l.starts_with("processed "))
                    .map_or_else(|| format!("errno {errno}"), str::to_string)),
                Err(e) => Err(e.to_string()),
            };
            tried += 1;
            if ours.is_ok() != theirs.is_ok() {
                differ.push(format!(
                    "code {code:#04x} dst {dst} src {src} off {off} imm {imm}: kernel {:?}, oxbpf {:?}",
                    theirs,
                    ours.as_ref()
                        .map(|_| ())
                        .map_err(|r| r.error_line().to_string())
                ));
            }
        }
    }
    report("encoding sweep", tried, &differ);
}

/// Stack sizes along call chains: the main program and one or two callees
/// each touch a given depth; the combined limit decides. Tracing program
/// types are left out: their private stacks differ between kernels (the
/// corpus' reference kernel gave one to a tracepoint program, this
/// machine's kernel gives one only to perf_event programs, refusing the
/// same corpus object); oxbpf follows the reference.
#[test]
fn call_stack_depths_agree_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let depths = [8i32, 64, 200, 256, 320, 512];
    let mut differ = Vec::new();
    let mut tried = 0;
    for t in [ProgType::SocketFilter, ProgType::Xdp] {
        for a in depths {
            for b in depths {
                for two in [false, true] {
                    let c = 128;
                    let inner = if two {
                        format!("g:\nr1 = 0\n*(u64 *)(r10 - {c}) = r1\nr0 = 0\nexit\n")
                    } else {
                        String::new()
                    };
                    let call_g = if two { "call g\n" } else { "" };
                    let text = format!(
                        "r1 = 0\n*(u64 *)(r10 - {a}) = r1\ncall f\nr0 = 0\nexit\n\
                         f:\nr1 = 0\n*(u64 *)(r10 - {b}) = r1\n{call_g}r0 = 0\nexit\n{inner}"
                    );
                    tried += 1;
                    differ.extend(compare(&k, t, &text, None, true));
                }
            }
        }
    }
    report("call stack sweep", tried, &differ);
}

/// Packet pointers of every context that has them, read and written after
/// a bounds check: where each program type may write the packet.
#[test]
fn packet_writes_agree_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    // (type, attach, data field, data_end field, field width)
    let ctxs: &[(ProgType, Option<uapi::AttachType>, u32, u32, &str)] = &[
        (ProgType::Xdp, None, 0, 4, "u32"),
        (ProgType::SchedCls, None, 76, 80, "u32"),
        (
            ProgType::CgroupSkb,
            Some(uapi::AttachType::CgroupInetIngress),
            76,
            80,
            "u32",
        ),
        (ProgType::SkSkb, None, 76, 80, "u32"),
        (ProgType::LwtIn, None, 76, 80, "u32"),
        (ProgType::LwtXmit, None, 76, 80, "u32"),
        (ProgType::SkMsg, None, 0, 8, "u64"),
        (ProgType::SockOps, None, 192, 200, "u64"),
    ];
    let mut differ = Vec::new();
    let mut tried = 0;
    for &(t, attach, data, end, fw) in ctxs {
        for write in [false, true] {
            for (kk, off, size) in [(8, 0, 8), (8, 4, 4), (8, 6, 4), (4, 0, 4), (2, 0, 4)] {
                let access = if write {
                    format!("r5 = 1\n*({} *)(r2 + {off}) = r5\n", w(size))
                } else {
                    format!("r5 = *({} *)(r2 + {off})\n", w(size))
                };
                let text = format!(
                    "r2 = *({fw} *)(r1 + {data})\nr4 = *({fw} *)(r1 + {end})\nr3 = r2\n\
                     r3 += {kk}\nr0 = 1\nif r3 > r4 goto +{}\n{access}r0 = 1\nexit\n",
                    access.lines().count()
                );
                let insns = isa::asm::assemble(&text, isa::asm::Syntax::Llvm).expect("assemble");
                let mut req = Request::new(&insns, t);
                req.expected_attach_type = attach;
                let ours = verify(&req);
                let mut load = ProgLoad::new(t, &insns).log_level(LogLevel::VERBOSE);
                if let Some(a) = attach {
                    load = load.expected_attach_type(a);
                }
                let theirs = k.load_prog(&load);
                tried += 1;
                if ours.is_ok() != theirs.is_ok() {
                    differ.push(format!(
                        "{} write={write} {kk}/{off}/{size}: kernel {}, oxbpf {:?}",
                        t.name(),
                        if theirs.is_ok() { "accepts" } else { "rejects" },
                        ours.as_ref()
                            .map(|_| ())
                            .map_err(|r| r.error_line().to_string())
                    ));
                }
            }
        }
    }
    report("packet write sweep", tried, &differ);
}

/// Legacy packet loads (`BPF_LD_ABS`/`IND`) from every socket buffer
/// program type and a few others.
#[test]
fn legacy_packet_loads_agree_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let mut differ = Vec::new();
    let mut tried = 0;
    for t in [
        ProgType::SocketFilter,
        ProgType::SchedCls,
        ProgType::SchedAct,
        ProgType::CgroupSkb,
        ProgType::SkSkb,
        ProgType::LwtIn,
        ProgType::LwtXmit,
        ProgType::Xdp,
        ProgType::Kprobe,
    ] {
        for text in [
            "r6 = r1\nr0 = *(u8 *)skb[12]\nr0 = 0\nexit\n",
            "r6 = r1\nr7 = 2\nr0 = *(u16 *)skb[r7 + 12]\nr0 = 0\nexit\n",
            "r0 = *(u32 *)skb[12]\nr0 = 0\nexit\n",
        ] {
            tried += 1;
            differ.extend(compare(&k, t, text, None, false));
        }
    }
    report("legacy packet load sweep", tried, &differ);
}

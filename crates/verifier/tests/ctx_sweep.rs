//! Every context access a program type could try — each offset of the
//! context (and a little past it), each size, read and write — verified
//! here and loaded into the running kernel (Linux 6.18 as the oracle); the
//! verdicts must agree, except for the fields oxbpf does not model
//! ([`UNMODELLED`]).
//!
//! Skipped with a visible message where `bpf(2)` is not permitted.

use oxbpf_verifier::{verify, Request};
use testkit::kernel::ProgLoad;
use uapi::{AttachType, ProgType};

/// (program type, expected attach type, bytes of context to sweep).
const TYPES: &[(ProgType, Option<AttachType>, u32)] = &[
    (ProgType::SocketFilter, None, 192),
    (ProgType::SchedCls, None, 192),
    (ProgType::SchedAct, None, 192),
    (
        ProgType::CgroupSkb,
        Some(AttachType::CgroupInetIngress),
        192,
    ),
    (ProgType::CgroupSkb, Some(AttachType::CgroupInetEgress), 192),
    (ProgType::SkSkb, None, 192),
    (ProgType::LwtIn, None, 192),
    (ProgType::LwtXmit, None, 192),
    (ProgType::Xdp, None, 24),
    (ProgType::Xdp, Some(AttachType::XdpDevmap), 24),
    (ProgType::SkMsg, None, 80),
    (ProgType::SockOps, None, 224),
    (ProgType::Kprobe, None, 168),
    (ProgType::PerfEvent, None, 184),
    (ProgType::RawTracepoint, None, 96),
    (ProgType::Tracepoint, None, 64),
    (
        ProgType::CgroupSock,
        Some(AttachType::CgroupInetSockCreate),
        80,
    ),
    (ProgType::CgroupDevice, Some(AttachType::CgroupDevice), 12),
    (
        ProgType::CgroupSock,
        Some(AttachType::CgroupInet4PostBind),
        80,
    ),
    (
        ProgType::CgroupSock,
        Some(AttachType::CgroupInet6PostBind),
        80,
    ),
    (
        ProgType::CgroupSockAddr,
        Some(AttachType::CgroupInet4Connect),
        72,
    ),
    (
        ProgType::CgroupSockAddr,
        Some(AttachType::CgroupInet6Connect),
        72,
    ),
    (
        ProgType::CgroupSockAddr,
        Some(AttachType::CgroupUdp4Sendmsg),
        72,
    ),
    (
        ProgType::CgroupSockAddr,
        Some(AttachType::CgroupUdp6Sendmsg),
        72,
    ),
];

/// Fields whose reads the kernel allows and oxbpf refuses: socket
/// pointers, which oxbpf does not model (program type, first offset,
/// length).
const UNMODELLED: &[(ProgType, u32, u32)] = &[
    (ProgType::SocketFilter, 168, 8),
    (ProgType::SchedCls, 168, 8),
    (ProgType::SchedAct, 168, 8),
    (ProgType::CgroupSkb, 168, 8),
    (ProgType::SkSkb, 168, 8),
    (ProgType::LwtIn, 168, 8),
    (ProgType::LwtXmit, 168, 8),
    (ProgType::SkMsg, 72, 8),
    (ProgType::SockOps, 184, 8),
    (ProgType::CgroupSockAddr, 64, 8),
];

fn program(off: u32, size: u32, write: bool) -> Vec<isa::RawInsn> {
    let w = match size {
        1 => "u8",
        2 => "u16",
        4 => "u32",
        _ => "u64",
    };
    let access = if write {
        format!("r2 = 0\n*({w} *)(r1 + {off}) = r2\n")
    } else {
        format!("r2 = *({w} *)(r1 + {off})\n")
    };
    let text = format!("{access}r0 = 0\nexit\n");
    isa::asm::assemble(&text, isa::asm::Syntax::Llvm).expect("assemble")
}

#[test]
fn ctx_accesses_agree_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let mut tried = 0;
    let mut differ = Vec::new();
    for &(t, attach, len) in TYPES {
        for off in 0..len + 8 {
            for size in [1u32, 2, 4, 8] {
                for write in [false, true] {
                    let insns = program(off, size, write);
                    let mut req = Request::new(&insns, t);
                    req.expected_attach_type = attach;
                    let ours = verify(&req).is_ok();
                    let mut load = ProgLoad::new(t, &insns);
                    if let Some(a) = attach {
                        load = load.expected_attach_type(a);
                    }
                    let theirs = k.load_prog(&load).is_ok();
                    tried += 1;
                    if ours == theirs {
                        continue;
                    }
                    let known = !write
                        && !ours
                        && UNMODELLED
                            .iter()
                            .any(|&(ut, s, l)| ut == t && (s..s + l).contains(&off));
                    if !known {
                        differ.push(format!(
                            "{} {attach:?} {} off={off} size={size}: kernel {}, oxbpf {}",
                            t.name(),
                            if write { "write" } else { "read" },
                            if theirs { "accepts" } else { "rejects" },
                            if ours { "accepts" } else { "rejects" },
                        ));
                    }
                }
            }
        }
    }
    eprintln!(
        "ctx sweep: {tried} accesses, {} disagreements\n{}",
        differ.len(),
        differ.join("\n")
    );
    assert!(differ.is_empty());
}

/// Program types and attach types whose return values the kernel limits.
const RET_TYPES: &[(ProgType, Option<AttachType>)] = &[
    (ProgType::SocketFilter, None),
    (ProgType::SchedCls, None),
    (ProgType::Xdp, None),
    (ProgType::CgroupSkb, Some(AttachType::CgroupInetIngress)),
    (ProgType::CgroupSkb, Some(AttachType::CgroupInetEgress)),
    (ProgType::CgroupSock, Some(AttachType::CgroupInetSockCreate)),
    (
        ProgType::CgroupSockAddr,
        Some(AttachType::CgroupInet4Connect),
    ),
    (
        ProgType::CgroupSockAddr,
        Some(AttachType::CgroupUdp4Recvmsg),
    ),
    (
        ProgType::CgroupSockAddr,
        Some(AttachType::CgroupInet4Getpeername),
    ),
    (ProgType::SockOps, None),
    (ProgType::CgroupDevice, Some(AttachType::CgroupDevice)),
    (ProgType::SkSkb, None),
    (ProgType::SkMsg, None),
    (ProgType::Kprobe, None),
    (ProgType::Tracepoint, None),
    (ProgType::PerfEvent, None),
    (ProgType::RawTracepoint, None),
];

#[test]
fn return_values_agree_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let mut differ = Vec::new();
    for &(t, attach) in RET_TYPES {
        for v in [-1i64, 0, 1, 2, 3, 4, 7, 0x7fff_ffff] {
            let text = format!("r0 = {v}\nexit\n");
            let insns = isa::asm::assemble(&text, isa::asm::Syntax::Llvm).expect("assemble");
            let mut req = Request::new(&insns, t);
            req.expected_attach_type = attach;
            let ours = verify(&req).is_ok();
            let mut load = ProgLoad::new(t, &insns);
            if let Some(a) = attach {
                load = load.expected_attach_type(a);
            }
            let theirs = k.load_prog(&load).is_ok();
            if ours != theirs {
                differ.push(format!(
                    "{} {attach:?} r0={v}: kernel {}, oxbpf {}",
                    t.name(),
                    if theirs { "accepts" } else { "rejects" },
                    if ours { "accepts" } else { "rejects" },
                ));
            }
        }
    }
    eprintln!(
        "return sweep: {} disagreements\n{}",
        differ.len(),
        differ.join("\n")
    );
    assert!(differ.is_empty());
}

//! Which program types may call which helpers: every helper oxbpf knows
//! (`uapi::proto::PROTOS`) called from every program type, here and in the
//! running kernel (Linux 6.18 as the oracle). Only availability is
//! compared — whether the call is refused as `program of this type cannot
//! use helper` / `unknown func` — not the argument checks that follow.
//!
//! Skipped with a visible message where `bpf(2)` is not permitted.

use oxbpf_verifier::{verify, Request};
use testkit::kernel::{KernelError, LogLevel, ProgLoad};
use uapi::{AttachType, ProgType};

const TYPES: &[(ProgType, Option<AttachType>)] = &[
    (ProgType::SocketFilter, None),
    (ProgType::SchedCls, None),
    (ProgType::CgroupSkb, Some(AttachType::CgroupInetIngress)),
    (ProgType::SkSkb, None),
    (ProgType::SkMsg, None),
    (ProgType::SockOps, None),
    (ProgType::Xdp, None),
    (ProgType::Kprobe, None),
    (ProgType::Tracepoint, None),
    (ProgType::RawTracepoint, None),
    (ProgType::PerfEvent, None),
    (
        ProgType::CgroupSockAddr,
        Some(AttachType::CgroupInet4Connect),
    ),
    (ProgType::CgroupSock, Some(AttachType::CgroupInetSockCreate)),
    (ProgType::CgroupDevice, Some(AttachType::CgroupDevice)),
    (ProgType::LwtIn, None),
    (ProgType::LwtXmit, None),
];

/// Where this machine's kernel and the corpus' reference kernel differ:
/// the reference kernel accepted `bpf_xdp_adjust_meta` in XDP programs
/// (corpus `xdp_meta_to_tc`), this one refuses it; oxbpf follows the
/// reference.
const KNOWN: &[(ProgType, u32)] = &[(ProgType::Xdp, uapi::helpers::id::XDP_ADJUST_META)];

fn unavailable(msg: &str) -> bool {
    msg.contains("cannot use helper") || msg.contains("unknown func")
}

#[test]
fn helper_availability_agrees_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let mut differ = Vec::new();
    let mut tried = 0;
    for &(t, attach) in TYPES {
        for p in uapi::proto::PROTOS {
            let text = format!("call {}\nr0 = 0\nexit\n", p.id);
            let insns = isa::asm::assemble(&text, isa::asm::Syntax::Llvm).expect("assemble");
            let mut req = Request::new(&insns, t);
            req.expected_attach_type = attach;
            let ours = match verify(&req) {
                Ok(_) => false,
                Err(r) => unavailable(&r.message),
            };
            let mut load = ProgLoad::new(t, &insns).log_level(LogLevel::VERBOSE);
            if let Some(a) = attach {
                load = load.expected_attach_type(a);
            }
            let theirs = match k.load_prog(&load) {
                Ok(_) => false,
                Err(KernelError::ProgRejected { log, .. }) => unavailable(&log.text),
                Err(_) => false,
            };
            tried += 1;
            if ours != theirs && !KNOWN.contains(&(t, p.id)) {
                let name = uapi::HelperId(p.id).name().unwrap_or("?");
                differ.push(format!(
                    "{} {attach:?} bpf_{name}#{}: kernel {}, oxbpf {}",
                    t.name(),
                    p.id,
                    if theirs { "refuses" } else { "offers" },
                    if ours { "refuses" } else { "offers" },
                ));
            }
        }
    }
    eprintln!(
        "helper sweep: {tried} (type, helper) pairs, {} disagreements\n{}",
        differ.len(),
        differ.join("\n")
    );
    assert!(differ.is_empty());
}

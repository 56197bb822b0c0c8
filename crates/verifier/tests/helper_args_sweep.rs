//! What each helper argument accepts: every helper oxbpf knows (but those
//! with callbacks, locks, timers or reservations, which need more setup),
//! called with valid arguments except one, which gets each kind of
//! register in turn (zero, a number, the context, the stack, a map, a map
//! value, an uninitialised register) — here and in the running kernel. The
//! verdicts must agree.
//!
//! Skipped with a visible message where `bpf(2)` is not permitted.

use oxbpf_verifier::{verify, MapMeta, Options, Request};
use std::os::fd::AsRawFd;
use testkit::kernel::{KernelError, LogLevel, MapCreate, ProgLoad};
use uapi::helpers::id;
use uapi::proto::{self, ArgType};
use uapi::{MapType, ProgType};

/// Program types tried in order; the first that may call a helper is used.
const TYPES: &[ProgType] = &[
    ProgType::SchedCls,
    ProgType::Xdp,
    ProgType::Kprobe,
    ProgType::SkSkb,
    ProgType::SkMsg,
    ProgType::SockOps,
    ProgType::CgroupSkb,
];

/// The map a helper's map argument gets: (type, key, value, max entries).
fn map_for(helper: u32) -> (MapType, u32, u32, u32) {
    match helper {
        id::TAIL_CALL => (MapType::ProgArray, 4, 4, 4),
        id::PERF_EVENT_OUTPUT | id::PERF_EVENT_READ => (MapType::PerfEventArray, 4, 4, 4),
        id::RINGBUF_OUTPUT | id::RINGBUF_QUERY | id::RINGBUF_RESERVE => {
            (MapType::Ringbuf, 0, 0, 4096)
        }
        id::REDIRECT_MAP => (MapType::Devmap, 4, 4, 4),
        id::MAP_PUSH_ELEM | id::MAP_POP_ELEM | id::MAP_PEEK_ELEM => (MapType::Queue, 0, 8, 4),
        id::SK_REDIRECT_MAP | id::MSG_REDIRECT_MAP | id::SOCK_MAP_UPDATE => {
            (MapType::Sockmap, 4, 8, 4)
        }
        id::SK_REDIRECT_HASH | id::MSG_REDIRECT_HASH | id::SOCK_HASH_UPDATE => {
            (MapType::Sockhash, 4, 8, 4)
        }
        id::GET_STACKID => (MapType::StackTrace, 4, 64, 4),
        _ => (MapType::Hash, 4, 16, 4),
    }
}

/// The kinds of register an argument is given.
const KINDS: &[&str] = &["zero", "number", "ctx", "stack", "map", "value", "uninit"];

fn reg_text(r: usize, kind: &str) -> String {
    match kind {
        "zero" => format!("r{r} = 0\n"),
        "number" => format!("r{r} = 8\n"),
        "ctx" => format!("r{r} = r6\n"),
        "stack" => format!("r{r} = r10\nr{r} += -64\n"),
        "map" => format!("ld_pseudo r{r}, 1, 1\n"),
        "value" => format!("r{r} = r7\n"),
        // r8 is never written.
        _ => format!("r{r} = r8\n"),
    }
}

/// The valid register for an argument of type `a`.
fn good(a: ArgType) -> &'static str {
    match a {
        ArgType::ConstMapPtr => "map",
        ArgType::Ctx => "ctx",
        ArgType::MapKey | ArgType::MapValue | ArgType::UninitMapValue | ArgType::Mem { .. } => {
            "stack"
        }
        ArgType::ConstSize { .. } | ArgType::ConstAllocSize => "number",
        _ => "zero",
    }
}

fn special(a: ArgType) -> bool {
    matches!(
        a,
        ArgType::Func
            | ArgType::SpinLock
            | ArgType::Timer
            | ArgType::RingbufMem
            | ArgType::BtfId { .. }
            | ArgType::ConstStr
    )
}

#[test]
fn helper_arguments_agree_with_the_kernel() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    // Map 0: a hash map whose value r7 points to (looked up, null-checked).
    let vmap = k
        .create_map(&MapCreate::new(MapType::Hash, 4, 64, 4))
        .expect("hash map");
    let mut differ = Vec::new();
    let mut tried = 0;
    let mut accepted = 0;
    for p in proto::PROTOS {
        let nargs = p.args.iter().take_while(|a| **a != ArgType::None).count();
        // xdp_adjust_meta: this machine's kernel refuses it in XDP, the
        // corpus reference accepted it (see helper_sweep.rs).
        if p.args.iter().any(|a| special(*a))
            || p.id == id::TAIL_CALL
            || p.id == id::XDP_ADJUST_META
        {
            continue;
        }
        let Some(&t) = TYPES.iter().find(|&&t| proto::allowed(t, p.id)) else {
            continue;
        };
        let (mt, ks, vs, max) = map_for(p.id);
        for pos in 0..nargs {
            for kind in KINDS {
                let mut text = String::from(
                    "r6 = r1\nr0 = 0\n*(u64 *)(r10 - 8) = r0\n*(u64 *)(r10 - 16) = r0\n\
                     *(u64 *)(r10 - 24) = r0\n*(u64 *)(r10 - 32) = r0\n*(u64 *)(r10 - 40) = r0\n\
                     *(u64 *)(r10 - 48) = r0\n*(u64 *)(r10 - 56) = r0\n*(u64 *)(r10 - 64) = r0\n\
                     ld_pseudo r1, 1, 0\nr2 = r10\nr2 += -8\ncall 1\nif r0 != 0 goto +2\nr0 = 0\nexit\nr7 = r0\n",
                );
                for (i, a) in p.args.iter().take(nargs).enumerate() {
                    let which = if i == pos { kind } else { good(*a) };
                    text.push_str(&reg_text(i + 1, which));
                }
                text.push_str(&format!("call {}\nr0 = 0\nexit\n", p.id));
                let insns = isa::asm::assemble(&text, isa::asm::Syntax::Llvm).expect("assemble");
                let mut req = Request::new(&insns, t);
                req.maps.insert(0, MapMeta::new(MapType::Hash, 4, 64, 4));
                req.maps.insert(1, MapMeta::new(mt, ks, vs, max));
                req.options = Options {
                    allow_uninit_stack: true,
                };
                let ours = verify(&req);
                // A fresh helper map per load (program arrays and others
                // bind to the first program type that uses them).
                let Ok(hmap) = k.create_map(&MapCreate::new(mt, ks, vs, max)) else {
                    continue;
                };
                let mut kinsns = insns.clone();
                for ins in kinsns.iter_mut() {
                    if ins.code == 0x18 && ins.src == 1 {
                        ins.imm = if ins.imm == 0 {
                            vmap.fd().as_raw_fd()
                        } else {
                            hmap.fd().as_raw_fd()
                        };
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
                tried += 1;
                accepted += usize::from(theirs.is_ok());
                if ours.is_ok() != theirs.is_ok() {
                    let name = uapi::HelperId(p.id).name().unwrap_or("?");
                    differ.push(format!(
                        "{} bpf_{name}#{} arg{} = {kind}: kernel {:?}, oxbpf {:?}",
                        t.name(),
                        p.id,
                        pos + 1,
                        theirs,
                        ours.as_ref()
                            .map(|_| ())
                            .map_err(|r| r.error_line().to_string()),
                    ));
                }
            }
        }
    }
    eprintln!(
        "helper argument sweep: {tried} programs ({accepted} accepted by the kernel), {} disagreements\n{}",
        differ.len(),
        differ.join("\n")
    );
    assert!(differ.is_empty());
}

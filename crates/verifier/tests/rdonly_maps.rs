//! Frozen read-only maps (`.rodata`, `.kconfig`) read as constants while
//! verifying, as the kernel does: a branch on a configuration constant is
//! decided, and the dead side is neither explored nor checked. Compared
//! with the running kernel where `bpf(2)` is permitted.

use isa::asm::{assemble, Syntax};
use isa::RawInsn;
use oxbpf_verifier::{verify, MapMeta, Request};
use testkit::kernel::{MapCreate, ProgLoad};
use uapi::map::create_flags::BPF_F_RDONLY_PROG;
use uapi::{MapType, ProgType};

/// `if (cfg.enabled) { r0 = *(u64 *)(r0 + 0) /* r0 = null */ }`: safe
/// only when `enabled` (byte 4 of the value) is known to be 0.
const PROG: &str = "
r1 = 0
ld_pseudo r2, 2, 0, 4
r3 = *(u8 *)(r2 + 0)
if r3 == 0 goto out
r0 = *(u64 *)(r1 + 0)
out:
r0 = 0
exit
";

fn meta(enabled: u8, frozen: bool) -> MapMeta {
    let mut m = MapMeta::new(MapType::Array, 4, 8, 1);
    m.flags = BPF_F_RDONLY_PROG;
    m.frozen = frozen;
    m.data = Some(vec![1, 2, 3, 4, enabled, 0, 0, 0]);
    m
}

fn ours(insns: &[RawInsn], m: MapMeta) -> Result<u64, String> {
    let mut req = Request::new(insns, ProgType::SocketFilter);
    req.maps.insert(0, m);
    verify(&req)
        .map(|v| v.insns_processed())
        .map_err(|r| r.message)
}

#[test]
fn constant_config_prunes_the_dead_branch() {
    let insns = assemble(PROG, Syntax::Llvm).expect("assemble");
    let off = ours(&insns, meta(0, true)).expect("disabled feature: accepted");
    assert!(off <= 7, "dead branch explored: {off} insns");
    let on = ours(&insns, meta(1, true)).expect_err("enabled feature: null read");
    assert!(on.contains("invalid mem access"), "{on}");
    // Not frozen: the value may change, so nothing is known.
    assert!(ours(&insns, meta(0, false)).is_err());
    // Writable by programs: likewise.
    let mut w = meta(0, true);
    w.flags = 0;
    assert!(ours(&insns, w).is_err());
}

#[test]
fn kernel_agrees() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    for enabled in [0u8, 1] {
        let mut c = MapCreate::new(MapType::Array, 4, 8, 1);
        c.map_flags = BPF_F_RDONLY_PROG;
        let map = k.create_map(&c).expect("map");
        map.update(&0u32.to_le_bytes(), &[1, 2, 3, 4, enabled, 0, 0, 0], 0)
            .expect("update");
        map.freeze().expect("freeze");
        let mut insns = assemble(PROG, Syntax::Llvm).expect("assemble");
        use std::os::fd::AsRawFd;
        insns[1].imm = map.fd().as_raw_fd();
        let kernel = k.load_prog(&ProgLoad::new(ProgType::SocketFilter, &insns));
        let ours = ours(&assemble(PROG, Syntax::Llvm).unwrap(), meta(enabled, true));
        assert_eq!(
            kernel.is_ok(),
            ours.is_ok(),
            "enabled={enabled}: kernel {:?}, ours {ours:?}",
            kernel.err().map(|e| e.to_string())
        );
    }
}

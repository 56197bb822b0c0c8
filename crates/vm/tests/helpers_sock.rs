//! Socket map helpers and `bpf_copy_from_user`: unit tests with the verdict
//! and errno paths, in checked and unchecked (verified) runs.
//!
//! No kernel comparison for the socket map helpers: the kernel cannot
//! test-run sk_skb, sk_msg or sock_ops programs (`BPF_PROG_TEST_RUN`
//! answers `-ENOTSUPP` for them), so the expectations are those of
//! `net/core/sock_map.c` read as source.

mod helpers_support;

use helpers_support::*;
use maps::MapSpec;
use oxbpf_vm::helpers::sock;
use oxbpf_vm::{HelperHost, Machine, Program, RegionKind, RunEnv, VmError};
use uapi::helpers::id;
use uapi::MapType;

const EFAULT: i64 = -14;
const E2BIG: i64 = -7;
const EEXIST: i64 = -17;
const EINVAL: i64 = -22;
const EOPNOTSUPP: i64 = -95;

/// r0 of a run and what it recorded as its redirect.
type SockOutcome = (Result<u64, VmError>, Option<(u64, u64)>);

/// Runs `prog` with a 64-byte zeroed context.
fn run_redirect(prog: &Program, maps: &Maps) -> SockOutcome {
    let mut host = HelperHost::new(maps.0.iter().map(|(_, m)| m.clone()).collect());
    let mut ctx = [0u8; 64];
    let mut env = RunEnv::new();
    let ctx_addr = env.add_region(&mut ctx, RegionKind::Context);
    host.add_map_regions(&mut env);
    env.set_host(&mut host);
    let r0 = Machine::new().run(prog, &mut env, &[ctx_addr]);
    drop(env);
    (r0, host.redirect)
}

fn both(src: &str, maps: &Maps) -> [SockOutcome; 2] {
    let raw = asm(src);
    [false, true].map(|unchecked| run_redirect(&prepare(&raw, maps, unchecked), maps))
}

fn sockmap() -> std::sync::Arc<maps::Map> {
    our_map(MapSpec::new(MapType::Sockmap, 4, 8, 2), 1)
}

fn sockhash() -> std::sync::Arc<maps::Map> {
    our_map(MapSpec::new(MapType::Sockhash, 16, 8, 8), 1)
}

#[test]
fn the_registry_has_the_socket_helpers() {
    let r = oxbpf_vm::helpers::standard_registry();
    for n in [
        id::SK_REDIRECT_MAP,
        id::SK_REDIRECT_HASH,
        id::MSG_REDIRECT_MAP,
        id::MSG_REDIRECT_HASH,
        id::SOCK_MAP_UPDATE,
        id::SOCK_HASH_UPDATE,
        id::MSG_APPLY_BYTES,
        id::MSG_CORK_BYTES,
        id::COPY_FROM_USER,
    ] {
        assert!(r.get(n).is_some(), "helper {n}");
    }
}

#[test]
fn sockmap_redirects_pass_to_a_stored_socket_and_drop_otherwise() {
    let m = sockmap();
    // A cookie above 2^32: the redirect reports all of it.
    m.sock_update(&1u32.to_ne_bytes(), 0x1_0000_1234, 0)
        .expect("store");
    let maps = Maps(vec![(7, m)]);
    for helper in [id::SK_REDIRECT_MAP, id::MSG_REDIRECT_MAP] {
        let prog = |key: u32, flags: u64| {
            format!("ld_pseudo r2, 1, 7\n r3 = {key}\n r4 = {flags} ll\n call {helper}\n exit")
        };
        for out in both(&prog(1, 1), &maps) {
            assert_eq!(out.0, Ok(sock::SK_PASS));
            assert_eq!(out.1, Some((0x1_0000_1234, 1)));
        }
        for out in both(&prog(1, 0), &maps) {
            assert_eq!(out.0, Ok(sock::SK_PASS));
            assert_eq!(out.1, Some((0x1_0000_1234, 0)));
        }
        // Unknown flags, an empty slot, an index past the end: SK_DROP and
        // nothing recorded.
        for (key, flags) in [(1, 2), (1, 1 << 40), (0, 1), (5, 0)] {
            for out in both(&prog(key, flags), &maps) {
                assert_eq!(out, (Ok(sock::SK_DROP), None), "key {key} flags {flags}");
            }
        }
    }
}

#[test]
fn sockhash_redirects_read_the_key_from_memory() {
    let m = sockhash();
    let key: Vec<u8> = (1..=16).collect();
    m.sock_update(&key, 77, 0).expect("store");
    let maps = Maps(vec![(7, m)]);
    let store = stack_bytes(&key, 16);
    for helper in [id::SK_REDIRECT_HASH, id::MSG_REDIRECT_HASH] {
        let hit = format!(
            "{store}\n ld_pseudo r2, 1, 7\n r3 = r10\n r3 += -16\n r4 = 1\n call {helper}\n exit"
        );
        for out in both(&hit, &maps) {
            assert_eq!(out, (Ok(sock::SK_PASS), Some((77, 1))));
        }
        let miss = format!(
            "{store}\n r1 = 0\n *(u8 *)(r10 - 1) = r1\n ld_pseudo r2, 1, 7\n r3 = r10\n r3 += -16\n r4 = 1\n call {helper}\n exit"
        );
        for out in both(&miss, &maps) {
            assert_eq!(out, (Ok(sock::SK_DROP), None));
        }
        // Checked runs refuse a key that is not memory of the run.
        let bad = format!("ld_pseudo r2, 1, 7\n r3 = 4096\n r4 = 0\n call {helper}\n exit");
        let (r0, _) = run_redirect(&prepare(&asm(&bad), &maps, false), &maps);
        assert!(matches!(r0, Err(VmError::Helper { .. })), "{r0:?}");
    }
}

#[test]
fn redirect_through_the_wrong_map_type_drops() {
    let maps = Maps(vec![(7, sockhash())]);
    let src = format!(
        "ld_pseudo r2, 1, 7\n r3 = 0\n r4 = 0\n call {}\n exit",
        id::SK_REDIRECT_MAP
    );
    let (r0, redirect) = run_redirect(&prepare(&asm(&src), &maps, false), &maps);
    assert_eq!((r0, redirect), (Ok(sock::SK_DROP), None));
}

/// A sock_ops program: sets `op`, stores a 16-byte key (or a u32 index)
/// and calls the update helper with `flags`.
fn update_prog(helper: u32, op: u32, key: &[u8], flags: u64) -> String {
    format!(
        "r6 = r1\n r2 = {op}\n *(u32 *)(r1 + 0) = r2\n {}\n r1 = r6\n ld_pseudo r2, 1, 7\n r3 = r10\n r3 += -16\n r4 = {flags} ll\n call {helper}\n exit",
        stack_bytes(key, 16)
    )
}

#[test]
fn sock_hash_update_stores_the_context_socket() {
    let key: Vec<u8> = (1..=16).collect();
    for unchecked in [false, true] {
        let m = sockhash();
        let maps = Maps(vec![(7, m.clone())]);
        let run = |op: u32, flags: u64| {
            let p = prepare(
                &asm(&update_prog(id::SOCK_HASH_UPDATE, op, &key, flags)),
                &maps,
                unchecked,
            );
            run_redirect(&p, &maps).0.map(|r| r as i64)
        };
        // Not an established/listen callback: refused.
        assert_eq!(run(0, 0), Ok(EOPNOTSUPP));
        assert!(m.redirect_target(&key).is_none());
        for op in [4, 5, 11] {
            assert_eq!(run(op, 0), Ok(0), "op {op}");
        }
        let t = m.redirect_target(&key).expect("stored");
        assert_ne!(t.target, 0, "a socket cookie");
        assert_eq!(run(4, 1), Ok(EEXIST), "BPF_NOEXIST on a present key");
        assert_eq!(run(4, 4), Ok(EINVAL), "unknown flags");
    }
}

#[test]
fn sock_map_update_checks_the_index() {
    let m = sockmap();
    let maps = Maps(vec![(7, m.clone())]);
    let mut key = [0u8; 16];
    for (idx, want) in [(1u32, 0), (2, E2BIG), (7, E2BIG)] {
        key[..4].copy_from_slice(&idx.to_ne_bytes());
        let p = prepare(
            &asm(&update_prog(id::SOCK_MAP_UPDATE, 5, &key, 0)),
            &maps,
            false,
        );
        assert_eq!(
            run_redirect(&p, &maps).0.map(|r| r as i64),
            Ok(want),
            "index {idx}"
        );
    }
    assert!(m.redirect_target(&1u32.to_ne_bytes()).is_some());
}

#[test]
fn msg_apply_and_cork_bytes_answer_zero() {
    let maps = Maps::default();
    for helper in [id::MSG_APPLY_BYTES, id::MSG_CORK_BYTES] {
        let src = format!("r2 = 100\n call {helper}\n exit");
        for out in both(&src, &maps) {
            assert_eq!(out.0, Ok(0));
        }
    }
}

#[test]
fn copy_from_user_checked() {
    let mut src = *b"user bytes here!";
    let mut dst = [0xaau8; 16];
    let mut env = RunEnv::new();
    let s = env.add_region(&mut src, RegionKind::Other);
    let d = env.add_region(&mut dst, RegionKind::Other);
    // SAFETY: both spans are regions of the run (checked mode).
    unsafe {
        assert_eq!(sock::copy_from_user(d, 16, s, 0, 0, &mut env), 0);
        assert_eq!(sock::copy_from_user(d, 0, 0x10, 0, 0, &mut env), 0);
        // An unreadable source: the destination is zeroed.
        assert_eq!(
            sock::copy_from_user(d, 8, 0x10, 0, 0, &mut env) as i64,
            EFAULT
        );
    }
    drop(env);
    assert_eq!(&dst[..8], &[0; 8]);
    assert_eq!(&dst[8..], b"es here!");
}

#[test]
fn copy_from_user_unchecked_reads_host_memory() {
    let user = Box::new(*b"0123456789abcdef");
    let addr = std::ptr::from_ref(&*user).expose_provenance() as u64;
    let prog = |src: u64| {
        format!(
            "r1 = r10\n r1 += -16\n r2 = 16\n r3 = {src} ll\n call {}\n r6 = r0\n r0 = *(u64 *)(r10 - 8)\n if r6 == 0 goto out\n r0 = r6\n out:\n exit",
            id::COPY_FROM_USER
        )
    };
    let maps = Maps::default();
    let ok = prepare(&asm(&prog(addr)), &maps, true);
    assert_eq!(
        run_redirect(&ok, &maps).0,
        Ok(u64::from_le_bytes(*b"89abcdef"))
    );
    let bad = prepare(&asm(&prog(0x10)), &maps, true);
    assert_eq!(run_redirect(&bad, &maps).0.map(|r| r as i64), Ok(EFAULT));
    drop(user);
}

/// A syscall program: `copy_from_user(stack, len, ptr)` with `ptr` and `len`
/// from the context (`u64 ptr; u32 len; s32 ret; u8 copied[16]`), the
/// answer and the 16 stack bytes written back to the context.
const COPY_PROG: &str = "
    r6 = r1
    r1 = 0
    *(u64 *)(r10 - 16) = r1
    *(u64 *)(r10 - 8) = r1
    r2 = *(u32 *)(r6 + 8)
    if r2 > 16 goto out
    r3 = *(u64 *)(r6 + 0)
    r1 = r10
    r1 += -16
    call 148
    *(u32 *)(r6 + 12) = r0
    r1 = *(u64 *)(r10 - 16)
    *(u64 *)(r6 + 16) = r1
    r1 = *(u64 *)(r10 - 8)
    *(u64 *)(r6 + 24) = r1
out:
    r0 = 0
    exit
";

fn copy_ctx(ptr: u64, len: u32) -> [u8; 32] {
    let mut c = [0xeeu8; 32];
    c[..8].copy_from_slice(&ptr.to_ne_bytes());
    c[8..12].copy_from_slice(&len.to_ne_bytes());
    c
}

/// Ours: the program on `ctx` in an unchecked (verified) run.
fn our_copy(prog: &Program, mut ctx: [u8; 32]) -> [u8; 32] {
    let mut host = HelperHost::new(Vec::new());
    let mut env = RunEnv::new();
    let addr = env.add_region(&mut ctx, RegionKind::Context);
    env.set_host(&mut host);
    let r0 = Machine::new().run(prog, &mut env, &[addr]);
    drop(env);
    assert_eq!(r0, Ok(0));
    ctx
}

#[test]
fn copy_from_user_matches_linux() {
    let user = Box::new(*b"0123456789abcdef");
    let addr = std::ptr::from_ref(&*user).expose_provenance() as u64;
    let cases = [
        (addr, 16),
        (addr, 5),
        (addr + 3, 13),
        (addr, 0),
        (0x10, 8),
        (0, 16),
    ];
    let raw = asm(COPY_PROG);
    let prog = prepare(&raw, &Maps::default(), true);
    let ours: Vec<[u8; 32]> = cases
        .iter()
        .map(|&(p, n)| our_copy(&prog, copy_ctx(p, n)))
        .collect();
    // What the kernel answers, read as source: 0 and the bytes; -EFAULT and
    // zeroes for an unmapped source.
    assert_eq!(&ours[0][16..], b"0123456789abcdef");
    assert_eq!(&ours[1][16..21], b"01234");
    assert_eq!(&ours[1][21..], &[0; 11]);
    assert_eq!(i32::from_ne_bytes(ours[4][12..16].try_into().unwrap()), -14);
    assert_eq!(&ours[4][16..], &[0; 16]);
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let kp = match k.load_prog(
        &testkit::kernel::ProgLoad::new(uapi::ProgType::Syscall, &raw)
            .license("GPL")
            .prog_flags(1 << 4), // BPF_F_SLEEPABLE
    ) {
        Ok(p) => p,
        Err(e) => panic!("kernel load: {e}"),
    };
    for (&(p, n), ours) in cases.iter().zip(&ours) {
        let ctx = copy_ctx(p, n);
        let out = kp
            .test_run(&testkit::kernel::TestRun {
                ctx_in: &ctx,
                ..Default::default()
            })
            .expect("kernel test run");
        assert_eq!(out.retval, 0);
        assert_eq!(&out.ctx_out[..], &ours[..], "ptr {p:#x} len {n}");
    }
    eprintln!(
        "copy_from_user: {} cases agree with the kernel",
        cases.len()
    );
    drop(user);
}

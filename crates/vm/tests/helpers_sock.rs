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
type SockOutcome = (Result<u64, VmError>, Option<(u32, u64)>);

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
    m.sock_update(&1u32.to_ne_bytes(), 0x1234, 0)
        .expect("store");
    let maps = Maps(vec![(7, m)]);
    for helper in [id::SK_REDIRECT_MAP, id::MSG_REDIRECT_MAP] {
        let prog = |key: u32, flags: u64| {
            format!("ld_pseudo r2, 1, 7\n r3 = {key}\n r4 = {flags} ll\n call {helper}\n exit")
        };
        for out in both(&prog(1, 1), &maps) {
            assert_eq!(out.0, Ok(sock::SK_PASS));
            assert_eq!(out.1, Some((0x1234, 1)));
        }
        for out in both(&prog(1, 0), &maps) {
            assert_eq!(out.0, Ok(sock::SK_PASS));
            assert_eq!(out.1, Some((0x1234, 0)));
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

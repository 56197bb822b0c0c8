//! Redirect, socket, cgroup and stack-trace maps against Linux (through
//! testkit's bpf(2) oracle): creation rules, random operation sequences with
//! every errno and value compared, and stack ids from a real
//! `bpf_get_stackid`. Skipped where bpf(2) is not permitted.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use isa::RawInsn;
use oxbpf_maps::{Map, MapError, MapOptions, MapSpec};
use proptest::prelude::*;
use testkit::kernel::{MapCreate, ProgLoad, TestRun};
use testkit::{Kernel, KernelError};
use uapi::map::create_flags::*;
use uapi::map::update_flags::*;
use uapi::prog::ProgType;
use uapi::MapType as T;

fn ours_errno<V>(r: &Result<V, MapError>) -> i32 {
    r.as_ref().map_or_else(|e| e.errno(), |_| 0)
}

fn kernel_errno<V>(r: &Result<V, KernelError>) -> i32 {
    r.as_ref()
        .map_or_else(|e| e.errno().expect("a syscall error"), |_| 0)
}

/// The kernel's possible CPUs: cpumap keys beyond are `ENODEV`, so ours
/// gets as many workers.
fn possible_cpus() -> u32 {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap_or_default();
    let last = text
        .trim()
        .rsplit([',', '-'])
        .next()
        .and_then(|n| n.parse::<u32>().ok());
    last.map_or(1, |n| n + 1)
}

fn kernel_map(k: &Kernel, spec: &MapSpec) -> Result<testkit::kernel::Map, KernelError> {
    let mut req = MapCreate::new(
        spec.map_type,
        spec.key_size,
        spec.value_size,
        spec.max_entries,
    );
    req.map_flags = spec.flags;
    k.create_map(&req)
}

fn our_map(spec: &MapSpec) -> Result<Map, MapError> {
    Map::create(spec.clone(), &MapOptions::new(possible_cpus()))
}

#[test]
fn create_rules_agree_with_linux() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let s = MapSpec::new;
    let mut cases = Vec::new();
    for t in [T::Devmap, T::DevmapHash, T::Cpumap, T::Xskmap, T::Sockmap] {
        for (ks, vs, max) in [
            (4, 4, 4),
            (4, 8, 4),
            (4, 0, 4),
            (4, 12, 4),
            (8, 4, 4),
            (4, 4, 0),
        ] {
            cases.push(s(t, ks, vs, max));
        }
        for f in [
            BPF_F_RDONLY,
            BPF_F_WRONLY,
            BPF_F_RDONLY_PROG,
            BPF_F_NO_PREALLOC,
            BPF_F_ZERO_SEED,
            BPF_F_MMAPABLE,
            BPF_F_RDONLY | BPF_F_WRONLY,
        ] {
            cases.push(s(t, 4, 4, 4).with_flags(f));
        }
    }
    cases.push(s(T::DevmapHash, 4, 4, (1 << 31) + 1));
    cases.push(s(T::Cpumap, 4, 4, 256));
    for (ks, vs, max) in [
        (1, 8, 4),
        (0, 8, 4),
        (512, 8, 4),
        (513, 8, 4),
        (513, 12, 4),
        (4, 4, (1 << 27) + 1),
        (4, 4, 0),
    ] {
        cases.push(s(T::Sockhash, ks, vs, max));
    }
    cases.push(s(T::Sockhash, 4, 8, 4).with_flags(BPF_F_NO_PREALLOC));
    for (vs, flags) in [
        (8, 0),
        (0, 0),
        (4, 0),
        (12, 0),
        (127 * 8, 0),
        (128 * 8, 0),
        (32, BPF_F_STACK_BUILD_ID),
        (40, BPF_F_STACK_BUILD_ID),
        (32 * 127, BPF_F_STACK_BUILD_ID),
        (32 * 128, BPF_F_STACK_BUILD_ID),
        (8, BPF_F_NO_PREALLOC),
        (8, BPF_F_RDONLY),
        (8, BPF_F_ZERO_SEED),
    ] {
        cases.push(s(T::StackTrace, 4, vs, 4).with_flags(flags));
    }
    cases.push(s(T::StackTrace, 8, 8, 4));
    cases.push(s(T::StackTrace, 4, 8, 0));
    cases.push(s(T::StackTrace, 4, 8, (1 << 31) + 1));
    for (ks, vs, flags) in [(4, 4, 0), (4, 8, 0), (8, 4, 0), (4, 4, BPF_F_MMAPABLE)] {
        cases.push(s(T::CgroupArray, ks, vs, 4).with_flags(flags));
    }
    // Local storage: without BTF (testkit creates maps without it) the
    // kernel refuses every one, whatever the rest says.
    for t in [
        T::SkStorage,
        T::TaskStorage,
        T::InodeStorage,
        T::CgrpStorage,
    ] {
        cases.push(s(t, 4, 8, 0).with_flags(BPF_F_NO_PREALLOC));
        cases.push(s(t, 4, 8, 0));
        cases.push(s(t, 4, 8, 1).with_flags(BPF_F_NO_PREALLOC));
    }
    for spec in &cases {
        let a = kernel_errno(&kernel_map(&k, spec));
        let b = ours_errno(&our_map(spec));
        assert_eq!(a, b, "{spec:?}");
    }
    // With BTF ids, ours checks the rest as bpf_local_storage_map_alloc_check.
    let ls = |ks, vs, max, f| s(T::SkStorage, ks, vs, max).with_flags(f).with_btf(1, 2);
    for (spec, want) in [
        (ls(4, 8, 0, BPF_F_NO_PREALLOC), 0),
        (ls(4, 8, 0, BPF_F_NO_PREALLOC | BPF_F_CLONE), 0),
        (ls(4, 8, 0, 0), libc::EINVAL),
        (ls(4, 8, 1, BPF_F_NO_PREALLOC), libc::EINVAL),
        (ls(8, 8, 0, BPF_F_NO_PREALLOC), libc::EINVAL),
        (ls(4, 0, 0, BPF_F_NO_PREALLOC), libc::EINVAL),
        (ls(4, 8, 0, BPF_F_NO_PREALLOC | BPF_F_RDONLY), libc::EINVAL),
        (ls(4, 65407, 0, BPF_F_NO_PREALLOC), 0),
        (ls(4, 65408, 0, BPF_F_NO_PREALLOC), libc::E2BIG),
    ] {
        assert_eq!(ours_errno(&our_map(&spec)), want, "{spec:?}");
    }
    // Beyond the kernel's NR_CPUS the kernel says E2BIG; ours bounds
    // cpumaps by its own worker limit.
    assert_eq!(
        ours_errno(&our_map(&s(
            T::Cpumap,
            4,
            4,
            oxbpf_maps::CPUMAP_MAX_ENTRIES + 1
        ))),
        libc::E2BIG
    );
}

#[derive(Debug, Clone)]
enum Op {
    Update(u32, u64, u64),
    Delete(u32),
    Lookup(u32),
    LookupAndDelete(u32),
    NextKey(Option<u32>),
}

fn ops(keys: u32) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (0..keys, any::<u64>(), 0u64..4).prop_map(|(k, v, f)| Op::Update(k, v, f)),
        2 => (0..keys).prop_map(Op::Delete),
        2 => (0..keys).prop_map(Op::Lookup),
        1 => (0..keys).prop_map(Op::LookupAndDelete),
        1 => prop::option::of(0..keys).prop_map(Op::NextKey),
    ];
    prop::collection::vec(op, 1..50)
}

/// Writes one update on our side: (map, key, value seed, flags).
type OursUpdate<'a> = &'a dyn Fn(&Map, &[u8], u64, u64) -> Result<(), MapError>;

/// How the two sides are written: the kernel takes `kernel_value(seed)`;
/// ours takes the same through `Map::update`, or (sockets) a cookie.
struct Sides<'a> {
    kernel_value: &'a dyn Fn(u64) -> Vec<u8>,
    ours_update: OursUpdate<'a>,
    /// Hashed maps: compare key sets, skip `get_next_key` (order differs).
    hashed: bool,
}

fn run(km: &testkit::kernel::Map, om: &Map, ops: &[Op], s: &Sides) -> Result<(), TestCaseError> {
    for op in ops {
        match *op {
            Op::Update(k, v, f) => {
                let key = k.to_ne_bytes();
                let a = km.update(&key, &(s.kernel_value)(v), f);
                let b = (s.ours_update)(om, &key, v, f);
                prop_assert_eq!(kernel_errno(&a), ours_errno(&b), "{:?}", op);
            }
            Op::Delete(k) => {
                let key = k.to_ne_bytes();
                prop_assert_eq!(
                    kernel_errno(&km.delete(&key)),
                    ours_errno(&om.delete(&key)),
                    "{:?}",
                    op
                );
            }
            Op::Lookup(k) | Op::LookupAndDelete(k) => {
                let key = k.to_ne_bytes();
                let (a, b) = if matches!(op, Op::Lookup(_)) {
                    (km.lookup(&key), om.lookup(&key))
                } else {
                    (km.lookup_and_delete(&key), om.lookup_and_delete(&key, 0))
                };
                match (&a, &b) {
                    (Ok(Some(x)), Ok(y)) => prop_assert_eq!(x, y, "{:?}", op),
                    (Ok(None), Err(MapError::NotFound)) => {}
                    _ => prop_assert_eq!(kernel_errno(&a), ours_errno(&b), "{:?}", op),
                }
            }
            Op::NextKey(k) => {
                if s.hashed {
                    continue;
                }
                let key = k.map(u32::to_ne_bytes);
                let a = km.next_key(key.as_ref().map(|k| &k[..]));
                let b = om.get_next_key(key.as_ref().map(|k| &k[..]));
                match (&a, &b) {
                    (Ok(Some(x)), Ok(y)) => prop_assert_eq!(x, y, "{:?}", op),
                    (Ok(None), Err(MapError::NotFound)) => {}
                    _ => prop_assert_eq!(kernel_errno(&a), ours_errno(&b), "{:?}", op),
                }
            }
        }
    }
    let (mut ka, mut kb) = (
        km.keys().expect("kernel keys"),
        om.keys().expect("our keys"),
    );
    if s.hashed {
        ka.sort();
        kb.sort();
    }
    prop_assert_eq!(ka, kb);
    Ok(())
}

/// `{ first, second }` as 4 or 8 bytes.
fn words(first: u32, second: i32, size: u32) -> Vec<u8> {
    let mut v = first.to_ne_bytes().to_vec();
    if size == 8 {
        v.extend_from_slice(&second.to_ne_bytes());
    }
    v
}

fn plain_update(om: &Map, key: &[u8], value: Vec<u8>, f: u64) -> Result<(), MapError> {
    om.update(key, &value, f)
}

/// devmap/devmap_hash/cpumap with values the kernel accepts without real
/// programs: ifindex 0 or 1 (`lo`), qsize 0/1/512/16385, prog fd 0 or -1.
fn check_redirect(ty: T, value_size: u32, ops: &[Op]) -> Result<(), TestCaseError> {
    let Some(k) = testkit::require_kernel() else {
        return Ok(());
    };
    let spec = MapSpec::new(ty, 4, value_size, 4);
    let km = kernel_map(&k, &spec).expect("kernel map");
    let om = our_map(&spec).expect("our map");
    let value = move |seed: u64| {
        let first = if ty == T::Cpumap {
            [0, 1, 512, 16385][(seed & 3) as usize]
        } else {
            (seed & 1) as u32
        };
        let prog = if seed & 4 != 0 { -1 } else { 0 };
        words(first, prog, value_size)
    };
    let sides = Sides {
        kernel_value: &value,
        ours_update: &|om, key, v, f| plain_update(om, key, value(v), f),
        hashed: ty == T::DevmapHash,
    };
    run(&km, &om, ops, &sides)
}

/// A socket of `domain`/`ty`, closed on drop.
fn socket(domain: i32, ty: i32) -> OwnedFd {
    // SAFETY: socket(2) with constant arguments; the fd is checked.
    let fd: RawFd = unsafe { libc::socket(domain, ty, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh fd that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A UDP socket bound to 127.0.0.1 (Linux only lets hashed UDP sockets
/// into socket maps).
fn udp_socket() -> OwnedFd {
    let s = socket(libc::AF_INET, libc::SOCK_DGRAM);
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `addr` is a valid sockaddr_in of the size passed.
    let r = unsafe {
        libc::bind(
            s.as_raw_fd(),
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "bind: {}", std::io::Error::last_os_error());
    s
}

fn cookie(fd: &OwnedFd) -> u64 {
    let mut v = 0u64;
    let mut len = 8 as libc::socklen_t;
    // SAFETY: SO_COOKIE writes a u64 into `v`, whose size is `len`.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_COOKIE,
            (&mut v as *mut u64).cast(),
            &mut len,
        )
    };
    assert_eq!(r, 0, "SO_COOKIE: {}", std::io::Error::last_os_error());
    v
}

/// xskmap: the kernel holds real AF_XDP sockets; ours their fd numbers.
fn check_xsk(ops: &[Op]) -> Result<(), TestCaseError> {
    let Some(k) = testkit::require_kernel() else {
        return Ok(());
    };
    let socks = [
        socket(libc::AF_XDP, libc::SOCK_RAW),
        socket(libc::AF_XDP, libc::SOCK_RAW),
    ];
    let fds: Vec<u32> = socks.iter().map(|s| s.as_raw_fd() as u32).collect();
    let spec = MapSpec::new(T::Xskmap, 4, 4, 3);
    let km = kernel_map(&k, &spec).expect("kernel map");
    let om = our_map(&spec).expect("our map");
    let value = |seed: u64| fds[(seed & 1) as usize].to_ne_bytes().to_vec();
    let sides = Sides {
        kernel_value: &value,
        ours_update: &|om, key, v, f| plain_update(om, key, value(v), f),
        hashed: false,
    };
    run(&km, &om, ops, &sides)
}

/// sockmap/sockhash: the kernel is given bound UDP socket fds and answers their
/// cookies; ours is given the cookies (`Map::sock_update`), so lookups must
/// return the same numbers.
fn check_sock(ty: T, value_size: u32, ops: &[Op]) -> Result<(), TestCaseError> {
    let Some(k) = testkit::require_kernel() else {
        return Ok(());
    };
    let socks = [udp_socket(), udp_socket()];
    let cookies: Vec<u64> = socks.iter().map(cookie).collect();
    let spec = MapSpec::new(ty, 4, value_size, 3);
    let km = kernel_map(&k, &spec).expect("kernel map");
    let om = our_map(&spec).expect("our map");
    let value = |seed: u64| {
        let fd = socks[(seed & 1) as usize].as_raw_fd() as u32;
        words(fd, 0, value_size)
    };
    let sides = Sides {
        kernel_value: &value,
        ours_update: &|om, key, v, f| om.sock_update(key, cookies[(v & 1) as usize], f),
        hashed: ty == T::Sockhash,
    };
    run(&km, &om, ops, &sides)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn devmap_agrees_with_linux(ops in ops(6), big in any::<bool>()) {
        check_redirect(T::Devmap, if big { 8 } else { 4 }, &ops)?;
    }

    #[test]
    fn devmap_hash_agrees_with_linux(ops in ops(8), big in any::<bool>()) {
        check_redirect(T::DevmapHash, if big { 8 } else { 4 }, &ops)?;
    }

    #[test]
    fn cpumap_agrees_with_linux(ops in ops(6), big in any::<bool>()) {
        check_redirect(T::Cpumap, if big { 8 } else { 4 }, &ops)?;
    }

    #[test]
    fn xskmap_agrees_with_linux(ops in ops(4)) {
        check_xsk(&ops)?;
    }

    #[test]
    fn sockmap_and_sockhash_agree_with_linux(
        ops in ops(5),
        hash in any::<bool>(),
        big in any::<bool>(),
    ) {
        let ty = if hash { T::Sockhash } else { T::Sockmap };
        check_sock(ty, if big { 8 } else { 4 }, &ops)?;
    }
}

#[test]
fn socket_fd_values_follow_linux() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    for ty in [T::Sockmap, T::Sockhash] {
        let spec = MapSpec::new(ty, 4, 8, 2);
        let km = kernel_map(&k, &spec).unwrap();
        let om = our_map(&spec).unwrap();
        let key = 0u32.to_ne_bytes();
        // An fd above S32_MAX is EINVAL before anything else.
        let big = (1u64 << 31).to_ne_bytes();
        assert_eq!(
            kernel_errno(&km.update(&key, &big, BPF_ANY)),
            ours_errno(&om.update(&key, &big, BPF_ANY))
        );
        // A real socket fd is accepted by both.
        let s = udp_socket();
        let fd = (s.as_raw_fd() as u64).to_ne_bytes();
        km.update(&key, &fd, BPF_ANY).unwrap();
        om.update(&key, &fd, BPF_ANY).unwrap();
        assert_eq!(
            kernel_errno(&km.update(&key, &fd, BPF_NOEXIST)),
            ours_errno(&om.update(&key, &fd, BPF_NOEXIST))
        );
        // What the kernel answers is the cookie; ours the number it got.
        assert_eq!(km.lookup(&key).unwrap().unwrap(), cookie(&s).to_ne_bytes());
        assert_eq!(om.lookup(&key).unwrap(), fd);
    }
}

/// A cgroup_array slot: the kernel takes a cgroup fd, ours the number given;
/// the syscall side cannot read either back.
#[test]
fn cgroup_array_agrees_with_linux() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    let spec = MapSpec::new(T::CgroupArray, 4, 4, 2);
    let km = kernel_map(&k, &spec).unwrap();
    let om = our_map(&spec).unwrap();
    // The cgroup2 mount: /sys/fs/cgroup, or its `unified` part on hybrid
    // hierarchies.
    let dir = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .into_iter()
        .find(|d| std::path::Path::new(d).join("cgroup.controllers").exists())
        .expect("a cgroup2 mount");
    let cg = std::fs::File::open(dir).expect("cgroup2 mount");
    let fd = (cg.as_raw_fd() as u32).to_ne_bytes();
    let k0 = 0u32.to_ne_bytes();
    let k2 = 2u32.to_ne_bytes();
    let pairs = [
        (kernel_errno(&km.delete(&k0)), ours_errno(&om.delete(&k0))),
        (
            kernel_errno(&km.update(&k0, &fd, BPF_NOEXIST)),
            ours_errno(&om.update(&k0, &fd, BPF_NOEXIST)),
        ),
        (
            kernel_errno(&km.update(&k2, &fd, BPF_ANY)),
            ours_errno(&om.update(&k2, &fd, BPF_ANY)),
        ),
        (
            kernel_errno(&km.update(&k0, &fd, BPF_ANY)),
            ours_errno(&om.update(&k0, &fd, BPF_ANY)),
        ),
        (kernel_errno(&km.lookup(&k0)), ours_errno(&om.lookup(&k0))),
        (kernel_errno(&km.delete(&k2)), ours_errno(&om.delete(&k2))),
        (kernel_errno(&km.delete(&k0)), ours_errno(&om.delete(&k0))),
    ];
    for (i, (a, b)) in pairs.iter().enumerate() {
        assert_eq!(a, b, "step {i}");
    }
}

/// `r0 = bpf_get_stackid(ctx, map, flags)` as a raw tracepoint program.
fn stackid_prog(map_fd: RawFd, flags: i32) -> Vec<RawInsn> {
    vec![
        RawInsn::new(0xbf, 6, 1, 0, 0),      // r6 = r1
        RawInsn::new(0x18, 2, 1, 0, map_fd), // r2 = map (pseudo map fd)
        RawInsn::new(0, 0, 0, 0, 0),         //
        RawInsn::new(0xbf, 1, 6, 0, 0),      // r1 = r6
        RawInsn::new(0xb7, 3, 0, 0, flags),  // r3 = flags
        RawInsn::new(0x85, 0, 0, 0, 27),     // call bpf_get_stackid
        RawInsn::new(0x95, 0, 0, 0, 0),      // exit
    ]
}

/// A stack that the kernel stored with `bpf_get_stackid` gets the same id
/// and reads back the same from ours (the ids are `jhash2 & mask`, as in
/// the kernel); syscall operations on the stack map agree.
#[test]
fn stack_ids_and_syscall_ops_agree_with_linux() {
    let Some(k) = testkit::require_kernel() else {
        return;
    };
    for (max, flags) in [(64, 0), (1, 0), (4, BPF_F_STACK_BUILD_ID)] {
        let vs = if flags == 0 { 127 * 8 } else { 16 * 32 };
        let spec = MapSpec::new(T::StackTrace, 4, vs, max).with_flags(flags);
        let km = kernel_map(&k, &spec).unwrap();
        let om = our_map(&spec).unwrap();
        let insns = stackid_prog(km.fd().as_raw_fd(), 0);
        let prog = k
            .load_prog(&ProgLoad::new(ProgType::RawTracepoint, &insns).license("GPL"))
            .expect("raw_tp program with bpf_get_stackid");
        let run = || prog.test_run(&TestRun::default()).expect("test run").retval as i32;
        let id = run();
        assert!(id >= 0, "bpf_get_stackid failed: {id}");
        assert_eq!(run(), id, "the same stack gets the same id");
        let key = (id as u32).to_ne_bytes();
        let stored = km.lookup(&key).unwrap().expect("the stack is stored");
        // The frames: addresses, or (build id) 32-byte records whose last
        // 8 bytes are the address — kernel frames always fall back to
        // addresses (status BPF_STACK_BUILD_ID_IP), as ours always do.
        let frame = if flags == 0 { 8 } else { 32 };
        let ips: Vec<u64> = stored
            .chunks(frame)
            .map(|c| u64::from_ne_bytes(c[frame - 8..].try_into().unwrap()))
            .take_while(|&ip| ip != 0)
            .collect();
        assert!(!ips.is_empty());
        if flags != 0 {
            assert_eq!(&stored[..4], &2i32.to_ne_bytes());
        }
        assert_eq!(om.stack_store(&ips, 0).unwrap(), id as u32, "stack id");
        assert_eq!(om.lookup(&key).unwrap(), stored);
        if max == 1 {
            // With one bucket every stack collides: a different one needs
            // BPF_F_REUSE_STACKID.
            assert_eq!(ours_errno(&om.stack_store(&[1, 2, 3], 0)), libc::EEXIST);
        }
        // Syscall side: get_next_key, update, delete, lookup-and-delete.
        let a: Vec<i32> = vec![
            kernel_errno(&km.update(&key, &vec![0; vs as usize], 0)),
            kernel_errno(&km.lookup_and_delete(&key)),
            kernel_errno(&km.delete(&(max.next_power_of_two()).to_ne_bytes())),
        ];
        let b: Vec<i32> = vec![
            ours_errno(&om.update(&key, &vec![0; vs as usize], 0)),
            ours_errno(&om.lookup_and_delete(&key, 0)),
            ours_errno(&om.delete(&(max.next_power_of_two()).to_ne_bytes())),
        ];
        assert_eq!(a, b);
        // lookup_and_delete took the stack out of both; store it again.
        assert_eq!(run(), id);
        assert_eq!(om.stack_store(&ips, 0).unwrap(), id as u32);
        {
            assert_eq!(km.keys().unwrap(), om.keys().unwrap());
            assert_eq!(kernel_errno(&km.delete(&key)), ours_errno(&om.delete(&key)));
            assert_eq!(kernel_errno(&km.delete(&key)), ours_errno(&om.delete(&key)));
            assert_eq!(
                km.next_key(Some(&key)).unwrap(),
                om.get_next_key(Some(&key)).ok()
            );
        }
    }
}

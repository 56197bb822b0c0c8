//! The kernel oracle against the real kernel: every command, its errno
//! mapping, logs and info. Skips (visibly) where bpf(2) is not permitted.

use isa::{Insn, Operand, RawInsn, Reg, Size};
use oxbpf_testkit::kernel::{LogLevel, MapCreate, ProgLoad, TestRun};
use oxbpf_testkit::{require_kernel, KernelError};
use uapi::map::{create_flags, update_flags};
use uapi::{MapType, ProgType};

fn raw(insns: &[Insn]) -> Vec<RawInsn> {
    isa::encode_program(insns)
}

fn ret(v: i32) -> Vec<RawInsn> {
    raw(&[Insn::mov64_imm(Reg::R0, v), Insn::Exit])
}

#[test]
fn xdp_returns_its_r0_on_a_64_byte_packet() {
    let Some(k) = require_kernel() else { return };
    let insns = ret(2);
    let prog = k
        .load_prog(&ProgLoad::new(ProgType::Xdp, &insns).name("xdp_pass"))
        .unwrap();
    let packet: Vec<u8> = (0..64).collect();
    let out = prog.test_run(&TestRun::with_data(&packet)).unwrap();
    assert_eq!(out.retval, 2);
    assert_eq!(out.data_out, packet);
    // Stats come with the default log level.
    assert_eq!(prog.log().processed_insns, Some(2));
    assert!(
        prog.log().verification_time_usec.is_some(),
        "{}",
        prog.log()
    );

    let info = prog.info().unwrap();
    assert_eq!(info.prog_type, Some(ProgType::Xdp));
    assert_eq!(info.name, "xdp_pass");
    assert!(info.gpl_compatible);
    assert_eq!(info.xlated_prog_len, 16);
    assert_eq!(info.verified_insns, 2);
    assert_ne!(info.tag, [0; 8]);
    assert_eq!(prog.xlated_insns().unwrap(), insns);
    let jited = prog.jited_insns().unwrap();
    assert_eq!(jited.len() as u32, info.jited_prog_len);
    assert!(!jited.is_empty(), "bpf_jit_enable is on here");
}

#[test]
fn repeat_runs_report_duration_and_small_buffers_enospc() {
    let Some(k) = require_kernel() else { return };
    // r0 = 1000; loop: r0 -= 1; if r0 != 0 goto loop; r0 = 1; exit
    let insns = raw(&[
        Insn::mov64_imm(Reg::R0, 1000),
        Insn::Alu {
            width: isa::Width::W64,
            op: isa::AluOp::Sub,
            dst: Reg::R0,
            src: Operand::Imm(1),
        },
        Insn::Jump {
            width: isa::Width::W64,
            cond: isa::JmpCond::Ne,
            dst: Reg::R0,
            src: Operand::Imm(0),
            off: -2,
        },
        Insn::mov64_imm(Reg::R0, 1),
        Insn::Exit,
    ]);
    let prog = k.load_prog(&ProgLoad::new(ProgType::Xdp, &insns)).unwrap();
    // The verifier walks all 1000 iterations.
    assert!(
        prog.log().processed_insns.is_some_and(|n| n > 2000),
        "{}",
        prog.log()
    );
    let packet = [0u8; 64];
    let run = TestRun {
        repeat: 10,
        ..TestRun::with_data(&packet)
    };
    let out = prog.test_run(&run).unwrap();
    assert_eq!(out.retval, 1);
    assert!(out.duration_ns > 0, "1000 iterations take time");
    let small = TestRun {
        data_out_capacity: Some(10),
        ..TestRun::with_data(&packet)
    };
    assert_eq!(
        prog.test_run(&small).unwrap_err().errno(),
        Some(libc::ENOSPC)
    );
}

#[test]
fn expected_attach_type_and_fd_array_reach_the_kernel() {
    let Some(k) = require_kernel() else { return };
    let insns = ret(1);
    let load = ProgLoad::new(ProgType::CgroupSockAddr, &insns);
    assert_eq!(k.load_prog(&load).unwrap_err().errno(), Some(libc::EINVAL));
    let load = load.expected_attach_type(uapi::AttachType::CgroupInet4Connect);
    k.load_prog(&load).unwrap();

    // r1 = map at fd_array[0]; r0 = 0; exit
    let map = k
        .create_map(&MapCreate::new(MapType::Array, 4, 4, 1))
        .unwrap();
    let insns = raw(&[
        Insn::LoadImm64 {
            dst: Reg::R1,
            imm: isa::LoadImm::MapIdx(0),
        },
        Insn::mov64_imm(Reg::R0, 0),
        Insn::Exit,
    ]);
    let fds = [map.fd()];
    let prog = k
        .load_prog(&ProgLoad::new(ProgType::Xdp, &insns).fd_array(&fds))
        .unwrap();
    assert_eq!(prog.info().unwrap().nr_map_ids, 1);
}

#[test]
fn func_info_and_line_info_are_accepted() {
    let Some(k) = require_kernel() else { return };
    let u32s = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    // strings: "\0int\0main\0a.c\0r0 = 0\0"
    let strings = b"\0int\0main\0a.c\0r0 = 0\0";
    let types = u32s(&[
        1,
        1 << 24,
        4,
        (1 << 24) | 32, // [1] INT int, signed 32
        0,
        13 << 24,
        1, // [2] FUNC_PROTO () -> int
        5,
        (12 << 24) | 1,
        2, // [3] FUNC main, global, type [2]
    ]);
    let btf = k.load_btf(&btf_blob(&types, strings), 0).unwrap();
    let func_info = u32s(&[0, 3]); // insn 0 is function [3]
    let line_info = u32s(&[0, 10, 14, (7 << 10) | 3]); // insn 0: a.c:7:3 "r0 = 0"
    let insns = ret(0);
    let load = ProgLoad::new(ProgType::Xdp, &insns).btf(oxbpf_testkit::kernel::ProgBtf {
        btf_fd: btf.fd(),
        func_info: &func_info,
        func_info_rec_size: 8,
        line_info: &line_info,
        line_info_rec_size: 16,
    });
    let prog = k.load_prog(&load).unwrap();
    assert_ne!(prog.info().unwrap().btf_id, 0);
    // A partial record is refused before the syscall.
    let bad = ProgLoad::new(ProgType::Xdp, &insns).btf(oxbpf_testkit::kernel::ProgBtf {
        btf_fd: btf.fd(),
        func_info: &func_info[..7],
        func_info_rec_size: 8,
        line_info: &[],
        line_info_rec_size: 16,
    });
    assert!(matches!(
        k.load_prog(&bad),
        Err(KernelError::InvalidRequest { .. })
    ));
}

#[test]
fn rejection_keeps_errno_and_log() {
    let Some(k) = require_kernel() else { return };
    let insns = raw(&[Insn::Exit]);
    let err = k
        .load_prog(&ProgLoad::new(ProgType::SocketFilter, &insns))
        .unwrap_err();
    assert_eq!(err.errno(), Some(libc::EACCES));
    let KernelError::ProgRejected { log, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(log.text.contains("R0 !read_ok"), "{log}");
    assert_eq!(log.processed_insns, Some(1));
    assert!(err.to_string().contains("R0 !read_ok"));
}

#[test]
fn verbose_log_grows_past_a_small_buffer() {
    let Some(k) = require_kernel() else { return };
    let mut insns = vec![Insn::mov64_imm(Reg::R0, 0)];
    for i in 0..200 {
        insns.push(Insn::Alu {
            width: isa::Width::W64,
            op: isa::AluOp::Add,
            dst: Reg::R0,
            src: Operand::Imm(i),
        });
    }
    insns.push(Insn::Exit);
    let insns = raw(&insns);
    let prog = k
        .load_prog(
            &ProgLoad::new(ProgType::SocketFilter, &insns)
                .log_level(LogLevel::STATES | LogLevel::STATS)
                .log_size(128),
        )
        .unwrap();
    let log = prog.log();
    assert!(
        log.text.contains("0: (b7) r0 = 0"),
        "{}",
        &log.text[..log.text.len().min(300)]
    );
    assert!(log.text.contains("200: (07) r0 += 199"), "{}", log.tail(5));
    assert_eq!(log.processed_insns, Some(202));
    assert!(log.verification_time_usec.is_some());
}

#[test]
fn bad_requests_are_refused_before_the_syscall() {
    let Some(k) = require_kernel() else { return };
    let insns = ret(0);
    let long = ProgLoad::new(ProgType::Xdp, &insns).name("a_name_of_16_chr");
    assert!(matches!(
        k.load_prog(&long),
        Err(KernelError::InvalidRequest { .. })
    ));
    // fd_array[3] referenced without an fd_array.
    let idx = raw(&[
        Insn::LoadImm64 {
            dst: Reg::R1,
            imm: isa::LoadImm::MapIdx(3),
        },
        Insn::mov64_imm(Reg::R0, 0),
        Insn::Exit,
    ]);
    let err = k
        .load_prog(&ProgLoad::new(ProgType::Xdp, &idx))
        .unwrap_err();
    assert!(err.to_string().contains("fd_array[3]"), "{err}");
    assert_eq!(err.errno(), None);
}

#[test]
fn syscall_program_writes_its_context() {
    let Some(k) = require_kernel() else { return };
    // *(u32 *)(r1 + 0) += 1; r0 = 7
    let insns = raw(&[
        Insn::Load {
            size: Size::W,
            signed: false,
            dst: Reg::R2,
            src: Reg::R1,
            off: 0,
        },
        Insn::Alu {
            width: isa::Width::W64,
            op: isa::AluOp::Add,
            dst: Reg::R2,
            src: Operand::Imm(1),
        },
        Insn::Store {
            size: Size::W,
            dst: Reg::R1,
            off: 0,
            src: Operand::Reg(Reg::R2),
        },
        Insn::mov64_imm(Reg::R0, 7),
        Insn::Exit,
    ]);
    // Syscall programs must be sleepable (BPF_F_SLEEPABLE).
    let prog = k
        .load_prog(&ProgLoad::new(ProgType::Syscall, &insns).prog_flags(1 << 4))
        .unwrap();
    let ctx = 41u32.to_le_bytes();
    let out = prog
        .test_run(&TestRun {
            ctx_in: &ctx,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(out.retval, 7);
    assert_eq!(out.ctx_out, 42u32.to_le_bytes());
    assert!(out.data_out.is_empty());
}

#[test]
fn hash_map_commands_and_errnos() {
    let Some(k) = require_kernel() else { return };
    let map = k
        .create_map(&MapCreate {
            name: "tk_hash",
            ..MapCreate::new(MapType::Hash, 4, 8, 4)
        })
        .unwrap();
    let key = |n: u32| n.to_le_bytes();
    let val = |n: u64| n.to_le_bytes();
    map.update(&key(1), &val(10), update_flags::BPF_NOEXIST)
        .unwrap();
    let e = map
        .update(&key(1), &val(11), update_flags::BPF_NOEXIST)
        .unwrap_err();
    assert_eq!(e.errno(), Some(libc::EEXIST));
    let e = map
        .update(&key(2), &val(20), update_flags::BPF_EXIST)
        .unwrap_err();
    assert_eq!(e.errno(), Some(libc::ENOENT));
    map.update(&key(2), &val(20), update_flags::BPF_ANY)
        .unwrap();
    assert_eq!(map.lookup(&key(1)).unwrap(), Some(val(10).to_vec()));
    assert_eq!(map.lookup(&key(9)).unwrap(), None);

    let mut keys = map.keys().unwrap();
    keys.sort();
    assert_eq!(keys, vec![key(1).to_vec(), key(2).to_vec()]);
    // A missing key restarts iteration from the first key.
    assert!(map.next_key(Some(&key(9))).unwrap().is_some());

    assert_eq!(
        map.lookup_and_delete(&key(2)).unwrap(),
        Some(val(20).to_vec())
    );
    assert_eq!(map.lookup(&key(2)).unwrap(), None);
    map.delete(&key(1)).unwrap();
    assert_eq!(map.delete(&key(1)).unwrap_err().errno(), Some(libc::ENOENT));
    assert_eq!(map.next_key(None).unwrap(), None);

    // Sizes are checked on our side: the kernel would read past the buffer.
    assert!(matches!(
        map.lookup(&[1, 2]),
        Err(KernelError::InvalidRequest { .. })
    ));
    assert!(matches!(
        map.update(&key(1), &[0; 4], 0),
        Err(KernelError::InvalidRequest { .. })
    ));

    // Full map.
    for i in 0..4 {
        map.update(&key(i), &val(i as u64), 0).unwrap();
    }
    assert_eq!(
        map.update(&key(7), &val(7), 0).unwrap_err().errno(),
        Some(libc::E2BIG)
    );

    let info = map.info().unwrap();
    assert_eq!(info.map_type, Some(MapType::Hash));
    assert_eq!(
        (info.key_size, info.value_size, info.max_entries),
        (4, 8, 4)
    );
    assert_eq!(info.name, "tk_hash");

    map.freeze().unwrap();
    assert_eq!(
        map.update(&key(1), &val(1), 0).unwrap_err().errno(),
        Some(libc::EPERM)
    );
}

#[test]
fn queue_bloom_percpu_and_map_in_map() {
    let Some(k) = require_kernel() else { return };
    let q = k
        .create_map(&MapCreate::new(MapType::Queue, 0, 4, 8))
        .unwrap();
    for v in [1u32, 2, 3] {
        q.update(&[], &v.to_le_bytes(), 0).unwrap();
    }
    assert_eq!(
        q.lookup(&[]).unwrap(),
        Some(1u32.to_le_bytes().to_vec()),
        "peek"
    );
    assert_eq!(
        q.lookup_and_delete(&[]).unwrap(),
        Some(1u32.to_le_bytes().to_vec())
    );
    assert_eq!(
        q.lookup_and_delete(&[]).unwrap(),
        Some(2u32.to_le_bytes().to_vec())
    );

    let bloom = k
        .create_map(&MapCreate {
            map_extra: 3,
            ..MapCreate::new(MapType::BloomFilter, 0, 8, 16)
        })
        .unwrap();
    assert_eq!(bloom.info().unwrap().map_extra, 3);

    let pc = k
        .create_map(&MapCreate::new(MapType::PercpuArray, 4, 4, 1))
        .unwrap();
    let n = pc.syscall_value_size();
    assert!(n >= 8 && n % 8 == 0);
    let v: Vec<u8> = (0..n as u8).collect();
    pc.update(&0u32.to_le_bytes(), &v, 0).unwrap();
    let got = pc.lookup(&0u32.to_le_bytes()).unwrap().unwrap();
    // One 8-byte slot per possible CPU, each kept whole.
    assert_eq!(got, v);

    let inner = k
        .create_map(&MapCreate::new(MapType::Array, 4, 4, 1))
        .unwrap();
    let outer = k
        .create_map(&MapCreate {
            inner_map_fd: Some(inner.fd()),
            map_flags: 0,
            ..MapCreate::new(MapType::ArrayOfMaps, 4, 4, 2)
        })
        .unwrap();
    use std::os::fd::AsRawFd;
    outer
        .update(
            &0u32.to_le_bytes(),
            &(inner.fd().as_raw_fd() as u32).to_le_bytes(),
            0,
        )
        .unwrap();
    let id = outer.lookup(&0u32.to_le_bytes()).unwrap().unwrap();
    assert_eq!(
        u32::from_le_bytes(id.try_into().unwrap()),
        inner.info().unwrap().id
    );

    let e = k
        .create_map(&MapCreate {
            map_flags: create_flags::BPF_F_NO_PREALLOC,
            ..MapCreate::new(MapType::Array, 4, 4, 1)
        })
        .unwrap_err();
    assert_eq!(e.errno(), Some(libc::EINVAL));
}

#[test]
fn pin_and_get_back() {
    let Some(k) = require_kernel() else { return };
    let dir = std::path::Path::new("/sys/fs/bpf");
    if !dir.is_dir() {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIPPED: no bpffs at /sys/fs/bpf");
        return;
    }
    let mpath = dir.join(format!("oxbpf_tk_map_{}", std::process::id()));
    let ppath = dir.join(format!("oxbpf_tk_prog_{}", std::process::id()));
    let map = k
        .create_map(&MapCreate::new(MapType::Array, 4, 8, 2))
        .unwrap();
    map.update(&1u32.to_le_bytes(), &77u64.to_le_bytes(), 0)
        .unwrap();
    map.pin(&mpath).unwrap();
    let insns = ret(3);
    let prog = k
        .load_prog(&ProgLoad::new(ProgType::Xdp, &insns).name("tk_pinned"))
        .unwrap();
    prog.pin(&ppath).unwrap();
    assert_eq!(map.pin(&mpath).unwrap_err().errno(), Some(libc::EEXIST));

    let again = k.map_from_pin(&mpath).unwrap();
    assert_eq!((again.key_size(), again.value_size()), (4, 8));
    assert_eq!(
        again.lookup(&1u32.to_le_bytes()).unwrap(),
        Some(77u64.to_le_bytes().to_vec())
    );
    let p2 = k.prog_from_pin(&ppath).unwrap();
    assert_eq!(p2.info().unwrap().name, "tk_pinned");
    assert_eq!(
        p2.test_run(&TestRun::with_data(&[0; 64])).unwrap().retval,
        3
    );

    std::fs::remove_file(&mpath).unwrap();
    std::fs::remove_file(&ppath).unwrap();
    assert_eq!(
        k.obj_get(&mpath, 0).unwrap_err().errno(),
        Some(libc::ENOENT)
    );
}

/// A raw BTF blob: the 24-byte header, `types`, then `strings`.
fn btf_blob(types: &[u8], strings: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0xeb9fu16.to_le_bytes()); // magic
    b.extend_from_slice(&[1, 0]); // version, flags
    b.extend_from_slice(&24u32.to_le_bytes()); // hdr_len
    b.extend_from_slice(&0u32.to_le_bytes()); // type_off
    b.extend_from_slice(&(types.len() as u32).to_le_bytes());
    b.extend_from_slice(&(types.len() as u32).to_le_bytes()); // str_off
    b.extend_from_slice(&(strings.len() as u32).to_le_bytes());
    b.extend_from_slice(types);
    b.extend_from_slice(strings);
    b
}

#[test]
fn btf_load_accepts_an_int_and_explains_a_rejection() {
    let Some(k) = require_kernel() else { return };
    // [1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
    let mut int = Vec::new();
    int.extend_from_slice(&1u32.to_le_bytes()); // name_off
    int.extend_from_slice(&(1u32 << 24).to_le_bytes()); // kind INT, vlen 0
    int.extend_from_slice(&4u32.to_le_bytes()); // size
    int.extend_from_slice(&((1u32 << 24) | 32).to_le_bytes()); // SIGNED, 32 bits
    let strings = b"\0int\0";
    let btf = k.load_btf(&btf_blob(&int, strings), 1).unwrap();
    assert!(btf.log().contains("int"), "{}", btf.log());

    // nr_bits 33 for a 4-byte int.
    let mut bad = int.clone();
    bad[12..16].copy_from_slice(&((1u32 << 24) | 33).to_le_bytes());
    let err = k.load_btf(&btf_blob(&bad, strings), 0).unwrap_err();
    let KernelError::BtfRejected { errno, log } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*errno, libc::EINVAL);
    assert!(
        log.contains("nr_bits exceeds type_size") || log.contains("Invalid"),
        "{log}"
    );
}

#[test]
fn probe_is_cached_and_consistent() {
    let Some(_) = require_kernel() else { return };
    assert!(oxbpf_testkit::Kernel::probe().is_ok());
}

/// The skip path, for real: re-run this test binary as an unprivileged
/// user, where bpf(2) fails, and check that the child test skips visibly
/// and passes.
#[test]
fn unprivileged_child_skips_visibly() {
    const CHILD: &str = "OXBPF_TESTKIT_SKIP_CHILD";
    if std::env::var_os(CHILD).is_some() {
        assert!(
            require_kernel().is_none(),
            "child expected to be unprivileged"
        );
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return; // Can only drop privileges when we have them.
    }
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(&exe)
        .args([
            "--exact",
            "unprivileged_child_skips_visibly",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env_remove(oxbpf_testkit::kernel::REQUIRE_KERNEL_ENV)
        .uid(65534)
        .gid(65534)
        .output();
    let out = match out {
        Ok(o) => o,
        // The test binary may sit where `nobody` cannot reach it.
        Err(e) => {
            eprintln!("cannot run the child as nobody: {e}");
            return;
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("Permission denied") && !out.status.success() {
        eprintln!("cannot run the child as nobody: {stderr}");
        return;
    }
    assert!(
        out.status.success(),
        "child failed: {stderr}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains("SKIPPED: kernel bpf(2) not permitted: BPF_PROG_LOAD returned EPERM"),
        "{stderr}"
    );
}

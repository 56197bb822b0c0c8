//! Every read a `tp_btf` program could make through its BTF pointer
//! arguments — each offset of `struct task_struct` and `struct
//! linux_binprm` (and a little past them), each size — verified here and
//! loaded into the running kernel; the verdicts must agree. This checks
//! the struct walk (members, holes, bitfields, arrays, nested structs and
//! unions, pointer members) against the kernel's `btf_struct_walk` on the
//! kernel's own BTF.
//!
//! Needs `KERNEL_ORACLE=/path/to/kload` (built from `tools/kload.c`, run
//! as root) and `/sys/kernel/btf/vmlinux`; otherwise it says so and passes.

use isa::RawInsn;
use oxbpf_verifier::{verify, BtfInfo, Request};
use uapi::{AttachType, ProgType};

#[test]
fn btf_reads_agree_with_the_kernel() {
    let Ok(kload) = std::env::var("KERNEL_ORACLE") else {
        eprintln!("SKIPPED: KERNEL_ORACLE (tools/kload.c) not set");
        return;
    };
    let Some(vmlinux) = object::vmlinux_btf().ok().flatten() else {
        eprintln!("SKIPPED: no /sys/kernel/btf/vmlinux");
        return;
    };
    let Some(attach_btf_id) =
        oxbpf_verifier::attach_btf_id(vmlinux, AttachType::TraceRawTp, "sched_process_exec")
    else {
        eprintln!("SKIPPED: no sched_process_exec tracepoint");
        return;
    };
    let size_of = |name: &str| {
        let id = vmlinux
            .find_by_name(btf::Kind::Struct, name)
            .expect("struct");
        vmlinux.size_of(id).expect("size") as u32
    };
    // (argument offset in the context, struct it points to)
    let args = [(0u32, "task_struct"), (16, "linux_binprm")];
    let path = std::env::temp_dir().join(format!("oxbpf-btf-sweep-{}.bin", std::process::id()));
    let mut differ = Vec::new();
    let mut tried = 0;
    for (arg, sname) in args {
        let len = size_of(sname);
        for off in 0..len + 8 {
            for size in [1u32, 2, 4, 8] {
                let w = match size {
                    1 => "u8",
                    2 => "u16",
                    4 => "u32",
                    _ => "u64",
                };
                let text =
                    format!("r2 = *(u64 *)(r1 + {arg})\nr0 = *({w} *)(r2 + {off})\nr0 = 0\nexit\n");
                let insns = isa::asm::assemble(&text, isa::asm::Syntax::Llvm).expect("assemble");
                let mut req = Request::new(&insns, ProgType::Tracing);
                req.expected_attach_type = Some(AttachType::TraceRawTp);
                req.btf = Some(BtfInfo {
                    vmlinux,
                    attach_btf_id,
                });
                let ours = verify(&req);
                std::fs::write(&path, RawInsn::slice_to_bytes(&insns)).expect("write");
                let out = std::process::Command::new(&kload)
                    .arg(ProgType::Tracing.id().to_string())
                    .arg("1")
                    .arg(&path)
                    .env("KLOAD_ATTACH", AttachType::TraceRawTp.id().to_string())
                    .env("KLOAD_ATTACH_BTF_ID", attach_btf_id.to_string())
                    .output()
                    .expect("run kload");
                let text = String::from_utf8_lossy(&out.stdout);
                let theirs = text.contains("VERDICT accept");
                tried += 1;
                let agree = match &ours {
                    Ok(_) => theirs,
                    // Same verdict and the same message somewhere in the
                    // kernel's log.
                    Err(r) => !theirs && text.lines().any(|l| l == r.error_line()),
                };
                if !agree {
                    let kmsg = text.lines().rev().nth(2).unwrap_or("").to_string();
                    differ.push(format!(
                        "{sname} off={off} size={size}: kernel {} ({kmsg}), oxbpf {:?}",
                        if theirs { "accepts" } else { "rejects" },
                        ours.as_ref()
                            .map(|_| ())
                            .map_err(|r| r.error_line().to_string()),
                    ));
                }
            }
        }
    }
    let _ = std::fs::remove_file(&path);
    eprintln!(
        "btf sweep: {tried} reads, {} disagreements\n{}",
        differ.len(),
        differ
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(differ.is_empty());
}

/// Which iterator arguments may be null: for every iterator target, each
/// context argument is loaded and dereferenced without a null check, here
/// and in the kernel; the verdicts must agree.
#[test]
fn iterator_arguments_agree_with_the_kernel() {
    let Ok(kload) = std::env::var("KERNEL_ORACLE") else {
        eprintln!("SKIPPED: KERNEL_ORACLE (tools/kload.c) not set");
        return;
    };
    let Some(vmlinux) = object::vmlinux_btf().ok().flatten() else {
        eprintln!("SKIPPED: no /sys/kernel/btf/vmlinux");
        return;
    };
    let targets = [
        "bpf_link",
        "bpf_map",
        "bpf_map_elem",
        "bpf_prog",
        "bpf_sk_storage_map",
        "cgroup",
        "dmabuf",
        "ipv6_route",
        "kmem_cache",
        "ksym",
        "netlink",
        "sockmap",
        "task",
        "task_file",
        "task_vma",
        "tcp",
        "udp",
        "unix",
    ];
    let path = std::env::temp_dir().join(format!("oxbpf-iter-sweep-{}.bin", std::process::id()));
    let mut refused = Vec::new();
    let mut differ = Vec::new();
    let mut tried = 0;
    for target in targets {
        let Some(id) = oxbpf_verifier::attach_btf_id(vmlinux, AttachType::TraceIter, target) else {
            continue;
        };
        for arg in 0..4u32 {
            for check_null in [false, true] {
                let guard = if check_null {
                    "if r2 == 0 goto +1\n"
                } else {
                    ""
                };
                let text = format!(
                    "r2 = *(u64 *)(r1 + {})\n{guard}r0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit\n",
                    arg * 8
                );
                let insns = isa::asm::assemble(&text, isa::asm::Syntax::Llvm).expect("assemble");
                let mut req = Request::new(&insns, ProgType::Tracing);
                req.expected_attach_type = Some(AttachType::TraceIter);
                req.btf = Some(BtfInfo {
                    vmlinux,
                    attach_btf_id: id,
                });
                let ours = verify(&req).is_ok();
                std::fs::write(&path, RawInsn::slice_to_bytes(&insns)).expect("write");
                let out = std::process::Command::new(&kload)
                    .arg(ProgType::Tracing.id().to_string())
                    .arg("1")
                    .arg(&path)
                    .env("KLOAD_ATTACH", AttachType::TraceIter.id().to_string())
                    .env("KLOAD_ATTACH_BTF_ID", id.to_string())
                    .output()
                    .expect("run kload");
                let text = String::from_utf8_lossy(&out.stdout);
                if text.contains("VERDICT reject 1\n") && text.contains("processed 0 insns") {
                    // EPERM before verifying (map element iterators on
                    // this machine): not a verdict on the program.
                    refused.push(target);
                    continue;
                }
                let theirs = text.contains("VERDICT accept");
                tried += 1;
                if ours != theirs {
                    let kmsg = text.lines().rev().nth(2).unwrap_or("").to_string();
                    differ.push(format!(
                        "iter/{target} arg{arg} null check {check_null}: kernel {} ({kmsg}), oxbpf {}",
                        if theirs { "accepts" } else { "rejects" },
                        if ours { "accepts" } else { "rejects" },
                    ));
                }
            }
        }
    }
    let _ = std::fs::remove_file(&path);
    refused.dedup();
    eprintln!(
        "iterator sweep: {tried} programs, {} disagreements; targets the kernel refused to load: {refused:?}\n{}",
        differ.len(),
        differ.join("\n")
    );
    assert!(differ.is_empty());
}

/// Every read and write of a tracing program's argument array (a
/// tracepoint's and two iterators'), here and in the kernel: verdicts and
/// messages must agree.
#[test]
fn tracing_context_agrees_with_the_kernel() {
    let Ok(kload) = std::env::var("KERNEL_ORACLE") else {
        eprintln!("SKIPPED: KERNEL_ORACLE (tools/kload.c) not set");
        return;
    };
    let Some(vmlinux) = object::vmlinux_btf().ok().flatten() else {
        eprintln!("SKIPPED: no /sys/kernel/btf/vmlinux");
        return;
    };
    let targets = [
        (AttachType::TraceRawTp, "sched_process_exec"),
        (AttachType::TraceRawTp, "sched_switch"),
        (AttachType::TraceIter, "task"),
        (AttachType::TraceIter, "bpf_map"),
    ];
    let path = std::env::temp_dir().join(format!("oxbpf-tctx-sweep-{}.bin", std::process::id()));
    let mut differ = Vec::new();
    let mut tried = 0;
    for (attach, target) in targets {
        let Some(id) = oxbpf_verifier::attach_btf_id(vmlinux, attach, target) else {
            continue;
        };
        for off in 0..104u32 {
            for size in [1u32, 2, 4, 8] {
                for write in [false, true] {
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
                    let insns =
                        isa::asm::assemble(&text, isa::asm::Syntax::Llvm).expect("assemble");
                    let mut req = Request::new(&insns, ProgType::Tracing);
                    req.expected_attach_type = Some(attach);
                    req.btf = Some(BtfInfo {
                        vmlinux,
                        attach_btf_id: id,
                    });
                    let ours = verify(&req);
                    std::fs::write(&path, RawInsn::slice_to_bytes(&insns)).expect("write");
                    let out = std::process::Command::new(&kload)
                        .arg(ProgType::Tracing.id().to_string())
                        .arg("1")
                        .arg(&path)
                        .env("KLOAD_ATTACH", attach.id().to_string())
                        .env("KLOAD_ATTACH_BTF_ID", id.to_string())
                        .output()
                        .expect("run kload");
                    let text = String::from_utf8_lossy(&out.stdout);
                    let theirs = text.contains("VERDICT accept");
                    tried += 1;
                    let agree = match &ours {
                        Ok(_) => theirs,
                        Err(r) => !theirs && text.lines().any(|l| l == r.error_line()),
                    };
                    if !agree {
                        let kmsg = text.lines().rev().nth(2).unwrap_or("").to_string();
                        differ.push(format!(
                            "{target} {} off={off} size={size}: kernel {} ({kmsg}), oxbpf {:?}",
                            if write { "write" } else { "read" },
                            if theirs { "accepts" } else { "rejects" },
                            ours.as_ref()
                                .map(|_| ())
                                .map_err(|r| r.error_line().to_string()),
                        ));
                    }
                }
            }
        }
    }
    let _ = std::fs::remove_file(&path);
    eprintln!(
        "tracing context sweep: {tried} accesses, {} disagreements\n{}",
        differ.len(),
        differ
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(differ.is_empty());
}

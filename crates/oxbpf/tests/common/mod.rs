//! What the corpus tests share.

/// Objects the kernel accepts that oxbpf cannot load yet, each with why.
pub const KNOWN: &[(&str, &str)] = &[
    (
        "iter_task",
        "runtime: BTF-typed contexts are not passed to the verifier (loads through kernel pointers would need fault-free execution); vm: bpf_seq_printf",
    ),
    (
        "tp_btf_exec",
        "runtime: BTF-typed contexts are not passed to the verifier (loads through kernel pointers would need fault-free execution)",
    ),
    (
        "spinlock_timer",
        "vm: bpf_timer_* helpers (the verifier accepts it)",
    ),
    (
        "syscall_prog",
        "vm: bpf_sys_bpf, the bpf(2) commands of a syscall program (the verifier accepts it)",
    ),
    // The kernel gives up at its complexity limit; oxbpf's pruning proves
    // the program safe (see the verifier's corpus test).
    (
        "reject_complexity_crc32",
        "safe, accepted by oxbpf's stronger pruning",
    ),
];

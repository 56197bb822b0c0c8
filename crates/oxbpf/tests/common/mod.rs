//! What the corpus tests share.

/// Objects the kernel accepts that oxbpf cannot load yet, each with why.
pub const KNOWN: &[(&str, &str)] = &[
    (
        "iter_task",
        "runtime: loads through kernel pointers (BTF) need fault-free execution, not implemented (the verifier accepts it: `prog verify`); vm: bpf_seq_printf",
    ),
    (
        "tp_btf_exec",
        "runtime: loads through kernel pointers (BTF) need fault-free execution, not implemented (the verifier accepts it: `prog verify`)",
    ),
    (
        "spinlock_timer",
        "vm: bpf_timer_* helpers (the verifier accepts it)",
    ),
    (
        "syscall_prog",
        "vm: bpf_sys_bpf, the bpf(2) commands of a syscall program (the verifier accepts it)",
    ),
    // Linux here refuses fentry programs with EPERM (lockdown) before
    // verifying them; oxbpf's verifier accepts it (`prog verify`), and the
    // runtime cannot run its loads through kernel pointers yet.
    (
        "fentry_unlink",
        "kernel: EPERM under lockdown; runtime: loads through kernel pointers",
    ),
    // The kernel gives up at its complexity limit; oxbpf's pruning proves
    // the program safe (see the verifier's corpus test).
    (
        "reject_complexity_crc32",
        "safe, accepted by oxbpf's stronger pruning",
    ),
];

//! What the corpus tests share.

/// Objects the kernel accepts that oxbpf cannot load yet, each with why.
pub const KNOWN: &[(&str, &str)] = &[
    ("iter_task", "verifier: BTF-typed iterator contexts"),
    ("tp_btf_exec", "verifier: BTF-typed tp_btf contexts"),
    (
        "sk_skb_sockmap",
        "verifier: sk_skb/sk_msg/sock_ops contexts",
    ),
    ("spinlock_timer", "verifier and helpers: bpf_timer_*"),
    ("syscall_prog", "verifier and helpers: bpf_sys_bpf"),
    // The kernel gives up at its complexity limit; oxbpf's pruning proves
    // the program safe (see the verifier's corpus test).
    (
        "reject_complexity_crc32",
        "safe, accepted by oxbpf's stronger pruning",
    ),
];

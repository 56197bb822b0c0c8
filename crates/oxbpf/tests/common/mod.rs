//! What the corpus tests share.

/// Objects the kernel accepts that oxbpf cannot load yet, each with why.
pub const KNOWN: &[(&str, &str)] = &[
    (
        "iter_task",
        "runtime: Request::btf not passed yet; vm: bpf_seq_printf (the verifier accepts it with BTF)",
    ),
    (
        "tp_btf_exec",
        "runtime: Request::btf not passed yet, probe-mem loads (the verifier accepts it with BTF)",
    ),
    (
        "sk_skb_sockmap",
        "vm: sk_redirect_hash, msg_redirect_map, sock_hash_update helpers (the verifier accepts it)",
    ),
    (
        "spinlock_timer",
        "runtime: MapMeta::timer_off from BTF not passed yet; vm: bpf_timer_* (the verifier accepts it)",
    ),
    (
        "syscall_prog",
        "vm: bpf_copy_from_user, bpf_sys_bpf (the verifier accepts it)",
    ),
    // The kernel gives up at its complexity limit; oxbpf's pruning proves
    // the program safe (see the verifier's corpus test).
    (
        "reject_complexity_crc32",
        "safe, accepted by oxbpf's stronger pruning",
    ),
];

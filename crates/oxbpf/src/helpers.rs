//! The helpers a runtime starts with.

/// Every helper oxbpf implements, by kernel number: maps, ring buffers,
/// perf output, spin locks, tracing, strings, probes, time, the current
/// task, and the skb/xdp packet helpers.
pub(crate) fn standard() -> vm::HelperRegistry {
    let mut r = vm::helpers::standard_registry();
    vm::helpers::register_packet_helpers(&mut r);
    r
}

// SPDX-License-Identifier: MIT OR Apache-2.0
/* The types oxbpf ships for CO-RE relocations when no kernel BTF is used:
 * the program contexts and uapi structures of the program types oxbpf
 * runs, as <linux/bpf.h> and the networking headers define them.
 *
 * Regenerate contexts.btf after editing:
 *   clang-19 -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
 *     -c contexts.bpf.c -o /tmp/contexts.o
 *   llvm-objcopy-19 --dump-section .BTF=contexts.btf /tmp/contexts.o
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_vlan.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <linux/pkt_cls.h>

#define KEEP(T, n) T *oxbpf_keep_##n __attribute__((used))

KEEP(struct xdp_md, xdp_md);
KEEP(struct __sk_buff, sk_buff);
KEEP(struct bpf_sock, bpf_sock);
KEEP(struct bpf_sock_tuple, bpf_sock_tuple);
KEEP(struct bpf_sock_addr, bpf_sock_addr);
KEEP(struct bpf_sock_ops, bpf_sock_ops);
KEEP(struct sk_msg_md, sk_msg_md);
KEEP(struct sk_reuseport_md, sk_reuseport_md);
KEEP(struct bpf_sockopt, bpf_sockopt);
KEEP(struct bpf_sysctl, bpf_sysctl);
KEEP(struct bpf_cgroup_dev_ctx, bpf_cgroup_dev_ctx);
KEEP(struct bpf_sk_lookup, bpf_sk_lookup);
KEEP(struct bpf_flow_keys, bpf_flow_keys);
KEEP(struct bpf_raw_tracepoint_args, bpf_raw_tracepoint_args);
KEEP(struct bpf_devmap_val, bpf_devmap_val);
KEEP(struct bpf_cpumap_val, bpf_cpumap_val);
KEEP(struct bpf_tunnel_key, bpf_tunnel_key);
KEEP(struct bpf_xfrm_state, bpf_xfrm_state);
KEEP(struct bpf_fib_lookup, bpf_fib_lookup);
KEEP(struct bpf_spin_lock, bpf_spin_lock);
KEEP(struct bpf_timer, bpf_timer);
KEEP(struct bpf_pidns_info, bpf_pidns_info);
KEEP(struct bpf_tcp_sock, bpf_tcp_sock);
KEEP(struct ethhdr, ethhdr);
KEEP(struct vlan_hdr, vlan_hdr);
KEEP(struct iphdr, iphdr);
KEEP(struct ipv6hdr, ipv6hdr);
KEEP(struct tcphdr, tcphdr);
KEEP(struct udphdr, udphdr);
KEEP(struct icmp6hdr, icmp6hdr);
KEEP(enum xdp_action, xdp_action);
KEEP(enum bpf_map_type, bpf_map_type);
KEEP(enum bpf_prog_type, bpf_prog_type);
KEEP(enum bpf_attach_type, bpf_attach_type);
KEEP(enum bpf_func_id, bpf_func_id);

// SPDX-License-Identifier: GPL-2.0
/* Socket filter that copies DNS queries (UDP/53) out of the packet with
 * bpf_skb_load_bytes() and walks the QNAME labels with a bounded loop,
 * counting queries per top-level domain length and dropping names that are
 * suspiciously long (tunnelling heuristics).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define DNS_PORT 53
#define MAX_NAME 128
#define MAX_LABELS 16

struct dnshdr {
	__be16 id;
	__be16 flags;
	__be16 qdcount;
	__be16 ancount;
	__be16 nscount;
	__be16 arcount;
};

struct qname_buf {
	__u8 name[MAX_NAME];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct qname_buf);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_LABELS + 1);
	__type(key, __u32);
	__type(value, __u64);
} labels_hist SEC(".maps");

SEC("socket")
int dns_query_filter(struct __sk_buff *skb)
{
	struct iphdr iph;
	struct udphdr uh;
	struct dnshdr dns;
	struct qname_buf *buf;
	__u32 off, zero = 0, labels = 0, pos = 0;
	__u64 *slot;
	int i;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)))
		return 0;
	if (iph.protocol != IPPROTO_UDP)
		return 0;
	off = iph.ihl * 4;
	if (bpf_skb_load_bytes(skb, off, &uh, sizeof(uh)))
		return 0;
	if (uh.dest != bpf_htons(DNS_PORT))
		return 0;
	off += sizeof(uh);
	if (bpf_skb_load_bytes(skb, off, &dns, sizeof(dns)))
		return 0;
	if (dns.flags & bpf_htons(0x8000))	/* response */
		return 0;
	off += sizeof(dns);

	buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf)
		return 0;
	if (bpf_skb_load_bytes(skb, off, buf->name, MAX_NAME) < 0)
		return skb->len;	/* short packet: pass it on unparsed */

	for (i = 0; i < MAX_LABELS; i++) {
		__u8 len;

		if (pos >= MAX_NAME)
			return 0;	/* name longer than we accept */
		len = buf->name[pos];
		if (len == 0)
			break;
		if (len > 63)
			return 0;	/* compression pointer in a query: bogus */
		labels++;
		pos += len + 1;
	}
	if (i == MAX_LABELS)
		return 0;

	slot = bpf_map_lookup_elem(&labels_hist, &labels);
	if (slot)
		__sync_fetch_and_add(slot, 1);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";

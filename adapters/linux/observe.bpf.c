// What the kernel did, observed for steerspec-linux (which loads this through its libbpf skeleton):
//  - record_syn, an SK_REUSEPORT program attached to the group: for each SYN, the hash the kernel
//    selects by (md->hash, inet_ehashfn of the 4-tuple) and the CPU it runs on; it returns SK_PASS
//    without selecting, so reuseport_select_sock goes on to the kernel's own hash path.
//  - dump_queues (queues.bpf.h): every listener's accept queue as the kernel holds it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include "queues.bpf.h"

struct syn_seen {
	__u32 hash;
	__u32 cpu;
	__u32 count; /* SYNs seen for this port (a retransmitted SYN counts again) */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u16);
	__type(value, struct syn_seen);
} syns SEC(".maps");

SEC("sk_reuseport")
int record_syn(struct sk_reuseport_md *md)
{
	struct tcphdr th;
	/* The skb's data starts at the TCP header on this path (tcp_v4_rcv / tcp_v6_rcv). */
	if (md->ip_protocol != IPPROTO_TCP || bpf_skb_load_bytes(md, 0, &th, sizeof th) < 0) return SK_PASS;
	__u16 port = bpf_ntohs(th.source);
	struct syn_seen seen = { .hash = md->hash, .cpu = bpf_get_smp_processor_id(), .count = 1 };
	struct syn_seen *old = bpf_map_lookup_elem(&syns, &port);
	if (old) seen.count = old->count + 1;
	bpf_map_update_elem(&syns, &port, &seen, BPF_ANY);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// What the kernel did, observed for steerspec-linux (which loads this through its libbpf skeleton):
//  - record_syn, an SK_REUSEPORT program attached to the group: for each SYN, the hash the kernel
//    selects by (md->hash, inet_ehashfn of the 4-tuple) and the CPU it runs on; it returns SK_PASS
//    without selecting, so reuseport_select_sock goes on to the kernel's own hash path.
//  - record_syn_or_move, the same attached as BPF_SK_REUSEPORT_SELECT_OR_MIGRATE (with tcp_migrate_req
//    on): the kernel also runs it when it re-steers a child of a closing listener (reuseport_migrate_sock:
//    md->sk the closing listener, md->migrating_sk the child or its request). It records which listener
//    (SO_MARK) the child left, and in what order, and returns SK_PASS without selecting: the kernel then
//    picks by hash (reuseport_select_sock_by_hash), as it does with no program.
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

/* A child (or its request, before the handshake's last ACK) re-steered because its listener closed. */
struct move_seen {
	__u32 from;    /* the closing listener's SO_MARK */
	__u32 request; /* 1: a request (TCP_NEW_SYN_RECV), re-steered when its ACK came; 0: a queued child */
	__u64 seq;     /* its place among every move recorded */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u16);
	__type(value, struct move_seen);
} moves SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} move_count SEC(".maps");

static __always_inline int observe(struct sk_reuseport_md *md)
{
	struct bpf_sock *migrating = md->migrating_sk;
	if (migrating) {
		struct bpf_sock *closing = md->sk;
		__u32 zero = 0;
		__u64 *count = bpf_map_lookup_elem(&move_count, &zero);
		if (!closing || !count) return SK_PASS;
		__u16 port = bpf_ntohs(migrating->dst_port);
		struct move_seen m = { .from = closing->mark, .request = migrating->state == BPF_TCP_NEW_SYN_RECV, .seq = __sync_fetch_and_add(count, 1) };
		bpf_map_update_elem(&moves, &port, &m, BPF_ANY);
		return SK_PASS;
	}
	struct tcphdr th;
	/* The skb's data starts at the TCP header on this path (tcp_v4_rcv / tcp_v6_rcv). */
	if (md->ip_protocol != IPPROTO_TCP || bpf_skb_load_bytes(md, 0, &th, sizeof th) < 0) return SK_PASS;
	/* Only SYNs: an ACK whose request was dropped is looked up again and meets a listener too. */
	if (!th.syn || th.ack) return SK_PASS;
	__u16 port = bpf_ntohs(th.source);
	struct syn_seen seen = { .hash = md->hash, .cpu = bpf_get_smp_processor_id(), .count = 1 };
	struct syn_seen *old = bpf_map_lookup_elem(&syns, &port);
	if (old) seen.count = old->count + 1;
	bpf_map_update_elem(&syns, &port, &seen, BPF_ANY);
	return SK_PASS;
}

SEC("sk_reuseport")
int record_syn(struct sk_reuseport_md *md)
{
	return observe(md);
}

SEC("sk_reuseport/migrate")
int record_syn_or_move(struct sk_reuseport_md *md)
{
	return observe(md);
}

char LICENSE[] SEC("license") = "GPL";

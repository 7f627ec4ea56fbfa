// What the kernel did, observed for steerspec-linux (which loads this through its libbpf skeleton):
//  - record_syn, an SK_REUSEPORT program attached to the group: for each SYN, the hash the kernel
//    selects by (md->hash, inet_ehashfn of the 4-tuple) and the CPU it runs on; it returns SK_PASS
//    without selecting, so reuseport_select_sock goes on to the kernel's own hash path.
//  - dump_queues, a TCP iterator (no kprobe or trampoline: this kernel has neither): every listener's
//    accept queue as the kernel holds it, oldest first, one "mark port" line per child, where mark is
//    the listener's SO_MARK (the helper sets id + 1) and port the child's remote port (the helper binds
//    every client port itself, so a port names a connection). It runs in the namespace it was created in.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#define TCP_LISTEN_STATE 10
#define MAX_QUEUE 2048

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

SEC("iter/tcp")
int dump_queues(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	if (!skc || skc->skc_state != TCP_LISTEN_STATE) return 0;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);
	if (!tp) return 0;
	__u32 mark = tp->inet_conn.icsk_inet.sk.sk_mark;
	if (!mark) return 0;
	/* Read without the queue's lock: the helper dumps only between its own commands. */
	struct request_sock *req = tp->inet_conn.icsk_accept_queue.rskq_accept_head;
	int i;
	for (i = 0; i < MAX_QUEUE && req; i++) {
		__u16 port = bpf_ntohs(BPF_CORE_READ(req, sk, __sk_common.skc_dport));
		BPF_SEQ_PRINTF(ctx->meta->seq, "%u %u\n", mark, port);
		req = BPF_CORE_READ(req, dl_next);
	}
	if (req) BPF_SEQ_PRINTF(ctx->meta->seq, "%u truncated\n", mark);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

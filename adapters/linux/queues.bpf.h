// The accept queues as the kernel holds them, for the kernel helpers (included by observe.bpf.c and
// reuserps.bpf.c): a TCP iterator (no kprobe or trampoline: not every kernel allows them) that prints,
// for every listener with an SO_MARK, one "mark port" line per child in its accept queue, oldest first.
// mark names the listener (the helpers set id + 1 or slot + 1), port the child's remote port (the helpers
// bind every client port themselves, so a port names a connection). It reads the namespace it is opened in.
#pragma once

#define TCP_LISTEN_STATE 10
#define MAX_QUEUE 2048

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


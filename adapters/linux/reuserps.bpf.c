// SO_REUSERPS (seed 000) on stock Linux: the data path, as an SK_REUSEPORT program attached with
// SO_ATTACH_REUSEPORT_EBPF to a plain SO_REUSEPORT group (BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, so it also
// re-steers the queued connections of a closing listener). The control plane (steerspec-reuserps-bpf.c)
// owns the group's membership and checks; it publishes what this program reads:
//   socks        the listeners (REUSEPORT_SOCKARRAY), by slot
//   tables       per CPU, the slots of its table in order; double-buffered (tables[buf * MAX_CPUS + cpu]),
//                `table_active[cpu]` says which buffer is live: a change is written aside and flipped
//   groups       the group order (registration order; plain removal swaps the last in), double-buffered
//   limits       per slot, 0 for none
//   loads        per slot, connections assigned and not yet gone: this program takes one with a
//                compare-and-swap under the limit; the control plane gives it back (it mmaps the array)
//   cursors      per CPU, the round-robin position; only SYNs processed on that CPU move it
//   conf         mode (plain / reuserps), policy, fallback
// and records for each client port what it decided (`arrivals`, `moves`) so the control plane can report
// it and check it against the accept queues (queues.bpf.h). SK_DROP refuses: the client gets a RST.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include "queues.bpf.h"
#include "reuserps-maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, MAX_MEMBERS);
	__type(key, __u32);
	__type(value, __u64);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * MAX_CPUS);
	__type(key, __u32);
	__type(value, struct rps_table);
} tables SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CPUS);
	__type(key, __u32);
	__type(value, __u32);
} table_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct rps_group);
} groups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_MEMBERS);
	__type(key, __u32);
	__type(value, __u32);
} limits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_MEMBERS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64); /* an array's elements are 8-byte aligned: the mmapped view is an array of __u64 */
} loads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CPUS);
	__type(key, __u32);
	__type(value, __u32);
} cursors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rps_conf);
} conf SEC(".maps");

/* Per client port: the hash the oracle gave (when it gave one), what a SYN got, what a migration got. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u16);
	__type(value, __u32);
} hashes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u16);
	__type(value, struct rps_decision);
} arrivals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u16);
	__type(value, struct rps_decision);
} moves SEC(".maps");

/* How many migrations the program made: orders `moves` as the kernel took the closing queue. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} move_count SEC(".maps");

/* reciprocal_scale(hash, n): the index Linux's own hash path takes. */
static __always_inline __u32 scaled(__u32 hash, __u32 n)
{
	return (__u32)(((__u64)hash * n) >> 32);
}

static __always_inline int eligible(__u32 slot)
{
	__u32 *limit = bpf_map_lookup_elem(&limits, &slot);
	__u64 *load = bpf_map_lookup_elem(&loads, &slot);
	if (!limit || !load) return 0;
	return *limit == 0 || *(volatile __u64 *)load < *limit;
}

/* Takes one connection for `slot` if it stays within its limit: a load never exceeds a limit, however
 * many CPUs race for the last place (the compare-and-swap decides; a loser looks for another listener). */
static __always_inline int take(__u32 slot)
{
	__u32 *limit = bpf_map_lookup_elem(&limits, &slot);
	__u64 *load = bpf_map_lookup_elem(&loads, &slot);
	if (!limit || !load) return 0;
	for (int i = 0; i < 4; i++) {
		__u64 old = *(volatile __u64 *)load;
		if (*limit && old >= *limit) return 0;
		if (__sync_val_compare_and_swap(load, old, old + 1) == old) return 1;
	}
	return 0;
}

static __always_inline void give_back(__u32 slot)
{
	__u64 *load = bpf_map_lookup_elem(&loads, &slot);
	if (load) __sync_fetch_and_add(load, -1);
}

/* The loops run through bpf_loop: unrolled, the verifier would walk every path of every iteration. */
struct table_walk {
	__u32 key, len, start, top_down;
	__u32 found, at, slot;
};

static long table_step(__u32 j, struct table_walk *w)
{
	struct rps_table *t = bpf_map_lookup_elem(&tables, &w->key);
	if (!t) return 1;
	__u32 at = w->start + j;
	if (at >= w->len) at -= w->len;
	__u32 slot = t->slot[at & (MAX_SLOTS - 1)];
	if (!take(slot)) return 0;
	w->found = 1;
	w->at = at;
	w->slot = slot;
	return 1;
}

/* Rule 5: the table of `cpu`, round-robin from its cursor or top-down; 1 and *slot when one took it. */
static __always_inline int from_table(const struct rps_conf *c, __u32 cpu, __u32 *slot)
{
	__u32 *active = bpf_map_lookup_elem(&table_active, &cpu), *cursor = bpf_map_lookup_elem(&cursors, &cpu);
	if (!active || !cursor) return 0;
	struct table_walk w = { .key = (*active & 1) * MAX_CPUS + cpu, .top_down = c->top_down };
	struct rps_table *t = bpf_map_lookup_elem(&tables, &w.key);
	if (!t) return 0;
	w.len = t->len;
	if (w.len == 0 || w.len > MAX_SLOTS) return 0;
	w.start = c->top_down ? 0 : *cursor % w.len;
	bpf_loop(w.len, table_step, &w, 0);
	if (!w.found) return 0;
	/* Just past it; past the last one, back to 0 (the reading `wrap`). */
	if (!c->top_down) *cursor = w.at + 1 < w.len ? w.at + 1 : 0;
	*slot = w.slot;
	return 1;
}

struct group_walk {
	__u32 buf, want, seen, slot, found;
};

static long count_step(__u32 i, struct group_walk *w)
{
	struct rps_group *g = bpf_map_lookup_elem(&groups, &w->buf);
	if (!g) return 1;
	w->seen += eligible(g->slot[i & (MAX_MEMBERS - 1)]);
	return 0;
}

static long find_step(__u32 i, struct group_walk *w)
{
	struct rps_group *g = bpf_map_lookup_elem(&groups, &w->buf);
	if (!g) return 1;
	__u32 slot = g->slot[i & (MAX_MEMBERS - 1)];
	if (!eligible(slot) || w->seen++ != w->want) return 0;
	w->slot = slot;
	w->found = 1;
	return 1;
}

/* Rules 3 and 5's fallback: among the group's members (all, or the eligible ones) at reciprocal_scale. */
static __always_inline int by_hash(const struct rps_conf *c, __u32 hash, int only_eligible, __u32 *slot)
{
	struct group_walk w = { .buf = c->group_buf & 1 };
	struct rps_group *g = bpf_map_lookup_elem(&groups, &w.buf);
	if (!g) return 0;
	__u32 n = g->n;
	if (n == 0 || n > MAX_MEMBERS) return 0;
	if (!only_eligible) {
		*slot = g->slot[scaled(hash, n) & (MAX_MEMBERS - 1)];
		return take(*slot);
	}
	bpf_loop(n, count_step, &w, 0);
	if (w.seen == 0) return 0;
	w.want = scaled(hash, w.seen);
	w.seen = 0;
	bpf_loop(n, find_step, &w, 0);
	if (!w.found) return 0;
	*slot = w.slot;
	return take(*slot); /* lost the last place to another CPU: refused (docs/kernel.md) */
}

SEC("sk_reuseport/migrate")
int steer(struct sk_reuseport_md *md)
{
	__u32 zero = 0;
	/* Read the context once, here: clang may otherwise offset the ctx pointer, which the verifier refuses. */
	__u32 kernel_hash = md->hash;
	struct rps_conf *c = bpf_map_lookup_elem(&conf, &zero);
	if (!c) return SK_DROP;
	__u16 port;
	__u32 cpu;
	struct bpf_sock *migrating = md->migrating_sk;
	struct rps_decision d = {};
	if (migrating) {
		/* A child whose client already reset it (closed while queued): nothing to re-steer. */
		if (migrating->state == BPF_TCP_CLOSE) return SK_DROP;
		port = bpf_ntohs(migrating->dst_port);
		/* Rule 7: a new arrival on the CPU it first arrived on. */
		struct rps_decision *first = bpf_map_lookup_elem(&arrivals, &port);
		__u64 *count = bpf_map_lookup_elem(&move_count, &zero);
		struct bpf_sock *closing = md->sk;
		if (!first || !count || !closing) return SK_DROP;
		cpu = first->cpu;
		d.from = closing->mark;
		/* A request whose listener closed before the handshake's last ACK: its connect comes after the
		 * deregister, and this is its arrival. */
		d.request = migrating->state == BPF_TCP_NEW_SYN_RECV;
		d.seq = __sync_fetch_and_add(count, 1);
	} else {
		struct tcphdr th;
		if (bpf_skb_load_bytes(md, 0, &th, sizeof th) < 0) return SK_DROP;
		/* Only SYNs take a place: an ACK whose request was dropped is looked up again and meets the group
		 * too; the kernel's pick then answers it with a RST. */
		if (!th.syn || th.ack) return SK_PASS;
		port = bpf_ntohs(th.source);
		cpu = bpf_get_smp_processor_id();
	}
	__u32 *given = bpf_map_lookup_elem(&hashes, &port);
	d.hash = given ? *given : kernel_hash;
	d.cpu = cpu;
	__u32 slot = 0;
	int ok = 0;
	if (c->mode == RPS_PLAIN) ok = by_hash(c, d.hash, 0, &slot);
	else if (c->mode == RPS_REUSERPS && cpu < MAX_CPUS) {
		ok = from_table(c, cpu, &slot);
		d.local = ok;
		if (!ok && c->hash_fallback) ok = by_hash(c, d.hash, 1, &slot);
	}
	if (ok && bpf_sk_select_reuseport(md, &socks, &slot, 0) < 0) {
		give_back(slot);
		ok = 0;
		d.select_failed = 1;
	}
	d.slot = slot;
	d.refused = !ok;
	if (c->quiet) return ok ? SK_PASS : SK_DROP;
	if (migrating && !d.request) bpf_map_update_elem(&moves, &port, &d, BPF_ANY);
	else bpf_map_update_elem(&arrivals, &port, &d, BPF_ANY);
	return ok ? SK_PASS : SK_DROP;
}

char LICENSE[] SEC("license") = "GPL";

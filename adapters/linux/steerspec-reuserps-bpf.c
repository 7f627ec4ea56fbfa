/*
 * steerspec-reuserps-bpf: SO_REUSERPS (seed 000) on stock Linux, as a steerspec/1 adapter for the
 * reuserps scheme. The data path is reuserps.bpf.c, an SK_REUSEPORT program on a plain SO_REUSEPORT
 * group of real TCP listeners on 127.0.0.1, in a network namespace of its own; this is its control plane.
 *
 * The control plane owns what a SYN never needs: the mode and uid rules, bad-cpu, empty-mask, bad-limit,
 * table-full (checked before anything changes, so a refused register changes nothing), slots of the
 * socket array, and publishing tables and group order (written aside, then flipped: docs/kernel.md says
 * what that guarantees while SYNs arrive). The program owns the per-SYN rules: tables, round-robin and
 * top-down, limits (a compare-and-swap on the load), the refuse / hash fallback, and the re-steering of a
 * closing listener's queue. Loads are given back here on close (the loads array is mmapped).
 *
 * Outcomes are observed: the listener of a connect or a migration is the one whose accept queue holds
 * the child (queues.bpf.h's iterator), checked against what the program recorded; `local` is what the
 * program recorded; `inputs` carries the SYN's CPU, and the kernel's hash when the oracle gave none.
 * Build: sh adapters/linux/build.sh. `--probe` prints "ok" or why the kernel can't be used;
 * `--bench N R` measures R rounds of N connects with and without the program (bench/kernel.ts reads it).
 */
#define _GNU_SOURCE
#define LOG_NAME "steerspec-reuserps-bpf"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <math.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#define CLIENT_PORTS_FROM 45000
#include "steerspec-io.h"
#include "steerspec-kernel.h"
#include "reuserps-maps.h"
#include "reuserps.skel.h"

/* ------------------------------------------------------------------ state */

struct listener {
	int used;
	long id, uid, limit;
	uint32_t slot;
	int fd;
	int ncpus;
	int cpus[MAX_CPUS];
};

/* By slot. A slot is taken round-robin and keeps its last listener's id once it left, so a connect racing
 * a deregister can still answer with it (a slot is not taken again for MAX_MEMBERS registrations). */
static struct listener *listeners;
static uint32_t next_slot;

static int cfg_cpus, cfg_slots, cfg_top_down, cfg_hash_fallback;
static int group_mode; /* RPS_NONE, RPS_PLAIN, RPS_REUSERPS */
static int quiet_program; /* the bench only: the program records nothing */
static long group_owner;
static long members[MAX_MEMBERS]; /* slots in group order */
static int nmembers;
static long tables[MAX_CPUS][MAX_SLOTS]; /* slots, per CPU */
static int table_len[MAX_CPUS];
static uint32_t table_buf[MAX_CPUS], group_buf;

static uint16_t server_port = 40000;
static char kernel_unusable[256];
static struct reuserps *skel;
static volatile uint64_t *loads; /* the program's loads array, mmapped */
static size_t loads_size;

static struct listener *find_listener(long id)
{
	for (int i = 0; i < MAX_MEMBERS; i++)
		if (listeners[i].used && listeners[i].id == id) return &listeners[i];
	return NULL;
}

static struct listener *listener_by_mark(uint32_t mark)
{
	return mark == 0 || mark > MAX_MEMBERS || !listeners[mark - 1].used ? NULL : &listeners[mark - 1];
}

static long id_of_mark(uint32_t mark)
{
	struct listener *l = listener_by_mark(mark);
	return l ? l->id : -1;
}

static int map_fd(struct bpf_map *m) { return bpf_map__fd(m); }

/* ------------------------------------------------------------------ publishing to the program */

static void publish_conf(void)
{
	uint32_t zero = 0;
	struct rps_conf c = { .mode = (uint32_t)group_mode, .top_down = (uint32_t)cfg_top_down, .hash_fallback = (uint32_t)cfg_hash_fallback, .group_buf = group_buf, .quiet = (uint32_t)quiet_program };
	bpf_map_update_elem(map_fd(skel->maps.conf), &zero, &c, BPF_ANY);
}

/* The group order, written into the buffer not in use, then made live. */
static void publish_group(void)
{
	struct rps_group g = { .n = (uint32_t)nmembers };
	for (int i = 0; i < nmembers; i++) g.slot[i] = (uint32_t)members[i];
	uint32_t next = group_buf ^ 1;
	bpf_map_update_elem(map_fd(skel->maps.groups), &next, &g, BPF_ANY);
	group_buf = next;
	publish_conf();
}

/* One CPU's table, likewise; `cursor` >= 0 is written before the flip. */
static void publish_table(int cpu, long cursor)
{
	struct rps_table t = { .len = (uint32_t)table_len[cpu] };
	for (int i = 0; i < table_len[cpu]; i++) t.slot[i] = (uint32_t)tables[cpu][i];
	uint32_t next = table_buf[cpu] ^ 1, key = next * MAX_CPUS + (uint32_t)cpu, c = (uint32_t)cpu;
	bpf_map_update_elem(map_fd(skel->maps.tables), &key, &t, BPF_ANY);
	if (cursor >= 0) {
		uint32_t v = (uint32_t)cursor;
		bpf_map_update_elem(map_fd(skel->maps.cursors), &c, &v, BPF_ANY);
	}
	bpf_map_update_elem(map_fd(skel->maps.table_active), &c, &next, BPF_ANY);
	table_buf[cpu] = next;
}

static uint32_t cursor_of(int cpu)
{
	uint32_t c = (uint32_t)cpu, v = 0;
	bpf_map_lookup_elem(map_fd(skel->maps.cursors), &c, &v);
	return v;
}

static void clear_hash_map(int fd)
{
	uint16_t key, next;
	while (bpf_map_get_next_key(fd, NULL, &next) == 0) {
		key = next;
		bpf_map_delete_elem(fd, &key);
	}
}

/* Everything back to an empty group: no listener, no table, no connection, no record. */
static void reset_all(void)
{
	for (int i = 0; i < nconns; i++)
		if (conns[i].used) {
			abort_close(conns[i].child);
			abort_close(conns[i].client);
		}
	nconns = 0;
	for (int i = 0; i < MAX_MEMBERS; i++) {
		if (listeners[i].used) close(listeners[i].fd);
		memset(&listeners[i], 0, sizeof listeners[i]);
		uint32_t slot = (uint32_t)i, zero = 0;
		bpf_map_update_elem(map_fd(skel->maps.limits), &slot, &zero, BPF_ANY);
		__atomic_store_n(&loads[i], 0, __ATOMIC_SEQ_CST);
	}
	group_mode = RPS_NONE;
	nmembers = 0;
	next_slot = 0;
	for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
		table_len[cpu] = 0;
		publish_table(cpu, 0);
		publish_table(cpu, 0); /* both buffers empty */
	}
	publish_group();
	publish_group();
	clear_hash_map(map_fd(skel->maps.hashes));
	clear_hash_map(map_fd(skel->maps.arrivals));
	clear_hash_map(map_fd(skel->maps.moves));
}

/* ------------------------------------------------------------------ commands */

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void do_register(struct jv *cmd)
{
	long id, uid;
	struct jv *rps = jget(cmd, "reuserps"), *cpus = jget(cmd, "cpus"), *limit_v = jget(cmd, "limit");
	if (num_field(cmd, "listener", &id, 1) < 0 || num_field(cmd, "uid", &uid, 1) < 0 || !rps || rps->type != J_BOOL ||
	    (cpus && cpus->type != J_ARR) || (limit_v && limit_v->type != J_NUM))
		return reply_error("bad-command", "register needs listener, uid, reuserps, and optional cpus and limit");
	int mask[MAX_CPUS], nmask = 0, bad_cpu = 0;
	for (int i = 0; cpus && i < cpus->n; i++) {
		struct jv *c = &cpus->items[i];
		if (c->type != J_NUM || c->num != floor(c->num) || c->num < 0) return reply_error("bad-command", "cpus must be CPU numbers");
		if (c->num >= cfg_cpus) { bad_cpu = 1; continue; }
		int dup = 0;
		for (int k = 0; k < nmask; k++) dup |= mask[k] == (int)c->num;
		if (!dup) mask[nmask++] = (int)c->num;
	}
	qsort(mask, nmask, sizeof *mask, cmp_int);
	double limit = limit_v ? limit_v->num : 0;
	int reuserps = rps->boolean, mode = reuserps ? RPS_REUSERPS : RPS_PLAIN;
	int has_cpus = nmask > 0 || bad_cpu;

	/* The seed's errors, in the model's order (it allows any one that applies). */
	if (find_listener(id)) return reply_fail("duplicate-listener");
	if (bad_cpu) return reply_fail("bad-cpu");
	if (reuserps && !has_cpus) return reply_fail("empty-mask");
	if (limit != floor(limit) || limit < 0) return reply_fail("bad-limit");
	if (!reuserps && (has_cpus || limit != 0)) return reply_fail("mode-mismatch");
	if (group_mode != RPS_NONE && group_mode != mode) return reply_fail("mode-mismatch");
	if (group_mode != RPS_NONE && group_owner != uid) return reply_fail("uid-mismatch");
	for (int k = 0; reuserps && k < nmask; k++)
		if (table_len[mask[k]] >= cfg_slots) return reply_fail("table-full");
	if (limit > UINT32_MAX) return reply_error("bad-command", "limit %.0f is past what the program counts (2^32 - 1)", limit);

	uint32_t slot = next_slot, tries = 0;
	while (tries < MAX_MEMBERS && listeners[slot].used) slot = (slot + 1) % MAX_MEMBERS, tries++;
	if (tries == MAX_MEMBERS) return reply_error("bad-command", "the program's socket array holds %d listeners", MAX_MEMBERS);

	setfsuid((uid_t)uid);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setfsuid(0);
	if (fd < 0) return reply_error("bad-command", "socket: %s", strerror(errno));
	int one = 1, prog = bpf_program__fd(skel->progs.steer);
	uint32_t mark = slot + 1;
	struct sockaddr_storage a;
	socklen_t alen = loopback(&a, server_port);
	const char *failed = NULL;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) failed = "SO_REUSEPORT";
	else if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) failed = "SO_MARK";
	else if (bind(fd, (struct sockaddr *)&a, alen) < 0) failed = "bind";
	else if (listen(fd, 4096) < 0) failed = "listen";
	else if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog, sizeof prog) < 0) failed = "SO_ATTACH_REUSEPORT_EBPF";
	if (failed) {
		int e = errno;
		close(fd);
		return reply_error("bad-command", "%s: %s", failed, strerror(e));
	}
	/* Selectable (socket array, limit, load) before any table or the group names it. */
	uint64_t fd64 = (uint64_t)fd;
	uint32_t lim = (uint32_t)limit;
	__atomic_store_n(&loads[slot], 0, __ATOMIC_SEQ_CST);
	if (bpf_map_update_elem(map_fd(skel->maps.limits), &slot, &lim, BPF_ANY) < 0 ||
	    bpf_map_update_elem(map_fd(skel->maps.socks), &slot, &fd64, BPF_ANY) < 0) {
		int e = errno;
		close(fd);
		return reply_error("bad-command", "socket array: %s", strerror(e));
	}
	next_slot = (slot + 1) % MAX_MEMBERS;
	struct listener *l = &listeners[slot];
	*l = (struct listener){ .used = 1, .id = id, .uid = uid, .limit = (long)limit, .slot = slot, .fd = fd, .ncpus = nmask };
	memcpy(l->cpus, mask, nmask * sizeof *mask);
	if (group_mode == RPS_NONE) {
		group_mode = mode;
		group_owner = uid;
	}
	for (int k = 0; k < nmask; k++) {
		tables[mask[k]][table_len[mask[k]]++] = slot;
		publish_table(mask[k], -1);
	}
	members[nmembers++] = slot;
	publish_group();
	out("{\"ok\":true}");
	reply();
}

/* Runs on its branch's thread, pinned to `cpu`; holds steer_rw shared throughout (see steerspec-kernel.h)
 * and state_mu only around the tables, so two branches' SYNs run the program on two CPUs at the same time
 * (their compare-and-swaps on a limited listener's load race for real), and a deregister's close may run
 * while the SYN or the handshake is in the kernel. */
static void do_connect(struct jv *cmd)
{
	long id, cpu, hash = -1;
	int has_hash;
	if (num_field(cmd, "conn", &id, 1) < 0 || num_field(cmd, "cpu", &cpu, 1) < 0 || (has_hash = num_field(cmd, "hash", &hash, 0)) < 0)
		return reply_error("bad-command", "connect needs conn, cpu and an optional hash");
	int fd;
	uint16_t port;
	struct conn *c = begin_connect(id, cpu, cfg_cpus, &fd, &port);
	if (!c) return;

	int hashes = map_fd(skel->maps.hashes), arrivals = map_fd(skel->maps.arrivals);
	uint32_t h = (uint32_t)hash;
	if (has_hash) bpf_map_update_elem(hashes, &port, &h, BPF_ANY);
	else bpf_map_delete_elem(hashes, &port);
	bpf_map_delete_elem(arrivals, &port);
	bpf_map_delete_elem(map_fd(skel->maps.moves), &port);
	struct sockaddr_storage srv;
	socklen_t slen = loopback(&srv, server_port);
	unsigned long racing = connect_begin();
	int rc = connect(fd, (struct sockaddr *)&srv, slen), e = errno;
	connect_end(racing);
	struct rps_decision d = {0};
	int decided = bpf_map_lookup_elem(arrivals, &port, &d) == 0;
	/* ECONNRESET: established, then reset before connect() returned; looked at below like a later reset. */
	if (rc < 0 && e != ECONNRESET) {
		LOCK();
		abort_close(fd);
		c->used = 0;
		UNLOCK();
		if (e != ECONNREFUSED) return reply_error("bad-command", "connect: %s", strerror(e));
		/* Refused by the program (SK_DROP) or, with no listener at all, by the kernel itself. */
		if (decided && !d.refused) return reply_error("unobservable", "connection %ld was refused though the program chose slot %u", id, d.slot);
		return reply_fail("refused");
	}
	connect_established();
	/* The listener whose accept queue the child entered first: where a racing accept took it from, or a
	 * racing deregister's close moved it on from (or reset it), else where the queues show it. */
	int slot = -1, reset = 0;
	double deadline = now_s() + 1.0;
	for (;;) {
		int dumped_ok = dump_queues(skel->links.dump_queues) == 0;
		LOCK();
		struct listener *q = dumped_ok ? listener_by_mark(queued_mark(port)) : NULL;
		slot = c->first_entry >= 0 ? c->first_entry : q ? (int)q->slot : -1;
		UNLOCK();
		if (slot >= 0 || !dumped_ok || now_s() >= deadline) break;
		if ((reset = tcp_state_of(fd) == TCP_CLOSE)) break; /* reset, and no deregister listed it */
		sleep_us(20);
	}
	/* Read again now the child is queued: a request re-steered at its ACK was recorded as its arrival. */
	decided = bpf_map_lookup_elem(arrivals, &port, &d) == 0;
	if (slot < 0 && reset && decided && d.request && d.refused) {
		/* Its listener closed mid-handshake and the program, re-steering it as a new arrival, found no
		 * place: the kernel dropped the request and the ACK met a RST. A connect after the deregister. */
		LOCK();
		abort_close(fd);
		c->used = 0;
		UNLOCK();
		return reply_fail("refused");
	}
	if (slot < 0 || !decided) {
		struct rps_decision mv = {0};
		int moved = bpf_map_lookup_elem(map_fd(skel->maps.moves), &port, &mv) == 0;
		logf_("connection %ld (port %u) unobservable: client state %d; arrival %s slot %u refused %u request %u; move %s from %u slot %u refused %u; %ld deregister closes so far", id, port, tcp_state_of(fd), decided ? "recorded" : "none", d.slot, d.refused, d.request, moved ? "recorded" : "none", mv.from, mv.slot, mv.refused, (long)deregister_closes);
		LOCK();
		abort_close(c->child);
		abort_close(fd);
		c->used = 0;
		UNLOCK();
		return reply_error("unobservable", "connection %ld: %s", id, slot >= 0 ? "the program recorded no decision for it" : reset ? "established, then reset, with no child of it seen queued and no deregister listing it" : "no accept queue shows its child");
	}
	if (d.refused || d.slot != (uint32_t)slot) logf_("connection %ld: the program chose slot %u (refused %u), the kernel queued it first at slot %d", id, d.slot, d.refused, slot);
	long got_id;
	LOCK();
	got_id = listeners[slot].id;
	record_connected(c, fd, got_id);
	UNLOCK();
	out("{\"ok\":true,\"listener\":%ld,\"local\":%s,\"inputs\":{\"cpu\":%u", got_id, d.local ? "true" : "false", d.cpu);
	if (!has_hash) out(",\"hash\":%u", d.hash);
	out("}}");
	reply();
}

static void do_accept(struct jv *cmd)
{
	long id;
	if (num_field(cmd, "listener", &id, 1) < 0) return reply_error("bad-command", "accept needs listener");
	struct listener *l = find_listener(id);
	if (!l) return reply_fail("unknown-listener");
	accept_and_reply(l->fd, l->id, (int)l->slot);
}

static void do_close(struct jv *cmd)
{
	long id;
	if (num_field(cmd, "conn", &id, 1) < 0) return reply_error("bad-command", "close needs conn");
	struct conn *c = find_conn(id);
	if (!c) return reply_fail("unknown-conn");
	struct listener *l = c->listener >= 0 ? find_listener(c->listener) : NULL;
	if (l) __atomic_fetch_sub(&loads[l->slot], 1, __ATOMIC_SEQ_CST); /* rule 4: it stops counting */
	abort_close(c->child); /* a child still queued becomes a ghost: accept skips it, the program never moves it */
	abort_close(c->client);
	c->used = 0;
	out("{\"ok\":true}");
	reply();
}

/* Takes `slot` out of one table, keeping order and the cursor on the same next listener (rule 6). */
static void remove_from_table(int cpu, uint32_t slot)
{
	int at = 0;
	while (at < table_len[cpu] && tables[cpu][at] != slot) at++;
	if (at == table_len[cpu]) return;
	memmove(&tables[cpu][at], &tables[cpu][at + 1], (table_len[cpu] - at - 1) * sizeof tables[cpu][0]);
	table_len[cpu]--;
	long cursor = cursor_of(cpu);
	if (at < cursor) cursor--;
	if (cursor >= table_len[cpu]) cursor = 0;
	publish_table(cpu, cursor);
}

/* Whether a deregister may run beside connects in flight (docs/kernel.md, "What races for real"): when
 * another member stays, the kernel runs the program for every child the close touches (with none left,
 * reuseport_migrate_sock resets them without it), and the program records each by port. */
static int dereg_can_race(void)
{
	return nmembers >= 2;
}

/* Whether the close just made re-steered or dropped `port`'s queued child off slot closing_slot. */
static uint32_t closing_slot;
static uint64_t moves_from;
static int moved_by_close(uint16_t port, uint64_t *seq)
{
	struct rps_decision d;
	if (bpf_map_lookup_elem(map_fd(skel->maps.moves), &port, &d) < 0) return 0;
	*seq = d.seq;
	return d.from == closing_slot + 1 && !d.request && d.seq >= moves_from;
}

static void do_deregister_(struct jv *cmd, int racing)
{
	long id;
	if (num_field(cmd, "listener", &id, 1) < 0) return reply_error("bad-command", "deregister needs listener");
	struct listener *l = find_listener(id);
	if (!l) return reply_fail("unknown-listener");

	/* Out of the group order and the tables first, so nothing steers to it any more. */
	int at = 0;
	while (at < nmembers && members[at] != l->slot) at++;
	if (group_mode == RPS_PLAIN) members[at] = members[nmembers - 1];
	else memmove(&members[at], &members[at + 1], (nmembers - at - 1) * sizeof members[0]);
	nmembers--;
	for (int k = 0; k < l->ncpus; k++) remove_from_table(l->cpus[k], l->slot);
	if (nmembers == 0) group_mode = RPS_NONE;
	publish_group();

	/* Its accept queue, and, racing, every connect in flight: its child may be there too. */
	struct conn *cands[nconns > 0 ? nconns : 1], *queued[nconns > 0 ? nconns : 1];
	int nc = 0;
	for (int i = 0; i < nconns; i++) {
		if (!conns[i].used) continue;
		if (conns[i].listener == id && conns[i].state == ACCEPTED) conns[i].listener = -1; /* open with its process, counted nowhere */
		else if ((conns[i].listener == id && conns[i].state == QUEUED) || (racing && conns[i].state == PENDING)) cands[nc++] = &conns[i];
	}
	/* Racing, the program's records order the queue: no dump, so the close comes right after the SYN. */
	if (racing) qsort(cands, nc, sizeof *cands, by_seq);
	else sort_as_queued(skel->links.dump_queues, cands, nc);

	uint32_t slot = l->slot, zero = 0;
	moves_from = 0;
	if (bpf_map_lookup_elem(map_fd(skel->maps.move_count), &zero, &moves_from) < 0) moves_from = UINT64_MAX;
	closing_slot = slot;
	close_listener(l->fd, racing); /* inet_csk_listen_stop: the program re-steers each child (SELECT_OR_MIGRATE) or drops it */
	bpf_map_update_elem(map_fd(skel->maps.limits), &slot, &zero, BPF_ANY);
	l->used = 0; /* the id stays: a connect racing this may answer with it */
	int nq = taken_by_close(cands, nc, moved_by_close, queued);

	uint32_t marks[nq > 0 ? nq : 1];
	int is_reset[nq > 0 ? nq : 1];
	settle_and_reply(skel->links.dump_queues, queued, nq, marks, is_reset, id_of_mark, id);
	long target[nq > 0 ? nq : 1];
	__atomic_store_n(&loads[slot], 0, __ATOMIC_SEQ_CST);
	for (int k = 0; k < nq; k++) {
		struct listener *t = listener_by_mark(marks[k]);
		struct rps_decision d;
		int moved = bpf_map_lookup_elem(map_fd(skel->maps.moves), &queued[k]->port, &d) == 0 && d.seq >= moves_from && !d.refused;
		if (t && (!moved || d.slot != t->slot)) logf_("connection %ld: migrated to slot %u by the kernel, the program recorded %s", queued[k]->id, t->slot, moved ? "another" : "none");
		target[k] = t ? t->id : -1;
	}
	requeue_listed(queued, nq, target, (int)slot);
}

static void do_deregister(struct jv *cmd)
{
	do_deregister_(cmd, 0);
}

static void do_deregister_racing(struct jv *cmd)
{
	do_deregister_(cmd, 1);
}

/* ------------------------------------------------------------------ set-up */

static const char *setup_kernel(void)
{
	static char why[256];
	if (netns_up(why, sizeof why) || count_cpus(why, sizeof why)) return why;
	libbpf_set_print(quiet);
	skel = reuserps__open();
	int err = skel ? reuserps__load(skel) : -errno;
	if (!err) err = reuserps__attach(skel);
	if (err) {
		snprintf(why, sizeof why, "BPF: loading the SO_REUSERPS program (SK_REUSEPORT, bpf_loop, TCP iterator; needs root, BTF, Linux 5.17+): %s", strerror(-err));
		return why;
	}
	loads_size = (MAX_MEMBERS * sizeof(uint64_t) + 4095) / 4096 * 4096;
	void *m = mmap(NULL, loads_size, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd(skel->maps.loads), 0);
	if (m == MAP_FAILED) {
		snprintf(why, sizeof why, "mmap of the loads array: %s", strerror(errno));
		return why;
	}
	loads = m;
	listeners = calloc(MAX_MEMBERS, sizeof *listeners);
	return NULL;
}

static int do_init(struct jv *cmd)
{
	struct jv *protocol = jget(cmd, "protocol"), *scheme = jget(cmd, "scheme"), *config = jget(cmd, "config"), *v;
	if (!protocol || protocol->type != J_STR || strcmp(protocol->str, "steerspec/1"))
		return reply_error("unsupported-config", "this adapter speaks steerspec/1 only"), 0;
	if (!scheme || scheme->type != J_STR || strcmp(scheme->str, "reuserps"))
		return reply_error("unsupported-scheme", "this adapter is SO_REUSERPS as eBPF: it knows reuserps only"), 0;
	if (kernel_unusable[0]) return reply_error("unsupported-config", "the kernel can't be used here: %s", kernel_unusable), 0;
	if (config && config->type != J_OBJ) return reply_error("unsupported-config", "config must be an object"), 0;
	long cpus = 128, slots = 128;
	int top_down = 0, hash_fallback = 0;
	if (config && (v = jget(config, "cpus"))) cpus = v->type == J_NUM ? (long)v->num : -1;
	if (config && (v = jget(config, "slotsPerCpu"))) slots = v->type == J_NUM ? (long)v->num : -1;
	if (config && (v = jget(config, "policy"))) {
		if (v->type != J_STR || (strcmp(v->str, "round-robin") && strcmp(v->str, "top-down"))) return reply_error("unsupported-config", "policy must be round-robin or top-down"), 0;
		top_down = !strcmp(v->str, "top-down");
	}
	if (config && (v = jget(config, "fallback"))) {
		if (v->type != J_STR || (strcmp(v->str, "refuse") && strcmp(v->str, "hash"))) return reply_error("unsupported-config", "fallback must be refuse or hash"), 0;
		hash_fallback = !strcmp(v->str, "hash");
	}
	if (cpus < 1 || cpus > online_cpus) return reply_error("unsupported-config", "config asks for %ld CPUs; this machine lets us pin to %d", cpus, online_cpus), 0;
	if (slots < 1 || slots > MAX_SLOTS) return reply_error("unsupported-config", "slotsPerCpu must be 1..%d", MAX_SLOTS), 0;
	cfg_cpus = (int)cpus;
	cfg_slots = (int)slots;
	cfg_top_down = top_down;
	cfg_hash_fallback = hash_fallback;
	reset_all();
	/* A fresh port: nothing of the previous instance (ghosts, TIME_WAIT) can interfere. */
	if (++server_port >= 44999) server_port = 40001;
	out("{\"ok\":true,\"capabilities\":{\"hash\":true,\"snapshot\":false,\"concurrent\":true}}");
	reply();
	return 1;
}

/* ------------------------------------------------------------------ bench */

/* Connects per second through the kernel: `n` connect + accept + close from CPU 0 to two listeners,
 * with the program attached (both on every CPU's table, round-robin) or detached (a plain group). */
static double bench_round(int n, int with_program, double *ns_per_syn)
{
	cfg_cpus = online_cpus;
	cfg_slots = MAX_SLOTS;
	cfg_top_down = 0;
	cfg_hash_fallback = 0;
	reset_all();
	server_port++;
	int fds[2];
	replies_muted = 1;
	for (int i = 0; i < 2; i++) {
		char line[160];
		snprintf(line, sizeof line, "{\"op\":\"register\",\"listener\":%d,\"uid\":0,\"reuserps\":true,\"cpus\":[%s],\"limit\":0}", i, online_cpus > 1 ? "0,1" : "0");
		struct jv cmd;
		const char *err;
		jparse_line(line, &cmd, &err);
		do_register(&cmd);
		jfree(&cmd);
		struct listener *l = find_listener(i);
		if (!l) return -1;
		fds[i] = l->fd;
	}
	replies_muted = 0;
	if (!with_program) setsockopt(fds[0], SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &fds[0], sizeof fds[0]);
	struct bpf_prog_info info = {};
	uint32_t len = sizeof info;
	bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.steer), &info, &len);
	uint64_t runs0 = info.run_cnt, time0 = info.run_time_ns;
	struct sockaddr_storage srv;
	socklen_t slen = loopback(&srv, server_port);
	double start = now_s();
	for (int k = 0; k < n; k++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(c, (struct sockaddr *)&srv, slen) < 0) {
			logf_("bench connect: %s", strerror(errno));
			close(c);
			return -1;
		}
		int child = -1;
		for (int tries = 0; child < 0 && tries < 100000; tries++)
			for (int i = 0; i < 2 && child < 0; i++) child = accept4(fds[i], NULL, NULL, SOCK_CLOEXEC);
		abort_close(child);
		abort_close(c);
	}
	double elapsed = now_s() - start;
	memset(&info, 0, sizeof info);
	len = sizeof info;
	bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.steer), &info, &len);
	*ns_per_syn = info.run_cnt > runs0 ? (double)(info.run_time_ns - time0) / (double)(info.run_cnt - runs0) : 0;
	if (with_program && info.run_cnt - runs0 < (uint64_t)n) logf_("bench: the program ran %llu times for %d connects", (unsigned long long)(info.run_cnt - runs0), n);
	return n / elapsed;
}

/* `rounds` rounds of `n` connects each, without and with the program side by side, and the program's
 * time per SYN with and without the adapter's recording; one JSON line. */
static int bench(int n, int rounds)
{
	char quiet_ns[4096] = "";
	int stats = bpf_enable_stats(BPF_STATS_RUN_TIME); /* the kernel times each run of the program */
	if (stats < 0) logf_("bpf_enable_stats: %s (no cost per SYN)", strerror(errno));
	pin(0);
	double ns;
	bench_round(n / 5 + 1, 1, &ns); /* warm up */
	printf("{\"connects\":%d,\"withoutProgram\":[", n);
	char with[4096] = "", per_syn[4096] = "";
	for (int r = 0; r < rounds; r++) {
		double ns_without, ns_with;
		double without = bench_round(n, 0, &ns_without), w = bench_round(n, 1, &ns_with);
		if (without < 0 || w < 0) return 1;
		printf("%s%.0f", r ? "," : "", without);
		snprintf(with + strlen(with), sizeof with - strlen(with), "%s%.0f", r ? "," : "", w);
		snprintf(per_syn + strlen(per_syn), sizeof per_syn - strlen(per_syn), "%s%.1f", r ? "," : "", ns_with);
		quiet_program = 1;
		double ns_quiet;
		int failed = bench_round(n, 1, &ns_quiet) < 0;
		quiet_program = 0;
		if (failed) return 1;
		snprintf(quiet_ns + strlen(quiet_ns), sizeof quiet_ns - strlen(quiet_ns), "%s%.1f", r ? "," : "", ns_quiet);
	}
	printf("],\"withProgram\":[%s],\"nsPerSyn\":[%s],\"nsPerSynUnrecorded\":[%s]}\n", with, per_syn, quiet_ns);
	reset_all();
	return 0;
}

/* Every op but init, on the main thread or a branch's worker. What each holds: docs/kernel.md, "Concurrent runs". */
static int run(const char *op, struct jv *cmd)
{
	if (!strcmp(op, "connect")) {
		pthread_rwlock_rdlock(&steer_rw);
		do_connect(cmd);
		connect_answered();
		pthread_rwlock_unlock(&steer_rw);
		return 1;
	}
	void (*f)(struct jv *) = !strcmp(op, "register") ? do_register : !strcmp(op, "deregister") ? do_deregister : !strcmp(op, "accept") ? do_accept : !strcmp(op, "close") ? do_close : NULL;
	if (!f) return 0;
	if (f == do_deregister) {
		if (deregister_beside_connects(cmd, dereg_can_race, do_deregister_racing)) return 1;
		/* The last member closing: its children are reset with no program run to name them; connects in
		 * flight finish first. */
		pthread_rwlock_wrlock(&steer_rw);
	}
	LOCK();
	f(cmd);
	UNLOCK();
	if (f == do_deregister) pthread_rwlock_unlock(&steer_rw);
	return 1;
}

int main(int argc, char **argv)
{
	const char *why = setup_kernel();
	if (argc > 1 && !strcmp(argv[1], "--probe")) {
		printf("%s\n", why ? why : "ok");
		return why ? 1 : 0;
	}
	if (argc > 3 && !strcmp(argv[1], "--bench")) {
		if (why) {
			fprintf(stderr, "%s\n", why);
			return 1;
		}
		return bench(atoi(argv[2]), atoi(argv[3]));
	}
	if (why) {
		snprintf(kernel_unusable, sizeof kernel_unusable, "%s", why);
		logf_("%s", why);
	}
	serve(do_init, run);
	log_overlaps();
	if (skel) {
		reset_all();
		reuserps__destroy(skel);
	}
	return 0;
}

/*
 * steerspec-linux: the real Linux kernel as a steerspec/1 adapter for the linux-reuseport scheme.
 *
 * Newline-delimited JSON on stdin/stdout, logs on stderr. It runs in its own network namespace
 * (unshare(CLONE_NEWNET), loopback up) so net.ipv4.tcp_migrate_req and the port are its own, and
 * steers real TCP connections on 127.0.0.1 (or ::1, config `family`) among real SO_REUSEPORT listeners.
 * What the kernel did is observed, never inferred (observe.bpf.c, loaded through its skeleton):
 *   - an SK_REUSEPORT program on the group (unless the config's cBPF program is attached) records each
 *     SYN's hash and the CPU that processed it, and returns SK_PASS: the kernel's own selection decides;
 *   - a TCP iterator dumps every listener's accept queue (SO_MARK = id + 1 names the listener, the client's
 *     port names the child: we bind client ports), read after each connect and each deregister.
 * Commands:
 *   register       a listening socket (SO_REUSEADDR, SO_REUSEPORT, SO_INCOMING_CPU where `incomingCpuAt`
 *                  says, the recording program or the cBPF `A = cpu; return A`), created with fsuid = uid
 *                  so the kernel applies its same-uid rule itself (bind() fails with EADDRINUSE);
 *   connect        from the thread of its branch (the main one in sequential runs) pinned to the CPU;
 *                  the reply carries `inputs`: the hash and the SYN's CPU the kernel used; `local` compares the listener's SO_INCOMING_CPU (read back
 *                  with getsockopt) with that CPU;
 *   accept         accept() and getpeername(): the client's port names the connection;
 *   close          closes both ends with SO_LINGER 0; a child still in a kernel accept queue stays there
 *                  as a "ghost" (accept skips it later: its peer reset it, getpeername fails);
 *   deregister     close() of the listener from a thread pinned to `cpu`; each queued child was then
 *                  migrated (found in another accept queue) or reset (its client sees the RST).
 * Nothing is ever drained into user space, so every deregister is observable. Parallel runs: a worker
 * thread per branch (steerspec-io.h); what it serializes: steerspec-kernel.h and docs/kernel.md.
 * STEERSPEC_RPS_CPUS=<mask> turns RPS on for its loopback (the SYN's CPU then differs from the client's; `inputs.cpu` says which).
 * Build: sh adapters/linux/build.sh. `steerspec-linux --probe` prints "ok" or why the kernel can't be used.
 */
#define _GNU_SOURCE
#define LOG_NAME "steerspec-linux"
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
/* Client ports of ours: 30000 up (steerspec-kernel.h). */
#define CLIENT_PORTS_FROM 30000
#include "steerspec-io.h"
#include "steerspec-kernel.h"
#include "observe.skel.h"

#ifndef SO_INCOMING_CPU
#define SO_INCOMING_CPU 49
#endif
#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif

/* ------------------------------------------------------------------ the kernel side */

struct listener {
	int used;
	long id;
	int fd;
	int incoming_cpu; /* once closed: its SO_INCOMING_CPU as read right before the close */
};

/* Fixed, and within a run an entry is never reused: its SO_MARK is its index + 1, so a mark names one
 * socket even after it closed and its id registered again (a connect racing a deregister may answer with
 * the closed one). */
#define MAX_LISTENERS 1024
static struct listener listeners[MAX_LISTENERS];
static int nlisteners;

static int cfg_cpus, cfg_migrate, cfg_program_cpu;
static uint16_t server_port = 20000;
static char kernel_unusable[256];
static struct observe *obs;
static int syns_fd, moves_fd, move_count_fd, record_fd, record_move_fd;
/* How many observed SYNs ran on another CPU than the client was pinned to (see docs/kernel.md). */
static long syn_total, syn_elsewhere;

static struct listener *find_listener(long id)
{
	for (int i = 0; i < nlisteners; i++)
		if (listeners[i].used && listeners[i].id == id) return &listeners[i];
	return NULL;
}

static struct listener *listener_by_mark(uint32_t mark)
{
	return mark == 0 || mark > (uint32_t)nlisteners || !listeners[mark - 1].used ? NULL : &listeners[mark - 1];
}

static long id_of_mark(uint32_t mark)
{
	struct listener *l = listener_by_mark(mark);
	return l ? l->id : -1;
}

/* The entry a new listener will take: the next never used (see MAX_LISTENERS), -1 when the run used them all. */
static int next_listener(void)
{
	return nlisteners < MAX_LISTENERS ? nlisteners : -1;
}

static int set_incoming_cpu(int fd, int cpu)
{
	return setsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, sizeof cpu);
}

static int incoming_cpu_of(int fd)
{
	int cpu = -1;
	socklen_t len = sizeof cpu;
	if (getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &len) < 0) return -2;
	return cpu;
}

/* reuseport_bpf_cpu.c's program: A = raw_smp_processor_id(); return A. */
static int attach_cpu_program(int fd)
{
	struct sock_filter code[] = {
		{ BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_CPU) },
		{ BPF_RET | BPF_A, 0, 0, 0 },
	};
	struct sock_fprog prog = { .len = 2, .filter = code };
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog);
}

/* The listener whose accept queue held `port`'s child in the last dump, or NULL. */
static struct listener *queued_at(uint16_t port)
{
	return listener_by_mark(queued_mark(port));
}

struct syn_seen {
	uint32_t hash, cpu, count;
};

static void close_everything(void)
{
	for (int i = 0; i < nconns; i++)
		if (conns[i].used) {
			abort_close(conns[i].child);
			abort_close(conns[i].client);
			conns[i].used = 0;
		}
	for (int i = 0; i < nlisteners; i++)
		if (listeners[i].used) {
			close(listeners[i].fd);
			memset(&listeners[i], 0, sizeof listeners[i]);
		}
	nconns = 0;
	nlisteners = 0;
}

/* ------------------------------------------------------------------ commands */

/* Where SO_INCOMING_CPU is set on register: so_incoming_cpu.c's placements before the socket is listening. */
enum placement { BEFORE_REUSEPORT, BEFORE_BIND, BEFORE_LISTEN };

static void do_register(struct jv *cmd)
{
	long id, uid, incoming = -1;
	if (num_field(cmd, "listener", &id, 1) < 0 || num_field(cmd, "uid", &uid, 1) < 0 || num_field(cmd, "incomingCpu", &incoming, 0) < 0) {
		reply_error("bad-command", "register needs listener, uid and an optional incomingCpu");
		return;
	}
	enum placement at = BEFORE_BIND;
	struct jv *where = jget(cmd, "incomingCpuAt");
	if (where) {
		if (where->type != J_STR) return reply_error("bad-command", "incomingCpuAt must be a string");
		if (!strcmp(where->str, "before-reuseport")) at = BEFORE_REUSEPORT;
		else if (!strcmp(where->str, "before-bind")) at = BEFORE_BIND;
		else if (!strcmp(where->str, "before-listen")) at = BEFORE_LISTEN;
		else return reply_error("bad-command", "incomingCpuAt must be before-reuseport, before-bind or before-listen");
	}
	if (find_listener(id)) return reply_fail("duplicate-listener");
	if (incoming >= cfg_cpus) return reply_fail("bad-cpu");
	int entry = next_listener();
	if (entry < 0) return reply_error("bad-command", "more than %d listeners registered in one run", MAX_LISTENERS);

	/* The socket's owner is the fsuid at creation (sock_alloc), which bind() compares (same-uid rule). */
	setfsuid((uid_t)uid);
	int fd = socket(cfg_ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setfsuid(0);
	if (fd < 0) return reply_error("bad-command", "socket: %s", strerror(errno));
	int one = 1;
	uint32_t mark = (uint32_t)entry + 1;
	const char *failed = NULL;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) failed = "SO_MARK";
	if (!failed && incoming >= 0 && at == BEFORE_REUSEPORT && set_incoming_cpu(fd, (int)incoming) < 0) failed = "SO_INCOMING_CPU";
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (!failed && incoming >= 0 && at == BEFORE_BIND && set_incoming_cpu(fd, (int)incoming) < 0) failed = "SO_INCOMING_CPU";
	if (failed) {
		int e = errno;
		close(fd);
		return reply_error("bad-command", "%s: %s", failed, strerror(e));
	}
	struct sockaddr_storage a;
	socklen_t alen = loopback(&a, server_port);
	if (bind(fd, (struct sockaddr *)&a, alen) < 0) {
		int e = errno;
		close(fd);
		if (e == EADDRINUSE) return reply_fail("uid-mismatch");
		return reply_error("bad-command", "bind: %s", strerror(e));
	}
	if (incoming >= 0 && at == BEFORE_LISTEN && set_incoming_cpu(fd, (int)incoming) < 0) failed = "SO_INCOMING_CPU";
	if (!failed && listen(fd, 4096) < 0) failed = "listen";
	/* Attached through every member once it listens (before bind, a socket's own group would keep it out
	 * of the port's: bind conflicts); the group keeps one program, so the last attach is the same one. */
	if (!failed && cfg_program_cpu && attach_cpu_program(fd) < 0) failed = "SO_ATTACH_REUSEPORT_CBPF";
	/* With migration on, the program that also sees each migration (it decides nothing either). */
	int *prog = cfg_migrate ? &record_move_fd : &record_fd;
	if (!failed && !cfg_program_cpu && setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, prog, sizeof *prog) < 0) failed = "SO_ATTACH_REUSEPORT_EBPF";
	if (failed) {
		int e = errno;
		close(fd);
		return reply_error("bad-command", "%s: %s", failed, strerror(e));
	}
	listeners[entry] = (struct listener){ .used = 1, .id = id, .fd = fd, .incoming_cpu = -1 };
	nlisteners++;
	out("{\"ok\":true}");
	reply();
}

static void do_set_incoming_cpu(struct jv *cmd)
{
	long id, cpu;
	if (num_field(cmd, "listener", &id, 1) < 0 || num_field(cmd, "incomingCpu", &cpu, 1) < 0) {
		reply_error("bad-command", "setIncomingCpu needs listener and incomingCpu");
		return;
	}
	struct listener *l = find_listener(id);
	if (!l) return reply_fail("unknown-listener");
	if (cpu >= cfg_cpus) return reply_fail("bad-cpu");
	if (set_incoming_cpu(l->fd, (int)cpu) < 0) return reply_error("bad-command", "SO_INCOMING_CPU: %s", strerror(errno));
	out("{\"ok\":true}");
	reply();
}

/* SO_INCOMING_CPU of listener entry `e`: read from its socket while it is open, else as its deregister
 * read it before the close. Under state_mu (a deregister closes the socket under it). */
static int incoming_cpu_at(int e)
{
	return listeners[e].used ? incoming_cpu_of(listeners[e].fd) : listeners[e].incoming_cpu;
}

/* Runs on its branch's thread, pinned to `cpu`; holds steer_rw shared throughout (see steerspec-kernel.h)
 * and state_mu only around the tables, so two branches' SYNs are steered by the kernel at the same time,
 * and a deregister's close may run while the SYN or the handshake is in the kernel. */
static void do_connect(struct jv *cmd)
{
	long id, cpu;
	if (num_field(cmd, "conn", &id, 1) < 0 || num_field(cmd, "cpu", &cpu, 1) < 0) {
		reply_error("bad-command", "connect needs conn and cpu");
		return;
	}
	int fd;
	uint16_t port;
	struct conn *c = begin_connect(id, cpu, cfg_cpus, &fd, &port);
	if (!c) return;

	bpf_map_delete_elem(syns_fd, &port);
	bpf_map_delete_elem(moves_fd, &port);
	struct sockaddr_storage srv;
	socklen_t slen = loopback(&srv, server_port);
	unsigned long racing = connect_begin();
	int rc = connect(fd, (struct sockaddr *)&srv, slen);
	connect_end(racing);
	/* ECONNRESET: established, then reset before connect() returned; looked at below like a later reset. */
	if (rc < 0 && errno != ECONNRESET) {
		int e = errno;
		LOCK();
		abort_close(fd);
		c->used = 0;
		UNLOCK();
		if (e == ECONNREFUSED) return reply_fail("refused");
		return reply_error("bad-command", "connect: %s", strerror(e));
	}
	connect_established();
	/* The listener whose accept queue the child entered first. The child is queued when the client's ACK
	 * is processed: usually before connect() returns on loopback. A racing accept may have taken it, or a
	 * racing deregister's close moved it on or reset it (each then says where it was); else the queues
	 * show it. A request re-steered at its ACK because its listener had closed is queued first where the
	 * kernel sent it: that connect comes after the deregister. */
	int entry = -1, local = 0, reset = 0;
	double deadline = now_s() + 1.0;
	for (;;) {
		int dumped_ok = dump_queues(obs->links.dump_queues) == 0;
		LOCK();
		struct listener *q = dumped_ok ? queued_at(port) : NULL;
		entry = c->first_entry >= 0 ? c->first_entry : q ? (int)(q - listeners) : -1;
		if (entry >= 0) local = incoming_cpu_at(entry);
		UNLOCK();
		if (entry >= 0 || !dumped_ok || now_s() >= deadline) break;
		if ((reset = tcp_state_of(fd) == TCP_CLOSE)) break; /* reset, and no deregister listed it */
		sleep_us(20);
	}
	struct syn_seen seen;
	int have_syn = entry >= 0 && !cfg_program_cpu && bpf_map_lookup_elem(syns_fd, &port, &seen) == 0;
	if (entry < 0 || (!cfg_program_cpu && !have_syn)) {
		LOCK();
		abort_close(c->child);
		abort_close(fd);
		c->used = 0;
		UNLOCK();
		if (reset) return reply_error("unobservable", "connection %ld was established, then reset, with no child of it seen queued and no deregister listing it", id);
		if (entry < 0) return reply_error("unobservable", "connection %ld was established but no child of it was seen queued", id);
		return reply_error("unobservable", "connection %ld was queued but the recording program saw no SYN of it", id);
	}
	if (have_syn && seen.count > 1) logf_("connection %ld: %u SYNs (a retransmission); the last one's inputs are reported", id, seen.count);
	int syn_cpu = have_syn ? (int)seen.cpu : (int)cpu;
	long got_id;
	LOCK();
	got_id = listeners[entry].id;
	if (have_syn) {
		syn_total++;
		syn_elsewhere += syn_cpu != cpu;
	}
	record_connected(c, fd, got_id);
	UNLOCK();
	out("{\"ok\":true,\"listener\":%ld,\"local\":%s", got_id, local == syn_cpu ? "true" : "false");
	if (have_syn) out(",\"inputs\":{\"hash\":%u,\"cpu\":%u}", seen.hash, seen.cpu);
	out("}");
	reply();
}

static void do_accept(struct jv *cmd)
{
	long id;
	if (num_field(cmd, "listener", &id, 1) < 0) return reply_error("bad-command", "accept needs listener");
	struct listener *l = find_listener(id);
	if (!l) return reply_fail("unknown-listener");
	accept_and_reply(l->fd, l->id, (int)(l - listeners));
}

static void do_close(struct jv *cmd)
{
	long id;
	if (num_field(cmd, "conn", &id, 1) < 0) return reply_error("bad-command", "close needs conn");
	struct conn *c = find_conn(id);
	if (!c) return reply_fail("unknown-conn");
	/* A child still in a kernel queue stays there; its peer's RST makes it a ghost that accept skips. */
	abort_close(c->child);
	abort_close(c->client);
	c->used = 0;
	out("{\"ok\":true}");
	reply();
}

/* Whether a deregister may run beside connects in flight (docs/kernel.md, "What races for real"): when
 * every child its close touches goes through the recording program (the migrating one: migration on,
 * no cBPF program), which names it by port, and another listener stays, so the close migrates them all.
 * Otherwise a child could be reset with no record, and its connect, seeing it vanish, could not tell
 * this close from the kernel's own race (inet_csk_reqsk_queue_add after the close); a request reset at
 * its ACK after the deregister replied is one no order explains. Under state_mu. */
static int dereg_can_race(void)
{
	int open = 0;
	for (int i = 0; i < nlisteners; i++) open += listeners[i].used;
	return cfg_migrate && !cfg_program_cpu && open >= 2;
}

/* Whether the close just made moved `port`'s queued child off listener `closing_mark` (its seq then). */
static uint32_t closing_mark;
static uint64_t moves_from;
static int moved_by_close(uint16_t port, uint64_t *seq)
{
	struct { uint32_t from, request; uint64_t seq; } m;
	if (moves_fd < 0 || bpf_map_lookup_elem(moves_fd, &port, &m) < 0) return 0;
	*seq = m.seq;
	return m.from == closing_mark && !m.request && m.seq >= moves_from;
}

static void do_deregister_(struct jv *cmd, int racing)
{
	long id, cpu = -1;
	int has_cpu;
	if (num_field(cmd, "listener", &id, 1) < 0 || (has_cpu = num_field(cmd, "cpu", &cpu, 0)) < 0) {
		reply_error("bad-command", "deregister needs listener and an optional cpu");
		return;
	}
	struct listener *l = find_listener(id);
	if (!l) return reply_fail("unknown-listener");
	if (has_cpu && (cpu < 0 || cpu >= cfg_cpus)) return reply_fail("bad-cpu");

	/* Its accept queue, in arrival order (the order inet_csk_listen_stop takes it in), and, racing,
	 * every connect in flight: its child may be there too. */
	struct conn *cands[nconns > 0 ? nconns : 1], *queued[nconns > 0 ? nconns : 1];
	int nc = 0;
	for (int i = 0; i < nconns; i++)
		if (conns[i].used && ((conns[i].state == QUEUED && conns[i].listener == id) || (racing && conns[i].state == PENDING))) cands[nc++] = &conns[i];
	/* Racing, the program's records order the queue: no dump, so the close comes right after the SYN. */
	if (racing) qsort(cands, nc, sizeof *cands, by_seq);
	else sort_as_queued(obs->links.dump_queues, cands, nc);

	pin(has_cpu ? (int)cpu : -1);
	uint32_t zero = 0;
	moves_from = 0;
	if (bpf_map_lookup_elem(move_count_fd, &zero, &moves_from) < 0) moves_from = UINT64_MAX;
	closing_mark = (uint32_t)(l - listeners) + 1;
	l->incoming_cpu = incoming_cpu_of(l->fd); /* a connect racing this one may answer with it */
	close_listener(l->fd, racing); /* inet_csk_listen_stop: migrate (reuseport_migrate_sock) or reset every child */
	l->used = 0;
	int nq = taken_by_close(cands, nc, moved_by_close, queued);

	/* Each child was queued again somewhere (the dump shows it) or its client saw the RST. */
	uint32_t marks[nq > 0 ? nq : 1];
	int is_reset[nq > 0 ? nq : 1];
	settle_and_reply(obs->links.dump_queues, queued, nq, marks, is_reset, id_of_mark, id);
	long target[nq > 0 ? nq : 1];
	for (int k = 0; k < nq; k++) target[k] = id_of_mark(marks[k]);
	requeue_listed(queued, nq, target, (int)(l - listeners));
}

static void do_deregister(struct jv *cmd)
{
	do_deregister_(cmd, 0);
}

static void do_deregister_racing(struct jv *cmd)
{
	do_deregister_(cmd, 1);
}
/* ------------------------------------------------------------------ the namespace */

/* The observing programs (observe.bpf.c); the iterator reads the namespace it is opened in: ours. */
static const char *load_observers(char *why, size_t size)
{
	libbpf_set_print(quiet);
	obs = observe__open();
	if (!obs) {
		snprintf(why, size, "BPF: cannot open the recording programs: %s", strerror(errno));
		return why;
	}
	int err = observe__load(obs);
	if (!err) err = observe__attach(obs);
	if (err) {
		snprintf(why, size, "BPF: loading or attaching the recording programs (SK_REUSEPORT, TCP iterator; needs root and BTF): %s", strerror(-err));
		observe__destroy(obs);
		obs = NULL;
		return why;
	}
	record_fd = bpf_program__fd(obs->progs.record_syn);
	record_move_fd = bpf_program__fd(obs->progs.record_syn_or_move);
	syns_fd = bpf_map__fd(obs->maps.syns);
	moves_fd = bpf_map__fd(obs->maps.moves);
	move_count_fd = bpf_map__fd(obs->maps.move_count);
	return NULL;
}

/* STEERSPEC_RPS_CPUS=<hex mask>: RPS on loopback (its rx-0 rps_cpus, in a sysfs of our namespace, mounted
 * in a mount namespace of our own), so SYNs are processed on the mask's CPUs rather than the client's:
 * the recording program then reports those CPUs, and the oracle judges with them (docs/kernel.md). */
static const char *rps_on_loopback(char *why, size_t size)
{
	const char *mask = getenv("STEERSPEC_RPS_CPUS");
	if (!mask || !*mask) return NULL;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mount("sysfs", "/sys", "sysfs", 0, NULL) < 0) {
		snprintf(why, size, "STEERSPEC_RPS_CPUS: a sysfs of our own: %s", strerror(errno));
		return why;
	}
	if (write_file("/sys/class/net/lo/queues/rx-0/rps_cpus", mask) < 0) {
		snprintf(why, size, "STEERSPEC_RPS_CPUS: writing lo's rps_cpus: %s", strerror(errno));
		return why;
	}
	return NULL;
}

/* Own network namespace, loopback up, and a check that what the tests rely on is there. */
static const char *setup_kernel(void)
{
	static char why[256];
	if (netns_up(why, sizeof why)) return why;
	int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (set_incoming_cpu(t, 0) < 0) {
		snprintf(why, sizeof why, "setsockopt(SO_INCOMING_CPU): %s", strerror(errno));
		return why;
	}
	int one = 1;
	setsockopt(t, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (attach_cpu_program(t) < 0) {
		snprintf(why, sizeof why, "setsockopt(SO_ATTACH_REUSEPORT_CBPF): %s", strerror(errno));
		return why;
	}
	close(t);
	if (write_file("/proc/sys/net/ipv4/tcp_migrate_req", "0") < 0) {
		snprintf(why, sizeof why, "cannot write /proc/sys/net/ipv4/tcp_migrate_req: %s", strerror(errno));
		return why;
	}
	if (count_cpus(why, sizeof why)) return why;
	if (load_observers(why, sizeof why)) return why;
	return rps_on_loopback(why, sizeof why);
}

static void do_init_(struct jv *cmd);
static int init_ok;
static int do_init(struct jv *cmd)
{
	init_ok = 0;
	do_init_(cmd);
	return init_ok;
}

static void do_init_(struct jv *cmd)
{
	struct jv *protocol = jget(cmd, "protocol"), *scheme = jget(cmd, "scheme"), *config = jget(cmd, "config");
	if (!protocol || protocol->type != J_STR || strcmp(protocol->str, "steerspec/1"))
		return reply_error("unsupported-config", "this adapter speaks steerspec/1 only");
	if (!scheme || scheme->type != J_STR || strcmp(scheme->str, "linux-reuseport"))
		return reply_error("unsupported-scheme", "this adapter is the Linux kernel: it knows linux-reuseport only");
	if (kernel_unusable[0]) return reply_error("unsupported-config", "the kernel can't be used here: %s", kernel_unusable);
	if (config && config->type != J_OBJ) return reply_error("unsupported-config", "config must be an object");
	long cpus = 128;
	int migrate = 0, program_cpu = 0, ipv6 = 0;
	struct jv *v;
	if (config && (v = jget(config, "cpus"))) {
		if (v->type != J_NUM) return reply_error("unsupported-config", "cpus must be a number");
		cpus = (long)v->num;
	}
	if (config && (v = jget(config, "migrate"))) {
		if (v->type != J_BOOL) return reply_error("unsupported-config", "migrate must be a boolean");
		migrate = v->boolean;
	}
	if (config && (v = jget(config, "program"))) {
		if (v->type != J_STR || (strcmp(v->str, "none") && strcmp(v->str, "cpu")))
			return reply_error("unsupported-config", "program must be none or cpu");
		program_cpu = !strcmp(v->str, "cpu");
	}
	if (config && (v = jget(config, "family"))) {
		if (v->type != J_STR || (strcmp(v->str, "ipv4") && strcmp(v->str, "ipv6")))
			return reply_error("unsupported-config", "family must be ipv4 or ipv6");
		ipv6 = !strcmp(v->str, "ipv6");
	}
	if (cpus < 1 || cpus > online_cpus)
		return reply_error("unsupported-config", "config asks for %ld CPUs; this machine lets us pin to %d", cpus, online_cpus);

	close_everything();
	if (write_file("/proc/sys/net/ipv4/tcp_migrate_req", migrate ? "1" : "0") < 0)
		return reply_error("unsupported-config", "cannot write tcp_migrate_req: %s", strerror(errno));
	cfg_cpus = (int)cpus;
	cfg_migrate = migrate;
	cfg_program_cpu = program_cpu;
	cfg_ipv6 = ipv6;
	server_port++; /* a fresh port: nothing of the previous instance can interfere */
	if (server_port >= 29999) server_port = 20001;
	init_ok = 1;
	out("{\"ok\":true,\"capabilities\":{\"hash\":false,\"snapshot\":false,\"concurrent\":true}}");
	reply();
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
	void (*f)(struct jv *) = !strcmp(op, "register") ? do_register : !strcmp(op, "setIncomingCpu") ? do_set_incoming_cpu : !strcmp(op, "deregister") ? do_deregister : !strcmp(op, "accept") ? do_accept : !strcmp(op, "close") ? do_close : NULL;
	if (!f) return 0;
	if (f == do_deregister && deregister_beside_connects(cmd, dereg_can_race, do_deregister_racing)) return 1;
	/* Changes to what a connect in flight reads back (a listener closing that could reset its child, its
	 * SO_INCOMING_CPU) wait for it. */
	int exclusive = f == do_deregister || f == do_set_incoming_cpu;
	if (exclusive) pthread_rwlock_wrlock(&steer_rw);
	LOCK();
	f(cmd);
	UNLOCK();
	if (exclusive) pthread_rwlock_unlock(&steer_rw);
	return 1;
}

int main(int argc, char **argv)
{
	const char *why = setup_kernel();
	if (argc > 1 && !strcmp(argv[1], "--probe")) {
		printf("%s\n", why ? why : "ok");
		return why ? 1 : 0;
	}
	if (why) {
		snprintf(kernel_unusable, sizeof kernel_unusable, "%s", why);
		logf_("%s", why);
	}
	serve(do_init, run);
	close_everything();
	if (syn_total) logf_("%ld of %ld observed SYNs ran on another CPU than their client", syn_elsewhere, syn_total);
	log_overlaps();
	if (obs) observe__destroy(obs);
	return 0;
}

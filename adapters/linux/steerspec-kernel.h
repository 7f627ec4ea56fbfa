/* What the kernel helpers share beyond steerspec/1 (steerspec-io.h): their own network namespace with
 * loopback up, pinning, client sockets on ports of their own (a port names a connection), connections and
 * accepting them, closing with a RST, and reading the accept queues through queues.bpf.h's iterator.
 * Include after steerspec-io.h and <bpf/libbpf.h>, with CLIENT_PORTS_FROM defined. */
#pragma once
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int online_cpus;

/* Concurrent runs (docs/kernel.md, "Concurrent runs"). `state_mu` guards the helper's own tables (listeners,
 * connections, the program's tables as the control plane keeps them); it is never held across a connect().
 * `steer_rw`: a connect holds it shared from its socket to its outcome; a deregister takes it exclusively
 * only when its close may touch a child that no program names to it (the helper's `dereg_can_race` says
 * when), since such a child's connect could not be told apart from one that came later. Lock order:
 * steer_rw, then state_mu. */
static pthread_mutex_t state_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t steer_rw = PTHREAD_RWLOCK_INITIALIZER;
#define LOCK() pthread_mutex_lock(&state_mu)
#define UNLOCK() pthread_mutex_unlock(&state_mu)

/* TCP over IPv6 (::1) instead of IPv4 (127.0.0.1). */
static int cfg_ipv6;

/* close() that sends a RST instead of a FIN, so nothing lingers in TIME_WAIT. */
static void abort_close(int fd)
{
	if (fd < 0) return;
	struct linger lg = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (cpu >= 0) CPU_SET(cpu, &set);
	else
		for (int c = 0; c < online_cpus && c < CPU_SETSIZE; c++) CPU_SET(c, &set);
	if (sched_setaffinity(0, sizeof set, &set) < 0) logf_("sched_setaffinity(%d): %s", cpu, strerror(errno));
}

static int tcp_state_of(int fd)
{
	struct tcp_info info;
	socklen_t len = sizeof info;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0) return -1;
	return info.tcpi_state;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Branch connects, and how many began their connect() while another branch's connect() was in the kernel
 * (`overlapped`), that one pinned to another CPU (`cross_cpu`): two SYNs steered on two CPUs at once. */
static unsigned long connect_cpus_in_flight; /* a bit per CPU with a branch connect() in the kernel */
static int connects_in_flight;
static long connects_total, connects_overlapped, connects_cross_cpu;
/* Branch connects between their connect() and their outcome (a deregister racing one of them counts). */
static int connects_active;
static __thread int connect_active_owed;
/* STEERSPEC_FORCE_DEREGISTER_RACE=1 (properties/kernel-parallel.test.ts): a branch deregister waits for a
 * branch connect to be established, and that connect waits for the close before it reads the queues, so
 * the close takes a child of a connect in flight whenever its SYN chose the closing listener. Each wait
 * is at most 200 ms and inside its command's own call, which any linearization allows. */
static int force_dereg_race = -1;
static int connects_established, deregister_closes;
static __thread int established_owed;
static int forcing(void)
{
	if (force_dereg_race < 0) force_dereg_race = getenv("STEERSPEC_FORCE_DEREGISTER_RACE") && !strcmp(getenv("STEERSPEC_FORCE_DEREGISTER_RACE"), "1");
	return force_dereg_race && reply_id >= 0;
}
static void wait_until_changes(int *counter, int from, double seconds, const char *what)
{
	double until = now_s() + seconds;
	while (__atomic_load_n(counter, __ATOMIC_SEQ_CST) == from && now_s() < until) sleep_us(50);
	if (__atomic_load_n(counter, __ATOMIC_SEQ_CST) == from) logf_("forced deregister race: waited %.0f ms for %s in vain", seconds * 1e3, what);
}
/* Right before a branch's connect(): if another branch's connect is on its way, wait for it (at most
 * 300 us) so the two SYNs go out together. Only delays a command inside its own call, which any
 * linearization allows; it makes overlapping connect() calls more frequent. Returns the CPU bit to clear. */
static unsigned long connect_begin(void)
{
	if (!rendezvous_owed) return 0; /* a sequential connect: nothing to race */
	rendezvous_done();
	double until = now_s() + 300e-6;
	while (__atomic_load_n(&connects_waiting, __ATOMIC_SEQ_CST) > 0 && now_s() < until) sched_yield();
	int cpu = sched_getcpu();
	unsigned long bit = cpu >= 0 && cpu < 64 ? 1UL << cpu : 0;
	unsigned long others = __atomic_fetch_or(&connect_cpus_in_flight, bit, __ATOMIC_SEQ_CST) & ~bit;
	__atomic_fetch_add(&connects_total, 1, __ATOMIC_SEQ_CST);
	if (__atomic_fetch_add(&connects_in_flight, 1, __ATOMIC_SEQ_CST) > 0) __atomic_fetch_add(&connects_overlapped, 1, __ATOMIC_SEQ_CST);
	if (others) __atomic_fetch_add(&connects_cross_cpu, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&connects_active, 1, __ATOMIC_SEQ_CST);
	connect_active_owed = 1;
	return bit | (1UL << 63); /* the top bit: a branch connect, counted in flight */
}
/* After a connect's outcome is known (run() calls it once the command is done). */
static void connect_answered(void)
{
	if (connect_active_owed) __atomic_fetch_sub(&connects_active, 1, __ATOMIC_SEQ_CST);
	if (established_owed) __atomic_fetch_sub(&connects_established, 1, __ATOMIC_SEQ_CST);
	connect_active_owed = established_owed = 0;
}
/* Right after a branch connect() succeeded, before the queues are read: forced, wait for a deregister's close. */
static void connect_established(void)
{
	if (!forcing()) return;
	int closes = __atomic_load_n(&deregister_closes, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&connects_established, 1, __ATOMIC_SEQ_CST);
	established_owed = 1;
	wait_until_changes(&deregister_closes, closes, 0.2, "a deregister's close");
}
static void connect_end(unsigned long began)
{
	if (!began) return;
	__atomic_fetch_and(&connect_cpus_in_flight, ~(began & ~(1UL << 63)), __ATOMIC_SEQ_CST);
	__atomic_fetch_sub(&connects_in_flight, 1, __ATOMIC_SEQ_CST);
}
/* Branch deregisters; those that let connects run beside them (`raced`), of those the ones whose close
 * ran while a branch connect was between its connect() and its outcome (`overlapped`), and the children of
 * connects still in flight that a close re-steered or reset and its deregister listed. */
static long deregisters_total, deregisters_raced, deregisters_overlapped, inflight_listed;
static void log_overlaps(void)
{
	if (requests_total)
		logf_("concurrent: %ld of %ld branch requests began while another branch's was being handled; %ld of %ld branch connect() calls began while another's was in the kernel, %ld of them pinned to another CPU; %ld of %ld branch deregisters ran beside connects, %ld of them closed their listener while a branch connect was in flight, listing %ld children of connects still in flight", requests_overlapped, requests_total, connects_overlapped, connects_total, connects_cross_cpu, deregisters_raced, deregisters_total, deregisters_overlapped, inflight_listed);
}

/* Before a branch deregister: wait (at most 300 us in all) for another branch's connect to be handed over
 * (the oracle sends the branches' requests one after another) and to reach connect(), so the close and
 * the SYN are in the kernel together. Like connect_begin's wait, only a delay inside the command's own
 * call. Holds no lock (the connect takes state_mu on its way). */
static void deregister_rendezvous(void)
{
	if (reply_id < 0) return;
	if (forcing()) wait_until_changes(&connects_established, 0, 0.2, "a connect to be established");
	double until = now_s() + 300e-6;
	while (!__atomic_load_n(&connects_waiting, __ATOMIC_SEQ_CST) && !__atomic_load_n(&connects_active, __ATOMIC_SEQ_CST) && now_s() < until) sched_yield();
	while (__atomic_load_n(&connects_waiting, __ATOMIC_SEQ_CST) > 0 && now_s() < until) sched_yield();
}

/* A deregister, run beside connects when `can_race()` says so (under state_mu): 1 when it ran, else 0 and
 * the caller runs it holding steer_rw exclusively. */
static int deregister_beside_connects(struct jv *cmd, int (*can_race)(void), void (*racing)(struct jv *cmd))
{
	deregister_rendezvous();
	LOCK();
	int ran = can_race();
	if (ran) racing(cmd);
	UNLOCK();
	return ran;
}

/* A deregister's close() of its listener, counted (see log_overlaps). Racing, it first lets the branch
 * connect() calls in the kernel return (at most 2 ms): an ACK that passed the listener's LISTEN check
 * before the close makes a child the kernel then finds no queue for and resets, with no program run
 * (inet_csk_reqsk_queue_add) — Linux's migration is best-effort there, the specs do not model it, and
 * the connect could only be answered `unobservable`. The connects' children (queued by the time
 * connect() returns on loopback) still meet the close before their connects answer. */
static void close_listener(int fd, int racing)
{
	double until = now_s() + 2e-3;
	while (racing && __atomic_load_n(&connects_in_flight, __ATOMIC_SEQ_CST) > 0 && now_s() < until) sched_yield();
	long began = __atomic_load_n(&connects_total, __ATOMIC_SEQ_CST);
	int active = __atomic_load_n(&connects_active, __ATOMIC_SEQ_CST);
	close(fd);
	if (reply_id < 0) return; /* the prefix: nothing runs beside it */
	__atomic_fetch_add(&deregister_closes, 1, __ATOMIC_SEQ_CST);
	deregisters_total++;
	if (!racing) return;
	deregisters_raced++;
	if (active > 0 || __atomic_load_n(&connects_active, __ATOMIC_SEQ_CST) > 0 || __atomic_load_n(&connects_total, __ATOMIC_SEQ_CST) != began) deregisters_overlapped++;
}

/* The loopback address of the configured family, on `port`. */
static socklen_t loopback(struct sockaddr_storage *a, uint16_t port)
{
	memset(a, 0, sizeof *a);
	if (cfg_ipv6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)a;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		s->sin6_addr = in6addr_loopback;
		return sizeof *s;
	}
	struct sockaddr_in *s = (struct sockaddr_in *)a;
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof *s;
}

static uint16_t port_of(const struct sockaddr_storage *a)
{
	return ntohs(a->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)a)->sin6_port : ((const struct sockaddr_in *)a)->sin_port);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* Own network namespace, loopback up: 0, or 1 with `why` filled in. */
static int netns_up(char *why, size_t size)
{
	/* Twice: the first namespace asks for its children to get a TCP hash table of their own
	 * (tcp_child_ehash_entries, Linux 6.1+), so the accept-queue iterator walks 1024 buckets, not the
	 * host's whole table (262144 here: milliseconds per dump). Where that is not there, one namespace. */
	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(why, size, "unshare(CLONE_NEWNET): %s (needs root or CAP_SYS_ADMIN)", strerror(errno));
		return 1;
	}
	if (write_file("/proc/sys/net/ipv4/tcp_child_ehash_entries", "1024") == 0 && unshare(CLONE_NEWNET) < 0) {
		snprintf(why, size, "unshare(CLONE_NEWNET) with a TCP hash table of its own: %s", strerror(errno));
		return 1;
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		snprintf(why, size, "SIOCGIFFLAGS lo: %s", strerror(errno));
		return 1;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		snprintf(why, size, "SIOCSIFFLAGS lo up: %s", strerror(errno));
		return 1;
	}
	close(s);
	return 0;
}

/* How many CPUs, from 0 on, this process may pin to: 0, or 1 with `why` filled in. */
static int count_cpus(char *why, size_t size)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0) {
		online_cpus = 0;
		while (online_cpus < CPU_SETSIZE && CPU_ISSET(online_cpus, &set)) online_cpus++;
	}
	if (online_cpus < 1) {
		snprintf(why, size, "no usable CPU in this process's affinity mask");
		return 1;
	}
	return 0;
}

/* The last dump of every listener's accept queue (queues.bpf.h's iterator): children in queue order. */
struct queued_child {
	uint32_t mark;
	uint16_t port;
};
/* Per thread: each worker reads the queues itself. */
static __thread struct queued_child *dumped;
static __thread int ndumped, capdumped;

/* Reads every accept queue of this namespace afresh through the iterator `link`; -1 (and a log) when it fails. */
static int dump_queues(struct bpf_link *link)
{
	int fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		logf_("bpf_iter_create: %s", strerror(errno));
		return -1;
	}
	static __thread char *text;
	static __thread size_t cap;
	size_t len = 0;
	for (;;) {
		if (len + 4096 > cap) text = realloc(text, cap = cap ? cap * 2 : 65536);
		ssize_t n = read(fd, text + len, cap - len - 1);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) break;
		len += (size_t)n;
	}
	close(fd);
	text[len] = '\0';
	ndumped = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next) *next++ = '\0';
		unsigned mark, port;
		if (sscanf(line, "%u %u", &mark, &port) != 2) {
			logf_("accept-queue dump: %s", line);
			continue;
		}
		if (ndumped == capdumped) dumped = realloc(dumped, (capdumped = capdumped ? capdumped * 2 : 256) * sizeof *dumped);
		dumped[ndumped++] = (struct queued_child){ mark, (uint16_t)port };
	}
	return 0;
}

/* Where `port`'s child stood in the last dump (accept queues in order), or INT32_MAX. */
static int queue_position(uint16_t port)
{
	for (int i = 0; i < ndumped; i++)
		if (dumped[i].port == port) return i;
	return INT32_MAX;
}

/* The mark of the listener whose accept queue held `port`'s child in the last dump, or 0. */
static uint32_t queued_mark(uint16_t port)
{
	for (int i = 0; i < ndumped; i++)
		if (dumped[i].port == port) return dumped[i].mark;
	return 0;
}

/* ------------------------------------------------------------------ connections (define CLIENT_PORTS_FROM first) */

/* PENDING: its connect has not answered yet (an accept racing it may take its child first). */
enum cstate { PENDING, QUEUED, ACCEPTED };

struct conn {
	int used;
	long id;
	enum cstate state;
	long listener;     /* id of the listener it is queued at; once accepted, the helper says (reuserps: -1 once that listener left) */
	long seq;          /* when it entered its listener's accept queue: orders that queue */
	int first_entry;   /* while connecting: the listener entry whose queue an accept or a deregister's close took its child from, else -1 */
	int gone;          /* while connecting: a deregister's close reset its child (the deregister listed it) */
	int client;        /* client socket */
	int child;         /* accepted child socket, -1 while queued */
	uint16_t port;     /* the client's port, which names it on the server side */
};

/* A fixed array: a worker keeps a pointer into it across a connect() while another adds connections. */
#define MAX_CONNS 8192
static struct conn conns[MAX_CONNS];
static int nconns;

/* A connection whose connect has answered (`pending` too: also one still connecting). */
static struct conn *find_conn_(long id, int pending)
{
	for (int i = 0; i < nconns; i++)
		if (conns[i].used && conns[i].id == id && (pending || conns[i].state != PENDING)) return &conns[i];
	return NULL;
}
#define find_conn(id) find_conn_(id, 0)

/* Under state_mu: whether connection `id` is open, for a connect's duplicate-conn. Another branch's
 * connect of the same id still in flight is waited for (at most 2 s, state_mu released meanwhile): its
 * outcome decides, since a refused or reset one leaves the id free. */
static int conn_open_after_pending(long id)
{
	double until = now_s() + 2.0;
	struct conn *c;
	while ((c = find_conn_(id, 1)) && c->state == PENDING && now_s() < until) {
		UNLOCK();
		sleep_us(20);
		LOCK();
	}
	return c != NULL;
}

static struct conn *conn_by_port(uint16_t port)
{
	for (int i = 0; i < nconns; i++)
		if (conns[i].used && conns[i].port == port) return &conns[i];
	return NULL;
}

static struct conn *new_conn(void)
{
	for (int i = 0; i < nconns; i++)
		if (!conns[i].used) return &conns[i];
	if (nconns == MAX_CONNS) die("more than MAX_CONNS connections at once");
	return &conns[nconns++];
}

/* A connection known by its port before its SYN, so an accept or a deregister racing its connect can tell
 * whose child it took. Under state_mu. */
static struct conn *pending_conn(long id, int client, uint16_t port)
{
	struct conn *c = new_conn();
	*c = (struct conn){ .used = 1, .id = id, .state = PENDING, .listener = -1, .first_entry = -1, .client = client, .child = -1, .port = port };
	return c;
}

/* Accepts one child of the listening socket `fd` that belongs to an open connection: returns it, or NULL when the kernel
 * queue is empty. Ghosts (children whose client was closed while they waited) are closed on the way. */
static struct conn *accept_one(int fd, long listener, int *child_out)
{
	for (;;) {
		int child = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (child < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) logf_("accept on listener %ld: %s", listener, strerror(errno));
			return NULL;
		}
		struct sockaddr_storage peer;
		socklen_t len = sizeof peer;
		struct conn *c = NULL;
		if (getpeername(child, (struct sockaddr *)&peer, &len) == 0) c = conn_by_port(port_of(&peer));
		if (c && c->state != ACCEPTED) {
			*child_out = child;
			return c;
		}
		if (c) logf_("child of connection %ld came out of listener %ld after it was accepted", c->id, listener);
		abort_close(child); /* a ghost */
	}
}

/* A socket bound to the next free client port of ours, or -1; a port names one connection for a long while. */
/* Client ports run from CLIENT_PORTS_FROM up to 65000. */
static uint16_t next_client_port = CLIENT_PORTS_FROM;

static int client_socket(uint16_t *port_out)
{
	int fd = socket(cfg_ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	for (int tries = 0; tries < 30000; tries++) {
		uint16_t port = next_client_port++;
		if (next_client_port >= 65000) next_client_port = CLIENT_PORTS_FROM;
		if (conn_by_port(port)) continue;
		struct sockaddr_storage c;
		socklen_t clen = loopback(&c, port);
		if (bind(fd, (struct sockaddr *)&c, clen) == 0) {
			*port_out = port;
			return fd;
		}
	}
	close(fd);
	errno = EADDRINUSE;
	return -1;
}

/* The start every connect shares: the worker pinned to the connect's CPU, its id and CPU (of `cpus`)
 * checked, a client socket bound to a port of its own, the connection known by that port (PENDING).
 * Returns it with its socket in *fd, or NULL once the failure has been replied. */
static struct conn *begin_connect(long id, long cpu, int cpus, int *fd, uint16_t *port)
{
	pin(cpu >= 0 && cpu < cpus ? (int)cpu : -1);
	LOCK();
	if (conn_open_after_pending(id)) return UNLOCK(), reply_fail("duplicate-conn"), NULL;
	if (cpu < 0 || cpu >= cpus) return UNLOCK(), reply_fail("bad-cpu"), NULL;
	*fd = client_socket(port);
	if (*fd < 0) return UNLOCK(), reply_error("bad-command", "no client socket: %s", strerror(errno)), NULL;
	struct conn *c = pending_conn(id, *fd, *port);
	UNLOCK();
	return c;
}

/* Orders each listener's accept queue as the helper knows it. */
static long seq_counter;

static int by_seq(const void *a, const void *b)
{
	const struct conn *x = *(struct conn *const *)a, *y = *(struct conn *const *)b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A listener's queued connections in the kernel's queue order: two connects that raced may have been
 * recorded (seq) in the other order than their children were queued. Reads the queues afresh. */
static void sort_as_queued(struct bpf_link *dump, struct conn **queued, int nq)
{
	qsort(queued, nq, sizeof *queued, by_seq);
	if (nq < 2 || dump_queues(dump) < 0) return;
	for (int i = 1; i < nq; i++) /* insertion sort by queue position; stable, so seq breaks ties */
		for (int k = i; k > 0 && queue_position(queued[k - 1]->port) > queue_position(queued[k]->port); k--) {
			struct conn *t = queued[k - 1];
			queued[k - 1] = queued[k];
			queued[k] = t;
		}
}


/* accept on listener `id` (socket `fd`, the helper's listener entry `entry`): the oldest open connection
 * queued there, or conn null. */
static void accept_and_reply(int fd, long id, int entry)
{
	int child = -1;
	struct conn *c = accept_one(fd, id, &child);
	if (!c) {
		out("{\"ok\":true,\"conn\":null}");
		return reply();
	}
	/* Still connecting: this accept took its child first, which says where the kernel queued it (unless a
	 * deregister's close had already moved it here: then it entered that listener's queue first). */
	if (c->state == PENDING) {
		c->listener = id;
		if (c->first_entry < 0) c->first_entry = entry;
	}
	else if (c->listener != id) logf_("connection %ld was thought queued at %ld, accepted from %ld", c->id, c->listener, id);
	c->child = child;
	c->state = ACCEPTED;
	out("{\"ok\":true,\"conn\":%ld}", c->id);
	reply();
}

/* After a listener closed: where each of its `nq` queued connections went, by the accept queues
 * (`marks[k]`, 0 for none) or by its client seeing the RST (`is_reset[k]`). Replies with the deregister
 * outcome, listener ids from `id_of(mark)`, or "unobservable" when some connection is neither. */
static int settle_and_reply(struct bpf_link *dump, struct conn **queued, int nq, uint32_t *marks, int *is_reset, long (*id_of)(uint32_t mark), long leaving)
{
	int unresolved;
	double deadline = now_s() + 1.0;
	for (;;) {
		unresolved = 0;
		if (dump_queues(dump) < 0) ndumped = 0;
		for (int k = 0; k < nq; k++) {
			marks[k] = queued_mark(queued[k]->port);
			if (marks[k] && id_of(marks[k]) < 0) marks[k] = 0; /* not a member of ours */
			is_reset[k] = !marks[k] && tcp_state_of(queued[k]->client) == TCP_CLOSE;
			unresolved += !marks[k] && !is_reset[k];
		}
		if (!unresolved || now_s() > deadline) break;
		sleep_us(50);
	}
	if (unresolved) {
		reply_error("unobservable", "%d connections of listener %ld were neither reset nor seen queued again", unresolved, leaving);
		return -1;
	}
	out("{\"ok\":true,\"migrated\":[");
	for (int k = 0, first = 1; k < nq; k++)
		if (marks[k]) {
			out("%s[%ld,%ld]", first ? "" : ",", queued[k]->id, id_of(marks[k]));
			first = 0;
		}
	out("],\"reset\":[");
	for (int k = 0, first = 1; k < nq; k++)
		if (is_reset[k]) {
			out("%s%ld", first ? "" : ",", queued[k]->id);
			first = 0;
		}
	out("]}");
	reply();
	return 0;
}

/* The connections a listener's close took from its queue, in the order it took them: `cands` are those
 * queued there (in queue order) and, when connects race the close, those still connecting. `moved(port,
 * &seq)` says whether this close re-steered or dropped that port's child (the program's record, `seq`
 * its place among the program's runs): the kernel takes the queue in order, so that order is the
 * queue's. A queued connection without a record stays, after the others (its client may have seen the
 * RST); a connecting one without a record was not in the queue. Returns how many went into `out`. */
static int taken_by_close(struct conn **cands, int n, int (*moved)(uint16_t port, uint64_t *seq), struct conn **out)
{
	uint64_t seqs[n > 0 ? n : 1];
	int nout = 0, nrec = 0;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			uint64_t seq = 0;
			int has = moved(cands[i]->port, &seq);
			if (pass == 0 && has) { /* insertion by the program's order */
				int k = nrec++;
				for (; k > 0 && seqs[k - 1] > seq; k--) out[k] = out[k - 1], seqs[k] = seqs[k - 1];
				out[k] = cands[i], seqs[k] = seq;
				nout++;
			} else if (pass == 1 && !has && cands[i]->state != PENDING) out[nout++] = cands[i];
		}
	return nout;
}

/* A connect's outcome, recorded under LOCK(): its child waits in `listener`'s queue, unless a racing
 * deregister reset it (listed there; its client closes now) or moved it (the deregister said where). */
static void record_connected(struct conn *c, int fd, long listener)
{
	if (c->gone) {
		abort_close(fd);
		c->used = 0;
	} else if (c->state == PENDING) {
		c->state = QUEUED;
		if (c->first_entry < 0) {
			c->listener = listener;
			c->seq = seq_counter++;
		}
	}
}

/* After a deregister replied: each connection it listed is queued at `target_id[k]` (-1: reset). A reset
 * one still connecting is dropped by its connect once it has answered (`gone`); one still connecting
 * answers with the listener whose queue it entered first, `leaving_entry` unless an earlier command
 * already took it from another. */
static void requeue_listed(struct conn **listed, int n, const long *target_id, int leaving_entry)
{
	for (int k = 0; k < n; k++) {
		struct conn *c = listed[k];
		if (c->state == PENDING) {
			inflight_listed++;
			if (c->first_entry < 0) c->first_entry = leaving_entry;
			if (target_id[k] < 0) c->gone = 1;
		} else if (target_id[k] < 0) {
			abort_close(c->client);
			c->used = 0;
		}
		if (target_id[k] >= 0) {
			c->listener = target_id[k];
			c->seq = seq_counter++;
		}
	}
}

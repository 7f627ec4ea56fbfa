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
 * `steer_rw`: a connect holds it shared from its socket to its outcome, a deregister exclusively, so a
 * child that lands on a closing listener is never seen only after its migration (its connect would then
 * name the listener it was migrated to). Lock order: steer_rw, then state_mu. */
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
	return bit | (1UL << 63); /* the top bit: a branch connect, counted in flight */
}
static void connect_end(unsigned long began)
{
	if (!began) return;
	__atomic_fetch_and(&connect_cpus_in_flight, ~(began & ~(1UL << 63)), __ATOMIC_SEQ_CST);
	__atomic_fetch_sub(&connects_in_flight, 1, __ATOMIC_SEQ_CST);
}
static void log_overlaps(void)
{
	if (requests_total)
		logf_("concurrent: %ld of %ld branch requests began while another branch's was being handled; %ld of %ld branch connect() calls began while another's was in the kernel, %ld of them pinned to another CPU", requests_overlapped, requests_total, connects_overlapped, connects_total, connects_cross_cpu);
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


/* accept on listener `id` (socket `fd`): the oldest open connection queued there, or conn null. */
static void accept_and_reply(int fd, long id)
{
	int child = -1;
	struct conn *c = accept_one(fd, id, &child);
	if (!c) {
		out("{\"ok\":true,\"conn\":null}");
		return reply();
	}
	/* Still connecting: this accept took its child first, which says where the kernel queued it. */
	if (c->state == PENDING) c->listener = id;
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

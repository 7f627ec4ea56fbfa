/*
 * steerspec-linux: the real Linux kernel as a steerspec/1 adapter for the linux-reuseport scheme.
 *
 * Newline-delimited JSON on stdin/stdout, logs on stderr. It runs in its own network namespace
 * (unshare(CLONE_NEWNET), loopback up) so net.ipv4.tcp_migrate_req and the port are its own, and
 * steers real TCP connections on 127.0.0.1 among real SO_REUSEPORT listeners:
 *   register       a listening socket (SO_REUSEADDR, SO_REUSEPORT, SO_INCOMING_CPU when asked, the cBPF
 *                  program `A = cpu; return A` when configured), created with fsuid = uid so the kernel
 *                  applies its same-uid rule itself (bind() fails with EADDRINUSE: uid-mismatch);
 *   connect        from the main thread pinned to the CPU (sched_setaffinity); the listener that got the
 *                  connection is the one whose accept queue grew (TCP_INFO on a listener reports its
 *                  accept-queue length in tcpi_unacked) — nothing is accepted;
 *   accept         accept() and getpeername(): the client's port names the connection;
 *   close          closes both ends with SO_LINGER 0; a connection still in a kernel accept queue stays
 *                  there as a "ghost" (accept skips it later: its peer reset it, getpeername fails);
 *   deregister     close() of the listener from a thread pinned to `cpu`; then each queued connection
 *                  was reset (its client sees the RST: TCP_INFO state CLOSE) or migrated: to the only
 *                  listener whose queue grew, or, when several grew, found by draining all but one of
 *                  them into user-space FIFOs (see the README's linux-reuseport section for what that costs).
 * Build: sh adapters/linux/build.sh. `steerspec-linux --probe` prints "ok" or why the kernel can't be used.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_INCOMING_CPU
#define SO_INCOMING_CPU 49
#endif
#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

/* ------------------------------------------------------------------ small strict JSON reader */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
struct jv {
	enum jtype type;
	double num;
	int boolean;
	char *str;
	int n;            /* items or members */
	char **keys;      /* J_OBJ */
	struct jv *items; /* J_ARR, J_OBJ values */
};

struct jparser {
	const char *p;
	const char *err;
	int depth;
};

static void jfree(struct jv *v)
{
	if (v->type == J_STR) free(v->str);
	if (v->type == J_ARR || v->type == J_OBJ) {
		for (int i = 0; i < v->n; i++) {
			jfree(&v->items[i]);
			if (v->keys) free(v->keys[i]);
		}
		free(v->items);
		free(v->keys);
	}
	memset(v, 0, sizeof *v);
}

static void jws(struct jparser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n') ps->p++;
}

static int jvalue(struct jparser *ps, struct jv *out);

static char *jstring(struct jparser *ps)
{
	/* ps->p at the opening quote. Escapes: \" \\ \/ \b \f \n \r \t, \u00XX only. */
	size_t cap = 16, len = 0;
	char *s = malloc(cap);
	ps->p++;
	for (;;) {
		char c = *ps->p++;
		if (c == '\0' || (unsigned char)c < 0x20) { ps->err = "unterminated or raw control character in string"; free(s); return NULL; }
		if (c == '"') break;
		if (c == '\\') {
			char e = *ps->p++;
			switch (e) {
			case '"': case '\\': case '/': c = e; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				unsigned v;
				if (sscanf(ps->p, "%4x", &v) != 1 || v > 0x7f) { ps->err = "only \\u00XX escapes are supported"; free(s); return NULL; }
				ps->p += 4;
				c = (char)v;
				break;
			}
			default: ps->err = "bad escape"; free(s); return NULL;
			}
		}
		if (len + 2 > cap) s = realloc(s, cap *= 2);
		s[len++] = c;
	}
	s[len] = '\0';
	return s;
}

static int jvalue(struct jparser *ps, struct jv *out)
{
	memset(out, 0, sizeof *out);
	if (++ps->depth > 8) { ps->err = "nested too deep"; return -1; }
	jws(ps);
	const char *p = ps->p;
	int rc = 0;
	if (*p == '{' || *p == '[') {
		int obj = *p == '{';
		char close = obj ? '}' : ']';
		out->type = obj ? J_OBJ : J_ARR;
		ps->p++;
		jws(ps);
		if (*ps->p == close) { ps->p++; goto done; }
		for (;;) {
			int cap = out->n + 1;
			out->items = realloc(out->items, cap * sizeof *out->items);
			memset(&out->items[out->n], 0, sizeof *out->items);
			if (obj) {
				out->keys = realloc(out->keys, cap * sizeof *out->keys);
				out->keys[out->n] = NULL;
			}
			struct jv *slot = &out->items[out->n];
			out->n++;
			if (obj) {
				jws(ps);
				if (*ps->p != '"') { ps->err = "expected a key"; goto fail; }
				char *k = jstring(ps);
				if (!k) goto fail;
				for (int i = 0; i < out->n - 1; i++)
					if (!strcmp(out->keys[i], k)) { free(k); ps->err = "duplicate key"; goto fail; }
				out->keys[out->n - 1] = k;
				jws(ps);
				if (*ps->p++ != ':') { ps->err = "expected ':'"; goto fail; }
			}
			if (jvalue(ps, slot) < 0) goto fail;
			jws(ps);
			if (*ps->p == ',') { ps->p++; continue; }
			if (*ps->p == close) { ps->p++; break; }
			ps->err = obj ? "expected ',' or '}'" : "expected ',' or ']'";
			goto fail;
		}
	} else if (*p == '"') {
		out->type = J_STR;
		out->str = jstring(ps);
		if (!out->str) { out->type = J_NULL; rc = -1; }
	} else if (!strncmp(p, "true", 4)) { out->type = J_BOOL; out->boolean = 1; ps->p += 4; }
	else if (!strncmp(p, "false", 5)) { out->type = J_BOOL; ps->p += 5; }
	else if (!strncmp(p, "null", 4)) { out->type = J_NULL; ps->p += 4; }
	else if (*p == '-' || (*p >= '0' && *p <= '9')) {
		char *end;
		out->type = J_NUM;
		out->num = strtod(p, &end);
		if (end == p) { ps->err = "bad number"; rc = -1; }
		ps->p = end;
	} else { ps->err = "unexpected character"; rc = -1; }
done:
	ps->depth--;
	return rc;
fail:
	ps->depth--;
	return -1;
}

/* Parses one whole line; NULL and *err set when it is not exactly one JSON object. */
static int jparse_line(const char *line, struct jv *out, const char **err)
{
	struct jparser ps = { line, NULL, 0 };
	if (jvalue(&ps, out) < 0) { *err = ps.err ? ps.err : "bad JSON"; jfree(out); return -1; }
	jws(&ps);
	if (*ps.p) { *err = "trailing characters"; jfree(out); return -1; }
	if (out->type != J_OBJ) { *err = "not an object"; jfree(out); return -1; }
	return 0;
}

static struct jv *jget(struct jv *obj, const char *key)
{
	for (int i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key)) return &obj->items[i];
	return NULL;
}

/* ------------------------------------------------------------------ replies and logs */

static char out_buf[1 << 16];
static size_t out_len;

static void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out_buf + out_len, sizeof out_buf - out_len, fmt, ap);
	va_end(ap);
	if (n > 0) out_len += (size_t)n;
	if (out_len >= sizeof out_buf) out_len = sizeof out_buf - 1;
}

static void reply(void)
{
	fwrite(out_buf, 1, out_len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	out_len = 0;
}

static void logf_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("steerspec-linux: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* A message safe inside a JSON string (no quotes or backslashes in what we print). */
static void reply_error(const char *error, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *c = msg; *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) *c = '\'';
	out("{\"ok\":false,\"error\":\"%s\",\"message\":\"%s\"}", error, msg);
	reply();
}

static void reply_fail(const char *error)
{
	out("{\"ok\":false,\"error\":\"%s\"}", error);
	reply();
}

/* ------------------------------------------------------------------ the kernel side */

enum cstate { QUEUED_KERNEL, QUEUED_USER, ACCEPTED };

struct conn {
	int used;
	long id;
	enum cstate state;
	long listener;     /* id of the listener it is queued at (meaningless once accepted) */
	long seq;          /* when it entered its listener's kernel queue: orders that queue */
	int client;        /* client socket */
	int child;         /* accepted child socket, -1 while in a kernel queue */
	uint16_t port;     /* the client's port, which names it on the server side */
};

struct listener {
	int used;
	long id;
	int fd;
	long uid;
	int incoming_cpu;
	long *fifo;        /* user-space FIFO: connection ids drained from the kernel queue, oldest first */
	int fifo_len, fifo_cap;
};

static struct conn *conns;
static int nconns, capconns;
/* Listener ids in the order they registered (not the kernel's socks order, which we never need). */
static struct listener *listeners;
static int nlisteners, caplisteners;

static int cfg_cpus, cfg_migrate, cfg_program_cpu;
static int online_cpus;
static uint16_t server_port = 20000;
static uint16_t next_client_port = 30000;
static long seq_counter;
static char kernel_unusable[256];

static struct listener *find_listener(long id)
{
	for (int i = 0; i < nlisteners; i++)
		if (listeners[i].used && listeners[i].id == id) return &listeners[i];
	return NULL;
}

static struct conn *find_conn(long id)
{
	for (int i = 0; i < nconns; i++)
		if (conns[i].used && conns[i].id == id) return &conns[i];
	return NULL;
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
	if (nconns == capconns) {
		capconns = capconns ? capconns * 2 : 64;
		conns = realloc(conns, capconns * sizeof *conns);
	}
	return &conns[nconns++];
}

static struct listener *new_listener(void)
{
	for (int i = 0; i < nlisteners; i++)
		if (!listeners[i].used) return &listeners[i];
	if (nlisteners == caplisteners) {
		caplisteners = caplisteners ? caplisteners * 2 : 16;
		listeners = realloc(listeners, caplisteners * sizeof *listeners);
	}
	memset(&listeners[nlisteners], 0, sizeof *listeners);
	return &listeners[nlisteners++];
}

static void fifo_push(struct listener *l, long conn)
{
	if (l->fifo_len == l->fifo_cap) {
		l->fifo_cap = l->fifo_cap ? l->fifo_cap * 2 : 16;
		l->fifo = realloc(l->fifo, l->fifo_cap * sizeof *l->fifo);
	}
	l->fifo[l->fifo_len++] = conn;
}

static void fifo_remove(struct listener *l, long conn)
{
	for (int i = 0; i < l->fifo_len; i++)
		if (l->fifo[i] == conn) {
			memmove(&l->fifo[i], &l->fifo[i + 1], (l->fifo_len - i - 1) * sizeof *l->fifo);
			l->fifo_len--;
			return;
		}
}

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

/* The accept-queue length of a listening socket (tcp_get_info: tcpi_unacked = sk_ack_backlog). */
static int backlog_of(int fd)
{
	struct tcp_info info;
	socklen_t len = sizeof info;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0) return -1;
	return (int)info.tcpi_unacked;
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

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int set_incoming_cpu(int fd, int cpu)
{
	return setsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, sizeof cpu);
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

/* Accepts one child of `l` that belongs to an open connection: returns it, or NULL when the kernel
 * queue is empty. Ghosts (children whose client was closed while they waited) are closed on the way. */
static struct conn *accept_one(struct listener *l, int *child_out)
{
	for (;;) {
		int child = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (child < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) logf_("accept on listener %ld: %s", l->id, strerror(errno));
			return NULL;
		}
		struct sockaddr_in peer;
		socklen_t len = sizeof peer;
		struct conn *c = NULL;
		if (getpeername(child, (struct sockaddr *)&peer, &len) == 0) c = conn_by_port(ntohs(peer.sin_port));
		if (c && c->state == QUEUED_KERNEL) {
			*child_out = child;
			return c;
		}
		if (c) logf_("child of connection %ld came out of listener %ld while it was %s", c->id, l->id, c->state == ACCEPTED ? "accepted" : "in a user-space queue");
		abort_close(child); /* a ghost */
	}
}

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
			free(listeners[i].fifo);
			memset(&listeners[i], 0, sizeof listeners[i]);
		}
	nconns = 0;
	nlisteners = 0;
}

/* ------------------------------------------------------------------ commands */

static int num_field(struct jv *cmd, const char *key, long *out, int required)
{
	struct jv *v = jget(cmd, key);
	if (!v) return required ? -1 : 0;
	if (v->type != J_NUM || v->num != (double)(long)v->num) return -1;
	*out = (long)v->num;
	return 1;
}

static void do_register(struct jv *cmd)
{
	long id, uid, incoming = -1;
	if (num_field(cmd, "listener", &id, 1) < 0 || num_field(cmd, "uid", &uid, 1) < 0 || num_field(cmd, "incomingCpu", &incoming, 0) < 0) {
		reply_error("bad-command", "register needs listener, uid and an optional incomingCpu");
		return;
	}
	if (find_listener(id)) return reply_fail("duplicate-listener");
	if (incoming >= cfg_cpus) return reply_fail("bad-cpu");

	/* The socket's owner is the fsuid at creation (sock_alloc), which bind() compares (same-uid rule). */
	setfsuid((uid_t)uid);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setfsuid(0);
	if (fd < 0) return reply_error("bad-command", "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (incoming >= 0 && set_incoming_cpu(fd, (int)incoming) < 0) {
		close(fd);
		return reply_error("bad-command", "SO_INCOMING_CPU: %s", strerror(errno));
	}
	struct sockaddr_in a = loopback(server_port);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int e = errno;
		close(fd);
		if (e == EADDRINUSE) return reply_fail("uid-mismatch");
		return reply_error("bad-command", "bind: %s", strerror(e));
	}
	if (listen(fd, 4096) < 0) {
		close(fd);
		return reply_error("bad-command", "listen: %s", strerror(errno));
	}
	if (cfg_program_cpu && attach_cpu_program(fd) < 0) {
		close(fd);
		return reply_error("bad-command", "SO_ATTACH_REUSEPORT_CBPF: %s", strerror(errno));
	}
	struct listener *l = new_listener();
	l->used = 1;
	l->id = id;
	l->fd = fd;
	l->uid = uid;
	l->incoming_cpu = (int)incoming;
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
	l->incoming_cpu = (int)cpu;
	out("{\"ok\":true}");
	reply();
}

static void do_connect(struct jv *cmd)
{
	long id, cpu;
	if (num_field(cmd, "conn", &id, 1) < 0 || num_field(cmd, "cpu", &cpu, 1) < 0) {
		reply_error("bad-command", "connect needs conn and cpu");
		return;
	}
	if (find_conn(id)) return reply_fail("duplicate-conn");
	if (cpu < 0 || cpu >= cfg_cpus) return reply_fail("bad-cpu");

	int before[nlisteners > 0 ? nlisteners : 1];
	for (int i = 0; i < nlisteners; i++) before[i] = listeners[i].used ? backlog_of(listeners[i].fd) : -1;

	pin((int)cpu);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) return reply_error("bad-command", "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* Our own client ports, in turn, so a port names one connection for a long while. */
	uint16_t port = 0;
	for (int tries = 0; tries < 30000; tries++) {
		port = next_client_port++;
		if (next_client_port >= 60000) next_client_port = 30000;
		struct sockaddr_in c = loopback(port);
		if (conn_by_port(port)) continue;
		if (bind(fd, (struct sockaddr *)&c, sizeof c) == 0) break;
		port = 0;
	}
	if (!port) { close(fd); return reply_error("bad-command", "no free client port"); }
	struct sockaddr_in srv = loopback(server_port);
	if (connect(fd, (struct sockaddr *)&srv, sizeof srv) < 0) {
		int e = errno;
		abort_close(fd);
		if (e == ECONNREFUSED) return reply_fail("refused");
		return reply_error("bad-command", "connect: %s", strerror(e));
	}
	/* Which listener's accept queue grew? Usually already true when connect() returns on loopback. */
	struct listener *got = NULL;
	double deadline = now_s() + 1.0;
	for (;;) {
		for (int i = 0; i < nlisteners && !got; i++)
			if (listeners[i].used && backlog_of(listeners[i].fd) > before[i]) got = &listeners[i];
		if (got || now_s() > deadline) break;
		sleep_us(20);
	}
	if (!got) {
		abort_close(fd);
		return reply_error("unobservable", "connection %ld was established but no listener's accept queue grew", id);
	}
	struct conn *c = new_conn();
	c->used = 1;
	c->id = id;
	c->state = QUEUED_KERNEL;
	c->listener = got->id;
	c->seq = seq_counter++;
	c->client = fd;
	c->child = -1;
	c->port = port;
	out("{\"ok\":true,\"listener\":%ld,\"local\":%s}", got->id, got->incoming_cpu == cpu ? "true" : "false");
	reply();
}

static void do_accept(struct jv *cmd)
{
	long id;
	if (num_field(cmd, "listener", &id, 1) < 0) return reply_error("bad-command", "accept needs listener");
	struct listener *l = find_listener(id);
	if (!l) return reply_fail("unknown-listener");
	struct conn *c = NULL;
	if (l->fifo_len > 0) {
		c = find_conn(l->fifo[0]);
		fifo_remove(l, l->fifo[0]);
	} else {
		int child = -1;
		c = accept_one(l, &child);
		if (c) {
			if (c->listener != l->id) logf_("connection %ld was thought queued at %ld, accepted from %ld", c->id, c->listener, l->id);
			c->child = child;
		}
	}
	if (!c) {
		out("{\"ok\":true,\"conn\":null}");
		return reply();
	}
	c->state = ACCEPTED;
	c->listener = l->id;
	out("{\"ok\":true,\"conn\":%ld}", c->id);
	reply();
}

static void do_close(struct jv *cmd)
{
	long id;
	if (num_field(cmd, "conn", &id, 1) < 0) return reply_error("bad-command", "close needs conn");
	struct conn *c = find_conn(id);
	if (!c) return reply_fail("unknown-conn");
	if (c->state == QUEUED_USER) {
		struct listener *l = find_listener(c->listener);
		if (l) fifo_remove(l, c->id);
	}
	/* A child still in a kernel queue stays there; its peer's RST makes it a ghost that accept skips. */
	int was_in_kernel = c->state == QUEUED_KERNEL;
	long at = c->listener;
	abort_close(c->child);
	abort_close(c->client);
	c->used = 0;
	/* When only ghosts are left in that kernel queue, clear them out so they never fill the backlog. */
	struct listener *l = was_in_kernel ? find_listener(at) : NULL;
	int live = 0;
	for (int i = 0; l && i < nconns; i++) live += conns[i].used && conns[i].state == QUEUED_KERNEL && conns[i].listener == at;
	if (l && !live) {
		int child;
		struct conn *stray;
		while ((stray = accept_one(l, &child))) {
			/* Can't happen unless a connect was misattributed: keep it, queued here, and say so. */
			logf_("connection %ld (thought queued at %ld) came out of listener %ld while clearing ghosts", stray->id, stray->listener, at);
			stray->child = child;
			stray->state = QUEUED_USER;
			stray->listener = at;
			fifo_push(l, stray->id);
		}
	}
	out("{\"ok\":true}");
	reply();
}

static int by_seq(const void *a, const void *b)
{
	const struct conn *x = *(struct conn *const *)a, *y = *(struct conn *const *)b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void do_deregister(struct jv *cmd)
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

	/* Its queue: the user-space FIFO part (oldest), then the kernel part in arrival order. */
	struct conn *queued[nconns > 0 ? nconns : 1];
	int nq = 0;
	for (int i = 0; i < nconns; i++)
		if (conns[i].used && conns[i].state == QUEUED_KERNEL && conns[i].listener == id) queued[nq++] = &conns[i];
	qsort(queued, nq, sizeof *queued, by_seq);
	int others = 0;
	for (int i = 0; i < nlisteners; i++) others += listeners[i].used && &listeners[i] != l;
	if (l->fifo_len > 0 && cfg_migrate && others > 0) {
		/* Drained children are accepted as far as the kernel knows: it would not migrate them. */
		return reply_error("unobservable",
			"listener %ld holds %d connections that an earlier deregister drained to user space; the kernel cannot migrate them",
			id, l->fifo_len);
	}

	int before[nlisteners];
	for (int i = 0; i < nlisteners; i++) before[i] = listeners[i].used && &listeners[i] != l ? backlog_of(listeners[i].fd) : -1;

	pin(has_cpu ? (int)cpu : -1);
	close(l->fd); /* inet_csk_listen_stop: migrate (reuseport_migrate_sock) or reset every child */

	/* Reset: the client saw the RST. Migrated: the rest, counted in the queues that grew. */
	int is_reset[nq > 0 ? nq : 1];
	int nreset, grown;
	double deadline = now_s() + 0.5;
	for (;;) {
		nreset = 0;
		grown = 0;
		for (int k = 0; k < nq; k++) nreset += is_reset[k] = tcp_state_of(queued[k]->client) == TCP_CLOSE;
		for (int i = 0; i < nlisteners; i++)
			if (before[i] >= 0) {
				int g = backlog_of(listeners[i].fd) - before[i];
				if (g > 0) grown += g;
			}
		if (nreset + grown >= nq || now_s() > deadline) break;
		sleep_us(50);
	}

	int grew[nlisteners];
	int ngrew = 0, keep = -1;
	for (int i = 0; i < nlisteners; i++) {
		grew[i] = before[i] >= 0 ? backlog_of(listeners[i].fd) - before[i] : 0;
		if (grew[i] > 0) {
			ngrew++;
			if (keep < 0 || grew[i] > grew[keep]) keep = i;
		}
	}
	long target[nq > 0 ? nq : 1];
	for (int k = 0; k < nq; k++) target[k] = -1;
	/* Several queues grew: drain all but the fullest into user space; a child's port names it. */
	if (ngrew > 1) {
		for (int i = 0; i < nlisteners; i++) {
			if (grew[i] <= 0 || i == keep) continue;
			struct listener *m = &listeners[i];
			struct conn *c;
			int child;
			while ((c = accept_one(m, &child))) {
				for (int k = 0; k < nq; k++)
					if (queued[k] == c) target[k] = m->id;
				c->child = child;
				c->state = QUEUED_USER;
				c->listener = m->id;
				fifo_push(m, c->id);
			}
		}
	}
	int unplaced = 0;
	for (int k = 0; k < nq; k++)
		if (!is_reset[k] && target[k] < 0) {
			if (keep < 0) unplaced++;
			else target[k] = listeners[keep].id;
		}
	/* Drained children of the leaving listener can't be handed to the kernel: closed, reported reset. */
	int nuser = l->fifo_len;
	long user[nuser > 0 ? nuser : 1];
	memcpy(user, l->fifo, nuser * sizeof *user);
	if (unplaced > 0) {
		reply_error("unobservable", "%d connections of listener %ld were neither reset nor found in a remaining queue", unplaced, id);
	} else {
		out("{\"ok\":true,\"migrated\":[");
		int first = 1;
		for (int k = 0; k < nq; k++)
			if (!is_reset[k]) {
				out("%s[%ld,%ld]", first ? "" : ",", queued[k]->id, target[k]);
				first = 0;
			}
		out("],\"reset\":[");
		first = 1;
		for (int j = 0; j < nuser; j++) {
			out("%s%ld", first ? "" : ",", user[j]);
			first = 0;
		}
		for (int k = 0; k < nq; k++)
			if (is_reset[k]) {
				out("%s%ld", first ? "" : ",", queued[k]->id);
				first = 0;
			}
		out("]}");
		reply();
	}
	/* Bookkeeping after the reply was composed. */
	for (int j = 0; j < nuser; j++) {
		struct conn *c = find_conn(user[j]);
		if (c) { abort_close(c->child); abort_close(c->client); c->used = 0; }
	}
	for (int k = 0; k < nq; k++) {
		struct conn *c = queued[k];
		if (is_reset[k] || target[k] < 0) {
			abort_close(c->client);
			c->used = 0;
		} else if (c->state == QUEUED_KERNEL) {
			c->listener = target[k];
			c->seq = seq_counter++;
		}
	}
	free(l->fifo);
	memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------------ the namespace */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Own network namespace, loopback up, and a check that what the tests rely on is there. */
static const char *setup_kernel(void)
{
	static char why[256];
	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(why, sizeof why, "unshare(CLONE_NEWNET): %s (needs root or CAP_SYS_ADMIN)", strerror(errno));
		return why;
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		snprintf(why, sizeof why, "SIOCGIFFLAGS lo: %s", strerror(errno));
		return why;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		snprintf(why, sizeof why, "SIOCSIFFLAGS lo up: %s", strerror(errno));
		return why;
	}
	close(s);
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
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0) {
		online_cpus = 0;
		while (online_cpus < CPU_SETSIZE && CPU_ISSET(online_cpus, &set)) online_cpus++;
	}
	if (online_cpus < 1) {
		snprintf(why, sizeof why, "no usable CPU in this process's affinity mask");
		return why;
	}
	return NULL;
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
	int migrate = 0, program_cpu = 0;
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
	if (cpus < 1 || cpus > online_cpus)
		return reply_error("unsupported-config", "config asks for %ld CPUs; this machine lets us pin to %d", cpus, online_cpus);

	close_everything();
	if (write_file("/proc/sys/net/ipv4/tcp_migrate_req", migrate ? "1" : "0") < 0)
		return reply_error("unsupported-config", "cannot write tcp_migrate_req: %s", strerror(errno));
	cfg_cpus = (int)cpus;
	cfg_migrate = migrate;
	cfg_program_cpu = program_cpu;
	server_port++; /* a fresh port: nothing of the previous instance can interfere */
	if (server_port >= 29999) server_port = 20001;
	init_ok = 1;
	out("{\"ok\":true,\"capabilities\":{\"hash\":false,\"snapshot\":false}}");
	reply();
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
	int initialized = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
		if (n == 0) continue;
		struct jv cmd;
		const char *err;
		if (jparse_line(line, &cmd, &err) < 0) {
			reply_error("bad-command", "not a JSON object: %s", err);
			continue;
		}
		struct jv *op = jget(&cmd, "op");
		if (!op || op->type != J_STR) reply_error("bad-command", "no op");
		else if (!strcmp(op->str, "init")) initialized = do_init(&cmd);
		else if (!initialized) reply_error("bad-command", "init first");
		else if (!strcmp(op->str, "register")) do_register(&cmd);
		else if (!strcmp(op->str, "setIncomingCpu")) do_set_incoming_cpu(&cmd);
		else if (!strcmp(op->str, "deregister")) do_deregister(&cmd);
		else if (!strcmp(op->str, "connect")) do_connect(&cmd);
		else if (!strcmp(op->str, "accept")) do_accept(&cmd);
		else if (!strcmp(op->str, "close")) do_close(&cmd);
		else reply_error("bad-command", "unknown op %s", op->str);
		jfree(&cmd);
	}
	close_everything();
	free(line);
	return 0;
}

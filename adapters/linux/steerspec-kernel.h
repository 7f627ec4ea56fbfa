/* What the kernel helpers share beyond steerspec/1 (steerspec-io.h): their own network namespace with
 * loopback up, pinning, client sockets on ports of their own, closing with a RST, and reading the accept
 * queues through queues.bpf.h's iterator. Include after steerspec-io.h and <bpf/libbpf.h>. */
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

__attribute__((unused)) static int write_file(const char *path, const char *text)
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
	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(why, size, "unshare(CLONE_NEWNET): %s (needs root or CAP_SYS_ADMIN)", strerror(errno));
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
static struct queued_child *dumped;
static int ndumped, capdumped;

/* Reads every accept queue of this namespace afresh through the iterator `link`; -1 (and a log) when it fails. */
static int dump_queues(struct bpf_link *link)
{
	int fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		logf_("bpf_iter_create: %s", strerror(errno));
		return -1;
	}
	static char *text;
	static size_t cap;
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

/* The mark of the listener whose accept queue held `port`'s child in the last dump, or 0. */
static uint32_t queued_mark(uint16_t port)
{
	for (int i = 0; i < ndumped; i++)
		if (dumped[i].port == port) return dumped[i].mark;
	return 0;
}

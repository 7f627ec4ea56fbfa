/* The steerspec/1 side shared by the kernel helpers: a small strict JSON reader, replies on stdout, logs on stderr. */
#pragma once
#ifndef LOG_NAME
#define LOG_NAME "steerspec"
#endif
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

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

/* Per thread: each branch's worker composes its own reply (docs/kernel.md, "Concurrent runs"). */
static __thread char out_buf[1 << 16];
static __thread size_t out_len;
/* The "id" of the parallel request this thread answers, -1 for a sequential one. */
static __thread long reply_id = -1;
/* Whole reply lines, one at a time, whichever thread writes them. */
static pthread_mutex_t reply_mu = PTHREAD_MUTEX_INITIALIZER;

static void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out_buf + out_len, sizeof out_buf - out_len, fmt, ap);
	va_end(ap);
	if (n > 0) out_len += (size_t)n;
	if (out_len >= sizeof out_buf) out_len = sizeof out_buf - 1;
}

/* Set while a helper drives its own commands (a bench): replies are composed and dropped. */
static int replies_muted;

static void logf_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(LOG_NAME ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* A helper that cannot go on ends, loudly: a branch left unanswered would only be a timeout. */
__attribute__((noreturn)) static void die(const char *what)
{
	logf_("fatal: %s", what);
	fflush(stderr);
	_exit(2);
}

static void reply(void)
{
	if (replies_muted) {
		out_len = 0;
		return;
	}
	/* A parallel request's reply carries its "id": every outcome is one object, so it goes before the last '}'. */
	if (reply_id >= 0) {
		if (out_len == 0 || out_buf[out_len - 1] != '}') die("a reply to a parallel request is not an object");
		out_len--;
		out(",\"id\":%ld}", reply_id);
	}
	pthread_mutex_lock(&reply_mu);
	fwrite(out_buf, 1, out_len, stdout);
	fputc('\n', stdout);
	if (fflush(stdout) != 0) die("writing a reply failed");
	pthread_mutex_unlock(&reply_mu);
	out_len = 0;
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


/* A whole-number field: 1 when present, 0 when absent and optional, -1 when missing or not a whole number. */
static int num_field(struct jv *cmd, const char *key, long *out, int required)
{
	struct jv *v = jget(cmd, key);
	if (!v) return required ? -1 : 0;
	if (v->type != J_NUM || v->num != (double)(long)v->num) return -1;
	*out = (long)v->num;
	return 1;
}

/* ------------------------------------------------------------------ branches (the concurrent protocol)
 * A request carrying "branch" (0..MAX_BRANCHES-1) and "id" goes to that branch's worker thread, created on
 * first use and kept for the process's life; the worker runs its branch's requests one at a time, in order.
 * The oracle sends a branch's next request only after its reply, so one slot per worker is enough (a request
 * that comes before the worker has put its previous one away waits for that). A
 * request without "branch" waits until no worker is busy (the oracle never mixes the two, this makes sure). */

#define MAX_BRANCHES 8

struct worker {
	pthread_t thread;
	int started, pending, is_connect;
	long id;
	struct jv cmd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};
static struct worker workers[MAX_BRANCHES];
static int (*serve_run)(const char *op, struct jv *cmd);
static pthread_mutex_t busy_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t busy_cv = PTHREAD_COND_INITIALIZER;
static int busy;
/* Branch requests handled, and how many began while another branch's was being handled (logged at exit). */
static int requests_in_flight;
static long requests_total, requests_overlapped;
/* Branch connects handed to a worker that have not yet reached their connect() (see connect_begin). */
static int connects_waiting;
static __thread int rendezvous_owed;

static void rendezvous_done(void)
{
	if (rendezvous_owed) __atomic_fetch_sub(&connects_waiting, 1, __ATOMIC_SEQ_CST);
	rendezvous_owed = 0;
}

static void run_one(struct jv *cmd)
{
	struct jv *op = jget(cmd, "op");
	if (!op || op->type != J_STR) reply_error("bad-command", "no op");
	else if (!strcmp(op->str, "init")) reply_error("bad-command", "init is never part of a branch");
	else if (!serve_run(op->str, cmd)) reply_error("bad-command", "unknown op %s", op->str);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!w->pending) pthread_cond_wait(&w->cv, &w->mu);
		struct jv cmd = w->cmd;
		reply_id = w->id;
		rendezvous_owed = w->is_connect;
		pthread_mutex_unlock(&w->mu);
		__atomic_fetch_add(&requests_total, 1, __ATOMIC_SEQ_CST);
		if (__atomic_fetch_add(&requests_in_flight, 1, __ATOMIC_SEQ_CST) > 0) __atomic_fetch_add(&requests_overlapped, 1, __ATOMIC_SEQ_CST);
		run_one(&cmd);
		rendezvous_done(); /* a connect that answered before its connect() (an error) */
		__atomic_fetch_sub(&requests_in_flight, 1, __ATOMIC_SEQ_CST);
		jfree(&cmd);
		reply_id = -1;
		pthread_mutex_lock(&w->mu);
		w->pending = 0;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_mutex_lock(&busy_mu);
		busy--;
		pthread_cond_broadcast(&busy_cv);
		pthread_mutex_unlock(&busy_mu);
	}
	return NULL;
}

static void wait_idle(void)
{
	pthread_mutex_lock(&busy_mu);
	while (busy) pthread_cond_wait(&busy_cv, &busy_mu);
	pthread_mutex_unlock(&busy_mu);
}

/* Hands `cmd` (ownership too) to its branch's worker; 0 when "branch" or "id" is malformed (nothing handed). */
static int dispatch(struct jv *cmd, struct jv *branch)
{
	struct jv *id = jget(cmd, "id");
	if (branch->type != J_NUM || branch->num != (double)(long)branch->num || branch->num < 0 || branch->num >= MAX_BRANCHES) return 0;
	if (!id || id->type != J_NUM || id->num != (double)(long)id->num || id->num < 0) return 0;
	struct worker *w = &workers[(int)branch->num];
	if (!w->started) {
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) die("pthread_create for a branch failed");
		w->started = 1;
	}
	pthread_mutex_lock(&w->mu);
	/* The oracle may read the previous reply and send this before the worker is back at its wait. */
	while (w->pending) pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_lock(&busy_mu);
	busy++;
	pthread_mutex_unlock(&busy_mu);
	struct jv *op = jget(cmd, "op");
	w->is_connect = op && op->type == J_STR && !strcmp(op->str, "connect");
	if (w->is_connect) __atomic_fetch_add(&connects_waiting, 1, __ATOMIC_SEQ_CST);
	w->cmd = *cmd;
	w->id = (long)id->num;
	w->pending = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	memset(cmd, 0, sizeof *cmd);
	return 1;
}

/* The steerspec/1 loop: one command per line, `init` first; `run` dispatches every other op and returns 0
 * for an op it does not know. Returns when stdin ends and every branch has answered. */
static void serve(int (*init)(struct jv *cmd), int (*run)(const char *op, struct jv *cmd))
{
	int initialized = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	serve_run = run;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
		if (n == 0) continue;
		struct jv cmd;
		const char *err;
		if (jparse_line(line, &cmd, &err) < 0) {
			wait_idle();
			reply_error("bad-command", "not a JSON object: %s", err);
			continue;
		}
		struct jv *branch = jget(&cmd, "branch"), *op = jget(&cmd, "op");
		if (branch && initialized) {
			if (!dispatch(&cmd, branch)) {
				wait_idle();
				reply_error("bad-command", "a parallel request needs a branch 0..%d and a whole-number id", MAX_BRANCHES - 1);
			}
			jfree(&cmd);
			continue;
		}
		wait_idle();
		if (!op || op->type != J_STR) reply_error("bad-command", "no op");
		else if (!strcmp(op->str, "init")) initialized = init(&cmd);
		else if (!initialized) reply_error("bad-command", "init first");
		else if (!run(op->str, &cmd)) reply_error("bad-command", "unknown op %s", op->str);
		jfree(&cmd);
	}
	wait_idle();
	free(line);
}

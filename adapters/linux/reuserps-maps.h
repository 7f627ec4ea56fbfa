/* The values of reuserps.bpf.c's maps, shared by the program and its control plane. */
#pragma once

#define MAX_CPUS 128
#define MAX_SLOTS 128    /* per CPU table: slotsPerCpu at most this */
#define MAX_MEMBERS 256  /* listeners in the group, and slots of the socket array */

enum { RPS_NONE, RPS_PLAIN, RPS_REUSERPS };

struct rps_table {
	__u32 len;
	__u32 slot[MAX_SLOTS];
};

struct rps_group {
	__u32 n;
	__u32 slot[MAX_MEMBERS];
};

struct rps_conf {
	__u32 mode;      /* RPS_NONE while the group is empty */
	__u32 top_down;
	__u32 hash_fallback;
	__u32 group_buf; /* which `groups` buffer is live */
	__u32 quiet;     /* 1: record no decision (the bench's second measure; migrations then find no first CPU) */
};

/* What the program decided for one arrival (a SYN) or one migration, by client port. */
struct rps_decision {
	__u32 hash;
	__u32 cpu;
	__u32 slot;
	__u32 local;
	__u32 refused;
	__u32 select_failed;
	__u32 from;    /* a migration: the closing listener's SO_MARK (its slot + 1); 0 for a SYN */
	__u32 request; /* a migration of a request at its ACK (its listener closed mid-handshake): recorded as its arrival */
	__u64 seq;     /* a migration: its place among every migration the program made */
};

// Linux SO_REUSEPORT (6.x) — the specification the real kernel is checked against (issue 7).
// Plain data, plain loops; read it beside net/core/sock_reuseport.c and net/ipv4/inet_connection_sock.c.
//
// Rules (numbers as in the README's linux-reuseport section):
//  1. A group is the listeners of one port. Its first registrant decides the owner (its uid); later
//     registrants must have the same uid (uid-mismatch: bind() fails with EADDRINUSE). When the last
//     member leaves, the group is gone and the next registrant decides again.
//  2. register appends to the group's array `socks` (__reuseport_add_sock); incomingCpu is the
//     listener's SO_INCOMING_CPU, -1 for none; setIncomingCpu changes it (reuseport_update_incoming_cpu).
//  3. deregister removes with swap-with-last: the last member moves into the hole (__reuseport_detach_sock).
//  4. Selection of a connect on CPU c (reuseport_select_sock): with program "cpu" (cBPF `A = cpu; return A`)
//     the index is c, and an index outside the group falls back to the hash path (run_bpf_filter gives NULL).
//  5. The hash path (reuseport_select_sock_by_hash): start at floor(hash * n / 2^32); when no member has
//     incomingCpu set, take that member; otherwise probe cyclically from there and take the first member
//     whose incomingCpu equals c, or the start member when none does.
//  6. `local` is true iff the chosen listener's incomingCpu equals the connecting CPU.
//  7. A connection waits in its listener's FIFO accept queue until accept. On deregister (`cpu` = the CPU
//     running close()): without migrate, the queued connections are reset (inet_child_forget); with it
//     (net.ipv4.tcp_migrate_req, reuseport_migrate_sock), each in queue order is re-selected by the hash
//     path (rule 5, never the program) among the remaining members with its own hash and the closing CPU,
//     and appended to that listener's queue; reset only when no member remains. Accepted connections of
//     the leaving listener stay open and count nowhere.
//  8. Connection ids are unique while open (duplicate-conn); a closed or reset id may be used again.
// Unknowns: a connect without `hash` (a kernel computes its own) allows every listener some hash would
// give; a deregister without `cpu` allows every listener some CPU would give. Each connection's choice is
// made on its own (an over-approximation: one close runs on one CPU). Several applicable errors: each allowed.
import { match } from 'ts-pattern';
import { z } from 'zod';
import { oneOf, type Choose, type Model } from '../core/relation.ts';
import { acceptFrom, closeConnection } from './shared/queues.ts';
import { cpuNumber, failure, hash32, id, okOnly, uid } from '../core/vocabulary.ts';

// ---- vocabulary ----

export const configSchema = z.strictObject({
  cpus: z.number().int().min(1).max(128).default(128),
  /** net.ipv4.tcp_migrate_req */
  migrate: z.boolean().default(false),
  /** "cpu": the classic BPF program `A = cpu; return A` of reuseport_bpf_cpu.c, attached to the group. */
  program: z.enum(['none', 'cpu']).default('none'),
});
export type Config = z.infer<typeof configSchema>;

/** SO_INCOMING_CPU: a CPU number, or -1 for none. */
const incomingCpu = z.number().int().min(-1).max(127, 'is out of range: CPU numbers run 0..127');

export const commandSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('register'), listener: id, uid, incomingCpu: incomingCpu.default(-1) }),
  z.strictObject({ op: z.literal('setIncomingCpu'), listener: id, incomingCpu }),
  z.strictObject({ op: z.literal('deregister'), listener: id, cpu: cpuNumber.optional() }),
  z.strictObject({ op: z.literal('connect'), conn: id, cpu: cpuNumber, hash: hash32.optional() }),
  z.strictObject({ op: z.literal('accept'), listener: id }),
  z.strictObject({ op: z.literal('close'), conn: id }),
]);
export type Command = z.infer<typeof commandSchema>;

export const outcomeSchemas = {
  register: z.union([okOnly, failure(['duplicate-listener', 'bad-cpu', 'uid-mismatch'])]),
  setIncomingCpu: z.union([okOnly, failure(['unknown-listener', 'bad-cpu'])]),
  deregister: z.union([
    z.strictObject({ ok: z.literal(true), migrated: z.array(z.tuple([id, id])), reset: z.array(id) }),
    failure(['unknown-listener', 'bad-cpu']),
  ]),
  connect: z.union([
    z.strictObject({ ok: z.literal(true), listener: id, local: z.boolean() }),
    failure(['refused', 'bad-cpu', 'duplicate-conn']),
  ]),
  accept: z.union([z.strictObject({ ok: z.literal(true), conn: id.nullable() }), failure(['unknown-listener'])]),
  close: z.union([okOnly, failure(['unknown-conn'])]),
} satisfies Record<Command['op'], z.ZodType>;
export type OutcomeOf<Op extends Command['op']> = z.infer<(typeof outcomeSchemas)[Op]>;
export type Outcome = OutcomeOf<Command['op']>;
type ErrorOf<Op extends Command['op']> = Extract<OutcomeOf<Op>, { ok: false }>['error'];

// ---- state ----

export interface Listener {
  id: number;
  uid: number;
  /** SO_INCOMING_CPU, -1 for none. */
  incomingCpu: number;
  /** Connection ids waiting for accept, oldest first. */
  queue: number[];
}

export interface Connection {
  /** null once its listener has deregistered after accepting it: open, but counted nowhere. */
  listener: number | null;
  cpu: number;
  hash?: number;
  accepted: boolean;
}

export interface State {
  config: Config;
  /** The uid every member must have (rule 1); null while the group is empty. */
  owner: number | null;
  /** The group's `socks` array: registration order, except that removal swaps the last member in. */
  members: Listener[];
  /** Open connections by id. */
  connections: Record<number, Connection>;
}

// ---- helpers ----

const memberOf = (s: State, listener: number) => s.members.find((m) => m.id === listener);

/** reciprocal_scale(hash, n): (u32)(((u64)hash * n) >> 32). */
export const scaled = (hash: number, n: number) => Math.floor((hash * n) / 2 ** 32);

/** True iff some member set SO_INCOMING_CPU (the kernel's `reuse->incoming_cpu` count is non-zero). */
export const anyIncomingCpu = (members: Listener[]) => members.some((m) => m.incomingCpu >= 0);

/** reuseport_select_sock_by_hash for a known start index and CPU (rule 5). */
export function byHashFrom(members: Listener[], start: number, cpu: number): Listener {
  if (!anyIncomingCpu(members)) return members[start];
  for (let k = 0; k < members.length; k++) {
    const m = members[(start + k) % members.length];
    if (m.incomingCpu === cpu) return m;
  }
  return members[start];
}

/** Every start index a hash can give: the one of `hash`, or all of them when it is unknown. */
const startsFor = (n: number, hash: number | undefined) =>
  hash === undefined ? Array.from({ length: n }, (_, i) => i) : [scaled(hash, n)];

/** The listeners the hash path may pick (one when hash and CPU are known), in group order. */
export function hashPathChoices(members: Listener[], hash: number | undefined, cpus: number[]): number[] {
  const picked = new Set<number>();
  for (const cpu of cpus) for (const start of startsFor(members.length, hash)) picked.add(byHashFrom(members, start, cpu).id);
  return members.map((m) => m.id).filter((l) => picked.has(l));
}

/** The listeners a connect on `cpu` may go to (rules 4 and 5); empty when the group is empty. */
export function connectChoices(s: State, cpu: number, hash: number | undefined): number[] {
  if (s.members.length === 0) return [];
  if (s.config.program === 'cpu' && cpu < s.members.length) return [s.members[cpu].id];
  return hashPathChoices(s.members, hash, [cpu]);
}


/**
 * An SO_INCOMING_CPU at or past `cpus`: the kernel takes any value (it then never matches a CPU), and a
 * `bad-cpu` check is just as fair a reading, so the model allows both. True iff this outcome rejects it.
 */
function incomingCpuRejected(s: State, incomingCpu: number, otherErrors: boolean, choose: Choose<Outcome>): boolean {
  if (incomingCpu < s.config.cpus) return false;
  return otherErrors || choose('SO_INCOMING_CPU past the CPUs', [false, true], (o) => !o.ok);
}

// ---- actions ----

function register(s: State, c: Extract<Command, { op: 'register' }>, choose: Choose<Outcome>): Outcome {
  const errors: ErrorOf<'register'>[] = [];
  if (memberOf(s, c.listener)) errors.push('duplicate-listener');
  if (s.owner !== null && s.owner !== c.uid) errors.push('uid-mismatch');
  if (incomingCpuRejected(s, c.incomingCpu, errors.length > 0, choose)) errors.push('bad-cpu');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  s.owner ??= c.uid;
  s.members.push({ id: c.listener, uid: c.uid, incomingCpu: c.incomingCpu, queue: [] });
  return { ok: true };
}

function setIncomingCpu(s: State, c: Extract<Command, { op: 'setIncomingCpu' }>, choose: Choose<Outcome>): Outcome {
  const listener = memberOf(s, c.listener);
  const errors: ErrorOf<'setIncomingCpu'>[] = [];
  if (!listener) errors.push('unknown-listener');
  if (incomingCpuRejected(s, c.incomingCpu, errors.length > 0, choose)) errors.push('bad-cpu');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;
  listener!.incomingCpu = c.incomingCpu;
  return { ok: true };
}

function deregister(s: State, c: Extract<Command, { op: 'deregister' }>, choose: Choose<Outcome>): Outcome {
  const at = s.members.findIndex((m) => m.id === c.listener);
  const errors: ErrorOf<'deregister'>[] = [];
  if (at < 0) errors.push('unknown-listener');
  if (c.cpu !== undefined && c.cpu >= s.config.cpus) errors.push('bad-cpu');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  const leaving = s.members[at];
  s.members[at] = s.members[s.members.length - 1];
  s.members.pop();
  if (s.members.length === 0) s.owner = null;

  for (const conn of Object.values(s.connections)) {
    if (conn.listener === leaving.id && conn.accepted) conn.listener = null;
  }
  const closingCpus = c.cpu === undefined ? Array.from({ length: s.config.cpus }, (_, i) => i) : [c.cpu];
  const migrated: [number, number][] = [];
  const reset: number[] = [];
  for (const connId of leaving.queue) {
    const conn = s.connections[connId];
    if (!s.config.migrate || s.members.length === 0) {
      delete s.connections[connId];
      reset.push(connId);
      continue;
    }
    const target = choose(`new listener of connection ${connId}`, hashPathChoices(s.members, conn.hash, closingCpus), (o) =>
      'migrated' in o ? o.migrated.find(([moved]) => moved === connId)?.[1] : undefined,
    );
    conn.listener = target;
    memberOf(s, target)!.queue.push(connId);
    migrated.push([connId, target]);
  }
  return { ok: true, migrated, reset };
}

function connect(s: State, c: Extract<Command, { op: 'connect' }>, choose: Choose<Outcome>): Outcome {
  const errors: ErrorOf<'connect'>[] = [];
  if (s.connections[c.conn] !== undefined) errors.push('duplicate-conn');
  if (c.cpu >= s.config.cpus) errors.push('bad-cpu');
  // With no member at all, "refused" is just as true as the input error.
  if (errors.length > 0 && s.members.length === 0) errors.push('refused');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  const choices = connectChoices(s, c.cpu, c.hash);
  if (choices.length === 0) return { ok: false, error: 'refused' };
  const listener = choose('listener', choices, (o) => ('listener' in o ? o.listener : undefined));
  const target = memberOf(s, listener)!;
  s.connections[c.conn] = { listener, cpu: c.cpu, accepted: false, ...(c.hash === undefined ? {} : { hash: c.hash }) };
  target.queue.push(c.conn);
  // `local` is unsettled for Linux: SO_INCOMING_CPU matching the CPU (what impl/ reports), "always false" as in
  // SO_REUSERPS's plain groups, or true when the CPU program chose by CPU. The model allows each.
  const programChose = s.config.program === 'cpu' && c.cpu < s.members.length;
  const readings = [target.incomingCpu === c.cpu, false, ...(programChose ? [true] : [])];
  const local = choose('local', [...new Set(readings)], (o) => ('local' in o ? o.local : undefined));
  return { ok: true, listener, local };
}

export const model: Model<Config, State, Command, Outcome> = {
  init: (config) => ({ config, owner: null, members: [], connections: {} }),
  step: (s, cmd, choose) =>
    match(cmd)
      .with({ op: 'register' }, (c) => register(s, c, choose))
      .with({ op: 'setIncomingCpu' }, (c) => setIncomingCpu(s, c, choose))
      .with({ op: 'deregister' }, (c) => deregister(s, c, choose))
      .with({ op: 'connect' }, (c) => connect(s, c, choose))
      .with({ op: 'accept' }, (c) => acceptFrom(s, c.listener))
      .with({ op: 'close' }, (c) => closeConnection(s, c.conn))
      .exhaustive(),
};

// Linux SO_REUSEPORT (6.x) — the specification the real kernel is checked against (issue 7).
// Plain data, plain loops; read it beside net/core/sock_reuseport.c and net/ipv4/inet_connection_sock.c.
//
// Rules (numbers as in the README's linux-reuseport section):
//  1. A group is the listeners of one port. Its first registrant decides the owner (its uid); later
//     registrants must have the same uid (uid-mismatch: bind() fails with EADDRINUSE). When the last
//     member leaves, the group is gone and the next registrant decides again.
//  2. register appends to the group's array `socks` (__reuseport_add_sock); incomingCpu is the
//     listener's SO_INCOMING_CPU, -1 for none; setIncomingCpu changes it, and the group counts the
//     members that set one (reuseport_update_incoming_cpu, the kernel's `reuse->incoming_cpu`), wherever
//     it was set on the way to listening (`incomingCpuAt`: before SO_REUSEPORT, before bind, before listen)
//     or after (setIncomingCpu). The address family (config `family`) changes nothing here.
//  3. deregister removes with swap-with-last: the last member moves into the hole (__reuseport_detach_sock).
//  4. Selection of a connect on CPU c (reuseport_select_sock): with program "cpu" (cBPF `A = cpu; return A`)
//     the index is c, and an index outside the group falls back to the hash path (run_bpf_filter gives NULL).
//  5. The hash path (reuseport_select_sock_by_hash): start at floor(hash * n / 2^32); when the count of
//     rule 2 is 0, take that member; otherwise probe cyclically from there and take the first member
//     whose incomingCpu equals c, or the start member when none does.
//  6. `local`: what it means for Linux is a reading (below); the impl and the kernel helper report
//     whether the chosen listener's incomingCpu equals the connecting CPU.
//  7. A connection waits in its listener's FIFO accept queue until accept. On deregister (`cpu` = the CPU
//     running close()): without migrate, the queued connections are reset (inet_child_forget); with it
//     (net.ipv4.tcp_migrate_req, reuseport_migrate_sock), each in queue order is re-selected by the hash
//     path (rule 5, never the program) among the remaining members with its own hash and the closing CPU,
//     and appended to that listener's queue; reset only when no member remains. An accepted connection
//     belongs to its process: it stays open and counts nowhere (its `listener` is null from accept on).
//  8. Connection ids are unique while open (duplicate-conn); a closed or reset id may be used again.
// Readings (an implementation takes one for a whole run; init reads them, the state keeps them):
//  - SO_INCOMING_CPU at or past `cpus` on register/setIncomingCpu: `bad-cpu` (the impl and the helper), or
//    accepted as the kernel does (it then counts as set and never matches a connecting CPU);
//  - `local`: SO_INCOMING_CPU locality (the impl and the helper), always false (SO_REUSERPS's plain
//    groups), or true exactly when the CPU program chose the listener by CPU.
// Freedoms (per step): a connect without `hash` (a kernel computes its own) may go to every listener some
// hash would give; a deregister without `cpu` may migrate to every listener some CPU would give, each
// connection on its own (an over-approximation: one close runs on one CPU); several errors: each allowed.
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
  /** TCP over IPv4 or IPv6: the rules are the same (the selftests run both); a kernel helper uses the loopback of it. */
  family: z.enum(['ipv4', 'ipv6']).default('ipv4'),
});
export type Config = z.infer<typeof configSchema>;

/** SO_INCOMING_CPU: a CPU number, or -1 for none. */
const incomingCpu = z.number().int().min(-1).max(127, 'is out of range: CPU numbers run 0..127');
/** Where a registrant sets its SO_INCOMING_CPU on the way to listening (so_incoming_cpu.c's placements); rule 2 says it does not matter. */
export const INCOMING_CPU_AT = ['before-reuseport', 'before-bind', 'before-listen'] as const;

export const commandSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('register'), listener: id, uid, incomingCpu: incomingCpu.default(-1), incomingCpuAt: z.enum(INCOMING_CPU_AT).optional() }),
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
  /** The listener whose queue it waits in; null once accepted (it belongs to its process, counted nowhere). */
  listener: number | null;
  cpu: number;
  hash?: number;
  accepted: boolean;
}

/** Readings of rule 2's SO_INCOMING_CPU >= cpus, and of rule 6's `local`. */
export const INCOMING_CPU_PAST_CPUS = ['bad-cpu', 'accepted'] as const;
export const LOCAL_READINGS = ['incoming-cpu-matches', 'always-false', 'cpu-program-chose'] as const;
export type IncomingCpuPastCpus = (typeof INCOMING_CPU_PAST_CPUS)[number];
export type LocalReading = (typeof LOCAL_READINGS)[number];

export interface State {
  config: Config;
  /** Reading: how an SO_INCOMING_CPU at or past `cpus` is taken, for the whole run. */
  incomingCpuPastCpus: IncomingCpuPastCpus;
  /** Reading: what `local` means, for the whole run. */
  local: LocalReading;
  /** The uid every member must have (rule 1); null while the group is empty. */
  owner: number | null;
  /** The group's `socks` array: registration order, except that removal swaps the last member in. */
  members: Listener[];
  /** How many members have SO_INCOMING_CPU set (>= 0): the kernel's `reuse->incoming_cpu`. */
  incomingCpus: number;
  /** Open connections by id. */
  connections: Record<number, Connection>;
}

// ---- helpers ----

const memberOf = (s: State, listener: number) => s.members.find((m) => m.id === listener);

/** reciprocal_scale(hash, n): (u32)(((u64)hash * n) >> 32). */
export const scaled = (hash: number, n: number) => Math.floor((hash * n) / 2 ** 32);

/** reuseport_select_sock_by_hash for a known start index and CPU (rule 5); `probing` iff some member set SO_INCOMING_CPU. */
export function byHashFrom(members: Listener[], probing: boolean, start: number, cpu: number): Listener {
  if (!probing) return members[start];
  // The first match at or after `start`, else the first before it (the walk wraps around).
  const matches = (m: Listener) => m.incomingCpu === cpu;
  const at = members.findIndex((m, i) => i >= start && matches(m));
  return members[at >= 0 ? at : members.findIndex(matches)] ?? members[start];
}

/** Every start index a hash can give: the one of `hash`, or all of them when it is unknown. */
const startsFor = (n: number, hash: number | undefined) =>
  hash === undefined ? Array.from({ length: n }, (_, i) => i) : [scaled(hash, n)];

/** The listeners the hash path may pick (one when hash and CPU are known, else in group order). */
export function hashPathChoices(s: State, hash: number | undefined, cpus: number[]): number[] {
  const probing = s.incomingCpus > 0;
  if (hash !== undefined && cpus.length === 1) return [byHashFrom(s.members, probing, scaled(hash, s.members.length), cpus[0]).id];
  const picked = new Set<number>();
  for (const cpu of cpus) for (const start of startsFor(s.members.length, hash)) picked.add(byHashFrom(s.members, probing, start, cpu).id);
  return s.members.map((m) => m.id).filter((l) => picked.has(l));
}

/** True iff the CPU program decides a connect on `cpu` (rule 4: an index inside the group). */
export const programDecides = (s: State, cpu: number) => s.config.program === 'cpu' && cpu < s.members.length;

/** Sets a member's SO_INCOMING_CPU and keeps the group's count of members that set one (rule 2). */
function setIncoming(s: State, member: Listener, value: number): void {
  s.incomingCpus += (value >= 0 ? 1 : 0) - (member.incomingCpu >= 0 ? 1 : 0);
  member.incomingCpu = value;
}

/** An SO_INCOMING_CPU at or past `cpus` is `bad-cpu` under that reading; the kernel itself takes it (it never matches). */
const badIncomingCpu = (s: State, incomingCpu: number) => incomingCpu >= s.config.cpus && s.incomingCpuPastCpus === 'bad-cpu';

// ---- actions ----

function register(s: State, c: Extract<Command, { op: 'register' }>, choose: Choose<Outcome>): Outcome {
  const errors: ErrorOf<'register'>[] = [];
  if (memberOf(s, c.listener)) errors.push('duplicate-listener');
  if (s.owner !== null && s.owner !== c.uid) errors.push('uid-mismatch');
  if (badIncomingCpu(s, c.incomingCpu)) errors.push('bad-cpu');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  s.owner ??= c.uid;
  s.members.push({ id: c.listener, uid: c.uid, incomingCpu: c.incomingCpu, queue: [] });
  if (c.incomingCpu >= 0) s.incomingCpus += 1;
  return { ok: true };
}

function setIncomingCpu(s: State, c: Extract<Command, { op: 'setIncomingCpu' }>, choose: Choose<Outcome>): Outcome {
  const listener = memberOf(s, c.listener);
  const errors: ErrorOf<'setIncomingCpu'>[] = [];
  if (!listener) errors.push('unknown-listener');
  if (badIncomingCpu(s, c.incomingCpu)) errors.push('bad-cpu');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;
  setIncoming(s, listener!, c.incomingCpu);
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
  if (leaving.incomingCpu >= 0) s.incomingCpus -= 1;
  s.members[at] = s.members[s.members.length - 1];
  s.members.pop();
  if (s.members.length === 0) s.owner = null;

  // Its accepted connections already count nowhere; its queue is migrated or reset.
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
    // Migrations are listed in queue order: the k-th entry of an observed outcome names this one's target.
    const k = migrated.length;
    const options = hashPathChoices(s, conn.hash, closingCpus);
    const target = choose('new listener of a migrated connection', options, (o) =>
      'migrated' in o && o.migrated[k]?.[0] === connId ? o.migrated[k][1] : undefined,
    );
    conn.listener = target;
    memberOf(s, target)!.queue.push(connId);
    migrated.push([connId, target]);
  }
  return { ok: true, migrated, reset };
}

/** The member a connect on `cpu` goes to (rules 4 and 5), or undefined when the group is empty. */
function connectTarget(s: State, cpu: number, hash: number | undefined, choose: Choose<Outcome>): Listener | undefined {
  if (s.members.length === 0) return undefined;
  if (programDecides(s, cpu)) return s.members[cpu];
  if (hash !== undefined) return byHashFrom(s.members, s.incomingCpus > 0, scaled(hash, s.members.length), cpu);
  const options = hashPathChoices(s, undefined, [cpu]);
  const listener = choose('listener of a connect without a hash', options, (o) => ('listener' in o ? o.listener : undefined));
  return memberOf(s, listener)!;
}

function connect(s: State, c: Extract<Command, { op: 'connect' }>, choose: Choose<Outcome>): Outcome {
  const errors: ErrorOf<'connect'>[] = [];
  if (s.connections[c.conn] !== undefined) errors.push('duplicate-conn');
  if (c.cpu >= s.config.cpus) errors.push('bad-cpu');
  // With no member at all, "refused" is just as true as the input error.
  if (errors.length > 0 && s.members.length === 0) errors.push('refused');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  const target = connectTarget(s, c.cpu, c.hash, choose);
  if (target === undefined) return { ok: false, error: 'refused' };
  s.connections[c.conn] = { listener: target.id, cpu: c.cpu, accepted: false, ...(c.hash === undefined ? {} : { hash: c.hash }) };
  target.queue.push(c.conn);
  // `local` is unsettled for Linux (rule 6): the run's reading says what it means.
  const local = match(s.local)
    .with('incoming-cpu-matches', () => target.incomingCpu === c.cpu)
    .with('always-false', () => false)
    .with('cpu-program-chose', () => programDecides(s, c.cpu))
    .exhaustive();
  return { ok: true, listener: target.id, local };
}

/** `accept` as the other group schemes have it; the accepted connection then counts nowhere. */
function accept(s: State, listener: number): Outcome {
  const outcome = acceptFrom(s, listener);
  if (outcome.ok && outcome.conn !== null) s.connections[outcome.conn].listener = null;
  return outcome;
}

export const model: Model<Config, State, Command, Outcome> = {
  init: (config, read) => ({
    config,
    incomingCpuPastCpus: read('SO_INCOMING_CPU past the CPUs', INCOMING_CPU_PAST_CPUS),
    // Without a CPU program "the program chose it" is never true, the very reading always-false is: one member, not two.
    local: read('local', config.program === 'cpu' ? LOCAL_READINGS : LOCAL_READINGS.filter((r) => r !== 'cpu-program-chose')),
    owner: null,
    members: [],
    incomingCpus: 0,
    connections: {},
  }),
  step: (s, cmd, choose) =>
    match(cmd)
      .with({ op: 'register' }, (c) => register(s, c, choose))
      .with({ op: 'setIncomingCpu' }, (c) => setIncomingCpu(s, c, choose))
      .with({ op: 'deregister' }, (c) => deregister(s, c, choose))
      .with({ op: 'connect' }, (c) => connect(s, c, choose))
      .with({ op: 'accept' }, (c) => accept(s, c.listener))
      .with({ op: 'close' }, (c) => closeConnection(s, c.conn))
      .exhaustive(),
};

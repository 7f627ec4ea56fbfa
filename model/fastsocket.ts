// Fastsocket local listen tables — the specification (seed 004, issue 5). Plain data, plain loops;
// read it beside the seed and the Fastsocket notes in ../shared/reference/kernel-steering.md.
//
// Rules (numbers as in the README's fastsocket section):
//  1. `listen` opens a global listener. Several global listeners of the one port may be open; they are
//     kept in listen order (a close keeps the order of the rest). Listener ids (global and local share one
//     space) are unique while open and may be used again after a close.
//  2. `spawn` (fsocket_spawn) copies an open global listener into the local table of one CPU:
//     the given `cpu` if not null; else the worker's CPU if it is bound to exactly one; else, in mode 2
//     only, the lowest free CPU (rule 3). Mode 0: spawn-disabled. Mode 1 without either: no-affinity.
//     Mode 2 with no free CPU: no-free-cpu. After a spawn the worker is bound to exactly that CPU
//     (fsocket_process_affinity_set pins it). The global listener stays open.
//  3. Mode 2's free CPU: one with "no spawned listener yet" — a reading: never had a local listener, or
//     has none now.
//  4. `bind` sets a worker's affinity as sched_setaffinity would. An empty list → empty-mask. CPUs that
//     do not exist are a reading: the real call drops them (intersects the mask with the CPUs that exist)
//     and fails (EINVAL: bad-cpu or empty-mask) only when none is left; the stricter reading is bad-cpu.
//  5. `connect` on CPU c (__inet_lookup_listener): a local listener of c if c's table has one (any of
//     them when several share c), else a global listener at index floor(hash*n/2^32) in listen order,
//     else refused. Nothing is ever steered to another CPU's local table. When an input error applies
//     (duplicate-conn, bad-cpu) and no listener could take the SYN (no global listener, and no local one
//     on an in-range cpu), refused is allowed beside it.
//  6. `accept` on a local listener: the head of its global listener's queue or of its own queue (either
//     when both are non-empty — Fastsocket alternates, the implementation must too, see the fairness
//     property), null when both are empty. It never takes from any other queue. On a global listener:
//     the head of its own queue.
//  7. `close` of a local listener takes it out of its CPU's table (later SYNs there fall through to the
//     global table) and resets its queue; Fastsocket does not migrate them. `close` of a global listener
//     resets its own queue; its local copies stay open (separate sockets) and from then on accept only
//     from their own queue. Every reset connection is listed in `reset`.
//  8. `closeConn` closes an open connection (queued or accepted). Connection ids are unique while open.
//
// Readings (an implementation picks one for a whole run; taken in `init`, kept in the state): mode 2's
// free CPU (rule 3); whether an unbound worker on a one-CPU machine is bound to CPU 0; `bind` with CPUs
// that do not exist (rule 4). Freedoms (may differ at every step): which of several applicable errors;
// which of several local listeners on one CPU; which global listener a hash-less connect gets; which
// queue a local listener accepts from when both are non-empty.
import { match } from 'ts-pattern';
import { z } from 'zod';
import { oneOf, type Choose, type Model } from '../core/relation.ts';
import { cpuNumber, failure, hash32, id, okOnly, uid } from '../core/vocabulary.ts';

// ---- vocabulary ----

export const configSchema = z.strictObject({
  cpus: z.number().int().min(1).max(128).default(128),
  listenSpawn: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(2),
});
export type Config = z.infer<typeof configSchema>;

export const commandSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('listen'), listener: id, uid }),
  z.strictObject({ op: z.literal('spawn'), listener: id, local: id, worker: id, cpu: cpuNumber.nullable().default(null) }),
  z.strictObject({ op: z.literal('bind'), worker: id, cpus: z.array(cpuNumber) }),
  z.strictObject({ op: z.literal('close'), listener: id }),
  z.strictObject({ op: z.literal('connect'), conn: id, cpu: cpuNumber, hash: hash32.optional() }),
  z.strictObject({ op: z.literal('accept'), listener: id }),
  z.strictObject({ op: z.literal('closeConn'), conn: id }),
]);
export type Command = z.infer<typeof commandSchema>;

export const outcomeSchemas = {
  listen: z.union([okOnly, failure(['duplicate-listener'])]),
  spawn: z.union([
    z.strictObject({ ok: z.literal(true), cpu: cpuNumber }),
    failure(['spawn-disabled', 'no-affinity', 'no-free-cpu', 'unknown-listener', 'duplicate-listener', 'bad-cpu']),
  ]),
  bind: z.union([okOnly, failure(['bad-cpu', 'empty-mask'])]),
  close: z.union([z.strictObject({ ok: z.literal(true), reset: z.array(id) }), failure(['unknown-listener'])]),
  connect: z.union([
    z.strictObject({ ok: z.literal(true), listener: id, table: z.enum(['local', 'global']) }),
    failure(['refused', 'bad-cpu', 'duplicate-conn']),
  ]),
  accept: z.union([z.strictObject({ ok: z.literal(true), conn: id.nullable() }), failure(['unknown-listener'])]),
  closeConn: z.union([okOnly, failure(['unknown-conn'])]),
} satisfies Record<Command['op'], z.ZodType>;
export type OutcomeOf<Op extends Command['op']> = z.infer<(typeof outcomeSchemas)[Op]>;
export type Outcome = OutcomeOf<Command['op']>;
type ErrorOf<Op extends Command['op']> = Extract<OutcomeOf<Op>, { ok: false }>['error'];

// ---- readings ----

/** Rule 3: which CPU mode 2 counts as free. */
export const FREE_CPU = { name: 'free CPU in mode 2', options: ['never had a local listener', 'has no local listener now'] } as const;
/** Rule 2: a never-bound worker on a one-CPU machine (sched_getaffinity says exactly CPU 0). */
export const UNBOUND_ON_ONE_CPU = { name: 'unbound worker on a one-CPU machine', options: ['not bound', 'bound to CPU 0'] } as const;
/** Rule 4: a `bind` mask naming CPUs at or past `cpus`. */
export const MISSING_CPUS = { name: 'bind with CPUs that do not exist', options: ['bad-cpu', 'dropped'] } as const;

type Option<R extends { options: readonly string[] }> = R['options'][number];

// ---- state ----

export interface GlobalListener {
  id: number;
  uid: number;
  /** Connection ids waiting for accept, oldest first. */
  queue: number[];
  /** Ids of its open local copies, in spawn order (cut from them when it closes, rule 7). */
  copies: number[];
}

export interface LocalListener {
  id: number;
  /** The CPU whose local table holds it. */
  cpu: number;
  /** The global listener it is a copy of; null once that one closed. */
  global: number | null;
  queue: number[];
}

export interface Connection {
  /** The CPU its SYN arrived on. */
  cpu: number;
  /** The listener whose queue holds it; null once accepted. */
  listener: number | null;
}

export interface State {
  config: Config;
  /** The readings this run follows; null where the config leaves nothing to read (not mode 2; not one CPU or mode 0). */
  freeCpu: Option<typeof FREE_CPU> | null;
  unboundOnOneCpu: Option<typeof UNBOUND_ON_ONE_CPU> | null;
  missingCpus: Option<typeof MISSING_CPUS>;
  /** Open global listeners by id; `listenOrder` holds their ids in listen order (rule 1). */
  globals: Record<number, GlobalListener>;
  listenOrder: number[];
  /** Open local listeners by id. */
  locals: Record<number, LocalListener>;
  /** Per CPU, its local table: the ids of its local listeners in spawn order (rule 5). */
  tables: number[][];
  /** Affinity (sorted, no repeats) of each worker that was bound or spawned; absent: never bound. */
  workers: Record<number, number[]>;
  /** Per CPU: true once a local listener has been spawned there (never cleared). */
  spawnedOn: boolean[];
  /** Open connections by id. */
  connections: Record<number, Connection>;
}

// ---- helpers ----

export const isListenerOpen = (s: State, listener: number) => s.globals[listener] !== undefined || s.locals[listener] !== undefined;

/** floor(hash * n / 2^32) in listen order when the hash is known; any listener when it is not. */
function byHash(candidates: number[], hash: number | undefined, choose: Choose<Outcome>): number {
  if (hash !== undefined) return candidates[Math.floor((hash * candidates.length) / 2 ** 32)];
  return choose('which global listener without a hash', candidates, (o) => ('listener' in o ? o.listener : undefined));
}

/** The CPU a worker is bound to if it is bound to exactly one, else null (a never-bound worker: the reading). */
export function singleCpu(s: State, worker: number): number | null {
  const mask = s.workers[worker];
  if (mask !== undefined) return mask.length === 1 ? mask[0] : null;
  return s.unboundOnOneCpu === 'bound to CPU 0' ? 0 : null;
}

/**
 * Mode 2's pick (rule 3) under the run's reading: the lowest CPU that never had a local listener, or
 * the lowest whose local table is empty now; null when none is free. Scans the CPUs: the rule asks for
 * the lowest one, and only an automatic spawn asks.
 */
export function nextFreeCpu(s: State): number | null {
  for (let cpu = 0; cpu < s.config.cpus; cpu++) {
    const free = s.freeCpu === 'never had a local listener' ? !s.spawnedOn[cpu] : s.tables[cpu].length === 0;
    if (free) return cpu;
  }
  return null;
}

/** Resets a closed listener's queue (rule 7): its connections are gone, and listed. */
function resetQueue(s: State, queue: number[]): number[] {
  for (const conn of queue) delete s.connections[conn];
  return [...queue];
}

/** Takes `id` out of a list it is in once. */
function remove(list: number[], id: number): void {
  list.splice(list.indexOf(id), 1);
}

// ---- actions ----

function listen(s: State, c: Extract<Command, { op: 'listen' }>): Outcome {
  if (isListenerOpen(s, c.listener)) return { ok: false, error: 'duplicate-listener' };
  s.globals[c.listener] = { id: c.listener, uid: c.uid, queue: [], copies: [] };
  s.listenOrder.push(c.listener);
  return { ok: true };
}

function spawn(s: State, c: Extract<Command, { op: 'spawn' }>, choose: Choose<Outcome>): Outcome {
  const mode = s.config.listenSpawn;
  const errors: ErrorOf<'spawn'>[] = [];
  if (mode === 0) errors.push('spawn-disabled');
  const global = s.globals[c.listener];
  if (global === undefined) errors.push('unknown-listener');
  if (isListenerOpen(s, c.local)) errors.push('duplicate-listener');
  if (c.cpu !== null && c.cpu >= s.config.cpus) errors.push('bad-cpu');

  // Rule 2: the given cpu, else the worker's one CPU, else (mode 2) the next free CPU.
  let cpu: number | null = c.cpu;
  if (mode !== 0 && cpu === null) {
    cpu = singleCpu(s, c.worker);
    if (cpu === null && mode === 1) errors.push('no-affinity');
    if (cpu === null && mode === 2) {
      cpu = nextFreeCpu(s);
      if (cpu === null) errors.push('no-free-cpu');
    }
  }
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  s.locals[c.local] = { id: c.local, cpu: cpu!, global: c.listener, queue: [] };
  s.tables[cpu!].push(c.local);
  global!.copies.push(c.local);
  s.spawnedOn[cpu!] = true;
  s.workers[c.worker] = [cpu!];
  return { ok: true, cpu: cpu! };
}

function bind(s: State, c: Extract<Command, { op: 'bind' }>, choose: Choose<Outcome>): Outcome {
  const given = [...new Set(c.cpus)].sort((a, b) => a - b);
  if (given.length === 0) return { ok: false, error: 'empty-mask' };
  const mask = given.filter((cpu) => cpu < s.config.cpus);
  if (mask.length < given.length) {
    // Rule 4: the strict reading rejects the mask; sched_setaffinity keeps the CPUs that exist, and
    // fails (EINVAL, named either way) when none does.
    if (s.missingCpus === 'bad-cpu') return { ok: false, error: 'bad-cpu' };
    if (mask.length === 0) return oneOf(['bad-cpu', 'empty-mask'], choose)!;
  }
  s.workers[c.worker] = mask;
  return { ok: true };
}

function close(s: State, c: Extract<Command, { op: 'close' }>): Outcome {
  const g = s.globals[c.listener];
  if (g) {
    delete s.globals[c.listener];
    remove(s.listenOrder, g.id);
    for (const copy of g.copies) s.locals[copy].global = null;
    return { ok: true, reset: resetQueue(s, g.queue) };
  }
  const l = s.locals[c.listener];
  if (!l) return { ok: false, error: 'unknown-listener' };
  delete s.locals[c.listener];
  remove(s.tables[l.cpu], l.id);
  if (l.global !== null) remove(s.globals[l.global].copies, l.id);
  return { ok: true, reset: resetQueue(s, l.queue) };
}

function connect(s: State, c: Extract<Command, { op: 'connect' }>, choose: Choose<Outcome>): Outcome {
  const table = c.cpu < s.config.cpus ? s.tables[c.cpu] : [];
  const errors: ErrorOf<'connect'>[] = [];
  if (s.connections[c.conn] !== undefined) errors.push('duplicate-conn');
  if (c.cpu >= s.config.cpus) errors.push('bad-cpu');
  // Rule 5: when no listener could take the SYN anyway, refused is as true as the input error.
  if (errors.length > 0 && s.listenOrder.length === 0 && table.length === 0) errors.push('refused');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  let listener: number;
  let where: 'local' | 'global';
  if (table.length > 0) {
    listener = choose('which local listener of the CPU', table, (o) => ('listener' in o ? o.listener : undefined));
    s.locals[listener].queue.push(c.conn);
    where = 'local';
  } else if (s.listenOrder.length > 0) {
    listener = byHash(s.listenOrder, c.hash, choose);
    s.globals[listener].queue.push(c.conn);
    where = 'global';
  } else {
    return { ok: false, error: 'refused' };
  }
  s.connections[c.conn] = { cpu: c.cpu, listener };
  return { ok: true, listener, table: where };
}

function accept(s: State, c: Extract<Command, { op: 'accept' }>, choose: Choose<Outcome>): Outcome {
  const g = s.globals[c.listener];
  const l = s.locals[c.listener];
  if (!g && !l) return { ok: false, error: 'unknown-listener' };
  // A local listener's two queues: its global listener's, then its own (rule 6).
  const parent = l && l.global !== null ? s.globals[l.global] : undefined;
  const queues = (g ? [g.queue] : [parent?.queue ?? [], l!.queue]).filter((q) => q.length > 0);
  if (queues.length === 0) return { ok: true, conn: null };
  const head = choose(
    'which queue a local listener accepts from',
    queues.map((q) => q[0]),
    (o) => ('conn' in o ? (o.conn ?? undefined) : undefined),
  );
  queues.find((q) => q[0] === head)!.shift();
  s.connections[head].listener = null;
  return { ok: true, conn: head };
}

function closeConn(s: State, c: Extract<Command, { op: 'closeConn' }>): Outcome {
  const conn = s.connections[c.conn];
  if (!conn) return { ok: false, error: 'unknown-conn' };
  if (conn.listener !== null) remove((s.globals[conn.listener] ?? s.locals[conn.listener]).queue, c.conn);
  delete s.connections[c.conn];
  return { ok: true };
}

export const model: Model<Config, State, Command, Outcome> = {
  // A reading is taken only where the config lets it make a difference, so a run follows no more
  // branches than it must; elsewhere the state says null.
  init: (config, read) => ({
    config,
    freeCpu: config.listenSpawn === 2 ? read(FREE_CPU.name, FREE_CPU.options) : null,
    unboundOnOneCpu: config.cpus === 1 && config.listenSpawn !== 0 ? read(UNBOUND_ON_ONE_CPU.name, UNBOUND_ON_ONE_CPU.options) : null,
    missingCpus: read(MISSING_CPUS.name, MISSING_CPUS.options),
    globals: {},
    listenOrder: [],
    locals: {},
    tables: Array.from({ length: config.cpus }, () => []),
    workers: {},
    spawnedOn: Array.from({ length: config.cpus }, () => false),
    connections: {},
  }),
  step: (s, cmd, choose) =>
    match(cmd)
      .with({ op: 'listen' }, (c) => listen(s, c))
      .with({ op: 'spawn' }, (c) => spawn(s, c, choose))
      .with({ op: 'bind' }, (c) => bind(s, c, choose))
      .with({ op: 'close' }, (c) => close(s, c))
      .with({ op: 'connect' }, (c) => connect(s, c, choose))
      .with({ op: 'accept' }, (c) => accept(s, c, choose))
      .with({ op: 'closeConn' }, (c) => closeConn(s, c))
      .exhaustive(),
};

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
//  3. Mode 2's free CPU: one with "no spawned listener yet" — no local listener now, or never one.
//  4. `bind` sets a worker's affinity as sched_setaffinity would: the real call keeps the CPUs of the mask
//     that exist and fails (EINVAL) only when none does. The model allows that and the stricter reading:
//     some CPUs out of range → bad-cpu, or ok bound to the ones in range; none in range → bad-cpu or
//     empty-mask; an empty list → empty-mask.
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
// Where the issue leaves a choice (several applicable errors; several local listeners on one CPU; no
// hash given; whether a CPU whose local listeners all closed is free again; whether an unbound worker
// on a one-CPU machine counts as bound to CPU 0) the model allows each.
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

// ---- state ----

export interface GlobalListener {
  id: number;
  uid: number;
  /** Connection ids waiting for accept, oldest first. */
  queue: number[];
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
  /** Open global listeners in listen order (rule 1). */
  globals: GlobalListener[];
  /** Open local listeners in spawn order; CPU c's local table is those with cpu c, in this order. */
  locals: LocalListener[];
  /** Affinity (sorted, no repeats) of each worker that was bound or spawned; absent: never bound. */
  workers: Record<number, number[]>;
  /** Per CPU: true once a local listener has been spawned there (never cleared). */
  spawnedOn: boolean[];
  /** Open connections by id. */
  connections: Record<number, Connection>;
}

// ---- helpers ----

export const globalOf = (s: State, listener: number) => s.globals.find((g) => g.id === listener);
export const localOf = (s: State, listener: number) => s.locals.find((l) => l.id === listener);
export const isListenerOpen = (s: State, listener: number) => globalOf(s, listener) !== undefined || localOf(s, listener) !== undefined;
/** CPU c's local table (rule 5). */
export const localTable = (s: State, cpu: number) => s.locals.filter((l) => l.cpu === cpu);


/** floor(hash * n / 2^32) in listen order when the hash is known; any listener when it is not. */
function byHash(candidates: number[], hash: number | undefined, choose: Choose<Outcome>): number {
  if (hash !== undefined) return candidates[Math.floor((hash * candidates.length) / 2 ** 32)];
  return choose('global listener', candidates, (o) => ('listener' in o ? o.listener : undefined));
}

/**
 * The CPU a worker is bound to if it is bound to exactly one, else null. A worker never bound has the
 * default affinity (every CPU): on a one-CPU machine that is exactly CPU 0 to sched_getaffinity, while
 * the issue says "bound (see bind)"; the model allows both readings.
 */
export function singleCpuOptions(s: State, worker: number): (number | null)[] {
  const mask = s.workers[worker];
  if (mask !== undefined) return [mask.length === 1 ? mask[0] : null];
  return s.config.cpus === 1 ? [null, 0] : [null];
}

/**
 * The CPUs mode 2 may pick (rule 3): the lowest CPU whose local table is empty, or the lowest CPU that
 * never had a local listener ("no spawned listener yet"); null stands for "none free" (no-free-cpu).
 */
export function freeCpuOptions(s: State): (number | null)[] {
  const cpus = [...Array(s.config.cpus).keys()];
  const emptyNow = cpus.find((cpu) => localTable(s, cpu).length === 0) ?? null;
  const neverUsed = cpus.find((cpu) => !s.spawnedOn[cpu]) ?? null;
  return [...new Set([emptyNow, neverUsed])];
}

/**
 * Where a spawn outcome shows the CPU choice: its `cpu`; null for the error that "no CPU" produces;
 * any option for another error (the choice then makes no difference to the outcome).
 */
const spawnedCpu =
  (options: (number | null)[], noCpu: ErrorOf<'spawn'>) =>
  (o: Outcome): number | null | undefined =>
    'cpu' in o ? o.cpu : !o.ok && o.error === noCpu ? null : options[0];

/** Resets a closed listener's queue (rule 7): its connections are gone, and listed. */
function resetQueue(s: State, queue: number[]): number[] {
  for (const conn of queue) delete s.connections[conn];
  return [...queue];
}

// ---- actions ----

function listen(s: State, c: Extract<Command, { op: 'listen' }>): Outcome {
  if (isListenerOpen(s, c.listener)) return { ok: false, error: 'duplicate-listener' };
  s.globals.push({ id: c.listener, uid: c.uid, queue: [] });
  return { ok: true };
}

function spawn(s: State, c: Extract<Command, { op: 'spawn' }>, choose: Choose<Outcome>): Outcome {
  const mode = s.config.listenSpawn;
  const errors: ErrorOf<'spawn'>[] = [];
  if (mode === 0) errors.push('spawn-disabled');
  if (globalOf(s, c.listener) === undefined) errors.push('unknown-listener');
  if (isListenerOpen(s, c.local)) errors.push('duplicate-listener');
  if (c.cpu !== null && c.cpu >= s.config.cpus) errors.push('bad-cpu');

  let cpu: number | null = c.cpu;
  if (mode !== 0 && cpu === null) {
    const noCpu = mode === 1 ? 'no-affinity' : 'no-free-cpu';
    const single = singleCpuOptions(s, c.worker);
    cpu = choose('the worker bound to one CPU', single, spawnedCpu(single, noCpu));
    if (cpu === null && mode === 1) errors.push('no-affinity');
    if (cpu === null && mode === 2) {
      const free = freeCpuOptions(s);
      cpu = choose('the next free CPU', free, spawnedCpu(free, noCpu));
      if (cpu === null) errors.push('no-free-cpu');
    }
  }
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  s.locals.push({ id: c.local, cpu: cpu!, global: c.listener, queue: [] });
  s.spawnedOn[cpu!] = true;
  s.workers[c.worker] = [cpu!];
  return { ok: true, cpu: cpu! };
}

function bind(s: State, c: Extract<Command, { op: 'bind' }>, choose: Choose<Outcome>): Outcome {
  const given = [...new Set(c.cpus)].sort((a, b) => a - b);
  if (given.length === 0) return { ok: false, error: 'empty-mask' };
  const mask = given.filter((cpu) => cpu < s.config.cpus);
  if (mask.length === 0) return oneOf(['bad-cpu', 'empty-mask'], choose)!;
  // Rule 4: sched_setaffinity keeps the CPUs that exist; the stricter reading rejects the whole mask.
  if (mask.length < given.length && !choose('a mask with CPUs that do not exist', [false, true], (o) => o.ok)) {
    return { ok: false, error: 'bad-cpu' };
  }
  s.workers[c.worker] = mask;
  return { ok: true };
}

function close(s: State, c: Extract<Command, { op: 'close' }>): Outcome {
  const g = globalOf(s, c.listener);
  if (g) {
    s.globals.splice(s.globals.indexOf(g), 1);
    for (const l of s.locals) if (l.global === g.id) l.global = null;
    return { ok: true, reset: resetQueue(s, g.queue) };
  }
  const l = localOf(s, c.listener);
  if (!l) return { ok: false, error: 'unknown-listener' };
  s.locals.splice(s.locals.indexOf(l), 1);
  return { ok: true, reset: resetQueue(s, l.queue) };
}

function connect(s: State, c: Extract<Command, { op: 'connect' }>, choose: Choose<Outcome>): Outcome {
  const errors: ErrorOf<'connect'>[] = [];
  if (s.connections[c.conn] !== undefined) errors.push('duplicate-conn');
  if (c.cpu >= s.config.cpus) errors.push('bad-cpu');
  // Rule 5: when no listener could take the SYN anyway, refused is as true as the input error.
  if (errors.length > 0 && s.globals.length === 0 && (c.cpu >= s.config.cpus || localTable(s, c.cpu).length === 0)) errors.push('refused');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  const table = localTable(s, c.cpu).map((l) => l.id);
  let listener: number;
  let where: 'local' | 'global';
  if (table.length > 0) {
    listener = choose('local listener', table, (o) => ('listener' in o ? o.listener : undefined));
    localOf(s, listener)!.queue.push(c.conn);
    where = 'local';
  } else if (s.globals.length > 0) {
    listener = byHash(s.globals.map((g) => g.id), c.hash, choose);
    globalOf(s, listener)!.queue.push(c.conn);
    where = 'global';
  } else {
    return { ok: false, error: 'refused' };
  }
  s.connections[c.conn] = { cpu: c.cpu, listener };
  return { ok: true, listener, table: where };
}

function accept(s: State, c: Extract<Command, { op: 'accept' }>, choose: Choose<Outcome>): Outcome {
  const g = globalOf(s, c.listener);
  const l = localOf(s, c.listener);
  if (!g && !l) return { ok: false, error: 'unknown-listener' };
  // A local listener's two queues: its global listener's, then its own (rule 6).
  const parent = l && l.global !== null ? globalOf(s, l.global)! : undefined;
  const queues = (g ? [g.queue] : [parent?.queue ?? [], l!.queue]).filter((q) => q.length > 0);
  if (queues.length === 0) return { ok: true, conn: null };
  const head = choose(
    'queue to accept from',
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
  if (conn.listener !== null) {
    const queue = (globalOf(s, conn.listener) ?? localOf(s, conn.listener))!.queue;
    queue.splice(queue.indexOf(c.conn), 1);
  }
  delete s.connections[c.conn];
  return { ok: true };
}

export const model: Model<Config, State, Command, Outcome> = {
  init: (config) => ({
    config,
    globals: [],
    locals: [],
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

// Fastsocket local listen tables — the properties checked on every step, the generators that drive
// them, and the corners the generators must reach. Each property is stated from the words,
// independently of the model's code, so it checks the implementation and the model alike (except
// `accept-alternates`, which pins a choice the model leaves open: see the README's fastsocket section).
import fc from 'fast-check';
import { shrinkingRuns } from './runs.ts';
import { alternatingAccepts, connectBetweenRemovalAndAddition, firstLeavesAfterARemoval, shapeCorners } from './shapes.ts';
import { FastsocketImpl } from '../impl/fastsocket.ts';
import {
  commandSchema,
  configSchema,
  FREE_CPU,
  MISSING_CPUS,
  model,
  UNBOUND_ON_ONE_CPU,
  outcomeSchemas,
  type Command,
  type Config,
  type Outcome,
  type State,
} from '../model/fastsocket.ts';
import { everyStep, whenever, type Corner, type Property, type Scheme, type Transition } from '../core/scheme.ts';
import { sameValue, show } from '../core/vocabulary.ts';

type T = Transition<Config, State, Command, Outcome>;
type FastsocketProperty = Property<Config, State, Command, Outcome>;

// Each property looks only at what its step could change: the command's CPU, listener, worker or
// connection, and the listeners tied to it (its CPU's table, its global listener or its local copies).

/** CPU c's local table: the open local listeners of c it lists (an entry a close left behind does not count). */
const tableOf = (s: State, cpu: number) => (s.tables[cpu] ?? []).filter((l) => s.locals[l]?.cpu === cpu);
/** Whether `cpu`'s local table lists an open local listener of that CPU (what a connect steers by), without listing the table. */
const hasLocal = (s: State, cpu: number) => (s.tables[cpu] ?? []).some((l) => s.locals[l]?.cpu === cpu);
const isLocalOf = (s: State, cpu: number, listener: number) => s.locals[listener]?.cpu === cpu && (s.tables[cpu] ?? []).includes(listener);
const isOpen = (s: State, listener: number) => listener in s.globals || listener in s.locals;
const queueOf = (s: State, listener: number) => s.globals[listener]?.queue ?? s.locals[listener]?.queue;
const boundTo = (s: State, worker: number) => (s.workers[worker]?.length === 1 ? s.workers[worker][0] : null);
/** The worker's one CPU, reading a never-bound worker on a one-CPU machine as the run does. */
const singleCpuOf = (s: State, worker: number) =>
  s.workers[worker] === undefined && s.unboundOnOneCpu === 'bound to CPU 0' ? 0 : boundTo(s, worker);
/** Mode 2's pick under the run's reading of "no spawned listener yet": never had one, or has none now. */
function freeCpuOf(s: State): number | null {
  for (let cpu = 0; cpu < s.config.cpus; cpu++) {
    if (s.freeCpu === 'has no local listener now' ? !hasLocal(s, cpu) : !s.spawnedOn[cpu]) return cpu;
  }
  return null;
}
const isConnect = (t: T): t is T & { cmd: Extract<Command, { op: 'connect' }> } =>
  t.cmd.op === 'connect' && t.cmd.cpu < t.config.cpus && !(t.cmd.conn in t.before.connections);

export const passiveLocality: FastsocketProperty = {
  name: 'passive-locality',
  rule: "true iff a connect on CPU c lands on a local listener of c whenever c's local table has one, and never on another CPU's local listener",
  monitor: everyStep((t) => {
    if (!isConnect(t)) return null;
    const { before, cmd, outcome } = t;
    const local = outcome.ok && 'table' in outcome && outcome.table === 'local' ? outcome.listener : null;
    const inTable = local !== null && isLocalOf(before, cmd.cpu, local);
    if (hasLocal(before, cmd.cpu) && !inTable) {
      return `CPU ${cmd.cpu} has local listeners ${show(tableOf(before, cmd.cpu))} but the connect gave ${show(outcome)}`;
    }
    if (local !== null && !inTable) return `connect on CPU ${cmd.cpu} went to ${local}, not in its local table ${show(tableOf(before, cmd.cpu))}`;
    return null;
  }),
};

export const globalFallback: FastsocketProperty = {
  name: 'global-fallback',
  rule: "true iff a connect on CPU c goes to a global listener exactly when c's local table is empty and a global listener is open, and is refused only when neither exists",
  monitor: everyStep((t) => {
    if (!isConnect(t)) return null;
    const { before, cmd, outcome } = t;
    const local = hasLocal(before, cmd.cpu);
    const globals = before.listenOrder;
    const went = outcome.ok && 'table' in outcome ? outcome : null;
    if (!local && globals.length > 0 && !(went?.table === 'global' && globals.includes(went.listener))) {
      return `CPU ${cmd.cpu} has no local listener and globals ${show(globals)} are open, but the connect gave ${show(outcome)}`;
    }
    if (went?.table === 'global' && local) return `connect on CPU ${cmd.cpu} fell back to the global table past ${show(tableOf(before, cmd.cpu))}`;
    if (!outcome.ok && outcome.error === 'refused' && (local || globals.length > 0)) return `refused with listeners open`;
    return null;
  }),
};

export const spawnCpuChoice: FastsocketProperty = {
  name: 'spawn-cpu-choice',
  rule: "true iff a spawn that succeeds uses the given cpu; else the worker's one bound CPU; else (mode 2) the lowest free CPU under the run's reading of free",
  monitor: everyStep(({ before, cmd, outcome }) => {
    if (cmd.op !== 'spawn' || !outcome.ok || !('cpu' in outcome)) return null;
    const wanted = cmd.cpu ?? singleCpuOf(before, cmd.worker) ?? (before.config.listenSpawn === 2 ? freeCpuOf(before) : null);
    return outcome.cpu === wanted ? null : `spawn chose CPU ${outcome.cpu}, the rule gives ${show(wanted)}`;
  }),
};

export const spawnErrors: FastsocketProperty = {
  name: 'spawn-errors',
  rule: 'true iff a spawn fails exactly when an error applies (mode 0: spawn-disabled; mode 1 without a cpu or one bound CPU: no-affinity; mode 2 with no free CPU: no-free-cpu; unknown-listener; duplicate-listener; bad-cpu) and then with one that applies',
  monitor: everyStep(({ before, cmd, outcome }) => {
    if (cmd.op !== 'spawn') return null;
    const mode = before.config.listenSpawn;
    const applies: string[] = [];
    if (mode === 0) applies.push('spawn-disabled');
    if (!(cmd.listener in before.globals)) applies.push('unknown-listener');
    if (isOpen(before, cmd.local)) applies.push('duplicate-listener');
    if (cmd.cpu !== null && cmd.cpu >= before.config.cpus) applies.push('bad-cpu');
    if (mode === 1 && cmd.cpu === null && singleCpuOf(before, cmd.worker) === null) applies.push('no-affinity');
    if (mode === 2 && cmd.cpu === null && singleCpuOf(before, cmd.worker) === null && freeCpuOf(before) === null) applies.push('no-free-cpu');
    if (outcome.ok) return applies.length === 0 ? null : `spawn succeeded although ${show(applies)} applies`;
    if (!applies.includes(outcome.error)) return `spawn failed with ${outcome.error}; applicable: ${show(applies)}`;
    return null;
  }),
};

export const spawnedWorkerBound: FastsocketProperty = {
  name: 'spawned-worker-bound',
  rule: "true iff after a spawn succeeds on CPU c its worker is bound to exactly c, and the local listener sits in c's table as a copy of the global one",
  monitor: everyStep(({ cmd, outcome, after }) => {
    if (cmd.op !== 'spawn' || !outcome.ok || !('cpu' in outcome)) return null;
    if (!sameValue(after.workers[cmd.worker], [outcome.cpu])) {
      return `worker ${cmd.worker} is bound to ${show(after.workers[cmd.worker])} after spawning on CPU ${outcome.cpu}`;
    }
    const local = after.locals[cmd.local];
    if (local?.cpu !== outcome.cpu || local.global !== cmd.listener) return `local listener ${cmd.local} is ${show(local)}`;
    if (!tableOf(after, outcome.cpu).includes(cmd.local)) return `local listener ${cmd.local} is not in CPU ${outcome.cpu}'s table ${show(tableOf(after, outcome.cpu))}`;
    return null;
  }),
};

export const acceptStaysLocal: FastsocketProperty = {
  name: 'accept-stays-local',
  rule: "true iff an accept takes a connection queued on that listener or (on a local listener) on its global listener — never from another listener's queue — and null only when those are empty",
  monitor: everyStep(({ before, cmd, outcome }) => {
    if (cmd.op !== 'accept' || !outcome.ok || !('conn' in outcome)) return null;
    const parent = before.locals[cmd.listener]?.global;
    const own = queueOf(before, cmd.listener) ?? [];
    const inherited = parent == null ? [] : (before.globals[parent]?.queue ?? []);
    // Built only for a message: a queue may hold thousands of connections.
    const reachable = () => [...own, ...inherited];
    if (outcome.conn === null) return own.length + inherited.length === 0 ? null : `accept on ${cmd.listener} gave null with ${show(reachable())} waiting`;
    return own.includes(outcome.conn) || inherited.includes(outcome.conn) ? null : `accept on ${cmd.listener} took ${outcome.conn}, not from its queues ${show(reachable())}`;
  }),
};

export const acceptAlternates: FastsocketProperty = {
  name: 'accept-alternates',
  implementationOnly: true,
  rule: "true iff, while a local listener's queue and its global listener's queue are both non-empty, two consecutive accepts on that local listener never both take from the same queue",
  monitor: () => {
    /** Per local listener: the queue its last accept took from when both were non-empty, else null. */
    const last = new Map<number, 'global' | 'local' | null>();
    return ({ before, cmd, outcome }) => {
      if (cmd.op === 'close') last.delete(cmd.listener);
      if (cmd.op !== 'accept' || !outcome.ok || !('conn' in outcome)) return null;
      const local = before.locals[cmd.listener];
      if (!local) return null;
      const parent = local.global === null ? undefined : before.globals[local.global];
      const both = local.queue.length > 0 && (parent?.queue.length ?? 0) > 0;
      const from = !both || outcome.conn === null ? null : parent!.queue.includes(outcome.conn) ? 'global' : 'local';
      const previous = last.get(cmd.listener) ?? null;
      last.set(cmd.listener, from);
      return from !== null && from === previous
        ? `two consecutive accepts on ${cmd.listener} both took from the ${from} queue while both were non-empty`
        : null;
    };
  },
};

export const closeResetsQueue: FastsocketProperty = {
  name: 'close-resets-queue',
  rule: 'true iff closing a listener lists in `reset` exactly the connections queued on it, and none of them is open afterwards',
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    if (cmd.op !== 'close' || !outcome.ok || !('reset' in outcome)) return null;
    const queued = queueOf(before, cmd.listener) ?? [];
    const listed = [...outcome.reset].sort((a, b) => a - b);
    if (!sameValue(listed, [...queued].sort((a, b) => a - b))) return `close of ${cmd.listener} listed ${show(listed)}, its queue held ${show(queued)}`;
    const stillOpen = listed.filter((c) => c in after.connections);
    return stillOpen.length === 0 ? null : `reset connections ${show(stillOpen)} are still open`;
  }),
};

export const closeOnlyItsListener: FastsocketProperty = {
  name: 'close-only-its-listener',
  rule: "true iff closing a listener leaves the listeners tied to it (its global listener, its CPU's table, its local copies, the other global listeners in listen order) open with their queues unchanged",
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    if (cmd.op !== 'close' || !outcome.ok) return null;
    if (isOpen(after, cmd.listener)) return `listener ${cmd.listener} is still open after its close`;
    const local = before.locals[cmd.listener];
    // The listeners a close could wrongly touch: a local's global listener and CPU table mates; a global's copies.
    const tied = local
      ? [...(local.global === null ? [] : [local.global]), ...tableOf(before, local.cpu)]
      : [...(before.globals[cmd.listener]?.copies ?? [])];
    for (const other of tied.filter((l) => l !== cmd.listener)) {
      if (!isOpen(after, other) || !sameValue(queueOf(before, other), queueOf(after, other))) {
        return `closing ${cmd.listener} changed listener ${other}: ${show(queueOf(before, other))} → ${show(queueOf(after, other) ?? 'closed')}`;
      }
    }
    const order = before.listenOrder.filter((l) => l !== cmd.listener);
    return sameValue(after.listenOrder, order) ? null : `closing ${cmd.listener} changed the listen order ${show(before.listenOrder)} to ${show(after.listenOrder)}`;
  }),
};

// ---- generators ----

const small = (min: number, max: number, rareMax: number) =>
  fc.oneof({ weight: 9, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.integer({ min, max: rareMax }) });

export const configs: fc.Arbitrary<Config> = fc.record({
  cpus: small(1, 2, 128),
  listenSpawn: fc.oneof(
    { weight: 1, arbitrary: fc.constant(0 as const) },
    { weight: 2, arbitrary: fc.constant(1 as const) },
    { weight: 5, arbitrary: fc.constant(2 as const) },
  ),
});

/** Ids 0..1 are mostly global listeners and 2..4 mostly local ones, so spawns find their global often. */
const globalId = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: 1 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 }) });
const listenCommand = fc.record({ op: fc.constant('listen' as const), listener: globalId, uid: fc.constantFrom(1000, 1001) });

export function commandsFor(config: Config): fc.Arbitrary<Command> {
  const validCpu = fc.integer({ min: 0, max: config.cpus - 1 });
  const cpu = fc.oneof({ weight: 29, arbitrary: validCpu }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 127 }) });
  const localId = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 2, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 }) });
  const worker = fc.integer({ min: 0, max: 3 });
  const conn = fc.integer({ min: 0, max: 12 });
  const spawn = fc.record({
    op: fc.constant('spawn' as const),
    listener: globalId,
    local: localId,
    worker,
    cpu: fc.oneof(
      { weight: 10, arbitrary: fc.constant(null) },
      { weight: 6, arbitrary: validCpu },
      { weight: config.cpus < 128 ? 2 : 0, arbitrary: fc.integer({ min: Math.min(config.cpus, 127), max: 127 }) },
    ),
  });
  // CPUs that do not exist (none when the config has all 128): masks mixing them with real ones, or only them.
  const outOfRange = fc.integer({ min: Math.min(config.cpus, 127), max: 127 });
  const rare = config.cpus < 128 ? 1 : 0;
  const bind = fc.record({
    op: fc.constant('bind' as const),
    worker,
    cpus: fc.oneof(
      { weight: 18, arbitrary: fc.uniqueArray(validCpu, { minLength: 1, maxLength: 2 }) },
      { weight: 1, arbitrary: fc.constant<number[]>([]) },
      { weight: 1, arbitrary: fc.array(cpu, { minLength: 1, maxLength: 2 }) },
      { weight: rare, arbitrary: fc.tuple(validCpu, outOfRange).map(([inRange, out]) => [out, inRange]) },
      { weight: rare, arbitrary: fc.array(outOfRange, { minLength: 1, maxLength: 2 }) },
    ),
  });
  const connect = fc.record(
    { op: fc.constant('connect' as const), conn, cpu, hash: fc.nat({ max: 2 ** 32 - 1 }) },
  );
  return fc.oneof(
    { weight: 2, arbitrary: listenCommand },
    { weight: 5, arbitrary: spawn },
    { weight: 2, arbitrary: bind },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('close' as const), listener: fc.oneof({ weight: 2, arbitrary: localId }, { weight: 1, arbitrary: globalId }) }) },
    { weight: 12, arbitrary: connect },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('accept' as const), listener: fc.oneof({ weight: 3, arbitrary: localId }, { weight: 1, arbitrary: globalId }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('closeConn' as const), conn }) },
  );
}

/** A burst of connects, then two accepts in a row on one local listener: alternation needs both queues filled. */
function burstFor(config: Config): fc.Arbitrary<Command[]> {
  const connect = fc.record({
    op: fc.constant('connect' as const),
    conn: fc.integer({ min: 0, max: 12 }),
    cpu: fc.integer({ min: 0, max: config.cpus - 1 }),
    hash: fc.nat({ max: 2 ** 32 - 1 }),
  });
  return fc
    .tuple(fc.array(connect, { minLength: 2, maxLength: 4 }), fc.integer({ min: 2, max: 3 }))
    .map(([connects, listener]): Command[] => [...connects, { op: 'accept', listener }, { op: 'accept', listener }]);
}

/**
 * Three local copies on one CPU, connects there and on another CPU (the global queue), accepts
 * alternating over two of them, one of the three (first, middle or last) closed, more connects:
 * the CPU table shapes, and a rule per listener (not per CPU) about alternation. Now and then the
 * third copy is spawned between the first two accepts: an addition to a table between accepts on it.
 */
function tableTrioFor(config: Config): fc.Arbitrary<Command[]> {
  const connectsOn = (cpu: number) =>
    fc.array(fc.record({ op: fc.constant('connect' as const), conn: fc.integer({ min: 0, max: 12 }), cpu: fc.constant(cpu), hash: fc.nat({ max: 2 ** 32 - 1 }) }), { minLength: 1, maxLength: 3 });
  return fc
    .tuple(
      fc.integer({ min: 0, max: config.cpus - 1 }),
      fc.uniqueArray(fc.integer({ min: 2, max: 4 }), { minLength: 3, maxLength: 3 }),
      fc.nat({ max: 2 }),
      fc.oneof({ weight: 2, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      fc.boolean(),
    )
    .chain(([cpu, locals, closing, again, late]) =>
      fc.tuple(connectsOn(cpu), connectsOn((cpu + 1) % config.cpus), connectsOn(cpu)).map(([here, there, then]): Command[] => [
        { op: 'listen', listener: 0, uid: 1000 },
        ...locals.slice(0, late ? 2 : 3).map((local, worker): Command => ({ op: 'spawn', listener: 0, local, worker, cpu })),
        ...here,
        ...there,
        { op: 'accept', listener: locals[0] },
        ...(late ? [{ op: 'spawn' as const, listener: 0, local: locals[2], worker: 2, cpu }] : []),
        ...[1, 0].map((k): Command => ({ op: 'accept', listener: locals[k] })),
        { op: 'close', listener: locals[closing] },
        // Now and then the new head of the two left closes too: a table's links after two removals.
        ...(again ? [{ op: 'close' as const, listener: locals[closing === 0 ? 1 : 0] }] : []),
        ...then,
      ]),
    );
}

/** Automatic spawns by distinct workers into distinct local ids: mode 2 runs out of CPUs. */
const spawnStorm = fc
  .tuple(fc.integer({ min: 0, max: 1 }), fc.uniqueArray(fc.integer({ min: 2, max: 5 }), { minLength: 2, maxLength: 3 }), fc.integer({ min: 0, max: 3 }))
  .map(([listener, locals, firstWorker]): Command[] =>
    locals.map((local, k) => ({ op: 'spawn', listener, local, worker: (firstWorker + k) % 4, cpu: null })),
  );

/** An opening that sets the stage more often than not: global listeners and local copies (shrinking may drop them). */
function openingFor(config: Config): fc.Arbitrary<Command[]> {
  const spawn = fc.record({
    op: fc.constant('spawn' as const),
    listener: fc.integer({ min: 0, max: 1 }),
    local: fc.integer({ min: 2, max: 3 }),
    worker: fc.integer({ min: 0, max: 2 }),
    cpu: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: config.cpus - 1 })),
  });
  const listens = fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 4, arbitrary: fc.array(listenCommand, { minLength: 1, maxLength: 2 }) });
  return fc.tuple(listens, fc.array(spawn, { maxLength: 2 })).map(([l, s]) => [...l, ...s]);
}

export const runs = shrinkingRuns(configs, (config) => config, (config) =>
  fc
    .tuple(
      openingFor(config),
      fc.array(
        fc.oneof(
          { weight: 12, arbitrary: commandsFor(config).map((c) => [c]) },
          { weight: 2, arbitrary: burstFor(config) },
          { weight: 1, arbitrary: spawnStorm },
          { weight: 1, arbitrary: tableTrioFor(config) },
        ),
        { maxLength: 50, size: 'max' },
      ),
    )
    .map(([opening, body]) => [...opening, ...body.flat()]),
);

// ---- corners the generators must reach ----

const failedWith = (op: Command['op'], error: string) =>
  whenever<T>(({ cmd, outcome }) => cmd.op === op && !outcome.ok && outcome.error === error);
const connectedTo = (table: 'local' | 'global') =>
  whenever<T>(({ cmd, outcome }) => cmd.op === 'connect' && outcome.ok && 'table' in outcome && outcome.table === table);
/** A local listener's two queues are both non-empty before this accept on it. */
const acceptWithBothQueues = ({ before, cmd }: T) => {
  if (cmd.op !== 'accept') return false;
  const local = before.locals[cmd.listener];
  const parent = local?.global == null ? undefined : before.globals[local.global];
  return local !== undefined && local.queue.length > 0 && (parent?.queue.length ?? 0) > 0;
};

const tablesOf = (s: State) => s.tables.map((_, cpu): [string, number[]] => [`cpu ${cpu}`, tableOf(s, cpu)]);
/** The listener an accept took a connection for (a local listener, from either of its queues). */
const acceptedOn = ({ cmd, outcome }: T) => (cmd.op === 'accept' && outcome.ok && 'conn' in outcome && outcome.conn !== null ? cmd.listener : undefined);

export const corners: Corner<Config, State, Command, Outcome>[] = [
  // A failed spawn concerns the table of the CPU it names.
  ...shapeCorners('table', tablesOf, ({ before, cmd }) => (cmd.op === 'spawn' && cmd.cpu !== null && cmd.cpu < before.tables.length ? [tableOf(before, cmd.cpu)] : [])),
  alternatingAccepts('table', tablesOf, acceptedOn),
  connectBetweenRemovalAndAddition('table', tablesOf, ({ cmd, outcome }) => cmd.op === 'connect' && outcome.ok),
  firstLeavesAfterARemoval('table', tablesOf),
  { name: 'connect-local', watch: connectedTo('local') },
  { name: 'connect-global', watch: connectedTo('global') },
  { name: 'connect-refused', watch: failedWith('connect', 'refused') },
  {
    name: 'fall-through-after-local-close',
    watch: () => {
      const closedOn = new Set<number>();
      return ({ before, cmd, outcome }) => {
        if (cmd.op === 'close' && outcome.ok) {
          const local = before.locals[cmd.listener];
          if (local) closedOn.add(local.cpu);
        }
        return cmd.op === 'connect' && outcome.ok && 'table' in outcome && outcome.table === 'global' && closedOn.has(cmd.cpu);
      };
    },
  },
  { name: 'spawn-explicit-cpu', watch: whenever(({ cmd, outcome }) => cmd.op === 'spawn' && outcome.ok && cmd.cpu !== null) },
  {
    name: 'spawn-bound-cpu',
    watch: whenever(({ before, cmd, outcome }) => cmd.op === 'spawn' && outcome.ok && cmd.cpu === null && boundTo(before, cmd.worker) !== null),
  },
  {
    name: 'spawn-next-free-cpu',
    watch: whenever(
      ({ before, cmd, outcome }) =>
        cmd.op === 'spawn' && outcome.ok && cmd.cpu === null && boundTo(before, cmd.worker) === null && before.config.cpus > 1,
    ),
  },
  { name: 'spawn-disabled', watch: failedWith('spawn', 'spawn-disabled') },
  { name: 'no-affinity', watch: failedWith('spawn', 'no-affinity') },
  { name: 'no-free-cpu', watch: failedWith('spawn', 'no-free-cpu') },
  { name: 'spawn-unknown-listener', watch: failedWith('spawn', 'unknown-listener') },
  { name: 'spawn-duplicate-listener', watch: failedWith('spawn', 'duplicate-listener') },
  { name: 'spawn-bad-cpu', watch: failedWith('spawn', 'bad-cpu') },
  { name: 'accept-with-both-queues', watch: whenever(acceptWithBothQueues) },
  {
    name: 'consecutive-accepts-with-both-queues',
    watch: () => {
      const previousBoth = new Map<number, boolean>();
      return (t) => {
        if (t.cmd.op !== 'accept') return false;
        const both = acceptWithBothQueues(t);
        const hit = both && previousBoth.get(t.cmd.listener) === true;
        previousBoth.set(t.cmd.listener, both);
        return hit;
      };
    },
  },
  { name: 'close-with-reset', watch: whenever(({ outcome }) => 'reset' in outcome && outcome.reset.length > 0) },
  {
    name: 'close-global-with-local-copies',
    watch: whenever(({ before, cmd, outcome }) => cmd.op === 'close' && outcome.ok && (before.globals[cmd.listener]?.copies.length ?? 0) > 0),
  },
];

export const fastsocketScheme: Scheme<Config, State, Command, Outcome> = {
  name: 'fastsocket',
  summary: 'Fastsocket: per-CPU local listen tables (listen_spawn 0/1/2), local-first lookup, global fallback, alternating accept',
  config: configSchema,
  command: commandSchema,
  outcome: (cmd) => outcomeSchemas[cmd.op],
  model,
  readings: [
    {
      name: FREE_CPU.name,
      options: FREE_CPU.options,
      meaning:
        "mode 2's free CPU (\"no spawned listener yet\"): 'never had a local listener' keeps a CPU taken once a local listener was spawned there (Fastsocket's spawn_cpuset); 'has no local listener now' frees it again when its local listeners have all closed",
    },
    {
      name: UNBOUND_ON_ONE_CPU.name,
      options: UNBOUND_ON_ONE_CPU.options,
      meaning:
        "a never-bound worker on a one-CPU machine: 'not bound' has no single CPU (no-affinity in mode 1, the automatic pick in mode 2); 'bound to CPU 0' takes sched_getaffinity's answer, exactly CPU 0, as bound",
    },
    {
      name: MISSING_CPUS.name,
      options: MISSING_CPUS.options,
      meaning:
        "a bind mask naming CPUs at or past cpus: 'bad-cpu' rejects the whole mask; 'dropped' keeps the CPUs that exist, as sched_setaffinity does, and fails (bad-cpu or empty-mask) only when none is left",
    },
  ],
  freedoms: [
    { name: 'which error', meaning: 'which of several applicable errors is reported: the issue does not rank them' },
    { name: 'which local listener of the CPU', meaning: "which of the local listeners of the connect's CPU takes the SYN when several share it" },
    { name: 'which global listener without a hash', meaning: 'which open global listener a connect without a hash (on a CPU with no local listener) goes to' },
    {
      name: 'which queue a local listener accepts from',
      meaning: "whether an accept on a local listener takes the head of its global listener's queue or of its own, when both are non-empty (accept-alternates pins this for implementations)",
    },
  ],
  implementation: (config) => new FastsocketImpl(config),
  properties: [
    passiveLocality,
    globalFallback,
    spawnCpuChoice,
    spawnErrors,
    spawnedWorkerBound,
    acceptStaysLocal,
    acceptAlternates,
    closeResetsQueue,
    closeOnlyItsListener,
  ],
  runs,
  corners,
};

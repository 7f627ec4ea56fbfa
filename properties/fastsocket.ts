// Fastsocket local listen tables — the properties checked on every step, the generators that drive
// them, and the corners the generators must reach. Each property is stated from the words,
// independently of the model's code, so it checks the implementation and the model alike (except
// `accept-alternates`, which pins a choice the model leaves open: see the README's fastsocket section).
import fc from 'fast-check';
import { FastsocketImpl } from '../impl/fastsocket.ts';
import {
  commandSchema,
  configSchema,
  model,
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


const tableOf = (s: State, cpu: number) => s.locals.filter((l) => l.cpu === cpu).map((l) => l.id);
const listenerIds = (s: State) => [...s.globals.map((g) => g.id), ...s.locals.map((l) => l.id)];
const queueOf = (s: State, listener: number) =>
  s.globals.find((g) => g.id === listener)?.queue ?? s.locals.find((l) => l.id === listener)?.queue;
const boundTo = (s: State, worker: number) => (s.workers[worker]?.length === 1 ? s.workers[worker][0] : null);
/** True iff the worker was never bound on a one-CPU machine: "bound to CPU 0" is a reading the model allows. */
const unboundOnOneCpu = (s: State, worker: number) => s.workers[worker] === undefined && s.config.cpus === 1;
const isConnect = (t: T): t is T & { cmd: Extract<Command, { op: 'connect' }> } =>
  t.cmd.op === 'connect' && t.cmd.cpu < t.config.cpus && !(t.cmd.conn in t.before.connections);
/** Mode 2's pick under each reading of "no spawned listener yet": no local listener now; never had one. */
function freeCpuReadings(s: State): (number | undefined)[] {
  const all = [...Array(s.config.cpus).keys()];
  return [all.find((c) => tableOf(s, c).length === 0), all.find((c) => !s.spawnedOn[c])];
}
const freeCpus = (s: State) => freeCpuReadings(s).filter((c) => c !== undefined);

export const passiveLocality: FastsocketProperty = {
  name: 'passive-locality',
  rule: "true iff a connect on CPU c lands on a local listener of c whenever c's local table has one, and never on another CPU's local listener",
  monitor: everyStep((t) => {
    if (!isConnect(t)) return null;
    const { before, cmd, outcome } = t;
    const table = tableOf(before, cmd.cpu);
    if (table.length > 0 && !(outcome.ok && 'table' in outcome && outcome.table === 'local' && table.includes(outcome.listener))) {
      return `CPU ${cmd.cpu} has local listeners ${show(table)} but the connect gave ${show(outcome)}`;
    }
    if (outcome.ok && 'table' in outcome && outcome.table === 'local' && !table.includes(outcome.listener)) {
      return `connect on CPU ${cmd.cpu} went to ${outcome.listener}, not in its local table ${show(table)}`;
    }
    return null;
  }),
};

export const globalFallback: FastsocketProperty = {
  name: 'global-fallback',
  rule: "true iff a connect on CPU c goes to a global listener exactly when c's local table is empty and a global listener is open, and is refused only when neither exists",
  monitor: everyStep((t) => {
    if (!isConnect(t)) return null;
    const { before, cmd, outcome } = t;
    const local = tableOf(before, cmd.cpu);
    const globals = before.globals.map((g) => g.id);
    const went = outcome.ok && 'table' in outcome ? outcome : null;
    if (local.length === 0 && globals.length > 0 && !(went?.table === 'global' && globals.includes(went.listener))) {
      return `CPU ${cmd.cpu} has no local listener and globals ${show(globals)} are open, but the connect gave ${show(outcome)}`;
    }
    if (went?.table === 'global' && local.length > 0) return `connect on CPU ${cmd.cpu} fell back to the global table past ${show(local)}`;
    if (!outcome.ok && outcome.error === 'refused' && local.length + globals.length > 0) return `refused with listeners open`;
    return null;
  }),
};

export const spawnCpuChoice: FastsocketProperty = {
  name: 'spawn-cpu-choice',
  rule: "true iff a spawn that succeeds uses the given cpu; else the worker's one bound CPU; else (mode 2) the lowest CPU with no local listener (or the lowest never spawned on)",
  monitor: everyStep(({ before, cmd, outcome }) => {
    if (cmd.op !== 'spawn' || !outcome.ok || !('cpu' in outcome)) return null;
    const bound = boundTo(before, cmd.worker);
    const allowed =
      cmd.cpu !== null
        ? [cmd.cpu]
        : bound !== null
          ? [bound]
          : [...(unboundOnOneCpu(before, cmd.worker) ? [0] : []), ...(before.config.listenSpawn === 2 ? freeCpus(before) : [])];
    return allowed.includes(outcome.cpu) ? null : `spawn chose CPU ${outcome.cpu}, allowed ${show(allowed)}`;
  }),
};

export const spawnErrors: FastsocketProperty = {
  name: 'spawn-errors',
  rule: 'true iff a spawn fails exactly when an error applies (mode 0: spawn-disabled; mode 1 without a cpu or one bound CPU: no-affinity; mode 2 with every CPU taken: no-free-cpu; unknown-listener; duplicate-listener; bad-cpu) and then with one that applies',
  monitor: everyStep(({ before, cmd, outcome }) => {
    if (cmd.op !== 'spawn') return null;
    const mode = before.config.listenSpawn;
    const certain: string[] = [];
    const possible: string[] = [];
    if (mode === 0) certain.push('spawn-disabled');
    if (!before.globals.some((g) => g.id === cmd.listener)) certain.push('unknown-listener');
    if (listenerIds(before).includes(cmd.local)) certain.push('duplicate-listener');
    if (cmd.cpu !== null && cmd.cpu >= before.config.cpus) certain.push('bad-cpu');
    if (mode !== 0 && cmd.cpu === null && boundTo(before, cmd.worker) === null) {
      const readings = freeCpuReadings(before);
      const noneFree = readings.filter((c) => c === undefined).length;
      const noCpu = mode === 1 ? 'no-affinity' : noneFree > 0 ? 'no-free-cpu' : null;
      const always = mode === 1 || noneFree === readings.length;
      if (noCpu !== null) (unboundOnOneCpu(before, cmd.worker) || !always ? possible : certain).push(noCpu);
    }
    if (outcome.ok) return certain.length === 0 ? null : `spawn succeeded although ${show(certain)} applies`;
    if (![...certain, ...possible].includes(outcome.error)) return `spawn failed with ${outcome.error}; applicable: ${show([...certain, ...possible])}`;
    return null;
  }),
};

export const spawnedWorkerBound: FastsocketProperty = {
  name: 'spawned-worker-bound',
  rule: 'true iff after a spawn succeeds on CPU c its worker is bound to exactly c, and the local listener sits in c\'s table as a copy of the global one',
  monitor: everyStep(({ cmd, outcome, after }) => {
    if (cmd.op !== 'spawn' || !outcome.ok || !('cpu' in outcome)) return null;
    if (!sameValue(after.workers[cmd.worker], [outcome.cpu])) {
      return `worker ${cmd.worker} is bound to ${show(after.workers[cmd.worker])} after spawning on CPU ${outcome.cpu}`;
    }
    const local = after.locals.find((l) => l.id === cmd.local);
    if (local?.cpu !== outcome.cpu || local.global !== cmd.listener) return `local listener ${cmd.local} is ${show(local)}`;
    return null;
  }),
};

export const acceptStaysLocal: FastsocketProperty = {
  name: 'accept-stays-local',
  rule: "true iff an accept takes a connection queued on that listener or (on a local listener) on its global listener — never from another listener's queue — and null only when those are empty",
  monitor: everyStep(({ before, cmd, outcome }) => {
    if (cmd.op !== 'accept' || !outcome.ok || !('conn' in outcome)) return null;
    const local = before.locals.find((l) => l.id === cmd.listener);
    const parent = local?.global == null ? undefined : before.globals.find((g) => g.id === local.global);
    const own = queueOf(before, cmd.listener) ?? [];
    const reachable = [...own, ...(parent?.queue ?? [])];
    if (outcome.conn === null) return reachable.length === 0 ? null : `accept on ${cmd.listener} gave null with ${show(reachable)} waiting`;
    return reachable.includes(outcome.conn) ? null : `accept on ${cmd.listener} took ${outcome.conn}, not from its queues ${show(reachable)}`;
  }),
};

export const acceptAlternates: FastsocketProperty = {
  name: 'accept-alternates',
  implementationOnly: true,
  rule: 'true iff, while a local listener\'s queue and its global listener\'s queue are both non-empty, two consecutive accepts on that local listener never both take from the same queue',
  monitor: () => {
    /** Per local listener: the queue its last accept took from when both were non-empty, else null. */
    const last = new Map<number, 'global' | 'local' | null>();
    return ({ before, cmd, outcome }) => {
      if (cmd.op === 'close') last.delete(cmd.listener);
      if (cmd.op !== 'accept' || !outcome.ok || !('conn' in outcome)) return null;
      const local = before.locals.find((l) => l.id === cmd.listener);
      if (!local) return null;
      const parent = local.global === null ? undefined : before.globals.find((g) => g.id === local.global);
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
  rule: "true iff closing a listener leaves every other listener open with its queue unchanged (a local close never closes its global listener; a global close keeps its local copies)",
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    if (cmd.op !== 'close' || !outcome.ok) return null;
    for (const other of listenerIds(before).filter((l) => l !== cmd.listener)) {
      if (!sameValue(queueOf(before, other), queueOf(after, other))) {
        return `closing ${cmd.listener} changed listener ${other}: ${show(queueOf(before, other))} → ${show(queueOf(after, other) ?? 'closed')}`;
      }
    }
    return listenerIds(after).includes(cmd.listener) ? `listener ${cmd.listener} is still open after its close` : null;
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

export const runs = configs.chain((config) =>
  fc
    .tuple(
      openingFor(config),
      fc.array(
        fc.oneof(
          { weight: 12, arbitrary: commandsFor(config).map((c) => [c]) },
          { weight: 2, arbitrary: burstFor(config) },
          { weight: 1, arbitrary: spawnStorm },
        ),
        { maxLength: 50, size: 'max' },
      ),
    )
    .map(([opening, body]) => ({ config, commands: [...opening, ...body.flat()] })),
);

// ---- corners the generators must reach ----

const failedWith = (op: Command['op'], error: string) =>
  whenever<T>(({ cmd, outcome }) => cmd.op === op && !outcome.ok && outcome.error === error);
const connectedTo = (table: 'local' | 'global') =>
  whenever<T>(({ cmd, outcome }) => cmd.op === 'connect' && outcome.ok && 'table' in outcome && outcome.table === table);
/** A local listener's two queues are both non-empty before this accept on it. */
const acceptWithBothQueues = ({ before, cmd }: T) => {
  if (cmd.op !== 'accept') return false;
  const local = before.locals.find((l) => l.id === cmd.listener);
  const parent = before.globals.find((g) => g.id === local?.global);
  return local !== undefined && local.queue.length > 0 && (parent?.queue.length ?? 0) > 0;
};

export const corners: Corner<Config, State, Command, Outcome>[] = [
  { name: 'connect-local', watch: connectedTo('local') },
  { name: 'connect-global', watch: connectedTo('global') },
  { name: 'connect-refused', watch: failedWith('connect', 'refused') },
  {
    name: 'fall-through-after-local-close',
    watch: () => {
      const closedOn = new Set<number>();
      return ({ before, cmd, outcome }) => {
        if (cmd.op === 'close' && outcome.ok) {
          const local = before.locals.find((l) => l.id === cmd.listener);
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
    watch: whenever(({ before, cmd, outcome }) => cmd.op === 'close' && outcome.ok && before.locals.some((l) => l.global === cmd.listener)),
  },
];

export const fastsocketScheme: Scheme<Config, State, Command, Outcome> = {
  name: 'fastsocket',
  summary: 'Fastsocket: per-CPU local listen tables (listen_spawn 0/1/2), local-first lookup, global fallback, alternating accept',
  config: configSchema,
  command: commandSchema,
  outcome: (cmd) => outcomeSchemas[cmd.op],
  model,
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

// Linux SO_REUSEPORT — the properties checked on every step, the generators that drive them, and the
// corners they must reach. Each property is stated independently of the model's code and checks only
// what it can see: without a `hash` (the kernel computes its own) the hash-dependent part of a rule
// is checked as "one of the listeners some hash gives", never skipped silently.
import fc from 'fast-check';
import { shrinkingRuns } from './runs.ts';
import { changeOfMovedMember, connectBetweenRemovalAndAddition, holding, removalWithQueue, shapeCorners } from './shapes.ts';
import { LinuxReuseportImpl } from '../impl/linux-reuseport.ts';
import {
  commandSchema,
  configSchema,
  INCOMING_CPU_AT,
  INCOMING_CPU_PAST_CPUS,
  LOCAL_READINGS,
  model,
  outcomeSchemas,
  scaled,
  type Command,
  type Config,
  type Listener,
  type Outcome,
  type State,
} from '../model/linux-reuseport.ts';
import { everyStep, whenever, type Corner, type Property, type Scheme, type Transition } from '../core/scheme.ts';
import { sameValue, show } from '../core/vocabulary.ts';
import { noLostConnections } from './shared.ts';

type T = Transition<Config, State, Command, Outcome>;
type LinuxProperty = Property<Config, State, Command, Outcome>;

const ids = (members: Listener[]) => members.map((m) => m.id);
const incomingOf = (s: State, listener: number) => s.members.find((m) => m.id === listener)?.incomingCpu;

/** True iff the CPU program decides this connect (program "cpu" and the CPU indexes a member). */
const programDecides = (s: State, cpu: number) => s.config.program === 'cpu' && cpu < s.members.length;

/** Every start index a hash may give: the one of `hash`, or all when it is unknown. */
const starts = (n: number, hash: number | undefined) => (hash === undefined ? [...Array(n).keys()] : [scaled(hash, n)]);

/** The first member at or after `start`, cyclically, whose SO_INCOMING_CPU is `cpu`; else the start member. */
function probeFrom(members: Listener[], start: number, cpu: number): Listener {
  // The length read once: on a before-view every read of it is a trap.
  const n = members.length;
  for (let k = 0; k < n; k++) {
    const m = members[(start + k) % n];
    if (m.incomingCpu === cpu) return m;
  }
  return members[start];
}

export const cpuProgramIndex: LinuxProperty = {
  name: 'cpu-program-index',
  rule: 'true iff with the CPU program a connect on CPU c goes to member c whenever c < n (reuseport_bpf_cpu.c), and to the hash path otherwise',
  monitor: everyStep(({ before, cmd, outcome }) => {
    if (cmd.op !== 'connect' || !outcome.ok || !('listener' in outcome) || before.config.program !== 'cpu') return null;
    const n = before.members.length;
    if (cmd.cpu < n) {
      const member = before.members[cmd.cpu].id;
      return outcome.listener === member ? null : `CPU ${cmd.cpu} went to ${outcome.listener}, not member ${cmd.cpu} (${member}) of ${show(ids(before.members))}`;
    }
    if (cmd.hash === undefined || before.incomingCpus > 0) return null;
    const expected = before.members[scaled(cmd.hash, n)].id;
    return outcome.listener === expected ? null : `CPU ${cmd.cpu} is outside the group of ${n}: the hash path gives ${expected}, not ${outcome.listener}`;
  }),
};

export const hashIndex: LinuxProperty = {
  name: 'hash-index',
  rule: 'true iff, when no member has SO_INCOMING_CPU and no program decides, a connect goes to member floor(hash * n / 2^32)',
  monitor: everyStep(({ before, cmd, outcome }) => {
    if (cmd.op !== 'connect' || !outcome.ok || !('listener' in outcome) || cmd.hash === undefined) return null;
    if (programDecides(before, cmd.cpu) || before.incomingCpus > 0) return null;
    const expected = before.members[scaled(cmd.hash, before.members.length)].id;
    return outcome.listener === expected ? null : `hash ${cmd.hash} over ${show(ids(before.members))} gives ${expected}, not ${outcome.listener}`;
  }),
};

/** How a step changes the group's count of members with SO_INCOMING_CPU set (rule 2). */
function incomingCountChange({ before, cmd, outcome }: T): number {
  if (!outcome.ok) return 0;
  const set = (cpu: number | undefined) => (cpu !== undefined && cpu >= 0 ? 1 : 0);
  if (cmd.op === 'register') return set(cmd.incomingCpu);
  if (cmd.op === 'setIncomingCpu') return set(cmd.incomingCpu) - set(incomingOf(before, cmd.listener));
  if (cmd.op === 'deregister') return -set(incomingOf(before, cmd.listener));
  return 0;
}

export const incomingCpuPreference: LinuxProperty = {
  name: 'incoming-cpu-preference',
  rule: 'true iff the group counts the members with SO_INCOMING_CPU set (register, setIncomingCpu and deregister keep it), and while any is set a connect on the hash path on CPU c goes to the first member with SO_INCOMING_CPU c probing cyclically from floor(hash * n / 2^32), or to that start member when none has it',
  monitor: everyStep((t) => {
    const { before, cmd, outcome, after } = t;
    const count = before.incomingCpus + incomingCountChange(t);
    if (after.incomingCpus !== count) return `the group counts ${after.incomingCpus} members with SO_INCOMING_CPU after ${show(cmd)}, not ${count}`;
    if (cmd.op !== 'connect' || !outcome.ok || !('listener' in outcome)) return null;
    if (programDecides(before, cmd.cpu) || before.incomingCpus === 0) return null;
    // A connect changes no member: the after-state's group, read plain, is the one the connect probed.
    const members = after.members;
    const allowed = new Set(starts(members.length, cmd.hash).map((start) => probeFrom(members, start, cmd.cpu).id));
    return allowed.has(outcome.listener)
      ? null
      : `CPU ${cmd.cpu}${cmd.hash === undefined ? '' : ` with hash ${cmd.hash}`} over ${show(members.map((m) => [m.id, m.incomingCpu]))} may go to ${show([...allowed])}, went to ${outcome.listener}`;
  }),
};

/** The meanings `local` may have for Linux; a run keeps one (README, linux-reuseport decisions). */
const localMeanings = {
  'SO_INCOMING_CPU matches the CPU': ({ before, cmd, outcome }: ConnectStep) => incomingOf(before, outcome.listener) === cmd.cpu,
  'always false': () => false,
  'the CPU program chose it': ({ before, cmd }: ConnectStep) => programDecides(before, cmd.cpu),
};
type ConnectStep = { before: State; cmd: Extract<Command, { op: 'connect' }>; outcome: { listener: number; local: boolean } };

export const localFlag: LinuxProperty = {
  name: 'local-flag',
  rule: "true iff `local` keeps one meaning throughout the run: the chosen listener's SO_INCOMING_CPU equals the connecting CPU, always false, or true exactly when the CPU program chose the listener",
  // A history property: it remembers which meanings the run's connects have left open (names only).
  monitor: () => {
    let open = Object.keys(localMeanings) as (keyof typeof localMeanings)[];
    return ({ before, cmd, outcome, after }) => {
      if (cmd.op !== 'connect' || !outcome.ok || !('listener' in outcome)) return null;
      // A connect changes no member, so the group after it is the group it found: read the after-state,
      // plain, rather than the before-view (a trap per read, per member of a 128-member group).
      const step = { before: after, cmd, outcome };
      const left = open.filter((meaning) => localMeanings[meaning](step) === outcome.local);
      if (left.length === 0) {
        return `local is ${outcome.local} for listener ${outcome.listener} (SO_INCOMING_CPU ${incomingOf(after, outcome.listener)}) on CPU ${cmd.cpu}: no meaning the run has kept (${open.join(', ')}) gives that`;
      }
      open = left;
      return null;
    };
  },
};

export const swapWithLast: LinuxProperty = {
  name: 'swap-with-last',
  rule: "true iff registration appends to the group and deregistration moves the last member into the leaving one's place, leaving the rest where they were",
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    // Only register and deregister touch the group; any other step must leave its size alone.
    if (cmd.op !== 'register' && cmd.op !== 'deregister') {
      return after.members.length === before.members.length ? null : `the group has ${after.members.length} members after ${cmd.op}, had ${before.members.length}`;
    }
    const was = ids(before.members);
    let expected = was;
    if (cmd.op === 'register' && outcome.ok) expected = [...was, cmd.listener];
    if (cmd.op === 'deregister' && outcome.ok) {
      expected = [...was];
      const at = expected.indexOf(cmd.listener);
      expected[at] = expected[expected.length - 1];
      expected.pop();
    }
    const now = ids(after.members);
    return sameValue(now, expected) ? null : `the group is ${show(now)} after ${cmd.op}, expected ${show(expected)}`;
  }),
};

export const migrationByHash: LinuxProperty = {
  name: 'migration-by-hash',
  rule: 'true iff with migrate on and members left, every queued connection of a leaving listener moves, in queue order, to the listener the hash path gives among the remaining members for its own hash and the closing CPU',
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    if (cmd.op !== 'deregister' || !('migrated' in outcome) || !before.config.migrate || after.members.length === 0) return null;
    const leaving = before.members.find((m) => m.id === cmd.listener)!;
    if (outcome.reset.length > 0) return `reset ${show(outcome.reset)} although ${show(ids(after.members))} remain`;
    if (!sameValue(outcome.migrated.map(([c]) => c), leaving.queue)) return `migrated ${show(outcome.migrated)} is not the queue ${show(leaving.queue)} in order`;
    const cpus = cmd.cpu === undefined ? [...Array(before.config.cpus).keys()] : [cmd.cpu];
    const n = after.members.length;
    const probing = after.incomingCpus > 0;
    for (const [conn, target] of outcome.migrated) {
      const allowed = new Set<number>();
      for (const cpu of cpus) {
        for (const start of starts(n, before.connections[conn].hash)) allowed.add((probing ? probeFrom(after.members, start, cpu) : after.members[start]).id);
      }
      if (!allowed.has(target)) return `connection ${conn} migrated to ${target}; the hash path over ${show(ids(after.members))} allows ${show([...allowed])}`;
    }
    const expectedTails = new Map<number, number[]>();
    for (const [conn, target] of outcome.migrated) expectedTails.set(target, [...(expectedTails.get(target) ?? []), conn]);
    for (const [target, conns] of expectedTails) {
      const queue = after.members.find((m) => m.id === target)!.queue;
      if (!sameValue(queue.slice(queue.length - conns.length), conns)) return `listener ${target}'s queue ${show(queue)} does not end with ${show(conns)}`;
    }
    return null;
  }),
};

export const resetWithoutMigration: LinuxProperty = {
  name: 'reset-without-migration',
  rule: 'true iff with migrate off, or when no member remains, every queued connection of a leaving listener is reset and none migrated',
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    if (cmd.op !== 'deregister' || !('migrated' in outcome)) return null;
    if (before.config.migrate && after.members.length > 0) return null;
    const leaving = before.members.find((m) => m.id === cmd.listener)!;
    if (outcome.migrated.length > 0) return `migrated ${show(outcome.migrated)} although ${before.config.migrate ? 'no member remains' : 'migrate is off'}`;
    return sameValue([...outcome.reset].sort((a, b) => a - b), [...leaving.queue].sort((a, b) => a - b))
      ? null
      : `reset ${show(outcome.reset)}, but the queue held ${show(leaving.queue)}`;
  }),
};

export const sameUid: LinuxProperty = {
  name: 'same-uid',
  rule: "true iff every member has the owner's uid, the group has an owner exactly when it has members, and a registrant is refused with uid-mismatch only when its uid differs from that owner",
  // Checked where a step can change it: the owner, and the one member a register adds.
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    if ((after.owner === null) !== (after.members.length === 0)) return `owner ${after.owner} with ${after.members.length} members`;
    if (before.owner !== null && after.owner !== null && after.owner !== before.owner) return `the owner changed from ${before.owner} to ${after.owner} while the group had members`;
    if (cmd.op === 'register' && outcome.ok) {
      const added = after.members[after.members.length - 1];
      if (added.uid !== after.owner) return `listener ${added.id} has uid ${added.uid}, the owner is ${after.owner}`;
    }
    if (cmd.op === 'register' && !outcome.ok && outcome.error === 'uid-mismatch' && (before.owner === null || before.owner === cmd.uid)) {
      return `uid ${cmd.uid} refused although the owner is ${before.owner}`;
    }
    return null;
  }),
};

export const fifoAccept: LinuxProperty = {
  name: 'fifo-accept',
  rule: "true iff accept returns the oldest connection of the listener's queue, or null when it is empty",
  monitor: everyStep(({ before, cmd, outcome }) => {
    if (cmd.op !== 'accept' || !outcome.ok || !('conn' in outcome)) return null;
    const head = before.members.find((m) => m.id === cmd.listener)?.queue[0] ?? null;
    return outcome.conn === head ? null : `accept on ${cmd.listener} gave ${outcome.conn}, the head of its queue is ${head}`;
  }),
};

// ---- generators ----

export const configs: fc.Arbitrary<Config> = fc.record({
  // More CPUs than members now and then: the CPU program's fallback for a CPU past the members.
  cpus: fc.oneof({ weight: 4, arbitrary: fc.constant(2) }, { weight: 5, arbitrary: fc.constantFrom(1, 3, 4, 4) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 128 }) }),
  migrate: fc.oneof({ weight: 2, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  // Half the runs attach the CPU program: its fallbacks (a CPU past the members, a migration) need many runs to meet.
  program: fc.oneof({ weight: 1, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constant('cpu' as const) }),
  family: fc.constantFrom('ipv4' as const, 'ipv6' as const),
});

/** How the run's registrants use SO_INCOMING_CPU: never, on every listener, or on some. */
export type IncomingStyle = 'none' | 'every' | 'some';

/** Commands for one run. `withHash` false leaves hashes out (for a kernel, which computes its own). */
export function commandsFor(config: Config, style: IncomingStyle, withHash = true): fc.Arbitrary<Command> {
  const lowCpu = fc.integer({ min: 0, max: Math.min(config.cpus, 4) - 1 });
  const cpu = fc.oneof({ weight: 19, arbitrary: lowCpu }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 127 }) });
  const listener = fc.integer({ min: 0, max: 3 });
  const conn = fc.integer({ min: 0, max: 12 });
  const incoming =
    style === 'none'
      ? fc.constant(-1)
      : style === 'every'
        ? fc.oneof({ weight: 19, arbitrary: lowCpu }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 127 }) })
        : fc.oneof(fc.constant(-1), lowCpu);
  const register = fc.record({
    op: fc.constant('register' as const),
    listener,
    uid: fc.oneof({ weight: 9, arbitrary: fc.constant(1000) }, { weight: 1, arbitrary: fc.constant(1001) }),
    incomingCpu: incoming,
    incomingCpuAt: fc.constantFrom(...INCOMING_CPU_AT),
  }, { requiredKeys: ['op', 'listener', 'uid', 'incomingCpu'] });
  const setIncoming = fc.record({ op: fc.constant('setIncomingCpu' as const), listener, incomingCpu: style === 'none' ? fc.constant(-1) : fc.oneof(fc.constant(-1), lowCpu) });
  const hash = fc.oneof(fc.nat({ max: 2 ** 32 - 1 }), fc.constantFrom(0, 2 ** 31, 2 ** 32 - 1));
  const connect = withHash
    ? fc.record({ op: fc.constant('connect' as const), conn, cpu, hash })
    : fc.record({ op: fc.constant('connect' as const), conn, cpu });
  const deregister = fc.record({ op: fc.constant('deregister' as const), listener, cpu }, { requiredKeys: ['op', 'listener'] });
  return fc.oneof(
    { weight: 5, arbitrary: register },
    { weight: style === 'none' ? 0 : 1, arbitrary: setIncoming },
    { weight: 8, arbitrary: connect },
    { weight: 3, arbitrary: deregister },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('accept' as const), listener }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('close' as const), conn }) },
  );
}

export const styles = fc.oneof(
  { weight: 1, arbitrary: fc.constant<IncomingStyle>('none') },
  { weight: 2, arbitrary: fc.constant<IncomingStyle>('every') },
  { weight: 2, arbitrary: fc.constant<IncomingStyle>('some') },
);

/**
 * A group of three (SO_INCOMING_CPU as the run's style: none, the same CPU on two, or some), connects, one of the three
 * (first, middle or last) deregistered on some CPU (often the two's), then now and then setIncomingCpu
 * on the third (the one swap-with-last moves), connects, and sometimes all leaving and a registrant of
 * another uid: a leaving listener with two children and two remaining members matching its CPU, a
 * moved member changed afterwards and an emptied group are rare from single commands.
 */
function trioFor(config: Config, style: IncomingStyle): fc.Arbitrary<Command[]> {
  const lowCpu = fc.integer({ min: 0, max: Math.min(config.cpus, 4) - 1 });
  // The highest CPU often: after the removal it is past the two members left, where the CPU program falls back.
  const connects = (min: number, max: number) =>
    fc.array(fc.record({ op: fc.constant('connect' as const), conn: fc.integer({ min: 0, max: 12 }), cpu: fc.oneof(lowCpu, fc.constant(Math.min(config.cpus, 4) - 1)), hash: fc.nat({ max: 2 ** 32 - 1 }) }), { minLength: min, maxLength: max });
  // As the run's style has it: none set, two on one CPU, or each set or not.
  const incoming =
    style === 'none'
      ? fc.constant([-1, -1, -1])
      : style === 'every'
        ? fc.tuple(lowCpu, fc.nat({ max: 2 })).map(([cpu, unset]) => [0, 1, 2].map((k) => (k === unset ? -1 : cpu)))
        : fc.array(fc.oneof(fc.constant(-1), lowCpu), { minLength: 3, maxLength: 3 });
  return fc
    .tuple(fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 3, maxLength: 3 }), incoming, connects(2, 3), fc.nat({ max: 2 }), fc.oneof(fc.constant(null), lowCpu), fc.option(lowCpu), connects(1, 2), fc.nat({ max: 3 }))
    .map(([trio, cpus, before, leaving, closingCpu, moved, after, ending]): Command[] => {
      const cpu = closingCpu ?? Math.max(...cpus);
      const rest = trio.filter((_, k) => k !== leaving);
      // Every other connect aimed at the leaving one (its share of the hash range, in a group of just these three), so it has children to migrate.
      const aimed = before.map((c, k) => (k % 2 === 1 ? c : { ...c, hash: Math.floor(((leaving + (c.hash % 1000) / 1000) * 2 ** 32) / 3) }));
      return [
        ...trio.map((listener, k): Command => ({ op: 'register', listener, uid: 1000, incomingCpu: cpus[k] })),
        ...aimed,
        { op: 'deregister', listener: trio[leaving], cpu: Math.max(0, cpu) },
        ...(moved === null || style === 'none' ? [] : [{ op: 'setIncomingCpu' as const, listener: trio[2], incomingCpu: moved }]),
        ...after,
        ...(ending === 0 ? [...rest.map((listener): Command => ({ op: 'deregister', listener, cpu: Math.max(0, cpu) })), { op: 'register' as const, listener: trio[0], uid: 1001, incomingCpu: -1 }] : []),
      ];
    });
}

export const runs = shrinkingRuns(
  fc.tuple(configs, styles),
  ([config]) => config,
  ([config, style]) =>
    fc
      .array(fc.oneof({ weight: 14, arbitrary: commandsFor(config, style).map((c) => [c]) }, { weight: 1, arbitrary: trioFor(config, style) }), { maxLength: 26, size: 'max' })
      .map((blocks) => blocks.flat()),
);

// ---- corners ----

const isConnectTo = (t: T) => t.cmd.op === 'connect' && t.outcome.ok && 'listener' in t.outcome;

const groupOf = (s: State): [string, number[]][] => [['group', s.members.map((m) => m.id)]];

export const corners: Corner<Config, State, Command, Outcome>[] = [
  ...shapeCorners('group', groupOf, ({ before, cmd }) => ('listener' in cmd ? holding(groupOf, before, cmd.listener) : [])),
  connectBetweenRemovalAndAddition('group', groupOf, isConnectTo),
  changeOfMovedMember('group', groupOf, ({ cmd, outcome }) => (cmd.op === 'setIncomingCpu' && outcome.ok ? cmd.listener : undefined)),
  removalWithQueue('group', groupOf, ({ before, cmd }) => (cmd.op === 'deregister' ? ((before as State).members.find((m) => m.id === cmd.listener)?.queue.length ?? 0) : 0)),
  {
    name: 'incoming-cpu-probe-wraps',
    watch: whenever((t) => {
      if (!isConnectTo(t) || t.cmd.op !== 'connect' || t.cmd.hash === undefined || programDecides(t.before, t.cmd.cpu)) return false;
      const n = t.before.members.length;
      const at = t.before.members.findIndex((m) => 'listener' in t.outcome && m.id === t.outcome.listener);
      return t.before.members[at].incomingCpu === t.cmd.cpu && at < scaled(t.cmd.hash, n);
    }),
  },
  {
    name: 'incoming-cpu-no-match',
    watch: whenever((t) => t.cmd.op === 'connect' && t.outcome.ok && !programDecides(t.before, t.cmd.cpu) && t.before.members.some((m) => m.incomingCpu >= 0) && !t.before.members.some((m) => t.cmd.op === 'connect' && m.incomingCpu === t.cmd.cpu)),
  },
  { name: 'cpu-program-falls-back', watch: whenever((t) => t.cmd.op === 'connect' && t.outcome.ok && t.before.config.program === 'cpu' && t.cmd.cpu >= t.before.members.length) },
  {
    name: 'swap-moves-a-member',
    watch: whenever((t) => t.cmd.op === 'deregister' && t.outcome.ok && t.before.members.length > 1 && t.before.members.at(-1)!.id !== t.cmd.listener),
  },
  { name: 'migration-with-queue', watch: whenever(({ outcome }) => 'migrated' in outcome && outcome.migrated.length > 0) },
  { name: 'reset-on-deregister', watch: whenever(({ outcome }) => 'reset' in outcome && outcome.reset.length > 0) },
  { name: 'wrong-uid', watch: whenever(({ before, cmd }) => cmd.op === 'register' && before.owner !== null && before.owner !== cmd.uid) },
  {
    name: 'group-emptied-and-refilled',
    watch: () => {
      let emptied = false;
      return ({ before, cmd, outcome, after }) => {
        if (cmd.op === 'deregister' && outcome.ok && after.owner === null) emptied = true;
        return emptied && cmd.op === 'register' && outcome.ok && before.owner === null;
      };
    },
  },
];

export const linuxReuseportScheme: Scheme<Config, State, Command, Outcome> = {
  name: 'linux-reuseport',
  summary: 'Linux 6.x SO_REUSEPORT: hash index, SO_INCOMING_CPU probe, the cBPF CPU program, swap-with-last removal, tcp_migrate_req',
  config: configSchema,
  command: commandSchema,
  outcome: (cmd) => outcomeSchemas[cmd.op],
  model,
  readings: [
    {
      name: 'SO_INCOMING_CPU past the CPUs',
      options: INCOMING_CPU_PAST_CPUS,
      meaning:
        'an SO_INCOMING_CPU at or past `cpus` on register or setIncomingCpu is refused with bad-cpu (bad-cpu: the impl and the kernel helper), or taken as the kernel does, counting as set and never matching a connecting CPU (accepted)',
    },
    {
      name: 'local',
      options: LOCAL_READINGS,
      meaning:
        "`local` is true iff the chosen listener's SO_INCOMING_CPU is the connecting CPU (incoming-cpu-matches: the impl and the kernel helper), never (always-false, as in SO_REUSERPS's plain groups), or iff the CPU program chose the listener by CPU (cpu-program-chose; without a CPU program that is always-false itself, so such a config reads only the other two)",
    },
  ],
  freedoms: [
    { name: 'which error', meaning: 'several errors apply and none outranks the others (e.g. refused beside bad-cpu on an empty group): each is allowed' },
    { name: 'listener of a connect without a hash', meaning: 'a connect without `hash` (a kernel computes its own) may go to every listener some hash would give' },
    {
      name: 'new listener of a migrated connection',
      meaning: 'a connection migrated without a known hash, or by a deregister without `cpu`, may go to every remaining listener some hash or closing CPU would give, each connection on its own',
    },
  ],
  implementation: (config) => new LinuxReuseportImpl(config),
  properties: [cpuProgramIndex, hashIndex, incomingCpuPreference, localFlag, swapWithLast, migrationByHash, resetWithoutMigration, sameUid, fifoAccept, noLostConnections],
  runs,
  corners,
};

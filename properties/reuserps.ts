// SO_REUSERPS — the properties checked on every step, the generators that drive them, and the
// corners the generators must reach. Each property is stated independently of the model's code,
// so it checks the implementation and the model alike.
import fc from 'fast-check';
import { reuserpsParallelRuns } from './parallel-runs.ts';
import { shrinkingRuns } from './runs.ts';
import { connectBetweenRemovalAndAddition, shapeCorners } from './shapes.ts';
import { ReuserpsImpl } from '../impl/reuserps.ts';
import {
  commandSchema,
  configSchema,
  CURSOR_PAST_END,
  isBelowLimit,
  memberOf,
  model,
  outcomeSchemas,
  type Command,
  type Config,
  type Outcome,
  type State,
} from '../model/reuserps.ts';
import { everyStep, whenever, type Corner, type Property, type Scheme, type Transition } from '../core/scheme.ts';
import { sameValue, show } from '../core/vocabulary.ts';
import { noLostConnections } from './shared.ts';

type ReuserpsProperty = Property<Config, State, Command, Outcome>;


export const locality: ReuserpsProperty = {
  name: 'locality',
  rule: "true iff a connect on CPU c lands in c's table whenever that table has a listener below its limit, and `local` says whether it did",
  monitor: everyStep(({ before, cmd, outcome }) => {
    if (cmd.op !== 'connect' || before.group?.mode !== 'reuserps' || cmd.cpu >= before.config.cpus) {
      return cmd.op === 'connect' && outcome.ok && 'local' in outcome && outcome.local ? 'local is true outside an SO_REUSERPS group' : null;
    }
    const table = before.tables[cmd.cpu];
    const hasEligible = table.some((l) => isBelowLimit(before, l));
    if (!outcome.ok) {
      return hasEligible && outcome.error === 'refused' ? `refused on CPU ${cmd.cpu} although its table ${show(table)} has room` : null;
    }
    if (!('listener' in outcome)) return null;
    const inTable = table.includes(outcome.listener);
    if (hasEligible && !inTable) return `CPU ${cmd.cpu} went to listener ${outcome.listener}, outside its table ${show(table)} which has room`;
    if (outcome.local !== inTable) return `local is ${outcome.local} but listener ${outcome.listener} is ${inTable ? '' : 'not '}in CPU ${cmd.cpu}'s table`;
    return null;
  }),
};

export const roundRobinFairness: ReuserpsProperty = {
  name: 'round-robin-fairness',
  rule: "true iff, between two changes of a CPU's table and while none of its listeners is at its limit, round-robin assignments among that table's listeners differ by at most one",
  monitor: (config) => {
    const counts = new Map<number, Map<number, number>>();
    const limitHit = new Set<number>();
    // Listeners ever registered with a limit: only they can be at it, so a table of unlimited ones is
    // passed over without looking each listener up.
    const limited = new Set<number>();
    const atLimit = (s: State, cpu: number) => s.tables[cpu].some((l) => limited.has(l) && !isBelowLimit(s, l));
    return ({ before, cmd, outcome, after }) => {
      if (config.policy !== 'round-robin') return null;
      if (cmd.op === 'register' && cmd.limit > 0) limited.add(cmd.listener);
      // Only a registration or a removal changes tables: the CPUs it names start counting afresh.
      const changed = !outcome.ok ? [] : cmd.op === 'register' ? cmd.cpus : cmd.op === 'deregister' ? (memberOf(before, cmd.listener)?.cpus ?? []) : [];
      for (const cpu of changed) {
        counts.delete(cpu);
        limitHit.delete(cpu);
      }
      const arrivals: [cpu: number, listener: number][] = [];
      if (cmd.op === 'connect' && outcome.ok && 'local' in outcome && outcome.local) arrivals.push([cmd.cpu, outcome.listener]);
      if (cmd.op === 'deregister' && outcome.ok && 'migrated' in outcome) {
        for (const [conn, listener] of outcome.migrated) {
          const cpu = before.connections[conn].cpu;
          if (after.tables[cpu].includes(listener)) arrivals.push([cpu, listener]);
        }
      }
      for (const [cpu, listener] of arrivals) {
        const perListener = counts.get(cpu) ?? new Map<number, number>();
        counts.set(cpu, perListener);
        perListener.set(listener, (perListener.get(listener) ?? 0) + 1);
      }
      for (const [cpu] of arrivals) {
        if (atLimit(after, cpu) || atLimit(before, cpu)) limitHit.add(cpu);
        if (limitHit.has(cpu)) continue;
        const tally = after.tables[cpu].map((l) => counts.get(cpu)?.get(l) ?? 0);
        if (Math.max(...tally) - Math.min(...tally) > 1) {
          return `CPU ${cpu}'s listeners ${show(after.tables[cpu])} got ${show(tally)} connections since its table last changed`;
        }
      }
      return null;
    };
  },
};

export const topDownOrder: ReuserpsProperty = {
  name: 'top-down-order',
  rule: "true iff with top-down, a local connect goes to the first listener of the CPU's table that is below its limit",
  monitor: everyStep(({ before, cmd, outcome }) => {
    if (before.config.policy !== 'top-down' || cmd.op !== 'connect' || !outcome.ok || !('local' in outcome) || !outcome.local) return null;
    const table = before.tables[cmd.cpu];
    const first = table.find((l) => isBelowLimit(before, l));
    return first === outcome.listener ? null : `top-down on CPU ${cmd.cpu} chose ${outcome.listener}, not the first with room (${first}) of ${show(table)}`;
  }),
};

/** A cursor may stand at the table's length ("past the end") only under the reading that leaves it there. */
function cursorOutOfRange(s: State, cpu: number): string | null {
  const cursor = s.cursors[cpu];
  const length = s.tables[cpu].length;
  const inRange = cursor >= 0 && (cursor < length || cursor === 0 || (cursor === length && s.cursorPastEnd === 'stay'));
  return inRange ? null : `CPU ${cpu}'s cursor ${cursor} is outside its table of ${length} (reading ${show(s.cursorPastEnd)})`;
}

export const compaction: ReuserpsProperty = {
  name: 'compaction',
  rule: "true iff every CPU table lists exactly the members whose set holds that CPU, in registration order, without holes (a registration appends to its CPUs' tables, a removal takes the listener out of them), and each cursor is in range and still points at the same next listener after a removal",
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    // Tables change only by a registration or a removal, and cursors only on the CPUs a step names,
    // so a step is checked on those CPUs alone.
    const tableIs = (cpu: number, expected: number[]) =>
      sameValue(after.tables[cpu], expected) ? null : `CPU ${cpu}'s table is ${show(after.tables[cpu])}, expected ${show(expected)}`;
    if (cmd.op === 'connect' && cmd.cpu < before.tables.length) return tableIs(cmd.cpu, before.tables[cmd.cpu]) ?? cursorOutOfRange(after, cmd.cpu);
    if (cmd.op === 'register' && outcome.ok && after.group?.mode === 'reuserps') {
      for (const cpu of new Set(cmd.cpus)) {
        const wrong = tableIs(cpu, [...before.tables[cpu], cmd.listener]) ?? cursorOutOfRange(after, cpu);
        if (wrong) return wrong;
      }
      return null;
    }
    if (cmd.op !== 'deregister' || !('migrated' in outcome)) return null;
    const leaving = memberOf(before, cmd.listener)!;
    for (const [conn] of outcome.migrated) {
      const wrong = cursorOutOfRange(after, before.connections[conn].cpu);
      if (wrong) return wrong;
    }
    for (const cpu of leaving.cpus) {
      const old = before.tables[cpu];
      const wrong = tableIs(cpu, old.filter((l) => l !== cmd.listener)) ?? cursorOutOfRange(after, cpu);
      if (wrong) return wrong;
      const table = after.tables[cpu];
      if (table.length < 2) continue;
      // The cursor still points at the first remaining listener at or after its old place; re-steered
      // arrivals on this CPU then move a round-robin cursor just past the last one's listener.
      let next = cmd.listener;
      for (let k = 0; next === cmd.listener; k++) next = old[(before.cursors[cpu] + k) % old.length];
      const first = outcome.migrated.findIndex(([c, l]) => before.connections[c].cpu === cpu && table.includes(l));
      if (first >= 0 && before.config.policy === 'round-robin') {
        // The first arrival meets the cursor where the removal left it, if that listener still has room
        // once the arrivals before it (on other CPUs) are counted.
        const { limit, load } = memberOf(before, next)!;
        const earlier = outcome.migrated.slice(0, first).filter(([, l]) => l === next).length;
        const arrived = outcome.migrated[first][1];
        if ((limit === 0 || load + earlier < limit) && arrived !== next) {
          return `after removing ${cmd.listener}, CPU ${cpu}'s next listener was ${next}, but the first re-steered connection went to ${arrived}`;
        }
        const last = outcome.migrated.findLast(([c, l]) => before.connections[c].cpu === cpu && table.includes(l))!;
        next = table[(table.indexOf(last[1]) + 1) % table.length];
      }
      const now = table[after.cursors[cpu] % table.length];
      if (now !== next) return `after removing ${cmd.listener}, CPU ${cpu}'s cursor points at ${now} instead of ${next}`;
    }
    return null;
  }),
};

export const limits: ReuserpsProperty = {
  name: 'limits',
  rule: 'true iff no listener with a limit ever holds more connections than its limit (its load, checked on every listener a step gives a connection to)',
  monitor: everyStep(({ cmd, outcome, after }) => {
    const received = cmd.op === 'connect' && outcome.ok && 'listener' in outcome ? [outcome.listener] : 'migrated' in outcome ? outcome.migrated.map(([, l]) => l) : [];
    for (const listener of received) {
      const m = memberOf(after, listener);
      if (m && m.limit > 0 && m.load > m.limit) return `listener ${m.id} holds ${m.load} connections, above its limit ${m.limit}`;
    }
    return null;
  }),
};

export const atomicRegistration: ReuserpsProperty = {
  name: 'atomic-registration',
  rule: 'true iff a register that fails leaves every table, cursor, member and connection as it was',
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    if (cmd.op !== 'register' || outcome.ok) return null;
    // A register can touch only the group, the members and the tables and cursors of the CPUs it names.
    const cpus = cmd.cpus.filter((cpu) => cpu < before.tables.length);
    const unchanged =
      sameValue(before.group, after.group) &&
      before.members.length === after.members.length &&
      before.position[cmd.listener] === after.position[cmd.listener] &&
      cpus.every((cpu) => sameValue(before.tables[cpu], after.tables[cpu]) && before.cursors[cpu] === after.cursors[cpu]);
    return unchanged ? null : `a register that failed with ${outcome.error} changed the state`;
  }),
};

export const groupReset: ReuserpsProperty = {
  name: 'group-reset',
  rule: 'true iff the group has a mode and owner exactly when it has members, so the next registrant after the last one leaves decides again',
  monitor: everyStep(({ after }) =>
    (after.group === null) === (after.members.length === 0)
      ? null
      : `the group is ${show(after.group)} with ${after.members.length} members`,
  ),
};

export const sameOwner: ReuserpsProperty = {
  name: 'same-owner',
  rule: "true iff every member has the owner's uid and the group's mode (a CPU set in an SO_REUSERPS group; none and no limit in a plain one)",
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    // The owner and mode change only when the group is reset, so each registrant is checked as it joins.
    if (before.group !== null && after.group !== null && !sameValue(before.group, after.group)) {
      return `the group went from ${show(before.group)} to ${show(after.group)} while it had members`;
    }
    if (cmd.op !== 'register' || !outcome.ok) return null;
    const m = memberOf(after, cmd.listener);
    if (!m || after.group === null) return `listener ${cmd.listener} registered but is not a member of a group`;
    if (m.uid !== after.group.owner) return `listener ${m.id} has uid ${m.uid}, the owner is ${after.group.owner}`;
    const fits = after.group.mode === 'reuserps' ? m.cpus.length > 0 : m.cpus.length === 0 && m.limit === 0;
    return fits ? null : `listener ${m.id} (${show(m.cpus)}, limit ${m.limit}) does not fit a ${after.group.mode} group`;
  }),
};

// ---- generators ----

/** Mostly tiny values (so tables fill and listeners collide), now and then anything in range. */
const mostly = (tiny: number, usual: number, max: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: tiny }) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: usual }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max }) },
  );

export const configs: fc.Arbitrary<Config> = fc.record({
  cpus: mostly(2, 8, 128),
  // Tables of 1-2 slots fill (table-full); of 3-4 they hold a trio (removal from the middle).
  slotsPerCpu: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 2 }) }, { weight: 4, arbitrary: fc.integer({ min: 3, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 128 }) }),
  policy: fc.constantFrom('round-robin' as const, 'top-down' as const),
  fallback: fc.constantFrom('refuse' as const, 'hash' as const),
});

/** Commands for one run; `reuserps` is the mode most registrants ask for in this run. */
export function commandsFor(config: Config, reuserps: boolean): fc.Arbitrary<Command> {
  // Now and then the first CPU past the config's (bad-cpu at its boundary: a mutant checking > survived without it).
  const cpu = fc.oneof(
    { weight: 19, arbitrary: fc.integer({ min: 0, max: config.cpus - 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 127 }) },
    { weight: config.cpus < 128 ? 1 : 0, arbitrary: fc.constant(config.cpus) },
  );
  const listener = fc.integer({ min: 0, max: 3 });
  const conn = fc.integer({ min: 0, max: 12 });
  const lowCpu = fc.integer({ min: 0, max: Math.min(config.cpus, 3) - 1 });
  const mask = fc.oneof(
    { weight: 12, arbitrary: fc.uniqueArray(lowCpu, { minLength: 1, maxLength: 2 }) },
    { weight: 6, arbitrary: fc.uniqueArray(fc.integer({ min: 0, max: config.cpus - 1 }), { minLength: 1, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constant<number[]>([]) },
    { weight: 1, arbitrary: fc.array(cpu, { minLength: 1, maxLength: 2 }) },
  );
  const limit = fc.oneof(
    { weight: 10, arbitrary: fc.constant(0) },
    { weight: 9, arbitrary: fc.integer({ min: 1, max: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(-1, 1.5) },
  );
  const register = fc.record({
    op: fc.constant('register' as const),
    listener,
    uid: fc.oneof({ weight: 9, arbitrary: fc.constant<number>(1000) }, { weight: 1, arbitrary: fc.constant<number>(1001) }),
    reuserps: fc.oneof({ weight: 9, arbitrary: fc.constant(reuserps) }, { weight: 1, arbitrary: fc.constant(!reuserps) }),
    cpus: fc.oneof({ weight: 1, arbitrary: mask }, { weight: reuserps ? 0 : 3, arbitrary: fc.constant<number[]>([]) }),
    limit: fc.oneof({ weight: 1, arbitrary: limit }, { weight: reuserps ? 0 : 3, arbitrary: fc.constant(0) }),
  });
  const connect = fc.record(
    { op: fc.constant('connect' as const), conn, cpu: fc.oneof(lowCpu, cpu), hash: fc.nat({ max: 2 ** 32 - 1 }) },
  );
  return fc.oneof(
    { weight: 5, arbitrary: register },
    { weight: 8, arbitrary: connect },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('deregister' as const), listener }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('accept' as const), listener }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('close' as const), conn }) },
  );
}

const connectsOn = (cpu: number, max: number) =>
  fc.array(fc.record({ op: fc.constant('connect' as const), conn: fc.integer({ min: 0, max: 12 }), cpu: fc.constant(cpu), hash: fc.nat({ max: 2 ** 32 - 1 }) }), { minLength: 1, maxLength: max });

/**
 * Three listeners on one CPU set (some with a limit of 1), connects, one of them (first, middle or
 * last) deregistered, more connects, an accept and a connect, and now and then a newcomer: the shapes
 * where a cursor or a table order kept wrong on removal or on a skip at the limit shows, which single
 * commands reach in few runs. Mode and uid follow the run's.
 */
function trioFor(config: Config, reuserps: boolean): fc.Arbitrary<Command[]> {
  const cpus = fc.uniqueArray(fc.integer({ min: 0, max: Math.min(config.cpus, 2) - 1 }), { minLength: 1, maxLength: 2 });
  const limits = fc.array(fc.constantFrom(0, 0, 1), { minLength: 4, maxLength: 4 });
  return fc
    .tuple(fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }), cpus, limits, fc.nat({ max: 2 }), fc.nat({ max: 2 }), fc.boolean())
    .chain(([ids, mask, limit, leaving, accepting, newcomer]) =>
      fc.tuple(connectsOn(mask[0], 3), connectsOn(mask[0], 3), connectsOn(mask[0], 2)).map(([first, then, last]): Command[] => {
        const register = (k: number): Command => ({ op: 'register', listener: ids[k], uid: 1000, reuserps, cpus: reuserps ? mask : [], limit: reuserps ? limit[k] : 0 });
        return [
          ...[0, 1, 2].map(register),
          ...first,
          { op: 'deregister', listener: ids[leaving] },
          ...then,
          { op: 'accept', listener: ids[accepting] },
          ...last,
          ...(newcomer ? [register(3), ...last.slice(0, 1).map((c) => ({ ...c, conn: (c.conn + 1) % 13 }))] : []),
        ];
      }),
    );
}

/**
 * A registration refused as table-full while another table of its mask has room and two members:
 * two listeners on CPUs 0 and 1, CPU 1 filled, a connect on CPU 0, the refused registration, and
 * connects on CPU 0 (a rollback that disturbs CPU 0 shows there).
 */
function failedJoinFor(config: Config): fc.Arbitrary<Command[]> {
  if (config.cpus < 2 || config.slotsPerCpu > 4) return fc.constant([]);
  const register = (listener: number, cpus: number[]): Command => ({ op: 'register', listener, uid: 1000, reuserps: true, cpus, limit: 0 });
  return fc.tuple(fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }), connectsOn(0, 2), connectsOn(0, 2)).map(([ids, first, then]) => {
    const fillers = ids.slice(2, 2 + Math.max(0, config.slotsPerCpu - 2));
    return [register(ids[0], [0, 1]), register(ids[1], [0, 1]), ...fillers.map((l) => register(l, [1])), ...first, register(ids[3], [0, 1]), ...then];
  });
}

export const runs = shrinkingRuns(
  fc.tuple(configs, fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })),
  ([config]) => config,
  ([config, reuserps]) =>
    fc
      .array(
        fc.oneof(
          { weight: 12, arbitrary: commandsFor(config, reuserps).map((c) => [c]) },
          { weight: 1, arbitrary: trioFor(config, reuserps) },
          { weight: reuserps ? 2 : 0, arbitrary: failedJoinFor(config) },
        ),
        { maxLength: 36, size: 'max' },
      )
      .map((blocks) => blocks.flat()),
);

// ---- corners the generators must reach ----


const tablesOf = (s: State) => s.tables.map((table, cpu): [string, number[]] => [`cpu ${cpu}`, table]);
const groupOf = (s: State): [string, number[]][] => [['group', s.members.map((m) => m.id)]];
/** A failed registration concerns the tables of its CPUs; a failed deregister names no member. */
const joining = ({ before, cmd }: Transition<Config, State, Command, Outcome>) =>
  cmd.op === 'register' ? cmd.cpus.filter((cpu) => cpu < before.tables.length).map((cpu) => before.tables[cpu]) : [];

export const corners: Corner<Config, State, Command, Outcome>[] = [
  ...shapeCorners('table', tablesOf, joining),
  ...shapeCorners('group', groupOf, joining).filter((c) => !c.name.startsWith('failed')),
  connectBetweenRemovalAndAddition('table', tablesOf, ({ cmd, outcome }) => cmd.op === 'connect' && outcome.ok),
  {
    name: 'table-full-with-room-in-a-table-of-2+',
    watch: whenever(
      (t) => !t.outcome.ok && t.outcome.error === 'table-full' && joining(t).some((table) => table.length >= 2 && table.length < t.config.slotsPerCpu),
    ),
  },
  { name: 'table-full', watch: whenever(({ outcome }) => !outcome.ok && outcome.error === 'table-full') },
  {
    name: 'listener-at-limit',
    watch: whenever(({ before, cmd }) => cmd.op === 'connect' && cmd.cpu < before.tables.length && before.tables[cmd.cpu].some((l) => !isBelowLimit(before, l))),
  },
  {
    name: 'deregister-with-queue',
    watch: whenever(({ outcome }) => 'migrated' in outcome && outcome.migrated.length + outcome.reset.length > 0),
  },
  { name: 'wrong-uid', watch: whenever(({ before, cmd }) => cmd.op === 'register' && before.group !== null && before.group.owner !== cmd.uid) },
  {
    name: 'wrong-mode',
    watch: whenever(({ before, cmd }) => cmd.op === 'register' && before.group !== null && (before.group.mode === 'reuserps') !== cmd.reuserps),
  },
  {
    name: 'group-emptied-and-refilled',
    watch: () => {
      let emptied = false;
      return ({ before, cmd, outcome, after }) => {
        if (cmd.op === 'deregister' && outcome.ok && after.group === null) emptied = true;
        return emptied && cmd.op === 'register' && outcome.ok && before.group === null;
      };
    },
  },
];

export const reuserpsScheme: Scheme<Config, State, Command, Outcome> = {
  name: 'reuserps',
  summary: 'SO_REUSERPS: per-CPU listener tables, round-robin or top-down, limits, compaction, same-user groups',
  config: configSchema,
  command: commandSchema,
  outcome: (cmd) => outcomeSchemas[cmd.op],
  model,
  readings: [
    {
      name: 'cursor past the end',
      options: CURSOR_PAST_END,
      meaning:
        "after round-robin takes a table's last listener, 'wrap' puts the cursor back at 0 at once and 'stay' leaves it past the end, so that a listener registered next on that CPU is the next one taken",
    },
  ],
  freedoms: [
    { name: 'which error', meaning: 'several errors apply and the seed does not rank them: any of them may be reported' },
    {
      name: 'listener of a connect without a hash',
      meaning: 'a connect without `hash` that is steered by hash (a plain group, or the hash fallback) may go to any listener some hash would give',
    },
    {
      name: 'new listener of a migrated connection',
      meaning: 'a queued connection without a hash, re-steered when its listener leaves, may go to any listener some hash would give',
    },
  ],
  implementation: (config) => new ReuserpsImpl(config),
  properties: [locality, roundRobinFairness, topDownOrder, compaction, limits, atomicRegistration, groupReset, sameOwner, noLostConnections],
  runs,
  parallelRuns: reuserpsParallelRuns,
  corners,
};

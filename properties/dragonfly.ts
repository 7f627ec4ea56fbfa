// DragonFly SO_REUSEPORT with CPU localization — the properties checked on every step, the generators
// that drive them, and the corners the generators must reach. Each property is stated independently
// of the model's code (it recomputes slots, indices and heirs from the states it is shown), so it
// checks the implementation and the model alike. Each looks only at what its step could change: a
// connect one member (found by its index in the slot-sorted group, which slot-order checks), a
// register or deregister the group's list of slots and the heir's queue.
import fc from 'fast-check';
import { shrinkingRuns } from './runs.ts';
import { connectBetweenRemovalAndAddition, holding, removalWithQueue, shapeCorners } from './shapes.ts';
import { DragonflyImpl } from '../impl/dragonfly.ts';
import { commandSchema, configSchema, model, outcomeSchemas, type Command, type Config, type Member, type Outcome, type State } from '../model/dragonfly.ts';
import { everyStep, whenever, type Corner, type Property, type Scheme, type Transition } from '../core/scheme.ts';
import { sameValue, show } from '../core/vocabulary.ts';
import { noLostConnections } from './shared.ts';

type T = Transition<Config, State, Command, Outcome>;
type DragonflyProperty = Property<Config, State, Command, Outcome>;


const bySlot = (members: Member[]) => [...members].sort((a, b) => a.slot - b.slot);
const slotOf = (s: State, listener: number) => s.members.find((m) => m.id === listener)?.slot;
/**
 * True iff the group holds exactly the slots 0..cpus-1: one listener per network CPU. In a group of
 * distinct slots kept in increasing order (slot-order), that is: cpus members, the last in slot cpus-1.
 */
const holdsEveryCpuOnce = (s: State) => s.members.length === s.config.cpus && s.members[s.config.cpus - 1].slot === s.config.cpus - 1;
const isMembershipChange = (cmd: Command) => cmd.op === 'register' || cmd.op === 'deregister';
const connected = (t: T): t is T & { cmd: Extract<Command, { op: 'connect' }>; outcome: { ok: true; listener: number; local: boolean } } =>
  t.cmd.op === 'connect' && t.outcome.ok && 'local' in t.outcome;

export const completeLocalization: DragonflyProperty = {
  name: 'complete-localization',
  rule: "true iff, whenever the group holds exactly the slots 0..cpus-1, every connect is local: it lands on the listener whose slot is the packet's CPU",
  monitor: everyStep((t) => {
    if (!connected(t) || !holdsEveryCpuOnce(t.before)) return null;
    const { cmd, outcome, before } = t;
    if (!outcome.local) return `with one listener per CPU, connect ${show(cmd)} was not local (listener ${outcome.listener})`;
    if (cmd.hash === undefined) return null;
    // Slots 0..cpus-1 in order: the listener of CPU c is the member at index c.
    const cpu = cmd.hash % before.config.cpus;
    const owner = before.members[cpu];
    return owner.id === outcome.listener ? null : `hash ${cmd.hash} arrives on CPU ${cpu} but went to listener ${outcome.listener}, not ${owner.id} in slot ${owner.slot}`;
  }),
};

export const slotPersistence: DragonflyProperty = {
  name: 'slot-persistence',
  rule: "true iff a member's slot never changes while it lives (across every register and deregister), and a new member takes (and reports) the lowest slot no member holds",
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    // Only a register or a deregister changes the group.
    if (!isMembershipChange(cmd)) return null;
    const earlier = new Map(before.members.map((m) => [m.id, m.slot]));
    for (const m of after.members) {
      const slot = earlier.get(m.id);
      if (slot !== undefined && slot !== m.slot) return `listener ${m.id} moved from slot ${slot} to slot ${m.slot}`;
    }
    if (cmd.op !== 'register' || !outcome.ok || !('slot' in outcome)) return null;
    const taken = new Set(before.members.map((m) => m.slot));
    let lowest = 0;
    while (taken.has(lowest)) lowest++;
    if (outcome.slot !== lowest) return `listener ${cmd.listener} was given slot ${outcome.slot}; the lowest free slot is ${lowest} (taken: ${show([...taken])})`;
    const now = slotOf(after, cmd.listener);
    return now === lowest ? null : `listener ${cmd.listener} reported slot ${lowest} but holds ${show(now)}`;
  }),
};

export const slotOrder: DragonflyProperty = {
  name: 'slot-order',
  rule: 'true iff after every register and deregister (the steps that change the group) it lists its members in strictly increasing slot order, every slot below groupMax',
  monitor: everyStep(({ cmd, after }) => {
    // Only a register or a deregister changes the group.
    if (!isMembershipChange(cmd)) return null;
    const slots = after.members.map((m) => m.slot);
    const sorted = slots.every((slot, i) => i === 0 || slots[i - 1] < slot);
    if (!sorted) return `the group's slots are ${show(slots)}, not in increasing order`;
    const outside = slots.find((slot) => slot >= after.config.groupMax);
    return outside === undefined ? null : `slot ${outside} is not below groupMax ${after.config.groupMax}`;
  }),
};

export const moduloIndex: DragonflyProperty = {
  name: 'modulo-index',
  rule: 'true iff a connect with hash h goes to the member at index h % count of the slot-sorted group, and is refused only when the group is empty',
  monitor: everyStep(({ before, cmd, outcome }) => {
    if (cmd.op !== 'connect') return null;
    if (!outcome.ok) {
      return outcome.error === 'refused' && before.members.length > 0 ? `refused with ${before.members.length} members in the group` : null;
    }
    if (cmd.hash === undefined || !('listener' in outcome)) return null;
    // The group is listed in slot order (slot-order), so index h % count is the member at that position.
    const group = before.members;
    const index = cmd.hash % group.length;
    return outcome.listener === group[index].id
      ? null
      : `hash ${cmd.hash} % ${group.length} = ${index} is listener ${group[index].id} in slot ${group[index].slot}, not ${outcome.listener}`;
  }),
};

export const localFlag: DragonflyProperty = {
  name: 'local-flag',
  rule: "true iff a connect with hash h says `local` exactly when its listener's CPU (slot % cpus) is the packet's CPU (h % cpus)",
  monitor: everyStep((t) => {
    if (!connected(t) || t.cmd.hash === undefined) return null;
    // The listener a hash reaches is the member at index h % count; another one is modulo-index's to report.
    const member = t.before.members[t.cmd.hash % t.before.members.length];
    if (member?.id !== t.outcome.listener) return null;
    const slot = member.slot;
    const { cpus } = t.before.config;
    const local = slot % cpus === t.cmd.hash % cpus;
    return t.outcome.local === local ? null : `local is ${t.outcome.local}, but slot ${slot} is on CPU ${slot % cpus} and the packet on CPU ${t.cmd.hash % cpus}`;
  }),
};

export const inheritance: DragonflyProperty = {
  name: 'inheritance',
  rule: "true iff a leaving listener's queue moves whole, in order, behind the queue of the last remaining member by slot (listed in `migrated`), or is listed in `reset` when no member remains",
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    if (cmd.op !== 'deregister' || !outcome.ok || !('migrated' in outcome)) return null;
    const leaving = before.members.find((m) => m.id === cmd.listener);
    if (!leaving) return `deregister of a non-member ${cmd.listener} succeeded`;
    const remaining = bySlot(before.members.filter((m) => m.id !== cmd.listener));
    if (remaining.length === 0) {
      const wanted = { migrated: [], reset: leaving.queue };
      return sameValue({ migrated: outcome.migrated, reset: outcome.reset }, wanted)
        ? null
        : `the last member left with queue ${show(leaving.queue)}: expected ${show(wanted)}, got ${show(outcome)}`;
    }
    const heir = remaining[remaining.length - 1];
    const wanted = leaving.queue.map((c) => [c, heir.id]);
    if (!sameValue(outcome.migrated, wanted) || outcome.reset.length > 0) {
      return `queue ${show(leaving.queue)} should move to ${heir.id} as ${show(wanted)}; got ${show(outcome)}`;
    }
    // The heir's queue is its own, then the leaving one's (the other queues are not the step's to change).
    const queue = after.members.find((a) => a.id === heir.id)?.queue;
    const expected = [...heir.queue, ...leaving.queue];
    return sameValue(queue, expected) ? null : `listener ${heir.id}'s queue is ${show(queue)}, expected ${show(expected)}`;
  }),
};


export const sameUid: DragonflyProperty = {
  name: 'same-uid',
  rule: "true iff no register lets a uid into a group whose members have another uid (so all members share one), and a register fails with uid-mismatch only when the group has members of another uid",
  monitor: everyStep(({ before, cmd, outcome }) => {
    // Only a register adds a member: the group keeps one uid iff no register lets another in.
    if (cmd.op !== 'register') return null;
    const owner = before.members[0]?.uid;
    const mismatch = owner !== undefined && owner !== cmd.uid;
    if (mismatch && outcome.ok) return `uid ${cmd.uid} joined a group owned by uid ${owner}`;
    if (!mismatch && !outcome.ok && outcome.error === 'uid-mismatch') {
      return owner === undefined ? `uid-mismatch for uid ${cmd.uid} in an empty group` : `uid-mismatch for the owner's own uid ${cmd.uid}`;
    }
    return null;
  }),
};

export const groupMax: DragonflyProperty = {
  name: 'group-max',
  rule: 'true iff the group never holds more than groupMax members, and group-full is reported only when it holds groupMax',
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    if (after.members.length > after.config.groupMax) return `the group holds ${after.members.length} members, above groupMax ${after.config.groupMax}`;
    if (cmd.op === 'register' && !outcome.ok && outcome.error === 'group-full' && before.members.length < before.config.groupMax) {
      return `group-full with ${before.members.length} of ${before.config.groupMax} members`;
    }
    return null;
  }),
};

// ---- generators ----

export const configs: fc.Arbitrary<Config> = fc.record({
  cpus: fc.oneof(
    { weight: 18, arbitrary: fc.constantFrom(1, 2, 2, 4, 4, 8) },
    { weight: 1, arbitrary: fc.constantFrom(16, 32, 64, 128) },
  ),
  groupMax: fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }) },
    { weight: 6, arbitrary: fc.integer({ min: 5, max: 12 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 256 }) },
  ),
});

/** Commands for one run: listener ids a little beyond one per CPU, so groups fill, overflow and refill. */
export function commandsFor(config: Config): fc.Arbitrary<Command> {
  const listener = fc.integer({ min: 0, max: Math.min(9, config.cpus + 1) });
  const conn = fc.integer({ min: 0, max: 15 });
  const hash = fc.oneof({ weight: 2, arbitrary: fc.nat({ max: 31 }) }, { weight: 1, arbitrary: fc.nat({ max: 2 ** 32 - 1 }) });
  const register = fc.record({
    op: fc.constant('register' as const),
    listener,
    uid: fc.oneof({ weight: 9, arbitrary: fc.constant<number>(1000) }, { weight: 1, arbitrary: fc.constant<number>(1001) }),
  });
  const connect = fc.record({ op: fc.constant('connect' as const), conn, hash });
  return fc.oneof(
    { weight: 6, arbitrary: register },
    { weight: 8, arbitrary: connect },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('deregister' as const), listener }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('accept' as const), listener }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('close' as const), conn }) },
  );
}

/**
 * A group of three with holes below its highest slot: three registrations, connects, one or two of
 * them deregistered (first, middle or last), a newcomer refilling the lowest hole, connects, then
 * now and then the last by slot leaving, or all of them and a registrant of another uid. Single
 * commands rarely leave a hole with members above it, and the heir, the free slot and whether the
 * group is one listener per CPU all change there; the emptying keeps the owner's reset in reach.
 */
function holesFor(config: Config): fc.Arbitrary<Command[]> {
  const ids = fc.uniqueArray(fc.integer({ min: 0, max: Math.max(3, Math.min(9, config.cpus + 1)) }), { minLength: 4, maxLength: 4 });
  const connects = (min: number, max: number) =>
    fc.array(fc.record({ op: fc.constant('connect' as const), conn: fc.integer({ min: 0, max: 15 }), hash: fc.nat({ max: 31 }) }), { minLength: min, maxLength: max });
  return fc
    .tuple(ids, fc.shuffledSubarray([0, 1, 2], { minLength: 1, maxLength: 2 }), connects(0, 2), connects(0, 1), connects(1, 3), fc.nat({ max: 3 }))
    .map(([[a, b, c, d], leaving, first, between, after, ending]): Command[] => {
      const trio = [a, b, c];
      const left = [...trio.filter((_, k) => !leaving.includes(k)), d];
      const tail: Command[] =
        ending === 1 && !leaving.includes(2)
          ? [{ op: 'deregister', listener: c }]
          : ending === 2
            ? [...left.map((listener): Command => ({ op: 'deregister', listener })), { op: 'register', listener: a, uid: 1001 }]
            : [];
      return [
        ...trio.map((listener): Command => ({ op: 'register', listener, uid: 1000 })),
        ...first,
        ...leaving.map((k): Command => ({ op: 'deregister', listener: trio[k] })),
        ...between,
        { op: 'register', listener: d, uid: 1000 },
        ...after,
        ...tail,
      ];
    });
}

export const runs = shrinkingRuns(configs, (config) => config, (config) =>
  fc
    .array(fc.oneof({ weight: 14, arbitrary: commandsFor(config).map((c) => [c]) }, { weight: 3, arbitrary: holesFor(config) }), { maxLength: 16, size: 'max' })
    .map((blocks) => blocks.flat()),
);

// ---- corners the generators must reach ----

const deregistered = (t: T) => t.cmd.op === 'deregister' && 'migrated' in t.outcome;

const groupOf = (s: State): [string, number[]][] => [['group', s.members.map((m) => m.id)]];

export const corners: Corner<Config, State, Command, Outcome>[] = [
  ...shapeCorners('group', groupOf, ({ before, cmd }) => ('listener' in cmd ? holding(groupOf, before, cmd.listener) : [])),
  connectBetweenRemovalAndAddition('group', groupOf, connected),
  removalWithQueue('group', groupOf, ({ before, cmd }) => (cmd.op === 'deregister' ? ((before as State).members.find((m) => m.id === cmd.listener)?.queue.length ?? 0) : 0)),
  {
    // The last by slot leaves while a slot below it is free: its heir is not the slot below.
    name: 'last-leaves-above-a-hole',
    watch: whenever(({ before, cmd, outcome }) => {
      if (cmd.op !== 'deregister' || !outcome.ok || before.members.length < 2) return false;
      const last = bySlot(before.members).at(-1)!;
      return last.id === cmd.listener && before.members.length <= last.slot && before.members.every((m) => m.slot !== last.slot - 1);
    }),
  },
  {
    // A registration while two or more slots below the highest are free: which of them is lowest matters.
    name: 'register-with-two-free-slots-below-the-highest',
    watch: whenever(({ before, cmd, outcome }) => cmd.op === 'register' && outcome.ok && before.members.length > 0 && bySlot(before.members).at(-1)!.slot - (before.members.length - 1) >= 2),
  },
  {
    name: 'one-listener-per-cpu',
    watch: whenever((t) => connected(t) && t.config.cpus >= 2 && holdsEveryCpuOnce(t.before)),
  },
  { name: 'group-past-cpus', watch: whenever((t) => connected(t) && t.before.members.length > t.config.cpus) },
  { name: 'non-local-connect', watch: whenever((t) => connected(t) && !t.outcome.local) },
  {
    name: 'modulo-differs-from-mask',
    watch: whenever((t) => connected(t) && t.cmd.hash !== undefined && t.cmd.hash % t.before.members.length !== (t.cmd.hash & (t.before.members.length - 1))),
  },
  {
    name: 'free-slot-below-highest',
    watch: whenever(({ before, outcome }) => 'slot' in outcome && before.members.some((m) => m.slot > outcome.slot)),
  },
  {
    name: 'inherited-by-last',
    watch: whenever((t) => deregistered(t) && 'migrated' in t.outcome && t.outcome.migrated.length > 0 && bySlot(t.before.members).at(-1)!.id !== (t.cmd as { listener: number }).listener),
  },
  {
    name: 'inherited-by-second-to-last',
    watch: whenever((t) => deregistered(t) && 'migrated' in t.outcome && t.outcome.migrated.length > 0 && bySlot(t.before.members).at(-1)!.id === (t.cmd as { listener: number }).listener),
  },
  { name: 'reset-when-last-leaves', watch: whenever((t) => deregistered(t) && 'reset' in t.outcome && t.outcome.reset.length > 0) },
  { name: 'group-full', watch: whenever(({ outcome }) => !outcome.ok && outcome.error === 'group-full') },
  { name: 'wrong-uid', watch: whenever(({ before, cmd }) => cmd.op === 'register' && before.members.length > 0 && before.members[0].uid !== cmd.uid) },
];

export const dragonflyScheme: Scheme<Config, State, Command, Outcome> = {
  name: 'dragonfly',
  summary: "DragonFly SO_REUSEPORT: persistent slots, packet CPU = hash % cpus, member hash % count of the slot-sorted group, soinherit on close",
  config: configSchema,
  command: commandSchema,
  outcome: (cmd) => outcomeSchemas[cmd.op],
  model,
  readings: [],
  freedoms: [
    { name: 'which error', meaning: 'which of several applicable errors is reported: the spec does not rank them' },
    {
      name: 'listener of a connect without hash',
      meaning: "which member a connect without a hash goes to: any member, as some 32-bit hash of that packet would choose",
    },
    {
      name: 'local of a connect without hash',
      meaning: "whether a connect without a hash is local: any value a hash choosing that member can give (its packet's CPU is as unknown as its hash)",
    },
  ],
  implementation: (config) => new DragonflyImpl(config),
  properties: [completeLocalization, slotPersistence, slotOrder, moduloIndex, localFlag, inheritance, noLostConnections, sameUid, groupMax],
  runs,
  corners,
};

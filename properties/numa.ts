// NUMA wildcard fallback — the properties checked on every step, the generators that drive them, and
// the corners the generators must reach. Each property is stated independently of the model's code
// (it reads only states and outcomes), so it checks the implementation and the model alike.
import fc from 'fast-check';
import { shrinkingRuns } from './runs.ts';
import { connectBetweenRemovalAndAddition, holding, shapeCorners } from './shapes.ts';
import { NumaImpl } from '../impl/numa.ts';
import {
  classOf,
  commandSchema,
  configSchema,
  domainOfCpu,
  isDomain,
  keyOf,
  model,
  NODOM,
  outcomeSchemas,
  WILDCARD,
  WILDCARD_DESTINATION,
  type Command,
  type Config,
  type DomainKey,
  type Outcome,
  type State,
} from '../model/numa.ts';
import { everyStep, whenever, type Corner, type Property, type Scheme, type Transition } from '../core/scheme.ts';
import { sameValue, show } from '../core/vocabulary.ts';

type T = Transition<Config, State, Command, Outcome>;
type NumaProperty = Property<Config, State, Command, Outcome>;


/** The address class a packet to `address` is steered in: the exact one if it has a group, else 0.0.0.0. */
const winningClass = (s: State, address: string) => (classOf(s, address).length > 0 ? address : WILDCARD);

/** For a connect that succeeded: the command, the outcome, the chosen listener and its group in `before`. */
function landed({ before, cmd, outcome }: T) {
  if (cmd.op !== 'connect' || !outcome.ok || !('listener' in outcome)) return null;
  const chosen = before.listeners[outcome.listener];
  if (!chosen) return null;
  return { cmd, outcome, chosen, group: before.groups[chosen.address]?.[keyOf(chosen.domain)] ?? [] };
}

export const addressSpecificityFirst: NumaProperty = {
  name: 'address-specificity-first',
  rule: "true iff a connect lands in a group of the packet's exact address whenever one exists (whatever the domains), else in a 0.0.0.0 group, and is refused only when neither exists",
  monitor: everyStep((t) => {
    const { before, cmd, outcome } = t;
    if (cmd.op !== 'connect') return null;
    const exists = classOf(before, cmd.address).length + classOf(before, WILDCARD).length > 0;
    if (!outcome.ok && outcome.error === 'refused' && exists) return `refused although ${cmd.address} or ${WILDCARD} has a group`;
    const l = landed(t);
    if (!l) return null;
    const want = winningClass(before, cmd.address);
    return l.chosen.address === want ? null : `a packet for ${cmd.address} went to listener ${l.outcome.listener} bound to ${l.chosen.address}, not to ${want}`;
  }),
};

export const domainLocality: NumaProperty = {
  name: 'domain-locality',
  rule: "true iff a packet of domain d lands in d's group whenever the winning address class has a group of domain d",
  monitor: everyStep((t) => {
    const l = landed(t);
    if (!l || l.cmd.domain === null) return null;
    const klass = winningClass(t.before, l.cmd.address);
    if (!classOf(t.before, klass).includes(keyOf(l.cmd.domain)) || l.chosen.address !== klass) return null;
    return l.chosen.domain === l.cmd.domain
      ? null
      : `a packet of domain ${l.cmd.domain} went to listener ${l.outcome.listener} in group ${keyOf(l.chosen.domain)} although ${klass} has a domain-${l.cmd.domain} group`;
  }),
};

export const wildcardFallback: NumaProperty = {
  name: 'wildcard-fallback',
  rule: "true iff, when the winning class has no group of the packet's domain (or the packet has none), the no-domain group is used if the class has one",
  monitor: everyStep((t) => {
    const l = landed(t);
    if (!l) return null;
    const klass = winningClass(t.before, l.cmd.address);
    const keys = classOf(t.before, klass);
    if (l.chosen.address !== klass || (l.cmd.domain !== null && keys.includes(keyOf(l.cmd.domain))) || !keys.includes(NODOM)) return null;
    return l.chosen.domain === null
      ? null
      : `a packet of domain ${l.cmd.domain} went to group ${l.chosen.domain} although ${klass} has a no-domain group and no group of its domain`;
  }),
};

export const moduloIndex: NumaProperty = {
  name: 'modulo-index',
  rule: 'true iff a connect with a hash lands on the member at index hash % count of its group',
  monitor: everyStep((t) => {
    const l = landed(t);
    if (!l || l.cmd.hash === undefined) return null;
    const at = l.group.indexOf(l.outcome.listener);
    const want = l.cmd.hash % l.group.length;
    return at === want ? null : `hash ${l.cmd.hash} in group ${show(l.group)} chose index ${at}, not ${want}`;
  }),
};

export const localFlag: NumaProperty = {
  name: 'local-flag',
  rule: "true iff `local` says whether the chosen group's domain equals the packet's domain (either value for a domain-null packet in the no-domain group)",
  monitor: everyStep((t) => {
    const l = landed(t);
    if (!l || (l.cmd.domain === null && l.chosen.domain === null)) return null;
    const local = l.chosen.domain === l.cmd.domain;
    return l.outcome.local === local ? null : `local is ${l.outcome.local}: packet domain ${l.cmd.domain}, group domain ${l.chosen.domain}`;
  }),
};

/** The domain a setDomain asks for (null: none), or undefined when it names no domain of the config. */
function askedDomain(config: Config, cmd: Extract<Command, { op: 'setDomain' }>): number | null | undefined {
  if (cmd.domain === 'nodom') return null;
  if (cmd.domain === 'curdom') return domainOfCpu(config, cmd.cpu!);
  return isDomain(config, cmd.domain) ? cmd.domain : undefined;
}

/**
 * The groups a step can change: the command's listener's group before and after it, the group a
 * setDomain asks for, and the no-domain group a registrant joins. Properties about groups look only at these.
 */
function touchedGroups({ config, before, cmd, after }: T): [address: string, key: DomainKey][] {
  const groups: [string, DomainKey][] = [];
  if (cmd.op === 'register') groups.push([cmd.address, NODOM]);
  if (cmd.op === 'register' || cmd.op === 'setDomain' || cmd.op === 'deregister') {
    for (const s of [before, after]) {
      const l = s.listeners[cmd.listener];
      if (l) groups.push([l.address, keyOf(l.domain)]);
    }
  }
  const moving = cmd.op === 'setDomain' ? before.listeners[cmd.listener] : undefined;
  if (cmd.op === 'setDomain' && moving) {
    const asked = askedDomain(config, cmd);
    if (asked !== undefined) groups.push([moving.address, keyOf(asked)]);
  }
  return groups;
}

export const orderKept: NumaProperty = {
  name: 'order-kept',
  rule: 'true iff every group after a step is its members from before that stayed, in their old order, followed by at most one newcomer at the end',
  monitor: everyStep((t) => {
    for (const [address, key] of touchedGroups(t)) {
      const members = t.after.groups[address]?.[key] ?? [];
      const old = t.before.groups[address]?.[key] ?? [];
      const [stayed, were] = [new Set(members), new Set(old)];
      const kept = old.filter((l) => stayed.has(l));
      const rest = members.slice(kept.length);
      if (!sameValue(members.slice(0, kept.length), kept) || rest.length > 1 || rest.some((l) => were.has(l))) {
        return `group ${address}/${key} went from ${show(old)} to ${show(members)}`;
      }
    }
    return null;
  }),
};

export const oneGroupEach: NumaProperty = {
  name: 'one-group-each',
  rule: 'true iff every registered listener is in exactly one group, the one named by its address and domain, and every group member is registered',
  monitor: everyStep((t) => {
    const { cmd, after } = t;
    if (cmd.op !== 'register' && cmd.op !== 'setDomain' && cmd.op !== 'deregister') return null;
    // Only a register, setDomain or deregister moves a listener, and only between the groups it touches.
    for (const [address, key] of touchedGroups(t)) {
      const members = after.groups[address]?.[key];
      if (members === undefined) continue;
      if (members.length === 0) return `group ${address}/${key} is kept empty`;
      if (new Set(members).size !== members.length) return `group ${address}/${key} holds a listener twice: ${show(members)}`;
      for (const l of members) {
        const listener = after.listeners[l];
        if (!listener) return `group ${address}/${key} holds ${l}, which is not registered`;
        if (listener.address !== address || keyOf(listener.domain) !== key) {
          return `listener ${l} (${listener.address}/${keyOf(listener.domain)}) is in group ${address}/${key}`;
        }
      }
    }
    const now = after.listeners[cmd.listener];
    if (now && !(after.groups[now.address]?.[keyOf(now.domain)] ?? []).includes(cmd.listener)) return `listener ${cmd.listener} is in no group`;
    return null;
  }),
};

export const setDomainTarget: NumaProperty = {
  name: 'set-domain-target',
  rule: 'true iff after a successful setDomain the listener has the domain asked for ("nodom": none, "curdom": cpu % domains, d: d) and its address',
  monitor: everyStep(({ config, before, cmd, outcome, after }) => {
    if (cmd.op !== 'setDomain' || !outcome.ok) return null;
    const want = cmd.domain === 'nodom' ? null : cmd.domain === 'curdom' ? cmd.cpu! % config.domains : cmd.domain;
    const now = after.listeners[cmd.listener];
    if (!now) return `listener ${cmd.listener} is gone after setDomain`;
    if (now.domain !== want) return `setDomain ${show(cmd.domain)} (cpu ${cmd.cpu}) left listener ${cmd.listener} in domain ${now.domain}, not ${want}`;
    const address = before.listeners[cmd.listener]?.address;
    return now.address === address ? null : `setDomain moved listener ${cmd.listener} from ${address} to ${now.address}`;
  }),
};

export const failedChangesNothing: NumaProperty = {
  name: 'failed-changes-nothing',
  rule: 'true iff a register, setDomain, deregister or connect that fails leaves every group, listener and connection as it was',
  monitor: everyStep((t) => {
    const { before, cmd, outcome, after } = t;
    if (outcome.ok || cmd.op === 'accept' || cmd.op === 'close') return null;
    // What such a command could change: the owner, its listener, its connection, and the groups it touches.
    const unchanged =
      before.owner === after.owner &&
      ('listener' in cmd ? sameValue(before.listeners[cmd.listener], after.listeners[cmd.listener]) : true) &&
      (cmd.op === 'connect' ? sameValue(before.connections[cmd.conn], after.connections[cmd.conn]) : true) &&
      touchedGroups(t).every(([address, key]) => sameValue(before.groups[address]?.[key], after.groups[address]?.[key]));
    return unchanged ? null : `a ${cmd.op} that failed with ${outcome.error} changed the state`;
  }),
};

export const groupMax: NumaProperty = {
  name: 'group-max',
  rule: 'true iff no group ever holds more than groupMax members, and group-full is reported only when the target group holds groupMax',
  monitor: everyStep((t) => {
    const { config, before, cmd, outcome, after } = t;
    // A group grows only by a register or a setDomain, into a group that step touches.
    for (const [address, key] of touchedGroups(t)) {
      const members = after.groups[address]?.[key] ?? [];
      if (members.length > config.groupMax) return `group ${address}/${key} holds ${members.length} > ${config.groupMax}`;
    }
    if (outcome.ok || outcome.error !== 'group-full') return null;
    let target: number[] = [];
    if (cmd.op === 'register') target = before.groups[cmd.address]?.[NODOM] ?? [];
    if (cmd.op === 'setDomain') {
      const l = before.listeners[cmd.listener];
      const d = askedDomain(config, cmd);
      target = l && d !== undefined ? (before.groups[l.address]?.[keyOf(d)] ?? []) : [];
    }
    return target.length >= config.groupMax ? null : `group-full for a target group of ${target.length} (groupMax ${config.groupMax})`;
  }),
};

export const uidRule: NumaProperty = {
  name: 'uid-rule',
  rule: "true iff every listener has the owner's uid, there is an owner exactly when there is a listener, and uid-mismatch is reported only when a listener of another uid exists",
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    // Every listener joins by a register and has the owner's uid then; the owner changes only when the
    // port empties or gets its first member. So each step is checked where it could break that.
    if (before.owner !== null && after.owner !== null && before.owner !== after.owner) {
      return `the owner went from ${before.owner} to ${after.owner} while the port had listeners`;
    }
    if (cmd.op === 'register' && outcome.ok) {
      const joined = after.listeners[cmd.listener];
      if (!joined || joined.uid !== after.owner) return `listener ${cmd.listener} has uid ${joined?.uid}, the owner is ${after.owner}`;
    }
    if (cmd.op === 'register' && !outcome.ok && outcome.error === 'uid-mismatch' && (before.owner === null || before.owner === cmd.uid)) {
      return `uid-mismatch for uid ${cmd.uid} although no listener has another uid (owner ${before.owner})`;
    }
    if (cmd.op === 'deregister' && outcome.ok) {
      // Every listener is in a group, so the port is empty iff no address has a group.
      const empty = Object.keys(after.groups).length === 0;
      if (empty !== (after.owner === null)) return `owner ${after.owner} with ${empty ? 'no listener' : 'listeners'} left`;
    }
    return null;
  }),
};

export const resetListsQueue: NumaProperty = {
  name: 'reset-lists-queue',
  rule: "true iff deregister lists exactly the listener's queued connections in `reset` and closes them, and otherwise a connection opens only by connect (last in its listener's queue), leaves the queue's head by accept, and goes only by close, so none disappears unlisted",
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    const sorted = (ids: readonly number[]) => [...ids].sort((a, b) => a - b);
    if (cmd.op === 'deregister' && 'reset' in outcome) {
      const queue = before.listeners[cmd.listener].queue;
      if (!sameValue(sorted(outcome.reset), sorted(queue))) return `deregister listed ${show(outcome.reset)}, but the queue held ${show(queue)}`;
      const open = outcome.reset.find((c) => after.connections[c] !== undefined);
      return open === undefined ? null : `connection ${open} was listed as reset but is still open`;
    }
    if (cmd.op === 'connect' && outcome.ok && 'listener' in outcome) {
      const conn = after.connections[cmd.conn];
      const queue = after.listeners[outcome.listener]?.queue ?? [];
      if (!conn || conn.accepted || conn.listener !== outcome.listener || queue[queue.length - 1] !== cmd.conn) {
        return `connection ${cmd.conn} is ${show(conn)}, not waiting last in listener ${outcome.listener}'s queue ${show(queue)}`;
      }
    }
    if (cmd.op === 'accept' && outcome.ok && 'conn' in outcome && outcome.conn !== null) {
      const old = before.listeners[cmd.listener].queue;
      const now = after.listeners[cmd.listener]?.queue ?? [];
      if (old[0] !== outcome.conn || !sameValue(now, old.slice(1))) return `accept gave ${outcome.conn} and left ${show(now)} of the queue ${show(old)}`;
      if (!after.connections[outcome.conn]?.accepted) return `accepted connection ${outcome.conn} is ${show(after.connections[outcome.conn])}`;
    }
    if (cmd.op === 'close' && outcome.ok) {
      if (after.connections[cmd.conn] !== undefined) return `connection ${cmd.conn} is still open after close`;
      const was = before.connections[cmd.conn].listener;
      if (was !== null && after.listeners[was]?.queue.includes(cmd.conn)) return `closed connection ${cmd.conn} still waits in ${was}'s queue`;
    }
    return null;
  }),
};

// ---- generators ----

const small = (min: number, max: number, rareMax: number) =>
  fc.oneof({ weight: 9, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.integer({ min, max: rareMax }) });

export const configs: fc.Arbitrary<Config> = fc.record({
  domains: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 2, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(1, 16) }),
  // 1 and 2 fill groups (group-full); 3 and 4 hold a trio that a removal from the middle leaves two of.
  groupMax: fc.oneof(
    { weight: 2, arbitrary: fc.constant(1) },
    { weight: 2, arbitrary: fc.constant(2) },
    { weight: 3, arbitrary: fc.integer({ min: 3, max: 4 }) },
    { weight: 1, arbitrary: fc.integer({ min: 3, max: 256 }) },
  ),
});

/**
 * Addresses bad under every reading of the issue. Leading zeros ('010.0.0.1') and spaces (' 10.0.0.1') are left
 * out: the issue never says whether they are valid, so runs do not probe them (the model's decision stands).
 */
const malformed = fc.constantFrom('10.0.0.256', '10.0.0', 'localhost', '', '1.2.3.4.5');

/** Commands for one run: few listeners and connections, two exact addresses beside the wildcard. */
export function commandsFor(config: Config): { register: fc.Arbitrary<Command>; any: fc.Arbitrary<Command[]> } {
  const listener = fc.integer({ min: 0, max: 3 });
  const conn = fc.integer({ min: 0, max: 7 });
  const domain = fc.oneof(
    { weight: 19, arbitrary: fc.integer({ min: 0, max: config.domains - 1 }) },
    { weight: 1, arbitrary: fc.constantFrom(config.domains, -1, 0.5) },
  );
  const bound = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(WILDCARD, '10.0.0.1') },
    { weight: 2, arbitrary: fc.constant('10.0.0.2') },
    { weight: 1, arbitrary: malformed },
  );
  const destination = fc.oneof(
    { weight: 10, arbitrary: fc.constant('10.0.0.1') },
    { weight: 3, arbitrary: fc.constantFrom('10.0.0.2', '10.0.0.3') },
    { weight: 1, arbitrary: fc.oneof(malformed, fc.constant(WILDCARD)) },
  );
  const register = fc.record({
    op: fc.constant('register' as const),
    listener,
    uid: fc.oneof({ weight: 12, arbitrary: fc.constant<number>(1000) }, { weight: 1, arbitrary: fc.constant<number>(1001) }),
    address: bound,
  });
  const setDomain = fc
    .record({
      op: fc.constant('setDomain' as const),
      listener,
      // Domain 0 often, so that moves meet in one group and fill it.
      domain: fc.oneof(
        { weight: 3, arbitrary: domain },
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 2, arbitrary: fc.constant('nodom' as const) },
        { weight: 3, arbitrary: fc.constant('curdom' as const) },
      ),
      // Always given, as in the command shape; only "curdom" reads it.
      cpu: small(0, 7, 127),
    });
  const connect = fc.record(
    {
      op: fc.constant('connect' as const),
      conn,
      address: destination,
      domain: fc.oneof({ weight: 4, arbitrary: domain }, { weight: 1, arbitrary: fc.constant(null) }),
      hash: fc.nat({ max: 2 ** 32 - 1 }),
    },
  );
  const one = (arbitrary: fc.Arbitrary<Command>) => arbitrary.map((cmd) => [cmd]);
  // A registration straight followed by a move into domain 0: moves meet in one group and fill it.
  // The move names a domain, so its cpu (given, as the command shape has it) is not read.
  const registerAndMove = fc
    .tuple(listener, fc.constantFrom(WILDCARD, '10.0.0.1'))
    .map(([l, address]): Command[] => [
      { op: 'register', listener: l, uid: 1000, address },
      { op: 'setDomain', listener: l, domain: 0, cpu: 0 },
    ]);
  // Three listeners in one group (of an address, moved into domain 0 or not), connects, one of them
  // (first, middle or last) deregistered or moved away, connects: where the order kept on removal shows.
  const trio = fc
    .tuple(
      fc.uniqueArray(listener, { minLength: 3, maxLength: 3 }),
      fc.constantFrom(WILDCARD, '10.0.0.1'),
      fc.boolean(),
      fc.nat({ max: 2 }),
      fc.boolean(),
      fc.array(connect, { minLength: 1, maxLength: 3 }),
      fc.array(connect, { minLength: 1, maxLength: 3 }),
    )
    .map(([ids, address, moved, leaving, deregister, first, then]): Command[] => [
      ...ids.flatMap((l): Command[] => [
        { op: 'register', listener: l, uid: 1000, address },
        ...(moved ? [{ op: 'setDomain' as const, listener: l, domain: 0, cpu: 0 }] : []),
      ]),
      ...first.map((c) => ({ ...c, address: address === WILDCARD ? c.address : address, domain: moved ? 0 : null })),
      deregister ? { op: 'deregister', listener: ids[leaving] } : { op: 'setDomain', listener: ids[leaving], domain: moved ? 'nodom' : 0, cpu: 0 },
      ...then.map((c) => ({ ...c, address: address === WILDCARD ? c.address : address, domain: moved ? 0 : null })),
    ]);
  // Two listeners in a no-domain group, two moved into domain 0, then the first of the two moved
  // there too: with groupMax 2 it fails inside a group of two (what a failed move leaves behind).
  const failedMove = fc
    .tuple(fc.uniqueArray(listener, { minLength: 4, maxLength: 4 }), fc.constantFrom(WILDCARD, '10.0.0.1'), fc.array(connect, { maxLength: 2 }))
    .map(([[x, y, u, v], address, then]): Command[] => [
      { op: 'register', listener: x, uid: 1000, address },
      { op: 'register', listener: y, uid: 1000, address },
      ...[u, v].flatMap((l): Command[] => [
        { op: 'register', listener: l, uid: 1000, address },
        { op: 'setDomain', listener: l, domain: 0, cpu: 0 },
      ]),
      { op: 'setDomain', listener: x, domain: 0, cpu: 0 },
      ...then,
    ]);
  const any: fc.Arbitrary<Command[]> = fc.oneof(
    { weight: 4, arbitrary: trio },
    { weight: config.groupMax === 2 ? 4 : 0, arbitrary: failedMove },
    { weight: 4, arbitrary: one(register) },
    { weight: 2, arbitrary: registerAndMove },
    { weight: 6, arbitrary: one(setDomain) },
    { weight: 8, arbitrary: one(connect) },
    { weight: 2, arbitrary: one(fc.record({ op: fc.constant('deregister' as const), listener })) },
    { weight: 2, arbitrary: one(fc.record({ op: fc.constant('accept' as const), listener })) },
    { weight: 1, arbitrary: one(fc.record({ op: fc.constant('close' as const), conn })) },
  );
  return { register, any };
}

/** A few registrations first (so later commands find listeners), then anything. */
export const runs = shrinkingRuns(configs, (config) => config, (config) => {
  const { register, any } = commandsFor(config);
  return fc
    .tuple(fc.array(register, { minLength: 1, maxLength: 5 }), fc.array(any, { maxLength: 36, size: '+1' }))
    .map(([first, rest]) => [...first, ...rest.flat()]);
});

// ---- corners the generators must reach ----

const landedIn = (t: T, check: (l: NonNullable<ReturnType<typeof landed>>) => boolean) => {
  const l = landed(t);
  return l !== null && check(l);
};

const groupsOf = (s: State) =>
  Object.entries(s.groups).flatMap(([address, byKey]) => Object.entries(byKey).map(([key, members]): [string, number[]] => [`${address}/${key}`, members]));
/** A failed move concerns the mover's group (where it is not last) and the full target; a failed registration its target group. */
const concerned = (t: T): (readonly number[])[] => {
  const { before, cmd } = t;
  if (cmd.op === 'setDomain') return holding(groupsOf, before, cmd.listener);
  if (cmd.op === 'register') return [before.groups[cmd.address]?.[NODOM] ?? []];
  return [];
};

export const corners: Corner<Config, State, Command, Outcome>[] = [
  ...shapeCorners('group', groupsOf, concerned),
  connectBetweenRemovalAndAddition('group', groupsOf, ({ cmd, outcome }) => cmd.op === 'connect' && outcome.ok),
  { name: 'group-full', watch: whenever(({ outcome }) => !outcome.ok && outcome.error === 'group-full') },
  { name: 'group-full-on-move', watch: whenever(({ cmd, outcome }) => cmd.op === 'setDomain' && !outcome.ok && outcome.error === 'group-full') },
  {
    name: 'exact-beats-wildcard-in-packet-domain',
    watch: whenever((t) =>
      landedIn(t, (l) => l.chosen.address !== WILDCARD && l.cmd.domain !== null && !l.outcome.local && classOf(t.before, WILDCARD).includes(keyOf(l.cmd.domain))),
    ),
  },
  { name: 'fallback-to-no-domain-group', watch: whenever((t) => landedIn(t, (l) => l.cmd.domain !== null && l.chosen.domain === null)) },
  {
    name: 'fallback-to-another-domain',
    watch: whenever((t) => landedIn(t, (l) => l.chosen.domain !== null && l.chosen.domain !== l.cmd.domain)),
  },
  { name: 'local-in-domain-group', watch: whenever((t) => landedIn(t, (l) => l.cmd.domain !== null && l.outcome.local)) },
  {
    name: 'moved-twice',
    watch: () => {
      const moves = new Map<number, number>();
      return ({ cmd, before, after }) => {
        if (cmd.op !== 'setDomain' || !before.listeners[cmd.listener] || !after.listeners[cmd.listener]) return false;
        if (before.listeners[cmd.listener].domain === after.listeners[cmd.listener].domain) return false;
        moves.set(cmd.listener, (moves.get(cmd.listener) ?? 0) + 1);
        return moves.get(cmd.listener)! >= 2;
      };
    },
  },
  { name: 'deregister-resets-queue', watch: whenever(({ outcome }) => 'reset' in outcome && outcome.reset.length > 0) },
  { name: 'wrong-uid', watch: whenever(({ before, cmd }) => cmd.op === 'register' && before.owner !== null && before.owner !== cmd.uid) },
  { name: 'bad-address', watch: whenever(({ outcome }) => !outcome.ok && outcome.error === 'bad-address') },
];

export const numaScheme: Scheme<Config, State, Command, Outcome> = {
  name: 'numa',
  summary: 'FreeBSD SO_REUSEPORT_LB with TCP_REUSPORT_LB_NUMA: exact address first, then the packet domain, the no-domain group, any group; hash % count',
  config: configSchema,
  command: commandSchema,
  outcome: (cmd) => outcomeSchemas[cmd.op],
  model,
  readings: [
    {
      name: '0.0.0.0 as a destination',
      options: WILDCARD_DESTINATION,
      meaning: "a connect to 0.0.0.0 is 'bad-address' (a packet's destination is always a real address), or 'routed' like any destination, to the 0.0.0.0 groups",
    },
    {
      name: 'local without a domain',
      options: [true, false],
      meaning: 'a domain-null packet that lands in the no-domain group is reported local (true: no domain equals no domain) or not (false: nothing to be local to)',
    },
  ],
  freedoms: [
    { name: 'which error', meaning: 'several errors apply and the issue does not rank them: any of them may be reported' },
    { name: 'group of the class', meaning: "with neither the packet's domain's group nor a no-domain group in its address class, any group of the class may take it" },
    { name: 'member for a connect without a hash', meaning: 'a connect without `hash` may go to any member of the chosen group' },
  ],
  implementation: (config) => new NumaImpl(config),
  properties: [
    addressSpecificityFirst,
    domainLocality,
    wildcardFallback,
    moduloIndex,
    localFlag,
    orderKept,
    oneGroupEach,
    setDomainTarget,
    failedChangesNothing,
    groupMax,
    uidRule,
    resetListsQueue,
  ],
  runs,
  corners,
};

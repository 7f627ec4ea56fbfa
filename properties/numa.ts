// NUMA wildcard fallback — the properties checked on every step, the generators that drive them, and
// the corners the generators must reach. Each property is stated independently of the model's code
// (it reads only states and outcomes), so it checks the implementation and the model alike.
import fc from 'fast-check';
import { NumaImpl } from '../impl/numa.ts';
import {
  classOf,
  commandSchema,
  configSchema,
  keyOf,
  model,
  NODOM,
  outcomeSchemas,
  WILDCARD,
  type Command,
  type Config,
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

export const orderKept: NumaProperty = {
  name: 'order-kept',
  rule: 'true iff every group after a step is its members from before that stayed, in their old order, followed by at most one newcomer at the end',
  monitor: everyStep(({ before, after }) => {
    for (const [address, byKey] of Object.entries(after.groups)) {
      for (const [key, members] of Object.entries(byKey)) {
        const old = before.groups[address]?.[key] ?? [];
        const kept = old.filter((l) => members.includes(l));
        const rest = members.slice(kept.length);
        if (!sameValue(members.slice(0, kept.length), kept) || rest.length > 1 || rest.some((l) => old.includes(l))) {
          return `group ${address}/${key} went from ${show(old)} to ${show(members)}`;
        }
      }
    }
    return null;
  }),
};

export const oneGroupEach: NumaProperty = {
  name: 'one-group-each',
  rule: 'true iff every registered listener is in exactly one group, the one named by its address and domain, and every group member is registered',
  monitor: everyStep(({ after }) => {
    const seen = new Map<number, string>();
    for (const [address, byKey] of Object.entries(after.groups)) {
      for (const [key, members] of Object.entries(byKey)) {
        if (members.length === 0) return `group ${address}/${key} is kept empty`;
        for (const l of members) {
          if (seen.has(l)) return `listener ${l} is in ${seen.get(l)} and in ${address}/${key}`;
          seen.set(l, `${address}/${key}`);
          const listener = after.listeners[l];
          if (!listener) return `group ${address}/${key} holds ${l}, which is not registered`;
          if (listener.address !== address || keyOf(listener.domain) !== key) {
            return `listener ${l} (${listener.address}/${keyOf(listener.domain)}) is in group ${address}/${key}`;
          }
        }
      }
    }
    const missing = Object.keys(after.listeners).find((l) => !seen.has(Number(l)));
    return missing === undefined ? null : `listener ${missing} is in no group`;
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
  monitor: everyStep(({ before, cmd, outcome, after }) =>
    !outcome.ok && cmd.op !== 'accept' && cmd.op !== 'close' && !sameValue(before, after) ? `a ${cmd.op} that failed with ${outcome.error} changed the state` : null,
  ),
};

export const groupMax: NumaProperty = {
  name: 'group-max',
  rule: 'true iff no group ever holds more than groupMax members, and group-full is reported only when the target group holds groupMax',
  monitor: everyStep(({ config, before, cmd, outcome, after }) => {
    for (const [address, byKey] of Object.entries(after.groups)) {
      for (const [key, members] of Object.entries(byKey)) {
        if (members.length > config.groupMax) return `group ${address}/${key} holds ${members.length} > ${config.groupMax}`;
      }
    }
    if (outcome.ok || outcome.error !== 'group-full') return null;
    let target: number[] = [];
    if (cmd.op === 'register') target = before.groups[cmd.address]?.[NODOM] ?? [];
    if (cmd.op === 'setDomain') {
      const l = before.listeners[cmd.listener];
      const d = cmd.domain === 'nodom' ? null : cmd.domain === 'curdom' ? cmd.cpu! % config.domains : cmd.domain;
      target = l ? (before.groups[l.address]?.[keyOf(d)] ?? []) : [];
    }
    return target.length >= config.groupMax ? null : `group-full for a target group of ${target.length} (groupMax ${config.groupMax})`;
  }),
};

export const uidRule: NumaProperty = {
  name: 'uid-rule',
  rule: "true iff every listener has the owner's uid, there is an owner exactly when there is a listener, and uid-mismatch is reported only when a listener of another uid exists",
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    const listeners = Object.entries(after.listeners);
    if ((after.owner === null) !== (listeners.length === 0)) return `owner ${after.owner} with ${listeners.length} listeners`;
    const other = listeners.find(([, l]) => l.uid !== after.owner);
    if (other) return `listener ${other[0]} has uid ${other[1].uid}, the owner is ${after.owner}`;
    if (cmd.op === 'register' && !outcome.ok && outcome.error === 'uid-mismatch') {
      if (!Object.values(before.listeners).some((l) => l.uid !== cmd.uid)) return `uid-mismatch for uid ${cmd.uid} although no listener has another uid`;
    }
    return null;
  }),
};

export const resetListsQueue: NumaProperty = {
  name: 'reset-lists-queue',
  rule: "true iff deregister lists exactly the listener's queued connections in `reset`, and every other connection stays queued in exactly its listener's queue, accepted, or closed by close",
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    const open = new Set(Object.keys(before.connections).map(Number));
    if (cmd.op === 'connect' && outcome.ok) open.add(cmd.conn);
    if (cmd.op === 'close' && outcome.ok) open.delete(cmd.conn);
    if (cmd.op === 'deregister' && 'reset' in outcome) {
      const queue = [...before.listeners[cmd.listener].queue].sort((a, b) => a - b);
      const listed = [...outcome.reset].sort((a, b) => a - b);
      if (!sameValue(listed, queue)) return `deregister listed ${show(outcome.reset)}, but the queue held ${show(before.listeners[cmd.listener].queue)}`;
      for (const c of listed) open.delete(c);
    }
    const now = Object.keys(after.connections).map(Number).sort((a, b) => a - b);
    if (!sameValue([...open].sort((a, b) => a - b), now)) return `open connections are ${show(now)}, expected ${show([...open])}`;
    const queued = Object.entries(after.listeners).flatMap(([l, { queue }]) => queue.map((c) => [c, Number(l)] as const));
    if (new Set(queued.map(([c]) => c)).size !== queued.length) return 'a connection waits in two queues';
    for (const [c, l] of queued) {
      const conn = after.connections[c];
      if (!conn || conn.accepted || conn.listener !== l) return `connection ${c} is in ${l}'s queue but is ${show(conn)}`;
    }
    for (const [c, conn] of Object.entries(after.connections)) {
      if (!conn.accepted && !queued.some(([q]) => q === Number(c))) return `connection ${c} is neither accepted nor queued`;
    }
    return null;
  }),
};

// ---- generators ----

const small = (min: number, max: number, rareMax: number) =>
  fc.oneof({ weight: 9, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.integer({ min, max: rareMax }) });

export const configs: fc.Arbitrary<Config> = fc.record({
  domains: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 2, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(1, 16) }),
  groupMax: fc.oneof(
    { weight: 3, arbitrary: fc.constant(1) },
    { weight: 2, arbitrary: fc.constant(2) },
    { weight: 2, arbitrary: fc.integer({ min: 3, max: 256 }) },
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
  const any: fc.Arbitrary<Command[]> = fc.oneof(
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
export const runs = configs.chain((config) => {
  const { register, any } = commandsFor(config);
  return fc.record({
    config: fc.constant(config),
    commands: fc
      .tuple(fc.array(register, { minLength: 1, maxLength: 5 }), fc.array(any, { maxLength: 36, size: '+1' }))
      .map(([first, rest]) => [...first, ...rest.flat()]),
  });
});

// ---- corners the generators must reach ----

const landedIn = (t: T, check: (l: NonNullable<ReturnType<typeof landed>>) => boolean) => {
  const l = landed(t);
  return l !== null && check(l);
};

export const corners: Corner<Config, State, Command, Outcome>[] = [
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

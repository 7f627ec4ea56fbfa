// NUMA wildcard fallback (FreeBSD SO_REUSEPORT_LB + TCP_REUSPORT_LB_NUMA) — the specification
// (seed 002, issue 4). Plain data, plain loops; read it beside the seed and the FreeBSD notes in
// ../shared/reference/kernel-steering.md (sys/netinet/in_pcb.c).
//
// Rules (numbers as in the README's numa section):
//  1. One port. Its listeners are in groups keyed by (address, domain): address "0.0.0.0" (the wildcard)
//     or an exact dotted IPv4 address; domain a NUMA domain 0..domains-1 or none (the no-domain group,
//     M_NODOM, the seed's "numa wildcard"). A group with no member is gone (in_pcblbgroup_free).
//  2. `register` appends the listener to the no-domain group of its address (a new inpcblbgroup has
//     il_numa_domain = M_NODOM). Every member of the port has the first member's uid; the rule resets
//     when the port has no member. A group holds at most `groupMax` (FreeBSD silently leaves the socket
//     out; the spec says group-full).
//  3. `setDomain` (TCP_REUSPORT_LB_NUMA): "nodom" → the no-domain group, 0..domains-1 → that domain's
//     group, "curdom" → the domain of `cpu`, which is cpu % domains. The listener leaves its old group
//     (order kept) and is appended to the new one; its own domain again changes nothing. Target full:
//     group-full, nothing moves.
//  4. `connect` (in_pcblookup_lbgroup): groups of the packet's exact address win over groups of 0.0.0.0,
//     whatever their domains; neither: refused.
//     4a. A packet for 0.0.0.0 itself: the issue neither forbids it nor says how it is routed. It reads two
//         ways, and an implementation takes one for a whole run (`wildcardDestination` in the state):
//         bad-address, like a malformed address, or routed like any destination (its exact class is the
//         0.0.0.0 class).
//     4b. When an input error applies (duplicate-conn, bad-domain, bad-address) and no group of the packet's
//         address nor of 0.0.0.0 exists, refused is allowed beside it (the errors are not ranked).
//  5. Within that class: the packet's domain's group; else the no-domain group; else any group of the
//     class. A packet with domain null: the no-domain group, else any group of the class.
//  6. Within the group: member hash % count (modulo, not multiply-shift); no hash: any member.
//  7. `local` is true iff the chosen group's domain equals the packet's domain. A domain-null packet in
//     the no-domain group may be reported either way: "no domain equals no domain" and "nothing to be
//     local to" are both fair readings of the issue; an implementation takes one for a whole run
//     (`localWithoutDomain` in the state).
//  8. Removal from a group keeps the order of the others (FreeBSD shifts il_inp[] down).
//  9. `deregister`: FreeBSD does not migrate queued connections; they are reset and listed. Accepted
//     connections stay open with their process and count nowhere (they belong to no listener once accepted).
// 10. `accept` pops the head of the listener's FIFO (or gives null); `close` closes a queued or accepted
//     connection. Connection ids are unique while open; a closed or reset id may be used again.
// Where the issue leaves a choice at a step (several applicable errors; "any group of the class"; no hash)
// the model allows each. A step costs what it touches: no rule scans every connection or listener.
import { match } from 'ts-pattern';
import { z } from 'zod';
import { oneOf, type Choose, type Model } from '../core/relation.ts';
import { cpuNumber, failure, hash32, id, okOnly, uid } from '../core/vocabulary.ts';

// ---- vocabulary ----

export const configSchema = z.strictObject({
  domains: z.number().int().min(1).max(16).default(2),
  groupMax: z.number().int().min(1).max(256).default(256),
});
export type Config = z.infer<typeof configSchema>;

export const WILDCARD = '0.0.0.0';

/** A domain as a command names it; a number outside 0..domains-1 (or not an integer) is bad-domain. */
const domainNumber = z.number();

export const commandSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('register'), listener: id, uid, address: z.string() }),
  z
    .strictObject({
      op: z.literal('setDomain'),
      listener: id,
      domain: z.union([domainNumber, z.literal('nodom'), z.literal('curdom')]),
      /** The calling thread's CPU; only "curdom" reads it, and there it is required. */
      cpu: cpuNumber.optional(),
    })
    .refine((c) => c.domain !== 'curdom' || c.cpu !== undefined, { path: ['cpu'], message: '"curdom" needs the calling CPU' }),
  z.strictObject({ op: z.literal('deregister'), listener: id }),
  z.strictObject({
    op: z.literal('connect'),
    conn: id,
    address: z.string(),
    domain: domainNumber.nullable().default(null),
    hash: hash32.optional(),
  }),
  z.strictObject({ op: z.literal('accept'), listener: id }),
  z.strictObject({ op: z.literal('close'), conn: id }),
]);
export type Command = z.infer<typeof commandSchema>;

export const outcomeSchemas = {
  register: z.union([okOnly, failure(['duplicate-listener', 'bad-address', 'uid-mismatch', 'group-full'])]),
  setDomain: z.union([okOnly, failure(['unknown-listener', 'bad-domain', 'group-full'])]),
  deregister: z.union([z.strictObject({ ok: z.literal(true), reset: z.array(id) }), failure(['unknown-listener'])]),
  connect: z.union([
    z.strictObject({ ok: z.literal(true), listener: id, local: z.boolean() }),
    failure(['refused', 'duplicate-conn', 'bad-domain', 'bad-address']),
  ]),
  accept: z.union([z.strictObject({ ok: z.literal(true), conn: id.nullable() }), failure(['unknown-listener'])]),
  close: z.union([okOnly, failure(['unknown-conn'])]),
} satisfies Record<Command['op'], z.ZodType>;
export type OutcomeOf<Op extends Command['op']> = z.infer<(typeof outcomeSchemas)[Op]>;
export type Outcome = OutcomeOf<Command['op']>;
type ErrorOf<Op extends Command['op']> = Extract<OutcomeOf<Op>, { ok: false }>['error'];

// ---- state ----

/** A group's key within its address: "nodom" for the no-domain group, else the domain as a string. */
export type DomainKey = string;
export const NODOM: DomainKey = 'nodom';
export const keyOf = (domain: number | null): DomainKey => (domain === null ? NODOM : String(domain));

export interface Listener {
  uid: number;
  address: string;
  /** null: in the no-domain group. */
  domain: number | null;
  /** Connection ids waiting for accept, oldest first. */
  queue: number[];
}

export interface Connection {
  /**
   * The listener whose queue it waits in; null once accepted. An accepted connection belongs to its
   * process, not to a listener (nothing counts load here), so a deregister leaves it alone (rule 9).
   */
  listener: number | null;
  accepted: boolean;
}

/** The two readings of a connect to 0.0.0.0 (rule 4a). */
export const WILDCARD_DESTINATION = ['bad-address', 'routed'] as const;

export interface State {
  config: Config;
  /** Rule 4a, fixed for the run: a connect to 0.0.0.0 is 'bad-address', or 'routed' to the 0.0.0.0 groups. */
  wildcardDestination: (typeof WILDCARD_DESTINATION)[number];
  /** Rule 7, fixed for the run: `local` of a domain-null packet that lands in the no-domain group. */
  localWithoutDomain: boolean;
  /** The uid every member of the port must have; null when the port has no member (rule 2). */
  owner: number | null;
  /** Registered listeners by id. */
  listeners: Record<number, Listener>;
  /** address → domain key → member ids in group order. Only non-empty groups, only addresses with one. */
  groups: Record<string, Record<DomainKey, number[]>>;
  /** Open connections by id. */
  connections: Record<number, Connection>;
}

// ---- helpers ----

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const DOTTED_QUAD = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

/** True iff `text` is a dotted IPv4 address in canonical form: four decimal octets 0..255, no leading zeros. */
export const isAddress = (text: string) => DOTTED_QUAD.test(text);

/** True iff `domain` names one of the config's NUMA domains. */
export const isDomain = (config: Config, domain: number) => Number.isInteger(domain) && domain >= 0 && domain < config.domains;

/** The NUMA domain of a CPU (the issue: CPU c belongs to domain c % domains). */
export const domainOfCpu = (config: Config, cpu: number) => cpu % config.domains;

export const groupOf = (s: State, address: string, domain: number | null): number[] => s.groups[address]?.[keyOf(domain)] ?? [];

/** The domain keys of the address class `address`, i.e. its non-empty groups. */
export const classOf = (s: State, address: string): DomainKey[] => Object.keys(s.groups[address] ?? {});

function joinGroup(s: State, listener: number, address: string, domain: number | null) {
  const groups = (s.groups[address] ??= {});
  (groups[keyOf(domain)] ??= []).push(listener);
}

/** Rule 8: the others keep their order; an emptied group (and address) is gone (rule 1). */
function leaveGroup(s: State, listener: number, address: string, domain: number | null) {
  const groups = s.groups[address];
  const key = keyOf(domain);
  groups[key] = groups[key].filter((l) => l !== listener);
  if (groups[key].length === 0) delete groups[key];
  if (Object.keys(groups).length === 0) delete s.groups[address];
}


/**
 * Rules 4-7: the listener a packet for (address, domain) goes to, or null (refused). `choose` picks among
 * the groups of the class and among members when the spec leaves it open; both read back the listener.
 */
export function steer(s: State, address: string, domain: number | null, hash: number | undefined, choose: Choose<Outcome>) {
  // Rule 4, address first: the exact class if it has any group, else the wildcard class.
  const klass = classOf(s, address).length > 0 ? address : WILDCARD;
  const keys = classOf(s, klass);
  if (keys.length === 0) return null;

  // Rule 5: the packet's domain, else the numa wildcard, else any group (FreeBSD: the first its hash chain shows).
  const chosenListener = (o: Outcome) => ('listener' in o ? o.listener : undefined);
  let key: DomainKey;
  if (domain !== null && keys.includes(keyOf(domain))) key = keyOf(domain);
  else if (keys.includes(NODOM)) key = NODOM;
  else {
    key = choose('group of the class', keys, (o) => {
      const l = chosenListener(o);
      const listener = l === undefined ? undefined : s.listeners[l];
      return listener && listener.address === klass ? keyOf(listener.domain) : undefined;
    });
  }
  // Rule 6: modulo, FreeBSD's INP_PCBLBGROUP_PKTHASH(...) % il_inpcnt. Rule 7: local.
  const members = s.groups[klass][key];
  const listener = hash === undefined ? choose('member for a connect without a hash', members, chosenListener) : members[hash % members.length];
  const local = domain === null && key === NODOM ? s.localWithoutDomain : key === keyOf(domain);
  return { listener, local };
}

// ---- actions ----

/** Rule 2. */
function register(s: State, c: Extract<Command, { op: 'register' }>, choose: Choose<Outcome>): Outcome {
  const errors: ErrorOf<'register'>[] = [];
  if (s.listeners[c.listener]) errors.push('duplicate-listener');
  if (!isAddress(c.address)) errors.push('bad-address');
  if (s.owner !== null && s.owner !== c.uid) errors.push('uid-mismatch');
  if (isAddress(c.address) && groupOf(s, c.address, null).length >= s.config.groupMax) errors.push('group-full');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  s.owner = c.uid;
  s.listeners[c.listener] = { uid: c.uid, address: c.address, domain: null, queue: [] };
  joinGroup(s, c.listener, c.address, null);
  return { ok: true };
}

/** Rule 3 (TCP_REUSPORT_LB_NUMA). */
function setDomain(s: State, c: Extract<Command, { op: 'setDomain' }>, choose: Choose<Outcome>): Outcome {
  const listener = s.listeners[c.listener];
  const errors: ErrorOf<'setDomain'>[] = [];
  if (!listener) errors.push('unknown-listener');
  if (typeof c.domain === 'number' && !isDomain(s.config, c.domain)) errors.push('bad-domain');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  const target = c.domain === 'nodom' ? null : c.domain === 'curdom' ? domainOfCpu(s.config, c.cpu!) : c.domain;
  if (target === listener.domain) return { ok: true };
  if (groupOf(s, listener.address, target).length >= s.config.groupMax) return { ok: false, error: 'group-full' };
  leaveGroup(s, c.listener, listener.address, listener.domain);
  joinGroup(s, c.listener, listener.address, target);
  listener.domain = target;
  return { ok: true };
}

/** Rule 9: no migration; the queue is reset and listed. */
function deregister(s: State, c: Extract<Command, { op: 'deregister' }>): Outcome {
  const leaving = s.listeners[c.listener];
  if (!leaving) return { ok: false, error: 'unknown-listener' };
  leaveGroup(s, c.listener, leaving.address, leaving.domain);
  delete s.listeners[c.listener];
  // Every listener is in a group, so the port has no member iff no address has a group left.
  if (Object.keys(s.groups).length === 0) s.owner = null;

  for (const conn of leaving.queue) delete s.connections[conn];
  return { ok: true, reset: [...leaving.queue] };
}

/** Rules 4-7, 10. */
function connect(s: State, c: Extract<Command, { op: 'connect' }>, choose: Choose<Outcome>): Outcome {
  const errors: ErrorOf<'connect'>[] = [];
  if (s.connections[c.conn] !== undefined) errors.push('duplicate-conn');
  // Rule 4a: under the 'bad-address' reading, 0.0.0.0 is as bad a destination as a malformed address.
  if (!isAddress(c.address) || (c.address === WILDCARD && s.wildcardDestination === 'bad-address')) errors.push('bad-address');
  if (c.domain !== null && !isDomain(s.config, c.domain)) errors.push('bad-domain');
  if (errors.length > 0) {
    // Rule 4b: no group could take the packet, so refused is as true as the input error.
    if (classOf(s, c.address).length === 0 && classOf(s, WILDCARD).length === 0) errors.push('refused');
    return oneOf(errors, choose)!;
  }

  const target = steer(s, c.address, c.domain, c.hash, choose);
  if (target === null) return { ok: false, error: 'refused' };
  s.connections[c.conn] = { listener: target.listener, accepted: false };
  s.listeners[target.listener].queue.push(c.conn);
  return { ok: true, ...target };
}

/** Rule 10, as in SO_REUSERPS. */
function accept(s: State, c: Extract<Command, { op: 'accept' }>): Outcome {
  const listener = s.listeners[c.listener];
  if (!listener) return { ok: false, error: 'unknown-listener' };
  const head = listener.queue[0];
  if (head === undefined) return { ok: true, conn: null };
  // A new array rather than shift(): one write to the state (the oracle journals writes), however long the queue.
  listener.queue = listener.queue.slice(1);
  s.connections[head] = { listener: null, accepted: true };
  return { ok: true, conn: head };
}

/** Rule 10, as in SO_REUSERPS. */
function close(s: State, c: Extract<Command, { op: 'close' }>): Outcome {
  const conn = s.connections[c.conn];
  if (!conn) return { ok: false, error: 'unknown-conn' };
  if (conn.listener !== null) {
    const listener = s.listeners[conn.listener];
    listener.queue = listener.queue.filter((queued) => queued !== c.conn);
  }
  delete s.connections[c.conn];
  return { ok: true };
}

export const model: Model<Config, State, Command, Outcome> = {
  init: (config, read) => ({
    config,
    wildcardDestination: read('0.0.0.0 as a destination', WILDCARD_DESTINATION),
    localWithoutDomain: read('local without a domain', [true, false]),
    owner: null,
    listeners: {},
    groups: {},
    connections: {},
  }),
  step: (s, cmd, choose) =>
    match(cmd)
      .with({ op: 'register' }, (c) => register(s, c, choose))
      .with({ op: 'setDomain' }, (c) => setDomain(s, c, choose))
      .with({ op: 'deregister' }, (c) => deregister(s, c))
      .with({ op: 'connect' }, (c) => connect(s, c, choose))
      .with({ op: 'accept' }, (c) => accept(s, c))
      .with({ op: 'close' }, (c) => close(s, c))
      .exhaustive(),
};

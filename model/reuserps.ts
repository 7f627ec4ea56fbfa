// SO_REUSERPS — the specification (seed 000). Plain data, plain loops; read it beside the seed.
//
// Rules (numbers as in the README's table):
//  1. The group's first registrant decides its mode (`reuserps`) and owner (its uid); later registrants
//     must match both (mode-mismatch, uid-mismatch). When the last member leaves, the group is reset.
//  2. An SO_REUSERPS registrant names a non-empty CPU set and is appended to each of those CPUs' tables;
//     if any of them is full, nothing changes (table-full). limit 0 = none; negative/fractional: bad-limit.
//  3. A plain registrant has no CPUs and limit 0. Plain selection is Linux's: index floor(hash*n/2^32)
//     in group order; removal moves the last member into the hole. `local` is always false.
//  4. Load = connections assigned and not yet closed, reset or migrated away; never above a limit.
//  5. Connect on CPU c (SO_REUSERPS): eligible = c's listeners below their limit. round-robin takes the
//     first eligible at or after c's cursor (cyclically) and sets the cursor just past it; top-down takes
//     the first eligible. Nothing eligible: refuse, or (fallback "hash") pick among all eligible members
//     in registration order at floor(hash*k/2^32), local false.
//     "Just past" the table's last listener reads two ways once the table grows: wrapped to 0 at once,
//     or left past the end (so it points at the newcomer). An implementation takes one reading for a
//     whole run: the model reads it in `init` and keeps it in the state (`cursorPastEnd`).
//  6. Removal compacts every table and keeps order; a cursor keeps pointing at the same next listener.
//  7. A deregistered listener's queued connections are re-steered in queue order as new arrivals on
//     their CPU with their hash (migrated or reset); its accepted ones stay open and count nowhere.
//  8. Connection ids are unique while open; a closed or reset id may be used again.
// Where the spec leaves a choice at a step (several applicable errors; no hash given) the model allows each.
// A step costs what it touches: loads are counts on the listeners, and a listener is found by id
// through `position`, never by a scan over every connection or member.
import { match } from 'ts-pattern';
import { z } from 'zod';
import { oneOf, type Choose, type Model } from '../core/relation.ts';
import { cpuNumber, failure, hash32, id, okOnly, uid } from '../core/vocabulary.ts';

// ---- vocabulary ----

export const configSchema = z.strictObject({
  cpus: z.number().int().min(1).max(128).default(128),
  slotsPerCpu: z.number().int().min(1).max(128).default(128),
  policy: z.enum(['round-robin', 'top-down']).default('round-robin'),
  fallback: z.enum(['refuse', 'hash']).default('refuse'),
});
export type Config = z.infer<typeof configSchema>;

export const commandSchema = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('register'),
    listener: id,
    uid,
    reuserps: z.boolean(),
    cpus: z.array(cpuNumber).default([]),
    limit: z.number().default(0),
  }),
  z.strictObject({ op: z.literal('deregister'), listener: id }),
  z.strictObject({ op: z.literal('connect'), conn: id, cpu: cpuNumber, hash: hash32.optional() }),
  z.strictObject({ op: z.literal('accept'), listener: id }),
  z.strictObject({ op: z.literal('close'), conn: id }),
]);
export type Command = z.infer<typeof commandSchema>;

export const outcomeSchemas = {
  register: z.union([
    okOnly,
    failure(['duplicate-listener', 'bad-cpu', 'empty-mask', 'bad-limit', 'mode-mismatch', 'uid-mismatch', 'table-full']),
  ]),
  deregister: z.union([
    z.strictObject({ ok: z.literal(true), migrated: z.array(z.tuple([id, id])), reset: z.array(id) }),
    failure(['unknown-listener']),
  ]),
  connect: z.union([
    z.strictObject({ ok: z.literal(true), listener: id, local: z.boolean() }),
    failure(['refused', 'bad-cpu', 'duplicate-conn']),
  ]),
  accept: z.union([z.strictObject({ ok: z.literal(true), conn: id.nullable() }), failure(['unknown-listener'])]),
  close: z.union([okOnly, failure(['unknown-conn'])]),
} satisfies Record<Command['op'], z.ZodType>;
export type OutcomeOf<Op extends Command['op']> = z.infer<(typeof outcomeSchemas)[Op]>;
export type Outcome = OutcomeOf<Command['op']>;
type ErrorOf<Op extends Command['op']> = Extract<OutcomeOf<Op>, { ok: false }>['error'];

// ---- state ----

export interface Listener {
  id: number;
  uid: number;
  /** The CPU set, sorted, without repeats (empty in a plain group). */
  cpus: number[];
  limit: number;
  /** Connection ids waiting for accept, oldest first. */
  queue: number[];
  /** Rule 4: connections assigned to it (queued or accepted) and not yet closed, reset or migrated away. */
  load: number;
  /** Ids of the open connections it accepted (so deregister can let them go without a scan). */
  accepted: Record<number, true>;
}

export interface Connection {
  /** null once its listener has deregistered after accepting it: open, but counted nowhere. */
  listener: number | null;
  cpu: number;
  hash?: number;
  accepted: boolean;
}

/** The two readings of "just past" the table's last listener (rule 5). */
export const CURSOR_PAST_END = ['wrap', 'stay'] as const;
export type CursorPastEnd = (typeof CURSOR_PAST_END)[number];

export interface State {
  config: Config;
  /**
   * The reading of "the cursor moves just past it" after round-robin takes a table's last listener,
   * fixed for the run: 'wrap' puts the cursor back at 0 at once; 'stay' leaves it at the table's
   * length, so a listener registered next is the next one taken.
   */
  cursorPastEnd: CursorPastEnd;
  group: { mode: 'reuserps' | 'plain'; owner: number } | null;
  /** Group order: registration order, except that plain removal swaps the last member in. */
  members: Listener[];
  /** Listener id → its index in `members`, so finding a listener by id costs no scan. */
  position: Record<number, number>;
  /** Per CPU, listener ids in table order. */
  tables: number[][];
  /**
   * Per CPU, the table position just past the listener round-robin chose last (rule 5). With 'stay' it
   * may equal the table's length until the next choice or removal; lookups start at cursor % length.
   */
  cursors: number[];
  /** Open connections by id. */
  connections: Record<number, Connection>;
}

// ---- helpers ----

export const memberOf = (s: State, listener: number): Listener | undefined => {
  const at = s.position[listener];
  return at === undefined ? undefined : s.members[at];
};

/** True iff the listener can take one more connection (rule 4). */
export function isBelowLimit(s: State, listener: number): boolean {
  const { limit, load } = memberOf(s, listener)!;
  return limit === 0 || load < limit;
}

/** floor(hash * n / 2^32): Linux's reciprocal_scale. */
const scaled = (hash: number, n: number) => Math.floor((hash * n) / 2 ** 32);

/** The listener an arrival on `cpu` goes to (rules 3 and 5), or null when it is refused. Moves cursors. */
function steer(s: State, cpu: number, hash: number | undefined, pick: (candidates: number[]) => number) {
  if (s.group === null) return null;
  if (s.group.mode === 'plain') {
    const listener = hash === undefined ? pick(s.members.map((m) => m.id)) : s.members[scaled(hash, s.members.length)].id;
    return { listener, local: false };
  }

  const table = s.tables[cpu];
  const eligible = (listener: number) => isBelowLimit(s, listener);
  if (table.some(eligible)) {
    if (s.config.policy === 'top-down') return { listener: table.find(eligible)!, local: true };
    let at = s.cursors[cpu] % table.length;
    while (!eligible(table[at])) at = (at + 1) % table.length;
    // Just past the chosen listener; past the last one, the run's reading of "just past" decides.
    s.cursors[cpu] = at + 1 < table.length || s.cursorPastEnd === 'stay' ? at + 1 : 0;
    return { listener: table[at], local: true };
  }
  if (s.config.fallback === 'refuse') return null;
  // The hash fallback looks at the whole group, so it costs a pass over the members.
  const candidates = s.members.map((m) => m.id).filter(eligible);
  if (candidates.length === 0) return null;
  return { listener: hash === undefined ? pick(candidates) : candidates[scaled(hash, candidates.length)], local: false };
}

/** True iff an arrival on `cpu` would be refused, as `steer` decides it, but changing nothing. */
function refusedOn(s: State, cpu: number): boolean {
  if (s.group === null) return true;
  if (s.group.mode === 'plain') return false;
  const eligible = (listener: number) => isBelowLimit(s, listener);
  if (s.tables[cpu].some(eligible)) return false;
  return s.config.fallback === 'refuse' || !s.members.some((m) => eligible(m.id));
}

/** Takes a listener out of one CPU table, keeping order and the cursor on the same next listener (rule 6). */
function removeFromTable(s: State, cpu: number, listener: number) {
  const table = s.tables[cpu];
  const at = table.indexOf(listener);
  table.splice(at, 1);
  if (at < s.cursors[cpu]) s.cursors[cpu]--;
  if (s.cursors[cpu] >= table.length) s.cursors[cpu] = 0;
}

/** Takes a member out of the group order (rules 3 and 6), keeping `position` right. */
function leaveGroup(s: State, leaving: Listener) {
  const at = s.position[leaving.id];
  delete s.position[leaving.id];
  if (s.group!.mode === 'plain') {
    const last = s.members.pop()!;
    if (last.id !== leaving.id) {
      s.members[at] = last;
      s.position[last.id] = at;
    }
  } else {
    s.members.splice(at, 1);
    for (let i = at; i < s.members.length; i++) s.position[s.members[i].id] = i;
  }
}

// ---- actions ----

function register(s: State, c: Extract<Command, { op: 'register' }>, choose: Choose<Outcome>): Outcome {
  const mask = [...new Set(c.cpus)].sort((a, b) => a - b);
  const mode = c.reuserps ? 'reuserps' : 'plain';
  const errors: ErrorOf<'register'>[] = [];
  if (memberOf(s, c.listener)) errors.push('duplicate-listener');
  if (mask.some((cpu) => cpu >= s.config.cpus)) errors.push('bad-cpu');
  if (c.reuserps && mask.length === 0) errors.push('empty-mask');
  if (!Number.isInteger(c.limit) || c.limit < 0) errors.push('bad-limit');
  if (!c.reuserps && (mask.length > 0 || c.limit !== 0)) errors.push('mode-mismatch');
  if (s.group !== null && s.group.mode !== mode) errors.push('mode-mismatch');
  if (s.group !== null && s.group.owner !== c.uid) errors.push('uid-mismatch');
  if (c.reuserps && mask.some((cpu) => cpu < s.config.cpus && s.tables[cpu].length >= s.config.slotsPerCpu)) {
    errors.push('table-full');
  }
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  s.group ??= { mode, owner: c.uid };
  s.position[c.listener] = s.members.length;
  s.members.push({ id: c.listener, uid: c.uid, cpus: mask, limit: c.limit, queue: [], load: 0, accepted: {} });
  for (const cpu of mask) s.tables[cpu].push(c.listener);
  return { ok: true };
}

function deregister(s: State, c: Extract<Command, { op: 'deregister' }>, choose: Choose<Outcome>): Outcome {
  const leaving = memberOf(s, c.listener);
  if (!leaving) return { ok: false, error: 'unknown-listener' };
  const mode = s.group!.mode;
  leaveGroup(s, leaving);
  if (mode === 'reuserps') for (const cpu of leaving.cpus) removeFromTable(s, cpu, leaving.id);
  if (s.members.length === 0) s.group = null;

  for (const conn of Object.keys(leaving.accepted)) s.connections[Number(conn)].listener = null;
  const migrated: [number, number][] = [];
  const reset: number[] = [];
  for (const connId of leaving.queue) {
    const conn = s.connections[connId];
    const target = steer(s, conn.cpu, conn.hash, (candidates) =>
      choose('new listener of a migrated connection', candidates, (o) =>
        'migrated' in o ? o.migrated.find(([moved]) => moved === connId)?.[1] : undefined,
      ),
    );
    if (target === null) {
      delete s.connections[connId];
      reset.push(connId);
    } else {
      const to = memberOf(s, target.listener)!;
      conn.listener = to.id;
      to.queue.push(connId);
      to.load++;
      migrated.push([connId, to.id]);
    }
  }
  return { ok: true, migrated, reset };
}

function connect(s: State, c: Extract<Command, { op: 'connect' }>, choose: Choose<Outcome>): Outcome {
  const errors: ErrorOf<'connect'>[] = [];
  if (s.connections[c.conn] !== undefined) errors.push('duplicate-conn');
  if (c.cpu >= s.config.cpus) errors.push('bad-cpu');
  // When nothing could take the connection anyway, "refused" is just as true as the input error.
  if (errors.length > 0 && (s.group === null || (c.cpu < s.config.cpus && refusedOn(s, c.cpu)))) errors.push('refused');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  const target = steer(s, c.cpu, c.hash, (candidates) =>
    choose('listener of a connect without a hash', candidates, (o) => ('listener' in o ? o.listener : undefined)),
  );
  if (target === null) return { ok: false, error: 'refused' };
  s.connections[c.conn] = { listener: target.listener, cpu: c.cpu, accepted: false, ...(c.hash === undefined ? {} : { hash: c.hash }) };
  const to = memberOf(s, target.listener)!;
  to.queue.push(c.conn);
  to.load++;
  return { ok: true, ...target };
}

/** `accept`: the oldest queued connection, or conn null when none waits. */
function accept(s: State, c: Extract<Command, { op: 'accept' }>): Outcome {
  const member = memberOf(s, c.listener);
  if (!member) return { ok: false, error: 'unknown-listener' };
  const head = member.queue[0];
  if (head === undefined) return { ok: true, conn: null };
  // A new array rather than shift(): one write to the state (the oracle journals writes), however long the queue.
  member.queue = member.queue.slice(1);
  s.connections[head].accepted = true;
  member.accepted[head] = true;
  return { ok: true, conn: head };
}

/** `close`: an open connection, accepted or still queued (a client that gave up), goes away and stops counting. */
function close(s: State, c: Extract<Command, { op: 'close' }>): Outcome {
  const open = s.connections[c.conn];
  if (!open) return { ok: false, error: 'unknown-conn' };
  const member = open.listener === null ? undefined : memberOf(s, open.listener)!;
  if (member) {
    member.load--;
    if (open.accepted) delete member.accepted[c.conn];
    else member.queue = member.queue.filter((queued) => queued !== c.conn);
  }
  delete s.connections[c.conn];
  return { ok: true };
}

export const model: Model<Config, State, Command, Outcome> = {
  init: (config, read) => ({
    config,
    cursorPastEnd: read('cursor past the end', CURSOR_PAST_END),
    group: null,
    members: [],
    position: {},
    tables: Array.from({ length: config.cpus }, () => []),
    cursors: Array.from({ length: config.cpus }, () => 0),
    connections: {},
  }),
  step: (s, cmd, choose) =>
    match(cmd)
      .with({ op: 'register' }, (c) => register(s, c, choose))
      .with({ op: 'deregister' }, (c) => deregister(s, c, choose))
      .with({ op: 'connect' }, (c) => connect(s, c, choose))
      .with({ op: 'accept' }, (c) => accept(s, c))
      .with({ op: 'close' }, (c) => close(s, c))
      .exhaustive(),
};

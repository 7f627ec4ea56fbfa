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
//     or left past the end (so it points at the newcomer). The model allows both.
//  6. Removal compacts every table and keeps order; a cursor keeps pointing at the same next listener.
//  7. A deregistered listener's queued connections are re-steered in queue order as new arrivals on
//     their CPU with their hash (migrated or reset); its accepted ones stay open and count nowhere.
//  8. Connection ids are unique while open; a closed or reset id may be used again.
// Where the spec leaves a choice (several applicable errors; no hash given) the model allows each.
import { match } from 'ts-pattern';
import { z } from 'zod';
import { oneOf, type Choose, type Model } from '../core/relation.ts';
import { acceptFrom, closeConnection } from './shared/queues.ts';
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
}

export interface Connection {
  /** null once its listener has deregistered after accepting it: open, but counted nowhere. */
  listener: number | null;
  cpu: number;
  hash?: number;
  accepted: boolean;
}

export interface State {
  config: Config;
  group: { mode: 'reuserps' | 'plain'; owner: number } | null;
  /** Group order: registration order, except that plain removal swaps the last member in. */
  members: Listener[];
  /** Per CPU, listener ids in table order. */
  tables: number[][];
  /**
   * Per CPU, the table position just past the listener round-robin chose last (rule 5); it may equal
   * the table's length ("past the end") until the next choice or removal. Lookups start at cursor % length.
   */
  cursors: number[];
  /**
   * Per CPU, true when the last choice took the table's last listener and the cursor is not back at 0:
   * a reading that wrapped the cursor to 0 at once then differs from one that left it past the end.
   */
  cursorsAtEnd: boolean[];
  /** Open connections by id. */
  connections: Record<number, Connection>;
}

// ---- helpers ----

const memberOf = (s: State, listener: number) => s.members.find((m) => m.id === listener);

/** True iff the listener can take one more connection (rule 4). */
export function isBelowLimit(s: State, listener: number): boolean {
  const { limit } = memberOf(s, listener)!;
  return limit === 0 || loadOf(s, listener) < limit;
}

export function loadOf(s: State, listener: number): number {
  return Object.values(s.connections).filter((c) => c.listener === listener).length;
}


/** floor(hash * n / 2^32) when the hash is known; any candidate when it is not. */
function byHash(candidates: number[], hash: number | undefined, pick: (candidates: number[]) => number): number {
  return hash === undefined ? pick(candidates) : candidates[Math.floor((hash * candidates.length) / 2 ** 32)];
}

/** The listener an arrival on `cpu` goes to (rules 3 and 5), or null when it is refused. Moves cursors. */
function steer(s: State, cpu: number, hash: number | undefined, pick: (candidates: number[]) => number) {
  if (s.group === null) return null;
  if (s.group.mode === 'plain') return { listener: byHash(s.members.map((m) => m.id), hash, pick), local: false };

  const table = s.tables[cpu];
  const eligible = (listener: number) => isBelowLimit(s, listener);
  if (table.some(eligible)) {
    if (s.config.policy === 'top-down') return { listener: table.find(eligible)!, local: true };
    const firstEligibleFrom = (start: number) => {
      for (let k = 0; ; k++) if (eligible(table[(start + k) % table.length])) return (start + k) % table.length;
    };
    // The cursor as stored, and (if it was left past the end) the reading that wrapped it to 0 at once.
    const readings = [firstEligibleFrom(s.cursors[cpu] % table.length)];
    if (s.cursorsAtEnd[cpu]) readings.push(firstEligibleFrom(0));
    const at = table.indexOf(pick([...new Set(readings.map((i) => table[i]))]));
    s.cursors[cpu] = at + 1;
    s.cursorsAtEnd[cpu] = at + 1 === table.length;
    return { listener: table[at], local: true };
  }
  if (s.config.fallback === 'refuse') return null;
  const candidates = s.members.map((m) => m.id).filter(eligible);
  return candidates.length === 0 ? null : { listener: byHash(candidates, hash, pick), local: false };
}

/** Takes a listener out of one CPU table, keeping order and the cursor on the same next listener (rule 6). */
function removeFromTable(s: State, cpu: number, listener: number) {
  const table = s.tables[cpu];
  const at = table.indexOf(listener);
  table.splice(at, 1);
  if (at < s.cursors[cpu]) s.cursors[cpu]--;
  if (s.cursors[cpu] >= table.length) s.cursors[cpu] = 0;
  if (s.cursors[cpu] === 0) s.cursorsAtEnd[cpu] = false;
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
  s.members.push({ id: c.listener, uid: c.uid, cpus: mask, limit: c.limit, queue: [] });
  for (const cpu of mask) s.tables[cpu].push(c.listener);
  return { ok: true };
}

function deregister(s: State, c: Extract<Command, { op: 'deregister' }>, choose: Choose<Outcome>): Outcome {
  const at = s.members.findIndex((m) => m.id === c.listener);
  if (at < 0) return { ok: false, error: 'unknown-listener' };
  const leaving = s.members[at];
  if (s.group!.mode === 'plain') {
    s.members[at] = s.members[s.members.length - 1];
    s.members.pop();
  } else {
    s.members.splice(at, 1);
    for (const cpu of leaving.cpus) removeFromTable(s, cpu, leaving.id);
  }
  if (s.members.length === 0) s.group = null;

  for (const conn of Object.values(s.connections)) {
    if (conn.listener === leaving.id && conn.accepted) conn.listener = null;
  }
  const migrated: [number, number][] = [];
  const reset: number[] = [];
  for (const connId of leaving.queue) {
    const conn = s.connections[connId];
    const target = steer(s, conn.cpu, conn.hash, (candidates) =>
      choose(`new listener of connection ${connId}`, candidates, (o) =>
        'migrated' in o ? o.migrated.find(([moved]) => moved === connId)?.[1] : undefined,
      ),
    );
    if (target === null) {
      delete s.connections[connId];
      reset.push(connId);
    } else {
      conn.listener = target.listener;
      memberOf(s, target.listener)!.queue.push(connId);
      migrated.push([connId, target.listener]);
    }
  }
  return { ok: true, migrated, reset };
}

function connect(s: State, c: Extract<Command, { op: 'connect' }>, choose: Choose<Outcome>): Outcome {
  const errors: ErrorOf<'connect'>[] = [];
  if (s.connections[c.conn] !== undefined) errors.push('duplicate-conn');
  if (c.cpu >= s.config.cpus) errors.push('bad-cpu');
  // When nothing could take the connection anyway, "refused" is just as true as the input error.
  const nowhere = () => s.group === null || (c.cpu < s.config.cpus && steer(structuredClone(s), c.cpu, c.hash, (candidates) => candidates[0]) === null);
  if (errors.length > 0 && nowhere()) errors.push('refused');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  const target = steer(s, c.cpu, c.hash, (candidates) =>
    choose('listener', candidates, (o) => ('listener' in o ? o.listener : undefined)),
  );
  if (target === null) return { ok: false, error: 'refused' };
  s.connections[c.conn] = { listener: target.listener, cpu: c.cpu, accepted: false, ...(c.hash === undefined ? {} : { hash: c.hash }) };
  memberOf(s, target.listener)!.queue.push(c.conn);
  return { ok: true, ...target };
}

export const model: Model<Config, State, Command, Outcome> = {
  init: (config) => ({
    config,
    group: null,
    members: [],
    tables: Array.from({ length: config.cpus }, () => []),
    cursors: Array.from({ length: config.cpus }, () => 0),
    cursorsAtEnd: Array.from({ length: config.cpus }, () => false),
    connections: {},
  }),
  step: (s, cmd, choose) =>
    match(cmd)
      .with({ op: 'register' }, (c) => register(s, c, choose))
      .with({ op: 'deregister' }, (c) => deregister(s, c, choose))
      .with({ op: 'connect' }, (c) => connect(s, c, choose))
      .with({ op: 'accept' }, (c) => acceptFrom(s, c.listener))
      .with({ op: 'close' }, (c) => closeConnection(s, c.conn))
      .exhaustive(),
};

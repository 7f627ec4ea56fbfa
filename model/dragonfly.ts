// DragonFly SO_REUSEPORT with CPU localization — the specification (seed 003). Plain data, plain
// loops; read it beside the seed and the DragonFly notes of reference/kernel-steering.md
// (sys/netinet/in_pcb.c: `inp_lgrpindex`, `idx = pkt_hash % il_inpcnt`, `soinherit`).
//
// Rules (numbers as in the README's table):
//  1. One group per port. Every member has the uid of the group's first member (uid-mismatch); the
//     rule resets when the group is empty. A group holds at most `groupMax` members (group-full:
//     DragonFly silently leaves the socket out of the group, our spec makes it an error).
//  2. A registrant takes the lowest slot number no member holds (`inp_lgrpindex`) and keeps it while it
//     lives; the group is kept sorted by slot. The listener's CPU is `slot % cpus`.
//  3. A packet with hash h is processed on CPU `h % cpus`; it goes to the member at index `h % count` of
//     the slot-sorted group (modulo, never `&`: count need not be a power of two). `local` is true iff
//     the listener's CPU is the packet's CPU. With no member: refused. With no hash: every outcome some
//     32-bit hash would give (any member; `local` as the CPUs of the hashes choosing that member allow).
//  4. Deregister: the last member of the group that remains (the leaving one's last sibling, or the
//     second-to-last when the leaving one is last) inherits the whole queue, appended in order behind
//     its own (`soinherit`); each moved connection is listed in `migrated`. With no member left, the
//     queue is reset and listed in `reset`. The leaving listener's accepted connections stay open (its
//     process holds them); an accepted connection belongs to no listener from its accept on, so a
//     deregister never has to look for them. The slot becomes free.
//  5. A connection waits in its listener's FIFO queue until `accept`; ids are unique while open
//     (duplicate-conn); a closed or reset id may be used again. `accept`/`close` as in SO_REUSERPS.
// Where the spec leaves a choice the model allows each. Both are freedoms (they may differ at every
// step): which of several applicable errors, and what a connect without a hash gets (its listener and
// `local` depend on the unknown hash of that one packet). Nothing here is a reading: `init` reads none.
import { match } from 'ts-pattern';
import { z } from 'zod';
import { oneOf, type Choose, type Model } from '../core/relation.ts';
import { acceptFrom, closeConnection } from './shared/queues.ts';
import { failure, hash32, id, okOnly, uid } from '../core/vocabulary.ts';

// ---- vocabulary ----

export const configSchema = z.strictObject({
  /** Network CPUs (DragonFly's netisr CPUs): a power of two. */
  cpus: z
    .number()
    .int()
    .min(1)
    .max(128)
    .refine((n) => (n & (n - 1)) === 0, 'must be a power of two (1, 2, 4, ..., 128)')
    .default(128),
  groupMax: z.number().int().min(1).max(256).default(256),
});
export type Config = z.infer<typeof configSchema>;

export const commandSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('register'), listener: id, uid }),
  z.strictObject({ op: z.literal('deregister'), listener: id }),
  z.strictObject({ op: z.literal('connect'), conn: id, hash: hash32.optional() }),
  z.strictObject({ op: z.literal('accept'), listener: id }),
  z.strictObject({ op: z.literal('close'), conn: id }),
]);
export type Command = z.infer<typeof commandSchema>;

export const outcomeSchemas = {
  register: z.union([
    z.strictObject({ ok: z.literal(true), slot: z.number().int().nonnegative() }),
    failure(['duplicate-listener', 'uid-mismatch', 'group-full']),
  ]),
  deregister: z.union([
    z.strictObject({ ok: z.literal(true), migrated: z.array(z.tuple([id, id])), reset: z.array(id) }),
    failure(['unknown-listener']),
  ]),
  connect: z.union([
    z.strictObject({ ok: z.literal(true), listener: id, local: z.boolean() }),
    failure(['refused', 'duplicate-conn']),
  ]),
  accept: z.union([z.strictObject({ ok: z.literal(true), conn: id.nullable() }), failure(['unknown-listener'])]),
  close: z.union([okOnly, failure(['unknown-conn'])]),
} satisfies Record<Command['op'], z.ZodType>;
export type OutcomeOf<Op extends Command['op']> = z.infer<(typeof outcomeSchemas)[Op]>;
export type Outcome = OutcomeOf<Command['op']>;
type ErrorOf<Op extends Command['op']> = Extract<OutcomeOf<Op>, { ok: false }>['error'];

// ---- state ----

export interface Member {
  id: number;
  uid: number;
  /** Persistent slot number (`inp_lgrpindex`); its CPU is slot % cpus. */
  slot: number;
  /** Connection ids waiting for accept, oldest first. */
  queue: number[];
}

export interface Connection {
  /** The listener whose queue holds it; null once accepted (open, held by the process, in no queue). */
  listener: number | null;
  accepted: boolean;
}

export interface State {
  config: Config;
  /** The group, sorted by slot (rule 2). The owner's uid is the members' uid (rule 1). */
  members: Member[];
  /** Open connections by id. */
  connections: Record<number, Connection>;
}

// ---- helpers ----

const memberOf = (s: State, listener: number) => s.members.find((m) => m.id === listener);

/** The index of the first member whose slot is `slot` or above: where a member in `slot` belongs. */
const indexOfSlot = (members: Member[], slot: number) => {
  let at = 0;
  while (at < members.length && members[at].slot < slot) at++;
  return at;
};

/** The CPU a listener in `slot` runs on (rule 2). */
export const cpuOfSlot = (config: Config, slot: number) => slot % config.cpus;

/** The CPU a packet with hash `hash` is processed on (rule 3). */
export const cpuOfHash = (config: Config, hash: number) => hash % config.cpus;

/** The lowest slot number no member holds (rule 2): in the slot-sorted group, the first gap. */
export function lowestFreeSlot(members: Member[]): number {
  let slot = 0;
  while (slot < members.length && members[slot].slot === slot) slot++;
  return slot;
}

/** The CPUs that packets choosing member index `index` can arrive on: those of hashes index, index+count, ... (rule 3). */
export function cpusReaching(config: Config, count: number, index: number): number[] {
  const cpus = new Set<number>();
  // Their residues mod cpus repeat with a period dividing cpus; every hash tried is below 128 * 256 = 2^15.
  for (let k = 0; k < config.cpus; k++) cpus.add(cpuOfHash(config, index + k * count));
  return [...cpus];
}


// ---- actions ----

function register(s: State, c: Extract<Command, { op: 'register' }>, choose: Choose<Outcome>): Outcome {
  const errors: ErrorOf<'register'>[] = [];
  if (memberOf(s, c.listener)) errors.push('duplicate-listener');
  if (s.members.length > 0 && s.members[0].uid !== c.uid) errors.push('uid-mismatch');
  if (s.members.length >= s.config.groupMax) errors.push('group-full');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  const slot = lowestFreeSlot(s.members);
  s.members.splice(indexOfSlot(s.members, slot), 0, { id: c.listener, uid: c.uid, slot, queue: [] });
  return { ok: true, slot };
}

function deregister(s: State, c: Extract<Command, { op: 'deregister' }>): Outcome {
  const at = s.members.findIndex((m) => m.id === c.listener);
  if (at < 0) return { ok: false, error: 'unknown-listener' };
  const [leaving] = s.members.splice(at, 1);
  // Its accepted connections already belong to no listener (see `accept`): only the queue moves.
  const migrated: [number, number][] = [];
  const reset: number[] = [];
  const heir = s.members[s.members.length - 1]; // soinherit: the last member of what remains
  for (const connId of leaving.queue) {
    if (heir === undefined) {
      delete s.connections[connId];
      reset.push(connId);
    } else {
      s.connections[connId].listener = heir.id;
      heir.queue.push(connId);
      migrated.push([connId, heir.id]);
    }
  }
  return { ok: true, migrated, reset };
}

function connect(s: State, c: Extract<Command, { op: 'connect' }>, choose: Choose<Outcome>): Outcome {
  const errors: ErrorOf<'connect'>[] = [];
  if (s.connections[c.conn] !== undefined) errors.push('duplicate-conn');
  if (s.members.length === 0) errors.push('refused');
  const rejected = oneOf(errors, choose);
  if (rejected) return rejected;

  const count = s.members.length;
  let target: Member;
  let local: boolean;
  if (c.hash !== undefined) {
    // in_pcb.c: idx = pkt_hash % il_inpcnt, over the array kept sorted by inp_lgrpindex (rule 3).
    target = s.members[c.hash % count];
    local = cpuOfSlot(s.config, target.slot) === cpuOfHash(s.config, c.hash);
  } else {
    // No hash: whatever some hash would give (rule 3) — any member, then `local` as its hashes' CPUs allow.
    const chosen = choose('listener of a connect without hash', s.members.map((m) => m.id), (o) => ('listener' in o ? o.listener : undefined));
    const index = s.members.findIndex((m) => m.id === chosen);
    target = s.members[index];
    const locals = new Set(cpusReaching(s.config, count, index).map((cpu) => cpu === cpuOfSlot(s.config, target.slot)));
    local = choose('local of a connect without hash', [...locals], (o) => ('local' in o ? o.local : undefined));
  }
  s.connections[c.conn] = { listener: target.id, accepted: false };
  target.queue.push(c.conn);
  return { ok: true, listener: target.id, local };
}

/** `accept` as in SO_REUSERPS; the accepted connection then belongs to no listener (rule 4). */
function accept(s: State, c: Extract<Command, { op: 'accept' }>): Outcome {
  const outcome = acceptFrom(s, c.listener);
  if (outcome.ok && outcome.conn !== null) s.connections[outcome.conn].listener = null;
  return outcome;
}

export const model: Model<Config, State, Command, Outcome> = {
  init: (config) => ({ config, members: [], connections: {} }),
  step: (s, cmd, choose) =>
    match(cmd)
      .with({ op: 'register' }, (c) => register(s, c, choose))
      .with({ op: 'deregister' }, (c) => deregister(s, c))
      .with({ op: 'connect' }, (c) => connect(s, c, choose))
      .with({ op: 'accept' }, (c) => accept(s, c))
      .with({ op: 'close' }, (c) => closeConnection(s, c.conn))
      .exhaustive(),
};

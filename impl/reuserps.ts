// SO_REUSERPS — the optimized implementation. Listeners live in slots; per-CPU tables, cursors,
// loads and limits are typed arrays, so a round-robin connect without limits is O(1) and allocates
// nothing (`route`). `apply` wraps it in the JSON outcome the oracle compares; `snapshot` rebuilds
// the model's State so every internal detail can be checked against the spec.
import { match } from 'ts-pattern';
import type { Command, Config, Outcome, State } from '../model/reuserps.ts';
import { Connections } from './support/connections.ts';

const NONE = -1;
/** `route` results below zero. */
export const REFUSED = -1;

export class ReuserpsImpl {
  protected readonly cpus: number;
  protected readonly slotsPerCpu: number;
  protected readonly topDown: boolean;
  protected readonly hashFallback: boolean;

  // Group: mode is decided by the first registrant (rule 1).
  protected groupMode: 'reuserps' | 'plain' | null = null;
  protected owner = 0;

  // Listener slots (reused after deregister).
  protected listenerSlot = new Map<number, number>();
  protected listenerId = new Int32Array(16);
  protected uid = new Float64Array(16);
  protected limit = new Float64Array(16);
  protected load = new Int32Array(16);
  // Stryker disable next-line ArrayDeclaration: equivalent: `takeListenerSlot` writes a slot's mask before anything reads it
  protected mask: number[][] = [];
  protected freeSlots: number[] = [];
  protected slotCount = 0;

  /** Group order (listener slots). */
  protected members = new Int32Array(16);
  protected memberCount = 0;

  /** tables[cpu * slotsPerCpu + i] = listener slot; tableLength[cpu]. */
  protected tables: Int32Array;
  protected tableLength: Int32Array;
  /**
   * cursor[cpu]: just past the last round-robin choice (the model's `cursors`). This implementation
   * takes the reading of "just past the last listener" that wraps to 0 at once (`cursorPastEnd: 'wrap'`).
   */
  protected cursor: Int32Array;

  protected conns = new Connections();
  /** Whether the last `route` went to the CPU's own table. */
  // Stryker disable next-line BooleanLiteral: equivalent: `route` writes it before `connect` reads it (a refused route is not read)
  protected routedLocally = false;
  /** Scratch for the hash fallback's eligible members. */
  private scratch = new Int32Array(16);

  constructor(config: Config) {
    this.cpus = config.cpus;
    this.slotsPerCpu = config.slotsPerCpu;
    this.topDown = config.policy === 'top-down';
    this.hashFallback = config.fallback === 'hash';
    this.tables = new Int32Array(config.cpus * config.slotsPerCpu);
    this.tableLength = new Int32Array(config.cpus);
    this.cursor = new Int32Array(config.cpus);
  }

  apply(cmd: Command): Outcome {
    return match(cmd)
      .with({ op: 'register' }, (c) => this.register(c.listener, c.uid, c.reuserps, c.cpus, c.limit))
      .with({ op: 'deregister' }, (c) => this.deregister(c.listener))
      .with({ op: 'connect' }, (c) => this.connect(c.conn, c.cpu, c.hash))
      .with({ op: 'accept' }, (c) => this.accept(c.listener))
      .with({ op: 'close' }, (c) => this.close(c.conn))
      .exhaustive();
  }

  // ---- connect: the hot path ----

  connect(conn: number, cpu: number, hash: number | undefined): Outcome {
    if (this.conns.slotOf(conn) !== NONE) return { ok: false, error: 'duplicate-conn' };
    if (cpu >= this.cpus) return { ok: false, error: 'bad-cpu' };
    const slot = this.route(cpu, hash ?? 0);
    if (slot === REFUSED) return { ok: false, error: 'refused' };
    this.conns.open(conn, slot, cpu, hash ?? NONE);
    this.load[slot]++;
    return { ok: true, listener: this.listenerId[slot], local: this.routedLocally };
  }

  /** The listener slot for an arrival on `cpu` (rules 3 and 5), or REFUSED. Moves the cursor. */
  route(cpu: number, hash: number): number {
    if (this.memberCount === 0) return REFUSED;
    this.routedLocally = false;
    if (this.groupMode === 'plain') return this.members[scale(hash, this.memberCount)];
    const local = this.pickLocal(cpu);
    if (local !== NONE) {
      this.routedLocally = true;
      return local;
    }
    return this.hashFallback ? this.pickByHash(hash) : REFUSED;
  }

  /** Round-robin from the cursor, or top-down: the first eligible listener of `cpu`'s table. */
  protected pickLocal(cpu: number): number {
    const length = this.tableLength[cpu];
    const base = cpu * this.slotsPerCpu;
    if (this.topDown) {
      for (let i = 0; i < length; i++) if (this.isBelowLimit(this.tables[base + i])) return this.tables[base + i];
      return NONE;
    }
    let at = this.cursor[cpu];
    for (let k = 0; k < length; k++) {
      const slot = this.tables[base + at];
      if (this.isBelowLimit(slot)) {
        this.cursor[cpu] = at + 1 === length ? 0 : at + 1;
        return slot;
      }
      at = at + 1 === length ? 0 : at + 1;
    }
    return NONE;
  }

  /** Among all eligible members in registration order, index floor(hash * k / 2^32). */
  protected pickByHash(hash: number): number {
    // At most one entry per member: the scratch grows with the group.
    if (this.scratch.length < this.memberCount) this.scratch = new Int32Array(this.members.length);
    let k = 0;
    for (let i = 0; i < this.memberCount; i++) {
      const slot = this.members[i];
      if (this.isBelowLimit(slot)) this.scratch[k++] = slot;
    }
    return k === 0 ? REFUSED : this.scratch[scale(hash, k)];
  }

  protected isBelowLimit(slot: number): boolean {
    return this.limit[slot] === 0 || this.load[slot] < this.limit[slot];
  }

  // ---- registration ----

  register(listener: number, uid: number, reuserps: boolean, cpus: number[], limit: number): Outcome {
    if (this.listenerSlot.has(listener)) return { ok: false, error: 'duplicate-listener' };
    const mask = [...new Set(cpus)].sort((a, b) => a - b);
    if (mask.some((cpu) => cpu >= this.cpus)) return { ok: false, error: 'bad-cpu' };
    if (reuserps && mask.length === 0) return { ok: false, error: 'empty-mask' };
    if (!Number.isInteger(limit) || limit < 0) return { ok: false, error: 'bad-limit' };
    const mode = reuserps ? 'reuserps' : 'plain';
    if ((!reuserps && (mask.length > 0 || limit !== 0)) || (this.groupMode !== null && this.groupMode !== mode)) {
      return { ok: false, error: 'mode-mismatch' };
    }
    if (!this.uidAllowed(uid)) return { ok: false, error: 'uid-mismatch' };

    const slot = this.takeListenerSlot(listener, uid, mask, limit);
    if (reuserps && !this.placeInTables(slot, mask)) {
      this.releaseListenerSlot(slot);
      return { ok: false, error: 'table-full' };
    }
    if (this.groupMode === null) {
      this.groupMode = mode;
      this.owner = uid;
    }
    this.listenerSlot.set(listener, slot);
    if (this.memberCount === this.members.length) this.members = grow(this.members);
    this.members[this.memberCount++] = slot;
    return { ok: true };
  }

  protected uidAllowed(uid: number): boolean {
    return this.groupMode === null || uid === this.owner;
  }

  /** All or nothing (rule 2): appends to every table of the mask only if none is full. */
  protected placeInTables(slot: number, mask: number[]): boolean {
    if (mask.some((cpu) => this.tableLength[cpu] >= this.slotsPerCpu)) return false;
    for (const cpu of mask) this.tables[cpu * this.slotsPerCpu + this.tableLength[cpu]++] = slot;
    return true;
  }

  // ---- deregistration ----

  deregister(listener: number): Outcome {
    const slot = this.listenerSlot.get(listener);
    if (slot === undefined) return { ok: false, error: 'unknown-listener' };
    this.listenerSlot.delete(listener);
    this.leaveGroup(slot);
    for (const cpu of this.mask[slot]) this.removeFromTable(cpu, slot);
    this.resetGroupIfEmpty();

    // Accepted connections stay open with their process and count nowhere (rule 7).
    this.conns.forEachOpen((c) => {
      if (this.conns.owner[c] === slot && this.conns.isAccepted(c)) this.conns.owner[c] = NONE;
    });
    const outcome = this.resteer(this.conns.drain(slot));
    this.releaseListenerSlot(slot);
    return outcome;
  }

  /** Takes the slot out of the group order: swap-with-last in a plain group, order-preserving otherwise. */
  protected leaveGroup(slot: number): void {
    const at = this.members.subarray(0, this.memberCount).indexOf(slot);
    if (this.groupMode === 'plain') this.members[at] = this.members[this.memberCount - 1];
    else this.members.copyWithin(at, at + 1, this.memberCount);
    this.memberCount--;
  }

  /** Compacts one CPU's table, keeping order; the cursor keeps pointing at the same next listener (rule 6). */
  protected removeFromTable(cpu: number, slot: number): void {
    const base = cpu * this.slotsPerCpu;
    const length = this.tableLength[cpu];
    const at = this.tables.subarray(base, base + length).indexOf(slot);
    this.tables.copyWithin(base + at, base + at + 1, base + length);
    this.tableLength[cpu] = length - 1;
    if (at < this.cursor[cpu]) this.cursor[cpu]--;
    if (this.cursor[cpu] >= length - 1) this.cursor[cpu] = 0;
  }

  protected resetGroupIfEmpty(): void {
    if (this.memberCount === 0) this.groupMode = null;
  }

  /** Re-steers queued connections in queue order as new arrivals (rule 7). */
  protected resteer(queue: number[]): Outcome {
    const migrated: [number, number][] = [];
    const reset: number[] = [];
    for (const c of queue) {
      const target = this.route(this.conns.cpu[c], this.conns.hash[c]);
      if (target === REFUSED) {
        reset.push(this.conns.ids[c]);
        this.conns.owner[c] = NONE;
        this.conns.close(c);
      } else {
        this.conns.enqueue(c, target);
        this.load[target]++;
        migrated.push([this.conns.ids[c], this.listenerId[target]]);
      }
    }
    return { ok: true, migrated, reset };
  }

  // ---- accept and close ----

  accept(listener: number): Outcome {
    const slot = this.listenerSlot.get(listener);
    if (slot === undefined) return { ok: false, error: 'unknown-listener' };
    const c = this.conns.accept(slot);
    return { ok: true, conn: c === NONE ? null : this.conns.ids[c] };
  }

  close(conn: number): Outcome {
    const c = this.conns.slotOf(conn);
    if (c === NONE) return { ok: false, error: 'unknown-conn' };
    const owner = this.conns.owner[c];
    if (owner !== NONE) this.load[owner]--;
    this.conns.close(c);
    return { ok: true };
  }

  // ---- slots ----

  private takeListenerSlot(listener: number, uid: number, mask: number[], limit: number): number {
    const slot = this.freeSlots.pop() ?? this.slotCount++;
    if (slot >= this.listenerId.length) {
      this.listenerId = grow(this.listenerId);
      this.uid = grow(this.uid);
      this.limit = grow(this.limit);
      this.load = grow(this.load);
    }
    this.conns.ensureListeners(slot + 1);
    this.listenerId[slot] = listener;
    this.uid[slot] = uid;
    this.limit[slot] = limit;
    this.load[slot] = 0;
    this.mask[slot] = mask;
    return slot;
  }

  // Stryker disable next-line BlockStatement: equivalent: memory only: a slot never given back is never reused, and slot numbers reach no outcome or snapshot
  private releaseListenerSlot(slot: number): void {
    // Stryker disable next-line ArrayDeclaration: equivalent: a released slot's mask is read only after `takeListenerSlot` writes it again
    this.mask[slot] = [];
    this.freeSlots.push(slot);
  }

  // ---- the model's view ----

  snapshot(): State {
    // Plain loops: a snapshot is taken at every step of a check, and typed-array views, iterators and
    // callbacks cost several times the copying they do.
    const members: State['members'] = [];
    const position: State['position'] = {};
    const memberAt = new Map<number, number>();
    for (let i = 0; i < this.memberCount; i++) {
      const slot = this.members[i];
      const id = this.listenerId[slot];
      members.push({ id, uid: this.uid[slot], cpus: this.mask[slot].slice(), limit: this.limit[slot], queue: this.conns.queuedIds(slot), load: this.load[slot], accepted: {} });
      position[id] = i;
      memberAt.set(slot, i);
    }
    const connections: State['connections'] = {};
    this.conns.forEachOpen((c) => {
      const owner = this.conns.owner[c];
      const accepted = this.conns.isAccepted(c);
      const id = this.conns.ids[c];
      if (owner !== NONE && accepted) members[memberAt.get(owner)!].accepted[id] = true;
      const connection: State['connections'][number] = { listener: owner === NONE ? null : this.listenerId[owner], cpu: this.conns.cpu[c], accepted };
      if (this.conns.hasHash(c)) connection.hash = this.conns.hash[c];
      connections[id] = connection;
    });
    const tables: number[][] = [];
    const cursors: number[] = [];
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      const table: number[] = [];
      for (let i = cpu * this.slotsPerCpu, end = i + this.tableLength[cpu]; i < end; i++) table.push(this.listenerId[this.tables[i]]);
      tables.push(table);
      cursors.push(this.cursor[cpu]);
    }
    return {
      config: {
        cpus: this.cpus,
        slotsPerCpu: this.slotsPerCpu,
        policy: this.topDown ? 'top-down' : 'round-robin',
        fallback: this.hashFallback ? 'hash' : 'refuse',
      },
      cursorPastEnd: 'wrap',
      group: this.groupMode === null ? null : { mode: this.groupMode, owner: this.owner },
      members,
      position,
      tables,
      cursors,
      connections,
    };
  }
}

/** floor(hash * n / 2^32), Linux's reciprocal_scale. */
function scale(hash: number, n: number): number {
  return Math.floor((hash * n) / 4294967296);
}

function grow<T extends Int32Array | Float64Array>(array: T): T {
  const out = new (array.constructor as new (n: number) => T)(array.length * 2);
  out.set(array);
  return out;
}

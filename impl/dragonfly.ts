// DragonFly SO_REUSEPORT with CPU localization — the optimized implementation. The group is a
// slot-sorted Int32Array of slot numbers; per-slot listener ids, uids and FIFO queues live in typed
// arrays, so a connect is one modulo, one array read and one queue append: O(1), no allocation
// (`route`). `apply` wraps it in the JSON outcome the oracle compares; `snapshot` rebuilds the
// model's State so every internal detail can be checked against the spec.
import { match } from 'ts-pattern';
import type { Command, Config, Outcome, State } from '../model/dragonfly.ts';
import { Connections } from './support/connections.ts';
import { IntMap } from './support/int-map.ts';

const NONE = -1;

export class DragonflyImpl {
  protected readonly cpus: number;
  /** cpus - 1: cpus is a power of two, so `x % cpus` is `x & cpuMask` for the CPU of a slot or a hash. */
  protected readonly cpuMask: number;
  protected readonly groupMax: number;

  /** The group: occupied slot numbers in increasing order (rule 2), `count` of them. */
  protected sorted: Int32Array;
  protected count = 0;
  /** Per slot: its listener id and uid (meaningful while a member holds it). */
  protected listenerOfSlot: Int32Array;
  protected uidOfSlot: Uint32Array;
  /** Listener id → slot. */
  protected slotOfListener = new IntMap();

  /** Queues and connections; a connection's owner is its listener's slot, -1 once that listener left. */
  protected conns: Connections;
  /** Whether the last `route` found the listener on the packet's CPU. */
  protected routedLocally = false;

  constructor(config: Config) {
    this.cpus = config.cpus;
    this.cpuMask = config.cpus - 1;
    this.groupMax = config.groupMax;
    this.sorted = new Int32Array(config.groupMax);
    this.listenerOfSlot = new Int32Array(config.groupMax);
    this.uidOfSlot = new Uint32Array(config.groupMax);
    this.conns = new Connections(256, config.groupMax);
  }

  apply(cmd: Command): Outcome {
    return match(cmd)
      .with({ op: 'register' }, (c) => this.register(c.listener, c.uid))
      .with({ op: 'deregister' }, (c) => this.deregister(c.listener))
      .with({ op: 'connect' }, (c) => this.connect(c.conn, c.hash))
      .with({ op: 'accept' }, (c) => this.accept(c.listener))
      .with({ op: 'close' }, (c) => this.close(c.conn))
      .exhaustive();
  }

  // ---- connect: the hot path ----

  /** Without a hash the implementation takes hash 0 (one of the outcomes the model allows then). */
  connect(conn: number, hash: number | undefined): Outcome {
    if (this.conns.slotOf(conn) !== NONE) return { ok: false, error: 'duplicate-conn' };
    if (this.count === 0) return { ok: false, error: 'refused' };
    const slot = this.route(hash ?? 0);
    // Neither the CPU nor the hash of a DragonFly connection is read again (rule 3 uses the hash once; a
    // closing listener's queue goes to its heir whole), so neither is kept.
    this.conns.open(conn, slot, 0, NONE);
    return { ok: true, listener: this.listenerOfSlot[slot], local: this.routedLocally };
  }

  /** The slot a packet with `hash` goes to (rule 3); sets `routedLocally`. The group must not be empty. */
  route(hash: number): number {
    const index = this.indexFor(hash);
    const slot = this.sorted[index];
    this.routedLocally = this.isLocal(slot, index, hash);
    return slot;
  }

  /** `hash % count`: count need not be a power of two. */
  protected indexFor(hash: number): number {
    return hash % this.count;
  }

  /** The listener's CPU (slot % cpus) is the packet's CPU (hash % cpus). */
  protected isLocal(slot: number, _index: number, hash: number): boolean {
    return (slot & this.cpuMask) === (hash & this.cpuMask);
  }

  // ---- registration ----

  register(listener: number, uid: number): Outcome {
    if (this.slotOfListener.get(listener) !== NONE) return { ok: false, error: 'duplicate-listener' };
    if (!this.uidAllowed(uid)) return { ok: false, error: 'uid-mismatch' };
    if (this.isFull()) return { ok: false, error: 'group-full' };
    const slot = this.freeSlot();
    this.insertSorted(slot);
    this.listenerOfSlot[slot] = listener;
    this.uidOfSlot[slot] = uid;
    this.slotOfListener.set(listener, slot);
    return { ok: true, slot };
  }

  /** Every member shares the first member's uid; an empty group takes anyone (rule 1). */
  protected uidAllowed(uid: number): boolean {
    return this.count === 0 || this.uidOfSlot[this.sorted[0]] === uid;
  }

  protected isFull(): boolean {
    return this.count >= this.groupMax;
  }

  /** The lowest slot no member holds: the first position where the sorted slots skip a number. */
  protected freeSlot(): number {
    let i = 0;
    while (i < this.count && this.sorted[i] === i) i++;
    return i;
  }

  /** Inserts `slot` at its place in the sorted group. */
  protected insertSorted(slot: number): void {
    let at = this.count;
    while (at > 0 && this.sorted[at - 1] > slot) at--;
    this.sorted.copyWithin(at + 1, at, this.count);
    this.sorted[at] = slot;
    this.count++;
  }

  // ---- deregistration ----

  deregister(listener: number): Outcome {
    const slot = this.slotOfListener.get(listener);
    if (slot === NONE) return { ok: false, error: 'unknown-listener' };
    this.slotOfListener.delete(listener);
    this.removeSorted(slot);
    // Accepted connections stay open with their process and belong to no listener (rule 4): the
    // snapshot never names an accepted connection's owner, so they need no visit here.
    const queue = this.conns.drain(slot);
    return this.count === 0 ? this.resetAll(queue) : this.inherit(queue);
  }

  /** Takes `slot` out of the sorted group, keeping the order of the others. */
  protected removeSorted(slot: number): void {
    const at = this.sorted.subarray(0, this.count).indexOf(slot);
    this.sorted.copyWithin(at, at + 1, this.count);
    this.count--;
  }

  /** soinherit: the last member of what remains (rule 4). */
  protected heir(): number {
    return this.sorted[this.count - 1];
  }

  /** Moves the queue whole, in order, behind the heir's own queue. */
  protected inherit(queue: number[]): Outcome {
    const heir = this.heir();
    const migrated: [number, number][] = [];
    for (const c of queue) {
      this.conns.enqueue(c, heir);
      migrated.push([this.conns.ids[c], this.listenerOfSlot[heir]]);
    }
    return { ok: true, migrated, reset: [] };
  }

  /** No member left: every queued connection is reset and listed. */
  protected resetAll(queue: number[]): Outcome {
    const reset: number[] = [];
    for (const c of queue) {
      reset.push(this.conns.ids[c]);
      this.conns.owner[c] = NONE;
      this.conns.close(c);
    }
    return { ok: true, migrated: [], reset };
  }

  // ---- accept and close ----

  accept(listener: number): Outcome {
    const slot = this.slotOfListener.get(listener);
    if (slot === NONE) return { ok: false, error: 'unknown-listener' };
    const c = this.conns.accept(slot);
    return { ok: true, conn: c === NONE ? null : this.conns.ids[c] };
  }

  close(conn: number): Outcome {
    const c = this.conns.slotOf(conn);
    if (c === NONE) return { ok: false, error: 'unknown-conn' };
    this.conns.close(c);
    return { ok: true };
  }

  // ---- the model's view ----

  snapshot(): State {
    const members: State['members'] = [];
    for (let i = 0; i < this.count; i++) {
      const slot = this.sorted[i];
      members.push({ id: this.listenerOfSlot[slot], uid: this.uidOfSlot[slot], slot, queue: this.conns.queuedIds(slot) });
    }
    const connections: State['connections'] = {};
    this.conns.forEachOpen((c) => {
      const owner = this.conns.owner[c];
      connections[this.conns.ids[c]] = {
        listener: owner === NONE || this.conns.isAccepted(c) ? null : this.listenerOfSlot[owner],
        accepted: this.conns.isAccepted(c),
      };
    });
    return { config: { cpus: this.cpus, groupMax: this.groupMax }, members, connections };
  }
}

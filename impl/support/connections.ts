// Open connections in typed arrays, each queued in its listener's FIFO through intrusive links,
// so connect, accept and close are O(1) and allocate nothing until the pool grows.
import { IntMap } from './int-map.ts';

const NONE = -1;
const HAS_HASH = 1;
const ACCEPTED = 2;

export class Connections {
  /** Slot of each open connection id. */
  readonly slots = new IntMap();
  ids: Int32Array;
  /** Listener slot it is assigned to, or -1 once that listener left after accepting it. */
  owner: Int32Array;
  cpu: Int32Array;
  hash: Uint32Array;
  private flags: Uint8Array;
  private next: Int32Array;
  private prev: Int32Array;
  private freeHead = NONE;
  private used = 0;

  /** Per listener slot: the FIFO of queued connection slots. */
  head: Int32Array;
  tail: Int32Array;
  queued: Int32Array;

  constructor(capacity = 256, listenerSlots = 16) {
    this.ids = new Int32Array(capacity);
    this.owner = new Int32Array(capacity);
    this.cpu = new Int32Array(capacity);
    this.hash = new Uint32Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.next = new Int32Array(capacity);
    this.prev = new Int32Array(capacity);
    this.head = new Int32Array(listenerSlots).fill(NONE);
    this.tail = new Int32Array(listenerSlots).fill(NONE);
    this.queued = new Int32Array(listenerSlots);
  }

  /** Makes room for listener slots 0..count-1 (empty queues). */
  ensureListeners(count: number): void {
    if (count <= this.head.length) return;
    const size = Math.max(count, this.head.length * 2);
    this.head = grown(this.head, size, NONE);
    this.tail = grown(this.tail, size, NONE);
    this.queued = grown(this.queued, size, 0);
  }

  slotOf(id: number): number {
    return this.slots.get(id);
  }

  hasHash(slot: number): boolean {
    return (this.flags[slot] & HAS_HASH) !== 0;
  }

  isAccepted(slot: number): boolean {
    return (this.flags[slot] & ACCEPTED) !== 0;
  }

  /** Opens connection `id` and appends it to `listener`'s queue. `hash` < 0 means none was given. */
  open(id: number, listener: number, cpu: number, hash: number): number {
    const slot = this.takeSlot();
    this.slots.set(id, slot);
    this.ids[slot] = id;
    this.cpu[slot] = cpu;
    this.hash[slot] = hash < 0 ? 0 : hash;
    this.flags[slot] = hash < 0 ? 0 : HAS_HASH;
    this.enqueue(slot, listener);
    return slot;
  }

  /** Closes the connection in `slot`, taking it out of its queue if it was still waiting. */
  close(slot: number): void {
    if (!this.isAccepted(slot) && this.owner[slot] !== NONE) this.unlink(slot);
    this.slots.delete(this.ids[slot]);
    this.next[slot] = this.freeHead;
    this.freeHead = slot;
    this.used--;
  }

  enqueue(slot: number, listener: number): void {
    this.owner[slot] = listener;
    this.flags[slot] &= ~ACCEPTED;
    this.next[slot] = NONE;
    this.prev[slot] = this.tail[listener];
    if (this.tail[listener] === NONE) this.head[listener] = slot;
    else this.next[this.tail[listener]] = slot;
    this.tail[listener] = slot;
    this.queued[listener]++;
  }

  /** Takes the oldest queued connection of `listener` and marks it accepted; -1 when none waits. */
  accept(listener: number): number {
    const slot = this.head[listener];
    if (slot === NONE) return NONE;
    this.unlink(slot);
    this.flags[slot] |= ACCEPTED;
    return slot;
  }

  /** Empties `listener`'s queue, returning its connection slots oldest first. */
  drain(listener: number): number[] {
    const out: number[] = [];
    for (let slot = this.head[listener]; slot !== NONE; slot = this.next[slot]) out.push(slot);
    this.head[listener] = this.tail[listener] = NONE;
    this.queued[listener] = 0;
    return out;
  }

  /** The ids of the connections queued on `listener`, oldest first. */
  queuedIds(listener: number): number[] {
    const out: number[] = [];
    for (let slot = this.head[listener]; slot !== NONE; slot = this.next[slot]) out.push(this.ids[slot]);
    return out;
  }

  forEachOpen(visit: (slot: number) => void): void {
    this.slots.forEach((_id, slot) => visit(slot));
  }

  private unlink(slot: number): void {
    const listener = this.owner[slot];
    const before = this.prev[slot];
    const after = this.next[slot];
    if (before === NONE) this.head[listener] = after;
    else this.next[before] = after;
    if (after === NONE) this.tail[listener] = before;
    else this.prev[after] = before;
    this.queued[listener]--;
  }

  private takeSlot(): number {
    if (this.freeHead !== NONE) {
      const slot = this.freeHead;
      this.freeHead = this.next[slot];
      this.used++;
      return slot;
    }
    if (this.used === this.ids.length) this.grow();
    return this.used++;
  }

  private grow(): void {
    const size = this.ids.length * 2;
    this.ids = grown(this.ids, size, 0);
    this.owner = grown(this.owner, size, 0);
    this.cpu = grown(this.cpu, size, 0);
    this.hash = grown(this.hash, size, 0);
    this.flags = grown(this.flags, size, 0);
    this.next = grown(this.next, size, 0);
    this.prev = grown(this.prev, size, 0);
  }
}

function grown<T extends Int32Array | Uint32Array | Uint8Array>(array: T, size: number, fill: number): T {
  const out = new (array.constructor as new (n: number) => T)(size);
  out.fill(fill);
  out.set(array);
  return out;
}

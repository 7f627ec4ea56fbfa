// Fastsocket local listen tables — the optimized implementation. Listeners (global and local) live in
// slots; each CPU's local table is an intrusive doubly-linked list of local slots in spawn order, the
// global listeners an Int32Array in listen order, so a connect is O(1) and allocates nothing (`route`).
// Worker affinities are 128-bit masks in a Uint32Array. `apply` wraps the operations in the JSON outcome
// the oracle compares; `snapshot` rebuilds the model's State so every internal detail is checked.
//
// Readings this implementation follows (the model's readings; `snapshot` reports them):
//  - mode 2 picks the lowest CPU that never had a local listener (Fastsocket's spawn cursor, which only
//    moves forward), so a CPU whose local listeners closed is not handed out again;
//  - an unbound worker on a one-CPU machine counts as not bound (no-affinity in mode 1);
//  - `bind` with a CPU that does not exist is bad-cpu.
// Choices it makes where the model leaves a freedom:
//  - several local listeners on one CPU: the connect goes to the oldest (the head of the CPU's table);
//  - without a hash, the global pick uses hash 0;
//  - accept on a local listener keeps a per-listener counter, bumped by every accept that finds its
//    global listener's queue non-empty; odd: global queue first, even: local queue first, each falling
//    back to the other (Fastsocket's per-CPU `global_spawn_accept` parity, kept per local listener so
//    two local listeners on one CPU cannot disturb each other's alternation).
import { match } from 'ts-pattern';
import type { Command, Config, Outcome, State } from '../model/fastsocket.ts';
import { Connections } from './support/connections.ts';
import { IntMap } from './support/int-map.ts';

const NONE = -1;
/** `route` results below zero. */
export const REFUSED = -1;
const MASK_WORDS = 4; // 128 CPUs

export class FastsocketImpl {
  protected readonly cpus: number;
  protected readonly mode: 0 | 1 | 2;

  // Listener slots (global and local, reused after close).
  protected listenerSlot = new IntMap();
  protected listenerId = new Int32Array(16);
  protected uid = new Float64Array(16);
  /** 1 for a local listener, 0 for a global one. */
  protected isLocal = new Uint8Array(16);
  /** Local listener: its CPU, its global listener's slot (NONE once closed), spawn order, accept counter. */
  protected localCpu = new Int32Array(16);
  protected parent = new Int32Array(16);
  protected spawnSeq = new Float64Array(16);
  protected acceptTurn = new Uint32Array(16);
  /** Per CPU: the local table as a doubly-linked list of local slots. */
  protected tableHead: Int32Array;
  protected tableTail: Int32Array;
  protected tableNext = new Int32Array(16);
  protected tablePrev = new Int32Array(16);
  protected freeSlots: number[] = [];
  protected slotCount = 0;
  protected spawnCount = 0;

  /** Global listener slots in listen order. */
  protected globals = new Int32Array(16);
  protected globalCount = 0;

  /** Worker affinities: worker id → worker slot; 4 words of CPU bits per slot; its one CPU or NONE. */
  protected workerSlot = new IntMap();
  protected workerIds = new Int32Array(16);
  protected workerMask = new Uint32Array(16 * MASK_WORDS);
  protected workerSingle = new Int32Array(16);
  protected workerCount = 0;

  /** Per CPU: 1 once a local listener was spawned there; `nextUnused` is the lowest CPU still 0. */
  protected spawnedOn: Uint8Array;
  protected nextUnused = 0;

  protected conns = new Connections();
  /** Whether the last `route` went to the CPU's local table. */
  // Stryker disable next-line BooleanLiteral: equivalent: `route` writes it before `connect` reads it
  protected routedLocally = false;

  constructor(config: Config) {
    this.cpus = config.cpus;
    this.mode = config.listenSpawn;
    this.tableHead = new Int32Array(config.cpus).fill(NONE);
    this.tableTail = new Int32Array(config.cpus).fill(NONE);
    this.spawnedOn = new Uint8Array(config.cpus);
  }

  apply(cmd: Command): Outcome {
    return match(cmd)
      .with({ op: 'listen' }, (c) => this.listen(c.listener, c.uid))
      .with({ op: 'spawn' }, (c) => this.spawn(c.listener, c.local, c.worker, c.cpu))
      .with({ op: 'bind' }, (c) => this.bind(c.worker, c.cpus))
      .with({ op: 'close' }, (c) => this.close(c.listener))
      .with({ op: 'connect' }, (c) => this.connect(c.conn, c.cpu, c.hash))
      .with({ op: 'accept' }, (c) => this.accept(c.listener))
      .with({ op: 'closeConn' }, (c) => this.closeConn(c.conn))
      .exhaustive();
  }

  // ---- connect: the hot path ----

  connect(conn: number, cpu: number, hash: number | undefined): Outcome {
    if (this.conns.slotOf(conn) !== NONE) return { ok: false, error: 'duplicate-conn' };
    if (cpu >= this.cpus) return { ok: false, error: 'bad-cpu' };
    const slot = this.route(cpu, hash ?? 0);
    if (slot === REFUSED) return { ok: false, error: 'refused' };
    // Stryker disable next-line LogicalOperator: equivalent: no outcome or snapshot reads a connection's hash (fastsocket never migrates), memory only
    this.conns.open(conn, slot, cpu, hash ?? NONE);
    return { ok: true, listener: this.listenerId[slot], table: this.routedLocally ? 'local' : 'global' };
  }

  /** The listener slot for a SYN on `cpu` (rule 5): the CPU's local table first, then the global one. */
  route(cpu: number, hash: number): number {
    const local = this.pickLocal(cpu);
    this.routedLocally = local !== NONE;
    return local !== NONE ? local : this.pickGlobal(hash);
  }

  /** The oldest local listener of `cpu`, or NONE. */
  protected pickLocal(cpu: number): number {
    return this.tableHead[cpu];
  }

  /** floor(hash * n / 2^32) in listen order, or REFUSED with no global listener. */
  protected pickGlobal(hash: number): number {
    return this.globalCount === 0 ? REFUSED : this.globals[scale(hash, this.globalCount)];
  }

  // ---- listeners ----

  listen(listener: number, uid: number): Outcome {
    if (this.listenerSlot.get(listener) !== NONE) return { ok: false, error: 'duplicate-listener' };
    const slot = this.takeListenerSlot(listener);
    this.uid[slot] = uid;
    this.isLocal[slot] = 0;
    if (this.globalCount === this.globals.length) this.globals = grow(this.globals);
    this.globals[this.globalCount++] = slot;
    return { ok: true };
  }

  spawn(listener: number, local: number, worker: number, cpu: number | null): Outcome {
    if (this.mode === 0) return { ok: false, error: 'spawn-disabled' };
    const global = this.listenerSlot.get(listener);
    if (global === NONE || this.isLocal[global]) return { ok: false, error: 'unknown-listener' };
    if (this.listenerSlot.get(local) !== NONE) return { ok: false, error: 'duplicate-listener' };
    if (cpu !== null && cpu >= this.cpus) return { ok: false, error: 'bad-cpu' };
    const target = cpu ?? this.spawnCpu(worker);
    if (target < 0) return { ok: false, error: this.mode === 1 ? 'no-affinity' : 'no-free-cpu' };

    const slot = this.takeListenerSlot(local);
    this.isLocal[slot] = 1;
    this.localCpu[slot] = target;
    this.parent[slot] = global;
    this.spawnSeq[slot] = this.spawnCount++;
    this.acceptTurn[slot] = 0;
    this.appendToTable(target, slot);
    this.markSpawned(target);
    this.pinWorker(worker, target);
    return { ok: true, cpu: target };
  }

  /** fsocket_process_affinity_check without a requested CPU: the one bound CPU, else (mode 2) the next unused. */
  protected spawnCpu(worker: number): number {
    const single = this.singleCpuOf(worker);
    if (single !== NONE) return single;
    if (this.mode !== 2) return NONE;
    return this.nextUnused < this.cpus ? this.nextUnused : NONE;
  }

  protected markSpawned(cpu: number): void {
    this.spawnedOn[cpu] = 1;
    while (this.nextUnused < this.cpus && this.spawnedOn[this.nextUnused]) this.nextUnused++;
  }

  protected appendToTable(cpu: number, slot: number): void {
    this.tableNext[slot] = NONE;
    this.tablePrev[slot] = this.tableTail[cpu];
    if (this.tableTail[cpu] === NONE) this.tableHead[cpu] = slot;
    else this.tableNext[this.tableTail[cpu]] = slot;
    this.tableTail[cpu] = slot;
  }

  protected removeFromTable(slot: number): void {
    const cpu = this.localCpu[slot];
    const before = this.tablePrev[slot];
    const after = this.tableNext[slot];
    if (before === NONE) this.tableHead[cpu] = after;
    else this.tableNext[before] = after;
    if (after === NONE) this.tableTail[cpu] = before;
    else this.tablePrev[after] = before;
  }

  close(listener: number): Outcome {
    const slot = this.listenerSlot.get(listener);
    if (slot === NONE) return { ok: false, error: 'unknown-listener' };
    this.listenerSlot.delete(listener);
    if (this.isLocal[slot]) this.closeLocal(slot);
    else this.closeGlobal(slot);
    const reset = this.resetQueue(slot);
    this.freeSlots.push(slot);
    return { ok: true, reset };
  }

  /** Out of its CPU's table: later SYNs there fall through to the global table (rule 7). */
  protected closeLocal(slot: number): void {
    this.removeFromTable(slot);
  }

  /** Out of the listen order; its local copies stay open, without a global queue from now on (rule 7). */
  protected closeGlobal(slot: number): void {
    const at = this.globals.subarray(0, this.globalCount).indexOf(slot);
    this.globals.copyWithin(at, at + 1, this.globalCount);
    this.globalCount--;
    for (let s = 0; s < this.slotCount; s++) if (this.isLocal[s] && this.parent[s] === slot) this.parent[s] = NONE;
  }

  /** Resets every queued connection of a closing listener (not migrated) and lists them. */
  protected resetQueue(slot: number): number[] {
    const reset: number[] = [];
    for (const c of this.conns.drain(slot)) {
      reset.push(this.conns.ids[c]);
      this.conns.owner[c] = NONE;
      this.conns.close(c);
    }
    return reset;
  }

  // ---- workers ----

  bind(worker: number, cpus: number[]): Outcome {
    if (cpus.length === 0) return { ok: false, error: 'empty-mask' };
    for (const cpu of cpus) if (cpu >= this.cpus) return { ok: false, error: 'bad-cpu' };
    const w = this.takeWorkerSlot(worker);
    this.workerMask.fill(0, w * MASK_WORDS, (w + 1) * MASK_WORDS);
    for (const cpu of cpus) this.workerMask[w * MASK_WORDS + (cpu >>> 5)] |= 1 << (cpu & 31);
    let count = 0;
    for (let k = 0; k < MASK_WORDS; k++) count += popcount(this.workerMask[w * MASK_WORDS + k]);
    this.workerSingle[w] = count === 1 ? cpus[0] : NONE;
    return { ok: true };
  }

  /** Binds the worker to exactly `cpu` (fsocket_process_affinity_set). */
  protected pinWorker(worker: number, cpu: number): void {
    const w = this.takeWorkerSlot(worker);
    this.workerMask.fill(0, w * MASK_WORDS, (w + 1) * MASK_WORDS);
    this.workerMask[w * MASK_WORDS + (cpu >>> 5)] = 1 << (cpu & 31);
    this.workerSingle[w] = cpu;
  }

  protected singleCpuOf(worker: number): number {
    const w = this.workerSlot.get(worker);
    return w === NONE ? NONE : this.workerSingle[w];
  }

  // ---- accept and closeConn ----

  accept(listener: number): Outcome {
    const slot = this.listenerSlot.get(listener);
    if (slot === NONE) return { ok: false, error: 'unknown-listener' };
    const c = this.isLocal[slot] ? this.acceptLocal(slot) : this.conns.accept(slot);
    return { ok: true, conn: c === NONE ? null : this.conns.ids[c] };
  }

  /** fsocket_accept: while the global queue is non-empty, odd turns try it first, even turns the local queue. */
  protected acceptLocal(slot: number): number {
    const global = this.parent[slot];
    if (global === NONE || this.conns.queued[global] === 0) return this.conns.accept(slot);
    // Stryker disable next-line UpdateOperator: equivalent: only the parity is read; -- from 0 gives -1, then 2^32 - 2, 2^32 - 3 (a Uint32Array): odd, even, odd as ++ gives
    const turn = ++this.acceptTurn[slot];
    const [first, second] = turn & 1 ? [global, slot] : [slot, global];
    const c = this.conns.accept(first);
    return c !== NONE ? c : this.conns.accept(second);
  }

  closeConn(conn: number): Outcome {
    const c = this.conns.slotOf(conn);
    if (c === NONE) return { ok: false, error: 'unknown-conn' };
    this.conns.close(c);
    return { ok: true };
  }

  // ---- slots ----

  private takeListenerSlot(listener: number): number {
    const slot = this.freeSlots.pop() ?? this.slotCount++;
    if (slot >= this.listenerId.length) {
      this.listenerId = grow(this.listenerId);
      this.uid = grow(this.uid);
      this.isLocal = grow(this.isLocal);
      this.localCpu = grow(this.localCpu);
      this.parent = grow(this.parent);
      this.spawnSeq = grow(this.spawnSeq);
      this.acceptTurn = grow(this.acceptTurn);
      this.tableNext = grow(this.tableNext);
      this.tablePrev = grow(this.tablePrev);
    }
    this.conns.ensureListeners(slot + 1);
    this.listenerSlot.set(listener, slot);
    this.listenerId[slot] = listener;
    this.parent[slot] = NONE;
    return slot;
  }

  private takeWorkerSlot(worker: number): number {
    const known = this.workerSlot.get(worker);
    if (known !== NONE) return known;
    const w = this.workerCount++;
    if (w >= this.workerIds.length) {
      this.workerIds = grow(this.workerIds);
      this.workerSingle = grow(this.workerSingle);
      this.workerMask = grow(this.workerMask);
    }
    this.workerSlot.set(worker, w);
    this.workerIds[w] = worker;
    return w;
  }

  // ---- the model's view ----

  snapshot(): State {
    const queue = (slot: number) => this.conns.queuedIds(slot);
    const globals: State['globals'] = {};
    const listenOrder: number[] = [];
    for (let i = 0; i < this.globalCount; i++) {
      const slot = this.globals[i];
      const id = this.listenerId[slot];
      globals[id] = { id, uid: this.uid[slot], queue: queue(slot), copies: [] };
      listenOrder.push(id);
    }
    const localSlots: number[] = [];
    this.listenerSlot.forEach((_id, slot) => {
      if (this.isLocal[slot]) localSlots.push(slot);
    });
    localSlots.sort((a, b) => this.spawnSeq[a] - this.spawnSeq[b]);
    const locals: State['locals'] = {};
    const tables: State['tables'] = [];
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      tables.push([]);
      // At most slotCount links: a table a bug left cyclic still shows (wrong) instead of hanging.
      let slot = this.tableHead[cpu];
      // Stryker disable next-line UpdateOperator: equivalent: `k` only bounds a walk that ends at NONE first (a table lists each local slot once)
      for (let k = 0; slot !== NONE && k <= this.slotCount; k++, slot = this.tableNext[slot]) tables[cpu].push(this.listenerId[slot]);
    }
    for (const slot of localSlots) {
      const id = this.listenerId[slot];
      const parent = this.parent[slot] === NONE ? null : this.listenerId[this.parent[slot]];
      locals[id] = { id, cpu: this.localCpu[slot], global: parent, queue: queue(slot) };
      // Stryker disable next-line OptionalChaining: equivalent: a global's close sets its copies' parent to NONE, so an open local's parent is always in `globals`
      if (parent !== null) globals[parent]?.copies.push(id);
    }
    const workers: State['workers'] = {};
    for (let w = 0; w < this.workerCount; w++) {
      const cpus: number[] = [];
      for (let cpu = 0; cpu < this.cpus; cpu++) {
        if (this.workerMask[w * MASK_WORDS + (cpu >>> 5)] & (1 << (cpu & 31))) cpus.push(cpu);
      }
      workers[this.workerIds[w]] = cpus;
    }
    const connections: State['connections'] = {};
    this.conns.forEachOpen((c) => {
      const owner = this.conns.owner[c];
      connections[this.conns.ids[c]] = {
        cpu: this.conns.cpu[c],
        listener: owner === NONE || this.conns.isAccepted(c) ? null : this.listenerId[owner],
      };
    });
    return {
      config: { cpus: this.cpus, listenSpawn: this.mode },
      // The readings this implementation follows (see the top of this file).
      freeCpu: this.mode === 2 ? 'never had a local listener' : null,
      unboundOnOneCpu: this.cpus === 1 && this.mode !== 0 ? 'not bound' : null,
      missingCpus: 'bad-cpu',
      globals,
      listenOrder,
      locals,
      tables,
      workers,
      spawnedOn: spawnedOn(this.spawnedOn),
      connections,
    };
  }
}

/** floor(hash * n / 2^32), Linux's reciprocal_scale. */
function scale(hash: number, n: number): number {
  return Math.floor((hash * n) / 4294967296);
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}

function grow<T extends Int32Array | Uint32Array | Float64Array | Uint8Array>(array: T): T {
  const out = new (array.constructor as new (n: number) => T)(array.length * 2);
  out.set(array);
  return out;
}

/** Which CPUs a copy was ever spawned on, as the model keeps it. */
function spawnedOn(flags: Uint8Array): boolean[] {
  const out: boolean[] = [];
  for (let cpu = 0; cpu < flags.length; cpu++) out.push(flags[cpu] === 1);
  return out;
}

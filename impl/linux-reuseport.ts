// Linux SO_REUSEPORT — the optimized implementation. Listeners live in slots; the group's `socks`
// array, SO_INCOMING_CPU values and the count of members that set one (the kernel's
// `reuse->incoming_cpu`) are typed arrays, so a connect in a group without SO_INCOMING_CPU is O(1) and
// allocates nothing (`route`); with it, the probe is the kernel's cyclic O(n) scan. `snapshot` rebuilds
// the model's State.
import { match } from 'ts-pattern';
import type { Command, Config, Outcome, State } from '../model/linux-reuseport.ts';
import { Connections } from './support/connections.ts';

const NONE = -1;
export const REFUSED = -1;

export class LinuxReuseportImpl {
  protected readonly cpus: number;
  protected readonly migrate: boolean;
  protected readonly cpuProgram: boolean;

  /** The group's owner uid: set by the registration that finds the group empty, read only while it has members. */
  // Stryker disable next-line UnaryOperator: equivalent: the registration that finds the group empty writes it before any read
  protected owner = -1;

  // Listener slots (reused after deregister).
  protected listenerSlot = new Map<number, number>();
  protected listenerId = new Int32Array(16);
  protected uid = new Float64Array(16);
  protected incomingCpu = new Int32Array(16);
  protected freeSlots: number[] = [];
  protected slotCount = 0;

  /** socks[0..n): listener slots in group order. */
  protected socks = new Int32Array(16);
  protected n = 0;
  /** How many members have SO_INCOMING_CPU >= 0 (reuse->incoming_cpu). */
  protected incomingCount = 0;

  protected conns = new Connections();
  /** Kept for the snapshot only: the family changes no rule. */
  protected readonly family: Config['family'];

  constructor(config: Config) {
    this.cpus = config.cpus;
    this.migrate = config.migrate;
    this.family = config.family;
    this.cpuProgram = config.program === 'cpu';
  }

  apply(cmd: Command): Outcome {
    return match(cmd)
      .with({ op: 'register' }, (c) => this.register(c.listener, c.uid, c.incomingCpu))
      .with({ op: 'setIncomingCpu' }, (c) => this.setIncomingCpu(c.listener, c.incomingCpu))
      .with({ op: 'deregister' }, (c) => this.deregister(c.listener, c.cpu))
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
    return { ok: true, listener: this.listenerId[slot], local: this.incomingCpu[slot] === cpu };
  }

  /** reuseport_select_sock: the CPU program first, then the hash path; REFUSED for an empty group. */
  route(cpu: number, hash: number): number {
    if (this.n === 0) return REFUSED;
    const index = this.programIndex(cpu);
    if (index >= 0 && index < this.n) return this.socks[index];
    return this.selectByHash(hash, cpu);
  }

  /** The index the attached program returns (cBPF `A = cpu; return A`), or -1 without a program. */
  protected programIndex(cpu: number): number {
    return this.cpuProgram ? cpu : NONE;
  }

  /** reuseport_select_sock_by_hash. */
  protected selectByHash(hash: number, cpu: number): number {
    const n = this.n;
    const start = this.startIndex(hash, n);
    if (this.incomingCount === 0) return this.socks[start];
    return this.probe(start, cpu);
  }

  /** reciprocal_scale(hash, n). */
  protected startIndex(hash: number, n: number): number {
    return Math.floor((hash * n) / 4294967296);
  }

  /** The first member at or after `start`, cyclically, whose SO_INCOMING_CPU is `cpu`; else the start member. */
  protected probe(start: number, cpu: number): number {
    const n = this.n;
    let i = start;
    do {
      const slot = this.socks[i];
      if (this.incomingCpu[slot] === cpu) return slot;
      i = i + 1 === n ? 0 : i + 1;
    } while (i !== start);
    return this.socks[start];
  }

  // ---- registration ----

  register(listener: number, uid: number, incomingCpu: number): Outcome {
    if (this.listenerSlot.has(listener)) return { ok: false, error: 'duplicate-listener' };
    if (incomingCpu >= this.cpus) return { ok: false, error: 'bad-cpu' };
    if (!this.uidAllowed(uid)) return { ok: false, error: 'uid-mismatch' };
    const slot = this.takeListenerSlot(listener, uid);
    this.incomingCpu[slot] = -1;
    this.updateIncomingCpu(slot, incomingCpu);
    if (this.n === 0) this.owner = uid;
    if (this.n === this.socks.length) this.socks = grow(this.socks);
    this.socks[this.n++] = slot;
    return { ok: true };
  }

  protected uidAllowed(uid: number): boolean {
    return this.n === 0 || uid === this.owner;
  }

  setIncomingCpu(listener: number, incomingCpu: number): Outcome {
    const slot = this.listenerSlot.get(listener);
    if (slot === undefined) return { ok: false, error: 'unknown-listener' };
    if (incomingCpu >= this.cpus) return { ok: false, error: 'bad-cpu' };
    this.updateIncomingCpu(slot, incomingCpu);
    return { ok: true };
  }

  /** Sets SO_INCOMING_CPU and keeps the group's count of members that set one (reuseport_update_incoming_cpu). */
  protected updateIncomingCpu(slot: number, value: number): void {
    const was = this.incomingCpu[slot] >= 0;
    const is = value >= 0;
    this.incomingCpu[slot] = value;
    if (was !== is) this.incomingCount += is ? 1 : -1;
  }

  // ---- deregistration ----

  deregister(listener: number, cpu: number | undefined): Outcome {
    const slot = this.listenerSlot.get(listener);
    if (slot === undefined) return { ok: false, error: 'unknown-listener' };
    if (cpu !== undefined && cpu >= this.cpus) return { ok: false, error: 'bad-cpu' };
    this.listenerSlot.delete(listener);
    this.updateIncomingCpu(slot, -1);
    this.detach(slot);
    // Its accepted connections already count nowhere (accept let go of them); its queue moves or is reset.
    const outcome = this.migrateQueue(this.conns.drain(slot), cpu ?? 0);
    this.freeSlots.push(slot);
    return outcome;
  }

  /** __reuseport_detach_sock: the last member moves into the hole. */
  protected detach(slot: number): void {
    const at = this.socks.subarray(0, this.n).indexOf(slot);
    this.socks[at] = this.socks[this.n - 1];
    this.n--;
  }

  /** inet_csk_listen_stop: each queued child is migrated by the hash path (reuseport_migrate_sock) or reset. */
  protected migrateQueue(queue: number[], closingCpu: number): Outcome {
    const migrated: [number, number][] = [];
    const reset: number[] = [];
    for (const c of queue) {
      const target = this.migrationTarget(this.conns.hash[c], closingCpu);
      if (target === REFUSED) {
        reset.push(this.conns.ids[c]);
        this.conns.owner[c] = NONE;
        this.conns.close(c);
      } else {
        this.conns.enqueue(c, target);
        migrated.push([this.conns.ids[c], this.listenerId[target]]);
      }
    }
    return { ok: true, migrated, reset };
  }

  /** The listener a migrating child goes to, or REFUSED (reset): never the program, only the hash path. */
  protected migrationTarget(hash: number, closingCpu: number): number {
    if (!this.migrate || this.n === 0) return REFUSED;
    return this.selectByHash(hash, closingCpu);
  }

  // ---- accept and close ----

  accept(listener: number): Outcome {
    const slot = this.listenerSlot.get(listener);
    if (slot === undefined) return { ok: false, error: 'unknown-listener' };
    const c = this.conns.accept(slot);
    if (c === NONE) return { ok: true, conn: null };
    // An accepted connection belongs to its process: it counts nowhere from now on.
    this.conns.owner[c] = NONE;
    return { ok: true, conn: this.conns.ids[c] };
  }

  close(conn: number): Outcome {
    const c = this.conns.slotOf(conn);
    if (c === NONE) return { ok: false, error: 'unknown-conn' };
    this.conns.close(c);
    return { ok: true };
  }

  // ---- slots ----

  private takeListenerSlot(listener: number, uid: number): number {
    const slot = this.freeSlots.pop() ?? this.slotCount++;
    if (slot >= this.listenerId.length) {
      this.listenerId = grow(this.listenerId);
      this.uid = grow(this.uid);
      this.incomingCpu = grow(this.incomingCpu);
    }
    this.conns.ensureListeners(slot + 1);
    this.listenerSlot.set(listener, slot);
    this.listenerId[slot] = listener;
    this.uid[slot] = uid;
    return slot;
  }

  // ---- the model's view ----

  snapshot(): State {
    const members: State['members'] = [];
    for (let i = 0; i < this.n; i++) {
      const slot = this.socks[i];
      members.push({ id: this.listenerId[slot], uid: this.uid[slot], incomingCpu: this.incomingCpu[slot], queue: this.conns.queuedIds(slot) });
    }
    const connections: State['connections'] = {};
    this.conns.forEachOpen((c) => {
      const owner = this.conns.owner[c];
      const connection: State['connections'][number] = { listener: owner === NONE ? null : this.listenerId[owner], cpu: this.conns.cpu[c], accepted: this.conns.isAccepted(c) };
      if (this.conns.hasHash(c)) connection.hash = this.conns.hash[c];
      connections[this.conns.ids[c]] = connection;
    });
    return {
      config: { cpus: this.cpus, migrate: this.migrate, program: this.cpuProgram ? 'cpu' : 'none', family: this.family },
      // The readings this implementation takes: bad-cpu for SO_INCOMING_CPU >= cpus, local = SO_INCOMING_CPU locality.
      incomingCpuPastCpus: 'bad-cpu',
      local: 'incoming-cpu-matches',
      owner: this.n === 0 ? null : this.owner,
      members,
      incomingCpus: this.incomingCount,
      connections,
    };
  }
}

function grow<T extends Int32Array | Float64Array>(array: T): T {
  const out = new (array.constructor as new (n: number) => T)(array.length * 2);
  out.set(array);
  return out;
}

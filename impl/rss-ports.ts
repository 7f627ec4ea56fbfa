// rss-ports — the optimized implementation. Solve, do not search:
//
// - Once per config: the ports of the range are grouped into classes by their own contribution to the
//   RETA index, c(port) = P(port) & (retaSize - 1), computed from its 16 columns (impl/toeplitz.ts); RFD's
//   classes are simply port & (roundUpPow2(cpus) - 1). Classes are stored ascending, in one CSR array.
// - setRemote: base = hash(remote, local, remote port, 0) with the table-driven hash (one hash, not one
//   per port); class c now sits at RETA index c XOR (base & mask) — a relabelling, no port is rehashed.
//   It resets the per-class free state and rebuilds, per bucket, the queue of its RETA indices that have
//   free ports: O(retaSize), independent of the range.
// - allocate(b): the first index of b's queue; within its class, never-used ports ascending, then released
//   ones oldest release first (FIFO, like HAProxy's port ring). An index whose class runs dry leaves the
//   queue; one that regains a port rejoins at its end. O(1), nothing allocated but the outcome object.
// - Held (revision, port) pairs live in a node pool, chained per port, newest first: a release walks only
//   the revisions holding that very port. Memory: O(range + retaSize + held pairs), whatever the number of
//   revisions ever seen.
import { match } from 'ts-pattern';
import { InputError } from '../core/vocabulary.ts';
import { bucketCount, roundUpPow2, type Command, type Config, type Holding, type Outcome, type Remote, type State } from '../model/rss-ports.ts';
import { keyBytes, parseAddress } from '../model/toeplitz.ts';
import { keyWindow, linearInPort, ToeplitzTable } from './toeplitz.ts';

const NONE = -1;
/** `take` results below zero. */
export const BAD_BUCKET = -1;
export const NO_REMOTE = -2;
export const EXHAUSTED = -3;

/** What a config fixes about the range: its classes in CSR form. */
interface Classes {
  portClass: Int32Array;
  classStart: Int32Array;
  classPorts: Int32Array;
}
// Per implementation class (a planted bug may class ports differently), per config.
const classesByType = new WeakMap<object, Map<string, Classes>>();

interface RevisionInfo {
  remote: Remote;
  held: number;
}

export class RssPortsImpl {
  protected readonly low: number;
  protected readonly width: number;
  protected readonly bucketTotal: number;
  /** Number of RETA indices (retaSize, or roundUpPow2(cpus) under RFD) and its mask. */
  protected readonly indices: number;
  protected readonly indexMask: number;
  /** Bucket of each RETA index (-1: steers nowhere, RFD values >= cpus). */
  protected readonly indexBucket: Int32Array;

  // Hashing (Toeplitz only).
  protected readonly hasher: ToeplitzTable | null = null;
  protected readonly localBytes: number[];
  protected readonly input: Uint8Array;

  /** Classes in CSR form: the ports of class c are classPorts[classStart[c] .. classStart[c+1]-1], ascending. */
  protected readonly classStart: Int32Array;
  protected readonly classPorts: Int32Array;
  /** Class of each port of the range (by port - low). */
  protected readonly portClass: Int32Array;

  // Per class, in the current revision: how many never-used ports were taken, and a FIFO of released ones.
  protected readonly cursor: Int32Array;
  protected readonly fifoHead: Int32Array;
  protected readonly fifoTail: Int32Array;
  protected readonly fifoNext: Int32Array;

  // Per bucket, the queue of its RETA indices whose class has a free port (intrusive, singly linked).
  protected readonly queueHead: Int32Array;
  protected readonly queueTail: Int32Array;
  protected readonly queueNext: Int32Array;
  protected readonly queued: Uint8Array;

  // Holds: nodes (revision, next) chained per port from holder[port - low], newest first.
  protected readonly holder: Int32Array;
  protected nodeRevision = new Int32Array(64);
  protected nodeNext = new Int32Array(64);
  protected freeNode = NONE;
  protected nodesUsed = 0;

  protected revision = 0;
  protected remote: Remote | null = null;
  // Stryker disable next-line ArrayDeclaration: equivalent: read only once `remote` is set, and setRemote writes both together
  protected remoteBytes: number[] = [];
  /** base & mask of the current revision: class c is at RETA index c ^ relabelMask. */
  protected relabelMask = 0;
  /** The current revision and every revision still holding ports. */
  protected revisions = new Map<number, RevisionInfo>();
  /** The current revision's entry of `revisions` (the hot path bumps its count without a lookup). */
  protected current: RevisionInfo | null = null;

  constructor(readonly config: Config) {
    const high = config.portRange[1];
    const low = this.rangeStart(config);
    this.low = low;
    this.width = high - low + 1;
    this.bucketTotal = bucketCount(config);
    this.localBytes = parseAddress(config.family, config.localAddress)!;
    // Stryker disable next-line StringLiteral: equivalent: IPv4 then gets the 36-byte buffer, whose unwritten zero tail adds 0 to every hash
    this.input = new Uint8Array(config.family === 'ipv4' ? 12 : 36);

    if (config.align === 'rfd') {
      this.indices = roundUpPow2(config.cpus);
      this.indexMask = this.indices - 1;
      this.indexBucket = Int32Array.from({ length: this.indices }, (_, i) => (i < config.cpus ? i : NONE));
    } else {
      this.indices = config.retaSize;
      this.indexMask = this.indices - 1;
      this.indexBucket = Int32Array.from(config.reta);
      this.hasher = new ToeplitzTable(Uint8Array.from(keyBytes(config.key)), this.input.length, (key, offset) => this.keyWindow(key, offset));
    }
    ({ portClass: this.portClass, classStart: this.classStart, classPorts: this.classPorts } = this.classesOf(config));

    this.cursor = new Int32Array(this.indices);
    this.fifoHead = new Int32Array(this.indices).fill(NONE);
    this.fifoTail = new Int32Array(this.indices).fill(NONE);
    this.fifoNext = new Int32Array(this.width);
    this.queueHead = new Int32Array(this.bucketTotal).fill(NONE);
    this.queueTail = new Int32Array(this.bucketTotal).fill(NONE);
    this.queueNext = new Int32Array(this.indices);
    this.queued = new Uint8Array(this.indices);
    this.holder = new Int32Array(this.width).fill(NONE);
  }

  /**
   * The classes of the range: O(range) to compute, so computed once per config and kept for every later
   * instance of the same class (a check makes one instance per run). Read-only once made.
   */
  private classesOf(config: Config): Classes {
    let byConfig = classesByType.get(this.constructor);
    if (!byConfig) classesByType.set(this.constructor, (byConfig = new Map()));
    const key = `${this.low}|${JSON.stringify(config)}`;
    let classes = byConfig.get(key);
    if (!classes) {
      classes = this.groupClasses(config);
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent: the bound only limits the memory the cache of a pure function keeps
      if (byConfig.size >= 32) byConfig.clear();
      byConfig.set(key, classes);
    }
    return classes;
  }

  private groupClasses(config: Config): Classes {
    const classOfPort =
      config.align === 'rfd' ? (port: number) => port & this.indexMask : linearInPort(Array.from({ length: 16 }, (_, bit) => this.portContribution(1 << bit) & this.indexMask));
    // Group the range by class, ascending within each class.
    const { low, width, indices } = this;
    const portClass = new Int32Array(width);
    const classStart = new Int32Array(indices + 1);
    for (let i = 0; i < width; i++) {
      portClass[i] = classOfPort(low + i);
      classStart[portClass[i] + 1]++;
    }
    for (let c = 0; c < indices; c++) classStart[c + 1] += classStart[c];
    const classPorts = new Int32Array(width);
    const fill = classStart.slice(0, indices);
    for (let i = 0; i < width; i++) classPorts[fill[portClass[i]]++] = low + i;
    return { portClass, classStart, classPorts };
  }

  /** The first port the allocator may hand out: the range's own low end (fastsocket rounds it down; we must not). */
  protected rangeStart(config: Config): number {
    return config.portRange[0];
  }

  apply(cmd: Command): Outcome {
    return match(cmd)
      .with({ op: 'setRemote' }, (c) => ({ ok: true as const, revision: this.setRemote(c.address, c.port) }))
      .with({ op: 'allocate' }, (c): Outcome => {
        const port = this.take(c.bucket);
        if (port >= 0) return { ok: true, port };
        return { ok: false, error: port === BAD_BUCKET ? 'bad-bucket' : port === NO_REMOTE ? 'no-remote' : 'exhausted' };
      })
      .with({ op: 'release' }, (c): Outcome => (this.release(c.port, c.revision) ? { ok: true } : { ok: false, error: 'not-allocated' }))
      .exhaustive();
  }

  // ---- hashing ----

  /** The 32 key bits from bit `offset`; past the end of the key they read as zero. */
  protected keyWindow(key: Uint8Array, offset: number): number {
    return keyWindow(key, offset);
  }

  /** Writes the reply's hash input in receive order: remote addr, local addr, remote port, local port (big-endian). */
  protected encodeReply(remote: ArrayLike<number>, local: ArrayLike<number>, remotePort: number, localPort: number, out: Uint8Array): void {
    const n = remote.length;
    for (let i = 0; i < n; i++) {
      out[i] = remote[i];
      out[n + i] = local[i];
    }
    out[2 * n] = remotePort >> 8;
    out[2 * n + 1] = remotePort & 0xff;
    out[2 * n + 2] = localPort >> 8;
    out[2 * n + 3] = localPort & 0xff;
  }

  /** The table-driven hash of the reply tuple (remote, this local address, remote port, local port). */
  hashReply(remote: ArrayLike<number>, remotePort: number, localPort: number): number {
    this.encodeReply(remote, this.localBytes, remotePort, localPort, this.input);
    return this.hasher!.hash(this.input);
  }

  /** P(localPort): the local port's own contribution (everything else zero); the hash is base ^ P by linearity. */
  protected portContribution(localPort: number): number {
    const zeros = new Array<number>(this.localBytes.length).fill(0);
    this.encodeReply(zeros, zeros, 0, localPort, this.input);
    return this.hasher!.hash(this.input);
  }

  /** The XOR that moves class c to RETA index c ^ mask for the current remote. */
  protected relabel(base: number): number {
    return base & this.indexMask;
  }

  // ---- revisions ----

  setRemote(address: string, port: number): number {
    const bytes = parseAddress(this.config.family, address);
    if (bytes === null) throw new InputError('setRemote.address', `is not an ${this.config.family === 'ipv4' ? 'IPv4' : 'IPv6'} address (the config's family is ${this.config.family})`);
    // The same remote again is no change: the revision stays (the reading 'same revision'; the model also has 'new revision').
    if (this.remote !== null && this.remote.port === port && bytes.every((b, i) => b === this.remoteBytes[i])) return this.revision;

    if (this.current !== null && this.current.held === 0) this.revisions.delete(this.revision);
    this.revision += 1;
    this.remote = { address, port };
    this.remoteBytes = bytes;
    this.current = { remote: { address, port }, held: 0 };
    this.revisions.set(this.revision, this.current);
    this.relabelMask = this.hasher === null ? 0 : this.relabel(this.hashReply(bytes, port, 0));
    this.resetClasses();
    this.buildQueues();
    return this.revision;
  }

  /** A new revision holds nothing: every class is wholly free again. */
  protected resetClasses(): void {
    this.cursor.fill(0);
    this.fifoHead.fill(NONE);
    this.fifoTail.fill(NONE);
  }

  /** Per bucket, its RETA indices whose class has a free port, ascending. */
  protected buildQueues(): void {
    this.queueHead.fill(NONE);
    this.queueTail.fill(NONE);
    this.queued.fill(0);
    for (let j = 0; j < this.indices; j++) {
      const bucket = this.indexBucket[j];
      if (bucket !== NONE && this.hasFree(j ^ this.relabelMask)) this.enqueue(bucket, j);
    }
  }

  // ---- allocate: the hot path ----

  /** A free aligned port for `bucket` in the current revision, now held; or BAD_BUCKET, NO_REMOTE, EXHAUSTED. */
  take(bucket: number): number {
    if (bucket >= this.bucketTotal) return BAD_BUCKET;
    if (this.revision === 0) return NO_REMOTE;
    const j = this.queueHead[bucket];
    if (j === NONE) return EXHAUSTED;
    const c = j ^ this.relabelMask;
    const port = this.takeFrom(c);
    if (!this.hasFree(c)) this.dequeueHead(bucket);
    this.hold(port);
    return port;
  }

  /**
   * Writes every port of the range aligned to `bucket` for the current remote (held or not) into `out`, by
   * RETA index and ascending within one; returns how many. No hashing: the classes relabelled by the XOR.
   */
  alignedInto(bucket: number, out: Int32Array): number {
    let n = 0;
    for (let j = 0; j < this.indices; j++) {
      if (this.indexBucket[j] !== bucket) continue;
      const c = j ^ this.relabelMask;
      const start = this.classStart[c];
      const end = this.classStart[c + 1];
      out.set(this.classPorts.subarray(start, end), n);
      n += end - start;
    }
    return n;
  }

  protected hasFree(c: number): boolean {
    return this.cursor[c] < this.classStart[c + 1] - this.classStart[c] || this.fifoHead[c] !== NONE;
  }

  /** Never-used ports first, ascending; then released ones, oldest release first. */
  protected takeFrom(c: number): number {
    if (this.cursor[c] < this.classStart[c + 1] - this.classStart[c]) return this.classPorts[this.classStart[c] + this.cursor[c]++];
    const i = this.fifoHead[c];
    this.fifoHead[c] = this.fifoNext[i];
    if (this.fifoHead[c] === NONE) this.fifoTail[c] = NONE;
    return this.low + i;
  }

  protected giveBack(port: number): void {
    const i = port - this.low;
    const c = this.portClass[i];
    const wasDry = !this.hasFree(c);
    this.fifoNext[i] = NONE;
    if (this.fifoTail[c] === NONE) this.fifoHead[c] = i;
    else this.fifoNext[this.fifoTail[c]] = i;
    this.fifoTail[c] = i;
    const j = c ^ this.relabelMask;
    // Stryker disable next-line LogicalOperator: equivalent: an index is queued iff its class has a free port, so `wasDry` and `!queued` are both true or both false here
    if (wasDry && !this.queued[j]) this.enqueue(this.indexBucket[j], j);
  }

  protected enqueue(bucket: number, j: number): void {
    this.queued[j] = 1;
    this.queueNext[j] = NONE;
    if (this.queueTail[bucket] === NONE) this.queueHead[bucket] = j;
    else this.queueNext[this.queueTail[bucket]] = j;
    this.queueTail[bucket] = j;
  }

  /** Takes the first index off `bucket`'s queue (allocation only ever drains the head). */
  protected dequeueHead(bucket: number): void {
    const j = this.queueHead[bucket];
    this.queued[j] = 0;
    this.queueHead[bucket] = this.queueNext[j];
    if (this.queueHead[bucket] === NONE) this.queueTail[bucket] = NONE;
  }

  // ---- holds ----

  protected hold(port: number): void {
    const node = this.newNode();
    const i = port - this.low;
    this.nodeRevision[node] = this.revision;
    this.nodeNext[node] = this.holder[i];
    this.holder[i] = node;
    // Stryker disable next-line UpdateOperator: equivalent: the held count only decides when a revision's record is dropped (memory), never read for an outcome or snapshot
    this.current!.held++;
  }

  /** The node holding `port` (by range index) for `revision`, or NONE. */
  protected findHold(i: number, revision: number): number {
    for (let node = this.holder[i]; node !== NONE; node = this.nodeNext[node]) if (this.nodeRevision[node] === revision) return node;
    return NONE;
  }

  /** Releases `port` held under `revision`; false (and nothing changes) when it is not held there. */
  release(port: number, revision: number): boolean {
    if (port < this.low || port >= this.low + this.width) return false;
    const i = port - this.low;
    const node = this.findHold(i, revision);
    if (node === NONE) return false;
    const holdRevision = this.nodeRevision[node];
    // Unlink the node from the port's chain.
    if (this.holder[i] === node) this.holder[i] = this.nodeNext[node];
    else {
      let prev = this.holder[i];
      while (this.nodeNext[prev] !== node) prev = this.nodeNext[prev];
      this.nodeNext[prev] = this.nodeNext[node];
    }
    this.nodeNext[node] = this.freeNode;
    this.freeNode = node;
    const info = holdRevision === this.revision ? this.current! : this.revisions.get(holdRevision)!;
    // Stryker disable next-line UpdateOperator: equivalent: the held count only decides when a revision's record is dropped (memory), never read for an outcome or snapshot
    info.held--;
    if (info.held === 0 && holdRevision !== this.revision) this.revisions.delete(holdRevision);
    if (holdRevision === this.revision) this.giveBack(port);
    return true;
  }

  private newNode(): number {
    // Stryker disable next-line BlockStatement: equivalent: freed nodes are then never reused, which only costs memory; node numbers reach no outcome or snapshot
    if (this.freeNode !== NONE) {
      const node = this.freeNode;
      this.freeNode = this.nodeNext[node];
      return node;
    }
    if (this.nodesUsed === this.nodeRevision.length) {
      const grow = (a: Int32Array) => {
        const out = new Int32Array(a.length * 2);
        out.set(a);
        return out;
      };
      this.nodeRevision = grow(this.nodeRevision);
      this.nodeNext = grow(this.nodeNext);
    }
    return this.nodesUsed++;
  }

  // ---- the model's view ----

  snapshot(): State {
    const held: Record<number, Holding> = {};
    for (let i = 0; i < this.width; i++) {
      for (let node = this.holder[i]; node !== NONE; node = this.nodeNext[node]) {
        const revision = this.nodeRevision[node];
        const holding = (held[revision] ??= { remote: { ...this.revisions.get(revision)!.remote }, ports: {}, count: 0 });
        holding.ports[this.low + i] = true;
        holding.count++;
      }
    }
    return {
      config: this.config,
      // The readings this implementation takes: the same remote again keeps its revision; a bucket no RETA entry names is exhausted.
      sameRemoteAgain: 'same revision',
      unnamedBucket: 'exhausted',
      revision: this.revision,
      remote: this.remote === null ? null : { ...this.remote },
      held,
    };
  }
}

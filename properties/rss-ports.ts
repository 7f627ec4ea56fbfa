// rss-ports — the properties checked on every step, the generators that drive them, and the corners
// the generators must reach. Each property keeps its own record of what the outcomes said (revisions,
// remotes, held ports) and re-derives alignment with the bit-by-bit hash of model/toeplitz.ts, so it
// checks the implementation and the model alike without trusting either one's state.
import fc from 'fast-check';
import { rssPortsParallelRuns } from './parallel-runs.ts';
import { shrinkingRuns } from './runs.ts';
import { RssPortsImpl } from '../impl/rss-ports.ts';
import {
  alignedPorts,
  bucketCount,
  bucketOf,
  commandSchema,
  configSchema,
  model,
  outcomeSchemas,
  roundUpPow2,
  SAME_REMOTE_AGAIN,
  UNNAMED_BUCKET,
  type Command,
  type Config,
  type Outcome,
  type Remote,
  type State,
} from '../model/rss-ports.ts';
import { DEFAULT_KEY, parseAddress } from '../model/toeplitz.ts';
import { whenever, type Corner, type Property, type Scheme, type Transition } from '../core/scheme.ts';
import { sameValue, show } from '../core/vocabulary.ts';

type T = Transition<Config, State, Command, Outcome>;
type RssProperty = Property<Config, State, Command, Outcome>;

/** What the outcomes so far say: the current revision and remote, and the (revision, port) pairs held. */
class Ledger {
  revision = 0;
  remote: Remote | null = null;
  /** Per revision, the ports it holds. */
  held = new Map<number, Set<number>>();
  /** Per port, the revisions holding it. */
  holders = new Map<number, Set<number>>();
  /** The remote of every revision seen. */
  remotes = new Map<number, Remote>();
  /** Whether setting the current remote again kept its revision, once the run has done it (one reading per run). */
  sameRemoteKeeps: boolean | undefined;

  constructor(readonly config: Config) {}

  holds(revision: number, port: number): boolean {
    return this.held.get(revision)?.has(port) ?? false;
  }

  heldNow(): Set<number> {
    return this.held.get(this.revision) ?? new Set();
  }

  holdersOf(port: number): Set<number> {
    return this.holders.get(port) ?? new Set();
  }

  isSameRemote(cmd: { address: string; port: number }): boolean {
    if (this.remote === null || this.remote.port !== cmd.port) return false;
    const a = parseAddress(this.config.family, this.remote.address);
    const b = parseAddress(this.config.family, cmd.address);
    return a !== null && b !== null && a.join('.') === b.join('.');
  }

  /** Learns from one step (after the property looked at it). */
  learn({ cmd, outcome }: T): void {
    if (cmd.op === 'setRemote' && 'revision' in outcome) {
      if (this.isSameRemote(cmd)) this.sameRemoteKeeps = outcome.revision === this.revision;
      if (outcome.revision !== this.revision) {
        this.remote = { address: cmd.address, port: cmd.port };
        this.remotes.set(outcome.revision, this.remote);
      }
      this.revision = outcome.revision;
    } else if (cmd.op === 'allocate' && 'port' in outcome) {
      this.pair(this.held, this.revision).add(outcome.port);
      this.pair(this.holders, outcome.port).add(this.revision);
    } else if (cmd.op === 'release' && outcome.ok) {
      this.held.get(cmd.revision)?.delete(cmd.port);
      this.holders.get(cmd.port)?.delete(cmd.revision);
    }
  }

  private pair(map: Map<number, Set<number>>, key: number): Set<number> {
    let set = map.get(key);
    if (set === undefined) map.set(key, (set = new Set()));
    return set;
  }
}

/** A property that reads the record before the step and updates it after. */
function recorded(check: (t: T, record: Ledger) => string | null): (config: Config) => (t: T) => string | null {
  return (config) => {
    const record = new Ledger(config);
    return (t) => {
      const message = check(t, record);
      record.learn(t);
      return message;
    };
  };
}

/** What a state says about one (revision, port): how many ports the revision holds, and whether this is one. */
const holding = (s: State, revision: number, port: number) => ({ count: s.held[revision]?.count ?? 0, holds: s.held[revision]?.ports[port] === true });

export const soundness: RssProperty = {
  name: 'soundness',
  rule: "true iff every port allocate(b) returns lies in portRange and its reply tuple (current remote, local address, port), re-hashed bit by bit, lands in bucket b",
  monitor: recorded(({ config, cmd, outcome }, record) => {
    if (cmd.op !== 'allocate' || !('port' in outcome)) return null;
    const [low, high] = config.portRange;
    if (outcome.port < low || outcome.port > high) return `port ${outcome.port} is outside the range [${low}, ${high}]`;
    if (record.remote === null) return `allocate returned port ${outcome.port} before any remote was set`;
    const bucket = bucketOf(config, record.remote, outcome.port);
    return bucket === cmd.bucket ? null : `port ${outcome.port} for ${show(record.remote)} steers to bucket ${bucket}, not ${cmd.bucket}`;
  }),
};

export const uniqueness: RssProperty = {
  name: 'uniqueness',
  rule: 'true iff allocate never returns a port already held in the current revision, and releasing a (port, revision) that is not held answers not-allocated and changes nothing',
  monitor: recorded(({ cmd, outcome, before, after }, record) => {
    if (cmd.op === 'allocate' && 'port' in outcome && record.heldNow().has(outcome.port)) {
      return `port ${outcome.port} is handed out twice in revision ${record.revision}`;
    }
    if (cmd.op === 'release' && !record.holds(cmd.revision, cmd.port)) {
      if (outcome.ok) return `released port ${cmd.port} of revision ${cmd.revision}, which does not hold it`;
      // What a release could change: the revision it names, and the other revisions holding that port.
      const touched = (s: State) => [s.revision, s.remote, ...[cmd.revision, ...record.holdersOf(cmd.port)].map((r) => holding(s, r, cmd.port))];
      if (!sameValue(touched(before), touched(after))) return `a release answered not-allocated but changed the state: ${show(touched(before))} → ${show(touched(after))}`;
    }
    return null;
  }),
};

export const completeness: RssProperty = {
  name: 'completeness',
  rule: "true iff allocate(b) answers exhausted only when every port of the range aligned to b for the current remote (brute force, bit by bit) is held in the current revision",
  monitor: recorded(({ config, cmd, outcome }, record) => {
    if (cmd.op !== 'allocate' || outcome.ok || outcome.error !== 'exhausted') return null;
    if (record.remote === null) return 'exhausted before any remote was set (no-remote expected)';
    if (cmd.bucket >= bucketCount(config)) return `exhausted for bucket ${cmd.bucket}, which does not exist (bad-bucket expected)`;
    const held = record.heldNow();
    const free = alignedPorts(config, record.remote, cmd.bucket).find((p) => !held.has(p));
    return free === undefined ? null : `exhausted for bucket ${cmd.bucket}, but port ${free} is aligned and free in revision ${record.revision}`;
  }),
};

export const fairness: RssProperty = {
  name: 'fairness',
  rule: "true iff every bucket can reach its full share: when allocate(b) answers exhausted, the current revision holds exactly as many ports aligned to b as the range has",
  monitor: recorded(({ config, cmd, outcome }, record) => {
    if (cmd.op !== 'allocate' || outcome.ok || outcome.error !== 'exhausted' || record.remote === null) return null;
    const share = alignedPorts(config, record.remote, cmd.bucket);
    const held = record.heldNow();
    const got = share.filter((p) => held.has(p)).length;
    return got === share.length ? null : `bucket ${cmd.bucket} is exhausted holding ${got} of its ${share.length} ports`;
  }),
};

export const revisionIsolation: RssProperty = {
  name: 'revision-isolation',
  rule: "true iff setRemote numbers revisions 1, 2, ... (a new one for every different remote; the current remote set again keeps its revision throughout a run or starts a new one throughout), ports held under a revision stay held until released with that revision's number, and no step changes another revision's held ports",
  monitor: recorded(({ cmd, outcome, before, after }, record) => {
    if (cmd.op === 'setRemote' && 'revision' in outcome) {
      const same = record.isSameRemote(cmd);
      const allowed = !same ? [record.revision + 1] : record.sameRemoteKeeps === undefined ? [record.revision, record.revision + 1] : [record.sameRemoteKeeps ? record.revision : record.revision + 1];
      if (!allowed.includes(outcome.revision)) {
        const why = same && record.sameRemoteKeeps !== undefined ? ` (the run ${record.sameRemoteKeeps ? 'kept' : 'renewed'} the revision for the same remote before)` : '';
        return `setRemote answered revision ${outcome.revision}; expected ${allowed.join(' or ')}${why}`;
      }
    }
    if (cmd.op === 'release' && record.holds(cmd.revision, cmd.port) && !outcome.ok) {
      return `port ${cmd.port} is held under revision ${cmd.revision}, but releasing it answered ${outcome.error}`;
    }
    // The state, where the step touched it: the revision that gains or loses the port, and every other
    // revision holding that port, which must keep it; a setRemote changes no revision's ports.
    const current = cmd.op === 'setRemote' && 'revision' in outcome ? outcome.revision : record.revision;
    const port = cmd.op === 'allocate' && 'port' in outcome ? outcome.port : cmd.op === 'release' ? cmd.port : undefined;
    const own = cmd.op === 'allocate' ? record.revision : cmd.op === 'release' ? cmd.revision : undefined;
    const revisions = new Set([record.revision, current, ...(own === undefined ? [] : [own]), ...(port === undefined ? [] : record.holdersOf(port))]);
    for (const r of revisions) {
      const was = holding(before, r, port ?? -1);
      const expected = { ...was };
      if (cmd.op === 'allocate' && 'port' in outcome && r === own) expected.holds = true;
      if (cmd.op === 'release' && outcome.ok && r === own) expected.holds = false;
      if (expected.holds !== was.holds) expected.count += expected.holds ? 1 : -1;
      const now = holding(after, r, port ?? -1);
      if (!sameValue(now, expected)) {
        return `revision ${r} ${port === undefined ? '' : `${was.holds ? 'held' : 'did not hold'} port ${port} and `}held ${was.count} ports; after ${show(cmd)} it ${port === undefined ? '' : `${now.holds ? 'holds' : 'does not hold'} it and `}holds ${now.count}`;
      }
      const remote = after.held[r]?.remote;
      const recordedRemote = record.remotes.get(r);
      if (remote !== undefined && recordedRemote !== undefined && !sameValue(remote, recordedRemote)) {
        return `revision ${r}'s ports are recorded for ${show(remote)}, not its remote ${show(recordedRemote)}`;
      }
    }
    return null;
  }),
};

// ---- generators ----

const hexKey = (minBytes: number, maxBytes: number) =>
  fc.uint8Array({ minLength: minBytes, maxLength: maxBytes }).map((bytes) => Buffer.from(bytes).toString('hex'));

const remotesOf = (family: 'ipv4' | 'ipv6') =>
  family === 'ipv4' ? ['198.51.100.7', '203.0.113.9', '192.0.2.200'] : ['2001:db8:1::7', 'fe80::200:f8ff:fe21:67cf', '3ffe:2501:200:3::1'];

/** A small range most of the time (so buckets run dry), now and then a wider one; anywhere in 0..65535. */
const portRanges = fc
  .tuple(
    fc.oneof(
      // One or two ports often: a counterexample keeps the range it was found with (its releases name
      // ports of it), so holds, releases and reuse of one class show in the fewest commands there.
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 2 }) },
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }) },
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 10 }) },
      { weight: 5, arbitrary: fc.integer({ min: 1, max: 40 }) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 256 }) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 1024 }) },
    ),
    fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 65535 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 32768, 65535) }),
  )
  .map(([width, at]): [number, number] => {
    const low = Math.min(at, 65536 - width);
    return [low, low + width - 1];
  });

const smallCount = (tiny: number, usual: number) =>
  fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: tiny }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: usual }) });

export const configs: fc.Arbitrary<Config> = fc
  .record({
    align: fc.oneof({ weight: 3, arbitrary: fc.constant('toeplitz' as const) }, { weight: 1, arbitrary: fc.constant('rfd' as const) }),
    family: fc.oneof({ weight: 3, arbitrary: fc.constant('ipv4' as const) }, { weight: 1, arbitrary: fc.constant('ipv6' as const) }),
    // Short keys often: past their end the key reads as zero, which only shows when the input outruns the key.
    key: fc.oneof({ weight: 2, arbitrary: fc.constant(DEFAULT_KEY) }, { weight: 3, arbitrary: hexKey(1, 14) }, { weight: 1, arbitrary: hexKey(15, 44) }),
    retaLog: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 5, max: 10 }) }),
    buckets: smallCount(4, 16),
    randomReta: fc.boolean(),
    seedReta: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
    portRange: portRanges,
    cpus: smallCount(6, 16),
    local: fc.boolean(),
  })
  .map((c) => {
    const retaSize = 2 ** c.retaLog;
    const raw = {
      align: c.align,
      family: c.family,
      key: c.key,
      retaSize,
      buckets: c.buckets,
      ...(c.randomReta ? { reta: Array.from({ length: retaSize }, (_, i) => c.seedReta[i % c.seedReta.length] % c.buckets) } : {}),
      portRange: c.portRange,
      cpus: c.cpus,
      ...(c.local ? { localAddress: c.family === 'ipv4' ? '10.1.2.3' : 'fd00::1:2:3' } : {}),
    };
    return configSchema.parse(raw);
  });

// Commands are drawn as config-free sketches (small numbers) and then fitted to the run's config, so that
// fast-check shrinks the config (a narrower range, fewer buckets) and the commands together.

/** Numbers that become one command; smaller numbers give simpler commands (allocate, bucket 0, revision 1). */
interface Sketch {
  kind: number;
  a: number;
  b: number;
  c: number;
}
const sketches = fc.record({ kind: fc.nat({ max: 99 }), a: fc.nat({ max: 65535 }), b: fc.nat({ max: 99 }), c: fc.nat({ max: 99 }) });

/**
 * The command a sketch stands for under `config`. `churn` (0, 1 or 3) weighs setRemote against allocate (9)
 * and release (5); with 0 the remote never changes after the first command.
 */
export function commandOf(config: Config, churn: number, s: Sketch): Command {
  const [low, high] = config.portRange;
  const width = high - low + 1;
  const count = bucketCount(config);
  const setShare = Math.round((100 * churn) / (14 + churn));
  const allocateShare = Math.round(((100 - setShare) * 9) / 14);
  if (s.kind < allocateShare) {
    const bucket = s.c < 30 ? 0 : s.c < 70 ? s.a % Math.min(count, 3) : s.c < 95 ? s.a % count : count + (s.a % 3);
    return { op: 'allocate', bucket };
  }
  if (s.kind < 100 - setShare) {
    const port = s.c < 40 ? low + (s.a % Math.min(width, 16)) : s.c < 70 ? low + (s.a % Math.min(width, 41)) : Math.min(65535, Math.max(0, low - 2 + (s.a % (width + 4))));
    const revision = s.b < 50 ? 1 : s.b < 87 ? 1 + (s.b % 3) : s.b % 7;
    return { op: 'release', port, revision };
  }
  return remoteOf(config, s);
}

/** A remote from a pool of three addresses of the config's family and two ports. */
const remoteOf = (config: Config, s: Sketch): Command => ({
  op: 'setRemote',
  address: remotesOf(config.family)[s.a % 3],
  port: s.b % 2 === 0 ? 443 : 80,
});

/**
 * Several holds of one bucket, a release among them (one of the range's first ports: the lowest, a
 * middle or the last one held), and reallocation: a release in the middle of a class's handed-out
 * ports is rare from single commands. Only in ranges under 16 ports, where those first ports are
 * the ones held and each step is cheap to judge (the model lists every free aligned port).
 */
function holdsFor(config: Config): fc.Arbitrary<Command[]> {
  const [low, high] = config.portRange;
  return fc
    .tuple(fc.integer({ min: 2, max: 4 }), fc.nat({ max: 3 }), fc.integer({ min: 1, max: 2 }))
    .map(([held, at, again]): Command[] => [
      ...Array.from({ length: held }, (): Command => ({ op: 'allocate', bucket: 0 })),
      { op: 'release', port: Math.min(high, low + at), revision: 1 },
      ...Array.from({ length: again }, (): Command => ({ op: 'allocate', bucket: 0 })),
    ]);
}

export const runs = shrinkingRuns(
  fc.record({
    config: configs,
    churn: fc.constantFrom(0, 0, 1, 3),
    /** Mostly (5 in 6) the run starts with a setRemote. */
    startsWithRemote: fc.nat({ max: 5 }),
  }),
  ({ config }) => config,
  ({ config, churn, startsWithRemote }) =>
    fc
      .tuple(sketches, fc.array(fc.oneof({ weight: 20, arbitrary: sketches.map((s) => [commandOf(config, churn, s)]) }, { weight: config.portRange[1] - config.portRange[0] < 16 ? 1 : 0, arbitrary: holdsFor(config) }), { maxLength: 36, size: 'max' }))
      .map(([first, rest]) => [startsWithRemote < 5 ? remoteOf(config, first) : commandOf(config, churn, first), ...rest.flat()]),
  {
    // A released port steps down: the release in the middle of a class's holds can then move to the
    // lowest ports and let the later holds go. A wide range makes every run costly (the model lists
    // every free aligned port): the config shrinks first.
    countsDown: (cmd, key) => cmd.op === 'release' && key === 'port',
    configFirst: true,
  },
);

// ---- corners the generators must reach ----


export const corners: Corner<Config, State, Command, Outcome>[] = [
  { name: 'exhausted', watch: whenever(({ outcome }) => !outcome.ok && outcome.error === 'exhausted') },
  {
    name: 'exhausted-then-released-and-reused',
    watch: () => {
      const dry = new Set<number>();
      return ({ cmd, outcome }) => {
        if (cmd.op === 'setRemote') dry.clear();
        if (cmd.op === 'allocate' && !outcome.ok && outcome.error === 'exhausted') dry.add(cmd.bucket);
        return cmd.op === 'allocate' && outcome.ok && dry.has(cmd.bucket);
      };
    },
  },
  {
    name: 'new-revision-while-ports-held',
    watch: whenever(({ before, cmd, outcome }) => cmd.op === 'setRemote' && 'revision' in outcome && outcome.revision !== before.revision && before.held[before.revision] !== undefined),
  },
  {
    // A release with ports of its bucket held below and above it in the current revision: the middle of a bucket's holds.
    name: 'release-between-two-holds-of-a-bucket',
    watch: whenever(({ config, before, cmd, outcome }) => {
      if (cmd.op !== 'release' || !outcome.ok || cmd.revision !== before.revision || before.remote === null) return false;
      const remote = before.remote;
      const bucket = bucketOf(config, remote, cmd.port);
      const held = Object.keys(before.held[before.revision]?.ports ?? {}).map(Number).filter((p) => p !== cmd.port && bucketOf(config, remote, p) === bucket);
      return held.some((p) => p < cmd.port) && held.some((p) => p > cmd.port);
    }),
  },
  {
    // A port released, reused, and released again: a class's free list emptied and refilled.
    name: 'released-reused-and-released-again',
    watch: () => {
      const count = new Map<string, number>();
      return ({ before, cmd, outcome }) => {
        if (cmd.op === 'setRemote') count.clear();
        if (cmd.op !== 'release' || !outcome.ok || cmd.revision !== before.revision) return false;
        const key = `${cmd.revision}:${cmd.port}`;
        count.set(key, (count.get(key) ?? 0) + 1);
        return count.get(key)! >= 2;
      };
    },
  },
  { name: 'old-revision-released', watch: whenever(({ before, cmd, outcome }) => cmd.op === 'release' && outcome.ok && cmd.revision < before.revision) },
  {
    name: 'port-held-in-two-revisions',
    // Only an allocate can make it so: look for the port in the other revisions.
    watch: whenever(({ cmd, outcome, after }) => {
      if (cmd.op !== 'allocate' || !('port' in outcome)) return false;
      return Object.entries(after.held).some(([r, h]) => Number(r) !== after.revision && h.ports[outcome.port] === true);
    }),
  },
  { name: 'not-allocated', watch: whenever(({ outcome }) => !outcome.ok && outcome.error === 'not-allocated') },
  { name: 'bad-bucket', watch: whenever(({ outcome }) => !outcome.ok && outcome.error === 'bad-bucket') },
  { name: 'no-remote', watch: whenever(({ outcome }) => !outcome.ok && outcome.error === 'no-remote') },
  {
    name: 'same-remote-again',
    watch: whenever(({ before, cmd }) => cmd.op === 'setRemote' && before.remote !== null && before.remote.address === cmd.address && before.remote.port === cmd.port),
  },
  {
    // Where fastsocket would round the range's low end down and hand out a port below it.
    name: 'rfd-range-edge',
    watch: whenever(({ config, cmd, outcome }) => {
      if (config.align !== 'rfd' || cmd.op !== 'allocate' || cmd.bucket >= config.cpus) return false;
      const round = roundUpPow2(config.cpus);
      const low = config.portRange[0];
      return (low & ~(round - 1)) + cmd.bucket < low;
    }),
  },
  {
    name: 'key-shorter-than-input',
    watch: whenever(({ config, cmd }) => config.align === 'toeplitz' && cmd.op === 'allocate' && config.key.length / 2 < (config.family === 'ipv4' ? 16 : 40)),
  },
];

export const rssPortsScheme: Scheme<Config, State, Command, Outcome> = {
  name: 'rss-ports',
  summary: 'outgoing source ports aligned to an RSS bucket (Toeplitz, solved over GF(2)) or a CPU (fastsocket RFD), with revisions per remote',
  config: configSchema,
  command: commandSchema,
  outcome: (cmd) => outcomeSchemas[cmd.op],
  model,
  readings: [
    {
      name: 'the current remote set again',
      options: SAME_REMOTE_AGAIN,
      meaning:
        "setRemote with the remote already current (same address bytes, same port) is no change and keeps its revision ('same revision', as the impl reads it), or starts the next revision as every other setRemote does ('new revision')",
    },
    {
      name: 'a bucket no RETA entry names',
      options: UNNAMED_BUCKET,
      meaning:
        "allocate of a bucket below `buckets` that no RETA entry names answers 'exhausted', a bucket without aligned ports (as the impl reads it), or 'bad-bucket', no bucket of the table",
    },
  ],
  freedoms: [
    { name: 'which error', meaning: 'bad-bucket and no-remote both apply and the issue does not rank them: either may be reported' },
    { name: 'which free port', meaning: 'allocate may hand out any sound free port of the bucket (rule 5)' },
  ],
  implementation: (config) => new RssPortsImpl(config),
  properties: [soundness, uniqueness, completeness, fairness, revisionIsolation],
  runs,
  parallelRuns: rssPortsParallelRuns,
  corners,
};

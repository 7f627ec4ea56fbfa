// rss-ports — outgoing source ports aligned to an RSS bucket (seed 001), or to a CPU by fastsocket's
// Receive Flow Deliver rule (seed 004). The specification: plain data, plain loops, read it beside the seeds.
//
// Rules (numbers as in the issue and the README's table):
//  1. Soundness: allocate(b) returns only a port inside portRange whose reply tuple (current remote, local
//     address, that port) lands in bucket b. Toeplitz: bucket = reta[toeplitz(key, remote addr ‖ local addr ‖
//     remote port ‖ local port) & (retaSize - 1)]. RFD: cpu = port & (roundUpPow2(cpus) - 1), and a value
//     >= cpus steers nowhere (fastsocket's netif_deliver_cpu ignores it).
//  2. Uniqueness: a port is held at most once per revision; releasing a port that the named revision does not
//     hold is `not-allocated` and changes nothing.
//  3. Completeness: `exhausted` only when every aligned port of b in the range is held in the current revision.
//  4. Revisions: setRemote with a different remote starts revision n+1 (revisions count from 1). Ports held
//     under older revisions stay held (for their own 4-tuple) until released with their own revision number;
//     they neither block nor count for the new revision.
//  5. allocate may return any sound free port: the model allows the whole set (the freedom 'which free port').
// Readings (an implementation takes one for a whole run; init reads them, the state keeps them):
//  - setRemote to the remote already current: the same revision (it is no change, as the impl reads it) or a new one;
//  - a bucket below `buckets` that no RETA entry names: `exhausted` (it has no port, as the impl reads it) or
//    `bad-bucket` (it is no bucket of the table).
// Freedoms (per step): which free port; which error when bad-bucket and no-remote both apply.
import { match } from 'ts-pattern';
import { z } from 'zod';
import { raw } from '../core/journal.ts';
import { oneOf, type Choose, type Model } from '../core/relation.ts';
import { failure, id, InputError, okOnly } from '../core/vocabulary.ts';
import { DEFAULT_KEY, keyBytes, parseAddress, parseIPv4, parseIPv6, replyInput, toeplitz, type Family } from './toeplitz.ts';

// ---- vocabulary ----

export const DEFAULT_LOCAL = { ipv4: '192.0.2.1', ipv6: '2001:db8::1' } as const;
/** Linux's default ip_local_port_range. */
export const DEFAULT_PORT_RANGE: [number, number] = [32768, 60999];

const port = z.number().int().min(0, 'is not a port (0..65535)').max(65535, 'is not a port (0..65535)');
/** A key's hex digits: an optional 0x, and spaces or colons between bytes, are allowed. */
const keyDigits = (k: string) => k.replace(/^\s*0x/i, '').replace(/[\s:]/g, '');
/** The family a config means: as given, else the local address's, else IPv4. */
const familyOf = (c: { family?: Family; localAddress?: string }): Family =>
  c.family ?? (c.localAddress !== undefined && parseIPv4(c.localAddress) === null && parseIPv6(c.localAddress) !== null ? 'ipv6' : 'ipv4');
/** For a positive integer: true iff it is a power of two (callers check the range first). */
const isPowerOfTwo = (n: number) => (n & (n - 1)) === 0;
const RETA_SIZE = 'must be a power of two in 2..65536';

export const configSchema = z
  .strictObject({
    /** "toeplitz": RSS with a RETA (seed 001); "rfd": fastsocket's Receive Flow Deliver (seed 004). */
    align: z.enum(['toeplitz', 'rfd']).default('toeplitz'),
    key: z
      .string()
      .default(DEFAULT_KEY)
      .refine((k) => /^([0-9a-fA-F]{2})+$/.test(keyDigits(k)), 'is not a hex key (pairs of hex digits)')
      .refine((k) => keyDigits(k).length <= 128, 'is longer than 64 bytes')
      .transform((k) => keyDigits(k).toLowerCase()),
    retaSize: z
      .number()
      .int()
      // A size out of range stops there: one message, not a second from the power-of-two check.
      .min(2, { message: RETA_SIZE, abort: true })
      .max(65536, { message: RETA_SIZE, abort: true })
      .refine(isPowerOfTwo, RETA_SIZE)
      .optional(),
    buckets: z.number().int().min(1).max(65536).default(8),
    reta: z.array(z.number().int().nonnegative()).optional(),
    /** Default: the local address's family, else ipv4. */
    family: z.enum(['ipv4', 'ipv6']).optional(),
    localAddress: z.string().optional(),
    portRange: z.tuple([port, port]).default(DEFAULT_PORT_RANGE),
    /** RFD only: the CPU count; `bucket` then means CPU. */
    cpus: z.number().int().min(1).max(128).default(8),
  })
  .superRefine((c, ctx) => {
    if (c.portRange[0] > c.portRange[1]) {
      ctx.addIssue({ code: 'custom', path: ['portRange'], message: 'must be [low, high] with low <= high' });
    }
    const family = familyOf(c);
    if (c.localAddress !== undefined && parseAddress(family, c.localAddress) === null) {
      ctx.addIssue({ code: 'custom', path: ['localAddress'], message: `is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address (family ${family})` });
    }
    if (c.reta !== undefined) {
      // Without retaSize, the table's own length is its size.
      const size = c.retaSize ?? c.reta.length;
      if (c.reta.length !== size) {
        ctx.addIssue({ code: 'custom', path: ['reta'], message: `must have retaSize (${size}) entries, has ${c.reta.length}` });
      } else if (size < 2 || size > 65536 || !isPowerOfTwo(size)) {
        ctx.addIssue({ code: 'custom', path: ['reta'], message: `must have a power of two in 2..65536 entries, has ${size}` });
      }
      const at = c.reta.findIndex((b) => b >= c.buckets);
      if (at >= 0) ctx.addIssue({ code: 'custom', path: ['reta', at], message: `is not a bucket (buckets: ${c.buckets})` });
    }
  })
  .transform((c) => {
    const retaSize = c.retaSize ?? c.reta?.length ?? 128;
    const family = familyOf(c);
    return {
      ...c,
      retaSize,
      family,
      reta: c.reta ?? Array.from({ length: retaSize }, (_, i) => i % c.buckets),
      localAddress: c.localAddress ?? DEFAULT_LOCAL[family],
    };
  });
export type Config = z.infer<typeof configSchema>;

const remoteAddress = z.string().refine((a) => parseIPv4(a) !== null || parseIPv6(a) !== null, 'is not an IPv4 or IPv6 address');

export const commandSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('setRemote'), address: remoteAddress, port }),
  z.strictObject({ op: z.literal('allocate'), bucket: id }),
  z.strictObject({ op: z.literal('release'), port, revision: id }),
]);
export type Command = z.infer<typeof commandSchema>;

export const outcomeSchemas = {
  setRemote: z.strictObject({ ok: z.literal(true), revision: id }),
  allocate: z.union([z.strictObject({ ok: z.literal(true), port }), failure(['exhausted', 'bad-bucket', 'no-remote'])]),
  release: z.union([okOnly, failure(['not-allocated'])]),
} satisfies Record<Command['op'], z.ZodType>;
export type OutcomeOf<Op extends Command['op']> = z.infer<(typeof outcomeSchemas)[Op]>;
export type Outcome = OutcomeOf<Command['op']>;

// ---- state ----

export interface Remote {
  address: string;
  port: number;
}

export interface Holding {
  /** The remote of that revision: with the local address and a port, the 4-tuple the port is held for. */
  remote: Remote;
  /** Held ports, as a set: port → true (listed ascending, as an object lists integer keys). */
  ports: Record<number, true>;
  /** How many ports it holds: a revision that holds none is dropped. */
  count: number;
}

/** Readings of rule 4 (the current remote set again) and rule 6 (a bucket that no RETA entry names). */
export const SAME_REMOTE_AGAIN = ['same revision', 'new revision'] as const;
export const UNNAMED_BUCKET = ['exhausted', 'bad-bucket'] as const;

export interface State {
  config: Config;
  /** Reading: what setRemote to the remote already current does, for the whole run. */
  sameRemoteAgain: (typeof SAME_REMOTE_AGAIN)[number];
  /** Reading: what allocate answers for a bucket that no RETA entry names, for the whole run. */
  unnamedBucket: (typeof UNNAMED_BUCKET)[number];
  /** The current revision; 0 until the first setRemote. */
  revision: number;
  /** The current remote (null until the first setRemote). */
  remote: Remote | null;
  /** Per revision that holds at least one port: its remote and its ports. Revisions holding none are absent. */
  held: Record<number, Holding>;
}

// ---- alignment (rule 1) ----

export const roundUpPow2 = (n: number) => 2 ** Math.ceil(Math.log2(n));

/** How many buckets `allocate` may name: `buckets`, or `cpus` under RFD. */
export const bucketCount = (c: Config) => (c.align === 'rfd' ? c.cpus : c.buckets);

/** The bucket (RFD: the CPU) the replies to `remote` from local port `localPort` are steered to; -1 for none. */
export function bucketOf(c: Config, remote: Remote, localPort: number): number {
  return steering(c, remote)(localPort);
}

/** bucketOf for one (config, remote), with the key and addresses parsed once. */
function steering(c: Config, remote: Remote): (localPort: number) => number {
  if (c.align === 'rfd') {
    // fastsocket netif_deliver_cpu: cpu = dport & (roundup_pow_of_two(ncpu) - 1), ignored when >= ncpu.
    const mask = roundUpPow2(c.cpus) - 1;
    return (localPort) => ((localPort & mask) < c.cpus ? localPort & mask : -1);
  }
  const key = keyBytes(c.key);
  const remoteBytes = addressBytes(c.family, remote.address);
  const localBytes = addressBytes(c.family, c.localAddress);
  return (localPort) => c.reta[toeplitz(key, replyInput(remoteBytes, localBytes, remote.port, localPort)) & (c.retaSize - 1)];
}

function addressBytes(family: Family, text: string): number[] {
  const bytes = parseAddress(family, text);
  if (bytes === null) throw new InputError('setRemote.address', `is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address (the config's family is ${family})`);
  return bytes;
}

// What a config implies, computed once: the bit-by-bit hash is the definition, but a run asks the same
// questions thousands of times, and a step must not cost what the whole range or RETA costs.
interface Derived {
  /** 1 for each bucket some RETA entry names. */
  named: Uint8Array;
  /** Per remote (address bytes and port): the bucket of every port of the range, and each bucket's ports. */
  remotes: Map<string, { bucketOfPort: Int32Array; aligned: Map<number, number[]> }>;
}
const derivedOf = new WeakMap<object, Derived>();
const derivedByText = new Map<string, Derived>();

function derived(c: Config): Derived {
  const plain = raw(c);
  let d = derivedOf.get(plain);
  if (d === undefined) {
    // A copy of the state (a second way forward) has a copy of the config: found again by its text.
    const text = JSON.stringify(plain);
    d = derivedByText.get(text);
    if (d === undefined) {
      const named = new Uint8Array(c.buckets);
      for (const b of c.reta) named[b] = 1;
      d = { named, remotes: new Map() };
      if (derivedByText.size >= 32) derivedByText.clear();
      derivedByText.set(text, d);
    }
    derivedOf.set(plain, d);
  }
  return d;
}

/** True iff some RETA entry names `bucket`. */
const isNamed = (c: Config, bucket: number) => bucket < c.buckets && derived(c).named[bucket] === 1;

/** Every port of the range that is aligned to `bucket` for `remote`, ascending (shared: do not modify). */
export function alignedPorts(c: Config, remote: Remote, bucket: number): readonly number[] {
  const d = derived(c);
  // By the address's text (parsed, and so checked, when its table is made): two spellings of one address get two equal tables.
  const remoteKey = `${remote.address}|${remote.port}`;
  let table = d.remotes.get(remoteKey);
  if (table === undefined) {
    const [low, high] = c.portRange;
    const bucketOf = steering(c, remote);
    const bucketOfPort = new Int32Array(high - low + 1);
    for (let p = low; p <= high; p++) bucketOfPort[p - low] = bucketOf(p);
    table = { bucketOfPort, aligned: new Map() };
    if (d.remotes.size >= 64) d.remotes.clear();
    d.remotes.set(remoteKey, table);
  }
  let ports = table.aligned.get(bucket);
  if (ports === undefined) {
    ports = [];
    for (let i = 0; i < table.bucketOfPort.length; i++) if (table.bucketOfPort[i] === bucket) ports.push(c.portRange[0] + i);
    table.aligned.set(bucket, ports);
  }
  return ports;
}

const sameRemote = (c: Config, a: Remote, b: Remote) =>
  a.port === b.port && addressBytes(c.family, a.address).join('.') === addressBytes(c.family, b.address).join('.');

// ---- actions ----

function setRemote(s: State, c: Extract<Command, { op: 'setRemote' }>): Outcome {
  const remote = { address: c.address, port: c.port };
  addressBytes(s.config.family, c.address); // a remote of the other family is bad input, not an outcome
  // Rule 4 speaks of a *change* of remote: setting the same one again keeps the revision under one reading.
  if (s.remote !== null && sameRemote(s.config, s.remote, remote) && s.sameRemoteAgain === 'same revision') return { ok: true, revision: s.revision };
  s.revision += 1;
  s.remote = remote;
  return { ok: true, revision: s.revision };
}

function allocate(s: State, c: Extract<Command, { op: 'allocate' }>, choose: Choose<Outcome>): Outcome {
  const errors: ('bad-bucket' | 'no-remote')[] = [];
  if (c.bucket >= bucketCount(s.config)) errors.push('bad-bucket');
  // A bucket that no RETA entry names is no bucket of the table under one reading; under the other it is a
  // bucket without ports, which the rules below find exhausted.
  else if (s.config.align === 'toeplitz' && s.unnamedBucket === 'bad-bucket' && !isNamed(s.config, c.bucket)) errors.push('bad-bucket');
  if (s.remote === null) errors.push('no-remote');
  const rejected = oneOf(errors, choose); // rule 6
  if (rejected) return rejected;

  const holding = s.held[s.revision];
  // Rules 1 and 2. The scan of the held set only reads it: it goes past the oracle's journal (which must see
  // writes, not reads), so a bucket's thousands of ports cost a plain loop.
  const held = holding === undefined ? undefined : raw(holding.ports);
  const free = alignedPorts(s.config, s.remote!, c.bucket).filter((p) => held?.[p] !== true);
  if (free.length === 0) return { ok: false, error: 'exhausted' }; // rule 3
  const port = free.length === 1 ? free[0] : choose('which free port', free, (o) => ('port' in o ? o.port : undefined)); // rule 5
  if (holding === undefined) s.held[s.revision] = { remote: { address: s.remote!.address, port: s.remote!.port }, ports: { [port]: true }, count: 1 };
  else {
    holding.ports[port] = true;
    holding.count += 1;
  }
  return { ok: true, port };
}

function release(s: State, c: Extract<Command, { op: 'release' }>): Outcome {
  const holding = s.held[c.revision];
  if (holding === undefined || holding.ports[c.port] !== true) return { ok: false, error: 'not-allocated' }; // rule 2
  delete holding.ports[c.port];
  holding.count -= 1;
  if (holding.count === 0) delete s.held[c.revision];
  return { ok: true };
}

export const model: Model<Config, State, Command, Outcome> = {
  init: (config, read) => ({
    config,
    sameRemoteAgain: read('the current remote set again', SAME_REMOTE_AGAIN),
    unnamedBucket: read('a bucket no RETA entry names', UNNAMED_BUCKET),
    revision: 0,
    remote: null,
    held: {},
  }),
  step: (s, cmd, choose) =>
    match(cmd)
      .with({ op: 'setRemote' }, (c) => setRemote(s, c))
      .with({ op: 'allocate' }, (c) => allocate(s, c, choose))
      .with({ op: 'release' }, (c) => release(s, c))
      .exhaustive(),
};

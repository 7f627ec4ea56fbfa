// rss-ports, default config (default key, IPv4, 128-entry RETA over 8 buckets, ports 32768..60999), with
// the remote 198.51.100.7:443 set and half of bucket 3's aligned ports held.
//  - impl vs model: allocate + release of one port of bucket 3, `apply` against `observe`.
//  - route vs limit: the allocator's hot path (`take` + `release`) against a ring of the bucket's free
//    ports built from the model's warm state: take the head, put it back at the tail. Handing out a free
//    aligned port and taking it back cannot cost less than one read and one write of such a structure; the
//    check before timing drains both and requires the same set of ports.
//  - extras, as before: the table-driven Toeplitz hash against the bit-by-bit model; after a remote change,
//    one bucket's aligned ports listed from the port classes against hashing every port of the range; and allocated
//    one by one until exhausted (then released) by the allocator against a brute-force allocator.
//  - oracle: the plain test and steerspec's check. step100kVs1k does not apply: a port range holds at most
//    65,535 allocations. table128Vs8's analogue is the RETA: 128 entries vs 8 (8 buckets either way).
import { EXHAUSTED, RssPortsImpl } from '../impl/rss-ports.ts';
import { ToeplitzTable } from '../impl/toeplitz.ts';
import { alignedPorts, configSchema, type State } from '../model/rss-ports.ts';
import { DEFAULT_KEY, keyBytes, parseIPv4, replyInput, toeplitz } from '../model/toeplitz.ts';
import { schemes } from '../schemes.ts';
import { assemble, interleave, paired, plansFor, spread, type BenchOptions, type Plan, type Ratio, type SchemeReport, type Figure } from './measure.ts';
import { oracleVsFastCheck, stepTimes } from './oracle.ts';
import { implVsModel, routeVsLimit, script, warmModel, type Load } from './steering.ts';

const scheme = schemes.get('rss-ports')!;
const config = configSchema.parse({});
const [low, high] = config.portRange;
const key = keyBytes(DEFAULT_KEY);
const local = parseIPv4(config.localAddress)!;
const remotes = [
  { address: '198.51.100.7', port: 443 },
  { address: '203.0.113.9', port: 443 },
];
const remoteBytes = remotes.map((r) => parseIPv4(r.address)!);
const BUCKET = 3;
const share = alignedPorts(config, remotes[0], BUCKET).length;

/** The remote set, `held` ports of the bucket allocated, then allocate + release pairs. */
const warm = (held: number, raw: unknown = {}): Load => ({
  config: raw,
  setup: [{ op: 'setRemote', ...remotes[0] }, ...Array.from({ length: held }, () => ({ op: 'allocate', bucket: BUCKET }))],
  next: (i, last) => (i % 2 === 0 ? { op: 'allocate', bucket: BUCKET } : { op: 'release', port: (last as { port: number }).port, revision: 1 }),
});

/** A warm allocator, as `warm(held)` leaves it. */
function warmImpl(held: number): RssPortsImpl {
  const impl = new RssPortsImpl(config);
  impl.setRemote(remotes[0].address, remotes[0].port);
  for (let k = 0; k < held; k++) impl.take(BUCKET);
  return impl;
}

/** The free ports of the bucket in the model's warm state, as a ring with room for all of them. */
function warmRing(held: number) {
  const state = warmModel(scheme, script(scheme, warm(held), 0))[0].state as State;
  const holding = state.held[1]?.ports ?? {};
  const free = alignedPorts(config, remotes[0], BUCKET).filter((p) => holding[p] !== true);
  const ring = new Int32Array(free.length + 1);
  ring.set(free);
  return { ring, head: 0, tail: free.length };
}

/** The seed's figures: hashing, and a bucket's ports after a remote change (port classes and allocator vs brute force). */
function hashingFigures(plan: Plan): { figures: Figure[]; ratios: Ratio[] } {
  const table = new ToeplitzTable(Uint8Array.from(key), 12);
  const input = Uint8Array.from(replyInput(remoteBytes[0], local, 443, 0));
  const inputArray = [...input];
  const out = new Int32Array(high - low + 1);
  const held = new Uint8Array(high - low + 1);
  let sink = 0;
  let i = 0;
  // The seed's approach: hash the range's ports for the current remote and keep those of the bucket.
  const hashRange = (remote: number[], remotePort: number, visit: (port: number) => void) => {
    input.set(remote, 0);
    input[8] = remotePort >> 8;
    input[9] = remotePort & 0xff;
    for (let p = low; p <= high; p++) {
      input[10] = p >> 8;
      input[11] = p & 0xff;
      if (config.reta[table.hash(input) & (config.retaSize - 1)] === BUCKET) visit(p);
    }
  };
  const lister = new RssPortsImpl(config);
  const allocator = new RssPortsImpl(config);
  const tasks = [
    {
      name: 'hash, table-driven (impl)',
      ops: 1024,
      run: () => {
        for (let k = 0; k < 1024; k++, i++) {
          input[10] = (i >> 8) & 0xff;
          input[11] = i & 0xff;
          sink ^= table.hash(input);
        }
      },
    },
    {
      name: 'hash, bit by bit (model)',
      ops: 64,
      run: () => {
        for (let k = 0; k < 64; k++, i++) {
          inputArray[10] = (i >> 8) & 0xff;
          inputArray[11] = i & 0xff;
          sink ^= toeplitz(key, inputArray);
        }
      },
    },
    {
      name: "list one bucket's ports after a remote change: port classes",
      ops: 1,
      run: () => {
        const r = remotes[i++ & 1];
        lister.setRemote(r.address, r.port);
        sink += lister.alignedInto(BUCKET, out);
      },
    },
    {
      name: "list one bucket's ports after a remote change: hash the range",
      ops: 1,
      run: () => {
        let n = 0;
        hashRange(remoteBytes[i++ & 1], 443, (p) => (out[n++] = p));
        sink += n;
      },
    },
    {
      name: "allocate a bucket dry after a remote change (and release): allocator",
      ops: 1,
      run: () => {
        const r = remotes[i++ & 1];
        const revision = allocator.setRemote(r.address, r.port);
        let n = 0;
        for (let p = allocator.take(BUCKET); p >= 0; p = allocator.take(BUCKET)) out[n++] = p;
        for (let k = 0; k < n; k++) allocator.release(out[k], revision);
        sink += n;
      },
    },
    {
      name: "allocate a bucket dry after a remote change (and release): hash the range",
      ops: 1,
      run: () => {
        let n = 0;
        held.fill(0);
        hashRange(remoteBytes[i++ & 1], 443, (p) => {
          held[p - low] = 1;
          out[n++] = p;
        });
        for (let k = 0; k < n; k++) held[out[k] - low] = 0;
        sink += n;
      },
    },
  ];
  const rates = interleave(tasks, plan);
  if (sink === 0.5) console.log(sink); // keeps the loops' results alive
  return {
    figures: tasks.map((t, k) => ({ name: t.name, unit: '/s' as const, value: spread(rates[k]) })),
    ratios: [
      { name: 'hash: table-driven / bit by bit', value: paired(rates[0], rates[1]), target: { atLeast: 10 } },
      { name: "a bucket's ports after a remote change: port classes / hash the range", value: paired(rates[2], rates[3]), target: { atLeast: 50 } },
      { name: 'allocate a bucket dry after a remote change: allocator / hash the range', value: paired(rates[4], rates[5]) },
    ],
  };
}

export default async function bench(options: BenchOptions): Promise<SchemeReport> {
  const plans = plansFor(options);
  const held = options.smoke ? 16 : Math.floor(share / 2);
  const routing = routeVsLimit(
    scheme,
    {
      what: `take + release in bucket ${BUCKET}, ${held} of its ${share} ports held`,
      route: () => {
        const impl = warmImpl(held);
        return (n, out) => {
          let sink = 0;
          for (let k = 0; k < n; k++) {
            const port = impl.take(BUCKET);
            impl.release(port, 1);
            sink += port;
            if (out) out[k] = port;
          }
          return sink;
        };
      },
      limit: () => {
        const r = warmRing(held);
        const size = r.ring.length;
        return (n, out) => {
          let sink = 0;
          for (let k = 0; k < n; k++) {
            const port = r.ring[r.head];
            r.head = r.head + 1 === size ? 0 : r.head + 1;
            r.ring[r.tail] = port;
            r.tail = r.tail + 1 === size ? 0 : r.tail + 1;
            sink += port;
            if (out) out[k] = port;
          }
          return sink;
        };
      },
      check: () => {
        const impl = warmImpl(held);
        const taken: number[] = [];
        for (let p = impl.take(BUCKET); p !== EXHAUSTED; p = impl.take(BUCKET)) {
          if (p < 0) return `take gave ${p}`;
          taken.push(p);
        }
        const r = warmRing(held);
        const free = Array.from(r.ring.subarray(0, r.tail));
        const sorted = (a: number[]) => [...a].sort((x, y) => x - y).join(',');
        return sorted(taken) === sorted(free) ? null : `the allocator hands out ${taken.length} ports, the ring holds ${free.length} (or other ones)`;
      },
    },
    plans.micro,
    1024,
  );
  return assemble(
    'rss-ports',
    `rss-ports: default config (ports ${low}..${high}, ${share} aligned to bucket ${BUCKET})`,
    [],
    [
      implVsModel(scheme, { what: `allocate + release, ${held} of ${share} ports held`, load: warm(held) }, plans.micro, 64),
      routing,
      hashingFigures(plans.micro),
      await oracleVsFastCheck(scheme, plans.oracle),
      await stepTimes(
        scheme,
        {
          small: warm(0, { retaSize: plans.table[0] }),
          large: warm(0, { retaSize: plans.table[1] }),
          smallName: `a ${plans.table[0]}-entry RETA`,
          largeName: `a ${plans.table[1]}-entry RETA`,
          key: 'table128Vs8',
          atMost: 2,
          name: `oracle step time with a ${plans.table[1]}-entry / a ${plans.table[0]}-entry RETA (the analogue of a table)`,
        },
        plans.steps,
      ),
    ],
    { step100kVs1k: 'a port range holds at most 65,535 allocations, so 100,000 open connections cannot exist' },
  );
}

// rss-ports, default config (default key, IPv4, 128-entry RETA over 8 buckets, ports 32768..60999):
// 1. the table-driven Toeplitz hash against the bit-by-bit model (12-byte reply tuples);
// 2. after a remote change, the aligned ports of one bucket (about 3530 of the 28232): listed by the solver
//    (one hash, an XOR relabelling, copies) against hashing every port in the range; and allocated one by one
//    until exhausted (then released) by the allocator against a brute-force allocator that hashes the range;
// 3. allocate + release pairs on a warm allocator (half of the bucket's ports held), hot path and apply().
import { RssPortsImpl } from '../impl/rss-ports.ts';
import { ToeplitzTable } from '../impl/toeplitz.ts';
import { configSchema } from '../model/rss-ports.ts';
import { DEFAULT_KEY, keyBytes, parseIPv4, replyInput, toeplitz } from '../model/toeplitz.ts';
import { measureRates, ratio, type BenchSection } from './measure.ts';

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
const BATCH = 1024;

export default async function bench(): Promise<BenchSection> {
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
  const warm = new RssPortsImpl(config);
  warm.setRemote(remotes[0].address, remotes[0].port);
  const share = warm.alignedInto(BUCKET, out);
  for (let k = 0; k < share / 2; k++) warm.take(BUCKET);

  const rates = await measureRates([
    {
      name: 'hash, table-driven (impl)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++, i++) {
          input[10] = (i >> 8) & 0xff;
          input[11] = i & 0xff;
          sink ^= table.hash(input);
        }
      },
    },
    {
      name: 'hash, bit by bit (model)',
      batch: 64,
      run: () => {
        for (let k = 0; k < 64; k++, i++) {
          inputArray[10] = (i >> 8) & 0xff;
          inputArray[11] = i & 0xff;
          sink ^= toeplitz(key, inputArray);
        }
      },
    },
    {
      name: "list one bucket's ports after a remote change: solver",
      batch: 1,
      run: () => {
        const r = remotes[i++ & 1];
        lister.setRemote(r.address, r.port);
        sink += lister.alignedInto(BUCKET, out);
      },
    },
    {
      name: "list one bucket's ports after a remote change: hash the range",
      batch: 1,
      run: () => {
        let n = 0;
        hashRange(remoteBytes[i++ & 1], 443, (p) => (out[n++] = p));
        sink += n;
      },
    },
    {
      name: "allocate all of one bucket's ports after a remote change (and release): allocator",
      batch: 1,
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
      name: "allocate all of one bucket's ports after a remote change (and release): hash the range",
      batch: 1,
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
    {
      name: 'allocate + release pairs, warm allocator (take/release)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++) sink += warm.release(warm.take(BUCKET), 1) ? 1 : 0;
      },
    },
    {
      name: 'allocate + release pairs, warm allocator (apply, with outcomes)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++) {
          const o = warm.apply({ op: 'allocate', bucket: BUCKET });
          if (o.ok && 'port' in o) warm.apply({ op: 'release', port: o.port, revision: 1 });
          sink++;
        }
      },
    },
  ]);
  if (sink === 0.5) console.log(sink); // keeps the loops from being optimized away
  return {
    title: `rss-ports: default config (ports ${low}..${high}, ${share} aligned to bucket ${BUCKET})`,
    rates,
    ratios: [
      { name: 'hash: table-driven / bit by bit', value: ratio(rates, rates[0].name, rates[1].name), target: 10 },
      { name: "bucket's ports after a remote change: solver / hash the range", value: ratio(rates, rates[2].name, rates[3].name), target: 50 },
      { name: "allocate a bucket dry after a remote change: allocator / hash the range", value: ratio(rates, rates[4].name, rates[5].name) },
    ],
  };
}

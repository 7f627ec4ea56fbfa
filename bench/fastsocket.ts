// Fastsocket on a warm 64-CPU machine in mode 2: two global listeners, and one local copy spawned on
// each of CPUs 0..47, so SYNs on CPUs 48..63 fall back to the global table. Packet i arrives on CPU
// i % 64 with hash mix(i).
//  - impl vs model: connect + closeConn of one connection, `apply` against `observe`.
//  - route vs limit: `route` against a loop over two typed arrays built from the model's warm state: the
//    head of the CPU's local table, else floor(hash * 2 / 2^32) into the two globals. That is rule 5's
//    whole lookup, so no correct route can do less.
//  - oracle: the plain test and steerspec's check; step time at 1k/100k open connections; step time on a
//    128x128 table (128 CPUs, 128 local listeners spawned on each) vs 8x8.
import { FastsocketImpl } from '../impl/fastsocket.ts';
import type { State } from '../model/fastsocket.ts';
import { schemes } from '../schemes.ts';
import { assemble, mix, plansFor, type BenchOptions, type SchemeReport } from './measure.ts';
import { longReplay, openRatio, oracleVsFastCheck, stepTimes, type OpenLoad } from './oracle.ts';
import { field, implVsModel, routeVsLimit, script, warmModel, type Load } from './steering.ts';

const scheme = schemes.get('fastsocket')!;
const CPUS = 64;
const LOCAL_CPUS = 48;
const config = { cpus: CPUS, listenSpawn: 2 };
const setup = [
  { op: 'listen', listener: 1, uid: 0 },
  { op: 'listen', listener: 2, uid: 0 },
  ...Array.from({ length: LOCAL_CPUS }, (_, cpu) => ({ op: 'spawn', listener: 1, local: 100 + cpu, worker: cpu, cpu: null })),
];
const PACKETS = 4096;
const cpuOf = Int32Array.from({ length: PACKETS }, (_, i) => i % CPUS);
const hashOf = Uint32Array.from({ length: PACKETS }, (_, i) => mix(i));

const warm: Load = {
  config,
  setup,
  next: (i) => (i % 2 === 0 ? { op: 'connect', conn: 1, cpu: cpuOf[(i >> 1) % PACKETS], hash: hashOf[(i >> 1) % PACKETS] } : { op: 'closeConn', conn: 1 }),
};

/** `n` CPUs, each with a local table of `n` copies of one global listener. */
const fullTables = (n: number): Load => ({
  config: { cpus: n, listenSpawn: 1 },
  setup: [
    { op: 'listen', listener: 0, uid: 0 },
    ...Array.from({ length: n * n }, (_, k) => ({ op: 'spawn', listener: 0, local: 1 + k, worker: k % n, cpu: k % n })),
  ],
  next: (i) => (i % 2 === 0 ? { op: 'connect', conn: 1_000_000, cpu: (i >> 1) % n, hash: mix(i) } : { op: 'closeConn', conn: 1_000_000 }),
});

/** The open-connections load: step time at 1k vs 100k, and the long replay. */
const open: OpenLoad = {
  config: { cpus: 2, listenSpawn: 0 },
  listeners: [{ op: 'listen', listener: 1, uid: 0 }],
  acceptFrom: 1,
  connect: (conn, i) => ({ op: 'connect', conn, cpu: i % 2, hash: mix(i) }),
  close: (conn) => ({ op: 'closeConn', conn }),
};

export default async function bench(options: BenchOptions): Promise<SchemeReport> {
  const plans = plansFor(options);
  const routing = routeVsLimit(
    scheme,
    {
      what: '64 CPUs, 48 with a local listener',
      route: () => {
        const impl = new FastsocketImpl(scheme.config.parse(config));
        for (const cmd of setup) impl.apply(scheme.command.parse(cmd));
        const ids = field(impl, 'listenerId');
        return (n, out) => {
          let sink = 0;
          for (let k = 0; k < n; k++) {
            const i = k % PACKETS;
            const slot = impl.route(cpuOf[i], hashOf[i]);
            sink += slot;
            if (out) out[k] = ids[slot];
          }
          return sink;
        };
      },
      limit: () => {
        const state = warmModel(scheme, script(scheme, warm, 0))[0].state as State;
        const heads = Int32Array.from(state.tables.map((t) => (t.length > 0 ? t[0] : -1)));
        const globals = Int32Array.from(state.listenOrder);
        return (n, out) => {
          let sink = 0;
          for (let k = 0; k < n; k++) {
            const i = k % PACKETS;
            const head = heads[cpuOf[i]];
            const listener = head >= 0 ? head : globals[Math.floor((hashOf[i] * 2) / 4294967296)];
            sink += listener;
            if (out) out[k] = listener;
          }
          return sink;
        };
      },
    },
    plans.micro,
    1024,
  );
  return assemble(
    'fastsocket',
    'fastsocket: a warm 64-CPU machine in mode 2, 2 global listeners, a local copy on 48 CPUs',
    [],
    [
      implVsModel(scheme, { what: 'connect + closeConn', load: warm }, plans.micro, 256),
      routing,
      await oracleVsFastCheck(scheme, plans.oracle),
      await openRatio(scheme, open, plans.open, plans.steps),
      await longReplay(scheme, open, plans.replay),
      await stepTimes(
        scheme,
        {
          small: fullTables(plans.table[0]),
          large: fullTables(plans.table[1]),
          smallName: `${plans.table[0]}x${plans.table[0]} local tables`,
          largeName: `${plans.table[1]}x${plans.table[1]} local tables`,
          key: 'table128Vs8',
          atMost: 2,
          name: `oracle step time on ${plans.table[1]}x${plans.table[1]} / on ${plans.table[0]}x${plans.table[0]} local tables`,
        },
        plans.steps,
      ),
    ],
  );
}

// SO_REUSERPS on a warm 64-CPU machine with full tables: 128 listeners, each on 4 CPUs, 8 per CPU table,
// round-robin, no limits. Packet i arrives on CPU i % 64 with hash mix(i).
//  - impl vs model: connect + close of one connection, the impl's `apply` against the model's `observe`.
//  - route vs limit: `route` (pick the listener, move the cursor) against a loop over the same 64x8 table
//    of listener ids and 64 cursors: read the entry at the cursor, move the cursor. With no limits set,
//    that read and that move are the whole of rule 5, so no correct route can do less.
//  - oracle: the plain test and steerspec's check; step time at 1k/100k open connections; step time on a
//    128x128 table (128 CPUs, 128 listeners each on every CPU: every slot of every table filled) vs 8x8.
import { ReuserpsImpl } from '../impl/reuserps.ts';
import { schemes } from '../schemes.ts';
import type { Command, State } from '../model/reuserps.ts';
import { assemble, mix, plansFor, type BenchOptions, type SchemeReport } from './measure.ts';
import { longReplay, openRatio, oracleVsFastCheck, stepTimes, type OpenLoad } from './oracle.ts';
import { field, implVsModel, routeVsLimit, script, warmModel, type Load } from './steering.ts';

const scheme = schemes.get('reuserps')!;
const CPUS = 64;
const SLOTS = 8;
const config = { cpus: CPUS, slotsPerCpu: SLOTS, policy: 'round-robin', fallback: 'refuse' };
const registrations: Command[] = Array.from({ length: 128 }, (_, l) => ({
  op: 'register',
  listener: l,
  uid: 0,
  reuserps: true,
  cpus: [0, 1, 2, 3].map((k) => (l * 4 + k) % CPUS),
  limit: 0,
}));
const PACKETS = 4096;
const cpuOf = Int32Array.from({ length: PACKETS }, (_, i) => i % CPUS);
const hashOf = Uint32Array.from({ length: PACKETS }, (_, i) => mix(i));

const warm: Load = {
  config,
  setup: registrations,
  next: (i) => (i % 2 === 0 ? { op: 'connect', conn: 1, cpu: cpuOf[(i >> 1) % PACKETS], hash: hashOf[(i >> 1) % PACKETS] } : { op: 'close', conn: 1 }),
};

/** Every one of `n` CPUs has an n-slot table, every slot filled: n listeners, each on every CPU. */
const fullTables = (n: number): Load => ({
  config: { cpus: n, slotsPerCpu: n, policy: 'round-robin', fallback: 'refuse' },
  setup: Array.from({ length: n }, (_, l) => ({ op: 'register', listener: l, uid: 0, reuserps: true, cpus: Array.from({ length: n }, (_, c) => c), limit: 0 })),
  next: (i) => (i % 2 === 0 ? { op: 'connect', conn: 1_000_000, cpu: (i >> 1) % n, hash: mix(i) } : { op: 'close', conn: 1_000_000 }),
});

/** The open-connections load: step time at 1k vs 100k, and the long replay. */
const open: OpenLoad = {
  config: { cpus: 2, slotsPerCpu: 4 },
  listeners: [{ op: 'register', listener: 1, uid: 0, reuserps: true, cpus: [0, 1], limit: 0 }],
  acceptFrom: 1,
  connect: (conn, i) => ({ op: 'connect', conn, cpu: i % 2, hash: mix(i) }),
  close: (conn) => ({ op: 'close', conn }),
};

export default async function bench(options: BenchOptions): Promise<SchemeReport> {
  const plans = plansFor(options);
  const routing = routeVsLimit(
    scheme,
    {
      what: '64 CPUs x 8 slots, round-robin',
      route: () => {
        const impl = new ReuserpsImpl(scheme.config.parse(config));
        for (const cmd of registrations) impl.apply(cmd);
        const ids = field(impl, 'listenerId');
        let i = 0;
        return (n, out) => {
          let sink = 0;
          for (let k = 0; k < n; k++, i = (i + 1) % PACKETS) {
            const slot = impl.route(cpuOf[i], hashOf[i]);
            sink += slot;
            if (out) out[k] = ids[slot];
          }
          return sink;
        };
      },
      limit: () => {
        // The tables and cursors of the model's warm state, as flat typed arrays.
        const s = script(scheme, { ...warm, next: () => ({ op: 'close', conn: 1 }) }, 0);
        const state = warmModel(scheme, s)[0].state as State;
        const tables = new Int32Array(CPUS * SLOTS);
        state.tables.forEach((t, cpu) => t.forEach((l, at) => (tables[cpu * SLOTS + at] = l)));
        const cursors = Int32Array.from(state.cursors);
        let i = 0;
        return (n, out) => {
          let sink = 0;
          for (let k = 0; k < n; k++, i = (i + 1) % PACKETS) {
            const cpu = cpuOf[i];
            const at = cursors[cpu];
            const listener = tables[cpu * SLOTS + at];
            cursors[cpu] = at + 1 === SLOTS ? 0 : at + 1;
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
    'reuserps',
    'reuserps: a warm 64-CPU machine, 128 listeners on 4 CPUs each (8 per table), round-robin',
    [],
    [
      implVsModel(scheme, { what: 'connect + close', load: warm }, plans.micro, 256),
      routing,
      await oracleVsFastCheck(scheme, plans.oracle),
      await openRatio(scheme, open, plans.open, plans.steps),
      await longReplay(scheme, open, plans.replay),
      await stepTimes(
        scheme,
        {
          small: fullTables(plans.table[0]),
          large: fullTables(plans.table[1]),
          smallName: `${plans.table[0]}x${plans.table[0]} table`,
          largeName: `${plans.table[1]}x${plans.table[1]} table`,
          key: 'table128Vs8',
          atMost: 2,
          name: `oracle step time on a ${plans.table[1]}x${plans.table[1]} / on an ${plans.table[0]}x${plans.table[0]} table`,
        },
        plans.steps,
      ),
    ],
  );
}

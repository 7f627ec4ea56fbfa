// DragonFly SO_REUSEPORT on a warm group of 64 listeners, one per network CPU (64 CPUs). Packet i has
// hash mix(i).
//  - impl vs model: connect + close of one connection, `apply` against `observe`.
//  - route vs limit: `route` (index hash % count in the slot-sorted group, and `local`) against a loop over
//    the model's slot-sorted members as two typed arrays (listener id, CPU of its slot): one modulo, two
//    reads and the CPU comparison, which is all rule 3 asks, so no correct route can do less.
//  - oracle: the plain test and steerspec's check; step time at 1k/100k open connections. table128Vs8 has
//    no per-CPU table here; its analogue is the group: 128 CPUs with a listener on each vs 8 and 8.
import { DragonflyImpl } from '../impl/dragonfly.ts';
import { cpuOfSlot, type State } from '../model/dragonfly.ts';
import { schemes } from '../schemes.ts';
import { assemble, mix, plansFor, type BenchOptions, type SchemeReport } from './measure.ts';
import { longReplay, openRatio, oracleVsFastCheck, stepTimes, type OpenLoad } from './oracle.ts';
import { field, implVsModel, routeVsLimit, script, warmModel, type Load } from './steering.ts';

const scheme = schemes.get('dragonfly')!;
const CPUS = 64;
const config = { cpus: CPUS, groupMax: 256 };
const registrations = Array.from({ length: 64 }, (_, l) => ({ op: 'register', listener: l, uid: 0 }));
const PACKETS = 4096;
const hashOf = Uint32Array.from({ length: PACKETS }, (_, i) => mix(i));

const warm: Load = {
  config,
  setup: registrations,
  next: (i) => (i % 2 === 0 ? { op: 'connect', conn: 1, hash: hashOf[(i >> 1) % PACKETS] } : { op: 'close', conn: 1 }),
};

/** `n` CPUs and a listener on each. */
const group = (n: number): Load => ({
  config: { cpus: n, groupMax: 256 },
  setup: Array.from({ length: n }, (_, l) => ({ op: 'register', listener: l, uid: 0 })),
  next: (i) => (i % 2 === 0 ? { op: 'connect', conn: 1_000_000, hash: mix(i) } : { op: 'close', conn: 1_000_000 }),
});

/** The open-connections load: step time at 1k vs 100k, and the long replay. */
const open: OpenLoad = {
  config: { cpus: 2 },
  listeners: [{ op: 'register', listener: 1, uid: 0 }],
  acceptFrom: 1,
  connect: (conn, i) => ({ op: 'connect', conn, hash: mix(i) }),
  close: (conn) => ({ op: 'close', conn }),
};

export default async function bench(options: BenchOptions): Promise<SchemeReport> {
  const plans = plansFor(options);
  const routing = routeVsLimit(
    scheme,
    {
      what: '64 listeners, one per CPU',
      route: () => {
        const impl = new DragonflyImpl(scheme.config.parse(config));
        for (const cmd of registrations) impl.apply(scheme.command.parse(cmd));
        const ids = field(impl, 'listenerOfSlot');
        const local = impl as unknown as { routedLocally: boolean };
        return (n, out) => {
          let sink = 0;
          for (let k = 0; k < n; k++) {
            const slot = impl.route(hashOf[k % PACKETS]);
            sink += slot + (local.routedLocally ? 1 : 0);
            if (out) out[k] = ids[slot];
          }
          return sink;
        };
      },
      limit: () => {
        const state = warmModel(scheme, script(scheme, warm, 0))[0].state as State;
        const ids = Int32Array.from(state.members.map((m) => m.id));
        const cpus = Int32Array.from(state.members.map((m) => cpuOfSlot(state.config, m.slot)));
        const count = ids.length;
        return (n, out) => {
          let sink = 0;
          for (let k = 0; k < n; k++) {
            const hash = hashOf[k % PACKETS];
            const at = hash % count;
            const listener = ids[at];
            sink += listener + (cpus[at] === (hash & (CPUS - 1)) ? 1 : 0);
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
    'dragonfly',
    'dragonfly: a warm group of 64 listeners, one per CPU (64 CPUs)',
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
          small: group(plans.table[0]),
          large: group(plans.table[1]),
          smallName: `${plans.table[0]} CPUs, a listener on each`,
          largeName: `${plans.table[1]} CPUs, a listener on each`,
          key: 'table128Vs8',
          atMost: 2,
          name: `oracle step time, ${plans.table[1]} / ${plans.table[0]} CPUs with a listener each (the analogue of a table: the group)`,
        },
        plans.steps,
      ),
    ],
  );
}

// NUMA wildcard fallback (FreeBSD SO_REUSEPORT_LB + TCP_REUSPORT_LB_NUMA) on a warm port: 4 domains,
// 48 listeners (0.0.0.0: 8 per domain; 10.0.0.1: 8 in the no-domain group, 8 in domain 1). Packet i goes
// to one of 10.0.0.1 (exact class: domain group or no-domain fallback) and three other addresses (the
// wildcard class), with domain (i >> 2) % 4 and hash mix(i).
//  - impl vs model: connect + close of one connection, `apply` against `observe`.
//  - route vs limit: `route` on a parsed address against a loop that reads the group of (address, domain)
//    from a 16-entry table built from the model's warm state and takes member `hash % count` of it. The
//    class and group rules (rules 4, 5) depend only on (address, domain) while the port does not change,
//    so the limit does them for free: it is the member pick alone, which no route can skip.
//  - oracle: the plain test and steerspec's check; step time at 1k/100k open connections. table128Vs8
//    has no per-CPU table here; its analogue is the group size: 128 listeners vs 8 on one address, spread
//    evenly over 8 domains (16 per group vs 1), packets to every domain.
import { parseAddress, NumaImpl } from '../impl/numa.ts';
import { keyOf, NODOM, WILDCARD, type State } from '../model/numa.ts';
import { schemes } from '../schemes.ts';
import { assemble, mix, plansFor, type BenchOptions, type SchemeReport } from './measure.ts';
import { longReplay, openRatio, oracleVsFastCheck, stepTimes, type OpenLoad } from './oracle.ts';
import { field, implVsModel, routeVsLimit, script, warmModel, type Load } from './steering.ts';

const scheme = schemes.get('numa')!;
const config = { domains: 4, groupMax: 256 };
const setup: unknown[] = [];
for (let l = 0; l < 32; l++) setup.push({ op: 'register', listener: l, uid: 0, address: WILDCARD }, { op: 'setDomain', listener: l, domain: l % 4 });
for (let l = 32; l < 48; l++) {
  setup.push({ op: 'register', listener: l, uid: 0, address: '10.0.0.1' });
  if (l % 2 === 1) setup.push({ op: 'setDomain', listener: l, domain: 1 });
}
const addresses = ['10.0.0.1', '10.0.0.2', '192.168.1.1', '10.0.0.1'];
const PACKETS = 4096;
const addressOf = Int32Array.from({ length: PACKETS }, (_, i) => i & 3);
const domainOf = Int32Array.from({ length: PACKETS }, (_, i) => (i >> 2) & 3);
const hashOf = Uint32Array.from({ length: PACKETS }, (_, i) => mix(i));
const parsed = Uint32Array.from(addresses.map(parseAddress));

const warm: Load = {
  config,
  setup,
  next: (i) => {
    const p = (i >> 1) % PACKETS;
    return i % 2 === 0 ? { op: 'connect', conn: 1, address: addresses[addressOf[p]], domain: domainOf[p], hash: hashOf[p] } : { op: 'close', conn: 1 };
  },
};

/** `n` listeners on 10.0.0.1, spread over 8 domains; packets to every domain. */
const groups = (n: number): Load => ({
  config: { domains: 8, groupMax: 256 },
  setup: Array.from({ length: n }, (_, l) => [
    { op: 'register', listener: l, uid: 0, address: '10.0.0.1' },
    { op: 'setDomain', listener: l, domain: l % 8 },
  ]).flat(),
  next: (i) => (i % 2 === 0 ? { op: 'connect', conn: 1_000_000, address: '10.0.0.1', domain: (i >> 1) % 8, hash: mix(i) } : { op: 'close', conn: 1_000_000 }),
});

/** The open-connections load: step time at 1k vs 100k, and the long replay. */
const open: OpenLoad = {
  config: { domains: 2 },
  listeners: [{ op: 'register', listener: 1, uid: 0, address: '10.0.0.1' }],
  acceptFrom: 1,
  connect: (conn, i) => ({ op: 'connect', conn, address: '10.0.0.1', domain: null, hash: mix(i) }),
  close: (conn) => ({ op: 'close', conn }),
};

export default async function bench(options: BenchOptions): Promise<SchemeReport> {
  const plans = plansFor(options);
  const routing = routeVsLimit(
    scheme,
    {
      what: '4 addresses x 4 domains, 48 listeners',
      route: () => {
        const impl = new NumaImpl(scheme.config.parse(config));
        for (const cmd of setup) impl.apply(scheme.command.parse(cmd));
        const ids = field(impl, 'listenerId');
        return (n, out) => {
          let sink = 0;
          for (let k = 0; k < n; k++) {
            const i = k % PACKETS;
            const slot = impl.route(parsed[addressOf[i]], domainOf[i], hashOf[i]);
            sink += slot;
            if (out) out[k] = ids[slot];
          }
          return sink;
        };
      },
      limit: () => {
        const state = warmModel(scheme, script(scheme, warm, 0))[0].state as State;
        // Per (address, domain): the group rules 4 and 5 pick, as offset and length in `members`.
        const offset = new Int32Array(16);
        const count = new Int32Array(16);
        const members: number[] = [];
        addresses.forEach((address, a) =>
          [0, 1, 2, 3].forEach((d) => {
            const klass = state.groups[address] ? address : WILDCARD;
            const keys = state.groups[klass];
            const group = keys[keyOf(d)] ?? keys[NODOM];
            offset[a * 4 + d] = members.length;
            count[a * 4 + d] = group.length;
            members.push(...group);
          }),
        );
        const flat = Int32Array.from(members);
        return (n, out) => {
          let sink = 0;
          for (let k = 0; k < n; k++) {
            const i = k % PACKETS;
            const g = addressOf[i] * 4 + domainOf[i];
            const listener = flat[offset[g] + (hashOf[i] % count[g])];
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
    'numa',
    'numa: a warm port, 4 domains, 48 listeners on an exact and the wildcard address',
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
          small: groups(plans.table[0]),
          large: groups(plans.table[1]),
          smallName: `${plans.table[0]} listeners in 8 domain groups`,
          largeName: `${plans.table[1]} listeners in 8 domain groups`,
          key: 'table128Vs8',
          atMost: 2,
          name: `oracle step time, ${plans.table[1]} / ${plans.table[0]} listeners (the analogue of a table: group size)`,
        },
        plans.steps,
      ),
    ],
  );
}

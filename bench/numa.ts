// NUMA wildcard fallback: connects per second on a warm port with 4 domains and 48 listeners
// (0.0.0.0: 8 per domain; 10.0.0.1: 8 in the no-domain group, 8 in domain 1). Packets go to
// 10.0.0.1 (exact class, domain group or no-domain fallback) and to three other addresses (wildcard
// class), with domains 0..3: the impl's full connect (parse the address, steer, record, outcome), its
// steering decision alone on a parsed address, the model's connect, and a bare typed-array loop.
import { NumaImpl, parseAddress } from '../impl/numa.ts';
import { configSchema, model, type Command, type State } from '../model/numa.ts';
import { initialState } from '../core/relation.ts';
import { measureRates, ratio, type BenchSection, onlyChoice } from './measure.ts';

const config = configSchema.parse({ domains: 4, groupMax: 256 });
const setup: Command[] = [];
for (let l = 0; l < 32; l++) {
  setup.push({ op: 'register', listener: l, uid: 0, address: '0.0.0.0' });
  setup.push({ op: 'setDomain', listener: l, domain: l % 4 });
}
for (let l = 32; l < 48; l++) {
  setup.push({ op: 'register', listener: l, uid: 0, address: '10.0.0.1' });
  if (l % 2 === 1) setup.push({ op: 'setDomain', listener: l, domain: 1 });
}
const addresses = ['10.0.0.1', '10.0.0.2', '192.168.1.1', '10.0.0.1'];
const parsed = addresses.map(parseAddress);
const BATCH = 1024;

export default async function bench(): Promise<BenchSection> {
  const impl = new NumaImpl(config);
  for (const cmd of setup) impl.apply(cmd);
  let state: State = initialState(model, config);
  for (const cmd of setup) model.step(state, cmd, onlyChoice);

  // The limit: one group of 8 members per domain, picked by hash % 8.
  const members = new Int32Array(4 * 8).map((_, i) => i);
  let sink = 0;
  let i = 0;

  const rates = await measureRates([
    {
      name: 'impl connect + close (parse, steer, record, outcome)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++, i++) {
          const outcome = impl.connect(1, addresses[i & 3], (i >>> 2) & 3, i >>> 0);
          sink += outcome.ok ? 1 : 0;
          impl.close(1);
        }
      },
    },
    {
      name: 'impl steering decision (route)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++, i++) sink += impl.route(parsed[i & 3], (i >>> 2) & 3, i >>> 0);
      },
    },
    {
      name: 'model connect + close (model.step)',
      batch: 64,
      run: () => {
        for (let k = 0; k < 64; k++, i++) {
          model.step(state, { op: 'connect', conn: 1, address: addresses[i & 3], domain: (i >>> 2) & 3, hash: i >>> 0 }, onlyChoice);
          model.step(state, { op: 'close', conn: 1 }, onlyChoice);
        }
      },
    },
    {
      name: 'bare typed-array group pick (the limit)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++, i++) sink += members[((i >>> 2) & 3) * 8 + ((i >>> 0) % 8)];
      },
    },
  ]);
  if (sink === -1) state = initialState(model, config); // keeps the loops from being optimized away
  return {
    title: 'numa: connects per second on a warm port (4 domains, 48 listeners, exact and wildcard addresses)',
    rates,
    ratios: [
      { name: 'impl connect / model connect', value: ratio(rates, rates[0].name, rates[2].name) },
      { name: 'impl steering decision / bare loop', value: ratio(rates, rates[1].name, rates[3].name) },
      { name: 'impl full connect / bare loop', value: ratio(rates, rates[0].name, rates[3].name) },
    ],
  };
}

// DragonFly SO_REUSEPORT connects per second on a warm group of 64 listeners, one per network CPU
// (64 CPUs): the impl's full connect (route, record the connection, build the outcome) and its
// steering decision alone, the model's connect, and a bare `slots[hash % count]` loop as the limit.
import { DragonflyImpl } from '../impl/dragonfly.ts';
import { configSchema, model, type Command, type State } from '../model/dragonfly.ts';
import { initialState } from '../core/relation.ts';
import { measureRates, ratio, type BenchSection, onlyChoice } from './measure.ts';

const config = configSchema.parse({ cpus: 64, groupMax: 256 });
const registrations: Command[] = Array.from({ length: 64 }, (_, l) => ({ op: 'register', listener: l, uid: 0 }));
const BATCH = 1024;

export default async function bench(): Promise<BenchSection> {
  const impl = new DragonflyImpl(config);
  for (const cmd of registrations) impl.apply(cmd);
  let state: State = initialState(model, config);
  for (const cmd of registrations) model.step(state, cmd, onlyChoice);

  // The limit: the slot-sorted group as a typed array, one modulo and one read per packet.
  const slots = new Int32Array(64).map((_, i) => i);
  const count = slots.length;
  let sink = 0;
  let i = 0;

  const rates = await measureRates([
    {
      name: 'impl connect + close (route, record, outcome)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++, i++) {
          const outcome = impl.connect(1, i >>> 0);
          sink += outcome.ok ? 1 : 0;
          impl.close(1);
        }
      },
    },
    {
      name: 'impl steering decision (route)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++, i++) sink += impl.route(i >>> 0);
      },
    },
    {
      name: 'model connect + close (model.step)',
      batch: 64,
      run: () => {
        for (let k = 0; k < 64; k++, i++) {
          model.step(state, { op: 'connect', conn: 1, hash: i >>> 0 }, onlyChoice);
          model.step(state, { op: 'close', conn: 1 }, onlyChoice);
        }
      },
    },
    {
      name: 'bare typed-array slots[hash % count] loop (the limit)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++, i++) sink += slots[(i >>> 0) % count];
      },
    },
  ]);
  if (sink === -1) state = initialState(model, config); // keeps the loops from being optimized away
  return {
    title: 'dragonfly: connects per second on a warm group of 64 listeners, one per CPU',
    rates,
    ratios: [
      { name: 'impl connect / model connect', value: ratio(rates, rates[0].name, rates[2].name), target: 20 },
      { name: 'impl steering decision / bare loop', value: ratio(rates, rates[1].name, rates[3].name), target: 0.4 },
      { name: 'impl full connect / bare loop', value: ratio(rates, rates[0].name, rates[3].name) },
    ],
  };
}

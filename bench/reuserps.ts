// SO_REUSERPS connects per second on a warm 64-CPU table (128 listeners, each on 4 CPUs, no limits):
// the impl's full connect (steer, record the connection, build the outcome) and its steering
// decision alone, the model's connect, and a bare typed-array round-robin loop as the limit.
import { ReuserpsImpl } from '../impl/reuserps.ts';
import { configSchema, model, type Command, type State } from '../model/reuserps.ts';
import { initialState } from '../core/relation.ts';
import { measureRates, ratio, type BenchSection, onlyChoice } from './measure.ts';

const config = configSchema.parse({ cpus: 64, slotsPerCpu: 8, policy: 'round-robin', fallback: 'refuse' });
const registrations: Command[] = Array.from({ length: 128 }, (_, l) => ({
  op: 'register',
  listener: l,
  uid: 0,
  reuserps: true,
  cpus: [0, 1, 2, 3].map((k) => (l * 4 + k) % 64),
  limit: 0,
}));
const BATCH = 1024;

export default async function bench(): Promise<BenchSection> {
  const impl = new ReuserpsImpl(config);
  for (const cmd of registrations) impl.apply(cmd);
  let state: State = initialState(model, config);
  for (const cmd of registrations) model.step(state, cmd, onlyChoice);

  // The limit: per-CPU tables of 8 listener slots and a cursor, nothing else.
  const tables = new Int32Array(64 * 8).map((_, i) => i % 128);
  const cursors = new Int32Array(64);
  let sink = 0;
  let i = 0;

  const rates = await measureRates([
    {
      name: 'impl connect + close (steer, record, outcome)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++, i++) {
          const outcome = impl.connect(1, i & 63, i >>> 0);
          sink += outcome.ok ? 1 : 0;
          impl.close(1);
        }
      },
    },
    {
      name: 'impl steering decision (route)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++, i++) sink += impl.route(i & 63, i >>> 0);
      },
    },
    {
      name: 'model connect + close (model.step)',
      batch: 64,
      run: () => {
        for (let k = 0; k < 64; k++, i++) {
          model.step(state, { op: 'connect', conn: 1, cpu: i & 63, hash: i >>> 0 }, onlyChoice);
          model.step(state, { op: 'close', conn: 1 }, onlyChoice);
        }
      },
    },
    {
      name: 'bare typed-array round-robin loop (the limit)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++, i++) {
          const cpu = i & 63;
          const at = cursors[cpu];
          sink += tables[cpu * 8 + at];
          cursors[cpu] = at + 1 === 8 ? 0 : at + 1;
        }
      },
    },
  ]);
  if (sink === -1) state = initialState(model, config); // keeps the loops from being optimized away
  return {
    title: 'reuserps: connects per second on a warm 64-CPU table',
    rates,
    ratios: [
      { name: 'impl connect / model connect', value: ratio(rates, rates[0].name, rates[2].name), target: 20 },
      { name: 'impl steering decision / bare loop', value: ratio(rates, rates[1].name, rates[3].name), target: 0.4 },
      { name: 'impl full connect / bare loop', value: ratio(rates, rates[0].name, rates[3].name) },
    ],
  };
}

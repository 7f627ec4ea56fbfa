// Fastsocket connects per second on a warm 64-CPU machine in mode 2: two global listeners, and one
// local copy spawned on each of CPUs 0..47, so SYNs on CPUs 48..63 fall back to the global table.
// Measured: the impl's full connect (route, record the connection, build the outcome) followed by a
// closeConn, its steering decision alone, the model's connect + closeConn, and a bare typed-array
// lookup (local table head, else multiply-shift into the global array) for reference.
import { FastsocketImpl } from '../impl/fastsocket.ts';
import { configSchema, model, type Command, type State } from '../model/fastsocket.ts';
import { initialState } from '../core/relation.ts';
import { measureRates, ratio, type BenchSection, onlyChoice } from './measure.ts';

const config = configSchema.parse({ cpus: 64, listenSpawn: 2 });
const LOCAL_CPUS = 48;
const setup: Command[] = [
  { op: 'listen', listener: 1, uid: 0 },
  { op: 'listen', listener: 2, uid: 0 },
  ...Array.from({ length: LOCAL_CPUS }, (_, cpu): Command => ({ op: 'spawn', listener: 1, local: 100 + cpu, worker: cpu, cpu: null })),
];
const BATCH = 1024;

export default async function bench(): Promise<BenchSection> {
  const impl = new FastsocketImpl(config);
  for (const cmd of setup) impl.apply(cmd);
  let state: State = initialState(model, config);
  for (const cmd of setup) model.step(state, cmd, onlyChoice);

  // The limit: a per-CPU local head, else floor(hash * 2 / 2^32) into two globals.
  const heads = new Int32Array(64).map((_, cpu) => (cpu < LOCAL_CPUS ? 100 + cpu : -1));
  const globals = new Int32Array([1, 2]);
  let sink = 0;
  let i = 0;

  const rates = await measureRates([
    {
      name: 'impl connect + closeConn (route, record, outcome)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++, i++) {
          const outcome = impl.connect(1, i & 63, (i * 2654435761) >>> 0);
          sink += outcome.ok ? 1 : 0;
          impl.closeConn(1);
        }
      },
    },
    {
      name: 'impl steering decision (route)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++, i++) sink += impl.route(i & 63, (i * 2654435761) >>> 0);
      },
    },
    {
      name: 'model connect + closeConn (model.step)',
      batch: 64,
      run: () => {
        for (let k = 0; k < 64; k++, i++) {
          model.step(state, { op: 'connect', conn: 1, cpu: i & 63, hash: (i * 2654435761) >>> 0 }, onlyChoice);
          model.step(state, { op: 'closeConn', conn: 1 }, onlyChoice);
        }
      },
    },
    {
      name: 'bare typed-array local-first lookup (reference)',
      batch: BATCH,
      run: () => {
        for (let k = 0; k < BATCH; k++, i++) {
          const head = heads[i & 63];
          sink += head >= 0 ? head : globals[Math.floor((((i * 2654435761) >>> 0) * 2) / 4294967296)];
        }
      },
    },
  ]);
  if (sink === -1) state = initialState(model, config); // keeps the loops from being optimized away
  return {
    title: 'fastsocket: connects per second, 64 CPUs, 48 with a local listener',
    rates,
    ratios: [
      { name: 'impl connect / model connect', value: ratio(rates, rates[0].name, rates[2].name) },
      { name: 'impl steering decision / bare loop', value: ratio(rates, rates[1].name, rates[3].name) },
      { name: 'impl full connect / bare loop', value: ratio(rates, rates[0].name, rates[3].name) },
    ],
  };
}

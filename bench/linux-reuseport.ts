// Linux SO_REUSEPORT: connects per second of the impl and the model on a warm group of 64 listeners,
// without SO_INCOMING_CPU (the kernel's O(1) path) and with it on every listener (the cyclic probe);
// then connections steered per second through the real kernel (adapters/linux/steerspec-linux over
// steerspec/1: a JSON round trip, a pinned connect() on 127.0.0.1, the accept-queue attribution).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { processSubject } from '../adapters/process.ts';
import { initialState } from '../core/relation.ts';
import { LinuxReuseportImpl } from '../impl/linux-reuseport.ts';
import { configSchema, model, type Command, type State } from '../model/linux-reuseport.ts';
import { linuxReuseportScheme } from '../properties/linux-reuseport.ts';
import { measureRates, ratio, type BenchSection, type Rate, onlyChoice } from './measure.ts';

const config = configSchema.parse({ cpus: 2, migrate: true, program: 'none' });
const group = (incoming: boolean): Command[] =>
  Array.from({ length: 64 }, (_, l) => ({ op: 'register', listener: l, uid: 0, incomingCpu: incoming ? (l * 7) % 2 : -1 }));
const BATCH = 1024;
/** Every hash is given, so each choice the model offers has exactly one option. */

function warm(incoming: boolean) {
  const impl = new LinuxReuseportImpl(config);
  const state: State = initialState(model, config);
  for (const cmd of group(incoming)) {
    impl.apply(cmd);
    model.step(state, cmd, onlyChoice);
  }
  return { impl, state };
}

/** The helper alone: the same connect + close cycle piped from memory, no round trip per command. */
function helperAloneRate(binary: string): Rate | undefined {
  const n = 3000;
  const lines = [
    { op: 'init', protocol: 'steerspec/1', scheme: 'linux-reuseport', config: { cpus: 2, migrate: false, program: 'none' } },
    ...Array.from({ length: 4 }, (_, l) => ({ op: 'register', listener: l, uid: 0, incomingCpu: -1 })),
    ...Array.from({ length: n }, (_, k) => [{ op: 'connect', conn: k, cpu: k & 1 }, { op: 'close', conn: k }]).flat(),
  ];
  const start = performance.now();
  const run = spawnSync(binary, { input: lines.map((l) => JSON.stringify(l)).join('\n') + '\n', encoding: 'utf8' });
  const seconds = (performance.now() - start) / 1000;
  const replies = run.stdout.trim().split('\n');
  if (run.status !== 0 || replies.length !== lines.length || replies.some((r) => !r.startsWith('{"ok":true'))) return undefined;
  return { name: 'kernel helper alone, commands piped: connect + close', perSecond: n / seconds };
}

/** Connections steered per second through the kernel adapter: connect then close, on alternating CPUs. */
const binary = join(import.meta.dirname, '../adapters/linux/build/steerspec-linux');

async function kernelRate(): Promise<Rate | undefined> {
  if (!existsSync(binary)) return undefined;
  const subject = processSubject(JSON.stringify(binary), { timeoutMs: 5000 });
  try {
    const kernelConfig = { cpus: 2, migrate: false, program: 'none' as const };
    const instance = await subject.start(linuxReuseportScheme, kernelConfig);
    for (let l = 0; l < 4; l++) await instance.apply({ op: 'register', listener: l, uid: 0, incomingCpu: -1 });
    const cycle = async (n: number) => {
      for (let k = 0; k < n; k++) {
        await instance.apply({ op: 'connect', conn: k, cpu: k & 1 });
        await instance.apply({ op: 'close', conn: k });
      }
    };
    await cycle(200); // warm-up
    const n = 3000;
    const start = performance.now();
    await cycle(n);
    const seconds = (performance.now() - start) / 1000;
    return { name: 'kernel via the process adapter: connect + close', perSecond: n / seconds };
  } catch (e) {
    console.log(`  (the kernel adapter could not be measured: ${(e as Error).message})`);
    return undefined;
  } finally {
    await subject.close();
  }
}

export default async function bench(): Promise<BenchSection> {
  const plain = warm(false);
  const probing = warm(true);
  let sink = 0;
  let i = 0;
  const implTask = (name: string, impl: LinuxReuseportImpl) => ({
    name,
    batch: BATCH,
    run: () => {
      for (let k = 0; k < BATCH; k++, i++) {
        const outcome = impl.connect(1, i & 1, (i * 2654435761) >>> 0);
        sink += outcome.ok ? 1 : 0;
        impl.close(1);
      }
    },
  });
  const modelTask = (name: string, state: State) => ({
    name,
    batch: 64,
    run: () => {
      for (let k = 0; k < 64; k++, i++) {
        model.step(state, { op: 'connect', conn: 1, cpu: i & 1, hash: (i * 2654435761) >>> 0 }, onlyChoice);
        model.step(state, { op: 'close', conn: 1 }, onlyChoice);
      }
    },
  });
  const rates = await measureRates([
    implTask('impl connect + close, 64 listeners, no SO_INCOMING_CPU', plain.impl),
    modelTask('model connect + close, 64 listeners, no SO_INCOMING_CPU', plain.state),
    implTask('impl connect + close, 64 listeners, SO_INCOMING_CPU probe', probing.impl),
    modelTask('model connect + close, 64 listeners, SO_INCOMING_CPU probe', probing.state),
  ]);
  if (sink === -1) console.log(sink);
  const kernel = await kernelRate();
  const helper = existsSync(binary) ? helperAloneRate(binary) : undefined;
  if (!kernel) console.log('  (no kernel figures: adapters/linux/build/steerspec-linux is not built or the kernel cannot be used)');
  return {
    title: 'linux-reuseport: connects per second (impl, model, and the real kernel on 4 listeners, CPUs 0 and 1 in turn)',
    rates: [...rates, ...(kernel ? [kernel] : []), ...(helper ? [helper] : [])],
    ratios: [
      { name: 'impl / model, no SO_INCOMING_CPU', value: ratio(rates, rates[0].name, rates[1].name), target: 20 },
      { name: 'impl / model, SO_INCOMING_CPU probe', value: ratio(rates, rates[2].name, rates[3].name) },
      ...(kernel ? [{ name: 'impl / kernel adapter', value: rates[0].perSecond / kernel.perSecond }] : []),
    ],
  };
}

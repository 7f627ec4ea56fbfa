// Linux SO_REUSEPORT on a warm group of 64 listeners (64 CPUs, no program). Packet i arrives on CPU
// i % 64 with hash mix(i).
//  - impl vs model: connect + close of one connection, `apply` against `observe`; without SO_INCOMING_CPU
//    (the kernel's O(1) path) and, as an extra, with it set on every listener (the cyclic probe).
//  - route vs limit: `route` against `socks[floor(hash * n / 2^32)]` over the model's group order as a typed
//    array: without SO_INCOMING_CPU and a program that is all of reuseport_select_sock_by_hash, so no
//    correct route can do less.
//  - oracle: the plain test and steerspec's check; step time at 1k/100k open connections. table128Vs8 has
//    no per-CPU table here; its analogue is the group with SO_INCOMING_CPU: 128 CPUs and a listener on
//    each with SO_INCOMING_CPU = its CPU (so a lookup probes the group) vs 8 and 8.
//  - the real kernel, when adapters/linux/build/steerspec-linux is built: connect + close through the
//    process adapter (a JSON round trip, a pinned connect() on 127.0.0.1, the accept-queue attribution),
//    and through the helper alone with the commands piped from memory.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { processSubject } from '../adapters/process.ts';
import { LinuxReuseportImpl } from '../impl/linux-reuseport.ts';
import type { State } from '../model/linux-reuseport.ts';
import { linuxReuseportScheme } from '../properties/linux-reuseport.ts';
import { schemes } from '../schemes.ts';
import { assemble, mix, plansFor, spread, type BenchOptions, type Figure, type SchemeReport } from './measure.ts';
import { longReplay, openRatio, oracleVsFastCheck, stepTimes, type OpenLoad } from './oracle.ts';
import { field, implVsModel, routeVsLimit, script, warmModel, type Load } from './steering.ts';

const scheme = schemes.get('linux-reuseport')!;
const CPUS = 64;
const config = { cpus: CPUS, migrate: true, program: 'none' };
const group = (incoming: boolean) =>
  Array.from({ length: 64 }, (_, l) => ({ op: 'register', listener: l, uid: 0, incomingCpu: incoming ? (l * 7) % CPUS : -1 }));
const PACKETS = 4096;
const cpuOf = Int32Array.from({ length: PACKETS }, (_, i) => i % CPUS);
const hashOf = Uint32Array.from({ length: PACKETS }, (_, i) => mix(i));

const warm = (incoming: boolean): Load => ({
  config,
  setup: group(incoming),
  next: (i) => (i % 2 === 0 ? { op: 'connect', conn: 1, cpu: cpuOf[(i >> 1) % PACKETS], hash: hashOf[(i >> 1) % PACKETS] } : { op: 'close', conn: 1 }),
});

/** `n` CPUs and a listener on each with SO_INCOMING_CPU = its CPU. */
const probing = (n: number): Load => ({
  config: { cpus: n, migrate: false, program: 'none' },
  setup: Array.from({ length: n }, (_, l) => ({ op: 'register', listener: l, uid: 0, incomingCpu: l })),
  next: (i) => (i % 2 === 0 ? { op: 'connect', conn: 1_000_000, cpu: (i >> 1) % n, hash: mix(i) } : { op: 'close', conn: 1_000_000 }),
});

const binary = join(import.meta.dirname, '../adapters/linux/build/steerspec-linux');

/** The helper alone: the same connect + close cycle piped from memory, no round trip per command. */
function helperAloneRate(n: number): number | undefined {
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
  return n / seconds;
}

/** Connections steered per second through the kernel adapter: connect then close, on alternating CPUs. */
async function kernelRate(n: number): Promise<number | undefined> {
  const subject = processSubject(JSON.stringify(binary), { timeoutMs: 5000 });
  try {
    const instance = await subject.start(linuxReuseportScheme, { cpus: 2, migrate: false, program: 'none' });
    for (let l = 0; l < 4; l++) await instance.apply({ op: 'register', listener: l, uid: 0, incomingCpu: -1 });
    const cycle = async (count: number) => {
      for (let k = 0; k < count; k++) {
        await instance.apply({ op: 'connect', conn: k, cpu: k & 1 });
        await instance.apply({ op: 'close', conn: k });
      }
    };
    await cycle(Math.ceil(n / 10)); // warm-up
    const start = performance.now();
    await cycle(n);
    return n / ((performance.now() - start) / 1000);
  } catch (e) {
    console.log(`  (the kernel adapter could not be measured: ${(e as Error).message})`);
    return undefined;
  } finally {
    await subject.close();
  }
}

/** The kernel figures: one sample each (a round trip per command is far from the microbenchmarks' scale). */
async function kernelFigures(smoke: boolean): Promise<Figure[]> {
  if (!existsSync(binary)) return [];
  const n = smoke ? 20 : 3000;
  const viaAdapter = await kernelRate(n);
  const alone = helperAloneRate(n);
  const one = (name: string, rate: number | undefined): Figure[] => (rate === undefined ? [] : [{ name, unit: '/s', value: spread([rate]) }]);
  return [...one('kernel via the process adapter: connect + close', viaAdapter), ...one('kernel helper alone, commands piped: connect + close', alone)];
}

/** The open-connections load: step time at 1k vs 100k, and the long replay. */
const open: OpenLoad = {
  config: { cpus: 2 },
  listeners: [{ op: 'register', listener: 1, uid: 0 }],
  acceptFrom: 1,
  connect: (conn, i) => ({ op: 'connect', conn, cpu: i % 2, hash: mix(i) }),
  close: (conn) => ({ op: 'close', conn }),
};

export default async function bench(options: BenchOptions): Promise<SchemeReport> {
  const plans = plansFor(options);
  const routing = routeVsLimit(
    scheme,
    {
      what: '64 listeners, no SO_INCOMING_CPU',
      route: () => {
        const impl = new LinuxReuseportImpl(scheme.config.parse(config));
        for (const cmd of group(false)) impl.apply(scheme.command.parse(cmd));
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
        const state = warmModel(scheme, script(scheme, warm(false), 0))[0].state as State;
        const socks = Int32Array.from(state.members.map((m) => m.id));
        const count = socks.length;
        return (n, out) => {
          let sink = 0;
          for (let k = 0; k < n; k++) {
            const listener = socks[Math.floor((hashOf[k % PACKETS] * count) / 4294967296)];
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
  const plain = implVsModel(scheme, { what: 'connect + close, no SO_INCOMING_CPU', load: warm(false) }, plans.micro, 256);
  const probe = implVsModel(scheme, { what: 'connect + close, SO_INCOMING_CPU on every listener', load: warm(true) }, plans.micro, 256);
  const probeRatio = { ...probe.ratio, key: undefined, name: 'impl apply / model observe, SO_INCOMING_CPU probe', target: undefined };
  return assemble(
    'linux-reuseport',
    'linux-reuseport: a warm group of 64 listeners on 64 CPUs (and the real kernel on 4 listeners, CPUs 0 and 1 in turn)',
    [],
    [
      plain,
      { figures: probe.figures, ratio: probeRatio },
      routing,
      await oracleVsFastCheck(scheme, plans.oracle),
      await openRatio(scheme, open, plans.open, plans.steps),
      await longReplay(scheme, open, plans.replay),
      await stepTimes(
        scheme,
        {
          small: probing(plans.table[0]),
          large: probing(plans.table[1]),
          smallName: `${plans.table[0]} CPUs, a listener on each with SO_INCOMING_CPU`,
          largeName: `${plans.table[1]} CPUs, a listener on each with SO_INCOMING_CPU`,
          key: 'table128Vs8',
          atMost: 2,
          name: `oracle step time, ${plans.table[1]} / ${plans.table[0]} CPUs with a probing listener each (the analogue of a table)`,
        },
        plans.steps,
      ),
      { figures: await kernelFigures(options.smoke) },
    ],
  );
}

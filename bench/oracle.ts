// The oracle's own cost: how many commands a check of each scheme (every property, the built-in impl)
// checks per CPU-second, and what one step costs with 1,000 and with 100,000 open connections.
// The second figure shows that a step costs what it touches: the model steps in place (core/journal.ts)
// and no property scans every connection. STEERSPEC_BENCH_SMOKE=1 (npm test) uses small sizes.
import { performance } from 'node:perf_hooks';
import { runCampaign } from '../core/campaign.ts';
import { runSequence } from '../core/runner.ts';
import { allProperties, type AnyScheme } from '../core/scheme.ts';
import { builtin, checked } from '../core/subject.ts';
import { schemes } from '../schemes.ts';
import { scratchDir } from '../properties/harness.ts';
import type { BenchSection, Rate, Ratio } from './measure.ts';

const smoke = process.env.STEERSPEC_BENCH_SMOKE === '1';
const mix = (i: number) => Math.imul(i + 1, 2654435761) >>> 0;

/** Per scheme, a config, commands that make one listener group, and the n-th connect. */
const loads: Record<string, { config: unknown; setup: unknown[]; connect: (i: number) => unknown } | null> = {
  reuserps: {
    config: { cpus: 2, slotsPerCpu: 4 },
    setup: [{ op: 'register', listener: 1, uid: 0, reuserps: true, cpus: [0, 1], limit: 0 }],
    connect: (i) => ({ op: 'connect', conn: i, cpu: i % 2, hash: mix(i) }),
  },
  numa: {
    config: { domains: 2 },
    setup: [{ op: 'register', listener: 1, uid: 0, address: '10.0.0.1' }],
    connect: (i) => ({ op: 'connect', conn: i, address: '10.0.0.1', domain: null, hash: mix(i) }),
  },
  dragonfly: {
    config: { cpus: 2 },
    setup: [
      { op: 'register', listener: 1, uid: 0 },
      { op: 'register', listener: 2, uid: 0 },
    ],
    connect: (i) => ({ op: 'connect', conn: i, hash: mix(i) }),
  },
  fastsocket: {
    config: { cpus: 2, listenSpawn: 0 },
    setup: [{ op: 'listen', listener: 1, uid: 0 }],
    connect: (i) => ({ op: 'connect', conn: i, cpu: i % 2, hash: mix(i) }),
  },
  'linux-reuseport': {
    config: { cpus: 2 },
    setup: [
      { op: 'register', listener: 1, uid: 0 },
      { op: 'register', listener: 2, uid: 0 },
    ],
    connect: (i) => ({ op: 'connect', conn: i, cpu: i % 2, hash: mix(i) }),
  },
  // A port range holds at most 65,535 allocations, so 100,000 open connections cannot exist there.
  'rss-ports': null,
};

/** Seconds per step for `probe` steps made after `open` connections, every property on, no snapshot. */
async function stepTime(scheme: AnyScheme, open: number, probe: number): Promise<number> {
  const load = loads[scheme.name]!;
  const config = scheme.config.parse(load.config);
  const commands = [...load.setup, ...Array.from({ length: open + probe }, (_, i) => load.connect(i))];
  const impl = scheme.implementation(config);
  let start = 0;
  const timed = {
    apply(cmd: unknown) {
      if (cmd === commands[load.setup.length + open]) start = performance.now();
      return impl.apply(cmd);
    },
  };
  const instance = checked(scheme, timed, { hash: true, snapshot: false });
  const result = await runSequence({ scheme, config, commands, implementation: instance, properties: allProperties(scheme) });
  if (result.failures.length > 0) throw new Error(`${scheme.name}: the load itself failed: ${result.failures[0].message}`);
  return (performance.now() - start) / 1000 / probe;
}

export default async function oracleBench(): Promise<BenchSection> {
  const rates: Rate[] = [];
  const ratios: Ratio[] = [];
  const runs = smoke ? 5 : 60;
  for (const scheme of schemes.values()) {
    const before = process.cpuUsage();
    const campaign = await runCampaign({ scheme, subject: builtin, runs, seed: 1, traceDir: scratchDir() });
    const used = process.cpuUsage(before);
    const failed = campaign.results.filter((r) => r.status !== 'passed' && r.status !== 'skipped');
    if (failed.length > 0) throw new Error(`${scheme.name}: the bench's own check failed: ${failed.map((r) => r.property).join(', ')}`);
    rates.push({ name: `${scheme.name}: commands checked per CPU-second (every property)`, perSecond: campaign.steps / ((used.user + used.system) / 1e6) });
    if (!loads[scheme.name]) continue;
    const [small, large] = smoke ? [200, 2_000] : [1_000, 100_000];
    const probe = smoke ? 100 : 1_000;
    const atSmall = await stepTime(scheme, small, probe);
    const atLarge = await stepTime(scheme, large, probe);
    rates.push({ name: `${scheme.name}: steps per second at ${small} open connections`, perSecond: 1 / atSmall });
    rates.push({ name: `${scheme.name}: steps per second at ${large} open connections`, perSecond: 1 / atLarge });
    // Reported as small/large so that "at least 0.5" means "within 2x".
    ratios.push({ name: `${scheme.name}: step time at ${small} / at ${large} open connections`, value: atSmall / atLarge, target: 0.5 });
  }
  return { title: 'oracle: commands checked per second, and step cost against open connections', rates, ratios };
}

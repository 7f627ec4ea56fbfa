// Every scheme's bench, by scheme name (bench.test.ts checks that each registered scheme has one).
import dragonfly from './dragonfly.ts';
import fastsocket from './fastsocket.ts';
import linuxReuseport from './linux-reuseport.ts';
import type { BenchOptions, SchemeReport } from './measure.ts';
import numa from './numa.ts';
import reuserps from './reuserps.ts';
import rssPorts from './rss-ports.ts';
import { withKernelFigures } from './kernel.ts';

export const benches: Record<string, (options: BenchOptions) => Promise<SchemeReport>> = {
  // SO_REUSERPS's report also carries the kernel's figures for its eBPF program (bench/kernel.ts).
  reuserps: async (options) => withKernelFigures(await reuserps(options), options),
  numa,
  dragonfly,
  'rss-ports': rssPorts,
  fastsocket,
  'linux-reuseport': linuxReuseport,
};

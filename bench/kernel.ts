// The kernel figures of the reuserps bench: connects per second through the real kernel (loopback TCP in a
// namespace of its own) to a plain SO_REUSEPORT group and to the same group steered by the SO_REUSERPS
// eBPF program, measured side by side per round by adapters/linux/build/steerspec-reuserps-bpf --bench,
// and the program's own run time per SYN as the kernel counts it (BPF_STATS_RUN_TIME), with and without
// the recording the adapter needs to report each decision. Where the kernel can't be used the report
// says why in a note, and has no kernel figure.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { paired, spread, type BenchOptions, type SchemeReport } from './measure.ts';

const root = join(import.meta.dirname, '..');
const binary = join(root, 'adapters/linux/build/steerspec-reuserps-bpf');

interface KernelBench {
  connects: number;
  withoutProgram: number[];
  withProgram: number[];
  nsPerSyn: number[];
  nsPerSynUnrecorded: number[];
}

/** Why the kernel bench can't run here, or null. */
function unusable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  const missing = join(root, 'adapters/linux/build/missing');
  if (!existsSync(binary)) return existsSync(missing) ? readFileSync(missing, 'utf8').trim() : 'adapters/linux/build/steerspec-reuserps-bpf is not built (npm run build:linux)';
  try {
    const answer = execFileSync(binary, ['--probe'], { encoding: 'utf8', timeout: 10_000 }).trim();
    return answer === 'ok' ? null : answer;
  } catch (e) {
    return ((e as { stdout?: string }).stdout ?? String(e)).trim() || 'the probe gave no answer';
  }
}

/** The report with the kernel figures added (or a note saying why there are none). */
export function withKernelFigures(report: SchemeReport, options: BenchOptions): SchemeReport {
  const why = unusable();
  if (why !== null) return { ...report, notes: [...report.notes, `kernel figures: skipped (${why})`] };
  const [connects, rounds] = options.smoke ? [200, 2] : [5000, 7];
  const out = execFileSync(binary, ['--bench', String(connects), String(rounds)], { encoding: 'utf8', timeout: 600_000 });
  const bench = JSON.parse(out) as KernelBench;
  return {
    ...report,
    notes: [
      ...report.notes,
      `kernel: ${rounds} rounds of ${connects} loopback connect+accept+close from CPU 0, two listeners; without the program (a plain SO_REUSEPORT group) and with it, side by side`,
    ],
    figures: [
      ...report.figures,
      { name: 'kernel connects, plain SO_REUSEPORT group (no program)', unit: '/s', value: spread(bench.withoutProgram) },
      { name: 'kernel connects, SO_REUSERPS eBPF program (round-robin, 2 listeners per table)', unit: '/s', value: spread(bench.withProgram) },
      { name: 'SO_REUSERPS eBPF program run time per SYN (kernel BPF stats)', unit: 's', value: spread(bench.nsPerSyn.map((ns) => ns * 1e-9)) },
      { name: 'the same, without the adapter recording each decision', unit: 's', value: spread(bench.nsPerSynUnrecorded.map((ns) => ns * 1e-9)) },
    ],
    ratios: [...report.ratios, { name: 'kernel connects/s with the SO_REUSERPS program over without', value: paired(bench.withProgram, bench.withoutProgram) }],
  };
}

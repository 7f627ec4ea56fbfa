// Shared by every bench: the plan (full or smoke), interleaved measurement with tinybench, and
// medians with their interquartile range. Absolute rates vary with the machine and its load; what the
// README claims are ratios, each computed per round from tasks measured side by side in that round.
import { Bench } from 'tinybench';

export interface BenchOptions {
  /** A fraction of a second per bench (npm test): every figure is still computed, from tiny samples. */
  smoke: boolean;
}

/** STEERSPEC_BENCH_SMOKE=1 asks for smoke mode. */
export const smokeFromEnv = (): boolean => process.env.STEERSPEC_BENCH_SMOKE === '1';

/** A median and its interquartile range, over `n` samples. */
export interface Spread {
  median: number;
  q1: number;
  q3: number;
  n: number;
}

/** A measured quantity: a rate (per second) or a time (seconds). */
export interface Figure {
  name: string;
  unit: '/s' | 's';
  value: Spread;
  /** What an issue asks of this figure itself (a time budget), if anything. */
  target?: { atLeast?: number; atMost?: number };
}

/** A ratio of two figures, paired per round; `target` says what the issues ask for, if anything. */
export interface Ratio {
  /** The key it has in reports/bench.json, when it is one of the headline ratios. */
  key?: string;
  name: string;
  value: Spread;
  target?: { atLeast?: number; atMost?: number };
}

/** What one bench reports for one scheme. */
export interface SchemeReport {
  scheme: string;
  title: string;
  /** Lines printed under the title: what was measured and how. */
  notes: string[];
  figures: Figure[];
  ratios: Ratio[];
  /** Headline ratios that do not apply to this scheme, and why. */
  absent: Record<string, string>;
}

/** The five ratios reports/bench.json carries for every scheme. */
export const HEADLINE = ['implVsModel', 'routeVsLimit', 'oracleVsFastCheck', 'step100kVs1k', 'table128Vs8'] as const;
export type Headline = (typeof HEADLINE)[number];

const quantile = (sorted: number[], q: number): number => {
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
};

export function spread(samples: readonly number[]): Spread {
  if (samples.length === 0) throw new Error('a figure with no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75), n: sorted.length };
}

/** a[i] / b[i] for each round i: the ratio of two tasks measured side by side. */
export function paired(a: readonly number[], b: readonly number[]): Spread {
  if (a.length !== b.length) throw new Error(`paired samples of different lengths (${a.length}, ${b.length})`);
  return spread(a.map((x, i) => x / b[i]));
}

export interface Task {
  name: string;
  /** Operations one call of `run` performs (calls are batched to keep the timer out of the figure). */
  ops: number;
  run: () => void;
}

/** How long tasks run: `rounds` rounds, in each of which every task makes `iterations` timed calls after `warmup` untimed ones. */
export interface Plan {
  rounds: number;
  iterations: number;
  warmup: number;
  /** Scales a bench's batch of operations per call (1 in full runs; smaller in smoke mode). */
  scale: number;
}

/** A batch of about `n` operations under `plan`. */
export const batchOf = (plan: Plan, n: number): number => Math.max(1, Math.round(n * plan.scale));

/**
 * Calls of `run` a task makes under `plan` (so a recorded command stream can be sized to fit exactly):
 * tinybench makes one more call per run than its iterations and warm-up (to see whether the task is async).
 */
export const callsOf = (plan: Plan): number => plan.rounds * (plan.iterations + plan.warmup + 1);

/**
 * Operations per second of each task, one sample per round: in every round each task runs its calls
 * (a tinybench run of a fixed number of iterations; the round's sample is the median call), the tasks
 * taking turns in an order that rotates from round to round, so that a change of machine load hits
 * all of them alike. A task that throws makes the whole measurement throw.
 */
export function interleave(tasks: Task[], plan: Plan): number[][] {
  const rates = tasks.map(() => [] as number[]);
  for (let round = 0; round < plan.rounds; round++) {
    const bench = new Bench({ time: 0, iterations: plan.iterations, warmup: plan.warmup > 0, warmupTime: 0, warmupIterations: plan.warmup, throws: true });
    const order = tasks.map((_, i) => (i + round) % tasks.length);
    for (const i of order) bench.add(tasks[i].name, tasks[i].run);
    bench.runSync();
    for (const i of order) {
      const result = bench.getTask(tasks[i].name)!.result;
      if (result.state !== 'completed') throw new Error(`bench task "${tasks[i].name}" did not complete (${result.state})`);
      rates[i].push(tasks[i].ops / (result.latency.p50 / 1000));
    }
  }
  return rates;
}

/** CPU seconds this process has used (all threads, user and system). */
export function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * The chooser a bench passes to `model.step` where its commands leave the spec no real choice: it
 * takes a sole option and refuses to guess between several.
 */
export function onlyChoice<T>(what: string, options: readonly T[]): T {
  if (options.length !== 1) throw new Error(`the bench has no free choices, but ${what} has ${options.length}`);
  return options[0];
}

/** A 32-bit hash for the i-th packet (Knuth's multiplicative mix). */
export const mix = (i: number): number => Math.imul(i + 1, 2654435761) >>> 0;

/** True iff the ratio meets its target (undefined when it has none). */
export function meets(r: Pick<Ratio, 'value' | 'target'>): boolean | undefined {
  if (!r.target) return undefined;
  const v = r.value.median;
  return (r.target.atLeast === undefined || v >= r.target.atLeast) && (r.target.atMost === undefined || v <= r.target.atMost);
}

export const targetText = (r: Pick<Ratio, 'target'>): string =>
  !r.target ? '' : r.target.atLeast !== undefined ? `>= ${r.target.atLeast}` : `<= ${r.target.atMost}`;

/** Oracle throughput: rounds (each with its own seed, after an untimed warm-up round) of `runs` generated runs. */
export interface OraclePlan {
  rounds: number;
  runs: number;
  warmup: boolean;
}

/** Oracle step time: rounds of `blocks` blocks of `steps` steps for each of the two runs compared. */
export interface StepPlan {
  rounds: number;
  blocks: number;
  steps: number;
}

export interface Plans {
  micro: Plan;
  oracle: OraclePlan;
  steps: StepPlan;
  /** Open connections compared (1,000 and 100,000). */
  open: [number, number];
  /** Table sizes compared (8x8 and 128x128). */
  table: [number, number];
  /** The long replay: open connections held, steps in all, and the seconds it may take. */
  replay: ReplayPlan;
}

export interface ReplayPlan {
  open: number;
  steps: number;
  budget: number;
}

export function plansFor(options: BenchOptions): Plans {
  return options.smoke
    ? {
        micro: { rounds: 2, iterations: 2, warmup: 0, scale: 1 / 8 },
        oracle: { rounds: 2, runs: 2, warmup: false },
        steps: { rounds: 2, blocks: 2, steps: 4 },
        open: [20, 200],
        table: [4, 8],
        replay: { open: 100, steps: 600, budget: 60 },
      }
    : {
        micro: { rounds: 10, iterations: 40, warmup: 8, scale: 1 },
        oracle: { rounds: 8, runs: 300, warmup: true },
        steps: { rounds: 10, blocks: 4, steps: 50 },
        open: [1_000, 100_000],
        table: [8, 128],
        replay: { open: 20_000, steps: 100_000, budget: 60 },
      };
}

/** A scheme's report from its parts (each a pair of figures and the ratio of them). */
export function assemble(
  scheme: string,
  title: string,
  notes: string[],
  parts: { figures: Figure[]; ratio?: Ratio; ratios?: Ratio[] }[],
  absent: Record<string, string> = {},
): SchemeReport {
  return {
    scheme,
    title,
    notes,
    figures: parts.flatMap((p) => p.figures),
    ratios: parts.flatMap((p) => [...(p.ratio ? [p.ratio] : []), ...(p.ratios ?? [])]),
    absent,
  };
}

// Shared by every bench file: measure operations per second with tinybench, and report ratios
// measured in the same run (absolute figures vary by machine; ratios are what the README claims).
import { Bench } from 'tinybench';

export interface Rate {
  name: string;
  perSecond: number;
}

export interface Ratio {
  name: string;
  value: number;
  /** The ratio the issue asks for, if any (value >= target meets it). */
  target?: number;
}

export interface BenchSection {
  title: string;
  rates: Rate[];
  ratios: Ratio[];
}

export interface Task {
  name: string;
  /** Operations one call of `run` performs (calls are batched to keep timer overhead out). */
  batch: number;
  run: () => void;
}

export async function measureRates(tasks: Task[], timeMs = 500): Promise<Rate[]> {
  const bench = new Bench({ time: timeMs, warmup: true, warmupTime: 100 });
  for (const task of tasks) bench.add(task.name, task.run);
  await bench.run();
  return tasks.map((task, i) => {
    const result = bench.tasks[i].result;
    if (!result || !('throughput' in result)) throw new Error(`bench task ${task.name} did not complete`);
    return { name: task.name, perSecond: result.throughput.mean * task.batch };
  });
}

/** rates[a] / rates[b] by name. */
export function ratio(rates: Rate[], a: string, b: string): number {
  const find = (name: string) => rates.find((r) => r.name === name)!.perSecond;
  return find(a) / find(b);
}

/**
 * The chooser a bench passes to `model.step`: its commands leave the spec no real choice, so it
 * takes a sole option and refuses to guess between several.
 */
export function onlyChoice<T>(what: string, options: readonly T[]): T {
  if (options.length !== 1) throw new Error(`the bench has no free choices, but ${what} has ${options.length}`);
  return options[0];
}

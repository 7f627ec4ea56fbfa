// What a scheme's generators produce, measured through the model: how often each corner is reached, and
// where the model steers the generated connections. The HTML report draws both; `steerspec docs` prints
// the corner shares. The harness's corner test (properties/harness.ts) counts corners the same way.
import fc from 'fast-check';
import { initialState, stepWith } from '../core/relation.ts';
import type { AnyScheme } from '../core/scheme.ts';
import type { Landed, Picture } from './pictures/draw.ts';

/** Connections counted by (row, column): where they came from and where they went. */
export class Heat {
  readonly counts = new Map<string, Map<string, number>>();
  add([row, column]: Landed, count = 1): void {
    const line = this.counts.get(row) ?? new Map<string, number>();
    line.set(column, (line.get(column) ?? 0) + count);
    this.counts.set(row, line);
  }
  get total(): number {
    let n = 0;
    for (const line of this.counts.values()) for (const v of line.values()) n += v;
    return n;
  }
}

export interface Measured {
  runs: number;
  /** Corner name → share of runs that reached it (0..1). */
  corners: [string, number][];
  heat: Heat;
}

/** Samples `runs` generated runs with `seed` and steps the model through each, taking its first choices. */
export function measure(scheme: AnyScheme, seed: number, runs: number, picture?: Picture): Measured {
  const samples = fc.sample(scheme.runs, { seed, numRuns: runs });
  const reached = new Map(scheme.corners.map((c) => [c.name, 0]));
  const heat = new Heat();
  for (const { config, commands } of samples) {
    const watchers = scheme.corners.map((c) => ({ name: c.name, reached: c.watch(), hit: false }));
    let state = initialState(scheme.model, config);
    commands.forEach((cmd: unknown, index: number) => {
      const { outcome, next } = stepWith(scheme.model, state, cmd);
      for (const w of watchers) w.hit ||= w.reached({ config, index, before: state, cmd, outcome, after: next });
      const landed = picture?.landed(cmd, outcome, state);
      if (landed) heat.add(landed);
      state = next;
    });
    for (const w of watchers) if (w.hit) reached.set(w.name, reached.get(w.name)! + 1);
  }
  return { runs: samples.length, corners: [...reached].map(([name, n]) => [name, n / Math.max(1, samples.length)]), heat };
}

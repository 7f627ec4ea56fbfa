// The oracle's tests a mutant of one scheme is judged by (`npm run mutation`, mutation/run.ts): the
// scheme's test file and, for model/ mutants, the hand-checked traces. For impl/ only the tests that
// exercise the implementation run (planted bugs subclass impl/, so a mutant there would "kill" them
// without any property of impl/ noticing); for model/ the tests that pin the spec.
import { defineConfig } from 'vitest/config';

const scheme = process.env.MUTATION_SCHEME ?? 'reuserps';
const target = process.env.MUTATION_TARGET ?? 'impl';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: [`properties/${scheme}.test.ts`, ...(target === 'model' ? ['traces/replay.test.ts'] : [])],
    testNamePattern:
      target === 'impl'
        ? /holds for the optimized implementation|conforms when it must compute its own hash|the impl's/
        : /the model |judge accepts|replays |judges |is narrower than/,
    maxWorkers: 1,
    testTimeout: 120_000,
    reporters: ['dot'],
  },
});

// The oracle's tests a mutant of one scheme is judged by (`npm run mutation`, mutation/run.ts): the
// scheme's test file and, for model/ mutants, the hand-checked traces. For impl/ every test but the
// planted bugs' (they subclass impl/, so a mutant there would "kill" them without any property of impl/
// noticing); for model/ the tests that pin the spec.
import { defineConfig } from 'vitest/config';

const scheme = process.env.MUTATION_SCHEME ?? 'reuserps';
const target = process.env.MUTATION_TARGET ?? 'impl';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    // rss-ports keeps its hash's tests (the table-driven Toeplitz of impl/) in a file of their own.
    include: [`properties/${scheme}.test.ts`, ...(scheme === 'rss-ports' ? ['properties/toeplitz.test.ts'] : []), ...(target === 'model' ? ['traces/replay.test.ts'] : [])],
    // impl/: every test of the scheme's file but the planted bugs' (a test that runs no impl/ code covers
    // no mutant of it, so it costs nothing).
    testNamePattern: target === 'impl' ? /^(?!.*catches the planted bug)/ : /the model |judge accepts|replays |judges |is narrower than/,
    maxWorkers: 1,
    testTimeout: 120_000,
    reporters: ['dot'],
  },
});

// The oracle's tests a mutant of one scheme is judged by (`npm run mutation`, mutation/run.ts): the
// scheme's test file and, for model/ mutants, the hand-checked traces. For impl/ every test but the
// planted bugs' (they subclass impl/, so a mutant there would "kill" them without any property of impl/
// noticing); for model/ the tests that pin the spec. (Until 2026-12-02 08:00 UTC the model/ pattern was
// `the model |...`, which no harness test name contains: model/ runs were judged by the traces and
// judge only.)
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The model-load test first. A model/ mutant that makes zod refuse a schema fails every other file at
 * its import, where no test reports it; Stryker's runner stops at the first failure, so the load test,
 * which fails as a test and kills the mutant, must not wait behind them.
 */
class LoadTestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const first = (f: TestSpecification) => (f.moduleId.endsWith('model-load.test.ts') ? 0 : 1);
    return sorted.sort((a, b) => first(a) - first(b));
  }
}

const scheme = process.env.MUTATION_SCHEME ?? 'reuserps';
const target = process.env.MUTATION_TARGET ?? 'impl';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    // rss-ports keeps its hash's tests (the table-driven Toeplitz of impl/) in a file of their own.
    include: [`properties/${scheme}.test.ts`, ...(scheme === 'rss-ports' ? ['properties/toeplitz.test.ts'] : []), ...(target === 'model' ? ['traces/replay.test.ts', 'properties/model-load.test.ts'] : [])],
    // impl/: every test of the scheme's file but the planted bugs' (a test that runs no impl/ code covers
    // no mutant of it, so it costs nothing).
    // model/: the model's own properties and readings (`the <scheme> model obeys ...`, `... takes exactly
    // ...`), its module loading (`the <scheme> model module loads`: a schema zod refuses fails there as a test), judge against allowedOutcomes, the narrower-than-model checks, the traces, and a scheme's
    // hand-written model tests (dragonfly's hash-less connect and relation blocks, rss-ports' model-and-impl
    // checks). Matched against the full name, so each pattern names what the harness calls the test.
    testNamePattern:
      target === 'impl'
        ? /^(?!.*catches the planted bug)/
        : new RegExp(`the ${scheme} model |${scheme} connect without a hash|${scheme} model as a relation|model and impl|judge accepts|replays |judges |is narrower than`),
    maxWorkers: 1,
    sequence: { sequencer: LoadTestFirst },
    testTimeout: 120_000,
    reporters: ['dot'],
  },
});

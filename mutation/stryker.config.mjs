// StrykerJS for one scheme and one target (mutation/run.ts sets both): mutants of impl/<scheme>.ts or
// model/<scheme>.ts, judged by mutation/vitest.config.ts.
const scheme = process.env.MUTATION_SCHEME ?? 'reuserps';
const target = process.env.MUTATION_TARGET ?? 'impl';

export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'mutation/vitest.config.ts' },
  mutate: [`${target}/${scheme}.ts`],
  coverageAnalysis: 'perTest',
  // Two cores, shared: one mutant at a time each.
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 60_000,
  reporters: ['clear-text', 'json'],
  jsonReporter: { fileName: `reports/mutation/${target}-${scheme}.json` },
  tempDirName: `.stryker-tmp/${target}-${scheme}`,
  cleanTempDir: true,
};

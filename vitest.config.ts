import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['core/**/*.test.ts', 'bench/**/*.test.ts', 'properties/**/*.test.ts', 'traces/**/*.test.ts', 'cli/**/*.test.ts', 'adapters/**/*.test.ts'],
    // Two cores here: vitest's default leaves one idle.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: 'reports/vitest.json' }]],
    coverage: {
      provider: 'v8',
      include: ['model/**/*.ts', 'impl/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportOnFailure: true,
      reportsDirectory: 'reports/coverage',
      thresholds: { lines: 95, branches: 95 },
    },
  },
});

// Each module of model/ loads. A schema zod refuses at construction (a union option emptied, its
// discriminator renamed) fails every other test file at import, with no test left to report it; here
// the import runs inside a test, so it fails as one (and a mutation run counts such a mutant killed).
// The imports are literal, so each test file's module graph names the model it loads: Stryker runs only
// the test files related to the mutated file.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

type ModelModule = { commandSchema?: { safeParse(v: unknown): { success: boolean } } };
const loaders: Record<string, () => Promise<unknown>> = {
  dragonfly: () => import('../model/dragonfly.ts'),
  fastsocket: () => import('../model/fastsocket.ts'),
  'linux-reuseport': () => import('../model/linux-reuseport.ts'),
  numa: () => import('../model/numa.ts'),
  reuserps: () => import('../model/reuserps.ts'),
  'rss-ports': () => import('../model/rss-ports.ts'),
  toeplitz: () => import('../model/toeplitz.ts'),
};

it('every module of model/ has a load test', () => {
  const modules = readdirSync(join(import.meta.dirname, '../model')).filter((f) => f.endsWith('.ts'));
  expect(modules.map((f) => f.replace(/\.ts$/, '')).sort()).toEqual(Object.keys(loaders).sort());
});

for (const [name, load] of Object.entries(loaders)) {
  it(`the ${name} model module loads, and its command schema parses`, async () => {
    const module = (await load()) as ModelModule;
    // A schema that builds but rejects everything (or accepts anything) is the other tests' to catch.
    if (module.commandSchema) expect(module.commandSchema.safeParse({ op: 'no-such-op' }).success).toBe(false);
  });
}

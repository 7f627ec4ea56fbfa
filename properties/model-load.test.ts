// Each module of model/ loads. A schema zod refuses at construction (a union option emptied, its
// discriminator renamed) fails every other test file at import, with no test left to report it; here
// the import runs inside a test, so it fails as one (and a mutation run counts such a mutant killed).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const dir = join(import.meta.dirname, '../model');
const modules = readdirSync(dir).filter((f) => f.endsWith('.ts'));

it('there are model modules to load', () => expect(modules.length).toBeGreaterThan(0));

for (const file of modules) {
  const name = file.replace(/\.ts$/, '');
  it(`the ${name} model module loads, and its command schema parses`, async () => {
    const module = (await import(join(dir, file))) as { commandSchema?: { safeParse(v: unknown): { success: boolean } } };
    // A schema that builds but rejects everything (or accepts anything) is the other tests' to catch.
    if (module.commandSchema) expect(module.commandSchema.safeParse({ op: 'no-such-op' }).success).toBe(false);
  });
}

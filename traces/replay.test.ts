// Every saved trace is replayed against the model and impl/: one test per file.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { replayFile } from '../cli/replay.ts';
import { builtin } from '../core/subject.ts';

const root = import.meta.dirname;
const files = (readdirSync(root, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.json'))
  .map((f) => join(root, f))
  .sort();

it('there are saved traces to replay', () => {
  expect(files.length).toBeGreaterThan(0);
});

for (const file of files) {
  it(`replays ${relative(root, file)}`, async () => {
    const result = await replayFile(file, builtin);
    expect(result.failure?.message ?? null, result.failure ? `${result.failure.property} at step ${result.failure.index}` : '').toBeNull();
  });
}

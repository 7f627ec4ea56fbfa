// Every saved trace is replayed against the model and impl/, one test per file. Traces under
// rejected/ are histories the spec forbids (e.g. one that needs two readings of a rule): judging
// their observed outcomes must find them outside the relation.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { judgeFile, replayFile } from '../cli/replay.ts';
import { builtin } from '../core/subject.ts';

const root = import.meta.dirname;
const files = (readdirSync(root, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.json') && !f.startsWith('new'))
  .map((f) => join(root, f))
  .sort();
const rejected = files.filter((f) => relative(root, f).startsWith('rejected'));
const accepted = files.filter((f) => !rejected.includes(f));

it('there are saved traces to replay, and rejected histories to judge, each saying what it pins', () => {
  expect(accepted.length).toBeGreaterThan(0);
  expect(rejected.length).toBeGreaterThan(0);
  const silent = files.filter((f) => !(JSON.parse(readFileSync(f, 'utf8')) as { about?: string }).about?.trim());
  expect(silent.map((f) => relative(root, f)), 'traces without a one-line "about"').toEqual([]);
});

for (const file of accepted) {
  it(`replays ${relative(root, file)}`, async () => {
    const result = await replayFile(file, builtin);
    const first = result.failures[0] ?? result.fault;
    expect(first?.message ?? null, first ? `${first.property} at step ${first.index}` : '').toBeNull();
  });
}

for (const file of rejected) {
  it(`judges ${relative(root, file)} outside the relation, and replay rejects its expects`, async () => {
    const judged = await judgeFile(file);
    expect(judged.failures.map((f) => f.property)).toEqual([expect.stringMatching(/^(conformance|expect)$/)]);
    // Its expects are the same outcomes: no single reading allows them all.
    const replayed = await replayFile(file, builtin);
    expect(replayed.failures.map((f) => f.property)).toContain('expect');
  });
}

// The generated reference pages are current: each committed docs/<scheme>.md is exactly what
// `npx steerspec docs` writes now (run it after changing a scheme, and commit the pages).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../properties/harness.ts';
import { schemes } from '../schemes.ts';
import { root, runCli } from './run-cli.ts';

describe('docs/<scheme>.md', () => {
  const out = join(scratchDir(), 'docs');
  let written = '';
  beforeAll(async () => {
    // The README's command, into a scratch directory.
    const command = readFileSync(join(root, 'README.md'), 'utf8').match(/^npx steerspec (docs)\b/m)![1];
    const result = await runCli([command, '--out', out]);
    expect(result.code, result.out).toBe(0);
    written = result.out;
  }, 100_000);

  for (const scheme of schemes.values()) {
    it(`docs/${scheme.name}.md is what \`npx steerspec docs\` writes`, () => {
      expect(written).toContain(`${scheme.name}.md`);
      const committed = readFileSync(join(root, 'docs', `${scheme.name}.md`), 'utf8');
      expect(committed, 'run `npx steerspec docs` and commit docs/').toBe(readFileSync(join(out, `${scheme.name}.md`), 'utf8'));
    });
  }

  it('names every planted bug beside the property that catches it', () => {
    const page = readFileSync(join(out, 'reuserps.md'), 'utf8');
    expect(page).toMatch(/\| `limits` \| [^\n]+ \| limit checked with/);
  });
});

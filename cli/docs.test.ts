// The generated reference pages are current: each committed docs/<scheme>.md is exactly what
// `npx steerspec docs` writes now (run it after changing a scheme, and commit the pages).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemes } from '../schemes.ts';
import { schemePage } from './docs.ts';
import { root } from './run-cli.ts';

const pages = new Map([...schemes.values()].map((s) => [s.name, schemePage(s)]));

describe('docs/<scheme>.md', () => {
  for (const scheme of schemes.values()) {
    it(`docs/${scheme.name}.md is what \`npx steerspec docs\` writes`, () => {
      const committed = readFileSync(join(root, 'docs', `${scheme.name}.md`), 'utf8');
      expect(committed, 'run `npx steerspec docs` and commit docs/').toBe(pages.get(scheme.name));
    });
  }

  it('names every planted bug beside the property that catches it', () => {
    const page = pages.get('reuserps')!;
    expect(page).toMatch(/\| `limits` \| [^\n]+ \| limit checked with/);
  });
});

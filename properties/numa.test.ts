import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAddress, parseAddress } from '../impl/numa.ts';
import { isAddress } from '../model/numa.ts';
import { numaScheme } from './numa.ts';
import { numaBugs } from './fixtures/numa-bugs.ts';
import { checkScheme } from './harness.ts';

describe('numa', () => {
  checkScheme(numaScheme, { bugs: numaBugs });

  it("the impl's address parser accepts exactly the model's canonical dotted quads, and formats them back", () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('', '00', '01', '007', '1a', ' 1', '-1', '+1', '1e2'));
    const text = fc.oneof(
      fc.array(octet, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')),
      fc.string({ maxLength: 16 }),
      fc.ipV4(),
    );
    fc.assert(
      fc.property(text, (t) => {
        const value = parseAddress(t);
        expect(value !== -1, JSON.stringify(t)).toBe(isAddress(t));
        if (value !== -1) expect(formatAddress(value)).toBe(t);
      }),
      { numRuns: 2000, seed: 4 },
    );
  });
});

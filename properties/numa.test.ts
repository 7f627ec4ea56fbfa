import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAddress, parseAddress } from '../impl/numa.ts';
import { isAddress } from '../model/numa.ts';
import { numaScheme } from './numa.ts';
import { numaBugs } from './fixtures/numa-bugs.ts';
import { checkScheme, expectRunConforms } from './harness.ts';

describe('numa', () => {
  checkScheme(numaScheme, { bugs: numaBugs });

  it('a run wider than the implementation\'s first table sizes (40 listeners on 12 addresses, 160 connections) conforms step by step', async () => {
    const hash = (i: number) => Math.imul(i + 1, 2654435761) >>> 0;
    const address = (i: number) => `10.0.0.${(i % 12) + 1}`;
    const connects = (from: number) => Array.from({ length: 80 }, (_, c) => ({ op: 'connect', conn: from + c, address: address(c), domain: c % 4, hash: hash(from + c) }));
    await expectRunConforms(numaScheme, { domains: 4 }, [
      ...Array.from({ length: 40 }, (_, l) => ({ op: 'register', listener: l, uid: 0, address: address(l) })),
      ...Array.from({ length: 40 }, (_, l) => ({ op: 'setDomain', listener: l, domain: (l >> 2) % 4 })),
      ...connects(0),
      ...Array.from({ length: 20 }, (_, l) => ({ op: 'deregister', listener: l * 2 })),
      ...Array.from({ length: 20 }, (_, l) => ({ op: 'register', listener: 40 + l, uid: 0, address: l % 2 ? '0.0.0.0' : address(l) })),
      ...connects(80),
      ...Array.from({ length: 20 }, (_, c) => ({ op: 'close', conn: c * 3 })),
    ]);
  });

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

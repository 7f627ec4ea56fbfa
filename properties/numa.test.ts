import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAddress, NumaImpl, parseAddress } from '../impl/numa.ts';
import { commandSchema, isAddress, type Command } from '../model/numa.ts';
import { numaScheme } from './numa.ts';
import { numaBugs } from './fixtures/numa-bugs.ts';
import { checkScheme, expectRunConforms } from './harness.ts';

/** The impl's parser accepts `t` iff the model's grammar does, and formats the value back to `t`. */
function parsesLikeTheModel(t: string): void {
  const value = parseAddress(t);
  expect(value !== -1, JSON.stringify(t)).toBe(isAddress(t));
  if (value !== -1) expect(formatAddress(value)).toBe(t);
}

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

  it('addresses that share a home slot of the address map (probing on, and wrapping round its end) conform step by step', async () => {
    // The map's home slot is the low bits of the address times an odd constant: last octets 16 apart share
    // one in the first 16-slot table (1, 17, 33 at slot 1; 15, 31, 47 at slot 15, wrapping to 0).
    const at = (octet: number) => `10.0.1.${octet}`;
    const connect = (conn: number, octet: number) => ({ op: 'connect', conn, address: at(octet), domain: conn % 2, hash: conn });
    await expectRunConforms(numaScheme, { domains: 2 }, [
      ...[1, 17, 2, 15, 31, 47].map((octet, l) => ({ op: 'register', listener: l, uid: 0, address: at(octet) })),
      ...[1, 17, 2, 15, 31, 47, 33, 63].map((octet, c) => connect(c, octet)),
      { op: 'register', listener: 6, uid: 0, address: at(17) },
      { op: 'register', listener: 7, uid: 0, address: at(47) },
      { op: 'setDomain', listener: 7, domain: 1 },
      { op: 'deregister', listener: 1 },
      ...[17, 47, 33, 2].map((octet, c) => connect(10 + c, octet)),
    ]);
  });

  it('a run on 18 addresses (the address map full past its first two sizes) conforms step by step', async () => {
    // 18, not more: mutants that grow the address tables on every new address must not eat the machine's memory.
    const at = (i: number) => `10.0.1.${i + 1}`;
    const connects = (from: number) => Array.from({ length: 20 }, (_, c) => ({ op: 'connect', conn: from + c, address: at(c), domain: c % 2, hash: from + c }));
    await expectRunConforms(numaScheme, { domains: 2, groupMax: 4 }, [
      ...Array.from({ length: 18 }, (_, l) => ({ op: 'register', listener: l, uid: 0, address: at(l) })),
      ...connects(0),
      ...Array.from({ length: 6 }, (_, l) => ({ op: 'deregister', listener: 3 * l })),
      ...connects(100),
    ]);
  });

  it("exactly as many addresses as the impl's first address table holds (8) conform step by step", async () => {
    const address = (i: number) => `10.0.0.${i + 1}`;
    await expectRunConforms(numaScheme, { domains: 2 }, [
      ...Array.from({ length: 8 }, (_, l) => ({ op: 'register', listener: l, uid: 0, address: address(l) })),
      ...Array.from({ length: 8 }, (_, c) => ({ op: 'connect', conn: c, address: address(c), domain: c % 2, hash: c })),
      { op: 'setDomain', listener: 3, domain: 1 },
      { op: 'deregister', listener: 5 },
      { op: 'connect', conn: 8, address: address(5), domain: null, hash: 1 },
    ]);
  });

  it('connects after the wildcard and an exact address have lost every group (the address slots stay, empty) conform step by step', async () => {
    const connect = (conn: number, address: string) => ({ op: 'connect', conn, address, domain: 0, hash: conn });
    await expectRunConforms(numaScheme, { domains: 2 }, [
      { op: 'register', listener: 0, uid: 0, address: '0.0.0.0' },
      { op: 'register', listener: 1, uid: 0, address: '10.0.0.1' },
      connect(0, '10.0.0.2'),
      { op: 'deregister', listener: 0 },
      connect(1, '10.0.0.2'),
      connect(2, '10.0.0.1'),
      { op: 'deregister', listener: 1 },
      connect(3, '10.0.0.1'),
      connect(4, '10.0.0.2'),
      { op: 'register', listener: 2, uid: 1, address: '0.0.0.0' },
      connect(5, '10.0.0.1'),
    ]);
  });

  it('a packet whose class has neither its domain\'s group nor the no-domain group goes to the lowest-numbered group (the impl\'s pick of the freedom)', async () => {
    const commands: Command[] = [
      ...[0, 1, 2].map((l) => ({ op: 'register' as const, listener: l, uid: 0, address: '10.0.0.1' })),
      { op: 'setDomain', listener: 0, domain: 2 },
      { op: 'setDomain', listener: 1, domain: 1 },
      { op: 'setDomain', listener: 2, domain: 3 },
      { op: 'connect', conn: 0, address: '10.0.0.1', domain: 0, hash: 7 },
      { op: 'connect', conn: 1, address: '10.0.0.1', domain: null, hash: 7 },
    ];
    await expectRunConforms(numaScheme, { domains: 4 }, commands);
    const impl = new NumaImpl({ domains: 4, groupMax: 256 });
    const outcomes = commands.map((c) => impl.apply(c));
    expect(outcomes.slice(-2)).toEqual([{ ok: true, listener: 1, local: false }, { ok: true, listener: 1, local: false }]);
  });

  it('the numa model refuses a "curdom" setDomain without the calling CPU, naming the field, and needs a CPU for nothing else', () => {
    const parsed = commandSchema.safeParse({ op: 'setDomain', listener: 1, domain: 'curdom' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => [i.path, i.message])).toEqual([[['cpu'], '"curdom" needs the calling CPU']]);
    expect(commandSchema.safeParse({ op: 'setDomain', listener: 1, domain: 'curdom', cpu: 3 }).success).toBe(true);
    for (const domain of [0, 'nodom']) expect(commandSchema.safeParse({ op: 'setDomain', listener: 1, domain }).success).toBe(true);
  });

  it("the impl's address parser on the edges of the dotted-quad grammar (empty octets, dots too few or too many, at either end)", () => {
    const edges = ['1.2.3.', '1.2.3.4.', '.1.2.3', '1..2.3', '1.2.3', '1.2.3.4.5', '1.2.3..4', '...', '', '0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3.04', '1.2.3.1000', '9.99.100.249'];
    for (const t of edges) parsesLikeTheModel(t);
  });

  it("the impl's address parser accepts exactly the model's canonical dotted quads, and formats them back", () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('', '00', '01', '007', '1a', ' 1', '-1', '+1', '1e2'));
    const text = fc.oneof(
      fc.array(octet, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')),
      fc.string({ maxLength: 16 }),
      fc.ipV4(),
    );
    fc.assert(
      fc.property(text, parsesLikeTheModel),
      { numRuns: 2000, seed: 4 },
    );
  });
});

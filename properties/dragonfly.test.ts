import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowedOutcomes, initialState, judge, stepWith } from '../core/relation.ts';
import { canonical } from '../core/vocabulary.ts';
import { configSchema, model, type Command, type State } from '../model/dragonfly.ts';
import { dragonflyScheme } from './dragonfly.ts';
import { dragonflyBugs } from './fixtures/dragonfly-bugs.ts';
import { checkScheme, expectRunConforms } from './harness.ts';

describe('dragonfly', () => {
  checkScheme(dragonflyScheme, { bugs: dragonflyBugs });

  it('the dragonfly model takes only a power of two of CPUs, from 1 to 128, naming the field', () => {
    for (const cpus of [1, 2, 4, 8, 16, 32, 64, 128]) expect(configSchema.safeParse({ cpus }).success, `${cpus}`).toBe(true);
    for (const cpus of [0, 3, 5, 6, 7, 12, 96, 127, 256, 2.5]) {
      const parsed = configSchema.safeParse({ cpus });
      expect(parsed.error?.issues.map((i) => i.path), `${cpus}`).toEqual([['cpus']]);
    }
    expect(configSchema.safeParse({ cpus: 6 }).error?.issues[0].message).toBe('must be a power of two (1, 2, 4, ..., 128)');
    expect(configSchema.parse({}).cpus).toBe(128);
  });

  it('a run wider than the implementation\'s first table sizes (40 listeners, 600 connections) conforms step by step', async () => {
    const hash = (i: number) => Math.imul(i + 1, 2654435761) >>> 0;
    const connects = (from: number) => Array.from({ length: 300 }, (_, c) => ({ op: 'connect', conn: from + c, hash: hash(from + c) }));
    await expectRunConforms(dragonflyScheme, { cpus: 4, groupMax: 64 }, [
      ...Array.from({ length: 40 }, (_, l) => ({ op: 'register', listener: l, uid: 0 })),
      ...connects(0),
      ...Array.from({ length: 30 }, (_, l) => ({ op: 'accept', listener: l })),
      ...Array.from({ length: 20 }, (_, l) => ({ op: 'deregister', listener: l * 2 })),
      ...Array.from({ length: 20 }, (_, l) => ({ op: 'register', listener: 40 + l, uid: 0 })),
      ...connects(300),
      ...Array.from({ length: 40 }, (_, c) => ({ op: 'close', conn: c * 7 })),
    ]);
  });
});

/** The state after registering listeners 10, 11, ... and then deregistering those at `gaps` (by slot). */
function groupWithSlots(cpus: number, highest: number, gaps: number[]): State {
  let state = initialState(model, configSchema.parse({ cpus, groupMax: 16 }));
  const run = (cmd: Command) => (state = stepWith(model, state, cmd).next);
  for (let slot = 0; slot <= highest; slot++) run({ op: 'register', listener: 10 + slot, uid: 1000 });
  for (const slot of gaps) run({ op: 'deregister', listener: 10 + slot });
  return state;
}

describe('dragonfly connect without a hash', () => {
  it('allows exactly the outcomes that some 32-bit hash gives', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 4, 8),
        fc.integer({ min: 0, max: 9 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 9 }), { maxLength: 5 }),
        (cpus, highest, gaps) => {
          const state = groupWithSlots(cpus, highest, gaps.filter((g) => g <= highest));
          const withoutHash = allowedOutcomes(model, state, { op: 'connect', conn: 1 }).map(canonical).sort();
          // Every hash below count * cpus covers every (index, CPU) pair a 32-bit hash can reach.
          const byHash = new Set<string>();
          for (let hash = 0; hash < Math.max(1, state.members.length) * cpus; hash++) {
            byHash.add(canonical(stepWith(model, state, { op: 'connect', conn: 1, hash }).outcome));
          }
          expect(withoutHash).toEqual([...byHash].sort());
        },
      ),
      { numRuns: 200 },
    );
  });

  it('lets the listener in slot 2 of a group {0, 2} on 4 CPUs be reached only from another CPU', () => {
    const state = groupWithSlots(4, 2, [1]);
    const outcomes = allowedOutcomes(model, state, { op: 'connect', conn: 1 }).map(canonical).sort();
    expect(outcomes).toEqual(
      [
        { ok: true, listener: 10, local: true },
        { ok: true, listener: 10, local: false },
        { ok: true, listener: 12, local: false },
      ].map(canonical).sort(),
    );
  });
});

describe('dragonfly model as a relation', () => {
  it('rejects an outcome of the wrong kind where the spec leaves a choice', () => {
    const full = groupWithSlots(1, 15, []);
    const register: Command = { op: 'register', listener: 10, uid: 1001 };
    expect(allowedOutcomes(model, full, register).map(canonical).sort()).toEqual(
      ['duplicate-listener', 'group-full', 'uid-mismatch'].map((error) => canonical({ ok: false, error })).sort(),
    );
    expect(judge(model, full, register, { ok: true, slot: 16 }).allowed).toBe(false);
    const connect: Command = { op: 'connect', conn: 1 };
    expect(judge(model, full, connect, { ok: false, error: 'refused' }).allowed).toBe(false);
  });
});

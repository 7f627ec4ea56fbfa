import { describe, expect, it } from 'vitest';
import { reuserpsScheme } from './reuserps.ts';
import { reuserpsBugs } from './fixtures/reuserps-bugs.ts';
import { checkScheme, expectRunConforms } from './harness.ts';
import { ReuserpsImpl } from '../impl/reuserps.ts';
import { configSchema, type Command } from '../model/reuserps.ts';

describe('reuserps', () => {
  // First, and by outcomes before snapshots: a slot without an accept queue (or a negative one) makes the
  // snapshot's queue walk run forever, so this fails cleanly before any run checked by snapshot hangs.
  it('the second and the 17th listener slots (the first past the accept queues\' first capacity) take and give back their own connections', async () => {
    // The same run judged by its outcomes alone (an implementation that shows no snapshot), then with snapshots.
    const outcomesOnly: typeof reuserpsScheme = { ...reuserpsScheme, implementation: (config) => { const impl = reuserpsScheme.implementation(config); return { apply: (cmd) => impl.apply(cmd) }; } };
    const commands = [
      ...Array.from({ length: 17 }, (_, l) => ({ op: 'register', listener: l, uid: 0, reuserps: true, cpus: [l === 16 ? 1 : 0], limit: 0 })),
      { op: 'connect', conn: 0, cpu: 1, hash: 5 },
      { op: 'accept', listener: 16 },
      { op: 'connect', conn: 1, cpu: 0, hash: 5 },
      { op: 'connect', conn: 2, cpu: 0, hash: 5 },
      { op: 'accept', listener: 1 },
    ];
    await expectRunConforms(outcomesOnly, { cpus: 2, slotsPerCpu: 32 }, commands);
    await expectRunConforms(reuserpsScheme, { cpus: 2, slotsPerCpu: 32 }, commands);
  });

  checkScheme(reuserpsScheme, { bugs: reuserpsBugs });

  it('the hash fallback picks among more eligible members than its first scratch holds (20 on CPU 0, a connect on CPU 1)', async () => {
    // Found by a mutation review: the scratch list of eligible members was 16 long and never grew, so the
    // 17th to 20th members of a hash fallback were read past its end (listener undefined).
    await expectRunConforms(reuserpsScheme, { cpus: 2, slotsPerCpu: 32, fallback: 'hash' }, [
      ...Array.from({ length: 20 }, (_, l) => ({ op: 'register', listener: l, uid: 0, reuserps: true, cpus: [0], limit: 0 })),
      { op: 'connect', conn: 0, cpu: 1, hash: 0xffffffff },
      { op: 'connect', conn: 1, cpu: 1, hash: 0xd0000000 },
      { op: 'connect', conn: 2, cpu: 1, hash: 0 },
    ]);
  });

  it('the edges of bad-cpu (a CPU of exactly `cpus` in a connect and in a registration) conform step by step', async () => {
    await expectRunConforms(reuserpsScheme, { cpus: 4, slotsPerCpu: 4 }, [
      { op: 'register', listener: 0, uid: 0, reuserps: true, cpus: [0, 4], limit: 0 },
      { op: 'register', listener: 0, uid: 0, reuserps: true, cpus: [0, 3], limit: 0 },
      { op: 'connect', conn: 0, cpu: 4, hash: 5 },
      { op: 'connect', conn: 1, cpu: 3, hash: 5 },
      { op: 'connect', conn: 2, cpu: 0, hash: 5 },
    ]);
  });

  it('a run wider than the implementation\'s first table sizes (40 listeners, 300 connections) conforms step by step', async () => {
    const hash = (i: number) => Math.imul(i + 1, 2654435761) >>> 0;
    const connects = (from: number) => Array.from({ length: 150 }, (_, c) => ({ op: 'connect', conn: from + c, cpu: c % 4, hash: hash(from + c) }));
    await expectRunConforms(reuserpsScheme, { cpus: 4, slotsPerCpu: 64 }, [
      ...Array.from({ length: 40 }, (_, l) => ({ op: 'register', listener: l, uid: 0, reuserps: true, cpus: [l % 4, (l + 1) % 4], limit: l % 5 === 0 ? 3 : 0 })),
      ...connects(0),
      ...Array.from({ length: 30 }, (_, l) => ({ op: 'accept', listener: l })),
      ...Array.from({ length: 20 }, (_, l) => ({ op: 'deregister', listener: l * 2 })),
      ...Array.from({ length: 20 }, (_, l) => ({ op: 'register', listener: 40 + l, uid: 0, reuserps: true, cpus: [l % 4], limit: 0 })),
      ...connects(150),
      ...Array.from({ length: 40 }, (_, c) => ({ op: 'close', conn: c * 7 })),
    ]);
  });

  it('apply throws on a command it does not know instead of taking it for another', () => {
    const impl = new ReuserpsImpl(configSchema.parse({}));
    expect(() => impl.apply({ op: 'listen', conn: 0 } as unknown as Command)).toThrow();
  });
});

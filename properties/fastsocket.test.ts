import { describe, it } from 'vitest';
import { fastsocketScheme } from './fastsocket.ts';
import { fastsocketBugs } from './fixtures/fastsocket-bugs.ts';
import { checkScheme, expectRunConforms } from './harness.ts';

describe('fastsocket', () => {
  checkScheme(fastsocketScheme, { bugs: fastsocketBugs });

  it('a run wider than the implementation\'s first table sizes (20 global and 40 local listeners, 200 connections) conforms step by step', async () => {
    const hash = (i: number) => Math.imul(i + 1, 2654435761) >>> 0;
    const connects = (from: number) => Array.from({ length: 100 }, (_, c) => ({ op: 'connect', conn: from + c, cpu: c % 8, hash: hash(from + c) }));
    await expectRunConforms(fastsocketScheme, { cpus: 8, listenSpawn: 1 }, [
      ...Array.from({ length: 20 }, (_, l) => ({ op: 'listen', listener: l, uid: 0 })),
      ...Array.from({ length: 40 }, (_, k) => ({ op: 'spawn', listener: k % 20, local: 100 + k, worker: k, cpu: k % 6 })),
      ...connects(0),
      ...Array.from({ length: 30 }, (_, k) => ({ op: 'accept', listener: 100 + k })),
      ...Array.from({ length: 10 }, (_, k) => ({ op: 'close', listener: 100 + k * 3 })),
      ...Array.from({ length: 5 }, (_, l) => ({ op: 'close', listener: l * 4 })),
      ...connects(100),
      ...Array.from({ length: 40 }, (_, c) => ({ op: 'closeConn', conn: c * 5 })),
    ]);
  });
});

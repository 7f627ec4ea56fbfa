import { describe, expect, it } from 'vitest';
import { fastsocketScheme } from './fastsocket.ts';
import { fastsocketBugs } from './fixtures/fastsocket-bugs.ts';
import { checkScheme, expectRunConforms } from './harness.ts';
import { FastsocketImpl } from '../impl/fastsocket.ts';
import { configSchema, model, UNBOUND_ON_ONE_CPU, type Command } from '../model/fastsocket.ts';

describe('fastsocket', () => {
  // First, and by outcomes before snapshots: a slot without an accept queue makes the snapshot's queue walk
  // run forever, so this fails cleanly before any run checked by snapshot hangs.
  it('the 17th listener slot (the first past the accept queues\' first capacity) takes and gives back its own connection', async () => {
    // The same run judged by its outcomes alone (an implementation that shows no snapshot), then with snapshots.
    const outcomesOnly: typeof fastsocketScheme = { ...fastsocketScheme, implementation: (config) => { const impl = fastsocketScheme.implementation(config); return { apply: (cmd) => impl.apply(cmd) }; } };
    const commands = [
      ...Array.from({ length: 17 }, (_, l) => ({ op: 'listen', listener: l, uid: 0 })),
      // floor((2^32 - 1) * 17 / 2^32) = 16: the last global listener.
      { op: 'connect', conn: 0, cpu: 0, hash: 2 ** 32 - 1 },
      { op: 'accept', listener: 16 },
      { op: 'close', listener: 16 },
    ];
    await expectRunConforms(outcomesOnly, { cpus: 2, listenSpawn: 1 }, commands);
    await expectRunConforms(fastsocketScheme, { cpus: 2, listenSpawn: 1 }, commands);
  });

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

  it('the edges of bad-cpu (a connect and a spawn on exactly `cpus`) conform step by step', async () => {
    await expectRunConforms(fastsocketScheme, { cpus: 4, listenSpawn: 1 }, [
      { op: 'listen', listener: 0, uid: 0 },
      { op: 'spawn', listener: 0, local: 1, worker: 0, cpu: 4 },
      { op: 'spawn', listener: 0, local: 1, worker: 0, cpu: 3 },
      { op: 'connect', conn: 0, cpu: 4, hash: 5 },
      { op: 'connect', conn: 1, cpu: 3, hash: 5 },
    ]);
  });

  it('on 128 CPUs a worker\'s affinity ends at CPU 127, whatever the next worker is bound to', async () => {
    // Worker 1's CPU 0 is the bit right after worker 0's CPU 127 in the mask words.
    await expectRunConforms(fastsocketScheme, { cpus: 128, listenSpawn: 1 }, [
      { op: 'bind', worker: 0, cpus: [5, 127] },
      { op: 'bind', worker: 1, cpus: [0] },
      { op: 'bind', worker: 2, cpus: [0, 64] },
    ]);
  });

  it('the accept turn of a local listener moves only on accepts that find its global queue non-empty (the implementation\'s choice)', () => {
    // The model allows either queue when both are non-empty; the implementation documents its order: the
    // first accept that finds the global queue non-empty takes from it, the next from the local queue.
    const impl = new FastsocketImpl(configSchema.parse({ cpus: 2, listenSpawn: 1 }));
    const run = (cmd: Command) => impl.apply(cmd);
    run({ op: 'listen', listener: 0, uid: 0 });
    run({ op: 'spawn', listener: 0, local: 1, worker: 0, cpu: 0 });
    run({ op: 'connect', conn: 0, cpu: 0, hash: 0 });
    expect(run({ op: 'accept', listener: 1 })).toEqual({ ok: true, conn: 0 });
    run({ op: 'connect', conn: 1, cpu: 1, hash: 0 });
    run({ op: 'connect', conn: 2, cpu: 0, hash: 0 });
    run({ op: 'connect', conn: 3, cpu: 1, hash: 0 });
    expect(run({ op: 'accept', listener: 1 })).toEqual({ ok: true, conn: 1 });
    expect(run({ op: 'accept', listener: 1 })).toEqual({ ok: true, conn: 2 });
    expect(run({ op: 'accept', listener: 1 })).toEqual({ ok: true, conn: 3 });
  });

  it('apply throws on a command it does not know instead of taking it for another', () => {
    const impl = new FastsocketImpl(configSchema.parse({}));
    expect(() => impl.apply({ op: 'register', conn: 0 } as unknown as Command)).toThrow();
  });
});

describe('fastsocket readings', () => {
  it('the fastsocket model reads how an unbound worker is placed only on one CPU with spawning on, the one config where a spawn consults it', () => {
    const readings = (raw: object) => {
      const names: string[] = [];
      model.init(configSchema.parse(raw), (reading, options) => (names.push(reading), options[0]));
      return names;
    };
    expect(readings({ cpus: 1, listenSpawn: 1 })).toContain(UNBOUND_ON_ONE_CPU.name);
    expect(readings({ cpus: 1, listenSpawn: 2 })).toContain(UNBOUND_ON_ONE_CPU.name);
    expect(readings({ cpus: 1, listenSpawn: 0 })).not.toContain(UNBOUND_ON_ONE_CPU.name);
    expect(readings({ cpus: 2, listenSpawn: 1 })).not.toContain(UNBOUND_ON_ONE_CPU.name);
  });
});

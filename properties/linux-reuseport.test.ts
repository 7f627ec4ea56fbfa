import { describe, expect, it } from 'vitest';
import { initialState, stepWith } from '../core/relation.ts';
import { linuxReuseportScheme } from './linux-reuseport.ts';
import { linuxReuseportBugs } from './fixtures/linux-reuseport-bugs.ts';
import { checkScheme, expectRunConforms } from './harness.ts';
import { LinuxReuseportImpl } from '../impl/linux-reuseport.ts';
import { commandSchema, configSchema, model, type Command } from '../model/linux-reuseport.ts';

describe('linux-reuseport', () => {
  // First, and by outcomes before snapshots: a slot without an accept queue (or a negative one) makes the
  // snapshot's queue walk run forever, so this fails cleanly before any run checked by snapshot hangs.
  it('a connection queued on the 17th listener slot (the first past the accept queues\' first capacity) is accepted from there', async () => {
    // Listener 16 is the only one with SO_INCOMING_CPU 0, so the probe puts the connect on CPU 0 in its queue
    // before any later registration could grow the queues; listeners 17 and 18 come only after the accept.
    // The same run judged by its outcomes alone (an implementation that shows no snapshot), then with snapshots.
    const outcomesOnly: typeof linuxReuseportScheme = { ...linuxReuseportScheme, implementation: (config) => { const impl = linuxReuseportScheme.implementation(config); return { apply: (cmd) => impl.apply(cmd) }; } };
    const commands = [
      ...Array.from({ length: 17 }, (_, l) => ({ op: 'register', listener: l, uid: 7, incomingCpu: l === 16 ? 0 : -1 })),
      { op: 'connect', conn: 0, cpu: 0, hash: 5 },
      { op: 'accept', listener: 16 },
      { op: 'register', listener: 17, uid: 7, incomingCpu: -1 },
      { op: 'register', listener: 18, uid: 7, incomingCpu: -1 },
      { op: 'deregister', listener: 16, cpu: 0 },
    ];
    await expectRunConforms(outcomesOnly, { cpus: 2, migrate: true }, commands);
    await expectRunConforms(linuxReuseportScheme, { cpus: 2, migrate: true }, commands);
  });

  checkScheme(linuxReuseportScheme, { bugs: linuxReuseportBugs });

  it('the edges of bad-cpu (a CPU or an SO_INCOMING_CPU of exactly `cpus`) and a probe with matches on both sides of its start conform step by step', async () => {
    await expectRunConforms(linuxReuseportScheme, { cpus: 4, migrate: true }, [
      // 100 past the CPUs pins the run's reading to bad-cpu, so `cpus` itself must be refused too.
      { op: 'register', listener: 0, uid: 7, incomingCpu: 100 },
      { op: 'register', listener: 0, uid: 7, incomingCpu: 4 },
      { op: 'register', listener: 0, uid: 7, incomingCpu: 1 },
      { op: 'register', listener: 1, uid: 7, incomingCpu: -1 },
      { op: 'register', listener: 2, uid: 7, incomingCpu: 1 },
      { op: 'setIncomingCpu', listener: 1, incomingCpu: 4 },
      { op: 'setIncomingCpu', listener: 1, incomingCpu: 100 },
      { op: 'connect', conn: 0, cpu: 4, hash: 0 },
      // Start index 1 (hash 2^31 of 3 members): the probe goes forward to listener 2, not back to 0.
      { op: 'connect', conn: 1, cpu: 1, hash: 2 ** 31 },
      { op: 'connect', conn: 2, cpu: 1, hash: 2 ** 31 + 7 },
      { op: 'deregister', listener: 1, cpu: 4 },
      { op: 'deregister', listener: 1, cpu: 100 },
      { op: 'deregister', listener: 2, cpu: 1 },
    ]);
  });

  it('a probe that wraps past the last member finds the first one, not a stale entry past the group', async () => {
    await expectRunConforms(linuxReuseportScheme, { cpus: 2, migrate: true }, [
      { op: 'register', listener: 0, uid: 7, incomingCpu: 1 },
      { op: 'register', listener: 1, uid: 7, incomingCpu: -1 },
      { op: 'register', listener: 2, uid: 7, incomingCpu: -1 },
      { op: 'register', listener: 3, uid: 7, incomingCpu: 1 },
      // Listener 3 moves into the hole; its old place, just past the 3 members, still names it.
      { op: 'deregister', listener: 1, cpu: 0 },
      // Start index 2 (the last member, no match): the probe wraps to listener 0.
      { op: 'connect', conn: 0, cpu: 1, hash: 2 ** 32 - 1 },
    ]);
  });

  it('the implementation matches the model in a group of 40 listeners (past its first typed-array sizes)', () => {
    const config = configSchema.parse({ cpus: 2, migrate: true });
    const impl = new LinuxReuseportImpl(config);
    let state = initialState(model, config);
    const commands: Command[] = [
      ...Array.from({ length: 40 }, (_, l): Command => ({ op: 'register', listener: l, uid: 7, incomingCpu: l % 3 === 0 ? l % 2 : -1 })),
      ...Array.from({ length: 60 }, (_, c): Command => ({ op: 'connect', conn: c, cpu: c % 2, hash: (c * 2654435761) >>> 0 })),
      ...Array.from({ length: 20 }, (_, l): Command => ({ op: 'deregister', listener: l * 2, cpu: l % 2 })),
    ];
    for (const cmd of commands) {
      const { outcome, next } = stepWith(model, state, cmd);
      expect(impl.apply(cmd)).toEqual(outcome);
      state = next;
    }
    expect(impl.snapshot()).toEqual(state);
  });

  it('apply throws on a command it does not know instead of taking it for another', () => {
    const impl = new LinuxReuseportImpl(configSchema.parse({}));
    expect(() => impl.apply({ op: 'listen', conn: 0 } as unknown as Command)).toThrow();
  });
});

describe('linux-reuseport config and readings', () => {
  it('the linux-reuseport model takes either family (IPv4 by default) and names the range of a bad SO_INCOMING_CPU', () => {
    expect(configSchema.parse({}).family).toBe('ipv4');
    expect(configSchema.parse({ family: 'ipv4' }).family).toBe('ipv4');
    expect(configSchema.parse({ family: 'ipv6' }).family).toBe('ipv6');
    const bad = commandSchema.safeParse({ op: 'setIncomingCpu', listener: 1, incomingCpu: 128 });
    expect(bad.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['incomingCpu', 'is out of range: CPU numbers run 0..127']]);
  });

  it('the linux-reuseport model reads `local` three ways under the CPU program and two ways without it (there "the program chose" is always-false)', () => {
    const offered = (raw: object) => {
      const readings: Record<string, readonly unknown[]> = {};
      model.init(configSchema.parse(raw), (reading, options) => ((readings[reading] = options), options[0]));
      return readings;
    };
    expect(offered({ program: 'cpu' }).local).toEqual(['incoming-cpu-matches', 'always-false', 'cpu-program-chose']);
    expect(offered({}).local).toEqual(['incoming-cpu-matches', 'always-false']);
    expect(offered({}).local).toEqual(offered({ program: 'none' }).local);
  });
});

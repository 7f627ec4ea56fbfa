import { describe, expect, it } from 'vitest';
import { initialState, stepWith } from '../core/relation.ts';
import { linuxReuseportScheme } from './linux-reuseport.ts';
import { linuxReuseportBugs } from './fixtures/linux-reuseport-bugs.ts';
import { checkScheme } from './harness.ts';
import { LinuxReuseportImpl } from '../impl/linux-reuseport.ts';
import { configSchema, model, type Command } from '../model/linux-reuseport.ts';

describe('linux-reuseport', () => {
  checkScheme(linuxReuseportScheme, { bugs: linuxReuseportBugs });

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
});

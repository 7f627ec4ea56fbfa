// The shrinker of generated runs (properties/runs.ts): what it keeps of a failing run.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shrinkingRuns } from './runs.ts';

type Cmd = { op: 'make' | 'use'; id: number };

/** The counterexample fast-check reports for `fails`, starting from exactly `commands`. */
function shrunk(commands: Cmd[], fails: (cmds: Cmd[]) => boolean): Cmd[] {
  const runs = shrinkingRuns(fc.constant(null), () => null, () => fc.constant(commands));
  const result = fc.check(fc.property(runs, ({ commands }) => !fails(commands)), { seed: 1, numRuns: 1 });
  expect(result.failed).toBe(true);
  return result.counterexample![0].commands;
}

describe('shrinkingRuns', () => {
  it('merges two commands of one op when the failure needs what one makes and the other names', () => {
    // Fails while the first command makes id 1 and a later use names an id made before it: dropping
    // either make alone passes, and so does any smaller id; only merging `make 0` into `make 1` (the
    // use renamed to 1) keeps the failure.
    const fails = (cmds: Cmd[]) =>
      cmds[0]?.op === 'make' && cmds[0].id === 1 && cmds.some((c, n) => c.op === 'use' && cmds.slice(0, n).some((m) => m.op === 'make' && m.id === c.id));
    expect(shrunk([{ op: 'make', id: 1 }, { op: 'make', id: 0 }, { op: 'use', id: 0 }], fails)).toEqual([
      { op: 'make', id: 1 },
      { op: 'use', id: 1 },
    ]);
  });

  it('drops commands that do not contribute and keeps those that do', () => {
    const fails = (cmds: Cmd[]) => cmds.filter((c) => c.op === 'use' && c.id === 3).length >= 2;
    const commands: Cmd[] = [0, 3, 1, 3, 2, 3].map((id, n) => ({ op: n % 2 ? 'use' : 'make', id }));
    expect(shrunk(commands, fails)).toEqual([
      { op: 'use', id: 3 },
      { op: 'use', id: 3 },
    ]);
  });
});

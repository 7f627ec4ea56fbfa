// Observed inputs (steerspec/1 `inputs`, core/scheme.ts withInputs): a subject that reports the inputs it
// used is judged as if the command had carried them — exactly, not "some hash would give this".
import { describe, expect, it } from 'vitest';
import { runParallel } from './parallel.ts';
import { runSequence } from './runner.ts';
import { allProperties, withInputs } from './scheme.ts';
import { checked } from './subject.ts';
import { linuxReuseportScheme } from '../properties/linux-reuseport.ts';
import { scaled, type Command, type Config } from '../model/linux-reuseport.ts';

const config: Config = { cpus: 2, migrate: false, program: 'none', family: 'ipv4' };
const group: Command[] = [0, 1, 2].map((listener): Command => ({ op: 'register', listener, uid: 1000, incomingCpu: -1 }));
const connect: Command = { op: 'connect', conn: 7, cpu: 0 };
const hash = 3_000_000_000; // scaled(hash, 3) = 2
const properties = allProperties(linuxReuseportScheme).filter((p) => p.name !== 'snapshot-matches-model');

/** A subject that registers and answers the one connect with `listener`, reporting `inputs`. */
const reporting = (listener: number, inputs: object) => ({
  apply: (cmd: unknown) => ((cmd as Command).op === 'register' ? { ok: true } : { ok: true, listener, local: false, inputs }),
});

describe('observed inputs', () => {
  it('withInputs merges them into the command and takes them out of the outcome', () => {
    expect(withInputs(connect, { ok: true, listener: 2, local: false, inputs: { hash, cpu: 1 } })).toEqual({
      cmd: { ...connect, hash, cpu: 1 },
      outcome: { ok: true, listener: 2, local: false },
    });
    const plain = { ok: true, listener: 2, local: false };
    expect(withInputs(connect, plain)).toEqual({ cmd: connect, outcome: plain });
  });

  it('judges the connect with the reported hash: its member passes, another member fails, and the step records the hash', async () => {
    expect(scaled(hash, 3)).toBe(2);
    const right = await runSequence({ scheme: linuxReuseportScheme, config, commands: [...group, connect], implementation: checked(linuxReuseportScheme, reporting(2, { hash }), { hash: false, snapshot: false }), properties });
    expect(right.failures).toEqual([]);
    expect(right.steps.at(-1)).toEqual({ cmd: { ...connect, hash }, outcome: { ok: true, listener: 2, local: false } });
    // Without inputs listener 0 would be allowed (some hash gives it); with the kernel's hash it is not.
    const wrong = await runSequence({ scheme: linuxReuseportScheme, config, commands: [...group, connect], implementation: checked(linuxReuseportScheme, reporting(0, { hash }), { hash: false, snapshot: false }), properties });
    expect(wrong.failures.map((f) => [f.property, f.index])).toContainEqual(['conformance', 3]);
  });

  it('reported inputs that make no command of the vocabulary are a protocol error', async () => {
    const result = await runSequence({ scheme: linuxReuseportScheme, config, commands: [...group, connect], implementation: checked(linuxReuseportScheme, reporting(2, { cpu: 'zero' }), { hash: false, snapshot: false }), properties });
    expect(result.fault?.fault).toBe('protocol-error');
    expect(result.fault?.message).toMatch(/inputs/);
  });
});

// The concurrent path (check --parallel): a reply with inputs is judged, and recorded, with them too.
describe('observed inputs in parallel runs', () => {
  const other: Command = { op: 'connect', conn: 8, cpu: 1 };
  const run = { config, prefix: group, branches: [[connect], [other]] };
  /** A concurrent subject answering every connect with `listener` and `inputs` (if any). */
  const concurrent = (listener: number, inputs?: object) => {
    const answer = (cmd: unknown) => ((cmd as Command).op === 'register' ? { ok: true } : { ok: true, listener, local: false, ...(inputs ? { inputs } : {}) });
    return checked(linuxReuseportScheme, { apply: answer, applyAt: async (cmd) => answer(cmd) }, { hash: false, snapshot: false, concurrent: true });
  };

  it('judges each branch command with its reported hash and records the command with it, the outcome without', async () => {
    const right = await runParallel(linuxReuseportScheme, config, run, concurrent(2, { hash }));
    expect(right.fault).toBeUndefined();
    expect(right.verdict.ok).toBe(true);
    expect(right.history.branches.map((b) => b.map((op) => [op.cmd, op.outcome]))).toEqual([
      [[{ ...connect, hash }, { ok: true, listener: 2, local: false }]],
      [[{ ...other, hash }, { ok: true, listener: 2, local: false }]],
    ]);
    // Listener 0 is some hash's choice, so without inputs the history is linearizable; with the hash it is not.
    expect((await runParallel(linuxReuseportScheme, config, run, concurrent(0))).verdict.ok).toBe(true);
    expect((await runParallel(linuxReuseportScheme, config, run, concurrent(0, { hash }))).verdict.ok).toBe(false);
  });

  it('inputs that make no command of the vocabulary are a protocol error', async () => {
    const result = await runParallel(linuxReuseportScheme, config, run, concurrent(2, { cpu: 'zero' }));
    expect(result.fault?.fault).toBe('protocol-error');
    expect(result.fault?.message).toMatch(/reports inputs that make no connect command/);
  });
});

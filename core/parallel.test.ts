// The parallel campaign's verdicts when the subject misbehaves between runs, on in-process subjects.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exitCodeOf } from '../cli/report.ts';
import { scratchDir } from '../properties/harness.ts';
import { reuserpsScheme } from '../properties/reuserps.ts';
import { runParallelCampaign } from './parallel.ts';
import { AdapterFault } from './runner.ts';
import type { AnyScheme } from './scheme.ts';
import { checked, type Subject } from './subject.ts';

/** The built-in impl declared concurrent (each command is atomic, so every history is linearizable); its `start` fails as `fail(n)` says. */
function concurrentBuiltin(fail: (start: number) => AdapterFault | undefined): Subject {
  let starts = 0;
  return {
    describe: '(test)',
    async start(scheme, config) {
      const fault = fail(++starts);
      if (fault) throw fault;
      const impl = scheme.implementation(config);
      return checked(scheme, { apply: (cmd) => impl.apply(cmd), applyAt: async (cmd) => impl.apply(cmd) }, { hash: true, snapshot: false, concurrent: true });
    },
    async close() {},
  };
}

describe('runParallelCampaign', () => {
  it('passes the built-in impl made concurrent', async () => {
    const { results } = await runParallelCampaign({ scheme: reuserpsScheme, subject: concurrentBuiltin(() => undefined), branches: 4, runs: 20, seed: 9, traceDir: scratchDir() });
    expect(results.map((r) => [r.status, r.reason])).toEqual([['passed', undefined]]);
  });

  it('reports runs the search cannot judge within its budget as undecided, exit 3: never passed', async () => {
    const traceDir = scratchDir();
    const { results } = await runParallelCampaign({ scheme: reuserpsScheme, subject: concurrentBuiltin(() => undefined), branches: 4, runs: 10, seed: 9, traceDir, budget: 1 });
    const [result] = results;
    expect(result.status).toBe('undecided');
    expect(result.reason).toMatch(/^\d+ of 10 runs cannot be judged; the first \(.+\): cannot be judged: the search for an order of the \d+ branch commands stopped after 1 /);
    expect(exitCodeOf(results)).toBe(3);
    const trace = JSON.parse(readFileSync(result.trace!, 'utf8'));
    expect(trace).toMatchObject({ format: 'steerspec-trace/2', found: { property: 'undecided', seed: 9 } });
  });

  it('keeps the history an oracle error was found on, as a trace judge can read', async () => {
    const traceDir = scratchDir();
    // A model bug that shows only in the branches: the checker throws under the run.
    const model = reuserpsScheme.model as AnyScheme['model'];
    const buggy = { ...reuserpsScheme, model: { ...model, step: (s: unknown, cmd: { op: string }, choose: Parameters<typeof model.step>[2]) => (cmd.op === 'accept' ? (() => { throw new Error('model bug: accept'); })() : model.step(s, cmd, choose)) } } as AnyScheme;
    const { results } = await runParallelCampaign({ scheme: buggy, subject: concurrentBuiltin(() => undefined), branches: 2, runs: 50, seed: 9, traceDir });
    const [result] = results;
    expect(result.status).toBe('error');
    expect(result.reason).toMatch(/^the oracle failed \(history saved: .+\): Error: model bug: accept/);
    const trace = JSON.parse(readFileSync(result.trace!, 'utf8'));
    expect(trace).toMatchObject({ format: 'steerspec-trace/2', found: { property: 'internal-error', message: 'model bug: accept' } });
    expect(JSON.stringify(trace.branches)).toMatch(/"op":"accept"/);
  });

  // The cause of an `oracle errors` (exit 4) seen once with --parallel 8 on the kernel helper: a run's
  // init that timed out (or found the helper dead) threw out of the run as if the oracle had failed.
  it.each(['timeout', 'crashed', 'protocol-error'] as const)('reports a %s at a later run’s init as a fault with its trace, not an oracle error', async (kind) => {
    const traceDir = scratchDir();
    // Start 1 is the capabilities probe, 2 and 3 the first runs, 4 the third run (counted: it was made, and faulted).
    const subject = concurrentBuiltin((n) => (n === 4 ? new AdapterFault(kind, `no reply to init within 2000 ms (${kind})`) : undefined));
    const { results, runs } = await runParallelCampaign({ scheme: reuserpsScheme, subject, branches: 8, runs: 20, seed: 9, traceDir });
    expect(results).toHaveLength(1);
    const [result] = results;
    expect([result.status, result.failure?.fault]).toEqual(['fault', kind]);
    expect(result.reason).toMatch(new RegExp(`^the subject faulted, ${kind} at init: no reply to init`));
    expect(runs).toBe(3);
    // The trace is the config the init was given, with no commands: replaying it makes the same init.
    const trace = JSON.parse(readFileSync(result.trace!, 'utf8'));
    expect(trace).toMatchObject({ format: 'steerspec-trace/2', prefix: [], found: { property: kind } });
    expect(trace.config).toMatchObject({ slotsPerCpu: 4 });
  });
});

// The concurrent protocol end to end: the threaded Python example passes `check --parallel 2`, its lock-less
// copy fails with a shrunk concurrent counterexample saved as steerspec-trace/2 (which judge and replay
// check again), a concurrent module's re-entered `apply` races and its locked version passes, a subject
// without `concurrent` is skipped (exit 3, never 0), and replies that break the protocol are faults.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runParallelCampaign } from '../core/parallel.ts';
import { runCli } from '../cli/run-cli.ts';
import { scratchDir } from '../properties/harness.ts';
import { reuserpsScheme } from '../properties/reuserps.ts';
import { moduleSubject } from './module.ts';
import { processSubject } from './process.ts';

const root = join(import.meta.dirname, '..');

describe('check --parallel through the process adapter', () => {
  it('passes the threaded Python example, with a lock around its state', async () => {
    const subject = processSubject(`cd ${root} && python3 adapters/examples/reuserps.py --threads`, { timeoutMs: 10_000 });
    const { results } = await runParallelCampaign({ scheme: reuserpsScheme, subject, branches: 2, runs: 40, seed: 42, traceDir: scratchDir() });
    await subject.close();
    expect(results.map((r) => [r.property, r.status, r.reason])).toEqual([['linearizability', 'passed', undefined]]);
    expect(results[0].runs).toBe(40);
  });

  it('catches the lock-less copy (exit 1, a shrunk counterexample in columns), and judge and replay check its trace again', async () => {
    const dir = scratchDir();
    const racy = 'python3 adapters/fixtures/reuserps-racy.py --threads';
    const { code, out } = await runCli(['check', '--scheme', 'reuserps', '--parallel', '2', '--exec', racy, '--runs', '100', '--seed', '1', '--traces', dir, '--timeout', '10000']);
    expect(code, out).toBe(1);
    expect(out).toMatch(/linearizability +required +FAILED/);
    expect(out).toMatch(/branch 0 +\| branch 1/);
    expect(out).toMatch(/^>> *\d+ .*"op":"connect"/m);
    expect(out).toMatch(/the spec allows \{"ok":false,"error":"refused"\}/);
    const length = Number(/violated at step \d+ \((\d+) commands, /.exec(out)?.[1]);
    // A real race shows only when the threads interleave so: a shrink candidate that did not race this time is
    // kept out, so the shrink may stop one command above the shortest (6 seen once in CI, 2026-12-02).
    expect(length, out).toBeLessThanOrEqual(6);
    const saved = /saved: (\S+)/.exec(out)![1];
    const trace = JSON.parse(readFileSync(saved, 'utf8'));
    expect(trace.format).toBe('steerspec-trace/2');
    expect(trace.branches.length).toBe(2);
    const judged = await runCli(['judge', saved]);
    expect(judged.code, judged.out).toBe(1);
    expect(judged.out).toMatch(/FAILED +linearizability at step/);
    const replayed = await runCli(['replay', saved, '--exec', 'python3 adapters/examples/reuserps.py --threads', '--timeout', '10000']);
    expect(replayed.code, replayed.out).toBe(0);
  });

  it('differs from the example only where the race is planted: no lock, a sleep between limit check and load', () => {
    const lines = (file: string) => readFileSync(join(root, file), 'utf8').split('\n');
    const a = lines('adapters/examples/reuserps.py');
    const b = lines('adapters/fixtures/reuserps-racy.py');
    expect(a.length).toBe(b.length);
    const differing = a.map((_, i) => i).filter((i) => a[i] !== b[i] && !a[i].startsWith('"""'));
    expect(differing.map((i) => b[i].trim())).toEqual([expect.stringMatching(/^STATE_LOCK = .*nullcontext/), expect.stringMatching(/sleep/)]);
  });

  it('refuses bad usage: a branch count outside 2..8, or --property with --parallel (exit 2)', async () => {
    for (const args of [['--parallel', '9'], ['--parallel', '2', '--property', 'limits']]) {
      const { code, out } = await runCli(['check', '--scheme', 'reuserps', ...args, '--runs', '1', '--traces', scratchDir()]);
      expect(code, out).toBe(2);
      expect(out).toMatch(/--parallel/);
    }
  });

  it('skips a subject that does not declare concurrent: exit 3, never a pass', async () => {
    const { code, out } = await runCli(['check', '--scheme', 'reuserps', '--parallel', '2', '--exec', 'python3 adapters/examples/reuserps.py', '--runs', '5', '--traces', scratchDir()]);
    expect(code, out).toBe(3);
    expect(out).toMatch(/SKIPPED: the subject does not declare "concurrent"/);
  });
});

describe('a concurrent module adapter: apply re-entered before earlier promises resolve', () => {
  it('races when the limit check and the increment are split by a timer, and passes when locked', async () => {
    const path = join(root, 'adapters/fixtures/module-racy.ts');
    const racy = moduleSubject(path, path, { timeoutMs: 10_000 });
    const caught = await runParallelCampaign({ scheme: reuserpsScheme, subject: racy, branches: 3, runs: 30, seed: 3, traceDir: scratchDir() });
    await racy.close();
    expect(caught.results[0].status).toBe('failed');
    const locked = moduleSubject(path, path, { timeoutMs: 10_000, env: { STEERSPEC_LOCKED: '1' } });
    const passed = await runParallelCampaign({ scheme: reuserpsScheme, subject: locked, branches: 3, runs: 10, seed: 3, traceDir: scratchDir() });
    await locked.close();
    expect(passed.results[0].status).toBe('passed');
  });
});

describe('replies to parallel requests that break the protocol are faults', () => {
  const fixture = (reply: string) =>
    `python3 -c "import json,sys
for line in sys.stdin:
    c = json.loads(line)
    r = {'ok': True, 'capabilities': {'hash': True, 'snapshot': False, 'concurrent': True}} if c['op'] == 'init' else {'ok': True}
    if 'id' in c: r = ${reply}
    print(json.dumps(r), flush=True)"`;
  it.each([
    ['an id nobody asked for', "{'ok': False, 'error': 'unknown-listener', 'id': c['id'] + 100}", /has no "id" of an outstanding one/],
    ['no id at all', "{'ok': False, 'error': 'unknown-listener'}", /has no "id" of an outstanding one/],
    ['an outcome outside the vocabulary', "{'ok': 'maybe', 'id': c['id']}", /reply \{"ok":"maybe"\} to .* is not a \w+ outcome/],
  ])('%s', async (_what, reply, message) => {
    const subject = processSubject(fixture(reply), { timeoutMs: 5000 });
    const { results } = await runParallelCampaign({ scheme: reuserpsScheme, subject, branches: 2, runs: 5, seed: 1, traceDir: scratchDir() });
    await subject.close();
    expect(results[0].status).toBe('fault');
    expect(results[0].reason).toMatch(message);
    expect(results[0].trace).toMatch(/\.json$/);
  });
});

// Other implementations judged through the adapters: an independent Python SO_REUSERPS conforms,
// a one-line bug in a copy of it is caught and shrunk, and misbehaving programs are verdicts
// (exit 3, trace saved), never crashes of the oracle.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../core/campaign.ts';
import { conformance } from '../core/scheme.ts';
import { scratchDir } from '../properties/harness.ts';
import { reuserpsScheme } from '../properties/reuserps.ts';
import { processSubject } from './process.ts';

const root = join(import.meta.dirname, '..');
const example = 'python3 adapters/examples/reuserps.py';
const buggy = 'python3 adapters/fixtures/reuserps-buggy.py';

describe('the Python SO_REUSERPS example, through the process adapter', () => {
  it('conforms to every property it can be held to (snapshot-matches-model is skipped, not passed)', async () => {
    const subject = processSubject(`cd ${root} && ${example}`, { timeoutMs: 5000 });
    const { results } = await runCampaign({ scheme: reuserpsScheme, subject, runs: 60, seed: 42, traceDir: scratchDir() });
    await subject.close();
    expect(results.filter((r) => r.status !== 'passed' && r.status !== 'skipped').map((r) => r.property)).toEqual([]);
    expect(results.find((r) => r.property === 'snapshot-matches-model')?.status).toBe('skipped');
  });

  it('has a buggy copy that differs from it in exactly one line of code', () => {
    const lines = (file: string) => readFileSync(join(root, file), 'utf8').split('\n');
    const a = lines('adapters/examples/reuserps.py');
    const b = lines('adapters/fixtures/reuserps-buggy.py');
    expect(a.length).toBe(b.length);
    const differing = a.map((line, i) => i).filter((i) => a[i] !== b[i] && !a[i].startsWith('"""'));
    expect(differing.length).toBe(1);
  });

  it('catches the buggy copy with a shrunk trace', async () => {
    const subject = processSubject(`cd ${root} && ${buggy}`, { timeoutMs: 5000 });
    const { results: [result] } = await runCampaign({ scheme: reuserpsScheme, subject, runs: 500, seed: 42, traceDir: scratchDir(), properties: [conformance] });
    await subject.close();
    expect(result.status).toBe('failed');
    expect(result.length).toBeLessThanOrEqual(8);
  });
});

describe('a misbehaving adapter is a verdict: exit 3, a clear message, the trace saved', () => {
  it('when it dies on a later init: the config that led to it is saved', async () => {
    const dir = scratchDir();
    const args = ['check', '--exec', 'python3 adapters/fixtures/misbehaving.py init-crash 3', '--scheme', 'reuserps', '--runs', '20', '--traces', dir];
    const outcome = await promisify(execFile)('node', [join(root, 'bin/steerspec.js'), ...args], { cwd: root }).then(
      ({ stdout }) => ({ code: 0, out: stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    expect(outcome.code, outcome.out).toBe(3);
    expect(outcome.out).toMatch(/crashed at init \(0 commands, not shrunk\): the process exited with code 4/);
    const [saved] = readdirSync(dir);
    const trace = JSON.parse(readFileSync(join(dir, saved), 'utf8'));
    expect(trace.steps).toEqual([]);
    expect(trace.config.cpus).toBeGreaterThan(0);
  });

  it.each([
    ['hangs', 'hang', /timeout at step \d+ .*no reply to .* within 1500 ms/],
    ['crashes', 'crash', /crashed at step \d+ .*exited with code 3; stderr ends: "misbehaving\.py: giving up/],
    ['prints garbage', 'garbage', /protocol-error at step \d+ .*is not JSON: "<<< not json/],
  ])('when it %s', async (_what, mode, message) => {
    const dir = scratchDir();
    const log = join(dir, 'adapter.log');
    const args = ['check', '--exec', `python3 adapters/fixtures/misbehaving.py ${mode}`, '--scheme', 'reuserps', '--timeout', '1500', '--runs', '20', '--traces', dir, '--log', log];
    const outcome = await promisify(execFile)('node', [join(root, 'bin/steerspec.js'), ...args], { cwd: root }).then(
      ({ stdout }) => ({ code: 0, out: stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    expect(outcome.code, outcome.out).toBe(3);
    expect(outcome.out).toMatch(message);
    if (mode === 'crash') expect(readFileSync(log, 'utf8')).toMatch(/giving up/);
    const saved = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(saved.length).toBe(1);
    const trace = JSON.parse(readFileSync(join(dir, saved[0]), 'utf8'));
    // The fixture answers three commands of a run, then misbehaves on the fourth: that is the last step saved.
    expect(trace.steps.length).toBe(4);
    expect(trace.found.property).toBe({ hang: 'timeout', crash: 'crashed', garbage: 'protocol-error' }[mode]);
  });
});

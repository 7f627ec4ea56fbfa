// SO_REUSERPS on stock Linux (adapters/linux/reuserps.bpf.c and its control plane steerspec-reuserps-bpf):
// every reuserps property over generated runs with real TCP connections, every traces/reuserps trace
// replayed through it, the check command of docs/kernel.md, and a wrong program caught. Where it can't
// run (not built: packages missing; not root; no BPF) the tests are skipped with the reason, never passed.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processSubject } from '../adapters/process.ts';
import { runCampaign } from '../core/campaign.ts';
import { replayFile } from '../cli/replay.ts';
import { runCli } from '../cli/run-cli.ts';
import { runSequence } from '../core/runner.ts';
import { allProperties, snapshotMatchesModel } from '../core/scheme.ts';
import type { Subject } from '../core/subject.ts';
import type { Command, Config } from '../model/reuserps.ts';
import { scratchDir } from './harness.ts';
import { reuserpsScheme } from './reuserps.ts';

const root = join(import.meta.dirname, '..');
const binary = join(root, 'adapters/linux/build/steerspec-reuserps-bpf');
/** Generated runs in the campaign here (each a fresh group of real listeners); the CLI check runs fewer. */
const RUNS = 80;
const CHECK_RUNS = 15;

function unusableHere(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  const missing = join(root, 'adapters/linux/build/missing');
  if (!existsSync(binary)) return existsSync(missing) ? `adapters/linux not built: ${readFileSync(missing, 'utf8').trim()}` : `${binary} is not built (npm run build:linux)`;
  try {
    const answer = execFileSync(binary, ['--probe'], { encoding: 'utf8', timeout: 10_000 }).trim();
    return answer === 'ok' ? null : answer;
  } catch (e) {
    return ((e as { stdout?: string }).stdout ?? String(e)).trim() || 'the probe gave no answer';
  }
}

const unusable = unusableHere();
if (unusable !== null) console.warn(`SO_REUSERPS eBPF checks skipped: ${unusable}`);
const subject = processSubject(JSON.stringify(binary), { timeoutMs: 5_000 });
afterAll(() => subject.close());

describe.skipIf(unusable !== null)(`SO_REUSERPS as an eBPF program on this kernel${unusable === null ? '' : ` (skipped: ${unusable})`}`, () => {
  it(`every reuserps property holds over ${RUNS} generated runs (snapshot-matches-model: no snapshot)`, async () => {
    const traceDir = scratchDir();
    try {
      const result = await runCampaign({ scheme: reuserpsScheme, subject, runs: RUNS, seed: 20261202, traceDir });
      const verdicts = result.results.map((r) => `${r.property} ${r.status}${r.reason ? ` (${r.reason})` : ''}${r.failure ? `: ${r.failure.message}` : ''}`);
      expect(verdicts.filter((v) => !/ passed$/.test(v))).toEqual(['snapshot-matches-model skipped (needs capability snapshot)']);
      // Most runs take a config of 2 CPUs or fewer: the ones asking for more are declined, not counted.
      expect(result.runs, `runs checked: ${result.runs}`).toBeGreaterThan(RUNS / 2);
    } finally {
      rmSync(traceDir, { recursive: true, force: true });
    }
  });

  const traces = readdirSync(join(root, 'traces/reuserps')).filter((f) => f.endsWith('.json')).sort();
  for (const file of traces) {
    it(`replays traces/reuserps/${file}`, async () => {
      const result = await replayFile(join(root, 'traces/reuserps', file), subject);
      const first = result.failures[0] ?? result.fault;
      expect(first?.message ?? null, first ? `${first.property} at step ${first.index}` : '').toBeNull();
    });
  }

  it('`steerspec check --scheme reuserps --exec adapters/linux/build/steerspec-reuserps-bpf` exits 0', async () => {
    const traceDir = scratchDir();
    try {
      const { code, out } = await runCli(['check', '--scheme', 'reuserps', '--exec', 'adapters/linux/build/steerspec-reuserps-bpf', '--runs', String(CHECK_RUNS), '--seed', '3', '--traces', traceDir]);
      expect(code, out.slice(-1500)).toBe(0);
      expect(out).toMatch(/10 passed, 0 failed, 1 skipped, 0 faulted/);
    } finally {
      rmSync(traceDir, { recursive: true, force: true });
    }
  });

  it('can fail: the program running top-down, judged as round-robin, fails conformance where they part', async () => {
    const lying: Subject = { ...subject, start: (scheme, config) => subject.start(scheme, { ...(config as Config), policy: 'top-down' }) };
    const config: Config = { cpus: 2, slotsPerCpu: 4, policy: 'round-robin', fallback: 'refuse' };
    const commands: Command[] = [
      { op: 'register', listener: 1, uid: 1000, reuserps: true, cpus: [0], limit: 0 },
      { op: 'register', listener: 2, uid: 1000, reuserps: true, cpus: [0], limit: 0 },
      { op: 'connect', conn: 1, cpu: 0, hash: 0 },
      { op: 'connect', conn: 2, cpu: 0, hash: 0 },
    ];
    const instance = await lying.start(reuserpsScheme, config);
    const properties = allProperties(reuserpsScheme).filter((p) => p !== snapshotMatchesModel);
    const result = await runSequence({ scheme: reuserpsScheme, config, commands, implementation: instance, properties });
    expect(result.fault).toBeUndefined();
    expect(result.failures.map((f) => [f.property, f.index])).toContainEqual(['conformance', 3]);
  });
});

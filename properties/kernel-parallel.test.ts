// Parallel runs against the real kernel (docs/kernel.md, "Concurrent runs"): both kernel helpers answer
// each branch on a thread of its own, pinned to the CPU its connect names, so the kernel steers two
// branches' SYNs, accepts and closes at the same time; `check --parallel 2` must pass on each. And it can
// fail: a parallel history of a helper set up other than the spec it is judged by is rejected. A deregister
// races a connect for real: forced (STEERSPEC_FORCE_DEREGISTER_RACE), the close takes the child of a
// connect still in flight, the history is judged, and a spec configured the other way rejects it. Where a
// helper can't run here the tests are skipped with the reason, never passed.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processSubject } from '../adapters/process.ts';
import { runCli } from '../cli/run-cli.ts';
import { linearize } from '../core/linearize.ts';
import { runParallel } from '../core/parallel.ts';
import type { Command as LinuxCommand, Config as LinuxConfig } from '../model/linux-reuseport.ts';
import type { Command as RpsCommand, Config as RpsConfig } from '../model/reuserps.ts';
import { scratchDir } from './harness.ts';
import { linuxReuseportScheme } from './linux-reuseport.ts';
import { reuserpsScheme } from './reuserps.ts';

const root = join(import.meta.dirname, '..');
/** Parallel runs per helper: each is a fresh group of real listeners and two threads of real connects. */
const RUNS = 20;

/** Why `binary` can't run here, or null: built, its own `--probe` says ok, and 2 CPUs to pin branches to. */
function unusableHere(binary: string): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  const missing = join(root, 'adapters/linux/build/missing');
  if (!existsSync(binary)) return existsSync(missing) ? `adapters/linux not built: ${readFileSync(missing, 'utf8').trim()}` : `${binary} is not built (npm run build:linux)`;
  let answer: string;
  try {
    answer = execFileSync(binary, ['--probe'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch (e) {
    answer = ((e as { stdout?: string }).stdout ?? String(e)).trim() || 'the probe gave no answer';
  }
  if (answer !== 'ok') return answer;
  const cpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  return cpus >= 2 ? null : `parallel kernel runs need 2 CPUs to pin branches to, this machine has ${cpus}`;
}

const helpers = [
  { scheme: 'linux-reuseport', exec: 'adapters/linux/build/steerspec-linux', seed: 7 },
  { scheme: 'reuserps', exec: 'adapters/linux/build/steerspec-reuserps-bpf', seed: 7 },
].map((h) => ({ ...h, unusable: unusableHere(join(root, h.exec)) }));
for (const h of helpers) if (h.unusable !== null) console.warn(`${h.scheme} parallel kernel checks skipped: ${h.unusable}`);
const [linux, rps] = helpers;

describe.each(helpers)('the $scheme kernel helper in parallel runs', (h) => {
  it.skipIf(h.unusable !== null)(`\`steerspec check --scheme ${h.scheme} --parallel 2 --runs ${RUNS}\` passes, with branches handled at the same time${h.unusable === null ? '' : ` (skipped: ${h.unusable})`}`, async () => {
    const dir = scratchDir();
    try {
      const log = join(dir, 'helper.log');
      const { code, out } = await runCli(['check', '--scheme', h.scheme, '--exec', h.exec, '--parallel', '2', '--runs', String(RUNS), '--seed', String(h.seed), '--traces', dir, '--log', log]);
      expect(code, out.slice(-1500)).toBe(0);
      expect(out).toMatch(/1 passed, 0 failed, 0 skipped, 0 faulted/);
      // The helper logs at exit how many branch requests overlapped another's: none would mean no concurrency at all.
      const line = readFileSync(log, 'utf8').match(/concurrent: (\d+) of (\d+) branch requests.*/);
      expect(line, readFileSync(log, 'utf8').slice(-800)).not.toBeNull();
      expect(Number(line![1])).toBeGreaterThan(0);
      console.log(`${h.scheme} --parallel 2: ${out.match(/\d+ runs, \d+ steps/)?.[0]}; ${line![0]}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a parallel kernel history judged by the wrong spec is rejected', () => {
  const subjects = helpers.map((h) => processSubject(JSON.stringify(join(root, h.exec)), { timeoutMs: 5_000 }));
  afterAll(() => Promise.all(subjects.map((s) => s.close())));

  it.skipIf(linux.unusable !== null)(`linux-reuseport: tcp_migrate_req off, judged as on, at a deregister beside a connect (serialized: migration off)${linux.unusable === null ? '' : ` (skipped: ${linux.unusable})`}`, async () => {
    const judged: LinuxConfig = { cpus: 2, migrate: true, program: 'none', family: 'ipv4' };
    // Two connections queued at listener 0 (the only one), then listener 1 joins; a branch closes 0 while the other connects.
    const prefix: LinuxCommand[] = [
      { op: 'register', listener: 0, uid: 1000, incomingCpu: -1 },
      { op: 'connect', conn: 1, cpu: 0 },
      { op: 'connect', conn: 2, cpu: 1 },
      { op: 'register', listener: 1, uid: 1000, incomingCpu: -1 },
    ];
    const run = { config: judged, prefix, branches: [[{ op: 'deregister', listener: 0, cpu: 0 }], [{ op: 'connect', conn: 3, cpu: 1 }]] };
    const honest = await runParallel(linuxReuseportScheme, judged, run, await subjects[0].start(linuxReuseportScheme, judged));
    expect(honest.fault).toBeUndefined();
    expect(honest.verdict.ok, JSON.stringify(honest.history)).toBe(true);
    const off = await runParallel(linuxReuseportScheme, judged, run, await subjects[0].start(linuxReuseportScheme, { ...judged, migrate: false }));
    expect(off.fault).toBeUndefined();
    expect(off.verdict.ok).toBe(false); // the kernel reset conns 1 and 2; migrate on would have moved them to listener 1
  });

  it.skipIf(rps.unusable !== null)(`reuserps: the program running top-down, judged as round-robin, with two connects racing on CPU 0${rps.unusable === null ? '' : ` (skipped: ${rps.unusable})`}`, async () => {
    const judged: RpsConfig = { cpus: 2, slotsPerCpu: 4, policy: 'round-robin', fallback: 'refuse' };
    const prefix: RpsCommand[] = [
      { op: 'register', listener: 1, uid: 1000, reuserps: true, cpus: [0], limit: 0 },
      { op: 'register', listener: 2, uid: 1000, reuserps: true, cpus: [0], limit: 0 },
      { op: 'connect', conn: 1, cpu: 0, hash: 0 },
    ];
    // Round-robin gives 2 and 1 to conns 2 and 3 in some order; top-down gives 1 to both: no order allows that.
    const run = { config: judged, prefix, branches: [[{ op: 'connect', conn: 2, cpu: 0, hash: 0 }], [{ op: 'connect', conn: 3, cpu: 0, hash: 0 }]] };
    const honest = await runParallel(reuserpsScheme, judged, run, await subjects[1].start(reuserpsScheme, judged));
    expect(honest.fault).toBeUndefined();
    expect(honest.verdict.ok, JSON.stringify(honest.history)).toBe(true);
    const topDown = await runParallel(reuserpsScheme, judged, run, await subjects[1].start(reuserpsScheme, { ...judged, policy: 'top-down' }));
    expect(topDown.fault).toBeUndefined();
    expect(topDown.verdict.ok).toBe(false);
  });
});

/** Whether operation `a` returned before `b`: a deregister that answers first, listing the child of a
 * connect that had not answered yet, is one no serializing helper could give. */
function returnedFirst(history: { events: ({ call: number } | { ret: number })[] }, a: number, b: number): boolean {
  const at = (id: number) => history.events.findIndex((e) => 'ret' in e && e.ret === id);
  return at(a) >= 0 && at(a) < at(b);
}

describe('a deregister racing a connect in the kernel is judged', () => {
  // Each helper with its race forced: the deregister closes once the connect is established, and the
  // connect reads the queues only after the close (both waits inside their own commands).
  const forced = helpers.map((h) => processSubject(JSON.stringify(join(root, h.exec)), { timeoutMs: 5_000, env: { STEERSPEC_FORCE_DEREGISTER_RACE: '1' } }));
  afterAll(() => Promise.all(forced.map((s) => s.close())));

  it.skipIf(linux.unusable !== null)(`linux-reuseport: the close migrates the child of a connect still in flight; judged with tcp_migrate_req off, rejected${linux.unusable === null ? '' : ` (skipped: ${linux.unusable})`}`, async () => {
    const config: LinuxConfig = { cpus: 2, migrate: true, program: 'none', family: 'ipv4' };
    // Listener 0 has SO_INCOMING_CPU 1, so a SYN on CPU 1 goes to it whatever its hash; closing it
    // migrates its queue to listener 1.
    const prefix: LinuxCommand[] = [
      { op: 'register', listener: 0, uid: 1000, incomingCpu: 1 },
      { op: 'register', listener: 1, uid: 1000, incomingCpu: -1 },
    ];
    const run = { config, prefix, branches: [[{ op: 'deregister', listener: 0, cpu: 0 }], [{ op: 'connect', conn: 1, cpu: 1 }]] };
    const raced = await runParallel(linuxReuseportScheme, config, run, await forced[0].start(linuxReuseportScheme, config));
    expect(raced.fault).toBeUndefined();
    const [[dereg], [conn]] = raced.history.branches;
    // The connect answers with the listener that closed under it, after the deregister listed it.
    expect(conn.outcome, JSON.stringify(raced.history)).toMatchObject({ ok: true, listener: 0, local: true });
    expect(dereg.outcome).toEqual({ ok: true, migrated: [[1, 1]], reset: [] });
    expect(returnedFirst(raced.history, dereg.id, conn.id)).toBe(true);
    expect(raced.verdict.ok, JSON.stringify(raced.history)).toBe(true);
    // With migration off the close would have reset it (or the connect come after and gone to listener 1).
    expect(linearize(linuxReuseportScheme.model, { ...config, migrate: false }, raced.history).ok).toBe(false);
  });

  it.skipIf(rps.unusable !== null)(`reuserps: the close resets the child of a connect still in flight (no room on its CPU); judged with the hash fallback, rejected${rps.unusable === null ? '' : ` (skipped: ${rps.unusable})`}`, async () => {
    const config: RpsConfig = { cpus: 2, slotsPerCpu: 4, policy: 'round-robin', fallback: 'refuse' };
    // CPU 1's table holds listener 1 only: the connect on CPU 1 goes there, and re-steered as a new
    // arrival on CPU 1 once it closes, it finds no place and is reset; the hash fallback would send it to 2.
    const prefix: RpsCommand[] = [
      { op: 'register', listener: 1, uid: 1000, reuserps: true, cpus: [1], limit: 0 },
      { op: 'register', listener: 2, uid: 1000, reuserps: true, cpus: [0], limit: 0 },
    ];
    const run = { config, prefix, branches: [[{ op: 'deregister', listener: 1 }], [{ op: 'connect', conn: 1, cpu: 1, hash: 0 }]] };
    const raced = await runParallel(reuserpsScheme, config, run, await forced[1].start(reuserpsScheme, config));
    expect(raced.fault).toBeUndefined();
    const [[dereg], [conn]] = raced.history.branches;
    expect(conn.outcome, JSON.stringify(raced.history)).toMatchObject({ ok: true, listener: 1, local: true });
    expect(dereg.outcome).toEqual({ ok: true, migrated: [], reset: [1] });
    expect(returnedFirst(raced.history, dereg.id, conn.id)).toBe(true);
    expect(raced.verdict.ok, JSON.stringify(raced.history)).toBe(true);
    expect(linearize(reuserpsScheme.model, { ...config, fallback: 'hash' }, raced.history).ok).toBe(false);
  });
});

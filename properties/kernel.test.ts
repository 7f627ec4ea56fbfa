// The real Linux kernel, checked through adapters/linux/steerspec-linux (steerspec/1 over stdio, run in
// its own network namespace): the linux-reuseport properties over generated runs for every config, each
// connect judged exactly with the hash and SYN CPU the kernel reported (`inputs`); the kernel's own
// selftests replayed as traces whose every outcome must equal its `expect`; and the README's check
// command on five seeds. Where the kernel can't be used (not built: packages missing, not root, no
// namespaces, no BPF, no SO_INCOMING_CPU, one CPU) the tests are skipped with the reason — never passed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { processSubject } from '../adapters/process.ts';
import { replayFile } from '../cli/replay.ts';
import { runCli } from '../cli/run-cli.ts';
import { runSequence, type Failure } from '../core/runner.ts';
import { allProperties, snapshotMatchesModel } from '../core/scheme.ts';
import { sameValue, show } from '../core/vocabulary.ts';
import type { Command, Config } from '../model/linux-reuseport.ts';
import { commandsFor, linuxReuseportScheme, type IncomingStyle } from './linux-reuseport.ts';

const root = join(import.meta.dirname, '..');
export const kernelBinary = join(root, 'adapters/linux/build/steerspec-linux');

/** Why the kernel can't be checked here, or null when it can: asked once, of the binary itself. */
function kernelUnusable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  const missing = join(root, 'adapters/linux/build/missing');
  if (!existsSync(kernelBinary)) return existsSync(missing) ? `adapters/linux not built: ${readFileSync(missing, 'utf8').trim()}` : `${kernelBinary} is not built (npm run build:linux)`;
  let answer: string;
  try {
    answer = execFileSync(kernelBinary, ['--probe'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch (e) {
    answer = ((e as { stdout?: string }).stdout ?? String(e)).trim();
  }
  if (answer !== 'ok') return answer || 'the probe gave no answer';
  const cpus = execFileSync('nproc', { encoding: 'utf8' }).trim();
  if (Number(cpus) < 2) return `the kernel checks need 2 CPUs to pin to, this machine has ${cpus}`;
  return Number(cpus) >= CPUS ? null : `STEERSPEC_KERNEL_CPUS=${CPUS} but this machine has ${cpus} CPUs`;
}

/** The CPUs the generated kernel runs use: 2 here; adapters/linux/run-wide.sh sets the machine's count. */
const CPUS = Number(process.env.STEERSPEC_KERNEL_CPUS ?? 2);
export const unusable = kernelUnusable();
const skipNote = unusable === null ? '' : ` (skipped: ${unusable})`;
if (unusable !== null) console.warn(`linux-reuseport kernel checks skipped: ${unusable}`);

/** Runs per config and commands per run: kernel connects cost real time. */
const RUNS_PER_CONFIG = 40;
const MAX_COMMANDS = 20;
const SEED = 20261123;
/** Runs per seed of the README's check command in the test. */
const CHECK_RUNS = 20;

/** Every config axis the issue names: no program or the CPU program; SO_INCOMING_CPU nowhere, on every listener, on some; migrate on and off. */
const kernelConfigs: { config: Config; style: IncomingStyle }[] = [];
for (const program of ['none', 'cpu'] as const)
  for (const style of ['none', 'every', 'some'] as const)
    for (const migrate of [false, true]) kernelConfigs.push({ config: { cpus: CPUS, migrate, program, family: 'ipv4' }, style });

/**
 * A kernel run: two to four listeners first (so there is a group to steer in and members left after a
 * deregister), then the scheme's own command mix; at most MAX_COMMANDS commands, no hashes (the kernel
 * computes its own and reports it in `inputs`, with which each connect is judged).
 */
function kernelRun(config: Config, style: IncomingStyle): fc.Arbitrary<Command[]> {
  const incoming = style === 'none' ? fc.constant(-1) : style === 'every' ? fc.integer({ min: 0, max: config.cpus - 1 }) : fc.integer({ min: -1, max: config.cpus - 1 });
  const register = fc.record({ op: fc.constant('register' as const), listener: fc.integer({ min: 0, max: 3 }), uid: fc.constant(1000), incomingCpu: incoming });
  const connect = fc.record({ op: fc.constant('connect' as const), conn: fc.integer({ min: 0, max: 12 }), cpu: fc.integer({ min: 0, max: config.cpus - 1 }) });
  return fc
    .tuple(
      fc.array(register, { minLength: 2, maxLength: 4 }),
      fc.array(fc.oneof({ weight: 3, arbitrary: commandsFor(config, style, false) }, { weight: 1, arbitrary: connect }), {
        minLength: 6,
        maxLength: MAX_COMMANDS - 4,
        size: 'max',
      }),
    )
    .map(([registers, rest]) => [...registers, ...rest]);
}

const subject = processSubject(JSON.stringify(kernelBinary), { timeoutMs: 5_000 });
afterAll(() => subject.close());

describe.skipIf(unusable !== null)(`the real Linux kernel${skipNote}`, () => {
  const selftests = readdirSync(join(root, 'traces/linux-reuseport'))
    .filter((f) => f.startsWith('selftest-'))
    .sort();

  for (const file of selftests) {
    it(`replays the kernel selftest scenario ${file}, every outcome equal to its expect`, async () => {
      const result = await replayFile(join(root, 'traces/linux-reuseport', file), subject);
      const first = result.failures[0] ?? result.fault;
      expect(first?.message ?? null, first ? `${first.property} at step ${first.index}` : '').toBeNull();
      const mismatches = result.steps
        .map((step, i) => ({ i, cmd: step.cmd, got: step.outcome, want: result.trace.expects[i] }))
        .filter(({ got, want }) => !sameValue(got, want))
        .map(({ i, cmd, got, want }) => `step ${i} ${show(cmd)}: kernel ${show(got)}, expected ${show(want)}`);
      expect(mismatches).toEqual([]);
    });
  }

  const properties = allProperties(linuxReuseportScheme).filter((p) => p !== snapshotMatchesModel);
  const tally = { runs: 0, commands: 0, connected: 0, observed: 0, synElsewhere: 0, migrated: 0, spread: 0, reset: 0 };
  /** The readings the helper documents (docs/kernel.md): bad-cpu for SO_INCOMING_CPU >= cpus, and SO_INCOMING_CPU locality. */
  const helperReadings = { 'SO_INCOMING_CPU past the CPUs': 'bad-cpu', local: 'incoming-cpu-matches' };
  /** How many whole kernel runs each reading combination explains. */
  const explained = new Map<string, number>();

  for (const [k, { config: base, style }] of kernelConfigs.entries()) {
    const name = `program ${base.program}, SO_INCOMING_CPU ${style === 'none' ? 'nowhere' : `on ${style} listener${style === 'every' ? '' : 's'}`}, migrate ${base.migrate ? 'on' : 'off'}, TCP over IPv4 and IPv6`;
    it(`every linux-reuseport property holds for the kernel, judged with its own hashes and SYN CPUs: ${name}`, async () => {
      const runs = fc.sample(kernelRun(base, style), { seed: SEED + k, numRuns: RUNS_PER_CONFIG });
      const failures: string[] = [];
      for (const [r, commands] of runs.entries()) {
        const config: Config = { ...base, family: r % 2 === 0 ? 'ipv4' : 'ipv6' };
        const instance = await subject.start(linuxReuseportScheme, config);
        const result = await runSequence({ scheme: linuxReuseportScheme, config, commands, implementation: instance, properties });
        tally.runs++;
        tally.commands += result.steps.length;
        for (const [i, { cmd, outcome }] of result.steps.entries()) {
          const o = outcome as Record<string, unknown> | undefined;
          const judged = cmd as Command;
          if (judged.op === 'connect' && o?.ok) {
            tally.connected++;
            // The step is recorded with the kernel's inputs: a hash means the recording program saw the SYN.
            if (judged.hash !== undefined) tally.observed++;
            if (judged.cpu !== (commands[i] as { cpu: number }).cpu) tally.synElsewhere++;
            if (base.program === 'none') expect(judged.hash, `connect ${i} without the kernel's hash`).toBeTypeOf('number');
          }
          if (o && Array.isArray(o.migrated) && Array.isArray(o.reset)) {
            const targets = new Set((o.migrated as [number, number][]).map(([, l]) => l));
            tally.migrated += o.migrated.length;
            tally.reset += o.reset.length;
            if (targets.size > 1) tally.spread++;
          }
        }
        const report = (f: Failure) => `${f.property} at step ${f.index}: ${f.message}\n  config ${show(config)}\n  commands ${show(result.steps.map((s) => s.cmd), 4000)}`;
        // A definite failure found before a fault still counts; a fault (even "unobservable") is a failure.
        failures.push(...result.failures.map(report));
        if (result.fault) {
          failures.push(report(result.fault));
          continue;
        }
        if (result.failures.length > 0) continue;
        // A whole run is explained by one reading of each open rule: the helper's own must be among them.
        for (const readings of result.readings) explained.set(show(readings), (explained.get(show(readings)) ?? 0) + 1);
        if (!result.readings.some((r) => sameValue(r, helperReadings))) failures.push(`the run is explained only by ${show(result.readings)}, not by the helper's readings ${show(helperReadings)}`);
      }
      expect(failures).toEqual([]);
    });
  }

  // Members [0:CPU 0, 1, 2, 3:CPU 1]: every CPU-0 client lands on 0 whatever its hash; closing 0 on CPU 0
  // leaves no CPU-0 match, so each child goes to its hash's start member among [3, 1, 2]: spread out.
  const spreadRun: Command[] = [
    { op: 'register', listener: 0, uid: 1000, incomingCpu: 0 },
    { op: 'register', listener: 1, uid: 1000, incomingCpu: -1 },
    { op: 'register', listener: 2, uid: 1000, incomingCpu: -1 },
    { op: 'register', listener: 3, uid: 1000, incomingCpu: 1 },
    { op: 'connect', conn: 100, cpu: 1 },
    ...Array.from({ length: 12 }, (_, i): Command => ({ op: 'connect', conn: i, cpu: 0 })),
    { op: 'deregister', listener: 0, cpu: 0 },
  ];
  const migrateOn: Config = { cpus: 2, migrate: true, program: 'none', family: 'ipv4' };

  it('attributes a queue migrated over several listeners, then migrates it again: every deregister has a verdict, none is lost', async () => {
    const instance = await subject.start(linuxReuseportScheme, migrateOn);
    // The second round: close the two plain listeners in turn, so children moved once move again.
    const again: Command[] = [
      { op: 'deregister', listener: 1, cpu: 1 },
      { op: 'deregister', listener: 2, cpu: 0 },
    ];
    const accepts: Command[] = Array.from({ length: 15 }, (): Command => ({ op: 'accept', listener: 3 }));
    const commands = [...spreadRun, ...again, ...accepts];
    const result = await runSequence({ scheme: linuxReuseportScheme, config: migrateOn, commands, implementation: instance, properties });
    expect((result.failures[0] ?? result.fault)?.message ?? null).toBeNull();
    const moved = result.steps[spreadRun.length - 1].outcome as { migrated: [number, number][]; reset: number[] };
    expect(moved.reset).toEqual([]);
    expect(moved.migrated.map(([c]) => c)).toEqual([...Array(12).keys()]);
    expect(new Set(moved.migrated.map(([, l]) => l)).size, show(moved)).toBeGreaterThan(1);
    const accepted = result.steps.flatMap((s) => ((s.cmd as Command).op === 'accept' && (s.outcome as { conn: number | null }).conn !== null ? [(s.outcome as { conn: number }).conn] : []));
    expect(accepted.sort((a, b) => a - b)).toEqual([...Array(12).keys(), 100]);
  });

  it('can fail: a kernel with tcp_migrate_req off, judged by a spec that says on, fails conformance at the deregister', async () => {
    const instance = await subject.start(linuxReuseportScheme, { ...migrateOn, migrate: false });
    const result = await runSequence({ scheme: linuxReuseportScheme, config: migrateOn, commands: spreadRun, implementation: instance, properties });
    expect(result.fault).toBeUndefined();
    expect(result.failures.map((f) => [f.property, f.index])).toEqual([['conformance', spreadRun.length - 1]]);
  });

  it("can fail: the kernel's outcomes, judged with hashes it did not use, are rejected", async () => {
    const group: Command[] = [1, 2, 4].map((listener): Command => ({ op: 'register', listener, uid: 1000, incomingCpu: -1 }));
    const plain: Config = { ...migrateOn, migrate: false };
    const connects = Array.from({ length: 12 }, (_, i): Command => ({ op: 'connect', conn: i, cpu: i % 2 }));
    const instance = await subject.start(linuxReuseportScheme, plain);
    const real = await runSequence({ scheme: linuxReuseportScheme, config: plain, commands: [...group, ...connects], implementation: instance, properties });
    expect((real.failures[0] ?? real.fault)?.message ?? null).toBeNull();
    // The same outcomes again, each connect now carrying the next connect's hash (another 4-tuple's).
    const judged = real.steps.map((s) => s.cmd as Command & { hash?: number });
    const shifted = judged.map((c, i) => (c.op === 'connect' ? { ...c, hash: judged[group.length + ((i - group.length + 1) % connects.length)].hash } : c));
    const outcomes = real.steps.map((s) => s.outcome);
    let at = 0;
    const wrong = await runSequence({ scheme: linuxReuseportScheme, config: plain, commands: shifted, implementation: { apply: () => outcomes[at++] }, properties });
    expect(wrong.failures.map((f) => f.property)).toContain('conformance');
  });

  // so_incoming_cpu.c on all CPUS: one listener per CPU, SO_INCOMING_CPU set at each of its four
  // placements, 4 pinned clients per CPU; each must land on its CPU's listener (the traces do 2 CPUs).
  for (const placement of ['before-reuseport', 'before-listen', 'after-listen', 'after-all-listen'] as const) {
    it(`so_incoming_cpu.c on ${CPUS} CPUs, SO_INCOMING_CPU set ${placement}: every client lands on its CPU's listener`, async () => {
      const cpus = [...Array(CPUS).keys()];
      const setup: Command[] =
        placement === 'before-reuseport' || placement === 'before-listen'
          ? cpus.map((c): Command => ({ op: 'register', listener: c, uid: 1000, incomingCpu: c, incomingCpuAt: placement }))
          : placement === 'after-listen'
            ? cpus.flatMap((c): Command[] => [{ op: 'register', listener: c, uid: 1000, incomingCpu: -1 }, { op: 'setIncomingCpu', listener: c, incomingCpu: c }])
            : [...cpus.map((c): Command => ({ op: 'register', listener: c, uid: 1000, incomingCpu: -1 })), ...cpus.map((c): Command => ({ op: 'setIncomingCpu', listener: c, incomingCpu: c }))];
      const connects = cpus.flatMap((c) => Array.from({ length: 4 }, (_, k): Command => ({ op: 'connect', conn: c * 4 + k, cpu: c })));
      const config: Config = { cpus: CPUS, migrate: false, program: 'none', family: 'ipv4' };
      const instance = await subject.start(linuxReuseportScheme, config);
      const result = await runSequence({ scheme: linuxReuseportScheme, config, commands: [...setup, ...connects], implementation: instance, properties });
      expect((result.failures[0] ?? result.fault)?.message ?? null).toBeNull();
      const landed = result.steps.slice(setup.length).map((s) => [(s.cmd as { cpu: number }).cpu, (s.outcome as { listener: number }).listener]);
      expect(landed).toEqual(connects.map((c) => [(c as { cpu: number }).cpu, (c as { cpu: number }).cpu]));
    });
  }

  // RPS on loopback sends every SYN to CPU 1 whatever CPU its client runs on: the kernel then steers by
  // CPU 1, and only a judge that takes the observed SYN CPU (inputs.cpu) finds the outcomes right.
  it('with RPS steering SYNs to CPU 1, the SYN CPU differs from the client CPU, and it is the one the kernel steers by', async () => {
    const rps = processSubject(JSON.stringify(kernelBinary), { timeoutMs: 5_000, env: { STEERSPEC_RPS_CPUS: '2' } });
    try {
      const config: Config = { cpus: 2, migrate: false, program: 'none', family: 'ipv4' };
      const commands: Command[] = [
        { op: 'register', listener: 0, uid: 1000, incomingCpu: 0 },
        { op: 'register', listener: 1, uid: 1000, incomingCpu: 1 },
        ...Array.from({ length: 6 }, (_, i): Command => ({ op: 'connect', conn: i, cpu: 0 })),
      ];
      const result = await runSequence({ scheme: linuxReuseportScheme, config, commands, implementation: await rps.start(linuxReuseportScheme, config), properties });
      expect((result.failures[0] ?? result.fault)?.message ?? null).toBeNull();
      const connects = result.steps.slice(2);
      expect(connects.map((s) => (s.cmd as { cpu: number }).cpu)).toEqual(Array(6).fill(1));
      expect(connects.map((s) => (s.outcome as { listener: number }).listener)).toEqual(Array(6).fill(1));
      // The same outcomes judged with the client's CPU (what a judge without inputs assumes) are wrong.
      const outcomes = result.steps.map((s) => s.outcome);
      let at = 0;
      const blind = await runSequence({ scheme: linuxReuseportScheme, config, commands, implementation: { apply: () => outcomes[at++] }, properties });
      expect(blind.failures.map((f) => [f.property, f.index])).toContainEqual(['conformance', 2]);
    } finally {
      await rps.close();
    }
  });

  // The README's command as a user types it (a smaller --runs: each seed's 200 runs take about 25 s here;
  // docs/kernel.md records the full ones). Exit 0 on every seed: no fault, no failure, a verdict.
  it('the README command `steerspec check --scheme linux-reuseport --exec ...steerspec-linux` exits 0 on 5 seeds', async () => {
    const traces = mkdtempSync(join(tmpdir(), 'steerspec-kernel-'));
    try {
      const seeds = [1, 2, 3, 4, 5];
      const results = await Promise.all(
        seeds.map((seed) => runCli(['check', '--scheme', 'linux-reuseport', '--exec', 'adapters/linux/build/steerspec-linux', '--seed', String(seed), '--runs', String(CHECK_RUNS), '--traces', traces])),
      );
      const verdicts = results.map(({ code, out }, i) => `seed ${seeds[i]}: exit ${code} ${out.match(/\d+ passed, .*exit \d/)?.[0] ?? out.slice(-400)}`);
      expect(verdicts.filter((v) => !/exit 0 .* 0 failed, \d+ skipped, 0 faulted/.test(v))).toEqual([]);
      console.log(verdicts.join('\n'));
    } finally {
      rmSync(traces, { recursive: true, force: true });
    }
  });

  it('reports how much of the kernel was checked, and how often the SYN ran on another CPU than its client', () => {
    console.log(
      `kernel: ${tally.runs} runs, ${tally.commands} commands checked (${tally.connected} connections steered, ${tally.observed} judged with the kernel's own hash and SYN CPU, ` +
        `${tally.synElsewhere} SYNs on another CPU than their client; ${tally.migrated} migrated, ${tally.spread} deregisters spreading their queue over several listeners, ${tally.reset} reset); ` +
        `runs explained per reading: ${[...explained].map(([r, n]) => `${r} ${n}`).join(', ')}`,
    );
    expect(tally.observed).toBeGreaterThan(0);
  });
});

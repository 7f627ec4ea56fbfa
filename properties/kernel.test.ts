// The real Linux kernel, checked through adapters/linux/steerspec-linux (steerspec/1 over stdio, run in
// its own network namespace): the linux-reuseport properties over generated runs for every config, and
// the kernel's own selftests replayed as traces whose every outcome must equal its `expect`.
// Where the kernel can't be used (no binary, not root, no namespaces, no SO_INCOMING_CPU, one CPU) the
// tests are skipped with the reason — never passed.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { processSubject } from '../adapters/process.ts';
import { replayFile } from '../cli/replay.ts';
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
  if (!existsSync(kernelBinary)) return `${kernelBinary} is not built (npm run build:linux)`;
  let answer: string;
  try {
    answer = execFileSync(kernelBinary, ['--probe'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch (e) {
    answer = ((e as { stdout?: string }).stdout ?? String(e)).trim();
  }
  if (answer !== 'ok') return answer || 'the probe gave no answer';
  const cpus = execFileSync('nproc', { encoding: 'utf8' }).trim();
  return Number(cpus) >= 2 ? null : `the kernel checks need 2 CPUs to pin to, this machine has ${cpus}`;
}

const unusable = kernelUnusable();
const skipNote = unusable === null ? '' : ` (skipped: ${unusable})`;
if (unusable !== null) console.warn(`linux-reuseport kernel checks skipped: ${unusable}`);

/** Runs per config and commands per run: kernel connects cost real time. */
const RUNS_PER_CONFIG = 60;
const MAX_COMMANDS = 20;
const SEED = 20261123;

/** Every config axis the issue names: no program or the CPU program; SO_INCOMING_CPU nowhere, on every listener, on some; migrate on and off. */
const kernelConfigs: { config: Config; style: IncomingStyle }[] = [];
for (const program of ['none', 'cpu'] as const)
  for (const style of ['none', 'every', 'some'] as const)
    for (const migrate of [false, true]) kernelConfigs.push({ config: { cpus: 2, migrate, program }, style });

/**
 * A kernel run: two to four listeners first (so there is a group to steer in and members left after a
 * deregister), then the scheme's own command mix; at most MAX_COMMANDS commands, no hashes.
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
  const tally = { runs: 0, commands: 0, inconclusive: 0, connected: 0, migrated: 0, spread: 0, reset: 0 };
  /** The readings the helper documents (README): bad-cpu for SO_INCOMING_CPU >= cpus, and SO_INCOMING_CPU locality. */
  const helperReadings = { 'SO_INCOMING_CPU past the CPUs': 'bad-cpu', local: 'incoming-cpu-matches' };
  /** How many whole kernel runs each reading combination explains. */
  const explained = new Map<string, number>();

  for (const [k, { config, style }] of kernelConfigs.entries()) {
    const name = `program ${config.program}, SO_INCOMING_CPU ${style === 'none' ? 'nowhere' : `on ${style} listener${style === 'every' ? '' : 's'}`}, migrate ${config.migrate ? 'on' : 'off'}`;
    it(`every linux-reuseport property holds for the kernel: ${name}`, async () => {
      const runs = fc.sample(kernelRun(config, style), { seed: SEED + k, numRuns: RUNS_PER_CONFIG });
      const failures: string[] = [];
      for (const commands of runs) {
        const instance = await subject.start(linuxReuseportScheme, config);
        const result = await runSequence({ scheme: linuxReuseportScheme, config, commands, implementation: instance, properties });
        tally.runs++;
        tally.commands += result.steps.length;
        for (const { cmd, outcome } of result.steps) {
          const o = outcome as Record<string, unknown> | undefined;
          if ((cmd as { op: string }).op === 'connect' && o?.ok) tally.connected++;
          if (o && Array.isArray(o.migrated) && Array.isArray(o.reset)) {
            const targets = new Set((o.migrated as [number, number][]).map(([, l]) => l));
            tally.migrated += o.migrated.length;
            tally.reset += o.reset.length;
            if (targets.size > 1) tally.spread++;
          }
        }
        const report = (f: Failure) => `${f.property} at step ${f.index}: ${f.message}\n  config ${show(config)}\n  commands ${show(result.steps.map((s) => s.cmd), 4000)}`;
        // A definite failure found before a fault still counts.
        failures.push(...result.failures.map(report));
        if (result.fault) {
          // The adapter says when it cannot observe what the kernel did (see the README's linux-reuseport section): no verdict.
          if (result.fault.fault === 'protocol-error' && result.fault.message.includes('unobservable')) tally.inconclusive++;
          else failures.push(report(result.fault));
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
  const migrateOn: Config = { cpus: 2, migrate: true, program: 'none' };

  it('attributes a queue migrated over several listeners (drained into user space), losing none', async () => {
    const instance = await subject.start(linuxReuseportScheme, migrateOn);
    const accepts: Command[] = [1, 2, 3].flatMap((listener) => Array.from({ length: 14 }, (): Command => ({ op: 'accept', listener })));
    const result = await runSequence({ scheme: linuxReuseportScheme, config: migrateOn, commands: [...spreadRun, ...accepts], implementation: instance, properties });
    expect((result.failures[0] ?? result.fault)?.message ?? null).toBeNull();
    const moved = result.steps[spreadRun.length - 1].outcome as { migrated: [number, number][]; reset: number[] };
    expect(moved.reset).toEqual([]);
    expect(moved.migrated.map(([c]) => c)).toEqual([...Array(12).keys()]);
    expect(new Set(moved.migrated.map(([, l]) => l)).size, show(moved)).toBeGreaterThan(1);
    const accepted = result.steps.flatMap((s) => ((s.cmd as Command).op === 'accept' && (s.outcome as { conn: number | null }).conn !== null ? [(s.outcome as { conn: number }).conn] : []));
    expect(accepted.sort((a, b) => a - b)).toEqual([...Array(12).keys(), 100]);
  });

  it('says "unobservable" (an adapter fault: no verdict) rather than guess where drained connections would go', async () => {
    const instance = await subject.start(linuxReuseportScheme, migrateOn);
    const first = await runSequence({ scheme: linuxReuseportScheme, config: migrateOn, commands: spreadRun, implementation: instance, properties });
    expect((first.failures[0] ?? first.fault)?.message ?? null).toBeNull();
    const moved = first.steps.at(-1)!.outcome as { migrated: [number, number][] };
    // Listener 3 kept its kernel queue (the fullest is never drained); any other target was drained.
    const counts = new Map<number, number>();
    for (const [, l] of moved.migrated) counts.set(l, (counts.get(l) ?? 0) + 1);
    const kept = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0]; // the adapter's choice: fullest, then first registered
    const drained = [...counts.keys()].find((l) => l !== kept);
    expect(drained, show(moved)).toBeDefined();
    const reply = await Promise.resolve(instance.apply({ op: 'deregister', listener: drained!, cpu: 0 })).then(
      () => 'replied',
      (e: Error) => e.message,
    );
    expect(reply).toMatch(/unobservable/);
  });

  it('can fail: a kernel with tcp_migrate_req off, judged by a spec that says on, fails conformance at the deregister', async () => {
    // Four queued connections, not spreadRun's twelve: without hashes each has three possible targets, and a
    // rejected outcome is only found wrong after every combination of them (3^4 here, 3^12 would take minutes).
    const resetRun = [...spreadRun.slice(0, 5 + 4), spreadRun.at(-1)!];
    const instance = await subject.start(linuxReuseportScheme, { ...migrateOn, migrate: false });
    const result = await runSequence({ scheme: linuxReuseportScheme, config: migrateOn, commands: resetRun, implementation: instance, properties });
    expect(result.fault).toBeUndefined();
    expect(result.failures.map((f) => [f.property, f.index])).toEqual([['conformance', resetRun.length - 1]]);
  });

  it('reports how much of the kernel was checked', () => {
    console.log(
      `kernel: ${tally.runs} runs, ${tally.commands} commands checked (${tally.connected} connections steered, ${tally.migrated} migrated, ` +
        `${tally.spread} deregisters spreading their queue over several listeners, ${tally.reset} reset), ${tally.inconclusive} inconclusive; ` +
        `runs explained per reading: ${[...explained].map(([r, n]) => `${r} ${n}`).join(', ')}`,
    );
    expect(tally.inconclusive).toBeLessThanOrEqual(Math.ceil(tally.runs / 5));
  });
});

// The oracle's own cost, per scheme:
//  - the headline: distinct commands checked per CPU-second by steerspec's whole check (runCampaign, every
//    property, the built-in impl with its snapshot) against a plain fast-check model-based test of the same
//    runs, as a user would write it without steerspec (`plainCheck`). Both take the scheme's own generator
//    with the same seed and run count, so they see exactly the same runs (the bench checks the counts agree).
//  - what one oracle step costs as the state grows: open connections (1,000 vs 100,000) and the size of
//    the tables (8x8 vs 128x128). The oracle here is `runSequence` itself (state-set observe and every
//    property, no snapshot: a snapshot is O(state) by construction), paced from outside so that blocks of
//    steps of two runs can be timed in turn.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { runCampaign } from '../core/campaign.ts';
import { initialState } from '../core/relation.ts';
import { runSequence, type RunResult } from '../core/runner.ts';
import { allProperties, type AnyScheme, type Implementation } from '../core/scheme.ts';
import { builtin, checked } from '../core/subject.ts';
import { saveTrace, TRACE_FORMAT } from '../core/trace.ts';
import { replayFile } from '../cli/replay.ts';
import { landedOf } from '../cli/pictures/index.ts';
import { sameValue, show } from '../core/vocabulary.ts';
import { cpuSeconds, paired, spread, type Figure, type OraclePlan, type Ratio, type ReplayPlan, type StepPlan } from './measure.ts';
import { script, syncImpl, type Load } from './steering.ts';

let traceDir: string | undefined;
const scratch = () => (traceDir ??= mkdtempSync(join(tmpdir(), 'steerspec-bench-')));

/**
 * A plain fast-check model-based test of `scheme`'s rules, as one would write it without steerspec: the
 * scheme's generator, its model stepped directly in place (each reading its first option, the one every
 * built-in impl takes; each freedom the option the impl's outcome names through the model's `readBack`,
 * else the first) and the implementation, compared outcome by outcome. Returns the commands it checked.
 */
export function plainCheck(scheme: AnyScheme, runs: number, seed: number): number {
  let commands = 0;
  fc.assert(
    fc.property(scheme.runs, ({ config, commands: cmds }) => {
      const impl = syncImpl(scheme, config);
      const state = initialState(scheme.model, config);
      for (const cmd of cmds) {
        const actual = impl.apply(cmd);
        const expected = scheme.model.step(state, cmd, (_what, options, readBack) => {
          const named = readBack?.(actual);
          if (named !== undefined) for (const option of options) if (sameValue(option, named)) return option;
          return options[0];
        });
        if (!sameValue(expected, actual)) throw new Error(`${show(cmd)}: the model gives ${show(expected)}, the impl ${show(actual)}`);
        commands++;
      }
    }),
    { numRuns: runs, seed },
  );
  return commands;
}

/** steerspec's check of `scheme` (every property, the built-in impl); returns the commands it checked. */
export async function steerspecCheck(scheme: AnyScheme, runs: number, seed: number): Promise<number> {
  // As `npx steerspec check` makes it, counting where connections land for the heat map.
  const campaign = await runCampaign({ scheme, subject: builtin, runs, seed, traceDir: scratch(), landed: landedOf(scheme.name) });
  const bad = campaign.results.filter((r) => r.status !== 'passed' && r.status !== 'skipped');
  if (bad.length > 0) throw new Error(`${scheme.name}: the bench's own check failed: ${bad.map((r) => `${r.property} ${r.status}`).join(', ')}`);
  return campaign.steps;
}

/** Commands per CPU-second of the plain test and of steerspec, paired per round (same seed), in alternating order. */
export async function oracleVsFastCheck(scheme: AnyScheme, plan: OraclePlan): Promise<{ figures: Figure[]; ratio: Ratio }> {
  const plain: number[] = [];
  const ours: number[] = [];
  const timed = async <T>(f: () => T | Promise<T>): Promise<[T, number]> => {
    const start = cpuSeconds();
    const value = await f();
    return [value, cpuSeconds() - start];
  };
  for (let round = plan.warmup ? -1 : 0; round < plan.rounds; round++) {
    const seed = 1000 + round;
    const a = async () => timed(() => plainCheck(scheme, plan.runs, seed));
    const b = async () => timed(() => steerspecCheck(scheme, plan.runs, seed));
    const [[plainCount, plainCpu], [ourCount, ourCpu]] = round % 2 === 0 ? [await a(), await b()] : (([y, x]) => [x, y])([await b(), await a()]);
    if (plainCount !== ourCount) throw new Error(`${scheme.name}: the plain test checked ${plainCount} commands and steerspec ${ourCount}: not the same runs`);
    if (round < 0) continue;
    plain.push(plainCount / plainCpu);
    ours.push(ourCount / ourCpu);
  }
  return {
    figures: [
      { name: 'plain fast-check model test: commands per CPU-second', unit: '/s', value: spread(plain) },
      { name: 'steerspec check, every property: commands per CPU-second', unit: '/s', value: spread(ours) },
    ],
    ratio: { key: 'oracleVsFastCheck', name: 'steerspec / plain fast-check test, commands per CPU-second', value: paired(ours, plain), target: { atLeast: 0.7 } },
  };
}

/**
 * One oracle run (`runSequence`, every property, no snapshot) over a load's setup and then its stream,
 * paced from outside: it stops before the first stream command, and `block(k)` lets exactly k steps run
 * and returns the seconds per step they took.
 */
class PacedRun {
  private index = 0;
  private left = Infinity;
  private stoppedAt = 0;
  private resume: (() => void) | undefined;
  private parked: (() => void) | undefined;
  private readonly first: Promise<void>;
  readonly done: Promise<RunResult>;
  /** Settles when the run ends: 'ended', or the run's failure. */
  private readonly ended: Promise<'ended'>;

  constructor(
    readonly label: string,
    scheme: AnyScheme,
    load: Load,
    steps: number,
  ) {
    const s = script(scheme, load, steps);
    const impl = syncImpl(scheme, s.config);
    const from = s.setup.length;
    const park = (out: unknown) =>
      new Promise<unknown>((resolve) => {
        this.resume = () => resolve(out);
        this.parked?.();
      });
    const paced: Implementation = {
      apply: (cmd) => {
        const at = this.index++;
        if (at > from && --this.left === 0) this.stoppedAt = performance.now();
        const out = impl.apply(cmd);
        return at === from || (at > from && this.left === 0) ? park(out) : out;
      },
    };
    this.first = new Promise((resolve) => (this.parked = resolve));
    this.done = runSequence({
      scheme,
      config: s.config,
      commands: [...s.setup, ...s.stream],
      implementation: checked(scheme, paced, { hash: true, snapshot: false }),
      properties: allProperties(scheme),
    }).then((result) => {
      const failure = result.fault ?? result.failures[0];
      if (failure) throw new Error(`${scheme.name} (${label}): the load broke ${failure.property} at step ${failure.index}: ${failure.message}`);
      return result;
    });
    // A run that ends or fails before it parks must not leave the bench waiting.
    this.ended = this.done.then(() => 'ended' as const);
    this.ended.catch(() => undefined);
  }

  async ready(): Promise<void> {
    if ((await Promise.race([this.first.then(() => 'parked' as const), this.ended])) === 'ended') throw new Error(`${this.label}: the run ended before its stream`);
  }

  async block(k: number): Promise<number> {
    this.left = k;
    const arrived = new Promise<void>((resolve) => (this.parked = resolve));
    const start = performance.now();
    this.resume!();
    if ((await Promise.race([arrived.then(() => 'parked' as const), this.ended])) === 'ended') throw new Error(`${this.label}: the run ended inside a block`);
    return (this.stoppedAt - start) / 1000 / k;
  }

  async finish(): Promise<void> {
    this.left = Infinity;
    this.resume!();
    await this.done;
  }
}

/**
 * Seconds per oracle step in a small and a large load, their blocks taking turns; the ratio large/small
 * is paired per round (the median block of each in that round).
 */
export async function stepTimes(
  scheme: AnyScheme,
  loads: { small: Load; large: Load; smallName: string; largeName: string; key: string; name: string; atMost?: number },
  plan: StepPlan,
): Promise<{ figures: Figure[]; ratio: Ratio }> {
  const steps = plan.rounds * plan.blocks * plan.steps + 2;
  const small = new PacedRun(loads.smallName, scheme, loads.small, steps);
  await small.ready();
  const large = new PacedRun(loads.largeName, scheme, loads.large, steps);
  await large.ready();
  const all = { small: [] as number[], large: [] as number[] };
  const perRound = { small: [] as number[], large: [] as number[] };
  for (let round = 0; round < plan.rounds; round++) {
    const mine = { small: [] as number[], large: [] as number[] };
    for (let b = 0; b < plan.blocks; b++) {
      const order: ('small' | 'large')[] = (round + b) % 2 === 0 ? ['small', 'large'] : ['large', 'small'];
      for (const which of order) mine[which].push(await (which === 'small' ? small : large).block(plan.steps));
    }
    for (const which of ['small', 'large'] as const) {
      all[which].push(...mine[which]);
      perRound[which].push(spread(mine[which]).median);
    }
  }
  await small.finish();
  await large.finish();
  return {
    figures: [
      { name: `oracle step, ${loads.smallName}`, unit: 's', value: spread(all.small) },
      { name: `oracle step, ${loads.largeName}`, unit: 's', value: spread(all.large) },
    ],
    ratio: {
      key: loads.key,
      name: loads.name,
      value: paired(perRound.large, perRound.small),
      ...(loads.atMost !== undefined ? { target: { atMost: loads.atMost } } : {}),
    },
  };
}

/** What a listener-group scheme needs for the open-connections load. */
export interface OpenLoad {
  config: unknown;
  /** The listener(s); every connect of the load goes to `acceptFrom`. */
  listeners: unknown[];
  acceptFrom: number;
  connect(conn: number, i: number): unknown;
  close(conn: number): unknown;
}

/**
 * `open` connections made and accepted (so each stays open and counts, but waits in no queue), then a
 * stream of connect + close of one more connection: the state stays at `open` open connections.
 */
export function openConnections(l: OpenLoad, open: number): Load {
  const setup: unknown[] = [...l.listeners];
  for (let i = 0; i < open; i++) setup.push(l.connect(i, i), { op: 'accept', listener: l.acceptFrom });
  return { config: l.config, setup, next: (i) => (i % 2 === 0 ? l.connect(open, i >> 1) : l.close(open)) };
}

/** The step-time ratio at the larger number of open connections to the smaller. */
export function openRatio(scheme: AnyScheme, l: OpenLoad, [small, large]: [number, number], plan: StepPlan) {
  return stepTimes(
    scheme,
    {
      small: openConnections(l, small),
      large: openConnections(l, large),
      smallName: `${small.toLocaleString('en')} open connections`,
      largeName: `${large.toLocaleString('en')} open connections`,
      key: 'step100kVs1k',
      name: `oracle step time at ${large.toLocaleString('en')} / at ${small.toLocaleString('en')} open connections`,
      atMost: 2,
    },
    plan,
  );
}

/**
 * A long recorded run replayed as `npx steerspec replay` does (the built-in subject, every property):
 * `open` connections made, three in four accepted and one in four left waiting in its queue, then
 * connect a new one / close the oldest until `steps` steps, so the oldest is also the head of a queue.
 * Returns the CPU-seconds the replay took, against the plan's budget.
 */
export async function longReplay(scheme: AnyScheme, l: OpenLoad, plan: ReplayPlan): Promise<{ figures: Figure[] }> {
  const steps: { cmd: unknown }[] = l.listeners.map((cmd) => ({ cmd }));
  for (let conn = 0; conn < plan.open; conn++) {
    steps.push({ cmd: l.connect(conn, conn) });
    if (conn % 4 !== 3) steps.push({ cmd: { op: 'accept', listener: l.acceptFrom } });
  }
  for (let oldest = 0, next = plan.open; steps.length < plan.steps; oldest++, next++) steps.push({ cmd: l.close(oldest) }, { cmd: l.connect(next, next) });
  const file = saveTrace(scratch(), { format: TRACE_FORMAT, scheme: scheme.name, config: l.config, steps: steps.slice(0, plan.steps) });
  const start = cpuSeconds();
  const replayed = await replayFile(file, builtin);
  const seconds = cpuSeconds() - start;
  rmSync(file);
  const failure = replayed.fault ?? replayed.failures[0];
  if (failure) throw new Error(`${scheme.name}: the long replay broke ${failure.property} at step ${failure.index}: ${failure.message}`);
  if (replayed.steps.length !== plan.steps) throw new Error(`${scheme.name}: the long replay ran ${replayed.steps.length} of ${plan.steps} steps`);
  return {
    figures: [
      {
        name: `replay of ${plan.steps.toLocaleString('en')} steps holding ${plan.open.toLocaleString('en')} open connections (CPU seconds)`,
        unit: 's',
        value: spread([seconds]),
        target: { atMost: plan.budget },
      },
    ],
  };
}

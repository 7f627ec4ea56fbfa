// A campaign: fast-check generates runs (a config and a command sequence) for a scheme; each run is
// made once and every selected property is checked on it, until a run fails. Runs are made in blocks of
// fixed size, addressed by fast-check's path, so an executor may make blocks in parallel (worker threads,
// cli/pool.ts) and the campaign still sees exactly the runs one thread would: the same seed gives the
// same runs, verdicts and traces whatever the number of workers. Each property the first failing run
// broke is then shrunk on its own, from the run that first broke it (replayed by fast-check's seed and path), so each failing
// property gets the smallest trace that breaks *it*. The first failing run of each property is saved
// the moment it is found, before shrinking can fail; a fault (hang, crash, garbage) is saved and ends
// the campaign, and a definite failure found before it is still reported.
import fc from 'fast-check';
import { AdapterFault, runSequence, type Failure, type RunInput, type RunResult } from './runner.ts';
import { allProperties, conformance, withoutHash, type AnyScheme, type Property } from './scheme.ts';
import { Unsupported, type Instance, type Subject } from './subject.ts';
import type { Capabilities } from './scheme.ts';
import { rmSync } from 'node:fs';
import { startingAt } from './positions.ts';
import { saveTrace, storeTrace, TRACE_FORMAT, type Trace } from './trace.ts';

/**
 * `error`: the oracle itself failed (an internal error, or a trace it could not save). `undecided`: a
 * history could not be judged within the search's budget (--parallel only): no verdict, never a pass.
 */
export type Status = 'passed' | 'failed' | 'skipped' | 'fault' | 'error' | 'undecided';

export interface PropertyResult {
  scheme: string;
  property: string;
  rule: string;
  /** required: every subject must satisfy it; optional: it needs a capability (snapshot, hash). */
  kind: 'required' | 'optional';
  status: Status;
  /** Runs and steps the property was actually evaluated on. */
  runs: number;
  steps: number;
  reason?: string;
  failure?: Failure;
  /** The saved trace of a failure or fault, how many commands it has, and fast-check's path to it. */
  trace?: string;
  length?: number;
  path?: string;
  /** The trace saved when the failure was first found, before shrinking. */
  unshrunk?: string;
  replay?: string;
}

export interface CampaignResult {
  scheme: string;
  seed: number;
  /** Runs generated and made, and the commands they sent. */
  runs: number;
  steps: number;
  results: PropertyResult[];
  /** Traces the oracle could not save (an I/O error), to be printed whole: a counterexample is never lost. */
  unsaved: { trace: Trace; error: string }[];
  /** The properties whose failure ends the campaign (merge stops where the campaign would). */
  targets?: string[];
  /** Where the subject's answers put things over the campaign's runs, by `landed`: [row, column, count]. */
  landed?: [string, string, number][];
}

/**
 * Where one step put something, as a heat map's row and column (a connect's CPU and the listener it
 * reached), or undefined; the scheme's picture knows (cli/pictures), the campaign only counts. `state`
 * is a model state of the step (see RunInput's onStep): what a picture reads of it, a step does not change.
 */
export type Landed = (cmd: unknown, outcome: unknown, state: unknown) => [string, string] | undefined;

export interface CampaignOptions {
  scheme: AnyScheme;
  subject: Subject;
  /** Generated runs for the scheme (each checks every property). */
  runs: number;
  seed: number;
  /** fast-check's path to one run (and its shrinks): replays just that run. */
  path?: string;
  /** Where counterexamples go (traces/new/ for the CLI, a temporary directory for tests). */
  traceDir: string;
  /** Only these properties (default: all of the scheme's); conformance is checked on every run anyway. */
  properties?: Property[];
  onProgress?: (run: number, of: number) => void;
  /** Checked between runs: true stops the campaign (an interrupt); what was found is kept. */
  stopped?: () => boolean;
  /** Makes the blocks and shrinks elsewhere (a worker pool); default: here, one block at a time. */
  executor?: (plan: CampaignPlan) => Executor;
  /** Only the runs of slice I of N (1-based): a CI matrix spreads one campaign over machines. */
  shard?: { index: number; of: number };
  /** Counts where the subject's answers landed (CampaignResult.landed); a pool's workers count with their own. */
  landed?: Landed;
}

/** What an executor needs to make runs of a campaign anywhere: plain data. */
export interface CampaignPlan {
  scheme: string;
  seed: number;
  traceDir: string;
  properties: string[];
  /** The properties whose failure ends the campaign: those asked for (--property), or any. */
  targets: string[];
  capabilities: Capabilities;
  path?: string;
}

/** True iff this run ends the campaign: a target property failed, the subject faulted, or the oracle did. */
const ends = (plan: CampaignPlan) => (r: RunRecord) => r.failures.some((f) => plan.targets.includes(f.failure.property)) || r.fault !== undefined || r.internal !== undefined;

export interface Executor {
  /** How many blocks it makes at once. */
  readonly size: number;
  block(start: number, count: number): Promise<RunRecord[]>;
  shrink(property: string, first: Found): Promise<Shrunk>;
  close(): Promise<void>;
}

/** Runs a campaign's blocks are made of: small, so little is made past the first failure. */
export const BLOCK = 25;

/** A failure as first found: the run, and its trace (saved at once). Plain data: it may come from a worker. */
export interface Found {
  run: number;
  config: unknown;
  result: RunResult;
  failure: Failure;
  trace?: string;
}

/** What one generated run gave. */
export interface RunRecord {
  run: number;
  /** The subject declined the run's config. */
  declined?: boolean;
  steps: number;
  evaluated: Record<string, number>;
  failures: Found[];
  fault?: { failure: Failure; trace?: string };
  internal?: { message: string; trace?: string };
  unsaved: CampaignResult['unsaved'];
  /** Trace files this record's saving made (not found already there). */
  created: string[];
  /** Where its steps landed, when the engine counts: [row, column, count]. */
  landed?: [string, string, number][];
}

export interface Shrunk {
  found: Found;
  path: string;
  reason?: string;
  unsaved: CampaignResult['unsaved'];
  internal?: { message: string; trace?: string };
}

/** Makes runs and shrinks failures of one campaign, here. A worker makes one of these from a CampaignPlan. */
export class Engine {
  private readonly checked: Property[];

  constructor(
    private readonly scheme: AnyScheme,
    private readonly subject: Subject,
    private readonly plan: CampaignPlan,
    private readonly stopped: () => boolean = () => false,
    private readonly landed?: Landed,
  ) {
    this.checked = allProperties(scheme).filter((p) => plan.properties.includes(p.name));
  }

  /** Saves a trace; on an I/O error keeps it in `unsaved`. */
  private keep(trace: Trace, unsaved: CampaignResult['unsaved'], created?: string[]): string | undefined {
    try {
      const saved = storeTrace(this.plan.traceDir, trace);
      if (saved.created) created?.push(saved.file);
      return saved.file;
    } catch (e) {
      unsaved.push({ trace, error: (e as Error).message });
      return undefined;
    }
  }

  private save(config: unknown, result: RunResult, failure: Failure, unsaved: CampaignResult['unsaved'], path?: string, created?: string[]) {
    return this.keep(traceOf(this.scheme, config, result, failure, this.plan.seed, path), unsaved, created);
  }

  /** Makes one run; undefined when the subject declined its config. Throws only for the oracle's own errors. */
  private async makeRun(config: unknown, commands: unknown[], onStep?: RunInput['onStep']): Promise<RunResult | undefined> {
    let instance: Instance;
    try {
      instance = await this.subject.start(this.scheme, config);
    } catch (e) {
      if (e instanceof Unsupported) return undefined;
      if (!(e instanceof AdapterFault)) throw e;
      // The run's init itself failed: its config is the whole trace.
      return { steps: [], failures: [], fault: { property: e.kind, index: -1, message: e.message, fault: e.kind }, evaluated: {}, readings: [] };
    }
    const { hash } = this.plan.capabilities;
    return runSequence({ scheme: this.scheme, config, commands: hash ? commands : commands.map(withoutHash), implementation: instance, properties: this.checked, ...(onStep ? { onStep } : {}) });
  }

  /** The record of one run, whatever happened in it. */
  private async record(run: number, config: unknown, commands: unknown[], path: string): Promise<RunRecord> {
    const record: RunRecord = { run, steps: 0, evaluated: {}, failures: [], unsaved: [], created: [] };
    let result: RunResult | undefined;
    const cells: [string, string, number][] = [];
    const onStep = this.landed && ((cmd: unknown, outcome: unknown, state: unknown) => {
      const at = this.landed!(cmd, outcome, state);
      if (at) cells.push([at[0], at[1], 1]);
    });
    try {
      result = await this.makeRun(config, commands, onStep);
      if (onStep) record.landed = sumLanded([cells]) ?? [];
    } catch (e) {
      // The model, a property or the oracle threw: keep the run that led to it.
      const failure = { property: 'internal-error', index: commands.length - 1, message: String((e as Error).stack ?? e) };
      const trace = this.save(config, { steps: commands.map((cmd) => ({ cmd })), failures: [failure], evaluated: {}, readings: [] }, failure, record.unsaved, undefined, record.created);
      record.internal = { message: (e as Error).message, ...(trace ? { trace } : {}) };
      return record;
    }
    if (!result) return { ...record, declined: true };
    record.steps = result.steps.length;
    record.evaluated = result.evaluated;
    for (const failure of result.failures) {
      if (!this.plan.properties.includes(failure.property)) continue;
      record.failures.push({ run, config, result, failure, trace: this.save(config, result, failure, record.unsaved, path, record.created) });
    }
    if (result.fault) record.fault = { failure: result.fault, trace: this.save(config, result, result.fault, record.unsaved, undefined, record.created) };
    return record;
  }

  /** Runs start..start+count-1 (or the one run at `plan.path`), ending after the first that fails or faults. */
  async block(start: number, count: number): Promise<RunRecord[]> {
    const records: RunRecord[] = [];
    const ended = () => this.stopped() || records.some(ends(this.plan));
    let run = start;
    const path = this.plan.path ?? String(start);
    await fc.check(
      fc.asyncProperty(this.scheme.runs, async ({ config, commands }) => {
        const index = run++;
        if (!ended()) records.push(await this.record(index, config, commands, this.plan.path ?? String(index)));
        return true;
      }),
      { seed: this.plan.seed, path, numRuns: this.plan.path ? 1 : count, randomType: startingAt(path) },
    );
    return records;
  }

  /** Shrinks one property's failure from the run that first broke it, against that property alone. */
  async shrink(name: string, first: Found): Promise<Shrunk> {
    const unsaved: CampaignResult['unsaved'] = [];
    let last: Found | undefined;
    let stoppedBy: string | undefined;
    let internal: Shrunk['internal'];
    const path = this.plan.path ?? String(first.run);
    const details = await fc.check(
      fc.asyncProperty(this.scheme.runs, async ({ config, commands }) => {
        if (internal || stoppedBy) return true;
        if (this.stopped()) {
          stoppedBy = 'interrupted';
          return true;
        }
        let result: RunResult | undefined;
        try {
          result = await this.makeRun(config, commands);
        } catch (e) {
          internal = { message: (e as Error).message };
          return true;
        }
        if (result?.fault) {
          stoppedBy = `the subject faulted while shrinking (${result.fault.fault}: ${result.fault.message})`;
          return true;
        }
        const failure = result?.failures.find((f) => f.property === name);
        if (!result || !failure) return true;
        last = { run: first.run, config, result, failure };
        return false;
      }),
      { numRuns: 1, seed: this.plan.seed, path, endOnFailure: false, randomType: startingAt(path) },
    );
    if (!last || !details.failed) {
      const reason = stoppedBy ?? 'not shrunk: the run did not fail again when made a second time (a nondeterministic subject?)';
      return { found: first, path, reason, unsaved, ...(internal ? { internal } : {}) };
    }
    const final: Found = last;
    const shrunkPath = details.counterexamplePath ?? path;
    final.trace = this.save(final.config, final.result, final.failure, unsaved, shrunkPath) ?? first.trace;
    return { found: final, path: shrunkPath, unsaved, ...(stoppedBy ? { reason: `shrinking stopped: ${stoppedBy}` } : {}), ...(internal ? { internal } : {}) };
  }
}

/** The executor that makes everything here, one block at a time. */
function localExecutor(engine: Engine): Executor {
  return { size: 1, block: (start, count) => engine.block(start, count), shrink: (name, first) => engine.shrink(name, first), close: async () => {} };
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const { scheme, subject, seed } = options;
  // Leaving the relation is a conformance failure whatever was selected.
  const selected = [conformance, ...(options.properties ?? allProperties(scheme)).filter((p) => p !== conformance)];
  const campaign: CampaignResult = { scheme: scheme.name, seed, runs: 0, steps: 0, results: [], unsaved: [] };
  const resultsOf = (rest: (p: Property) => Omit<PropertyResult, 'scheme' | 'property' | 'rule' | 'kind' | 'runs' | 'steps'> & Partial<PropertyResult>) => {
    campaign.results = selected.map((p) => resultOf(scheme, p, { runs: 0, steps: 0, ...rest(p) }));
    return campaign;
  };

  // The subject's capabilities, learnt from one instance: of the default config, or else of the first
  // generated config it takes (a kernel on 2 CPUs declines the default of 128).
  let capabilities: Capabilities;
  try {
    capabilities = await probeCapabilities(options);
  } catch (e) {
    if (e instanceof Unsupported) return resultsOf(() => ({ status: 'skipped', reason: `the subject declined: ${e.kind}: ${e.message}` }));
    if (!(e instanceof AdapterFault)) throw e;
    const config = (e as AdapterFault & { config?: unknown }).config ?? scheme.config.parse({});
    const trace: Trace = { format: TRACE_FORMAT, scheme: scheme.name, config, steps: [], found: { property: e.kind, seed, message: e.message } };
    let saved: string | undefined;
    try {
      saved = saveTrace(options.traceDir, trace);
    } catch (error) {
      campaign.unsaved.push({ trace, error: (error as Error).message });
    }
    return resultsOf(() => ({ status: campaign.unsaved.length ? 'error' : 'fault', reason: `${e.kind} at init: ${e.message}`, ...(saved ? { trace: saved } : {}), length: 0 }));
  }
  const lacking = (p: Property) => (p.needs ?? []).filter((need) => !capabilities[need]);
  const checked = selected.filter((p) => lacking(p).length === 0);
  // Asked about some properties, the campaign runs until one of them fails; asked about all, until any does.
  const targets = (options.properties ? checked.filter((p) => options.properties!.includes(p)) : checked).map((p) => p.name);
  const plan: CampaignPlan = {
    scheme: scheme.name,
    seed,
    traceDir: options.traceDir,
    properties: checked.map((p) => p.name),
    targets: targets.length > 0 ? targets : checked.map((p) => p.name),
    capabilities,
    ...(options.path ? { path: options.path } : {}),
  };
  const stopped = () => options.stopped?.() === true;
  campaign.targets = plan.targets;
  const executor = options.executor?.(plan) ?? localExecutor(new Engine(scheme, subject, plan, stopped, options.landed));

  // The blocks of this campaign (or of its shard), made up to `executor.size` at a time, in order of start.
  const [from, to] = options.path ? [0, 1] : options.shard ? sliceOf(options.runs, options.shard) : [0, options.runs];
  const starts: number[] = [];
  for (let start = from; start < to; start += BLOCK) starts.push(start);
  const records: RunRecord[] = [];
  const stopsAt = () => Math.min(...records.filter(ends(plan)).map((r) => r.run));
  let made = 0;
  try {
    const pending = new Set<Promise<void>>();
    for (const start of starts) {
      if (stopped() || start > stopsAt()) break;
      const task = executor.block(start, Math.min(BLOCK, to - start)).then((got) => {
        records.push(...got);
        made += got.length;
        options.onProgress?.(made, to - from);
      });
      pending.add(task);
      void task.finally(() => pending.delete(task)).catch(() => {});
      // The first block alone: a campaign that ends in it (a buggy subject's, most often) never makes a
      // pool start a second worker and subject. A long campaign pays one block's wait.
      if (start === starts[0] || pending.size >= executor.size) await Promise.race(pending);
    }
    await Promise.all(pending);

    // Exactly the runs one thread would have made: up to and including the first that stopped the campaign.
    records.sort((a, b) => a.run - b.run);
    const last = stopsAt();
    const kept = records.filter((r) => r.run <= last);
    // A block made in parallel may have run past the campaign's end and saved a trace of its own: the
    // files it made are removed, so the traces left are the same whatever the number of workers.
    const named = new Set(kept.flatMap((r) => [...r.failures.map((f) => f.trace), r.fault?.trace, r.internal?.trace]));
    for (const r of records) if (r.run > last) for (const file of r.created) if (!named.has(file)) rmSync(file, { force: true });
    const counts = new Map(checked.map((p) => [p.name, { runs: 0, steps: 0 }]));
    let declined = 0;
    const landed = sumLanded(kept.map((r) => r.landed));
    if (landed) campaign.landed = landed;
    for (const r of kept) {
      campaign.unsaved.push(...r.unsaved);
      if (r.declined) declined++;
      else if (!r.internal) {
        campaign.runs++;
        campaign.steps += r.steps;
      }
      for (const [name, n] of Object.entries(r.evaluated)) {
        const c = counts.get(name);
        if (c && n > 0) {
          c.runs++;
          c.steps += n;
        }
      }
    }
    const stopper = kept.at(-1);
    // Each property's first failure among the runs made (a run may break several).
    const found = new Map<string, Found>();
    for (const r of kept) for (const f of r.failures) if (!found.has(f.failure.property)) found.set(f.failure.property, f);
    const fault = stopper?.run === last ? stopper.fault : undefined;
    let internal = stopper?.run === last ? stopper.internal : undefined;
    if (campaign.unsaved.length) internal ??= { message: `cannot save a trace in ${options.traceDir}: ${campaign.unsaved[0].error}` };

    // Shrink each failing property on its own, from the run that first broke it.
    const shrunk = new Map<string, Shrunk>();
    for (const [name, first] of found) {
      if (internal) {
        shrunk.set(name, { found: first, path: String(first.run), reason: `not shrunk: ${internal.message}`, unsaved: [] });
        continue;
      }
      const result = await executor.shrink(name, first);
      campaign.unsaved.push(...result.unsaved);
      if (result.internal) internal = result.internal;
      shrunk.set(name, result);
    }
    if (campaign.unsaved.length) internal ??= { message: `cannot save a trace in ${options.traceDir}: ${campaign.unsaved[0].error}` };

    campaign.results = selected.map((p) => {
      const missing = lacking(p);
      if (missing.length > 0) return resultOf(scheme, p, { status: 'skipped', runs: 0, steps: 0, reason: `needs capability ${missing.join(', ')}` });
      const { runs, steps } = counts.get(p.name)!;
      const failed = shrunk.get(p.name);
      if (failed) {
        const { found: f, path, reason } = failed;
        const first = found.get(p.name)!;
        return resultOf(scheme, p, {
          status: 'failed',
          runs,
          steps,
          failure: f.failure,
          ...(f.trace ? { trace: f.trace, replay: replayCommand(f.trace, subject) } : {}),
          length: f.failure.index + 1,
          path,
          ...(first.trace && first.trace !== f.trace ? { unshrunk: first.trace } : {}),
          ...(reason ? { reason } : {}),
        });
      }
      if (internal) return resultOf(scheme, p, { status: 'error', runs, steps, reason: `the oracle failed: ${internal.message}`, ...(internal.trace ? { trace: internal.trace } : {}) });
      if (fault) {
        const reason = `the subject faulted at run ${last + 1}, ${fault.failure.fault} at ${whereIn(fault.failure)}: ${fault.failure.message}`;
        const saved = fault.trace ? { trace: fault.trace, replay: replayCommand(fault.trace, subject) } : {};
        return resultOf(scheme, p, { status: 'fault', runs, steps, reason, failure: fault.failure, length: fault.failure.index + 1, ...saved });
      }
      if (steps === 0) {
        const why = declined > 0 ? `the subject declined ${declined} generated configs` : 'no generated run reached a step where it applies';
        return resultOf(scheme, p, { status: 'skipped', runs, steps, reason: `evaluated on no step: ${why}` });
      }
      return resultOf(scheme, p, { status: 'passed', runs, steps });
    });
  } finally {
    await executor.close();
  }
  return campaign;
}

/** Heat-map cells summed by (row, column); undefined when nothing was counted at all. */
export function sumLanded(lists: readonly (readonly [string, string, number][] | undefined)[]): [string, string, number][] | undefined {
  if (lists.every((l) => l === undefined)) return undefined;
  const sum = new Map<string, [string, string, number]>();
  for (const list of lists) {
    for (const [row, column, n] of list ?? []) {
      const key = JSON.stringify([row, column]);
      const cell = sum.get(key);
      if (cell) cell[2] += n;
      else sum.set(key, [row, column, n]);
    }
  }
  return [...sum.values()];
}

/** Runs [from, to) of shard I of N: contiguous, disjoint, covering 0..runs-1, each starting on a block. */
export function sliceOf(runs: number, { index, of }: { index: number; of: number }): [number, number] {
  const blocks = Math.ceil(runs / BLOCK);
  const edge = (i: number) => Math.min(runs, Math.floor((blocks * i) / of) * BLOCK);
  return [edge(index - 1), edge(index)];
}

async function probeCapabilities({ scheme, subject, seed }: CampaignOptions) {
  const candidates = [scheme.config.parse({}), ...fc.sample(scheme.runs, { seed, numRuns: 20 }).map((r) => r.config)];
  let declined: Unsupported | undefined;
  for (const config of candidates) {
    try {
      return (await subject.start(scheme, config)).capabilities;
    } catch (e) {
      if (e instanceof AdapterFault) throw Object.assign(e, { config });
      if (!(e instanceof Unsupported) || e.kind !== 'unsupported-config') throw e;
      declined = e;
    }
  }
  throw declined!;
}

/** "step 3", or "init" for a fault before the first command (index -1). */
export function whereIn(failure: Failure): string {
  return failure.index < 0 ? 'init' : `step ${failure.index}`;
}

/** The trace of a run up to and including the failing step, with what the subject answered. */
function traceOf(scheme: AnyScheme, config: unknown, result: RunResult, failure: Failure, seed: number, path?: string): Trace {
  return {
    format: TRACE_FORMAT,
    scheme: scheme.name,
    config,
    steps: result.steps.slice(0, failure.index + 1).map(({ cmd, outcome }) => (outcome === undefined ? { cmd } : { cmd, observed: outcome })),
    found: { property: failure.property, seed, ...(path ? { path } : {}), message: failure.message },
  };
}

export function replayCommand(trace: string, subject: Subject): string {
  return `npx steerspec replay ${trace}${subject.describe ? ` ${subject.describe}` : ''}`;
}

function resultOf(scheme: AnyScheme, property: Property, rest: Omit<PropertyResult, 'scheme' | 'property' | 'rule' | 'kind'>): PropertyResult {
  return {
    scheme: scheme.name,
    property: property.name,
    rule: property.rule,
    kind: property.needs?.length ? 'optional' : 'required',
    ...rest,
  };
}


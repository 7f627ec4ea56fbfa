// A campaign: fast-check generates runs (a config and a command sequence) for a scheme; each run is
// made once and every selected property is checked on it, until a run fails. Each property that run
// broke is then shrunk on its own, from the run that first broke it (replayed by fast-check's seed and path), so each failing
// property gets the smallest trace that breaks *it*. The first failing run of each property is saved
// the moment it is found, before shrinking can fail; a fault (hang, crash, garbage) is saved and ends
// the campaign, and a definite failure found before it is still reported.
import fc from 'fast-check';
import { AdapterFault, runSequence, type Failure, type RunResult } from './runner.ts';
import { allProperties, conformance, withoutHash, type AnyScheme, type Property } from './scheme.ts';
import { Unsupported, type Instance, type Subject } from './subject.ts';
import { saveTrace, TRACE_FORMAT, type Trace } from './trace.ts';

/** `error`: the oracle itself failed (an internal error, or a trace it could not save). */
export type Status = 'passed' | 'failed' | 'skipped' | 'fault' | 'error';

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
}

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
}

interface Found {
  run: number;
  config: unknown;
  result: RunResult;
  failure: Failure;
  trace?: string;
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const { scheme, subject, seed } = options;
  // Leaving the relation is a conformance failure whatever was selected.
  const selected = [conformance, ...(options.properties ?? allProperties(scheme)).filter((p) => p !== conformance)];
  const campaign: CampaignResult = { scheme: scheme.name, seed, runs: 0, steps: 0, results: [], unsaved: [] };
  /** Saves a trace; on an I/O error keeps it in `unsaved` and marks the campaign as an oracle error. */
  const keep = (trace: Trace): string | undefined => {
    try {
      return saveTrace(options.traceDir, trace);
    } catch (e) {
      campaign.unsaved.push({ trace, error: (e as Error).message });
      internal ??= { error: new Error(`cannot save a trace in ${options.traceDir}: ${(e as Error).message}`) };
      return undefined;
    }
  };
  let internal: { error: Error; trace?: string } | undefined;
  const resultsOf = (rest: (p: Property) => Omit<PropertyResult, 'scheme' | 'property' | 'rule' | 'kind' | 'runs' | 'steps'> & Partial<PropertyResult>) => {
    campaign.results = selected.map((p) => resultOf(scheme, p, { runs: 0, steps: 0, ...rest(p) }));
    return campaign;
  };

  // The subject's capabilities, learnt from one instance: of the default config, or else of the first
  // generated config it takes (a kernel on 2 CPUs declines the default of 128).
  let capabilities;
  try {
    capabilities = await probeCapabilities(options);
  } catch (e) {
    if (e instanceof Unsupported) return resultsOf(() => ({ status: 'skipped', reason: `the subject declined: ${e.kind}: ${e.message}` }));
    if (!(e instanceof AdapterFault)) throw e;
    const trace = keep({ format: TRACE_FORMAT, scheme: scheme.name, config: scheme.config.parse({}), steps: [], found: { property: e.kind, seed, message: e.message } });
    return resultsOf(() => ({ status: 'fault', reason: `${e.kind} at init: ${e.message}`, ...(trace ? { trace } : {}), length: 0 }));
  }
  const lacking = (p: Property) => (p.needs ?? []).filter((need) => !capabilities[need]);
  const checked = selected.filter((p) => lacking(p).length === 0);
  const counts = new Map(checked.map((p) => [p.name, { runs: 0, steps: 0 }]));
  const found = new Map<string, Found>();
  let fault: { failure: Failure; trace?: string; run: number } | undefined;
  let declined = 0;
  // Like fast-check, the campaign ends with the first run that fails (every property it broke is reported).
  const done = () => fault !== undefined || internal !== undefined || found.size > 0 || options.stopped?.() === true;

  const save = (config: unknown, result: RunResult, failure: Failure, path?: string) => keep(traceOf(scheme, config, result, failure, seed, path));

  /** Makes one run; undefined when the subject declined its config. */
  const makeRun = async (config: unknown, commands: unknown[]): Promise<RunResult | undefined> => {
    let instance: Instance;
    try {
      instance = await subject.start(scheme, config);
    } catch (e) {
      if (e instanceof Unsupported) return undefined;
      if (!(e instanceof AdapterFault)) throw e;
      // The run's init itself failed: its config is the whole trace.
      return { steps: [], failures: [], fault: { property: e.kind, index: -1, message: e.message, fault: e.kind }, evaluated: {}, readings: [] };
    }
    return runSequence({ scheme, config, commands: capabilities.hash ? commands : commands.map(withoutHash), implementation: instance, properties: checked });
  };

  const guarded = async (config: unknown, commands: unknown[], onResult: (result: RunResult) => void): Promise<RunResult | undefined> => {
    try {
      const result = await makeRun(config, commands);
      if (result) onResult(result);
      return result;
    } catch (e) {
      // The model, a property or the oracle threw: keep the run that led to it, then stop.
      const steps = commands.map((cmd) => ({ cmd }));
      const failure = { property: 'internal-error', index: commands.length - 1, message: String((e as Error).stack ?? e) };
      internal ??= { error: e as Error };
      internal.trace ??= save(config, { steps, failures: [failure], evaluated: {}, readings: [] }, failure);
      return undefined;
    }
  };

  let run = -1;
  const mainPass = async ({ config, commands }: { config: unknown; commands: unknown[] }) => {
    run++;
    if (done()) return true;
    options.onProgress?.(run + 1, options.runs);
    const result = await guarded(config, commands, (r) => {
      campaign.runs++;
      campaign.steps += r.steps.length;
      for (const [name, n] of Object.entries(r.evaluated)) {
        const c = counts.get(name);
        if (c && n > 0) {
          c.runs++;
          c.steps += n;
        }
      }
      for (const failure of r.failures) {
        if (found.has(failure.property) || !counts.has(failure.property)) continue;
        found.set(failure.property, { run, config, result: r, failure, trace: save(config, r, failure, String(run)) });
      }
      if (r.fault) fault = { failure: r.fault, trace: save(config, r, r.fault), run };
    });
    if (result === undefined && !internal) {
      declined++;
      fc.pre(false);
    }
    return true;
  };
  await fc.check(fc.asyncProperty(scheme.runs, mainPass), { numRuns: options.runs, seed, maxSkipsPerRun: 10, ...(options.path ? { path: options.path } : {}) });

  // Shrink each failing property on its own, from the run that first broke it.
  const shrunk = new Map<string, { found: Found; path: string; reason?: string }>();
  for (const [name, first] of found) {
    if (internal) {
      shrunk.set(name, { found: first, path: String(first.run), reason: `not shrunk: ${internal.error.message}` });
      continue;
    }
    let last: Found | undefined;
    let stoppedBy: string | undefined;
    const shrinkPass = async ({ config, commands }: { config: unknown; commands: unknown[] }) => {
      if (internal || stoppedBy) return true;
      if (options.stopped?.()) {
        stoppedBy = 'interrupted';
        return true;
      }
      let broke = false;
      await guarded(config, commands, (r) => {
        if (r.fault) {
          stoppedBy = `the subject faulted while shrinking (${r.fault.fault}: ${r.fault.message})`;
          return;
        }
        const failure = r.failures.find((f) => f.property === name);
        if (failure) {
          broke = true;
          last = { run: first.run, config, result: r, failure };
        }
      });
      return !broke;
    };
    const path = options.path && first.run === 0 ? options.path : String(first.run);
    const details = await fc.check(fc.asyncProperty(scheme.runs, shrinkPass), { numRuns: 1, seed, path, endOnFailure: false });
    if (!last || !details.failed) {
      shrunk.set(name, { found: first, path: String(first.run), reason: stoppedBy ?? 'not shrunk: the run did not fail again when made a second time (a nondeterministic subject?)' });
      continue;
    }
    const final: Found = last;
    final.trace = save(final.config, final.result, final.failure, details.counterexamplePath ?? path) ?? first.trace;
    shrunk.set(name, { found: final, path: details.counterexamplePath ?? path, reason: stoppedBy ? `shrinking stopped: ${stoppedBy}` : undefined });
  }

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
    if (internal) return resultOf(scheme, p, { status: 'error', runs, steps, reason: `the oracle failed: ${internal.error.message}`, ...(internal.trace ? { trace: internal.trace } : {}) });
    if (fault) {
      const reason = `the subject faulted at run ${fault.run + 1}, ${fault.failure.fault} at ${whereIn(fault.failure)}: ${fault.failure.message}`;
      const saved = fault.trace ? { trace: fault.trace, replay: replayCommand(fault.trace, subject) } : {};
      return resultOf(scheme, p, { status: 'fault', runs, steps, reason, failure: fault.failure, length: fault.failure.index + 1, ...saved });
    }
    if (steps === 0) {
      const why = declined > 0 ? `the subject declined ${declined} generated configs` : 'no generated run reached a step where it applies';
      return resultOf(scheme, p, { status: 'skipped', runs, steps, reason: `evaluated on no step: ${why}` });
    }
    return resultOf(scheme, p, { status: 'passed', runs, steps });
  });
  return campaign;
}

async function probeCapabilities({ scheme, subject, seed }: CampaignOptions) {
  const candidates = [scheme.config.parse({}), ...fc.sample(scheme.runs, { seed, numRuns: 20 }).map((r) => r.config)];
  let declined: Unsupported | undefined;
  for (const config of candidates) {
    try {
      return (await subject.start(scheme, config)).capabilities;
    } catch (e) {
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


// A property campaign: fast-check generates runs (a config and a command sequence) for one
// property at a time, runs them on the subject beside the model, shrinks a failure, and saves it
// as a trace. The first failing run is saved before shrinking starts, so nothing found is lost if
// the subject dies while shrinking; a fault (hang, crash, garbage) is saved and ends the campaign.
import fc from 'fast-check';
import { rmSync } from 'node:fs';
import { AdapterFault, runSequence, type Failure, type RunResult } from './runner.ts';
import { allProperties, withoutHash, type AnyScheme, type Property } from './scheme.ts';
import { Unsupported, type Subject } from './subject.ts';
import { saveTrace, TRACE_FORMAT, type Trace } from './trace.ts';

export type Status = 'passed' | 'failed' | 'skipped' | 'fault' | 'not-run';

export interface PropertyResult {
  scheme: string;
  property: string;
  rule: string;
  /** required: every subject must satisfy it; optional: it needs a capability (snapshot, hash). */
  kind: 'required' | 'optional';
  status: Status;
  runs: number;
  reason?: string;
  failure?: Failure;
  /** The saved trace of a failure or fault, and how many commands it has. */
  trace?: string;
  length?: number;
  replay?: string;
}

export interface CampaignOptions {
  scheme: AnyScheme;
  subject: Subject;
  runs: number;
  seed: number;
  /** Where counterexamples go (traces/new/ for the CLI, a temporary directory for tests). */
  traceDir: string;
  /** Only these properties (default: all of the scheme's). */
  properties?: Property[];
  onProgress?: (property: string, run: number, of: number) => void;
}

export async function runCampaign(options: CampaignOptions): Promise<PropertyResult[]> {
  const { scheme } = options;
  const properties = options.properties ?? allProperties(scheme);
  const results: PropertyResult[] = [];

  // The subject's capabilities, learnt from one instance: of the default config, or else of the first
  // generated config it takes (a kernel on 2 CPUs declines the default of 128).
  let capabilities;
  try {
    capabilities = await probeCapabilities(options);
  } catch (e) {
    if (e instanceof Unsupported) {
      return properties.map((p) => resultOf(scheme, p, { status: 'skipped', runs: 0, reason: `${e.kind}: ${e.message}` }));
    }
    if (e instanceof AdapterFault) {
      return properties.map((p, i) =>
        resultOf(scheme, p, i === 0 ? { status: 'fault', runs: 0, reason: `${e.kind} at init: ${e.message}` } : { status: 'not-run', runs: 0 }),
      );
    }
    throw e;
  }

  for (const property of properties) {
    const missing = (property.needs ?? []).filter((need) => !capabilities[need]);
    if (missing.length > 0) {
      results.push(resultOf(scheme, property, { status: 'skipped', runs: 0, reason: `needs capability ${missing.join(', ')}` }));
      continue;
    }
    if (results.some((r) => r.status === 'fault')) {
      results.push(resultOf(scheme, property, { status: 'not-run', runs: 0, reason: 'the subject faulted earlier' }));
      continue;
    }
    results.push(await checkProperty(options, property, capabilities.hash));
  }
  return results;
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

async function checkProperty(options: CampaignOptions, property: Property, passHash: boolean): Promise<PropertyResult> {
  const { scheme, subject, seed } = options;
  let firstSaved: string | undefined;
  let last: { config: unknown; result: RunResult } | undefined;
  let fault: PropertyResult | undefined;
  let unsupported = 0;
  let run = 0;

  const save = (config: unknown, result: RunResult, path?: string) =>
    saveTrace(options.traceDir, traceOf(scheme, config, result, seed, path));

  const predicate = async ({ config, commands }: { config: unknown; commands: unknown[] }) => {
    if (fault) return true;
    options.onProgress?.(property.name, ++run, options.runs);
    let instance;
    try {
      instance = await subject.start(scheme, config);
    } catch (e) {
      if (e instanceof AdapterFault) {
        // The run's init itself failed: its config is the whole trace.
        const result: RunResult = { steps: [], failure: { property: e.kind, index: -1, message: e.message, fault: e.kind } };
        fault = faultResult(options, property, config, result, run);
        return true;
      }
      if (!(e instanceof Unsupported)) throw e;
      unsupported++;
      fc.pre(false);
      return true;
    }
    let result: RunResult;
    try {
      result = await runSequence({
        scheme,
        config,
        commands: passHash ? commands : commands.map(withoutHash),
        implementation: instance,
        properties: [property],
      });
    } catch (e) {
      // The model or a property itself threw: report it like a failure, with the run that led to it.
      result = { steps: commands.map((cmd) => ({ cmd })), failure: { property: property.name, index: commands.length - 1, message: `internal error: ${(e as Error).stack}` } };
    }
    if (!result.failure) return true;
    if (result.failure.fault) {
      fault = faultResult(options, property, config, result, run);
      return true;
    }
    firstSaved ??= save(config, result);
    last = { config, result };
    return false;
  };

  const details = await fc.check(fc.asyncProperty(scheme.runs, predicate), {
    numRuns: options.runs,
    seed: options.seed,
    maxSkipsPerRun: 10,
  });

  if (fault && last && firstSaved) {
    // A definite failure was found before the subject faulted while shrinking: keep the unshrunk trace.
    return resultOf(scheme, property, {
      status: 'failed',
      runs: details.numRuns,
      failure: last.result.failure,
      trace: firstSaved,
      length: last.result.steps.length,
      reason: `not shrunk: ${fault.reason}`,
      replay: replayCommand(firstSaved, subject),
    });
  }
  if (fault) return fault;
  if (!details.failed) return resultOf(scheme, property, { status: 'passed', runs: details.numRuns });
  if (!last) {
    const reason = unsupported > 0 ? `the subject declined ${unsupported} generated configs` : String(details.errorInstance ?? 'no run completed');
    return resultOf(scheme, property, { status: 'skipped', runs: details.numRuns, reason });
  }
  const trace = save(last.config, last.result, details.counterexamplePath ?? undefined);
  if (firstSaved && firstSaved !== trace) rmSync(firstSaved, { force: true });
  return resultOf(scheme, property, {
    status: 'failed',
    runs: details.numRuns,
    failure: last.result.failure,
    trace,
    length: last.result.steps.length,
    replay: replayCommand(trace, subject),
  });
}

/** Saves the trace that led to a fault, then describes it: the verdict is unknown. */
function faultResult(options: CampaignOptions, property: Property, config: unknown, result: RunResult, runs: number): PropertyResult {
  const trace = saveTrace(options.traceDir, traceOf(options.scheme, config, result, options.seed));
  return resultOf(options.scheme, property, {
    status: 'fault',
    runs,
    failure: result.failure,
    trace,
    length: result.steps.length,
    reason: `${result.failure!.fault} at ${whereIn(result.failure!)}: ${result.failure!.message}`,
    replay: replayCommand(trace, options.subject),
  });
}

/** "step 3", or "init" for a fault before the first command (index -1). */
export function whereIn(failure: Failure): string {
  return failure.index < 0 ? 'init' : `step ${failure.index}`;
}

function traceOf(scheme: AnyScheme, config: unknown, result: RunResult, seed: number, path?: string): Trace {
  const failure = result.failure!;
  return {
    format: TRACE_FORMAT,
    scheme: scheme.name,
    config,
    steps: result.steps.slice(0, failure.index + 1).map(({ cmd }) => ({ cmd })),
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

// Parallel runs (`check --parallel N`), as PropEr's parallel_commands: a sequential prefix, then N branches
// whose commands run at the same time, each branch sending its next request only after its previous reply.
// The history the oracle sees (core/history.ts) is checked for linearizability against the scheme's
// relation (core/linearize.ts). Two drivers: a subject that declares `concurrent` (a process or module,
// really concurrent), and an async JavaScript implementation run under fast-check's scheduler, which
// picks the order its awaits resume in, deterministically, and shrinks that order with the commands.
import fc from 'fast-check';
import type { CampaignResult, PropertyResult } from './campaign.ts';
import { renderColumns, traceOfHistory, type History, type LoadedParallelTrace, type Operation, type ParallelTrace } from './history.ts';
import { linearize, SEARCH_BUDGET, type Linearization } from './linearize.ts';
import { AdapterFault, type Failure } from './runner.ts';
import { withInputs, withoutHash, type AnyScheme, type Capabilities, type Implementation, type ParallelRun } from './scheme.ts';
import { checked, Unsupported, type Instance, type Subject } from './subject.ts';
import { storeTrace, type Trace } from './trace.ts';
import { InputError, show } from './vocabulary.ts';

export const LINEARIZABILITY = {
  name: 'linearizability',
  rule: "true iff some order of all commands, consistent with each branch's order and with real time, makes every observed outcome one the model allows",
};

/** How many times a candidate is made while shrinking a real (nondeterministic) subject: a race need not show every time. */
export const SHRINK_ATTEMPTS = 4;
/** How many faults shrinking puts up with (each costs a restart): a racy subject often crashes on a candidate. */
export const SHRINK_FAULTS = 25;

/** The scheme's parallel generator, or its sequential one dealt out: the first half is the prefix, the rest goes round the branches. */
export function parallelRunsOf(scheme: AnyScheme, branches: number): fc.Arbitrary<ParallelRun> {
  if (scheme.parallelRuns) return scheme.parallelRuns(branches);
  return scheme.runs.map(({ config, commands }) => {
    const cut = Math.ceil(commands.length / 2);
    const dealt: unknown[][] = Array.from({ length: branches }, () => []);
    commands.slice(cut).forEach((cmd, i) => dealt[i % branches].push(cmd));
    return { config, prefix: commands.slice(0, cut), branches: dealt };
  });
}

export interface ParallelResult {
  history: History;
  verdict: Linearization;
  /** The fault that ended the run; the history up to it is still checked (unanswered commands may have taken effect or not). */
  fault?: Failure;
}

/**
 * Makes one parallel run on `instance` and checks its history. `drive`, given the branches' promise,
 * lets something else make them progress (fast-check's scheduler); a real subject needs nothing.
 */
export async function runParallel(scheme: AnyScheme, config: unknown, run: ParallelRun, instance: Instance, drive?: (branches: Promise<unknown>) => Promise<unknown>, budget = SEARCH_BUDGET): Promise<ParallelResult> {
  const history: History = { prefix: [], branches: run.branches.map(() => []), events: [] };
  let fault: Failure | undefined;
  const faulted = (e: unknown, index: number) => {
    if (!(e instanceof AdapterFault)) throw e;
    fault ??= { property: e.kind, index, message: e.message, fault: e.kind };
  };
  for (const cmd of run.prefix) {
    const step: History['prefix'][number] = { cmd };
    history.prefix.push(step);
    try {
      // Judged and recorded as the command with the inputs the subject observed, the outcome without them.
      ({ cmd: step.cmd, outcome: step.outcome } = withInputs(cmd, await instance.apply(cmd)));
      // The linearizability checker takes replies as given: a prefix reply is checked against the vocabulary here.
      if (instance.validate) step.outcome = instance.validate(step.cmd, step.outcome);
    } catch (e) {
      faulted(e, history.prefix.length - 1);
      break;
    }
  }
  if (!fault) {
    if (!instance.applyAt) throw new Error('runParallel: the instance is not concurrent');
    const applyAt = instance.applyAt;
    let next = 0;
    const branch = async (commands: unknown[], b: number) => {
      for (const cmd of commands) {
        if (fault) return; // the subject is gone: nothing more is sent
        const op: Operation = { id: next++, branch: b, cmd };
        history.branches[b].push(op);
        history.events.push({ call: op.id });
        try {
          ({ cmd: op.cmd, outcome: op.outcome } = withInputs(cmd, await applyAt(cmd, { id: op.id, branch: b })));
        } catch (e) {
          faulted(e, history.prefix.length + op.id);
          return;
        }
        history.events.push({ ret: op.id });
      }
    };
    const all = Promise.all(run.branches.map(branch));
    await (drive ? Promise.all([all, drive(all)]) : all);
  }
  try {
    return { history, verdict: linearize(scheme.model, config, history, budget), ...(fault ? { fault } : {}) };
  } catch (e) {
    // The checker (or the model under it) failed: the history that led there goes with the error, to be saved.
    throw new CheckerError(e, history);
  }
}

/** The linearizability check threw on `history`: an oracle error, with what it was checking. */
export class CheckerError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly history: History,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'CheckerError';
    if (cause instanceof Error && cause.stack) this.stack = cause.stack;
  }
}

/** The failure a rejected history is reported as: the marked step, what the spec allows there, and the columns. Undefined for an accepted or undecided one. */
export function failureOf(result: ParallelResult): Failure | undefined {
  const { verdict, history } = result;
  if (verdict.ok !== false) return undefined;
  const allowed = verdict.allowed.length ? `; the spec allows ${verdict.allowed.map((o) => show(o)).join(' or ')}` : '';
  if (verdict.prefixStep !== undefined) {
    return { property: LINEARIZABILITY.name, index: verdict.prefixStep, message: `${verdict.why}${allowed}\n${renderColumns(history)}` };
  }
  const calls = history.events.filter((e): e is { call: number } => 'call' in e).map((e) => e.call);
  const row = verdict.op === undefined ? calls.length - 1 : calls.indexOf(verdict.op);
  const note = verdict.op === undefined ? undefined : `no linearization gets past this step${allowed}`;
  return { property: LINEARIZABILITY.name, index: history.prefix.length + row, message: `${verdict.why}${allowed}\n${renderColumns(history, verdict.op, note)}` };
}

const commandCount = (h: History) => h.prefix.length + h.branches.reduce((n, b) => n + b.length, 0);

export interface ParallelCampaignOptions {
  scheme: AnyScheme;
  subject: Subject;
  branches: number;
  runs: number;
  seed: number;
  path?: string;
  traceDir: string;
  stopped?: () => boolean;
  onProgress?: (run: number, of: number) => void;
  /** The linearizability search's budget per run, in visits (default SEARCH_BUDGET); past it a run cannot be judged. */
  budget?: number;
}

/**
 * A campaign of parallel runs: one property, linearizability, required. A subject that does not declare
 * `concurrent` is SKIPPED (never passed): the check made nothing, and the exit code says so (3).
 */
export async function runParallelCampaign(options: ParallelCampaignOptions): Promise<CampaignResult> {
  const { scheme, subject, seed, traceDir } = options;
  const campaign: CampaignResult = { scheme: scheme.name, seed, runs: 0, steps: 0, results: [], unsaved: [], targets: [LINEARIZABILITY.name] };
  const finish = (rest: Partial<PropertyResult> & Pick<PropertyResult, 'status'>) => {
    campaign.results = [{ scheme: scheme.name, property: LINEARIZABILITY.name, rule: LINEARIZABILITY.rule, kind: 'required', runs: campaign.runs, steps: campaign.steps, ...rest }];
    return campaign;
  };
  const keep = (trace: ParallelTrace): string | undefined => {
    try {
      return storeTrace(traceDir, trace).file;
    } catch (e) {
      campaign.unsaved.push({ trace: trace as unknown as Trace, error: (e as Error).message });
      return undefined;
    }
  };
  type Made = ParallelResult & { config: unknown };
  const found = (r: Made, failure: Failure, path?: string) =>
    traceOfHistory(scheme.name, r.config, r.history, { property: failure.property, seed, ...(path ? { path } : {}), message: failure.message.split('\n')[0] });

  let capabilities: Capabilities;
  try {
    capabilities = await probe(scheme, subject, options.branches, seed);
  } catch (e) {
    if (e instanceof Unsupported) return finish({ status: 'skipped', reason: `the subject declined: ${e.kind}: ${e.message}` });
    if (!(e instanceof AdapterFault)) throw e;
    const trace = traceOfHistory(scheme.name, scheme.config.parse({}), { prefix: [], branches: [[]], events: [] }, { property: e.kind, seed, message: e.message });
    const saved = keep(trace);
    return finish({ status: saved ? 'fault' : 'error', reason: `${e.kind} at init: ${e.message}`, ...(saved ? { trace: saved } : {}), length: 0 });
  }
  if (!capabilities.concurrent) {
    return finish({ status: 'skipped', reason: 'the subject does not declare "concurrent": true in its init capabilities, so no parallel run was made' });
  }

  const make = async (run: ParallelRun): Promise<Made | undefined> => {
    let instance: Instance;
    try {
      instance = await subject.start(scheme, run.config);
    } catch (e) {
      if (e instanceof Unsupported) return undefined;
      if (!(e instanceof AdapterFault)) throw e;
      // The run's init itself failed (a helper gone or slow between runs): a fault, as in a sequential run; its config is the whole trace.
      const history: History = { prefix: [], branches: run.branches.map(() => []), events: [] };
      return { history, verdict: linearize(scheme.model, run.config, history), fault: { property: e.kind, index: -1, message: e.message, fault: e.kind }, config: run.config };
    }
    const strip = (cmds: unknown[]) => (capabilities.hash ? cmds : cmds.map(withoutHash));
    const result = await runParallel(scheme, run.config, { config: run.config, prefix: strip(run.prefix), branches: run.branches.map(strip) }, instance, undefined, options.budget);
    return { ...result, config: run.config };
  };

  let first: { result: Made; failure: Failure; trace?: string } | undefined;
  let last: { result: Made; failure: Failure } | undefined;
  let fault: { failure: Failure; trace?: string } | undefined;
  // Runs whose history the search could not judge within its budget; the first is saved, for `judge` or a look.
  let undecided: { count: number; why: string; trace?: string } | undefined;
  let internal: string | undefined;
  let internalTrace: string | undefined;
  let stoppedBy: string | undefined;
  let declined = 0;
  let index = 0;
  let generated = 0;
  let shrinkFaults = 0;
  const details = await fc.check(
    fc.asyncProperty(parallelRunsOf(scheme, options.branches), async (run) => {
      // fast-check's path to a run before shrinking is its position among the runs generated.
      const position = first === undefined ? generated++ : -1;
      if (internal || fault || stoppedBy) return true;
      if (options.stopped?.()) {
        stoppedBy = 'interrupted';
        return true;
      }
      const shrinking = first !== undefined;
      try {
        // A race need not show every time: a candidate while shrinking, or the one run --path names, gets several attempts.
        let judged = true;
        for (let attempt = 0; attempt < (shrinking || options.path ? SHRINK_ATTEMPTS : 1); attempt++) {
          const result = await make(run);
          if (!result) {
            declined++;
            return true;
          }
          if (!shrinking && attempt === 0) {
            campaign.runs++;
            campaign.steps += commandCount(result.history);
            options.onProgress?.(++index, options.runs);
          }
          const failure = failureOf(result);
          if (failure) {
            // Saved the moment it is found, before shrinking can fail.
            if (!first) first = { result, failure, trace: keep(found(result, failure, options.path ?? String(position))) };
            last = { result, failure };
            return false;
          }
          if (!shrinking && judged && result.verdict.ok === null) {
            judged = false;
            // No verdict, so not a pass; the campaign goes on, as a later run may still fail.
            undecided ??= { count: 0, why: result.verdict.why, trace: keep(found(result, { property: 'undecided', index: 0, message: result.verdict.why }, String(position))) };
            undecided.count++;
          }
          if (result.fault) {
            // While shrinking, a racy subject may crash on a candidate instead: it does not count, up to a point.
            if (shrinking && ++shrinkFaults > SHRINK_FAULTS) stoppedBy = `the subject faulted ${shrinkFaults} times while shrinking (last: ${result.fault.fault}: ${result.fault.message})`;
            else if (!shrinking) fault = { failure: result.fault, trace: keep(found(result, result.fault)) };
            return true;
          }
        }
      } catch (e) {
        internal = e instanceof InputError ? `${e.message}` : String((e as Error).stack ?? e);
        // Kept, so an oracle error can be looked into and judged again: its history, as the oracle saw it.
        if (e instanceof CheckerError) internalTrace = keep(traceOfHistory(scheme.name, run.config, e.history, { property: 'internal-error', seed, ...(position >= 0 ? { path: String(position) } : {}), message: e.message.split('\n')[0] }));
      }
      return true;
    }),
    { seed, numRuns: options.path ? 1 : options.runs, ...(options.path ? { path: options.path } : {}), endOnFailure: false },
  );

  if (first && last) {
    const path = details.counterexamplePath ?? options.path;
    const trace = keep(found(last.result, last.failure, path ?? undefined)) ?? first.trace;
    const replay = trace ? `npx steerspec replay ${trace}${subject.describe ? ` ${subject.describe}` : ''}` : undefined;
    return finish({
      status: 'failed',
      failure: last.failure,
      length: commandCount(last.result.history),
      ...(path ? { path } : {}),
      ...(trace ? { trace } : {}),
      ...(replay ? { replay } : {}),
      ...(first.trace && first.trace !== trace ? { unshrunk: first.trace } : {}),
      ...(stoppedBy ? { reason: `shrinking stopped: ${stoppedBy}` } : {}),
    });
  }
  if (internal) return finish({ status: 'error', reason: `the oracle failed${internalTrace ? ` (history saved: ${internalTrace})` : ''}: ${internal}`, ...(internalTrace ? { trace: internalTrace } : {}) });
  if (campaign.unsaved.length) return finish({ status: 'error', reason: `cannot save a trace in ${traceDir}: ${campaign.unsaved[0].error}` });
  if (fault) {
    const { failure, trace } = fault;
    const at = failure.index < 0 ? 'init' : `step ${failure.index}`;
    return finish({ status: 'fault', reason: `the subject faulted, ${failure.fault} at ${at}: ${failure.message}`, failure, length: failure.index + 1, ...(trace ? { trace } : {}) });
  }
  if (undecided) {
    const { count, why, trace } = undecided;
    return finish({ status: 'undecided', reason: `${count} of ${campaign.runs} runs cannot be judged; the first (${trace ?? 'NOT SAVED'}): ${why}`, ...(trace ? { trace } : {}) });
  }
  if (campaign.steps === 0) return finish({ status: 'skipped', reason: declined > 0 ? `evaluated on no step: the subject declined ${declined} generated configs` : 'evaluated on no step' });
  return finish({ status: 'passed' });
}

/** The subject's capabilities, from an instance of the default config or else of the first generated one it takes. */
async function probe(scheme: AnyScheme, subject: Subject, branches: number, seed: number): Promise<Capabilities> {
  const candidates = [scheme.config.parse({}), ...fc.sample(parallelRunsOf(scheme, branches), { seed, numRuns: 20 }).map((r) => r.config)];
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

/** Replays a saved concurrent history's commands on a subject, in parallel again: a new history, checked. */
export async function replayHistory(trace: LoadedParallelTrace, subject: Subject): Promise<ParallelResult> {
  const instance = await subject.start(trace.scheme, trace.config);
  if (!instance.capabilities.concurrent) {
    throw new Unsupported('unsupported-config', 'the subject does not declare "concurrent": true, so a parallel history cannot be replayed on it');
  }
  const strip = (cmds: unknown[]) => (instance.capabilities.hash ? cmds : cmds.map(withoutHash));
  const run = { config: trace.config, prefix: strip(trace.history.prefix.map((s) => s.cmd)), branches: trace.history.branches.map((b) => strip(b.map((op) => op.cmd))) };
  return runParallel(trace.scheme, trace.config, run, instance);
}

/** Judges a saved concurrent history again, as it was observed, running nothing. */
export function judgeHistory(trace: LoadedParallelTrace): ParallelResult {
  return { history: trace.history, verdict: linearize(trace.scheme.model, trace.config, trace.history) };
}

/** The commands of a history in invocation order, with what each answered: how replay and judge list its steps. */
export function stepsOf(history: History): { cmd: unknown; outcome?: unknown }[] {
  const byId = new Map(history.branches.flat().map((op) => [op.id, op]));
  const calls = history.events.flatMap((e) => ('call' in e ? [byId.get(e.call)!] : []));
  return [...history.prefix, ...calls].map(({ cmd, outcome }) => (outcome === undefined ? { cmd } : { cmd, outcome }));
}

// ---- interleavings of async JavaScript, under fast-check's scheduler ----

/**
 * An async implementation: `pause()` marks a point where another branch may run (an await on I/O,
 * a lock, a message). Outside the branches `pause()` resolves at once.
 */
export type AsyncImplementation = (config: any, pause: () => Promise<void>) => Implementation;

export interface InterleavingResult {
  failed: boolean;
  runs: number;
  /** Runs whose history could not be judged within the search's budget (present only when some were): not passes. */
  undecided?: number;
  /** The shrunk counterexample: its history (the interleaving the scheduler took is its event order) and the failure. */
  counterexample?: { config: unknown; history: History; failure: Failure; length: number; path?: string };
}

/** Explores the interleavings of `make`'s async steps over generated parallel runs; the first failure is shrunk. */
export async function exploreInterleavings(options: { scheme: AnyScheme; make: AsyncImplementation; branches: number; runs: number; seed: number; budget?: number }): Promise<InterleavingResult> {
  const { scheme, make } = options;
  let runs = 0;
  let undecided = 0;
  let last: InterleavingResult['counterexample'];
  const details = await fc.check(
    fc.asyncProperty(parallelRunsOf(scheme, options.branches), fc.scheduler(), async (run, s) => {
      runs++;
      let inBranches = false;
      const impl = make(run.config, () => (inBranches ? s.schedule(Promise.resolve(), 'pause') : Promise.resolve()));
      const instance = checked(scheme, { apply: (cmd) => impl.apply(cmd), applyAt: async (cmd) => impl.apply(cmd) }, { hash: true, snapshot: false, concurrent: true });
      const result = await runParallel(scheme, run.config, run, instance, async (all) => {
        inBranches = true;
        return s.waitFor(all);
      }, options.budget);
      const failure = failureOf(result) ?? result.fault;
      if (!failure && result.verdict.ok === null) undecided++;
      if (!failure) return true;
      last = { config: run.config, history: result.history, failure, length: commandCount(result.history) };
      return false;
    }),
    { seed: options.seed, numRuns: options.runs, endOnFailure: false },
  );
  const unjudged = undecided > 0 ? { undecided } : {};
  if (!details.failed || !last) return { failed: false, runs, ...unjudged };
  return { failed: true, runs, ...unjudged, counterexample: { ...last, ...(details.counterexamplePath ? { path: details.counterexamplePath } : {}) } };
}

// Replaying and judging recorded runs. `replay` runs a trace's commands on a subject beside the model
// with every property the subject can be held to; each `expect` must be an outcome the model allows.
// `judge` runs nothing: the outcomes recorded in a trace's `observed` fields, or in a JSON-lines log,
// are judged against the model as if a subject had just given them.
import { AdapterFault, runSequence, type Failure, type RunResult } from '../core/runner.ts';
import { allProperties, withoutHash } from '../core/scheme.ts';
import { recordedSubject, Unsupported, type Subject } from '../core/subject.ts';
import { readHistory, readTrace, type LoadedTrace } from '../core/trace.ts';
import { isParallelTrace, parseParallelTrace, type LoadedParallelTrace } from '../core/history.ts';
import { failureOf, judgeHistory, LINEARIZABILITY, replayHistory, stepsOf, type ParallelResult } from '../core/parallel.ts';
import { readFileSync } from 'node:fs';
import { InputError, show } from '../core/vocabulary.ts';
import { schemes } from '../schemes.ts';
import type { FileStatus } from './report.ts';

export interface Replayed extends RunResult {
  trace: LoadedTrace;
  /** Properties left out because the subject lacks a capability they need. */
  skipped: string[];
  /** Why a concurrent history could not be judged (the search ran out of budget): no verdict. */
  undecided?: string;
}

/** Throws InputError for a bad file, Unsupported when the subject declines; faults come back in `fault`. */
export async function replayFile(file: string, subject: Subject): Promise<Replayed> {
  const parallel = parallelTraceIn(file);
  if (parallel) return replayedOf(parallel, await replayHistory(parallel, subject));
  return runTrace(readTrace(file, schemes), subject);
}

/** Judges a trace's `observed` outcomes, or a `.jsonl` log, without running anything. */
export async function judgeFile(file: string): Promise<Replayed> {
  const parallel = parallelTraceIn(file);
  if (parallel) return replayedOf(parallel, judgeHistory(parallel));
  const history = readHistory(file, schemes);
  const recorded = history.observed.findIndex((o) => o === undefined);
  const length = recorded < 0 ? history.commands.length : recorded;
  if (length === 0) throw new InputError(`${file}: steps[0].observed`, 'the history has no observed outcome to judge');
  const judged = { ...history, commands: history.commands.slice(0, length), expects: history.expects.slice(0, length) };
  return runTrace(judged, recordedSubject(judged.commands, history.observed));
}

/** A steerspec-trace/2 file, read; undefined for any other file (read as before). */
function parallelTraceIn(file: string): LoadedParallelTrace | undefined {
  if (file.endsWith('.jsonl')) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined; // readTrace reports it
  }
  return isParallelTrace(text) ? parseParallelTrace(text, file, schemes) : undefined;
}

/** A concurrent history's verdict in the shape replay and judge report: its commands in invocation order. */
function replayedOf(trace: LoadedParallelTrace, result: ParallelResult): Replayed {
  const steps = stepsOf(result.history);
  const failure = failureOf(result);
  const loaded: LoadedTrace = { file: trace.file, scheme: trace.scheme, config: trace.config, commands: steps.map((s) => s.cmd), expects: steps.map(() => undefined), observed: steps.map((s) => s.outcome) };
  const undecided = result.verdict.ok === null ? { undecided: result.verdict.why } : {};
  return { steps, failures: failure ? [failure] : [], ...(result.fault ? { fault: result.fault } : {}), evaluated: { [LINEARIZABILITY.name]: 1 }, readings: [], trace: loaded, skipped: [], ...undecided };
}

async function runTrace(trace: LoadedTrace, subject: Subject): Promise<Replayed> {
  const instance = await subject.start(trace.scheme, trace.config);
  const { capabilities } = instance;
  const properties = allProperties(trace.scheme).filter((p) => (p.needs ?? []).every((need) => capabilities[need]));
  const skipped = allProperties(trace.scheme)
    .filter((p) => !properties.includes(p))
    .map((p) => p.name);
  let result: RunResult;
  try {
    result = await runSequence({
      scheme: trace.scheme,
      config: trace.config,
      commands: capabilities.hash ? trace.commands : trace.commands.map(withoutHash),
      expects: trace.expects,
      implementation: instance,
      properties,
    });
  } catch (e) {
    throw e instanceof InputError ? new InputError(`${trace.file}: ${e.where}`, e.problem) : e;
  }
  return { ...result, trace, skipped };
}

export interface FileResult {
  file: string;
  status: FileStatus;
  steps?: number;
  /** The first failure (or the fault), with its step and message. */
  property?: string;
  step?: number;
  message?: string;
  /** Every property that failed, when more than one did. */
  failures?: Failure[];
  command?: unknown;
  outcome?: unknown;
  skipped?: string[];
}

/** One file's verdict; a bad file or a declining subject is a verdict too, never an exception. */
export async function verdictOf(file: string, run: () => Promise<Replayed>): Promise<FileResult> {
  let replayed: Replayed;
  try {
    replayed = await run();
  } catch (e) {
    if (e instanceof InputError) return { file, status: 'malformed', message: e.message };
    if (e instanceof Unsupported) return { file, status: 'skipped', message: `${e.kind}: ${e.message}` };
    if (e instanceof AdapterFault) return { file, status: 'fault', property: e.kind, step: -1, message: e.message };
    return { file, status: 'error', message: `the oracle failed: ${(e as Error).stack ?? e}` };
  }
  const first = replayed.failures[0] ?? replayed.fault;
  const base = { file, steps: replayed.trace.commands.length, ...(replayed.skipped.length ? { skipped: replayed.skipped } : {}) };
  if (!first && replayed.undecided) return { ...base, status: 'undecided', message: replayed.undecided };
  if (!first) return { ...base, status: 'conforms' };
  const step = replayed.steps[first.index];
  return {
    ...base,
    status: replayed.failures.length > 0 ? 'failed' : 'fault',
    property: first.property,
    step: first.index,
    message: first.message,
    ...(replayed.failures.length > 1 ? { failures: replayed.failures } : {}),
    command: step?.cmd,
    ...(step && 'outcome' in step ? { outcome: step.outcome } : {}),
  };
}

export function describeFile(r: FileResult): string {
  if (r.status === 'malformed' || r.status === 'error' || r.status === 'skipped' || r.status === 'undecided') return `${r.status.toUpperCase()} ${r.message?.startsWith(r.file) ? '' : `${r.file}: `}${r.message}`;
  const where = r.step === -1 ? 'init' : `step ${r.step}`;
  const lines = [`${r.status === 'fault' ? 'FAULT' : 'FAILED'} ${r.file}: ${r.property} at ${where}`];
  if (r.step !== -1) lines.push(`  command: ${show(r.command)}`);
  if (r.outcome !== undefined) lines.push(`  outcome: ${show(r.outcome)}`);
  lines.push(`  ${r.message}`);
  for (const f of r.failures?.slice(1) ?? []) lines.push(`  also ${f.property} at step ${f.index}: ${f.message}`);
  return lines.join('\n');
}

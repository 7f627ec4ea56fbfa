// Runs one command sequence on an implementation beside the model and checks every selected property
// on every step. The model side is a state set (core/relation.ts): conformance holds while the set is
// not empty, whatever was selected. Properties are checked on the implementation's snapshot when it has
// one (except in a long run: see LONG_RUN), else on the model's states: a state property on every member
// of the set, a history property (one with memory) once per reading. On snapshots the set follows one
// reading until it cannot explain the run (see `waiting`). Each property counts the steps it was really
// evaluated on.
import { allowedOutcomes, follow, initialStates, judge, observe, type Branch } from './relation.ts';
import { conformance, isStateProperty, snapshotMatchesModel, withInputs, type AnyScheme, type Implementation, type Property, type Transition } from './scheme.ts';
import { InputError, isThenable, sameValue, show, sizeOf } from './vocabulary.ts';

/** The implementation broke the protocol, hung, or died: the verdict is unknown. */
export class AdapterFault extends Error {
  constructor(
    readonly kind: 'protocol-error' | 'timeout' | 'crashed',
    message: string,
  ) {
    super(message);
    this.name = 'AdapterFault';
  }
}

export interface Failure {
  /** The property violated, `expect` for a trace whose expectation the model rejects, or the fault kind. */
  property: string;
  /** The step (0-based); -1 for a fault at init. */
  index: number;
  message: string;
  fault?: AdapterFault['kind'];
}

export interface RunResult {
  /** The steps that ran, with the implementation's outcomes (the faulting command last, without one). */
  steps: { cmd: unknown; outcome?: unknown }[];
  /** The first violation of each property that failed, in the order found. */
  failures: Failure[];
  /** The fault that ended the run: from there on the verdict is unknown. */
  fault?: Failure;
  /** Per selected property, how many steps it was evaluated on. */
  evaluated: Record<string, number>;
  /**
   * Readings that explain the whole run (empty when it left the relation): every one with `allReadings`;
   * without it, a run checked on a subject's snapshots lists only the readings it was followed under.
   */
  readings: Record<string, unknown>[];
}

export interface RunInput {
  scheme: AnyScheme;
  config: unknown;
  commands: unknown[];
  implementation: Implementation;
  /** The properties to check besides conformance, which is always checked. */
  properties: Property[];
  /** Per step, an outcome a trace expects; it must be one the model allows. */
  expects?: (unknown | undefined)[];
  /**
   * Told of every step the subject answered: its command, its outcome and a model state after it (before
   * it, for an outcome the model rejects). A state after, not before: on snapshots the model is stepped in
   * place and keeps no state before a step.
   */
  onStep?: (cmd: unknown, outcome: unknown, state: unknown) => void;
  /** Follow every reading to the end, so that `readings` lists all that explain the run. */
  allReadings?: boolean;
}

type Check = (t: Transition<unknown, unknown, unknown, unknown>) => string | null;
const ONLY_MOVE = [true];

/**
 * A run longer than this (a long recorded trace; generated runs are far shorter) is checked so that a
 * step costs what it touches: its properties are evaluated on the model's states, as for a subject
 * without a snapshot, and the snapshot, whose cost grows with the state, is compared with the model
 * only every ⌈values / SNAPSHOT_SPACING⌉ steps (and at the last), so the comparisons together cost
 * about SNAPSHOT_SPACING values a step.
 */
export const LONG_RUN = 1_000;
export const SNAPSHOT_SPACING = 64;

export async function runSequence(input: RunInput): Promise<RunResult> {
  const { scheme, config, commands, implementation } = input;
  const model = scheme.model;
  const watched = input.properties.filter((p) => p !== conformance && p !== snapshotMatchesModel);
  const matchSnapshot = input.properties.includes(snapshotMatchesModel) && implementation.snapshot !== undefined;
  const long = commands.length > LONG_RUN;
  // Properties see the implementation's own state when it shows one, except in a long run.
  const onSnapshots = implementation.snapshot !== undefined && !long;
  // Then no one reads a model state before a step, and the model is stepped plainly.
  const needsBefore = !onSnapshots;
  type Step = { before?: unknown; after: Branch<unknown> };
  const advance = (from: Branch<unknown>[], cmd: unknown, outcome: unknown): Step[] =>
    needsBefore ? observe(model, from, cmd, outcome) : follow(model, from, cmd, outcome).map((after) => ({ after }));
  let nextComparison = 0;
  let matchedOrigin = -1;
  const result: RunResult = { steps: [], failures: [], evaluated: Object.fromEntries(input.properties.map((p) => [p.name, 0])), readings: [] };
  result.evaluated[conformance.name] = 0;
  const failed = new Set<string>();
  const fail = (property: string, index: number, message: string) => {
    if (failed.has(property)) return;
    failed.add(property);
    result.failures.push({ property, index, message });
  };

  // A history property keeps its memory per reading (branch origin); a state property needs none.
  const stateful = watched.map((p) => !isStateProperty(p));
  const monitors = new Map<number, Check[]>();
  const monitorsOf = (origin: number): Check[] => {
    let checks = monitors.get(origin);
    if (!checks) monitors.set(origin, (checks = watched.map((p) => p.monitor(config))));
    return checks;
  };
  const evaluate = (index: number, cmd: unknown, outcome: unknown, moves: Step[]) => {
    const transitions = moves.map((m) => ({ config, index, before: m.before, cmd, outcome, after: m.after.state }));
    // A history property sees one move per origin: the first.
    const firstOfOrigin = moves.length === 1 ? ONLY_MOVE : moves.map((m, i) => moves.findIndex((n) => n.after.origin === m.after.origin) === i);
    for (let k = 0; k < watched.length; k++) {
      const p = watched[k];
      if (failed.has(p.name)) continue;
      for (let i = 0; i < moves.length; i++) {
        if (stateful[k] && !firstOfOrigin[i]) continue;
        const message = monitorsOf(moves[i].after.origin)[k](transitions[i]);
        if (message !== null) {
          fail(p.name, index, message);
          break;
        }
      }
      result.evaluated[p.name]++;
    }
  };

  let set: Branch<unknown>[] = initialStates(model, config);
  // On a subject's snapshots the properties see the subject's state, not the set's: the set need only
  // hold the reading the subject follows. The others wait (their start states and the steps since) and
  // are followed up to now only when the readings followed cannot explain a step or a snapshot, so the
  // verdicts are the same and a step costs the model's step under one reading, not under each.
  let waiting: Branch<unknown>[] = [];
  const since: { cmd: unknown; outcome: unknown }[] = [];
  if (onSnapshots && set.length > 1) [set, waiting] = [set.slice(0, 1), set.slice(1)];
  /** The waiting readings, followed through every step so far: they join the set. */
  const wake = (): Branch<unknown>[] => {
    let woken = waiting;
    waiting = [];
    for (const step of since) woken = follow(model, woken, step.cmd, step.outcome);
    since.length = 0;
    set = [...set, ...woken];
    return woken;
  };
  // A trace's expectations are judged along their own history, which may take other allowed
  // outcomes than the implementation does; steps without `expect` follow the implementation.
  let expectSet: Branch<unknown>[] | undefined = input.expects?.some((e) => e !== undefined) ? initialStates(model, config) : undefined;
  let lostAt = -1;
  try {
    // An answer given at once is not awaited: an await costs a turn of the event loop, at every step.
    const first = onSnapshots ? implementation.snapshot!() : undefined;
    let snapshot = isThenable(first) ? await first : first;
    for (let index = 0; index < commands.length; index++) {
      const expected = input.expects?.[index];
      result.steps.push({ cmd: commands[index] });
      if (expected !== undefined && expectSet === undefined) {
        fail('expect', index, `expect ${show(expected)} cannot be judged: at step ${lostAt} the subject's outcome left the history the trace's expectations follow`);
        return result;
      }
      if (expected !== undefined && expectSet !== undefined) {
        const verdict = judge(model, expectSet, commands[index], expected);
        if (!verdict.allowed) {
          fail('expect', index, `expect ${show(expected)} is not allowed: ${verdict.why}${allowedNote(verdict.examples)}`);
          return result;
        }
        expectSet = verdict.next;
      }
      let outcome: unknown;
      let cmd = commands[index];
      try {
        const reply = implementation.apply(cmd);
        ({ cmd, outcome } = withInputs(cmd, isThenable(reply) ? await reply : reply));
      } catch (e) {
        // A subject that fails on a command the model finds malformed (in a way the schema cannot
        // see, e.g. an address of the wrong family) was given a bad trace: that is the trace's error.
        if (e instanceof AdapterFault) allowedOutcomes(model, set, commands[index], 1);
        throw e;
      }
      let moves = advance(set, cmd, outcome);
      if (moves.length === 0 && waiting.length > 0) moves = advance(wake(), cmd, outcome);
      if (moves.length === 0 && implementation.validate) {
        // Only a reply the model does not allow as it came can be outside the vocabulary (or need its defaults).
        const parsed = implementation.validate(cmd, outcome);
        if (!sameValue(parsed, outcome)) moves = advance(set, cmd, (outcome = parsed));
      }
      // Judged, reported and saved as the command with the inputs the subject observed (see withInputs).
      result.steps[index] = { cmd, outcome };
      result.evaluated[conformance.name]++;
      // The outcome is one of the vocabulary's by now; a rejected step left the set as it was before it.
      input.onStep?.(cmd, outcome, moves[0]?.after.state ?? set[0]?.state);
      if (expected === undefined && expectSet !== undefined) {
        const along = follow(model, expectSet, cmd, outcome);
        expectSet = along.length > 0 ? along : undefined;
        if (expectSet === undefined) lostAt = index;
      }

      if (moves.length === 0) {
        const verdict = judge(model, set, cmd, outcome);
        fail(conformance.name, index, `outcome ${show(outcome)} is not allowed: ${verdict.allowed ? '' : verdict.why}${verdict.allowed ? '' : allowedNote(verdict.examples)}`);
      }
      const compare = (after: unknown) => {
        result.evaluated[snapshotMatchesModel.name]++;
        const matches = (m: Step) => sameValue(after, m.after.state) && ((matchedOrigin = m.after.origin), true);
        // The reading the subject follows matched last time: its branch is compared first.
        const anyMatches = (candidates: Step[]) => {
          const first = candidates.findIndex((m) => m.after.origin === matchedOrigin);
          return (first >= 0 && matches(candidates[first])) || candidates.some((m, i) => i !== first && matches(m));
        };
        if (anyMatches(moves)) return;
        if (waiting.length > 0) {
          const woken = advance(wake(), cmd, outcome);
          moves = [...moves, ...woken];
          if (anyMatches(woken)) return;
        }
        fail(snapshotMatchesModel.name, index, `snapshot ${show(after, 400)} differs from the model's ${show(moves[0].after.state, 400)}`);
      };
      if (onSnapshots) {
        const taken = implementation.snapshot!();
        const after = isThenable(taken) ? await taken : taken;
        evaluate(index, cmd, outcome, [{ before: snapshot, after: { state: after, readings: {}, origin: 0 } }]);
        if (matchSnapshot && moves.length > 0) compare(after);
        snapshot = after;
      } else if (moves.length > 0) {
        evaluate(index, cmd, outcome, moves);
        if (matchSnapshot && (index >= nextComparison || index === commands.length - 1)) {
          const taken = implementation.snapshot!();
        const after = isThenable(taken) ? await taken : taken;
          compare(after);
          nextComparison = index + Math.max(1, Math.ceil(sizeOf(after) / SNAPSHOT_SPACING));
        }
      }
      if (moves.length === 0) return result;
      set = moves.map((m) => m.after);
      if (waiting.length > 0) since.push({ cmd, outcome });
    }
    if (input.allReadings && waiting.length > 0) wake();
  } catch (e) {
    // The model found the command malformed in a way the schema cannot see (e.g. an address of the wrong family).
    if (e instanceof InputError) throw new InputError(`steps[${result.steps.length - 1}].cmd${e.where ? ` (${e.where})` : ''}`, e.problem);
    if (!(e instanceof AdapterFault)) throw e;
    const index = result.steps.length - 1;
    result.fault = { property: e.kind, index, message: e.message, fault: e.kind };
    return result;
  }
  result.readings = [...new Map(set.map((b) => [b.origin, b.readings])).values()];
  return result;
}

function allowedNote(examples: unknown[]): string {
  return examples.length === 0 ? '' : `; allowed: ${examples.map((e) => show(e)).join(' or ')}`;
}

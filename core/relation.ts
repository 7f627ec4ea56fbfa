// A model is a relation between (state, command) and the outcomes the spec allows.
// Each scheme writes it once: `init` takes every *reading* (an interpretation an implementation picks
// once, for a whole run) through `read`, and `step` takes every *freedom* (a choice that may differ at
// every step) through `choose`. This file derives from those two functions what the oracle follows:
// the set of model states consistent with everything observed so far, as Knossos and Porcupine do.
// After each observed outcome the next set is every state reachable by a choice sequence producing
// exactly that outcome; the outcome is allowed iff that set is not empty. A history that needs two
// readings empties the set, because a reading is chosen once, in `init`, and lives in the state.
import { Journal, raw } from './journal.ts';
import { canonical, sameValue, show } from './vocabulary.ts';

/**
 * A freedom the spec leaves open at this step. `readBack` may say where an outcome reveals which
 * option was taken (e.g. `o => o.listener`): a pruning hint that lets an observed outcome steer the
 * model in one pass. It can never cause a rejection: when it names no single option, every option is tried.
 */
export type Choose<Out> = <T>(freedom: string, options: readonly T[], readBack?: (outcome: Out) => T | undefined) => T;

/** A reading the spec leaves open, fixed for a whole run. */
export type Read = <T>(reading: string, options: readonly T[]) => T;

export interface Model<Config, State, Cmd, Out> {
  /** The state before any command; every reading is taken here, through `read`, and kept in the state. */
  init(config: Config, read: Read): State;
  /**
   * Performs `cmd` on `state`, which it may mutate, and returns the outcome. It must not keep an object
   * of `cmd` in the state (copy what it keeps): two members of the set would share it, and a replayed
   * log (see `follow`) would see it changed.
   */
  step(state: State, cmd: Cmd, choose: Choose<Out>): Out;
}

/** One member of the state set, and the readings it was started under. */
export interface Branch<S> {
  state: S;
  readings: Readonly<Record<string, unknown>>;
  /** Which combination of readings (0..): branches of one origin share a history property's memory. */
  origin: number;
}

/** A move of one branch: the state before (valid until the next step) and the branch after. */
export interface Move<S> {
  before: S;
  after: Branch<S>;
}

class ModelBug extends Error {}

/**
 * What puts back a state that was stepped without a journal: a copy of it as it was some steps ago and
 * the steps since, each with the options it took (a model step is a function of the state, the command
 * and those options, so replaying them on a copy of the checkpoint gives the state back).
 */
interface Replay {
  checkpoint: unknown;
  log: { cmd: unknown; taken: number[] }[];
}
const replays = new WeakMap<object, Replay>();
// One journal per live state, kept across steps, so the proxies of its objects are made once.
const journals = new WeakMap<object, Journal>();
function journalOf(root: object): Journal {
  // A journaled walk may step the state in place, or undo a delete (which moves the key last): a log of
  // plain steps would no longer describe it.
  replays.delete(root);
  let journal = journals.get(root);
  if (!journal) journals.set(root, (journal = new Journal()));
  journal.settle();
  return journal;
}

/** Every start state: one per combination of readings. */
export function initialStates<C, S>(model: Model<C, S, any, any>, config: C): Branch<S>[] {
  const branches: Branch<S>[] = [];
  forEachPath((choose) => {
    const readings: Record<string, unknown> = {};
    const state = model.init(config, (reading, options) => (readings[reading] = choose(reading, options)));
    branches.push({ state, readings, origin: branches.length });
    return 'missed';
  });
  return branches;
}

/** One start state, with each reading taken by `pick` (default: the first option). */
export function initialState<C, S>(model: Model<C, S, any, any>, config: C, pick: (count: number) => number = () => 0): S {
  return model.init(config, (_reading, options) => options[pick(options.length)]);
}

/**
 * How many paths a hint's alternatives may add to one walk. A readBack reveals the option taken, so an
 * alternative it rules out cannot give the outcome; they are tried anyway, in case a readBack is wrong,
 * but not without bound: a rejected outcome with a dozen re-steered connections would cost n^12 paths.
 * Beyond the budget the hint is trusted, and `judge accepts exactly what allowedOutcomes lists` (a test
 * of every scheme, by full enumeration) is what shows each readBack is right.
 */
export const DEFERRED_BUDGET = 64;

/** The options a hint passed over at one choice: tried lazily, one at a time. */
interface Deferred {
  taken: number[];
  next: number;
  count: number;
  skip: number;
}

/**
 * Runs `attempt` once for every path through the choices it makes, depth first: each call to `choose`
 * past the current prefix takes option 0 and queues the others, or takes the option `hint` names and
 * defers the others, which are tried (up to DEFERRED_BUDGET) only if no path is `found`. `more(matched)`
 * tells an attempt whether another path will follow it. `attempt` returns 'stop' to end the walk early.
 */
type Chooser = <T>(what: string, options: readonly T[], hint?: () => T | undefined) => T;
function forEachPath(attempt: (choose: Chooser, more: (matched: boolean) => boolean) => 'stop' | 'found' | 'missed'): void {
  const pending: number[][] = [[]];
  const deferred: Deferred[] = [];
  let budget = DEFERRED_BUDGET;
  let anyFound = false;
  const canDefer = () => !anyFound && budget > 0 && deferred.length > 0;
  const more = (matched: boolean) => pending.length > 0 || (!matched && canDefer());
  const nextDeferred = (): number[] => {
    const frame = deferred[deferred.length - 1];
    const k = frame.next === frame.skip ? frame.next + 1 : frame.next;
    frame.next = k + 1;
    if (frame.next === frame.skip) frame.next++;
    if (frame.next >= frame.count) deferred.pop();
    budget--;
    return [...frame.taken, k];
  };
  while (pending.length > 0 || canDefer()) {
    const prefix = pending.length > 0 ? pending.pop()! : nextDeferred();
    const taken: number[] = [];
    const choose: Chooser = (what, options, hint) => {
      if (options.length === 0) throw new ModelBug(`model bug: no option for ${what}`);
      const depth = taken.length;
      let index: number;
      if (depth < prefix.length) index = prefix[depth];
      else {
        // Searched on the plain array: options taken from a draft (a CPU's table) would cost a trap per element.
        index = hintedIndex(raw(options), hint?.());
        if (index >= 0 && options.length > 1) deferred.push({ taken: [...taken], next: index === 0 ? 1 : 0, count: options.length, skip: index });
        if (index < 0) {
          for (let k = options.length - 1; k >= 1; k--) pending.push([...taken, k]);
          index = 0;
        }
      }
      taken.push(index);
      return options[index];
    };
    const result = attempt(choose, more);
    if (result === 'stop') return;
    if (result === 'found') anyFound = true;
  }
}

/**
 * What a readBack reads from an observed outcome. The outcome may not be one of the vocabulary's yet (it is
 * checked only if no state allows it), so a readBack that trips over its shape gives no hint.
 */
function hintFrom<Out, T>(readBack: (outcome: Out) => T | undefined, outcome: Out): T | undefined {
  try {
    return readBack(outcome);
  } catch {
    return undefined;
  }
}

/** The one option equal to `wanted`, or -1 when it names none or several. */
function hintedIndex<T>(options: readonly T[], wanted: T | undefined): number {
  if (wanted === undefined) return -1;
  let found = -1;
  for (let i = 0; i < options.length; i++) {
    const equal = typeof wanted === 'object' ? sameValue(options[i], wanted) : options[i] === wanted;
    if (equal) {
      if (found >= 0) return -1;
      found = i;
    }
  }
  return found;
}

/** A plain copy of an outcome the model returned (it may hold views of the state). */
const detach = <T>(outcome: T): T => (outcome === undefined ? outcome : JSON.parse(JSON.stringify(outcome)));

/**
 * Follows `cmd` with the observed `outcome` from every branch of `set`: the moves that produce exactly
 * that outcome. The states of `set` are advanced in place (a branch with one way forward is never copied);
 * a branch with several ways forward is copied once per way. Empty iff the outcome is not allowed.
 */
export function observe<C, S, Cmd, Out>(model: Model<C, S, Cmd, Out>, set: readonly Branch<S>[], cmd: Cmd, outcome: Out): Move<S>[] {
  const moves: Move<S>[] = [];
  for (const branch of set) {
    const root = raw(branch.state) as S & object;
    let original: S | undefined;
    const found: S[] = [];
    const journal = journalOf(root);
    forEachPath((choose, more) => {
      let produced: Out;
      try {
        produced = model.step(journal.draft(root), cmd, (what, options, readBack) => choose(what, options, readBack && (() => hintFrom(readBack, outcome))));
      } catch (e) {
        journal.undo();
        throw e;
      }
      const match = sameValue(produced, outcome);
      if (match && !more(true) && original === undefined) {
        // The only way forward: keep the state as it now is, and show its past through the journal.
        moves.push({ before: journal.before(root), after: { ...branch, state: root } });
        return 'found';
      }
      if (match) found.push(structuredClone(root));
      journal.undo();
      original ??= more(match) ? structuredClone(root) : root;
      return match ? 'found' : 'missed';
    });
    const distinct = found.length > 1 ? [...new Map(found.map((s) => [canonical(s), s])).values()] : found;
    for (const state of distinct) moves.push({ before: original!, after: { ...branch, state } });
  }
  return dedupe(moves, (m) => m.after);
}

/** True iff no two items have one origin: the usual set, one branch per reading (checked without allocating). */
function distinctOrigins<T>(items: T[], branchOf: (item: T) => Branch<unknown>): boolean {
  for (let i = 1; i < items.length; i++) for (let j = 0; j < i; j++) if (branchOf(items[i]).origin === branchOf(items[j]).origin) return false;
  return true;
}

/** Branches of one origin that reached the same state are one member of the set. */
function dedupe<T>(items: T[], branchOf: (item: T) => Branch<unknown>): T[] {
  if (items.length < 2 || (items.length <= 8 && distinctOrigins(items, branchOf))) return items;
  const perOrigin = new Map<number, number>();
  for (const item of items) perOrigin.set(branchOf(item).origin, (perOrigin.get(branchOf(item).origin) ?? 0) + 1);
  if ([...perOrigin.values()].every((n) => n === 1)) return items;
  const seen = new Set<string>();
  return items.filter((item) => {
    const { origin, state } = branchOf(item);
    if (perOrigin.get(origin) === 1) return true;
    const key = `${origin}:${canonical(state)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A longer log is folded into a new checkpoint: a restore replays at most this many steps. */
const CHECKPOINT_EVERY = 64;

/** Thrown inside a plain step at a choice that has no single hinted option: that step needs the journal. */
class NeedsJournal extends Error {}
const NOTHING = Symbol('no outcome');

/** Puts `root` back as it was before the step now under way, in place, from its checkpoint and log. */
function restore<S>(model: Model<unknown, S, unknown, unknown>, root: object, replay: Replay): void {
  const copy = structuredClone(replay.checkpoint) as S & object;
  for (const { cmd, taken } of replay.log) {
    let at = 0;
    model.step(copy, cmd, (_what, options) => options[taken[at++]]);
  }
  for (const key of Object.keys(root)) delete (root as Record<string, unknown>)[key];
  Object.assign(root, copy);
  // Its proxies were of the objects just replaced.
  journals.delete(root);
}

/**
 * One branch's step on its plain state, with no journal: taken when every choice with several options
 * has one the outcome's readBack names, and the step gives exactly `outcome` (then no other way
 * forward is tried, as in `observe`). Otherwise the state is put back and undefined returned.
 */
function stepPlain<S>(model: Model<unknown, S, unknown, unknown>, branch: Branch<S>, cmd: unknown, outcome: unknown): Branch<S> | undefined {
  const root = raw(branch.state) as S & object;
  let replay = replays.get(root);
  if (!replay) replays.set(root, (replay = { checkpoint: structuredClone(root), log: [] }));
  const taken: number[] = [];
  let produced: unknown = NOTHING;
  try {
    produced = model.step(root, cmd, (_what, options, readBack) => {
      const index = options.length === 1 ? 0 : readBack ? hintedIndex(options, hintFrom(readBack, outcome)) : -1;
      if (index < 0) throw new NeedsJournal();
      taken.push(index);
      return options[index];
    });
  } catch {
    // A model error is raised again, with the state as it was, by the journaled walk that follows.
    produced = NOTHING;
  }
  if (produced !== NOTHING && sameValue(produced, outcome)) {
    replay.log.push({ cmd, taken });
    if (replay.log.length >= CHECKPOINT_EVERY) replays.set(root, { checkpoint: structuredClone(root), log: [] });
    return { ...branch, state: root };
  }
  restore(model, root, replay);
  return undefined;
}

/**
 * The next state set, as `observe` gives it but without the states before: a branch whose step takes
 * only hinted options and gives the outcome is stepped on its plain state, which costs what the model
 * itself costs (through the journal a step costs several times that); any other goes through `observe`.
 * For callers that never look at the state before a step (properties checked on a subject's snapshots).
 */
export function follow<C, S, Cmd, Out>(model: Model<C, S, Cmd, Out>, set: readonly Branch<S>[], cmd: Cmd, outcome: Out): Branch<S>[] {
  const next: Branch<S>[] = [];
  for (const branch of set) {
    const after = stepPlain(model as Model<unknown, S, unknown, unknown>, branch, cmd, outcome);
    // In the set's order, as observe keeps it (the readings reported, the state a message shows).
    if (after) next.push(after);
    else next.push(...observe(model, [branch], cmd, outcome).map((m) => m.after));
  }
  return dedupe(next, (b) => b);
}

/** The distinct allowed outcomes (up to `limit`) from any branch of `set`, by walking every combination of choices. */
export function allowedOutcomes<C, S, Cmd, Out>(model: Model<C, S, Cmd, Out>, set: S | readonly Branch<S>[], cmd: Cmd, limit = 256): Out[] {
  const states = Array.isArray(set) && (set.length === 0 || isBranch(set[0])) ? (set as Branch<S>[]).map((b) => b.state) : [set as S];
  const found = new Map<string, Out>();
  for (const state of states) {
    const root = raw(state) as S & object;
    const journal = journalOf(root);
    forEachPath((choose) => {
      try {
        const outcome = detach(model.step(journal.draft(root), cmd, (what, options) => choose(what, options)));
        found.set(canonical(outcome), outcome);
      } finally {
        journal.undo();
      }
      return found.size < limit ? 'missed' : 'stop';
    });
    if (found.size >= limit) break;
  }
  return [...found.values()];
}

function isBranch(value: unknown): value is Branch<unknown> {
  return value !== null && typeof value === 'object' && 'origin' in value && 'readings' in value && 'state' in value;
}

export type Verdict<S, Out> = { allowed: true; next: Branch<S>[] } | { allowed: false; why: string; examples: Out[] };

/** Judges one observed outcome against a state set: the next set, or why it is empty. Advances `set` in place. */
export function judge<C, S, Cmd, Out>(model: Model<C, S, Cmd, Out>, set: S | Branch<S>[], cmd: Cmd, outcome: Out): Verdict<S, Out> {
  const branches: Branch<S>[] = Array.isArray(set) && (set.length === 0 || isBranch(set[0])) ? (set as Branch<S>[]) : [{ state: set as S, readings: {}, origin: 0 }];
  const moves = observe(model, branches, cmd, outcome);
  if (moves.length > 0) return { allowed: true, next: moves.map((m) => m.after) };
  const examples = allowedOutcomes(model, branches, cmd, 4);
  const readings = branches.length > 1 ? ` under any of the ${branches.length} states the history so far allows` : '';
  return { allowed: false, why: `no choice the spec leaves open gives ${show(outcome)}${readings}`, examples };
}

/** One allowed outcome and a fresh next state, with each freedom taken by `pick`; `state` is left as it was. */
export function stepWith<C, S, Cmd, Out>(model: Model<C, S, Cmd, Out>, state: S, cmd: Cmd, pick: (count: number) => number = () => 0): { outcome: Out; next: S } {
  const next = structuredClone(raw(state));
  const outcome = model.step(next, cmd, (_what, options) => options[pick(options.length)]);
  return { outcome: detach(outcome), next };
}

/** Reports one of the applicable errors (the spec does not rank them), or undefined when none applies. */
export function oneOf<E extends string, Out>(errors: E[], choose: Choose<Out>): { ok: false; error: E } | undefined {
  if (errors.length === 0) return undefined;
  const error = choose('which error', [...new Set(errors)], (o) => {
    const outcome = o as { ok: boolean; error?: E };
    return outcome.ok ? undefined : outcome.error;
  });
  return { ok: false, error };
}

export { ModelBug };

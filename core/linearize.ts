// Linearizability of a concurrent history against a scheme's set-valued relation (core/relation.ts).
// A history is accepted iff some total order of its operations, consistent with each branch's own order
// and with real time (an operation that returned before another was called comes first), makes every
// observed outcome allowed. The search is Wing & Gong's, with Lowe's cache as Porcupine does it: depth
// first, always linearizing next an operation that is *minimal* (no operation still to linearize returned
// before it was called), backtracking when the relation rejects its outcome, and never visiting twice a
// (set of operations linearized, key of the model state set) pair.
//
// Cost. One branch has at most one request outstanding, so its operations are totally ordered in real
// time and the linearized set is always a prefix of each branch: a vector of N counts, not a bitset over
// all operations. There are at most prod(len_b + 1) such vectors (9^3 = 729 for 3 branches of 8), times
// the distinct state sets that reach each; every visit costs, per candidate, one model step per state, in
// place and undone on backtracking.
// The worst case is still exponential in the number of branches (checking linearizability is NP-complete,
// Gibbons & Korach 1997), but not in the number of commands per branch. docs/concurrency.md has the rest.
import { Journal, raw } from './journal.ts';
import { allowedOutcomes, initialStates, observe, type Branch, type Model } from './relation.ts';
import { timelineOf, type History, type Operation } from './history.ts';
import { sameValue, show } from './vocabulary.ts';

export type Linearization =
  | { ok: true; order: number[]; visited: number }
  /** The search ran out of its budget before finding an order or exhausting them: no verdict, never a pass. */
  | { ok: null; undecided: true; why: string; longest: number[]; visited: number }
  | {
      ok: false;
      /** The prefix step whose outcome no state allows (the branches were not searched). */
      prefixStep?: number;
      /** The operation marked as the one no linearization gets past, and the outcomes the spec allows there. */
      op?: number;
      allowed: unknown[];
      /** The longest order of operations found that the relation allows. */
      longest: number[];
      why: string;
      visited: number;
    };

const copy = <S>(set: readonly Branch<S>[]): Branch<S>[] => set.map((b) => ({ ...b, state: structuredClone(raw(b.state)) }));
// The memo key of a state set: its members' JSON with their origins, sorted. Plain JSON, not canonical:
// equal text is always an equal state, so the key is sound; a state written in another key order only
// misses a cache hit. A set made by `advance` carries its key, computed as it was made.
const keys = new WeakMap<readonly Branch<unknown>[], string>();
const keyOf = (set: readonly Branch<unknown>[]): string => keys.get(set) ?? set.map((b) => `${b.origin}:${JSON.stringify(raw(b.state))}`).sort().join('\n');

const OPEN = Symbol('a choice with several options');

/**
 * `observe` for the common step that leaves the model no choice, in place: each state of `set` is
 * stepped through a draft of `journal` (the search's journal for this depth), which the search undoes
 * when it backtracks, so a state is never copied. States that do not give the outcome are dropped (and
 * restored by the same undo). Undefined, with everything undone, as soon as a choice has several
 * options: then `observe` decides, on a copy.
 */
function advance<C, S, Cmd, Out>(model: Model<C, S, Cmd, Out>, set: readonly Branch<S>[], cmd: Cmd, outcome: Out, journal: Journal): Branch<S>[] | undefined {
  const next = new Map<string, Branch<S>>();
  for (const branch of set) {
    const root = raw(branch.state) as S & object;
    try {
      const produced = model.step(journal.draft(root), cmd, (_what, options) => {
        if (options.length !== 1) throw OPEN;
        return options[0];
      });
      // The text is the memo key's part; states one origin reaches twice are one member, as in `observe`.
      if (sameValue(produced, outcome)) {
        const text = `${branch.origin}:${JSON.stringify(root)}`;
        if (!next.has(text)) next.set(text, branch.state === root ? branch : { ...branch, state: root });
      }
    } catch (e) {
      journal.undo();
      if (e === OPEN) return undefined;
      throw e;
    }
  }
  const members = [...next.values()];
  keys.set(members, [...next.keys()].sort().join('\n'));
  return members;
}

/** How many outcomes of an unanswered operation are tried (it may have taken effect with any of them). */
const UNANSWERED_OUTCOMES = 16;

/**
 * How many (linearized prefixes, state set) pairs one check may visit before it gives up undecided: a
 * few seconds of CPU here. Counted in visits, not time, so the verdict is the same on every machine.
 * Histories the generators make stay far below it (docs/concurrency.md, "Cost").
 */
export const SEARCH_BUDGET = 20_000;

export function linearize<C, S, Cmd, Out>(model: Model<C, S, Cmd, Out>, config: C, history: History, budget = SEARCH_BUDGET): Linearization {
  const { callAt, retAt } = timelineOf(history);
  let set: Branch<S>[] = initialStates(model, config);
  for (let i = 0; i < history.prefix.length; i++) {
    const { cmd, outcome } = history.prefix[i];
    if (outcome === undefined) break;
    const moves = observe(model, copy(set), cmd as Cmd, outcome as Out);
    if (moves.length === 0) {
      const allowed = allowedOutcomes(model, set, cmd as Cmd, 4);
      return { ok: false, prefixStep: i, allowed, longest: [], why: `prefix step ${i}: outcome ${show(outcome)} is not allowed`, visited: 0 };
    }
    set = moves.map((m) => m.after);
  }

  const branches = history.branches;
  const total = branches.reduce((n, b) => n + b.length, 0);
  const counts = branches.map(() => 0);
  const order: number[] = [];
  const seen = new Set<string>();
  let visited = 0;
  // The deepest point reached, for the report: the order that got there, its state set, the operations tried there.
  let deepest = { order: [] as number[], set, tried: [] as Operation[] };
  // One journal per depth: what linearizing the operation at that depth wrote, undone on backtracking.
  const journals: Journal[] = [];

  const returnOf = (op: Operation) => retAt.get(op.id) ?? Infinity;
  /**
   * Operations that may come next: each branch's first not yet linearized, if nothing else still to go
   * returned before it was called. Earliest return first: a subject that works under a lock mostly
   * answers in the order it took effect, so an accepted history's order is found with few wrong turns
   * (in branch order, one wrong early guess about a queue's order cost 40 000 visits on a run of 8 branches).
   */
  const minimal = (): Operation[] => {
    const heads = branches.map((b, i) => b[counts[i]]).filter((op): op is Operation => op !== undefined);
    return heads.filter((op) => heads.every((other) => other === op || returnOf(other) > callAt.get(op.id)!)).sort((a, b) => returnOf(a) - returnOf(b) || callAt.get(a.id)! - callAt.get(b.id)!);
  };

  let exhausted = false;
  const search = (current: Branch<S>[]): boolean => {
    if (order.length === total) return true;
    const key = `${counts.join(',')}|${keyOf(current)}`;
    if (seen.has(key)) return false;
    if (visited >= budget) {
      exhausted = true;
      return false;
    }
    seen.add(key);
    visited++;
    const candidates = minimal();
    // A copy: the states are changed in place as the search goes on.
    if (order.length > deepest.order.length || deepest.tried.length === 0) deepest = { order: [...order], set: copy(current), tried: candidates };
    const journal = (journals[order.length] ??= new Journal());
    for (const op of candidates) {
      for (const next of successors(op, current, journal)) {
        counts[op.branch]++;
        order.push(op.id);
        if (search(next)) return true;
        order.pop();
        counts[op.branch]--;
        if (exhausted) break;
      }
      journal.undo();
      if (exhausted) return false;
    }
    return false;
  };

  /** The state sets after linearizing `op` here: none if its outcome is not allowed. */
  const successors = (op: Operation, current: Branch<S>[], journal: Journal): Branch<S>[][] => {
    if (op.outcome !== undefined) {
      const next = advance(model, current, op.cmd as Cmd, op.outcome as Out, journal) ?? observe(model, copy(current), op.cmd as Cmd, op.outcome as Out).map((m) => m.after);
      return next.length === 0 ? [] : [next];
    }
    // Unanswered (Knossos's :info): it took effect with some allowed outcome, or not at all.
    const taking = allowedOutcomes(model, current, op.cmd as Cmd, UNANSWERED_OUTCOMES).map((o) => observe(model, copy(current), op.cmd as Cmd, o).map((m) => m.after));
    return [...taking.filter((s) => s.length > 0), current];
  };

  if (search(set)) return { ok: true, order, visited };
  if (exhausted) {
    const why = `cannot be judged: the search for an order of the ${total} branch commands stopped after ${visited} (linearized prefixes, state set) pairs without finding one or ruling every order out (the longest allowed order found: ${deepest.order.length} commands)`;
    return { ok: null, undecided: true, why, longest: deepest.order, visited };
  }
  // The operation to blame: the earliest-called one the deepest linearization could not take.
  const stuck = [...deepest.tried].sort((a, b) => callAt.get(a.id)! - callAt.get(b.id)!)[0];
  const allowed = stuck ? allowedOutcomes(model, deepest.set, stuck.cmd as Cmd, 4) : [];
  const why = stuck
    ? `no order of the branches' commands allows every outcome: after the longest one that does (${deepest.order.map((id) => `#${id}`).join(' ') || 'the prefix alone'}), #${stuck.id} ${show(stuck.cmd)} cannot give ${show(stuck.outcome)}${deepest.tried.length > 1 ? ` and no other pending command can go next (${deepest.tried.filter((o) => o !== stuck).map((o) => `#${o.id}`).join(', ')})` : ''}`
    : 'no order of the branches’ commands allows every outcome';
  return { ok: false, op: stuck?.id, allowed, longest: deepest.order, why, visited };
}

// A model is a relation between (state, command) and the outcomes the spec allows.
// Each scheme writes it once, as a step that takes every free choice through `choose`;
// this file derives from that step the set of allowed outcomes, the membership test
// for an observed outcome, and the next state for it.
import { canonical, sameValue, show } from './vocabulary.ts';

/**
 * A choice the spec leaves open. `readBack` says where an outcome reveals which option
 * was taken (e.g. `o => o.listener`), so an observed outcome can steer the model through
 * its choices in one pass instead of a search over every combination.
 */
export type Choose<Out> = <T>(what: string, options: readonly T[], readBack: (outcome: Out) => T | undefined) => T;

export interface Model<Config, State, Cmd, Out> {
  init(config: Config): State;
  /** Performs `cmd` on `state`, which it may mutate, and returns the outcome. */
  step(state: State, cmd: Cmd, choose: Choose<Out>): Out;
}

export type Verdict<State, Out> =
  | { allowed: true; next: State }
  | { allowed: false; why: string; examples: Out[] };

class OutsideTheRelation extends Error {}

/** True iff the model allows `outcome` for `cmd` in `state`; also returns the state after it. */
export function judge<C, S, Cmd, Out>(model: Model<C, S, Cmd, Out>, state: S, cmd: Cmd, outcome: Out): Verdict<S, Out> {
  const next = structuredClone(state);
  const follow: Choose<Out> = (what, options, readBack) => {
    if (options.length === 0) throw new Error(`model bug: no option for ${what}`);
    if (options.length === 1) return options[0];
    const wanted = readBack(outcome);
    const match = options.find((o) => sameValue(o, wanted));
    if (match === undefined) throw new OutsideTheRelation(`${what} ${show(wanted)} is not one of ${show(options)}`);
    return match;
  };
  let produced: Out;
  try {
    produced = model.step(next, cmd, follow);
  } catch (e) {
    if (!(e instanceof OutsideTheRelation)) throw e;
    return { allowed: false, why: e.message, examples: allowedOutcomes(model, state, cmd, 4) };
  }
  if (sameValue(produced, outcome)) return { allowed: true, next };
  return { allowed: false, why: `the spec gives ${show(produced)}`, examples: allowedOutcomes(model, state, cmd, 4) };
}

/** The set of allowed outcomes (up to `limit` of them), by walking every combination of choices. */
export function allowedOutcomes<C, S, Cmd, Out>(model: Model<C, S, Cmd, Out>, state: S, cmd: Cmd, limit = 256): Out[] {
  const found = new Map<string, Out>();
  const pending: number[][] = [[]];
  while (pending.length > 0 && found.size < limit) {
    const prefix = pending.pop()!;
    const taken: number[] = [];
    const walk: Choose<Out> = (what, options) => {
      const depth = taken.length;
      if (depth >= prefix.length) {
        for (let k = options.length - 1; k >= 1; k--) pending.push([...taken, k]);
      }
      const index = depth < prefix.length ? prefix[depth] : 0;
      taken.push(index);
      return options[index];
    };
    const outcome = model.step(structuredClone(state), cmd, walk);
    found.set(canonical(outcome), outcome);
  }
  return [...found.values()];
}

/** One allowed outcome and its next state, with each choice made by `pick`. */
export function stepWith<C, S, Cmd, Out>(
  model: Model<C, S, Cmd, Out>,
  state: S,
  cmd: Cmd,
  pick: (count: number) => number = () => 0,
): { outcome: Out; next: S } {
  const next = structuredClone(state);
  const outcome = model.step(next, cmd, (_what, options) => options[pick(options.length)]);
  return { outcome, next };
}

/** Reports one of the applicable errors (the spec does not rank them), or undefined when none applies. */
export function oneOf<E extends string, Out>(errors: E[], choose: Choose<Out>): { ok: false; error: E } | undefined {
  if (errors.length === 0) return undefined;
  const error = choose('error', [...new Set(errors)], (o) => {
    const outcome = o as { ok: boolean; error?: E };
    return outcome.ok ? undefined : outcome.error;
  });
  return { ok: false, error };
}

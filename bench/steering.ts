// The per-scheme speed benches, generic over the scheme:
//  - implementation against model, with the same commands: the impl through `apply`, the model through
//    the oracle's state-set `observe` (in place, one state: the model under the readings this impl takes),
//    each on its own warm instance, over one recorded stream of commands and the impl's outcomes. The
//    model checks every outcome as it goes, so a stream the two disagree on stops the bench.
//  - the impl's steering decision (`route`) against the limit: a loop over flat typed arrays, built from
//    the model's warm state, that makes the same decision without any bookkeeping. Before they are timed,
//    both are run on the same packets from fresh instances and must pick the same listeners.
import { initialStates, observe, type Branch } from '../core/relation.ts';
import type { AnyScheme } from '../core/scheme.ts';
import { sameValue, show } from '../core/vocabulary.ts';
import { batchOf, callsOf, interleave, paired, spread, type Figure, type Plan, type Ratio } from './measure.ts';

/** An implementation as the benches drive it: synchronous, with a snapshot in the model's shape. */
export interface SyncImpl {
  apply(cmd: unknown): unknown;
  snapshot?(): unknown;
}

/** A warm state and a stream of commands after it. */
export interface Load {
  /** Raw config, parsed by the scheme. */
  config: unknown;
  /** Raw commands that warm the state; every one must succeed. */
  setup: unknown[];
  /** The i-th command after the setup (raw); `last` is the implementation's outcome of the one before. */
  next(i: number, last: unknown): unknown;
}

export interface Script {
  config: unknown;
  setup: unknown[];
  setupOutcomes: unknown[];
  stream: unknown[];
  outcomes: unknown[];
  /** The implementation that answered, as it is after the setup (before the stream). */
  warm: unknown;
}

const isOk = (o: unknown) => o !== null && typeof o === 'object' && (o as { ok?: unknown }).ok === true;

/** The built-in implementation of `scheme` for `config`, checked to answer synchronously. */
export function syncImpl(scheme: AnyScheme, config: unknown): SyncImpl {
  const impl = scheme.implementation(config);
  return {
    apply(cmd) {
      const out = impl.apply(cmd);
      if (out instanceof Promise) throw new Error(`${scheme.name}: the built-in implementation answered asynchronously`);
      return out;
    },
    ...(impl.snapshot ? { snapshot: () => impl.snapshot!() } : {}),
  };
}

/**
 * Runs `load` on a scratch implementation: the parsed setup and `count` stream commands, with the outcomes
 * it gave. Every outcome must be ok: a warm load whose commands fail is a broken bench, not a figure.
 */
export function script(scheme: AnyScheme, load: Load, count: number): Script {
  const config = scheme.config.parse(load.config);
  const impl = syncImpl(scheme, config);
  const parse = (raw: unknown, where: string) => {
    const parsed = scheme.command.safeParse(raw);
    if (!parsed.success) throw new Error(`${scheme.name}: bench command ${where} ${show(raw)} is malformed: ${parsed.error.message}`);
    return parsed.data;
  };
  const run = (cmd: unknown, where: string) => {
    const out = impl.apply(cmd);
    if (!isOk(out)) throw new Error(`${scheme.name}: bench command ${where} ${show(cmd)} failed on the implementation: ${show(out)}`);
    return out;
  };
  const setup = load.setup.map((c, i) => parse(c, `setup[${i}]`));
  const setupOutcomes = setup.map((c, i) => run(c, `setup[${i}]`));
  const warm = impl.snapshot?.();
  const stream: unknown[] = [];
  const outcomes: unknown[] = [];
  let last: unknown;
  for (let i = 0; i < count; i++) {
    const cmd = parse(load.next(i, last), `stream[${i}]`);
    last = run(cmd, `stream[${i}]`);
    stream.push(cmd);
    outcomes.push(last);
  }
  return { config, setup, setupOutcomes, stream, outcomes, warm };
}

/** The model state set after the setup, narrowed to the member equal to the implementation's snapshot. */
export function warmModel(scheme: AnyScheme, s: Script): Branch<unknown>[] {
  let set = initialStates(scheme.model, s.config);
  s.setup.forEach((cmd, i) => {
    const moves = observe(scheme.model, set, cmd, s.setupOutcomes[i]);
    if (moves.length === 0) throw new Error(`${scheme.name}: the model rejects setup[${i}] ${show(cmd)} → ${show(s.setupOutcomes[i])}`);
    set = moves.map((m) => m.after);
  });
  const same = s.warm === undefined ? set[0] : set.find((b) => sameValue(b.state, s.warm));
  if (!same) throw new Error(`${scheme.name}: no model state after the setup equals the implementation's snapshot`);
  return [same];
}

export interface ImplVsModel {
  /** What one command of the stream is, e.g. "connect + close on a warm 64-CPU table". */
  what: string;
  load: Load;
}

/** Commands per second of the impl's `apply` and of the model's `observe` on the same stream, and their ratio. */
export function implVsModel(scheme: AnyScheme, bench: ImplVsModel, plan: Plan, ops: number): { figures: Figure[]; ratio: Ratio } {
  const batch = batchOf(plan, ops);
  const needed = callsOf(plan) * batch;
  const s = script(scheme, bench.load, needed);
  let model = warmModel(scheme, s);
  const impl = syncImpl(scheme, s.config);
  for (const cmd of s.setup) impl.apply(cmd);

  let p = 0;
  let q = 0;
  const [implRates, modelRates] = interleave(
    [
      {
        name: 'impl apply',
        ops: batch,
        run: () => {
          if (p + batch > needed) throw new Error('the recorded stream is too short for the plan');
          for (let k = 0; k < batch; k++, p++) impl.apply(s.stream[p]);
        },
      },
      {
        name: 'model observe',
        ops: batch,
        run: () => {
          if (q + batch > needed) throw new Error('the recorded stream is too short for the plan');
          for (let k = 0; k < batch; k++, q++) {
            const moves = observe(scheme.model, model, s.stream[q], s.outcomes[q]);
            if (moves.length !== 1) {
              throw new Error(`${scheme.name}: stream[${q}] ${show(s.stream[q])} → ${show(s.outcomes[q])} leaves ${moves.length} model states, not 1`);
            }
            model = [moves[0].after];
          }
        },
      },
    ],
    plan,
  );
  return {
    figures: [
      { name: `impl apply: ${bench.what}`, unit: '/s', value: spread(implRates) },
      { name: `model observe: ${bench.what}`, unit: '/s', value: spread(modelRates) },
    ],
    ratio: { key: 'implVsModel', name: 'impl apply / model observe, same commands', value: paired(implRates, modelRates), target: { atLeast: 20 } },
  };
}

/** A loop over `n` packets that returns a sink; with `out` it also writes the chosen listener ids there. */
export type RouteLoop = (n: number, out?: Int32Array) => number;

export interface RouteVsLimit {
  /** What the packets are. */
  what: string;
  /** A fresh warm implementation's `route`, over the packet inputs. */
  route: () => RouteLoop;
  /** A fresh limit loop over the same inputs. */
  limit: () => RouteLoop;
  /** Checks that route and limit agree (default: the same listener for each of the first 4096 packets); an error message or null. */
  check?: () => string | null;
}

/** The same listeners, packet by packet, from fresh instances of both loops. */
export function sameChoices(bench: RouteVsLimit, n = 4096): string | null {
  const a = new Int32Array(n);
  const b = new Int32Array(n);
  bench.route()(n, a);
  bench.limit()(n, b);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return `packet ${i}: route chose listener ${a[i]}, the limit ${b[i]}`;
  }
  return null;
}

export function routeVsLimit(scheme: AnyScheme, bench: RouteVsLimit, plan: Plan, ops: number): { figures: Figure[]; ratio: Ratio } {
  const batch = batchOf(plan, ops);
  const wrong = (bench.check ?? (() => sameChoices(bench)))();
  if (wrong !== null) throw new Error(`${scheme.name}: the limit does not make the route's decision: ${wrong}`);
  const route = bench.route();
  const limit = bench.limit();
  let sink = 0;
  const [routeRates, limitRates] = interleave(
    [
      { name: 'route', ops: batch, run: () => void (sink += route(batch)) },
      { name: 'limit', ops: batch, run: () => void (sink += limit(batch)) },
    ],
    plan,
  );
  if (sink === 0.5) console.log(sink); // keeps the loops' results alive
  return {
    figures: [
      { name: `impl route: ${bench.what}`, unit: '/s', value: spread(routeRates) },
      { name: `limit loop: ${bench.what}`, unit: '/s', value: spread(limitRates) },
    ],
    ratio: { key: 'routeVsLimit', name: 'impl route / limit loop', value: paired(routeRates, limitRates), target: { atLeast: 0.4 } },
  };
}

/** Reads a protected typed array of an implementation (a bench maps slots to listener ids with it). */
export const field = (impl: unknown, name: string): Int32Array => (impl as Record<string, Int32Array>)[name];

// What a scheme is made of, and what an implementation under test must offer.
// Every scheme (reuserps, rss-ports, numa, ...) fills in one `Scheme`; the runner,
// the campaign, trace replay, the CLI and the adapters only ever see this shape.
import type fc from 'fast-check';
import type { z } from 'zod';
import type { Model } from './relation.ts';

/** What an implementation can do beyond answering commands. */
export interface Capabilities {
  /** It takes the `hash` of a command from the oracle (false: it computes its own, and `hash` is omitted). */
  hash: boolean;
  /** It can show its whole state, in the shape of the model's state. */
  snapshot: boolean;
  /** It takes requests of different branches at the same time (`--parallel`; see docs/concurrency.md). */
  concurrent?: boolean;
}
export type Capability = keyof Capabilities;

/** An implementation under test: the built-in `impl/`, a module, a process or a kernel. */
export interface Implementation<Cmd = unknown, Out = unknown, State = unknown> {
  apply(cmd: Cmd): Out | Promise<Out>;
  snapshot?(): State | Promise<State>;
  /**
   * The reply (without the `inputs` it may report) as an outcome of `cmd` (the command as judged, with
   * those inputs), or an AdapterFault (protocol-error) when it is none.
   * The runner calls it only for a reply the model does not allow as it came: one it allows equals a
   * model outcome, and so is one of the vocabulary's already.
   */
  validate?(cmd: Cmd, reply: unknown): Out;
}

/** One step as a property sees it: states come from the snapshot when there is one, else from the model. */
export interface Transition<Config, State, Cmd, Out> {
  config: Config;
  index: number;
  before: State;
  cmd: Cmd;
  outcome: Out;
  after: State;
}

export interface Property<Config = any, State = any, Cmd = any, Out = any> {
  name: string;
  /** One sentence: "true iff ...". */
  rule: string;
  /** Capabilities the property needs; without them it is reported as skipped, never as passed. */
  needs?: Capability[];
  /**
   * A rule narrower than the model: the spec allows more (e.g. either queue on accept) but an
   * implementation must still behave this way (alternate). Not checked against the model itself.
   */
  implementationOnly?: boolean;
  /** A fresh checker for one run (it may keep counters); returns a violation message or null. */
  monitor(config: Config): (t: Transition<Config, State, Cmd, Out>) => string | null;
}

const STATELESS = Symbol('stateless');

/** A property's monitor that needs no memory between steps: a state property, checked on every branch of the state set. */
export function everyStep<T>(check: (t: T) => string | null): () => (t: T) => string | null {
  return Object.assign(() => check, { [STATELESS]: true });
}

/** True iff the property keeps no memory between steps (made with `everyStep`). */
export function isStateProperty(property: Property): boolean {
  return (property.monitor as { [STATELESS]?: boolean })[STATELESS] === true;
}

/** An interpretation of a rule that reads two ways: an implementation picks one and keeps it for a whole run. */
export interface Reading {
  /** The name the model's `init` reads it by. */
  name: string;
  /** Its options, as the model lists them. */
  options: readonly unknown[];
  /** What each option means, in one sentence. */
  meaning: string;
}

/** A choice the spec leaves open at every step (which unranked error, which listener a hash-less connect gets). */
export interface Freedom {
  /** The name the model's `step` chooses it by. */
  name: string;
  meaning: string;
}

/** A situation the generators must reach often enough to be worth the name. */
export interface Corner<Config = any, State = any, Cmd = any, Out = any> {
  name: string;
  /** A fresh watcher for one run (it may remember earlier steps); true once the corner is reached. */
  watch(): (t: Transition<Config, State, Cmd, Out>) => boolean;
}

export interface Scheme<Config = any, State = any, Cmd = any, Out = any> {
  name: string;
  summary: string;
  /** Raw JSON config (defaults filled in, cross-field rules checked) → Config. */
  config: z.ZodType<Config>;
  command: z.ZodType<Cmd>;
  /** The outcomes of the vocabulary for this command (the shape, not whether the spec allows it). */
  outcome(cmd: Cmd): z.ZodType<Out>;
  model: Model<Config, State, Cmd, Out>;
  /** Readings, in the order of the seed's rules; the model's `init` takes each through `read`. */
  readings: Reading[];
  /** Freedoms; the model's `step` takes each through `choose`. */
  freedoms: Freedom[];
  implementation(config: Config): Implementation<Cmd, Out, State>;
  properties: Property<Config, State, Cmd, Out>[];
  /** Generated runs: a config and a command sequence. */
  runs: fc.Arbitrary<{ config: Config; commands: Cmd[] }>;
  /**
   * Generated parallel runs (`--parallel N`): a sequential prefix, then N branches biased toward commands
   * that interfere. Without it core/parallel.ts deals the commands of `runs` out over the branches.
   */
  parallelRuns?: (branches: number) => fc.Arbitrary<ParallelRun<Config, Cmd>>;
  corners: Corner<Config, State, Cmd, Out>[];
}

/** A prefix run one command at a time, then branches whose commands run at the same time. */
export interface ParallelRun<Config = unknown, Cmd = unknown> {
  config: Config;
  prefix: Cmd[];
  branches: Cmd[][];
}

export type AnyScheme = Scheme<any, any, any, any>;

/** Properties every scheme has; the runner checks them itself. */
export const conformance: Property = {
  name: 'conformance',
  rule: 'true iff every outcome of the implementation is one the model allows',
  monitor: () => () => null,
};
export const snapshotMatchesModel: Property = {
  name: 'snapshot-matches-model',
  rule: "true iff after every step the implementation's snapshot equals the model's state (in a run of over 1,000 steps: at steps spaced by the snapshot's size, and at the last)",
  needs: ['snapshot'],
  monitor: () => () => null,
};

/** All properties of a scheme, the generic ones first. */
export function allProperties(scheme: AnyScheme): Property[] {
  return [conformance, snapshotMatchesModel, ...scheme.properties];
}

/** A command as an implementation that computes its own hash receives it. */
export function withoutHash<Cmd>(cmd: Cmd): Cmd {
  if (cmd === null || typeof cmd !== 'object' || !('hash' in cmd)) return cmd;
  const { hash: _hash, ...rest } = cmd as Record<string, unknown>;
  return rest as Cmd;
}

/**
 * Observed inputs (steerspec/1): an outcome may carry `inputs`, an object of command fields the subject
 * saw itself use (the kernel's own hash of a connection, the CPU that processed its SYN). The step is
 * judged as if the command had carried them, and the outcome without them. Anything else: unchanged.
 */
export function withInputs<Cmd, Out>(cmd: Cmd, outcome: Out): { cmd: Cmd; outcome: Out } {
  if (outcome === null || typeof outcome !== 'object' || !('inputs' in outcome)) return { cmd, outcome };
  const { inputs, ...rest } = outcome as Record<string, unknown>;
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) return { cmd, outcome };
  return { cmd: { ...(cmd as object), ...inputs } as Cmd, outcome: rest as Out };
}

/** A corner's watcher that needs no memory between steps. */
export function whenever<T>(reached: (t: T) => boolean): () => (t: T) => boolean {
  return () => reached;
}

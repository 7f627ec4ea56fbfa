// The implementation under test, as a source of fresh instances: the built-in impl/, a module,
// a process speaking steerspec/1, or the kernel through its helper. Replies are validated against
// the vocabulary here, once, whatever the source.
import { initialState, stepWith } from './relation.ts';
import { AdapterFault } from './runner.ts';
import { withInputs, type AnyScheme, type Capabilities, type Implementation } from './scheme.ts';
import { isThenable, show } from './vocabulary.ts';

/** The subject declined a scheme or config (`unsupported-scheme` / `unsupported-config`). */
export class Unsupported extends Error {
  constructor(
    readonly kind: 'unsupported-scheme' | 'unsupported-config',
    message: string,
  ) {
    super(message);
    this.name = 'Unsupported';
  }
}

export interface Instance extends Implementation {
  capabilities: Capabilities;
  /** With `capabilities.concurrent`: a request of a parallel branch, which may be sent before others have replied. */
  applyAt?(cmd: unknown, tag: { id: number; branch: number }): Promise<unknown>;
}

export interface Subject {
  /** How to name it in reports and replay hints, e.g. `--exec "python3 impl.py"`; empty for the built-in one. */
  describe: string;
  /** A fresh instance for one run. Throws Unsupported, or AdapterFault when the subject misbehaves. */
  start(scheme: AnyScheme, config: unknown): Promise<Instance>;
  close(): Promise<void>;
  /** Kills whatever the subject runs, at once (an interrupt): a pending request then fails as a fault. */
  abort?(): void;
}

/** A word for the shell: `'…'` unless it is plain. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Wraps an implementation so a throw, or a reply outside the vocabulary (see `validate`), becomes an
 * AdapterFault. A sequential reply is checked against the vocabulary only when the model does not allow
 * it as it came (the runner calls `validate`); a concurrent one (`applyAt`) at once, since the
 * linearizability checker takes replies as given.
 */
export function checked(scheme: AnyScheme, impl: Implementation & Pick<Instance, 'applyAt'>, capabilities: Capabilities): Instance {
  // A throw is a crash. An answer given at once is passed on at once: no promise per step for a subject
  // in this process (a campaign makes a few hundred thousand steps).
  const answer = <T>(what: () => string, reply: () => unknown, then: (value: unknown) => T): T | Promise<T> => {
    const crash = (e: unknown) => (e instanceof AdapterFault ? e : new AdapterFault('crashed', `${what()} threw: ${e instanceof Error ? e.message : String(e)}`));
    let value: unknown;
    try {
      value = reply();
    } catch (e) {
      throw crash(e);
    }
    return isThenable(value)
      ? Promise.resolve(value).then(then, (e) => {
          throw crash(e);
        })
      : then(value);
  };
  const validate = (cmd: unknown, reply: unknown) => {
    const parsed = scheme.outcome(cmd).safeParse(reply);
    if (!parsed.success) {
      throw new AdapterFault('protocol-error', `reply ${show(reply)} to ${show(cmd)} is not a ${(cmd as { op: string }).op} outcome of the vocabulary`);
    }
    return parsed.data;
  };
  // Inputs the subject reports it used must make a command of the vocabulary (see withInputs).
  const checkInputs = (cmd: unknown, reply: unknown) => {
    const { cmd: judged } = withInputs(cmd, reply);
    if (judged !== cmd) {
      const inputs = scheme.command.safeParse(judged);
      if (!inputs.success || (judged as { op: unknown }).op !== (cmd as { op: unknown }).op) {
        throw new AdapterFault('protocol-error', `reply ${show(reply)} to ${show(cmd)} reports inputs that make no ${(cmd as { op: string }).op} command of the vocabulary`);
      }
    }
    return reply;
  };
  // A concurrent reply is validated as an outcome of the command with its inputs, and keeps them: the
  // caller (runParallel) records the step as withInputs splits it.
  const validateObserved = (cmd: unknown, reply: unknown) => {
    checkInputs(cmd, reply);
    const { cmd: judged, outcome } = withInputs(cmd, reply);
    const valid = validate(judged, outcome);
    return outcome === reply ? valid : { ...(valid as object), inputs: (reply as { inputs: unknown }).inputs };
  };
  const { applyAt } = impl;
  return {
    capabilities,
    apply: (cmd) => answer(() => `apply(${show(cmd)})`, () => impl.apply(cmd), (reply) => checkInputs(cmd, reply)),
    validate,
    ...(capabilities.concurrent && applyAt
      ? { applyAt: async (cmd: unknown, tag: { id: number; branch: number }) => answer(() => `apply(${show(cmd)})`, () => applyAt.call(impl, cmd, tag), (reply) => validateObserved(cmd, reply)) }
      : {}),
    ...(capabilities.snapshot && impl.snapshot ? { snapshot: () => answer(() => 'snapshot()', () => impl.snapshot!(), (state) => state) } : {}),
  };
}

/**
 * True iff a snapshot has the model state's shape (the same top-level fields). An implementation
 * whose snapshot is something else is treated as having no snapshot: the properties that need one
 * are skipped rather than failed on a format the implementer could not have known.
 */
export async function snapshotFits(scheme: AnyScheme, config: unknown, impl: Implementation): Promise<boolean> {
  if (typeof impl.snapshot !== 'function') return false;
  let snapshot: unknown;
  try {
    snapshot = await impl.snapshot();
  } catch {
    return false;
  }
  if (snapshot === null || typeof snapshot !== 'object' || Array.isArray(snapshot)) return false;
  const keys = (o: object) => Object.keys(o).sort().join(',');
  return keys(snapshot) === keys(initialState(scheme.model, config) as object);
}

/**
 * A recorded history as a subject: it answers each command with what was observed when it was
 * recorded, so `judge` checks a run again without the system that made it.
 */
export function recordedSubject(commands: readonly unknown[], observed: readonly unknown[]): Subject {
  return {
    describe: '(recorded)',
    async start(scheme) {
      let at = 0;
      return checked(
        scheme,
        {
          apply(cmd) {
            if (at >= observed.length || observed[at] === undefined) throw new AdapterFault('protocol-error', `step ${at} has no observed outcome`);
            if (cmd !== commands[at]) throw new AdapterFault('protocol-error', `step ${at} is not the recorded command`);
            return observed[at++];
          },
        },
        { hash: true, snapshot: false },
      );
    },
    async close() {},
  };
}

/** The built-in optimized implementation of every scheme (impl/). */
export const builtin: Subject = {
  describe: '',
  async start(scheme, config) {
    return checked(scheme, scheme.implementation(config), { hash: true, snapshot: true });
  },
  async close() {},
};

/**
 * The model itself as a subject, taking its free choices at random (seeded): it shows that the
 * specification obeys its own properties and lets generators be measured without an impl.
 */
export function modelSubject(seed = 1, capabilities: Partial<Capabilities> = {}): Subject {
  let state = seed >>> 0 || 1;
  const random = (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  return {
    describe: '(the model)',
    async start(scheme, config) {
      let current = initialState(scheme.model, config, random);
      return checked(
        scheme,
        {
          apply(cmd) {
            const { outcome, next } = stepWith(scheme.model, current, cmd, random);
            current = next;
            return outcome;
          },
          snapshot: () => current,
        },
        { hash: true, snapshot: true, ...capabilities },
      );
    },
    async close() {},
  };
}


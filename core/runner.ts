// Runs one command sequence on an implementation and the model side by side, and checks
// the properties after every step. Used by the campaign, trace replay and the tests alike.
import { judge } from './relation.ts';
import { conformance, snapshotMatchesModel, type AnyScheme, type Implementation, type Property } from './scheme.ts';
import { sameValue, show } from './vocabulary.ts';

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
  index: number;
  message: string;
  fault?: AdapterFault['kind'];
}

export interface RunResult {
  /** The steps that ran, with the implementation's outcomes (the faulting command last, without one). */
  steps: { cmd: unknown; outcome?: unknown }[];
  failure?: Failure;
  /** Set when the implementation left the model at this step and no property could look further. */
  divergedAt?: number;
}

export interface RunInput {
  scheme: AnyScheme;
  config: unknown;
  commands: unknown[];
  implementation: Implementation;
  /** The properties to check; conformance decides whether leaving the model is a failure. */
  properties: Property[];
  /** Per step, an outcome a trace expects; it must be one the model allows. */
  expects?: (unknown | undefined)[];
}

export async function runSequence(input: RunInput): Promise<RunResult> {
  const { scheme, config, commands, implementation, properties } = input;
  const model = scheme.model;
  const checks = (p: Property) => properties.includes(p);
  const monitors = properties
    .filter((p) => p !== conformance && p !== snapshotMatchesModel)
    .map((p) => ({ name: p.name, check: p.monitor(config) }));
  const look = async (modelState: unknown) => (implementation.snapshot ? await implementation.snapshot() : modelState);

  const steps: RunResult['steps'] = [];
  const fail = (property: string, index: number, message: string): RunResult => ({
    steps,
    failure: { property, index, message },
  });

  let state = model.init(config);
  // A trace's expectations are judged along their own history, which may take other allowed
  // outcomes than the implementation does; steps without `expect` follow the implementation.
  let expectState: unknown = state;
  let before: unknown;
  try {
    before = await look(state);
    for (let index = 0; index < commands.length; index++) {
      const cmd = commands[index];
      const expected = input.expects?.[index];
      if (expected !== undefined && expectState !== undefined) {
        const verdict = judge(model, expectState, cmd, expected);
        if (!verdict.allowed) {
          steps.push({ cmd });
          return fail('expect', index, `expect ${show(expected)} is not allowed: ${verdict.why}${allowedNote(verdict.examples)}`);
        }
        expectState = verdict.next;
      }
      steps.push({ cmd });
      const outcome = await implementation.apply(cmd);
      steps[index].outcome = outcome;

      const verdict = judge(model, state, cmd, outcome);
      if (expected === undefined && expectState !== undefined) {
        const along = expectState === state ? verdict : judge(model, expectState, cmd, outcome);
        expectState = along.allowed ? along.next : undefined;
      }
      if (!verdict.allowed && checks(conformance)) {
        return fail('conformance', index, `outcome ${show(outcome)} is not allowed: ${verdict.why}${allowedNote(verdict.examples)}`);
      }
      const after = implementation.snapshot ? await implementation.snapshot() : verdict.allowed ? verdict.next : undefined;
      if (after !== undefined) {
        for (const m of monitors) {
          const message = m.check({ config, index, before, cmd, outcome, after });
          if (message !== null) return fail(m.name, index, message);
        }
      }
      if (!verdict.allowed) return { steps, divergedAt: index };
      if (checks(snapshotMatchesModel) && implementation.snapshot && !sameValue(after, verdict.next)) {
        return fail(snapshotMatchesModel.name, index, `snapshot ${show(after, 400)} differs from the model's ${show(verdict.next, 400)}`);
      }
      state = verdict.next;
      before = after;
    }
  } catch (e) {
    if (!(e instanceof AdapterFault)) throw e;
    const index = Math.max(0, steps.length - 1);
    return { steps, failure: { property: e.kind, index, message: e.message, fault: e.kind } };
  }
  return { steps };
}

function allowedNote(examples: unknown[]): string {
  return examples.length === 0 ? '' : `; allowed: ${examples.map((e) => show(e)).join(' or ')}`;
}

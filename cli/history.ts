// A recorded history walked through the model, step by step: what each step observed, what the model
// allows there, the verdict, and the model's state after it drawn as the scheme's picture. The HTML report
// shows one of these per failure (check) or per file (replay, judge).
import { allowedOutcomes, initialStates, observe, stepWith, type Branch } from '../core/relation.ts';
import type { AnyScheme } from '../core/scheme.ts';
import { show } from '../core/vocabulary.ts';
import type { Landed, Picture } from './pictures/draw.ts';

export interface HistoryInput {
  title: string;
  scheme: AnyScheme;
  config: unknown;
  commands: unknown[];
  /** Per step what the subject answered (undefined: not recorded; the expectation or the model's first choice is followed). */
  outcomes: (unknown | undefined)[];
  expects?: (unknown | undefined)[];
  /** The failure this history shows: its property, step (-1: init) and message. */
  failing?: { property: string; index: number; message: string };
  file?: string;
}

export interface HistoryRow {
  step: number;
  command: string;
  observed: string;
  allowed: string[];
  verdict: 'allowed' | 'not allowed' | 'violated' | 'fault' | 'not followed';
  /** The state after the step (HTML), or undefined where the model could not follow the history. */
  picture?: string;
  note?: string;
}

export interface History extends Omit<HistoryInput, 'scheme' | 'config' | 'commands' | 'outcomes' | 'expects'> {
  scheme: string;
  config: string;
  initial: string;
  rows: HistoryRow[];
  /** Where each placed connection went (by the recorded outcome), for the heat map. */
  landed: Landed[];
}

export function walkHistory(input: HistoryInput, picture: Picture): History {
  const { scheme, failing } = input;
  let set: Branch<unknown>[] = initialStates(scheme.model, input.config);
  let followed = true;
  const rows: HistoryRow[] = [];
  const landed: Landed[] = [];
  const initial = picture.draw(set[0].state);
  input.commands.forEach((cmd, step) => {
    const recorded = input.outcomes[step];
    const expected = input.expects?.[step];
    const row: HistoryRow = { step, command: show(cmd, 400), observed: recorded === undefined ? '— (not recorded)' : show(recorded, 400), allowed: [], verdict: 'not followed' };
    rows.push(row);
    if (!followed) return;
    row.allowed = allowedOutcomes(scheme.model, set, cmd, 4).map((o) => show(o, 200));
    const outcome = recorded ?? expected;
    const where = recorded === undefined ? undefined : picture.landed(cmd, recorded, set[0].state);
    if (where) landed.push(where);
    if (outcome === undefined) {
      // Nothing recorded here (e.g. the step a subject faulted on): follow the model's first choice.
      const { next } = stepWith(scheme.model, set[0].state, cmd);
      set = [{ ...set[0], state: next }];
      row.verdict = failing?.index === step ? 'fault' : 'allowed';
      row.note = "nothing recorded: the state shown follows the model's first allowed outcome";
    } else {
      const moves = observe(scheme.model, set, cmd, outcome);
      if (moves.length === 0) {
        row.verdict = 'not allowed';
        const also = failing && failing.index === step && failing.property !== 'conformance' ? `${failing.property} is violated here too. ` : '';
        row.note = `${also}no state of the model gives this outcome: the state shown is the one before the step, and later steps are not followed`;
        row.picture = picture.draw(set[0].state);
        followed = false;
        return;
      }
      const states = set.length;
      set = moves.map((m) => m.after);
      row.verdict = 'allowed';
      // Said where the number changes (readings are told apart, or choices branch), not on every step.
      if (set.length > 1 && (set.length !== states || step === 0)) row.note = `${set.length} states of the model explain the history so far; the first is shown`;
    }
    if (failing && failing.index === step && failing.property !== 'conformance') row.verdict = 'violated';
    row.picture = picture.draw(set[0].state);
  });
  return { title: input.title, scheme: scheme.name, config: show(input.config, 400), initial, rows, landed, ...(failing ? { failing } : {}), ...(input.file ? { file: input.file } : {}) };
}

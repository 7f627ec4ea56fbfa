// A concurrent history: a sequential prefix, then N branches whose commands ran at the same time.
// Each branch command has an invocation (`call`) and, if the subject answered, a response (`ret`);
// `events` lists them in the order the oracle saw them, which is all real time means here: a command
// whose `ret` comes before another's `call` returned before that one was invoked.
import { z } from 'zod';
import type { AnyScheme } from './scheme.ts';
import { parseJson, type Found } from './trace.ts';
import { InputError, parseWith, show } from './vocabulary.ts';

export interface Operation {
  /** Unique within the run; the protocol's `id`. */
  id: number;
  branch: number;
  cmd: unknown;
  /** What the subject answered; undefined when it never did (a fault): it may or may not have taken effect. */
  outcome?: unknown;
}

export type HistoryEvent = { call: number } | { ret: number };

export interface History {
  prefix: { cmd: unknown; outcome?: unknown }[];
  /** Per branch, its operations in its own order. */
  branches: Operation[][];
  events: HistoryEvent[];
}

/** Where each operation's call and return sit in `events` (Infinity: it never returned). */
export interface Timeline {
  callAt: Map<number, number>;
  retAt: Map<number, number>;
}

/**
 * Checks that `events` is a history the oracle could have seen: every operation called once and
 * returned at most once, after its call, and only with an outcome; a branch's next command invoked
 * only after its previous one returned. Throws an InputError naming `where` and the event.
 */
export function timelineOf(history: History, where = 'history'): Timeline {
  const ops = new Map<number, Operation>();
  history.branches.forEach((branch, b) =>
    branch.forEach((op, k) => {
      if (ops.has(op.id)) throw new InputError(`${where}: branches[${b}][${k}].id`, `id ${op.id} is used twice`);
      if (op.branch !== b) throw new InputError(`${where}: branches[${b}][${k}].branch`, `is ${op.branch}, but the operation is listed in branch ${b}`);
      ops.set(op.id, op);
    }),
  );
  const callAt = new Map<number, number>();
  const retAt = new Map<number, number>();
  history.events.forEach((event, i) => {
    const [kind, id] = 'call' in event ? (['call', event.call] as const) : (['ret', event.ret] as const);
    const at = `${where}: events[${i}].${kind}`;
    if (!ops.has(id)) throw new InputError(at, `names no operation (id ${id})`);
    const seen = kind === 'call' ? callAt : retAt;
    if (seen.has(id)) throw new InputError(at, `operation ${id} has a second ${kind}`);
    if (kind === 'ret' && !callAt.has(id)) throw new InputError(at, `operation ${id} returns before it is called`);
    if (kind === 'ret' && ops.get(id)!.outcome === undefined) throw new InputError(at, `operation ${id} returns but has no observed outcome`);
    seen.set(id, i);
  });
  history.branches.forEach((branch, b) =>
    branch.forEach((op, k) => {
      if (!callAt.has(op.id)) throw new InputError(`${where}: branches[${b}][${k}]`, `operation ${op.id} is never called in events`);
      if (op.outcome !== undefined && !retAt.has(op.id)) throw new InputError(`${where}: branches[${b}][${k}]`, `operation ${op.id} has an outcome but never returns in events`);
      const previous = branch[k - 1];
      if (previous && !(retAt.has(previous.id) && retAt.get(previous.id)! < callAt.get(op.id)!)) {
        throw new InputError(`${where}: branches[${b}][${k}]`, `operation ${op.id} is called before the branch's previous one (${previous.id}) returned`);
      }
    }),
  );
  return { callAt, retAt };
}

/**
 * The history as one column per branch, one row per event in the order seen: a call shows the command
 * (so commands read in invocation order), a return what it answered. `mark` (an operation id) is
 * flagged on its call, with `note` below.
 */
export function renderColumns(history: History, mark?: number, note?: string): string {
  const byId = new Map(history.branches.flat().map((op) => [op.id, op]));
  const lines: string[] = [];
  history.prefix.forEach((s, i) => lines.push(`  prefix ${i}: ${show(s.cmd, 100)} → ${s.outcome === undefined ? '(no reply)' : show(s.outcome, 80)}`));
  const rows = history.events.map((event) => {
    const op = byId.get('call' in event ? event.call : event.ret)!;
    const text = 'call' in event ? `#${op.id} ${show(op.cmd, 80)}` : `#${op.id} → ${show(op.outcome, 80)}`;
    return { op, text, flag: 'call' in event && op.id === mark ? '>>' : '  ' };
  });
  for (const op of byId.values()) if (op.outcome === undefined && history.events.some((e) => 'call' in e && e.call === op.id)) rows.push({ op, text: `#${op.id} → (no reply)`, flag: '  ' });
  const width = Math.max(10, ...rows.map((r) => r.text.length));
  lines.push(`     ${history.branches.map((_, b) => `branch ${b}`.padEnd(width)).join(' | ')}`.trimEnd());
  rows.forEach((r, i) => lines.push(`${r.flag}${String(i).padStart(2)} ${history.branches.map((_, b) => (b === r.op.branch ? r.text : '').padEnd(width)).join(' | ')}`.trimEnd()));
  if (mark !== undefined && note) lines.push(`  >> #${mark}: ${note}`);
  return lines.join('\n');
}

// ---- steerspec-trace/2: the saved form of a concurrent history ----
//   {"format":"steerspec-trace/2","scheme":"reuserps","config":{...},
//    "prefix":[{"cmd":{...},"observed":{...}},...],
//    "branches":[[{"id":0,"cmd":{...},"observed":{...}},...],...],
//    "events":[{"call":0},{"call":1},{"ret":1},{"ret":0},...],
//    "found":{"property":"linearizability","seed":1,"path":"...","message":"..."}}
// `observed` is absent where the subject never answered; `events` is the order the oracle saw.

export const TRACE_FORMAT_2 = 'steerspec-trace/2';

export interface ParallelTrace {
  format: typeof TRACE_FORMAT_2;
  scheme: string;
  config: unknown;
  prefix: { cmd: unknown; observed?: unknown }[];
  branches: { id: number; cmd: unknown; observed?: unknown }[][];
  events: HistoryEvent[];
  found?: Found;
}

export function traceOfHistory(scheme: string, config: unknown, history: History, found?: Found): ParallelTrace {
  const observed = (outcome: unknown) => (outcome === undefined ? {} : { observed: outcome });
  return {
    format: TRACE_FORMAT_2,
    scheme,
    config,
    prefix: history.prefix.map((s) => ({ cmd: s.cmd, ...observed(s.outcome) })),
    branches: history.branches.map((b) => b.map((op) => ({ id: op.id, cmd: op.cmd, ...observed(op.outcome) }))),
    events: history.events,
    ...(found ? { found } : {}),
  };
}

const eventSchema = z.union([z.strictObject({ call: z.number().int().nonnegative() }), z.strictObject({ ret: z.number().int().nonnegative() })]);
const envelope2 = z.strictObject({
  format: z.literal(TRACE_FORMAT_2),
  scheme: z.string(),
  config: z.record(z.string(), z.unknown()).default({}),
  prefix: z.array(z.strictObject({ cmd: z.unknown(), observed: z.unknown().optional() })),
  branches: z.array(z.array(z.strictObject({ id: z.number().int().nonnegative(), cmd: z.unknown(), observed: z.unknown().optional() }))).min(1),
  events: z.array(eventSchema),
  found: z
    .strictObject({ property: z.string(), seed: z.number().optional(), path: z.string().optional(), message: z.string().optional() })
    .optional(),
});

export interface LoadedParallelTrace {
  file: string;
  scheme: AnyScheme;
  config: unknown;
  history: History;
  found?: Found;
}

/** True iff the text is a steerspec-trace/2 file (read by `readParallelTrace`, not `readTrace`). */
export function isParallelTrace(text: string): boolean {
  return /"format"\s*:\s*"steerspec-trace\/2"/.test(text.slice(0, 200));
}

/** Reads and validates a steerspec-trace/2 file; every error names the file, the place and the field. */
export function parseParallelTrace(text: string, file: string, schemes: Map<string, AnyScheme>): LoadedParallelTrace {
  const raw = parseJson(text, file);
  let trace: z.infer<typeof envelope2>;
  try {
    trace = parseWith(envelope2, raw, '');
  } catch (e) {
    throw e instanceof InputError ? new InputError(`${file}: ${e.where}`, e.problem) : e;
  }
  const scheme = schemes.get(trace.scheme);
  if (!scheme) throw new InputError(`${file}: scheme`, `unknown scheme "${trace.scheme}" (known: ${[...schemes.keys()].join(', ')})`);
  const config = parseWith(scheme.config, trace.config, `${file}: config`);
  const step = (s: { cmd: unknown; observed?: unknown }, where: string) => {
    const cmd = parseWith(scheme.command, s.cmd, `${where}.cmd`);
    return { cmd, outcome: s.observed === undefined ? undefined : parseWith(scheme.outcome(cmd), s.observed, `${where}.observed`) };
  };
  const history: History = {
    prefix: trace.prefix.map((s, i) => step(s, `${file}: prefix[${i}]`)),
    branches: trace.branches.map((b, bi) => b.map((s, k) => ({ id: s.id, branch: bi, ...step(s, `${file}: branches[${bi}][${k}]`) }))),
    events: trace.events,
  };
  const unanswered = history.prefix.findIndex((s) => s.outcome === undefined);
  if (unanswered >= 0 && (unanswered < history.prefix.length - 1 || history.branches.some((b) => b.length > 0))) {
    throw new InputError(`${file}: prefix[${unanswered}].observed`, 'is missing, but later commands ran: only the last command of a history may go unanswered');
  }
  timelineOf(history, file);
  return { file, scheme, config, history, ...(trace.found ? { found: trace.found } : {}) };
}

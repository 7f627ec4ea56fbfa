// The pieces of the command vocabulary that every scheme shares: outcome shapes, the field
// validators, canonical comparison, and the one error type for bad input.
import { z } from 'zod';

/** A bad command, trace, config or reply: `where` names the file, step and field. */
export class InputError extends Error {
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super(where ? `${where}: ${problem}` : problem);
    this.name = 'InputError';
  }
}

/** Validates `raw` against `schema`, or throws an InputError naming the first offending field. */
export function parseWith<T>(schema: z.ZodType<T>, raw: unknown, where: string): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new InputError(joinPath(where, issue.path), describeIssue(issue, raw));
}

function joinPath(where: string, path: readonly PropertyKey[]): string {
  let out = where;
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  let value: unknown = raw;
  for (const key of issue.path) value = value !== null && typeof value === 'object' ? (value as never)[key] : undefined;
  const got = issue.code === 'unrecognized_keys' ? '' : ` (got ${show(value)})`;
  return `${issue.message}${got}`;
}

/** Short JSON for messages, cut so one bad value never floods a report. */
export function show(value: unknown, max = 160): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

// ---- field validators shared by the schemes ----

export const id = z.number().int().nonnegative().max(2 ** 31 - 1);
export const uid = z.number().int().nonnegative().max(2 ** 32 - 1);
export const hash32 = z.number().int().nonnegative().max(2 ** 32 - 1);
/** A CPU number any config could have (0..127); one past a config's `cpus` is a `bad-cpu` outcome. */
export const cpuNumber = z.number().int().nonnegative().max(127, 'is out of range: CPU numbers run 0..127');

// ---- outcomes ----

export const okOnly = z.strictObject({ ok: z.literal(true) });
export function failure<const E extends readonly [string, ...string[]]>(errors: E) {
  return z.strictObject({ ok: z.literal(false), error: z.enum(errors) });
}
export type Failure<E extends string = string> = { ok: false; error: E };

/**
 * Canonical JSON: keys sorted, and every `reset` list sorted, because `reset` is a set
 * (which connections were reset matters; the order they are listed in does not).
 */
export function canonical(value: unknown): string {
  return JSON.stringify(normalize(value));
}

function normalize(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => normalize(v));
    return key === 'reset' ? items.sort((a, b) => canonical(a).localeCompare(canonical(b))) : items;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = normalize(v, k);
    }
    return out;
  }
  return value;
}

/** How many values (primitives, arrays and objects) a JSON-like value holds: what comparing it costs. */
export function sizeOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 1;
  let n = 1;
  if (Array.isArray(value)) for (const v of value) n += sizeOf(v);
  else for (const k in value) n += sizeOf((value as Record<string, unknown>)[k]);
  return n;
}

/**
 * canonical(a) === canonical(b), decided structurally: no strings are built, and the walk stops at the
 * first difference (a snapshot is compared with the model's state at every step).
 */
export function sameValue(a: unknown, b: unknown, key?: string): boolean {
  if (a === b) return true;
  // Values here come from JSON, so a primitive equals only itself.
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    // A reset list is a set: canonical sorts it only under its key.
    if (key === 'reset') return canonical({ reset: a }) === canonical({ reset: b });
    for (let i = 0; i < a.length; i++) {
      const x: unknown = a[i];
      const y: unknown = b[i];
      if (x !== y && !sameValue(x === undefined ? null : x, y === undefined ? null : y)) return false;
    }
    return true;
  }
  if (Array.isArray(b)) return false;
  // Object.keys, not for-in: a snapshot is compared with the model's state at every step, and for-in is the slower walk.
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  let count = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = x[k];
    if (v === undefined) continue;
    count++;
    const w = y[k];
    if (v !== w && !sameValue(v, w, k)) return false;
  }
  const other = Object.keys(y);
  if (other.length === count) return true;
  for (let i = 0; i < other.length; i++) if (y[other[i]] !== undefined) count--;
  return count === 0;
}

/** True iff `value` is a promise or another thenable (an adapter's answer still on its way). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

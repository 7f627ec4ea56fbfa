// Trace files: the saved form of a command sequence, shared by shrunk counterexamples and
// hand-checked scenarios.
//   {"format":"steerspec-trace/1","scheme":"reuserps","config":{...},
//    "steps":[{"cmd":{...},"expect":{...},"observed":{...}},...],"found":{"property":"...","seed":1,"path":"...","message":"..."}}
// `expect` (what the spec must allow), `observed` (what a subject answered, so the run can be judged
// again without it) and `found` are optional. Saving is atomic and never replaces an existing file.
// A JSON-lines log (`.jsonl`) is the other input `judge` reads: a first line {"scheme":...,"config":{...}},
// then one {"cmd":{...},"outcome":{...}} per line.
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { z } from 'zod';
import type { AnyScheme } from './scheme.ts';
import { InputError, parseWith } from './vocabulary.ts';

export const TRACE_FORMAT = 'steerspec-trace/1';

export interface Found {
  property: string;
  seed?: number;
  path?: string;
  message?: string;
}

export interface Trace {
  format: typeof TRACE_FORMAT;
  /** What the trace pins, in one line (hand-written traces; `npx steerspec docs` lists it). */
  about?: string;
  scheme: string;
  config: unknown;
  steps: { cmd: unknown; expect?: unknown; observed?: unknown }[];
  found?: Found;
}

/** A trace read and validated against its scheme's vocabulary. */
export interface LoadedTrace {
  file: string;
  scheme: AnyScheme;
  config: unknown;
  commands: unknown[];
  expects: (unknown | undefined)[];
  /** Per step, what a subject answered when the trace was saved (absent at a faulting last step). */
  observed: (unknown | undefined)[];
  found?: Found;
  about?: string;
}

const envelope = z.strictObject({
  format: z.literal(TRACE_FORMAT, { error: `unknown format; this version reads "${TRACE_FORMAT}" and "steerspec-trace/2"` }),
  about: z.string().optional(),
  scheme: z.string(),
  config: z.record(z.string(), z.unknown()).default({}),
  steps: z.array(z.strictObject({ cmd: z.unknown(), expect: z.unknown().optional(), observed: z.unknown().optional() })),
  found: z
    .strictObject({ property: z.string(), seed: z.number().optional(), path: z.string().optional(), message: z.string().optional() })
    .optional(),
});

export function readTrace(file: string, schemes: Map<string, AnyScheme>): LoadedTrace {
  return parseTrace(readText(file), file, schemes);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(file, `cannot read: ${(e as Error).message}`);
  }
}

export function parseTrace(text: string, file: string, schemes: Map<string, AnyScheme>): LoadedTrace {
  const raw = parseJson(text, file);
  let trace: z.infer<typeof envelope>;
  try {
    trace = parseWith(envelope, raw, '');
  } catch (e) {
    throw e instanceof InputError ? new InputError(`${file}: ${e.where}`, e.problem) : e;
  }
  const scheme = schemes.get(trace.scheme);
  if (!scheme) throw new InputError(`${file}: scheme`, `unknown scheme "${trace.scheme}" (known: ${[...schemes.keys()].join(', ')})`);
  const config = parseWith(scheme.config, trace.config, `${file}: config`);
  const commands: unknown[] = [];
  const expects: (unknown | undefined)[] = [];
  const observed: (unknown | undefined)[] = [];
  trace.steps.forEach((step, i) => {
    const cmd = parseWith(scheme.command, step.cmd, `${file}: steps[${i}].cmd`);
    commands.push(cmd);
    const outcome = (field: 'expect' | 'observed') =>
      step[field] === undefined ? undefined : parseWith(scheme.outcome(cmd), step[field], `${file}: steps[${i}].${field}`);
    expects.push(outcome('expect'));
    observed.push(outcome('observed'));
  });
  return { file, scheme, config, commands, expects, observed, found: trace.found, ...(trace.about === undefined ? {} : { about: trace.about }) };
}

const logHeader = z.strictObject({ scheme: z.string(), config: z.record(z.string(), z.unknown()).default({}) });
const logLine = z.strictObject({ cmd: z.unknown().optional(), outcome: z.unknown().optional() });

/** A JSON-lines log of a system's steering decisions, read as a trace whose every step is observed. */
export function parseLog(text: string, file: string, schemes: Map<string, AnyScheme>): LoadedTrace {
  const lines = text.split('\n').map((line, i) => ({ line: line.trim(), number: i + 1 })).filter(({ line }) => line !== '');
  if (lines.length === 0) throw new InputError(file, 'empty log: the first line must be {"scheme":...,"config":{...}}');
  const where = (n: number) => `${file}:${n}`;
  const header = parseWith(logHeader, parseJson(lines[0].line, where(lines[0].number)), where(lines[0].number));
  const scheme = schemes.get(header.scheme);
  if (!scheme) throw new InputError(`${where(lines[0].number)}: scheme`, `unknown scheme "${header.scheme}" (known: ${[...schemes.keys()].join(', ')})`);
  const config = parseWith(scheme.config, header.config, `${where(lines[0].number)}: config`);
  const commands: unknown[] = [];
  const observed: unknown[] = [];
  for (const { line, number } of lines.slice(1)) {
    const entry = parseWith(logLine, parseJson(line, where(number)), where(number));
    for (const field of ['cmd', 'outcome'] as const) {
      if (entry[field] === undefined) throw new InputError(`${where(number)}: ${field}`, 'is missing: every line after the first is {"cmd":{...},"outcome":{...}}');
    }
    const cmd = parseWith(scheme.command, entry.cmd, `${where(number)}: cmd`);
    commands.push(cmd);
    observed.push(parseWith(scheme.outcome(cmd), entry.outcome, `${where(number)}: outcome`));
  }
  return { file, scheme, config, commands, expects: commands.map(() => undefined), observed };
}

/** Reads a trace (`.json`) or a log (`.jsonl`). */
export function readHistory(file: string, schemes: Map<string, AnyScheme>): LoadedTrace {
  const text = readText(file);
  return file.endsWith('.jsonl') ? parseLog(text, file, schemes) : parseTrace(text, file, schemes);
}

/** The deepest nesting a trace may have; deeper input is refused before it can overflow the stack. */
export const MAX_DEPTH = 64;

/** JSON.parse, but a duplicate key or nesting deeper than MAX_DEPTH is an error naming where. */
export function parseJson(text: string, where: string): unknown {
  checkShape(text, where);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(where, `invalid JSON: ${(e as Error).message}`);
  }
}

/** One pass over the text: depth of brackets, and the keys of every object, outside strings. */
function checkShape(text: string, where: string): void {
  const keys: (Set<string> | null)[] = [];
  const path: (string | number)[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      const end = endOfString(text, i);
      if (end < 0) return; // JSON.parse reports it
      const container = keys[keys.length - 1];
      let j = end + 1;
      while (j < text.length && ' \t\r\n'.includes(text[j])) j++;
      if (container && text[j] === ':') {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, end + 1));
        } catch {
          return;
        }
        if (container.has(key)) throw new InputError(`${where}${pathText(path.slice(0, -1))}`, `duplicate key "${key}"`);
        container.add(key);
        path[path.length - 1] = key;
      }
      i = end;
    } else if (ch === '{' || ch === '[') {
      if (++depth > MAX_DEPTH) throw new InputError(`${where}${pathText(path)}`, `nested deeper than ${MAX_DEPTH} levels`);
      keys.push(ch === '{' ? new Set() : null);
      path.push(ch === '{' ? '' : 0);
    } else if (ch === '}' || ch === ']') {
      depth--;
      keys.pop();
      path.pop();
    } else if (ch === ',' && keys[keys.length - 1] === null) {
      path[path.length - 1] = (path[path.length - 1] as number) + 1;
    }
  }
}

function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

function pathText(path: (string | number)[]): string {
  const parts = path.filter((p) => p !== '');
  if (parts.length === 0) return '';
  return `: ${parts.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${p}`)).join('')}`;
}

/**
 * Writes `trace` into `dir` under a name made of its content's hash: first to a temporary file,
 * then linked into place, so a reader never sees half a file and an existing file is never replaced.
 */
export function saveTrace(dir: string, trace: Trace): string {
  return storeTrace(dir, trace).file;
}

/** saveTrace, also saying whether this call made the file (false: one with the same content was there). */
export function storeTrace(dir: string, trace: Pick<Trace, 'scheme' | 'found'>): { file: string; created: boolean } {
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(trace, null, 1).replace(/\n {2,}/g, ' ').replace(/\n (?=[\]}])/g, ' ')}\n`;
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const file = join(dir, `${trace.scheme}-${trace.found?.property ?? 'trace'}-${digest}.json`);
  const temporary = `${file}.${process.pid}-${threadId}.tmp`;
  writeFileSync(temporary, text);
  let created = true;
  try {
    linkSync(temporary, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    created = false;
  } finally {
    unlinkSync(temporary);
  }
  return { file, created };
}

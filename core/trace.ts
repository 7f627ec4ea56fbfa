// Trace files: the saved form of a command sequence, shared by shrunk counterexamples and
// hand-checked scenarios.
//   {"format":"steerspec-trace/1","scheme":"reuserps","config":{...},
//    "steps":[{"cmd":{...},"expect":{...}},...],"found":{"property":"...","seed":1,"path":"...","message":"..."}}
// `expect` and `found` are optional. Saving is atomic and never replaces an existing file.
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  scheme: string;
  config: unknown;
  steps: { cmd: unknown; expect?: unknown }[];
  found?: Found;
}

/** A trace read and validated against its scheme's vocabulary. */
export interface LoadedTrace {
  file: string;
  scheme: AnyScheme;
  config: unknown;
  commands: unknown[];
  expects: (unknown | undefined)[];
  found?: Found;
}

const envelope = z.strictObject({
  format: z.literal(TRACE_FORMAT, { error: `unknown format; this version reads "${TRACE_FORMAT}"` }),
  scheme: z.string(),
  config: z.record(z.string(), z.unknown()).default({}),
  steps: z.array(z.strictObject({ cmd: z.unknown(), expect: z.unknown().optional() })),
  found: z
    .strictObject({ property: z.string(), seed: z.number().optional(), path: z.string().optional(), message: z.string().optional() })
    .optional(),
});

export function readTrace(file: string, schemes: Map<string, AnyScheme>): LoadedTrace {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(file, `cannot read: ${(e as Error).message}`);
  }
  return parseTrace(text, file, schemes);
}

export function parseTrace(text: string, file: string, schemes: Map<string, AnyScheme>): LoadedTrace {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError(file, `invalid JSON: ${(e as Error).message}`);
  }
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
  trace.steps.forEach((step, i) => {
    const cmd = parseWith(scheme.command, step.cmd, `${file}: steps[${i}].cmd`);
    commands.push(cmd);
    expects.push(step.expect === undefined ? undefined : parseWith(scheme.outcome(cmd), step.expect, `${file}: steps[${i}].expect`));
  });
  return { file, scheme, config, commands, expects, found: trace.found };
}

/**
 * Writes `trace` into `dir` under a name made of its content's hash: first to a temporary file,
 * then linked into place, so a reader never sees half a file and an existing file is never replaced.
 */
export function saveTrace(dir: string, trace: Trace): string {
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(trace, null, 1).replace(/\n {2,}/g, ' ').replace(/\n (?=[\]}])/g, ' ')}\n`;
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const file = join(dir, `${trace.scheme}-${trace.found?.property ?? 'trace'}-${digest}.json`);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  try {
    linkSync(temporary, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(temporary);
  }
  return file;
}

// The subject a command line names, as plain data (so a worker thread can make the same one) and as a Subject.
import { resolve } from 'node:path';
import { builtin, type Subject } from '../core/subject.ts';
import { moduleSubject } from '../adapters/module.ts';
import { processSubject } from '../adapters/process.ts';

export type SubjectSpec =
  | { kind: 'builtin' }
  | { kind: 'exec'; command: string; timeoutMs: number; logFile?: string }
  | { kind: 'adapter'; path: string; asGiven: string; timeoutMs: number; logFile?: string };

export function subjectOf(spec: SubjectSpec): Subject {
  if (spec.kind === 'exec') return processSubject(spec.command, { timeoutMs: spec.timeoutMs, logFile: spec.logFile });
  if (spec.kind === 'adapter') return moduleSubject(resolve(spec.path), spec.asGiven, { timeoutMs: spec.timeoutMs, logFile: spec.logFile });
  return builtin;
}

// Replaying a trace: its commands run on the subject beside the model with every property the
// subject can be held to; each `expect` must be an outcome the model allows.
import { runSequence, type RunResult } from '../core/runner.ts';
import { allProperties, withoutHash } from '../core/scheme.ts';
import type { Subject } from '../core/subject.ts';
import { readTrace, type LoadedTrace } from '../core/trace.ts';
import { schemes } from '../schemes.ts';

export interface Replayed extends RunResult {
  trace: LoadedTrace;
  /** Properties left out because the subject lacks a capability they need. */
  skipped: string[];
}

/** Throws InputError for a bad file, Unsupported when the subject declines; faults come back as failures. */
export async function replayFile(file: string, subject: Subject): Promise<Replayed> {
  const trace = readTrace(file, schemes);
  const instance = await subject.start(trace.scheme, trace.config);
  const { capabilities } = instance;
  const properties = allProperties(trace.scheme).filter((p) => (p.needs ?? []).every((need) => capabilities[need]));
  const skipped = allProperties(trace.scheme)
    .filter((p) => !properties.includes(p))
    .map((p) => p.name);
  const result = await runSequence({
    scheme: trace.scheme,
    config: trace.config,
    commands: capabilities.hash ? trace.commands : trace.commands.map(withoutHash),
    expects: trace.expects,
    implementation: instance,
    properties,
  });
  return { ...result, trace, skipped };
}

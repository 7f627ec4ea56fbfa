// steerspec's command line: `check` runs property campaigns, `replay` replays traces, `schemes`
// lists what is specified. Exit codes: 0 conforms, 1 a property failed, 2 bad usage, 3 the subject
// faulted (verdict unknown).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runCampaign, type PropertyResult } from '../core/campaign.ts';
import { allProperties, type AnyScheme } from '../core/scheme.ts';
import { builtin, Unsupported, type Subject } from '../core/subject.ts';
import { InputError, show } from '../core/vocabulary.ts';
import { moduleSubject } from '../adapters/module.ts';
import { processSubject } from '../adapters/process.ts';
import { schemes } from '../schemes.ts';
import { EXIT, exitCodeOf, formatResults, table } from './report.ts';
import { replayFile } from './replay.ts';

class UsageError extends Error {}

const positiveInteger = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${name} takes a whole number of at least 1.`);
  return n;
};
const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('takes a whole number.');
  return n;
};
const schemeName = (value: string, previous: string[] = []) => {
  if (!schemes.has(value)) throw new InvalidArgumentError(`unknown scheme "${value}"; known: ${[...schemes.keys()].join(', ')}.`);
  return [...previous, value];
};

interface SubjectOptions {
  adapter?: string;
  exec?: string;
  timeout: number;
  log?: string;
}

function subjectFrom(options: SubjectOptions): Subject {
  if (options.adapter && options.exec) throw new UsageError('give --adapter or --exec, not both');
  if (options.adapter) {
    if (!existsSync(options.adapter)) throw new UsageError(`--adapter ${options.adapter}: no such file`);
    return moduleSubject(resolve(options.adapter), options.adapter);
  }
  if (options.exec) return processSubject(options.exec, { timeoutMs: options.timeout, logFile: options.log });
  return builtin;
}

const subjectOptions = (command: Command) =>
  command
    .option('--adapter <module>', 'check a module exporting create(scheme, config) instead of the built-in impl/')
    .option('--exec <command>', 'check a program speaking steerspec/1 (JSON lines on stdin/stdout)')
    .addOption(new Option('--timeout <ms>', 'deadline for each reply of an --exec program').default(2000).argParser(positiveInteger('--timeout')))
    .option('--log <file>', "append an --exec program's stderr (its log) to this file")
    .option('--report <file.json>', 'also write the results as JSON');

const program = new Command('steerspec')
  .description('An executable specification of socket steering and a conformance oracle for its implementations.')
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)');

subjectOptions(
  program
    .command('check')
    .description('run the property campaign of each scheme against an implementation (default: the built-in impl/)')
    .option('--scheme <name>', 'a scheme to check; repeat for several (default: all)', schemeName)
    .option('--property <name>', 'only this property; repeat for several', (v: string, prev: string[] = []) => [...prev, v])
    .addOption(new Option('--runs <n>', 'generated runs per property').default(200).argParser(positiveInteger('--runs')))
    .option('--seed <s>', 'seed for the generators (default: new each time, printed)', integer)
    .option('--traces <dir>', 'where counterexamples are saved', 'traces/new'),
).action(async (options) => {
  const subject = subjectFrom(options);
  const seed: number = options.seed ?? (Date.now() ^ (process.pid << 8)) >>> 0;
  const chosen: AnyScheme[] = (options.scheme ?? [...schemes.keys()]).map((name: string) => schemes.get(name)!);
  const wanted: string[] | undefined = options.property;
  if (wanted) {
    const known = new Set(chosen.flatMap((s) => allProperties(s).map((p) => p.name)));
    const unknown = wanted.filter((p) => !known.has(p));
    if (unknown.length) throw new UsageError(`unknown property ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  }
  console.log(`steerspec check: seed ${seed}, ${options.runs} runs per property${subject.describe ? `, subject ${subject.describe}` : ''}`);
  const bar = process.stderr.isTTY ? new SingleBar({ format: '  {scheme}/{property} [{bar}] {value}/{total}', clearOnComplete: true, hideCursor: true }) : undefined;
  const all: PropertyResult[] = [];
  try {
    for (const scheme of chosen) {
      const properties = allProperties(scheme).filter((p) => !wanted || wanted.includes(p.name));
      if (properties.length === 0) continue;
      let current = '';
      const results = await runCampaign({
        scheme,
        subject,
        runs: options.runs,
        seed,
        traceDir: resolve(options.traces),
        properties,
        onProgress: (property, run, of) => {
          if (!bar) return;
          if (property !== current) {
            if (current) bar.stop();
            current = property;
            bar.start(of, 0, { scheme: scheme.name, property });
          }
          bar.update(Math.min(run, of));
        },
      });
      bar?.stop();
      all.push(...results);
      const reasons = new Set(results.map((r) => (r.status === 'skipped' ? r.reason : undefined)));
      const declined = reasons.size === 1 && !reasons.has(undefined);
      console.log(`\n${scheme.name} — ${scheme.summary}\n${declined ? `every property SKIPPED: ${[...reasons][0]}` : formatResults(results)}`);
    }
  } finally {
    bar?.stop();
    await subject.close();
  }
  const code = exitCodeOf(all.map((r) => r.status));
  const count = (s: string) => all.filter((r) => r.status === s).length;
  console.log(
    `\n${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped, ${count('fault')} faulted, ${count('not-run')} not run` +
      ` — seed ${seed} (rerun: npx steerspec check --seed ${seed}${options.scheme ? options.scheme.map((s: string) => ` --scheme ${s}`).join('') : ''})`,
  );
  if (options.report) writeFileSync(options.report, `${JSON.stringify({ seed, subject: subject.describe || 'impl/', exitCode: code, results: all }, null, 2)}\n`);
  process.exitCode = code;
});

subjectOptions(
  program
    .command('replay')
    .description('replay trace files against an implementation (default: the built-in impl/)')
    .argument('<file...>', 'trace files (steerspec-trace/1)'),
).action(async (files: string[], options) => {
  const subject = subjectFrom(options);
  const rows = [['trace', 'steps', 'status', 'detail']];
  const statuses: PropertyResult['status'][] = [];
  const details: string[] = [];
  try {
    for (const file of files) {
      try {
        const result = await replayFile(file, subject);
        const f = result.failure;
        const status = f ? (f.fault ? 'fault' : 'failed') : 'passed';
        statuses.push(status);
        rows.push([file, String(result.trace.commands.length), status.toUpperCase(), f ? `${f.property} at step ${f.index}` : result.skipped.length ? `skipped: ${result.skipped.join(', ')}` : '']);
        if (f) {
          const step = result.steps[f.index];
          details.push(
            `${status === 'fault' ? 'FAULT' : 'FAILED'} ${file}: ${f.property} at step ${f.index}\n  command: ${show(step?.cmd)}\n` +
              `${step && 'outcome' in step ? `  outcome: ${show(step.outcome)}\n` : ''}  ${f.message}`,
          );
        }
      } catch (e) {
        if (e instanceof Unsupported) {
          rows.push([file, '-', 'SKIPPED', `${e.kind}: ${e.message}`]);
          statuses.push('skipped');
        } else throw e;
      }
    }
  } finally {
    await subject.close();
  }
  console.log(table(rows));
  if (details.length) console.log(`\n${details.join('\n\n')}`);
  const code = exitCodeOf(statuses);
  if (options.report) writeFileSync(options.report, `${JSON.stringify({ exitCode: code, traces: rows.slice(1) }, null, 2)}\n`);
  process.exitCode = code;
});

program
  .command('schemes')
  .description('list the specified schemes and their properties')
  .action(() => {
    for (const scheme of schemes.values()) {
      console.log(`${scheme.name} — ${scheme.summary}`);
      for (const p of allProperties(scheme)) console.log(`  ${p.name}${p.needs ? ` (needs ${p.needs.join(', ')})` : ''}: ${p.rule}`);
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : EXIT.usage;
  } else if (e instanceof UsageError || e instanceof InputError) {
    console.error(`steerspec: ${e.message}`);
    process.exitCode = EXIT.usage;
  } else {
    throw e;
  }
}
// Leave even if an adapter's process left a handle open; stdout is synchronous on pipes and files.
process.exit(process.exitCode ?? 0);

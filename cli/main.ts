// steerspec's command line: `check` runs a campaign per scheme, `replay` replays traces on a subject,
// `judge` judges recorded histories without one, `schemes` lists what is specified. The exit codes are
// a contract (README, "Exit codes"): 0 conforms, 1 a property failed, 2 bad usage or a malformed input,
// 3 the subject faulted or something required went unchecked, 4 the oracle failed, 130/143 interrupted.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { BLOCK, runCampaign, type CampaignResult, type PropertyResult } from '../core/campaign.ts';
import { runParallelCampaign } from '../core/parallel.ts';
import { allProperties, type AnyScheme } from '../core/scheme.ts';
import { shellQuote, type Subject } from '../core/subject.ts';
import { TRACE_FORMAT } from '../core/trace.ts';
import { InputError } from '../core/vocabulary.ts';
import { killEveryProcess, PROTOCOL } from '../adapters/process.ts';
import { DEFAULT_RUNS, schemes } from '../schemes.ts';
import { availableParallelism } from 'node:os';
import { mergeReports } from './merge.ts';
import { checkedDirectory, checkedFile, UsageError } from './paths.ts';
import { workerPool } from './pool.ts';
import { subjectOf, type SubjectSpec } from './subjects.ts';
import { describeFile, judgeFile, replayFile, verdictOf, type FileResult } from './replay.ts';
import { EXIT, exitCodeOf, exitCodeOfFiles, formatCampaign, table } from './report.ts';
// Issue 16: the HTML report, JUnit XML and progress without a terminal.
import { checkHtml, filesHtml } from './html-report.ts';
import { landedOf } from './pictures/index.ts';
import { checkJunit, filesJunit } from './junit.ts';
import { progress } from './progress.ts';
import { writeDocs } from './docs.ts';
import { readHistory } from '../core/trace.ts';
import type { Replayed } from './replay.ts';

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const DEFAULT_TIMEOUT = 2000;
/** The summary's count of histories that could not be judged (--parallel), named only when there are some. */
const undecided = (n: number) => (n > 0 ? `, ${n} cannot be judged` : '');

const positiveInteger = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${name} takes a whole number of at least 1.`);
  return n;
};
const seedValue = (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n > 2 ** 32 - 1) throw new InvalidArgumentError('takes a whole number from 0 to 4294967295.');
  return n;
};
const shardValue = (value: string) => {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const [index, of] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!m || of < 1 || index < 1 || index > of) throw new InvalidArgumentError('takes I/N with 1 <= I <= N, e.g. 2/4.');
  return { index, of };
};
const parallelValue = (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 2 || n > 8) throw new InvalidArgumentError('takes a number of branches from 2 to 8.');
  return n;
};
const schemeName = (value: string, previous: string[] = []) => {
  if (!schemes.has(value)) throw new InvalidArgumentError(`unknown scheme "${value}"; known: ${[...schemes.keys()].join(', ')}.`);
  return [...previous, value];
};

/**
 * Runs per scheme below which a second worker costs more than it gives: each thread loads and warms up the
 * oracle on its own, about a second of CPU. Measured 2026-12-03 (reuserps, seed 3, 1 worker against 2): 2,000
 * runs 2.3 s against 3.7 s, 5,000 runs 4.7 s against 5.1 s, 10,000 runs 7.1 s against 6.7 s.
 */
export const RUNS_PER_WORKER = 4_000;
/** Without --workers: the cores, but no more than one worker per RUNS_PER_WORKER runs. */
const defaultWorkers = (runs: number) => Math.max(1, Math.min(availableParallelism(), Math.floor(runs / RUNS_PER_WORKER)));

interface SubjectOptions {
  adapter?: string;
  exec?: string;
  timeout: number;
  log?: string;
}

function specFrom(options: SubjectOptions): SubjectSpec {
  if (options.adapter !== undefined && options.exec !== undefined) throw new UsageError('give --adapter or --exec, not both');
  if (options.exec !== undefined && options.exec.trim() === '') throw new UsageError('--exec needs a command (it was empty)');
  if (options.log !== undefined) checkedFile('--log', options.log, 'write');
  const logFile = options.log === undefined ? {} : { logFile: resolve(options.log) };
  if (options.adapter !== undefined) {
    checkedFile('--adapter', options.adapter, 'read');
    return { kind: 'adapter', path: resolve(options.adapter), asGiven: options.adapter, timeoutMs: options.timeout, ...logFile };
  }
  if (options.exec !== undefined) return { kind: 'exec', command: options.exec, timeoutMs: options.timeout, ...logFile };
  return { kind: 'builtin' };
}
const subjectFrom = (options: SubjectOptions): Subject => subjectOf(specFrom(options));

const subjectOptions = (command: Command) =>
  command
    .option('--adapter <module>', 'check a module exporting create(scheme, config) instead of the built-in impl/')
    .option('--exec <command>', 'check a program speaking steerspec/1 (JSON lines on stdin/stdout)')
    .addOption(new Option('--timeout <ms>', 'deadline for each reply of an --exec program or --adapter module').default(DEFAULT_TIMEOUT).argParser(positiveInteger('--timeout')))
    .option('--log <file>', "append the stderr (its log) of an --exec program or --adapter module to this file");

/** --html and --junit, the same on check, replay and judge (issue 16). */
const reportOptions = (command: Command) =>
  command
    .option('--html <file.html>', 'also write a self-contained HTML report: histories drawn step by step, heat map, corners')
    .option('--junit <file.xml>', 'also write JUnit XML: a testsuite per scheme, a testcase per property (check) or file');
const checkReportPaths = (options: { html?: string; junit?: string }) => {
  if (options.html !== undefined) checkedFile('--html', options.html, 'write');
  if (options.junit !== undefined) checkedFile('--junit', options.junit, 'write');
};

const program = new Command('steerspec')
  .description('An executable specification of socket steering and a conformance oracle for its implementations.')
  .version(`${version} (traces ${TRACE_FORMAT}, protocol ${PROTOCOL})`, '-V, --version')
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)');

/** Stops a campaign on SIGINT/SIGTERM: the subject is killed, what was found is saved and shown. */
function interrupts(subject: Subject) {
  const state: { signal?: 'SIGINT' | 'SIGTERM' } = {};
  const on = (signal: 'SIGINT' | 'SIGTERM') => () => {
    if (state.signal) process.exit(EXIT[signal]); // a second interrupt: leave now
    state.signal = signal;
    subject.abort?.();
    killEveryProcess(); // also those the worker threads started
  };
  const handlers = { SIGINT: on('SIGINT'), SIGTERM: on('SIGTERM') };
  process.on('SIGINT', handlers.SIGINT);
  process.on('SIGTERM', handlers.SIGTERM);
  return state;
}

reportOptions(subjectOptions(
  program
    .command('check')
    .description('run the campaign of each scheme against an implementation (default: the built-in impl/)')
    .option('--scheme <name>', 'a scheme to check; repeat for several (default: all)', schemeName)
    .option('--property <name>', 'only this property (conformance is always checked); repeat for several', (v: string, prev: string[] = []) => [...prev, v])
    .addOption(new Option('--runs <n>', 'generated runs per scheme').default(DEFAULT_RUNS).argParser(positiveInteger('--runs')))
    .option('--seed <s>', 'seed for the generators, 0..4294967295 (default: new each time, printed)', seedValue)
    .option('--path <path>', "fast-check's path to one run of one scheme (printed beside a failure): replays that run and shrinks it")
    .option('--traces <dir>', 'where counterexamples are saved', 'traces/new')
    .addOption(new Option('--workers <n>', `worker threads making runs (same runs and verdicts for any number; default: the cores, at most one per ${RUNS_PER_WORKER} runs per scheme)`).argParser(positiveInteger('--workers')))
    .option('--shard <i/n>', 'make only slice I of N of each campaign (merge the --report files with `steerspec merge`)', shardValue)
    .option('--report <file.json>', 'also write the results as JSON')
    .addOption(new Option('--parallel <n>', 'parallel runs: a prefix, then N branches (2..8) at once, checked for linearizability (docs/concurrency.md)').argParser(parallelValue)),
)).action(async (options) => {
  if (options.parallel !== undefined && (options.property !== undefined || options.shard !== undefined)) {
    throw new UsageError('--parallel checks one property, linearizability, in one process: it takes no --property or --shard');
  }
  checkReportPaths(options);
  const spec = specFrom(options);
  const subject = subjectOf(spec);
  const traceDir = checkedDirectory('--traces', options.traces);
  if (options.report !== undefined) checkedFile('--report', options.report, 'write');
  const seed: number = options.seed ?? (Date.now() ^ (process.pid << 8)) >>> 0;
  const chosen: AnyScheme[] = (options.scheme ?? [...schemes.keys()]).map((name: string) => schemes.get(name)!);
  if (options.path !== undefined && chosen.length !== 1) throw new UsageError('--path names a run of one scheme: give exactly one --scheme');
  if (options.path !== undefined && !/^\d+(:\d+)*$/.test(options.path)) throw new UsageError(`--path ${options.path}: a path is numbers separated by colons, as printed beside a failure`);
  const wanted: string[] | undefined = options.property;
  if (wanted) {
    const known = new Set(chosen.flatMap((s) => allProperties(s).map((p) => p.name)));
    const unknown = wanted.filter((p) => !known.has(p));
    if (unknown.length) throw new UsageError(`unknown property ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  }

  /** The command that makes the same check; with a result, the one that makes just its failing run. */
  const rerun = (r?: PropertyResult) => {
    const words = ['npx steerspec check', subject.describe];
    const names = r ? [r.scheme] : (options.scheme ?? []);
    words.push(...names.map((s: string) => `--scheme ${s}`));
    words.push(...(r ? (options.parallel === undefined ? [`--property ${r.property}`] : []) : (wanted ?? []).map((p) => `--property ${p}`)));
    if (options.parallel !== undefined) words.push(`--parallel ${options.parallel}`);
    words.push(`--runs ${options.runs}`, `--seed ${seed}`);
    if (r?.path ?? options.path) words.push(`--path ${r?.path ?? options.path}`);
    if (options.traces !== 'traces/new') words.push(`--traces ${shellQuote(options.traces)}`);
    if (options.shard && !r) words.push(`--shard ${options.shard.index}/${options.shard.of}`);
    return words.filter(Boolean).join(' ');
  };

  console.log(`steerspec check: seed ${seed}, ${options.runs} runs per scheme${subject.describe ? `, subject ${subject.describe}` : ''}`);
  const interrupted = interrupts(subject);
  const campaigns: CampaignResult[] = [];
  // A pool pays for itself only with more than one block to make; one pool serves every scheme's campaign.
  const workers = Math.min(options.workers ?? defaultWorkers(options.runs), Math.ceil(options.runs / BLOCK));
  const pool = workers > 1 && !options.path && options.parallel === undefined ? workerPool(workers, spec) : undefined;
  try {
    for (const scheme of chosen) {
      if (interrupted.signal) break;
      const properties = allProperties(scheme).filter((p) => !wanted || wanted.includes(p.name));
      if (wanted && properties.length === 0) continue;
      const bar = progress(scheme.name);
      const common = { scheme, subject, runs: options.runs, seed, ...(options.path ? { path: options.path } : {}), traceDir, onProgress: bar.update, stopped: () => interrupted.signal !== undefined };
      const campaign = await (options.parallel !== undefined ? runParallelCampaign({ ...common, branches: options.parallel }) : runCampaign({
        ...common,
        properties,
        landed: landedOf(scheme.name),
        ...(pool ? { executor: pool.executor } : {}),
        ...(options.shard ? { shard: options.shard } : {}),
      })).finally(bar.stop);
      campaigns.push(campaign);
      console.log(`\n${scheme.name} — ${scheme.summary}\n${formatCampaign(campaign, rerun)}`);
      for (const { trace, error } of campaign.unsaved) console.error(`steerspec: could not save a trace (${error}); here it is whole:\n${JSON.stringify(trace)}`);
    }
  } finally {
    try {
      await pool?.close();
    } finally {
      await subject.close();
    }
  }
  const all = campaigns.flatMap((c) => c.results);
  const code = interrupted.signal ? EXIT[interrupted.signal] : exitCodeOf(all);
  const count = (s: string) => all.filter((r) => r.status === s).length;
  const runs = campaigns.reduce((n, c) => n + c.runs, 0);
  const steps = campaigns.reduce((n, c) => n + c.steps, 0);
  console.log(
    `\n${interrupted.signal ? `INTERRUPTED (${interrupted.signal}): partial results. ` : ''}` +
      `${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped, ${count('fault')} faulted, ${count('error')} oracle errors${undecided(count('undecided'))}` +
      ` — ${runs} runs, ${steps} steps, seed ${seed}, exit ${code}\nrerun: ${rerun()}`,
  );
  if (options.report !== undefined) {
    const report = {
      seed,
      runs: options.runs,
      subject: subject.describe || 'impl/',
      shard: options.shard ?? null,
      exitCode: code,
      interrupted: interrupted.signal ?? null,
      rerun: rerun(),
      schemes: campaigns,
    };
    writeFileSync(options.report, `${JSON.stringify(report, null, 2)}\n`);
  }
  const status = `${interrupted.signal ? 'INTERRUPTED' : code === 0 ? 'CONFORMS' : 'DOES NOT CONFORM'}: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped, ${count('fault')} faulted, ${count('error')} oracle errors${undecided(count('undecided'))}`;
  if (options.html !== undefined) writeFileSync(options.html, checkHtml({ campaigns, seed, runs: options.runs, steps, exitCode: code, status, rerun: rerun() }));
  if (options.junit !== undefined) writeFileSync(options.junit, checkJunit(campaigns, rerun()));
  process.exitCode = code;
});

/** replay and judge: each file on its own; a malformed one is reported and the others still run. */
interface FileOutputs {
  command: 'replay' | 'judge';
  report?: string;
  html?: string;
  junit?: string;
  /** The runs of a replay, for the HTML report's observed outcomes. */
  replayed: Map<string, Replayed>;
}

async function judgeFiles(files: string[], judgeOne: (file: string) => Promise<FileResult>, outputs: FileOutputs, stopped = () => false): Promise<number> {
  const { report } = outputs;
  const results: FileResult[] = [];
  for (const file of files) {
    if (stopped()) break;
    results.push(await judgeOne(file));
  }
  const rows = [['file', 'steps', 'status', 'detail']];
  for (const r of results) {
    const detail = r.property !== undefined ? `${r.property} at ${r.step === -1 ? 'init' : `step ${r.step}`}` : r.status === 'conforms' ? (r.skipped ? `skipped: ${r.skipped.join(', ')}` : '') : (r.message ?? '');
    rows.push([r.file, r.steps === undefined ? '-' : String(r.steps), r.status.toUpperCase(), detail]);
  }
  console.log(table(rows));
  const details = results.filter((r) => r.status !== 'conforms').map(describeFile);
  if (details.length) console.log(`\n${details.join('\n\n')}`);
  const count = (s: FileResult['status']) => results.filter((r) => r.status === s).length;
  const code = exitCodeOfFiles(results.map((r) => r.status));
  console.log(`\n${count('conforms')} conform, ${count('failed')} fail, ${count('malformed')} malformed, ${count('fault')} faulted, ${count('skipped')} skipped, ${count('error')} oracle errors${undecided(count('undecided'))} — exit ${code}`);
  if (report !== undefined) writeFileSync(report, `${JSON.stringify({ exitCode: code, files: results }, null, 2)}\n`);
  const status = `${count('conforms')} conform, ${count('failed')} fail, ${count('malformed')} malformed, ${count('fault')} faulted, ${count('skipped')} skipped, ${count('error')} oracle errors${undecided(count('undecided'))}`;
  const rerun = `npx steerspec ${outputs.command} ${process.argv.slice(3).map(shellQuote).join(' ')}`;
  if (outputs.html !== undefined) writeFileSync(outputs.html, filesHtml({ command: outputs.command, results, replayed: outputs.replayed, exitCode: code, status, rerun }));
  if (outputs.junit !== undefined) writeFileSync(outputs.junit, filesJunit(outputs.command, results, (file) => outputs.replayed.get(file)?.trace.scheme.name ?? schemeOfFile(file)));
  return code;
}

/** The scheme a readable history names (for JUnit suites); undefined for a malformed file. */
function schemeOfFile(file: string): string | undefined {
  try {
    return readHistory(file, schemes).scheme.name;
  } catch {
    return undefined;
  }
}

reportOptions(subjectOptions(
  program
    .command('replay')
    .description('replay trace files against an implementation (default: the built-in impl/)')
    .argument('<file...>', `trace files (${TRACE_FORMAT})`)
    .option('--report <file.json>', 'also write the verdict of every file as JSON'),
)).action(async (files: string[], options) => {
  checkReportPaths(options);
  const subject = subjectFrom(options);
  if (options.report !== undefined) checkedFile('--report', options.report, 'write');
  // An interrupt kills the subject; the files judged so far are reported, the rest are not started.
  const interrupted = interrupts(subject);
  try {
    const replayed = new Map<string, Replayed>();
    const replayOne = async (file: string) => {
      const run = await replayFile(file, subject);
      replayed.set(file, run);
      return run;
    };
    const outputs = { command: 'replay' as const, report: options.report, html: options.html, junit: options.junit, replayed };
    const code = await judgeFiles(files, (file) => verdictOf(file, () => replayOne(file)), outputs, () => interrupted.signal !== undefined);
    process.exitCode = interrupted.signal ? EXIT[interrupted.signal] : code;
    if (interrupted.signal) console.log(`INTERRUPTED (${interrupted.signal}): ${files.length} files given, the rest not replayed`);
  } finally {
    await subject.close();
  }
});

reportOptions(program
  .command('judge')
  .description("judge recorded histories against the model, running nothing: traces' observed outcomes, or JSON-lines logs (.jsonl)")
  .argument('<file...>', `traces with "observed" (${TRACE_FORMAT}) or logs (.jsonl)`)
  .option('--report <file.json>', 'also write the verdict of every file as JSON'))
  .action(async (files: string[], options) => {
    if (options.report !== undefined) checkedFile('--report', options.report, 'write');
    checkReportPaths(options);
    const outputs = { command: 'judge' as const, report: options.report, html: options.html, junit: options.junit, replayed: new Map<string, Replayed>() };
    process.exitCode = await judgeFiles(files, (file) => verdictOf(file, () => judgeFile(file)), outputs);
  });

program
  .command('merge')
  .description('combine the --report files of the shards of one check (--shard I/N) into one verdict')
  .argument('<report...>', 'the JSON reports, one per shard')
  .option('--report <file.json>', 'also write the merged results as JSON')
  .action(async (files: string[], options) => {
    if (options.report !== undefined) checkedFile('--report', options.report, 'write');
    const merged = mergeReports(files);
    for (const campaign of merged.schemes) {
      console.log(`\n${campaign.scheme} — ${schemes.get(campaign.scheme)?.summary ?? ''}\n${formatCampaign(campaign, (r) => `${merged.rerun} --scheme ${r.scheme} --property ${r.property}${r.path ? ` --path ${r.path}` : ''}`)}`);
    }
    const all = merged.schemes.flatMap((c) => c.results);
    const code = exitCodeOf(all);
    const count = (s: string) => all.filter((r) => r.status === s).length;
    console.log(`\nmerged ${files.length} shards: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped, ${count('fault')} faulted, ${count('error')} oracle errors — seed ${merged.seed}, exit ${code}`);
    if (options.report !== undefined) writeFileSync(options.report, `${JSON.stringify({ ...merged, exitCode: code }, null, 2)}\n`);
    process.exitCode = code;
  });

program
  .command('schemes')
  .description('list the specified schemes: their readings, freedoms and properties')
  .action(() => {
    for (const scheme of schemes.values()) {
      console.log(`${scheme.name} — ${scheme.summary}`);
      console.log('  readings (an implementation picks one option and keeps it for a whole run):');
      for (const r of scheme.readings) console.log(`    ${r.name} [${r.options.map((o) => JSON.stringify(o)).join(' | ')}]: ${r.meaning}`);
      if (scheme.readings.length === 0) console.log('    none');
      console.log('  freedoms (may differ at every step):');
      for (const f of scheme.freedoms) console.log(`    ${f.name}: ${f.meaning}`);
      console.log('  properties:');
      for (const p of allProperties(scheme)) console.log(`    ${p.name}${p.needs ? ` (needs ${p.needs.join(', ')})` : ''}: ${p.rule}`);
    }
  });

// Issue 16: the generated reference pages.
program
  .command('docs')
  .description('write docs/<scheme>.md, one reference page per scheme, from the code (npm test checks they are current)')
  .option('--out <dir>', 'where the pages go', 'docs')
  .action((options) => {
    for (const file of writeDocs(checkedDirectory('--out', options.out))) console.log(`wrote ${relative(process.cwd(), file)}`);
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
    console.error(`steerspec: internal error: ${(e as Error).stack ?? e}`);
    process.exitCode = EXIT.oracle;
  }
}
// Leave even if an adapter's process left a handle open (and kill any such process, worker threads' included);
// stdout is synchronous on pipes and files.
killEveryProcess();
process.exit(process.exitCode ?? 0);

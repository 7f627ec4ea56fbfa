// The exit-code contract, case by case (README, "Exit codes"): each row is an input, the code it must
// give and a line the output must hold. A row that fails means a behaviour the README forbids came back.
import { spawn } from 'node:child_process';
import { execSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, type ExpectStatic } from 'vitest';
import { cli, root, runCli } from './run-cli.ts';
import { scratchDir } from '../properties/harness.ts';

const run = runCli;

const dir = scratchDir();
const aFile = join(dir, 'a-file');
writeFileSync(aFile, 'not a directory\n');
const traceFile = (name: string, body: string) => {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
};
const register = { op: 'register', listener: 1, uid: 0, reuserps: true, cpus: [0], limit: 0 };
const good = traceFile('good.json', JSON.stringify({ format: 'steerspec-trace/1', scheme: 'reuserps', config: { cpus: 2 }, steps: [{ cmd: register, expect: { ok: true } }] }));
const malformed = traceFile('malformed.json', '{"format":');
const misbehave = 'adapters/fixtures/module-misbehaving.ts';
// 9 connects in flight at once to an unlimited listener, the last answered impossibly: ruling out every
// queue order of the other 8 takes 109 601 visits, past the search's budget, so the history cannot be judged.
const crowd = Array.from({ length: 9 }, (_, b) => ({ id: b, cmd: { op: 'connect', conn: 10 + b, cpu: 0, hash: 0 }, observed: { ok: true, listener: b === 8 ? 7 : 0, local: true } }));
const undecided = traceFile('undecided.json', JSON.stringify({
  format: 'steerspec-trace/2', scheme: 'reuserps', config: { cpus: 1 },
  prefix: [{ cmd: { ...register, listener: 0 }, observed: { ok: true } }],
  branches: crowd.map((op) => [op]),
  events: [...crowd.map((op) => ({ call: op.id })), ...crowd.map((op) => ({ ret: op.id }))],
}));
const quick = ['--scheme', 'reuserps', '--runs', '20', '--seed', '7'];

type Row = [what: string, args: string[], code: number, shows: RegExp, env?: Record<string, string>];
const rows: Row[] = [
  ['the built-in implementation conforms', ['check', ...quick], 0, /0 failed, 0 skipped, 0 faulted, 0 oracle errors/],
  ['--version prints the versions it speaks', ['--version'], 0, /^\d+\.\d+\.\d+ \(traces steerspec-trace\/1, protocol steerspec\/1\)/],
  ['a buggy module fails', ['check', '--adapter', 'adapters/fixtures/module-buggy.ts', '--scheme', 'reuserps', '--runs', '300', '--seed', '7', '--traces', dir], 1, /FAILED reuserps\/limits/],
  ['an empty --exec is bad usage', ['check', '--exec', '', ...quick], 2, /--exec needs a command/],
  ['--traces onto a regular file is bad usage', ['check', '--traces', aFile, ...quick], 2, /--traces .*is not a directory/],
  ['--traces under /proc is bad usage, at once', ['check', '--traces', '/proc/nope/deeper', ...quick], 2, /--traces \/proc\/nope\/deeper: cannot write there/],
  ['--report into a missing folder is bad usage', ['check', '--report', join(dir, 'missing/r.json'), ...quick], 2, /--report .*no such directory/],
  ['--report onto a directory is bad usage', ['check', '--report', dir, ...quick], 2, /--report .*is a directory/],
  ['--log into a missing folder is bad usage', ['check', '--exec', 'true', '--log', join(dir, 'missing/x.log'), ...quick], 2, /--log .*no such directory/],
  ['a seed past 2^32-1 is bad usage', ['check', '--seed', '4294967303', '--scheme', 'reuserps'], 2, /--seed.*0 to 4294967295/],
  ['a negative seed is bad usage', ['check', '--seed', '-1', '--scheme', 'reuserps'], 2, /--seed/],
  ['--path needs one scheme', ['check', '--path', '3'], 2, /--path names a run of one scheme/],
  ['an unknown property is bad usage', ['check', '--property', 'nope', '--scheme', 'reuserps'], 2, /unknown property nope/],
  ['a concurrent history the search cannot judge within its budget is no verdict', ['judge', undecided], 3, /UNDECIDED .*undecided\.json: cannot be judged: .* stopped after 20000 /],
  ['a subject that declines every scheme is no pass', ['check', '--adapter', misbehave, '--scheme', 'reuserps', '--runs', '5'], 3, /every property SKIPPED: the subject declined/, { STEERSPEC_MISBEHAVE: 'declines' }],
  ['a module whose apply never resolves times out', ['check', '--adapter', misbehave, '--timeout', '800', ...quick, '--traces', dir], 3, /timeout at step 3/, { STEERSPEC_MISBEHAVE: 'hang' }],
  ['a module that calls process.exit(0) is a crash', ['check', '--adapter', misbehave, ...quick, '--traces', dir], 3, /crashed at step 3 .*exited with code 0/, { STEERSPEC_MISBEHAVE: 'exit' }],
  ['a module whose apply throws is a crash', ['check', '--adapter', misbehave, ...quick, '--traces', dir], 3, /crashed at step 3 .*the module gave up/, { STEERSPEC_MISBEHAVE: 'throw' }],
  [
    'a definite failure wins over a later fault',
    // One worker: the crash counts the runs of one process, and which blocks a pool's worker makes before
    // it shrinks depends on timing (a second block waits in its queue).
    ['check', '--adapter', misbehave, '--scheme', 'reuserps', '--runs', '300', '--seed', '7', '--workers', '1', '--traces', dir],
    1,
    /FAILED reuserps\/conformance[\s\S]*shrinking stopped: the subject faulted while shrinking \(crashed: .*gave up at run 12/,
    { STEERSPEC_MISBEHAVE: 'buggy-then-crash', STEERSPEC_CRASH_AT: '12' },
  ],
  ['replay of a good, a malformed and a missing file', ['replay', good, malformed, join(dir, 'missing.json')], 2, /1 conform, 0 fail, 2 malformed/],
  ['replay of a failing trace among others', ['replay', good, 'cli/fixtures/wrong-expect.json', malformed], 1, /1 conform, 1 fail, 1 malformed/],
  [
    'a duplicate key is malformed, naming the key',
    ['replay', traceFile('dup.json', '{"format":"steerspec-trace/1","scheme":"reuserps","config":{},"steps":[{"cmd":{"op":"accept","op":"close","listener":1}}]}')],
    2,
    /dup\.json: steps\[0\]\.cmd: duplicate key "op"/,
  ],
  ['deep nesting is malformed, not a stack overflow', ['replay', traceFile('deep.json', `${'['.repeat(100_000)}${']'.repeat(100_000)}`)], 2, /nested deeper than 64 levels/],
  [
    'a model-side validation error is a malformed trace',
    [
      'replay',
      traceFile(
        'v6.json',
        JSON.stringify({ format: 'steerspec-trace/1', scheme: 'rss-ports', config: {}, steps: [{ cmd: { op: 'setRemote', address: '::1', port: 80 } }] }),
      ),
    ],
    2,
    /v6\.json: steps\[0\]\.cmd.*IPv4/,
  ],
  ['judge of a history with nothing observed is malformed', ['judge', good], 2, /has no observed outcome/],
  ['replay against a program that dies at start is a fault', ['replay', good, '--exec', 'exit 1'], 3, /FAULT .*: crashed at init\n {2}the process exited with code 1/],
  [
    'an expect after the subject left the expectations\' history fails, never passes',
    [
      'replay',
      traceFile(
        'lost.json',
        JSON.stringify({
          format: 'steerspec-trace/1',
          scheme: 'reuserps',
          config: { cpus: 2 },
          steps: [
            { cmd: { op: 'register', listener: 1, uid: 0, reuserps: false }, expect: { ok: true } },
            { cmd: { op: 'register', listener: 2, uid: 0, reuserps: false }, expect: { ok: true } },
            { cmd: { op: 'connect', conn: 1, cpu: 0 }, expect: { ok: true, listener: 2, local: false } },
            { cmd: { op: 'accept', listener: 1 } },
            { cmd: { op: 'accept', listener: 2 } },
            { cmd: { op: 'accept', listener: 9 }, expect: { ok: true, conn: 5 } },
          ],
        }),
      ),
    ],
    1,
    /expect .* cannot be judged: at step 3 the subject's outcome left the history/,
  ],
];

describe('exit codes', () => {
  const cases = rows.map(([what, args, code, shows, env]) => ({ what, args, code, shows, env }));
  // The rows are independent processes: run a few at once, so one waiting on a child's exit does not
  // hold up the rest. A row with a short --timeout runs alone: under the others' load a healthy reply
  // could miss its deadline.
  const timed = (c: (typeof cases)[number]) => c.args.includes('--timeout');
  const check = async ({ args, code, shows, env }: (typeof cases)[number], expect: ExpectStatic) => {
    const { code: got, out } = await run(args, env);
    expect(got, out).toBe(code);
    expect(out).toMatch(shows);
  };
  it.concurrent.for(cases.filter((c) => !timed(c)))('$what → exit $code', (c, { expect }) => check(c, expect));
  it.each(cases.filter(timed))('$what → exit $code', (c) => check(c, expect));
});

describe('reports', () => {
  it("replay's --report holds each file's status, failing step and message", async () => {
    const report = join(dir, 'replay-report.json');
    const { code } = await run(['replay', good, 'cli/fixtures/wrong-expect.json', malformed, '--report', report]);
    expect(code).toBe(1);
    const { exitCode, files } = JSON.parse(readFileSync(report, 'utf8'));
    expect(exitCode).toBe(1);
    expect(files.map((f: { status: string }) => f.status)).toEqual(['conforms', 'failed', 'malformed']);
    expect(files[1]).toMatchObject({ property: 'expect', step: 2, message: expect.stringContaining('is not allowed') });
    expect(files[2].message).toMatch(/malformed\.json: invalid JSON/);
  });
});

describe('the printed commands reproduce what they claim', () => {
  it.concurrent('the rerun line beside a failure makes the same failure', async () => {
    const traces = scratchDir();
    // One property: the rerun line names it, and only its failure is shrunk (three would be, through the protocol).
    const first = await run(['check', '--adapter', 'adapters/fixtures/module-buggy.ts', '--scheme', 'reuserps', '--property', 'limits', '--runs', '300', '--seed', '11', '--traces', traces]);
    expect(first.code, first.out).toBe(1);
    const rerun = first.out.match(/ {2}rerun: (npx steerspec check .*)/)![1];
    expect(rerun).toMatch(/--adapter adapters\/fixtures\/module-buggy\.ts .*--property \S+ .*--seed 11 --path \d/);
    const again = await run(rerun.replace(/^npx steerspec /, '').split(' '));
    expect(again.code, again.out).toBe(1);
    const message = (out: string) => out.match(/violated at step \d+ \(\d+ commands[^)]*\): (.*)/)![1];
    expect(message(again.out)).toBe(message(first.out));
  });

  it.concurrent('two campaigns that find the same counterexample both keep the file they report', async () => {
    const traces = scratchDir();
    const args = ['check', '--adapter', 'adapters/fixtures/module-buggy.ts', '--scheme', 'reuserps', '--property', 'limits', '--runs', '300', '--seed', '7', '--traces', traces];
    const both = await Promise.all([run(args), run(args)]);
    for (const { code, out } of both) {
      expect(code).toBe(1);
      for (const [, file] of out.matchAll(/saved(?: before shrinking)?: (\S+)/g)) expect(readdirSync(traces)).toContain(file.split('/').at(-1));
    }
  });
});

describe('the oracle failing', () => {
  it('a trace that cannot be saved is printed whole on stderr, and the check exits 4', async () => {
    const traces = join(scratchDir(), 'traces');
    mkdirSync(traces);
    const slow = "sh -c 'sleep 2; exec python3 adapters/fixtures/reuserps-buggy.py'";
    const child = spawn('node', [cli, 'check', '--exec', slow, '--scheme', 'reuserps', '--runs', '300', '--seed', '7', '--traces', traces], { cwd: root });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    // Once the path was checked and found writable (the first line is printed), it stops being a directory.
    while (!out.includes('steerspec check:')) await new Promise((r) => setTimeout(r, 50));
    rmSync(traces, { recursive: true });
    writeFileSync(traces, 'no longer a directory\n');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, out + err).toBe(4);
    expect(out).toMatch(/NOT SAVED/);
    expect(err).toMatch(/could not save a trace \(.*\); here it is whole:\n\{"format":"steerspec-trace\/1"/);
  });
});

describe('interrupts', () => {
  // Both at once (each waits 3 s for its adapter to hang), each with a marker of its own. The second check
  // has a pool: its first block is made on a worker thread, whose adapter the interrupt must end too.
  it.concurrent.each([
    ['SIGINT', 'one thread', 130, quick],
    ['SIGTERM', 'two workers', 143, ['--scheme', 'reuserps', '--runs', '300', '--seed', '7', '--workers', '2']],
  ] as const)('%s during a hanging adapter (%s): partial table, a valid trace, exit %i, no adapter process left', async (signal, _how, exitCode, campaign) => {
    const traces = scratchDir();
    mkdirSync(traces, { recursive: true });
    const marker = `interrupt-test-${process.pid}-${signal}`;
    const child = spawn('node', [cli, 'check', '--exec', `python3 adapters/fixtures/misbehaving.py hang 3 ${marker}`, '--timeout', '60000', ...campaign, '--traces', traces], { cwd: root });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    await new Promise((r) => setTimeout(r, 3000));
    child.kill(signal);
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, out).toBe(exitCode);
    expect(out).toContain(`INTERRUPTED (${signal})`);
    const saved = readdirSync(traces).filter((f) => f.endsWith('.json'));
    expect(saved.length).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(traces, saved[0]), 'utf8')).format).toBe('steerspec-trace/1');
    const left = execSync('ps -eo args').toString().split('\n').filter((l) => l.includes(marker) && !l.includes('ps -eo'));
    expect(left).toEqual([]);
  });
});

describe('interrupting replay', () => {
  it('SIGINT during a replay against a hanging adapter: exit 130, no adapter process left', async () => {
    const marker = `replay-interrupt-${process.pid}`;
    const child = spawn('node', [cli, 'replay', good, '--exec', `python3 adapters/fixtures/misbehaving.py hang 0 ${marker}`, '--timeout', '60000'], { cwd: root });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    // Wait for the adapter itself (the CLI's own arguments hold the marker too).
    const adapterUp = () => execSync('ps -eo args').toString().split('\n').some((l) => l.includes('misbehaving.py') && !l.includes('steerspec.js') && l.includes(marker));
    while (!adapterUp()) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, out).toBe(130);
    expect(out).toContain('INTERRUPTED (SIGINT)');
    const left = execSync('ps -eo args').toString().split('\n').filter((l) => l.includes(marker) && !l.includes('ps -eo'));
    expect(left).toEqual([]);
  });
});

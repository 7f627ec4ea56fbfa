// The command line as a user meets it: exit codes, messages that name the file, step and field,
// and counterexamples saved where they were asked to go.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';
import { parseTrace } from '../core/trace.ts';
import { scratchDir } from '../properties/harness.ts';
import { schemes } from '../schemes.ts';

const run = (...args: string[]) => runCli(args);

const trace = (steps: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ format: 'steerspec-trace/1', scheme: 'reuserps', config: { cpus: 4 }, steps, ...extra });
const parse = (text: string) => () => parseTrace(text, 'bad.json', schemes);
const register = { op: 'register', listener: 1, uid: 0, reuserps: true, cpus: [0], limit: 0 };

describe('a bad trace gets an error naming the file, the step and the field', () => {
  it.each([
    ['invalid JSON', '{"format":', /^bad\.json: invalid JSON/],
    ['an unknown format', trace([], { format: 'steerspec-trace/9' }), /^bad\.json: format: unknown format/],
    ['an unknown scheme', trace([], { scheme: 'nope' }), /^bad\.json: scheme: unknown scheme "nope"/],
    ['an unknown op', trace([{ cmd: register }, { cmd: { op: 'teleport' } }]), /^bad\.json: steps\[1\]\.cmd\.op: /],
    ['a wrong type', trace([{ cmd: { ...register, listener: 'one' } }]), /^bad\.json: steps\[0\]\.cmd\.listener: .*got "one"/],
    ['an out-of-range CPU', trace([{ cmd: { op: 'connect', conn: 1, cpu: 200 } }]), /^bad\.json: steps\[0\]\.cmd\.cpu: is out of range/],
    ['a negative CPU', trace([{ cmd: { ...register, cpus: [0, -1] } }]), /^bad\.json: steps\[0\]\.cmd\.cpus\[1\]: /],
    ['an unknown field', trace([{ cmd: { ...register, cpu: 0 } }]), /^bad\.json: steps\[0\]\.cmd: Unrecognized key: "cpu"/],
    ['an expect outside the vocabulary', trace([{ cmd: register, expect: { ok: true, listener: 1 } }]), /^bad\.json: steps\[0\]\.expect: /],
    ['a bad config', JSON.stringify({ format: 'steerspec-trace/1', scheme: 'reuserps', config: { cpus: 0 }, steps: [] }), /^bad\.json: config\.cpus: /],
  ])('%s', (_what, text, message) => {
    expect(parse(text)).toThrow(message);
  });
});

describe('steerspec replay', () => {
  it('exits 1 when an expect is not an outcome the model allows', async () => {
    const { code, out } = await run('replay', 'cli/fixtures/wrong-expect.json');
    expect(code).toBe(1);
    expect(out).toMatch(/expect at step 2/);
    expect(out).toMatch(/"error":"refused"/);
  });

  it('exits 2 with the file and field named when a trace is malformed', async () => {
    const dir = scratchDir();
    const file = join(dir, 'bad.json');
    writeFileSync(file, trace([{ cmd: { op: 'connect', conn: 1, cpu: 500 } }]));
    const { code, out } = await run('replay', file);
    expect(code).toBe(2);
    expect(out).toContain(`${file}: steps[0].cmd.cpu: is out of range`);
  });
});

// Each test runs processes of its own in scratch folders: they run at once.
describe.concurrent('steerspec check', () => {
  it('exits 2 on an unknown option, and 0 on --help', async () => {
    expect((await run('check', '--frobnicate')).code).toBe(2);
    expect((await run('check', '--runs', '0')).code).toBe(2);
    const missing = await run('check', '--adapter', 'no/such/module.ts');
    expect(missing.code).toBe(2);
    expect(missing.out).toMatch(/--adapter no\/such\/module\.ts: no such file/);
    const help = await run('check', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--exec <command>/);
  });

  it('loads a TypeScript adapter module from a folder with no package.json', async () => {
    const dir = scratchDir();
    const file = join(dir, 'declines.ts');
    writeFileSync(file, "type Name = string;\nexport function create(scheme: Name): null { return scheme === '' ? null : null; }\n");
    const { code, out } = await run('check', '--adapter', file, '--scheme', 'reuserps', '--runs', '5');
    // It loaded (it declined, rather than failing to load); declining is no pass: exit 3.
    expect(code, out).toBe(3);
    expect(out).toMatch(/every property SKIPPED: the subject declined: unsupported-scheme/);
  });

  it('passes a correct module and fails a buggy one with exit 1 and a saved trace', async () => {
    const good = await run('check', '--adapter', 'adapters/fixtures/module-builtin.ts', '--scheme', 'reuserps', '--runs', '30', '--seed', '7');
    expect(good.code, good.out).toBe(0);
    const dir = scratchDir();
    const bad = await run('check', '--adapter', 'adapters/fixtures/module-buggy.ts', '--scheme', 'reuserps', '--runs', '300', '--seed', '7', '--traces', dir);
    expect(bad.code, bad.out).toBe(1);
    expect(bad.out).toMatch(/replay: npx steerspec replay .* --adapter adapters\/fixtures\/module-buggy\.ts/);
    const saved = readdirSync(dir);
    expect(saved.length).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(dir, saved[0]), 'utf8')).found.property).toBeTruthy();
  });
});

describe.concurrent('steerspec judge', () => {
  const log = (lines: unknown[]) => {
    const file = join(scratchDir(), 'server.jsonl');
    writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    return file;
  };
  const header = { scheme: 'reuserps', config: { cpus: 2, slotsPerCpu: 2 } };
  const registered = { cmd: register, outcome: { ok: true } };

  it('judges a JSON-lines log of a real system without running anything', async () => {
    const conforming = log([header, registered, { cmd: { op: 'connect', conn: 5, cpu: 0, hash: 9 }, outcome: { ok: true, listener: 1, local: true } }]);
    const ok = await run('judge', conforming);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/1 conform, 0 fail/);
    const wrong = log([header, registered, { cmd: { op: 'connect', conn: 5, cpu: 1, hash: 9 }, outcome: { ok: true, listener: 1, local: true } }]);
    const bad = await run('judge', wrong);
    expect(bad.code, bad.out).toBe(1);
    expect(bad.out).toMatch(/conformance at step 1/);
    const broken = log([header, { cmd: register }]);
    const malformed = await run('judge', broken);
    expect(malformed.code).toBe(2);
    expect(malformed.out).toContain(`${broken}:2: outcome`);
  });

  it("judges a saved counterexample's observed history again, with the same verdict", async () => {
    const dir = scratchDir();
    const bad = await run('check', '--adapter', 'adapters/fixtures/module-buggy.ts', '--scheme', 'reuserps', '--property', 'conformance', '--runs', '300', '--seed', '7', '--traces', dir);
    expect(bad.code, bad.out).toBe(1);
    const saved = bad.out.match(/ {2}saved: (\S+)/)![1];
    const judged = await run('judge', saved);
    expect(judged.code, judged.out).toBe(1);
    expect(judged.out).toMatch(/FAILED .*: conformance at step/);
  });
});

describe('steerspec schemes', () => {
  it('lists every scheme with its readings, freedoms and properties', async () => {
    const { code, out } = await run('schemes');
    expect(code).toBe(0);
    expect(out).toMatch(/reuserps — [\s\S]*readings[\s\S]*cursor past the end \["wrap" \| "stay"\][\s\S]*freedoms[\s\S]*which error/);
    for (const name of schemes.keys()) expect(out).toContain(`${name} — `);
  });
});

// Campaigns across cores and machines give the verdict and traces of one worker: --workers N makes the
// same runs (blocks addressed by fast-check's path), and --shard I/N + merge the same verdict.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';
import { sliceOf } from '../core/campaign.ts';
import { scratchDir } from '../properties/harness.ts';

const run = (args: string[]) => runCli(args);
const buggy = ['--adapter', 'adapters/fixtures/module-buggy.ts', '--scheme', 'reuserps', '--runs', '300', '--seed', '7'];
// Progress lines (stderr, every 5 s when not on a terminal) depend on the machine's speed, not on the verdict.
const verdict = (out: string, dir: string) => out.split(dir).join('DIR').replace(/\n.*seed \d+, subject .*\n/, '\n').replace(/^\S+ \d+\/\d+ runs\n/gm, '');

describe.concurrent('--workers', () => {
  // Seed 7 fails in the first block, which a campaign makes alone; module-buggy-late.ts (the bug in one config of
  // eight) first fails at run 46 with seed 2, so the pool makes blocks side by side, past the campaign's end too.
  const late = ['--adapter', 'adapters/fixtures/module-buggy-late.ts', '--scheme', 'reuserps', '--runs', '300', '--seed', '2'];
  it.for([
    ['fails in the first block', buggy, 9],
    ['fails after blocks made at once', late, 47],
  ] as const)('gives the same output and the same saved traces with 1 and 2 workers: a check that %s', async ([, check, runs], { expect }) => {
    const [one, two] = [scratchDir(), scratchDir()];
    const a = await run(['check', ...check, '--workers', '1', '--traces', one, '--report', join(one, 'report.json')]);
    const b = await run(['check', ...check, '--workers', '2', '--traces', two, '--report', join(two, 'report.json')]);
    expect(a.code, a.out).toBe(1);
    expect(b.code).toBe(1);
    expect(a.out).toContain(`— ${runs} runs,`);
    expect(verdict(b.out, two)).toBe(verdict(a.out, one));
    expect(readdirSync(two).sort()).toEqual(readdirSync(one).sort());
    // Where the subject sent connections, counted over the same runs in either case.
    const landed = (dir: string) => (JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).schemes[0].landed as [string, string, number][]).sort();
    expect(landed(one).length).toBeGreaterThan(0);
    expect(landed(two)).toEqual(landed(one));
  });
});

describe.concurrent('--shard and merge', () => {
  it('slices cover every run once, on block edges', () => {
    for (const [runs, of] of [[200, 3], [7, 4], [1000, 7]]) {
      const slices = Array.from({ length: of }, (_, i) => sliceOf(runs, { index: i + 1, of }));
      expect(slices[0][0]).toBe(0);
      expect(slices.at(-1)![1]).toBe(runs);
      for (let i = 1; i < of; i++) expect(slices[i][0]).toBe(slices[i - 1][1]);
    }
  });

  it('merges the shards of a failing check into the verdict of the unsharded one', async () => {
    const dir = scratchDir();
    const whole = await run(['check', ...buggy, '--workers', '1', '--traces', dir, '--report', join(dir, 'whole.json')]);
    const shards = await Promise.all([1, 2, 3].map((i) => run(['check', ...buggy, '--workers', '1', '--shard', `${i}/3`, '--traces', dir, '--report', join(dir, `shard-${i}.json`)])));
    expect(shards.map((s) => s.code).sort()).toContain(1);
    const merged = await run(['merge', ...[1, 2, 3].map((i) => join(dir, `shard-${i}.json`))]);
    expect(merged.code, merged.out).toBe(whole.code);
    const failures = (out: string) => [...out.matchAll(/^(FAILED \S+)[\s\S]*?violated at (step \d+ \(\d+ commands)/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(failures(merged.out)).toEqual(failures(whole.out));
    const runs = (out: string) => out.match(/(\d+) runs, (\d+) steps\n/)!.slice(1);
    expect(runs(merged.out)).toEqual(runs(whole.out));
  });

  it('merges passing shards to exit 0, and refuses a missing shard', async () => {
    const dir = scratchDir();
    const args = ['--scheme', 'dragonfly', '--runs', '60', '--seed', '3', '--workers', '1', '--traces', dir];
    for (const i of [1, 2]) expect((await run(['check', ...args, '--shard', `${i}/2`, '--report', join(dir, `s${i}.json`)])).code).toBe(0);
    const merged = await run(['merge', join(dir, 's1.json'), join(dir, 's2.json')]);
    expect(merged.code, merged.out).toBe(0);
    expect(merged.out).toMatch(/60 runs/);
    const stopped = JSON.parse(readFileSync(join(dir, 's2.json'), 'utf8'));
    writeFileSync(join(dir, 's2-stopped.json'), JSON.stringify({ ...stopped, interrupted: 'SIGTERM' }));
    const interrupted = await run(['merge', join(dir, 's1.json'), join(dir, 's2-stopped.json')]);
    expect(interrupted.code).toBe(2);
    expect(interrupted.out).toMatch(/stopped by SIGTERM/);
    const missing = await run(['merge', join(dir, 's1.json')]);
    expect(missing.code).toBe(2);
    expect(missing.out).toMatch(/needs each shard 1\.\.2 once/);
  });
});

#!/usr/bin/env node
// How much faster a campaign runs on 2 workers than on 1: `node scripts/workers-speedup.mjs [runs] [rounds] [scheme]`.
// Each round runs the same check (same seed, so the same runs and steps) with 1 and with 2 workers, in
// alternating order, and takes the ratio of their wall times; the median of the rounds is printed. Both
// checks must pass and report the same number of steps, or the script exits 1.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [runs = '20000', rounds = '5', scheme = 'reuserps'] = process.argv.slice(2);
const cli = fileURLToPath(new URL('../bin/steerspec.js', import.meta.url));
const check = (workers) => {
  const start = performance.now();
  const out = spawnSync(process.execPath, [cli, 'check', '--scheme', scheme, '--runs', runs, '--seed', '3', '--workers', String(workers)], { encoding: 'utf8' });
  const seconds = (performance.now() - start) / 1000;
  const steps = /(\d+) steps/.exec(out.stdout)?.[1];
  if (out.status !== 0 || steps === undefined) {
    console.error(`steerspec check with ${workers} worker(s) exited ${out.status}:\n${out.stdout}${out.stderr}`);
    process.exit(1);
  }
  return { seconds, steps };
};
const ratios = [];
for (let round = 0; round < Number(rounds); round++) {
  const [one, two] = round % 2 === 0 ? [check(1), check(2)] : ((t) => [t[1], t[0]])([check(2), check(1)]);
  if (one.steps !== two.steps) {
    console.error(`1 worker made ${one.steps} steps, 2 workers ${two.steps}: not the same campaign`);
    process.exit(1);
  }
  ratios.push(one.seconds / two.seconds);
  console.log(`round ${round + 1}: ${runs} runs (${one.steps} steps) in ${one.seconds.toFixed(2)} s with 1 worker, ${two.seconds.toFixed(2)} s with 2: ${ratios.at(-1).toFixed(2)}x`);
}
ratios.sort((a, b) => a - b);
console.log(`median speed-up of 2 workers over 1: ${ratios[ratios.length >> 1].toFixed(2)}x (of ${ratios.map((r) => r.toFixed(2)).join(', ')})`);

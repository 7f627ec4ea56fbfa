#!/usr/bin/env node
// How much faster a campaign runs on 2 workers than on 1, and how much this machine allows at all:
// `node scripts/workers-speedup.mjs [runs] [rounds] [scheme]`.
// Each round runs the same check (same seed, so the same runs and steps) with 1 and with 2 workers, in
// alternating order, and takes the ratio of their wall times. It also runs two independent 1-worker checks
// at once and takes their wall time against twice one alone: the ceiling two cores give here, with no pool
// in the way. The medians of the rounds are printed. Every check must pass and report the same number of
// steps, or the script exits 1.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [runs = '20000', rounds = '5', scheme = 'reuserps'] = process.argv.slice(2);
const cli = fileURLToPath(new URL('../bin/steerspec.js', import.meta.url));

/** One `steerspec check`; resolves with the steps it reports once it exits 0. */
const check = (workers) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'check', '--scheme', scheme, '--runs', runs, '--seed', '3', '--workers', String(workers)]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (status) => {
      const steps = /(\d+) steps/.exec(out)?.[1];
      if (status !== 0 || steps === undefined) {
        console.error(`steerspec check with ${workers} worker(s) exited ${status}:\n${out}`);
        process.exit(1);
      }
      resolve(steps);
    });
  });
/** Wall seconds of `work()`, and the steps each check in it reported. */
const timed = async (work) => {
  const start = performance.now();
  const steps = [await work()].flat();
  return { seconds: (performance.now() - start) / 1000, steps };
};

const pool = [];
const ceiling = [];
let expected;
for (let round = 0; round < Number(rounds); round++) {
  const tasks = [() => timed(() => check(1)), () => timed(() => check(2)), () => timed(() => Promise.all([check(1), check(1)]))];
  const order = round % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
  const result = [];
  for (const i of order) result[i] = await tasks[i]();
  const [one, two, both] = result;
  for (const s of [...one.steps, ...two.steps, ...both.steps]) {
    expected ??= s;
    if (s !== expected) {
      console.error(`one check made ${expected} steps, another ${s}: not the same campaign`);
      process.exit(1);
    }
  }
  pool.push(one.seconds / two.seconds);
  ceiling.push((2 * one.seconds) / both.seconds);
  console.log(
    `round ${round + 1}: ${runs} runs (${expected} steps) in ${one.seconds.toFixed(2)} s with 1 worker, ${two.seconds.toFixed(2)} s with 2 (${pool.at(-1).toFixed(2)}x); ` +
      `two 1-worker checks at once ${both.seconds.toFixed(2)} s (${ceiling.at(-1).toFixed(2)}x)`,
  );
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const list = (xs) => xs.map((r) => r.toFixed(2)).join(', ');
console.log(`median speed-up of 2 workers over 1: ${median(pool).toFixed(2)}x (of ${list(pool)})`);
console.log(`median work of two independent 1-worker checks at once over one alone (the machine's ceiling): ${median(ceiling).toFixed(2)}x (of ${list(ceiling)})`);

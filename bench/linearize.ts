// The linearizability checker's cost (core/linearize.ts), on the size issue 15 names: SO_REUSERPS, a
// prefix of 8 commands, then 3 branches of 8 commands each. Histories are made by the built-in impl under
// a seeded simulated concurrency: every branch keeps one request outstanding, and the impl answers the
// outstanding requests in a random order, so the three branches overlap all the way through and the
// checker must search. Two figures: an accepted history (the search finds an order), and the same
// history with its last reply made wrong (rejected: the search must exhaust every order first).
// Then the sizes `--parallel 2, 4, 8` make (branches of properties/parallel-runs.ts's branchLength), with
// replies that lag: a command takes effect when the impl answers it, but its reply is read some ticks
// later, so the order of returns is not the order of effects, as with the kernel helpers.
import type { History } from '../core/history.ts';
import { linearize } from '../core/linearize.ts';
import { runParallel } from '../core/parallel.ts';
import { checked } from '../core/subject.ts';
import { branchLength } from '../properties/parallel-runs.ts';
import { schemes } from '../schemes.ts';
import { cpuSeconds, spread, type BenchOptions, type SchemeReport } from './measure.ts';

const scheme = schemes.get('reuserps')!;
const config = scheme.config.parse({ cpus: 2, slotsPerCpu: 8 });
export const TARGET_SECONDS = 0.05;

/** xorshift: the same histories on every machine. */
function random(seed: number) {
  let state = seed >>> 0 || 1;
  return (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

/** One history: 8 commands of prefix, `count` branches of `length`, answered in a random order by the built-in impl; with `lag`, each reply is read after a random delay. */
export async function makeHistory(seed: number, count = 3, length = 8, lag = false): Promise<History> {
  const pick = random(seed);
  const prefix = [
    ...[0, 1, 2].map((l) => ({ op: 'register', listener: l, uid: 1000, reuserps: true, cpus: l === 2 ? [0, 1] : [l], limit: l === 2 ? 0 : 3 })),
    ...[0, 1, 2, 3, 4].map((c) => ({ op: 'connect', conn: 100 + c, cpu: c % 2, hash: pick(2 ** 31) })),
  ];
  const branches = Array.from({ length: count }, (_, b) =>
    Array.from({ length }, (_, k) => {
      const kind = pick(10);
      if (kind < 6) return { op: 'connect', conn: 10 * (b + 1) + k, cpu: pick(2), hash: pick(2 ** 31) };
      if (kind < 8) return { op: 'accept', listener: pick(3) };
      return { op: 'close', conn: 100 + pick(5) };
    }),
  );
  const impl = scheme.implementation(config);
  const waiting: (() => void)[] = [];
  // Replies given (the command took effect) but not yet read: released one at a time, at random.
  const lagging: (() => void)[] = [];
  const instance = checked(
    scheme,
    {
      apply: (cmd) => impl.apply(cmd),
      applyAt: (cmd) =>
        new Promise((resolve) =>
          waiting.push(() => {
            const outcome = impl.apply(cmd);
            if (lag) lagging.push(() => resolve(outcome));
            else resolve(outcome);
          }),
        ),
    },
    { hash: true, snapshot: false, concurrent: true },
  );
  const { history } = await runParallel(scheme, config, { config, prefix, branches }, instance, async (all) => {
    let done = false;
    void all.then(() => (done = true));
    while (!done) {
      // Let the branches send what they can, then answer one outstanding request, chosen at random.
      await new Promise((resolve) => setImmediate(resolve));
      if (waiting.length > 0 && (lagging.length === 0 || pick(2) === 0)) waiting.splice(pick(waiting.length), 1)[0]();
      else if (lagging.length > 0) lagging.splice(pick(lagging.length), 1)[0]();
    }
  });
  return history;
}

/** The history with its last reply changed to one no order allows (a connect refused while a listener has no limit). */
function corrupted(history: History): History {
  const lastRet = [...history.events].reverse().find((e): e is { ret: number } => 'ret' in e)!.ret;
  const branches = history.branches.map((b) => b.map((op) => (op.id !== lastRet ? op : { ...op, cmd: { op: 'connect', conn: 999, cpu: 0, hash: 1 }, outcome: { ok: false, error: 'refused' } })));
  return { ...history, branches };
}

export default async function bench(options: BenchOptions): Promise<SchemeReport> {
  const count = options.smoke ? 2 : 20;
  const repeats = options.smoke ? 1 : 3;
  const histories = await Promise.all(Array.from({ length: count }, (_, i) => makeHistory(1 + i)));
  let undecided = 0;
  const timeOf = (history: History, accepted: boolean, budgeted = false): number => {
    const start = cpuSeconds();
    for (let r = 0; r < repeats; r++) {
      const verdict = linearize(scheme.model, config, history);
      // At the generator's sizes a rejected history may exhaust the search's budget: never a pass.
      if (budgeted && !accepted && verdict.ok === null) {
        if (r === 0) undecided++;
        continue;
      }
      if (verdict.ok !== accepted) throw new Error(`linearize bench: a history the bench made ${accepted ? 'accepted' : 'rejected'} was not: ${JSON.stringify(verdict).slice(0, 300)}`);
    }
    return (cpuSeconds() - start) / repeats;
  };
  // One warm-up pass, so the figures are not those of the JIT's first look.
  for (const h of histories.slice(0, 2)) timeOf(h, true);
  const accepted = histories.map((h) => timeOf(h, true));
  const rejected = histories.map((h) => timeOf(corrupted(h), false));
  const visited = (h: History) => linearize(scheme.model, config, h).visited;
  const visits = { accepted: spread(histories.map(visited)).median, rejected: spread(histories.map((h) => visited(corrupted(h)))).median };
  const ratio = (samples: number[]) => spread(samples.map((s) => s / TARGET_SECONDS));
  const sizes = [2, 4, 8].map((n) => ({ n, length: branchLength(n) }));
  const perSize = [];
  for (const { n, length } of sizes) {
    const made = await Promise.all(Array.from({ length: count }, (_, i) => makeHistory(100 * n + i, n, length, true)));
    perSize.push({ n, length, accepted: made.map((h) => timeOf(h, true, true)), rejected: made.map((h) => timeOf(corrupted(h), false, true)) });
  }
  return {
    scheme: 'linearize',
    title: 'linearizability checker (core/linearize.ts): SO_REUSERPS, a prefix of 8, then 3 branches of 8 commands overlapping throughout',
    notes: [
      `${count} seeded histories, each checked ${repeats} times (CPU time per check); the search visits a median ${visits.accepted} (linearized prefixes, state set) pairs on an accepted history, ${visits.rejected} on a rejected one`,
      'rejected: the same histories with the last reply made wrong, so every order must be tried before the verdict',
      `--parallel 2, 4, 8: ${count} histories each, a prefix of 8 and branches of ${sizes.map((s) => s.length).join(', ')} commands (branchLength), replies read in another order than the commands took effect; ${undecided} rejected ones ended undecided (the search's budget)`,
    ],
    figures: [
      { name: 'check one accepted history', unit: 's', value: spread(accepted) },
      { name: 'check one rejected history (exhaustive search)', unit: 's', value: spread(rejected) },
      ...perSize.flatMap(({ n, length, accepted: a, rejected: r }) => [
        { name: `--parallel ${n} (branches of ${length}), lagging replies: accepted`, unit: 's' as const, value: spread(a) },
        { name: `--parallel ${n} (branches of ${length}), lagging replies: rejected`, unit: 's' as const, value: spread(r) },
      ]),
    ],
    ratios: [
      { name: 'accepted history: check time / 50 ms', value: ratio(accepted), target: { atMost: 1 } },
      { name: 'rejected history: check time / 50 ms', value: ratio(rejected), target: { atMost: 1 } },
    ],
    absent: {
      implVsModel: 'the checker has no implementation to compare',
      routeVsLimit: 'the checker routes nothing',
      oracleVsFastCheck: 'fast-check has no linearizability checker',
      step100kVs1k: 'a history of 32 commands, not a growing state',
      table128Vs8: 'the histories use 2 CPUs',
    },
  };
}

// Parallel runs (`--parallel N`) biased toward commands that interfere, per scheme: the hooks
// `Scheme.parallelRuns` the core calls. Races need a small, contended state, so configs are tiny (one or
// two CPUs, a short port range), the prefix sets up a contended resource (limited listeners, a remote),
// and the branches are short (as in QuickCheck's race finding) and hit that same resource.
import fc from 'fast-check';
import type { ParallelRun } from '../core/scheme.ts';
import type { Command as ReuserpsCommand, Config as ReuserpsConfig } from '../model/reuserps.ts';
import { configSchema as rssConfig, type Command as RssCommand, type Config as RssConfig } from '../model/rss-ports.ts';

/**
 * The longest a branch gets: 4 commands up to 4 branches, then at most 12 branch commands in all (2 at 5–6
 * branches, 1 at 7–8). The checker's cost grows with the commands in flight at once and how late the
 * history reveals their order: 8 branches of up to 4 made histories of minutes, and one of 8 branches of
 * up to 2 on the eBPF helper needed 91 000 visits (docs/concurrency.md, "Cost").
 */
export const branchLength = (branches: number) => (branches <= 4 ? 4 : Math.max(1, Math.floor(12 / branches)));

/** Gives every branch connect its own connection id (branch b, k-th command: 10 + 10b + k), so ids never clash by accident. */
const distinctConns = (branches: ReuserpsCommand[][]): ReuserpsCommand[][] =>
  branches.map((cmds, b) => cmds.map((cmd, k) => (cmd.op === 'connect' ? { ...cmd, conn: 10 + 10 * b + k } : cmd)));

/** SO_REUSERPS: connects to the same CPU table and the same limited listener, racing deregistrations, accepts and closes. */
export function reuserpsParallelRuns(branches: number): fc.Arbitrary<ParallelRun<ReuserpsConfig, ReuserpsCommand>> {
  const configs = fc.record({
    cpus: fc.constantFrom(1, 2),
    slotsPerCpu: fc.constant(4),
    policy: fc.constantFrom('round-robin' as const, 'top-down' as const),
    fallback: fc.constantFrom('refuse' as const, 'hash' as const),
  });
  return configs.chain((config) => {
    const cpu = fc.integer({ min: 0, max: config.cpus - 1 });
    const listener = fc.integer({ min: 0, max: 2 });
    const register = (id: fc.Arbitrary<number>) =>
      fc.record({
        op: fc.constant('register' as const),
        listener: id,
        uid: fc.constant(1000),
        reuserps: fc.constant(true),
        cpus: fc.uniqueArray(cpu, { minLength: 1, maxLength: config.cpus }).map((c) => c.sort((a, b) => a - b)),
        limit: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.constant(0) }),
      });
    const connect = fc.record({ op: fc.constant('connect' as const), conn: fc.constant(0), cpu, hash: fc.nat({ max: 2 ** 32 - 1 }) });
    const conn = fc.integer({ min: 10, max: 10 + 10 * branches });
    const command: fc.Arbitrary<ReuserpsCommand> = fc.oneof(
      { weight: 8, arbitrary: connect },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('deregister' as const), listener }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('accept' as const), listener }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const), conn }) },
      { weight: 1, arbitrary: register(fc.integer({ min: 3, max: 4 })) },
    );
    return fc.record({
      config: fc.constant(config),
      prefix: fc.array(register(listener), { minLength: 1, maxLength: 3 }),
      branches: fc.tuple(...Array.from({ length: branches }, () => fc.array(command, { minLength: 1, maxLength: branchLength(branches) }))).map(distinctConns),
    });
  });
}

/** rss-ports: allocations from the same small range and bucket, racing releases of the ports the prefix took. */
export function rssPortsParallelRuns(branches: number): fc.Arbitrary<ParallelRun<RssConfig, RssCommand>> {
  const configs = fc.record({ cpus: fc.constantFrom(1, 2), width: fc.integer({ min: 2, max: 8 }) }).map(({ cpus, width }) =>
    rssConfig.parse({ align: 'rfd', cpus, portRange: [40000, 40000 + width - 1] }),
  );
  return configs.chain((config) => {
    const bucket = fc.integer({ min: 0, max: config.cpus - 1 });
    const allocate = fc.record({ op: fc.constant('allocate' as const), bucket });
    const release = fc.record({ op: fc.constant('release' as const), port: fc.integer({ min: config.portRange[0], max: config.portRange[1] }), revision: fc.constant(1) });
    const command: fc.Arbitrary<RssCommand> = fc.oneof({ weight: 4, arbitrary: allocate }, { weight: 1, arbitrary: release });
    return fc.record({
      config: fc.constant(config),
      prefix: fc.array(allocate, { maxLength: 2 }).map((cmds): RssCommand[] => [{ op: 'setRemote', address: '198.51.100.7', port: 443 }, ...cmds]),
      branches: fc.tuple(...Array.from({ length: branches }, () => fc.array(command, { minLength: 1, maxLength: branchLength(branches) }))),
    });
  });
}

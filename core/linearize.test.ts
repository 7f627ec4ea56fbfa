// The linearizability checker on hand-built histories of SO_REUSERPS and rss-ports, the interleaving
// explorer on the planted races (caught and shrunk) and their locked versions (pass), and trace v2.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lockedPorts, lockedReuserps, racyPorts, racyReuserps } from '../adapters/fixtures/races.ts';
import { reuserpsScheme } from '../properties/reuserps.ts';
import { rssPortsScheme } from '../properties/rss-ports.ts';
import { parseParallelTrace, renderColumns, traceOfHistory, type History } from './history.ts';
import { linearize } from './linearize.ts';
import { initialStates, observe } from './relation.ts';
import { exploreInterleavings, failureOf } from './parallel.ts';
import type { AnyScheme } from './scheme.ts';
import { InputError } from './vocabulary.ts';
import { schemes } from '../schemes.ts';

const config = reuserpsScheme.config.parse({ cpus: 1, slotsPerCpu: 4 });
const register = { op: 'register', listener: 0, uid: 1000, reuserps: true, cpus: [0], limit: 1 };
const connect = (conn: number) => ({ op: 'connect', conn, cpu: 0, hash: 0 });
const ok = { ok: true, listener: 0, local: true };
const refused = { ok: false, error: 'refused' };

/** Two connects to a listener of limit 1, with the given outcomes and event order. */
const twoConnects = (a: unknown, b: unknown, events: History['events']): History => ({
  prefix: [{ cmd: register, outcome: { ok: true } }],
  branches: [[{ id: 0, branch: 0, cmd: connect(1), outcome: a }], [{ id: 1, branch: 1, cmd: connect(2), outcome: b }]],
  events,
});
const overlapping: History['events'] = [{ call: 0 }, { call: 1 }, { ret: 1 }, { ret: 0 }];
const oneThenOther: History['events'] = [{ call: 0 }, { ret: 0 }, { call: 1 }, { ret: 1 }];

describe('linearize', () => {
  it('accepts overlapping connects when either order explains them', () => {
    // #1 was refused although it returned first: #0 took the slot first, in some order real time allows.
    const verdict = linearize(reuserpsScheme.model, config, twoConnects(ok, refused, overlapping));
    expect(verdict).toMatchObject({ ok: true, order: [0, 1] });
  });

  it('rejects what real time forbids: the later connect got the slot, the earlier one was refused', () => {
    const verdict = linearize(reuserpsScheme.model, config, twoConnects(refused, ok, oneThenOther));
    expect(verdict.ok).toBe(false);
    if (verdict.ok !== false) return;
    expect(verdict.op).toBe(0);
    expect(verdict.allowed).toEqual([ok]);
  });

  it('rejects two connects past a limit of 1 in any order, and marks the step with what the spec allows', () => {
    const history = twoConnects(ok, ok, overlapping);
    const verdict = linearize(reuserpsScheme.model, config, history);
    expect(verdict.ok).toBe(false);
    const failure = failureOf({ history, verdict })!;
    expect(failure.message).toMatch(/cannot give \{"ok":true,"listener":0,"local":true\}; the spec allows \{"ok":false,"error":"refused"\}/);
    expect(failure.message).toMatch(/^>> *\d .*#\d \{"op":"connect"/m);
    expect(failure.index).toBeGreaterThanOrEqual(1);
  });

  it('lets an unanswered command have taken effect, or not', () => {
    const history: History = {
      prefix: [{ cmd: register, outcome: { ok: true } }],
      branches: [[{ id: 0, branch: 0, cmd: connect(1) }], [{ id: 1, branch: 1, cmd: connect(2), outcome: refused }]],
      events: [{ call: 0 }, { call: 1 }, { ret: 1 }],
    };
    expect(linearize(reuserpsScheme.model, config, history).ok).toBe(true);
    const taken = { ...history, branches: [history.branches[0], [{ ...history.branches[1][0], outcome: ok }]] };
    expect(linearize(reuserpsScheme.model, config, taken).ok).toBe(true);
  });

  it('judges the prefix first', () => {
    const history: History = { prefix: [{ cmd: register, outcome: { ok: false, error: 'table-full' } }], branches: [[], []], events: [] };
    expect(linearize(reuserpsScheme.model, config, history)).toMatchObject({ ok: false, prefixStep: 0 });
  });

  it('refuses an impossible history, naming the event', () => {
    const early = twoConnects(ok, refused, [{ call: 0 }, { ret: 1 }, { call: 1 }, { ret: 0 }]);
    expect(() => linearize(reuserpsScheme.model, config, early)).toThrow(/events\[1\]\.ret: operation 1 returns before it is called/);
    const sameBranch: History = { prefix: [], branches: [[{ id: 0, branch: 0, cmd: connect(1), outcome: refused }, { id: 1, branch: 0, cmd: connect(2), outcome: refused }]], events: [{ call: 0 }, { call: 1 }, { ret: 0 }, { ret: 1 }] };
    expect(() => linearize(reuserpsScheme.model, config, sameBranch)).toThrow(InputError);
  });

  // Many connects in flight at once to an unlimited listener: every order real time allows queues them
  // differently, so a rejected history's search visits each queue order (and an accepted one's may).
  const crowd = (branches: number, last: unknown): History => {
    const ops = Array.from({ length: branches }, (_, b) => ({ id: b, branch: b, cmd: connect(10 + b), outcome: b === branches - 1 ? last : ok }));
    return {
      prefix: [{ cmd: { ...register, limit: 0 }, outcome: { ok: true } }],
      branches: ops.map((op) => [op]),
      events: [...ops.map((op) => ({ call: op.id })), ...ops.map((op) => ({ ret: op.id }))],
    };
  };

  it('ends undecided, never accepted or rejected, when the search runs out of budget', () => {
    const rejected = crowd(6, { ok: true, listener: 7, local: true });
    const full = linearize(reuserpsScheme.model, config, rejected);
    expect(full).toMatchObject({ ok: false });
    expect(full.visited).toBeGreaterThan(60);
    const cut = linearize(reuserpsScheme.model, config, rejected, 60);
    expect(cut).toMatchObject({ ok: null, undecided: true, visited: 60 });
    if (cut.ok !== null) return;
    expect(cut.why).toMatch(/^cannot be judged: the search for an order of the 6 branch commands stopped after 60 /);
    // A budget that suffices gives the verdict it always did.
    expect(linearize(reuserpsScheme.model, config, rejected, full.visited).ok).toBe(false);
    expect(linearize(reuserpsScheme.model, config, crowd(6, ok), 60).ok).toBe(true);
  });

  it('tries the earliest-returning command first, so an accepted history costs about a visit per command', () => {
    // 8 connects all in flight at once, each returning in its own order: the queue holds them in the
    // order they returned, and an accept on a ninth branch, called last, takes the first of them.
    const returned = [5, 2, 7, 0, 3, 6, 1, 4];
    const ops = returned.map((_, b) => ({ id: b, branch: b, cmd: connect(10 + b), outcome: ok }));
    const accept = { id: 8, branch: 8, cmd: { op: 'accept', listener: 0 }, outcome: { ok: true, conn: 10 + returned[0] } };
    const history: History = {
      prefix: [{ cmd: { ...register, limit: 0 }, outcome: { ok: true } }],
      branches: [...ops.map((op) => [op]), [accept]],
      events: [...ops.map((op) => ({ call: op.id })), ...returned.map((b) => ({ ret: b })), { call: 8 }, { ret: 8 }],
    };
    const verdict = linearize(reuserpsScheme.model, config, history);
    expect(verdict).toMatchObject({ ok: true, order: [...returned, 8] });
    expect(verdict.visited).toBeLessThanOrEqual(10);
  });

  it('renders one column per branch', () => {
    const text = renderColumns(twoConnects(ok, refused, overlapping), 1, 'here');
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/branch 0 .*\| branch 1/);
    expect(lines.find((l) => l.startsWith('>>'))).toMatch(/\| #1 \{"op":"connect","conn":2/);
  });
});

describe('steerspec-trace/2', () => {
  const schemes = new Map<string, AnyScheme>([['reuserps', reuserpsScheme]]);
  it('round-trips a history, and names the field of a bad one', () => {
    const history = twoConnects(ok, refused, overlapping);
    const text = JSON.stringify(traceOfHistory('reuserps', config, history, { property: 'linearizability' }));
    expect(parseParallelTrace(text, 'x.json', schemes).history).toEqual(history);
    const bad = JSON.parse(text);
    bad.branches[1][0].observed = { ok: 'yes' };
    expect(() => parseParallelTrace(JSON.stringify(bad), 'x.json', schemes)).toThrow(/x\.json: branches\[1\]\[0\]\.observed/);
  });
});

describe('interleavings of async JavaScript, under fast-check’s scheduler', () => {
  it.each([
    ['SO_REUSERPS, limit check and load increment split by an await', reuserpsScheme, racyReuserps, /"op":"connect"/],
    ['a port allocator that reads a free port, then marks it', rssPortsScheme, racyPorts, /"op":"allocate"/],
  ] as const)('catches %s and shrinks it to 3 commands', async (_name, scheme, make, op) => {
    const result = await exploreInterleavings({ scheme, make, branches: 2, runs: 100, seed: 7 });
    expect(result.failed).toBe(true);
    // A prefix that sets up the resource, and one command in each branch: the fewest a race can take.
    expect(result.counterexample!.length).toBe(3);
    expect(result.counterexample!.failure.message).toMatch(op);
  });

  it('counts the runs it could not judge within the budget, never as passes', async () => {
    const result = await exploreInterleavings({ scheme: reuserpsScheme, make: lockedReuserps, branches: 3, runs: 10, seed: 7, budget: 1 });
    expect(result.failed).toBe(false);
    expect(result.undecided).toBeGreaterThan(0);
  });

  it.each([
    ['SO_REUSERPS', reuserpsScheme, lockedReuserps],
    ['the port allocator', rssPortsScheme, lockedPorts],
  ] as const)('passes %s with the race closed by a lock', async (_name, scheme, make) => {
    const result = await exploreInterleavings({ scheme, make, branches: 3, runs: 30, seed: 7 });
    expect(result).toEqual({ failed: false, runs: 30 });
  });
});

describe('every scheme under --parallel', () => {
  // The built-in impl answers each command at once, so every history it gives is linearizable: the
  // parallel generator (the scheme's, or its runs dealt out) and the checker must agree on that.
  it.each([...schemes.keys()])('%s: the built-in impl, each command atomic, is linearizable', async (name) => {
    const scheme = schemes.get(name)!;
    const result = await exploreInterleavings({ scheme, make: (config) => scheme.implementation(config), branches: 3, runs: 10, seed: 11 });
    expect(result.counterexample?.failure.message).toBeUndefined();
  });
});

describe('linearize agrees with brute force', () => {
  // Every order of the commands that keeps each branch's order and real time, each judged sequentially:
  // the definition itself, on histories small enough to enumerate.
  const bruteForce = (history: History): boolean => {
    const ops = history.branches.flat();
    const callAt = new Map(history.events.flatMap((e, i) => ('call' in e ? [[e.call, i] as const] : [])));
    const retAt = new Map(history.events.flatMap((e, i) => ('ret' in e ? [[e.ret, i] as const] : [])));
    const orders = (left: typeof ops): (typeof ops)[] =>
      left.length === 0
        ? [[]]
        : left
            .filter((op) => left.every((other) => other === op || (retAt.get(other.id) ?? Infinity) > callAt.get(op.id)!))
            .flatMap((op) => orders(left.filter((o) => o !== op)).map((rest) => [op, ...rest]));
    return orders(ops).some((order) => {
      const model = reuserpsScheme.model as AnyScheme['model'];
      let set = initialStates(model, config);
      for (const step of [...history.prefix, ...order]) {
        set = observe(model, set, step.cmd, step.outcome).map((m) => m.after);
        if (set.length === 0) return false;
      }
      return true;
    });
  };
  // Each command with an outcome it can give in some state, so that both verdicts come up.
  const command = fc.oneof(
    fc.record({ cmd: fc.integer({ min: 1, max: 9 }).map((conn) => connect(conn)), outcome: fc.constantFrom(ok, refused, { ok: true, listener: 1, local: true }) }),
    fc.record({ cmd: fc.constant({ op: 'deregister', listener: 0 }), outcome: fc.constantFrom({ ok: true, migrated: [], reset: [] }, { ok: false, error: 'unknown-listener' }) }),
    fc.record({ cmd: fc.constant({ op: 'accept', listener: 1 }), outcome: fc.constantFrom({ ok: true, conn: null }, { ok: false, error: 'unknown-listener' }) }),
  );
  const histories = fc
    .record({
      second: fc.boolean(),
      branches: fc.array(fc.array(command, { minLength: 1, maxLength: 2 }), { minLength: 2, maxLength: 3 }),
      order: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
    })
    .map(({ second, branches, order }): History => {
      // A random valid event order: at each step some branch calls its next command or returns its current one.
      const ops = branches.map((b, bi) => b.map((s, k) => ({ id: bi * 10 + k, branch: bi, cmd: s.cmd, outcome: s.outcome })));
      const next = ops.map(() => 0);
      const open = ops.map(() => false);
      const events: History['events'] = [];
      for (let i = 0; events.length < ops.flat().length * 2; i++) {
        const live = ops.map((_, b) => b).filter((b) => open[b] || next[b] < ops[b].length);
        const b = live[(order[i % order.length] + i) % live.length];
        const op = ops[b][next[b]];
        events.push(open[b] ? { ret: op.id } : { call: op.id });
        if (open[b]) next[b]++;
        open[b] = !open[b];
      }
      const prefix = [{ cmd: register, outcome: { ok: true } }, ...(second ? [{ cmd: { ...register, listener: 1, limit: 2 }, outcome: { ok: true } }] : [])];
      return { prefix, branches: ops, events };
    });
  it('on random small SO_REUSERPS histories, accepted and rejected', () => {
    let accepted = 0;
    fc.assert(
      fc.property(histories, (history) => {
        const expected = bruteForce(history);
        if (expected) accepted++;
        expect(linearize(reuserpsScheme.model, config, history).ok).toBe(expected);
      }),
      { numRuns: 200, seed: 5 },
    );
    // Both verdicts are exercised, or the comparison says little.
    expect(accepted).toBeGreaterThan(5);
    expect(accepted).toBeLessThan(190);
  });
});

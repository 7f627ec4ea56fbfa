// The core on its own, with a toy scheme that knows no steering: a counter whose direction is a
// reading (fixed per run) and a `pick` whose answer is a freedom (any option, at every step).
import fc from 'fast-check';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { match } from 'ts-pattern';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCampaign } from './campaign.ts';
import { Journal, raw } from './journal.ts';
import { allowedOutcomes, follow, initialStates, judge, observe, type Branch, type Model } from './relation.ts';
import { startingAt } from './positions.ts';
import { LONG_RUN, runSequence } from './runner.ts';
import { everyStep, snapshotMatchesModel, type Property, type Scheme } from './scheme.ts';
import { checked, type Subject } from './subject.ts';
import { canonical, sameValue } from './vocabulary.ts';

type Cmd = { op: 'tick' } | { op: 'pick'; options: number[] };
type Out = { value: number } | { got: number };
interface State {
  direction: 'up' | 'down';
  value: number;
  picks: number[];
}
const toyModel: Model<{ start: number }, State, Cmd, Out> = {
  init: (config, read) => ({ direction: read('direction', ['up', 'down'] as const), value: config.start, picks: [] }),
  step: (s, cmd, choose) =>
    match(cmd)
      .with({ op: 'tick' }, () => {
        s.value += s.direction === 'up' ? 1 : -1;
        return { value: s.value };
      })
      .with({ op: 'pick' }, (c) => {
        const got = choose('which option', c.options);
        s.picks.push(got);
        return { got };
      })
      .exhaustive(),
};

describe('the set-valued relation', () => {
  const config = { start: 0 };
  const tick = { op: 'tick' } as const;

  it('starts with one branch per reading and keeps the readings that explain the history', () => {
    const set = initialStates(toyModel, config);
    expect(set.map((b) => b.readings)).toEqual([{ direction: 'up' }, { direction: 'down' }]);
    expect(allowedOutcomes(toyModel, set, tick).map(canonical).sort()).toEqual(['{"value":-1}', '{"value":1}']);
    const after = judge(toyModel, set, tick, { value: 1 });
    expect(after.allowed && after.next.map((b) => b.readings)).toEqual([{ direction: 'up' }]);
  });

  it('rejects a history that needs one reading at one step and the other later', () => {
    let set = initialStates(toyModel, config);
    const first = judge(toyModel, set, tick, { value: 1 });
    if (!first.allowed) throw new Error('the first tick is allowed');
    set = first.next;
    expect(judge(toyModel, set, tick, { value: 0 }).allowed).toBe(false);
  });

  it('allows a freedom to differ at every step, and never lets a readBack hint reject', () => {
    let set = initialStates(toyModel, config);
    for (const got of [3, 1, 3]) {
      const verdict = judge(toyModel, set, { op: 'pick', options: [1, 2, 3] }, { got });
      if (!verdict.allowed) throw new Error(`pick ${got} is allowed`);
      set = verdict.next;
    }
    expect(set.map((b) => b.state.picks)).toEqual([
      [3, 1, 3],
      [3, 1, 3],
    ]);
    // A model whose readBack names a wrong option: the outcome is still judged by trying every option.
    const lying: Model<{ start: number }, State, Cmd, Out> = {
      ...toyModel,
      step: (s, cmd, choose) => {
        const got = choose('which option', (cmd as { options: number[] }).options, () => 1);
        return { got };
      },
    };
    expect(judge(lying, initialStates(lying, config), { op: 'pick', options: [1, 2] }, { got: 2 }).allowed).toBe(true);
  });

  it('keeps one member per distinct state, and copies a state only where it has several ways forward', () => {
    const set = initialStates(toyModel, config).slice(0, 1);
    const root = set[0].state;
    const [only] = observe(toyModel, set, tick, { value: 1 });
    expect(only.after.state).toBe(root); // advanced in place
    expect(only.before.value).toBe(0); // and its past shown through the journal
    const same = observe(toyModel, [only.after], { op: 'pick', options: [5, 5] }, { got: 5 });
    expect(same).toHaveLength(1);
  });

  it('judge accepts exactly what allowedOutcomes lists (toy model, generated)', () => {
    const command = fc.oneof(fc.constant<Cmd>({ op: 'tick' }), fc.record({ op: fc.constant('pick' as const), options: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }) }));
    fc.assert(
      fc.property(fc.array(command, { maxLength: 8 }), fc.integer({ min: -2, max: 2 }), (commands, probe) => {
        let set = initialStates(toyModel, config);
        for (const cmd of commands) {
          const allowed = new Set(allowedOutcomes(toyModel, set, cmd).map(canonical));
          for (const candidate of [{ value: probe }, { got: probe + 2 }]) {
            expect(judge(toyModel, structuredClone(set), cmd, candidate).allowed).toBe(allowed.has(canonical(candidate)));
          }
          const first = allowedOutcomes(toyModel, set, cmd)[0];
          const verdict = judge(toyModel, set, cmd, first);
          if (!verdict.allowed) return false;
          set = verdict.next;
        }
        return true;
      }),
      { seed: 10, numRuns: 300 },
    );
  });
  it('follow steps plainly where it can and gives the next set observe gives; a rejected step leaves the set as it was', () => {
    // `pick` and `bump-name` are hinted by their outcome (the plain path), `pick-any` is not (the journaled
    // path); `drop` deletes a key (undone by the journal, it comes back last, so options listed by
    // Object.keys change order); `keep` stores a copy of an object of the command, which `bump` changes
    // later. Runs pass CHECKPOINT_EVERY steps, so a restore replays from a later checkpoint.
    type PlainCmd =
      | Cmd
      | { op: 'pick-any'; options: number[] }
      | { op: 'name' | 'drop'; key: string }
      | { op: 'bump-name' }
      | { op: 'keep'; box: { n: number } }
      | { op: 'bump' };
    type PlainState = State & { names: Record<string, number>; box: { n: number } | null };
    type PlainOut = Out | { key: string | null };
    const plain: Model<{ start: number }, PlainState, PlainCmd, PlainOut> = {
      init: (c, read) => ({ ...toyModel.init(c, read), names: {}, box: null }),
      step: (s, cmd, choose) =>
        match(cmd)
          .with({ op: 'tick' }, (c) => toyModel.step(s, c, choose as never))
          .with({ op: 'pick' }, { op: 'pick-any' }, (c) => {
            const got = c.op === 'pick' ? choose('which option', c.options, (o) => ('got' in o ? o.got : undefined)) : choose('any option', c.options);
            s.picks.push(got);
            if (s.picks.length > 3) s.picks.shift();
            return { got };
          })
          .with({ op: 'name' }, (c) => ((s.names[c.key] ??= 0), { key: c.key }))
          .with({ op: 'drop' }, (c) => (delete s.names[c.key], { key: c.key }))
          .with({ op: 'bump-name' }, () => {
            const keys = Object.keys(s.names);
            if (keys.length === 0) return { key: null };
            const key = choose('which name', keys, (o) => ('key' in o ? (o.key ?? undefined) : undefined));
            s.names[key]++;
            return { key };
          })
          .with({ op: 'keep' }, (c) => ((s.box = { ...c.box }), { value: c.box.n }))
          .with({ op: 'bump' }, () => (s.box === null ? { value: -1 } : { value: ++s.box.n }))
          .exhaustive(),
    };
    const keyOf = (set: Branch<PlainState>[]) => set.map((b) => `${b.origin}:${canonical(b.state)}`).sort();
    const options = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 });
    const key = fc.constantFrom('a', 'b', 'c');
    const command: fc.Arbitrary<PlainCmd> = fc.oneof(
      fc.constant({ op: 'tick' as const }),
      fc.record({ op: fc.constantFrom('pick' as const, 'pick-any' as const), options }),
      fc.record({ op: fc.constantFrom('name' as const, 'drop' as const), key }),
      fc.constant({ op: 'bump-name' as const }),
      fc.record({ op: fc.constant('keep' as const), box: fc.record({ n: fc.nat(3) }) }),
      fc.constant({ op: 'bump' as const }),
    );
    const wrongFor = (cmd: PlainCmd): PlainOut => ('options' in cmd ? { got: 9 } : cmd.op === 'bump-name' ? { key: 'zzz' } : 'key' in cmd ? { key: 'zzz' } : { value: 99 });
    // The shortest case of a journaled walk between plain steps: listing a `drop` (undone, so its key comes
    // back last) reorders the options of the next `bump-name`, whose log must not be replayed on the old order.
    let set = initialStates(plain, config);
    for (const cmd of [{ op: 'name', key: 'a' }, { op: 'name', key: 'b' }] as const) set = follow(plain, set, cmd, { key: cmd.key });
    allowedOutcomes(plain, set, { op: 'drop', key: 'a' });
    set = follow(plain, set, { op: 'bump-name' }, { key: 'b' });
    const was = set.map((b) => canonical(b.state));
    expect(follow(plain, set, { op: 'bump-name' }, { key: 'zzz' })).toEqual([]);
    expect(set.map((b) => canonical(b.state))).toEqual(was);
    fc.assert(
      // Some steps go through `observe` on the live set (as `judge` does for a trace's expectations), which
      // steps it in place, and every step lists allowedOutcomes on it: a later restore must not replay a log
      // that no longer describes the state.
      fc.property(fc.array(fc.tuple(command, fc.nat(9), fc.boolean(), fc.nat(4), command), { minLength: 60, maxLength: 150 }), (steps) => {
        let set = initialStates(plain, config);
        for (const [cmd, which, wrong, path, probe] of steps) {
          // A command only listed, never taken (as an error message lists what was allowed).
          allowedOutcomes(plain, set, probe);
          const allowed = allowedOutcomes(plain, set, cmd);
          const outcome = wrong ? wrongFor(cmd) : allowed[which % allowed.length];
          const before = keyOf(set);
          const expected = observe(plain, structuredClone(set), cmd, outcome).map((m) => m.after);
          const next = path === 0 ? observe(plain, set, cmd, outcome).map((m) => m.after) : follow(plain, set, cmd, outcome);
          expect(keyOf(next)).toEqual(keyOf(expected));
          expect(next.map((b) => b.origin)).toEqual(expected.map((b) => b.origin));
          if (next.length === 0) expect(keyOf(set)).toEqual(before);
          else set = next;
        }
      }),
      { seed: 12, numRuns: 80 },
    );
  });
});

describe('the journal', () => {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom('a', 'b', 'c'), value: fc.integer() }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom('a', 'b', 'c') }),
    fc.record({ kind: fc.constant('push' as const), value: fc.integer() }),
    fc.record({ kind: fc.constant('splice' as const), at: fc.nat(4), count: fc.nat(2) }),
    fc.record({ kind: fc.constant('shift' as const) }),
    fc.record({ kind: fc.constant('unshift' as const), value: fc.integer() }),
    fc.record({ kind: fc.constant('splice-in' as const), at: fc.integer({ min: -3, max: 4 }), count: fc.nat(2), value: fc.integer() }),
    fc.record({ kind: fc.constant('sort' as const) }),
    fc.record({ kind: fc.constant('nest' as const), value: fc.integer() }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(3) }),
    // Read-only array methods run on the plain array when it holds no object: results stay journaled.
    fc.record({ kind: fc.constant('filter' as const), value: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant('find' as const), key: fc.nat(1), value: fc.integer() }),
    // Predicates over an array of objects run natively; what they hand out is a draft again.
    fc.record({ kind: fc.constant('filter-objs' as const), value: fc.integer() }),
  );
  it('shows the state as it was through `before`, and restores it with `undo`', () => {
    fc.assert(
      fc.property(fc.array(mutation, { maxLength: 12 }), (mutations) => {
        const state = { record: { a: 1, b: 2 } as Record<string, number>, list: [1, 2, 3], nested: { inner: { n: 0 } }, objs: [{ id: 0, n: 0 }, { id: 1, n: 0 }] };
        const original = structuredClone(state);
        const journal = new Journal();
        const d = journal.draft(state);
        for (const m of mutations) {
          if (m.kind === 'set') d.record[m.key] = m.value;
          if (m.kind === 'delete') delete d.record[m.key];
          if (m.kind === 'push') d.list.push(m.value);
          if (m.kind === 'splice') d.list.splice(m.at, m.count);
          if (m.kind === 'shift') d.list.shift();
          if (m.kind === 'unshift') d.list.unshift(m.value, m.value + 1);
          if (m.kind === 'splice-in') d.list.splice(m.at, m.count, m.value);
          if (m.kind === 'sort') d.list.sort((a, b) => a - b);
          if (m.kind === 'truncate') d.list.length = Math.min(m.at, d.list.length);
          if (m.kind === 'filter') d.list = d.list.filter((x) => x !== m.value && d.list.indexOf(x) >= 0);
          if (m.kind === 'find') d.objs.find((o) => o.id === m.key)!.n = m.value;
          if (m.kind === 'filter-objs') for (const o of d.objs.filter((o) => o.n <= m.value)) o.n = m.value + (d.objs.some((p) => p.n > o.n) ? 1 : 2);
          if (m.kind === 'nest') {
            d.nested.inner.n = m.value;
            d.nested = { inner: d.nested.inner };
          }
        }
        expect(JSON.parse(JSON.stringify(journal.before(state)))).toEqual(original);
        // The before-view's read-only methods see the list as it was, written or not.
        expect(journal.before(state).list.slice(0)).toEqual(original.list);
        expect(journal.before(state).list.indexOf(original.list[1] ?? -1)).toBe(original.list.length > 1 ? original.list.indexOf(original.list[1]) : -1);
        expect([...journal.before(state).list]).toEqual(original.list);
        expect(Object.keys(journal.before(state).record).sort()).toEqual(Object.keys(original.record).sort());
        journal.undo();
        expect(state).toEqual(original);
        expect(raw(d)).toBe(state);
      }),
      { seed: 3, numRuns: 500 },
    );
  });

  it('hands out an array of plain values that the step did not write as it is, and a written one as it was', () => {
    const state = { tables: [[1, 2], [3]], members: [{ id: 1, queue: [7] }] };
    const journal = new Journal();
    const d = journal.draft(state);
    d.tables[1].push(4);
    d.members[0].queue.push(8);
    const before = journal.before(state);
    expect(before.tables[0]).toBe(state.tables[0]);
    expect(before.tables[1]).not.toBe(state.tables[1]);
    expect([...before.tables[1]]).toEqual([3]);
    expect(before.members[0]).not.toBe(state.members[0]);
    expect([...before.members[0].queue]).toEqual([7]);
    journal.settle();
    d.tables[0].push(5);
    expect([...journal.before(state).tables[0]]).toEqual([1, 2]);
  });

  it('never stores a draft inside the state', () => {
    const state = { items: [{ id: 1 }], moved: [] as { id: number }[] };
    const journal = new Journal();
    const d = journal.draft(state);
    d.moved.push({ ...d.items[0] }, d.items[0]);
    expect(structuredClone(state)).toEqual({ items: [{ id: 1 }], moved: [{ id: 1 }, { id: 1 }] });
    expect(state.moved[1]).toBe(state.items[0]);
  });
});

describe('one campaign checks every property on each run', () => {
  // The subject counts down where "up" or "down" was allowed; its third tick breaks a state property
  // and a history property at the same step.
  const below = (limit: number): Property<unknown, State, Cmd, Out> => ({
    name: `never-below-${limit}`,
    rule: `true iff the value never goes below ${limit}`,
    monitor: everyStep(({ after }) => (after.value < limit ? `value ${after.value} < ${limit}` : null)),
  });
  const thirdTick: Property<unknown, State, Cmd, Out> = {
    name: 'fewer-than-three-ticks',
    rule: 'true iff a run has fewer than three ticks',
    monitor: () => {
      let ticks = 0;
      return ({ cmd }) => (cmd.op === 'tick' && ++ticks >= 3 ? 'a third tick' : null);
    },
  };
  const scheme: Scheme<{ start: number }, State, Cmd, Out> = {
    name: 'toy',
    summary: 'a counter',
    config: z.strictObject({ start: z.number().default(0) }) as never,
    command: z.union([z.strictObject({ op: z.literal('tick') }), z.strictObject({ op: z.literal('pick'), options: z.array(z.number()) })]),
    outcome: (cmd) => (cmd.op === 'tick' ? z.strictObject({ value: z.number() }) : z.strictObject({ got: z.number() })) as never,
    model: toyModel,
    readings: [{ name: 'direction', options: ['up', 'down'], meaning: 'which way a tick counts' }],
    freedoms: [{ name: 'which option', meaning: 'a pick may answer any option' }],
    implementation: () => ({ apply: () => ({ value: 0 }) }),
    properties: [below(-2), thirdTick],
    runs: fc.record({ config: fc.constant({ start: 0 }), commands: fc.array(fc.constant<Cmd>({ op: 'tick' }), { maxLength: 12 }) }),
    corners: [],
  };
  let made = 0;
  const subject: Subject = {
    describe: '(toy)',
    async start(s) {
      made++;
      let value = 0;
      return checked(s, { apply: () => ({ value: --value }) }, { hash: true, snapshot: false });
    },
    async close() {},
  };

  it('reports a run that breaks both properties under each, each shrunk against itself', async () => {
    const traceDir = mkdtempSync(join(tmpdir(), 'steerspec-core-'));
    const campaign = await runCampaign({ scheme, subject, runs: 50, seed: 5, traceDir });
    const byName = Object.fromEntries(campaign.results.map((r) => [r.property, r]));
    expect(byName.conformance.status).toBe('passed');
    expect(byName['never-below--2'].status).toBe('failed');
    expect(byName['fewer-than-three-ticks'].status).toBe('failed');
    expect(byName['never-below--2'].length).toBe(3);
    expect(byName['fewer-than-three-ticks'].length).toBe(3);
    expect(byName['never-below--2'].trace).not.toBe(byName['fewer-than-three-ticks'].trace);
    const trace = JSON.parse(readFileSync(byName['never-below--2'].trace!, 'utf8'));
    expect(trace.found).toMatchObject({ property: 'never-below--2', seed: 5, path: expect.stringMatching(/^\d+(:\d+)*$/) });
    expect(trace.steps.at(-1)).toEqual({ cmd: { op: 'tick' }, observed: { value: -3 } });
    // The campaign ends with the first run that fails; each property's count is the runs it saw.
    expect(campaign.runs).toBeLessThan(50);
    expect(byName.conformance.runs).toBeGreaterThan(0);
  });

  it('counts the runs and steps each property was evaluated on; a run that leaves the relation fails conformance', async () => {
    const result = await runSequence({
      scheme,
      config: { start: 0 },
      commands: [{ op: 'tick' }, { op: 'tick' }],
      implementation: { apply: () => ({ value: 7 }) },
      properties: [below(-2)],
    });
    expect(result.failures.map((f) => f.property)).toEqual(['conformance']);
    expect(result.evaluated).toEqual({ conformance: 1, 'never-below--2': 0 });
    expect(made).toBeGreaterThan(0);
  });

  // A subject counting up whose snapshot shows a wrong value from `from` on.
  const drifting = (from: number) => {
    let value = 0;
    return {
      apply: () => ({ value: ++value }),
      snapshot: () => ({ direction: 'up', value: value >= from ? value + 1_000 : value, picks: [] }),
    };
  };
  const ticks = (n: number) => Array.from({ length: n }, () => tick);
  const tick = { op: 'tick' } as const;

  it('compares the snapshot at every step of a run of at most LONG_RUN steps', async () => {
    const result = await runSequence({ scheme, config: { start: 0 }, commands: ticks(LONG_RUN), implementation: drifting(300), properties: [snapshotMatchesModel, below(-2)] });
    expect(result.failures).toMatchObject([{ property: 'snapshot-matches-model', index: 299 }]);
    expect(result.evaluated['snapshot-matches-model']).toBe(LONG_RUN);
  });

  it('in a longer run, evaluates properties on the model and compares snapshots spaced by their size, and at the last step', async () => {
    const n = LONG_RUN + 500;
    const caught = await runSequence({ scheme, config: { start: 0 }, commands: ticks(n), implementation: drifting(1_200), properties: [snapshotMatchesModel, below(-2)] });
    expect(caught.failures.map((f) => [f.property, f.index >= 1_199])).toEqual([['snapshot-matches-model', true]]);
    // A tiny state is compared at every step; the count is what was really compared.
    expect(caught.evaluated['snapshot-matches-model']).toBe(n);
    expect(caught.evaluated['never-below--2']).toBe(n);
    // Only the end differs: the comparison at the last step finds it.
    const atEnd = await runSequence({ scheme, config: { start: 0 }, commands: ticks(n), implementation: drifting(n), properties: [snapshotMatchesModel] });
    expect(atEnd.failures).toMatchObject([{ property: 'snapshot-matches-model', index: n - 1 }]);
    // A state that grows to over a thousand values is compared less often, and still at the last step.
    const picks: number[] = [];
    const growing = { apply: () => (picks.push(1), { got: 1 }), snapshot: () => ({ direction: 'up', value: 0, picks: [...picks] }) };
    const pick = { op: 'pick', options: [1] } as const;
    const grown = await runSequence({ scheme, config: { start: 0 }, commands: Array.from({ length: n }, () => pick), implementation: growing, properties: [snapshotMatchesModel] });
    expect(grown.failures).toEqual([]);
    expect(grown.evaluated['snapshot-matches-model']).toBeLessThan(n / 2);
    expect(grown.evaluated['snapshot-matches-model']).toBeGreaterThan(n / 10);
  });

  it('readings wait on snapshots: followed only when the first cannot explain a step or a snapshot, with the same verdicts', async () => {
    // A counter of either direction; its snapshot shows the direction it counts in.
    const counter = (step: 1 | -1, shown = step === 1 ? 'up' : 'down') => {
      let value = 0;
      const picks: number[] = [];
      return {
        apply: (cmd: unknown) => ((cmd as Cmd).op === 'tick' ? { value: (value += step) } : (picks.push(1), { got: 1 })),
        snapshot: () => ({ direction: shown, value, picks: [...picks] }),
      };
    };
    const run = (implementation: ReturnType<typeof counter>, commands: Cmd[], allReadings = false) =>
      runSequence({ scheme, config: { start: 0 }, commands, implementation, properties: [snapshotMatchesModel], allReadings });
    const pick: Cmd = { op: 'pick', options: [1] };
    // Picks leave the direction open: the runner follows only the first reading, unless told to follow all.
    expect((await run(counter(1), [pick, pick])).readings).toEqual([{ direction: 'up' }]);
    expect((await run(counter(1), [pick, pick], true)).readings).toEqual([{ direction: 'up' }, { direction: 'down' }]);
    // An outcome only the waiting reading gives wakes it, through the steps before.
    const down = await run(counter(-1), [pick, tick, tick]);
    expect(down.failures).toEqual([]);
    expect(down.readings).toEqual([{ direction: 'down' }]);
    // So does a snapshot only the waiting reading matches, while both explain every outcome.
    const shownDown = await run(counter(1, 'down'), [pick, pick]);
    expect(shownDown.failures).toEqual([]);
    expect(shownDown.evaluated['snapshot-matches-model']).toBe(2);
    // A history that needs one reading and then the other is still rejected.
    let value = 0;
    const both = { apply: () => ({ value: (value = value === 0 ? 1 : 0) }), snapshot: () => ({ direction: 'up', value, picks: [] }) };
    const rejected = await runSequence({ scheme, config: { start: 0 }, commands: [tick, tick], implementation: both, properties: [snapshotMatchesModel] });
    expect(rejected.failures.map((f) => [f.property, f.index])).toEqual([['conformance', 1]]);
    expect(rejected.failures[0].message).toMatch(/under any of the 2 states|is not allowed/);
  });
});

describe('runs replayed from a path', () => {
  it("are fast-check's own, with the generator that starts at the nearest position reached", () => {
    const run = fc.record({ a: fc.array(fc.integer({ min: 1000, max: 1e6 }), { minLength: 3, maxLength: 6 }), b: fc.string() });
    // Out of order, repeated, and past the positions kept: each is the run fast-check gives by its path.
    for (const seed of [3, 4_294_967_295]) {
      for (const path of ['0', '25', '7', '25', '400', '399', '1200', '3:1', '25:0:2']) {
        const plain = fc.sample(run, { seed, path, numRuns: 3 });
        expect(fc.sample(run, { seed, path, numRuns: 3, randomType: startingAt(path) })).toEqual(plain);
      }
    }
  });
});

describe('sameValue', () => {
  it('agrees with comparing canonical JSON', () => {
    const value = fc.letrec((tie) => ({
      any: fc.oneof({ depthSize: 'small' }, fc.integer({ min: -2, max: 2 }), fc.boolean(), fc.constant(null), fc.constant(undefined), tie('list'), tie('record')),
      list: fc.array(tie('any'), { maxLength: 3 }),
      record: fc.dictionary(fc.constantFrom('a', 'b', 'reset'), tie('any'), { maxKeys: 3 }),
    })).any;
    // The same value with every `reset` list reversed: a reset list is a set, so it is the same value.
    const reversedResets = (v: unknown, key?: string): unknown =>
      Array.isArray(v) ? (key === 'reset' ? [...v].reverse() : v).map((x) => reversedResets(x)) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reversedResets(x, k)])) : v;
    fc.assert(
      fc.property(value, value, (a, b) => {
        expect(sameValue(a, b)).toBe(canonical(a) === canonical(b));
        expect(sameValue(a, structuredClone(a))).toBe(true);
        expect(sameValue(a, reversedResets(a))).toBe(true);
      }),
      { seed: 8, numRuns: 3000 },
    );
  });
});

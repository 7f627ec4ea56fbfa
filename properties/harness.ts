// The tests every scheme gets: its properties hold for impl/ and for the model itself, each planted
// bug is caught by the property named for it and shrunk to a short trace, and the generators reach
// every corner in at least 5% of runs. A scheme's test file is one call to `checkScheme`.
import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCampaign, type PropertyResult } from '../core/campaign.ts';
import { runSequence } from '../core/runner.ts';
import { allowedOutcomes, initialState, initialStates, judge, observe, stepWith, type Choose } from '../core/relation.ts';
import { allProperties, conformance, withoutHash, type AnyScheme } from '../core/scheme.ts';
import { canonical } from '../core/vocabulary.ts';
import { builtin, checked, modelSubject, type Subject } from '../core/subject.ts';
import { DEFAULT_RUNS } from '../schemes.ts';
import type { PlantedBug } from './planted.ts';

/** Every planted bug must be caught on each of these seeds within the default budget. */
export const BUG_SEEDS = [20261123, 1, 2, 3, 4];

export interface SchemeChecks {
  bugs: PlantedBug[];
  /** Runs per property for impl/ and the model (default 150). */
  runs?: number;
  /** Longest acceptable shrunk counterexample (default 8). */
  maxShrunkLength?: number;
  seed?: number;
  /** Runs within which each seed must catch each planted bug (default: `steerspec check`'s). */
  budget?: number;
}

/** A fresh temporary directory: tests that expect failures never write into the repo. */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'steerspec-'));
}

/** The same subject, declaring that it computes its own hash: commands reach it without `hash`. */
export function withoutHashCapability(subject: Subject): Subject {
  return {
    ...subject,
    async start(scheme, config) {
      const instance = await subject.start(scheme, config);
      return { ...instance, capabilities: { ...instance.capabilities, hash: false } };
    },
  };
}

export function subjectOf(bug: PlantedBug, snapshot = true): Subject {
  return {
    describe: `(planted bug: ${bug.name})`,
    async start(scheme, config) {
      return checked(scheme, bug.implementation(config), { hash: true, snapshot });
    },
    async close() {},
  };
}

/**
 * A hand-written run the generators rarely or never make (wider than the implementation's first
 * typed-array sizes; a value exactly at an edge), checked like a generated one: the built-in
 * implementation with its snapshot, conformance and every property on every step. It pins the growth
 * paths and the edges of impl/ without moving the generators' runs (which the planted bugs' margins need).
 */
export async function expectRunConforms(scheme: AnyScheme, config: unknown, commands: unknown[]): Promise<void> {
  const parsed = scheme.config.parse(config);
  const result = await runSequence({
    scheme,
    config: parsed,
    commands,
    implementation: checked(scheme, scheme.implementation(parsed), { hash: true, snapshot: true }),
    properties: allProperties(scheme),
  });
  expect(result.fault).toBeUndefined();
  expect(result.failures).toEqual([]);
  expect(result.steps.length).toBe(commands.length);
}

const failuresOf = ({ results }: { results: PropertyResult[] }) =>
  results.filter((r) => r.status !== 'passed').map((r) => `${r.property}: ${r.status} ${r.failure?.message ?? r.reason ?? ''} ${r.trace ?? ''}`);

export function checkScheme(scheme: AnyScheme, checks: SchemeChecks): void {
  const runs = checks.runs ?? 150;
  const seed = checks.seed ?? 20261123;
  const maxLength = checks.maxShrunkLength ?? 8;

  it(`every ${scheme.name} property holds for the optimized implementation`, async () => {
    const results = await runCampaign({ scheme, subject: builtin, runs, seed, traceDir: scratchDir() });
    expect(failuresOf(results)).toEqual([]);
  });

  const [forModel, forImplementations] = [false, true].map((only) => allProperties(scheme).filter((p) => !!p.implementationOnly === only));
  it(`the ${scheme.name} model obeys its own properties, whichever allowed outcome it takes`, async () => {
    const results = await runCampaign({ scheme, subject: modelSubject(seed), runs, seed, traceDir: scratchDir(), properties: forModel });
    expect(failuresOf(results)).toEqual([]);
  });

  it(`the ${scheme.name} model obeys its own properties when commands come without a hash`, async () => {
    const results = await runCampaign({ scheme, subject: modelSubject(seed, { hash: false }), runs: runs / 2, seed, traceDir: scratchDir(), properties: forModel });
    expect(failuresOf(results).filter((f) => !f.includes('skipped'))).toEqual([]);
  });

  it(`the ${scheme.name} implementation conforms when it must compute its own hash`, async () => {
    const results = await runCampaign({ scheme, subject: withoutHashCapability(builtin), runs: runs / 2, seed, traceDir: scratchDir(), properties: [conformance] });
    expect(failuresOf(results)).toEqual([]);
  });

  for (const property of forImplementations) {
    it(`${property.name} is narrower than the ${scheme.name} model: the model allows what it forbids`, async () => {
      const { results } = await runCampaign({ scheme, subject: modelSubject(seed), runs: 400, seed, traceDir: scratchDir(), properties: [property] });
      expect(results.find((r) => r.property === property.name)!.status).toBe('failed');
    });
  }

  it(`the ${scheme.name} generators reach every corner in at least 5% of runs`, () => {
    const samples = fc.sample(scheme.runs, { seed, numRuns: 400 });
    const reached = new Map(scheme.corners.map((c) => [c.name, 0]));
    for (const { config, commands } of samples) {
      const watchers = scheme.corners.map((c) => ({ name: c.name, reached: c.watch(), hit: false }));
      let state = initialState(scheme.model, config);
      commands.forEach((cmd, index) => {
        const { outcome, next } = stepWith(scheme.model, state, cmd);
        for (const w of watchers) w.hit ||= w.reached({ config, index, before: state, cmd, outcome, after: next });
        state = next;
      });
      for (const w of watchers) if (w.hit) reached.set(w.name, reached.get(w.name)! + 1);
    }
    const shares = Object.fromEntries([...reached].map(([name, n]) => [name, `${((100 * n) / samples.length).toFixed(1)}%`]));
    console.log(`${scheme.name} corners reached (share of ${samples.length} runs):`, shares);
    for (const [name, n] of reached) expect(n / samples.length, `corner ${name}`).toBeGreaterThanOrEqual(0.05);
  });

  it(`the ${scheme.name} model takes exactly the readings and freedoms the scheme declares`, () => {
    const read = new Set<string>();
    const chosen = new Set<string>();
    // Each run also without hashes: some freedoms (which listener a hash-less connect gets) arise only there.
    const samples = fc.sample(scheme.runs, { seed, numRuns: 200 });
    for (const { config, commands } of [...samples, ...samples.map((r) => ({ ...r, commands: r.commands.map(withoutHash) }))]) {
      const state = scheme.model.init(config, (reading, options) => {
        read.add(reading);
        return options[0];
      });
      for (const cmd of commands) {
        const choose: Choose<unknown> = (freedom, options) => {
          chosen.add(freedom);
          return options[options.length - 1];
        };
        // In place: nothing here looks at the state before a step.
        scheme.model.step(state, cmd, choose);
      }
    }
    expect([...read].sort()).toEqual(scheme.readings.map((r) => r.name).sort());
    const declared = new Set(scheme.freedoms.map((f) => f.name));
    expect([...chosen].filter((name) => !declared.has(name))).toEqual([]);
  });

  it(`judge accepts exactly the ${scheme.name} outcomes that allowedOutcomes lists`, () => {
    // Along generated runs (the model taking random choices), every allowed outcome is accepted and
    // near misses of them (a number moved by one, a flag flipped, an outcome of another step) are
    // accepted exactly when they are listed.
    let random = seed;
    const pick = (n: number) => ((random = (random * 1103515245 + 12345) >>> 0) >>> 8) % n;
    const nearMisses = (o: unknown): unknown[] => {
      if (typeof o === 'number') return [o + 1, o - 1];
      if (typeof o === 'boolean') return [!o];
      if (Array.isArray(o)) return o.flatMap((v, i) => nearMisses(v).map((w) => o.map((x, j) => (j === i ? w : x))));
      if (o !== null && typeof o === 'object') {
        return Object.entries(o).flatMap(([k, v]) => nearMisses(v).map((w) => ({ ...o, [k]: w })));
      }
      return [];
    };
    let judged = 0;
    for (const { config, commands } of fc.sample(scheme.runs, { seed, numRuns: 30 })) {
      let set = initialStates(scheme.model, config);
      const seen: unknown[] = [];
      for (const cmd of commands) {
        const allowed = allowedOutcomes(scheme.model, set, cmd, 64);
        if (allowed.length >= 64) break;
        const listed = new Set(allowed.map(canonical));
        const candidates = [...allowed, ...allowed.flatMap(nearMisses), ...seen.slice(-6)];
        for (const candidate of candidates) {
          // judge's verdict is observe's (it only adds the message of a rejection). observe moves the set
          // only for an outcome it allows, so only a listed one is observed on a copy; the message is
          // built only for a mismatch (thousands of candidates pass).
          const listedHere = listed.has(canonical(candidate));
          const allowed = observe(scheme.model, listedHere ? structuredClone(set) : set, cmd, candidate).length > 0;
          if (allowed !== listedHere) expect(allowed, `${canonical(cmd)} → ${canonical(candidate)}`).toBe(listedHere);
          judged++;
        }
        const taken = allowed[pick(allowed.length)];
        seen.push(taken);
        const verdict = judge(scheme.model, set, cmd, taken);
        if (!verdict.allowed) throw new Error('unreachable: an allowed outcome was rejected');
        set = verdict.next;
      }
    }
    expect(judged).toBeGreaterThan(100);
  });

  it(`every ${scheme.name} property has a planted bug that it catches`, () => {
    const names = scheme.properties.map((p) => p.name);
    const uncaught = names.filter((name) => !checks.bugs.some((b) => b.caughtBy === name));
    expect(uncaught).toEqual([]);
  });

  // Each planted bug on every seed of BUG_SEEDS within the default budget; each campaign stops at the
  // first failing run, so a bug caught early costs little more than its shrinking.
  const budget = checks.budget ?? DEFAULT_RUNS;
  const caught: { bug: string; seed: number; runs: number; length: number }[] = [];
  afterAll(() => {
    if (caught.length === 0) return;
    const histogram = new Map<number, number>();
    for (const { length } of caught) histogram.set(length, (histogram.get(length) ?? 0) + 1);
    const lengths = [...histogram].sort(([a], [b]) => a - b).map(([length, n]) => `${length}: ${n}`);
    const slowest = caught.reduce((a, b) => (b.runs > a.runs ? b : a));
    console.log(
      `${scheme.name} planted bugs: ${caught.length} catches on ${BUG_SEEDS.length} seeds within ${budget} runs; shrunk lengths (commands: catches) ${lengths.join(', ')}; ` +
        `most runs needed ${slowest.runs} ("${slowest.bug}", seed ${slowest.seed})`,
    );
  });
  for (const bug of checks.bugs) {
    const shape = bug.needs ? `, needs at least ${bug.needs} commands,` : '';
    const longest = bug.longest ?? maxLength;
    it(`${bug.caughtBy} catches the planted bug "${bug.name}" on ${BUG_SEEDS.length} seeds within ${budget} runs${shape} and shrinks it to at most ${longest} commands`, async () => {
      const property = allProperties(scheme).find((p) => p.name === bug.caughtBy);
      expect(property, `property ${bug.caughtBy}`).toBeDefined();
      for (const bugSeed of BUG_SEEDS) {
        const campaign = await runCampaign({ scheme, subject: subjectOf(bug), runs: budget, seed: bugSeed, traceDir: scratchDir(), properties: [property!] });
        const result = campaign.results.find((r) => r.property === bug.caughtBy)!;
        expect(result.status, `seed ${bugSeed}: ${result.reason ?? ''}`).toBe('failed');
        expect(result.length!, `seed ${bugSeed}: shrunk trace ${result.trace}`).toBeLessThanOrEqual(longest);
        if (bug.needs) expect(result.length!, `seed ${bugSeed}: shrunk trace ${result.trace}`).toBeGreaterThanOrEqual(bug.needs);
        caught.push({ bug: bug.name, seed: bugSeed, runs: campaign.runs, length: result.length! });
      }
      // Without a snapshot, checking only this property still fails the run that leaves the relation
      // (shown with the first bug planted for each property). Conformance is named so that the campaign
      // ends at that run: asked about one property alone, it would go on through all 400.
      if (checks.bugs.find((b) => b.caughtBy === bug.caughtBy) !== bug) return;
      const blind = await runCampaign({ scheme, subject: subjectOf(bug, false), runs: 400, seed, traceDir: scratchDir(), properties: [conformance, property!] });
      const failed = blind.results.filter((r) => r.status === 'failed').map((r) => r.property);
      expect(failed.length, `${bug.name} without a snapshot`).toBeGreaterThan(0);
      expect(failed.every((name) => name === 'conformance' || name === bug.caughtBy)).toBe(true);
    });
  }
}

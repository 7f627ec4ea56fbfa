// The tests every scheme gets: its properties hold for impl/ and for the model itself, each planted
// bug is caught by the property named for it and shrunk to a short trace, and the generators reach
// every corner in at least 5% of runs. A scheme's test file is one call to `checkScheme`.
import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCampaign, type PropertyResult } from '../core/campaign.ts';
import { stepWith } from '../core/relation.ts';
import { allProperties, conformance, type AnyScheme, type Implementation } from '../core/scheme.ts';
import { builtin, checked, modelSubject, type Subject } from '../core/subject.ts';

export interface PlantedBug<Config = any> {
  /** What is wrong, as a sentence. */
  name: string;
  /** The property that must catch it. */
  caughtBy: string;
  implementation(config: Config): Implementation;
}

/** A planted bug made of an implementation subclass with one method wrong. */
export function plantedBug<Config>(name: string, caughtBy: string, Impl: new (config: Config) => Implementation): PlantedBug<Config> {
  return { name, caughtBy, implementation: (config) => new Impl(config) };
}

export interface SchemeChecks {
  bugs: PlantedBug[];
  /** Runs per property for impl/ and the model (default 150). */
  runs?: number;
  /** Longest acceptable shrunk counterexample (default 8). */
  maxShrunkLength?: number;
  seed?: number;
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

export function subjectOf(bug: PlantedBug): Subject {
  return {
    describe: `(planted bug: ${bug.name})`,
    async start(scheme, config) {
      return checked(scheme, bug.implementation(config), { hash: true, snapshot: true });
    },
    async close() {},
  };
}

const failuresOf = (results: PropertyResult[]) =>
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
      const [result] = await runCampaign({ scheme, subject: modelSubject(seed), runs: 400, seed, traceDir: scratchDir(), properties: [property] });
      expect(result.status).toBe('failed');
    });
  }

  it(`the ${scheme.name} generators reach every corner in at least 5% of runs`, () => {
    const samples = fc.sample(scheme.runs, { seed, numRuns: 400 });
    const reached = new Map(scheme.corners.map((c) => [c.name, 0]));
    for (const { config, commands } of samples) {
      const watchers = scheme.corners.map((c) => ({ name: c.name, reached: c.watch(), hit: false }));
      let state = scheme.model.init(config);
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

  it(`every ${scheme.name} property has a planted bug that it catches`, () => {
    const names = scheme.properties.map((p) => p.name);
    const uncaught = names.filter((name) => !checks.bugs.some((b) => b.caughtBy === name));
    expect(uncaught).toEqual([]);
  });

  for (const bug of checks.bugs) {
    it(`${bug.caughtBy} catches the planted bug "${bug.name}" and shrinks it to at most ${maxLength} commands`, async () => {
      const property = allProperties(scheme).find((p) => p.name === bug.caughtBy);
      expect(property, `property ${bug.caughtBy}`).toBeDefined();
      const [result] = await runCampaign({
        scheme,
        subject: subjectOf(bug),
        runs: 2000,
        seed,
        traceDir: scratchDir(),
        properties: [property!],
      });
      expect(result.status, result.reason).toBe('failed');
      expect(result.length!, `shrunk trace ${result.trace}`).toBeLessThanOrEqual(maxLength);
    });
  }
}

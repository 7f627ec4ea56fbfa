// The harness's checks for fastsocket (properties/harness.ts, `checkScheme`), written out because one
// property, `accept-alternates`, pins a choice the model leaves open (which queue an accept takes when
// both are non-empty): the model taking its choices at random is checked against every other property,
// and the alternation itself against the optimized implementation. Everything else is as in checkScheme.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCampaign, type PropertyResult } from '../core/campaign.ts';
import { stepWith } from '../core/relation.ts';
import { allProperties } from '../core/scheme.ts';
import { builtin, modelSubject } from '../core/subject.ts';
import { acceptAlternates, fastsocketScheme as scheme } from './fastsocket.ts';
import { fastsocketBugs as bugs } from './fixtures/fastsocket-bugs.ts';
import { scratchDir, subjectOf } from './harness.ts';

const runs = 150;
const seed = 20261123;
const maxLength = 8;

const failuresOf = (results: PropertyResult[]) =>
  results.filter((r) => r.status !== 'passed').map((r) => `${r.property}: ${r.status} ${r.failure?.message ?? r.reason ?? ''} ${r.trace ?? ''}`);

describe('fastsocket', () => {
  it('every fastsocket property holds for the optimized implementation', async () => {
    const results = await runCampaign({ scheme, subject: builtin, runs, seed, traceDir: scratchDir() });
    expect(failuresOf(results)).toEqual([]);
  });

  it('the fastsocket model obeys its own properties (all but accept-alternates), whichever allowed outcome it takes', async () => {
    const properties = allProperties(scheme).filter((p) => p !== acceptAlternates);
    const results = await runCampaign({ scheme, subject: modelSubject(seed), runs, seed, traceDir: scratchDir(), properties });
    expect(failuresOf(results)).toEqual([]);
  });

  it('the fastsocket model allows an accept that does not alternate (accept-alternates is a rule for implementations)', async () => {
    const [result] = await runCampaign({ scheme, subject: modelSubject(seed), runs: 400, seed, traceDir: scratchDir(), properties: [acceptAlternates] });
    expect(result.status).toBe('failed');
  });

  it('the fastsocket generators reach every corner in at least 5% of runs', () => {
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

  it('every fastsocket property has a planted bug that it catches', () => {
    const uncaught = scheme.properties.map((p) => p.name).filter((name) => !bugs.some((b) => b.caughtBy === name));
    expect(uncaught).toEqual([]);
  });

  for (const bug of bugs) {
    it(`${bug.caughtBy} catches the planted bug "${bug.name}" and shrinks it to at most ${maxLength} commands`, async () => {
      const property = allProperties(scheme).find((p) => p.name === bug.caughtBy);
      expect(property, `property ${bug.caughtBy}`).toBeDefined();
      const [result] = await runCampaign({ scheme, subject: subjectOf(bug), runs: 2000, seed, traceDir: scratchDir(), properties: [property!] });
      expect(result.status, result.reason).toBe('failed');
      expect(result.length!, `shrunk trace ${result.trace}`).toBeLessThanOrEqual(maxLength);
    });
  }
});

// The JUnit XML parses, and says what the campaign said: a testsuite per scheme, a testcase per property,
// a failure with its message and trace path, a skipped property with its reason.
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../core/campaign.ts';
import { allProperties } from '../core/scheme.ts';
import { builtin } from '../core/subject.ts';
import { reuserpsBugs } from '../properties/fixtures/reuserps-bugs.ts';
import { scratchDir, subjectOf } from '../properties/harness.ts';
import { schemes } from '../schemes.ts';
import { checkJunit, filesJunit } from './junit.ts';

const parse = (text: string) => new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase'].includes(name) }).parse(text);

describe('--junit', () => {
  it('has one testsuite per scheme and one testcase per property; failures carry the message and the trace', async () => {
    const reuserps = schemes.get('reuserps')!;
    const bug = reuserpsBugs.find((b) => b.caughtBy === 'limits')!;
    // Without a snapshot, snapshot-matches-model is skipped; the planted bug fails a property (conformance or limits).
    const failing = await runCampaign({ scheme: reuserps, subject: subjectOf(bug, false), runs: 300, seed: 20261123, traceDir: scratchDir() });
    const passing = await runCampaign({ scheme: schemes.get('dragonfly')!, subject: builtin, runs: 25, seed: 1, traceDir: scratchDir() });
    const xml = parse(checkJunit([failing, passing], 'npx steerspec check --seed 1'));
    const suites = xml.testsuites.testsuite;
    expect(suites.map((s: { name: string }) => s.name)).toEqual(['reuserps', 'dragonfly']);
    expect(suites[0].testcase.map((c: { name: string }) => c.name)).toEqual(allProperties(reuserps).map((p) => p.name));
    const result = failing.results.find((r) => r.status === 'failed')!;
    expect(result, 'the planted bug is found').toBeDefined();
    const limits = suites[0].testcase.find((c: { name: string }) => c.name === result.property);
    expect(limits.failure.message).toContain(result.failure!.message.slice(0, 40));
    expect(limits.failure['#text']).toContain(`trace: ${result.trace}`);
    const skipped = suites[0].testcase.find((c: { name: string }) => c.name === 'snapshot-matches-model');
    expect(skipped.skipped.message).toMatch(/needs capability snapshot/);
    expect(Number(suites[0].failures)).toBe(failing.results.filter((r) => r.status === 'failed').length);
    expect(Number(suites[0].skipped)).toBe(failing.results.filter((r) => r.status === 'skipped').length);
    expect(Number(suites[1].failures) + Number(suites[1].errors)).toBe(0);
    expect(Number(suites[1].tests)).toBe(allProperties(schemes.get('dragonfly')!).length);
  });

  it('escapes what XML cannot hold as text', () => {
    const text = checkJunit(
      [{ scheme: 'reuserps', seed: 1, runs: 1, steps: 1, unsaved: [], results: [{ scheme: 'reuserps', property: 'p<&>"', rule: 'r', kind: 'required', status: 'failed', runs: 1, steps: 1, failure: { property: 'p', index: 0, message: 'a\u0001b <x> & "y"' }, trace: 't.json' }] }],
      "it's",
    );
    const c = parse(text).testsuites.testsuite[0].testcase[0];
    expect(c.name).toBe('p<&>"');
    expect(c.failure.message).toBe('violated at step 0: ab <x> & "y"');
  });

  it('gives replay and judge a suite per scheme and a testcase per file', () => {
    const text = filesJunit('judge', [
      { file: 'a.json', status: 'conforms', steps: 2 },
      { file: 'b.json', status: 'failed', steps: 3, property: 'conformance', step: 2, message: 'not allowed' },
      { file: 'c.json', status: 'malformed', message: 'c.json: invalid JSON' },
    ], (f) => (f === 'c.json' ? undefined : 'numa'));
    const suites = parse(text).testsuites.testsuite;
    expect(suites.map((s: { name: string }) => s.name)).toEqual(['numa', 'malformed']);
    expect(suites[0].testcase[1].failure.message).toBe('conformance at step 2: not allowed');
    expect(suites[1].testcase[0].error.message).toMatch(/invalid JSON/);
  });
});

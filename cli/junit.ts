// JUnit XML (--junit FILE) for CI dashboards: one <testsuite> per scheme, one <testcase> per property
// (check) or per file (replay, judge). A failure carries the message and the trace path; a fault or an
// oracle error is an <error>; a skipped property says why. Written by hand: the format is a dozen elements.
import type { CampaignResult } from '../core/campaign.ts';
import type { FileResult } from './replay.ts';

/** XML text: the five entities escaped, characters XML 1.0 forbids dropped. */
const xml = (value: unknown): string =>
  String(value)
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch]!);

interface Case {
  name: string;
  outcome: 'passed' | 'failure' | 'error' | 'skipped';
  message?: string;
  body?: string;
}

function suite(name: string, cases: Case[], properties: Record<string, string> = {}): string {
  const count = (o: Case['outcome']) => cases.filter((c) => c.outcome === o).length;
  const props = Object.entries(properties).map(([k, v]) => `      <property name="${xml(k)}" value="${xml(v)}"/>`);
  const lines = [`  <testsuite name="${xml(name)}" tests="${cases.length}" failures="${count('failure')}" errors="${count('error')}" skipped="${count('skipped')}" time="0">`];
  if (props.length) lines.push('    <properties>', ...props, '    </properties>');
  for (const c of cases) {
    const open = `    <testcase classname="steerspec.${xml(name)}" name="${xml(c.name)}" time="0"`;
    if (c.outcome === 'passed') lines.push(`${open}/>`);
    else if (c.outcome === 'skipped') lines.push(`${open}>`, `      <skipped message="${xml(c.message ?? '')}"/>`, '    </testcase>');
    else lines.push(`${open}>`, `      <${c.outcome} message="${xml(c.message ?? '')}">${xml(c.body ?? '')}</${c.outcome}>`, '    </testcase>');
  }
  lines.push('  </testsuite>');
  return lines.join('\n');
}

const document = (name: string, suites: string[]) => `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${xml(name)}">\n${suites.join('\n')}\n</testsuites>\n`;

export function checkJunit(campaigns: CampaignResult[], rerun: string): string {
  return document(
    'steerspec check',
    campaigns.map((c) =>
      suite(
        c.scheme,
        c.results.map((r): Case => {
          const trace = `trace: ${r.trace ?? 'NOT SAVED (printed on stderr)'}`;
          const message = r.failure ? `${r.failure.fault ?? 'violated'} at ${r.failure.index < 0 ? 'init' : `step ${r.failure.index}`}: ${r.failure.message}` : (r.reason ?? '');
          if (r.status === 'passed') return { name: r.property, outcome: 'passed' };
          if (r.status === 'skipped') return { name: r.property, outcome: 'skipped', message: r.reason ?? 'skipped' };
          const body = [trace, ...(r.replay ? [`replay: ${r.replay}`] : []), `rule: ${r.rule}`].join('\n');
          return { name: r.property, outcome: r.status === 'failed' ? 'failure' : 'error', message, body };
        }),
        { seed: String(c.seed), runs: String(c.runs), steps: String(c.steps), rerun },
      ),
    ),
  );
}

/** replay and judge: a suite per scheme of the files (unreadable files form the suite "malformed"). */
export function filesJunit(command: 'replay' | 'judge', results: FileResult[], schemeOf: (file: string) => string | undefined): string {
  const bySuite = new Map<string, Case[]>();
  for (const r of results) {
    const name = schemeOf(r.file) ?? 'malformed';
    const where = r.step === undefined ? '' : ` at ${r.step === -1 ? 'init' : `step ${r.step}`}`;
    const message = `${r.property ?? r.status}${where}: ${r.message ?? ''}`;
    const c: Case =
      r.status === 'conforms'
        ? { name: r.file, outcome: 'passed' }
        : r.status === 'skipped'
          ? { name: r.file, outcome: 'skipped', message: r.message ?? 'skipped' }
          : { name: r.file, outcome: r.status === 'failed' ? 'failure' : 'error', message, body: `trace: ${r.file}` };
    bySuite.set(name, [...(bySuite.get(name) ?? []), c]);
  }
  return document(`steerspec ${command}`, [...bySuite].map(([name, cases]) => suite(name, cases)));
}

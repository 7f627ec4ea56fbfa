// What `npm run bench` runs (bench/main.ts loads it): every scheme's bench, or the ones named, in this one
// process; prints each figure as a median with its interquartile range, and writes reports/bench.json
// (or --json FILE): one object per scheme with its headline ratios, null where one does not apply.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { HEADLINE, meets, type Headline, smokeFromEnv, targetText, type BenchOptions, type Figure, type Ratio, type SchemeReport, type Spread } from './measure.ts';
import { benches } from './suite.ts';
import linearize from './linearize.ts';

/** Benches of the oracle's own machinery, not of one scheme: run with the schemes' or by name. */
export const machinery: Record<string, (options: BenchOptions) => Promise<SchemeReport>> = { linearize };

const si = (n: number): string => {
  const a = Math.abs(n);
  return a >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : a >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : a >= 1 ? n.toFixed(1) : n.toPrecision(3);
};
const time = (s: number): string => (s >= 1e-3 ? `${(s * 1e3).toFixed(2)} ms` : `${(s * 1e6).toFixed(1)} µs`);
const show = (v: Spread, unit: Figure['unit']): string => {
  const f = unit === 's' ? time : (n: number) => `${si(n)}/s`;
  return `${f(v.median).padStart(11)}  (IQR ${f(v.q1)} – ${f(v.q3)}, n=${v.n})`;
};
const showRatio = (r: Ratio): string => {
  const verdict = meets(r);
  const target = verdict === undefined ? '' : `  target ${targetText(r)}: ${verdict ? 'met' : 'MISSED'}`;
  return `${r.value.median.toFixed(r.value.median < 10 ? 3 : 1).padStart(9)}x  (IQR ${r.value.q1.toFixed(3)} – ${r.value.q3.toFixed(3)})${target}`;
};

export function print(report: SchemeReport): void {
  console.log(`\n## ${report.title}`);
  for (const note of report.notes) console.log(`  ${note}`);
  for (const f of report.figures) {
    const verdict = meets(f);
    console.log(`  ${f.name.padEnd(78)} ${show(f.value, f.unit)}${verdict === undefined ? '' : `  target ${targetText(f)}: ${verdict ? 'met' : 'MISSED'}`}`);
  }
  for (const r of report.ratios) console.log(`  ${(r.key ? `${r.key}: ` : '').padEnd(19)}${r.name.padEnd(92)} ${showRatio(r)}`);
  for (const [key, why] of Object.entries(report.absent)) console.log(`  ${`${key}: `.padEnd(19)}${'null'.padStart(101)}  (${why})`);
}

/** The object reports/bench.json holds for one scheme. */
export function jsonOf(report: SchemeReport) {
  const headline = Object.fromEntries(
    HEADLINE.map((key) => {
      const r = report.ratios.find((x) => x.key === key);
      return [key, r ? r.value.median : null];
    }),
  ) as Record<Headline, number | null>;
  return {
    scheme: report.scheme,
    ...headline,
    why: report.absent,
    ratios: report.ratios.map((r) => ({ key: r.key ?? null, name: r.name, ...r.value, target: r.target ?? null, met: meets(r) ?? null })),
    figures: report.figures.map((f) => ({ name: f.name, unit: f.unit, ...f.value, ...(f.target ? { target: f.target, met: meets(f) } : {}) })),
  };
}

export async function runBenches(names: string[], options: BenchOptions): Promise<SchemeReport[]> {
  const all = { ...benches, ...machinery };
  const unknown = names.filter((n) => !(n in all));
  if (unknown.length > 0) throw new Error(`no bench for ${unknown.join(', ')} (there are: ${Object.keys(all).join(', ')})`);
  const reports: SchemeReport[] = [];
  for (const name of names.length > 0 ? names : Object.keys(all)) {
    const report = await all[name](options);
    print(report);
    reports.push(report);
  }
  return reports;
}

export async function main(args: string[], how: string): Promise<void> {
  const jsonAt = args.indexOf('--json');
  const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : 'reports/bench.json';
  const smoke = args.includes('--smoke') || smokeFromEnv();
  const names = args.filter((a, i) => !a.startsWith('--') && (jsonAt < 0 || i !== jsonAt + 1));
  const started = new Date();
  const reports = await runBenches(names, { smoke });
  const ratios = [...reports.flatMap((r) => r.ratios), ...reports.flatMap((r) => r.figures)];
  const missed = ratios.filter((r) => meets(r) === false);
  console.log(
    `\nnode ${process.version}, ${started.toISOString()}, ${how}${smoke ? ', SMOKE (tiny samples: not figures to quote)' : ''}; ` +
      `${ratios.filter((r) => meets(r) !== undefined).length - missed.length} targets met, ${missed.length} missed${missed.length ? `: ${missed.map((r) => ('key' in r && r.key) || r.name).join(', ')}` : ''}`,
  );
  mkdirSync(dirname(jsonFile), { recursive: true });
  const json = { date: started.toISOString(), node: process.version, command: 'npm run bench', how, smoke, schemes: reports.map(jsonOf) };
  writeFileSync(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`figures written to ${jsonFile}`);
}

// `npm run bench`: runs every bench/<scheme>.ts (or the ones named on the command line) and prints
// rates and ratios, all from this one run; `--json FILE` also writes them.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchSection } from './measure.ts';

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
const only = args.filter((a, i) => !a.startsWith('--') && (jsonAt < 0 || i !== jsonAt + 1));
const files = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'main.ts' && f !== 'measure.ts')
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.ts$/, '')))
  .sort();

const format = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(1));
const sections: BenchSection[] = [];
let missed = 0;
for (const file of files) {
  const { default: bench } = (await import(join(import.meta.dirname, file))) as { default: () => Promise<BenchSection> };
  const section = await bench();
  sections.push(section);
  console.log(`\n## ${section.title}`);
  for (const rate of section.rates) console.log(`  ${rate.name.padEnd(60)} ${format(rate.perSecond).padStart(10)}/s`);
  for (const r of section.ratios) {
    const verdict = r.target === undefined ? '' : r.value >= r.target ? `  (target ${r.target}: met)` : `  (target ${r.target}: MISSED)`;
    if (r.target !== undefined && r.value < r.target) missed++;
    console.log(`  ${r.name.padEnd(60)} ${r.value.toFixed(2).padStart(10)}x${verdict}`);
  }
}
console.log(`\nnode ${process.version}, ${new Date().toISOString()}${missed ? `; ${missed} target(s) missed` : '; every target met'}`);
if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify({ node: process.version, sections }, null, 2)}\n`);

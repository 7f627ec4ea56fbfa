// `npm run mutation [-- <scheme>... [--model]]`: StrykerJS on impl/<scheme>.ts (and with --model on
// model/<scheme>.ts), one scheme at a time, then the score per scheme: killed (and timed out) over
// all mutants that ran. Not part of `npm test`: each mutant reruns the scheme's tests.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { schemes } from '../schemes.ts';

const args = process.argv.slice(2);
const targets = args.includes('--model') ? ['impl', 'model'] : args.includes('--model-only') ? ['model'] : ['impl'];
const chosen = args.filter((a) => !a.startsWith('--'));
const names = chosen.length > 0 ? chosen : [...schemes.keys()];
for (const name of names) if (!schemes.has(name)) throw new Error(`unknown scheme ${name}`);

interface Mutant {
  status: string;
  mutatorName: string;
  location: { start: { line: number } };
  replacement?: string;
  statusReason?: string;
}

const rows: string[] = [];
for (const target of targets) {
  for (const scheme of names) {
    const started = Date.now();
    const run = spawnSync('npx', ['stryker', 'run', 'mutation/stryker.config.mjs'], {
      stdio: 'inherit',
      env: { ...process.env, MUTATION_SCHEME: scheme, MUTATION_TARGET: target },
    });
    if (run.status !== 0) {
      rows.push(`${target}/${scheme}.ts: stryker exited ${run.status}`);
      continue;
    }
    const report = JSON.parse(readFileSync(`reports/mutation/${target}-${scheme}.json`, 'utf8')) as { files: Record<string, { mutants: Mutant[] }> };
    const mutants = Object.values(report.files).flatMap((f) => f.mutants);
    const count = (...s: string[]) => mutants.filter((m) => s.includes(m.status)).length;
    const detected = count('Killed', 'Timeout');
    const valid = detected + count('Survived', 'NoCoverage');
    const survivors = mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage');
    // An equivalent mutant is marked where it lives (`// Stryker disable next-line <mutator>: <why>`):
    // Stryker reports it Ignored, outside the score, and it is listed here with its reason.
    const ignored = mutants.filter((m) => m.status === 'Ignored');
    rows.push(
      `${target}/${scheme}.ts: ${((100 * detected) / Math.max(1, valid)).toFixed(1)}% killed (${detected} of ${valid}; ${count('Survived')} survived, ${count('NoCoverage')} not covered, ${count('CompileError', 'RuntimeError')} invalid; ${ignored.length} equivalent, marked in the source) in ${Math.round((Date.now() - started) / 1000)} s`,
      ...survivors.map((m) => `  survivor line ${m.location.start.line}: ${m.mutatorName} → ${JSON.stringify(m.replacement ?? '')}`),
      ...ignored.map((m) => `  equivalent line ${m.location.start.line}: ${m.mutatorName} → ${JSON.stringify(m.replacement ?? '')} (${m.statusReason ?? 'no reason given'})`),
    );
  }
}
console.log(`\nmutation scores, ${new Date().toISOString()}\n${rows.join('\n')}`);

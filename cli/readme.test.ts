// The README as a newcomer meets it: at most 400 lines, every page it links exists (or is named as coming
// from another branch), and every command in its `sh` blocks runs and gives the exit code its comment says
// (`exit N`; 0 when none is said). Commands are run as written except as EXCEPTIONS and ADJUST say.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, runCli } from './run-cli.ts';

const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** Each command line of the README's `sh` blocks, split at `&&`, with the exit code its comment names. */
const commands = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => m[1].split('\n'))
  .filter((line) => line.trim() !== '')
  .flatMap((line) => {
    const [command, comment = ''] = line.split(/\s+#\s/, 2);
    const code = Number(/exit (\d+)/.exec(comment)?.[1] ?? 0);
    return command.split('&&').map((part) => ({ command: part.trim(), code }));
  });

/** Not run here, and why; a command another test runs is named with that test, which must read it from this README. */
const EXCEPTIONS: Record<string, string> = {
  'npm ci': 'installs the dependencies this test already runs on',
  'npm test': 'is the test suite this test is part of',
  'npx steerspec docs': 'run by cli/docs.test.ts, which compares every page it writes with docs/',
};
const runElsewhere = (command: string) => (command.startsWith('npx steerspec check') && command.includes('--html') ? 'cli/html.test.ts' : /run by (\S+),/.exec(EXCEPTIONS[command] ?? '')?.[1]);

const scratch = mkdtempSync(join(tmpdir(), 'steerspec-readme-'));
/** What a command is run as: counterexamples go to a scratch directory; the main job runs 25 runs, not 200 (33 s here). */
function adjust(command: string): string[] {
  const words = [...command.replace(/^npx steerspec\s*/, '').matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
  if (words[0] === 'check') words.push('--traces', scratch, '--workers', '1');
  if (command === 'npx steerspec check') words.push('--runs', '25', '--seed', '1');
  return words;
}

/** Shell globs as the README writes them (`traces/reuserps/*.json`: a star in the file name only), expanded without a shell. */
function expand(words: string[]): string[] {
  return words.flatMap((w) => {
    if (!w.includes('*')) return [w];
    const pattern = new RegExp(`^${basename(w).replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`);
    return readdirSync(join(root, dirname(w))).filter((f) => pattern.test(f)).sort().map((f) => join(dirname(w), f));
  });
}

describe('README.md', () => {
  it('is at most 400 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(400);
  });

  it('opens with the two set-up commands', () => {
    expect(commands.slice(0, 3).map((c) => c.command)).toEqual(['npm ci', 'npx steerspec check', 'npm test']);
  });

  it('links only to pages that exist, or says they come from another branch', () => {
    const links = [...readme.matchAll(/\]\(((?:docs|adapters|traces)\/[^)#]+)(#[^)]*)?\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(10);
    const missing = links.filter((l) => !existsSync(join(root, l)));
    for (const l of missing) expect(readme, `${l} is missing and not said to come from another branch`).toMatch(new RegExp(`\\(${l.replace(/[.]/g, '\\.')}\\) \\| [^\\n]*another branch`));
  });

  it('shows some commands, every one of them covered here or by the test named', () => {
    expect(commands.length).toBeGreaterThan(5);
    for (const { command } of commands) expect(command in EXCEPTIONS || command.startsWith('npx steerspec'), command).toBe(true);
    for (const { command } of commands) {
      const elsewhere = runElsewhere(command);
      if (elsewhere) expect(readFileSync(join(root, elsewhere), 'utf8'), `${elsewhere} reads its command from the README`).toContain("readFileSync(join(root, 'README.md')");
    }
  });

  for (const { command, code } of commands.filter((c) => !(c.command in EXCEPTIONS) && !runElsewhere(c.command))) {
    it(`runs \`${command}\`: exit ${code}`, async () => {
      const outputs = [...command.matchAll(/--(?:html|junit) (\S+)/g)].map((m) => join(root, m[1]));
      for (const file of outputs) rmSync(file, { force: true });
      const result = await runCli(expand(adjust(command)));
      expect(result.code, result.out.slice(-2000)).toBe(code);
      for (const file of outputs) expect(existsSync(file), `${file} written`).toBe(true);
    }, 100_000);
  }
});

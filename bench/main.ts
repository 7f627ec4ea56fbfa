// `npm run bench [scheme ...] [--json FILE] [--smoke]`: runs bench/run.ts in this one process. As the
// CLI does (bin/steerspec.js), it first bundles the sources with esbuild into dist/bench.mjs, so the
// figures are those of the code `npx steerspec check` runs: through tsx, every closure the journal and
// the properties create also pays for esbuild's keepNames helper, about a third of an oracle step.
// `--tsx` (or a failed build) runs the sources through tsx instead.
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);

async function bundle(): Promise<string | undefined> {
  if (args.includes('--tsx')) return undefined;
  try {
    const { build } = await import('esbuild');
    const out = join(root, 'dist', 'bench.mjs');
    const temporary = join(root, 'dist', `.bench-${process.pid}.mjs`);
    await build({ entryPoints: [join(root, 'bench/run.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: temporary, logLevel: 'silent' });
    renameSync(temporary, out);
    return out;
  } catch (e) {
    console.log(`(could not bundle the bench, running it through tsx: ${(e as Error).message})`);
    return undefined;
  }
}

const bundled = await bundle();
const run = (bundled ? await import(pathToFileURL(bundled).href) : await import('./run.ts')) as typeof import('./run.ts');
await run.main(
  args.filter((a) => a !== '--tsx'),
  bundled ? 'bundled by esbuild as the CLI is' : 'through tsx',
);

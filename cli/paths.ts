// Output and input paths are checked before any run starts: a campaign that cannot save what it finds
// must not begin, and a bad path is bad usage (exit 2), never a stack trace after the work is done.
import { accessSync, constants, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export class UsageError extends Error {}

const kindOf = (path: string) => {
  try {
    return statSync(path).isDirectory() ? 'directory' : 'file';
  } catch {
    return 'missing';
  }
};

/** A directory that exists (made one level at a time if needed) and can be written; its absolute path. */
export function checkedDirectory(option: string, dir: string): string {
  const absolute = resolve(dir);
  const missing: string[] = [];
  let existing = absolute;
  while (kindOf(existing) === 'missing' && dirname(existing) !== existing) {
    missing.unshift(existing);
    existing = dirname(existing);
  }
  if (kindOf(existing) !== 'directory') throw new UsageError(`${option} ${dir}: ${existing} is not a directory`);
  try {
    // One level at a time: a recursive mkdir under a pseudo file system can loop forever.
    for (const level of missing) mkdirSync(level);
    const probe = join(absolute, `.steerspec-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (e) {
    throw new UsageError(`${option} ${dir}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return absolute;
}

/** A file to read (it exists, and is not a directory) or to write (its folder exists and can be written). */
export function checkedFile(option: string, file: string, mode: 'read' | 'write'): void {
  const kind = kindOf(file);
  if (kind === 'directory') throw new UsageError(`${option} ${file}: is a directory`);
  if (mode === 'read') {
    if (kind === 'missing') throw new UsageError(`${option} ${file}: no such file`);
    return;
  }
  const folder = dirname(resolve(file));
  if (kindOf(folder) !== 'directory') throw new UsageError(`${option} ${file}: no such directory ${folder}`);
  try {
    accessSync(kind === 'file' ? file : folder, constants.W_OK);
  } catch {
    throw new UsageError(`${option} ${file}: cannot write there`);
  }
}

// The module adapter: a JavaScript or TypeScript module exporting create(scheme, config), run in a
// process of its own by adapters/module-host.ts and judged through the process adapter, so a module
// gets the same deadlines (--timeout) and isolation as a program: a hang is a timeout, a throw or a
// process.exit() is a crash, and neither can end the oracle or change its exit code.
import { fileURLToPath } from 'node:url';
import type { Subject } from '../core/subject.ts';
import { shellQuote } from '../core/subject.ts';
import { processSubject, type ProcessOptions } from './process.ts';

const host = fileURLToPath(new URL('../bin/module-host.js', import.meta.url));

export function moduleSubject(path: string, asGiven = path, options: ProcessOptions = { timeoutMs: 2000 }): Subject {
  const command = `exec ${shellQuote(process.execPath)} ${shellQuote(host)} ${shellQuote(path)}`;
  const subject = processSubject(command, options);
  return { ...subject, describe: `--adapter ${shellQuote(asGiven)}${options.timeoutMs !== 2000 ? ` --timeout ${options.timeoutMs}` : ''}` };
}

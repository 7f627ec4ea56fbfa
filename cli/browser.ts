// For the browser tests: the Chromium on this machine, if any (playwright-core drives it; it downloads nothing).
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

/** The browser to use: $STEERSPEC_CHROMIUM, else the first of the usual paths that exists. */
export function findChromium(): string | undefined {
  const wanted = process.env.STEERSPEC_CHROMIUM;
  if (wanted) return existsSync(wanted) ? wanted : undefined;
  return CANDIDATES.find((path) => existsSync(path));
}

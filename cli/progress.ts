// Progress of a campaign. On a terminal (stderr a TTY) a bar that clears itself; elsewhere (CI logs, pipes)
// a plain line `reuserps 1200/2000 runs` every few seconds, so a long check shows life. Both go to stderr,
// which no test or script parses, so stdout stays the report alone.
import { SingleBar } from 'cli-progress';

export const PROGRESS_EVERY_MS = 5000;

export interface Progress {
  update(run: number, of: number): void;
  stop(): void;
}

export function progress(scheme: string, out: { isTTY?: boolean; write(line: string): unknown } = process.stderr, everyMs = PROGRESS_EVERY_MS, now = Date.now): Progress {
  if (out.isTTY) {
    const bar = new SingleBar({ format: `  ${scheme} [{bar}] {value}/{total} runs`, clearOnComplete: true, hideCursor: true });
    let started = false;
    return {
      update: (run, of) => {
        if (!started) bar.start(of, 0);
        started = true;
        bar.update(Math.min(run, of));
      },
      stop: () => bar.stop(),
    };
  }
  let last = now();
  return {
    update: (run, of) => {
      if (now() - last < everyMs) return;
      last = now();
      out.write(`${scheme} ${Math.min(run, of)}/${of} runs\n`);
    },
    stop: () => {},
  };
}

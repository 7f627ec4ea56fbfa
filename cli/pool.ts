// Campaigns across cores: a tinypool of worker threads, each making blocks of runs (cli/worker.ts).
// Blocks are addressed by fast-check's path, so the campaign gets the same records whatever the pool's size.
import { fileURLToPath } from 'node:url';
import { Tinypool } from 'tinypool';
import type { CampaignPlan, Executor, RunRecord, Shrunk } from '../core/campaign.ts';
import type { SubjectSpec } from './subjects.ts';
import type { Task } from './worker.ts';

// From the bundle (dist/cli.mjs) the worker is dist/worker.mjs; from the sources, cli/worker.ts through tsx.
const bundled = import.meta.url.endsWith('.mjs');
const workerFile = fileURLToPath(new URL(bundled ? './worker.mjs' : './worker.ts', import.meta.url));

/** A pool of worker threads for every campaign of one check: threads, and the subjects they start, are started once. */
export interface WorkerPool {
  /** The executor of one campaign (closing it leaves the pool running). */
  executor(plan: CampaignPlan): Executor;
  close(): Promise<void>;
}

export function workerPool(size: number, subject: SubjectSpec): WorkerPool {
  // Started at the first campaign, with one thread, more as blocks queue up (a campaign makes its first block
  // alone: see runCampaign); a thread once started is kept, with its subject, until the check ends.
  let pool: Tinypool | undefined;
  const started = () => (pool ??= new Tinypool({ filename: workerFile, minThreads: 1, maxThreads: size, idleTimeout: 24 * 3600_000, ...(bundled ? {} : { execArgv: ['--import', 'tsx'] }) }));
  return {
    executor: (plan) => {
      const threads = started();
      return {
        // Two blocks per worker in flight: the next one waits in the pool's queue, so a worker that finishes
        // a block starts another at once instead of waiting for the main thread to hand it one.
        size: size * 2,
        block: (start, count) => threads.run({ kind: 'block', plan, subject, start, count } satisfies Task) as Promise<RunRecord[]>,
        shrink: (property, first) => threads.run({ kind: 'shrink', plan, subject, property, first } satisfies Task) as Promise<Shrunk>,
        close: async () => {},
      };
    },
    close: async () => {
      await pool?.destroy();
    },
  };
}

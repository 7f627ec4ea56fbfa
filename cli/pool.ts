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

export function workerPool(size: number, subject: SubjectSpec): (plan: CampaignPlan) => Executor {
  return (plan) => {
    const pool = new Tinypool({ filename: workerFile, minThreads: size, maxThreads: size, ...(bundled ? {} : { execArgv: ['--import', 'tsx'] }) });
    return {
      // Two blocks per worker in flight: the next one waits in the pool's queue, so a worker that finishes
      // a block starts another at once instead of waiting for the main thread to hand it one.
      size: size * 2,
      block: (start, count) => pool.run({ kind: 'block', plan, subject, start, count } satisfies Task) as Promise<RunRecord[]>,
      shrink: (property, first) => pool.run({ kind: 'shrink', plan, subject, property, first } satisfies Task) as Promise<Shrunk>,
      close: () => pool.destroy(),
    };
  };
}

// `steerspec merge`: the reports of the shards of one check (--shard I/N, same seed, runs and subject)
// become the report one unsharded check would have written. Shards are taken in order, and the first
// that stopped (a failure, a fault, an oracle error) is the last one counted: an unsharded campaign
// would have ended there too, so later shards add nothing to its verdict.
import { readFileSync } from 'node:fs';
import { sumLanded, type CampaignResult, type PropertyResult } from '../core/campaign.ts';
import { InputError } from '../core/vocabulary.ts';
import { parseJson } from '../core/trace.ts';

interface Report {
  seed: number;
  runs: number;
  subject: string;
  shard: { index: number; of: number } | null;
  interrupted?: string | null;
  rerun: string;
  schemes: CampaignResult[];
}

export function mergeReports(files: string[]): Omit<Report, 'shard'> {
  const reports = files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new InputError(file, `cannot read: ${(e as Error).message}`);
    }
    const report = parseJson(text, file) as Report;
    if (!report || !Array.isArray(report.schemes) || !report.shard) throw new InputError(`${file}: shard`, 'is not the --report of a check run with --shard I/N');
    return { file, report };
  });
  const first = reports[0].report;
  for (const { file, report } of reports) {
    for (const field of ['seed', 'runs', 'subject'] as const) {
      if (report[field] !== first[field]) throw new InputError(`${file}: ${field}`, `${JSON.stringify(report[field])} differs from ${JSON.stringify(first[field])} in ${reports[0].file}`);
    }
    if (report.interrupted) throw new InputError(`${file}: interrupted`, `this shard was stopped by ${report.interrupted}: its slice was not made whole, so no verdict can be merged`);
    if (report.shard!.of !== first.shard!.of) throw new InputError(`${file}: shard.of`, `${report.shard!.of} differs from ${first.shard!.of}`);
  }
  const indexes = reports.map((r) => r.report.shard!.index).sort((a, b) => a - b);
  const expected = Array.from({ length: first.shard!.of }, (_, i) => i + 1);
  if (indexes.join() !== expected.join()) throw new InputError('merge', `needs each shard 1..${first.shard!.of} once; got ${indexes.join(', ')}`);
  const ordered = [...reports].sort((a, b) => a.report.shard!.index - b.report.shard!.index).map((r) => r.report);
  const names = [...new Set(ordered.flatMap((r) => r.schemes.map((c) => c.scheme)))];
  const schemes = names.map((name) => mergeCampaigns(ordered.map((r) => r.schemes.find((c) => c.scheme === name)).filter((c): c is CampaignResult => c !== undefined)));
  return { seed: first.seed, runs: first.runs, subject: first.subject, rerun: first.rerun.replace(/ --shard \d+\/\d+/, ''), schemes };
}

const stops = (r: PropertyResult) => r.status === 'failed' || r.status === 'fault' || r.status === 'error';
/** Where the campaign itself would have stopped: a target property failed, a fault, an oracle error. */
const ends = (c: CampaignResult) => c.results.some((r) => r.status === 'fault' || r.status === 'error' || (r.status === 'failed' && (c.targets ?? [r.property]).includes(r.property)));

/** One scheme's campaign from its shards' campaigns, in shard order. */
export function mergeCampaigns(shards: CampaignResult[]): CampaignResult {
  const counted: CampaignResult[] = [];
  for (const shard of shards) {
    counted.push(shard);
    if (ends(shard)) break;
  }
  const last = counted.at(-1)!;
  const results = last.results.map((r) => {
    const mine = counted.map((c) => c.results.find((x) => x.property === r.property)!);
    const runs = mine.reduce((n, x) => n + x.runs, 0);
    const steps = mine.reduce((n, x) => n + x.steps, 0);
    // A property's first failure, in shard order, is the one the unsharded campaign met first.
    const firstStop = mine.find(stops);
    if (firstStop) return { ...firstStop, runs, steps };
    if (r.reason?.startsWith('needs capability')) return { ...r, runs, steps };
    const declined = mine.find((x) => x.status === 'skipped' && x.reason?.startsWith('the subject declined'));
    if (declined && mine.every((x) => x.status === 'skipped')) return { ...r, runs, steps };
    return steps > 0 ? { ...r, status: 'passed' as const, runs, steps, reason: undefined } : { ...r, status: 'skipped' as const, runs, steps, reason: 'evaluated on no step in any shard' };
  });
  return {
    scheme: last.scheme,
    seed: last.seed,
    runs: counted.reduce((n, c) => n + c.runs, 0),
    steps: counted.reduce((n, c) => n + c.steps, 0),
    results,
    unsaved: counted.flatMap((c) => c.unsaved),
    ...(last.targets ? { targets: last.targets } : {}),
    ...(counted.some((c) => c.landed) ? { landed: sumLanded(counted.map((c) => c.landed)) } : {}),
  };
}

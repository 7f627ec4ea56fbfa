// How results are shown: a table per scheme, failure details that say how to reproduce them, and the
// exit-code contract (README, "Exit codes"; pinned case by case in cli/exit-codes.test.ts).
import { whereIn, type CampaignResult, type PropertyResult, type Status } from '../core/campaign.ts';

export const EXIT = { conforms: 0, failed: 1, usage: 2, fault: 3, oracle: 4, SIGINT: 130, SIGTERM: 143 } as const;

/** A replayed or judged file's verdict. */
/** `undecided`: a concurrent history the linearizability search could not judge within its budget. */
export type FileStatus = 'conforms' | 'failed' | 'malformed' | 'fault' | 'skipped' | 'error' | 'undecided';

/**
 * 4 if the oracle itself failed; else 1 if a property failed (a definite counterexample wins over a
 * fault); else 3 if the subject faulted or anything required went unchecked (a declined scheme, a
 * required property evaluated on no step); else 0.
 */
export function exitCodeOf(results: Pick<PropertyResult, 'status' | 'kind'>[]): number {
  const has = (s: Status) => results.some((r) => r.status === s);
  if (has('error')) return EXIT.oracle;
  if (has('failed')) return EXIT.failed;
  if (has('fault')) return EXIT.fault;
  if (results.length === 0 || results.some((r) => r.kind === 'required' && r.status !== 'passed')) return EXIT.fault;
  return EXIT.conforms;
}

/** For replay and judge: 4 oracle error, 1 a file failed, 2 a file was malformed, 3 a fault or nothing judged, else 0. */
export function exitCodeOfFiles(statuses: FileStatus[]): number {
  const has = (s: FileStatus) => statuses.includes(s);
  if (has('error')) return EXIT.oracle;
  if (has('failed')) return EXIT.failed;
  if (has('malformed')) return EXIT.usage;
  if (has('fault') || has('skipped') || has('undecided') || statuses.length === 0) return EXIT.fault;
  return EXIT.conforms;
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => r[col].length)));
  return rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col])).join('  ').trimEnd()).join('\n');
}

/** The table of one scheme's campaign, then a paragraph per failure or fault. */
export function formatCampaign(campaign: CampaignResult, rerun: (r: PropertyResult) => string): string {
  const { results } = campaign;
  const reasons = new Set(results.map((r) => (r.status === 'skipped' ? r.reason : undefined)));
  if (reasons.size === 1 && !reasons.has(undefined)) return `every property SKIPPED: ${[...reasons][0]}`;
  const rows = [['property', 'kind', 'status', 'runs', 'steps', 'detail']];
  for (const r of results) {
    const detail = r.status === 'failed' || r.status === 'fault' ? (r.trace ?? 'NOT SAVED') : (r.reason ?? '');
    rows.push([r.property, r.kind, r.status.toUpperCase(), String(r.runs), String(r.steps), detail]);
  }
  const lines = [`${campaign.runs} runs, ${campaign.steps} steps`, table(rows)];
  const shownFault = new Set<string>();
  for (const r of results.filter((x) => x.status === 'failed' || x.status === 'fault' || x.status === 'error')) {
    if (r.status === 'fault') {
      // One fault ends the campaign: show it once.
      if (shownFault.has(r.reason ?? '')) continue;
      shownFault.add(r.reason ?? '');
    }
    lines.push('');
    lines.push(`${r.status === 'failed' ? 'FAILED' : r.status === 'fault' ? 'FAULT' : 'ORACLE ERROR'} ${r.scheme}/${r.property}${r.status === 'failed' ? `: ${r.rule}` : ''}`);
    if (r.failure) {
      const shrunk = r.status === 'fault' ? 'not shrunk' : r.reason ? r.reason : 'after shrinking';
      lines.push(`  ${r.failure.fault ?? 'violated'} at ${whereIn(r.failure)} (${r.length} commands, ${shrunk}): ${r.failure.message}`);
    } else if (r.reason) lines.push(`  ${r.reason}`);
    lines.push(`  saved: ${r.trace ?? 'NOT SAVED (printed on stderr)'}`);
    if (r.unshrunk) lines.push(`  saved before shrinking: ${r.unshrunk}`);
    if (r.replay) lines.push(`  replay: ${r.replay}`);
    if (r.status === 'failed') lines.push(`  rerun: ${rerun(r)}`);
  }
  return lines.join('\n');
}

// How results are shown: a table per scheme, failure details that say how to replay, and exit codes.
import { whereIn, type PropertyResult } from '../core/campaign.ts';

export const EXIT = { conforms: 0, failed: 1, usage: 2, fault: 3 } as const;

/** 3 if the subject faulted (the verdict is unknown), else 1 if a property failed, else 0. */
export function exitCodeOf(statuses: PropertyResult['status'][]): number {
  if (statuses.includes('fault')) return EXIT.fault;
  if (statuses.includes('failed')) return EXIT.failed;
  return EXIT.conforms;
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => r[col].length)));
  return rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col])).join('  ').trimEnd()).join('\n');
}

export function formatResults(results: PropertyResult[]): string {
  const rows = [['property', 'kind', 'status', 'runs', 'detail']];
  for (const r of results) {
    const detail = r.status === 'failed' || r.status === 'fault' ? (r.trace ?? '') : (r.reason ?? '');
    rows.push([r.property, r.kind, r.status.toUpperCase(), String(r.runs), detail]);
  }
  const lines = [table(rows)];
  for (const r of results.filter((x) => x.status === 'failed' || x.status === 'fault')) {
    lines.push('');
    lines.push(`${r.status === 'fault' ? 'FAULT' : 'FAILED'} ${r.scheme}/${r.property}: ${r.rule}`);
    const shrunk = r.status === 'fault' || r.reason?.startsWith('not shrunk') ? 'not shrunk' : 'after shrinking';
    if (r.failure) lines.push(`  ${r.failure.fault ?? 'violated'} at ${whereIn(r.failure)} (${r.length} commands, ${shrunk}): ${r.failure.message}`);
    else if (r.reason) lines.push(`  ${r.reason}`);
    if (r.trace) lines.push(`  saved: ${r.trace}`);
    if (r.replay) lines.push(`  replay: ${r.replay}`);
  }
  return lines.join('\n');
}

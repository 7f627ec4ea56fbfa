// Builds the HTML report of a check, a replay or a judge from their results (cli/html.ts draws it).
import { readFileSync } from 'node:fs';
import { isParallelTrace, parseParallelTrace } from '../core/history.ts';
import { linearize } from '../core/linearize.ts';
import { readHistory, readTrace } from '../core/trace.ts';
import type { CampaignResult } from '../core/campaign.ts';
import { schemes } from '../schemes.ts';
import { walkHistory, type History } from './history.ts';
import { renderHtml, type HtmlLanes, type HtmlMeasure, type HtmlSummary } from './html.ts';
import { Heat, measure } from './measure.ts';
import { pictures } from './pictures/index.ts';
import type { FileResult, Replayed } from './replay.ts';

/** Enough generated runs to show the shape of the distribution at a cost of well under a second. */
const MEASURED_RUNS = 400;

const pictureOf = (scheme: string) => pictures.get(scheme)!;

/** The heat map of the outcomes in some histories of one scheme. */
function outcomesIn(scheme: string, histories: History[], whose: string): HtmlMeasure {
  const heat = new Heat();
  for (const h of histories) for (const l of h.landed) heat.add(l);
  return { scheme, axes: pictureOf(scheme).axes, heat, corners: [], source: `the outcomes ${whose} in the ${scheme} histories above. Corner shares are measured by check, over generated runs.` };
}

/** A steerspec-trace/2 file as lanes, with the operation no linearization gets past marked; undefined for any other file. */
function lanesOf(file: string, title: string): HtmlLanes | undefined {
  const text = readFileSync(file, 'utf8');
  if (!isParallelTrace(text)) return undefined;
  const trace = parseParallelTrace(text, file, schemes);
  const verdict = linearize(trace.scheme.model, trace.config, trace.history);
  return {
    title,
    file,
    history: trace.history,
    ...(verdict.ok !== false ? {} : { mark: { ...(verdict.op === undefined ? {} : { op: verdict.op }), message: verdict.why, allowed: verdict.allowed } }),
  };
}

export function checkHtml(input: { campaigns: CampaignResult[]; seed: number; runs: number; steps: number; exitCode: number; status: string; rerun: string }): string {
  const results = input.campaigns.flatMap((c) => c.results);
  const histories: History[] = [];
  const lanes: HtmlLanes[] = [];
  const drawn = new Set<string>();
  for (const r of results) {
    if ((r.status !== 'failed' && r.status !== 'fault') || !r.trace || drawn.has(r.trace)) continue;
    drawn.add(r.trace);
    const concurrent = lanesOf(r.trace, `${r.scheme}/${r.property}: ${r.status.toUpperCase()} (a concurrent history)`);
    if (concurrent) {
      lanes.push(concurrent);
      continue;
    }
    const trace = readTrace(r.trace, schemes);
    const failing = r.failure ? { property: r.failure.property, index: r.failure.index, message: r.failure.message } : undefined;
    histories.push(
      walkHistory(
        { title: `${r.scheme}/${r.property}: ${r.status.toUpperCase()}`, scheme: trace.scheme, config: trace.config, commands: trace.commands, outcomes: trace.observed, expects: trace.expects, file: r.trace, ...(failing ? { failing } : {}) },
        pictureOf(r.scheme),
      ),
    );
  }
  const measures: HtmlMeasure[] = input.campaigns.flatMap((c) => {
    const runs = Math.min(c.runs || input.runs, MEASURED_RUNS);
    const m = measure(schemes.get(c.scheme)!, input.seed, runs, pictureOf(c.scheme));
    // The campaign counts where the subject's own answers landed over every run it made.
    const subject = c.landed && new Heat();
    for (const [row, column, n] of c.landed ?? []) subject!.add([row, column], n);
    const generated: HtmlMeasure = subject
      ? {
          scheme: c.scheme,
          axes: pictureOf(c.scheme).axes,
          heat: subject,
          corners: m.corners,
          source: `the subject's answers over the ${c.runs} runs of this check. Corner shares: ${m.runs} runs generated from seed ${input.seed}, stepped through the model.`,
        }
      : {
          scheme: c.scheme,
          axes: pictureOf(c.scheme).axes,
          heat: m.heat,
          corners: m.corners,
          source: `${m.runs} runs generated from seed ${input.seed}, steered by the model (its first allowed choice): the generators' and the spec's distribution.`,
        };
    const failing = histories.filter((h) => h.scheme === c.scheme);
    return failing.length ? [generated, { ...outcomesIn(c.scheme, failing, 'the subject gave'), title: 'where the subject sent connections in the failing runs' }] : [generated];
  });
  const summary: HtmlSummary = {
    command: 'check',
    schemes: input.campaigns.map((c) => c.scheme),
    status: input.status,
    exitCode: input.exitCode,
    runs: input.campaigns.reduce((n, c) => n + c.runs, 0),
    steps: input.steps,
    seed: input.seed,
    rerun: input.rerun,
    columns: ['scheme', 'property', 'kind', 'status', 'runs', 'steps', 'detail'],
    rows: results.map((r) => ({ status: r.status, cells: [r.scheme, r.property, r.kind, r.status.toUpperCase(), String(r.runs), String(r.steps), r.status === 'failed' || r.status === 'fault' ? (r.trace ?? 'NOT SAVED') : (r.reason ?? '')] })),
  };
  return renderHtml({ summary, histories, lanes, measures });
}

/** replay and judge: every file that could be read is drawn; `replayed` holds the subject's outcomes of a replay. */
export function filesHtml(input: { command: 'replay' | 'judge'; results: FileResult[]; replayed: Map<string, Replayed>; exitCode: number; status: string; rerun: string }): string {
  const histories: History[] = [];
  const lanes: HtmlLanes[] = [];
  for (const r of input.results) {
    if (r.status === 'malformed' || r.status === 'error' || r.status === 'skipped') continue;
    // A concurrent history is drawn as recorded, whatever the replay answered this time.
    const concurrent = lanesOf(r.file, `${r.file}: ${r.status.toUpperCase()} (the recorded concurrent history)`);
    if (concurrent) {
      lanes.push(concurrent);
      continue;
    }
    const run = input.replayed.get(r.file);
    const trace = run?.trace ?? readHistory(r.file, schemes);
    const outcomes = run ? trace.commands.map((_, i) => run.steps[i]?.outcome) : trace.observed;
    const failing = r.property !== undefined ? { property: r.property, index: r.step ?? -1, message: r.message ?? '' } : undefined;
    histories.push(
      walkHistory(
        { title: `${r.file}: ${r.status.toUpperCase()}`, scheme: trace.scheme, config: trace.config, commands: trace.commands, outcomes, expects: trace.expects, file: r.file, ...(failing ? { failing } : {}) },
        pictureOf(trace.scheme.name),
      ),
    );
  }
  const names = [...new Set(histories.map((h) => h.scheme))];
  const measures = names.map((scheme) => outcomesIn(scheme, histories.filter((h) => h.scheme === scheme), input.command === 'replay' ? 'the subject gave' : 'recorded'));
  const summary: HtmlSummary = {
    command: input.command,
    schemes: names,
    status: input.status,
    exitCode: input.exitCode,
    steps: histories.reduce((n, h) => n + h.rows.length, 0),
    rerun: input.rerun,
    columns: ['file', 'steps', 'status', 'detail'],
    rows: input.results.map((r) => ({ status: r.status, cells: [r.file, r.steps === undefined ? '-' : String(r.steps), r.status.toUpperCase(), r.property !== undefined ? `${r.property} at ${r.step === -1 ? 'init' : `step ${r.step}`}: ${r.message ?? ''}` : (r.message ?? '')] })),
  };
  return renderHtml({ summary, histories, lanes, measures });
}

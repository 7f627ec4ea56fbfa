// `steerspec docs`: one reference page per scheme, docs/<scheme>.md, written from the code itself: the
// config and vocabulary from the zod schemas, the rules from the model's header, readings, freedoms and
// properties from the scheme, planted bugs from properties/fixtures, corner shares measured from the
// generators, and the saved traces. cli/docs.test.ts fails when a committed page differs from this output.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { allProperties, type AnyScheme } from '../core/scheme.ts';
import { readTrace } from '../core/trace.ts';
import { dragonflyBugs } from '../properties/fixtures/dragonfly-bugs.ts';
import { fastsocketBugs } from '../properties/fixtures/fastsocket-bugs.ts';
import { linuxReuseportBugs } from '../properties/fixtures/linux-reuseport-bugs.ts';
import { numaBugs } from '../properties/fixtures/numa-bugs.ts';
import { reuserpsBugs } from '../properties/fixtures/reuserps-bugs.ts';
import { rssPortsBugs } from '../properties/fixtures/rss-ports-bugs.ts';
import type { PlantedBug } from '../properties/planted.ts';
import { schemes } from '../schemes.ts';
import { measure } from './measure.ts';

const root = join(import.meta.dirname, '..');

const bugs: Record<string, PlantedBug[]> = {
  reuserps: reuserpsBugs,
  numa: numaBugs,
  dragonfly: dragonflyBugs,
  'rss-ports': rssPortsBugs,
  fastsocket: fastsocketBugs,
  'linux-reuseport': linuxReuseportBugs,
};

/** The seed and sample size of the harness's corner test (properties/harness.ts), so the shares are the ones it checks. */
export const CORNER_SEED = 20261123;
export const CORNER_RUNS = 400;

type Json = { [key: string]: any };

/** Text safe in a markdown table cell. */
const cellText = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A JSON schema as one short line of text. */
function typeText(s: Json): string {
  if ('const' in s) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v: unknown) => JSON.stringify(v)).join(' \\| ');
  if (s.anyOf || s.oneOf) return (s.anyOf ?? s.oneOf).map(typeText).join(' \\| ');
  const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
  return types
    .map((t) => {
      if (t === 'integer') return s.minimum !== undefined && s.maximum !== undefined && s.maximum < 2 ** 53 - 1 ? `integer ${s.minimum}..${s.maximum}` : s.minimum === 0 ? 'integer ≥ 0' : 'integer';
      if (t === 'array') return s.prefixItems ? `[${s.prefixItems.map(typeText).join(', ')}]` : `[${s.items ? typeText(s.items) : ''}, ...]`;
      if (t === 'object') return objectText(s);
      return t ?? 'any';
    })
    .join(' \\| ');
}

function objectText(s: Json): string {
  const required = new Set<string>(s.required ?? []);
  return `{${Object.entries(s.properties ?? {}).map(([k, v]) => `"${k}"${required.has(k) ? '' : '?'}: ${typeText(v as Json)}`).join(', ')}}`;
}

const jsonSchema = (schema: z.ZodType): Json => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;

function configSection(scheme: AnyScheme): string[] {
  const s = jsonSchema(scheme.config);
  const filled = scheme.config.parse({}) as Record<string, unknown>;
  const rows = Object.entries(s.properties as Record<string, Json>).map(([field, f]) => {
    const fallback = 'default' in f ? JSON.stringify(f.default) : `${JSON.stringify(filled[field])} (derived)`;
    return `| \`${field}\` | ${typeText(f)} | ${fallback.length > 60 ? `\`${fallback.slice(0, 57)}...\`` : `\`${fallback}\``} |`;
  });
  return ['## Config', '', 'Omitted fields take their defaults; a bad value is an input error naming the field.', '', '| field | values | default |', '|---|---|---|', ...rows];
}

function vocabularySection(scheme: AnyScheme): string[] {
  const commands = (jsonSchema(scheme.command).oneOf ?? jsonSchema(scheme.command).anyOf) as Json[];
  const rows = commands.map((c) => {
    const op = c.properties.op.const as string;
    const outcome = jsonSchema(scheme.outcome({ op }));
    const shapes = (outcome.anyOf ?? outcome.oneOf ?? [outcome]) as Json[];
    const ok = shapes.filter((o) => o.properties?.ok?.const !== false).map((o) => `\`${objectText(o)}\``);
    const errors = shapes.flatMap((o) => (o.properties?.ok?.const === false ? (o.properties.error.enum as string[]) : []));
    return `| \`${op}\` | \`${objectText(c)}\` | ${ok.join(', ')} | ${errors.map((e) => `\`${e}\``).join(', ') || '—'} |`;
  });
  return ['## Vocabulary', '', 'Commands (a `?` marks an optional field) and every outcome: the shapes of success, and every error by name.', '', '| op | command | outcome | errors |', '|---|---|---|---|', ...rows];
}

/** The rules as the model's header states them (the comment before its first import). */
function rulesSection(scheme: AnyScheme): string[] {
  const text = readFileSync(join(root, 'model', `${scheme.name}.ts`), 'utf8');
  const header: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('//')) break;
    header.push(line.replace(/^\/\/ ?/, ''));
  }
  return ['## Rules', '', `From the header of [\`model/${scheme.name}.ts\`](../model/${scheme.name}.ts), the specification itself:`, '', '```text', ...header, '```'];
}

function choicesSection(scheme: AnyScheme): string[] {
  const readings = scheme.readings.map((r) => `| \`${r.name}\` | ${r.options.map((o) => `\`${JSON.stringify(o)}\``).join(', ')} | ${cellText(r.meaning)} |`);
  const freedoms = scheme.freedoms.map((f) => `- \`${f.name}\`: ${f.meaning}`);
  return [
    '## Readings and freedoms',
    '',
    'A reading is taken once per run (an implementation picks one option and keeps it); a freedom may differ at every step.',
    '',
    ...(readings.length ? ['| reading | options | meaning |', '|---|---|---|', ...readings] : ['No readings.']),
    '',
    ...(freedoms.length ? freedoms : ['No freedoms.']),
  ];
}

function propertiesSection(scheme: AnyScheme): string[] {
  const planted = bugs[scheme.name] ?? [];
  const rows = allProperties(scheme).map((p) => {
    const notes = [...(p.needs ? [`needs ${p.needs.join(', ')}`] : []), ...(p.implementationOnly ? ['implementations only: narrower than the model'] : [])];
    const caught = planted.filter((b) => b.caughtBy === p.name).map((b) => b.name);
    return `| \`${p.name}\` | ${cellText(p.rule)}${notes.length ? ` (${notes.join('; ')})` : ''} | ${cellText(caught.join('; ')) || '—'} |`;
  });
  return [
    '## Properties and the planted bugs each catches',
    '',
    `Planted bugs are in [\`properties/fixtures/${scheme.name}-bugs.ts\`](../properties/fixtures/${scheme.name}-bugs.ts): the implementation with one method wrong. \`npm test\` requires that each is caught by the property named here and shrunk to a short trace.`,
    '',
    '| property | rule | planted bugs it catches |',
    '|---|---|---|',
    ...rows,
  ];
}

function cornersSection(scheme: AnyScheme): string[] {
  const { corners, runs } = measure(scheme, CORNER_SEED, CORNER_RUNS);
  return [
    '## Corners',
    '',
    `Share of ${runs} generated runs (seed ${CORNER_SEED}, the harness's) that reach each corner; \`npm test\` fails below 5%.`,
    '',
    '| corner | share |',
    '|---|---|',
    ...corners.map(([name, share]) => `| \`${name}\` | ${(100 * share).toFixed(1)}% |`),
  ];
}

/** A trace's file name, which says what it pins, as words. */
const purpose = (file: string) => file.replace(/\.json$/, '').replace(/-/g, ' ');

function tracesSection(scheme: AnyScheme): string[] {
  const list = (dir: string, prefix = '') =>
    readdirSync(join(root, 'traces', dir))
      .filter((f) => f.endsWith('.json') && f.startsWith(prefix))
      .sort()
      .map((f) => {
        const t = readTrace(join(root, 'traces', dir, f), schemes);
        const expects = t.expects.filter((e) => e !== undefined).length;
        const ops = [...new Set(t.commands.map((c) => (c as { op: string }).op))].join(', ');
        return `| [\`${dir}/${f}\`](../traces/${dir}/${f}) | ${t.about ?? purpose(prefix ? f.slice(prefix.length) : f)} | ${t.commands.length} (${ops}) | ${expects === t.commands.length ? 'every step' : `${expects} steps`} |`;
      });
  return [
    '## Traces',
    '',
    `\`npm test\` replays each trace of \`traces/${scheme.name}/\` and requires that \`judge\` rejects each of \`traces/rejected/\` (histories the spec forbids). The purpose is the trace's \`about\` line (else its file name).`,
    '',
    '| trace | purpose | steps (ops) | expect |',
    '|---|---|---|---|',
    ...list(scheme.name),
    ...list('rejected', `${scheme.name}-`).map((row) => row.replace(/\| ([^|]+) \| (\d)/, '| rejected: $1 | $2')),
  ];
}

/** The reference page of one scheme, as markdown. */
export function schemePage(scheme: AnyScheme): string {
  const sections = [
    [`# \`${scheme.name}\`: ${scheme.summary}`, '', `Generated by \`npx steerspec docs\` from the code; do not edit (\`npm test\` fails when this page differs from what the command writes). The decisions taken where the spec was unclear, the implementation and the benchmarks are in the hand-written [notes](notes/${scheme.name}.md).`],
    configSection(scheme),
    vocabularySection(scheme),
    rulesSection(scheme),
    choicesSection(scheme),
    propertiesSection(scheme),
    cornersSection(scheme),
    tracesSection(scheme),
  ];
  return `${sections.map((s) => s.join('\n')).join('\n\n')}\n`;
}

/** Writes docs/<scheme>.md for every scheme into `dir`; returns the files written. */
export function writeDocs(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return [...schemes.values()].map((scheme) => {
    const file = join(dir, `${scheme.name}.md`);
    writeFileSync(file, schemePage(scheme));
    return file;
  });
}

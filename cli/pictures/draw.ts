// The pieces every scheme's picture is drawn with. A cell carries a key (`data-k`): the page compares a
// step's cells with the previous step's by key and marks those that changed, so no picture has to know
// what a command changes.

/** Text made safe for HTML. */
export const esc = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/** One keyed cell; `cls` adds a class (e.g. "cursor", "empty"). */
export const cell = (key: string, text: unknown, cls = ''): string => `<td data-k="${esc(key)}"${cls ? ` class="${cls}"` : ''}>${esc(text)}</td>`;

/** A table: a caption, a header row, and rows of ready-made cells (a row's first entry is its label). */
export function grid(caption: string, header: string[], rows: { label: string; cells: string[] }[]): string {
  const head = header.length ? `<tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>` : '';
  const body = rows.map((r) => `<tr><th>${esc(r.label)}</th>${r.cells.join('')}</tr>`).join('');
  return `<table class="pic"><caption>${esc(caption)}</caption>${head}${body || `<tr><td class="empty">none</td></tr>`}</table>`;
}

/** A line of facts: readings and scalars of the state. */
export const facts = (pairs: [string, unknown][]): string =>
  `<p class="facts">${pairs.map(([k, v]) => `<span data-k="fact:${esc(k)}">${esc(k)}: <b>${esc(v)}</b></span>`).join(' · ')}</p>`;

/** A queue as text: oldest first, "—" when empty. */
export const queue = (ids: readonly number[]): string => (ids.length ? ids.join(' ') : '—');

/** The CPUs worth drawing: all of a small machine, else only those with something on them. */
export const shownCpus = (cpus: number, busy: (cpu: number) => boolean): number[] =>
  Array.from({ length: cpus }, (_, c) => c).filter((c) => cpus <= 16 || busy(c));

/** Where one step sent a connection, for the heat map: a row (where it came from) and a column (where it went). */
export type Landed = [row: string, column: string];

/** A scheme's own picture of its state, and where its connections land. */
export interface Picture<S = any, C = any, O = any> {
  /** HTML of the state; cells carry keys so a step's change can be marked. */
  draw(state: S): string;
  /**
   * Where the connection of this step went, or undefined when the step placed none. `state` is a state of
   * the step, before or after it: read of it only what the step does not change (the config, the revision).
   */
  landed(cmd: C, outcome: O, state: S): Landed | undefined;
  /** What the heat map's rows and columns are. */
  axes: [rows: string, columns: string];
}

/** The listener a connect's outcome names, as a heat-map column. */
export function connectedTo(cmd: { op: string }, outcome: unknown): string | undefined {
  if (cmd.op !== 'connect') return undefined;
  const o = outcome as { ok?: boolean; listener?: number };
  return o?.ok && o.listener !== undefined ? `L${o.listener}` : undefined;
}

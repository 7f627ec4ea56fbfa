// SO_REUSERPS drawn as its seed draws it: one table per CPU with the round-robin cursor, then the group's members.
import type { Command, Outcome, State } from '../../model/reuserps.ts';
import { cell, connectedTo, facts, grid, queue, shownCpus, type Picture } from './draw.ts';

export const reuserpsPicture: Picture<State, Command, Outcome> = {
  axes: ['CPU of the connect', 'listener'],
  draw(s) {
    const width = Math.max(1, ...s.tables.map((t) => t.length + 1));
    const cpus = shownCpus(s.config.cpus, (c) => s.tables[c].length > 0);
    const tables = grid(
      `per-CPU tables (${s.config.policy}; ▸ marks the cursor)`,
      ['CPU', ...Array.from({ length: width }, (_, i) => String(i))],
      cpus.map((c) => {
        const table = s.tables[c];
        const at = table.length === 0 ? -1 : s.cursorPastEnd === 'stay' ? s.cursors[c] : s.cursors[c] % table.length;
        const cells = Array.from({ length: width }, (_, i) => {
          const mark = s.config.policy === 'round-robin' && i === at ? ' cursor' : '';
          return i < table.length ? cell(`t${c}:${i}`, `${i === at && mark ? '▸' : ''}L${table[i]}`, `slot${mark}`) : cell(`t${c}:${i}`, i === at && mark ? '▸' : '', `empty${mark}`);
        });
        return { label: `cpu ${c}`, cells };
      }),
    );
    const members = grid(
      'members (group order)',
      ['listener', 'uid', 'CPUs', 'limit', 'load', 'queue'],
      s.members.map((m) => ({
        label: `L${m.id}`,
        cells: [cell(`m${m.id}:uid`, m.uid), cell(`m${m.id}:cpus`, m.cpus.join(',') || '—'), cell(`m${m.id}:limit`, m.limit || '∞'), cell(`m${m.id}:load`, m.load), cell(`m${m.id}:queue`, queue(m.queue))],
      })),
    );
    const group = s.group ? `${s.group.mode}, owner ${s.group.owner}` : 'none';
    return facts([['group', group], ['cursor past the end', s.cursorPastEnd], ['open connections', Object.keys(s.connections).length]]) + tables + members;
  },
  landed: (cmd, outcome) => {
    const to = connectedTo(cmd, outcome);
    return to && cmd.op === 'connect' ? [`cpu ${cmd.cpu}`, to] : undefined;
  },
};

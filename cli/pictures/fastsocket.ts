// Fastsocket drawn as its two lookups: the per-CPU local listen tables first, the global listen table behind
// them, and the workers' affinities that decide where a local copy is spawned.
import type { Command, Outcome, State } from '../../model/fastsocket.ts';
import { cell, facts, grid, queue, shownCpus, type Picture } from './draw.ts';

export const fastsocketPicture: Picture<State, Command, Outcome> = {
  axes: ['CPU of the SYN', 'listener (table)'],
  draw(s) {
    const cpus = shownCpus(s.config.cpus, (c) => s.tables[c].length > 0);
    const width = Math.max(1, ...s.tables.map((t) => t.length));
    const locals = grid(
      'local listen tables (per CPU, spawn order)',
      ['CPU', ...Array.from({ length: width }, (_, i) => String(i)), 'ever spawned'],
      cpus.map((c) => ({
        label: `cpu ${c}`,
        cells: [
          ...Array.from({ length: width }, (_, i) => {
            const id = s.tables[c][i];
            if (id === undefined) return cell(`lt${c}:${i}`, '', 'empty');
            const l = s.locals[id];
            return cell(`lt${c}:${i}`, `L${id}${l.global === null ? '' : ` ⇐ G${l.global}`} [${queue(l.queue)}]`, 'slot');
          }),
          cell(`sp${c}`, s.spawnedOn[c] ? 'yes' : 'no'),
        ],
      })),
    );
    const globals = grid(
      'global listen table (listen order)',
      ['listener', 'uid', 'local copies', 'queue'],
      s.listenOrder.map((id) => {
        const g = s.globals[id];
        return { label: `G${id}`, cells: [cell(`g${id}:uid`, g.uid), cell(`g${id}:copies`, g.copies.map((c) => `L${c}`).join(' ') || '—'), cell(`g${id}:queue`, queue(g.queue))] };
      }),
    );
    const workers = grid(
      'workers',
      ['worker', 'affinity'],
      Object.entries(s.workers).map(([w, cpus]) => ({ label: `W${w}`, cells: [cell(`w${w}`, cpus.join(',') || '—')] })),
    );
    const readings: [string, unknown][] = [['listen_spawn', s.config.listenSpawn], ['missing CPUs in bind', s.missingCpus]];
    if (s.freeCpu !== null) readings.push(['free CPU', s.freeCpu]);
    if (s.unboundOnOneCpu !== null) readings.push(['unbound on one CPU', s.unboundOnOneCpu]);
    return facts(readings) + locals + globals + workers;
  },
  landed: (cmd, outcome) => {
    if (cmd.op !== 'connect' || !outcome.ok || !('table' in outcome)) return undefined;
    return [`cpu ${cmd.cpu}`, `${outcome.table === 'local' ? 'L' : 'G'}${outcome.listener} (${outcome.table})`];
  },
};

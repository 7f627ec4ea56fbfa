// Linux SO_REUSEPORT drawn as the kernel holds it: the group's socks[] array in order (hash index i is slot i),
// each with its SO_INCOMING_CPU and queue.
import type { Command, Outcome, State } from '../../model/linux-reuseport.ts';
import { cell, connectedTo, facts, grid, queue, type Picture } from './draw.ts';

export const linuxReuseportPicture: Picture<State, Command, Outcome> = {
  axes: ['CPU of the connect', 'listener'],
  draw(s) {
    const socks = grid(
      'socks[] (hash index = position; removal swaps the last member in)',
      ['index', 'listener', 'uid', 'SO_INCOMING_CPU', 'queue'],
      s.members.map((m, i) => ({
        label: String(i),
        cells: [cell(`s${i}:id`, `L${m.id}`), cell(`s${i}:uid`, m.uid), cell(`s${i}:cpu`, m.incomingCpu < 0 ? '—' : m.incomingCpu), cell(`s${i}:queue`, queue(m.queue))],
      })),
    );
    return (
      facts([
        ['owner', s.owner ?? 'none'],
        ['program', s.config.program],
        ['migrate', s.config.migrate],
        ['incoming_cpu count', s.incomingCpus],
        ['SO_INCOMING_CPU ≥ cpus', s.incomingCpuPastCpus],
        ['local means', s.local],
      ]) + socks
    );
  },
  landed: (cmd, outcome) => {
    const to = connectedTo(cmd, outcome);
    return to && cmd.op === 'connect' ? [`cpu ${cmd.cpu}`, to] : undefined;
  },
};

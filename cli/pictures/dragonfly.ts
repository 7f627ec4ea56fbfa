// DragonFly SO_REUSEPORT drawn by slot: each persistent slot, the CPU it is local to, and who holds it, so a
// slot left free by a dead worker and the queue its sibling inherited show side by side.
import { cpuOfHash, cpuOfSlot, type Command, type Outcome, type State } from '../../model/dragonfly.ts';
import { cell, connectedTo, facts, grid, queue, type Picture } from './draw.ts';

export const dragonflyPicture: Picture<State, Command, Outcome> = {
  axes: ['CPU of the packet (hash % cpus)', 'listener'],
  draw(s) {
    const highest = Math.max(-1, ...s.members.map((m) => m.slot));
    const bySlot = new Map(s.members.map((m) => [m.slot, m]));
    const slots = grid(
      'slots (kept sorted; a free slot is reused lowest first)',
      ['slot', 'CPU', 'listener', 'queue'],
      Array.from({ length: highest + 2 }, (_, slot) => {
        const m = bySlot.get(slot);
        return {
          label: String(slot),
          cells: [cell(`sl${slot}:cpu`, cpuOfSlot(s.config, slot)), m ? cell(`sl${slot}:id`, `L${m.id}`) : cell(`sl${slot}:id`, 'free', 'empty'), cell(`sl${slot}:queue`, m ? queue(m.queue) : '')],
        };
      }),
    );
    return facts([['uid', s.members[0]?.uid ?? 'none'], ['members', `${s.members.length}/${s.config.groupMax}`], ['cpus', s.config.cpus], ['open connections', Object.keys(s.connections).length]]) + slots;
  },
  landed: (cmd, outcome, state) => {
    const to = connectedTo(cmd, outcome);
    if (!to || cmd.op !== 'connect') return undefined;
    return [cmd.hash === undefined ? 'no hash' : `cpu ${cpuOfHash(state.config, cmd.hash)}`, to];
  },
};

// FreeBSD SO_REUSEPORT_LB with NUMA drawn as its lookup sees it: per address, one group per NUMA domain plus
// the no-domain group, each with its members in order.
import { NODOM, type Command, type Outcome, type State } from '../../model/numa.ts';
import { cell, connectedTo, facts, grid, queue, type Picture } from './draw.ts';

export const numaPicture: Picture<State, Command, Outcome> = {
  axes: ['domain of the packet', 'listener'],
  draw(s) {
    const domains = [...Array.from({ length: s.config.domains }, (_, d) => String(d)), NODOM];
    const groups = Object.keys(s.groups)
      .sort()
      .map((address) =>
        grid(
          `groups of ${address}`,
          ['domain', 'members (group order)'],
          domains.map((d) => ({ label: d === NODOM ? 'no domain' : `domain ${d}`, cells: [cell(`g${address}:${d}`, (s.groups[address][d] ?? []).map((id) => `L${id}`).join(' ') || '—', s.groups[address][d] ? '' : 'empty')] })),
        ),
      );
    const listeners = grid(
      'listeners',
      ['listener', 'uid', 'address', 'domain', 'queue'],
      Object.entries(s.listeners).map(([id, l]) => ({
        label: `L${id}`,
        cells: [cell(`l${id}:uid`, l.uid), cell(`l${id}:addr`, l.address), cell(`l${id}:dom`, l.domain ?? 'none'), cell(`l${id}:queue`, queue(l.queue))],
      })),
    );
    return facts([['owner', s.owner ?? 'none'], ['domains', s.config.domains], ['connect to 0.0.0.0', s.wildcardDestination], ['local without a domain', s.localWithoutDomain]]) + groups.join('') + listeners;
  },
  landed: (cmd, outcome) => {
    const to = connectedTo(cmd, outcome);
    return to && cmd.op === 'connect' ? [cmd.domain === null ? 'no domain' : `domain ${cmd.domain}`, to] : undefined;
  },
};

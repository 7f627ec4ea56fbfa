// Properties shared by the listener-group schemes whose state has the shape of model/shared/queues.ts.
import { everyStep, type Property } from '../core/scheme.ts';
import { sameValue, show } from '../core/vocabulary.ts';
import type { QueueState } from '../model/shared/queues.ts';

type Cmd = { op: string; conn?: number; listener?: number };
type Out = { ok: boolean; migrated?: [number, number][]; reset?: number[] };

export const noLostConnections: Property<unknown, QueueState, Cmd, Out> = {
  name: 'no-lost-connections',
  rule: 'true iff every connection stays queued in exactly one listener, accepted, or is listed as migrated, reset or closed — none disappears',
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    const sorted = (ids: Iterable<number>) => [...ids].sort((a, b) => a - b);
    const open = new Set(Object.keys(before.connections).map(Number));
    if (cmd.op === 'connect' && outcome.ok) open.add(cmd.conn!);
    if (cmd.op === 'close' && outcome.ok) open.delete(cmd.conn!);
    if (cmd.op === 'deregister' && outcome.reset) {
      const leaving = before.members.find((m) => m.id === cmd.listener)!;
      const listed = sorted([...(outcome.migrated ?? []).map(([c]) => c), ...outcome.reset]);
      if (!sameValue(listed, sorted(leaving.queue))) return `deregister listed ${show(listed)}, but the queue held ${show(leaving.queue)}`;
      for (const c of outcome.reset) open.delete(c);
    }
    const now = sorted(Object.keys(after.connections).map(Number));
    if (!sameValue(sorted(open), now)) return `open connections are ${show(now)}, expected ${show(sorted(open))}`;
    const queued = after.members.flatMap((m) => m.queue.map((c) => [c, m.id] as const));
    if (new Set(queued.map(([c]) => c)).size !== queued.length) return 'a connection waits in two queues';
    for (const [c, listener] of queued) {
      const conn = after.connections[c];
      if (!conn || conn.accepted || conn.listener !== listener) return `connection ${c} is in ${listener}'s queue but is ${show(conn)}`;
    }
    for (const [c, conn] of Object.entries(after.connections)) {
      if (!conn.accepted && !queued.some(([q]) => q === Number(c))) return `connection ${c} is neither accepted nor queued`;
    }
    return null;
  }),
};

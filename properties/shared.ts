// Properties shared by the listener-group schemes whose state has the shape of model/shared/queues.ts.
import { everyStep, type Property } from '../core/scheme.ts';
import { sameValue, show } from '../core/vocabulary.ts';
import type { QueueState } from '../model/shared/queues.ts';

type Cmd = { op: string; conn?: number; listener?: number };
type Out = { ok: boolean; conn?: number | null; migrated?: [number, number][]; reset?: number[] };

/**
 * Checked on what the step touched (the command's connection, the queues it named), so its cost does
 * not grow with the number of open connections; a change anywhere else is snapshot-matches-model's to see.
 */
export const noLostConnections: Property<unknown, QueueState, Cmd, Out> = {
  name: 'no-lost-connections',
  rule: 'true iff every connection stays queued in exactly one listener, accepted, or is listed as migrated, reset or closed — none disappears',
  monitor: everyStep(({ before, cmd, outcome, after }) => {
    const queueOf = (s: QueueState, listener: number) => s.members.find((m) => m.id === listener)?.queue ?? [];
    /**
     * The queue a listener had before the step. Found by its place in the after-state (plain, so the
     * search costs no trap) when it held that place before too, as it does unless the step moved members;
     * else by a search of the before-view (a trap per member read).
     */
    const queueBefore = (listener: number) => {
      const at = after.members.findIndex((m) => m.id === listener);
      const there = at >= 0 ? before.members[at] : undefined;
      return there?.id === listener ? there.queue : queueOf(before, listener);
    };
    /** The newcomers of a step wait, in order, at the tail of their listener's queue, which grew by as many. */
    const joinedTail = (listener: number, newcomers: number[]) => {
      for (const c of newcomers) {
        const conn = after.connections[c];
        if (!conn || conn.accepted || conn.listener !== listener) return `connection ${c} should wait in ${listener}'s queue but is ${show(conn)}`;
      }
      const queue = queueOf(after, listener);
      const grown = queue.length - (listener === cmd.listener && cmd.op === 'deregister' ? 0 : queueBefore(listener).length);
      if (grown !== newcomers.length) return `${listener}'s queue grew by ${grown}, but ${newcomers.length} connections joined it`;
      const tail = queue.slice(queue.length - newcomers.length);
      return sameValue(tail, newcomers) ? null : `${listener}'s queue ends with ${show(tail)}, expected ${show(newcomers)}`;
    };
    const gone = (c: number, from: number[]) => {
      if (after.connections[c] !== undefined) return `connection ${c} is still open`;
      const still = from.find((listener) => queueOf(after, listener).includes(c));
      return still === undefined ? null : `connection ${c} still waits in ${still}'s queue`;
    };
    const was = cmd.conn === undefined ? undefined : before.connections[cmd.conn];
    if (!outcome.ok) {
      // A failed command changes no connection it names.
      if (cmd.conn === undefined) return null;
      return sameValue(was, after.connections[cmd.conn]) ? null : `a failed ${cmd.op} changed connection ${cmd.conn}`;
    }
    if (cmd.op === 'connect' && 'listener' in outcome) return joinedTail((outcome as { listener: number }).listener, [cmd.conn!]);
    if (cmd.op === 'close') return gone(cmd.conn!, was && !was.accepted && was.listener !== null ? [was.listener] : []);
    if (cmd.op === 'accept' && typeof outcome.conn === 'number') {
      const head = queueBefore(cmd.listener!)[0];
      if (head !== outcome.conn) return `accept returned ${outcome.conn}, but the head of the queue was ${head}`;
      const conn = after.connections[head];
      if (!conn?.accepted) return `accepted connection ${head} is ${show(conn)}`;
      return queueOf(after, cmd.listener!).includes(head) ? `accepted connection ${head} still waits in the queue` : null;
    }
    if (cmd.op === 'deregister' && outcome.reset) {
      const sorted = (ids: Iterable<number>) => [...ids].sort((a, b) => a - b);
      const leaving = queueOf(before, cmd.listener!);
      const listed = sorted([...(outcome.migrated ?? []).map(([c]) => c), ...outcome.reset]);
      if (!sameValue(listed, sorted(leaving))) return `deregister listed ${show(listed)}, but the queue held ${show([...leaving])}`;
      for (const c of outcome.reset) {
        const message = gone(c, [cmd.listener!]);
        if (message) return message;
      }
      const arrivals = new Map<number, number[]>();
      for (const [c, listener] of outcome.migrated ?? []) arrivals.set(listener, [...(arrivals.get(listener) ?? []), c]);
      for (const [listener, newcomers] of arrivals) {
        const message = joinedTail(listener, newcomers);
        if (message) return message;
      }
    }
    return null;
  }),
};

// What the listener-group schemes (SO_REUSERPS, DragonFly, Linux) share: members in group order, each
// with a FIFO accept queue, and open connections that are queued, accepted, or left counting nowhere
// once the listener that accepted them is gone. `accept` and `close` mean the same in all of them.

export interface QueuedListener {
  id: number;
  /** Connection ids waiting for accept, oldest first. */
  queue: number[];
}

export interface QueuedConnection {
  /** null once accepted (linux-reuseport, dragonfly) or once its listener has gone (reuserps): counted nowhere. */
  listener: number | null;
  accepted: boolean;
}

export interface QueueState {
  members: QueuedListener[];
  connections: Record<number, QueuedConnection>;
}

/** `accept`: the oldest queued connection of a member, or conn null when none waits. */
export function acceptFrom(s: QueueState, listener: number) {
  const member = s.members.find((m) => m.id === listener);
  if (!member) return { ok: false as const, error: 'unknown-listener' as const };
  const head = member.queue[0];
  if (head === undefined) return { ok: true as const, conn: null };
  // A new array rather than shift(): one write to the state (the oracle journals writes), however long the queue.
  member.queue = member.queue.slice(1);
  s.connections[head].accepted = true;
  return { ok: true as const, conn: head };
}

/** `close`: an open connection, accepted or still queued (a client that gave up), goes away. */
export function closeConnection(s: QueueState, conn: number) {
  const open = s.connections[conn];
  if (!open) return { ok: false as const, error: 'unknown-conn' as const };
  if (!open.accepted) {
    const member = s.members.find((m) => m.id === open.listener)!;
    member.queue.splice(member.queue.indexOf(conn), 1);
  }
  delete s.connections[conn];
  return { ok: true as const };
}

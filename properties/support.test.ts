// The typed-array structures under every impl, checked against plain JavaScript ones.
import { test } from '@fast-check/vitest';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { Connections } from '../impl/support/connections.ts';
import { IntMap } from '../impl/support/int-map.ts';

// Few distinct keys, some of them far apart, so probe runs collide, wrap and shift back on delete.
const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(2 ** 31 - 1, 2 ** 20, 64, 128, 4096));
const mapOps = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('set' as const), key, value: fc.integer({ min: -1, max: 1000 }) }),
    fc.record({ op: fc.constant('delete' as const), key }),
  ),
  { maxLength: 300 },
);

describe('IntMap', () => {
  test.prop([mapOps, fc.integer({ min: 1, max: 8 })])('answers like a Map after any sequence of sets and deletes', (ops, capacity) => {
    const map = new IntMap(capacity);
    const reference = new Map<number, number>();
    for (const o of ops) {
      if (o.op === 'set') {
        map.set(o.key, o.value);
        reference.set(o.key, o.value);
      } else {
        map.delete(o.key);
        reference.delete(o.key);
      }
      expect(map.size).toBe(reference.size);
    }
    for (let k = 0; k <= 40; k++) expect(map.get(k)).toBe(reference.get(k) ?? -1);
    const seen = new Map<number, number>();
    map.forEach((k, v) => seen.set(k, v));
    expect(seen).toEqual(reference);
  });
});

describe('Connections', () => {
  const connOps = fc.array(
    fc.oneof(
      fc.record({ op: fc.constant('open' as const), listener: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ op: fc.constant('accept' as const), listener: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ op: fc.constant('close' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('drain' as const), listener: fc.integer({ min: 0, max: 20 }) }),
    ),
    { maxLength: 400 },
  );

  test.prop([connOps])('keeps every listener a FIFO queue, whatever opens, accepts, closes and drains', (ops) => {
    const pool = new Connections(2, 1);
    const queues = new Map<number, number[]>();
    const accepted = new Set<number>();
    let nextId = 0;
    const queueOf = (l: number) => queues.get(l) ?? (queues.set(l, []), queues.get(l)!);
    for (const o of ops) {
      if (o.op === 'open') {
        pool.ensureListeners(o.listener + 1);
        pool.open(nextId, o.listener, 0, nextId % 3 === 0 ? -1 : nextId);
        queueOf(o.listener).push(nextId++);
      } else if (o.op === 'accept') {
        pool.ensureListeners(o.listener + 1);
        const slot = pool.accept(o.listener);
        const expected = queueOf(o.listener).shift();
        expect(slot === -1 ? undefined : pool.ids[slot]).toBe(expected);
        if (expected !== undefined) accepted.add(expected);
      } else if (o.op === 'drain') {
        pool.ensureListeners(o.listener + 1);
        const drained = pool.drain(o.listener).map((slot) => pool.ids[slot]);
        expect(drained).toEqual(queueOf(o.listener));
        for (const id of drained) {
          const slot = pool.slotOf(id);
          pool.owner[slot] = -1;
          pool.close(slot);
        }
        queues.set(o.listener, []);
      } else {
        const open = [...[...queues.values()].flat(), ...accepted];
        if (open.length === 0) continue;
        const id = open[o.pick % open.length];
        pool.close(pool.slotOf(id));
        accepted.delete(id);
        for (const q of queues.values()) if (q.includes(id)) q.splice(q.indexOf(id), 1);
      }
    }
    for (const [listener, queue] of queues) expect(pool.queuedIds(listener)).toEqual(queue);
    for (const id of accepted) expect(pool.isAccepted(pool.slotOf(id))).toBe(true);
  });
});

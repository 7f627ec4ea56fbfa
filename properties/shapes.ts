// Corners of shape, the same for every scheme: a collection the scheme changes (a group, a CPU table,
// a queue) reaches three members; a member leaves it from the first, a middle or the last position
// with two or more left; a change fails on a listener inside a group of two or more that is not its
// last; and the interleavings rules talk about. Each scheme names its collections (keyed, members
// in order) and gets these corners for them; the corner gate then demands each in 5% of runs.
import type { Corner, Transition } from '../core/scheme.ts';

type T = Transition<any, any, any, any>;
/** A scheme's collections in one state: key → members in their order. */
export type Collections<State> = (s: State) => Iterable<[string, readonly number[]]>;

const asMap = <State>(of: Collections<State>, s: State) => new Map(of(s));

/** The position a member left one of the collections from, on a collection of three or more, else null. */
function removedFrom<State>(of: Collections<State>, { before, after }: T): 'first' | 'middle' | 'last' | null {
  const now = asMap(of, after);
  for (const [key, old] of of(before)) {
    const members = now.get(key) ?? [];
    if (old.length < 3 || members.length !== old.length - 1) continue;
    const at = old.findIndex((m) => !members.includes(m));
    if (at < 0) continue;
    return at === 0 ? 'first' : at === old.length - 1 ? 'last' : 'middle';
  }
  return null;
}

/** For a failed change: the collections of `before` holding `listener` where it is not the last member. */
export function holding<State>(of: Collections<State>, s: State, listener: number): (readonly number[])[] {
  return [...of(s)].map(([, members]) => members).filter((members) => members.includes(listener) && members.at(-1) !== listener);
}

/**
 * The shape corners of one kind of collection (`what`: 'group', 'table', ...). `concerned` gives, for
 * a failed command, the collections the change it asked for would have changed (a move's old group
 * where the mover is not last, the tables a registration would join): one of two or more members
 * there is a corner too.
 */
export function shapeCorners<State>(what: string, of: Collections<State>, concerned: (t: T) => (readonly number[])[]): Corner[] {
  const removal = (position: 'first' | 'middle' | 'last'): Corner => ({
    name: `${what}-removal-from-${position}-of-3+`,
    watch: () => (t) => removedFrom(of, t) === position,
  });
  return [
    { name: `${what}-of-3+`, watch: () => ({ after }) => [...of(after)].some(([, members]) => members.length >= 3) },
    removal('first'),
    removal('middle'),
    removal('last'),
    {
      name: `failed-change-inside-a-${what}-of-2+`,
      watch: () => (t) => !t.outcome.ok && concerned(t).some((members) => members.length >= 2),
    },
  ];
}

/**
 * Accepts alternating over two listeners of one collection: accepts that take a connection from A,
 * then B, then A again, with A and B in one collection at each of them (a counter per collection and
 * a counter per listener differ only here).
 */
export function alternatingAccepts<State>(what: string, of: Collections<State>, accepted: (t: T) => number | undefined): Corner {
  return {
    name: `accepts-alternating-over-two-listeners-of-a-${what}`,
    watch: () => {
      const last = new Map<string, number[]>();
      return (t) => {
        const listener = accepted(t);
        if (listener === undefined) return false;
        for (const [key, members] of of(t.before)) {
          if (!members.includes(listener)) continue;
          const seen = (last.get(key) ?? []).filter((l) => members.includes(l));
          seen.push(listener);
          last.set(key, seen.slice(-3));
          const [a, b, c] = seen.slice(-3);
          if (seen.length >= 3 && a === c && a !== b) return true;
        }
        return false;
      };
    },
  };
}

/** A connect between a removal from a collection and the next addition to that collection. */
export function connectBetweenRemovalAndAddition<State>(what: string, of: Collections<State>, connected: (t: T) => boolean): Corner {
  return {
    name: `connect-between-removal-and-addition-of-a-${what}`,
    watch: () => {
      // Per collection: 0 nothing yet, 1 a member left, 2 and a connect came since.
      const phase = new Map<string, number>();
      return (t) => {
        const [before, after] = [asMap(of, t.before), asMap(of, t.after)];
        const isConnect = connected(t);
        for (const key of new Set([...before.keys(), ...after.keys(), ...phase.keys()])) {
          const [old, members] = [before.get(key) ?? [], after.get(key) ?? []];
          if (members.some((m) => !old.includes(m)) && phase.get(key) === 2) return true;
          if (old.some((m) => !members.includes(m))) phase.set(key, 1);
          else if (isConnect && phase.get(key) === 1) phase.set(key, 2);
        }
        return false;
      };
    },
  };
}

/**
 * A change on a member that a removal moved (swap-with-last puts the last member in the hole; a
 * shift moves every later one): a cache kept by position goes stale exactly there.
 */
export function changeOfMovedMember<State>(what: string, of: Collections<State>, changed: (t: T) => number | undefined): Corner {
  return {
    name: `change-of-a-member-moved-by-a-removal-from-a-${what}`,
    watch: () => {
      const moved = new Set<number>();
      return (t) => {
        const listener = changed(t);
        const hit = listener !== undefined && moved.has(listener);
        const now = asMap(of, t.after);
        for (const [key, old] of of(t.before)) {
          const members = now.get(key) ?? [];
          if (members.length !== old.length - 1) continue;
          members.forEach((m, i) => old.indexOf(m) !== i && moved.add(m));
        }
        return hit;
      };
    },
  };
}

/** A member leaves a collection of 3+ (so 2+ stay) with 2+ connections queued: each may go its own way. */
export function removalWithQueue<State>(what: string, of: Collections<State>, queued: (t: T) => number): Corner {
  return {
    name: `removal-with-2+-queued-from-a-${what}-of-3+`,
    watch: () => (t) => removedFrom(of, t) !== null && queued(t) >= 2,
  };
}

/**
 * The first member leaves a collection that lost another member since its last addition (no one
 * joined in between): the links or cursors the earlier removal left are read here (a doubly-linked
 * table whose unlink left a stale link shows it only then).
 */
export function firstLeavesAfterARemoval<State>(what: string, of: Collections<State>): Corner {
  return {
    name: `first-of-a-${what}-leaves-after-a-removal-from-it`,
    watch: () => {
      const lostOne = new Set<string>();
      return (t) => {
        const now = asMap(of, t.after);
        let hit = false;
        for (const [key, old] of of(t.before)) {
          const members = now.get(key) ?? [];
          if (members.some((m) => !old.includes(m))) lostOne.delete(key);
          else if (members.length < old.length) {
            hit ||= lostOne.has(key) && !members.includes(old[0]);
            lostOne.add(key);
          }
        }
        return hit;
      };
    },
  };
}

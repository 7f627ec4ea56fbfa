// fast-check reaches run k of a seed by jumping its random generator k times, and a jump of its
// xorshift128+ costs 128 steps of it. A campaign made in blocks, each replayed from its path, would pay
// N²/50 jumps for N runs (a fifth of a 20,000-run check). The generator given to fast-check here starts
// where the nearest position already reached under the same seed left off, and lets fast-check's own
// jumps up to there pass, so every run is exactly the one fast-check makes without it.
import { xorshift128plus } from 'pure-rand/generator/xorshift128plus';

type Generator = ReturnType<typeof xorshift128plus>;

/** Per seed, the generator's state after k jumps, for every k reached so far (ascending). */
const reached = new Map<number, { at: number[]; states: Generator[] }>();
/** Positions kept per seed: beyond it, the farthest are dropped (a campaign moves forward). */
const KEPT = 4096;

/** The default generator of `seed`, jumped `position` times. */
function jumped(seed: number, position: number): Generator {
  let known = reached.get(seed);
  if (!known) reached.set(seed, (known = { at: [0], states: [xorshift128plus(seed)] }));
  let i = known.at.length - 1;
  while (known.at[i] > position) i--;
  const generator = known.states[i].clone();
  for (let k = known.at[i]; k < position; k++) generator.jump();
  if (known.at[i] !== position) {
    known.at.splice(i + 1, 0, position);
    known.states.splice(i + 1, 0, generator.clone());
    if (known.at.length > KEPT) (known.at.pop(), known.states.pop());
  }
  return generator;
}

/** A generator whose first `free` jumps do nothing: they are the ones `inner` has already made. */
function skipping(inner: Generator, free: number): Generator {
  if (free === 0) return inner;
  return {
    clone: () => skipping(inner.clone(), free),
    next: () => inner.next(),
    jump: () => {
      if (free > 0) free--;
      else inner.jump();
    },
    getState: () => inner.getState(),
  } as Generator;
}

/**
 * fast-check's `randomType` for replaying `path` under a seed: the runs and shrinks it gives are those
 * of fast-check's default generator (core/core.test.ts checks it), at a cost that does not grow with
 * the run's position.
 */
export function startingAt(path: string): (seed: number) => Generator {
  const position = Number(path.split(':')[0]);
  if (!Number.isSafeInteger(position) || position < 0) return xorshift128plus;
  return (seed) => skipping(jumped(seed, position), position);
}

// Progress without a terminal: a plain line every few seconds, never more often, on the stream given.
import { describe, expect, it } from 'vitest';
import { progress } from './progress.ts';

describe('progress without a TTY', () => {
  it('writes "<scheme> <run>/<of> runs" at most once per interval', () => {
    const lines: string[] = [];
    let clock = 0;
    const p = progress('reuserps', { isTTY: false, write: (l: string) => lines.push(l) }, 5000, () => clock);
    p.update(100, 2000);
    clock = 4999;
    p.update(200, 2000);
    clock = 5000;
    p.update(1200, 2000);
    clock = 6000;
    p.update(1300, 2000);
    clock = 10_000;
    p.update(2100, 2000);
    p.stop();
    expect(lines).toEqual(['reuserps 1200/2000 runs\n', 'reuserps 2000/2000 runs\n']);
  });
});

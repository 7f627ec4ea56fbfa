// Every bench runs in smoke mode (tiny samples) under `npm test`, so a bench that throws, or whose
// checks (limit = route, model accepts the stream, same runs for both checks) fail, fails CI. Its figures
// are printed, and each must be a finite positive number; they are not figures to quote.
import { describe, expect, it } from 'vitest';
import { schemes } from '../schemes.ts';
import { HEADLINE, type SchemeReport } from './measure.ts';
import { jsonOf, machinery, print } from './run.ts';
import { benches } from './suite.ts';

const finitePositive = (x: number) => Number.isFinite(x) && x > 0;

describe('benches (smoke mode)', () => {
  it('every registered scheme has a bench', () => {
    expect(Object.keys(benches).sort()).toEqual([...schemes.keys()].sort());
  });

  // The schemes' benches, and those of the oracle's own machinery (the linearizability checker).
  for (const [name, bench] of Object.entries({ ...benches, ...machinery })) {
    it(`${name}: completes, and every figure is a finite positive number`, async () => {
      const report: SchemeReport = await bench({ smoke: true });
      print(report);
      expect(report.figures.length).toBeGreaterThan(0);
      for (const f of [...report.figures, ...report.ratios]) {
        for (const x of [f.value.median, f.value.q1, f.value.q3]) expect(finitePositive(x), `${name}: ${f.name} = ${x}`).toBe(true);
      }
      // Each headline ratio is measured, or absent with a reason.
      const json = jsonOf(report);
      for (const key of HEADLINE) {
        const value = json[key];
        if (value === null) expect(report.absent[key], `${name}: ${key} is null without a reason`).toBeTruthy();
        else expect(finitePositive(value as number), `${name}: ${key} = ${value}`).toBe(true);
      }
    });
  }
});

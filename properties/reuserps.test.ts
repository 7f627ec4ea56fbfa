import { describe } from 'vitest';
import { reuserpsScheme } from './reuserps.ts';
import { reuserpsBugs } from './fixtures/reuserps-bugs.ts';
import { checkScheme } from './harness.ts';

describe('reuserps', () => {
  checkScheme(reuserpsScheme, { bugs: reuserpsBugs });
});

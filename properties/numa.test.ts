import { describe } from 'vitest';
import { numaScheme } from './numa.ts';
import { numaBugs } from './fixtures/numa-bugs.ts';
import { checkScheme } from './harness.ts';

describe('numa', () => {
  checkScheme(numaScheme, { bugs: numaBugs });
});

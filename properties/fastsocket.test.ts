import { describe } from 'vitest';
import { fastsocketScheme } from './fastsocket.ts';
import { fastsocketBugs } from './fixtures/fastsocket-bugs.ts';
import { checkScheme } from './harness.ts';

describe('fastsocket', () => {
  checkScheme(fastsocketScheme, { bugs: fastsocketBugs });
});

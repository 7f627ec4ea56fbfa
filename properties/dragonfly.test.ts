import { describe } from 'vitest';
import { dragonflyScheme } from './dragonfly.ts';
import { dragonflyBugs } from './fixtures/dragonfly-bugs.ts';
import { checkScheme } from './harness.ts';

describe('dragonfly', () => {
  checkScheme(dragonflyScheme, { bugs: dragonflyBugs });
});

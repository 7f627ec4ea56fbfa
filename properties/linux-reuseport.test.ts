import { describe } from 'vitest';
import { linuxReuseportScheme } from './linux-reuseport.ts';
import { linuxReuseportBugs } from './fixtures/linux-reuseport-bugs.ts';
import { checkScheme } from './harness.ts';

describe('linux-reuseport', () => {
  checkScheme(linuxReuseportScheme, { bugs: linuxReuseportBugs });
});

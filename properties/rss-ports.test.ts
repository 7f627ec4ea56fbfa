import { describe } from 'vitest';
import { rssPortsScheme } from './rss-ports.ts';
import { rssPortsBugs } from './fixtures/rss-ports-bugs.ts';
import { checkScheme } from './harness.ts';

describe('rss-ports', () => {
  checkScheme(rssPortsScheme, { bugs: rssPortsBugs });
});

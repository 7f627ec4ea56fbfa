import { replayFile } from './cli/replay.ts';
import { builtin, checked } from './core/subject.ts';
import { rssPortsBugs } from './properties/fixtures/rss-ports-bugs.ts';
import { subjectOf } from './properties/harness.ts';
import { readdirSync } from 'node:fs';
for (const f of readdirSync('traces/rss-ports')) {
  const r = await replayFile('traces/rss-ports/' + f, builtin);
  console.log(f, r.failure ?? 'ok', r.steps.map(s => JSON.stringify(s.outcome)).join(' '));
  for (const bug of rssPortsBugs) {
    const rb = await replayFile('traces/rss-ports/' + f, subjectOf(bug));
    console.log('   ', bug.name, '→', rb.failure ? `${rb.failure.property}@${rb.failure.index}` : rb.divergedAt !== undefined ? 'diverged' : 'passes');
  }
}

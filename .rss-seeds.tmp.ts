import { runCampaign } from './core/campaign.ts';
import { allProperties } from './core/scheme.ts';
import { rssPortsScheme as scheme } from './properties/rss-ports.ts';
import { rssPortsBugs } from './properties/fixtures/rss-ports-bugs.ts';
import { subjectOf, scratchDir } from './properties/harness.ts';
for (const seed of [20261123, 1, 42, 777, 5, 6]) {
  const row: string[] = [];
  for (const bug of rssPortsBugs) {
    const property = allProperties(scheme).find((p) => p.name === bug.caughtBy)!;
    const [r] = await runCampaign({ scheme, subject: subjectOf(bug), runs: 2000, seed, traceDir: scratchDir(), properties: [property] });
    row.push(`${r.status === 'failed' ? r.length : 'MISS'}`);
  }
  console.log(seed, row.join(' '));
}

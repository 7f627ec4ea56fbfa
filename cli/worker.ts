// A worker thread of the campaign pool (cli/pool.ts): it makes blocks of runs and shrinks failures with
// the same Engine the main thread would use, for the same subject, so its records are exactly theirs.
import { Engine, type CampaignPlan, type Found, type RunRecord, type Shrunk } from '../core/campaign.ts';
import type { Subject } from '../core/subject.ts';
import { schemes } from '../schemes.ts';
import { subjectOf, type SubjectSpec } from './subjects.ts';
import { landedOf } from './pictures/index.ts';

export type Task =
  | { kind: 'block'; plan: CampaignPlan; subject: SubjectSpec; start: number; count: number }
  | { kind: 'shrink'; plan: CampaignPlan; subject: SubjectSpec; property: string; first: Found };

// One subject per worker and spec: an --exec program is started once per worker, not once per block.
const subjects = new Map<string, Subject>();

export default async function work(task: Task): Promise<RunRecord[] | Shrunk> {
  const key = JSON.stringify(task.subject);
  let subject = subjects.get(key);
  if (!subject) subjects.set(key, (subject = subjectOf(task.subject)));
  const engine = new Engine(schemes.get(task.plan.scheme)!, subject, task.plan, undefined, landedOf(task.plan.scheme));
  return task.kind === 'block' ? engine.block(task.start, task.count) : engine.shrink(task.property, task.first);
}

import fc from 'fast-check';
import { numaScheme } from '../properties/numa.ts';
import { stepWith } from '../core/relation.ts';
const samples = fc.sample(numaScheme.runs, { seed: 20261123, numRuns: 400 });
let lens: number[] = [], occupied = 0, runsWithMoveOk = 0;
for (const { config, commands } of samples) {
  let s = numaScheme.model.init(config);
  lens.push(commands.length);
  let occ = false, mv = false;
  for (const cmd of commands) {
    if (cmd.op === 'setDomain' && s.listeners[cmd.listener] && typeof cmd.domain !== 'string') {
      const l = s.listeners[cmd.listener];
      if ((s.groups[l.address]?.[String(cmd.domain)] ?? []).length > 0 && l.domain !== cmd.domain) occ = true;
    }
    const { outcome, next } = stepWith(numaScheme.model, s, cmd);
    if (cmd.op === 'setDomain' && outcome.ok) mv = true;
    s = next;
  }
  if (occ) occupied++; if (mv) runsWithMoveOk++;
}
lens.sort((a,b)=>a-b);
console.log({ occupied, runsWithMoveOk, median: lens[200], p90: lens[360] });

import fc from 'fast-check';
import { runs } from './properties/fastsocket.ts';
const s = fc.sample(runs, { seed: 20261123, numRuns: 400 });
const lens = s.map((r) => r.commands.length);
console.log('avg', lens.reduce((a, b) => a + b, 0) / lens.length, 'max', Math.max(...lens));
console.log(JSON.stringify(s[5]));
import { stepWith } from './core/relation.ts';
import { fastsocketScheme as scheme } from './properties/fastsocket.ts';
const reached = new Map(scheme.corners.map((c) => [c.name, 0]));
for (const { config, commands } of s) {
  const watchers = scheme.corners.map((c) => ({ name: c.name, reached: c.watch(), hit: false }));
  let state = scheme.model.init(config);
  commands.forEach((cmd, index) => {
    const { outcome, next } = stepWith(scheme.model, state, cmd);
    for (const w of watchers) w.hit ||= w.reached({ config, index, before: state, cmd, outcome, after: next });
    state = next;
  });
  for (const w of watchers) if (w.hit) reached.set(w.name, reached.get(w.name)! + 1);
}
console.log(Object.fromEntries([...reached].map(([n, k]) => [n, (100 * k / s.length).toFixed(1)])));

// A reply of any shape is judged: allowed, a conformance failure, or a protocol-error fault when it is no
// outcome of the vocabulary. It never makes the oracle itself fail (a readBack hint that trips over a
// malformed reply gives no hint). Replies are checked against the vocabulary only when the model rejects them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runParallel } from './parallel.ts';
import { runSequence } from './runner.ts';
import { allProperties } from './scheme.ts';
import { checked } from './subject.ts';
import { schemes } from '../schemes.ts';

const odd = fc.oneof(
  fc.anything(),
  fc.constantFrom(null, 42, 'ok', [], {}, { ok: true, migrated: 5 }, { ok: false, error: {} }, { ok: true, listener: [1], local: 'yes' }, { ok: false, error: 'refused', extra: 1 }),
);

describe('replies of any shape', () => {
  for (const scheme of schemes.values()) {
    it(`${scheme.name}: judged or a protocol error, never an oracle error`, async () => {
      await fc.assert(
        fc.asyncProperty(scheme.runs, fc.array(odd, { minLength: 1, maxLength: 8 }), fc.nat(7), async ({ config, commands }, replies, at) => {
          // The built-in implementation answers until step `at`, then the odd replies take over.
          const impl = scheme.implementation(config);
          let step = 0;
          const subject = checked(scheme, { apply: (cmd) => (step++ < at ? impl.apply(cmd) : replies[(step - at - 1) % replies.length]) }, { hash: true, snapshot: false });
          const result = await runSequence({ scheme, config, commands: commands.slice(0, at + 4), implementation: subject, properties: allProperties(scheme) });
          const ended = result.fault ?? result.failures[0];
          if (ended?.fault) expect(ended.fault).toBe('protocol-error');
        }),
        { numRuns: 60, seed: 7 },
      );
    });
  }
});

describe('replies of any shape in a parallel run', () => {
  const scheme = schemes.get('reuserps')!;
  const config = scheme.config.parse({ cpus: 2, slotsPerCpu: 4 });
  const register = scheme.command.parse({ op: 'register', listener: 1, uid: 0, reuserps: true, cpus: [0, 1], limit: 0 });
  const connect = (conn: number) => scheme.command.parse({ op: 'connect', conn, cpu: 0, hash: 0 });
  for (const [where, prefixReply, branchReply] of [
    ['the prefix', null, { ok: true, listener: 1, local: true }],
    ['a branch', { ok: true }, { ok: true, listener: 'one' }],
  ] as const) {
    it(`a reply outside the vocabulary in ${where} is a protocol error`, async () => {
      const instance = checked(scheme, { apply: () => prefixReply, applyAt: async () => branchReply }, { hash: true, snapshot: false, concurrent: true });
      const result = await runParallel(scheme, config, { config, prefix: [register], branches: [[connect(10)], [connect(11)]] }, instance);
      expect(result.fault?.fault).toBe('protocol-error');
    });
  }
});

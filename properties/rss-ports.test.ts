import { describe, expect, it } from 'vitest';
import { initialState } from '../core/relation.ts';
import { runSequence } from '../core/runner.ts';
import { allProperties } from '../core/scheme.ts';
import { InputError, parseWith } from '../core/vocabulary.ts';
import { RssPortsImpl } from '../impl/rss-ports.ts';
import { alignedPorts, commandSchema, configSchema, type Command } from '../model/rss-ports.ts';
import { keyBytes } from '../model/toeplitz.ts';
import { rssPortsScheme } from './rss-ports.ts';
import { rssPortsBugs } from './fixtures/rss-ports-bugs.ts';
import { checkScheme } from './harness.ts';

describe('rss-ports', () => {
  checkScheme(rssPortsScheme, { bugs: rssPortsBugs });
});

describe('rss-ports beyond the generated runs', () => {
  const A = { op: 'setRemote' as const, address: '198.51.100.7', port: 443 };
  const B = { op: 'setRemote' as const, address: '203.0.113.9', port: 443 };

  it('with the default config every bucket reaches exactly its full share, for two remotes', () => {
    const config = configSchema.parse({});
    const impl = new RssPortsImpl(config);
    for (const remote of [A, B]) {
      impl.apply(remote);
      for (let bucket = 0; bucket < 8; bucket++) {
        const got: number[] = [];
        for (let o = impl.apply({ op: 'allocate', bucket }); o.ok; o = impl.apply({ op: 'allocate', bucket })) got.push((o as { port: number }).port);
        const share = alignedPorts(config, remote, bucket);
        expect(share.length).toBeGreaterThanOrEqual(16 * 220);
        expect(got.sort((a, b) => a - b)).toEqual(share);
      }
    }
  });

  it('a long run with a wide range matches the model step by step (node pool growth, FIFO reuse, old revisions)', async () => {
    const config = configSchema.parse({ portRange: [40000, 40511], retaSize: 16, buckets: 2 });
    const commands: Command[] = [A];
    for (let i = 0; i < 150; i++) commands.push({ op: 'allocate', bucket: i % 2 });
    commands.push(B);
    for (let i = 0; i < 150; i++) commands.push({ op: 'allocate', bucket: i % 2 });
    for (let p = 40000; p < 40200; p += 3) commands.push({ op: 'release', port: p, revision: 1 + (p % 2) });
    for (let i = 0; i < 100; i++) commands.push({ op: 'allocate', bucket: i % 2 });
    const result = await runSequence({
      scheme: rssPortsScheme,
      config,
      commands,
      implementation: new RssPortsImpl(config),
      properties: allProperties(rssPortsScheme),
    });
    expect([...result.failures, ...(result.fault ? [result.fault] : [])]).toEqual([]);
  });

  it('a remote of the other family is an input error naming setRemote.address (model and impl)', () => {
    const config = configSchema.parse({});
    const bad = { op: 'setRemote' as const, address: '2001:db8::7', port: 443 };
    expect(() => new RssPortsImpl(config).apply(bad)).toThrow(InputError);
    expect(() => rssPortsScheme.model.step(initialState(rssPortsScheme.model, config), bad, () => 0 as never)).toThrow(/setRemote.address/);
    expect(() => parseWith(commandSchema, { op: 'setRemote', address: 'example.com', port: 443 }, 'cmd')).toThrow(/cmd.address/);
    expect(() => keyBytes('xyz')).toThrow();
  });

  it('the same remote spelt differently is still the same remote', () => {
    const impl = new RssPortsImpl(configSchema.parse({ family: 'ipv6' }));
    expect(impl.apply({ op: 'setRemote', address: '2001:db8:1::7', port: 443 })).toEqual({ ok: true, revision: 1 });
    expect(impl.apply({ op: 'setRemote', address: '2001:0db8:0001:0:0:0:0:0007', port: 443 })).toEqual({ ok: true, revision: 1 });
    expect(impl.apply({ op: 'setRemote', address: '2001:db8:1::7', port: 80 })).toEqual({ ok: true, revision: 2 });
  });
});

import { describe, expect, it } from 'vitest';
import { initialState } from '../core/relation.ts';
import { runSequence } from '../core/runner.ts';
import { allProperties } from '../core/scheme.ts';
import { InputError, parseWith } from '../core/vocabulary.ts';
import { RssPortsImpl } from '../impl/rss-ports.ts';
import { alignedPorts, bucketOf, commandSchema, configSchema, type Command } from '../model/rss-ports.ts';
import { keyBytes } from '../model/toeplitz.ts';
import { rssPortsScheme } from './rss-ports.ts';
import { rssPortsBugs } from './fixtures/rss-ports-bugs.ts';
import { checkScheme, expectRunConforms } from './harness.ts';

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

  it("alignedInto lists exactly each bucket's aligned ports of the range (Toeplitz and RFD, two remotes)", () => {
    for (const raw of [{}, { retaSize: 16, buckets: 3, portRange: [1000, 1300] }, { family: 'ipv6', retaSize: 8, buckets: 4, portRange: [50000, 50200] }, { align: 'rfd', cpus: 6, portRange: [2000, 2100] }]) {
      const config = configSchema.parse(raw);
      const impl = new RssPortsImpl(config);
      const out = new Int32Array(config.portRange[1] - config.portRange[0] + 1);
      const remotes = config.family === 'ipv4' ? [A, B] : [{ ...A, address: '2001:db8:1::7' }, { ...B, address: 'fe80::200:f8ff:fe21:67cf' }];
      for (const remote of remotes) {
        impl.apply(remote);
        for (let bucket = 0; bucket < (config.align === 'rfd' ? config.cpus : config.buckets); bucket++) {
          const n = impl.alignedInto(bucket, out);
          expect([...out.subarray(0, n)].sort((a, b) => a - b), JSON.stringify({ raw, remote, bucket })).toEqual(alignedPorts(config, remote, bucket));
        }
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
    expect(() => rssPortsScheme.model.step(initialState(rssPortsScheme.model, config), bad, () => 0 as never)).toThrow("setRemote.address: is not an IPv4 address (the config's family is ipv4)");
    const ipv6 = configSchema.parse({ family: 'ipv6' });
    expect(() => rssPortsScheme.model.step(initialState(rssPortsScheme.model, ipv6), { ...bad, address: '198.51.100.7' }, () => 0 as never)).toThrow("setRemote.address: is not an IPv6 address (the config's family is ipv6)");
    expect(() => parseWith(commandSchema, { op: 'setRemote', address: 'example.com', port: 443 }, 'cmd')).toThrow(/cmd.address/);
    expect(() => keyBytes('xyz')).toThrow();
  });

  it("the impl's error for a remote of the other family names both families, in either config", () => {
    const error = (family: 'ipv4' | 'ipv6', address: string) => {
      try {
        new RssPortsImpl(configSchema.parse({ family })).apply({ op: 'setRemote', address, port: 443 });
      } catch (e) {
        return e instanceof InputError ? e.message : String(e);
      }
      return 'no error';
    };
    expect(error('ipv4', '2001:db8::7')).toBe("setRemote.address: is not an IPv4 address (the config's family is ipv4)");
    expect(error('ipv6', '198.51.100.7')).toBe("setRemote.address: is not an IPv6 address (the config's family is ipv6)");
  });

  it('a range narrower than the RETA (indices whose class has no port in it) conforms step by step', async () => {
    // RFD with 6 CPUs: ports 40000..40003 are CPUs 0..3; CPUs 4 and 5 (classes 4 and 5) have no port of the range.
    const allocateEach = Array.from({ length: 6 }, (_, bucket) => ({ op: 'allocate', bucket }));
    await expectRunConforms(rssPortsScheme, { align: 'rfd', cpus: 6, portRange: [40000, 40003] }, [A, ...allocateEach, ...allocateEach]);
    // Toeplitz: 4 ports cannot reach 16 RETA indices.
    const allocateEachBucket = Array.from({ length: 4 }, (_, bucket) => ({ op: 'allocate', bucket }));
    await expectRunConforms(rssPortsScheme, { retaSize: 16, buckets: 4, portRange: [40000, 40003] }, [A, ...allocateEachBucket, ...allocateEachBucket, B, ...allocateEachBucket]);
  });

  it('releasing an old revision\'s port while the current revision holds one conforms step by step (each revision counts its own holds)', async () => {
    // RFD with 4 CPUs: port 40000 + k is CPU k. Revision 1 holds 40000 and 40001; revision 2 holds 40002.
    const allocate = (bucket: number) => ({ op: 'allocate', bucket });
    const release = (port: number, revision: number) => ({ op: 'release', port, revision });
    await expectRunConforms(rssPortsScheme, { align: 'rfd', cpus: 4, portRange: [40000, 40003] }, [
      A, allocate(0), allocate(1), B, allocate(2),
      release(40000, 1), release(40002, 2), release(40001, 1), release(40001, 1),
      allocate(2), A, allocate(0), release(40000, 3), release(40002, 2),
    ]);
  });

  it('the same remote spelt differently is still the same remote', () => {
    const impl = new RssPortsImpl(configSchema.parse({ family: 'ipv6' }));
    expect(impl.apply({ op: 'setRemote', address: '2001:db8:1::7', port: 443 })).toEqual({ ok: true, revision: 1 });
    expect(impl.apply({ op: 'setRemote', address: '2001:0db8:0001:0:0:0:0:0007', port: 443 })).toEqual({ ok: true, revision: 1 });
    expect(impl.apply({ op: 'setRemote', address: '2001:db8:1::7', port: 80 })).toEqual({ ok: true, revision: 2 });
  });
});

describe('rss-ports config', () => {
  /** The path and message of each issue a config raises, or the parsed config. */
  const issues = (raw: unknown) => {
    const parsed = configSchema.safeParse(raw);
    return parsed.success ? null : parsed.error.issues.map((i) => [i.path.join('.'), i.message]);
  };

  it('the rss-ports model refuses each bad config, naming the field and why', () => {
    const notHex = [['key', 'is not a hex key (pairs of hex digits)']];
    expect(issues({ key: 'zz' })).toEqual(notHex);
    expect(issues({ key: 'abc' })).toEqual(notHex);
    expect(issues({ key: '' })).toEqual(notHex);
    expect(issues({ key: 'ab'.repeat(65) })).toEqual([['key', 'is longer than 64 bytes']]);
    expect(issues({ key: 'ab'.repeat(64) })).toBeNull();
    const notPow2 = [['retaSize', 'must be a power of two in 2..65536']];
    for (const retaSize of [-2, 0, 1, 3, 6, 100000, 131072]) expect(issues({ retaSize }), `${retaSize}`).toEqual(notPow2);
    for (const retaSize of [2, 4, 65536]) expect(issues({ retaSize }), `${retaSize}`).toBeNull();
    expect(issues({ reta: [0, 1], retaSize: 4 })).toEqual([['reta', 'must have retaSize (4) entries, has 2']]);
    expect(issues({ reta: [0, 1, 2] })).toEqual([['reta', 'must have a power of two in 2..65536 entries, has 3']]);
    expect(issues({ reta: [0] })).toEqual([['reta', 'must have a power of two in 2..65536 entries, has 1']]);
    expect(issues({ reta: new Array(65536).fill(0) })).toBeNull();
    expect(issues({ reta: new Array(131072).fill(0) })).toEqual([['reta', 'must have a power of two in 2..65536 entries, has 131072']]);
    expect(issues({ reta: [0, 1, 8, 9] })).toEqual([['reta.2', 'is not a bucket (buckets: 8)']]);
    expect(issues({ reta: [3, 0, 1, 2], buckets: 3 })).toEqual([['reta.0', 'is not a bucket (buckets: 3)']]);
    expect(issues({ reta: [0, 1, 2, 3], buckets: 3 })).toEqual([['reta.3', 'is not a bucket (buckets: 3)']]);
    expect(issues({ reta: [0, 1, 2, 2], buckets: 3 })).toBeNull();
    expect(issues({ localAddress: 'nope' })).toEqual([['localAddress', 'is not an IPv4 address (family ipv4)']]);
    expect(issues({ family: 'ipv6', localAddress: '10.0.0.1' })).toEqual([['localAddress', 'is not an IPv6 address (family ipv6)']]);
    expect(issues({ family: 'ipv4', localAddress: '2001:db8::5' })).toEqual([['localAddress', 'is not an IPv4 address (family ipv4)']]);
    expect(issues({ portRange: [5, 4] })).toEqual([['portRange', 'must be [low, high] with low <= high']]);
    expect(issues({ portRange: [4, 4] })).toBeNull();
    expect(issues({ portRange: [-1, 4] })).toEqual([['portRange.0', 'is not a port (0..65535)']]);
    expect(issues({ portRange: [1, 65536] })).toEqual([['portRange.1', 'is not a port (0..65535)']]);
    const remote = commandSchema.safeParse({ op: 'setRemote', address: 'example.com', port: 443 });
    expect(remote.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['address', 'is not an IPv4 or IPv6 address']]);
  });

  it("the rss-ports model keeps each remote's aligned ports apart, however its address and port digits run together", () => {
    // 198.51.100.7 port 443 and 198.51.100.74 port 43 spell the same digits, and so do 1.23.4.5 and 12.3.4.5;
    // each must get its own ports.
    const config = configSchema.parse({ portRange: [40000, 40255], retaSize: 16, buckets: 4 });
    const remotes = [['198.51.100.7', 443], ['198.51.100.74', 43], ['1.23.4.5', 443], ['12.3.4.5', 443]] as const;
    for (const remote of remotes.map(([address, port]) => ({ address, port }))) {
      for (let bucket = 0; bucket < 4; bucket++) {
        const expected = Array.from({ length: 256 }, (_, i) => 40000 + i).filter((p) => bucketOf(config, remote, p) === bucket);
        expect(alignedPorts(config, remote, bucket), `${remote.address}:${remote.port} bucket ${bucket}`).toEqual(expected);
      }
    }
  });

  it('the rss-ports model fills a config: key digits, the RETA and its size, the family and the local address', () => {
    const parsed = (raw: unknown) => configSchema.parse(raw);
    expect(parsed({ key: '  0XAB:CD ef' }).key).toBe('abcdef');
    expect(parsed({ key: 'AB cd' }).key).toBe('abcd');
    expect(issues({ key: 'ab0xcd' }), 'only a leading 0x is dropped').toEqual([['key', 'is not a hex key (pairs of hex digits)']]);
    const defaults = parsed({});
    expect([defaults.align, defaults.retaSize, defaults.buckets, defaults.family, defaults.localAddress, defaults.portRange, defaults.cpus]).toEqual(['toeplitz', 128, 8, 'ipv4', '192.0.2.1', [32768, 60999], 8]);
    expect(defaults.reta).toEqual(Array.from({ length: 128 }, (_, i) => i % 8));
    expect(parsed({ buckets: 3, retaSize: 4 }).reta).toEqual([0, 1, 2, 0]);
    expect(parsed({ reta: [1, 0, 1, 0] })).toMatchObject({ retaSize: 4, reta: [1, 0, 1, 0] });
    expect(parsed({ family: 'ipv6' })).toMatchObject({ family: 'ipv6', localAddress: '2001:db8::1' });
    // Without a family, the local address decides it.
    expect(parsed({ localAddress: '2001:db8::5' }).family).toBe('ipv6');
    expect(parsed({ localAddress: '10.1.2.3' }).family).toBe('ipv4');
    expect(parsed({ family: 'ipv4' }).localAddress).toBe('192.0.2.1');
  });
});

// The Toeplitz hash: Microsoft's published vectors (model and impl), the table-driven impl equal to the
// bit-by-bit model on random keys and inputs, linearity, the port classes equal to brute force, the
// published facts about the default key, and the config's validation messages.
import fc from 'fast-check';
import { test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { parseWith, InputError } from '../core/vocabulary.ts';
import { RssPortsImpl } from '../impl/rss-ports.ts';
import { keyWindow, linearInPort, ToeplitzTable } from '../impl/toeplitz.ts';
import { configSchema } from '../model/rss-ports.ts';
import { DEFAULT_KEY, keyBit, keyBytes, parseIPv4, parseIPv6, portBytes, toeplitz } from '../model/toeplitz.ts';

// Microsoft, "Verifying the RSS Hash Calculation": the table lists the DESTINATION first; the hash input
// starts with the SOURCE (src addr, dst addr, src port, dst port).
const v4 = [
  { dst: '161.142.100.80', dport: 1766, src: '66.9.149.187', sport: 2794, ip: 0x323e8fc2, tcp: 0x51ccc178 },
  { dst: '65.69.140.83', dport: 4739, src: '199.92.111.2', sport: 14230, ip: 0xd718262a, tcp: 0xc626b0ea },
  { dst: '12.22.207.184', dport: 38024, src: '24.19.198.95', sport: 12898, ip: 0xd2d0a5de, tcp: 0x5c2b394a },
  { dst: '209.142.163.6', dport: 2217, src: '38.27.205.30', sport: 48228, ip: 0x82989176, tcp: 0xafc7327f },
  { dst: '202.188.127.2', dport: 1303, src: '153.39.163.191', sport: 44251, ip: 0x5d1809c5, tcp: 0x10e828a2 },
];
const v6 = [
  { dst: '3ffe:2501:200:3::1', dport: 1766, src: '3ffe:2501:200:1fff::7', sport: 2794, ip: 0x2cc18cd5, tcp: 0x40207d3d },
  { dst: 'ff02::1', dport: 4739, src: '3ffe:501:8::260:97ff:fe40:efab', sport: 14230, ip: 0x0f0c461c, tcp: 0xdde51bbf },
  { dst: 'fe80::200:f8ff:fe21:67cf', dport: 38024, src: '3ffe:1900:4545:3:200:f8ff:fe21:67cf', sport: 44251, ip: 0x4b61e985, tcp: 0x02d1feef },
];
const vectors = [
  ...v4.map((v) => ({ ...v, family: 'ipv4', s: parseIPv4(v.src)!, d: parseIPv4(v.dst)! })),
  ...v6.map((v) => ({ ...v, family: 'ipv6', s: parseIPv6(v.src)!, d: parseIPv6(v.dst)! })),
];
const key = keyBytes(DEFAULT_KEY);
const tableFor = (length: number, k: number[] = key) => new ToeplitzTable(Uint8Array.from(k), length);

describe("Microsoft's verification table", () => {
  it('lists 16 values (5 IPv4 and 3 IPv6 rows, with and without ports)', () => expect(vectors.length * 2).toBe(16));
  for (const v of vectors) {
    const addrs = [...v.s, ...v.d];
    const withPorts = [...addrs, ...portBytes(v.sport), ...portBytes(v.dport)];
    it(`${v.family} ${v.src}:${v.sport} → ${v.dst}:${v.dport}: model and impl`, () => {
      expect(toeplitz(key, addrs)).toBe(v.ip);
      expect(toeplitz(key, withPorts)).toBe(v.tcp);
      expect(tableFor(addrs.length).hash(Uint8Array.from(addrs))).toBe(v.ip);
      expect(tableFor(withPorts.length).hash(Uint8Array.from(withPorts))).toBe(v.tcp);
    });
  }
  it('hashes the worked example 42 09 95 bb a1 8e 64 50 0a ea 06 e6 to 0x51ccc178', () => {
    expect(toeplitz(key, [0x42, 0x09, 0x95, 0xbb, 0xa1, 0x8e, 0x64, 0x50, 0x0a, 0xea, 0x06, 0xe6])).toBe(0x51ccc178);
  });
  it('the reply hash of an outgoing connection is the hash of the packet coming back (remote first)', () => {
    // Local 66.9.149.187:2794 connected to remote 161.142.100.80:1766: the reply comes from the remote,
    // so its source is the table's destination column.
    const impl = new RssPortsImpl(configSchema.parse({ localAddress: '161.142.100.80' }));
    expect(impl.hashReply(parseIPv4('66.9.149.187')!, 2794, 1766)).toBe(0x51ccc178);
  });
});

const keys = fc.uint8Array({ minLength: 1, maxLength: 48 }).map((k) => [...k]);
const inputs = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((i) => [...i]);

// Stateless properties: @fast-check/vitest runs each as a test and names its seed in the report.
describe('the table-driven hash', () => {
  test.prop([keys, inputs], { numRuns: 300 })('equals the bit-by-bit model on random keys and inputs (short keys read zero past their end)', (k, input) => {
    expect(tableFor(input.length, k).hash(Uint8Array.from(input))).toBe(toeplitz(k, input));
  });
  test.prop([keys, fc.nat({ max: 400 })])('reads key windows like the model: bit by bit, zero past the end', (k, offset) => {
    let expected = 0;
    for (let i = 0; i < 32; i++) expected = ((expected << 1) | keyBit(k, offset + i)) >>> 0;
    expect(keyWindow(Uint8Array.from(k), offset)).toBe(expected);
  });
  const pairs = fc.nat({ max: 40 }).chain((n) => fc.tuple(fc.uint8Array({ minLength: n, maxLength: n }), fc.uint8Array({ minLength: n, maxLength: n })));
  test.prop([keys, pairs], { numRuns: 200 })('is linear: H(a xor b) = H(a) xor H(b), and H(0) = 0 (model and impl)', (k, [a, b]) => {
    const x = a.map((byte, i) => byte ^ b[i]);
    expect(toeplitz(k, [...x])).toBe((toeplitz(k, [...a]) ^ toeplitz(k, [...b])) >>> 0);
    const t = tableFor(a.length, k);
    expect(t.hash(x)).toBe((t.hash(a) ^ t.hash(b)) >>> 0);
    expect(toeplitz(k, new Array<number>(a.length).fill(0))).toBe(0);
  });
});

describe("the local port's own contribution, P(port)", () => {
  /** P of one input length and key: the hash of an input that is zero but for the local port (its last two bytes). */
  const contribution = (t: ToeplitzTable, length: number) => {
    const input = new Uint8Array(length);
    return (port: number) => {
      input[length - 2] = port >> 8;
      input[length - 1] = port & 0xff;
      return t.hash(input);
    };
  };

  it('with the default key and IPv4: 512 ports per RETA index of 128, 220 or 221 of them in 32768..60999', () => {
    const P = contribution(tableFor(12), 12);
    const classOf = linearInPort(Array.from({ length: 16 }, (_, b) => P(1 << b) & 127));
    const perIndex = new Map<number, number>();
    for (let port = 0; port < 65536; port++) perIndex.set(classOf(port), (perIndex.get(classOf(port)) ?? 0) + 1);
    expect([perIndex.size, ...new Set(perIndex.values())]).toEqual([128, 512]);
    const impl = new RssPortsImpl(configSchema.parse({})) as unknown as { classStart: Int32Array };
    const inRange = new Set(Array.from({ length: 128 }, (_, c) => impl.classStart[c + 1] - impl.classStart[c]));
    expect(inRange).toEqual(new Set([220, 221]));
  });
  it("with the default key the port's lowest bit alone does not move hash bit 0", () => {
    const t = tableFor(12);
    const p = (port: number) => t.hash(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...portBytes(port)]));
    expect(p(1) & 1).toBe(0);
  });
  it('is read from its 16 columns exactly as hashing each port gives it (random keys, index widths, families)', () => {
    fc.assert(
      fc.property(keys, fc.integer({ min: 1, max: 16 }), fc.constantFrom(12, 36), (k, bits, length) => {
        const P = contribution(tableFor(length, k), length);
        const mask = 2 ** bits - 1;
        const classOf = linearInPort(Array.from({ length: 16 }, (_, b) => P(1 << b) & mask));
        const wrong: number[] = [];
        for (let port = 0; port < 65536; port += 1 + (port % 7)) if (classOf(port) !== (P(port) & mask)) wrong.push(port);
        expect(wrong).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });
});

describe('addresses', () => {
  it('parses IPv4 and IPv6 text', () => {
    expect(parseIPv4('192.0.2.1')).toEqual([192, 0, 2, 1]);
    expect(parseIPv4('192.0.2.01')).toBeNull();
    expect(parseIPv4('256.0.0.1')).toBeNull();
    expect(parseIPv6('::')).toEqual(new Array(16).fill(0));
    expect(parseIPv6('::1')).toEqual([...new Array(15).fill(0), 1]);
    expect(parseIPv6('::ffff:192.0.2.1')).toEqual([...new Array(10).fill(0), 255, 255, 192, 0, 2, 1]);
    expect(parseIPv6('1:2:3:4:5:6:7:8')).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'fe80::1%eth0', '1:2:3:4:5:6:7::8']) expect(parseIPv6(bad), bad).toBeNull();
  });
});

describe('rss-ports config validation', () => {
  const bad = (raw: unknown, field: string) => {
    let error: unknown;
    try {
      parseWith(configSchema, raw, 'config');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).where).toBe(field);
    return (error as InputError).message;
  };
  it('fills the defaults', () => {
    const c = configSchema.parse({});
    expect(c).toMatchObject({ align: 'toeplitz', key: DEFAULT_KEY, retaSize: 128, buckets: 8, family: 'ipv4', portRange: [32768, 60999], localAddress: '192.0.2.1' });
    expect(c.reta).toEqual(Array.from({ length: 128 }, (_, i) => i % 8));
    expect(configSchema.parse({ family: 'ipv6' }).localAddress).toBe('2001:db8::1');
    expect(configSchema.parse({ key: '6d5a56da 255b0ec2' }).key).toBe('6d5a56da255b0ec2');
  });
  it('infers what a reader leaves out: the family from the local address, retaSize from the RETA, a 0x key', () => {
    expect(configSchema.parse({ localAddress: '2001:db8::1' }).family).toBe('ipv6');
    expect(configSchema.parse({ reta: [0, 1, 1, 0] }).retaSize).toBe(4);
    expect(configSchema.parse({ key: `0x${DEFAULT_KEY.replace(/\s/g, '')}` }).key).toBe(configSchema.parse({}).key);
  });

  it('names the offending field', () => {
    expect(bad({ key: 'xyz' }, 'config.key')).toMatch(/hex/);
    expect(bad({ key: 'abc' }, 'config.key')).toMatch(/hex/);
    expect(bad({ retaSize: 96 }, 'config.retaSize')).toMatch(/power of two/);
    expect(bad({ retaSize: 1 }, 'config.retaSize')).toMatch(/power of two/);
    expect(bad({ retaSize: 131072 }, 'config.retaSize')).toMatch(/power of two/);
    expect(bad({ retaSize: 4, buckets: 2, reta: [0, 1, 2, 0] }, 'config.reta[2]')).toMatch(/bucket/);
    expect(bad({ retaSize: 4, reta: [0, 1] }, 'config.reta')).toMatch(/entries/);
    expect(bad({ portRange: [70000, 70001] }, 'config.portRange[0]')).toMatch(/port/);
    expect(bad({ portRange: [100, 99] }, 'config.portRange')).toMatch(/low <= high/);
    expect(bad({ family: 'ipv4', localAddress: '2001:db8::1' }, 'config.localAddress')).toMatch(/IPv4/);
    expect(bad({ family: 'ipv6', localAddress: '10.0.0.1' }, 'config.localAddress')).toMatch(/IPv6/);
    expect(bad({ align: 'rss' }, 'config.align')).toBeTruthy();
    expect(bad({ cpus: 0 }, 'config.cpus')).toBeTruthy();
    expect(bad({ bogus: 1 }, 'config')).toMatch(/bogus/);
  });
});

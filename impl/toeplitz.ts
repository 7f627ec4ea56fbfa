// The optimized Toeplitz hash and the port classes behind impl/rss-ports.ts.
//
// - ToeplitzTable: for every input byte position k and byte value v, the 32-bit contribution of that byte
//   (the XOR of the key windows of its 1-bits), built once per key; a hash is one lookup and XOR per byte
//   and allocates nothing.
// - linearInPort: the hash is linear over GF(2), so with everything but the local port fixed the RETA index
//   is `base XOR P(port)` (masked), P linear in the 16 port bits: from its 16 columns P(1 << bit), P of any
//   port is two lookups and an XOR, and the range is grouped by P in one pass instead of one hash per port.

/** The 32 key bits starting at bit `offset` (MSB of byte 0 is bit 0); bits past the end of the key read as zero. */
export function keyWindow(key: Uint8Array, offset: number): number {
  let window = 0;
  for (let i = 0; i < 32; i++) {
    const bit = offset + i;
    const value = bit < key.length * 8 ? (key[bit >> 3] >> (7 - (bit & 7))) & 1 : 0;
    window = (window << 1) | value;
  }
  return window >>> 0;
}

export type KeyWindow = (key: Uint8Array, offset: number) => number;

export class ToeplitzTable {
  /** table[(k << 8) | v]: the contribution of byte value v at input position k. */
  readonly table: Uint32Array;

  constructor(
    key: Uint8Array,
    /** Input length in bytes (12 or 36 for TCP over IPv4 / IPv6). */
    readonly length: number,
    window: KeyWindow = keyWindow,
  ) {
    this.table = new Uint32Array(length * 256);
    for (let k = 0; k < length; k++) {
      // The bit of value 1 << b is input bit 8k + (7 - b): it XORs in the key window starting there.
      const windows = new Uint32Array(8);
      for (let b = 0; b < 8; b++) windows[b] = window(key, 8 * k + 7 - b);
      const row = k << 8;
      for (let v = 1; v < 256; v++) {
        const lowest = 31 - Math.clz32(v & -v);
        this.table[row | v] = this.table[row | (v & (v - 1))] ^ windows[lowest];
      }
    }
  }

  /** The hash of input[0 .. length-1]. */
  hash(input: Uint8Array): number {
    const t = this.table;
    const n = this.length;
    let h = 0;
    let k = 0;
    // Four bytes per round (every TCP tuple length is a multiple of 4), then the rest.
    for (; k + 4 <= n; k += 4) {
      h ^= t[(k << 8) | input[k]] ^ t[((k + 1) << 8) | input[k + 1]] ^ t[((k + 2) << 8) | input[k + 2]] ^ t[((k + 3) << 8) | input[k + 3]];
    }
    for (; k < n; k++) h ^= t[(k << 8) | input[k]];
    return h >>> 0;
  }
}

/**
 * P(port) for a P linear over GF(2) in the 16 port bits, given by its columns P(1 << bit): the XOR of the
 * columns of the port's 1-bits, read from two 256-entry tables (one per port byte) built once.
 */
export function linearInPort(columns: ArrayLike<number>): (port: number) => number {
  const low = new Int32Array(256);
  const high = new Int32Array(256);
  for (let v = 1; v < 256; v++) {
    const bit = 31 - Math.clz32(v & -v);
    low[v] = low[v & (v - 1)] ^ columns[bit];
    high[v] = high[v & (v - 1)] ^ columns[bit + 8];
  }
  return (port) => low[port & 0xff] ^ high[port >>> 8];
}

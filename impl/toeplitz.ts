// The optimized Toeplitz hash and the GF(2) port solver behind impl/rss-ports.ts.
//
// - ToeplitzTable: for every input byte position k and byte value v, the 32-bit contribution of that byte
//   (the XOR of the key windows of its 1-bits), built once per key; a hash is one lookup and XOR per byte
//   and allocates nothing.
// - PortSolver: the hash is linear over GF(2), so with everything but the local port fixed the RETA index
//   is `base XOR P(port)` (masked), P linear in the 16 port bits. Gaussian elimination over the 16 columns
//   P(1 << bit) picks pivot bits and yields the kernel; the ports of any index are then one particular
//   solution XOR each kernel combination, enumerated directly instead of hashing ports until one fits.

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
 * Solves P(port) = target over GF(2), for P given by its 16 columns (P(1 << bit), already masked to the
 * index bits). `rank` pivot bits carry the solution; the other 16 - rank bits are free, each with a kernel
 * vector, so every reachable target has exactly 2^(16 - rank) ports.
 */
export class PortSolver {
  /** Echelon basis by leading bit: the reduced column and which port bits XOR to it. */
  private readonly basisVector = new Int32Array(32);
  private readonly basisPorts = new Int32Array(32);
  private readonly hasBasis = new Uint8Array(32);
  readonly pivotBits: number[] = [];
  readonly freeBits: number[] = [];
  /** Every port pattern with P = 0 (the kernel), in Gray-code order. */
  readonly kernel: Int32Array;

  constructor(columns: ArrayLike<number>) {
    const kernelBasis: number[] = [];
    for (let bit = 0; bit < 16; bit++) {
      let v = columns[bit] >>> 0;
      let ports = 1 << bit;
      for (let lead = 31; lead >= 0 && v !== 0; lead--) {
        if ((v >>> lead) & 1 && this.hasBasis[lead]) {
          v = (v ^ this.basisVector[lead]) >>> 0;
          ports ^= this.basisPorts[lead];
        }
      }
      if (v === 0) {
        this.freeBits.push(bit);
        kernelBasis.push(ports); // this bit with the pivots that cancel it maps to 0
      } else {
        const lead = 31 - Math.clz32(v);
        this.basisVector[lead] = v;
        this.basisPorts[lead] = ports;
        this.hasBasis[lead] = 1;
        this.pivotBits.push(bit);
      }
    }
    this.kernel = new Int32Array(1 << kernelBasis.length);
    for (let g = 1; g < this.kernel.length; g++) this.kernel[g] = this.kernel[g - 1] ^ kernelBasis[31 - Math.clz32(g & -g)];
  }

  get rank(): number {
    return this.pivotBits.length;
  }

  /** One port (pivot bits only) with P(port) = target, or -1 when the target is outside the column span. */
  solve(target: number): number {
    let t = target >>> 0;
    let ports = 0;
    for (let lead = 31; lead >= 0 && t !== 0; lead--) {
      if ((t >>> lead) & 1) {
        if (!this.hasBasis[lead]) return -1;
        t = (t ^ this.basisVector[lead]) >>> 0;
        ports ^= this.basisPorts[lead];
      }
    }
    return ports;
  }

  /** Calls `visit` with every port p with P(p) = target (none when it is unreachable). */
  forEachPort(target: number, visit: (port: number) => void): void {
    const p0 = this.solve(target);
    if (p0 < 0) return;
    for (let k = 0; k < this.kernel.length; k++) visit(p0 ^ this.kernel[k]);
  }
}

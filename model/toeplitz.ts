// The Toeplitz hash of Microsoft's RSS, as its definition reads ("RSS hashing functions"), and the
// byte layout of the tuple it hashes. Plain and bit by bit: this is the reference the table-driven
// implementation (impl/toeplitz.ts) is checked against, on Microsoft's published vectors and on random input.

/** Microsoft's default 40-byte key (also the default of most NIC drivers). */
export const DEFAULT_KEY = '6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa';

/** Hex text (whitespace and ':' between digits allowed) → key bytes. Throws on anything else; callers validate first. */
export function keyBytes(hex: string): number[] {
  const digits = hex.replace(/[\s:]/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(digits)) throw new Error(`not a hex key: ${hex}`);
  const out: number[] = [];
  for (let i = 0; i < digits.length; i += 2) out.push(parseInt(digits.slice(i, i + 2), 16));
  return out;
}

/** Bit `i` of the key, most significant bit of byte 0 first. Bits past the end read as zero (FreeBSD's choice). */
export function keyBit(key: readonly number[], i: number): number {
  if (i >= key.length * 8) return 0;
  return (key[i >> 3] >> (7 - (i & 7))) & 1;
}

/**
 * Microsoft's definition: "For each bit of input, from left to right (most significant bit of the first byte
 * first): if the bit is 1, XOR the left-most 32 bits of the key into the result; then shift the key left by one
 * bit." `window` holds those left-most 32 bits; shifting the key pulls the next key bit in at the right.
 */
export function toeplitz(key: readonly number[], input: readonly number[]): number {
  let window = 0;
  for (let i = 0; i < 32; i++) window = ((window << 1) | keyBit(key, i)) >>> 0;
  let result = 0;
  let next = 32;
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      if ((byte >> bit) & 1) result = (result ^ window) >>> 0;
      window = ((window << 1) | keyBit(key, next++)) >>> 0;
    }
  }
  return result;
}

/** A 16-bit port, big-endian (network order). */
export const portBytes = (port: number): number[] => [(port >> 8) & 0xff, port & 0xff];

/**
 * The hash input for a reply to an outgoing connection, in receive order: the reply's source is the remote
 * end, so remote address, local address, remote port, local port (Microsoft's layout: src addr, dst addr,
 * src port, dst port). IPv4: 4+4+2+2 = 12 bytes; IPv6: 16+16+2+2 = 36 bytes.
 */
export function replyInput(remote: readonly number[], local: readonly number[], remotePort: number, localPort: number): number[] {
  return [...remote, ...local, ...portBytes(remotePort), ...portBytes(localPort)];
}

// ---- addresses ----

/** Dotted-quad IPv4 → 4 bytes, or null. Each part is 0..255 in decimal without leading zeros. */
export function parseIPv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    out.push(value);
  }
  return out;
}

/** RFC 4291 text (with one optional '::' and an optional dotted-quad tail) → 16 bytes, or null. No zone ids. */
export function parseIPv6(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === '') return [];
    const out: number[] = [];
    const parts = half.split(':');
    for (let k = 0; k < parts.length; k++) {
      const part = parts[k];
      if (k === parts.length - 1 && part.includes('.')) {
        const v4 = parseIPv4(part);
        if (v4 === null) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  // A dotted tail is only allowed at the very end of the address.
  if (halves.length === 2 && halves[0].includes('.')) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

export type Family = 'ipv4' | 'ipv6';

export function parseAddress(family: Family, text: string): number[] | null {
  return family === 'ipv4' ? parseIPv4(text) : parseIPv6(text);
}

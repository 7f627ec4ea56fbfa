// NUMA wildcard fallback — the optimized implementation. Each address that ever had a listener gets
// an address slot; its groups live in flat typed arrays indexed by (address slot, domain key), with a
// bit mask of its non-empty groups, so a connect is one address lookup (a typed-array hash map on the
// parsed IPv4 address) and then O(1) with no allocation (`route`). `apply` wraps it in the JSON outcome
// the oracle compares; `snapshot` rebuilds the model's State.
//
// Domain keys: 0..domains-1 are the NUMA domains, `domains` is the no-domain group (M_NODOM).
import { match } from 'ts-pattern';
import type { Command, Config, Outcome, State } from '../model/numa.ts';
import { Connections } from './support/connections.ts';
import { IntMap } from './support/int-map.ts';

const NONE = -1;
/** `route` results below zero. */
export const REFUSED = -1;
const WILDCARD = 0;

export class NumaImpl {
  protected readonly domains: number;
  protected readonly groupMax: number;
  /** Groups per address slot: one per domain plus the no-domain group. */
  protected readonly keys: number;
  /** The no-domain group's key (== domains). */
  protected readonly nodom: number;

  // Address slots (never released; an address with no group has mask 0).
  protected addressSlots = new AddressMap();
  protected addressValue = new Uint32Array(8);
  protected addressCount = 0;
  /** The address slot of 0.0.0.0, or NONE until a listener binds it. */
  protected wildcardSlot = NONE;
  /** Per address slot: bit k set iff group k has a member. */
  protected groupMask = new Int32Array(8);
  /** Per group (slot * keys + key): member count, and members at (group * groupMax + i). */
  protected groupCount: Int32Array;
  protected groupMembers: Int32Array;

  // Listener slots (reused after deregister).
  protected listenerSlot = new IntMap();
  protected listenerId = new Int32Array(16);
  protected uid = new Float64Array(16);
  protected listenerAddress = new Int32Array(16);
  protected listenerKey = new Int32Array(16);
  protected freeSlots: number[] = [];
  protected slotCount = 0;
  protected listenerTotal = 0;
  protected owner = 0;

  protected conns = new Connections();
  /** Whether the last `route` chose the group of the packet's own domain. */
  // Stryker disable next-line BooleanLiteral: equivalent: every route writes it before connect reads it
  protected routedLocally = false;

  constructor(config: Config) {
    this.domains = config.domains;
    this.groupMax = config.groupMax;
    this.keys = config.domains + 1;
    this.nodom = config.domains;
    this.groupCount = new Int32Array(8 * this.keys);
    this.groupMembers = new Int32Array(8 * this.keys * this.groupMax);
  }

  apply(cmd: Command): Outcome {
    return match(cmd)
      .with({ op: 'register' }, (c) => this.register(c.listener, c.uid, c.address))
      .with({ op: 'setDomain' }, (c) => this.setDomain(c.listener, c.domain, c.cpu ?? 0))
      .with({ op: 'deregister' }, (c) => this.deregister(c.listener))
      .with({ op: 'connect' }, (c) => this.connect(c.conn, c.address, c.domain, c.hash))
      .with({ op: 'accept' }, (c) => this.accept(c.listener))
      .with({ op: 'close' }, (c) => this.close(c.conn))
      .exhaustive();
  }

  // ---- connect: the hot path ----

  connect(conn: number, address: string, domain: number | null, hash: number | undefined): Outcome {
    if (this.conns.slotOf(conn) !== NONE) return { ok: false, error: 'duplicate-conn' };
    const value = parseAddress(address);
    if (value === NONE || value === WILDCARD) return { ok: false, error: 'bad-address' };
    if (domain !== null && !this.isDomain(domain)) return { ok: false, error: 'bad-domain' };
    const slot = this.route(value, domain === null ? this.nodom : domain, hash ?? 0);
    if (slot === REFUSED) return { ok: false, error: 'refused' };
    this.conns.open(conn, slot, 0, NONE);
    return { ok: true, listener: this.listenerId[slot], local: this.routedLocally };
  }

  /** The listener slot for a packet to `address` (parsed) of domain key `key` (rules 4, 5), or REFUSED. */
  route(address: number, key: number, hash: number): number {
    const a = this.pickClass(address, key);
    if (a === NONE) return REFUSED;
    const chosen = this.pickGroup(this.groupMask[a], key);
    this.routedLocally = this.isLocal(chosen, key);
    return this.pickMember(a * this.keys + chosen, hash);
  }

  /** Address first: the exact address's slot if it has a group, else the wildcard's, else NONE. */
  protected pickClass(address: number, _key: number): number {
    const exact = this.addressSlots.get(address);
    if (exact !== NONE && this.groupMask[exact] !== 0) return exact;
    const wild = this.wildcardSlot;
    return wild !== NONE && this.groupMask[wild] !== 0 ? wild : NONE;
  }

  /** The packet's domain's group, else the no-domain group, else the lowest-numbered group of the class. */
  protected pickGroup(mask: number, key: number): number {
    if (mask & (1 << key)) return key;
    if (mask & (1 << this.nodom)) return this.nodom;
    return lowestBit(mask);
  }

  protected isLocal(chosen: number, key: number): boolean {
    return chosen === key;
  }

  /** FreeBSD's index: hash % count. */
  protected pickMember(group: number, hash: number): number {
    return this.groupMembers[group * this.groupMax + (hash % this.groupCount[group])];
  }

  protected isDomain(domain: number): boolean {
    return Number.isInteger(domain) && domain >= 0 && domain < this.domains;
  }

  // ---- registration and TCP_REUSPORT_LB_NUMA ----

  register(listener: number, uid: number, address: string): Outcome {
    if (this.listenerSlot.get(listener) !== NONE) return { ok: false, error: 'duplicate-listener' };
    const value = parseAddress(address);
    if (value === NONE) return { ok: false, error: 'bad-address' };
    if (!this.uidAllowed(uid)) return { ok: false, error: 'uid-mismatch' };
    const a = this.addressSlotFor(value);
    if (this.isFull(a * this.keys + this.nodom)) return { ok: false, error: 'group-full' };

    const slot = this.freeSlots.pop() ?? this.slotCount++;
    if (slot >= this.listenerId.length) {
      this.listenerId = grow(this.listenerId);
      this.uid = grow(this.uid);
      this.listenerAddress = grow(this.listenerAddress);
      this.listenerKey = grow(this.listenerKey);
    }
    this.conns.ensureListeners(slot + 1);
    this.listenerSlot.set(listener, slot);
    this.listenerId[slot] = listener;
    this.uid[slot] = uid;
    this.listenerAddress[slot] = a;
    this.listenerKey[slot] = this.nodom;
    this.owner = uid;
    this.listenerTotal++;
    this.appendToGroup(a, this.nodom, slot);
    return { ok: true };
  }

  protected uidAllowed(uid: number): boolean {
    return this.listenerTotal === 0 || uid === this.owner;
  }

  protected isFull(group: number): boolean {
    return this.groupCount[group] >= this.groupMax;
  }

  setDomain(listener: number, domain: number | 'nodom' | 'curdom', cpu: number): Outcome {
    const slot = this.listenerSlot.get(listener);
    if (slot === NONE) return { ok: false, error: 'unknown-listener' };
    if (typeof domain === 'number' && !this.isDomain(domain)) return { ok: false, error: 'bad-domain' };
    const target = domain === 'nodom' ? this.nodom : domain === 'curdom' ? this.domainOfCpu(cpu) : domain;
    const from = this.listenerKey[slot];
    if (target === from) return { ok: true };
    return this.move(slot, from, target);
  }

  /** The NUMA domain of a CPU: cpu % domains. */
  protected domainOfCpu(cpu: number): number {
    return cpu % this.domains;
  }

  /** Leaves the old group (order kept) and joins the end of the new one; group-full moves nothing. */
  protected move(slot: number, from: number, to: number): Outcome {
    const a = this.listenerAddress[slot];
    if (this.isFull(a * this.keys + to)) return { ok: false, error: 'group-full' };
    this.removeFromGroup(a, from, slot);
    this.appendToGroup(a, to, slot);
    this.listenerKey[slot] = to;
    return { ok: true };
  }

  protected appendToGroup(a: number, key: number, slot: number): void {
    const group = a * this.keys + key;
    this.groupMembers[group * this.groupMax + this.groupCount[group]++] = slot;
    this.groupMask[a] |= 1 << key;
  }

  /** Rule 6: FreeBSD shifts the later members down one place. */
  protected removeFromGroup(a: number, key: number, slot: number): void {
    const group = a * this.keys + key;
    const base = group * this.groupMax;
    const count = this.groupCount[group];
    const at = this.groupMembers.subarray(base, base + count).indexOf(slot);
    this.groupMembers.copyWithin(base + at, base + at + 1, base + count);
    this.groupCount[group] = count - 1;
    if (count === 1) this.groupMask[a] &= ~(1 << key);
  }

  // ---- deregistration ----

  deregister(listener: number): Outcome {
    const slot = this.listenerSlot.get(listener);
    if (slot === NONE) return { ok: false, error: 'unknown-listener' };
    this.listenerSlot.delete(listener);
    this.removeFromGroup(this.listenerAddress[slot], this.listenerKey[slot], slot);
    this.listenerTotal--;
    // Accepted connections already belong to no listener (see accept): only the queue is reset.
    const reset = this.resetQueue(slot);
    this.freeSlots.push(slot);
    return { ok: true, reset };
  }

  /** FreeBSD does not migrate a closed listener's queue: every queued connection is reset and listed. */
  protected resetQueue(slot: number): number[] {
    const reset: number[] = [];
    for (const c of this.conns.drain(slot)) {
      reset.push(this.conns.ids[c]);
      this.conns.owner[c] = NONE;
      this.conns.close(c);
    }
    return reset;
  }

  // ---- accept and close ----

  accept(listener: number): Outcome {
    const slot = this.listenerSlot.get(listener);
    if (slot === NONE) return { ok: false, error: 'unknown-listener' };
    const c = this.conns.accept(slot);
    if (c === NONE) return { ok: true, conn: null };
    // An accepted connection belongs to its process, not to the listener (the model's `listener: null`).
    this.conns.owner[c] = NONE;
    return { ok: true, conn: this.conns.ids[c] };
  }

  close(conn: number): Outcome {
    const c = this.conns.slotOf(conn);
    if (c === NONE) return { ok: false, error: 'unknown-conn' };
    this.conns.close(c);
    return { ok: true };
  }

  // ---- address slots ----

  private addressSlotFor(value: number): number {
    const known = this.addressSlots.get(value);
    if (known !== NONE) return known;
    const a = this.addressCount++;
    if (a >= this.addressValue.length) {
      const size = this.addressValue.length * 2;
      this.addressValue = grow(this.addressValue);
      this.groupMask = grow(this.groupMask);
      this.groupCount = resized(this.groupCount, size * this.keys);
      this.groupMembers = resized(this.groupMembers, size * this.keys * this.groupMax);
    }
    this.addressValue[a] = value;
    this.addressSlots.set(value, a);
    if (value === WILDCARD) this.wildcardSlot = a;
    return a;
  }

  // ---- the model's view ----

  snapshot(): State {
    const listeners: State['listeners'] = {};
    this.listenerSlot.forEach((id, slot) => {
      const key = this.listenerKey[slot];
      listeners[id] = {
        uid: this.uid[slot],
        address: formatAddress(this.addressValue[this.listenerAddress[slot]]),
        domain: key === this.nodom ? null : key,
        queue: this.conns.queuedIds(slot),
      };
    });
    const groups: State['groups'] = {};
    for (let a = 0; a < this.addressCount; a++) {
      if (this.groupMask[a] === 0) continue;
      const byKey: Record<string, number[]> = {};
      for (let key = 0; key < this.keys; key++) {
        const group = a * this.keys + key;
        const count = this.groupCount[group];
        if (count === 0) continue;
        const base = group * this.groupMax;
        const members: number[] = [];
        for (let i = base; i < base + count; i++) members.push(this.listenerId[this.groupMembers[i]]);
        byKey[key === this.nodom ? 'nodom' : String(key)] = members;
      }
      groups[formatAddress(this.addressValue[a])] = byKey;
    }
    const connections: State['connections'] = {};
    this.conns.forEachOpen((c) => {
      const owner = this.conns.owner[c];
      connections[this.conns.ids[c]] = { listener: owner === NONE ? null : this.listenerId[owner], accepted: this.conns.isAccepted(c) };
    });
    return {
      config: { domains: this.domains, groupMax: this.groupMax },
      // This implementation's readings: a connect to 0.0.0.0 is bad-address; a domain-null packet in the
      // no-domain group is local.
      wildcardDestination: 'bad-address',
      localWithoutDomain: true,
      owner: this.listenerTotal === 0 ? null : this.owner,
      listeners,
      groups,
      connections,
    };
  }
}

/**
 * A dotted IPv4 address in canonical form (four decimal octets 0..255, no leading zeros) as an
 * unsigned 32-bit number, or -1; reads the string in place without allocating.
 */
export function parseAddress(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 46) {
      if (digits === 0 || dots === 3) return NONE;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (ch >= 48 && ch <= 57) {
      if (digits > 0 && octet === 0) return NONE; // a leading zero
      octet = octet * 10 + (ch - 48);
      if (++digits > 3 || octet > 255) return NONE;
    } else {
      return NONE;
    }
  }
  if (digits === 0 || dots !== 3) return NONE;
  return value * 256 + octet;
}

export function formatAddress(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

function lowestBit(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

/** Unsigned 32-bit keys (IPv4 addresses) → non-negative slots, open addressing with linear probing. */
export class AddressMap {
  private keys = new Uint32Array(16);
  /** -1: empty. */
  private values = new Int32Array(16).fill(NONE);
  private size = 0;

  get(key: number): number {
    const mask = this.keys.length - 1;
    for (let i = home(key, mask); ; i = (i + 1) & mask) {
      if (this.values[i] === NONE) return NONE;
      if (this.keys[i] === key) return this.values[i];
    }
  }

  /** Inserts a key not yet present (slots are never removed). */
  set(key: number, value: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const mask = this.keys.length - 1;
    let i = home(key, mask);
    while (this.values[i] !== NONE) i = (i + 1) & mask;
    this.keys[i] = key;
    this.values[i] = value;
    this.size++;
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Uint32Array(keys.length * 2);
    this.values = new Int32Array(keys.length * 2).fill(NONE);
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (values[i] !== NONE) this.set(keys[i], values[i]);
  }
}

// Stryker disable next-line BlockStatement: equivalent: with no home slot every probe starts at slot 0, still a correct linear-probing map, only slower
function home(key: number, mask: number): number {
  return Math.imul(key, 0x9e3779b1) >>> 0 & mask;
}

function grow<T extends Int32Array | Uint32Array | Float64Array>(array: T): T {
  return resized(array, array.length * 2);
}

function resized<T extends Int32Array | Uint32Array | Float64Array>(array: T, size: number): T {
  const out = new (array.constructor as new (n: number) => T)(size);
  out.set(array);
  return out;
}

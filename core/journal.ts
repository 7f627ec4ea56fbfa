// In-place changes that can be undone, and a view of the state as it was before them.
// The oracle steps the model on its one live state instead of on a copy: a step costs what it touches,
// not what the state holds. Every write made through `draft` is done in place and its first old value
// kept, so `undo` restores the state and `before` shows it as it was, both in O(what was written).

type Obj = Record<PropertyKey, unknown>;
interface Old {
  had: boolean;
  value: unknown;
}

const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object';
const rawOf = new WeakMap<object, object>();

/** The plain object behind a draft or a before-view (or the value itself). */
export function raw<T>(value: T): T {
  return (isObject(value) ? (rawOf.get(value) ?? value) : value) as T;
}

/** `value` with every draft in it replaced by its plain object: a model may build a new object out of drafts. */
function unwrap(value: unknown): unknown {
  if (!isObject(value)) return value;
  const plain = rawOf.get(value);
  if (plain) return plain;
  if (Array.isArray(value)) {
    // By index: Object.keys would make a string of every index of a long queue.
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (isObject(v)) {
        const u = unwrap(v);
        if (u !== v) value[i] = u;
      }
    }
    return value;
  }
  for (const key in value) {
    const v = value[key];
    if (isObject(v)) {
      const u = unwrap(v);
      if (u !== v) value[key] = u;
    }
  }
  return value;
}

/** Integer-like keys ascending, then the others in order, as JavaScript lists an object's own keys. */
function ordered(keys: Iterable<string | symbol>): (string | symbol)[] {
  const all = [...keys];
  const integers = all.filter((k) => typeof k === 'string' && /^(0|[1-9]\d*)$/.test(k)) as string[];
  const others = all.filter((k) => !integers.includes(k as string));
  return [...integers.sort((a, b) => Number(a) - Number(b)), ...others];
}

/**
 * The array methods that only read their array, each called on the plain array when that array holds
 * no object: reading a queue of 5,000 connection ids through the proxy costs a trap per element, and
 * without objects in it nothing the method hands out can be written through. (A callback that writes
 * to the array it is given as its third argument would escape the journal; no model does that.)
 */
const READ_ONLY = ['at', 'concat', 'every', 'filter', 'find', 'findIndex', 'findLast', 'findLastIndex', 'forEach', 'includes', 'indexOf', 'join', 'lastIndexOf', 'map', 'reduce', 'reduceRight', 'slice', 'some', 'values', 'entries', 'keys', Symbol.iterator] as PropertyKey[];
type Method = (this: unknown[], ...args: unknown[]) => unknown;
const methodOf = (name: PropertyKey) => (Array.prototype as unknown as Record<PropertyKey, Method>)[name];

/** Per read-only method, one that runs it on `plainOf(proxy)` when that gives an array, else on the proxy. */
function readers(plainOf: (proxy: unknown[]) => unknown[] | undefined): Map<PropertyKey, Method> {
  return new Map(
    READ_ONLY.map((name) => {
      const method = methodOf(name);
      return [
        name,
        function (this: unknown[], ...args: unknown[]) {
          return method.apply(plainOf(this) ?? this, args);
        },
      ];
    }),
  );
}

const READERS = readers((proxy) => {
  const plain = raw(proxy);
  return plain !== proxy && holdsNoObject(plain) ? plain : undefined;
});

/**
 * The array methods that write, run natively on an array that holds no object (and given none): the
 * journal keeps the array's whole old content once (a native copy) instead of a record per moved
 * element, which through the proxy made closing the head of a 20,000-connection queue cost 20,000 traps.
 */
// push and pop stay on the proxy: they touch one element, and copying the old content would be O(n).
const WRITERS = new Set<PropertyKey>(['copyWithin', 'fill', 'reverse', 'shift', 'sort', 'splice', 'unshift']);
/** The key under which an array's whole old content is kept. */
const CONTENT = Symbol('content');

function holdsNoObject(array: unknown[]): boolean {
  for (let i = 0; i < array.length; i++) if (isObject(array[i])) return false;
  return true;
}

/**
 * The array methods whose callback is a predicate, run natively on an array of objects in a draft: the
 * predicate sees the plain elements (as they now are, which is what the draft shows), and an element
 * handed out is a draft again, so writes to it stay journaled. Through the proxy, a lookup by id among
 * 128 listeners cost two traps per listener. (A predicate that writes would escape the journal; no model's does.)
 */
const PREDICATES = new Set<PropertyKey>(['every', 'filter', 'find', 'findIndex', 'findLast', 'findLastIndex', 'some']);

export class Journal {
  /** Per object written, the first old value of each key written. */
  private readonly firstOld = new Map<object, Map<PropertyKey, Old>>();
  private readonly order: [object, PropertyKey][] = [];
  private readonly drafts = new WeakMap<object, object>();
  // Made at first use (like viewReaders): a shrink candidate's journal often shows no before-state.
  private views: WeakMap<object, object> | undefined;
  /** Per object checked, the epoch it was checked in: as it is if it holds no object, else bitwise negated (see `unchangedLeaf`). */
  private leaves: WeakMap<object, number> | undefined;
  /** Moves on at every `undo` and `settle`: a leaf check holds while no write is recorded. */
  private epoch = 0;
  private viewReadersMade: Map<PropertyKey, Method> | undefined;
  /**
   * The before-view's read-only methods: on the array as it was, rebuilt once if it was written. Made at
   * the first call: most journals (a shrink candidate's) never need them.
   */
  private get viewReaders(): Map<PropertyKey, Method> {
    return (this.viewReadersMade ??= this.makeViewReaders());
  }

  private makeViewReaders(): Map<PropertyKey, Method> {
    return readers((view) => {
    const now = raw(view);
    if (now === view) return undefined;
    const changes = this.firstOld.get(now);
    if (!changes) return holdsNoObject(now) ? now : undefined;
    const content = changes.get(CONTENT)?.value as unknown[] | undefined;
    if (content) return content as unknown[];
    const length = changes.get('length');
    const oldLength = length ? (length.value as number) : now.length;
    const was = now.slice(0, oldLength);
    let filled = was.length;
    for (const [key, old] of changes) {
      const at = Number(key);
      if (key === 'length' || at >= oldLength) continue;
      if (!old.had) return undefined; // a hole then: leave it to the proxy
      was[at] = old.value;
      if (at >= now.length) filled++;
    }
    // Every element past the array's present end was recorded when it was dropped; if not, use the proxy.
    return filled === oldLength && holdsNoObject(was) ? was : undefined;
    });
  }

  get touched(): boolean {
    return this.order.length > 0;
  }

  /** A proxy of `root` whose writes, at any depth, happen in place and are recorded. */
  draft<T extends object>(root: T): T {
    return this.draftOf(raw(root)) as T;
  }

  /** Puts back every value written since the journal began, and forgets them. */
  undo(): void {
    for (let i = this.order.length - 1; i >= 0; i--) {
      const [target, key] = this.order[i];
      const old = this.firstOld.get(target)!.get(key)!;
      if (key === CONTENT) {
        const was = old.value as unknown[];
        const array = target as unknown[];
        array.length = was.length;
        for (let k = 0; k < was.length; k++) array[k] = was[k];
      } else if (old.had) (target as Obj)[key] = old.value;
      else delete (target as Obj)[key];
    }
    this.order.length = 0;
    this.firstOld.clear();
    this.epoch++;
  }

  /** Forgets the recorded writes, keeping them: the state as it now is becomes the new "before". */
  settle(): void {
    this.order.length = 0;
    this.firstOld.clear();
    this.epoch++;
  }

  /** A read-only view of `root` as it was before the recorded writes; valid until the next write. */
  before<T extends object>(root: T): T {
    return this.viewOf(raw(root)) as T;
  }

  private record(target: object, key: PropertyKey): void {
    // Writing past an array's end moves its length before any trap for 'length' runs: keep it first.
    if (Array.isArray(target) && key !== 'length') this.record(target, 'length');
    let changes = this.firstOld.get(target);
    if (!changes) this.firstOld.set(target, (changes = new Map()));
    if (changes.has(key)) return;
    changes.set(key, { had: Object.hasOwn(target, key), value: (target as Obj)[key] });
    this.order.push([target, key]);
  }

  private draftOf(target: object): object {
    let proxy = this.drafts.get(target);
    if (proxy) return proxy;
    proxy = new Proxy(target, {
      get: (t, key) => {
        const v = Reflect.get(t, key);
        if (typeof v === 'function' && Array.isArray(t)) {
          if (WRITERS.has(key)) return this.writer(t, key);
          return PREDICATES.has(key) && !holdsNoObject(t) ? this.predicate(t, key) : (READERS.get(key) ?? v);
        }
        return isObject(v) ? this.draftOf(v) : v;
      },
      set: (t, key, value) => {
        // Shortening an array through `length` drops its elements without a trap: keep them first.
        if (Array.isArray(t) && key === 'length') for (let i = Number(value); i < t.length; i++) this.record(t, String(i));
        this.record(t, key);
        (t as Obj)[key] = unwrap(value);
        return true;
      },
      deleteProperty: (t, key) => {
        if (!Object.hasOwn(t, key)) return true;
        this.record(t, key);
        return delete (t as Obj)[key];
      },
      defineProperty: (t, key, descriptor) => {
        this.record(t, key);
        return Reflect.defineProperty(t, key, 'value' in descriptor ? { ...descriptor, value: unwrap(descriptor.value) } : descriptor);
      },
    });
    this.drafts.set(target, proxy);
    rawOf.set(proxy, target);
    return proxy;
  }

  private oldOf(target: object, key: PropertyKey): Old | undefined {
    return this.firstOld.get(target)?.get(key);
  }

  /** An array's old content, when a writer kept it whole. */
  private contentOf(target: object): unknown[] | undefined {
    return this.firstOld.get(target)?.get(CONTENT)?.value as unknown[] | undefined;
  }

  /** Keeps `array`'s content as it was before this step's writes (once), so a native write can be undone. */
  private recordContent(array: unknown[]): void {
    let changes = this.firstOld.get(array);
    if (changes?.has(CONTENT)) return;
    const was = array.slice();
    if (changes) {
      // Elements written one by one earlier in this step: put their old values back in the copy.
      const length = changes.get('length');
      if (length) was.length = length.value as number;
      for (const [key, old] of changes) if (key !== 'length' && Number(key) < was.length) was[Number(key)] = old.value;
    } else this.firstOld.set(array, (changes = new Map()));
    changes.set(CONTENT, { had: true, value: Object.freeze(was) });
    this.order.push([array, CONTENT]);
  }

  /** A writer that runs natively on `array` when it and its arguments hold no object, else through the proxy. */
  private writer(array: unknown[], name: PropertyKey): Method {
    const method = methodOf(name);
    const journal = this;
    return function (this: unknown[], ...args: unknown[]) {
      if (raw(this) !== array || !holdsNoObject(array) || !holdsNoObject(args)) return method.apply(this, args);
      journal.recordContent(array);
      return method.apply(array, args);
    };
  }

  /** A predicate method run on the plain `array`, whose object results are handed out as drafts. */
  private predicate(array: unknown[], name: PropertyKey): Method {
    const method = methodOf(name);
    const journal = this;
    const drafted = (v: unknown) => (isObject(v) ? journal.draftOf(v) : v);
    return function (this: unknown[], ...args: unknown[]) {
      if (raw(this) !== array) return method.apply(this, args);
      const result = method.apply(array, args);
      if (name === 'filter') return (result as unknown[]).map(drafted);
      return name === 'find' || name === 'findLast' ? drafted(result) : result;
    };
  }

  /**
   * True iff `value` is an array that holds no object and this step wrote nothing of it: as it stands it is what it was,
   * so a before-view can hand it out plain (a CPU's table, a queue of ids read by a property: no trap
   * per element). Checked once per epoch; a write after the check puts `value` in `firstOld`.
   */
  private unchangedLeaf(value: Obj): boolean {
    if (this.firstOld.has(value)) return false;
    const known = (this.leaves ??= new WeakMap()).get(value);
    if (known === this.epoch) return true;
    if (known === ~this.epoch) return false;
    // Arrays only: listing a record's keys costs O(keys) even when its first value is an object.
    const leaf = Array.isArray(value) && holdsNoObject(value);
    this.leaves.set(value, leaf ? this.epoch : ~this.epoch);
    return leaf;
  }

  private viewOf(target: object): object {
    let proxy = (this.views ??= new WeakMap()).get(target);
    if (proxy) return proxy;
    const readOnly = () => {
      throw new TypeError('a before-state is read-only');
    };
    proxy = new Proxy(target, {
      get: (t, key) => {
        const changes = this.firstOld.get(t);
        let v: unknown;
        if (changes) {
          const content = changes.get(CONTENT)?.value as unknown[] | undefined;
          if (content) return Reflect.get(content, key);
          const old = changes.get(key);
          v = old ? (old.had ? old.value : undefined) : Reflect.get(t, key);
        } else v = Reflect.get(t, key);
        if (typeof v === 'function' && Array.isArray(t)) return this.viewReaders.get(key) ?? v;
        if (!isObject(v)) return v;
        return this.unchangedLeaf(v) ? v : this.viewOf(v);
      },
      has: (t, key) => {
        const content = this.contentOf(t);
        if (content) return Reflect.has(content, key);
        const old = this.oldOf(t, key);
        return old ? old.had : Reflect.has(t, key);
      },
      ownKeys: (t) => {
        const content = this.contentOf(t);
        if (content) return Reflect.ownKeys(content);
        const changes = this.firstOld.get(t);
        if (!changes) return Reflect.ownKeys(t);
        const keys = new Set(Reflect.ownKeys(t));
        for (const [key, old] of changes) {
          if (old.had) keys.add(key as string);
          else keys.delete(key as string);
        }
        return ordered(keys);
      },
      getOwnPropertyDescriptor: (t, key) => {
        const content = this.contentOf(t);
        if (content) {
          const d = Reflect.getOwnPropertyDescriptor(content, key);
          // The copy is frozen; the view reports what the array's own descriptor was like.
          return d && { ...d, writable: true, configurable: key !== 'length' };
        }
        const old = this.oldOf(t, key);
        if (!old) return Reflect.getOwnPropertyDescriptor(t, key);
        if (!old.had) return undefined;
        const now = Reflect.getOwnPropertyDescriptor(t, key);
        return { value: old.value, writable: true, enumerable: now?.enumerable ?? true, configurable: now?.configurable ?? true };
      },
      set: readOnly,
      deleteProperty: readOnly,
      defineProperty: readOnly,
    });
    this.views.set(target, proxy);
    rawOf.set(proxy, target);
    return proxy;
  }
}

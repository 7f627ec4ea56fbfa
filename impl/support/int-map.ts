// A map from non-negative int32 keys to int32 values in typed arrays: open addressing with
// linear probing and backward-shift deletion, so lookups and inserts allocate nothing until it grows.
const EMPTY = -1;

export class IntMap {
  private keys: Int32Array;
  private values: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 64) {
    const slots = 1 << Math.ceil(Math.log2(Math.max(8, capacity * 2)));
    this.keys = new Int32Array(slots).fill(EMPTY);
    this.values = new Int32Array(slots);
    this.mask = slots - 1;
  }

  /** The value for `key`, or -1. */
  get(key: number): number {
    for (let i = this.home(key); ; i = (i + 1) & this.mask) {
      const k = this.keys[i];
      if (k === key) return this.values[i];
      if (k === EMPTY) return -1;
    }
  }

  set(key: number, value: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    for (let i = this.home(key); ; i = (i + 1) & this.mask) {
      const k = this.keys[i];
      if (k === key) {
        this.values[i] = value;
        return;
      }
      if (k === EMPTY) {
        this.keys[i] = key;
        this.values[i] = value;
        this.size++;
        return;
      }
    }
  }

  delete(key: number): void {
    let i = this.home(key);
    while (this.keys[i] !== key) {
      if (this.keys[i] === EMPTY) return;
      i = (i + 1) & this.mask;
    }
    // Shift later entries of the same probe run back into the hole so no tombstones are needed.
    for (let j = (i + 1) & this.mask; this.keys[j] !== EMPTY; j = (j + 1) & this.mask) {
      const home = this.home(this.keys[j]);
      const distanceToJ = (j - home) & this.mask;
      const distanceToI = (i - home) & this.mask;
      if (distanceToI < distanceToJ) {
        this.keys[i] = this.keys[j];
        this.values[i] = this.values[j];
        i = j;
      }
    }
    this.keys[i] = EMPTY;
    this.size--;
  }

  forEach(visit: (key: number, value: number) => void): void {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] !== EMPTY) visit(this.keys[i], this.values[i]);
  }

  private home(key: number): number {
    return Math.imul(key, 0x9e3779b1) & this.mask;
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Int32Array(keys.length * 2).fill(EMPTY);
    this.values = new Int32Array(keys.length * 2);
    this.mask = this.keys.length - 1;
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) this.set(keys[i], values[i]);
  }
}

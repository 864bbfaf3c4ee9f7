/**
 * A Map that forgets its oldest entry once it holds `capacity` entries. Template sources and regex
 * patterns can come from event payloads (the `template` filter, `match: Context.pattern`), so the caches
 * keyed by them must not grow without end.
 */
export class BoundedCache<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  set(key: K, value: V): void {
    if (!this.#entries.has(key) && this.#entries.size >= this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, value);
  }

  /** The cached value for `key`, made by `make` on the first call. */
  getOrCreate(key: K, make: (key: K) => V): V {
    const found = this.#entries.get(key);
    if (found !== undefined || this.#entries.has(key)) return found as V;
    const made = make(key);
    this.set(key, made);
    return made;
  }

  get size(): number {
    return this.#entries.size;
  }
}

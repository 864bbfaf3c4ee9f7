/** `SWITCHBOARD_API_RATE`: requests a second each token may make on average, and how many at once. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key (per API token): it holds `burst` requests and refills at `perSecond`. Keys are
 * the configured tokens, so the buckets are bounded by the configuration, not by what senders send.
 */
export class RateLimiter<Key> {
  readonly #limit: RateLimit;
  readonly #now: () => number;
  readonly #buckets = new Map<Key, Bucket>();

  constructor(limit: RateLimit, now: () => number = Date.now) {
    this.#limit = limit;
    this.#now = now;
  }

  /** Takes one request from `key`'s bucket, or says in how many whole seconds (at least 1) one is back. */
  take(key: Key): RateDecision {
    const { perSecond, burst } = this.#limit;
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: burst, at: now };
    const tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    if (tokens >= 1) {
      this.#buckets.set(key, { tokens: tokens - 1, at: now });
      return { ok: true };
    }
    this.#buckets.set(key, { tokens, at: now });
    // Retry-After counts whole seconds; rounding down would send the client back too early.
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perSecond)) };
  }
}

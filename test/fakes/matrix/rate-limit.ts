// Token buckets for PUT /send, one per room. Synapse limits messages per user (rc_message, default 0.2/s with
// a burst of 10) and answers 429 M_LIMIT_EXCEEDED with retry_after_ms and, since MSC4041, a Retry-After header;
// the fake keys its buckets by room because the Matrix pack promises ordering per room, which is what its
// tests need to stress.

export interface RateLimit {
  /** Sends allowed back to back before throttling starts (bucket size). Required, at least 1. */
  readonly burst: number;
  /** Sends per second the bucket refills by. Required, above 0. */
  readonly perSecond: number;
}

export type Admission =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterMs: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  #limit: RateLimit | undefined;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  /** `limit` undefined admits everything; `now` returns milliseconds (inject a clock for deterministic tests). */
  constructor(limit: RateLimit | undefined, now: () => number) {
    this.#limit = validated(limit);
    this.#now = now;
  }

  /** Replaces the limit (undefined: none) and refills every bucket, so a test starts from a known state. */
  set(limit: RateLimit | undefined): void {
    this.#limit = validated(limit);
    this.#buckets.clear();
  }

  /** Takes one token for `key`; when none is left, says how long until one is, in whole milliseconds (>= 1). */
  take(key: string): Admission {
    const limit = this.#limit;
    if (!limit) return { allowed: true };
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: limit.burst, at: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    // Rounded up: a client that waits exactly this long must find a token.
    return {
      allowed: false,
      retryAfterMs: Math.max(1, Math.ceil(((1 - bucket.tokens) / limit.perSecond) * 1000)),
    };
  }
}

function validated(limit: RateLimit | undefined): RateLimit | undefined {
  if (!limit) return undefined;
  if (!(limit.burst >= 1)) throw new RangeError(`rate limit burst must be >= 1, got ${limit.burst}`);
  if (!(limit.perSecond > 0))
    throw new RangeError(`rate limit perSecond must be > 0, got ${limit.perSecond}`);
  return { burst: limit.burst, perSecond: limit.perSecond };
}

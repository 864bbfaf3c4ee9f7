// Token buckets, one per key (chat.postMessage uses one per channel). Slack documents "1 message per
// second per channel, with short bursts allowed" (https://docs.slack.dev/reference/methods/chat.postMessage);
// the exact burst is unpublished, so it is an option here.

export interface RateLimit {
  /** Requests allowed back to back before throttling starts (bucket size). Default 5. */
  readonly burst: number;
  /** Requests per second the bucket refills by. Default 1, Slack's documented per-channel rate. */
  readonly perSecond: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { burst: 5, perSecond: 1 };

export type Admission = { readonly allowed: true } | { readonly allowed: false; readonly retryAfter: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  #limit: RateLimit;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  /** `now` returns milliseconds; inject a fake clock for deterministic tests. */
  constructor(limit: RateLimit, now: () => number) {
    this.#limit = validated(limit);
    this.#now = now;
  }

  /** Replaces the limit and refills every bucket, so a test starts from a known state. */
  set(limit: RateLimit): void {
    this.#limit = validated(limit);
    this.#buckets.clear();
  }

  /** Takes one token for `key`; when none is left, says how many whole seconds until one is (at least 1). */
  take(key: string): Admission {
    const now = this.#now();
    const { burst, perSecond } = this.#limit;
    const bucket = this.#buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    // Retry-After is whole seconds; rounding up never invites a retry that would be refused again.
    return { allowed: false, retryAfter: Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond)) };
  }
}

function validated(limit: RateLimit): RateLimit {
  if (!(limit.burst >= 1)) throw new RangeError(`rate limit burst must be >= 1, got ${limit.burst}`);
  if (!(limit.perSecond > 0))
    throw new RangeError(`rate limit perSecond must be > 0, got ${limit.perSecond}`);
  return { burst: limit.burst, perSecond: limit.perSecond };
}

// Mattermost's rate limiter (server/channels/app/ratelimit.go): a GCRA limiter from the throttled library in
// front of every HTTP route, keyed by the request's token when RateLimitSettings.VaryByUser is on (by client
// address otherwise). Every answer carries X-RateLimit-Limit / -Remaining / -Reset (seconds until the bucket
// is full again, rounded up); a refused request gets 429 `text/plain` "limit exceeded" with Retry-After in
// whole seconds, rounded up. Off by default, as in Mattermost's own config.

export interface RateLimit {
  /** Sustained requests per second (RateLimitSettings.PerSec, server default 10). Required, above 0. */
  readonly perSec: number;
  /**
   * Extra requests allowed in a burst (RateLimitSettings.MaxBurst, server default 100). Required, >= 0. As in
   * throttled, maxBurst + 1 requests pass back to back and X-RateLimit-Limit says maxBurst + 1.
   */
  readonly maxBurst: number;
}

export interface Admission {
  readonly allowed: boolean;
  /** The X-RateLimit-* headers, plus Retry-After when refused. */
  readonly headers: Readonly<Record<string, string>>;
}

export class RateLimiter {
  #limit: RateLimit | undefined;
  readonly #now: () => number;
  /** Theoretical arrival time per key, in milliseconds (the GCRA state). */
  readonly #tat = new Map<string, number>();

  /** `limit` undefined admits everything without headers; `now` returns milliseconds. */
  constructor(limit: RateLimit | undefined, now: () => number) {
    this.#limit = validated(limit);
    this.#now = now;
  }

  /** Replaces the limit (undefined: none) and forgets every key's history. */
  set(limit: RateLimit | undefined): void {
    this.#limit = validated(limit);
    this.#tat.clear();
  }

  /** Counts one request for `key`; undefined when no limit is set. */
  take(key: string): Admission | undefined {
    const limit = this.#limit;
    if (!limit) return undefined;
    const now = this.#now();
    const interval = 1000 / limit.perSec;
    const size = limit.maxBurst + 1;
    const tolerance = interval * size;
    const tat = Math.max(this.#tat.get(key) ?? now, now);
    const newTat = tat + interval;
    const diff = now - (newTat - tolerance);
    const limited = diff < 0;
    const ttl = limited ? tat - now : newTat - now;
    if (!limited) this.#tat.set(key, newTat);
    const next = tolerance - ttl;
    const remaining = next > -interval ? Math.max(0, Math.floor(next / interval)) : 0;
    const headers: Record<string, string> = {
      'X-RateLimit-Limit': String(size),
      'X-RateLimit-Remaining': String(remaining),
      'X-RateLimit-Reset': String(Math.ceil(ttl / 1000)),
    };
    if (limited) headers['Retry-After'] = String(Math.ceil(-diff / 1000));
    return { allowed: !limited, headers };
  }
}

function validated(limit: RateLimit | undefined): RateLimit | undefined {
  if (!limit) return undefined;
  if (!(limit.perSec > 0)) throw new RangeError(`rate limit perSec must be > 0, got ${limit.perSec}`);
  if (!(limit.maxBurst >= 0 && Number.isInteger(limit.maxBurst)))
    throw new RangeError(`rate limit maxBurst must be an integer >= 0, got ${limit.maxBurst}`);
  return { perSec: limit.perSec, maxBurst: limit.maxBurst };
}

// Failures and latency a test asks for. Both pick requests by endpoint name ("createPost", "incomingWebhook",
// ... or "*") or by a RegExp tested against the decoded request path, and count down `times`; the first
// entry that matches wins.

import { appErrorReply, type Reply } from './reply.ts';

/** Picks requests: an endpoint name (see ENDPOINT_NAMES), "*" for any, or a RegExp on the decoded path. */
export type RequestMatcher = string | RegExp;

export interface FailureSpec {
  /** HTTP status. Default 429 when `retryAfter` is set, otherwise 500. */
  readonly status?: number;
  /** How many matching requests fail. Default 1. */
  readonly times?: number;
  /**
   * Seconds for Retry-After (and X-RateLimit-Reset) on a 429. Default 1. A 429 looks like the server's rate
   * limiter's: `text/plain` "limit exceeded" with X-RateLimit-Limit/Remaining/Reset.
   */
  readonly retryAfter?: number;
  /**
   * The answer body: an object or array goes out as JSON, a string as text/plain. Default: the rate
   * limiter's text for a 429, otherwise an AppError `{id: "fake.injected_failure.app_error", ...}`.
   */
  readonly body?: unknown;
  /** Drop the connection without any answer (a network failure). Default false. */
  readonly disconnect?: boolean;
}

export interface DelaySpec {
  /** How long to hold the request, in milliseconds. Required. */
  readonly ms: number;
  /** How many matching requests are delayed. Default 1. */
  readonly times?: number;
  /**
   * Default true: the request takes effect at once (a post is stored and broadcast) and only the answer
   * waits, which reproduces "it happened, but the caller gave up before it heard". False: the wait comes
   * first; for createPost it comes after the pending_post_id is reserved, as on the server, so a retry
   * meanwhile gets the server's 500 api.post.deduplicate_create_post.pending.
   */
  readonly afterEffect?: boolean;
}

export type Failure = { readonly disconnect: true } | { readonly disconnect: false; readonly reply: Reply };

interface Entry<T> {
  readonly matcher: RequestMatcher;
  readonly spec: T;
  left: number;
}

export class Faults {
  readonly #endpointNames: ReadonlySet<string>;
  readonly #failures: Entry<FailureSpec>[] = [];
  readonly #delays: Entry<DelaySpec>[] = [];
  readonly #timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  /** `endpointNames` are the names a string matcher may use; a typo fails at once rather than never matching. */
  constructor(endpointNames: ReadonlySet<string>) {
    this.#endpointNames = endpointNames;
  }

  failNext(matcher: RequestMatcher, spec: FailureSpec = {}): void {
    this.#check(matcher);
    this.#failures.push({ matcher, spec, left: spec.times ?? 1 });
  }

  delayNext(matcher: RequestMatcher, spec: DelaySpec): void {
    this.#check(matcher);
    if (!(spec.ms >= 0)) throw new RangeError(`delay ms must be >= 0, got ${spec.ms}`);
    this.#delays.push({ matcher, spec, left: spec.times ?? 1 });
  }

  /** The failure this request gets, if any (counted against its entry). */
  takeFailure(endpoint: string | undefined, path: string, requestId: string): Failure | undefined {
    const spec = take(this.#failures, endpoint, path);
    if (!spec) return undefined;
    if (spec.disconnect) return { disconnect: true };
    const status = spec.status ?? (spec.retryAfter !== undefined ? 429 : 500);
    if (status === 429) {
      const seconds = String(spec.retryAfter ?? 1);
      const headers = {
        'X-RateLimit-Limit': '1',
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': seconds,
        'Retry-After': seconds,
      };
      return { disconnect: false, reply: { ...bodyReply(status, spec.body, 'limit exceeded\n'), headers } };
    }
    if (spec.body !== undefined) return { disconnect: false, reply: bodyReply(status, spec.body, '') };
    return {
      disconnect: false,
      reply: appErrorReply(status, 'fake.injected_failure.app_error', 'Injected failure', requestId),
    };
  }

  /** The delay this request gets, if any (counted against its entry). */
  takeDelay(endpoint: string | undefined, path: string): DelaySpec | undefined {
    return take(this.#delays, endpoint, path);
  }

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = { timer: setTimeout(() => done(), ms), resolve: () => done() };
      const done = () => {
        clearTimeout(entry.timer);
        this.#timers.delete(entry);
        resolve();
      };
      this.#timers.add(entry);
    });
  }

  /** Ends every wait at once, so closing the fake never waits out a long delay. */
  cancelWaits(): void {
    for (const entry of [...this.#timers]) entry.resolve();
  }

  #check(matcher: RequestMatcher): void {
    if (typeof matcher === 'string' && matcher !== '*' && !this.#endpointNames.has(matcher))
      throw new RangeError(
        `unknown endpoint "${matcher}"; use one of ${[...this.#endpointNames].join(', ')}, "*" or a RegExp`,
      );
  }
}

function bodyReply(status: number, body: unknown, defaultText: string): Reply {
  if (body === undefined) return { status, text: defaultText };
  return typeof body === 'string' ? { status, text: body } : { status, json: body };
}

function take<T>(entries: Entry<T>[], endpoint: string | undefined, path: string): T | undefined {
  const index = entries.findIndex((entry) => matches(entry.matcher, endpoint, path));
  const entry = entries[index];
  if (!entry) return undefined;
  entry.left -= 1;
  if (entry.left <= 0) entries.splice(index, 1);
  return entry.spec;
}

function matches(matcher: RequestMatcher, endpoint: string | undefined, path: string): boolean {
  if (matcher instanceof RegExp) {
    matcher.lastIndex = 0;
    return matcher.test(path);
  }
  return matcher === '*' || matcher === endpoint;
}

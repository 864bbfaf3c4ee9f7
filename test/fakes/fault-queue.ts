// Failures and latency a test asks of a fake server (the Matrix and Mattermost fakes). Both pick requests by
// endpoint name (or "*") or by a RegExp tested against the decoded request path, and count down `times`;
// the first entry that matches wins. Each fake turns a failure spec into its own server's error answer.

/** Picks requests: an endpoint name (see the fake's ENDPOINT_NAMES), "*" for any, or a RegExp on the decoded path. */
export type RequestMatcher = string | RegExp;

export interface DelaySpec {
  /** How long to hold the request, in milliseconds. Required. */
  readonly ms: number;
  /** How many matching requests are delayed. Default 1. */
  readonly times?: number;
  /**
   * Default true: the request takes effect at once (a message is stored and broadcast) and only the
   * answer waits, which reproduces "it happened, but the caller gave up before it heard". False: the
   * wait comes first.
   */
  readonly afterEffect?: boolean;
}

interface Entry<T> {
  readonly matcher: RequestMatcher;
  readonly spec: T;
  left: number;
}

export class FaultQueue<FailureSpec extends { readonly times?: number }> {
  readonly #endpointNames: ReadonlySet<string>;
  readonly #failures: Entry<FailureSpec>[] = [];
  readonly #delays: Entry<DelaySpec>[] = [];
  readonly #timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  /** `endpointNames` are the names a string matcher may use; a typo fails at once rather than never matching. */
  constructor(endpointNames: ReadonlySet<string>) {
    this.#endpointNames = endpointNames;
  }

  failNext(matcher: RequestMatcher, spec = {} as FailureSpec): void {
    this.#check(matcher);
    this.#failures.push({ matcher, spec, left: spec.times ?? 1 });
  }

  delayNext(matcher: RequestMatcher, spec: DelaySpec): void {
    this.#check(matcher);
    if (!(spec.ms >= 0)) throw new RangeError(`delay ms must be >= 0, got ${spec.ms}`);
    this.#delays.push({ matcher, spec, left: spec.times ?? 1 });
  }

  /** The failure spec this request gets, if any (counted against its entry). */
  takeFailureSpec(endpoint: string | undefined, path: string): FailureSpec | undefined {
    return take(this.#failures, endpoint, path);
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

// The Matrix fake's failures: an injected one answers as Synapse would, M_LIMIT_EXCEEDED for a 429.

import { type DelaySpec, FaultQueue, type RequestMatcher } from '../fault-queue.ts';
import { errorReply, limitExceeded, type Reply } from './reply.ts';

export type { DelaySpec, RequestMatcher };

export interface FailureSpec {
  /** HTTP status. Default 429 when `retryAfterMs` is set, otherwise 500. */
  readonly status?: number;
  /** Default M_LIMIT_EXCEEDED for a 429, M_UNKNOWN otherwise. */
  readonly errcode?: string;
  /** The `error` sentence. Default "Injected failure" ("Too Many Requests" for a 429). */
  readonly error?: string;
  /** On a 429: retry_after_ms in the body, and Retry-After (seconds, rounded up). Default 1000. */
  readonly retryAfterMs?: number;
  /** Drop the connection without any answer (a network failure). Default false. */
  readonly disconnect?: boolean;
  /** How many matching requests fail. Default 1. */
  readonly times?: number;
}

export type Failure = { readonly disconnect: true } | { readonly disconnect: false; readonly reply: Reply };

export class Faults extends FaultQueue<FailureSpec> {
  /** The failure this request gets, if any (counted against its entry). */
  takeFailure(endpoint: string | undefined, path: string): Failure | undefined {
    const spec = this.takeFailureSpec(endpoint, path);
    if (!spec) return undefined;
    if (spec.disconnect) return { disconnect: true };
    const status = spec.status ?? (spec.retryAfterMs !== undefined ? 429 : 500);
    if (status === 429 && (spec.errcode ?? 'M_LIMIT_EXCEEDED') === 'M_LIMIT_EXCEEDED')
      return { disconnect: false, reply: limitExceeded(spec.retryAfterMs ?? 1000, spec.error) };
    return {
      disconnect: false,
      reply: errorReply(status, spec.errcode ?? 'M_UNKNOWN', spec.error ?? 'Injected failure'),
    };
  }
}

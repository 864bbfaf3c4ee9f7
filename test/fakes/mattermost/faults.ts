// The Mattermost fake's failures: an injected one answers as Mattermost would, its rate limiter's text/plain
// for a 429. A delay with afterEffect false on createPost comes after the pending_post_id is reserved, as on
// the server, so a retry meanwhile gets the server's 500 api.post.deduplicate_create_post.pending.

import { type DelaySpec, FaultQueue, type RequestMatcher } from '../fault-queue.ts';
import { appErrorReply, type Reply } from './reply.ts';

export type { DelaySpec, RequestMatcher };

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

export type Failure = { readonly disconnect: true } | { readonly disconnect: false; readonly reply: Reply };

export class Faults extends FaultQueue<FailureSpec> {
  /** The failure this request gets, if any (counted against its entry). */
  takeFailure(endpoint: string | undefined, path: string, requestId: string): Failure | undefined {
    const spec = this.takeFailureSpec(endpoint, path);
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
}

function bodyReply(status: number, body: unknown, defaultText: string): Reply {
  if (body === undefined) return { status, text: defaultText };
  return typeof body === 'string' ? { status, text: body } : { status, json: body };
}

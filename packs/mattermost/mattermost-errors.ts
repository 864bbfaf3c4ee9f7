import { CodedError, parseRetryAfter, transientError } from '../../shared/errors.ts';
import { MattermostHttpError } from './mattermost-client.ts';

/**
 * Turns a failed Mattermost call into a CodedError: 429 is retryable after Retry-After (or
 * X-RateLimit-Reset, seconds until the bucket refills), 5xx and network errors are retryable, the rest
 * keep a stable code.
 */
export function mattermostFailure(error: unknown, doing: string): CodedError {
  if (error instanceof CodedError) return error;
  if (error instanceof MattermostHttpError) {
    const reason = `${doing}: Mattermost answered ${error.status}: ${error.message}`;
    if (error.status === 429) {
      const retryAfterMs =
        parseRetryAfter(error.headers.get('retry-after')) ??
        parseRetryAfter(error.headers.get('x-ratelimit-reset')) ??
        1000;
      return transientError(reason, { code: 'rate_limited', retryAfterMs, cause: error });
    }
    if (error.status >= 500) return transientError(reason, { cause: error });
    const code =
      { 400: 'invalid_post', 401: 'invalid_auth', 403: 'forbidden', 404: 'channel_not_found' }[
        error.status
      ] ?? 'upstream_error';
    return new CodedError(code, reason, { cause: error });
  }
  return transientError(`${doing}: cannot reach Mattermost (${(error as Error)?.message ?? String(error)})`, {
    cause: error,
  });
}

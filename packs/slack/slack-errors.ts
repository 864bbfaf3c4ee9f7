import { CodedError, transientError } from '../../shared/errors.ts';

/**
 * Slack's error codes that no retry can fix, with the errorCode the failure event carries: the Slack
 * code itself, so flows can tell `not_in_channel` from `channel_not_found`.
 */
const PERMANENT = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'msg_too_long',
  'no_text',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'missing_scope',
  'user_not_found',
  'invalid_blocks',
  'invalid_blocks_format',
  'invalid_attachments',
  'method_not_supported_for_channel_type',
  'restricted_action',
  'cant_invite_self',
]);

/** What @slack/web-api throws, as far as the pack reads it. */
interface WebApiError {
  code?: string;
  message?: string;
  retryAfter?: number;
  statusCode?: number;
  data?: { error?: string; [key: string]: unknown };
  original?: { message?: string };
}

/**
 * Turns an error thrown by the Slack SDK into a CodedError: a 429 is retryable after its Retry-After,
 * 5xx and network errors are retryable, Slack's own error codes are permanent and keep their name.
 * The client must be made with `rejectRateLimitedCalls: true` and `retryConfig: {retries: 0}`, so that
 * retries and pacing are the runtime's and the pacer's, not the SDK's.
 */
export function slackFailure(error: unknown): CodedError {
  if (error instanceof CodedError) return error;
  const failure = error as WebApiError;
  switch (failure?.code) {
    case 'slack_webapi_rate_limited_error':
      return transientError(`Slack rate-limited the call; retry after ${failure.retryAfter ?? 1} s`, {
        code: 'rate_limited',
        retryAfterMs: (failure.retryAfter ?? 1) * 1000,
        cause: error,
      });
    case 'slack_webapi_http_error':
      return (failure.statusCode ?? 500) >= 500
        ? transientError(`Slack answered HTTP ${failure.statusCode}`, { cause: error })
        : new CodedError('upstream_error', `Slack answered HTTP ${failure.statusCode}`, { cause: error });
    case 'slack_webapi_request_error':
      return transientError(`cannot reach Slack: ${failure.original?.message ?? failure.message}`, {
        cause: error,
      });
    case 'slack_webapi_platform_error': {
      const code = failure.data?.error ?? 'upstream_error';
      const reason = `Slack refused the call: ${code}`;
      if (PERMANENT.has(code)) return new CodedError(code, reason, { cause: error });
      // Codes Slack documents as temporary (internal_error, fatal_error, service_unavailable...) and
      // ones we do not know: worth another try.
      return transientError(reason, { code: 'upstream_error', cause: error });
    }
    default:
      return transientError(`the Slack call failed: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      });
  }
}

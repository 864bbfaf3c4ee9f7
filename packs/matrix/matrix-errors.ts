import { ConnectionError, MatrixError } from 'matrix-js-sdk';
import { CodedError, transientError } from '../../shared/errors.ts';

/**
 * Turns what matrix-js-sdk throws into a CodedError: M_LIMIT_EXCEEDED is retryable after the server's
 * wait, 5xx and network errors are retryable, the rest keep a stable code a flow can act on.
 */
export function matrixFailure(error: unknown, doing: string): CodedError {
  if (error instanceof CodedError) return error;
  if (error instanceof MatrixError) {
    const reason =
      `${doing}: the homeserver answered ${error.httpStatus ?? '?'} ${error.errcode ?? ''} ${error.data?.error ?? ''}`.trim();
    if (error.isRateLimitError() || error.errcode === 'M_LIMIT_EXCEEDED') {
      return transientError(reason, {
        code: 'rate_limited',
        retryAfterMs: error.getRetryAfterMs() ?? 1000,
        cause: error,
      });
    }
    if ((error.httpStatus ?? 0) >= 500) return transientError(reason, { cause: error });
    switch (error.errcode) {
      case 'M_UNKNOWN_TOKEN':
      case 'M_MISSING_TOKEN':
        return new CodedError('invalid_auth', reason, { cause: error });
      case 'M_FORBIDDEN':
        return new CodedError('forbidden', reason, { cause: error });
      case 'M_NOT_FOUND':
      case 'M_UNKNOWN':
        if (error.httpStatus === 404) return new CodedError('channel_not_found', reason, { cause: error });
        break;
      case 'M_TOO_LARGE':
        return new CodedError('msg_too_long', reason, { cause: error });
    }
    return new CodedError('upstream_error', reason, { cause: error });
  }
  if (error instanceof ConnectionError || (error as Error)?.name === 'ConnectionError') {
    return transientError(`${doing}: cannot reach the homeserver (${(error as Error).message})`, {
      cause: error,
    });
  }
  if ((error as Error)?.name === 'AbortError') return transientError(`${doing}: aborted`, { cause: error });
  return transientError(`${doing}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

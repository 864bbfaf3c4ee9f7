/**
 * Stable error codes carried by failure events (`errorCode`). Documented once, in docs/protocol.md;
 * packs may add codes of their own (e.g. `not_in_channel`) and document them in their README.
 */
export const ERROR_CODES = {
  invalid_input: 'The command payload does not match the command input schema.',
  unknown_command: 'The pack has no command of that name.',
  rate_limited: 'The outside service kept refusing for rate limiting after every retry.',
  not_found: 'The channel, room, user or other target does not exist.',
  unauthorized: 'The credentials were refused, or lack the permission the command needs.',
  timeout: 'The command did not finish within its time limit (retries included).',
  upstream_error: 'The outside service failed (network error, 5xx, unexpected answer).',
  internal_error: 'A bug in the pack: the handler threw something unexpected.',
} as const;

export type CoreErrorCode = keyof typeof ERROR_CODES;

export interface CodedErrorOptions {
  /** Whether retrying the same call may succeed (network errors, 5xx, 429). Default: false. */
  retryable?: boolean;
  /** Server-requested wait before the next attempt (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  /** Extra fields merged into the failure event's payload (e.g. `failedChannelIds`). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** An error with a stable code; the runtime turns it into a failure event. */
export class CodedError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, options: CodedErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'CodedError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details ?? {};
  }
}

/** A failure worth retrying: network error, 5xx, or 429 with its Retry-After. */
export function transientError(
  message: string,
  options: Omit<CodedErrorOptions, 'retryable'> & { code?: string } = {},
): CodedError {
  return new CodedError(options.code ?? 'upstream_error', message, { ...options, retryable: true });
}

/** Anything thrown at a boundary becomes a CodedError; unknown throws are bugs (`internal_error`). */
export function asCodedError(error: unknown): CodedError {
  if (error instanceof CodedError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CodedError('internal_error', message || 'the handler failed without a message', {
    cause: error,
  });
}

/** Parses an HTTP Retry-After header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

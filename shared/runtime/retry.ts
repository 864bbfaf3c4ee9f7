import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { asCodedError, type CodedError } from '../errors.ts';

export interface RetryPolicy {
  /** Retries after the first attempt, for failures marked retryable. Default: 5. */
  maxRetries: number;
  /** First backoff delay; doubles each retry up to `maxDelayMs`. Default: 200 ms. */
  minDelayMs: number;
  /** Default: 10 000 ms. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 5, minDelayMs: 200, maxDelayMs: 10_000 };

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, runs out of retries, or `signal`
 * aborts. A server's Retry-After is waited out before the next try, on top of the backoff.
 */
export async function withRetries<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: {
    policy: RetryPolicy;
    signal: AbortSignal;
    onRetry?: (error: CodedError, attemptNumber: number) => void;
  },
): Promise<T> {
  const { policy, signal } = options;
  return pRetry(
    async (attemptNumber) => {
      try {
        return await attempt(attemptNumber);
      } catch (error) {
        throw asCodedError(error);
      }
    },
    {
      retries: policy.maxRetries,
      minTimeout: policy.minDelayMs,
      maxTimeout: policy.maxDelayMs,
      factor: 2,
      randomize: true,
      signal,
      shouldRetry: ({ error }) => (error as CodedError).retryable,
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        const coded = error as CodedError;
        if (!coded.retryable || retriesLeft === 0) return;
        options.onRetry?.(coded, attemptNumber);
        if (coded.retryAfterMs) await sleep(coded.retryAfterMs, undefined, { signal });
      },
    },
  );
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { CodedError } from '../errors.ts';

/** 5xx answers and network errors of one call retried in place before it fails. */
export const FAULTS_IN_PLACE = 5;

/**
 * Runs a chat service call until it succeeds, in its channel's lane: a rate limit is waited out in place
 * for as long as the command's time limit allows (giving the lane up would let the messages behind it
 * overtake it); other transient failures are retried a few times with backoff; anything else fails at
 * once. `classify` turns what the SDK threw into a CodedError; `onRetry` hears each failure retried.
 */
export async function retryInPlace<T>(
  call: () => Promise<T>,
  options: {
    classify: (error: unknown) => CodedError;
    signal: AbortSignal;
    onRetry?: (failure: CodedError) => void;
  },
): Promise<T> {
  let faults = 0;
  for (;;) {
    // The command's verdict (a timeout) may already be out: acting now would contradict it.
    options.signal.throwIfAborted();
    try {
      return await call();
    } catch (error) {
      const failure = options.classify(error);
      const rateLimited = failure.code === 'rate_limited';
      if (!failure.retryable || options.signal.aborted || (!rateLimited && ++faults >= FAULTS_IN_PLACE))
        throw failure;
      options.onRetry?.(failure);
      await sleep(failure.retryAfterMs ?? 100 * 2 ** faults, undefined, { signal: options.signal }).catch(
        () => {},
      );
    }
  }
}

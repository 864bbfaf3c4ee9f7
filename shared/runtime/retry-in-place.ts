import { setTimeout as sleep } from 'node:timers/promises';
import type { CodedError } from '../errors.ts';
import type { LaneCommand } from './channel-pacer.ts';

/** 5xx answers and network errors of one call retried in place before it fails. */
export const FAULTS_IN_PLACE = 5;

/**
 * Runs a chat service call until it succeeds, in its channel's lane: a rate limit is waited out in place
 * (giving the lane up would let the messages behind it overtake it), and since the whole channel waits
 * for it, that wait counts as waiting for a turn (`command.waitForTurn`: against the lane wait limit, not
 * the run time limit); other transient failures are retried a few times with backoff; anything else fails
 * at once. `classify` turns what the SDK threw into a CodedError; `onRetry` hears each failure retried.
 * Pass the handler's CommandContext as `command`.
 */
export async function retryInPlace<T>(
  call: () => Promise<T>,
  options: {
    classify: (error: unknown) => CodedError;
    command: LaneCommand;
    onRetry?: (failure: CodedError) => void;
  },
): Promise<T> {
  const { signal, waitForTurn } = options.command;
  let faults = 0;
  for (;;) {
    // The command's verdict (a timeout) may already be out: acting now would contradict it.
    signal.throwIfAborted();
    try {
      return await call();
    } catch (error) {
      const failure = options.classify(error);
      const rateLimited = failure.code === 'rate_limited';
      if (!failure.retryable || signal.aborted || (!rateLimited && ++faults >= FAULTS_IN_PLACE))
        throw failure;
      options.onRetry?.(failure);
      const pause = sleep(failure.retryAfterMs ?? 100 * 2 ** faults, undefined, { signal });
      await (rateLimited && waitForTurn ? waitForTurn(pause) : pause).catch(() => {});
    }
  }
}

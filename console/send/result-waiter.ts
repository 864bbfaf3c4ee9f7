import type { Envelope } from '../../shared/envelope.ts';
import type { BusTap } from '../bus-tap.ts';

/**
 * Starts listening for the result event of command `commandId` (its causationId, docs/protocol.md) before
 * the command is published, so a fast pack cannot answer before anyone listens. `result` resolves with the
 * event, or undefined after `timeoutMs` or once `signal` aborts; call `cancel` when giving up earlier.
 */
export function waitForResult(
  tap: BusTap,
  commandId: string,
  timeoutMs: number,
  signal: AbortSignal,
): { result: Promise<Envelope | undefined>; cancel: () => void } {
  let settle: (result: Envelope | undefined) => void = () => {};
  const result = new Promise<Envelope | undefined>((resolve) => {
    settle = resolve;
  });
  const unsubscribe = tap.subscribe(({ envelope }) => {
    if (envelope.kind === 'event' && envelope.causationId === commandId) finish(envelope);
  });
  const timer = setTimeout(() => finish(undefined), timeoutMs);
  const onAbort = () => finish(undefined);
  signal.addEventListener('abort', onAbort);
  function finish(value: Envelope | undefined) {
    clearTimeout(timer);
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
    settle(value);
  }
  if (signal.aborted) finish(undefined);
  return { result, cancel: () => finish(undefined) };
}

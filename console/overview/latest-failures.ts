import type { TappedMessage } from '../bus-tap.ts';
import { isFailureEvent, payloadField } from './failure-events.ts';

/** One failure event, as the Overview lists it. */
export interface FailureSummary {
  /** The event's id. */
  id: string;
  pack: string;
  name: string;
  /** payload.errorCode: the stable code (docs/protocol.md); undefined when the event has none. */
  errorCode: string | undefined;
  /** payload.error: the sentence for people; undefined when the event has none. */
  reason: string | undefined;
  correlationId: string | undefined;
  /** The id of the command that failed. */
  causationId: string | undefined;
  /** The event's createdAt. */
  createdAt: string;
}

/** Failures kept for the Overview. */
export const MAX_LATEST_FAILURES = 20;

/** The latest failure events seen on the bus, newest first; one event seen twice (redelivered) once. */
export class LatestFailures {
  #failures: FailureSummary[] = [];

  record({ envelope }: Pick<TappedMessage, 'envelope'>): void {
    if (!isFailureEvent(envelope)) return;
    if (this.#failures.some((failure) => failure.id === envelope.id)) return;
    const errorCode = payloadField(envelope, 'errorCode');
    const reason = payloadField(envelope, 'error');
    this.#failures.unshift({
      id: envelope.id,
      pack: envelope.pack,
      name: envelope.name,
      errorCode: typeof errorCode === 'string' ? errorCode : undefined,
      reason: typeof reason === 'string' ? reason : undefined,
      correlationId: envelope.correlationId,
      causationId: envelope.causationId,
      createdAt: envelope.createdAt,
    });
    this.#failures.length = Math.min(this.#failures.length, MAX_LATEST_FAILURES);
  }

  list(): FailureSummary[] {
    return [...this.#failures];
  }
}

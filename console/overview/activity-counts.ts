import type { TappedMessage } from '../bus-tap.ts';
import { isFailureEvent } from './failure-events.ts';

/** One minute of traffic on the bus, as the console saw it. */
export interface MinuteCounts {
  /** Start of the minute (ISO 8601, console clock). */
  minute: string;
  events: number;
  commands: number;
  /** Events that are failures (also counted in `events`); see isFailureEvent. */
  failures: number;
}

/** Minutes kept: the chart shows the last hour. */
export const ACTIVITY_MINUTES = 60;
const MINUTE_MS = 60_000;

interface Bucket {
  /** Minutes since 1970: which minute this slot holds now. */
  index: number;
  events: number;
  commands: number;
  failures: number;
}

/**
 * Events, commands and failures per minute over the last hour, in a ring of 60 one-minute slots: memory
 * stays the same however busy the bus is, and a slot is reused once its minute is an hour old.
 * Counted by when the console saw a message (its createdAt is the sender's clock, which may be off).
 */
export class ActivityCounts {
  readonly #buckets: Bucket[] = Array.from({ length: ACTIVITY_MINUTES }, () => ({
    index: -1,
    events: 0,
    commands: 0,
    failures: 0,
  }));

  record({ envelope, seenAt }: Pick<TappedMessage, 'envelope' | 'seenAt'>): void {
    const index = Math.floor(seenAt.getTime() / MINUTE_MS);
    const bucket = this.#buckets[index % ACTIVITY_MINUTES] as Bucket;
    if (bucket.index !== index) Object.assign(bucket, { index, events: 0, commands: 0, failures: 0 });
    if (envelope.kind === 'command') bucket.commands++;
    else {
      bucket.events++;
      if (isFailureEvent(envelope)) bucket.failures++;
    }
  }

  /** The last 60 minutes up to the one `now` is in, oldest first; minutes without traffic count 0. */
  lastHour(now: Date = new Date()): MinuteCounts[] {
    const current = Math.floor(now.getTime() / MINUTE_MS);
    const minutes: MinuteCounts[] = [];
    for (let index = current - ACTIVITY_MINUTES + 1; index <= current; index++) {
      const bucket = this.#buckets[index % ACTIVITY_MINUTES] as Bucket;
      const counted = bucket.index === index;
      minutes.push({
        minute: new Date(index * MINUTE_MS).toISOString(),
        events: counted ? bucket.events : 0,
        commands: counted ? bucket.commands : 0,
        failures: counted ? bucket.failures : 0,
      });
    }
    return minutes;
  }
}

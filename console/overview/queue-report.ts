import type { Bus } from '../../shared/bus/bus.ts';
import type { WaitingCommands } from '../../shared/bus/memory-bus.ts';

/** One queue as the broker describes it now. */
export interface QueueReport {
  queue: string;
  /** Messages waiting to be delivered; null when the queue is missing or could not be read (`note` says). */
  messages: number | null;
  consumers: number | null;
  /** Why the numbers are null. */
  note?: string;
}

/** A queue's depth and consumers; never throws: a broker that cannot answer is a note, not a failed page. */
export async function reportQueue(bus: Bus, queue: string, missing: string): Promise<QueueReport> {
  try {
    const state = await bus.inspectQueue(queue);
    if (!state) return { queue, messages: null, consumers: null, note: missing };
    return { queue, messages: state.messages, consumers: state.consumers };
  } catch (error) {
    return {
      queue,
      messages: null,
      consumers: null,
      note: `the broker did not answer: ${(error as Error).message}`,
    };
  }
}

/**
 * The commands the in-memory bus keeps for packs that have no queue yet, or null on RabbitMQ, where such
 * commands wait in the pack's durable queue (counted by reportQueue). The Bus interface has no such call:
 * only MemoryBus can answer it.
 */
export function waitingCommandsOf(bus: Bus): WaitingCommands[] | null {
  if (!('waitingCommands' in bus) || typeof bus.waitingCommands !== 'function') return null;
  return (bus.waitingCommands as () => WaitingCommands[])();
}

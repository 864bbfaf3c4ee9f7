import type { Bus, Consumption } from '../shared/bus/bus.ts';
import { EVENTS_EXCHANGE } from '../shared/bus/topology.ts';
import type { Envelope, Labels } from '../shared/envelope.ts';
import type { Logger } from '../shared/observability/logger.ts';

/** One pack instance as its PackStarted and PackStopped events describe it. */
export interface PackInstance {
  name: string;
  instanceId: string;
  version: string | undefined;
  labels: Labels;
  state: 'running' | 'stopped';
  /** createdAt of the latest event from this instance. */
  lastSeen: string;
  /** PackStopped's reason, once stopped. */
  stopReason?: string;
}

/** Instances remembered at most; past it, the instances stopped longest ago are forgotten first. */
export const MAX_PACK_INSTANCES = 1000;

/** Every pack instance seen on the bus since the console started: one job, kept out of the HTTP code. */
export class PackDirectory {
  readonly #instances = new Map<string, PackInstance>();
  readonly #logger: Logger;
  #consumption: Consumption | undefined;

  private constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Consumes PackStarted and PackStopped of every pack from a private queue. */
  static async start(bus: Bus, logger: Logger): Promise<PackDirectory> {
    const directory = new PackDirectory(logger);
    directory.#consumption = await bus.consume(
      {
        durability: 'private',
        bindings: [
          { exchange: EVENTS_EXCHANGE, pattern: '*.PackStarted' },
          { exchange: EVENTS_EXCHANGE, pattern: '*.PackStopped' },
        ],
        kind: 'event',
        prefetch: 100,
      },
      async ({ envelope }) => directory.record(envelope),
    );
    return directory;
  }

  /** Sorted by pack name, then instance id. */
  list(): PackInstance[] {
    return [...this.#instances.values()].sort(
      (a, b) => a.name.localeCompare(b.name) || a.instanceId.localeCompare(b.instanceId),
    );
  }

  /** Applies one PackStarted or PackStopped; anything else, or a payload without its identity, is ignored. */
  record(event: Envelope): void {
    if (event.name !== 'PackStarted' && event.name !== 'PackStopped') return;
    const payload = event.payload as Record<string, unknown> | null;
    const instanceId = payload?.instanceId;
    if (typeof instanceId !== 'string' || instanceId === '') {
      this.#logger.debug(
        { event: event.name, eventId: event.id },
        'pack event without an instanceId, ignored',
      );
      return;
    }
    const known = this.#instances.get(instanceId);
    // Events can arrive out of order (redelivery); an older one must not undo a newer state.
    if (known && known.lastSeen > event.createdAt) return;
    const stopped = event.name === 'PackStopped';
    const instance: PackInstance = {
      name: typeof payload?.name === 'string' ? payload.name : event.pack,
      instanceId,
      version: typeof payload?.version === 'string' ? payload.version : known?.version,
      labels: isLabels(payload?.labels) ? payload.labels : (known?.labels ?? event.labels ?? {}),
      state: stopped ? 'stopped' : 'running',
      lastSeen: event.createdAt,
      ...(stopped && typeof payload?.reason === 'string' ? { stopReason: payload.reason } : {}),
    };
    this.#instances.delete(instanceId);
    this.#instances.set(instanceId, instance);
    this.#forgetBeyondLimit();
  }

  async stop(): Promise<void> {
    await this.#consumption?.stop();
  }

  #forgetBeyondLimit(): void {
    while (this.#instances.size > MAX_PACK_INSTANCES) {
      const oldest =
        [...this.#instances.values()].find((instance) => instance.state === 'stopped') ??
        this.#instances.values().next().value;
      if (!oldest) return;
      this.#instances.delete(oldest.instanceId);
    }
  }
}

function isLabels(value: unknown): value is Labels {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((label) => typeof label === 'string')
  );
}

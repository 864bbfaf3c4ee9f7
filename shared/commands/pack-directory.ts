import type { Bus } from '../bus/bus.ts';
import { EVENTS_EXCHANGE, routingKey } from '../bus/topology.ts';
import { createEnvelope, type Envelope, type Labels } from '../envelope.ts';
import type { Logger } from '../observability/logger.ts';
import { ANNOUNCEMENTS_REQUESTED } from '../runtime/announcement-requests.ts';
import { type EventHandler, type EventWatch, watchEvents } from '../runtime/event-watch.ts';
import { DEFAULT_ALIVE_INTERVAL_MS } from '../runtime/heartbeat.ts';
import type { EmitOptions, JsonSchema, Payload } from '../runtime/pack-definition.ts';

/**
 * - `running`: heard from within SILENT_AFTER_INTERVALS of its liveness interval;
 * - `silent`: not heard from for longer, without a PackStopped (crashed, or cut off from the bus);
 * - `stopped`: said PackStopped.
 */
export type PackState = 'running' | 'silent' | 'stopped';

/** One pack instance as its PackStarted, PackAlive and PackStopped events describe it. */
export interface PackInstance {
  name: string;
  instanceId: string;
  version: string | undefined;
  labels: Labels;
  state: PackState;
  /** createdAt of the latest event from this instance. */
  lastSeen: string;
  /** How often it said it would send PackAlive; DEFAULT_ALIVE_INTERVAL_MS when it did not say. */
  aliveIntervalMs: number;
  /** PackStopped's reason, once stopped. */
  stopReason?: string;
}

/** A command as a pack announced it in PackStarted. */
export interface AnnouncedCommand {
  name: string;
  description: string | undefined;
  inputSchema: JsonSchema;
  /** [success, failure] event names. */
  events: string[];
}

/** What a pack said it accepts in its latest PackStarted (any instance's). */
export interface PackAnnouncement {
  pack: string;
  instanceId: string;
  version: string | undefined;
  /** createdAt of that PackStarted. */
  announcedAt: string;
  commands: AnnouncedCommand[];
}

/** Instances remembered at most; past it, the instances stopped longest ago are forgotten first. */
export const MAX_PACK_INSTANCES = 1000;

/** An instance not heard from for this many of its liveness intervals is shown as silent. */
export const SILENT_AFTER_INTERVALS = 3;

const PACK_EVENTS = ['PackStarted', 'PackAlive', 'PackStopped'] as const;

/**
 * How a directory reads the bus: a watch on the pack events, and a way to ask the instances already
 * running for their PackStarted (AnnouncementsRequested, answered to the watch's queue). A process with
 * the bus uses busFeed; a pack, its PackContext (`{watch: context.watch, emit: context.emit}`).
 */
export interface DirectoryFeed {
  watch(patterns: readonly string[], handler: EventHandler): Promise<EventWatch>;
  emit(name: string, payload: Payload, options: EmitOptions): Promise<void>;
}

/** A feed straight from the bus; the request for announcements is published as `<asker>.AnnouncementsRequested`. */
export function busFeed(bus: Bus, logger: Logger, asker: string): DirectoryFeed {
  return {
    watch: (patterns, handler) => watchEvents(bus, patterns, handler, logger),
    emit: (name, payload, options) =>
      bus.publish(
        { exchange: EVENTS_EXCHANGE, routingKey: routingKey(asker, name) },
        createEnvelope({ kind: 'event', pack: asker, name, payload }),
        { replyTo: options.replyTo },
      ),
  };
}

interface KnownInstance extends Omit<PackInstance, 'state'> {
  stopped: boolean;
}

/**
 * Every pack instance seen on the bus since the directory started, and what each pack said it accepts in
 * its latest PackStarted: what the console's Overview and Send page and the HTTP command API read. Instances
 * that started earlier are asked for their PackStarted at start (AnnouncementsRequested); their answers
 * arrive within moments, so a lookup right after start may not find them yet.
 */
export class PackDirectory {
  readonly #instances = new Map<string, KnownInstance>();
  readonly #announcements = new Map<string, PackAnnouncement>();
  readonly #logger: Logger;
  #watch: EventWatch | undefined;

  private constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Follows PackStarted, PackAlive and PackStopped of every pack on `bus`, asking as `asker` (default `console`). */
  static start(bus: Bus, logger: Logger, asker = 'console'): Promise<PackDirectory> {
    return PackDirectory.startWith(busFeed(bus, logger, asker), logger);
  }

  /** Follows the pack events through `feed` from a private queue, then asks the running instances. */
  static async startWith(feed: DirectoryFeed, logger: Logger): Promise<PackDirectory> {
    const directory = new PackDirectory(logger);
    const watch = await feed.watch(
      PACK_EVENTS.map((name) => `*.${name}`),
      (event) => directory.record(event),
    );
    directory.#watch = watch;
    try {
      await feed.emit(ANNOUNCEMENTS_REQUESTED, {}, { replyTo: watch.queue });
    } catch (error) {
      // Not fatal: the directory still learns of every pack that starts from now on.
      logger.warn(
        { reason: (error as Error).message },
        'could not ask the running packs for their announcements',
      );
    }
    return directory;
  }

  /** Sorted by pack name, then instance id; `now` decides which running instances have gone silent. */
  list(now: Date = new Date()): PackInstance[] {
    return [...this.#instances.values()]
      .sort((a, b) => a.name.localeCompare(b.name) || a.instanceId.localeCompare(b.instanceId))
      .map(({ stopped, ...instance }) => ({ ...instance, state: stateOf(instance, stopped, now) }));
  }

  /** The latest PackStarted of `pack`, or undefined when none was seen (nor answered) since the start. */
  announcement(pack: string): PackAnnouncement | undefined {
    return this.#announcements.get(pack);
  }

  /** Every pack's latest announcement, sorted by pack name. */
  announcements(): PackAnnouncement[] {
    return [...this.#announcements.values()].sort((a, b) => a.pack.localeCompare(b.pack));
  }

  /** Applies one pack event; anything else, or a payload without its identity, is ignored. */
  record(event: Envelope): void {
    if (!(PACK_EVENTS as readonly string[]).includes(event.name)) return;
    const payload = event.payload as Record<string, unknown> | null;
    const instanceId = payload?.instanceId;
    if (typeof instanceId !== 'string' || instanceId === '') {
      this.#logger.debug(
        { event: event.name, eventId: event.id },
        'pack event without an instanceId, ignored',
      );
      return;
    }
    if (event.name === 'PackStarted') this.#announce(event, instanceId, payload);
    const known = this.#instances.get(instanceId);
    // Events can arrive out of order (redelivery); an older one must not undo a newer state.
    if (known && known.lastSeen > event.createdAt) return;
    const stopped = event.name === 'PackStopped';
    const interval = payload?.aliveIntervalMs;
    const instance: KnownInstance = {
      name: typeof payload?.name === 'string' ? payload.name : event.pack,
      instanceId,
      version: typeof payload?.version === 'string' ? payload.version : known?.version,
      labels: isLabels(payload?.labels) ? payload.labels : (known?.labels ?? event.labels ?? {}),
      stopped,
      lastSeen: event.createdAt,
      aliveIntervalMs:
        typeof interval === 'number' && interval > 0
          ? interval
          : (known?.aliveIntervalMs ?? DEFAULT_ALIVE_INTERVAL_MS),
      ...(stopped && typeof payload?.reason === 'string' ? { stopReason: payload.reason } : {}),
    };
    this.#instances.delete(instanceId);
    this.#instances.set(instanceId, instance);
    this.#forgetBeyondLimit();
  }

  async stop(): Promise<void> {
    await this.#watch?.stop();
  }

  /** Keeps the latest PackStarted per pack: its command list is what senders are offered and checked against. */
  #announce(event: Envelope, instanceId: string, payload: Record<string, unknown> | null): void {
    const known = this.#announcements.get(event.pack);
    if (known && known.announcedAt > event.createdAt) return;
    const commands = Array.isArray(payload?.commands) ? payload.commands.flatMap(announcedCommand) : [];
    this.#announcements.set(event.pack, {
      pack: event.pack,
      instanceId,
      version: typeof payload?.version === 'string' ? payload.version : undefined,
      announcedAt: event.createdAt,
      commands,
    });
  }

  #forgetBeyondLimit(): void {
    while (this.#instances.size > MAX_PACK_INSTANCES) {
      const oldest =
        [...this.#instances.values()].find((instance) => instance.stopped) ??
        this.#instances.values().next().value;
      if (!oldest) return;
      this.#instances.delete(oldest.instanceId);
    }
  }
}

function stateOf(instance: Omit<KnownInstance, 'stopped'>, stopped: boolean, now: Date): PackState {
  if (stopped) return 'stopped';
  const quietMs = now.getTime() - Date.parse(instance.lastSeen);
  return quietMs > SILENT_AFTER_INTERVALS * instance.aliveIntervalMs ? 'silent' : 'running';
}

/** One entry of PackStarted's `commands`, or nothing when it is not shaped like one. */
function announcedCommand(value: unknown): AnnouncedCommand[] {
  if (typeof value !== 'object' || value === null) return [];
  const { name, description, inputSchema, events } = value as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') return [];
  return [
    {
      name,
      description: typeof description === 'string' ? description : undefined,
      // A command announced without a schema takes any object; the pack checks the rest itself.
      inputSchema:
        typeof inputSchema === 'object' && inputSchema !== null && !Array.isArray(inputSchema)
          ? (inputSchema as JsonSchema)
          : { type: 'object' },
      events: Array.isArray(events) ? events.filter((event) => typeof event === 'string') : [],
    },
  ];
}

function isLabels(value: unknown): value is Labels {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((label) => typeof label === 'string')
  );
}

import { hostname } from 'node:os';
import type { Logger } from 'pino';
import {
  type Bus,
  type Consumption,
  type InboundMessage,
  type QueueSpec,
  UnprocessableMessage,
} from '../bus/bus.ts';
import {
  COMMANDS_EXCHANGE,
  EVENTS_EXCHANGE,
  labelledQueueName,
  packQueueName,
  routingKey,
} from '../bus/topology.ts';
import { deterministicId } from '../deterministic-id.ts';
import { createEnvelope, type Envelope, type Labels, newMessageId } from '../envelope.ts';
import type { Metrics } from '../observability/metrics.ts';
import { answerAnnouncementRequests } from './announcement-requests.ts';
import { CommandExecutor } from './command-executor.ts';
import { CommandHolds } from './command-holds.ts';
import { CommandRequests } from './command-requests.ts';
import { type EventWatch, watchEvents } from './event-watch.ts';
import { FinishedCommands } from './finished-commands.ts';
import { DEFAULT_ALIVE_INTERVAL_MS, Heartbeat } from './heartbeat.ts';
import { labelsInclude, MAX_LABELS, nonEmptySubsets } from './labels.ts';
import type { EmitOptions, PackContext, PackDefinition, Payload } from './pack-definition.ts';
import type { RetryPolicy } from './retry.ts';

export interface PackRuntimeOptions {
  pack: PackDefinition;
  bus: Bus;
  labels: Labels;
  /** The process's logger: the runtime binds `pack` itself, so the logger given must not carry it. */
  logger: Logger;
  metrics: Metrics;
  /** Commands handled at once by this instance. */
  prefetch: number;
  /** Time limit of one command, retries included, not counting its waits for a turn in a channel. */
  commandTimeoutMs: number;
  /** Time one command may wait for its turns in channel lanes (CommandContext.waitForTurn). Default: 600 000. */
  laneWaitTimeoutMs?: number;
  retry: RetryPolicy;
  /** Where the record of finished commands is kept; in memory only when unset. */
  stateDir?: string | undefined;
  /** How many finished commands are remembered for deduplication. Default: 10 000. */
  dedupeCapacity?: number;
  /**
   * Milliseconds between two PackAlive events, by which a console tells a crashed instance (no PackStopped)
   * from a quiet one. Default: 30 000 (DEFAULT_ALIVE_INTERVAL_MS).
   */
  aliveIntervalMs?: number;
}

const PACK_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Drives one pack instance on the bus: takes its commands, runs each once, publishes exactly one result
 * event per command (to `replyTo` as well when asked), announces itself, and stops cleanly.
 */
export class PackRuntime {
  readonly instanceId = `${hostname()}-${process.pid}-${newMessageId().slice(0, 8)}`;
  readonly #options: PackRuntimeOptions;
  readonly #finished: FinishedCommands;
  readonly #executor: CommandExecutor;
  readonly #running = new Map<string, Promise<Envelope>>();
  readonly #declaredLabelQueues = new Set<string>();
  readonly #abortInFlight = new AbortController();
  readonly #logger: Logger;
  #consumptions: Consumption[] = [];
  /** The pack's own watches (PackContext.watch), stopped after the pack. */
  readonly #watches = new Set<EventWatch>();
  #announcementAnswers: Consumption | undefined;
  /** The PackStarted this instance published, which it sends again to whoever asks (AnnouncementsRequested). */
  #started: Envelope | undefined;
  #heartbeat: Heartbeat | undefined;
  #state: 'starting' | 'running' | 'stopping' | 'stopped' = 'starting';

  readonly #failure = Promise.withResolvers<Error>();
  readonly #requests: CommandRequests;
  readonly #holds: CommandHolds;

  private constructor(options: PackRuntimeOptions, finished: FinishedCommands) {
    this.#options = options;
    this.#finished = finished;
    // Bound once, here: a line that names its pack again would carry the key twice.
    this.#logger = options.logger.child({ pack: options.pack.name });
    this.#requests = new CommandRequests(options.bus);
    this.#holds = new CommandHolds({ bus: options.bus, pack: options.pack.name, logger: this.#logger });
    this.#executor = new CommandExecutor({
      pack: options.pack,
      labels: options.labels,
      retry: options.retry,
      timeoutMs: options.commandTimeoutMs,
      laneWaitTimeoutMs: options.laneWaitTimeoutMs,
      logger: this.#logger,
      metrics: options.metrics,
      stopSignal: this.#abortInFlight.signal,
    });
  }

  static async start(options: PackRuntimeOptions): Promise<PackRuntime> {
    const { pack, labels } = options;
    if (!PACK_NAME.test(pack.name))
      throw new Error(`pack name "${pack.name}" must be lower-case letters, digits and -`);
    if (Object.keys(labels).length > MAX_LABELS) {
      throw new Error(
        `a pack instance takes at most ${MAX_LABELS} labels, got ${Object.keys(labels).length}`,
      );
    }
    const { aliveIntervalMs } = options;
    if (aliveIntervalMs !== undefined && !(Number.isFinite(aliveIntervalMs) && aliveIntervalMs >= 1)) {
      throw new Error(
        `aliveIntervalMs must be a number of milliseconds of at least 1, got ${aliveIntervalMs}`,
      );
    }
    const finished = await FinishedCommands.open({
      pack: pack.name,
      stateDir: options.stateDir,
      ...(options.dedupeCapacity === undefined ? {} : { capacity: options.dedupeCapacity }),
    });
    const runtime = new PackRuntime(options, finished);
    await runtime.#start();
    return runtime;
  }

  get ready(): boolean {
    return this.#state === 'running' && this.#options.bus.isConnected();
  }

  /** Settles when the pack reported it cannot go on (PackContext.fail); the process then stops. */
  get failure(): Promise<Error> {
    return this.#failure.promise;
  }

  /** Publishes an event of the pack's own (not a command result). */
  emit(name: string, payload: Payload, options: EmitOptions = {}): Promise<void> {
    return this.#publishEvent(this.#ownEvent(name, payload, options), options.replyTo);
  }

  #ownEvent(name: string, payload: Payload, options: EmitOptions = {}): Envelope {
    return createEnvelope({
      ...(options.dedupeKey
        ? { id: deterministicId('event', this.#options.pack.name, name, options.dedupeKey) }
        : {}),
      kind: 'event',
      pack: this.#options.pack.name,
      name,
      payload,
      labels: this.#options.labels,
      correlationId: options.correlationId,
    });
  }

  /**
   * Stops taking commands, lets those in flight finish (up to `graceMs`; the rest go back to the queue
   * for another instance), disconnects the pack, and announces PackStopped.
   */
  async stop(options: { graceMs: number; reason?: string }): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped') return;
    this.#state = 'stopping';
    // Stopped first, and waited for: a PackAlive published after PackStopped would say it runs again.
    await this.#heartbeat?.stop();
    await this.#announcementAnswers?.stop().catch(() => {});
    const grace = setTimeout(() => this.#abortInFlight.abort(), options.graceMs);
    await Promise.allSettled(this.#consumptions.map((consumption) => consumption.stop()));
    clearTimeout(grace);
    try {
      await this.#options.pack.stop?.();
    } catch (error) {
      this.#logger.warn({ reason: (error as Error).message }, 'the pack did not disconnect cleanly');
    }
    await Promise.allSettled([...this.#watches].map((watch) => watch.stop()));
    await this.#requests.stop().catch(() => {});
    await this.emit('PackStopped', { ...this.#identity(), reason: options.reason ?? 'stopped' }).catch(
      (error: Error) => this.#logger.warn({ reason: error.message }, 'could not announce PackStopped'),
    );
    this.#state = 'stopped';
  }

  async #start(): Promise<void> {
    const { pack, bus, labels, prefetch } = this.#options;
    const context: PackContext = {
      emit: (name, payload, options) => this.emit(name, payload, options),
      fail: (error) => {
        if (this.#state === 'stopping' || this.#state === 'stopped') return;
        this.#logger.fatal({ reason: error.message }, 'the pack cannot go on');
        this.#failure.resolve(error);
      },
      registry: this.#options.metrics.registry,
      request: (command, options) =>
        this.#requests.request(
          createEnvelope({
            kind: 'command',
            pack: command.pack,
            name: command.name,
            payload: command.payload,
            correlationId: command.correlationId,
            ...(command.id ? { id: command.id } : {}),
          }),
          options.timeoutMs,
        ),
      send: async (command, options = {}) => {
        const { waitMs } = options;
        if (waitMs !== undefined && !(Number.isFinite(waitMs) && waitMs > 0)) {
          throw new RangeError(`waitMs must be a number of milliseconds above 0, got ${waitMs}`);
        }
        const envelope = createEnvelope({
          kind: 'command',
          pack: command.pack,
          name: command.name,
          payload: command.payload,
          correlationId: command.correlationId,
          ...(command.id ? { id: command.id } : {}),
        });
        const { result } = await this.#requests.send(envelope, options);
        return { id: envelope.id, correlationId: envelope.correlationId ?? envelope.id, result };
      },
      watch: async (patterns, handler) => {
        if (this.#state === 'stopping' || this.#state === 'stopped') {
          throw new Error('the pack is stopping: it can start no new watch');
        }
        const watch = await watchEvents(bus, patterns, handler, this.#logger);
        this.#watches.add(watch);
        return {
          queue: watch.queue,
          stop: async () => {
            this.#watches.delete(watch);
            await watch.stop();
          },
        };
      },
      logger: this.#logger,
    };
    await pack.start?.(context);
    const handler = (message: InboundMessage) => this.#onCommand(message);
    const queues: Array<Pick<QueueSpec, 'name' | 'bindings'>> = [
      {
        name: packQueueName(pack.name),
        bindings: [{ exchange: COMMANDS_EXCHANGE, pattern: `${pack.name}.*` }],
      },
      ...nonEmptySubsets(labels).map((subset) => ({
        name: labelledQueueName(pack.name, subset),
        bindings: [],
      })),
    ];
    for (const queue of queues) {
      this.#consumptions.push(
        await bus.consume({ ...queue, durability: 'pack', kind: 'command', prefetch }, handler),
      );
    }
    this.#announcementAnswers = await answerAnnouncementRequests({
      bus,
      logger: this.#logger,
      answer: () =>
        this.#started && this.#state === 'running'
          ? [this.#started, this.#ownEvent('PackAlive', this.#identity())]
          : undefined,
    });
    this.#state = 'running';
    this.#started = this.#ownEvent('PackStarted', { ...this.#identity(), ...this.#manifest() });
    await this.#publishEvent(this.#started);
    this.#heartbeat = new Heartbeat({
      intervalMs: this.#aliveIntervalMs(),
      beat: () => this.emit('PackAlive', this.#identity()),
      onError: (error) => this.#logger.warn({ reason: error.message }, 'could not announce PackAlive'),
    });
    this.#logger.info({ labels, instanceId: this.instanceId }, 'pack started');
  }

  async #onCommand(message: InboundMessage): Promise<void> {
    const { envelope: command } = message;
    const { pack, labels } = this.#options;
    if (command.pack !== pack.name) {
      throw new UnprocessableMessage(
        `a command for the "${command.pack}" pack arrived in the queue of "${pack.name}"`,
      );
    }
    if (
      message.routingKey.startsWith(`${pack.name}.`) &&
      message.routingKey !== routingKey(pack.name, command.name)
    ) {
      throw new UnprocessableMessage(
        `routing key "${message.routingKey}" does not match command "${command.name}"`,
      );
    }
    if (!labelsInclude(labels, command.labels)) {
      await this.#forwardToLabelledQueue(message);
      return;
    }
    const started = performance.now();
    const recorded = this.#finished.get(command.id);
    if (recorded) {
      this.#logger.info(
        { commandId: command.id, command: command.name },
        'command seen before, answering from the record',
      );
      this.#options.metrics.commands.inc({ pack: pack.name, command: command.name, outcome: 'duplicate' });
      await this.#publishResult(recorded, message.replyTo);
      return;
    }
    const result = await this.#holds.run(
      command.id,
      { redelivered: message.redelivered, returned: message.returned, signal: this.#abortInFlight.signal },
      async () => {
        const result = await this.#runOnce(command, message.redelivered);
        // Held until the result is out: an instance that takes the command over must find it finished.
        await this.#publishResult(result, message.replyTo);
        return result;
      },
    );
    const outcome = result.name === pack.commands[command.name]?.success ? 'success' : 'failure';
    this.#options.metrics.commands.inc({ pack: pack.name, command: command.name, outcome });
    this.#options.metrics.commandDuration.observe(
      { pack: pack.name, command: command.name },
      (performance.now() - started) / 1000,
    );
  }

  /** Runs the command, or joins the run already under way for the same id. */
  async #runOnce(command: Envelope, redelivered: boolean): Promise<Envelope> {
    const running = this.#running.get(command.id);
    if (running) return running;
    const run = this.#executor.execute(command, { redelivered }).then(async (result) => {
      await this.#finished.add(command.id, result);
      return result;
    });
    this.#running.set(command.id, run);
    try {
      return await run;
    } finally {
      this.#running.delete(command.id);
    }
  }

  /** Moves a command this instance may not run to the queue that only matching instances consume. */
  async #forwardToLabelledQueue(message: InboundMessage): Promise<void> {
    const { pack, bus } = this.#options;
    const queue = labelledQueueName(pack.name, message.envelope.labels ?? {});
    if (!this.#declaredLabelQueues.has(queue)) {
      // Declared here too, so the command waits for a matching instance even if none has started yet.
      await bus.declareQueue(queue, []);
      this.#declaredLabelQueues.add(queue);
    }
    await bus.publish({ queue }, message.envelope, { replyTo: message.replyTo });
    this.#logger.debug({ commandId: message.envelope.id, queue }, 'forwarded a labelled command');
  }

  async #publishResult(result: Envelope, replyTo: string | undefined): Promise<void> {
    const published = [this.#publishEvent(result)];
    if (replyTo) published.push(this.#options.bus.publish({ queue: replyTo }, result));
    await Promise.all(published);
  }

  async #publishEvent(event: Envelope, replyTo?: string): Promise<void> {
    await this.#options.bus.publish(
      { exchange: EVENTS_EXCHANGE, routingKey: routingKey(event.pack, event.name) },
      event,
      replyTo ? { replyTo } : undefined,
    );
    this.#options.metrics.eventsEmitted.inc({ pack: event.pack, event: event.name });
  }

  /** What PackStarted, PackAlive and PackStopped all carry: who this instance is, and how often it beats. */
  #identity(): Payload {
    const { pack, labels } = this.#options;
    return {
      name: pack.name,
      instanceId: this.instanceId,
      version: pack.version,
      labels,
      aliveIntervalMs: this.#aliveIntervalMs(),
    };
  }

  #aliveIntervalMs(): number {
    return this.#options.aliveIntervalMs ?? DEFAULT_ALIVE_INTERVAL_MS;
  }

  #manifest(): Payload {
    const { pack } = this.#options;
    return {
      description: pack.description,
      commands: Object.entries(pack.commands).map(([name, command]) => ({
        name,
        description: command.description,
        inputSchema: command.inputSchema,
        events: [command.success, command.failure],
      })),
      events: Object.entries(pack.events ?? {}).map(([name, event]) => ({
        name,
        description: event.description,
        ...(event.schema ? { schema: event.schema } : {}),
      })),
    };
  }
}

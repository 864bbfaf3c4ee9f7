import type { Logger } from 'pino';
import type { Bus, Consumption } from '../shared/bus/bus.ts';
import { COMMANDS_EXCHANGE, EVENTS_EXCHANGE, routingKey } from '../shared/bus/topology.ts';
import { deterministicId } from '../shared/deterministic-id.ts';
import { createEnvelope, type Envelope } from '../shared/envelope.ts';
import type { EngineMetrics } from './engine-metrics.ts';
import type { LoadedFlow } from './flow.ts';
import { busPackName, continuationSteps, FlowIndex, type IndexedStep, instanceIdFor } from './flow-index.ts';
import type {
  AnnouncedCommand,
  EngineStore,
  Execution,
  RetryRefusal,
  StoreSession,
} from './state/engine-store.ts';
import { evaluateStep } from './step-evaluator.ts';
import { parseFlyteBool, type TemplateEngine } from './templates/template-engine.ts';

/** The durable queue the engine consumes; every engine instance shares it. */
export const ENGINE_QUEUE = 'switchboard.engine';

export interface FlowEngineOptions {
  bus: Bus;
  store: EngineStore;
  templates: TemplateEngine;
  logger: Logger;
  metrics: EngineMetrics;
  /** Events evaluated at once. */
  prefetch: number;
  /** A command with no result after this long is marked timed_out. */
  executionTimeoutMs: number;
  /** Executions kept: at most this old, and at most this many. */
  retention: { maxAgeMs: number; maxCount: number };
  /** The queue of events it consumes. Default: ENGINE_QUEUE. */
  queue?: string;
  /** How often timeouts and retention run. Default: a quarter of executionTimeoutMs, within 200 ms..10 s. */
  sweepIntervalMs?: number;
}

/**
 * Matches every event on the bus against the flows and publishes the commands their steps describe,
 * continuing instances with the result events of their commands (Flyte's semantics, docs/engine.md).
 */
export class FlowEngine {
  readonly #options: FlowEngineOptions;
  #index = new FlowIndex([]);
  /** Every flow version loaded by this process, so most results need not read their instance's flow. */
  readonly #versions = new Map<string, LoadedFlow>();
  #consumption: Consumption | undefined;
  #housekeeping: NodeJS.Timeout | undefined;
  /** The sweep under way: a long prune must not be started twice, and stop() waits for it. */
  #sweeping: Promise<void> | undefined;
  #stopping = new AbortController();
  #running = false;

  constructor(options: FlowEngineOptions) {
    this.#options = options;
  }

  get ready(): boolean {
    return this.#running && this.#options.bus.isConnected();
  }

  /** Replaces the flows new instances start from; running instances keep the version they started with. */
  setFlows(flows: readonly LoadedFlow[]): void {
    this.#index = new FlowIndex(flows);
    for (const loaded of flows) this.#versions.set(versionKey(loaded.flow.name, loaded.version), loaded);
  }

  async start(): Promise<void> {
    const { bus, prefetch } = this.#options;
    this.#consumption = await bus.consume(
      {
        name: this.#options.queue ?? ENGINE_QUEUE,
        durability: 'pack',
        bindings: [{ exchange: EVENTS_EXCHANGE, pattern: '#' }],
        kind: 'event',
        prefetch,
      },
      async ({ envelope }) => this.handleEvent(envelope),
    );
    this.#stopping = new AbortController();
    const sweepEveryMs =
      this.#options.sweepIntervalMs ?? Math.max(200, Math.min(10_000, this.#options.executionTimeoutMs / 4));
    this.#housekeeping = setInterval(() => this.#sweep(), sweepEveryMs);
    this.#running = true;
  }

  async stop(_options?: { graceMs: number; reason?: string }): Promise<void> {
    this.#running = false;
    clearInterval(this.#housekeeping);
    this.#stopping.abort();
    await this.#consumption?.stop();
    await this.#sweeping;
  }

  /**
   * Evaluates one event: continues the instance it is a result for, and starts the instances it
   * triggers. Resolves once its writes are committed; rejects when they were lost (the event must
   * then not be acknowledged: handled again, it does what was lost).
   */
  async handleEvent(event: Envelope): Promise<void> {
    // The event's own view of the store: it learns which batches hold its writes, not whichever is open.
    const store = this.#options.store.session();
    await this.#evaluate(event, store);
    // Acknowledge only what is on disk: a crash before the commit redelivers the event.
    await store.committed();
  }

  async #evaluate(event: Envelope, store: StoreSession): Promise<void> {
    this.#options.metrics.events.inc({ pack: event.pack, event: event.name });
    if (event.name === 'PackStarted') this.#rememberPack(event, store);
    if (event.causationId) await this.#continueInstance(event, store);
    for (const entry of this.#index.entryStepsFor(event.pack, event.name)) {
      const correlationId = instanceIdFor(event.id, entry.loaded.flow.name, entry.stepId);
      await this.#fire(store, entry, event, correlationId, {}, true);
    }
  }

  async #continueInstance(result: Envelope, store: StoreSession): Promise<void> {
    const commandId = result.causationId as string;
    const failed = isFailure(result);
    const completed = store.completeExecution(
      commandId,
      result,
      failed ? 'failed' : 'succeeded',
      failed ? errorOf(result) : undefined,
    );
    // A result seen again (redelivered) still continues its instance: the steps it fired are claimed, so
    // only a command lost to a crash is published again.
    const execution = completed ?? store.getExecution(commandId);
    if (!execution) return;
    if (completed) {
      this.#options.metrics.executionsFinished.inc({ flow: execution.flowName, status: completed.status });
    }
    const known = this.#versions.get(versionKey(execution.flowName, execution.flowVersion));
    if (known && continuationSteps(known, execution.stepId).length === 0) return;
    const instance = store.getInstance(execution.correlationId);
    if (!instance) return;
    const loaded: LoadedFlow = { flow: instance.flow, file: '', version: instance.flowVersion };
    for (const next of continuationSteps(loaded, execution.stepId)) {
      await this.#fire(store, next, result, instance.correlationId, instance.context, false);
    }
  }

  async #fire(
    store: StoreSession,
    entry: IndexedStep,
    event: Envelope,
    correlationId: string,
    parentContext: Record<string, unknown>,
    startsInstance: boolean,
  ): Promise<void> {
    const { templates, logger, metrics } = this.#options;
    const flowName = entry.loaded.flow.name;
    const outcome = await evaluateStep(entry.step, event, parentContext, templates);
    if (!outcome.fired) {
      const log = {
        flow: flowName,
        step: entry.stepId,
        eventId: event.id,
        stage: outcome.stage,
        reason: outcome.reason,
      };
      if (outcome.stage === 'error') {
        metrics.stepErrors.inc({ flow: flowName, step: entry.stepId });
        logger.warn(log, 'a step failed to render and was skipped');
        this.#recordRenderFailure(store, entry, event, correlationId, outcome.reason);
      } else if (
        outcome.stage === 'criteria' &&
        parseFlyteBool((outcome.criteriaOutput ?? '').trim()) === undefined
      ) {
        // Criteria that render neither true nor false are a mistake in the flow, not a "no": say so.
        logger.warn(log, 'criteria output is not a boolean; step skipped');
      } else {
        logger.debug(log, 'step not fired');
      }
      return;
    }
    if (startsInstance) {
      store.createInstanceIfAbsent({
        correlationId,
        flowName,
        flowVersion: entry.loaded.version,
        flow: entry.loaded.flow,
        context: {},
        stepsDone: [],
      });
    }
    const commandId = deterministicId('command', correlationId, entry.stepId);
    if (!store.claimStep(correlationId, entry.stepId, outcome.context)) {
      // Fired before: the event was redelivered. Publish again only what has no result yet; the pack
      // answers a command id it has seen from its record.
      const earlier = store.getExecution(commandId);
      if (earlier?.status === 'pending') await this.#publish(earlier.command);
      return;
    }
    const command = createEnvelope({
      id: commandId,
      kind: 'command',
      pack: outcome.command.pack,
      name: outcome.command.name,
      payload: outcome.command.payload,
      labels: outcome.command.labels,
      correlationId,
      causationId: event.id,
    });
    store.recordExecution({
      id: commandId,
      correlationId,
      flowName,
      flowVersion: entry.loaded.version,
      stepId: entry.stepId,
      triggerEvent: event,
      command,
      startedAt: new Date().toISOString(),
    });
    await this.#publish(command);
    metrics.stepsFired.inc({ flow: flowName, step: entry.stepId });
    logger.info(
      {
        flow: flowName,
        step: entry.stepId,
        correlationId,
        command: `${command.pack}.${command.name}`,
        eventId: event.id,
      },
      'step fired',
    );
  }

  /** What a pack announced it accepts, so that `switchboard flows check` can check flows against it. */
  #rememberPack(event: Envelope, store: StoreSession): void {
    const payload = event.payload as { commands?: unknown } | null;
    if (!payload || !Array.isArray(payload.commands)) return;
    const commands = payload.commands.filter(
      (command): command is AnnouncedCommand => typeof command?.name === 'string',
    );
    try {
      store.savePackManifest(event.pack, commands);
    } catch (error) {
      this.#options.logger.warn(
        { pack: event.pack, reason: (error as Error).message },
        'could not keep a pack manifest',
      );
    }
  }

  /** A step whose templates failed is recorded as a failed execution, so `switchboard executions` shows it. */
  #recordRenderFailure(
    store: StoreSession,
    entry: IndexedStep,
    event: Envelope,
    correlationId: string,
    reason: string,
  ): void {
    const { logger } = this.#options;
    const id = deterministicId('command', correlationId, entry.stepId);
    if (store.getExecution(id)) return;
    try {
      store.recordFailedExecution(
        {
          id,
          correlationId,
          flowName: entry.loaded.flow.name,
          flowVersion: entry.loaded.version,
          stepId: entry.stepId,
          triggerEvent: event,
          command: createEnvelope({
            id,
            kind: 'command',
            pack: busPackName(entry.step.command.packName),
            name: entry.step.command.name,
            payload: null,
            correlationId,
            causationId: event.id,
          }),
          startedAt: new Date().toISOString(),
        },
        `a template failed: ${reason}`,
      );
    } catch (error) {
      logger.error({ reason: (error as Error).message }, 'could not record a failed step');
    }
  }

  #publish(command: Envelope): Promise<void> {
    return this.#options.bus.publish(
      { exchange: COMMANDS_EXCHANGE, routingKey: routingKey(command.pack, command.name) },
      command,
    );
  }

  #sweep(): void {
    if (this.#sweeping) return;
    this.#sweeping = this.#housekeep().finally(() => {
      this.#sweeping = undefined;
    });
  }

  /** Times out commands without a result, then applies retention (in batches, between events). */
  async #housekeep(): Promise<void> {
    const { store, logger, metrics, retention, executionTimeoutMs } = this.#options;
    try {
      for (const execution of store.timeOutPending(executionTimeoutMs)) {
        metrics.executionsFinished.inc({ flow: execution.flowName, status: 'timed_out' });
        logger.warn(timedOutLog(execution, executionTimeoutMs), 'no result for a command');
      }
      await store.prune({
        maxAgeMs: retention.maxAgeMs,
        maxCount: retention.maxCount,
        signal: this.#stopping.signal,
      });
    } catch (error) {
      logger.error({ reason: (error as Error).message }, 'engine housekeeping failed');
    }
  }
}

/** What Run again needs: the engine's store, and the bus its commands go out on. */
export interface RunAgainParts {
  store: EngineStore;
  bus: Bus;
  logger: Logger;
}

export type RunAgainOutcome =
  /** Published: `retry` is the new execution (pending), `of` the one it runs again. */
  { retry: Execution; of: Execution } | { refused: RetryRefusal; execution: Execution | undefined };

/**
 * Run again (the console): publishes the command of the failed or timed-out execution `id` again, with a
 * new command id, recorded first as a new pending execution of the same instance and step, linked both
 * ways. The pack answers the new id with a new result (it answers a command id it has seen from its
 * record, so the old id would only repeat the old answer), whose causationId is the new id: the engine
 * completes the new execution and continues the instance from it exactly as from the first run
 * (#continueInstance), so dependsOn steps that have not fired yet fire then.
 *
 * Resolves once the broker confirmed the command. When it cannot be published the retry is taken back
 * (the old execution can be run again) and this rejects with the reason.
 */
export async function runExecutionAgain(parts: RunAgainParts, id: string): Promise<RunAgainOutcome> {
  const original = parts.store.getExecution(id);
  // Derived from the old id: should a confirm be lost after the broker took the command, running it again
  // sends the same id, which the pack answers from its record instead of running it a third time.
  const retryId = deterministicId('retry', id);
  const command = original
    ? createEnvelope({
        id: retryId,
        kind: 'command',
        pack: original.command.pack,
        name: original.command.name,
        payload: original.command.payload,
        labels: original.command.labels,
        correlationId: original.command.correlationId,
        causationId: original.command.causationId,
      })
    : undefined;
  const session = parts.store.session();
  const outcome = command
    ? session.recordRetry(id, { command, startedAt: new Date().toISOString() })
    : ({ refused: 'unknown', execution: undefined } as const);
  if ('refused' in outcome) return outcome;
  // On disk before the command leaves, as for any step: its result must find the execution it completes.
  await session.committed();
  try {
    await parts.bus.publish(
      {
        exchange: COMMANDS_EXCHANGE,
        routingKey: routingKey(outcome.recorded.command.pack, outcome.recorded.command.name),
      },
      outcome.recorded.command,
    );
  } catch (error) {
    const undo = parts.store.session();
    undo.forgetRetry(retryId);
    await undo.committed();
    throw new Error(`the command could not be published: ${(error as Error).message}`, { cause: error });
  }
  parts.logger.info(
    {
      flow: outcome.recorded.flowName,
      step: outcome.recorded.stepId,
      correlationId: outcome.recorded.correlationId,
      command: `${outcome.recorded.command.pack}.${outcome.recorded.command.name}`,
      retryOf: id,
      commandId: retryId,
    },
    'step run again',
  );
  return { retry: outcome.recorded, of: outcome.of };
}

function versionKey(flowName: string, version: string): string {
  return `${flowName}@${version}`;
}

/** Failure events carry an errorCode (docs/protocol.md); Flyte's packs signalled failure with FATAL. */
function isFailure(event: Envelope): boolean {
  const payload = event.payload as Record<string, unknown> | null;
  return (
    event.name === 'FATAL' || (typeof payload === 'object' && payload !== null && 'errorCode' in payload)
  );
}

function errorOf(event: Envelope): string {
  const payload = event.payload as Record<string, unknown> | null;
  const error = typeof payload === 'object' && payload !== null ? payload.error : undefined;
  return typeof error === 'string' ? error : `${event.pack}.${event.name}`;
}

function timedOutLog(execution: Execution, timeoutMs: number) {
  return {
    flow: execution.flowName,
    step: execution.stepId,
    correlationId: execution.correlationId,
    command: `${execution.command.pack}.${execution.command.name}`,
    timeoutSeconds: timeoutMs / 1000,
  };
}

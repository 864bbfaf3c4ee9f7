import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Envelope } from '../envelope.ts';
import type { CodedError } from '../errors.ts';
import type { EventHandler, EventWatch } from './event-watch.ts';

export type JsonSchema = Record<string, unknown>;
export type Payload = Record<string, unknown>;

export interface CommandContext {
  /** The command as it arrived (id, correlationId, labels). */
  command: Envelope;
  /** Aborted when one of the command's time limits passes or the pack stops; pass it to outgoing requests. */
  signal: AbortSignal;
  /**
   * Waits for `turn`: the command's turn in a queue it shares with other commands (a channel's pacing
   * lane; pass the context to ChannelPacer.schedule, which calls this). The run clock
   * (SWITCHBOARD_COMMAND_TIMEOUT) stops meanwhile, and the waiting counts against a limit of its own
   * (SWITCHBOARD_LANE_WAIT_TIMEOUT). Settles as `turn` does, or rejects when `signal` aborts first.
   */
  waitForTurn<T>(turn: Promise<T>): Promise<T>;
  /** 1 for the first try, then 2, 3... after retryable failures. */
  attempt: number;
  /**
   * True when the broker delivered this command before (an instance crashed or lost its connection while
   * running it): the earlier run may have done the work, so a handler that must not act twice checks.
   */
  redelivered: boolean;
  logger: Logger;
}

export interface CommandDefinition<Input extends Payload = Payload> {
  description: string;
  /** JSON Schema of the payload; compiled once at start, announced in PackStarted. */
  inputSchema: JsonSchema;
  /** Event emitted when the handler returns. */
  success: string;
  /** Event emitted when the command fails for good. */
  failure: string;
  /**
   * Does the work and returns the success event's payload. Throw a CodedError to fail: mark it
   * retryable (transientError) for network errors, 5xx and 429 so the runtime tries again.
   */
  handler: (input: Input, context: CommandContext) => Promise<Payload>;
  /** The failure event's payload. Default: the input's fields plus `error` and `errorCode`. */
  failurePayload?: (input: unknown, error: CodedError) => Payload;
}

/** A command a pack sends to another pack (PackContext.request). */
export interface CommandRequest {
  pack: string;
  name: string;
  payload: Payload;
  /** Default: a new id. */
  id?: string;
  /** Default: the new command's id. */
  correlationId?: string | undefined;
}

export interface EmitOptions {
  correlationId?: string;
  /**
   * Names what was observed (Slack's event_id, a webhook's delivery id). Emitting the same key again gives
   * the same event id, which consumers treat as the same event. Default: none (a new id every time).
   */
  dedupeKey?: string;
  /**
   * Asks whoever acts on the event to answer to this queue (AMQP `replyTo`), as PackDirectory asks running
   * packs for their PackStarted. Default: none.
   */
  replyTo?: string;
}

/** How PackContext.send sends a command. */
export interface SendOptions {
  /** AMQP headers sent with it, e.g. `x-switchboard-sent-by` (SENT_BY_HEADER). Not labels. Default: none. */
  headers?: Record<string, string>;
  /**
   * Milliseconds to wait for its result event. Default: no wait: send resolves once the broker has
   * confirmed the command.
   */
  waitMs?: number;
  /** Ends the wait early (result undefined); the command stays published. */
  signal?: AbortSignal;
}

/** A command PackContext.send published (the broker confirmed it), and the wait for its result. */
export interface SentCommand {
  id: string;
  /** What the result carries: the command's correlationId, or its id when it had none (docs/protocol.md). */
  correlationId: string;
  /**
   * Settles with the result event once it comes; with undefined when none came within `waitMs` or the
   * wait was aborted, and at once when send was not asked to wait.
   */
  result: Promise<Envelope | undefined>;
}

export interface PackContext {
  /** Publishes an observed event (e.g. ReceivedMessage); resolves once the broker has it. */
  emit(name: string, payload: Payload, options?: EmitOptions): Promise<void>;
  logger: Logger;
  /** The process's metrics registry, served at /metrics: a pack registers its own metrics here. */
  registry: Registry;
  /**
   * Says the pack cannot go on (its credentials were revoked, say): the process logs the reason, stops
   * as after SIGTERM (commands wait in the queue) and exits 1, so a supervisor notices.
   */
  fail(error: Error): void;
  /**
   * Sends a command to a pack and resolves with its result event, or undefined when none came within
   * `timeoutMs` (the pack is not running, say). A command id derived from what it stands for makes a
   * repeat safe: the pack answers it from its record instead of running it again.
   */
  request(command: CommandRequest, options: { timeoutMs: number }): Promise<Envelope | undefined>;
  /**
   * Publishes a command and resolves once the broker has confirmed it; with `waitMs`, its `result` then
   * settles with the result event (or undefined after the wait). Rejects when the publish fails. A given `id` makes a retry safe: the
   * pack answers a command id it finished from its record, with the same result, instead of running it
   * again. For a pack that relays commands from outside (the HTTP command API).
   */
  send(command: CommandRequest, options?: SendOptions): Promise<SentCommand>;
  /**
   * Follows the events whose routing key matches one of `patterns` (`*.PackStarted`, `slack.*`) from a
   * private queue of the pack's own; stopped with the pack, or earlier by the watch's `stop`. A handler's
   * error is logged and the event dropped. Events published before the watch began are not seen.
   */
  watch(patterns: readonly string[], handler: EventHandler): Promise<EventWatch>;
}

/** An event a pack emits on its own, as PackStarted announces it. */
export interface EventDefinition {
  description: string;
  /** JSON Schema of the payload, for consumers and `flows check`. Default: none announced. */
  schema?: JsonSchema;
}

/** A pack: what it is called, the commands it takes, the events it emits. The runtime does the rest. */
export interface PackDefinition {
  /** Lower-case, e.g. `slack`. */
  name: string;
  version: string;
  description: string;
  // biome-ignore lint/suspicious/noExplicitAny: each command narrows its own input type.
  commands: Record<string, CommandDefinition<any>>;
  /** Events the pack emits on its own, besides command results. */
  events?: Record<string, EventDefinition>;
  /** Connects to the outside system and starts emitting observed events. */
  start?: (context: PackContext) => Promise<void>;
  /** Disconnects; called after in-flight commands finished. */
  stop?: () => Promise<void>;
}

export function definePack(definition: PackDefinition): PackDefinition {
  return definition;
}

export function defineCommand<Input extends Payload>(
  definition: CommandDefinition<Input>,
): CommandDefinition<Input> {
  return definition;
}

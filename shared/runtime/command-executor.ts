import type { Logger } from 'pino';
import { deterministicId } from '../deterministic-id.ts';
import { createEnvelope, type Envelope, type Labels } from '../envelope.ts';
import { asCodedError, CodedError } from '../errors.ts';
import type { Metrics } from '../observability/metrics.ts';
import { InputValidator } from './input-validator.ts';
import type { CommandDefinition, PackDefinition, Payload } from './pack-definition.ts';
import { type RetryPolicy, withRetries } from './retry.ts';

export const UNKNOWN_COMMAND_EVENT = 'CommandFailed';

export interface ExecutorOptions {
  pack: PackDefinition;
  labels: Labels;
  retry: RetryPolicy;
  /** Time limit of one command, retries included. */
  timeoutMs: number;
  logger: Logger;
  metrics: Metrics;
  /** Aborted when the pack is stopping for good. */
  stopSignal: AbortSignal;
}

/** Turns one command into its one result event: validation, handler, retries, time limit. */
export class CommandExecutor {
  readonly #options: ExecutorOptions;
  readonly #validator: InputValidator;

  constructor(options: ExecutorOptions) {
    this.#options = options;
    this.#validator = new InputValidator(
      Object.fromEntries(
        Object.entries(options.pack.commands).map(([name, command]) => [name, command.inputSchema]),
      ),
    );
  }

  async execute(command: Envelope, delivery: { redelivered: boolean }): Promise<Envelope> {
    const definition = Object.hasOwn(this.#options.pack.commands, command.name)
      ? this.#options.pack.commands[command.name]
      : undefined;
    if (!definition) return this.#unknownCommand(command);
    const check = this.#validator.check(command.name, command.payload);
    if (!check.ok) {
      return this.#failure(command, definition, new CodedError('invalid_input', check.reason));
    }
    try {
      const payload = await this.#run(command, definition, delivery.redelivered);
      return this.#result(command, definition.success, payload);
    } catch (error) {
      // Cut short by a stop past its grace period: no verdict, so the broker hands it to another instance.
      if (this.#options.stopSignal.aborted) throw new Error('the pack stopped before the command finished');
      return this.#failure(command, definition, asCodedError(error));
    }
  }

  async #run(command: Envelope, definition: CommandDefinition, redelivered: boolean): Promise<Payload> {
    const { logger, metrics, pack, stopSignal, timeoutMs } = this.#options;
    // One controller and one timer per command: AbortSignal.any and AbortSignal.timeout cost several
    // percent of a pack's CPU at a few thousand commands per second.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('time limit reached'));
    }, timeoutMs);
    const onStop = () => controller.abort(stopSignal.reason);
    stopSignal.addEventListener('abort', onStop, { once: true });
    const { signal } = controller;
    let commandLogger: Logger | undefined;
    // Made on first use: most commands never log.
    const commandLog = () => {
      commandLogger ??= logger.child({ command: command.name, commandId: command.id });
      return commandLogger;
    };
    const attempts = withRetries(
      (attempt) =>
        definition.handler(command.payload as Payload, {
          command,
          signal,
          attempt,
          redelivered,
          get logger() {
            return commandLog();
          },
        }),
      {
        policy: this.#options.retry,
        signal,
        onRetry: (error, attempt) => {
          metrics.retries.inc({ pack: pack.name, command: command.name, error_code: error.code });
          commandLog().info(
            { attempt, errorCode: error.code, reason: error.message },
            'retrying after a transient failure',
          );
        },
      },
    );
    // A handler that ignores its signal must not hold the command past its time limit.
    const limit = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    try {
      return await Promise.race([attempts, limit]);
    } catch (error) {
      if (timedOut) {
        throw new CodedError('timeout', `the command did not finish within ${timeoutMs / 1000} s`, {
          cause: error,
        });
      }
      throw error;
    } finally {
      clearTimeout(timer);
      stopSignal.removeEventListener('abort', onStop);
      attempts.catch(() => {});
      limit.catch(() => {});
    }
  }

  #unknownCommand(command: Envelope): Envelope {
    const known = Object.keys(this.#options.pack.commands).join(', ') || 'none';
    return this.#result(command, UNKNOWN_COMMAND_EVENT, {
      command: command.name,
      payload: command.payload,
      error: `the ${this.#options.pack.name} pack has no command "${command.name}" (it has: ${known})`,
      errorCode: 'unknown_command',
    });
  }

  #failure(command: Envelope, definition: CommandDefinition, error: CodedError): Envelope {
    if (error.code === 'internal_error') {
      this.#options.logger.error(
        { command: command.name, commandId: command.id, err: error },
        'command handler failed',
      );
    }
    const payload = definition.failurePayload
      ? definition.failurePayload(command.payload, error)
      : { ...asObject(command.payload), ...error.details, error: error.message, errorCode: error.code };
    return this.#result(command, definition.failure, payload);
  }

  /**
   * The command's one result event. Its id comes from the pack and the command id alone (not the outcome),
   * so every answer to the command, from any instance, however often, is the same event to consumers.
   */
  #result(command: Envelope, name: string, payload: Payload): Envelope {
    return createEnvelope({
      id: deterministicId('result', this.#options.pack.name, command.id),
      kind: 'event',
      pack: this.#options.pack.name,
      name,
      payload,
      labels: this.#options.labels,
      correlationId: command.correlationId ?? command.id,
      causationId: command.id,
    });
  }
}

function asObject(value: unknown): Payload {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Payload) : {};
}

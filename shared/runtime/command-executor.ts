import type { Logger } from 'pino';
import { deterministicId } from '../deterministic-id.ts';
import { createEnvelope, type Envelope, type Labels } from '../envelope.ts';
import { asCodedError, CodedError } from '../errors.ts';
import type { Metrics } from '../observability/metrics.ts';
import { InputValidator } from './input-validator.ts';
import type { CommandDefinition, PackDefinition, Payload } from './pack-definition.ts';
import { type RetryPolicy, withRetries } from './retry.ts';

export const UNKNOWN_COMMAND_EVENT = 'CommandFailed';

/** SWITCHBOARD_LANE_WAIT_TIMEOUT's default: ten minutes. */
const DEFAULT_LANE_WAIT_TIMEOUT_MS = 600_000;

export interface ExecutorOptions {
  pack: PackDefinition;
  labels: Labels;
  retry: RetryPolicy;
  /** Time limit of one command's run, retries included, not counting its waits for a turn. */
  timeoutMs: number;
  /** Time one command may spend waiting for its turns (CommandContext.waitForTurn). Default: 600 000. */
  laneWaitTimeoutMs?: number;
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
    const laneWaitTimeoutMs = this.#options.laneWaitTimeoutMs ?? DEFAULT_LANE_WAIT_TIMEOUT_MS;
    // One controller and one timer per command: AbortSignal.any and AbortSignal.timeout cost several
    // percent of a pack's CPU at a few thousand commands per second.
    const controller = new AbortController();
    const deadline = new CommandDeadline(controller, { run: timeoutMs, wait: laneWaitTimeoutMs });
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
          waitForTurn: deadline.waitForTurn,
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
      if (deadline.expired === 'run') {
        throw new CodedError('timeout', `the command did not finish within ${timeoutMs / 1000} s`, {
          cause: error,
        });
      }
      if (deadline.expired === 'wait') {
        throw new CodedError(
          'timeout',
          `the command waited more than ${laneWaitTimeoutMs / 1000} s for its turn in its channel`,
          { cause: error },
        );
      }
      throw error;
    } finally {
      deadline.stop();
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

/**
 * The two clocks of one command. The run clock ticks except while the command waits for a turn
 * (CommandContext.waitForTurn, however many at once); the wait clock ticks only then. At every moment one
 * of them ticks, so a command ends within the sum of the two limits. Either running out aborts the
 * command's signal, which also takes it out of the lane it waits in.
 */
class CommandDeadline {
  /** Which limit ran out, if one did. */
  expired: 'run' | 'wait' | undefined;
  readonly #controller: AbortController;
  readonly #left: { run: number; wait: number };
  #ticking: 'run' | 'wait' = 'run';
  #since = performance.now();
  #waits = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(controller: AbortController, limits: { run: number; wait: number }) {
    this.#controller = controller;
    this.#left = { ...limits };
    this.#arm();
  }

  readonly waitForTurn = async <T>(turn: Promise<T>): Promise<T> => {
    const { signal } = this.#controller;
    if (signal.aborted) {
      turn.catch(() => {});
      throw signal.reason;
    }
    if (this.#waits++ === 0) this.#tick('wait');
    try {
      return await untilAborted(turn, signal);
    } finally {
      if (--this.#waits === 0) this.#tick('run');
    }
  };

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #tick(clock: 'run' | 'wait'): void {
    if (this.#stopped || this.expired) return;
    const now = performance.now();
    this.#left[this.#ticking] -= now - this.#since;
    this.#since = now;
    this.#ticking = clock;
    clearTimeout(this.#timer);
    this.#arm();
  }

  #arm(): void {
    const clock = this.#ticking;
    this.#timer = setTimeout(
      () => {
        this.expired = clock;
        this.#controller.abort(new Error('time limit reached'));
      },
      Math.max(0, this.#left[clock]),
    );
  }
}

/** Settles as `promise` does, or rejects with the signal's reason when it aborts first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

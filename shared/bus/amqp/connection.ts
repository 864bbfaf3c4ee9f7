import amqp, { type RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { redactUrl } from '../../observability/redact.ts';

export interface ConnectionOptions {
  url: string;
  /** Shown in the RabbitMQ management UI, e.g. `switchboard slack publisher`. */
  name: string;
  logger: Logger;
  /** Reconnect attempts before the first connection is given up. Default: Infinity (keep trying). */
  initialRetries?: number;
  /**
   * How long one attempt may take to connect and finish the AMQP handshake before it fails and the next
   * is scheduled. Default: 10 000 ms (RabbitMQ's own handshake_timeout).
   */
  handshakeTimeoutMs?: number;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * A connection that reconnects by itself with exponential backoff. Channels do not survive a reconnect:
 * owners listen for `connect` and open theirs again.
 */
export async function openRecoveringConnection(options: ConnectionOptions): Promise<RecoveringChannelModel> {
  const where = redactUrl(options.url);
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const reason = (error: Error) => describeFailure(error, handshakeTimeoutMs);
  const connection = await amqp.connect(options.url, {
    // Nagle's algorithm adds tens of milliseconds to every small frame (see docs/performance.md).
    noDelay: true,
    // Without it an endpoint that accepts TCP and never answers (a hung broker, a half-open path) holds
    // the attempt forever and no reconnect is ever scheduled. amqplib clears it once the connection is open.
    timeout: handshakeTimeoutMs,
    clientProperties: { connection_name: options.name },
    recovery: {
      initialDelay: 200,
      maxDelay: 10_000,
      maxRetries: Infinity,
      initialMaxRetries: options.initialRetries ?? Infinity,
      waitForConnect: false,
    },
  });
  connection.on('connect', () =>
    options.logger.info({ broker: where, connection: options.name }, 'connected to RabbitMQ'),
  );
  connection.on('disconnect', (error: Error) =>
    options.logger.warn(
      { broker: where, connection: options.name, reason: error.message },
      'lost RabbitMQ connection',
    ),
  );
  connection.on('reconnect-scheduled', (info: { attempt: number; delay: number; error: Error }) =>
    options.logger.warn(
      {
        broker: where,
        connection: options.name,
        attempt: info.attempt,
        delayMs: info.delay,
        reason: reason(info.error),
      },
      'cannot reach RabbitMQ, retrying',
    ),
  );
  connection.on('blocked', (blockedBecause: string) =>
    options.logger.warn(
      { broker: where, connection: options.name, reason: blockedBecause },
      'RabbitMQ blocked publishing (resource alarm)',
    ),
  );
  connection.on('unblocked', () =>
    options.logger.info({ broker: where, connection: options.name }, 'RabbitMQ unblocked publishing'),
  );
  // Without a listener an 'error' event would crash the process; the close that follows triggers recovery.
  connection.on('error', (error: Error) =>
    options.logger.debug({ reason: error.message }, 'RabbitMQ connection error'),
  );
  try {
    await connection.waitForConnect();
  } catch (error) {
    throw new Error(reason(error as Error), { cause: error });
  }
  return connection;
}

/** amqplib reports its own socket timeout as a bare `connect ETIMEDOUT`; say what did not happen. */
function describeFailure(error: Error, handshakeTimeoutMs: number): string {
  return error.message === 'connect ETIMEDOUT'
    ? `no answer to the connection and AMQP handshake within ${handshakeTimeoutMs} ms (connect ETIMEDOUT)`
    : error.message;
}

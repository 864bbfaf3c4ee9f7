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
}

/**
 * A connection that reconnects by itself with exponential backoff. Channels do not survive a reconnect:
 * owners listen for `connect` and open theirs again.
 */
export async function openRecoveringConnection(options: ConnectionOptions): Promise<RecoveringChannelModel> {
  const where = redactUrl(options.url);
  const connection = await amqp.connect(options.url, {
    // Nagle's algorithm adds tens of milliseconds to every small frame (see docs/performance.md).
    noDelay: true,
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
        reason: info.error.message,
      },
      'cannot reach RabbitMQ, retrying',
    ),
  );
  connection.on('blocked', (reason: string) =>
    options.logger.warn({ broker: where, reason }, 'RabbitMQ blocked publishing (resource alarm)'),
  );
  // Without a listener an 'error' event would crash the process; the close that follows triggers recovery.
  connection.on('error', (error: Error) =>
    options.logger.debug({ reason: error.message }, 'RabbitMQ connection error'),
  );
  await connection.waitForConnect();
  return connection;
}

import type { Logger } from 'pino';
import { AmqpBus } from '../bus/amqp/amqp-bus.ts';
import type { Bus } from '../bus/bus.ts';
import { MemoryBus } from '../bus/memory-bus.ts';
import type { Config } from '../config.ts';
import { startHealthServer } from '../observability/health-server.ts';
import { Metrics } from '../observability/metrics.ts';
import { redactUrl } from '../observability/redact.ts';
import type { PackDefinition } from './pack-definition.ts';
import { PackRuntime } from './pack-runtime.ts';

/** Something a process runs until SIGTERM: a pack runtime, the engine. */
export interface Service {
  readonly ready: boolean;
  /** Settles when the service cannot go on; the process then stops everything and exits 1. */
  readonly failure?: Promise<Error>;
  stop(options: { graceMs: number; reason?: string }): Promise<void>;
}

export interface ProcessParts {
  bus: Bus;
  metrics: Metrics;
  logger: Logger;
  config: Config;
}

export async function connectBus(
  config: Config,
  logger: Logger,
  name: string,
  options: { memory?: boolean | undefined; initialRetries?: number } = {},
): Promise<Bus> {
  const { memory } = options;
  if (memory) {
    logger.info('using the in-memory bus (set AMQP_URL to use RabbitMQ)');
    return new MemoryBus();
  }
  logger.info({ broker: redactUrl(config.amqpUrl) }, 'connecting to RabbitMQ');
  return AmqpBus.connect({
    url: config.amqpUrl,
    name,
    logger,
    publishTimeoutMs: config.publishTimeoutMs,
    ...(options.initialRetries === undefined ? {} : { initialRetries: options.initialRetries }),
  });
}

export function startPack(pack: PackDefinition, parts: ProcessParts): Promise<PackRuntime> {
  const { config } = parts;
  return PackRuntime.start({
    pack,
    bus: parts.bus,
    labels: config.labels,
    logger: parts.logger,
    metrics: parts.metrics,
    prefetch: config.prefetch,
    commandTimeoutMs: config.commandTimeoutMs,
    laneWaitTimeoutMs: config.laneWaitTimeoutMs,
    retry: config.retry,
    stateDir: config.stateDir,
    dedupeCapacity: config.dedupeCapacity,
    aliveIntervalMs: config.aliveIntervalMs,
  });
}

/**
 * The life of a long-running process: connect, start its services, serve health and metrics, and on
 * SIGTERM or SIGINT stop taking work, let in-flight work finish, disconnect and exit 0. Resolves with the
 * exit code; startup failures resolve 1 after logging why.
 */
export async function runUntilSignalled(options: {
  name: string;
  config: Config;
  logger: Logger;
  memoryBus?: boolean;
  start: (parts: ProcessParts) => Promise<Service[]>;
}): Promise<number> {
  const { config, logger } = options;
  const metrics = new Metrics();
  let bus: Bus;
  try {
    bus = await connectBus(config, logger, options.name, { memory: options.memoryBus });
  } catch (error) {
    logger.fatal({ reason: (error as Error).message }, 'cannot connect to the bus');
    return 1;
  }
  let services: Service[] = [];
  const health =
    config.healthPort === undefined
      ? undefined
      : await startHealthServer({
          port: config.healthPort,
          metrics,
          isReady: () => bus.isConnected() && services.every((service) => service.ready),
        });
  if (health) logger.info({ port: health.port }, 'serving /healthz, /readyz and /metrics');
  const sampleConnection = setInterval(() => metrics.busConnected.set(bus.isConnected() ? 1 : 0), 1000);
  const stopped = waitForStopSignal();
  try {
    services = await options.start({ bus, metrics, logger, config });
  } catch (error) {
    logger.fatal({ reason: (error as Error).message }, 'could not start');
    stopped.cancel();
    clearInterval(sampleConnection);
    await health?.close();
    await bus.close();
    return 1;
  }
  const failures = services.flatMap((service) => (service.failure ? [service.failure] : []));
  const ending = await Promise.race([
    stopped.signal.then((signal) => ({ signal, error: undefined })),
    ...failures.map((failure) => failure.then((error) => ({ signal: 'failure', error }))),
  ]);
  stopped.cancel();
  const { signal } = ending;
  if (ending.error) logger.fatal({ reason: ending.error.message }, 'stopping: a service cannot go on');
  logger.info({ signal, graceMs: config.shutdownGraceMs }, 'stopping: finishing in-flight work');
  const forced = setTimeout(() => {
    logger.error('in-flight work did not finish in time; exiting anyway');
    process.exit(1);
  }, config.shutdownGraceMs + 10_000);
  forced.unref();
  await Promise.allSettled(
    services.map((service) => service.stop({ graceMs: config.shutdownGraceMs, reason: signal })),
  );
  clearInterval(sampleConnection);
  await health?.close();
  await bus.close();
  logger.info('stopped');
  return ending.error ? 1 : 0;
}

function waitForStopSignal(): { signal: Promise<string>; cancel: () => void } {
  // Keeps the process up even when it runs nothing yet (a fresh `npm start` with no pack configured).
  const keepAlive = setInterval(() => {}, 1 << 30);
  let cancel = () => {};
  const signal = new Promise<string>((resolve) => {
    const onSignal = (received: NodeJS.Signals) => {
      cancel();
      resolve(received);
    };
    cancel = () => {
      process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
      clearInterval(keepAlive);
    };
    process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  });
  return { signal, cancel };
}

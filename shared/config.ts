import type { Labels } from './envelope.ts';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './observability/logger.ts';
import { MAX_LABELS, parseLabels } from './runtime/labels.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './runtime/retry.ts';

/** A configuration value is wrong; `variable` names the environment variable or flag to fix. */
export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Flags given on the command line; each overrides the environment variable named beside it. */
export interface ConfigFlags {
  /** Overrides SWITCHBOARD_LABELS. */
  labels?: string[] | undefined;
  /** Overrides SWITCHBOARD_STATE_DIR. */
  stateDir?: string | undefined;
  /** Overrides HEALTH_PORT. */
  healthPort?: string | undefined;
  /** Overrides LOG_LEVEL. */
  logLevel?: string | undefined;
}

export interface Config {
  /** AMQP_URL: the RabbitMQ broker. Default: amqp://localhost. `switchboard all` uses the in-memory bus when unset. */
  amqpUrl: string;
  /** True when AMQP_URL was set explicitly. */
  amqpUrlSet: boolean;
  /** LOG_LEVEL: fatal, error, warn, info, debug, trace or silent. Default: info. */
  logLevel: LogLevel;
  /**
   * LOG_FORMAT: `pretty` (one readable line a record) or `json` (one JSON object a line). Default: unset,
   * which is pretty when stderr is a terminal and json otherwise (resolveLogFormat).
   */
  logFormat: LogFormat | undefined;
  /** HEALTH_PORT: port of /healthz, /readyz and /metrics. Default: unset (not served). */
  healthPort: number | undefined;
  /** SWITCHBOARD_LABELS: this instance's labels, `env=prod,region=eu`. Default: none. */
  labels: Labels;
  /** SWITCHBOARD_STATE_DIR: where finished command ids are kept across restarts. Default: unset (memory only). */
  stateDir: string | undefined;
  /** SWITCHBOARD_PREFETCH: commands a pack instance handles at once. Default: 500. */
  prefetch: number;
  /**
   * SWITCHBOARD_COMMAND_TIMEOUT: seconds one command may run, retries included, not counting the time it
   * waits for its turn in a channel (laneWaitTimeoutMs). Default: 60.
   */
  commandTimeoutMs: number;
  /** SWITCHBOARD_LANE_WAIT_TIMEOUT: seconds one command may wait for its turn in its channel's pacing lane. Default: 600. */
  laneWaitTimeoutMs: number;
  /** SWITCHBOARD_MAX_RETRIES: retries of a transient failure (network, 5xx, 429). Default: 5. */
  retry: RetryPolicy;
  /** SWITCHBOARD_SHUTDOWN_GRACE: seconds in-flight commands get to finish on SIGTERM. Default: 25. */
  shutdownGraceMs: number;
  /** SWITCHBOARD_PUBLISH_TIMEOUT: seconds a publish may wait for the broker (reconnects included). Default: 30. */
  publishTimeoutMs: number;
  /** SWITCHBOARD_DEDUPE_CAPACITY: finished commands remembered to answer duplicates. Default: 10000. */
  dedupeCapacity: number;
  /** SWITCHBOARD_ALIVE_INTERVAL: seconds between two PackAlive events of a pack instance. Default: 30. */
  aliveIntervalMs: number;
}

/** Reads and checks every setting once, at start. Throws ConfigError naming the first bad variable. */
export function parseConfig(env: Env, flags: ConfigFlags = {}): Config {
  const amqpUrl = env.AMQP_URL?.trim() || 'amqp://localhost';
  if (!/^amqps?:\/\/[^/]/.test(amqpUrl)) {
    throw new ConfigError(
      'AMQP_URL',
      `"${amqpUrl.replace(/:[^:@/]*@/, ':***@')}" is not an amqp:// or amqps:// URL`,
    );
  }
  return {
    amqpUrl,
    amqpUrlSet: Boolean(env.AMQP_URL?.trim()),
    logLevel: parseLogLevel(flags.logLevel ? '--log-level' : 'LOG_LEVEL', flags.logLevel ?? env.LOG_LEVEL),
    logFormat: parseLogFormat(env.LOG_FORMAT),
    healthPort: parsePort(
      flags.healthPort ? '--health-port' : 'HEALTH_PORT',
      flags.healthPort ?? env.HEALTH_PORT,
    ),
    labels: parseLabelsSetting(
      flags.labels?.length ? '--labels' : 'SWITCHBOARD_LABELS',
      flags.labels ?? env.SWITCHBOARD_LABELS,
    ),
    stateDir: (flags.stateDir ?? env.SWITCHBOARD_STATE_DIR)?.trim() || undefined,
    prefetch: parseInteger('SWITCHBOARD_PREFETCH', env.SWITCHBOARD_PREFETCH, 500, 1, 65_535),
    commandTimeoutMs: parseSeconds('SWITCHBOARD_COMMAND_TIMEOUT', env.SWITCHBOARD_COMMAND_TIMEOUT, 60),
    laneWaitTimeoutMs: parseSeconds('SWITCHBOARD_LANE_WAIT_TIMEOUT', env.SWITCHBOARD_LANE_WAIT_TIMEOUT, 600),
    retry: {
      ...DEFAULT_RETRY_POLICY,
      maxRetries: parseInteger(
        'SWITCHBOARD_MAX_RETRIES',
        env.SWITCHBOARD_MAX_RETRIES,
        DEFAULT_RETRY_POLICY.maxRetries,
        0,
        100,
      ),
    },
    shutdownGraceMs: parseSeconds('SWITCHBOARD_SHUTDOWN_GRACE', env.SWITCHBOARD_SHUTDOWN_GRACE, 25),
    publishTimeoutMs: parseSeconds('SWITCHBOARD_PUBLISH_TIMEOUT', env.SWITCHBOARD_PUBLISH_TIMEOUT, 30),
    dedupeCapacity: parseInteger(
      'SWITCHBOARD_DEDUPE_CAPACITY',
      env.SWITCHBOARD_DEDUPE_CAPACITY,
      10_000,
      1,
      10_000_000,
    ),
    aliveIntervalMs: parseSeconds('SWITCHBOARD_ALIVE_INTERVAL', env.SWITCHBOARD_ALIVE_INTERVAL, 30),
  };
}

function parseLogLevel(variable: string, value: string | undefined): LogLevel {
  const level = value?.trim() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(variable, `"${level}" is not a log level; use one of ${LOG_LEVELS.join(', ')}`);
  }
  return level as LogLevel;
}

function parseLogFormat(value: string | undefined): LogFormat | undefined {
  const format = value?.trim();
  if (!format) return undefined;
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new ConfigError(
      'LOG_FORMAT',
      `"${format}" is not a log format; use pretty or json, or leave it unset (pretty on a terminal, json otherwise)`,
    );
  }
  return format as LogFormat;
}

function parsePort(variable: string, value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return parseInteger(variable, value, 0, 0, 65_535);
}

function parseLabelsSetting(variable: string, value: string | string[] | undefined): Labels {
  if (value === undefined) return {};
  try {
    const labels = parseLabels(value);
    if (Object.keys(labels).length > MAX_LABELS) throw new Error(`at most ${MAX_LABELS} labels are allowed`);
    return labels;
  } catch (error) {
    throw new ConfigError(variable, (error as Error).message);
  }
}

export function parseInteger(
  variable: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value.trim() === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new ConfigError(variable, `"${value}" is not a whole number from ${min} to ${max}`);
  }
  return number;
}

function parseSeconds(variable: string, value: string | undefined, fallbackSeconds: number): number {
  if (value === undefined || value.trim() === '') return fallbackSeconds * 1000;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
    throw new ConfigError(variable, `"${value}" is not a number of seconds from 0 to 86400`);
  }
  return Math.round(seconds * 1000);
}

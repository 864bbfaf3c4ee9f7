import { resolve } from 'node:path';
import { ConfigError, type Env, parseInteger } from '../shared/config.ts';

export interface EngineConfig {
  /** --flows / SWITCHBOARD_FLOWS_DIR: the flows directory, watched for changes. Default: ./flows. */
  flowsDir: string;
  /** --data-dir / SWITCHBOARD_DATA_DIR: instances, datastore and executions (SQLite). Default: ./.switchboard. */
  dataDir: string;
  /** SWITCHBOARD_ENGINE_PREFETCH: events evaluated at once. Default: 500. */
  prefetch: number;
  /** SWITCHBOARD_EXECUTION_TIMEOUT: seconds a command may go without a result before it is timed_out. Default: 300. */
  executionTimeoutMs: number;
  /** SWITCHBOARD_EXECUTIONS_MAX_AGE: days executions are kept. Default: 7. */
  retentionMaxAgeMs: number;
  /** SWITCHBOARD_EXECUTIONS_MAX_COUNT: executions kept at most. Default: 100000. */
  retentionMaxCount: number;
  /**
   * SWITCHBOARD_ENGINE_QUEUE: the queue of events the engine consumes. Engines sharing a queue split the
   * events between them; engines on different queues each see every event (two deployments with their
   * own flows on one broker). Default: switchboard.engine.
   */
  queue: string;
}

export interface EngineFlags {
  flows?: string | undefined;
  dataDir?: string | undefined;
}

export function parseEngineConfig(env: Env, flags: EngineFlags = {}): EngineConfig {
  return {
    flowsDir: resolve(flags.flows ?? (env.SWITCHBOARD_FLOWS_DIR?.trim() || './flows')),
    dataDir: resolveDataDir(env, flags),
    prefetch: parseInteger('SWITCHBOARD_ENGINE_PREFETCH', env.SWITCHBOARD_ENGINE_PREFETCH, 500, 1, 65_535),
    executionTimeoutMs:
      parseInteger('SWITCHBOARD_EXECUTION_TIMEOUT', env.SWITCHBOARD_EXECUTION_TIMEOUT, 300, 1, 86_400 * 7) *
      1000,
    retentionMaxAgeMs:
      parseInteger('SWITCHBOARD_EXECUTIONS_MAX_AGE', env.SWITCHBOARD_EXECUTIONS_MAX_AGE, 7, 1, 3650) *
      86_400_000,
    retentionMaxCount: parseInteger(
      'SWITCHBOARD_EXECUTIONS_MAX_COUNT',
      env.SWITCHBOARD_EXECUTIONS_MAX_COUNT,
      100_000,
      1,
      100_000_000,
    ),
    queue: parseQueueName(env.SWITCHBOARD_ENGINE_QUEUE),
  };
}

function parseQueueName(value: string | undefined): string {
  const name = value?.trim() || 'switchboard.engine';
  // RabbitMQ refuses names over 255 bytes and reserves the amq. prefix.
  if (Buffer.byteLength(name) > 255 || name.startsWith('amq.'))
    throw new ConfigError('SWITCHBOARD_ENGINE_QUEUE', `"${name}" is not a queue name RabbitMQ accepts`);
  return name;
}

/** The data directory alone, for the CLI commands that only read or edit state. */
export function resolveDataDir(env: Env, flags: EngineFlags = {}): string {
  const dir = flags.dataDir ?? (env.SWITCHBOARD_DATA_DIR?.trim() || './.switchboard');
  if (dir.trim() === '')
    throw new ConfigError(flags.dataDir ? '--data-dir' : 'SWITCHBOARD_DATA_DIR', 'is empty');
  return resolve(dir);
}

export const ENGINE_SETTINGS_HELP = `  SWITCHBOARD_FLOWS_DIR             flows directory, watched (default: ./flows; --flows)
  SWITCHBOARD_DATA_DIR              engine state: instances, datastore, executions (default: ./.switchboard; --data-dir)
  SWITCHBOARD_ENGINE_PREFETCH       events evaluated at once (default: 500)
  SWITCHBOARD_EXECUTION_TIMEOUT     seconds without a result before a command is timed_out (default: 300)
  SWITCHBOARD_EXECUTIONS_MAX_AGE    days executions are kept (default: 7)
  SWITCHBOARD_EXECUTIONS_MAX_COUNT  executions kept at most (default: 100000)
  SWITCHBOARD_ENGINE_QUEUE          queue of events it consumes; engines on one queue share the work,
                                    on different queues each see every event (default: switchboard.engine)`;

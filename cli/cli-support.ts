import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type Config, ConfigError, type Env } from '../shared/config.ts';
import {
  createLogger,
  type Logger,
  type LogLevel,
  resolveLogFormat,
} from '../shared/observability/logger.ts';

/** Exit codes of every `switchboard` command (documented in `switchboard --help`). */
export const EXIT = {
  ok: 0,
  /** `send --wait`: the result was a failure event; long-running commands: could not start. */
  failure: 1,
  /** `send --wait`: no result arrived in time. */
  noResult: 2,
  /** Wrong arguments. */
  usage: 64,
  /** The broker could not be reached. */
  unavailable: 69,
  /** A configuration value is wrong. */
  config: 78,
} as const;

export class UsageError extends Error {}

/** What a command needs from the outside world; tests pass their own. */
export interface CliIo {
  env: Env;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

export interface CliCommand {
  name: string;
  summary: string;
  /** The `--help` text; a function when it depends on the arguments (`pack <name> --help`). */
  help: string | ((argv: readonly string[]) => string);
  run(argv: string[], io: CliIo): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options of every long-running command; each overrides the environment variable of the same meaning. */
export const PROCESS_OPTIONS = {
  'health-port': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

/** Options of the commands that run the flow engine. */
export const ENGINE_OPTIONS = {
  flows: { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

/** parseArgs with `--help` built in and errors as UsageError. */
export function parseCommandLine<O extends Options>(argv: string[], options: O, allowPositionals: boolean) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Runs a command, turning usage and configuration errors into a message and an exit code. */
export async function runCommand(command: CliCommand, argv: string[], io: CliIo): Promise<number> {
  try {
    if (argv.includes('--help') || argv.includes('-h')) {
      const help = typeof command.help === 'string' ? command.help : command.help(argv);
      io.stdout.write(`${help.trim()}\n`);
      return EXIT.ok;
    }
    return await command.run(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(
        `switchboard ${command.name}: ${error.message}\nSee: switchboard ${command.name} --help\n`,
      );
      return EXIT.usage;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`switchboard ${command.name}: configuration error: ${error.message}\n`);
      return EXIT.config;
    }
    throw error;
  }
}

/** The table of settings every process reads, for `--help` texts. */
export const COMMON_SETTINGS_HELP = `Environment:
  AMQP_URL                      RabbitMQ URL (default: amqp://localhost)
  LOG_LEVEL                     fatal|error|warn|info|debug|trace|silent (default: info); logs go to stderr
  LOG_FORMAT                    pretty|json (default: pretty on a terminal, json otherwise)
  HEALTH_PORT                   serve /healthz, /readyz, /metrics on this port (default: unset, not served)`;

export const RUNTIME_SETTINGS_HELP = `  SWITCHBOARD_LABELS            this instance's labels, k=v,k2=v2 (default: none)
  SWITCHBOARD_STATE_DIR         keep finished command ids here across restarts (default: unset, memory only)
  SWITCHBOARD_PREFETCH          commands handled at once (default: 500)
  SWITCHBOARD_COMMAND_TIMEOUT   seconds per command, retries included, not its wait for its channel (default: 60)
  SWITCHBOARD_LANE_WAIT_TIMEOUT seconds a command may wait for its turn in its channel (default: 600)
  SWITCHBOARD_MAX_RETRIES       retries of transient failures (default: 5)
  SWITCHBOARD_SHUTDOWN_GRACE    seconds in-flight commands get on SIGTERM (default: 25)
  SWITCHBOARD_PUBLISH_TIMEOUT   seconds a publish waits for the broker (default: 30)
  SWITCHBOARD_DEDUPE_CAPACITY   finished commands remembered for dedupe (default: 10000)
  SWITCHBOARD_ALIVE_INTERVAL    seconds between a pack instance's PackAlive events (default: 30)`;

/** A command's logger, on stderr: readable lines on a terminal, JSON lines otherwise (LOG_FORMAT). */
export function processLogger(config: Config, name: string, level: LogLevel = config.logLevel): Logger {
  return createLogger({ level, name, format: resolveLogFormat(config.logFormat, process.stderr.isTTY) });
}

import { type DestinationStream, type Logger, pino } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { REDACTED_LOG_PATHS } from './redact.ts';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `pretty`: one readable line a record, for a person at a terminal; `json`: one JSON object a line. */
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The format when LOG_FORMAT is unset: readable at a terminal, JSON for whatever reads a pipe or a file. */
export function resolveLogFormat(format: LogFormat | undefined, isTty: boolean | undefined): LogFormat {
  return format ?? (isTty ? 'pretty' : 'json');
}

/** Log lines on stderr (stdout belongs to CLI output such as `tail` and `send --wait`). */
export function createLogger(options: {
  level: LogLevel;
  name: string;
  /** How records are written. Default: json. */
  format?: LogFormat | undefined;
  /** Where lines go. Default: stderr, written synchronously so nothing is lost when the process exits. */
  destination?: DestinationStream;
}): Logger {
  const destination = options.destination ?? pino.destination(2);
  return pino(
    {
      name: options.name,
      level: options.level,
      // Applied before a record is serialized, so pretty lines are redacted as JSON lines are.
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.format === 'pretty'
      ? prettyLines(destination, options.destination === undefined && stderrHasColors())
      : destination,
  );
}

/**
 * Turns each JSON line pino writes into a readable one, in the same synchronous write: no worker thread
 * and no stream pipeline, so a process that exits right after logging loses nothing.
 */
function prettyLines(destination: DestinationStream, colorize: boolean): DestinationStream {
  const pretty = prettyFactory({
    colorize,
    singleLine: true,
    ignore: 'pid,hostname',
    translateTime: 'SYS:HH:MM:ss.l',
  });
  return { write: (line: string) => destination.write(pretty(line)) };
}

/** Node's own test: stderr is a terminal, and NO_COLOR, FORCE_COLOR and TERM allow colours. */
function stderrHasColors(): boolean {
  return process.stderr.isTTY === true && process.stderr.hasColors();
}

import { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import type { Logger } from 'pino';

/**
 * Bolt's logger interface over the pack's pino logger, so that what Bolt reports (a refused signature,
 * a body too large) lands in the pack's log with the same redaction. Bolt logs only warnings and errors
 * here: its info and debug lines describe every request.
 */
export function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  let level = LogLevel.WARN;
  const text = (parts: unknown[]) => parts.map((part) => String(part)).join(' ');
  const enabled = (wanted: LogLevel) => ORDER.indexOf(wanted) >= ORDER.indexOf(level);
  return {
    debug: (...parts) => enabled(LogLevel.DEBUG) && child.debug(text(parts)),
    info: (...parts) => enabled(LogLevel.INFO) && child.info(text(parts)),
    warn: (...parts) => enabled(LogLevel.WARN) && child.warn(text(parts)),
    error: (...parts) => enabled(LogLevel.ERROR) && child.error(text(parts)),
    setLevel: (wanted) => {
      level = wanted;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

const ORDER = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR];

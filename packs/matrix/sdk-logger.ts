import type { Logger as SdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';
import type { Logger } from 'pino';

/**
 * matrix-js-sdk logs every request at debug level, and some of its modules log through a global logger
 * whatever logger a client is given. Its warnings and errors go to the pack's log (pino, with
 * redaction); the rest is dropped.
 */
export function routeSdkLogging(logger: Logger): SdkLogger {
  const child = logger.child({ component: 'matrix-js-sdk' });
  const text = (parts: unknown[]) =>
    parts.map((part) => (part instanceof Error ? part.message : String(part))).join(' ');
  const global = sdkGlobalLogger as typeof sdkGlobalLogger & {
    methodFactory: (method: string) => (...parts: unknown[]) => void;
    rebuild(): void;
  };
  global.methodFactory = (method) =>
    method === 'warn' || method === 'error' ? (...parts) => child[method](text(parts)) : () => {};
  global.rebuild();
  const sdk: SdkLogger = {
    trace: () => {},
    debug: () => {},
    info: () => {},
    warn: (...parts: unknown[]) => child.warn(text(parts)),
    error: (...parts: unknown[]) => child.error(text(parts)),
    getChild: () => sdk,
  };
  return sdk;
}

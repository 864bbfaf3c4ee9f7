/** `amqp://user:secret@host` -> `amqp://user:***@host`, so broker URLs can be logged. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable url>';
  }
}

/**
 * Log paths pino censors: credentials may sit in configs, HTTP headers and command payloads
 * (a webhook URL's token, a password field), and must never reach a log line.
 */
export const REDACTED_LOG_PATHS = [
  '*.token',
  '*.password',
  '*.secret',
  '*.apiKey',
  '*.accessToken',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'config.amqpUrl',
];

import { ConfigError, type Env, parseInteger } from '../shared/config.ts';

export interface ConsoleConfig {
  /** SWITCHBOARD_CONSOLE_PORT: port of the web console. Default: 8090; 0 picks a free port (tests). */
  port: number;
  /** SWITCHBOARD_CONSOLE_HOST: address the console listens on. Default: 127.0.0.1 (this machine only). */
  host: string;
  /**
   * SWITCHBOARD_CONSOLE_TOKEN: when set, every page and API call needs `Authorization: Bearer <token>`.
   * Default: unset, allowed only on a loopback host.
   */
  token: string | undefined;
}

export const DEFAULT_CONSOLE_PORT = 8090;
export const DEFAULT_CONSOLE_HOST = '127.0.0.1';

/** Reads the console's settings once, at start. Throws ConfigError naming the variable to fix. */
export function parseConsoleConfig(env: Env): ConsoleConfig {
  const port = parseInteger(
    'SWITCHBOARD_CONSOLE_PORT',
    env.SWITCHBOARD_CONSOLE_PORT,
    DEFAULT_CONSOLE_PORT,
    0,
    65_535,
  );
  const host = env.SWITCHBOARD_CONSOLE_HOST?.trim() || DEFAULT_CONSOLE_HOST;
  const token = env.SWITCHBOARD_CONSOLE_TOKEN?.trim() || undefined;
  if (!token && !isLoopback(host)) {
    // Anyone who can reach the address could read the bus and, later, send commands through it.
    throw new ConfigError(
      'SWITCHBOARD_CONSOLE_TOKEN',
      `must be set when the console listens on ${host} (SWITCHBOARD_CONSOLE_HOST), which is not a loopback address`,
    );
  }
  return { port, host, token };
}

/** 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

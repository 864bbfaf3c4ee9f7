import { ConfigError, type Env } from '../shared/config.ts';
import { defineVariables, readInteger, readText, renderVariablesHelp } from '../shared/config-variables.ts';

export interface ConsoleConfig {
  /** SWITCHBOARD_CONSOLE_PORT: port of the web console. Default: 8090; 0 picks a free port (tests). */
  port: number;
  /** SWITCHBOARD_CONSOLE_HOST: address the console listens on. Default: 127.0.0.1 (this machine only). */
  host: string;
  /**
   * SWITCHBOARD_CONSOLE_TOKEN: when set, every page and API call needs it (a Bearer header or the login
   * form's session cookie). Default: unset, allowed only on a loopback host.
   */
  token: string | undefined;
}

/** The console's variables: one definition for the parser, `--help` and docs/console.md's table. */
export const CONSOLE_VARIABLES = defineVariables({
  SWITCHBOARD_CONSOLE_PORT: {
    defaultValue: 8090,
    meaning:
      'port of the web console (`0`: any free port); `switchboard engine` serves the console only when this is set',
  },
  SWITCHBOARD_CONSOLE_HOST: {
    defaultValue: '127.0.0.1',
    meaning: 'address the console listens on; anything but a loopback address needs a token',
  },
  SWITCHBOARD_CONSOLE_TOKEN: {
    default: 'none',
    meaning: 'when set, every page and API call needs it: `Authorization: Bearer <token>` or the login form',
  },
});

export const DEFAULT_CONSOLE_PORT = CONSOLE_VARIABLES.SWITCHBOARD_CONSOLE_PORT.defaultValue;
export const DEFAULT_CONSOLE_HOST = CONSOLE_VARIABLES.SWITCHBOARD_CONSOLE_HOST.defaultValue;

export const CONSOLE_SETTINGS_HELP = `Web console settings (docs/console.md):
${renderVariablesHelp(Object.values(CONSOLE_VARIABLES))}`;

/** Reads the console's settings once, at start. Throws ConfigError naming the variable to fix. */
export function parseConsoleConfig(env: Env): ConsoleConfig {
  const port = readInteger(env, CONSOLE_VARIABLES.SWITCHBOARD_CONSOLE_PORT, 0, 65_535);
  const host = readText(env, CONSOLE_VARIABLES.SWITCHBOARD_CONSOLE_HOST);
  const token = readText(env, CONSOLE_VARIABLES.SWITCHBOARD_CONSOLE_TOKEN);
  if (!token && !isLoopback(host)) {
    // Anyone who can reach the address could read the bus and send commands through it.
    throw new ConfigError(
      'SWITCHBOARD_CONSOLE_TOKEN',
      `must be set when the console listens on ${host} (SWITCHBOARD_CONSOLE_HOST), which is not a loopback address`,
    );
  }
  return { port, host, token: token || undefined };
}

/** Whether `switchboard engine` serves the console: only when its port is set. */
export function consoleRequested(env: Env): boolean {
  return (env.SWITCHBOARD_CONSOLE_PORT ?? '').trim() !== '';
}

/** 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

import { ConfigError, type Env } from '../../../shared/config.ts';
import type { VariableSpec } from '../../../shared/config-variables.ts';

/** The variables of /webhooks/alertmanager, in the order of `--help` and the README (CI_WEBHOOK_VARIABLES takes them). */
export const ALERTMANAGER_VARIABLE_SPECS = {
  ALERTMANAGER_WEBHOOK_TOKEN: {
    default: 'none: 403',
    meaning:
      'token(s) of `/webhooks/alertmanager`, comma-separated, as `http_config` sends one: a Bearer token, or the Basic password (any user name)',
  },
} as const satisfies Record<string, VariableSpec>;

/** Variables any one of which makes `switchboard all` start the pack. */
export const ALERTMANAGER_RUN_VARIABLES: readonly string[] = ['ALERTMANAGER_WEBHOOK_TOKEN'];

export interface AlertmanagerConfig {
  /** ALERTMANAGER_WEBHOOK_TOKEN: every accepted token (several during a rotation). Empty: everything is refused. */
  tokens: string[];
}

// Visible ASCII and spaces: a token travels in an HTTP header, and Basic credentials are base64 of UTF-8
// that Alertmanager's Go client and curl encode alike only for ASCII.
const HEADER_SAFE = /^[\x20-\x7e]+$/;

export function parseAlertmanagerConfig(env: Env): AlertmanagerConfig {
  const variable = 'ALERTMANAGER_WEBHOOK_TOKEN';
  const tokens = (env[variable] ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '');
  tokens.forEach((token, index) => {
    // Names the token's position, never its value.
    if (!HEADER_SAFE.test(token)) {
      throw new ConfigError(
        variable,
        `token ${index + 1} has a character other than printable ASCII; it is sent in an HTTP header`,
      );
    }
  });
  return { tokens };
}

import { ConfigError, type Env } from '../../../shared/config.ts';
import { defineVariables, readText, type VariableSpec } from '../../../shared/config-variables.ts';
import { ApiTokens } from './api-tokens.ts';
import type { RateLimit } from './rate-limiter.ts';

/** The command API's variables, in the order of `--help` and the README (CI_WEBHOOK_VARIABLES takes them). */
export const COMMAND_API_VARIABLE_SPECS = {
  SWITCHBOARD_API_TOKENS: {
    default: 'none: 403',
    meaning:
      'tokens of the command API, `POST /v1/commands/<pack>/<Command>`: a JSON file, or the JSON itself, `{"<token>": {"name": "tekton", "allow": ["matrix.SendMessage", "notify.*"]}}` (`allow`: `pack.Command`, `pack.*` or `*`; tokens of at least 16 characters)',
  },
  SWITCHBOARD_API_RATE: {
    defaultValue: '20/s,40',
    meaning:
      'requests each API token may make: `<n>/s` or `<n>/m`, then `,<burst>` (the most at once; default twice n); beyond it, 429 with Retry-After',
  },
} as const satisfies Record<string, VariableSpec>;

const V = defineVariables(COMMAND_API_VARIABLE_SPECS);

/** Variables any one of which makes `switchboard all` start the pack. */
export const COMMAND_API_RUN_VARIABLES: readonly string[] = [V.SWITCHBOARD_API_TOKENS.name];

export interface CommandApiConfig {
  /** SWITCHBOARD_API_TOKENS. Default: none, and every request is refused (403). */
  tokens: ApiTokens;
  /** SWITCHBOARD_API_RATE, per token. Default: 20 a second, 40 at once. */
  rate: RateLimit;
}

export function parseCommandApiConfig(env: Env): CommandApiConfig {
  return {
    tokens: ApiTokens.parse(V.SWITCHBOARD_API_TOKENS.name, env[V.SWITCHBOARD_API_TOKENS.name]),
    rate: parseRate(V.SWITCHBOARD_API_RATE.name, readText(env, V.SWITCHBOARD_API_RATE)),
  };
}

const RATE = /^(\d+(?:\.\d+)?)\s*\/\s*(s|m)(?:\s*,\s*(\d+))?$/;

/** `20/s,40` -> 20 a second, 40 at once; `30/m` -> half a request a second, 60 at once. */
export function parseRate(variable: string, value: string): RateLimit {
  const match = RATE.exec(value.trim());
  const count = Number(match?.[1]);
  const burst = match?.[3] === undefined ? Math.max(1, Math.round(2 * count)) : Number(match[3]);
  if (!match || !(count > 0) || count > 100_000 || !(burst >= 1) || burst > 1_000_000) {
    throw new ConfigError(
      variable,
      `"${value}" is not a rate such as 20/s,40 or 30/m (requests a second or a minute, above 0, then the burst, at least 1)`,
    );
  }
  return { perSecond: match[2] === 'm' ? count / 60 : count, burst };
}

/** The rate as SWITCHBOARD_API_RATE writes it, per second: `20/s,40`. */
export function formatRate(rate: RateLimit): string {
  return `${rate.perSecond}/s,${rate.burst}`;
}

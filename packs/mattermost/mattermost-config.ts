import { ConfigError, type Env } from '../../shared/config.ts';
import { defineVariables, readInteger, readText } from '../../shared/config-variables.ts';

/** The settings of the pack; the defaults are MATTERMOST_VARIABLES'. */
export interface MattermostConfig {
  /** MATTERMOST_URL and MATTERMOST_TOKEN: a bot account, for every command and ReceivedMessage. Default: unset. */
  bot: { url: string; token: string } | undefined;
  /** MATTERMOST_WEBHOOK_URL: an incoming webhook, for SendMessage and SendRichMessage only. Default: unset. */
  webhookUrl: string | undefined;
  /**
   * Slash commands and outgoing webhooks: served on MATTERMOST_HTTP_PORT and MATTERMOST_HTTP_HOST when
   * MATTERMOST_COMMAND_TOKENS (comma-separated, so a token can be rotated) is set. Default: off.
   */
  commands:
    | {
        port: number;
        host: string;
        tokens: readonly string[];
        /** MATTERMOST_COMMAND_WAIT_MS: how long the answer waits for the flow's (Mattermost gives up at 3 s). */
        waitMs: number;
        /** MATTERMOST_COMMAND_ACK: what the user sees when the flow is slower. */
        acknowledgement: string;
      }
    | undefined;
}

/** The pack's variables: its parser's defaults, `switchboard pack mattermost --help` and the README's table. */
export const MATTERMOST_VARIABLES = defineVariables({
  MATTERMOST_URL: {
    default: 'unset',
    meaning: "the server's URL, e.g. `https://mattermost.example.org` (bot mode, with `MATTERMOST_TOKEN`)",
  },
  MATTERMOST_TOKEN: { default: 'unset', meaning: "the bot account's access token (bot mode)" },
  MATTERMOST_WEBHOOK_URL: {
    default: 'unset',
    meaning: 'an incoming webhook (webhook mode; used only without a bot account)',
  },
  MATTERMOST_COMMAND_TOKENS: {
    default: 'unset',
    meaning: 'slash command / outgoing webhook tokens, comma-separated; enables the HTTP endpoints',
  },
  MATTERMOST_HTTP_PORT: {
    defaultValue: 8081,
    meaning: 'port of the HTTP endpoints, `/mattermost/command` and `/mattermost/outgoing`',
  },
  MATTERMOST_HTTP_HOST: { defaultValue: '0.0.0.0', meaning: 'bind address of the HTTP endpoints' },
  MATTERMOST_COMMAND_WAIT_MS: {
    defaultValue: 2500,
    meaning: "how long the reply waits for the flow's answer (at most 2900)",
  },
  MATTERMOST_COMMAND_ACK: {
    defaultValue: 'Working on it…',
    meaning: 'the ephemeral reply when the flow is slower',
  },
});

/** What `switchboard all` says when the pack is not configured: only what makes it run, in any of its modes. */
export const MATTERMOST_TO_RUN =
  'set MATTERMOST_URL and MATTERMOST_TOKEN (a bot account), MATTERMOST_WEBHOOK_URL (an incoming webhook) or MATTERMOST_COMMAND_TOKENS (slash commands)';

const V = MATTERMOST_VARIABLES;

/** True when the environment holds enough to start the pack in at least one mode. */
export function mattermostConfigured(env: Env): boolean {
  return Boolean(
    (env.MATTERMOST_URL?.trim() && env.MATTERMOST_TOKEN?.trim()) ||
      env.MATTERMOST_WEBHOOK_URL?.trim() ||
      env.MATTERMOST_COMMAND_TOKENS?.trim(),
  );
}

export function parseMattermostConfig(env: Env): MattermostConfig {
  const config = { bot: parseBot(env), webhookUrl: parseWebhookUrl(env), commands: parseCommands(env) };
  if (!config.bot && !config.webhookUrl && !config.commands) {
    throw new ConfigError(
      'MATTERMOST_URL',
      'is required with MATTERMOST_TOKEN for a bot account; or set MATTERMOST_WEBHOOK_URL (an incoming webhook) or MATTERMOST_COMMAND_TOKENS (slash commands)',
    );
  }
  return config;
}

function httpUrl(variable: string, value: string): string {
  if (!/^https?:\/\/[^/]/.test(value)) throw new ConfigError(variable, `"${value}" is not an http(s) URL`);
  return value;
}

function parseBot(env: Env): MattermostConfig['bot'] {
  const url = env.MATTERMOST_URL?.trim().replace(/\/+$/, '');
  const token = env.MATTERMOST_TOKEN?.trim();
  if (!url && !token) return undefined;
  if (!url) throw new ConfigError('MATTERMOST_URL', 'is required with MATTERMOST_TOKEN: the server URL');
  if (!token)
    throw new ConfigError(
      'MATTERMOST_TOKEN',
      "is required with MATTERMOST_URL: the bot account's access token",
    );
  return { url: httpUrl('MATTERMOST_URL', url), token };
}

function parseWebhookUrl(env: Env): string | undefined {
  const url = env.MATTERMOST_WEBHOOK_URL?.trim();
  return url ? httpUrl('MATTERMOST_WEBHOOK_URL', url) : undefined;
}

function parseCommands(env: Env): MattermostConfig['commands'] {
  const tokens = (env.MATTERMOST_COMMAND_TOKENS ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter(Boolean);
  if (tokens.length === 0) return undefined;
  return {
    port: readInteger(env, V.MATTERMOST_HTTP_PORT, 0, 65_535),
    host: readText(env, V.MATTERMOST_HTTP_HOST),
    tokens,
    waitMs: readInteger(env, V.MATTERMOST_COMMAND_WAIT_MS, 0, 2900),
    acknowledgement: readText(env, V.MATTERMOST_COMMAND_ACK),
  };
}

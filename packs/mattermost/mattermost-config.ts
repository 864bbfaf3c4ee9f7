import { ConfigError, type Env, parseInteger } from '../../shared/config.ts';

export interface MattermostConfig {
  /** MATTERMOST_URL and MATTERMOST_TOKEN: a bot account, for every command and ReceivedMessage. Default: unset. */
  bot: { url: string; token: string } | undefined;
  /** MATTERMOST_WEBHOOK_URL: an incoming webhook, for SendMessage and SendRichMessage only. Default: unset. */
  webhookUrl: string | undefined;
  /**
   * Slash commands and outgoing webhooks: served on MATTERMOST_HTTP_PORT (default 8081) when
   * MATTERMOST_COMMAND_TOKENS (comma-separated, so a token can be rotated) is set. Default: off.
   */
  commands:
    | {
        port: number;
        host: string;
        tokens: readonly string[];
        /** MATTERMOST_COMMAND_WAIT_MS: how long the answer waits for the flow's. Default 2500 (Mattermost gives up at 3 s). */
        waitMs: number;
        /** MATTERMOST_COMMAND_ACK: what the user sees when the flow is slower. Default: "Working on it…". */
        acknowledgement: string;
      }
    | undefined;
}

export const MATTERMOST_SETTINGS: Record<string, string> = {
  MATTERMOST_URL: 'server URL, e.g. https://mattermost.example.org (bot mode, with MATTERMOST_TOKEN)',
  MATTERMOST_TOKEN: "the bot account's access token (bot mode)",
  MATTERMOST_WEBHOOK_URL: 'an incoming webhook URL (webhook mode: SendMessage and SendRichMessage only)',
  MATTERMOST_COMMAND_TOKENS:
    'slash command / outgoing webhook tokens, comma-separated (serves /mattermost/command)',
  MATTERMOST_HTTP_PORT: 'port for slash commands and outgoing webhooks (default: 8081)',
  MATTERMOST_COMMAND_WAIT_MS: "how long a slash command's answer waits for the flow (default: 2500)",
  MATTERMOST_COMMAND_ACK: 'the answer when the flow is slower (default: "Working on it…")',
};

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
    port: parseInteger('MATTERMOST_HTTP_PORT', env.MATTERMOST_HTTP_PORT, 8081, 0, 65_535),
    host: env.MATTERMOST_HTTP_HOST?.trim() || '0.0.0.0',
    tokens,
    waitMs: parseInteger('MATTERMOST_COMMAND_WAIT_MS', env.MATTERMOST_COMMAND_WAIT_MS, 2500, 0, 2900),
    acknowledgement: env.MATTERMOST_COMMAND_ACK?.trim() || 'Working on it…',
  };
}

import { ConfigError, type Env, parseInteger } from '../../shared/config.ts';

export interface SlackConfig {
  /** SLACK_BOT_TOKEN: the bot token, `xoxb-...`. Required. */
  botToken: string;
  /** SLACK_APP_TOKEN: an app-level token `xapp-...` for Socket Mode (no public URL needed). Required. */
  appToken: string;
  /** SLACK_API_URL: the Web API base. Default: https://slack.com/api/ (tests and proxies change it). */
  apiUrl: string | undefined;
  /** SLACK_STATE_DIR: where channels.json (the joined channels) is kept. Default: unset (memory only). */
  stateDir: string | undefined;
  /** SLACK_DEFAULT_JOIN_CHANNEL: a channel (id or name) joined at start. Default: none. */
  defaultJoinChannel: string | undefined;
  /** SLACK_PACE_BURST and SLACK_PACE_PER_SECOND: messages per channel at once, and per second after. Default: 3 and 1. */
  pacing: { burst: number; perSecond: number };
  /** SLACK_USER_CACHE_TTL: seconds a users.info answer is kept. Default: 600. */
  userCacheTtlMs: number;
}

export const SLACK_SETTINGS: Record<string, string> = {
  SLACK_BOT_TOKEN: 'bot token xoxb-... (required)',
  SLACK_APP_TOKEN: 'app-level token xapp-... for Socket Mode (required)',
};

/** True when the environment holds enough to start the pack. */
export function slackConfigured(env: Env): boolean {
  return Boolean(
    env.SLACK_BOT_TOKEN?.trim() && (env.SLACK_APP_TOKEN?.trim() || env.SLACK_SIGNING_SECRET?.trim()),
  );
}

export function parseSlackConfig(env: Env): SlackConfig {
  const botToken = env.SLACK_BOT_TOKEN?.trim();
  if (!botToken)
    throw new ConfigError('SLACK_BOT_TOKEN', 'is required: the bot token from your Slack app (xoxb-...)');
  if (!botToken.startsWith('xoxb-')) {
    throw new ConfigError(
      'SLACK_BOT_TOKEN',
      'must be a bot token, starting with xoxb- (not a user or app token)',
    );
  }
  const appToken = env.SLACK_APP_TOKEN?.trim();
  if (!appToken) {
    throw new ConfigError(
      'SLACK_APP_TOKEN',
      'is required: an app-level token (xapp-...) with connections:write, for Socket Mode',
    );
  }
  if (!appToken.startsWith('xapp-')) {
    throw new ConfigError('SLACK_APP_TOKEN', 'must be an app-level token, starting with xapp-');
  }
  const apiUrl = env.SLACK_API_URL?.trim() || undefined;
  if (apiUrl && !/^https?:\/\/[^/]/.test(apiUrl))
    throw new ConfigError('SLACK_API_URL', `"${apiUrl}" is not an http(s) URL`);
  return {
    botToken,
    appToken,
    apiUrl: apiUrl && !apiUrl.endsWith('/') ? `${apiUrl}/` : apiUrl,
    stateDir: env.SLACK_STATE_DIR?.trim() || undefined,
    defaultJoinChannel: env.SLACK_DEFAULT_JOIN_CHANNEL?.trim() || undefined,
    pacing: {
      burst: parseInteger('SLACK_PACE_BURST', env.SLACK_PACE_BURST, 3, 1, 100),
      perSecond: parseInteger('SLACK_PACE_PER_SECOND', env.SLACK_PACE_PER_SECOND, 1, 1, 100),
    },
    userCacheTtlMs: parseInteger('SLACK_USER_CACHE_TTL', env.SLACK_USER_CACHE_TTL, 600, 0, 86_400) * 1000,
  };
}

import { ConfigError, type Env, parseInteger } from '../../shared/config.ts';

export interface SlackConfig {
  /** SLACK_BOT_TOKEN: the bot token, `xoxb-...`. Required. */
  botToken: string;
  /**
   * How events arrive: `socket` (Socket Mode, when SLACK_APP_TOKEN is set: no public URL needed) or `http`
   * (the Events API, when only SLACK_SIGNING_SECRET is set). One of the two variables is required.
   */
  events: { mode: 'socket'; appToken: string } | { mode: 'http'; signingSecret: string; port: number };
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
  SLACK_APP_TOKEN: 'app-level token xapp-... : events over Socket Mode (this or SLACK_SIGNING_SECRET)',
  SLACK_SIGNING_SECRET: 'signing secret: events over HTTP at /slack/events, used when no app token is set',
  SLACK_HTTP_PORT: 'port for the HTTP Events API mode (default: 3000)',
  SLACK_API_URL: 'Web API base (default: https://slack.com/api/)',
  SLACK_STATE_DIR: 'where channels.json is kept (default: none, memory only)',
  SLACK_DEFAULT_JOIN_CHANNEL: 'channel joined at start (default: none)',
  SLACK_PACE_BURST: 'messages a quiet channel takes at once (default: 3)',
  SLACK_PACE_PER_SECOND: 'messages per second per channel after the burst (default: 1)',
  SLACK_USER_CACHE_TTL: 'seconds a user lookup is cached (default: 600)',
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
  const events = parseEventsMode(env);
  const apiUrl = env.SLACK_API_URL?.trim() || undefined;
  if (apiUrl && !/^https?:\/\/[^/]/.test(apiUrl))
    throw new ConfigError('SLACK_API_URL', `"${apiUrl}" is not an http(s) URL`);
  return {
    botToken,
    events,
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

function parseEventsMode(env: Env): SlackConfig['events'] {
  const appToken = env.SLACK_APP_TOKEN?.trim();
  if (appToken) {
    if (!appToken.startsWith('xapp-'))
      throw new ConfigError('SLACK_APP_TOKEN', 'must be an app-level token, starting with xapp-');
    return { mode: 'socket', appToken };
  }
  const signingSecret = env.SLACK_SIGNING_SECRET?.trim();
  if (signingSecret) {
    return {
      mode: 'http',
      signingSecret,
      port: parseInteger('SLACK_HTTP_PORT', env.SLACK_HTTP_PORT, 3000, 0, 65_535),
    };
  }
  throw new ConfigError(
    'SLACK_APP_TOKEN',
    'is required for Socket Mode: an app-level token (xapp-...) with connections:write; or set SLACK_SIGNING_SECRET to receive events over HTTP instead',
  );
}

import { ConfigError, type Env } from '../../shared/config.ts';
import { defineVariables, readInteger, readText } from '../../shared/config-variables.ts';

/** The settings of the pack; the defaults are SLACK_VARIABLES'. */
export interface SlackConfig {
  /** SLACK_BOT_TOKEN: the bot token, `xoxb-...`. Required. */
  botToken: string;
  /**
   * How events arrive: `socket` (Socket Mode, when SLACK_APP_TOKEN is set: no public URL needed) or `http`
   * (the Events API, when only SLACK_SIGNING_SECRET is set). One of the two variables is required.
   */
  events: { mode: 'socket'; appToken: string } | { mode: 'http'; signingSecret: string; port: number };
  /** SLACK_API_URL: the Web API base, ending in `/` (tests and proxies change it). */
  apiUrl: string;
  /** SLACK_STATE_DIR: where channels.json (the joined channels) is kept. Default: unset (memory only). */
  stateDir: string | undefined;
  /** SLACK_DEFAULT_JOIN_CHANNEL: a channel (id or name) joined at start. Default: none. */
  defaultJoinChannel: string | undefined;
  /** SLACK_PACE_BURST and SLACK_PACE_PER_SECOND: messages per channel at once, and per second after. */
  pacing: { burst: number; perSecond: number };
  /** SLACK_USER_CACHE_TTL: seconds a users.info answer is kept. */
  userCacheTtlMs: number;
}

/** The pack's variables: its parser's defaults, `switchboard pack slack --help` and the README's table. */
export const SLACK_VARIABLES = defineVariables({
  SLACK_BOT_TOKEN: { default: 'required', meaning: 'the bot token, `xoxb-...`' },
  SLACK_APP_TOKEN: {
    default: 'this or `SLACK_SIGNING_SECRET`',
    meaning: 'an app-level token with `connections:write`, `xapp-...`: events over Socket Mode',
  },
  SLACK_SIGNING_SECRET: {
    default: 'this or `SLACK_APP_TOKEN`',
    meaning: "the app's signing secret: events over HTTP, used only when `SLACK_APP_TOKEN` is unset",
  },
  SLACK_HTTP_PORT: { defaultValue: 3000, meaning: 'port of the HTTP events endpoint, `POST /slack/events`' },
  SLACK_DEFAULT_JOIN_CHANNEL: { default: 'none', meaning: 'a channel (id or `#name`) joined at start' },
  SLACK_STATE_DIR: {
    default: 'unset (memory only)',
    meaning: 'where `channels.json`, the channels the pack is in, is kept',
  },
  SLACK_API_URL: {
    defaultValue: 'https://slack.com/api/',
    meaning: 'the Web API base (a proxy, or the fake Slack)',
  },
  SLACK_PACE_BURST: { defaultValue: 3, meaning: 'messages a quiet channel takes at once' },
  SLACK_PACE_PER_SECOND: { defaultValue: 1, meaning: 'messages per second per channel after the burst' },
  SLACK_USER_CACHE_TTL: { defaultValue: 600, meaning: "seconds a user's details are cached" },
});

/** What `switchboard all` says when the pack is not configured: only what makes it run. */
export const SLACK_TO_RUN = 'set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (or SLACK_SIGNING_SECRET)';

const V = SLACK_VARIABLES;

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
  const apiUrl = readText(env, V.SLACK_API_URL);
  if (!/^https?:\/\/[^/]/.test(apiUrl))
    throw new ConfigError('SLACK_API_URL', `"${apiUrl}" is not an http(s) URL`);
  return {
    botToken,
    events,
    apiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`,
    stateDir: readText(env, V.SLACK_STATE_DIR),
    defaultJoinChannel: readText(env, V.SLACK_DEFAULT_JOIN_CHANNEL),
    pacing: {
      burst: readInteger(env, V.SLACK_PACE_BURST, 1, 100),
      perSecond: readInteger(env, V.SLACK_PACE_PER_SECOND, 1, 100),
    },
    userCacheTtlMs: readInteger(env, V.SLACK_USER_CACHE_TTL, 0, 86_400) * 1000,
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
      port: readInteger(env, V.SLACK_HTTP_PORT, 0, 65_535),
    };
  }
  throw new ConfigError(
    'SLACK_APP_TOKEN',
    'is required for Socket Mode: an app-level token (xapp-...) with connections:write; or set SLACK_SIGNING_SECRET to receive events over HTTP instead',
  );
}

import { ConfigError, type Env } from '../../shared/config.ts';
import { defineVariables, readText } from '../../shared/config-variables.ts';

/** The settings of the pack; the defaults are MATRIX_VARIABLES'. */
export interface MatrixConfig {
  /** MATRIX_HOMESERVER_URL: the homeserver's client API base, e.g. https://matrix.example.org. Required. */
  homeserverUrl: string;
  /**
   * How the pack signs in: `token` (MATRIX_ACCESS_TOKEN, with MATRIX_USER_ID) or `password`
   * (MATRIX_USER_ID and MATRIX_PASSWORD: logs in once, keeps the token and device in MATRIX_STATE_DIR).
   */
  auth:
    | { kind: 'token'; accessToken: string; userId: string | undefined }
    | { kind: 'password'; userId: string; password: string };
  /** MATRIX_STATE_DIR: where the session and the last sync token are kept. Default: unset (memory only). */
  stateDir: string | undefined;
  /**
   * MATRIX_AUTO_JOIN: `true` joins every room the bot is invited to; a comma-separated list of servers joins
   * only invites from users on those servers. Default: unset, so invites are emitted as InviteReceived.
   */
  autoJoin: { servers: readonly string[] | 'any' } | undefined;
  /** MATRIX_MSGTYPE: `m.text` or `m.notice` (what bots are advised to send). */
  msgtype: 'm.text' | 'm.notice';
}

/** The pack's variables: its parser's defaults, `switchboard pack matrix --help` and the README's table. */
export const MATRIX_VARIABLES = defineVariables({
  MATRIX_HOMESERVER_URL: {
    default: 'required',
    meaning: "the homeserver's client API base URL, e.g. `https://matrix.example.org`",
  },
  MATRIX_ACCESS_TOKEN: { default: 'this or `MATRIX_PASSWORD`', meaning: "the bot's access token" },
  MATRIX_USER_ID: {
    default: 'unset',
    meaning: "the bot's user id, `@bot:example.org`: needed with `MATRIX_PASSWORD`, checked against a token",
  },
  MATRIX_PASSWORD: {
    default: 'this or `MATRIX_ACCESS_TOKEN`',
    meaning: "the bot's password: the pack logs in once and keeps the session (needs `MATRIX_STATE_DIR`)",
  },
  MATRIX_STATE_DIR: {
    default: 'unset (memory only)',
    meaning:
      'the session and the last sync token; without it a restart misses what was said while the pack was down',
  },
  MATRIX_AUTO_JOIN: {
    default: 'unset (emit `InviteReceived`)',
    meaning:
      '`true` accepts every invitation; `example.org,matrix.org` only those from users on these servers',
  },
  MATRIX_MSGTYPE: {
    defaultValue: 'm.text',
    meaning:
      "`m.notice` marks the bot's messages as a bot's (clients show them greyed, other bots ignore them)",
  },
});

/** What `switchboard all` says when the pack is not configured: only what makes it run. */
export const MATRIX_TO_RUN =
  'set MATRIX_HOMESERVER_URL and MATRIX_ACCESS_TOKEN (or MATRIX_USER_ID, MATRIX_PASSWORD and MATRIX_STATE_DIR)';

const V = MATRIX_VARIABLES;

const USER_ID = /^@[^:\s]+:\S+$/;

/** True when the environment holds enough to start the pack. */
export function matrixConfigured(env: Env): boolean {
  return Boolean(
    env.MATRIX_HOMESERVER_URL?.trim() && (env.MATRIX_ACCESS_TOKEN?.trim() || env.MATRIX_PASSWORD?.trim()),
  );
}

export function parseMatrixConfig(env: Env): MatrixConfig {
  const homeserverUrl = env.MATRIX_HOMESERVER_URL?.trim().replace(/\/+$/, '');
  if (!homeserverUrl)
    throw new ConfigError(
      'MATRIX_HOMESERVER_URL',
      'is required: the homeserver URL, e.g. https://matrix.example.org',
    );
  if (!/^https?:\/\/[^/]/.test(homeserverUrl))
    throw new ConfigError('MATRIX_HOMESERVER_URL', `"${homeserverUrl}" is not an http(s) URL`);
  const stateDir = readText(env, V.MATRIX_STATE_DIR);
  return {
    homeserverUrl,
    auth: parseAuth(env, stateDir),
    stateDir,
    autoJoin: parseAutoJoin(env.MATRIX_AUTO_JOIN),
    msgtype: parseMsgtype(readText(env, V.MATRIX_MSGTYPE)),
  };
}

function parseAuth(env: Env, stateDir: string | undefined): MatrixConfig['auth'] {
  const userId = env.MATRIX_USER_ID?.trim() || undefined;
  if (userId && !USER_ID.test(userId))
    throw new ConfigError('MATRIX_USER_ID', `"${userId}" is not a Matrix user id like @bot:example.org`);
  const accessToken = env.MATRIX_ACCESS_TOKEN?.trim();
  if (accessToken) return { kind: 'token', accessToken, userId };
  const password = env.MATRIX_PASSWORD?.trim();
  if (!password) {
    throw new ConfigError(
      'MATRIX_ACCESS_TOKEN',
      "is required (the bot's access token); or set MATRIX_USER_ID and MATRIX_PASSWORD to log in",
    );
  }
  if (!userId) throw new ConfigError('MATRIX_USER_ID', 'is required with MATRIX_PASSWORD');
  // Logging in at every start would leave a new device behind each time.
  if (!stateDir)
    throw new ConfigError(
      'MATRIX_STATE_DIR',
      'is required with MATRIX_PASSWORD, to keep the session between starts',
    );
  return { kind: 'password', userId, password };
}

function parseAutoJoin(value: string | undefined): MatrixConfig['autoJoin'] {
  const text = value?.trim().toLowerCase();
  if (!text || text === 'false' || text === '0' || text === 'no') return undefined;
  if (text === 'true' || text === '1' || text === 'yes' || text === '*') return { servers: 'any' };
  const servers = text
    .split(',')
    .map((server) => server.trim())
    .filter(Boolean);
  for (const server of servers) {
    if (!/^[a-z0-9.-]+(:\d+)?$/.test(server))
      throw new ConfigError(
        'MATRIX_AUTO_JOIN',
        `"${server}" is not a server name; use true, or servers like example.org,matrix.org`,
      );
  }
  return { servers };
}

function parseMsgtype(msgtype: string): MatrixConfig['msgtype'] {
  if (msgtype !== 'm.text' && msgtype !== 'm.notice')
    throw new ConfigError('MATRIX_MSGTYPE', `must be m.text or m.notice, not "${msgtype}"`);
  return msgtype;
}

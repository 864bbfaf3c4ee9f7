import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MATRIX_TO_RUN,
  MATRIX_VARIABLES,
  matrixConfigured,
  parseMatrixConfig,
} from '../../../packs/matrix/matrix-config.ts';
import { ConfigError, type Env } from '../../../shared/config.ts';
import { defaultValues } from '../../../shared/config-variables.ts';

const server = { MATRIX_HOMESERVER_URL: 'https://matrix.example.org/' };

test('a token, or a user id and password with a state directory, signs the pack in', () => {
  assert.deepEqual(parseMatrixConfig({ ...server, MATRIX_ACCESS_TOKEN: 'syt_x' }), {
    homeserverUrl: 'https://matrix.example.org',
    auth: { kind: 'token', accessToken: 'syt_x', userId: undefined },
    stateDir: undefined,
    autoJoin: undefined,
    msgtype: 'm.text',
  });
  const password = parseMatrixConfig({
    ...server,
    MATRIX_USER_ID: '@bot:example.org',
    MATRIX_PASSWORD: 'pw',
    MATRIX_STATE_DIR: '/var/lib/sb',
    MATRIX_AUTO_JOIN: 'example.org, matrix.org',
    MATRIX_MSGTYPE: 'm.notice',
  });
  assert.deepEqual(password.auth, { kind: 'password', userId: '@bot:example.org', password: 'pw' });
  assert.deepEqual(password.autoJoin, { servers: ['example.org', 'matrix.org'] });
  assert.equal(password.msgtype, 'm.notice');
  assert.deepEqual(
    parseMatrixConfig({ ...server, MATRIX_ACCESS_TOKEN: 't', MATRIX_AUTO_JOIN: 'true' }).autoJoin,
    {
      servers: 'any',
    },
  );
});

test('each bad setting is refused naming its variable', () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{}, 'MATRIX_HOMESERVER_URL'],
    [{ MATRIX_HOMESERVER_URL: 'matrix.example.org', MATRIX_ACCESS_TOKEN: 't' }, 'MATRIX_HOMESERVER_URL'],
    [server, 'MATRIX_ACCESS_TOKEN'],
    [{ ...server, MATRIX_PASSWORD: 'pw' }, 'MATRIX_USER_ID'],
    [{ ...server, MATRIX_PASSWORD: 'pw', MATRIX_USER_ID: '@bot:example.org' }, 'MATRIX_STATE_DIR'],
    [{ ...server, MATRIX_ACCESS_TOKEN: 't', MATRIX_USER_ID: 'bot' }, 'MATRIX_USER_ID'],
    [{ ...server, MATRIX_ACCESS_TOKEN: 't', MATRIX_MSGTYPE: 'm.emote' }, 'MATRIX_MSGTYPE'],
    [{ ...server, MATRIX_ACCESS_TOKEN: 't', MATRIX_AUTO_JOIN: 'not a server!' }, 'MATRIX_AUTO_JOIN'],
  ];
  for (const [env, variable] of cases) {
    assert.throws(
      () => parseMatrixConfig(env),
      (error: unknown) => error instanceof ConfigError && error.variable === variable,
      `${JSON.stringify(env)} names ${variable}`,
    );
  }
});

test('`switchboard all` starts the pack when a homeserver and a token or password are set', () => {
  assert.equal(matrixConfigured(server), false);
  assert.equal(matrixConfigured({ ...server, MATRIX_ACCESS_TOKEN: 't' }), true);
  assert.equal(matrixConfigured({ ...server, MATRIX_PASSWORD: 'pw' }), true);
});

test('unset variables take the defaults of the definitions that --help and the README show', () => {
  const config = parseMatrixConfig({ ...server, MATRIX_ACCESS_TOKEN: 't' });
  assert.deepEqual({ MATRIX_MSGTYPE: config.msgtype }, defaultValues(MATRIX_VARIABLES));
  assert.equal(config.stateDir, undefined);
  assert.equal(config.autoJoin, undefined);
});

/** The variables a sentence names. */
function namesIn(sentence: string): string[] {
  return [...new Set(sentence.match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g) ?? [])].sort();
}

/** True when the pack would start and run with `env`. */
function runs(env: Env): boolean {
  if (!matrixConfigured(env)) return false;
  try {
    parseMatrixConfig(env);
    return true;
  } catch (error) {
    if (error instanceof ConfigError) return false;
    throw error;
  }
}

test('the "not configured" line names what makes the pack run, and nothing it could do without', () => {
  const ways = [
    { MATRIX_HOMESERVER_URL: 'https://matrix.example.org', MATRIX_ACCESS_TOKEN: 'syt_x' },
    {
      MATRIX_HOMESERVER_URL: 'https://matrix.example.org',
      MATRIX_USER_ID: '@bot:example.org',
      MATRIX_PASSWORD: 'pw',
      MATRIX_STATE_DIR: '/var/lib/switchboard/matrix',
    },
  ];
  assert.deepEqual(namesIn(MATRIX_TO_RUN), [...new Set(ways.flatMap(Object.keys))].sort());
  for (const env of ways) {
    assert.ok(runs(env), JSON.stringify(env));
    for (const name of Object.keys(env)) assert.ok(!runs({ ...env, [name]: undefined }), `without ${name}`);
  }
  for (const name of namesIn(MATRIX_TO_RUN)) assert.ok(name in MATRIX_VARIABLES, name);
});

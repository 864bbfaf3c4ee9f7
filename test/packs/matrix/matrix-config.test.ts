import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matrixConfigured, parseMatrixConfig } from '../../../packs/matrix/matrix-config.ts';
import { ConfigError } from '../../../shared/config.ts';

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

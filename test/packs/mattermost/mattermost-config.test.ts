import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mattermostConfigured, parseMattermostConfig } from '../../../packs/mattermost/mattermost-config.ts';
import { ConfigError } from '../../../shared/config.ts';

test('each mode is configured on its own, and all three together', () => {
  assert.deepEqual(
    parseMattermostConfig({ MATTERMOST_URL: 'https://mm.example.org/', MATTERMOST_TOKEN: 't' }),
    {
      bot: { url: 'https://mm.example.org', token: 't' },
      webhookUrl: undefined,
      commands: undefined,
    },
  );
  assert.equal(
    parseMattermostConfig({ MATTERMOST_WEBHOOK_URL: 'https://mm.example.org/hooks/abc' }).webhookUrl,
    'https://mm.example.org/hooks/abc',
  );
  assert.deepEqual(parseMattermostConfig({ MATTERMOST_COMMAND_TOKENS: 'one, two' }).commands, {
    port: 8081,
    host: '0.0.0.0',
    tokens: ['one', 'two'],
    waitMs: 2500,
    acknowledgement: 'Working on it…',
  });
});

test('each bad setting is refused naming its variable', () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{}, 'MATTERMOST_URL'],
    [{ MATTERMOST_TOKEN: 't' }, 'MATTERMOST_URL'],
    [{ MATTERMOST_URL: 'https://mm.example.org' }, 'MATTERMOST_TOKEN'],
    [{ MATTERMOST_URL: 'mm.example.org', MATTERMOST_TOKEN: 't' }, 'MATTERMOST_URL'],
    [{ MATTERMOST_WEBHOOK_URL: 'hooks/abc' }, 'MATTERMOST_WEBHOOK_URL'],
    [{ MATTERMOST_COMMAND_TOKENS: 't', MATTERMOST_HTTP_PORT: 'eighty' }, 'MATTERMOST_HTTP_PORT'],
    [{ MATTERMOST_COMMAND_TOKENS: 't', MATTERMOST_COMMAND_WAIT_MS: '5000' }, 'MATTERMOST_COMMAND_WAIT_MS'],
  ];
  for (const [env, variable] of cases) {
    assert.throws(
      () => parseMattermostConfig(env),
      (error: unknown) => error instanceof ConfigError && error.variable === variable,
      `${JSON.stringify(env)} names ${variable}`,
    );
  }
});

test('`switchboard all` starts the pack when any mode is configured', () => {
  assert.equal(mattermostConfigured({}), false);
  assert.equal(mattermostConfigured({ MATTERMOST_URL: 'https://x', MATTERMOST_TOKEN: 't' }), true);
  assert.equal(mattermostConfigured({ MATTERMOST_WEBHOOK_URL: 'https://x/hooks/y' }), true);
  assert.equal(mattermostConfigured({ MATTERMOST_COMMAND_TOKENS: 't' }), true);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MATTERMOST_TO_RUN,
  MATTERMOST_VARIABLES,
  mattermostConfigured,
  parseMattermostConfig,
} from '../../../packs/mattermost/mattermost-config.ts';
import { ConfigError, type Env } from '../../../shared/config.ts';
import { defaultValues } from '../../../shared/config-variables.ts';

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

test('unset variables take the defaults of the definitions that --help and the README show', () => {
  const commands = parseMattermostConfig({ MATTERMOST_COMMAND_TOKENS: 't' }).commands;
  assert.deepEqual(
    {
      MATTERMOST_HTTP_PORT: commands?.port,
      MATTERMOST_HTTP_HOST: commands?.host,
      MATTERMOST_COMMAND_WAIT_MS: commands?.waitMs,
      MATTERMOST_COMMAND_ACK: commands?.acknowledgement,
    },
    defaultValues(MATTERMOST_VARIABLES),
  );
});

/** The variables a sentence names. */
function namesIn(sentence: string): string[] {
  return [...new Set(sentence.match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g) ?? [])].sort();
}

/** True when the pack would start and run with `env`. */
function runs(env: Env): boolean {
  if (!mattermostConfigured(env)) return false;
  try {
    parseMattermostConfig(env);
    return true;
  } catch (error) {
    if (error instanceof ConfigError) return false;
    throw error;
  }
}

test('the "not configured" line names what makes the pack run in each mode, and nothing it could do without', () => {
  const ways = [
    { MATTERMOST_URL: 'https://mm.example.org', MATTERMOST_TOKEN: 't' },
    { MATTERMOST_WEBHOOK_URL: 'https://mm.example.org/hooks/abc' },
    { MATTERMOST_COMMAND_TOKENS: 't' },
  ];
  assert.deepEqual(namesIn(MATTERMOST_TO_RUN), [...new Set(ways.flatMap(Object.keys))].sort());
  for (const env of ways) {
    assert.ok(runs(env), JSON.stringify(env));
    for (const name of Object.keys(env)) assert.ok(!runs({ ...env, [name]: undefined }), `without ${name}`);
  }
  for (const name of namesIn(MATTERMOST_TO_RUN)) assert.ok(name in MATTERMOST_VARIABLES, name);
});

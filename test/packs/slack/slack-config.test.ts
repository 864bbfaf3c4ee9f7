import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseSlackConfig,
  SLACK_TO_RUN,
  SLACK_VARIABLES,
  slackConfigured,
} from '../../../packs/slack/slack-config.ts';
import { ConfigError } from '../../../shared/config.ts';
import { defaultValues } from '../../../shared/config-variables.ts';

const bot = { SLACK_BOT_TOKEN: 'xoxb-1' };

test('an app token selects Socket Mode, even when a signing secret is also set', () => {
  const config = parseSlackConfig({ ...bot, SLACK_APP_TOKEN: 'xapp-1', SLACK_SIGNING_SECRET: 's' });
  assert.deepEqual(config.events, { mode: 'socket', appToken: 'xapp-1' });
});

test('a signing secret without an app token selects the HTTP Events API on port 3000 by default', () => {
  assert.deepEqual(parseSlackConfig({ ...bot, SLACK_SIGNING_SECRET: 's' }).events, {
    mode: 'http',
    signingSecret: 's',
    port: 3000,
  });
  assert.equal(
    (
      parseSlackConfig({ ...bot, SLACK_SIGNING_SECRET: 's', SLACK_HTTP_PORT: '8081' }).events as {
        port: number;
      }
    ).port,
    8081,
  );
});

test('each bad setting is refused with the variable named', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{}, /^SLACK_BOT_TOKEN: is required/],
    [{ SLACK_BOT_TOKEN: 'xoxp-user' }, /^SLACK_BOT_TOKEN: must be a bot token/],
    [bot, /^SLACK_APP_TOKEN: is required for Socket Mode.*or set SLACK_SIGNING_SECRET/],
    [{ ...bot, SLACK_APP_TOKEN: 'xoxb-2' }, /^SLACK_APP_TOKEN: must be an app-level token/],
    [{ ...bot, SLACK_SIGNING_SECRET: 's', SLACK_HTTP_PORT: 'http' }, /^SLACK_HTTP_PORT: /],
    [{ ...bot, SLACK_APP_TOKEN: 'xapp-1', SLACK_API_URL: 'slack.com' }, /^SLACK_API_URL: /],
    [{ ...bot, SLACK_APP_TOKEN: 'xapp-1', SLACK_PACE_PER_SECOND: '0' }, /^SLACK_PACE_PER_SECOND: /],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => parseSlackConfig(env),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, message);
        return true;
      },
    );
  }
});

test('`switchboard all` starts the pack only when a bot token and a way to receive events are set', () => {
  assert.equal(slackConfigured(bot), false);
  assert.equal(slackConfigured({ ...bot, SLACK_APP_TOKEN: 'xapp-1' }), true);
  assert.equal(slackConfigured({ ...bot, SLACK_SIGNING_SECRET: 's' }), true);
});

test('unset variables take the defaults of the definitions that --help and the README show', () => {
  const config = parseSlackConfig({ ...bot, SLACK_SIGNING_SECRET: 's' });
  assert.equal(config.events.mode, 'http');
  assert.deepEqual(
    {
      SLACK_HTTP_PORT: config.events.mode === 'http' ? config.events.port : undefined,
      SLACK_API_URL: config.apiUrl,
      SLACK_PACE_BURST: config.pacing.burst,
      SLACK_PACE_PER_SECOND: config.pacing.perSecond,
      SLACK_USER_CACHE_TTL: config.userCacheTtlMs / 1000,
    },
    defaultValues(SLACK_VARIABLES),
  );
  assert.equal(config.stateDir, undefined);
  assert.equal(config.defaultJoinChannel, undefined);
});

/** The variables a sentence names. */
function namesIn(sentence: string): string[] {
  return [...new Set(sentence.match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g) ?? [])].sort();
}

test('the "not configured" line names what makes the pack run, and nothing it could do without', () => {
  const ways = [
    { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' },
    { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' },
  ];
  assert.deepEqual(namesIn(SLACK_TO_RUN), [...new Set(ways.flatMap(Object.keys))].sort());
  for (const env of ways) {
    assert.ok(slackConfigured(env), JSON.stringify(env));
    parseSlackConfig(env);
    for (const name of Object.keys(env)) {
      const short = { ...env, [name]: undefined };
      assert.ok(!slackConfigured(short), `without ${name}`);
    }
  }
  for (const name of namesIn(SLACK_TO_RUN)) assert.ok(name in SLACK_VARIABLES, name);
});

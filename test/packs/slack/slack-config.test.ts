import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSlackConfig, slackConfigured } from '../../../packs/slack/slack-config.ts';
import { ConfigError } from '../../../shared/config.ts';

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

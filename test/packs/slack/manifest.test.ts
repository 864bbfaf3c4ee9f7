import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { App } from '@slack/bolt';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import { JoinedChannels } from '../../../packs/slack/joined-channels.ts';
import { listenToSlack } from '../../../packs/slack/slack-events.ts';
import type { UserDirectory } from '../../../packs/slack/user-directory.ts';
import { testLogger } from '../../support/bus.ts';

// The manifest users paste must grant what the pack's code uses: a missing scope or event subscription
// only shows in a real workspace, as a missing_scope error or events that never arrive.
const PACK_DIR = new URL('../../../packs/slack/', import.meta.url);

interface Manifest {
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { bot_events: string[] }; socket_mode_enabled: boolean };
}

/** The bot scope each Web API method needs (docs.slack.dev/reference/methods/<method>). */
const SCOPE_OF_METHOD: Record<string, string> = {
  'chat.postMessage': 'chat:write',
  'conversations.join': 'channels:join',
  'conversations.leave': 'channels:read',
  'conversations.list': 'channels:read',
  'conversations.info': 'channels:read',
  'conversations.history': 'channels:history',
  'conversations.replies': 'channels:history',
  'users.info': 'users:read',
};

/** The subscriptions that deliver each event type a listener is registered for. */
const SUBSCRIPTIONS_OF_EVENT: Record<string, string[]> = {
  message: ['message.channels', 'message.groups', 'message.im', 'message.mpim'],
};

const manifest = async () => parse(await readFile(new URL('manifest.yaml', PACK_DIR), 'utf8')) as Manifest;

test('the manifest grants a scope for every Web API method the pack calls', async () => {
  const called = new Set<string>();
  for (const file of await readdir(PACK_DIR)) {
    if (!file.endsWith('.ts')) continue;
    const source = await readFile(new URL(file, PACK_DIR), 'utf8');
    for (const match of source.matchAll(/web\.(chat|conversations|users|reactions)\.(\w+)\(/g))
      called.add(`${match[1]}.${match[2]}`);
  }
  assert.ok(called.has('chat.postMessage') && called.has('conversations.history'), [...called].join());
  const scopes = (await manifest()).oauth_config.scopes.bot;
  for (const method of called) {
    const scope = SCOPE_OF_METHOD[method];
    assert.ok(scope, `add the scope ${method} needs to SCOPE_OF_METHOD (and to the manifest)`);
    assert.ok(scopes.includes(scope), `${method} needs ${scope}, which the manifest lacks`);
  }
  assert.ok(scopes.includes('users:read.email'), 'ReceivedMessage carries the email');
});

test('the manifest subscribes to every event the pack listens to, in Socket Mode', async () => {
  const listened: string[] = [];
  const app = { event: (name: string) => listened.push(name) } as unknown as App;
  listenToSlack(app, {
    context: {
      emit: async () => {},
      fail: () => {},
      request: async () => undefined,
      send: async () => {
        throw new Error('the manifest test sends nothing');
      },
      watch: async () => {
        throw new Error('the manifest test watches nothing');
      },
      logger: testLogger,
      registry: new Registry(),
    },
    bot: { userId: 'U0BOT', botId: 'B0BOT' },
    users: {} as UserDirectory,
    joined: await JoinedChannels.open({}),
  });
  assert.ok(listened.length >= 5, listened.join());
  const { settings } = await manifest();
  assert.equal(settings.socket_mode_enabled, true);
  for (const event of listened) {
    for (const subscription of SUBSCRIPTIONS_OF_EVENT[event] ?? [event]) {
      assert.ok(
        settings.event_subscriptions.bot_events.includes(subscription),
        `the pack listens to ${event}; the manifest lacks ${subscription}`,
      );
    }
  }
});

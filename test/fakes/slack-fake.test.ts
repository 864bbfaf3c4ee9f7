// Drives the fake Slack with the official SDK (@slack/web-api, @slack/socket-mode, @slack/bolt), so the
// fake is held to what the SDK really sends and expects.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { App, LogLevel } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { ErrorCode, WebClient, WebClientEvent, type WebClientOptions } from '@slack/web-api';
import { type FakeSlack, startFakeSlack } from './slack/index.ts';

const quiet = { logLevel: LogLevel.ERROR } as const;

function client(
  fake: FakeSlack,
  token: string | undefined = fake.tokens.bot,
  options: WebClientOptions = {},
) {
  return new WebClient(token, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    ...quiet,
    ...options,
  });
}

/** Runs `fn` and returns what it threw, failing when it did not throw. */
async function thrown(fn: () => Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await fn();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  assert.fail('expected a rejection');
}

describe('fake Slack Web API through @slack/web-api', () => {
  let fake: FakeSlack;
  before(async () => {
    fake = await startFakeSlack();
  });
  after(() => fake.close());

  test('auth.test answers for the bot token, invalid_auth for another, not_authed for none', async () => {
    const result = await client(fake).auth.test();
    assert.equal(result.ok, true);
    assert.equal(result.user_id, fake.bot.userId);
    assert.equal(result.bot_id, fake.bot.botId);
    assert.equal(result.team_id, fake.bot.teamId);
    assert.match(String(result.url), /^https:\/\/.+\.slack\.com\/$/);

    const invalid = await thrown(() => client(fake, 'xoxb-wrong').auth.test());
    assert.equal(invalid.code, ErrorCode.PlatformError);
    assert.equal((invalid.data as { error: string }).error, 'invalid_auth');

    const anonymous = new WebClient(undefined, {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      ...quiet,
    });
    const unauthenticated = await thrown(() => anonymous.auth.test());
    assert.equal((unauthenticated.data as { error: string }).error, 'not_authed');
  });

  test('chat.postMessage: attachments and blocks arrive as parsed objects; ts increases', async () => {
    fake.addChannel({ id: 'CPOST', name: 'deploys', isMember: true });
    const attachments = [
      { fallback: 'Deployed', color: '#36a64f', fields: [{ title: 'Env', value: 'staging' }] },
    ];
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*Deployed*' } }];
    const web = client(fake);
    const first = await web.chat.postMessage({ channel: 'CPOST', text: 'Deployed', attachments, blocks });
    const second = await web.chat.postMessage({ channel: '#deploys', text: 'reply', thread_ts: first.ts });

    assert.equal(first.channel, 'CPOST');
    assert.match(String(first.ts), /^\d{10}\.\d{6}$/);
    assert.ok(Number(second.ts) > Number(first.ts));
    assert.equal(first.message?.text, 'Deployed');

    const [posted, reply] = fake.messages.filter((m) => m.channel === 'CPOST');
    assert.deepEqual(posted?.attachments, attachments);
    assert.deepEqual(posted?.blocks, blocks);
    assert.equal(reply?.thread_ts, first.ts);
    // What went over the wire: a form body with attachments as a JSON string, token in the header.
    const request = fake.requests.find((r) => r.method === 'chat.postMessage');
    assert.equal(request?.contentType, 'application/x-www-form-urlencoded');
    assert.equal(new URLSearchParams(request?.body).get('attachments'), JSON.stringify(attachments));
    assert.equal(request?.token, fake.tokens.bot);
  });

  test('chat.postMessage errors: not_in_channel until joined, channel_not_found, is_archived, no_text, msg_too_long', async () => {
    fake.addChannel({ id: 'CJOIN', name: 'ops' });
    fake.addChannel({ id: 'CARCH', name: 'old', isArchived: true, isMember: true });
    const web = client(fake);
    const errorOf = async (args: Parameters<typeof web.chat.postMessage>[0]) =>
      ((await thrown(() => web.chat.postMessage(args))).data as { error: string }).error;

    assert.equal(await errorOf({ channel: 'CJOIN', text: 'hi' }), 'not_in_channel');
    assert.equal(await errorOf({ channel: 'CNOPE', text: 'hi' }), 'channel_not_found');
    assert.equal(await errorOf({ channel: 'CARCH', text: 'hi' }), 'is_archived');

    const joined = await web.conversations.join({ channel: 'CJOIN' });
    assert.deepEqual(
      [joined.channel?.id, joined.channel?.name, joined.channel?.is_member],
      ['CJOIN', 'ops', true],
    );
    assert.equal(joined.warning, undefined);
    assert.ok(fake.members('CJOIN').includes(fake.bot.userId));
    const again = await web.conversations.join({ channel: 'CJOIN' });
    assert.equal(again.warning, 'already_in_channel');

    assert.equal(await errorOf({ channel: 'CJOIN', text: '' }), 'no_text');
    assert.equal(await errorOf({ channel: 'CJOIN', text: 'x'.repeat(40_001) }), 'msg_too_long');
    const posted = await web.chat.postMessage({ channel: 'CJOIN', text: 'x'.repeat(40_000) });
    assert.equal(posted.ok, true);
  });

  test('conversations.leave when not a member: {ok:false, not_in_channel:true}, which the SDK throws', async () => {
    fake.addChannel({ id: 'CLEAVE', name: 'leave-me', isMember: true });
    const web = client(fake);
    assert.equal((await web.conversations.leave({ channel: 'CLEAVE' })).ok, true);
    assert.deepEqual(fake.members('CLEAVE'), []);

    const error = await thrown(() => web.conversations.leave({ channel: 'CLEAVE' }));
    // The SDK throws any ok:false as a platform error, even without an `error` field; its message then
    // reads "undefined", so a pack must look at data.not_in_channel and treat it as success.
    assert.equal(error.code, ErrorCode.PlatformError);
    assert.equal(error.message, 'An API error occurred: undefined');
    assert.deepEqual(error.data, { ok: false, not_in_channel: true, response_metadata: {} });
    assert.equal(fake.requests.at(-1)?.response.error, undefined);
  });

  test("conversations.list pages through the SDK's paginate", async () => {
    const paged = await startFakeSlack();
    try {
      for (let i = 1; i <= 5; i++)
        paged.addChannel({ id: `C${i}`, name: `chan-${i}`, isMember: i % 2 === 0 });
      paged.addChannel({ id: 'GIN', name: 'secret-in', isPrivate: true, isMember: true });
      paged.addChannel({ id: 'GOUT', name: 'secret-out', isPrivate: true });
      const ids: string[] = [];
      for await (const page of client(paged).paginate('conversations.list', {
        types: 'public_channel,private_channel',
        limit: 2,
      })) {
        for (const channel of (page as unknown as { channels: { id: string }[] }).channels)
          ids.push(channel.id);
      }
      // Private channels the bot is not in stay hidden, as on Slack.
      assert.deepEqual(ids, ['C1', 'C2', 'C3', 'C4', 'C5', 'GIN']);
      assert.equal(paged.requests.length, 3);
      assert.equal(paged.requests.at(-1)?.args.limit, '2');
      assert.deepEqual(paged.requests.at(-1)?.response.response_metadata, { next_cursor: '' });
    } finally {
      await paged.close();
    }
  });

  test('conversations.info and users.info', async () => {
    fake.addUser({
      id: 'UALICE',
      name: 'alice',
      realName: 'Alice Liddell',
      email: 'alice@example.org',
      title: 'SRE',
    });
    const web = client(fake);
    const { user } = await web.users.info({ user: 'UALICE' });
    assert.equal(user?.real_name, 'Alice Liddell');
    assert.equal(user?.is_bot, false);
    assert.deepEqual(
      [user?.profile?.email, user?.profile?.title, user?.profile?.first_name, user?.profile?.last_name],
      ['alice@example.org', 'SRE', 'Alice', 'Liddell'],
    );
    const missing = await thrown(() => web.users.info({ user: 'UNOBODY' }));
    assert.equal((missing.data as { error: string }).error, 'user_not_found');

    fake.addChannel({ id: 'CINFO', name: 'info' });
    const info = await web.conversations.info({ channel: 'CINFO' });
    assert.deepEqual([info.channel?.name, info.channel?.is_member], ['info', false]);
  });

  test('unknown methods, JSON bodies and token kinds', async () => {
    const unknown = await thrown(() => client(fake).apiCall('nope.nothing'));
    assert.equal((unknown.data as { error: string }).error, 'unknown_method');

    fake.addChannel({ id: 'CJSON', name: 'json', isMember: true });
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${fake.apiUrl}chat.postMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
    const attachments = [{ text: 'as JSON' }];
    const ok = await post({ authorization: `Bearer ${fake.tokens.bot}` }, { channel: 'CJSON', attachments });
    assert.equal(ok.ok, true);
    assert.deepEqual(fake.messages.at(-1)?.attachments, attachments);
    // Slack ignores a token inside a JSON body.
    assert.deepEqual(await post({}, { token: fake.tokens.bot, channel: 'CJSON', text: 'x' }), {
      ok: false,
      error: 'not_authed',
    });

    const wrongKind = await thrown(() => client(fake, fake.tokens.bot).apps.connections.open());
    assert.equal((wrongKind.data as { error: string }).error, 'not_allowed_token_type');
    const opened = await client(fake, fake.tokens.app).apps.connections.open();
    assert.match(String(opened.url), /^ws:\/\/127\.0\.0\.1:\d+\/socket\?ticket=/);
  });

  test('an injected 500 surfaces as the SDK HTTP error; the next call succeeds', async () => {
    fake.failNext('auth.test', { status: 500 });
    const error = await thrown(() => client(fake).auth.test());
    assert.equal(error.code, ErrorCode.HTTPError);
    assert.equal(error.statusCode, 500);
    assert.equal((await client(fake).auth.test()).ok, true);

    fake.failNext('auth.test', { error: 'account_inactive' });
    const inactive = await thrown(() => client(fake).auth.test());
    assert.equal((inactive.data as { error: string }).error, 'account_inactive');
  });
});

describe('fake Slack rate limits', () => {
  let fake: FakeSlack;
  let clock = 0;
  before(async () => {
    fake = await startFakeSlack({ rateLimit: { burst: 2, perSecond: 1 }, now: () => clock });
    fake.addChannel({ id: 'CRATE', name: 'rate', isMember: true });
    fake.addChannel({ id: 'COTHER', name: 'other', isMember: true });
  });
  after(() => fake.close());

  test('beyond the burst: HTTP 429, Retry-After, and the SDK rate-limited error with rejectRateLimitedCalls', async () => {
    const web = client(fake, fake.tokens.bot, { rejectRateLimitedCalls: true });
    await web.chat.postMessage({ channel: 'CRATE', text: '1' });
    await web.chat.postMessage({ channel: 'CRATE', text: '2' });
    const error = await thrown(() => web.chat.postMessage({ channel: 'CRATE', text: '3' }));
    assert.equal(error.code, ErrorCode.RateLimitedError);
    assert.equal(error.code, 'slack_webapi_rate_limited_error');
    assert.equal(error.retryAfter, 1);
    assert.equal(fake.requests.at(-1)?.status, 429);
    assert.deepEqual(fake.requests.at(-1)?.response, { ok: false, error: 'ratelimited' });

    // The limit is per channel, and refills at perSecond.
    await web.chat.postMessage({ channel: 'COTHER', text: 'elsewhere' });
    clock += 1000;
    await web.chat.postMessage({ channel: 'CRATE', text: '3 again' });
    assert.deepEqual(
      fake.messages.filter((m) => m.channel === 'CRATE').map((m) => m.text),
      ['1', '2', '3 again'],
    );
  });

  test('without rejectRateLimitedCalls the SDK sleeps Retry-After, then retries or throws a request error', async () => {
    fake.failNext('auth.test', { retryAfter: 0 });
    const plain = await thrown(() => client(fake).auth.test());
    // Not the rate-limited error: the SDK's internal "retry me" Error, thrown after the wait, gets wrapped as
    // a request error once the retries run out.
    assert.equal(plain.code, ErrorCode.RequestError);
    assert.match((plain.original as Error).message, /A rate limit was exceeded .*retry-after: 0/);

    fake.failNext('auth.test', { retryAfter: 1 });
    const web = client(fake, fake.tokens.bot, { retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 } });
    const waits: number[] = [];
    web.on(WebClientEvent.RATE_LIMITED, (seconds: number) => waits.push(seconds));
    const started = Date.now();
    assert.equal((await web.auth.test()).ok, true);
    assert.deepEqual(waits, [1]);
    assert.ok(Date.now() - started >= 950, 'the SDK waits Retry-After seconds before the retry');
  });
});

describe('fake Slack Socket Mode', () => {
  test('a Bolt App in Socket Mode receives a message event and acks it', async () => {
    const fake = await startFakeSlack();
    const app = new App({
      token: fake.tokens.bot,
      appToken: fake.tokens.app,
      socketMode: true,
      // Bolt hands clientOptions to its SocketModeClient too (App -> installerOptions.clientOptions ->
      // SocketModeReceiver), so apps.connections.open goes to the fake as well.
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
      ...quiet,
    });
    const received: Record<string, unknown>[] = [];
    app.message(async ({ message }) => {
      received.push(message as unknown as Record<string, unknown>);
    });
    try {
      await app.start();
      assert.equal(fake.connections, 1);
      const event = {
        type: 'message',
        channel: 'CSOCK',
        channel_type: 'channel',
        user: 'UALICE',
        text: 'echo hello',
        ts: '1700000001.000100',
        event_ts: '1700000001.000100',
      };
      const ack = await fake.sendEvent(event);
      assert.equal(ack.envelope_id, (fake.envelopes.at(-1) as { envelope_id: string }).envelope_id);
      assert.deepEqual(ack.payload, {}); // Bolt acks events with {envelope_id, payload: {}}
      assert.deepEqual(received, [event]);
      const opened = fake.requests.find((r) => r.method === 'apps.connections.open');
      assert.equal(opened?.token, fake.tokens.app);
      assert.ok(fake.requests.some((r) => r.method === 'auth.test' && r.token === fake.tokens.bot));
    } finally {
      await app.stop();
      await fake.close();
    }
  });

  test('disconnect makes the SDK reconnect through apps.connections.open; sendEvent waits for it', async () => {
    const fake = await startFakeSlack();
    const socket = new SocketModeClient({
      appToken: fake.tokens.app,
      clientPingTimeout: 100, // also the reconnect delay
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
      ...quiet,
    });
    socket.on('message', ({ ack }: { ack: () => Promise<void> }) => ack());
    try {
      await socket.start();
      fake.disconnect();
      const ack = await fake.sendEvent({
        type: 'message',
        channel: 'C1',
        user: 'U1',
        text: 'after',
        ts: '1.000100',
      });
      assert.equal(typeof ack.envelope_id, 'string');
      assert.equal(fake.requests.filter((r) => r.method === 'apps.connections.open').length, 2);
    } finally {
      await socket.disconnect();
      await fake.close();
    }
  });

  test('sendEvent rejects when the client never acks', async () => {
    const fake = await startFakeSlack({ ackTimeoutMs: 200 });
    const socket = new SocketModeClient({
      appToken: fake.tokens.app,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
      ...quiet,
    });
    try {
      await socket.start();
      await assert.rejects(fake.sendEvent({ type: 'message', text: 'ignored' }), /not acked within 200 ms/);
    } finally {
      await socket.disconnect();
      await fake.close();
    }
  });
});

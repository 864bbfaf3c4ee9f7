// The fake Slack's history, latency and HTTP event delivery, driven through @slack/web-api and plain HTTP
// servers, so what is checked is what a pack would see.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { verifySlackRequest } from '@slack/bolt';
import { ErrorCode, LogLevel, WebClient } from '@slack/web-api';
import { spawnNode } from '../../support/processes.ts';
import { type FakeSlack, startFakeSlack } from './index.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const METADATA = { event_type: 'switchboard_command', event_payload: { command_id: 'cmd-1' } };

function client(fake: FakeSlack, options: { timeout?: number } = {}): WebClient {
  return new WebClient(fake.tokens.bot, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logLevel: LogLevel.ERROR,
    ...options,
  });
}

async function errorOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
  } catch (error) {
    return (error as { data?: { error?: string } }).data?.error ?? (error as { code?: string }).code;
  }
  assert.fail('expected the call to fail');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A Request URL on port 0 that answers each request with `answer` and keeps what it got. */
async function receiver(answer: (received: Received, res: ServerResponse, index: number) => void) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      answer(request, res, received.length - 1);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const okAnswer = (_: Received, res: ServerResponse) => res.writeHead(200).end();

function verify(fake: FakeSlack, request: Received): void {
  verifySlackRequest({
    signingSecret: fake.signingSecret,
    body: request.body,
    headers: {
      'x-slack-signature': String(request.headers['x-slack-signature']),
      'x-slack-request-timestamp': Number(request.headers['x-slack-request-timestamp']),
    },
  });
}

describe('fake Slack history', () => {
  let fake: FakeSlack;
  let web: WebClient;
  before(async () => {
    fake = await startFakeSlack();
    fake.addChannel({ id: 'CHIST', name: 'history', isMember: true });
    fake.addChannel({ id: 'COUT', name: 'outside' });
    web = client(fake);
  });
  after(() => fake.close());

  test('metadata posted with a message comes back from history only with include_all_metadata', async () => {
    const posted = await web.chat.postMessage({ channel: 'CHIST', text: 'deployed', metadata: METADATA });
    assert.deepEqual(fake.messages.at(-1)?.metadata, METADATA);

    const withMetadata = await web.conversations.history({ channel: 'CHIST', include_all_metadata: true });
    const found = withMetadata.messages?.find((m) => m.ts === posted.ts);
    assert.deepEqual(found?.metadata, METADATA);
    assert.deepEqual(
      [found?.user, found?.bot_id, found?.text],
      [fake.bot.userId, fake.bot.botId, 'deployed'],
    );

    const without = await web.conversations.history({ channel: 'CHIST' });
    const plain = without.messages?.find((m) => m.ts === posted.ts);
    assert.equal(plain?.text, 'deployed');
    assert.equal(plain?.metadata, undefined);
  });

  test('history: newest first, people included, thread replies only when broadcast, paged by cursor', async () => {
    fake.addChannel({ id: 'CPAGE', name: 'paging', isMember: true });
    const first = String((await web.chat.postMessage({ channel: 'CPAGE', text: 'one' })).ts);
    const human = fake.postAsUser({ channel: '#paging', user: 'U0ADA', text: 'two' });
    await web.chat.postMessage({ channel: 'CPAGE', text: 'hidden reply', thread_ts: first });
    fake.postAsUser({ channel: 'CPAGE', user: 'U0ADA', text: 'human reply', thread_ts: first });
    await web.chat.postMessage({
      channel: 'CPAGE',
      text: 'shown reply',
      thread_ts: first,
      reply_broadcast: true,
    });
    await web.chat.postMessage({ channel: 'CPAGE', text: 'three' });

    const texts: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await web.conversations.history({
        channel: 'CPAGE',
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      pages += 1;
      texts.push(...(page.messages ?? []).map((m) => String(m.text)));
      assert.equal(page.has_more, Boolean(page.response_metadata?.next_cursor));
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    assert.deepEqual(texts, ['three', 'shown reply', 'two', 'one']);
    assert.equal(pages, 2);

    const all = await web.conversations.history({ channel: 'CPAGE' });
    const parent = all.messages?.find((m) => m.ts === first);
    assert.equal(parent?.reply_count, 3);
    assert.equal(all.messages?.find((m) => m.ts === human)?.user, 'U0ADA');
    assert.equal(fake.messages.find((m) => m.text === 'shown reply')?.reply_broadcast, true);
  });

  test('history: oldest and latest are exclusive unless inclusive', async () => {
    fake.addChannel({ id: 'CBOUND', name: 'bounds', isMember: true });
    const ts: string[] = [];
    for (const text of ['a', 'b', 'c', 'd'])
      ts.push(String((await web.chat.postMessage({ channel: 'CBOUND', text })).ts));
    const texts = async (args: { oldest?: string; latest?: string; inclusive?: boolean }) =>
      ((await web.conversations.history({ channel: 'CBOUND', ...args })).messages ?? []).map((m) => m.text);

    assert.deepEqual(await texts({ oldest: ts[1] }), ['d', 'c']);
    assert.deepEqual(await texts({ oldest: ts[1], inclusive: true }), ['d', 'c', 'b']);
    assert.deepEqual(await texts({ oldest: ts[0], latest: ts[3] }), ['c', 'b']);
    assert.deepEqual(await texts({ oldest: ts[0], latest: ts[3], inclusive: true }), ['d', 'c', 'b', 'a']);
    // Timestamps come from the wall clock, as Slack's do: a search from "ten minutes ago" finds them.
    assert.deepEqual(await texts({ oldest: String(Date.now() / 1000 - 600) }), ['d', 'c', 'b', 'a']);
  });

  test('history and replies errors: channel_not_found, not_in_channel, invalid_cursor, thread_not_found', async () => {
    assert.equal(await errorOf(web.conversations.history({ channel: 'CNONE' })), 'channel_not_found');
    assert.equal(await errorOf(web.conversations.history({ channel: 'COUT' })), 'not_in_channel');
    assert.equal(
      await errorOf(web.conversations.history({ channel: 'CHIST', cursor: 'bm9wZQ==' })),
      'invalid_cursor',
    );
    assert.equal(
      await errorOf(web.conversations.replies({ channel: 'CHIST', ts: '1.000001' })),
      'thread_not_found',
    );
    assert.equal(
      await errorOf(web.conversations.replies({ channel: 'COUT', ts: '1.000001' })),
      'not_in_channel',
    );
    assert.equal(
      await errorOf(client(fake).conversations.history({ channel: 'CHIST', oldest: 'soon' })),
      'invalid_ts_oldest',
    );
    const anonymous = new WebClient('xoxb-wrong', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    assert.equal(await errorOf(anonymous.conversations.history({ channel: 'CHIST' })), 'invalid_auth');
  });

  test('replies: the parent, then its replies oldest first, from the parent or any reply, paged', async () => {
    fake.addChannel({ id: 'CTHREAD', name: 'threads', isMember: true });
    const parent = fake.postAsUser({ channel: 'CTHREAD', user: 'U0ADA', text: 'question' });
    const answer = await web.chat.postMessage({
      channel: 'CTHREAD',
      text: 'answer',
      thread_ts: parent,
      metadata: METADATA,
    });
    fake.postAsUser({ channel: 'CTHREAD', user: 'U0ADA', text: 'thanks', thread_ts: parent });
    await web.chat.postMessage({ channel: 'CTHREAD', text: 'unrelated' });

    const thread = await web.conversations.replies({
      channel: 'CTHREAD',
      ts: parent,
      include_all_metadata: true,
    });
    assert.deepEqual(
      thread.messages?.map((m) => m.text),
      ['question', 'answer', 'thanks'],
    );
    assert.deepEqual(thread.messages?.[1]?.metadata, METADATA);
    assert.equal(thread.messages?.[1]?.thread_ts, parent);
    assert.equal(thread.has_more, false);

    const fromReply = await web.conversations.replies({
      channel: 'CTHREAD',
      ts: String(answer.ts),
      limit: 2,
    });
    assert.deepEqual(
      fromReply.messages?.map((m) => m.text),
      ['question', 'answer'],
    );
    assert.equal(fromReply.has_more, true);
    const rest = await web.conversations.replies({
      channel: 'CTHREAD',
      ts: parent,
      limit: 2,
      cursor: String(fromReply.response_metadata?.next_cursor),
    });
    assert.deepEqual(
      rest.messages?.map((m) => m.text),
      ['thanks'],
    );

    const later = await web.conversations.replies({
      channel: 'CTHREAD',
      ts: parent,
      oldest: String(answer.ts),
    });
    assert.deepEqual(
      later.messages?.map((m) => m.text),
      ['question', 'thanks'],
    );
  });

  test('messageEvent describes a recorded message as Slack sends it', () => {
    const ts = fake.postAsUser({ channel: 'CHIST', user: 'U0ADA', text: 'ping' });
    const event = fake.messageEvent('CHIST', ts);
    assert.deepEqual(
      [event.type, event.channel, event.user, event.text, event.ts, event.event_ts, event.channel_type],
      ['message', 'CHIST', 'U0ADA', 'ping', ts, ts, 'channel'],
    );
    assert.throws(() => fake.postAsUser({ channel: 'CNONE', user: 'U0ADA', text: 'x' }), /no channel CNONE/);
  });
});

describe('fake Slack latency', () => {
  let fake: FakeSlack;
  before(async () => {
    fake = await startFakeSlack();
    fake.addChannel({ id: 'CSLOW', name: 'slow', isMember: true });
  });
  after(() => fake.close());

  test('afterEffect: the post is recorded at once, the answer is held, a client that gives up does no harm', async () => {
    fake.delayNext('chat.postMessage', { ms: 400 });
    const started = Date.now();
    const gaveUp = await errorOf(
      client(fake, { timeout: 100 }).chat.postMessage({ channel: 'CSLOW', text: 'lost answer' }),
    );
    assert.equal(gaveUp, ErrorCode.RequestError);
    assert.ok(Date.now() - started < 400, 'the client gave up before the answer');
    // The post happened although its caller never saw the answer.
    assert.equal(fake.messages.at(-1)?.text, 'lost answer');
    const history = await client(fake).conversations.history({ channel: 'CSLOW' });
    assert.deepEqual(
      history.messages?.map((m) => m.text),
      ['lost answer'],
    );

    await sleep(450);
    const held = fake.requests.find((r) => r.args.text === 'lost answer');
    assert.equal(held?.status, 200);
    assert.equal(held?.delivered, false);
    assert.equal((await client(fake).auth.test()).ok, true, 'the fake still answers');
  });

  test('afterEffect false: the call waits first, so a client that gives up leaves nothing posted yet', async () => {
    fake.delayNext('*', { ms: 300, afterEffect: false });
    const gaveUp = await errorOf(
      client(fake, { timeout: 100 }).chat.postMessage({ channel: 'CSLOW', text: 'not yet' }),
    );
    assert.equal(gaveUp, ErrorCode.RequestError);
    assert.equal(
      fake.messages.some((m) => m.text === 'not yet'),
      false,
    );
  });

  test('times: only that many calls are slowed; a patient client gets the answer late', async () => {
    fake.delayNext('auth.test', { ms: 150, times: 2 });
    const web = client(fake);
    const timed = async () => {
      const started = Date.now();
      await web.auth.test();
      return Date.now() - started;
    };
    assert.ok((await timed()) >= 140);
    assert.ok((await timed()) >= 140);
    assert.ok((await timed()) < 140);
  });
});

describe('fake Slack HTTP event delivery', () => {
  let fake: FakeSlack;
  before(async () => {
    fake = await startFakeSlack({ retryDelaysMs: [0, 20, 20] });
  });
  after(() => fake.close());

  test('an event arrives in its event_callback wrapper, signed so that Bolt accepts it', async () => {
    const app = await receiver(okAnswer);
    try {
      const event = { type: 'message', channel: 'C1', user: 'U0ADA', text: 'hi', ts: '1.000100' };
      const result = await fake.deliverEvent(app.url, event);
      assert.deepEqual([result.status, result.attempts], [200, 1]);
      const [request] = app.received;
      assert.ok(request);
      verify(fake, request);
      const payload = JSON.parse(request.body);
      assert.deepEqual(payload.event, event);
      assert.equal(payload.type, 'event_callback');
      assert.equal(payload.event_id, result.eventId);
      assert.equal(payload.api_app_id, fake.bot.appId);
      assert.equal(request.headers['x-slack-retry-num'], undefined);
      assert.equal(fake.httpDeliveries.at(-1)?.status, 200);
    } finally {
      await app.close();
    }
  });

  test('a bad signature and a stale timestamp are what they say', async () => {
    const app = await receiver(okAnswer);
    try {
      await fake.deliverEvent(app.url, { type: 'app_mention' }, { signature: 'v0=00' });
      const stale = Math.floor(Date.now() / 1000) - 10 * 60;
      await fake.deliverEvent(app.url, { type: 'app_mention' }, { timestamp: stale });
      const [forged, old] = app.received;
      assert.ok(forged && old);
      assert.throws(() => verify(fake, forged), /Signature mismatch|signature/i);
      assert.throws(() => verify(fake, old), /stale|timestamp/i);
      // The stale request is still correctly signed: only its age is wrong.
      const expected = createHmac('sha256', fake.signingSecret)
        .update(`v0:${stale}:${old.body}`)
        .digest('hex');
      assert.equal(old.headers['x-slack-signature'], `v0=${expected}`);
      assert.equal(old.headers['x-slack-request-timestamp'], String(stale));
    } finally {
      await app.close();
    }
  });

  test('a 500 is retried with X-Slack-Retry-Num and the same event_id until a 2xx', async () => {
    const app = await receiver((_, res, index) => res.writeHead(index < 2 ? 500 : 200).end('ok'));
    try {
      const result = await fake.deliverEvent(app.url, { type: 'message', text: 'again' });
      assert.deepEqual([result.status, result.attempts, result.body], [200, 3, 'ok']);
      assert.deepEqual(
        app.received.map((r) => [r.headers['x-slack-retry-num'], r.headers['x-slack-retry-reason']]),
        [
          [undefined, undefined],
          ['1', 'http_error'],
          ['2', 'http_error'],
        ],
      );
      const ids = app.received.map((r) => JSON.parse(r.body).event_id);
      assert.deepEqual(ids, [result.eventId, result.eventId, result.eventId]);
      for (const request of app.received) verify(fake, request);
      const mine = fake.httpDeliveries.filter((d) => d.url === app.url);
      assert.deepEqual(
        mine.map((d) => [d.retryNum, d.status]),
        [
          [0, 500],
          [1, 500],
          [2, 200],
        ],
      );
    } finally {
      await app.close();
    }
  });

  test('retries stop after the last delay, with retries:false, and on X-Slack-No-Retry', async () => {
    const failing = await receiver((_, res) => res.writeHead(503).end());
    const refusing = await receiver((_, res) => res.writeHead(500, { 'x-slack-no-retry': '1' }).end());
    try {
      const exhausted = await fake.deliverEvent(failing.url, { type: 'message' });
      assert.deepEqual([exhausted.status, exhausted.attempts], [503, 4]);
      const once = await fake.deliverEvent(failing.url, { type: 'message' }, { retries: false });
      assert.equal(once.attempts, 1);
      const custom = await fake.deliverEvent(failing.url, { type: 'message' }, { retryDelaysMs: [1] });
      assert.equal(custom.attempts, 2);
      assert.equal((await fake.deliverEvent(refusing.url, { type: 'message' })).attempts, 1);
      assert.equal(failing.received.length, 4 + 1 + 2);
    } finally {
      await failing.close();
      await refusing.close();
    }
  });

  test('an answer slower than the deadline counts as http_timeout and is retried', async () => {
    const app = await receiver((_, res, index) => {
      if (index === 0) setTimeout(() => res.writeHead(200).end(), 400);
      else res.writeHead(200).end();
    });
    try {
      const result = await fake.deliverEvent(app.url, { type: 'message' }, { timeoutMs: 100 });
      assert.deepEqual([result.status, result.attempts], [200, 2]);
      assert.equal(app.received[1]?.headers['x-slack-retry-reason'], 'http_timeout');
    } finally {
      await app.close();
    }
  });

  test('url verification: the challenge comes back, as JSON or as plain text', async () => {
    const json = await receiver((request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ challenge: JSON.parse(request.body).challenge }));
    });
    const text = await receiver((request, res) => res.writeHead(200).end(JSON.parse(request.body).challenge));
    try {
      const answered = await fake.verifyUrl(json.url);
      assert.equal(answered.status, 200);
      assert.deepEqual(answered.body, { challenge: answered.challenge });
      const [request] = json.received;
      assert.ok(request);
      verify(fake, request);
      assert.equal(JSON.parse(request.body).type, 'url_verification');
      const plain = await fake.verifyUrl(text.url);
      assert.equal(plain.body, plain.challenge);
    } finally {
      await json.close();
      await text.close();
    }
  });
});

describe('fake Slack main.ts', () => {
  test('prints the settings, shows bot posts, and turns a typed line into a signed event', async () => {
    const app = await receiver(okAnswer);
    const spawned = spawnNode(MAIN, ['--events-url', app.url]);
    try {
      const apiUrl = (await spawned.waitForOutput(/SLACK_API_URL=\S+/)).slice('SLACK_API_URL='.length);
      const secret = (await spawned.waitForOutput(/SLACK_SIGNING_SECRET=\S+/)).split('=')[1];
      assert.match(apiUrl, /^http:\/\/127\.0\.0\.1:\d+\/api\/$/);

      const web = new WebClient('xoxb-test', { slackApiUrl: apiUrl, retryConfig: { retries: 0 } });
      await web.chat.postMessage({ channel: 'C0GENERAL', text: 'hello from the bot' });
      await spawned.waitForOutput(/#general <- hello from the bot/);

      spawned.child.stdin?.write('#general hello, bot\n');
      await spawned.waitForOutput(/event delivered after 1 attempt/);
      const [request] = app.received;
      assert.ok(request);
      const payload = JSON.parse(request.body);
      assert.deepEqual(
        [payload.event.channel, payload.event.user, payload.event.text],
        ['C0GENERAL', 'U0HUMAN', 'hello, bot'],
      );
      verifySlackRequest({
        signingSecret: String(secret),
        body: request.body,
        headers: {
          'x-slack-signature': String(request.headers['x-slack-signature']),
          'x-slack-request-timestamp': Number(request.headers['x-slack-request-timestamp']),
        },
      });
      const history = await web.conversations.history({ channel: 'C0GENERAL' });
      assert.deepEqual(
        history.messages?.map((m) => m.text),
        ['hello, bot', 'hello from the bot'],
      );

      spawned.child.kill('SIGTERM');
      assert.equal(await spawned.exit, 0);
    } finally {
      spawned.child.kill('SIGKILL');
      await app.close();
    }
  });

  test('--help explains the options and a bad option exits 2', async () => {
    const help = spawnNode(MAIN, ['--help']);
    assert.equal(await help.exit, 0);
    assert.match(help.stdout(), /--events-url URL/);
    const bad = spawnNode(MAIN, ['--port', 'many']);
    assert.equal(await bad.exit, 2);
    assert.match(bad.stderr(), /--port/);
  });
});

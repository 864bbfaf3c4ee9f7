// Drives the fake Mattermost with the official @mattermost/client (Client4 and WebSocketClient), so the fake
// is held to what the client sends and expects, and asserts what a client observes: answers, errors, posts
// in channels and WebSocket events.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { Client4, ClientError, WebSocketClient } from '@mattermost/client';
import {
  type Channel,
  type FakeMattermost,
  type FakeMattermostOptions,
  type Post,
  startFakeMattermost,
  type User,
} from './index.ts';

const ALICE_TOKEN = 'alicepersonalaccesstoken00';

let fake: FakeMattermost;
let alice: User;
let deploys: Channel;
let random: Channel;
let secret: Channel;
const sockets: WebSocketClient[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await fake?.close();
});

/** A team "eng" with #deploys (bot and alice), #random (alice only) and private #secret (alice only). */
async function withFake(options: FakeMattermostOptions = {}): Promise<FakeMattermost> {
  fake = await startFakeMattermost(options);
  fake.addTeam({ name: 'eng', displayName: 'Engineering' });
  alice = fake.addUser({ username: 'alice', token: ALICE_TOKEN });
  deploys = fake.addChannel({ teamName: 'eng', name: 'deploys', members: ['alice'] });
  random = fake.addChannel({ teamName: 'eng', name: 'random', members: ['alice'], botIsMember: false });
  secret = fake.addChannel({
    teamName: 'eng',
    name: 'secret',
    type: 'P',
    members: ['alice'],
    botIsMember: false,
  });
  return fake;
}

function client(token = fake.bot.token): Client4 {
  const c = new Client4();
  c.setUrl(fake.url);
  c.setToken(token);
  return c;
}

async function rejection(promise: Promise<unknown>): Promise<ClientError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ClientError, `expected a ClientError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Observed {
  readonly events: { event: string; seq: number; data: Record<string, unknown> }[];
  readonly posted: Post[];
  reconnects: number;
  missed: number;
  closes: number;
}

/** A WebSocketClient that reconnects quickly (unless `config` says otherwise), and what its listeners got. */
function socket(
  token = fake.bot.token,
  config: ConstructorParameters<typeof WebSocketClient>[0] = {},
): { ws: WebSocketClient; seen: Observed } {
  const ws = new WebSocketClient({ minWebSocketRetryTime: 50, reconnectJitterRange: 0, ...config });
  const seen: Observed = { events: [], posted: [], reconnects: 0, missed: 0, closes: 0 };
  ws.addMessageListener((message) => {
    const { event, seq, data } = message as { event: string; seq: number; data: Record<string, unknown> };
    seen.events.push({ event, seq, data });
    if (event === 'posted') seen.posted.push(JSON.parse(String(data.post)) as Post);
  });
  ws.addReconnectListener(() => {
    seen.reconnects += 1;
  });
  ws.addMissedMessageListener(() => {
    seen.missed += 1;
  });
  ws.addCloseListener(() => {
    seen.closes += 1;
  });
  ws.initialize(fake.wsUrl, token);
  sockets.push(ws);
  return { ws, seen };
}

/** A tiny integration server: records each request and answers with `answer`. */
async function integration(
  answer: (req: IncomingMessage, body: string) => { status?: number; json?: unknown; delayMs?: number },
): Promise<{ url: string; received: { headers: IncomingMessage['headers']; body: string }[] }> {
  const received: { headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    received.push({ headers: req.headers, body });
    const reply = answer(req, body);
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
    res.end(reply.json === undefined ? '' : JSON.stringify(reply.json));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mattermost/command`, received };
}

describe('REST', () => {
  test('getMe answers with the bot; an unknown token is 401 with the AppError fields', async () => {
    await withFake();
    const me = await client().getMe();
    assert.equal(me.id, fake.bot.userId);
    assert.equal(me.username, 'switchboard');
    assert.equal(me.is_bot, true);
    const [profile] = await client().getProfilesByIds([alice.id]);
    assert.equal(profile?.username, 'alice');

    const error = await rejection(client('not-a-token').getMe());
    assert.equal(error.status_code, 401);
    assert.equal(error.server_error_id, 'api.context.session_expired.app_error');
    assert.equal(fake.requests.at(-1)?.status, 401);
    assert.equal(fake.requests.at(-1)?.token, 'not-a-token');
  });

  test('channels resolve by team and channel name; private ones stay hidden from non-members', async () => {
    await withFake();
    const channel = await client().getChannelByNameAndTeamName('eng', 'deploys');
    assert.equal(channel.id, deploys.id);
    assert.equal(channel.type, 'O');
    const hidden = await rejection(client().getChannelByNameAndTeamName('eng', 'secret'));
    assert.equal(hidden.status_code, 404);
    const badId = await rejection(client().getChannel('deploys'));
    assert.equal(badId.status_code, 400);
  });

  test('createPost stores the post; a repeated pending_post_id gets the first post back', async () => {
    await withFake();
    const first = await client().createPost({
      channel_id: deploys.id,
      message: 'v1.2 deployed',
      pending_post_id: 'cmd-1',
    });
    const again = await client().createPost({
      channel_id: deploys.id,
      message: 'v1.2 deployed',
      pending_post_id: 'cmd-1',
    });
    assert.equal(again.id, first.id);
    assert.equal(fake.posts.length, 1);
    assert.equal(fake.posts[0]?.message, 'v1.2 deployed');
    assert.equal(fake.posts[0]?.props.from_bot, 'true');
    assert.equal(fake.requests.filter((r) => r.endpoint === 'createPost' && r.status === 201).length, 2);

    const other = await client().createPost({
      channel_id: deploys.id,
      message: 'v1.3',
      pending_post_id: 'cmd-2',
    });
    assert.notEqual(other.id, first.id);
    const reply = await client().createPost({
      channel_id: deploys.id,
      message: 'details',
      root_id: first.id,
    });
    assert.equal(reply.root_id, first.id);
    // The server does not store pending_post_id: reads show "".
    assert.equal((await client().getPost(first.id)).pending_post_id, '');
  });

  test('posting where the bot is not a member is 403; an empty post is 400', async () => {
    await withFake();
    const notMember = await rejection(client().createPost({ channel_id: random.id, message: 'hello' }));
    assert.equal(notMember.status_code, 403);
    assert.equal(notMember.server_error_id, 'api.context.permissions.app_error');
    const unknown = await rejection(client().createPost({ channel_id: 'a'.repeat(26), message: 'hello' }));
    assert.equal(unknown.status_code, 403);
    const empty = await rejection(client().createPost({ channel_id: deploys.id, message: '' }));
    assert.equal(empty.status_code, 400);
    assert.equal(fake.posts.length, 0);
  });

  test('the bot joins and leaves a public channel; leaving again is 404, joining a private one 403', async () => {
    await withFake();
    const member = await client().addToChannel(fake.bot.userId, random.id);
    assert.equal(member.channel_id, random.id);
    assert.ok(fake.isMember(random.id));
    assert.deepEqual(await client().removeFromChannel(fake.bot.userId, random.id), { status: 'OK' });
    assert.equal(fake.isMember(random.id), false);

    const again = await rejection(client().removeFromChannel(fake.bot.userId, random.id));
    assert.equal(again.status_code, 404);
    assert.equal(again.server_error_id, 'app.channel.get_member.missing.app_error');
    const privateJoin = await rejection(client().addToChannel(fake.bot.userId, secret.id));
    assert.equal(privateJoin.status_code, 403);
  });

  test('429 from the rate limiter: Client4 drops the status and headers, the raw answer has them', async () => {
    await withFake({ rateLimit: { perSec: 1, maxBurst: 1 } });
    await client().createPost({ channel_id: deploys.id, message: 'one' });
    await client().createPost({ channel_id: deploys.id, message: 'two' });
    const limited = await rejection(client().createPost({ channel_id: deploys.id, message: 'three' }));
    // The 429 body is text/plain, so Client4 finds no status_code, id or message in it.
    assert.equal(limited.status_code, undefined);
    assert.equal(limited.message, '');

    const c = client();
    const response = await fetch(
      c.getPostsRoute(),
      c.getOptions({ method: 'post', body: JSON.stringify({ channel_id: deploys.id, message: 'four' }) }),
    );
    assert.equal(response.status, 429);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await response.text(), 'limit exceeded\n');
    assert.ok(Number(response.headers.get('retry-after')) >= 1);
    assert.ok(Number(response.headers.get('x-ratelimit-reset')) >= 1);
    assert.equal(response.headers.get('x-ratelimit-limit'), '2');
    assert.equal(response.headers.get('x-ratelimit-remaining'), '0');
    assert.equal(fake.posts.length, 2);
  });

  test('failNext answers with the injected status; delayNext holds an answer after the post is stored', async () => {
    await withFake();
    fake.failNext('createPost', { status: 503 });
    const failed = await rejection(client().createPost({ channel_id: deploys.id, message: 'x' }));
    assert.equal(failed.status_code, 503);

    fake.delayNext('createPost', { ms: 500 });
    const body = JSON.stringify({ channel_id: deploys.id, message: 'slow', pending_post_id: 'cmd-9' });
    const c = client();
    await assert.rejects(
      fetch(c.getPostsRoute(), {
        ...c.getOptions({ method: 'post', body }),
        signal: AbortSignal.timeout(50),
      }),
    );
    assert.equal(fake.posts.length, 1);
    // The caller retries with the same pending_post_id and gets the post made while it was not listening.
    const retried = await client().createPost(JSON.parse(body));
    assert.equal(retried.id, fake.posts[0]?.id);
    await waitFor(
      'the held answer',
      () => fake.requests.filter((r) => r.endpoint === 'createPost').length === 3,
    );
  });

  test('a retry while the first request is still creating its post gets 500 pending', async () => {
    await withFake();
    fake.delayNext('createPost', { ms: 300, afterEffect: false });
    const post = { channel_id: deploys.id, message: 'once', pending_post_id: 'cmd-7' };
    const first = client().createPost(post);
    await waitFor('the first request', () => fake.requests.length === 1);
    const pending = await rejection(client().createPost(post));
    assert.equal(pending.status_code, 500);
    assert.equal(pending.server_error_id, 'api.post.deduplicate_create_post.pending');
    const made = await first;
    assert.equal((await client().createPost(post)).id, made.id);
    assert.equal(fake.posts.length, 1);
  });

  test('getPostsSince catches up on posts made while away', async () => {
    await withFake();
    const before = await client().createPost({ channel_id: deploys.id, message: 'seen' });
    fake.injectPost({ channelId: deploys.id, userId: alice.id, message: 'missed 1' });
    fake.injectPost({ channelId: deploys.id, userId: alice.id, message: 'missed 2' });
    const list = await client().getPostsSince(deploys.id, before.create_at);
    assert.deepEqual(
      list.order.map((id) => list.posts[id]?.message),
      ['missed 2', 'missed 1'],
    );
  });
});

describe('incoming webhooks', () => {
  test('a JSON payload posts to the hook channel with the webhook props; 200 text/plain "ok"', async () => {
    await withFake();
    const hook = fake.addIncomingHook({ channelId: deploys.id, displayName: 'CI' });
    const response = await fetch(hook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        text: 'build <https://ci/1|#1> passed',
        username: 'ci-bot',
        icon_url: 'https://ci/icon.png',
      }),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await response.text(), 'ok');
    const post = fake.posts.at(-1);
    assert.equal(post?.channel_id, deploys.id);
    assert.equal(post?.user_id, fake.bot.userId);
    assert.equal(post?.message, 'build [#1](https://ci/1) passed');
    assert.deepEqual(post?.props, {
      from_webhook: 'true',
      override_username: 'ci-bot',
      override_icon_url: 'https://ci/icon.png',
      webhook_display_name: 'CI',
    });
    assert.equal(fake.hookPosts[0]?.status, 200);
  });

  test('a payload= form field and a #name channel override; @user posts to the direct channel', async () => {
    await withFake();
    const hook = fake.addIncomingHook({ channelId: deploys.id });
    const form = await fetch(hook.url, {
      method: 'POST',
      body: new URLSearchParams({ payload: JSON.stringify({ text: 'to random', channel: '#random' }) }),
    });
    assert.equal(form.status, 200);
    assert.equal(fake.posts.at(-1)?.channel_id, random.id);

    const bare = await fetch(hook.url, {
      method: 'POST',
      body: JSON.stringify({ text: 'bare name', channel: 'random' }),
    });
    assert.equal(bare.status, 200);
    assert.equal(fake.posts.at(-1)?.channel_id, random.id);

    const direct = await fetch(hook.url, {
      method: 'POST',
      body: JSON.stringify({ text: 'psst', channel: '@alice' }),
    });
    assert.equal(direct.status, 200);
    const dm = fake.posts.at(-1)?.channel_id ?? '';
    assert.deepEqual(fake.members(dm).sort(), [alice.id, fake.bot.userId].sort());
  });

  test('no text is 400, an unknown hook 400, an unknown channel 404', async () => {
    await withFake();
    const hook = fake.addIncomingHook({ channelId: deploys.id });
    const post = (url: string, payload: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
    const noText = await post(hook.url, { text: '' });
    assert.equal(noText.status, 400);
    assert.equal(((await noText.json()) as { id: string }).id, 'web.incoming_webhook.text.app_error');
    assert.equal((await post(`${fake.url}/hooks/${'b'.repeat(26)}`, { text: 'hi' })).status, 400);
    assert.equal((await post(hook.url, { text: 'hi', channel: 'nowhere' })).status, 404);
    assert.equal(fake.posts.length, 0);
  });
});

describe('WebSocket', () => {
  test('authenticates with the challenge, says hello, and delivers a posted event once', async () => {
    await withFake();
    const { seen } = socket();
    await waitFor('hello', () => seen.events.some((e) => e.event === 'hello'));
    assert.equal(seen.events[0]?.seq, 0);
    assert.equal(fake.connections, 1);

    const injected = fake.injectPost({ channelId: deploys.id, userId: alice.id, message: 'is prod down?' });
    await waitFor('posted', () => seen.posted.length === 1);
    const event = seen.events.find((e) => e.event === 'posted');
    assert.equal(event?.seq, 1);
    assert.equal(event?.data.channel_type, 'O');
    assert.equal(event?.data.channel_name, 'deploys');
    assert.equal(event?.data.sender_name, '@alice');
    assert.equal(event?.data.team_id, deploys.teamId);
    assert.equal(seen.posted[0]?.id, injected.id);
    assert.equal(seen.posted[0]?.message, 'is prod down?');

    // Not in #random: no event from there.
    fake.injectPost({ channelId: random.id, userId: alice.id, message: 'elsewhere' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(seen.posted.length, 1);
  });

  test('a bad token in the challenge closes the socket without hello', async () => {
    await withFake();
    // A long retry delay, so close() finds the client waiting rather than connecting (it cannot stop that).
    const { seen } = socket('wrong-token', { minWebSocketRetryTime: 60_000 });
    await waitFor('the close', () => seen.closes === 1);
    assert.equal(seen.events.length, 0);
    assert.equal(fake.connections, 0);
  });

  test('a client sending its token on the upgrade resumes after a drop and gets what it missed', async () => {
    await withFake();
    const token = fake.bot.token;
    const { seen } = socket(token, {
      newWebSocketFn: (url) => new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } }),
    });
    await waitFor('hello', () => fake.connections === 1);
    fake.dropConnections();
    await waitFor('the drop', () => seen.closes === 1);
    fake.injectPost({ channelId: deploys.id, userId: alice.id, message: 'while away' });
    await waitFor('replayed post', () => seen.posted.length === 1);
    assert.equal(seen.posted[0]?.message, 'while away');
    assert.equal(seen.missed, 0);
    assert.deepEqual(
      seen.events.map((e) => [e.event, e.seq]),
      [
        ['hello', 0],
        ['posted', 1],
      ],
    );
  });

  test('a skipped seq makes the client reconnect and report missed messages; it then hears new posts', async () => {
    await withFake();
    const { seen } = socket();
    await waitFor('hello', () => seen.events.some((e) => e.event === 'hello'));
    fake.skipSequence();
    fake.injectPost({ channelId: deploys.id, userId: alice.id, message: 'lost' });
    await waitFor('reconnect', () => seen.reconnects === 1 && seen.missed === 1);
    await waitFor('second hello', () => seen.events.filter((e) => e.event === 'hello').length === 2);
    assert.equal(seen.posted.length, 0);

    fake.injectPost({ channelId: deploys.id, userId: alice.id, message: 'after' });
    await waitFor('posted after reconnect', () => seen.posted.length === 1);
    assert.equal(seen.posted[0]?.message, 'after');
  });

  test('dropped connections reconnect', async () => {
    await withFake();
    const { seen } = socket();
    await waitFor('hello', () => fake.connections === 1);
    fake.dropConnections();
    await waitFor('reconnect', () => seen.reconnects === 1 && fake.connections === 1);
    fake.injectPost({ channelId: deploys.id, userId: alice.id, message: 'back' });
    await waitFor('posted', () => seen.posted.length === 1);
  });
});

describe('slash commands and outgoing webhooks', () => {
  test('fires the command with its token; in_channel answers and response_url follow-ups post', async () => {
    await withFake();
    const pack = await integration((req) =>
      req.headers.authorization === 'Token cmdtoken'
        ? { json: { response_type: 'in_channel', text: 'Deploying v1.4…' } }
        : { status: 401 },
    );
    const result = await fake.fireSlashCommand(pack.url, {
      token: 'cmdtoken',
      command: '/deploy',
      text: 'v1.4',
      channelId: deploys.id,
      userId: alice.id,
    });
    assert.equal(result.status, 200);
    assert.equal(result.error, undefined);
    assert.deepEqual(result.body, { response_type: 'in_channel', text: 'Deploying v1.4…' });
    assert.ok(result.elapsedMs >= 0);
    const fields = Object.fromEntries(new URLSearchParams(pack.received[0]?.body));
    assert.deepEqual(
      { ...fields, trigger_id: 'x', response_url: 'x' },
      {
        channel_id: deploys.id,
        channel_name: 'deploys',
        command: '/deploy',
        response_url: 'x',
        team_domain: 'eng',
        team_id: deploys.teamId,
        text: 'v1.4',
        token: 'cmdtoken',
        trigger_id: 'x',
        user_id: alice.id,
        user_name: 'alice',
      },
    );
    assert.equal(fields.response_url, result.responseUrl);
    assert.match(result.responseUrl, /\/hooks\/commands\/[a-z0-9]{26}$/);
    assert.equal(fake.posts.at(-1)?.message, 'Deploying v1.4…');
    assert.equal(fake.posts.at(-1)?.user_id, alice.id);

    const followUp = await fetch(result.responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'in_channel', text: 'v1.4 is live' }),
    });
    assert.equal(followUp.status, 200);
    assert.equal(await followUp.text(), 'ok');
    assert.equal(fake.followUps[0]?.posts[0]?.message, 'v1.4 is live');
    assert.equal(fake.posts.at(-1)?.channel_id, deploys.id);

    const forged = await fake.fireSlashCommand(pack.url, {
      token: 'forged',
      command: 'deploy',
      channelId: deploys.id,
      userId: alice.id,
    });
    assert.equal(forged.status, 401);
    assert.equal(forged.error, 'failed_resp');
  });

  test('ephemeral answers are recorded, not posted; a response_url takes five follow-ups', async () => {
    await withFake();
    const pack = await integration(() => ({ json: { text: 'only you can see this' } }));
    const result = await fake.fireSlashCommand(pack.url, {
      token: 't',
      command: '/status',
      channelId: deploys.id,
      userId: alice.id,
    });
    assert.equal(fake.posts.length, 0);
    assert.equal(result.ephemeralPosts[0]?.message, 'only you can see this');
    assert.equal(fake.ephemeralPosts[0]?.recipient, alice.id);

    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await fetch(result.responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ response_type: 'in_channel', text: `update ${i}` }),
      });
      statuses.push(response.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 400]);
    assert.equal(fake.posts.length, 5);
  });

  test('a slow command endpoint times out after commandTimeoutMs', async () => {
    await withFake({ commandTimeoutMs: 100 });
    const pack = await integration(() => ({ json: { text: 'late' }, delayMs: 500 }));
    const result = await fake.fireSlashCommand(pack.url, {
      token: 't',
      command: '/slow',
      channelId: deploys.id,
      userId: alice.id,
    });
    assert.equal(result.status, undefined);
    assert.equal(result.error, 'timeout');
    assert.ok(result.elapsedMs >= 90);
  });

  test('an outgoing webhook answer with response_type "comment" threads under the trigger post', async () => {
    await withFake();
    const pack = await integration(() => ({ json: { text: 'on it', response_type: 'comment' } }));
    const result = await fake.fireOutgoingWebhook(pack.url, {
      token: 'hooktoken',
      channelId: deploys.id,
      userId: alice.id,
      text: 'deploy api',
      contentType: 'json',
    });
    const sent = JSON.parse(pack.received[0]?.body ?? '{}') as Record<string, unknown>;
    assert.equal(sent.token, 'hooktoken');
    assert.equal(sent.trigger_word, 'deploy');
    assert.equal(sent.post_id, result.triggerPost.id);
    assert.equal(result.post?.root_id, result.triggerPost.id);
    assert.equal(result.post?.props.from_webhook, 'true');
  });
});

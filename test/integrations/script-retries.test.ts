// send-to-switchboard.sh against a tiny HTTP stub, for what a real command API cannot be made to do on
// demand: answer 429 or 5xx, then succeed. The rest of its behaviour is tested against the real API
// (send-to-switchboard.test.ts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { runGithubAction, runShell, runTektonTask, SCRIPT_PATH } from './support.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

const received: Received[] = [];
let replies: Reply[] = [];
let server: Server;
let endpoint: string;

before(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const reply = replies.shift() ?? { status: 200, body: { name: 'MessageSent' } };
      response
        .writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
        .end(JSON.stringify(reply.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received.length = 0;
  replies = [];
});

const SCRIPT = readFileSync(SCRIPT_PATH, 'utf8');
const tooMany = (retryAfter: string): Reply => ({
  status: 429,
  headers: { 'retry-after': retryAfter },
  body: { error: { code: 'rate_limited', message: 'too many commands for this token' } },
});

function send(env: Record<string, string> = {}) {
  return runShell(SCRIPT, {
    SWITCHBOARD_ENDPOINT: endpoint,
    SWITCHBOARD_TOKEN: 'stub-token',
    SWITCHBOARD_PACK: 'matrix',
    SWITCHBOARD_CHANNEL: '!room:example.org',
    SWITCHBOARD_MESSAGE: 'deployed',
    ...env,
  });
}

test('a 429 is retried after its Retry-After, with the same body and Idempotency-Key, and then succeeds', async () => {
  // 2 s, not the script's own first pause of 1 s, so that the wait shows where it came from.
  replies = [tooMany('2')];
  const run = await send();
  assert.equal(run.code, 0, run.stderr);
  assert.equal(received.length, 2);
  const [first, second] = received as [Received, Received];
  assert.equal(first.url, '/v1/commands/matrix/SendMessage?wait=30');
  assert.equal(second.body, first.body);
  assert.ok(first.headers['idempotency-key']);
  assert.equal(second.headers['idempotency-key'], first.headers['idempotency-key']);
  assert.equal(second.headers.authorization, 'Bearer stub-token');
  assert.match(run.stderr, /HTTP 429, attempt 1 of 5; trying again in 2s/);
});

test('a 5xx, or no answer at all, is retried too; a 504 (no result in time) is not', async () => {
  replies = [{ status: 503, body: { outcome: 'unavailable' } }];
  const retried = await send();
  assert.equal(retried.code, 0, retried.stderr);
  assert.equal(received.length, 2);

  received.length = 0;
  replies = [{ status: 504, body: { error: { code: 'no_result', message: 'no result within 30 s' } } }];
  const timedOut = await send();
  assert.equal(timedOut.code, 1);
  assert.equal(received.length, 1);
  assert.match(timedOut.stderr, /no result within 30s/);

  const unreachable = await send({ SWITCHBOARD_ENDPOINT: 'http://127.0.0.1:9', SWITCHBOARD_ATTEMPTS: '2' });
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /no answer, attempt 1 of 2/);
  assert.match(unreachable.stderr, /no answer after 2 attempts, giving up/);
});

test('the attempts are bounded: after the last the script gives up, naming the reason', async () => {
  replies = [tooMany('0'), tooMany('0'), tooMany('0'), tooMany('0')];
  const run = await send({ SWITCHBOARD_ATTEMPTS: '3' });
  assert.equal(run.code, 1);
  assert.equal(received.length, 3);
  assert.match(
    run.stderr,
    /HTTP 429 after 3 attempts, giving up: rate_limited: too many commands for this token/,
  );
});

test('a Retry-After longer than SWITCHBOARD_MAX_RETRY_WAIT waits only that long', async () => {
  replies = [tooMany('3600')];
  const run = await send({ SWITCHBOARD_MAX_RETRY_WAIT: '1' });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /trying again in 1s/);
});

test('the Tekton Task and the GitHub Action send the same key on a retry, from the TaskRun uid or the run', async () => {
  replies = [tooMany('0')];
  const task = await runTektonTask({
    params: { endpoint, pack: 'matrix', channel: '!room:example.org', message: 'deployed' },
    secrets: { 'switchboard-api-token': { token: 'stub-token' } },
    uid: '4ccb4f01-3ecc-4eb4-87e1-76f04efeee5c',
  });
  assert.equal(task.code, 0, task.stderr);
  replies = [tooMany('0')];
  const action = await runGithubAction(
    { endpoint, token: 'stub-token', pack: 'matrix', channel: '!room:example.org', message: 'deployed' },
    { run_id: '1658821493', run_attempt: '2', job: 'build' },
  );
  assert.equal(action.code, 0, action.stderr);
  const keys = received.map((request) => request.headers['idempotency-key']);
  assert.equal(keys.length, 4);
  assert.match(String(keys[0]), /^tekton-4ccb4f01-3ecc-4eb4-87e1-76f04efeee5c-[0-9a-f]+$/);
  assert.equal(keys[1], keys[0]);
  assert.match(String(keys[2]), /^github-1658821493-2-build-[0-9a-f]+$/);
  assert.equal(keys[3], keys[2]);
});

test('a key too long for the API (a long job name) is shortened, the same on every attempt', async () => {
  replies = [tooMany('0')];
  const run = await send({ SWITCHBOARD_IDEMPOTENCY_KEY: `github-1-1-${'a-very-long-job-name-'.repeat(12)}` });
  assert.equal(run.code, 0, run.stderr);
  const [first, second] = received.map((request) => String(request.headers['idempotency-key']));
  assert.match(String(first), /^long-[0-9a-f]+-[0-9a-f]+$/);
  assert.ok(String(first).length <= 200);
  assert.equal(second, first);
});

test('the settings are checked before anything is sent, and the token is never printed', async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ SWITCHBOARD_ENDPOINT: '' }, /SWITCHBOARD_ENDPOINT \(endpoint\) is empty/],
    [{ SWITCHBOARD_PACK: 'Matrix' }, /"Matrix" is not a pack name/],
    [{ SWITCHBOARD_COMMAND: 'send message' }, /is not a command name/],
    [{ SWITCHBOARD_CHANNEL: '' }, /a message needs a channel/],
    [{ SWITCHBOARD_INPUT: '{}' }, /a message or an input .* not both/],
    [{ SWITCHBOARD_MESSAGE: '', SWITCHBOARD_INPUT: '["a"]' }, /the input is not a JSON object/],
    [{ SWITCHBOARD_WAIT: '61' }, /"61" is not a number of seconds from 0 to 60/],
    [{ SWITCHBOARD_TOKEN: '' }, /no API token/],
    [{ SWITCHBOARD_TOKEN: 'two words' }, /the API token has spaces/],
  ];
  for (const [env, reason] of cases) {
    const run = await send(env);
    assert.equal(run.code, 2, `${JSON.stringify(env)}: ${run.stderr}`);
    assert.match(run.stderr, reason);
    assert.doesNotMatch(run.stderr + run.stdout, /stub-token|two words/);
  }
  assert.equal(received.length, 0);
});

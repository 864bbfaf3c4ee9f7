// The Tekton Task's and the GitHub Action's script against the real command API: the ci-webhook pack
// with SWITCHBOARD_API_TOKENS, and a chat pack with the chat packs' SendMessage and SendRichMessage, on an
// in-memory bus in this process. What the chat pack receives is what the step was given, byte for byte.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendMessageCommand, sendRichMessageCommand } from '../../packs/chat-commands.ts';
import { parseCiWebhookConfig } from '../../packs/ci-webhook/ci-webhook-config.ts';
import { type CiWebhookPack, createCiWebhookPack } from '../../packs/ci-webhook/ci-webhook-pack.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { CodedError } from '../../shared/errors.ts';
import { definePack, type Payload } from '../../shared/runtime/pack-definition.ts';
import type { PackRuntime } from '../../shared/runtime/pack-runtime.ts';
import { eventually } from '../support/eventually.ts';
import { startPackRuntime } from '../support/test-pack.ts';
import { runGithubAction, runTektonTask, type ScriptRun } from './support.ts';

const TEKTON_TOKEN = 'tekton-token-0123456789abcdef';
const RICH_ONLY_TOKEN = 'rich-only-token-0123456789abcdef';

/** Everything JSON must escape, and what it must not touch: quotes, backslashes, control characters, emoji. */
const AWKWARD_MESSAGE =
  'Build "main" of C:\\builds\\x passed \\n (not a newline)\n' +
  'second line\r\n\ttabbed, \u0001\u001f\u007f controls, 🚀🎉 é ü 日本, ' +
  '%s %d $(id) `id` $HOME \'single\' \\"escaped\\" }{,:\n';

/** What the chat pack was asked to do, in order. */
const received: Array<{ command: string; input: Payload; id: string }> = [];

/** A pack shaped like Slack, Matrix and Mattermost (their SendMessage and SendRichMessage). */
const chatPack = definePack({
  name: 'chat',
  version: '0.0.1-test',
  description: 'a chat pack for the integrations tests',
  commands: {
    SendMessage: sendMessageCommand({
      description: 'posts a message',
      channel: { type: 'string', minLength: 1 },
      thread: 'the thread',
      handler: async (input, { command }) => {
        if (input.channelId === '#missing')
          throw new CodedError('not_found', 'channel #missing does not exist');
        // Longer than the test's wait; not recorded, so that it cannot land in a later test.
        if (input.channelId === '#slow') return { ...input, timestamp: String(await sleep(3000, 0)) };
        received.push({ command: 'SendMessage', input, id: command.id });
        return { ...input, timestamp: String(received.length) };
      },
    }),
    SendRichMessage: sendRichMessageCommand({
      description: 'posts a rich message',
      channel: { type: 'string', minLength: 1 },
      properties: { text: { type: 'string' }, attachments: { type: 'array' } },
      handler: async (input, { command }) => {
        received.push({ command: 'SendRichMessage', input, id: command.id });
        return { ...input, timestamp: String(received.length) };
      },
    }),
  },
});

let bus: MemoryBus;
let chat: PackRuntime;
let ciWebhook: CiWebhookPack;
let ciWebhookRuntime: PackRuntime;
let endpoint: string;

before(async () => {
  bus = new MemoryBus();
  chat = await startPackRuntime(bus, chatPack);
  ciWebhook = await createCiWebhookPack(
    parseCiWebhookConfig({
      CI_WEBHOOK_PORT: '0',
      CI_WEBHOOK_HOST: '127.0.0.1',
      SWITCHBOARD_API_TOKENS: JSON.stringify({
        [TEKTON_TOKEN]: { name: 'tekton', allow: ['chat.*'] },
        [RICH_ONLY_TOKEN]: { name: 'github', allow: ['chat.SendRichMessage'] },
      }),
    }),
  );
  ciWebhookRuntime = await startPackRuntime(bus, ciWebhook);
  endpoint = ciWebhook.url as string;
});
after(async () => {
  await ciWebhookRuntime?.stop({ graceMs: 1000 });
  await chat?.stop({ graceMs: 1000 });
  await bus?.close();
});
beforeEach(() => {
  received.length = 0;
});

let runs = 0;
/** A TaskRun of send-to-switchboard, with a uid of its own unless given. */
function taskRun(params: Record<string, string>, uid = `uid-${++runs}-${Date.now()}`): Promise<ScriptRun> {
  return runTektonTask({
    params: { endpoint, pack: 'chat', ...params },
    secrets: { 'switchboard-api-token': { token: TEKTON_TOKEN } },
    uid,
  });
}

/** The action in a job of a workflow run of its own. */
function actionStep(inputs: Record<string, string>, token = TEKTON_TOKEN): Promise<ScriptRun> {
  return runGithubAction(
    { endpoint, token, pack: 'chat', ...inputs },
    { run_id: String(1_000_000 + ++runs), run_attempt: '1', job: 'build' },
  );
}

/** Long enough for a stray command to cross the in-memory bus. */
const settle = () => sleep(200);

describe('the Tekton Task send-to-switchboard', () => {
  test('sends a message with quotes, backslashes, control characters, newlines and emoji byte for byte', async () => {
    const run = await taskRun({ channel: '#ci "main"', message: AWKWARD_MESSAGE });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(received.length, 1);
    assert.equal(received[0]?.command, 'SendMessage');
    assert.deepEqual(received[0]?.input, { channelId: '#ci "main"', message: AWKWARD_MESSAGE });
    // The result event, printed for the log.
    assert.match(run.stdout, /MessageSent/);
  });

  test('the same TaskRun sending again (a retried step) publishes nothing new', async () => {
    const uid = 'b9a3c2de-0000-4000-8000-000000000001';
    const first = await taskRun({ channel: '#ci', message: 'once' }, uid);
    assert.equal(first.code, 0, first.stderr);
    const again = await taskRun({ channel: '#ci', message: 'once' }, uid);
    assert.equal(again.code, 0, again.stderr);
    await settle();
    assert.equal(received.length, 1);
  });

  test('an input is sent as the whole payload, to the command named', async () => {
    const input = { channelId: '#ci', message: 'from "input"\n', threadTimestamp: '1700000000.000100' };
    const run = await taskRun({ command: 'SendMessage', input: JSON.stringify(input, null, 2) });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(received[0]?.input, input);
  });

  test("a failure event fails the step, printing the pack's errorCode and error", async () => {
    const run = await taskRun({ channel: '#missing', message: 'hello' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /chat\.SendMessage failed: not_found: channel #missing does not exist/);
  });

  test('no result within the wait fails the step, saying so', async () => {
    const run = await taskRun({ channel: '#slow', message: 'hello', wait: '1' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no result within 1s \(HTTP 504\)/);
  });

  test('without a wait, the step ends once the broker has the command, and the command runs', async () => {
    const run = await taskRun({ channel: '#ci', message: 'fire and forget', wait: '0' });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /HTTP 202/);
    await eventually(() => assert.equal(received[0]?.input.message, 'fire and forget'));
  });

  test('a payload the command refuses fails the step naming the field, and nothing runs', async () => {
    const run = await taskRun({ command: 'SendMessage', input: '{"channelId": 5, "message": "x"}' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /channelId/);
    await settle();
    assert.equal(received.length, 0);
  });
});

describe('the GitHub composite action', () => {
  test('sends a message byte for byte', async () => {
    const run = await actionStep({ channel: '#builds', message: AWKWARD_MESSAGE });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(received[0]?.input, { channelId: '#builds', message: AWKWARD_MESSAGE });
  });

  test('sends rich JSON with SendRichMessage, its channel added', async () => {
    const rich = { text: AWKWARD_MESSAGE, attachments: [{ color: 'good', title: 'main "β"' }] };
    const run = await actionStep({ channel: 'C0123', rich: JSON.stringify(rich) }, RICH_ONLY_TOKEN);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(received[0]?.command, 'SendRichMessage');
    assert.deepEqual(received[0]?.input, { channel: 'C0123', ...rich });
  });

  test('the same job sending the same message twice publishes it once; a different message is its own', async () => {
    const github = { run_id: '42424242', run_attempt: '1', job: 'build' };
    const inputs = { endpoint, token: TEKTON_TOKEN, pack: 'chat', channel: '#ci' };
    for (const message of ['started', 'started', 'finished']) {
      const run = await runGithubAction({ ...inputs, message }, github);
      assert.equal(run.code, 0, run.stderr);
    }
    await settle();
    assert.deepEqual(
      received.map((entry) => entry.input.message),
      ['started', 'finished'],
    );
  });

  test('a wrong token, or one not allowed the command, fails the step and sends nothing', async () => {
    const wrong = await actionStep({ channel: '#ci', message: 'hi' }, 'not-a-token-0123456789abcdef');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /refused \(HTTP 401\)/);
    const notAllowed = await actionStep({ channel: '#ci', message: 'hi' }, RICH_ONLY_TOKEN);
    assert.equal(notAllowed.code, 1);
    assert.match(notAllowed.stderr, /refused \(HTTP 403\)/);
    for (const run of [wrong, notAllowed])
      assert.doesNotMatch(run.stderr + run.stdout, /token-0123456789abcdef/);
    await settle();
    assert.equal(received.length, 0);
  });
});

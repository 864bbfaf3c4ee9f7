import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EngineStore } from '../../engine/state/engine-store.ts';
import { createEnvelope } from '../../shared/envelope.ts';
import { runCli } from '../support/processes.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true });
});

describe('switchboard flows', () => {
  test('check passes the shipped flows', async () => {
    // A data directory of its own: whatever a developer's ./.switchboard holds must not change the answer.
    const { code, stdout } = await runCli(['flows', 'check', 'flows', '--data-dir', join(dir, 'no-data')]);
    assert.equal(code, 0, stdout);
    const shipped = (await readdir('flows')).filter((file) => file.endsWith('.json')).length;
    assert.ok(shipped >= 5, `${shipped} flows`);
    assert.match(stdout, new RegExp(`${shipped} flow file\\(s\\) in .*flows: no problems`));
  });

  test('check lists every problem as file:path: reason and exits 1', async () => {
    const flows = join(dir, 'bad-flows');
    await mkdir(flows);
    await writeFile(
      join(flows, 'templates.json'),
      JSON.stringify({
        name: 'templates',
        steps: [
          {
            event: { packName: 'slack', name: 'ReceivedMessage' },
            criteria: '{{ Event.Payload.message | nosuchfilter }}',
            command: { packName: 'slack', name: 'SendMessage', input: { message: '{{ unclosed' } },
          },
        ],
      }),
    );
    await writeFile(
      join(flows, 'links.json'),
      JSON.stringify({
        name: 'links',
        steps: [
          {
            id: 'a',
            event: { packName: 'slack', name: 'ReceivedMessage' },
            command: { packName: 'slack', name: 'X' },
          },
          {
            dependsOn: ['ghost'],
            event: { packName: 'slack', name: 'MessageSent' },
            command: { packName: 'slack', name: 'X' },
          },
        ],
      }),
    );
    await writeFile(join(flows, 'broken.yaml'), 'name: broken\nsteps: [\n');
    const { code, stdout } = await runCli(['flows', 'check', flows]);
    assert.equal(code, 1);
    assert.match(stdout, /links\.json:\/steps\/1\/dependsOn\/0: .*ghost/);
    assert.match(stdout, /templates\.json:\/steps\/0\/criteria: .*nosuchfilter/);
    assert.match(stdout, /templates\.json:\/steps\/0\/command\/input\/message: /);
    assert.match(stdout, /broken\.yaml:\/: YAML syntax error at line \d+, column \d+/);
  });

  test('check compares commands with what packs announced when the engine has seen them start', async () => {
    const dataDir = join(dir, 'data-manifests');
    const store = EngineStore.open(dataDir);
    store.savePackManifest('slack', [
      { name: 'SendMessage', inputSchema: { type: 'object', required: ['channelId', 'message'] } },
      { name: 'SendRichMessage', inputSchema: { type: 'object' } },
    ]);
    store.close();
    const flows = join(dir, 'manifest-flows');
    await mkdir(flows);
    const step = (name: string, input: object) => ({
      event: { packName: 'slack', name: 'ReceivedMessage' },
      command: { packName: 'Slack', name, input },
    });
    await writeFile(
      join(flows, 'typos.json'),
      JSON.stringify({
        name: 'typos',
        steps: [step('SendMesage', {}), step('SendMessage', { channelId: 'C1' })],
      }),
    );
    const { code, stdout } = await runCli(['flows', 'check', flows, '--data-dir', dataDir]);
    assert.equal(code, 1);
    assert.match(
      stdout,
      /typos\.json:\/steps\/0\/command\/name: the slack pack has no command "SendMesage" \(it announced: SendMessage, SendRichMessage\)/,
    );
    assert.match(
      stdout,
      /typos\.json:\/steps\/1\/command\/input: missing "message", which slack\.SendMessage requires/,
    );
    const shipped = await runCli(['flows', 'check', 'flows', '--data-dir', dataDir]);
    assert.equal(shipped.code, 0, shipped.stdout);
  });

  test('test dry-runs the echo flow and shows the command it would send', async () => {
    const event = join(dir, 'echo-event.json');
    await writeFile(
      event,
      JSON.stringify({
        pack: 'Slack',
        name: 'ReceivedMessage',
        payload: { channelId: 'C1', user: { id: 'U1' }, message: 'echo hello world' },
      }),
    );
    const { code, stdout } = await runCli(['flows', 'test', 'flows/echo.json', '--event', event]);
    assert.equal(code, 0, stdout);
    assert.match(stdout, /step get_message: fired/);
    assert.ok(
      stdout.includes(
        `slack.SendMessage ${JSON.stringify({ channelId: 'C1', message: '<@U1>, you said:\n>>> hello world' })}`,
      ),
      stdout,
    );
  });

  test('test says exactly why nothing fired, and exits 1', async () => {
    const event = join(dir, 'other-event.json');
    await writeFile(
      event,
      JSON.stringify({ pack: 'slack', name: 'ReceivedMessage', payload: { message: 'hello' } }),
    );
    const { code, stdout } = await runCli(['flows', 'test', 'flows/echo.json', '--event', event]);
    assert.equal(code, 1);
    assert.match(stdout, /step get_message: not fired \(criteria\): the criteria rendered "false"/);
    const wrongPack = join(dir, 'matrix-event.json');
    await writeFile(wrongPack, JSON.stringify({ pack: 'matrix', name: 'ReceivedMessage', payload: {} }));
    const other = await runCli(['flows', 'test', 'flows/echo.json', '--event', wrongPack]);
    assert.match(
      other.stdout,
      /not fired \(pack\): the step listens to pack "slack", the event is from "matrix"/,
    );
  });
});

describe('switchboard datastore and executions', () => {
  test('datastore set, get, list and delete, with JSON values parsed', async () => {
    const env = { ...process.env, SWITCHBOARD_DATA_DIR: join(dir, 'data-ds') };
    assert.equal((await runCli(['datastore', 'set', 'oncall', '{"name":"Ada"}'], env)).code, 0);
    assert.equal((await runCli(['datastore', 'set', 'greeting', 'hello there'], env)).code, 0);
    assert.equal((await runCli(['datastore', 'get', 'oncall'], env)).stdout, '{"name":"Ada"}\n');
    assert.equal(
      (await runCli(['datastore', 'list'], env)).stdout,
      'greeting\t"hello there"\noncall\t{"name":"Ada"}\n',
    );
    assert.equal((await runCli(['datastore', 'delete', 'oncall'], env)).code, 0);
    const missing = await runCli(['datastore', 'get', 'oncall'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no key "oncall"/);
  });

  test('executions lists recorded steps and shows one instance step by step', async () => {
    const dataDir = join(dir, 'data-ex');
    const store = EngineStore.open(dataDir);
    const trigger = createEnvelope({
      kind: 'event',
      pack: 'slack',
      name: 'ReceivedMessage',
      payload: { message: 'echo hi' },
    });
    const command = createEnvelope({
      kind: 'command',
      pack: 'slack',
      name: 'SendMessage',
      payload: { message: 'hi' },
      correlationId: 'corr-1',
    });
    store.createInstance({
      correlationId: 'corr-1',
      flowName: 'echo',
      flowVersion: 'v1',
      flow: { name: 'echo', steps: [] },
      context: {},
      stepsDone: [],
    });
    store.recordExecution({
      id: command.id,
      correlationId: 'corr-1',
      flowName: 'echo',
      flowVersion: 'v1',
      stepId: 'get_message',
      triggerEvent: trigger,
      command,
      startedAt: new Date().toISOString(),
    });
    store.completeExecution(
      command.id,
      createEnvelope({
        kind: 'event',
        pack: 'slack',
        name: 'SendMessageFailed',
        payload: { error: 'channel_not_found', errorCode: 'not_found' },
      }),
      'failed',
      'channel_not_found',
    );
    store.close();

    const list = await runCli(['executions', '--data-dir', dataDir, '--status', 'failed']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /failed +echo\/get_message +slack\.SendMessage .*corr-1 +channel_not_found/);
    const none = await runCli(['executions', '--data-dir', dataDir, '--status', 'succeeded']);
    assert.equal(none.stdout, '');
    const one = await runCli(['executions', 'corr-1', '--data-dir', dataDir]);
    assert.match(one.stdout, /trigger: slack\.ReceivedMessage \{"message":"echo hi"\}/);
    assert.match(one.stdout, /result: +slack\.SendMessageFailed/);
    const json = await runCli(['executions', '--data-dir', dataDir, '--json']);
    assert.equal(JSON.parse(json.stdout).status, 'failed');
    const missing = await runCli(['executions', '--data-dir', join(dir, 'nothing-here')]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /engine\.sqlite/);
  });
});

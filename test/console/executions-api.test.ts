import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import type { FlowEngine } from '../../engine/engine.ts';
import { FlowDirectory } from '../../engine/flows/flow-directory.ts';
import { EngineStore } from '../../engine/state/engine-store.ts';
import { TemplateEngine } from '../../engine/templates/template-engine.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { EVENTS_EXCHANGE } from '../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import { testLogger } from '../support/bus.ts';
import { createTestEngine } from '../support/engine.ts';
import { whenDefined } from '../support/eventually.ts';
import { EchoSlack } from './echo-slack.ts';

const FLOWS_DIR = new URL('../../flows', import.meta.url).pathname;

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T & { error?: { code: string; message: string } };
}

describe('the executions API with an engine running the echo flow', () => {
  const bus = new MemoryBus();
  const store = EngineStore.open(':memory:');
  let flows: FlowDirectory;
  let engine: FlowEngine;
  let console: RunningConsole;
  let slack: EchoSlack;

  const get = async <T = Record<string, unknown>>(path: string): Promise<Answer<T>> => {
    const response = await fetch(`${console.url}${path}`);
    return { status: response.status, body: (await response.json()) as Answer<T>['body'] };
  };
  const runAgain = async (id: string): Promise<Answer<{ execution: { id: string; retryOf: string } }>> => {
    const response = await fetch(`${console.url}/api/executions/${encodeURIComponent(id)}/retry`, {
      method: 'POST',
      headers: { origin: console.url },
    });
    return { status: response.status, body: (await response.json()) as never };
  };
  /** Publishes a Slack message and resolves with the correlation id of the echo it fired, once it finished. */
  const echo = async (message: string): Promise<string> => {
    const event = createEnvelope({
      kind: 'event',
      pack: 'slack',
      name: 'ReceivedMessage',
      payload: { channelId: 'C1', user: { id: 'U1' }, message },
    });
    await bus.publish({ exchange: EVENTS_EXCHANGE, routingKey: 'slack.ReceivedMessage' }, event);
    return whenDefined(() => {
      const [execution] = store
        .listExecutions({ limit: 500 })
        .filter((candidate) => candidate.triggerEvent.id === event.id && candidate.status !== 'pending');
      return execution?.correlationId;
    }, `the echo of "${message}"`);
  };

  before(async () => {
    const templates = new TemplateEngine({ datastore: (key) => store.datastoreGet(key) });
    flows = await FlowDirectory.open({ dir: FLOWS_DIR, watch: false });
    engine = createTestEngine(bus, store, [...flows.flows()]);
    await engine.start();
    slack = await EchoSlack.start(bus);
    console = await startConsole({
      bus,
      logger: testLogger,
      config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
      engine: { store, flows, templates, flowsDir: FLOWS_DIR },
    });
  });
  after(async () => {
    await console?.close();
    await engine?.stop();
    await flows?.close();
    store.close();
    await bus.close();
  });

  test('GET /api/executions/<correlationId> shows the instance: trigger, context, command, result, duration', async () => {
    const correlationId = await echo('echo hello timeline');
    const { status, body } = await get<{
      instance: { flowName: string; context: Record<string, unknown> };
      trigger: Envelope;
      executions: Array<Record<string, unknown> & { command: Envelope; resultEvent: Envelope }>;
    }>(`/api/executions/${correlationId}`);
    assert.equal(status, 200);
    assert.equal(body.instance.flowName, 'echo');
    assert.deepEqual(body.instance.context, { Msg: 'hello timeline', Channel: 'C1', RequestorId: 'U1' });
    assert.equal((body.trigger.payload as { message: string }).message, 'echo hello timeline');
    const [execution] = body.executions;
    assert.equal(body.executions.length, 1);
    assert.equal(execution?.stepId, 'get_message');
    assert.equal(execution?.status, 'succeeded');
    assert.deepEqual(execution?.context, { Msg: 'hello timeline', Channel: 'C1', RequestorId: 'U1' });
    assert.deepEqual(execution?.command.payload, {
      channelId: 'C1',
      message: '<@U1>, you said:\n>>> hello timeline',
    });
    assert.equal(execution?.resultEvent.name, 'MessageSent');
    assert.equal(typeof execution?.durationMs, 'number');
    assert.equal(execution?.canRunAgain, false);
  });

  test('an unknown instance is a 404 saying so', async () => {
    const { status, body } = await get('/api/executions/no-such-instance');
    assert.equal(status, 404);
    assert.equal(body.error?.code, 'instance_not_found');
    assert.match(body.error?.message ?? '', /no-such-instance/);
  });

  test('GET /api/executions lists newest first, filtered, a page at a time to the last', async () => {
    const first = await echo('echo page one');
    const second = await echo('echo fail page two');
    const third = await echo('echo page three');
    type Page = { executions: Array<{ correlationId: string; status: string }>; nextCursor?: string };
    const ours = new Set([first, second, third]);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const query = new URLSearchParams({ flow: 'echo', since: '1h', limit: '2' });
      if (cursor) query.set('cursor', cursor);
      const { status, body } = await get<Page>(`/api/executions?${query}`);
      assert.equal(status, 200, JSON.stringify(body));
      assert.ok(body.executions.length <= 2);
      seen.push(...body.executions.map((execution) => execution.correlationId));
      cursor = body.nextCursor;
      pages += 1;
    } while (cursor && pages < 50);
    assert.equal(new Set(seen).size, seen.length, 'no execution twice');
    assert.deepEqual(
      seen.filter((id) => ours.has(id)),
      [third, second, first],
    );
    const failed = await get<Page>('/api/executions?status=failed');
    assert.ok(failed.body.executions.some((execution) => execution.correlationId === second));
    assert.ok(failed.body.executions.every((execution) => execution.status === 'failed'));
    const other = await get<Page>('/api/executions?flow=announce_builds');
    assert.deepEqual(other.body, { executions: [] });
  });

  test('bad filters get a 400 naming the parameter', async () => {
    for (const [query, named] of [
      ['status=done', /status takes pending, succeeded, failed, timed_out/],
      ['since=yesterday', /since takes/],
      ['limit=0', /limit takes a whole number from 1 to 500/],
      ['limit=501', /limit/],
      ['limit=ten', /limit/],
      ['cursor=not-a-cursor', /cursor/],
      ['state=failed', /unknown parameter state/],
      ['flow=a&flow=b', /give flow once/],
    ] as const) {
      const { status, body } = await get(`/api/executions?${query}`);
      assert.equal(status, 400, query);
      assert.equal(body.error?.code, 'invalid_parameter', query);
      assert.match(body.error?.message ?? '', named, query);
    }
  });

  test('Run again sends a failed command with a new id; its result completes it, linked both ways', async () => {
    const correlationId = await echo('echo fail run again');
    const [failed] = store.executionsOf(correlationId);
    assert.equal(failed?.status, 'failed');
    const { status, body } = await runAgain(failed?.id as string);
    assert.equal(status, 201, JSON.stringify(body));
    const retryId = body.execution.id;
    assert.notEqual(retryId, failed?.id);
    assert.equal(body.execution.retryOf, failed?.id);
    const sent = slack.commands.find((command) => command.id === retryId);
    assert.deepEqual(sent?.payload, failed?.command.payload, 'the same command, sent again');

    const timeline = await whenDefined(async () => {
      const answer = await get<{ executions: Array<Record<string, unknown>> }>(
        `/api/executions/${correlationId}`,
      );
      return answer.body.executions[1]?.status === 'succeeded' ? answer.body : undefined;
    }, 'the retry to succeed');
    assert.deepEqual(
      timeline.executions.map((execution) => [
        execution.id,
        execution.status,
        execution.retryOf,
        execution.retriedBy,
      ]),
      [
        [failed?.id, 'failed', undefined, retryId],
        [retryId, 'succeeded', failed?.id, undefined],
      ],
    );
    const again = await runAgain(failed?.id as string);
    assert.equal(again.status, 409);
    assert.equal(again.body.error?.code, 'retried_already');
    assert.match(again.body.error?.message ?? '', new RegExp(retryId));
    const succeeded = await runAgain(retryId);
    assert.equal(succeeded.status, 409);
    assert.equal(succeeded.body.error?.code, 'not_failed');
  });

  test('a double click runs the command again once: the second request gets 409', async () => {
    const correlationId = await echo('echo fail double click');
    const [failed] = store.executionsOf(correlationId);
    const answers = await Promise.all([runAgain(failed?.id as string), runAgain(failed?.id as string)]);
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [201, 409]);
    await whenDefined(
      () => (store.executionsOf(correlationId).length === 2 ? true : undefined),
      'the retry recorded',
    );
    assert.equal(slack.commands.filter((command) => command.correlationId === correlationId).length, 2);
  });

  test('Run again of an unknown execution is a 404', async () => {
    const { status, body } = await runAgain('no-such-execution');
    assert.equal(status, 404);
    assert.equal(body.error?.code, 'execution_not_found');
  });
});

describe('the executions API without an engine', () => {
  const bus = new MemoryBus();
  let console: RunningConsole;

  before(async () => {
    console = await startConsole({
      bus,
      logger: testLogger,
      config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
    });
  });
  after(async () => {
    await console.close();
    await bus.close();
  });

  test('every executions endpoint answers 503 engine_not_running, with the reason', async () => {
    for (const [method, path] of [
      ['GET', '/api/executions'],
      ['GET', '/api/executions/some-instance'],
      ['POST', '/api/executions/some-execution/retry'],
    ] as const) {
      const response = await fetch(`${console.url}${path}`, { method });
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(response.status, 503, path);
      assert.equal(body.error.code, 'engine_not_running', path);
      assert.match(body.error.message, /no flow engine runs in this process/, path);
    }
  });
});

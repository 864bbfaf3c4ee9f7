import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { StepDryRun } from '../../engine/dry-run.ts';
import { EVENTS_EXCHANGE, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import type { PackRuntime } from '../../shared/runtime/pack-runtime.ts';
import { EventCollector, uniquePackName } from '../support/bus.ts';
import { startTestPack } from '../support/test-pack.ts';
import { api, eventually, type FlowsConsole, startFlowsConsole } from './flows-support.ts';

const pack = uniquePackName('try');
const posting = JSON.stringify({
  name: 'posting',
  steps: [
    {
      id: 'post',
      event: { packName: pack, name: 'Observed' },
      command: {
        packName: pack,
        name: 'Post',
        input: { channelId: 'C1', message: '{{ Event.Payload.text }}' },
      },
    },
  ],
});

interface TryAnswer {
  event: Envelope;
  fired: number;
  flows: Array<{ flow: string; file: string; fired: number; steps: StepDryRun[] }>;
  published: { id: string; instances: Array<{ flow: string; stepId: string; correlationId: string }> } | null;
}

let setup: FlowsConsole;
let testPack: PackRuntime;
before(async () => {
  setup = await startFlowsConsole({
    'echo.json': readFileSync('flows/echo.json', 'utf8'),
    'announce_builds.json': readFileSync('flows/announce_builds.json', 'utf8'),
    'posting.json': posting,
  });
  testPack = await startTestPack(setup.bus, { name: pack });
});
after(async () => {
  await testPack?.stop({ graceMs: 100 });
  await setup?.close();
});

async function sample(id: string): Promise<object> {
  const { status, json } = await api<{ samples: Array<{ id: string; event: object }> }>(
    setup.console,
    '/api/flows/samples',
  );
  assert.equal(status, 200);
  const found = json.samples.find((candidate) => candidate.id === id);
  assert.ok(found, `no sample ${id}`);
  return found.event;
}

describe('POST /api/flows/test', () => {
  test('the echo sample dry-runs against every loaded flow: echo fires with its rendered command', async () => {
    const { status, json } = await api<TryAnswer>(setup.console, '/api/flows/test', {
      event: await sample('slack-echo'),
    });
    assert.equal(status, 200);
    assert.equal(json.published, null);
    assert.equal(json.fired, 1);
    assert.equal(json.event.pack, 'slack');
    assert.deepEqual(
      json.flows.map(({ flow, fired }) => `${flow}: ${fired}`),
      ['announce_builds: 0', 'echo: 1', 'posting: 0'],
    );
    const [step] = json.flows.find(({ flow }) => flow === 'echo')?.steps ?? [];
    assert.ok(step?.fired);
    assert.deepEqual(step.command, {
      pack: 'slack',
      name: 'SendMessage',
      payload: { channelId: 'C0123ECHO', message: '<@U0123ADA>, you said:\n>>> hello' },
    });
    const [other] = json.flows.find(({ flow }) => flow === 'posting')?.steps ?? [];
    assert.ok(other && !other.fired);
    assert.equal(other.stage, 'pack');
    assert.equal(other.reason, `the step listens to pack "${pack}", the event is from "slack"`);
  });

  test('the JobServ build 67 sample fires the build announcement, and not the failure one', async () => {
    const { json } = await api<TryAnswer>(setup.console, '/api/flows/test', {
      event: await sample('jobserv-build-67'),
    });
    const steps = json.flows.find(({ flow }) => flow === 'announce_builds')?.steps ?? [];
    assert.deepEqual(
      steps.map((step) => `${step.stepId}: ${step.fired ? 'fired' : step.stage}`),
      ['announce_build: fired', 'announce_failure: criteria'],
    );
  });

  test('a dry run publishes nothing', async () => {
    const seen = await EventCollector.start(setup.bus, `${pack}.*`);
    try {
      await api(setup.console, '/api/flows/test', {
        event: { pack, name: 'Observed', payload: { text: 'dry' } },
      });
      // Delivered in order: once the marker is here, a published dry run would have been too.
      const marker = createEnvelope({ kind: 'event', pack, name: 'Marker', payload: {} });
      await setup.bus.publish({ exchange: EVENTS_EXCHANGE, routingKey: routingKey(pack, 'Marker') }, marker);
      await eventually(async () => assert.ok(seen.events.some((event) => event.id === marker.id)));
      assert.deepEqual(
        seen.events.map((event) => event.name),
        ['Marker'],
      );
    } finally {
      await seen.stop();
    }
  });

  test('with publish: true the event goes on the bus, and its answer names the instance it started', async () => {
    const event = { pack, name: 'Observed', payload: { text: 'for real' } };
    const { status, json } = await api<TryAnswer>(setup.console, '/api/flows/test', { event, publish: true });
    assert.equal(status, 200);
    assert.ok(json.published);
    assert.equal(json.published.id, json.event.id);
    assert.deepEqual(
      json.published.instances.map(({ flow, stepId }) => `${flow}/${stepId}`),
      ['posting/post'],
    );
    const correlationId = json.published.instances[0]?.correlationId ?? '';
    await eventually(async () => {
      const [execution] = setup.store.executionsOf(correlationId);
      assert.equal(execution?.stepId, 'post');
      assert.equal(execution?.triggerEvent.id, json.event.id);
      assert.equal(execution?.status, 'succeeded');
    });
    // Each publish is a new event: the engine would take a second one with the same id for a redelivery.
    const again = await api<TryAnswer>(setup.console, '/api/flows/test', { event, publish: true });
    assert.notEqual(again.json.published?.id, json.published.id);
  });
});

describe('POST /api/flows/test refuses what is not an event, saying why', () => {
  const post = (body: string, contentType = 'application/json') =>
    fetch(`${setup.console.url}/api/flows/test`, {
      method: 'POST',
      headers: { 'content-type': contentType, origin: setup.console.url },
      body,
    }).then(async (response) => ({
      status: response.status,
      error: ((await response.json()) as { error: { code: string; message: string } }).error,
    }));

  test('a body that is not JSON, or not {"event": ...}, gets 400 (415 when not sent as JSON)', async () => {
    assert.deepEqual((await post('{"event": ')).status, 400);
    assert.equal((await post('{"event": ')).error.code, 'invalid_json');
    for (const body of ['[]', '"echo hello"', '{"payload": {}}']) {
      const { status, error } = await post(body);
      assert.equal(status, 400, body);
      assert.equal(error.code, 'invalid_request');
      assert.match(error.message, /send \{"event"/);
    }
    const publish = await post('{"event": {}, "publish": "yes"}');
    assert.equal(publish.status, 400);
    assert.match(publish.error.message, /"publish" is true or false/);
    assert.equal((await post('{"event": {}}', 'text/plain')).status, 415);
  });

  test('an event that is not an object, or fails the envelope schema, gets 422 with the reason', async () => {
    const notObject = await post('{"event": "echo hello"}');
    assert.equal(notObject.status, 422);
    assert.deepEqual(notObject.error, { code: 'invalid_event', message: 'the event must be a JSON object' });
    const noName = await post(JSON.stringify({ event: { pack: 'slack', payload: {} } }));
    assert.equal(noName.status, 422);
    assert.equal(noName.error.code, 'invalid_event');
    assert.match(noName.error.message, /not a valid envelope: .*name/);
    const published = await post(JSON.stringify({ event: { pack: 'slack', payload: {} }, publish: true }));
    assert.equal(published.status, 422, 'an invalid event is never published');
  });
});

test('GET /api/flows/samples lists the shipped samples: the echo message, JobServ build 67, a GitHub workflow_run', async () => {
  const { json } = await api<{
    samples: Array<{ id: string; title: string; event: { pack: string; name: string } }>;
  }>(setup.console, '/api/flows/samples');
  assert.deepEqual(
    json.samples.map(({ id, event }) => `${id}: ${event.pack}.${event.name}`),
    [
      'slack-echo: slack.ReceivedMessage',
      'jobserv-build-67: ci-webhook.BuildCompleted',
      'github-workflow-run: ci-webhook.BuildCompleted',
    ],
  );
  assert.ok(json.samples.every(({ title }) => title.length > 0));
});

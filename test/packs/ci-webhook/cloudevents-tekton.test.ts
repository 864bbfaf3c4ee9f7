import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { CI_WEBHOOK_EVENTS } from '../../../packs/ci-webhook/build-events.ts';
import { parseCloudEventsConfig } from '../../../packs/ci-webhook/cloudevents/cloudevents-config.ts';
import {
  CLOUDEVENTS_EVENTS,
  cloudeventsSource,
} from '../../../packs/ci-webhook/cloudevents/cloudevents-source.ts';
import { RunProgress } from '../../../packs/ci-webhook/cloudevents/run-progress.ts';
import type { Interpretation, InterpretedEvent } from '../../../packs/ci-webhook/webhook-source.ts';
import {
  type FixtureName,
  forRun,
  runOf,
  type TektonRequest,
  tektonRequest,
  withNewId,
} from './fixtures/tekton/tekton-fixtures.ts';

// Tekton's CloudEvents (tektoncd/pipeline docs/events.md) as builds: what each state of a run
// announces, which deliveries are the same state change, and that a late event takes no run back.

const ajv = new Ajv({ allErrors: true });
addFormats.default(ajv);
const validators = Object.fromEntries(
  Object.entries({ ...CI_WEBHOOK_EVENTS, ...CLOUDEVENTS_EVENTS }).map(([name, event]) => [
    name,
    ajv.compile(event.schema),
  ]),
);

const DASHBOARD = 'https://tekton.example.com/dashboard';

/** A source of its own (its own record of runs), as a pack has. */
function newSource(env: Record<string, string> = {}) {
  return cloudeventsSource(parseCloudEventsConfig({ CLOUDEVENTS_TOKENS: 't', ...env }), new RunProgress());
}

function lower(headers: Record<string, string>): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function interpret(source: ReturnType<typeof newSource>, request: TektonRequest): Interpretation {
  return source.interpret(lower(request.headers), undefined, Buffer.from(JSON.stringify(request.body)));
}

/** The events a delivery stands for, each checked against the schema the pack announces for it. */
function emitted(result: Interpretation): InterpretedEvent[] {
  assert.equal(result.kind, 'events', JSON.stringify(result));
  if (result.kind !== 'events') throw new Error('unreachable');
  for (const { event, payload } of result.events) {
    const validate = validators[event];
    assert.ok(validate, event);
    assert.ok(validate(payload), `${event}: ${ajv.errorsText(validate.errors)}`);
  }
  return result.events;
}

const names = (events: InterpretedEvent[]) => events.map(({ event }) => event);
/** The build event among them; fails the test when there is none. */
function build(events: InterpretedEvent[]): InterpretedEvent & { payload: Record<string, unknown> } {
  const found = events.find(({ event }) => event.startsWith('Build'));
  assert.ok(found, `no build event among ${names(events).join(', ')}`);
  return found as InterpretedEvent & { payload: Record<string, unknown> };
}

describe('a PipelineRun, state by state', () => {
  test('started: CloudEventReceived and BuildStarted, the build read from the run', () => {
    const events = emitted(interpret(newSource(), tektonRequest('pipelinerun-started')));
    assert.deepEqual(names(events), ['CloudEventReceived', 'BuildStarted']);
    const { raw, ...payload } = build(events).payload;
    assert.deepEqual(payload, {
      source: 'tekton',
      project: 'build-and-test',
      buildId: 'build-and-test-run-x7k2p',
      status: 'running',
      url: null,
      webUrl: null,
      ref: null,
      commit: null,
      trigger: 'github-push',
      startedAt: '2026-11-30T09:12:03.000Z',
      completedAt: null,
      durationSeconds: null,
      runs: [],
      namespace: 'default',
      reason: 'Started',
      message: null,
    });
    assert.deepEqual(raw, tektonRequest('pipelinerun-started').body);
    const received = events[0]?.payload as Record<string, unknown>;
    assert.equal(received.type, 'dev.tekton.event.pipelinerun.started.v1');
    assert.equal(received.subject, 'build-and-test-run-x7k2p');
  });

  test('running after started is the same BuildStarted (one delivery key per run)', () => {
    const source = newSource();
    const started = build(emitted(interpret(source, tektonRequest('pipelinerun-started'))));
    const running = build(emitted(interpret(source, tektonRequest('pipelinerun-running'))));
    assert.equal(running.event, 'BuildStarted');
    assert.equal(running.deliveryKey, started.deliveryKey);
  });

  test('successful: BuildCompleted passed, with its duration and the dashboard page', () => {
    const source = newSource({ TEKTON_DASHBOARD_URL: `${DASHBOARD}/` });
    const completed = build(emitted(interpret(source, tektonRequest('pipelinerun-successful'))));
    assert.equal(completed.event, 'BuildCompleted');
    const payload = completed.payload;
    assert.equal(payload.status, 'passed');
    assert.equal(payload.completedAt, '2026-11-30T09:20:57.000Z');
    assert.equal(payload.durationSeconds, 534);
    assert.equal(payload.webUrl, `${DASHBOARD}/#/namespaces/default/pipelineruns/build-and-test-run-x7k2p`);
  });

  test('False is failed, or cancelled when the reason says so', () => {
    const failed = build(emitted(interpret(newSource(), tektonRequest('pipelinerun-failed'))));
    assert.equal(failed.payload.status, 'failed');
    const cancelledRequest = tektonRequest('pipelinerun-failed');
    Object.assign(runOf(cancelledRequest).status.conditions[0] ?? {}, {
      reason: 'Cancelled',
      message: 'PipelineRun "build-and-test-run-x7k2p" was cancelled',
    });
    const cancelled = build(emitted(interpret(newSource(), cancelledRequest)));
    assert.equal(cancelled.payload.status, 'cancelled');
  });

  test('queued (no Succeeded condition yet) is a CloudEventReceived only', () => {
    const queued = tektonRequest('pipelinerun-started');
    queued.headers['Ce-Type'] = 'dev.tekton.event.pipelinerun.queued.v1';
    runOf(queued).status.conditions = [];
    assert.deepEqual(names(emitted(interpret(newSource(), queued))), ['CloudEventReceived']);
  });
});

describe('Tekton resends and reorders', () => {
  test('the same state change with a new ce-id has the same delivery keys', () => {
    for (const fixture of ['pipelinerun-started', 'pipelinerun-successful'] as FixtureName[]) {
      const source = newSource();
      const first = emitted(interpret(source, tektonRequest(fixture)));
      const again = emitted(interpret(source, withNewId(tektonRequest(fixture), 'a-new-uuid')));
      assert.deepEqual(
        again.map(({ deliveryKey }) => deliveryKey),
        first.map(({ deliveryKey }) => deliveryKey),
        fixture,
      );
    }
  });

  test('a late running after successful announces no BuildStarted; the run stays finished', () => {
    const source = newSource();
    emitted(interpret(source, tektonRequest('pipelinerun-successful')));
    assert.deepEqual(names(emitted(interpret(source, tektonRequest('pipelinerun-running')))), [
      'CloudEventReceived',
    ]);
    assert.deepEqual(names(emitted(interpret(source, tektonRequest('pipelinerun-failed')))), [
      'CloudEventReceived',
    ]);
    // The same end again (a retry after a 503) is still announced: the delivery ledger answers it.
    assert.deepEqual(names(emitted(interpret(source, tektonRequest('pipelinerun-successful')))), [
      'CloudEventReceived',
      'BuildCompleted',
    ]);
  });

  test('a batch refused for one bad event leaves the run where it was', () => {
    const source = newSource();
    const successful = tektonRequest('pipelinerun-successful');
    const asStructured = (request: TektonRequest) => ({
      specversion: '1.0',
      id: request.headers['Ce-Id'],
      source: request.headers['Ce-Source'],
      type: request.headers['Ce-Type'],
      datacontenttype: 'application/json',
      data: request.body,
    });
    const bad = { ...asStructured(successful), id: 'x', data: { notARun: true } };
    const refused = source.interpret(
      { 'content-type': 'application/cloudevents-batch+json' },
      undefined,
      Buffer.from(JSON.stringify([asStructured(successful), bad])),
    );
    assert.deepEqual(refused, {
      kind: 'invalid',
      reason:
        'event 1 of the batch: a dev.tekton.event.pipelinerun.successful.v1 event\'s data is {"pipelineRun": {...}}',
    });
    assert.deepEqual(names(emitted(interpret(source, tektonRequest('pipelinerun-running')))), [
      'CloudEventReceived',
      'BuildStarted',
    ]);
  });
});

describe('TaskRuns', () => {
  test("a TaskRun of its own (docs/events.md's example) is a build of its Task, its steps as runs", () => {
    const events = emitted(interpret(newSource(), tektonRequest('taskrun-unknown')));
    const started = build(events);
    assert.equal(started.event, 'BuildStarted');
    const payload = started.payload;
    assert.equal(payload.project, 'curl');
    assert.equal(payload.buildId, 'curl-run-6gplk');
    assert.deepEqual(payload.runs, [
      { name: 'curl', status: 'queued', url: null, logUrl: null, webUrl: null },
    ]);
  });

  test('a TaskRun of a PipelineRun is part of that build: CloudEventReceived only', () => {
    const request = forRun(tektonRequest('taskrun-unknown'), 'child-uid');
    runOf(request).metadata.labels['tekton.dev/pipelineRun'] = 'build-and-test-run-x7k2p';
    assert.deepEqual(names(emitted(interpret(newSource(), request))), ['CloudEventReceived']);
  });
});

test('an event of another sender is deduplicated on its source and id, as the spec says', () => {
  const request = {
    headers: {
      'ce-specversion': '1.0',
      'ce-id': '42',
      'ce-source': 'https://argo.example/workflows',
      'ce-type': 'io.argoproj.workflow.v1alpha1.WorkflowSucceeded',
    },
  };
  const [received] = emitted(newSource().interpret(request.headers, undefined, Buffer.alloc(0)));
  assert.deepEqual(received?.deliveryKey, 'event:["https://argo.example/workflows","42"]');
});

test('the record of runs is bounded: the run heard of least recently is forgotten first', () => {
  const progress = new RunProgress(2);
  assert.equal(progress.advance('a', { stage: 'finished', condition: 'True' }), true);
  progress.advance('b', { stage: 'started' });
  assert.equal(progress.advance('a', { stage: 'started' }), false, 'a is finished');
  progress.advance('c', { stage: 'started' });
  assert.equal(progress.size, 2);
  assert.equal(progress.advance('a', { stage: 'started' }), false, 'a was used last, b went');
  assert.equal(progress.advance('b', { stage: 'finished', condition: 'False' }), true);
  assert.equal(progress.advance('c', { stage: 'started' }), true, 'c went: forgotten, like after a restart');
});

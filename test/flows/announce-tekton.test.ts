import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dryRunFlow, readDryRunEvent } from '../../engine/dry-run.ts';
import { parseFlow } from '../../engine/flows/parse-flow.ts';
import { TemplateEngine } from '../../engine/templates/template-engine.ts';
import { parseCloudEventsConfig } from '../../packs/ci-webhook/cloudevents/cloudevents-config.ts';
import { cloudeventsSource } from '../../packs/ci-webhook/cloudevents/cloudevents-source.ts';
import {
  type FixtureName,
  runOf,
  type TektonRequest,
  tektonRequest,
} from '../packs/ci-webhook/fixtures/tekton/tekton-fixtures.ts';
import { runCli } from '../support/processes.ts';

// The shipped Tekton announcement in Matrix, against what the ci-webhook pack emits for Tekton's own
// CloudEvents (the fixtures are the requests Tekton sends).
const FLOW = 'flows/announce_tekton_matrix.json';
const ROOM = '#ci:example.org';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-announce-tekton-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The BuildCompleted (or other build event) the pack emits for this request, as an event for a dry run. */
function buildEventOf(request: TektonRequest) {
  const source = cloudeventsSource(
    parseCloudEventsConfig({ CLOUDEVENTS_TOKENS: 't', TEKTON_DASHBOARD_URL: 'https://tekton.example.com' }),
  );
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const result = source.interpret(headers, undefined, Buffer.from(JSON.stringify(request.body)));
  assert.equal(result.kind, 'events');
  if (result.kind !== 'events') throw new Error('unreachable');
  const build = result.events.find(({ event }) => event.startsWith('Build'));
  assert.ok(build, 'a build event');
  return { pack: 'ci-webhook', name: build.event, payload: build.payload };
}

/** The flow's commands for the event, with the datastore holding `room` (or nothing). */
async function announce(fixture: FixtureName | TektonRequest, room?: string) {
  const request = typeof fixture === 'string' ? tektonRequest(fixture) : fixture;
  const parsed = parseFlow('announce_tekton_matrix.json', await readFile(FLOW, 'utf8'));
  assert.ok(parsed.flow, JSON.stringify(parsed.problems));
  const read = readDryRunEvent(buildEventOf(request));
  assert.ok(read.ok);
  if (!read.ok) throw new Error('unreachable');
  const templates = new TemplateEngine({
    datastore: (key) => (key === 'matrix_tekton_room' ? room : undefined),
  });
  const result = await dryRunFlow(parsed.flow, read.event, templates);
  return result.steps.flatMap((step) => (step.fired ? [step.command] : []));
}

test('a PipelineRun that failed is announced in the room, red, with its reason, message and dashboard link', async () => {
  const [command, ...more] = await announce('pipelinerun-failed', ROOM);
  assert.equal(more.length, 0);
  assert.equal(command?.pack, 'matrix');
  assert.equal(command?.name, 'SendRichMessage');
  const input = command?.payload as {
    channel: string;
    text: string;
    attachments: Array<Record<string, unknown>>;
  };
  assert.equal(input.channel, ROOM);
  assert.equal(
    input.text,
    'PipelineRun build-and-test-run-x7k2p of build-and-test failed in 4 min 38 s: Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 0',
  );
  const [attachment] = input.attachments;
  assert.equal(attachment?.color, '#d00000');
  assert.equal(
    attachment?.title_link,
    'https://tekton.example.com/#/namespaces/default/pipelineruns/build-and-test-run-x7k2p',
  );
  assert.deepEqual(attachment?.fields, [
    { title: 'Namespace', value: 'default', short: true },
    { title: 'Reason', value: 'Failed', short: true },
  ]);
});

test('a PipelineRun that passed is green', async () => {
  const [command] = await announce('pipelinerun-successful', ROOM);
  const input = command?.payload as { text: string; attachments: Array<{ color: string }> };
  assert.match(input.text, /^PipelineRun build-and-test-run-x7k2p of build-and-test passed in 8 min 54 s/);
  assert.equal(input.attachments[0]?.color, '#36a64f');
});

test('a TaskRun of its own finishing is not announced: the flow is about PipelineRuns', async () => {
  const taskRun = tektonRequest('taskrun-unknown');
  const run = runOf(taskRun);
  taskRun.headers['Ce-Type'] = 'dev.tekton.event.taskrun.successful.v1';
  run.status.conditions = [
    { type: 'Succeeded', status: 'True', reason: 'Succeeded', message: 'All Steps have completed executing' },
  ];
  assert.deepEqual(await announce(taskRun, ROOM), []);
});

test('idle until matrix_tekton_room is set in the datastore, as `switchboard flows test` shows', async () => {
  assert.deepEqual(await announce('pipelinerun-failed'), []);
  const file = join(dir, 'failed.json');
  await writeFile(file, JSON.stringify(buildEventOf(tektonRequest('pipelinerun-failed'))));
  const { code, stdout } = await runCli(['flows', 'test', FLOW, '--event', file]);
  assert.equal(code, 1, stdout);
  assert.match(stdout, /no step fired/);
});

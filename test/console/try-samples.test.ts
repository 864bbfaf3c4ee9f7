// The Try page's samples are files in docs/examples/; these tests keep them what the packs emit, so a
// change to the ci-webhook pack's events cannot leave stale samples behind.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { TRY_SAMPLES } from '../../console/flows/try-samples.ts';
import { dryRunFlow, readDryRunEvent } from '../../engine/dry-run.ts';
import type { Flow } from '../../engine/flow.ts';
import { TemplateEngine } from '../../engine/templates/template-engine.ts';
import { normalizeGitHub } from '../../packs/ci-webhook/sources/github.ts';
import { normalizeJobServ } from '../../packs/ci-webhook/sources/jobserv.ts';
import githubRun from '../packs/ci-webhook/fixtures/github-workflow-run-completed.json' with { type: 'json' };

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const sample = (id: string) => {
  const found = TRY_SAMPLES.find((candidate) => candidate.id === id);
  assert.ok(found, `no sample ${id}`);
  return found.event;
};
const emitted = (interpretation: ReturnType<typeof normalizeJobServ>) => {
  assert.equal(interpretation.kind, 'event');
  if (interpretation.kind !== 'event') throw new Error('unreachable');
  return { pack: 'ci-webhook', name: interpretation.event, payload: interpretation.payload };
};

test("JobServ build 67's sample is what the ci-webhook pack emits for docs/examples/jobserv-build.json", () => {
  const expected = emitted(normalizeJobServ(readJson('docs/examples/jobserv-build.json')));
  assert.deepEqual(sample('jobserv-build-67'), expected);
  assert.deepEqual(readJson('docs/examples/jobserv-build-67.event.json'), expected);
});

test('the GitHub sample is what the ci-webhook pack emits for a completed workflow_run', () => {
  assert.deepEqual(sample('github-workflow-run'), emitted(normalizeGitHub('workflow_run', githubRun)));
});

test('every sample is a valid event, and each fires a shipped flow', async () => {
  const templates = new TemplateEngine({ datastore: () => undefined });
  const flows: Record<string, Flow> = {
    'slack-echo': readJson('flows/echo.json'),
    'jobserv-build-67': readJson('flows/announce_builds.json'),
    'github-workflow-run': readJson('flows/announce_builds.json'),
  };
  assert.deepEqual(
    TRY_SAMPLES.map(({ id }) => id),
    Object.keys(flows),
  );
  for (const { id, event } of TRY_SAMPLES) {
    const read = readDryRunEvent(event);
    assert.ok(read.ok, `${id}: ${read.ok ? '' : read.reason}`);
    const result = await dryRunFlow(flows[id] as Flow, read.event, templates);
    assert.ok(result.fired > 0, `${id} fires nothing in ${result.flow}`);
  }
});

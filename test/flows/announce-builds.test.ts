import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { normalizeGitHub } from '../../packs/ci-webhook/sources/github.ts';
import { normalizeGitLab } from '../../packs/ci-webhook/sources/gitlab.ts';
import type { Interpretation } from '../../packs/ci-webhook/webhook-source.ts';
import githubRun from '../packs/ci-webhook/fixtures/github-workflow-run-completed.json' with { type: 'json' };
import gitlabPipeline from '../packs/ci-webhook/fixtures/gitlab-pipeline-success.json' with { type: 'json' };
import { runCli } from '../support/processes.ts';

// The shipped build announcements, run by `switchboard flows test` against what the ci-webhook pack
// emits for GitHub and GitLab (the JobServ path runs end to end in test/e2e).
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-announce-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function announce(flow: string, interpretation: Interpretation) {
  assert.equal(interpretation.kind, 'event');
  if (interpretation.kind !== 'event') throw new Error('unreachable');
  const file = join(dir, `${interpretation.event}-${Math.random()}.json`);
  await writeFile(
    file,
    JSON.stringify({ pack: 'ci-webhook', name: interpretation.event, payload: interpretation.payload }),
  );
  return runCli(['flows', 'test', `flows/${flow}`, '--event', file]);
}

test('a GitHub workflow run that failed is announced in #builds and #build-failures, in red', async () => {
  const failed = { ...githubRun, workflow_run: { ...githubRun.workflow_run, conclusion: 'failure' } };
  const { code, stdout } = await announce('announce_builds.json', normalizeGitHub('workflow_run', failed));
  assert.equal(code, 0, stdout);
  const commands = stdout
    .split('\n')
    .filter((line) => line.trim().startsWith('command: slack.SendRichMessage '))
    .map((line) => JSON.parse(line.trim().slice('command: slack.SendRichMessage '.length)));
  assert.deepEqual(
    commands.map((command) => command.channel),
    ['#builds', '#build-failures'],
  );
  assert.equal(commands[0].text, 'octo-org/octo-repo build 30433642 (push) failed in 2 min 34 s');
  assert.equal(commands[0].attachments[0].color, '#d00000');
  assert.deepEqual(commands[0].attachments[0].fields, []);
  assert.equal(
    commands[0].attachments[0].actions[0].url,
    'https://github.com/octo-org/octo-repo/actions/runs/30433642',
  );
});

test('a GitLab pipeline that passed goes to #builds only', async () => {
  const { code, stdout } = await announce('announce_builds.json', normalizeGitLab(gitlabPipeline));
  assert.equal(code, 0, stdout);
  assert.match(stdout, /step announce_build: fired/);
  assert.match(stdout, /step announce_failure: not fired \(criteria\)/);
  assert.match(stdout, /"color":"#36a64f"/);
});

test('the Matrix and Mattermost announcements stay idle until their rooms are set in the datastore', async () => {
  for (const flow of ['announce_builds_matrix.json', 'announce_builds_mattermost.json']) {
    const { code, stdout } = await announce(flow, normalizeGitLab(gitlabPipeline));
    assert.equal(code, 1, stdout);
    assert.match(stdout, /no step fired/);
  }
});

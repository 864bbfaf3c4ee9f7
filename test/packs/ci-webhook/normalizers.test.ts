import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { CI_WEBHOOK_EVENTS } from '../../../packs/ci-webhook/build-events.ts';
import { safeHeaders } from '../../../packs/ci-webhook/sources/generic.ts';
import { normalizeGitHub } from '../../../packs/ci-webhook/sources/github.ts';
import { normalizeGitLab } from '../../../packs/ci-webhook/sources/gitlab.ts';
import { normalizeJobServ } from '../../../packs/ci-webhook/sources/jobserv.ts';
import type { Interpretation } from '../../../packs/ci-webhook/webhook-source.ts';
import githubWorkflowRun from './fixtures/github-workflow-run-completed.json' with { type: 'json' };
import gitlabPipeline from './fixtures/gitlab-pipeline-success.json' with { type: 'json' };
import jobservBuild from './fixtures/jobserv-build-67.json' with { type: 'json' };

const ajv = new Ajv({ allErrors: true });
addFormats.default(ajv);
const validators = Object.fromEntries(
  Object.entries(CI_WEBHOOK_EVENTS).map(([name, event]) => [name, ajv.compile(event.schema)]),
);

/** The event an interpretation emits, checked against the schema the pack announces for it. */
function emitted(result: Interpretation): { event: string; payload: Record<string, unknown> } {
  assert.equal(result.kind, 'event', JSON.stringify(result));
  if (result.kind !== 'event') throw new Error('unreachable');
  const validate = validators[result.event];
  assert.ok(validate, result.event);
  assert.ok(validate(result.payload), `${result.event}: ${ajv.errorsText(validate.errors)}`);
  return { event: result.event, payload: result.payload };
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

describe('JobServ', () => {
  test("the seed's build becomes one BuildCompleted with every field", () => {
    const { event, payload } = emitted(normalizeJobServ(jobservBuild));
    assert.equal(event, 'BuildCompleted');
    const base = 'https://api.foundries.io/projects/andy-corp/lmp/builds/67/runs';
    const web = 'https://ci.foundries.io/projects/andy-corp/lmp/builds/67';
    const run = (name: string) => ({
      name,
      status: 'passed',
      url: `${base}/${name}/`,
      logUrl: `${base}/${name}/console.log`,
      webUrl: `${web}/${name}/`,
    });
    assert.deepEqual(payload, {
      source: 'jobserv',
      project: 'andy-corp/lmp',
      buildId: '67',
      status: 'passed',
      url: 'https://api.foundries.io/projects/andy-corp/lmp/builds/67/',
      webUrl: web,
      ref: null,
      commit: null,
      trigger: 'containers-devel',
      startedAt: '2021-07-26T18:10:33.000Z',
      completedAt: '2021-07-26T18:19:24.000Z',
      durationSeconds: 531,
      runs: [
        run('build-amd64-partner'),
        run('build-armhf'),
        run('build-aarch64'),
        run('publish-compose-apps'),
      ],
      raw: jobservBuild,
    });
  });

  test('a failed build with a failed run; a running build starts; a queued one announces nothing', () => {
    const failed = clone(jobservBuild);
    failed.status = 'FAILED';
    (failed.runs[1] as { status: string }).status = 'FAILED';
    const { payload } = emitted(normalizeJobServ(failed));
    assert.equal(payload.status, 'failed');
    assert.deepEqual(
      (payload.runs as Array<{ status: string }>).map((run) => run.status),
      ['passed', 'failed', 'passed', 'passed'],
    );
    assert.equal(emitted(normalizeJobServ({ ...jobservBuild, status: 'RUNNING' })).event, 'BuildStarted');
    assert.equal(normalizeJobServ({ ...jobservBuild, status: 'QUEUED' }).kind, 'ignored');
    assert.equal(emitted(normalizeJobServ({ build_id: 67, status: 'PROMOTED' })).payload.status, 'passed');
  });

  test('a body that is not a build is invalid', () => {
    assert.equal(normalizeJobServ([1, 2]).kind, 'invalid');
    assert.equal(normalizeJobServ({ status: 'PASSED' }).kind, 'invalid');
  });
});

describe('GitHub', () => {
  test('workflow_run completed with success is a passed BuildCompleted', () => {
    const { event, payload } = emitted(normalizeGitHub('workflow_run', githubWorkflowRun));
    assert.equal(event, 'BuildCompleted');
    assert.deepEqual(payload, {
      source: 'github',
      project: 'octo-org/octo-repo',
      buildId: '30433642',
      status: 'passed',
      url: 'https://api.github.com/repos/octo-org/octo-repo/actions/runs/30433642',
      webUrl: 'https://github.com/octo-org/octo-repo/actions/runs/30433642',
      ref: 'main',
      commit: 'acb5820ced9479c074f688cc328bf03f341a511d',
      trigger: 'push',
      startedAt: '2020-01-22T19:33:10.000Z',
      completedAt: '2020-01-22T19:35:44.000Z',
      durationSeconds: 154,
      runs: [],
      raw: githubWorkflowRun,
    });
  });

  test('conclusions map onto the shared words; in_progress starts; requested announces nothing', () => {
    const withRun = (action: string, fields: Record<string, unknown>) => ({
      ...githubWorkflowRun,
      action,
      workflow_run: { ...githubWorkflowRun.workflow_run, ...fields },
    });
    const statusOf = (conclusion: string) =>
      emitted(normalizeGitHub('workflow_run', withRun('completed', { conclusion }))).payload.status;
    assert.equal(statusOf('failure'), 'failed');
    assert.equal(statusOf('timed_out'), 'failed');
    assert.equal(statusOf('cancelled'), 'cancelled');
    assert.equal(statusOf('skipped'), 'skipped');
    assert.equal(statusOf('something_new'), 'unknown');
    const started = emitted(
      normalizeGitHub('workflow_run', withRun('in_progress', { status: 'in_progress', conclusion: null })),
    );
    assert.equal(started.event, 'BuildStarted');
    assert.equal(started.payload.status, 'running');
    assert.equal(started.payload.completedAt, null);
    assert.equal(started.payload.durationSeconds, null);
    assert.equal(normalizeGitHub('workflow_run', withRun('requested', { status: 'queued' })).kind, 'ignored');
  });

  test('push, ping and other events announce nothing; a malformed workflow_run is invalid', () => {
    assert.equal(normalizeGitHub('push', { ref: 'refs/heads/main', after: 'abc' }).kind, 'ignored');
    assert.equal(normalizeGitHub('ping', { zen: 'Design for failure.' }).kind, 'ignored');
    assert.equal(normalizeGitHub('issues', { action: 'opened' }).kind, 'ignored');
    assert.equal(normalizeGitHub('workflow_run', { action: 'completed' }).kind, 'invalid');
    assert.equal(normalizeGitHub('workflow_run', 'completed').kind, 'invalid');
  });

  test('check_suite completed is a BuildCompleted', () => {
    const { event, payload } = emitted(
      normalizeGitHub('check_suite', {
        action: 'completed',
        check_suite: {
          id: 118578147,
          head_branch: 'changes',
          head_sha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
          status: 'completed',
          conclusion: 'failure',
          url: 'https://api.github.com/repos/Codertocat/Hello-World/check-suites/118578147',
          app: { slug: 'github-actions' },
          created_at: '2019-05-15T15:20:31Z',
          updated_at: '2019-05-15T15:21:14Z',
        },
        repository: {
          full_name: 'Codertocat/Hello-World',
          html_url: 'https://github.com/Codertocat/Hello-World',
        },
      }),
    );
    assert.equal(event, 'BuildCompleted');
    assert.equal(payload.status, 'failed');
    assert.equal(
      payload.webUrl,
      'https://github.com/Codertocat/Hello-World/commit/ec26c3e57ca3a959ca5aad62de7213c562f8c821/checks',
    );
    assert.equal(payload.durationSeconds, 43);
  });

  test('deployment_status success is a DeploymentCompleted; pending announces nothing', () => {
    const delivery = (state: string) => ({
      action: 'created',
      deployment_status: {
        id: 1,
        state,
        environment: 'production',
        target_url: 'https://github.com/octo-org/octo-repo/actions/runs/42',
        environment_url: 'https://octo.example.com',
        created_at: '2024-05-01T10:05:00Z',
      },
      deployment: {
        id: 1000,
        sha: 'a10867b14bb761a232cd80139fbd4c0d33264240',
        ref: 'main',
        task: 'deploy',
        environment: 'production',
        url: 'https://api.github.com/repos/octo-org/octo-repo/deployments/1000',
        created_at: '2024-05-01T10:00:00Z',
      },
      repository: { full_name: 'octo-org/octo-repo' },
    });
    const { event, payload } = emitted(normalizeGitHub('deployment_status', delivery('success')));
    assert.equal(event, 'DeploymentCompleted');
    assert.equal(payload.status, 'passed');
    assert.equal(payload.environment, 'production');
    assert.equal(payload.environmentUrl, 'https://octo.example.com');
    assert.equal(payload.durationSeconds, 300);
    assert.equal(emitted(normalizeGitHub('deployment_status', delivery('error'))).payload.status, 'failed');
    assert.equal(normalizeGitHub('deployment_status', delivery('pending')).kind, 'ignored');
  });
});

describe('GitLab', () => {
  test('a successful pipeline is a passed BuildCompleted with its jobs as runs', () => {
    const { event, payload } = emitted(normalizeGitLab(gitlabPipeline));
    assert.equal(event, 'BuildCompleted');
    const jobs = 'http://example.com/gitlab-org/gitlab-test/-/jobs';
    assert.deepEqual(payload, {
      source: 'gitlab',
      project: 'gitlab-org/gitlab-test',
      buildId: '31',
      status: 'passed',
      url: 'http://example.com/gitlab-org/gitlab-test/-/pipelines/31',
      webUrl: 'http://example.com/gitlab-org/gitlab-test/-/pipelines/31',
      ref: 'main',
      commit: 'bcbb5ec396a2c0f828686f14fac9b80b780504f2',
      trigger: 'merge_request_event',
      startedAt: '2016-08-12T15:23:28.000Z',
      completedAt: '2016-08-12T15:26:29.000Z',
      durationSeconds: 63,
      runs: [
        {
          name: 'production',
          status: 'skipped',
          url: `${jobs}/380`,
          logUrl: `${jobs}/380/raw`,
          webUrl: `${jobs}/380`,
        },
        {
          name: 'test-image',
          status: 'passed',
          url: `${jobs}/377`,
          logUrl: `${jobs}/377/raw`,
          webUrl: `${jobs}/377`,
        },
        {
          name: 'test-build',
          status: 'failed',
          url: `${jobs}/378`,
          logUrl: `${jobs}/378/raw`,
          webUrl: `${jobs}/378`,
        },
      ],
      raw: gitlabPipeline,
    });
  });

  test('failed, canceled and running pipelines; pending and manual ones announce nothing', () => {
    const withStatus = (status: string) => ({
      ...gitlabPipeline,
      object_attributes: { ...gitlabPipeline.object_attributes, status },
    });
    assert.equal(emitted(normalizeGitLab(withStatus('failed'))).payload.status, 'failed');
    assert.equal(emitted(normalizeGitLab(withStatus('canceled'))).payload.status, 'cancelled');
    const running = emitted(normalizeGitLab(withStatus('running')));
    assert.equal(running.event, 'BuildStarted');
    assert.equal(running.payload.completedAt, null);
    assert.equal(normalizeGitLab(withStatus('pending')).kind, 'ignored');
    assert.equal(normalizeGitLab(withStatus('manual')).kind, 'ignored');
    assert.equal(normalizeGitLab({ object_kind: 'push' }).kind, 'ignored');
    assert.equal(normalizeGitLab({ object_kind: 'pipeline' }).kind, 'invalid');
  });

  test('a successful deployment is a DeploymentCompleted', () => {
    const { event, payload } = emitted(
      normalizeGitLab({
        object_kind: 'deployment',
        status: 'success',
        status_changed_at: '2021-04-28 21:50:00 +0200',
        deployment_id: 15,
        deployable_id: 796,
        deployable_url: 'http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796',
        environment: 'staging',
        environment_external_url: 'https://staging.example.com',
        project: { path_with_namespace: 'root/test-deployment-webhooks' },
        short_sha: '279484c0',
        ref: 'main',
        commit_url:
          'http://10.126.0.2:3000/root/test-deployment-webhooks/-/commit/279484c09fbe69ededfced8c1bb6e6d24616b468',
      }),
    );
    assert.equal(event, 'DeploymentCompleted');
    assert.equal(payload.status, 'passed');
    assert.equal(payload.commit, '279484c09fbe69ededfced8c1bb6e6d24616b468');
    assert.equal(payload.completedAt, '2021-04-28T19:50:00.000Z');
    assert.equal(payload.environment, 'staging');
    assert.equal(
      normalizeGitLab({ object_kind: 'deployment', deployment_id: 15, status: 'running' }).kind,
      'ignored',
    );
  });
});

test('the same outcome is the same word whatever the source', () => {
  const jobserv = emitted(normalizeJobServ(jobservBuild)).payload.status;
  const github = emitted(normalizeGitHub('workflow_run', githubWorkflowRun)).payload.status;
  const gitlab = emitted(normalizeGitLab(gitlabPipeline)).payload.status;
  assert.deepEqual([jobserv, github, gitlab], ['passed', 'passed', 'passed']);
});

test('generic deliveries keep their headers but never a credential', () => {
  const headers = safeHeaders(
    {
      'content-type': 'application/cloudevents+json',
      'ce-type': 'dev.tekton.event.pipelinerun.successful.v1',
      'ce-id': '1234',
      'x-webhook-token': 't0ken',
      'x-my-auth': 'configured',
      authorization: 'Bearer x',
      'proxy-authorization': 'Basic y',
      cookie: 'session=1',
      'x-hub-signature-256': 'sha256=00',
      'x-jobserv-sig': 'sha256:00',
      'x-gitlab-token': 'glt',
      'x-api-key': 'k',
      connection: 'keep-alive',
      'x-forwarded-for': ['10.0.0.1', '10.0.0.2'],
    },
    'x-my-auth',
  );
  assert.deepEqual(headers, {
    'content-type': 'application/cloudevents+json',
    'ce-type': 'dev.tekton.event.pipelinerun.successful.v1',
    'ce-id': '1234',
    'x-forwarded-for': '10.0.0.1, 10.0.0.2',
  });
});

import {
  type BuildEvent,
  type BuildStatus,
  type DeploymentEvent,
  secondsBetween,
  toIsoTime,
} from '../build-events.ts';
import { verifyHmac } from '../signatures.ts';
import {
  asObject,
  bodyDigest,
  headerValue,
  type Interpretation,
  type JsonObject,
  text,
  type WebhookSource,
} from '../webhook-source.ts';

/** A finished run's or suite's `conclusion`. */
const CONCLUSIONS: Record<string, BuildStatus> = {
  success: 'passed',
  failure: 'failed',
  timed_out: 'failed',
  startup_failure: 'failed',
  cancelled: 'cancelled',
  // GitHub marks a suite left unfinished for 14 days stale: it will never finish.
  stale: 'cancelled',
  skipped: 'skipped',
  // Neither passed nor failed; GitHub shows it grey, like a skipped check.
  neutral: 'skipped',
  action_required: 'blocked',
};

/** An unfinished run's `status`. */
const PROGRESS: Record<string, BuildStatus> = {
  requested: 'queued',
  queued: 'queued',
  pending: 'queued',
  waiting: 'queued',
  in_progress: 'running',
};

/** A `deployment_status.state` that ends a deployment; the others (pending, queued, in_progress, inactive) do not. */
const DEPLOYMENT_STATES: Record<string, BuildStatus> = {
  success: 'passed',
  failure: 'failed',
  error: 'failed',
};

/** GitHub: `X-Hub-Signature-256: sha256=<hex>`, `X-GitHub-Event`, `X-GitHub-Delivery` (kept on redelivery). */
export function githubSource(secrets: readonly string[]): WebhookSource {
  return {
    name: 'github',
    notConfigured:
      secrets.length === 0 ? 'no GitHub secret is configured: set GITHUB_WEBHOOK_SECRET' : undefined,
    verify: (headers, body) =>
      verifyHmac({
        header: 'X-Hub-Signature-256',
        presented: headerValue(headers, 'x-hub-signature-256'),
        body,
        secrets,
        prefix: 'sha256=',
      }),
    interpret: (headers, payload, body) => {
      const event = headerValue(headers, 'x-github-event');
      if (!event) return { kind: 'invalid', reason: 'missing X-GitHub-Event header' };
      const result = normalizeGitHub(event, payload);
      if (result.kind !== 'event') return result;
      return { ...result, deliveryKey: headerValue(headers, 'x-github-delivery') || bodyDigest(body) };
    },
  };
}

/**
 * What each GitHub event announces:
 * - workflow_run: `in_progress` -> BuildStarted, `completed` -> BuildCompleted; `requested` (queued) nothing.
 * - check_suite: `completed` -> BuildCompleted (check suites have no "started" action with a status).
 * - deployment_status: success, failure, error -> DeploymentCompleted; pending, queued, in_progress and
 *   inactive (an older deployment replaced) nothing.
 * - push: nothing. A push is not a build and has no outcome; the workflow_run or check_suite it starts is
 *   announced instead, so subscribing to push as well would announce every build twice.
 * - ping and every other event: nothing (answered 200, so GitHub shows the delivery as fine).
 */
export function normalizeGitHub(event: string, payload: unknown): Interpretation {
  const body = asObject(payload);
  if (!body) return { kind: 'invalid', reason: 'a GitHub webhook body is a JSON object' };
  const repository = asObject(body.repository);
  const action = text(body, 'action');
  switch (event) {
    case 'workflow_run': {
      const run = asObject(body.workflow_run);
      if (!run) return { kind: 'invalid', reason: 'a workflow_run event has a workflow_run object' };
      if (action !== 'completed' && action !== 'in_progress') {
        return { kind: 'ignored', reason: `workflow_run ${action ?? 'without action'} is not started yet` };
      }
      return buildEvent(action === 'completed' ? 'BuildCompleted' : 'BuildStarted', {
        ...common(run, repository, action === 'completed'),
        url: text(run, 'url'),
        webUrl: text(run, 'html_url'),
        trigger: text(run, 'event'),
        startedAt: toIsoTime(run.run_started_at) ?? toIsoTime(run.created_at),
        raw: payload,
      });
    }
    case 'check_suite': {
      const suite = asObject(body.check_suite);
      if (!suite) return { kind: 'invalid', reason: 'a check_suite event has a check_suite object' };
      if (action !== 'completed') return { kind: 'ignored', reason: `check_suite ${action} has no outcome` };
      const htmlUrl = text(repository, 'html_url');
      const sha = text(suite, 'head_sha');
      return buildEvent('BuildCompleted', {
        ...common(suite, repository, true),
        url: text(suite, 'url'),
        webUrl: htmlUrl && sha ? `${htmlUrl}/commit/${sha}/checks` : null,
        trigger: text(asObject(suite.app), 'slug'),
        startedAt: toIsoTime(suite.created_at),
        raw: payload,
      });
    }
    case 'deployment_status':
      return deploymentStatus(body, repository, payload);
    case 'push':
      return { kind: 'ignored', reason: 'a push is not a build: the workflow run it starts is announced' };
    case 'ping':
      return { kind: 'ignored', reason: 'ping: the webhook reaches this pack' };
    default:
      return { kind: 'ignored', reason: `GitHub ${event} events are not announced` };
  }
}

type Common = Pick<
  BuildEvent,
  'source' | 'project' | 'buildId' | 'status' | 'ref' | 'commit' | 'completedAt'
>;

/** The fields workflow runs and check suites share. */
function common(item: JsonObject, repository: JsonObject | undefined, finished: boolean): Common {
  const conclusion = text(item, 'conclusion');
  const status = finished
    ? (CONCLUSIONS[conclusion ?? ''] ?? 'unknown')
    : (PROGRESS[text(item, 'status') ?? ''] ?? 'unknown');
  return {
    source: 'github',
    project: text(repository, 'full_name'),
    buildId: text(item, 'id') ?? '',
    status,
    ref: text(item, 'head_branch'),
    commit: text(item, 'head_sha'),
    completedAt: finished ? toIsoTime(item.updated_at) : null,
  };
}

function buildEvent(
  event: 'BuildStarted' | 'BuildCompleted',
  fields: Common & Pick<BuildEvent, 'url' | 'webUrl' | 'trigger' | 'startedAt' | 'raw'>,
): Interpretation {
  if (!fields.buildId) return { kind: 'invalid', reason: 'the run or suite has no id' };
  const payload: BuildEvent = {
    ...fields,
    durationSeconds: secondsBetween(fields.startedAt, fields.completedAt),
    runs: [],
  };
  return { kind: 'event', event, payload, deliveryKey: undefined };
}

function deploymentStatus(
  body: JsonObject,
  repository: JsonObject | undefined,
  raw: unknown,
): Interpretation {
  const deploymentStatus = asObject(body.deployment_status);
  const deployment = asObject(body.deployment);
  if (!deploymentStatus || !deployment) {
    return {
      kind: 'invalid',
      reason: 'a deployment_status event has deployment and deployment_status objects',
    };
  }
  const state = text(deploymentStatus, 'state');
  const status = DEPLOYMENT_STATES[state ?? ''];
  if (!status) return { kind: 'ignored', reason: `deployment state ${state} does not end a deployment` };
  const buildId = text(deployment, 'id');
  if (!buildId) return { kind: 'invalid', reason: 'the deployment has no id' };
  const startedAt = toIsoTime(deployment.created_at);
  const completedAt = toIsoTime(deploymentStatus.created_at);
  const payload: DeploymentEvent = {
    source: 'github',
    project: text(repository, 'full_name'),
    buildId,
    status,
    url: text(deployment, 'url'),
    webUrl: text(deploymentStatus, 'target_url') ?? text(deploymentStatus, 'log_url'),
    ref: text(deployment, 'ref'),
    commit: text(deployment, 'sha'),
    trigger: text(deployment, 'task'),
    startedAt,
    completedAt,
    durationSeconds: secondsBetween(startedAt, completedAt),
    runs: [],
    raw,
    environment: text(deploymentStatus, 'environment') ?? text(deployment, 'environment'),
    environmentUrl: text(deploymentStatus, 'environment_url'),
  };
  return { kind: 'event', event: 'DeploymentCompleted', payload, deliveryKey: undefined };
}

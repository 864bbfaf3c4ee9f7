import type { IncomingHttpHeaders } from 'node:http';
import {
  type BuildEvent,
  type BuildRun,
  type BuildStatus,
  type DeploymentEvent,
  isFinished,
  secondsBetween,
  toIsoTime,
} from '../build-events.ts';
import { type Verification, verifyStandardWebhook, verifyToken } from '../signatures.ts';
import {
  asObject,
  bodyDigest,
  headerValue,
  type Interpretation,
  type JsonObject,
  text,
  type WebhookSource,
} from '../webhook-source.ts';

/** Pipeline, job and deployment statuses (GitLab spells `canceled` with one l). */
const STATUSES: Record<string, BuildStatus> = {
  created: 'queued',
  waiting_for_resource: 'queued',
  preparing: 'queued',
  pending: 'queued',
  scheduled: 'queued',
  waiting_for_callback: 'queued',
  manual: 'blocked',
  blocked: 'blocked',
  running: 'running',
  canceling: 'cancelled',
  success: 'passed',
  failed: 'failed',
  canceled: 'cancelled',
  skipped: 'skipped',
};

export interface GitLabSecrets {
  /** Accepted X-Gitlab-Token values. */
  tokens: readonly string[];
  /** Standard-Webhooks signing keys, decoded. */
  signingKeys: readonly Buffer[];
}

/**
 * GitLab: `X-Gitlab-Token` (the plain secret) and, from versions that sign, Standard-Webhooks headers.
 * Every credential the delivery carries that a configured secret can check must be right, and at least
 * one must be checked: a signature is verified when a signing key is configured, the token when tokens are
 * configured and the token is sent (or no signature was checked).
 */
export function gitlabSource(secrets: GitLabSecrets): WebhookSource {
  const { tokens, signingKeys } = secrets;
  return {
    name: 'gitlab',
    notConfigured:
      tokens.length === 0 && signingKeys.length === 0
        ? 'no GitLab secret is configured: set GITLAB_WEBHOOK_TOKEN or GITLAB_WEBHOOK_SECRET'
        : undefined,
    verify(headers, body, nowMs) {
      const checks: Verification[] = [];
      if (signingKeys.length > 0 && headerValue(headers, 'webhook-signature') !== undefined) {
        checks.push(
          verifyStandardWebhook({
            id: headerValue(headers, 'webhook-id'),
            timestamp: headerValue(headers, 'webhook-timestamp'),
            signature: headerValue(headers, 'webhook-signature'),
            body,
            keys: signingKeys,
            nowMs,
          }),
        );
      }
      const token = headerValue(headers, 'x-gitlab-token');
      if (tokens.length > 0 && (token !== undefined || checks.length === 0)) {
        checks.push(verifyToken('X-Gitlab-Token', token, tokens));
      }
      if (checks.length === 0) return { ok: false, reason: 'missing webhook-signature header' };
      return checks.find((check) => !check.ok) ?? { ok: true };
    },
    interpret(headers: IncomingHttpHeaders, payload: unknown, body: Buffer) {
      const result = normalizeGitLab(payload);
      if (result.kind !== 'event') return result;
      // Dedupe on what the signature covers: a signed delivery's webhook-id is signed, its Idempotency-Key
      // is not, so a captured delivery replayed with a fresh key must still count as seen. Both stay the
      // same across GitLab's retries.
      const key =
        headerValue(headers, 'webhook-id') || headerValue(headers, 'idempotency-key') || bodyDigest(body);
      return { ...result, deliveryKey: key };
    },
  };
}

/**
 * Pipeline events: finished -> BuildCompleted, running -> BuildStarted, created/pending/manual -> nothing.
 * Deployment events: finished -> DeploymentCompleted, created/running -> nothing. Others: nothing.
 */
export function normalizeGitLab(payload: unknown): Interpretation {
  const body = asObject(payload);
  if (!body) return { kind: 'invalid', reason: 'a GitLab webhook body is a JSON object' };
  const kind = text(body, 'object_kind');
  if (kind === 'pipeline') return pipeline(body, payload);
  if (kind === 'deployment') return deployment(body, payload);
  return { kind: 'ignored', reason: `GitLab ${kind ?? 'unknown'} events are not announced` };
}

function pipeline(body: JsonObject, raw: unknown): Interpretation {
  const attributes = asObject(body.object_attributes);
  const buildId = text(attributes, 'id');
  if (!attributes || !buildId) {
    return { kind: 'invalid', reason: 'a pipeline event has object_attributes with an id' };
  }
  const status = STATUSES[text(attributes, 'status') ?? ''] ?? 'unknown';
  if (!isFinished(status) && status !== 'running') {
    return { kind: 'ignored', reason: `pipeline ${buildId} is ${text(attributes, 'status')}, not started` };
  }
  const project = asObject(body.project);
  const projectUrl = text(project, 'web_url');
  const webUrl = text(attributes, 'url') ?? (projectUrl ? `${projectUrl}/-/pipelines/${buildId}` : null);
  const startedAt = toIsoTime(attributes.created_at);
  const completedAt = isFinished(status) ? toIsoTime(attributes.finished_at) : null;
  const duration = attributes.duration;
  const payload: BuildEvent = {
    source: 'gitlab',
    project: text(project, 'path_with_namespace'),
    buildId,
    status,
    url: webUrl,
    webUrl,
    ref: text(attributes, 'ref'),
    commit: text(attributes, 'sha') ?? text(asObject(body.commit), 'id'),
    trigger: text(attributes, 'source'),
    startedAt,
    completedAt,
    durationSeconds:
      typeof duration === 'number' && duration >= 0 ? duration : secondsBetween(startedAt, completedAt),
    runs: (Array.isArray(body.builds) ? body.builds : []).flatMap((item) => {
      const job = asObject(item);
      return job ? [jobRun(job, projectUrl)] : [];
    }),
    raw,
  };
  return {
    kind: 'event',
    event: isFinished(status) ? 'BuildCompleted' : 'BuildStarted',
    payload,
    deliveryKey: undefined,
  };
}

/** A pipeline's job; GitLab sends no URLs for jobs, so they are made from the project's. */
function jobRun(job: JsonObject, projectUrl: string | null): BuildRun {
  const id = text(job, 'id');
  const page = projectUrl && id ? `${projectUrl}/-/jobs/${id}` : null;
  return {
    name: text(job, 'name') ?? '',
    status: STATUSES[text(job, 'status') ?? ''] ?? 'unknown',
    url: page,
    logUrl: page ? `${page}/raw` : null,
    webUrl: page,
  };
}

function deployment(body: JsonObject, raw: unknown): Interpretation {
  const buildId = text(body, 'deployment_id');
  if (!buildId) return { kind: 'invalid', reason: 'a deployment event has a deployment_id' };
  const status = STATUSES[text(body, 'status') ?? ''] ?? 'unknown';
  if (!isFinished(status)) {
    return { kind: 'ignored', reason: `deployment ${buildId} is ${text(body, 'status')}, not finished` };
  }
  const commitUrl = text(body, 'commit_url');
  const payload: DeploymentEvent = {
    source: 'gitlab',
    project: text(asObject(body.project), 'path_with_namespace'),
    buildId,
    status,
    url: text(body, 'deployable_url'),
    webUrl: text(body, 'deployable_url'),
    ref: text(body, 'ref'),
    // The payload has only the short sha; the commit URL ends with the full one.
    commit: /\/commit\/([0-9a-f]{40})$/.exec(commitUrl ?? '')?.[1] ?? text(body, 'short_sha'),
    trigger: null,
    startedAt: null,
    completedAt: toIsoTime(body.status_changed_at),
    durationSeconds: null,
    runs: [],
    raw,
    environment: text(body, 'environment'),
    environmentUrl: text(body, 'environment_external_url'),
  };
  return { kind: 'event', event: 'DeploymentCompleted', payload, deliveryKey: undefined };
}

import type { EventDefinition, JsonSchema } from '../../shared/runtime/pack-definition.ts';
import type { ALERTMANAGER_EVENTS } from './alertmanager/alertmanager-source.ts';
import type { CLOUDEVENTS_EVENTS } from './cloudevents/cloudevents-source.ts';

/**
 * The status words of every source, lower-case. Each source's own words map onto these (see its
 * normalizer): JobServ `PASSED`, GitHub `success` and GitLab `success` are all `passed`.
 * - finished: passed, failed, cancelled, skipped
 * - under way: running
 * - not started: queued (waiting for a runner or approval of the schedule), blocked (waiting for a person:
 *   GitLab `manual`, GitHub `action_required`)
 * - unknown: a word the source added after this pack was written
 */
export const BUILD_STATUSES = [
  'queued',
  'blocked',
  'running',
  'passed',
  'failed',
  'cancelled',
  'skipped',
  'unknown',
] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

const FINISHED: ReadonlySet<BuildStatus> = new Set(['passed', 'failed', 'cancelled', 'skipped']);

export function isFinished(status: BuildStatus): boolean {
  return FINISHED.has(status);
}

export type BuildRun = {
  name: string;
  status: BuildStatus;
  /** The run's API URL. */
  url: string | null;
  logUrl: string | null;
  /** The run's page for people. */
  webUrl: string | null;
};

/** One build, whatever CI ran it. Fields the source does not send are null, never missing. */
export type BuildEvent = {
  /** `jobserv`, `github` or `gitlab`. */
  source: string;
  /** `factory/project` (JobServ), `owner/repo` (GitHub), `group/project` (GitLab). */
  project: string | null;
  buildId: string;
  status: BuildStatus;
  /** The build's API URL (JobServ, GitHub); GitLab has only its web page, given here too. */
  url: string | null;
  /** The build's page for people: the "View Logs" button. */
  webUrl: string | null;
  /** Branch or tag. */
  ref: string | null;
  commit: string | null;
  /** What started it: a JobServ trigger name, GitHub's `event`, GitLab's pipeline `source`. */
  trigger: string | null;
  /** RFC 3339 times. */
  startedAt: string | null;
  completedAt: string | null;
  durationSeconds: number | null;
  runs: BuildRun[];
  /** The Kubernetes namespace the run is in (Tekton only). */
  namespace?: string | null;
  /** Why the build is in its state, a word and a sentence (Tekton's Succeeded condition). */
  reason?: string | null;
  message?: string | null;
  /** The payload as the source sent it. */
  raw: unknown;
};

export type DeploymentEvent = BuildEvent & {
  environment: string | null;
  environmentUrl: string | null;
};

export type WebhookReceived = {
  /** The generic source's name: the `<name>` of /webhooks/generic/<name>. */
  name: string;
  /** Request headers, lower-case, without credentials (signatures, tokens, authorization, cookies). */
  headers: Record<string, string>;
  payload: unknown;
};

const nullableString = { type: ['string', 'null'] };

const RUN_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['name', 'status', 'url', 'logUrl', 'webUrl'],
  properties: {
    name: { type: 'string' },
    status: { enum: [...BUILD_STATUSES] },
    url: nullableString,
    logUrl: nullableString,
    webUrl: nullableString,
  },
  additionalProperties: false,
};

const BUILD_PROPERTIES = {
  source: { type: 'string', description: 'jobserv, github, gitlab or tekton' },
  project: nullableString,
  buildId: { type: 'string' },
  status: { enum: [...BUILD_STATUSES] },
  url: nullableString,
  webUrl: nullableString,
  ref: nullableString,
  commit: nullableString,
  trigger: nullableString,
  startedAt: { type: ['string', 'null'], format: 'date-time' },
  completedAt: { type: ['string', 'null'], format: 'date-time' },
  durationSeconds: { type: ['number', 'null'], minimum: 0 },
  runs: { type: 'array', items: RUN_SCHEMA },
  raw: { description: 'the payload as the source sent it' },
};

/** What only some sources know: not required, so the other sources' events stay as they were. */
const OPTIONAL_BUILD_PROPERTIES = {
  namespace: { ...nullableString, description: 'the Kubernetes namespace (tekton)' },
  reason: { ...nullableString, description: "why it is in its state, a word (tekton's condition reason)" },
  message: {
    ...nullableString,
    description: "why it is in its state, a sentence (tekton's condition message)",
  },
};

export const BUILD_EVENT_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  required: Object.keys(BUILD_PROPERTIES),
  properties: { ...BUILD_PROPERTIES, ...OPTIONAL_BUILD_PROPERTIES },
  additionalProperties: false,
};

export const DEPLOYMENT_EVENT_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  required: [...Object.keys(BUILD_PROPERTIES), 'environment', 'environmentUrl'],
  properties: { ...BUILD_PROPERTIES, environment: nullableString, environmentUrl: nullableString },
  additionalProperties: false,
};

export const WEBHOOK_RECEIVED_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  required: ['name', 'headers', 'payload'],
  properties: {
    name: { type: 'string' },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    payload: { description: 'the JSON body as sent' },
  },
  additionalProperties: false,
};

export const CI_WEBHOOK_EVENTS = {
  BuildStarted: {
    description:
      'A CI source says a build is running (JobServ, GitHub workflow_run in_progress, GitLab pipeline running).',
    schema: BUILD_EVENT_SCHEMA,
  },
  BuildCompleted: {
    description:
      'A build finished: status passed, failed, cancelled or skipped, the same words for every source.',
    schema: BUILD_EVENT_SCHEMA,
  },
  DeploymentCompleted: {
    description:
      'A deployment finished (GitHub deployment_status, GitLab deployment): the build fields plus environment.',
    schema: DEPLOYMENT_EVENT_SCHEMA,
  },
  WebhookReceived: {
    description: 'A delivery to /webhooks/generic/<name>, verified, with its safe headers and JSON payload.',
    schema: WEBHOOK_RECEIVED_SCHEMA,
  },
} satisfies Record<string, EventDefinition>;

export type CiWebhookEventName =
  | keyof typeof CI_WEBHOOK_EVENTS
  | keyof typeof CLOUDEVENTS_EVENTS
  | keyof typeof ALERTMANAGER_EVENTS;

/** An RFC 3339 time from what a source sends (GitLab writes `2016-08-12 15:23:28 UTC`), or null. */
export function toIsoTime(value: unknown): string | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? null : time.toISOString();
}

/** Whole seconds from start to end, or null when either is unknown or they are out of order. */
export function secondsBetween(startedAt: string | null, completedAt: string | null): number | null {
  if (!startedAt || !completedAt) return null;
  const seconds = Math.round((Date.parse(completedAt) - Date.parse(startedAt)) / 1000);
  return seconds >= 0 ? seconds : null;
}

import type { IncomingHttpHeaders } from 'node:http';
import {
  type BuildEvent,
  type BuildRun,
  type BuildStatus,
  isFinished,
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

/**
 * JobServ's build and run statuses. The webhook is sent when a build completes, so the in-between words
 * rarely arrive; CANCELLING is how a cancelled build is reported.
 */
const STATUSES: Record<string, BuildStatus> = {
  QUEUED: 'queued',
  RUNNING: 'running',
  UPLOADING: 'running',
  RUNNING_WITH_FAILURES: 'running',
  PASSED: 'passed',
  PROMOTED: 'passed',
  FAILED: 'failed',
  SKIPPED: 'skipped',
  CANCELLING: 'cancelled',
};

/** Foundries JobServ: `X-JobServ-Sig: sha256:<hex HMAC-SHA256 of the body>`. */
export function jobservSource(secrets: readonly string[]): WebhookSource {
  return {
    name: 'jobserv',
    notConfigured:
      secrets.length === 0 ? 'no JobServ secret is configured: set JOBSERV_WEBHOOK_SECRET' : undefined,
    verify: (headers, body) =>
      verifyHmac({
        header: 'X-JobServ-Sig',
        presented: headerValue(headers, 'x-jobserv-sig'),
        body,
        secrets,
        prefix: 'sha256:',
      }),
    interpret: (_headers: IncomingHttpHeaders, payload: unknown, body: Buffer) => {
      const result = normalizeJobServ(payload);
      if (result.kind !== 'event') return result;
      // JobServ sends no delivery id and retries up to 4 times: a build's (url, status, completed) names it.
      const build = asObject(payload) as JsonObject;
      const url = text(build, 'url');
      return {
        ...result,
        deliveryKey: url
          ? JSON.stringify([url, text(build, 'status'), text(build, 'completed')])
          : bodyDigest(body),
      };
    },
  };
}

/** A JobServ build as BuildCompleted (or BuildStarted while it runs); queued builds announce nothing. */
export function normalizeJobServ(payload: unknown): Interpretation {
  const build = asObject(payload);
  if (!build) return { kind: 'invalid', reason: 'a JobServ webhook body is a JSON object' };
  const buildId = text(build, 'build_id');
  const jobservStatus = text(build, 'status');
  if (!buildId || !jobservStatus) {
    return { kind: 'invalid', reason: 'a JobServ build has a build_id and a status' };
  }
  const status = STATUSES[jobservStatus] ?? 'unknown';
  if (status === 'queued') return { kind: 'ignored', reason: `build ${buildId} is queued, not started` };
  const url = text(build, 'url');
  const startedAt = toIsoTime(build.created);
  const completedAt = toIsoTime(build.completed);
  const event: BuildEvent = {
    source: 'jobserv',
    project: url ? projectOf(url) : null,
    buildId,
    status,
    url,
    webUrl: text(build, 'web_url'),
    ref: null,
    commit: null,
    trigger: text(build, 'trigger_name'),
    startedAt,
    completedAt,
    durationSeconds: secondsBetween(startedAt, completedAt),
    runs: (Array.isArray(build.runs) ? build.runs : []).flatMap((item) => {
      const run = asObject(item);
      return run ? [normalizeRun(run)] : [];
    }),
    raw: payload,
  };
  // A status word JobServ added later is reported as finished: its webhook is a completion notice.
  return {
    kind: 'event',
    event: isFinished(status) || status === 'unknown' ? 'BuildCompleted' : 'BuildStarted',
    payload: event,
    deliveryKey: undefined,
  };
}

function normalizeRun(run: JsonObject): BuildRun {
  return {
    name: text(run, 'name') ?? '',
    status: STATUSES[text(run, 'status') ?? ''] ?? 'unknown',
    url: text(run, 'url'),
    logUrl: text(run, 'log_url'),
    webUrl: text(run, 'web_url'),
  };
}

/** `https://api.foundries.io/projects/andy-corp/lmp/builds/67/` -> `andy-corp/lmp`. */
function projectOf(url: string): string | null {
  return /\/projects\/(.+?)\/builds\/[^/]+\/?$/.exec(url)?.[1] ?? null;
}

import {
  type BuildEvent,
  type BuildRun,
  type BuildStatus,
  secondsBetween,
  toIsoTime,
} from '../build-events.ts';
import { asObject, type JsonObject, text } from '../webhook-source.ts';
import type { CloudEvent } from './cloudevent.ts';

// Tekton Pipelines' CloudEvents, read from tektoncd/pipeline docs/events.md and
// pkg/reconciler/events/cloudevent/cloudevent.go: the type follows the run's `Succeeded` condition
// (none yet: queued; Unknown: started, running or unknown by reason; True: successful; False: failed),
// and the data is `{"taskRun"|"pipelineRun"|"customRun": <the run, spec and status, as v1beta1>}`.

export type TektonKind = 'taskrun' | 'pipelinerun' | 'customrun';

const TEKTON_TYPE = /^dev\.tekton\.event\.(taskrun|pipelinerun|customrun)\.[a-z]+\.v1$/;
const ROOT_KEY: Record<TektonKind, string> = {
  taskrun: 'taskRun',
  pipelinerun: 'pipelineRun',
  customrun: 'customRun',
};

export interface SucceededCondition {
  status: 'True' | 'False' | 'Unknown';
  reason: string | null;
  message: string | null;
}

/** What the pack reads of one run. */
export interface TektonRun {
  kind: TektonKind;
  uid: string;
  name: string;
  namespace: string | null;
  /** The `Succeeded` condition; null while queued. */
  condition: SucceededCondition | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  resource: JsonObject;
}

export type ReadRun =
  | { kind: 'not_tekton' }
  | { kind: 'run'; run: TektonRun }
  | { kind: 'invalid'; reason: string };

/** The run a Tekton event is about; `not_tekton` for every other type. */
export function readTektonRun(event: CloudEvent): ReadRun {
  const kind = TEKTON_TYPE.exec(event.type)?.[1] as TektonKind | undefined;
  if (!kind) return { kind: 'not_tekton' };
  const rootKey = ROOT_KEY[kind];
  const resource = event.dataEncoding === 'json' ? asObject(asObject(event.data)?.[rootKey]) : undefined;
  if (!resource) return { kind: 'invalid', reason: `a ${event.type} event's data is {"${rootKey}": {...}}` };
  const metadata = asObject(resource.metadata);
  const uid = text(metadata, 'uid');
  const name = text(metadata, 'name');
  if (!uid || !name)
    return { kind: 'invalid', reason: `the ${rootKey} has no metadata.uid or metadata.name` };
  const conditions = asObject(resource.status)?.conditions;
  const succeeded = (Array.isArray(conditions) ? conditions : [])
    .map(asObject)
    .find((condition) => text(condition, 'type') === 'Succeeded');
  let condition: SucceededCondition | null = null;
  if (succeeded) {
    const status = text(succeeded, 'status');
    if (status !== 'True' && status !== 'False' && status !== 'Unknown') {
      return { kind: 'invalid', reason: `the ${rootKey}'s Succeeded condition is True, False or Unknown` };
    }
    condition = { status, reason: text(succeeded, 'reason'), message: text(succeeded, 'message') };
  }
  return {
    kind: 'run',
    run: {
      kind,
      uid,
      name,
      namespace: text(metadata, 'namespace'),
      condition,
      labels: strings(metadata?.labels),
      annotations: strings(metadata?.annotations),
      resource,
    },
  };
}

/**
 * What names one state change of a run, the same when Tekton sends it again with a new ce-id (after
 * a restart its in-memory dedupe is gone): the run's uid and its condition's status and reason.
 */
export function stateKey(run: TektonRun): string {
  const { condition } = run;
  return JSON.stringify([run.uid, condition ? [condition.status, condition.reason ?? ''] : 'queued']);
}

/** True -> passed; False -> cancelled when the reason says so (`Cancelled`, `TaskRunCancelled`), else failed. */
export function buildStatusOf(condition: SucceededCondition): BuildStatus {
  if (condition.status === 'True') return 'passed';
  if (condition.status === 'False') return /cancel/i.test(condition.reason ?? '') ? 'cancelled' : 'failed';
  return 'running';
}

/**
 * Whether the run is a build of its own: a PipelineRun, or a TaskRun run alone. A TaskRun of a
 * PipelineRun (label `tekton.dev/pipelineRun`) is a part of that build, and a CustomRun a step of
 * someone else's: announcing them as builds would announce one pipeline once per task.
 */
export function isBuild(run: TektonRun): boolean {
  return run.kind === 'pipelinerun' || (run.kind === 'taskrun' && !run.labels['tekton.dev/pipelineRun']);
}

export interface TektonBuild {
  event: 'BuildStarted' | 'BuildCompleted';
  payload: BuildEvent;
}

/** The build event a state of a build run stands for; undefined while it is queued (no condition yet). */
export function tektonBuildEvent(
  run: TektonRun,
  raw: unknown,
  dashboardUrl: string | undefined,
): TektonBuild | undefined {
  const { condition } = run;
  if (!condition) return undefined;
  const finished = condition.status !== 'Unknown';
  const spec = asObject(run.resource.spec);
  const status = asObject(run.resource.status);
  const startedAt = toIsoTime(status?.startTime);
  const completedAt = finished ? toIsoTime(status?.completionTime) : null;
  const payload: BuildEvent = {
    source: 'tekton',
    project:
      run.kind === 'pipelinerun'
        ? (text(asObject(spec?.pipelineRef), 'name') ?? run.labels['tekton.dev/pipeline'] ?? null)
        : (text(asObject(spec?.taskRef), 'name') ??
          run.labels['tekton.dev/task'] ??
          run.labels['tekton.dev/clusterTask'] ??
          null),
    buildId: run.name,
    status: buildStatusOf(condition),
    // Tekton gives only the run's Kubernetes API path, not an address anyone outside the cluster can use.
    url: null,
    webUrl: dashboardLink(dashboardUrl, run.namespace, `${run.kind}s`, run.name),
    // Pipelines-as-Code writes the commit, branch and event on the runs it creates (labels are cut to
    // 63 characters, so its annotations come first); Tekton Triggers labels its trigger.
    ref: pick(run, 'pipelinesascode.tekton.dev/branch'),
    commit: pick(run, 'pipelinesascode.tekton.dev/sha'),
    trigger:
      pick(run, 'pipelinesascode.tekton.dev/event-type') ??
      (run.labels['triggers.tekton.dev/trigger'] || run.labels['triggers.tekton.dev/eventlistener'] || null),
    startedAt,
    completedAt,
    durationSeconds: secondsBetween(startedAt, completedAt),
    runs: run.kind === 'taskrun' ? stepsOf(status) : taskRunsOf(status, run.namespace, dashboardUrl),
    namespace: run.namespace,
    reason: condition.reason,
    message: condition.message,
    raw,
  };
  return { event: finished ? 'BuildCompleted' : 'BuildStarted', payload };
}

/**
 * The Tekton Dashboard's page of a run: its router is a hash router (tektoncd/dashboard
 * src/containers/App/App.jsx createHashRouter) with runs at /namespaces/:namespace/<kind>s/:name
 * (packages/utils/src/utils/router.js).
 */
function dashboardLink(
  dashboardUrl: string | undefined,
  namespace: string | null,
  collection: string,
  name: string,
): string | null {
  if (!dashboardUrl || !namespace) return null;
  return `${dashboardUrl}/#/namespaces/${encodeURIComponent(namespace)}/${collection}/${encodeURIComponent(name)}`;
}

/** A TaskRun's steps, as runs: the container's state says how each went. */
function stepsOf(status: JsonObject | undefined): BuildRun[] {
  const steps = Array.isArray(status?.steps) ? status.steps : [];
  return steps.flatMap((item) => {
    const step = asObject(item);
    const name = text(step, 'name');
    if (!step || !name) return [];
    const terminated = asObject(step.terminated);
    const exitCode = terminated?.exitCode;
    const stepStatus: BuildStatus = terminated
      ? exitCode === 0
        ? 'passed'
        : 'failed'
      : step.running
        ? 'running'
        : step.waiting
          ? 'queued'
          : 'unknown';
    return [{ name, status: stepStatus, url: null, logUrl: null, webUrl: null }];
  });
}

/**
 * A PipelineRun's TaskRuns with their outcome, from the `status.taskRuns` map older Tekton sends. Newer
 * ones send only `childReferences`, which carry no outcome: the runs are then left out (each TaskRun
 * sends its own CloudEvents).
 */
function taskRunsOf(
  status: JsonObject | undefined,
  namespace: string | null,
  dashboardUrl: string | undefined,
): BuildRun[] {
  const taskRuns = asObject(status?.taskRuns);
  if (!taskRuns) return [];
  return Object.entries(taskRuns).flatMap(([taskRunName, value]) => {
    const entry = asObject(value);
    if (!entry) return [];
    const conditions = asObject(entry.status)?.conditions;
    const succeeded = (Array.isArray(conditions) ? conditions : [])
      .map(asObject)
      .find((condition) => text(condition, 'type') === 'Succeeded');
    const conditionStatus = text(succeeded, 'status');
    const runStatus: BuildStatus =
      conditionStatus === 'True' || conditionStatus === 'False' || conditionStatus === 'Unknown'
        ? buildStatusOf({ status: conditionStatus, reason: text(succeeded, 'reason'), message: null })
        : 'queued';
    return [
      {
        name: text(entry, 'pipelineTaskName') ?? taskRunName,
        status: runStatus,
        url: null,
        logUrl: null,
        webUrl: dashboardLink(dashboardUrl, namespace, 'taskruns', taskRunName),
      },
    ];
  });
}

function pick(run: TektonRun, key: string): string | null {
  return run.annotations[key] || run.labels[key] || null;
}

function strings(value: unknown): Record<string, string> {
  const object = asObject(value) ?? {};
  return Object.fromEntries(
    Object.entries(object).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

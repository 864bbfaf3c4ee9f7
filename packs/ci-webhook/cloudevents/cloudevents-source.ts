import type { EventDefinition, JsonSchema } from '../../../shared/runtime/pack-definition.ts';
import type { Interpretation, InterpretedEvent, WebhookSource } from '../webhook-source.ts';
import type { CloudEvent } from './cloudevent.ts';
import type { CloudEventsConfig } from './cloudevents-config.ts';
import { readCloudEvents } from './http-binding.ts';
import { RunProgress } from './run-progress.ts';
import { isBuild, readTektonRun, stateKey, type TektonRun, tektonBuildEvent } from './tekton.ts';
import { answerPreflight, verifyBearer } from './webhook-auth.ts';

const nullableString = { type: ['string', 'null'] };

export const CLOUD_EVENT_RECEIVED_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  required: [
    'id',
    'source',
    'type',
    'subject',
    'time',
    'datacontenttype',
    'dataschema',
    'data',
    'dataEncoding',
    'extensions',
  ],
  properties: {
    id: { type: 'string', minLength: 1 },
    source: { type: 'string', minLength: 1 },
    type: { type: 'string', minLength: 1 },
    subject: nullableString,
    time: { type: ['string', 'null'], format: 'date-time' },
    datacontenttype: nullableString,
    dataschema: nullableString,
    data: { description: 'JSON as parsed, text, or base64 (dataEncoding says which); null without data' },
    dataEncoding: { enum: ['json', 'text', 'base64', null] },
    extensions: {
      type: 'object',
      description: 'extension attributes, by name',
      additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    },
  },
  additionalProperties: false,
};

export const CLOUDEVENTS_EVENTS = {
  CloudEventReceived: {
    description:
      'A CloudEvent POSTed to /webhooks/cloudevents (binary, structured or batched mode), authenticated: its attributes and data.',
    schema: CLOUD_EVENT_RECEIVED_SCHEMA,
  },
} as const satisfies Record<string, EventDefinition>;

/** `/webhooks/cloudevents`, always served: without CLOUDEVENTS_TOKENS it refuses everything (403). */
export function cloudeventsSources(config: CloudEventsConfig): WebhookSource[] {
  return [cloudeventsSource(config)];
}

/**
 * CloudEvents 1.0 over HTTP, authenticated as the Web Hook spec says (webhook-auth.ts). Every event is
 * CloudEventReceived, deduplicated on source + id (spec.md: "Consumers MAY assume that Events with
 * identical source and id are duplicates"); Tekton's are deduplicated on the state change instead, since
 * Tekton resends with new ids, and its builds are also BuildStarted / BuildCompleted.
 */
export function cloudeventsSource(config: CloudEventsConfig, progress = new RunProgress()): WebhookSource {
  const notConfigured =
    config.tokens.length === 0 ? 'no CloudEvents token is configured: set CLOUDEVENTS_TOKENS' : undefined;
  return {
    name: 'cloudevents',
    notConfigured,
    rawBody: true,
    verify: (headers, _body, _nowMs, url) => verifyBearer(headers, url, config.tokens),
    interpret: (headers, _payload, body) => {
      const read = readCloudEvents(headers, body);
      if (!read.ok) return { kind: 'invalid', reason: read.reason, status: read.status };
      return interpretEvents(read.events, read.mode === 'batched', config, progress);
    },
    preflight: (headers) => answerPreflight(headers, config.allowedOrigins, notConfigured),
  };
}

/**
 * Every event is read before any is recorded as progress, so that a batch refused for one bad event
 * (400, naming its index) leaves nothing behind.
 */
function interpretEvents(
  events: CloudEvent[],
  batched: boolean,
  config: CloudEventsConfig,
  progress: RunProgress,
): Interpretation {
  const runs: Array<TektonRun | undefined> = [];
  for (const [index, event] of events.entries()) {
    const read = readTektonRun(event);
    if (read.kind === 'invalid') {
      return {
        kind: 'invalid',
        reason: batched ? `event ${index} of the batch: ${read.reason}` : read.reason,
      };
    }
    runs.push(read.kind === 'run' ? read.run : undefined);
  }
  if (events.length === 0) return { kind: 'ignored', reason: 'an empty batch' };
  const interpreted: InterpretedEvent[] = [];
  for (const [index, event] of events.entries()) {
    const run = runs[index];
    interpreted.push({
      event: 'CloudEventReceived',
      payload: { ...event },
      deliveryKey: run
        ? `tekton-state:${stateKey(run)}`
        : `event:${JSON.stringify([event.source, event.id])}`,
    });
    const build = run && isBuild(run) ? buildDelivery(run, event, config, progress) : undefined;
    if (build) interpreted.push(build);
  }
  return { kind: 'events', events: interpreted };
}

/**
 * The build event of a run's state, unless the run went further before (RunProgress). A start is keyed
 * on the run alone, so that started, running and every unknown state of one run are one BuildStarted;
 * an end on the run and its condition.
 */
function buildDelivery(
  run: TektonRun,
  event: CloudEvent,
  config: CloudEventsConfig,
  progress: RunProgress,
): InterpretedEvent | undefined {
  const build = tektonBuildEvent(run, event.data, config.tektonDashboardUrl);
  if (!build) return undefined;
  const finished = build.event === 'BuildCompleted';
  const fresh = progress.advance(
    run.uid,
    finished ? { stage: 'finished', condition: stateKey(run) } : { stage: 'started' },
  );
  if (!fresh) return undefined;
  return {
    event: build.event,
    payload: build.payload,
    deliveryKey: finished ? `tekton-completed:${stateKey(run)}` : `tekton-started:${JSON.stringify(run.uid)}`,
  };
}
